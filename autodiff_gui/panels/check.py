"""The numerical check: each parameter's backprop gradient beside a central finite difference.

A finite difference needs no chain rule, only two forward passes per parameter, so when the two
agree to many digits a learner has independent evidence that the backward pass is right. The panel
lets them change the step h and watch the agreement get worse both ways: a large h measures the
slope of a chord, not of the tangent (truncation), a tiny one loses digits to rounding.

Two forward passes per parameter add up on the network preset (25 parameters, about 60 ms), so the
check runs a few parameters per turn of the event loop and the window never freezes. It only runs
while the panel is visible; a moment set while hidden is checked when the panel is shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPalette, QShowEvent
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine.graph import format_number
from engine.language import ProgramError
from engine.mistakes import AGREEMENT, GradCheck, iter_gradient_check
from engine.replay import Moment
from engine.timeslice import run_slice

from ..theme import error_color, is_dark, read_only

STEPS = (1e-2, 1e-4, 1e-6, 1e-8, 1e-10)  # the choices of h a learner may try
DEFAULT_STEP = 1e-6
BUDGET_S = 0.015  # work per turn of the event loop: short enough to keep the window responsive
PENDING = "…"
DIGITS = 8  # both gradients to the same precision, so a learner compares them digit by digit
PARAMETER, BACKPROP, NUMERIC, ERROR = range(4)

INTRO = ("A <b>central finite difference</b> nudges one parameter both ways and measures how the "
         "loss itself changes: (L(θ+h) − L(θ−h)) / 2h. It needs no chain rule, so when it agrees "
         "with backprop's gradient to many digits, the backward pass is right.")


def good_color(palette: QPalette) -> QColor:
    """The green of an agreeing row, legible on light and dark themes alike."""
    return QColor("#81c784") if is_dark(palette) else QColor("#2e7d32")


class GradientCheckPanel(QWidget):
    """Backprop's dL/dθ beside its finite-difference estimate, for the moment shown."""

    #: every parameter has been checked: the list of ``engine.mistakes.GradCheck``
    checked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moment: Moment | None = None
        self._results: list[GradCheck] = []
        self._pending: Iterator[GradCheck] | None = None
        self._stale = False  # a check is owed but the panel was hidden
        self._step = DEFAULT_STEP

        self.intro = QLabel(INTRO)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.RichText)

        self.step_box = QComboBox()
        for h in STEPS:
            self.step_box.addItem(f"h = {format_number(h)}", h)
        self.step_box.setCurrentIndex(STEPS.index(DEFAULT_STEP))
        self.step_box.setToolTip("The nudge h. Too large and the difference measures a chord, not "
                                 "the tangent; too small and rounding eats the digits.")
        self.step_box.setAccessibleName("finite-difference step h")
        self.step_box.currentIndexChanged.connect(self._step_chosen)
        step_label = QLabel("&Step:")
        step_label.setBuddy(self.step_box)
        step_row = QHBoxLayout()
        step_row.addWidget(step_label)
        step_row.addWidget(self.step_box)
        step_row.addStretch(1)

        self.table = QTableWidget(0, 4)
        self._set_headers("L")
        self.table.verticalHeader().hide()
        read_only(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setAccessibleName("gradient check")

        self.summary = QLabel("Run or step a program to check its gradients.")
        self.summary.setWordWrap(True)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._work)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.intro)
        layout.addLayout(step_row)
        layout.addWidget(self.summary)  # above the table: the verdict first, the details after
        layout.addWidget(self.table, 1)

    # --- public API -----------------------------------------------------------------------------
    def set_moment(self, moment: Moment | None) -> None:
        """Check the gradients of ``moment`` (its program at its parameter values).

        The same iteration at another position of its backward pass needs no new check.
        """
        if (moment is not None and self.moment is not None and moment.program == self.moment.program
                and moment.values == self.moment.values):
            self.moment = moment
            return
        self.moment = moment
        self._restart()

    def step(self) -> float:
        """The finite-difference step h in use."""
        return self._step

    def set_step(self, h: float) -> None:
        """Use step ``h`` (any positive number; the chooser offers powers of ten) and check again."""
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"the step h must be a positive number, not {h!r}")
        if h == self._step:
            return
        self._step = h
        index = self.step_box.findData(h)
        if index >= 0 and index != self.step_box.currentIndex():
            self.step_box.blockSignals(True)
            self.step_box.setCurrentIndex(index)
            self.step_box.blockSignals(False)
        self._restart()

    def results(self) -> list[GradCheck]:
        """The parameters checked so far, in the program's order."""
        return list(self._results)

    def is_checking(self) -> bool:
        """Whether a check is under way or owed (waiting for the panel to be shown)."""
        return self._pending is not None or self._stale

    def finish(self) -> list[GradCheck]:
        """Complete the check now, without yielding to the event loop (for export and tests)."""
        self._stale = False
        if self._pending is None and self.moment is not None and not self._results:
            self._begin()
        while self._pending is not None:
            self._work(budget=math.inf)
        return self.results()

    # --- the work, a slice at a time ------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._begin()

    def _step_chosen(self, index: int) -> None:
        self.set_step(float(self.step_box.itemData(index)))

    def _restart(self) -> None:
        self._timer.stop()
        self._pending = None
        self._results = []
        self._stale = False
        moment = self.moment
        if moment is None:
            self.table.setRowCount(0)
            self.summary.setText("Run or step a program to check its gradients.")
            return
        self._set_headers(moment.program.loss_name)
        self.table.setRowCount(len(moment.param_names))
        for r, (name, grad) in enumerate(zip(moment.param_names, moment.grads)):
            for c, text in enumerate((name, format_number(grad, DIGITS), PENDING, PENDING)):
                self.table.setItem(r, c, self._item(text, c))
        if not moment.param_names:
            self.summary.setText("This program has no parameters (no Value(...)) to check.")
            return
        self.summary.setText(f"Checking {len(moment.param_names)} gradients…")
        if self.isVisible():
            self._begin()
        else:
            self._stale = True

    def _begin(self) -> None:
        moment = self.moment
        if moment is None:
            return
        self._pending = iter_gradient_check(moment.program, moment.values, self._step,
                                            grads=moment.grads)
        self._timer.start()

    def _work(self, budget: float = BUDGET_S) -> None:
        if self._pending is None:
            return
        def step() -> bool:
            check = next(self._pending)  # StopIteration: every gradient is checked
            self._show_row(len(self._results), check)
            self._results.append(check)
            return True

        try:
            run_slice(step, budget)
        except StopIteration:
            self._pending = None
            self._summarise()
            self.checked.emit(self.results())
            return
        except (ProgramError, ArithmeticError) as exc:  # the program fails at these values
            self._pending = None
            self.summary.setText(f"Cannot check here: {exc}")
            return
        self._timer.start()

    # --- what the learner reads ----------------------------------------------------------------
    def _set_headers(self, loss: str) -> None:
        self.table.setHorizontalHeaderLabels(
            ["parameter", f"backprop d{loss}/dθ", "finite difference", "relative error"])

    def _item(self, text: str, column: int) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        if column != PARAMETER:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def _show_row(self, row: int, check: GradCheck) -> None:
        if row >= self.table.rowCount():
            return
        self.table.setItem(row, BACKPROP, self._item(format_number(check.backprop, DIGITS), BACKPROP))
        numeric = format_number(check.numeric, DIGITS) if math.isfinite(check.numeric) else "—"
        self.table.setItem(row, NUMERIC, self._item(numeric, NUMERIC))
        error = self._item(format_number(check.rel_error, 2) if not math.isnan(check.rel_error)
                           else "—", ERROR)
        palette = self.palette()
        if check.agrees:
            error.setForeground(QBrush(good_color(palette)))
            error.setToolTip(f"Agrees: below {format_number(AGREEMENT)}")
        elif math.isnan(check.rel_error):
            error.setForeground(QBrush(error_color(palette)))
            error.setToolTip("The loss cannot be evaluated at θ ± h (a domain edge such as log 0)")
        else:
            error.setForeground(QBrush(error_color(palette)))
            error.setToolTip(f"Disagrees: {format_number(AGREEMENT)} or more. A kink such as relu "
                             f"or abs within h of θ, or an h too large or too small")
        self.table.setItem(row, ERROR, error)

    def _summarise(self) -> None:
        results = self._results
        if not results:
            self.summary.setText("This program has no parameters (no Value(...)) to check.")
            return
        bad = [c for c in results if not c.agrees]
        finite = [c.rel_error for c in results if not math.isnan(c.rel_error)]
        worst = format_number(max(finite), 2) if finite else "—"
        h = format_number(self._step)
        if not bad:
            n = len(results)
            self.summary.setText(f"{'All ' + str(n) + ' gradients agree' if n > 1 else 'The gradient agrees'} "
                                 f"with the finite difference (h = {h}): the largest relative error "
                                 f"is {worst}, below {format_number(AGREEMENT)}.")
        else:
            names = ", ".join(c.name for c in bad[:3]) + (", …" if len(bad) > 3 else "")
            self.summary.setText(f"{len(bad)} of {len(results)} disagree by {format_number(AGREEMENT)} "
                                 f"or more ({names}; largest {worst}). Try another h: a large one "
                                 f"measures a chord, a tiny one loses digits to rounding; a kink "
                                 f"(relu, abs) near θ also breaks the estimate.")
