"""The program's parameters and named inputs as a table whose values a learner can edit."""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QCoreApplication, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QStatusTipEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from engine.language import Binding

NAME, KIND, VALUE = range(3)
_KINDS = {"param": "parameter (trained)", "input": "input"}
_TIPS = {
    "param": "{name} is trained: gradient descent starts from this value and changes it",
    "input": "{name} is a fixed input: training never changes it",
}
_COMMITTED = Qt.ItemDataRole.UserRole  # the value the text holds, to restore after a bad entry


def format_value(value: float) -> str:
    """The shortest text that reads back as ``value`` (``2`` rather than ``2.0``)."""
    text = repr(float(value))
    return text.removesuffix(".0")


def parse_value(text: str) -> float | None:
    """A finite number from what a learner typed, or None. A decimal comma is accepted."""
    text = text.strip().replace("\u2212", "-")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class ParameterTable(QTableWidget):
    """One row per top-level binding: name, kind, and the value as an editable cell.

    The table holds no state of its own: the panel refreshes it from each valid program, and an
    edit is only a request (``valueEdited``) that the panel carries out by rewriting the text.
    """

    valueEdited = Signal(str, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["Name", "Kind", "Value"])
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(KIND, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.setAlternatingRowColors(True)
        self.itemChanged.connect(self._on_item_changed)

    def set_bindings(self, bindings: Iterable[Binding]) -> None:
        """Show ``bindings``, emitting nothing.

        Rows are updated in place: the panel calls this from inside ``valueEdited``, while Qt
        may still hold the edited item, so it must not be deleted under it.
        """
        bindings = list(bindings)
        with QSignalBlocker(self):
            self.setRowCount(len(bindings))
            for row, binding in enumerate(bindings):
                tip = _TIPS[binding.kind].format(name=binding.name)
                self._cell(row, NAME, binding.name, tip, editable=False)
                self._cell(row, KIND, _KINDS[binding.kind], tip, editable=False)
                item = self._cell(row, VALUE, format_value(binding.value),
                                  f"{tip}. Type a number to rewrite it in the program.",
                                  editable=True)
                item.setData(_COMMITTED, binding.value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def value(self, name: str) -> float:
        """The value shown for ``name``; KeyError if the program has no such binding."""
        row = self.row_of(name)
        if row < 0:
            raise KeyError(name)
        return float(self.item(row, VALUE).data(_COMMITTED))

    def row_of(self, name: str) -> int:
        """The row showing ``name``, or -1."""
        for row in range(self.rowCount()):
            if self.item(row, NAME).text() == name:
                return row
        return -1

    def show_status(self, message: str) -> None:
        """Say why an entry was refused, in the window's status bar (if there is one)."""
        QCoreApplication.sendEvent(self, QStatusTipEvent(message))

    def _cell(self, row: int, column: int, text: str, tip: str, *,
              editable: bool) -> QTableWidgetItem:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.setItem(row, column, item)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        item.setFlags(flags | Qt.ItemFlag.ItemIsEditable if editable else flags)
        item.setText(text)
        item.setToolTip(tip)
        return item

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != VALUE:
            return
        name = self.item(item.row(), NAME).text()
        old = float(item.data(_COMMITTED))
        typed = item.text().strip()
        value = parse_value(typed)
        with QSignalBlocker(self):
            item.setText(format_value(old if value is None else value))
        if value is None:
            self.show_status(f"“{typed}” is not a number, so {name} stays {format_value(old)}; "
                             f"type one such as 1.5 or -0.25")
            return
        if value != old:
            with QSignalBlocker(self):
                item.setData(_COMMITTED, value)
            self.valueEdited.emit(name, value)
