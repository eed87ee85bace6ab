"""Common mistakes, switchable: the wrong gradients a buggy backward pass gives, beside the right ones.

Each of the three mistakes of ``engine.mistakes`` has a switch. Switched on, it shows the buggy line
of code beside the right one, the gradients both give for the program loaded, and whether the
mistake shows on this program at all. Some bugs hide on some programs (``=`` instead of ``+=`` is
harmless when no value is used twice); the panel says so, and offers the preset where the mistake
shows (``presetRequested``), because a bug a learner cannot see is one they will not remember.

Reports are computed only for the mistakes switched on, once per moment, on the next turn of the
event loop (so a burst of moments during a run costs one computation), and only while the panel
is visible.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFrame, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QScrollArea, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from engine.graph import format_number
from engine.language import ProgramError
from engine.mistakes import MISTAKES, NO_ZERO, MistakeReport, compare, info
from engine.replay import Moment

from ..theme import error_color, read_only
from .check import good_color

MAX_TABLE_ROWS = 6  # taller tables scroll, so three switched-on mistakes still fit a side panel
INTRO = ("Three bugs every backprop writer meets. Switch one on to see the gradients it gives for "
         "this program next to the right ones.")


class _MistakeView(QFrame):
    """One mistake: its switch, and under it (while on) the code, the numbers and the verdict."""

    def __init__(self, mistake: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mistake = mistake
        about = info(mistake)
        self.setFrameShape(QFrame.Shape.StyledPanel)

        self.switch = QCheckBox(about.title)
        font = self.switch.font()
        font.setBold(True)
        self.switch.setFont(font)
        self.switch.setToolTip(about.description)

        self.details = QWidget()
        self.description = QLabel(about.description)
        self.description.setWordWrap(True)
        self.code = QLabel()
        self.code.setTextFormat(Qt.TextFormat.RichText)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAccessibleName(f"{about.title}: buggy and right code")
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.verticalHeader().hide()
        read_only(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setAccessibleName(f"{about.title}: right and wrong gradients")
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)  # it quotes parameter names
        self.show_button = QPushButton(f"Show it on {about.suggested_preset}")
        self.show_button.setToolTip(f"Load the {about.suggested_preset} preset, where this "
                                    f"mistake changes the gradients")
        button_row = QHBoxLayout()
        button_row.setContentsMargins(0, 0, 0, 0)
        button_row.addWidget(self.show_button)
        button_row.addStretch(1)

        inner = QVBoxLayout(self.details)
        inner.setContentsMargins(18, 0, 0, 0)  # under the switch's text, not its box
        for widget in (self.description, self.code, self.where, self.table, self.verdict):
            inner.addWidget(widget)
        inner.addLayout(button_row)
        self.details.setVisible(False)
        self.show_button.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.switch)
        layout.addWidget(self.details)
        self.switch.toggled.connect(self.details.setVisible)
        self._paint_code()

    def _paint_code(self) -> None:
        """The buggy lines in red, the right ones in green, as a two-part diff."""
        about = info(self.mistake)
        palette = self.palette()
        bad, good = error_color(palette).name(), good_color(palette).name()

        def block(text: str, mark: str, color: str) -> str:
            lines = text.splitlines()
            marked = [f"{mark if i == 0 else ' '} {html.escape(line)}" for i, line in enumerate(lines)]
            return f'<span style="color:{color}">' + "<br>".join(marked) + "</span>"

        self.code.setText(f'<div style="white-space:pre">{block(about.buggy, "✗", bad)}<br>'
                          f'{block(about.right, "✓", good)}</div>')

    def clear(self, message: str) -> None:
        self.table.setRowCount(0)
        self.where.setText("")
        self.verdict.setText(message)
        self.show_button.setVisible(False)

    def show_report(self, report: MistakeReport) -> None:
        loss = report.loss_name
        columns = ["parameter", f"right d{loss}/dθ", f"wrong d{loss}/dθ"]
        if report.mistake == NO_ZERO:
            columns += ["θ next (right)", "θ next (wrong)"]
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        # every column as wide as its header and numbers (never cut); a narrow dock scrolls them
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setRowCount(len(report.names))
        differing = set(report.differing)
        bad = QBrush(error_color(self.palette()))
        for r, name in enumerate(report.names):
            cells = [name, format_number(report.right[r]), format_number(report.wrong[r])]
            if report.mistake == NO_ZERO:
                cells += [format_number(report.right_next[r]), format_number(report.wrong_next[r])]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r in differing and c in (2, 4):  # the wrong numbers that differ
                    item.setForeground(bad)
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        self._fit_table_height()

        self.where.setText(_where(report))
        if report.differs:
            n = len(differing)
            count = f"{n} of {len(report.names)} gradients" if len(report.names) > 1 else "the gradient"
            self.verdict.setText(f"Shows here: {count} {'come' if n > 1 else 'comes'} out wrong. "
                                 f"{report.explanation}")
        else:
            self.verdict.setText(f"Does not show on this program. {report.explanation}")
        self.show_button.setVisible(not report.differs)

    def _fit_table_height(self) -> None:
        rows = min(self.table.rowCount(), MAX_TABLE_ROWS)
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(rows))
        if self.table.columnCount() > 3:  # room for the horizontal scroll bar a narrow panel needs
            height += self.table.horizontalScrollBar().sizeHint().height()
        self.table.setFixedHeight(height)


def _where(report: MistakeReport) -> str:
    """Where the gradients were measured, in words a learner can match to the canvas."""
    point = ""
    if 0 < len(report.names) <= 3:
        point = ", ".join(f"{n} = {format_number(v)}" for n, v in zip(report.names, report.at))
    if report.mistake == NO_ZERO:
        return (f"Gradient descent from here with lr = {format_number(report.lr)}, both ways; "
                f"iteration {report.iteration}{' (at ' + point + ')' if point else ''}:")
    return f"At {point}:" if point else "At the current parameter values:"


class MistakesPanel(QWidget):
    """The three common mistakes, each switchable, shown on the moment's program."""

    #: the learner asked to see a mistake on a preset (its name, such as "shared-node")
    presetRequested = Signal(str)
    #: the reports of the switched-on mistakes were recomputed and shown
    updated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moment: Moment | None = None
        self._reports: dict[str, MistakeReport] = {}
        self._errors: dict[str, str] = {}
        self._stale = False

        self.intro = QLabel(INTRO)
        self.intro.setWordWrap(True)
        self._views = {m: _MistakeView(m) for m in MISTAKES}

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.intro)
        for mistake, view in self._views.items():
            view.switch.toggled.connect(lambda _on: self._schedule())
            view.show_button.clicked.connect(
                lambda _=False, p=info(mistake).suggested_preset: self.presetRequested.emit(p))
            column.addWidget(view)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        for view in self._views.values():
            view.clear("Run or step a program to compare.")

    # --- public API -----------------------------------------------------------------------------
    def set_moment(self, moment: Moment | None) -> None:
        """Compare on ``moment``'s program at its parameter values (and its learning rate)."""
        same = (moment is not None and self.moment is not None
                and moment.program == self.moment.program and moment.values == self.moment.values
                and moment.lr == self.moment.lr)
        self.moment = moment
        if not same:
            self._reports.clear()
            self._errors.clear()
            self._schedule()

    def set_enabled(self, mistake: str, on: bool) -> None:
        """Switch ``mistake`` (one of ``engine.mistakes.MISTAKES``) on or off, as its checkbox does."""
        self._view(mistake).switch.setChecked(on)

    def is_enabled(self, mistake: str) -> bool:
        return self._view(mistake).switch.isChecked()

    def report(self, mistake: str) -> MistakeReport | None:
        """The last comparison shown for ``mistake``; None while it is off or not computed yet."""
        return self._reports.get(mistake) if self.is_enabled(mistake) else None

    def table(self, mistake: str) -> QTableWidget:
        """The right/wrong gradient table of ``mistake``."""
        return self._view(mistake).table

    def verdict(self, mistake: str) -> str:
        """Whether ``mistake`` shows on this program, and why, as the panel words it."""
        return self._view(mistake).verdict.text()

    def preset_button(self, mistake: str) -> QPushButton:
        """The "Show it on <preset>" button (visible when the mistake hides on this program)."""
        return self._view(mistake).show_button

    def switch(self, mistake: str) -> QCheckBox:
        return self._view(mistake).switch

    def refresh(self) -> None:
        """Compute (if not done for this moment) and show every switched-on mistake, now."""
        self._timer.stop()
        self._stale = False
        for mistake, view in self._views.items():
            if not view.switch.isChecked():
                continue
            if self.moment is None:
                view.clear("Run or step a program to compare.")
                continue
            if mistake not in self._reports and mistake not in self._errors:
                m = self.moment
                try:
                    self._reports[mistake] = compare(m.program, mistake, m.values, m.lr)
                except (ProgramError, ArithmeticError) as exc:
                    self._errors[mistake] = f"Cannot compare here: {exc}"
            if mistake in self._reports:
                view.show_report(self._reports[mistake])
            else:
                view.clear(self._errors[mistake])
        self.updated.emit()

    # --- scheduling -----------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._timer.start()

    def _schedule(self) -> None:
        if self.isVisible():
            self._timer.start()
        else:
            self._stale = True

    def _view(self, mistake: str) -> _MistakeView:
        try:
            return self._views[mistake]
        except KeyError:
            raise KeyError(f"no mistake called {mistake!r}; the mistakes are {', '.join(MISTAKES)}") from None
