"""The chain-rule ledger: every multiplication of a backward pass, in the engine's order.

One row per ``child.grad += local_grad * v.grad``: which gradient it feeds, upstream × local =
contribution, and for a node reached by several paths the running sum (``3 + 6 = 9``). Rows the
pass has not reached yet at the moment shown are greyed; selecting a row asks the window to show
that moment on the canvas.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from engine.explain import format_number, grad_name, paren_number
from engine.replay import Moment

COLUMNS = ("#", "gradient", "upstream × local = product", "sum")


def ledger_rows(moment: Moment) -> list[tuple[str, str, str, str]]:
    """The table's text, row 0 being the seed: (number, gradient, product, running sum)."""
    g = moment.after
    rows = [("0", grad_name(g, g.root), "seed", "1")]
    partial: dict[int, list[float]] = {}
    f = format_number
    for s in moment.chain:
        terms = partial.setdefault(s.child, [])
        terms.append(s.product)
        if s.contributions > 1:
            running = " + ".join(paren_number(t) for t in terms)
            total = f"{running} = {f(s.child_grad_after)}" if len(terms) > 1 else \
                f"{f(s.child_grad_after)}  (path {s.contribution} of {s.contributions})"
        else:
            total = f(s.child_grad_after)
        rows.append((str(s.number), grad_name(g, s.child),
                     f"{f(s.upstream)} × {f(s.local_grad)} = {f(s.product)}", total))
    return rows


class LedgerPanel(QWidget):
    #: the learner picked a row: the Moment position to show (after that multiplication)
    positionRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moment: Moment | None = None
        self.intro = QLabel("Every multiplication of the last backward pass, in the order the "
                            "engine does them: <code>child.grad += local_grad * v.grad</code>. "
                            "Click a row to see it on the canvas.")
        self.intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setAccessibleName("chain-rule ledger")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        self.table.itemSelectionChanged.connect(self._selected)
        self._updating = False

    def set_moment(self, moment: Moment) -> None:
        """Show ``moment``'s backward pass; rebuild only when it is another pass."""
        same = (self.moment is not None and self.moment.iteration == moment.iteration
                and self.moment.values == moment.values and self.moment.program is moment.program)
        self.moment = moment
        self._updating = True
        # the columns fit their contents once, after the rows are filled: sized at every cell, a
        # pass of hundreds of multiplications took tens of seconds in the window's scroll area
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        try:
            if not same:
                rows = ledger_rows(moment)
                self.table.setRowCount(len(rows))
                for r, row in enumerate(rows):
                    for c, text in enumerate(row):
                        item = QTableWidgetItem(text)
                        if c == 0:
                            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                        self.table.setItem(r, c, item)
            self._shade(moment)
        finally:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            self._updating = False

    def rows(self) -> list[tuple[str, ...]]:
        return [tuple(self.table.item(r, c).text() for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    def select_number(self, number: int) -> None:
        """Select the row of multiplication ``number`` (0: the seed), as a learner's click does."""
        self.table.selectRow(number)

    def _shade(self, moment: Moment) -> None:
        done = moment.chain_done
        started = moment.seeded
        muted = QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        normal = QBrush(self.palette().color(QPalette.ColorRole.Text))
        for r in range(self.table.rowCount()):
            reached = (r == 0 and started) or (0 < r <= done)
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setForeground(normal if reached else muted)
                    font = item.font()
                    font.setBold(r == done and moment.position < moment.complete and done > 0)
                    item.setFont(font)
        if 0 < done < self.table.rowCount():
            self.table.scrollToItem(self.table.item(done, 0))

    def _selected(self) -> None:
        if self._updating or self.moment is None:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            number = rows[0].row()
            self.positionRequested.emit(self.moment.seed_position + number)
