"""The learning-rate sweep panel: train at many learning rates in the background and compare.

Two plots share a log-scaled lr axis: iterations to converge (runs that never converged sit on
the cap line as distinct markers) and final loss (log scale). For a one-parameter loss the
predicted regime boundaries 1/c and 2/c (:mod:`engine.regimes`) are drawn as labelled lines over
shaded regions, so a learner sees the measured points fall where the theory says: fewest
iterations at 1/c, oscillation between 1/c and 2/c, divergence beyond. Clicking a point asks
the window to use that learning rate (``lrChosen``).

Threading: each sweep runs :func:`engine.sweep.sweep` in a :class:`SweepWorker` moved to its own
``QThread``. Points come back only through queued signals tagged with the sweep's id, so a
cancelled sweep that is still winding down cannot mix its points into a newer one. Cancelling
sets a ``threading.Event`` the engine polls every few iterations, so it stops within
milliseconds and the GUI thread never waits for it, except in :meth:`SweepPanel.shutdown`,
which the window calls on close.

Sharing the interpreter: the sweep is pure Python, so it holds the GIL whenever it runs, and the
GUI thread needs the GIL for every call into a Python-made item (each pyqtgraph item's paint,
boundingRect, ...). Left alone, the worker gives it up only every 5 ms switch interval, so one
repaint of the plots waits that long dozens of times and the window stutters for a few hundred
milliseconds. The worker therefore rests briefly (:data:`REST_SECONDS`) after each
:data:`WORK_SLICE_SECONDS` of work: the sweep takes about a fifth longer and the window stays
fluid. For the same reason the plots have no grid (replaying the grid's picture was most of the
cost of a repaint) and are redrawn at most every :data:`REDRAW_MS`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from engine.graph import format_number
from engine.language import Program, ProgramError, start
from engine.regimes import predict_regime
from engine.timeslice import Pace
from engine.sweep import (DEFAULT_COUNT, DEFAULT_HI, DEFAULT_LO, DEFAULT_MAX_ITERATIONS,
                          SweepPoint, log_space, sweep)
from engine.train import CONVERGED, DIVERGED, ERROR, MAX_STEPS

from ..theme import follow_palette, style_plot
from ..throttle import Beat

__all__ = ["ITERATIONS_TITLE", "LOSS_TITLE", "SweepPanel", "SweepWorker"]

ITERATIONS_TITLE = "Iterations to converge vs learning rate"
LOSS_TITLE = "Final loss vs learning rate"
PLOT_LIMIT = 1e300  # larger losses are as good as infinite and would overflow the axis range
REDRAW_MS = 100  # points arriving faster than this are drawn together
SHUTDOWN_WAIT_MS = 5000
WORK_SLICE_SECONDS = 0.008  # the worker computes this long...
REST_SECONDS = 0.002  # ...then sleeps this long, so the GUI thread gets the GIL without waiting

# Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
_STATUS_STYLE = {  # status: (name in the key, pyqtgraph symbol, the key's character, colour)
    CONVERGED: ("converged", "o", "●", "#0072B2"),
    MAX_STEPS: ("hit the iteration cap", "t", "▽", "#E69F00"),
    DIVERGED: ("diverged", "x", "✖", "#D55E00"),
    ERROR: ("stopped by a math error", "d", "◆", "#999999"),
}
# The key under the plots, not a legend inside them: any corner of a plot may hold points or
# the regime labels.
_OUTCOME_KEY = " · ".join(f'<span style="color:{colour}">{char}</span> {name}'
                          for name, _, char, colour in _STATUS_STYLE.values()) + \
    " (runs that never converged sit on the cap line)"
_REGION_COLOURS = {"monotone": "#009E73", "oscillating": "#E69F00", "diverging": "#D55E00"}
_REGION_ALPHA = 40
_WIDE = 12.0  # the shaded regions reach 1e±12 in lr: beyond any range a learner sweeps


class SweepWorker(QObject):
    """Runs one sweep in a worker thread; talks to the GUI only through its signals."""

    pointReady = Signal(int, object)  # sweep id, SweepPoint
    failed = Signal(int, str)  # sweep id, why the program cannot be trained
    finished = Signal(int)  # sweep id; emitted last, whether complete, stopped or failed

    def __init__(self, sweep_id: int, program: Program, values: Sequence[float] | None,
                 lrs: Sequence[float], max_iterations: int, stop: threading.Event) -> None:
        super().__init__()
        self._id = sweep_id
        self._program = program
        self._values = None if values is None else list(values)
        self._lrs = list(lrs)
        self._max_iterations = max_iterations
        self._stop = stop
        self._pace = Pace(WORK_SLICE_SECONDS, REST_SECONDS)

    @Slot()
    def work(self) -> None:
        self._pace = Pace(WORK_SLICE_SECONDS, REST_SECONDS)
        try:
            for point in sweep(self._program, self._lrs, self._max_iterations,
                               should_stop=self._should_stop, param_values=self._values):
                self.pointReady.emit(self._id, point)
        except ProgramError as exc:
            self.failed.emit(self._id, str(exc))
        finally:
            self.finished.emit(self._id)

    def _should_stop(self) -> bool:
        """Polled by the engine every few iterations: stop if asked, and now and then rest so
        the GUI thread can take the GIL at once (see the module docstring)."""
        if self._stop.is_set():
            return True
        self._pace.tick()
        return self._stop.is_set()


@dataclass
class _Sweep:
    """A sweep in flight: its thread and worker stay referenced until the thread has ended."""

    id: int
    thread: QThread
    worker: SweepWorker
    stop: threading.Event
    total: int
    max_iterations: int
    started: float = field(default_factory=time.perf_counter)
    points: list[SweepPoint] = field(default_factory=list)
    error: str = ""


class SweepPanel(QWidget):
    """Controls, progress and the two sweep plots; see the module docstring."""

    sweepFinished = Signal(object)  # list[SweepPoint] of a sweep that ran to the end
    lrChosen = Signal(float)  # the learner clicked the point of this learning rate
    runningChanged = Signal(bool)  # a sweep is in progress (a cancelled one may still wind down)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._program: Program | None = None
        self._values: list[float] | None = None
        self._boundaries: tuple[float, float] | None = None
        self._sweeps: dict[int, _Sweep] = {}  # every sweep whose thread may still run
        self._active: _Sweep | None = None  # the one being shown
        self._points: list[SweepPoint] = []
        self._cap = DEFAULT_MAX_ITERATIONS
        self._next_id = 1
        self._current_lr: float | None = None
        self._loss_log = True  # the loss axis is logarithmic unless a loss is negative
        self._build()
        self._redraw_beat = Beat(self, REDRAW_MS, self._redraw)
        self._apply_palette()
        follow_palette(self, self._apply_palette)
        self._update_controls()

    # --- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.lo_box = _lr_box(DEFAULT_LO, "The smallest learning rate tried")
        self.hi_box = _lr_box(DEFAULT_HI, "The largest learning rate tried")
        self.count_box = QSpinBox()
        self.count_box.setRange(2, 1000)
        self.count_box.setValue(DEFAULT_COUNT)
        self.count_box.setToolTip("How many learning rates, evenly spaced on a log scale")
        self.max_box = QSpinBox()
        self.max_box.setRange(1, 1_000_000)
        self.max_box.setSingleStep(100)
        self.max_box.setValue(DEFAULT_MAX_ITERATIONS)
        self.max_box.setToolTip("Each run stops here if it has neither converged nor diverged")
        self.run_button = QPushButton("Run sweep")
        self.run_button.setToolTip("Train once per learning rate, in the background")
        self.run_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m learning rates")
        self.progress.setValue(0)
        self.status_label = QLabel("Load a program, then run a sweep.")
        self.status_label.setWordWrap(True)
        self.key_label = QLabel()
        self.key_label.setWordWrap(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        lr_row = QHBoxLayout()
        lr_row.addWidget(self.lo_box)
        lr_row.addWidget(QLabel("to"))
        lr_row.addWidget(self.hi_box)
        form.addRow("Learning rates", lr_row)
        form.addRow("Count", self.count_box)
        form.addRow("Max iterations", self.max_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)

        self.iterations_widget = pg.PlotWidget(enableMenu=False)  # (no menus made to be dropped)
        self.loss_widget = pg.PlotWidget(enableMenu=False)
        self.iterations_plot: pg.PlotItem = self.iterations_widget.getPlotItem()
        self.loss_plot: pg.PlotItem = self.loss_widget.getPlotItem()
        self.iterations_plot.setTitle(ITERATIONS_TITLE)
        self.loss_plot.setTitle(LOSS_TITLE)
        self.iterations_plot.setLogMode(x=True, y=False)
        self.loss_plot.setLogMode(x=True, y=True)
        self.iterations_plot.setLabel("left", "iterations")
        self.loss_plot.setLabel("left", "final loss")
        self.loss_plot.setLabel("bottom", "learning rate (log scale)")
        self.loss_plot.setXLink(self.iterations_plot)
        for plot in (self.iterations_plot, self.loss_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)  # it mislabels log axes (×1e+09)
        self.iterations_plot.setXRange(math.log10(DEFAULT_LO), math.log10(DEFAULT_HI))

        # One item per status and plot, updated in place with setData.
        self._iteration_items: dict[str, pg.PlotDataItem] = {}
        self._loss_items: dict[str, pg.PlotDataItem] = {}
        for status, (_, symbol, _, colour) in _STATUS_STYLE.items():
            for plot, items in ((self.iterations_plot, self._iteration_items),
                                (self.loss_plot, self._loss_items)):
                brush = None if status == MAX_STEPS else colour  # hollow: not an outcome, a limit
                item = pg.PlotDataItem([], [], pen=None, symbol=symbol, symbolSize=9,
                                       symbolPen=pg.mkPen(colour, width=1.5), symbolBrush=brush)
                item.sigPointsClicked.connect(self._on_points_clicked)
                plot.addItem(item)
                items[status] = item
        self._cap_line = pg.InfiniteLine(
            angle=0, movable=False, label="cap",
            labelOpts={"position": 0.4, "anchors": [(0.5, 1), (0.5, 1)]})
        self.iterations_plot.addItem(self._cap_line)
        self._regime_items: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self._boundary_lines: list[tuple[float, pg.InfiniteLine]] = []
        self._current_lines: list[pg.InfiniteLine] = []

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.iterations_widget, 1)
        layout.addWidget(self.loss_widget, 1)
        layout.addWidget(self.key_label)

    # --- what to sweep ---------------------------------------------------------------------------
    def set_program(self, program: Program | None, values: Sequence[float] | None = None) -> None:
        """Sweep ``program`` from ``values`` (default: its own starting values) from now on.

        A sweep of the previous program no longer describes anything on screen: it is cancelled
        and its points cleared.
        """
        self.cancel()
        self._program = program
        self._values = list(values) if values is not None else None
        self._points = []
        self._boundaries = self._predict_boundaries()
        self._draw_regimes()
        self._redraw()
        self.progress.setValue(0)
        if program is None:
            self.status_label.setText("Load a program, then run a sweep.")
        else:
            self.status_label.setText(self._intro())
        self._update_controls()

    def set_current_lr(self, lr: float | None) -> None:
        """Mark the learning rate the window is using, so the learner sees where it falls."""
        self._current_lr = lr if lr is not None and lr > 0 and math.isfinite(lr) else None
        for plot, line in zip((self.iterations_plot, self.loss_plot), self._current_lines):
            plot.removeItem(line)
        self._current_lines = []
        if self._current_lr is None:
            return
        for plot in (self.iterations_plot, self.loss_plot):
            line = pg.InfiniteLine(math.log10(self._current_lr), angle=90, movable=False)
            line.setPen(pg.mkPen(self._foreground(), width=1, style=Qt.PenStyle.DotLine))
            plot.addItem(line, ignoreBounds=True)
            self._current_lines.append(line)

    def _predict_boundaries(self) -> tuple[float, float] | None:
        """1/c and 2/c, only for a one-parameter loss.

        With several parameters the curvature along the first one is not what limits the
        learning rate (the Hessian's largest eigenvalue is), so lines drawn from it would teach
        something false.
        """
        if self._program is None:
            return None
        try:
            values = self._values if self._values is not None else start(self._program).values
        except ProgramError:
            return None
        if len(values) != 1:
            return None
        return predict_regime(self._program, values, DEFAULT_LO).boundaries

    def _intro(self) -> str:
        if self._boundaries is None:
            return "Run a sweep to see how the learning rate changes the outcome."
        one, two = (format_number(b) for b in self._boundaries)
        return (f"Predicted: monotone below {one}, one step at {one}, oscillating up to {two}, "
                f"diverging above {two}. Run a sweep to check.")

    # --- running ------------------------------------------------------------------------------
    def start(self, lo: float | None = None, hi: float | None = None, n: int | None = None,
              max_iterations: int | None = None) -> bool:
        """Start a sweep (cancelling any running one); arguments left out come from the controls.

        Returns False, saying why in the status line, when there is nothing valid to sweep.
        """
        for box, value in ((self.lo_box, lo), (self.hi_box, hi)):
            if value is not None:
                box.setValue(value)
        if n is not None:
            self.count_box.setValue(n)
        if max_iterations is not None:
            self.max_box.setValue(max_iterations)
        lo = self.lo_box.value() if lo is None else lo
        hi = self.hi_box.value() if hi is None else hi
        n = self.count_box.value() if n is None else n
        cap = self.max_box.value() if max_iterations is None else max_iterations
        if self._program is None:
            self.status_label.setText("Load a program first.")
            return False
        if not 0 < lo < hi or n < 2 or cap < 1:
            self.status_label.setText("The smallest learning rate must be positive and below the "
                                      "largest, with at least 2 values and 1 iteration.")
            return False
        self.cancel()
        lrs = log_space(lo, hi, n)
        stop = threading.Event()
        thread = QThread()
        thread.setObjectName(f"lr sweep {self._next_id}")
        worker = SweepWorker(self._next_id, self._program, self._values, lrs, cap, stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.work)
        # quit from the worker's thread itself, so it never waits for the GUI's event loop
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.finished.connect(self._on_worker_finished)
        worker.pointReady.connect(self._on_point)
        worker.failed.connect(self._on_failed)
        thread.finished.connect(worker.deleteLater)
        thread.finished.connect(thread.deleteLater)
        run = _Sweep(self._next_id, thread, worker, stop, n, cap)
        self._next_id += 1
        self._sweeps[run.id] = run
        self._active = run
        self._points = run.points
        self._cap = cap
        self.progress.setRange(0, n)
        self.progress.setValue(0)
        self.status_label.setText(f"Sweeping {n} learning rates from {format_number(lo)} to "
                                  f"{format_number(hi)}, at most {cap} iterations each…")
        self.iterations_plot.setXRange(math.log10(lo), math.log10(hi))
        self._redraw()
        thread.start()
        self._update_controls()
        self.runningChanged.emit(True)
        return True

    @Slot()
    def cancel(self) -> None:
        """Stop the sweep being shown, keeping the points it has; returns at once."""
        run = self._active
        if run is None:
            return
        run.stop.set()
        self._active = None
        self._redraw()
        self.status_label.setText(f"Cancelled after {len(run.points)} of {run.total} "
                                  f"learning rates.")
        self._update_controls()
        self.runningChanged.emit(False)

    def shutdown(self) -> None:
        """Stop every sweep and wait for its thread to end; for the window's close."""
        self.cancel()
        for run in list(self._sweeps.values()):
            run.stop.set()
            _finish_thread(run.thread, SHUTDOWN_WAIT_MS)
        self._sweeps.clear()

    def is_running(self) -> bool:
        """True while a sweep is in progress or a cancelled one's thread is still winding down."""
        return self._active is not None or any(_thread_running(r.thread)
                                               for r in self._sweeps.values())

    def points(self) -> list[SweepPoint]:
        """The points of the sweep shown (complete, in progress, or cancelled part-way)."""
        return list(self._points)

    def boundaries(self) -> tuple[float, float] | None:
        """The predicted (1/c, 2/c) drawn on the plots, or None."""
        return self._boundaries

    def boundary_markers(self) -> list[tuple[float, str]]:
        """The regime lines as drawn: (learning rate, label) for each."""
        return [(10 ** line.value(), line.label.format) for _, line in self._boundary_lines]

    # --- results from the worker (queued) ------------------------------------------------------
    @Slot(int, object)
    def _on_point(self, sweep_id: int, point: SweepPoint) -> None:
        run = self._sweeps.get(sweep_id)
        if run is None:
            return
        if run is not self._active:  # cancelled: what was shown at the cancel stays
            return
        run.points.append(point)
        self.progress.setValue(len(run.points))
        self._redraw_beat.request()

    @Slot(int, str)
    def _on_failed(self, sweep_id: int, message: str) -> None:
        run = self._sweeps.get(sweep_id)
        if run is not None:
            run.error = message

    @Slot(int)
    def _on_worker_finished(self, sweep_id: int) -> None:
        run = self._sweeps.pop(sweep_id, None)
        if run is None:  # shut down already
            return
        # work() has returned and quit was requested: this wait is over in microseconds, and it
        # guarantees the thread has ended before anyone hears that the sweep is done.
        _finish_thread(run.thread, SHUTDOWN_WAIT_MS)
        if run is not self._active:
            return
        self._active = None
        self._redraw()
        self._update_controls()
        if run.error:
            self.status_label.setText(f"The sweep stopped: {run.error}")
        else:
            self.status_label.setText(self._summary(run))
        self.runningChanged.emit(False)
        if not run.error:
            self.sweepFinished.emit(list(run.points))

    def _summary(self, run: _Sweep) -> str:
        counts = {s: sum(p.status == s for p in run.points) for s in _STATUS_STYLE}
        seconds = time.perf_counter() - run.started
        text = (f"{len(run.points)} learning rates in {seconds:.1f} s: {counts[CONVERGED]} "
                f"converged, {counts[MAX_STEPS]} hit the cap of {run.max_iterations} iterations, "
                f"{counts[DIVERGED]} diverged"
                f"{f', {counts[ERROR]} stopped by an error' if counts[ERROR] else ''}.")
        converged = [p for p in run.points if p.converged]
        if converged:
            best = min(converged, key=lambda p: (p.iterations, p.lr))
            text += (f" Fastest: lr = {format_number(best.lr)} in {best.iterations} "
                     f"iteration{'s' if best.iterations != 1 else ''}.")
        scale = LossScale.of([p.final_loss for p in run.points])
        zero = sum(p.final_loss == 0 for p in run.points) if scale.log else 0
        off = sum(not _finite(p.final_loss) for p in run.points)
        if not scale.log:
            text += " Some final losses are negative, so the loss axis is linear."
        if zero:
            text += (f" {zero} final loss{'es' if zero != 1 else ''} of exactly 0 drawn at the "
                     f"bottom.")
        if off:
            text += (f" {off} final loss{'es' if off != 1 else ''} too large or not a number, "
                     f"drawn at the top.")
        return text + " Click a point to use its learning rate."

    def _on_points_clicked(self, _item: object, points: Sequence, _event: object) -> None:
        if not len(points):
            return
        lr = float(points[0].data())
        point = next((p for p in self._points if p.lr == lr), None)
        if point is not None:
            self.status_label.setText(_describe(point))
        self.lrChosen.emit(lr)

    # --- drawing --------------------------------------------------------------------------------
    def _redraw(self) -> None:
        self._redraw_beat.stop()
        cap = self._cap
        self._cap_line.setValue(cap)
        self._cap_line.label.setFormat(f"cap: {cap} iterations")
        scale = LossScale.of([p.final_loss for p in self._points])
        if scale.log != self._loss_log:  # empty the items first: no old loss meets the new axis
            self._loss_log = scale.log
            for item in self._loss_items.values():
                item.setData([], [])
            self.loss_plot.setLogMode(y=scale.log)
        for status, item in self._iteration_items.items():
            chosen = [p for p in self._points if p.status == status]
            ys = [p.iterations if status == CONVERGED else cap for p in chosen]
            item.setData([p.lr for p in chosen], ys, data=[p.lr for p in chosen])
        for status, item in self._loss_items.items():
            # a run that ended in inf or nan has no place on the loss axis (its mark on the
            # iterations plot says how it ended)
            placed = [(p, scale.position(p.final_loss)) for p in self._points if p.status == status]
            placed = [(p, y) for p, y in placed if math.isfinite(y)]
            item.setData([p.lr for p, _ in placed], [y for _, y in placed],
                         data=[p.lr for p, _ in placed])

    def _draw_regimes(self) -> None:
        for plot, item in self._regime_items:
            plot.removeItem(item)
        self._regime_items = []
        self._boundary_lines = []
        if self._boundaries is None:
            self.key_label.setText(_OUTCOME_KEY)
            return
        one, two = self._boundaries
        spans = {"monotone": (-_WIDE, math.log10(one)),
                 "oscillating": (math.log10(one), math.log10(two)),
                 "diverging": (math.log10(two), _WIDE)}
        labels = ((one, f"one step at {format_number(one)}"),
                  (two, f"diverges above {format_number(two)}"))
        for plot in (self.iterations_plot, self.loss_plot):
            for name, span in spans.items():
                colour = QColor(_REGION_COLOURS[name])
                colour.setAlpha(_REGION_ALPHA)
                region = pg.LinearRegionItem(span, movable=False, brush=colour, pen=pg.mkPen(None))
                region.setZValue(-10)
                region.setToolTip(f"{name} regime (predicted)")
                plot.addItem(region, ignoreBounds=True)
                self._regime_items.append((plot, region))
            for lr, text in labels:
                line = pg.InfiniteLine(math.log10(lr), angle=90, movable=False, label=text,
                                       labelOpts={"position": 0.62, "rotateAxis": (1, 0),
                                                  "anchors": [(0.5, 1), (0.5, 1)]})
                line.setPen(pg.mkPen(self._foreground(), width=1.5, style=Qt.PenStyle.DashLine))
                line.label.setColor(self._foreground())
                plot.addItem(line, ignoreBounds=True)
                self._regime_items.append((plot, line))
                if plot is self.iterations_plot:
                    self._boundary_lines.append((lr, line))
        swatch = '<span style="background-color:{c}">&nbsp;&nbsp;&nbsp;</span> {n}'
        self.key_label.setText(_OUTCOME_KEY + "<br>Shading, predicted from the curvature: " +
                               ", ".join(swatch.format(c=_REGION_COLOURS[name], n=name)
                                         for name in spans) + ".")

    # --- palette --------------------------------------------------------------------------------
    def _foreground(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.Text)

    def _apply_palette(self) -> None:
        """Follow the system's light or dark palette (pyqtgraph's default is always black)."""
        background = self.palette().color(QPalette.ColorRole.Base)
        foreground = self._foreground()
        for widget, plot in ((self.iterations_widget, self.iterations_plot),
                             (self.loss_widget, self.loss_plot)):
            style_plot(widget, plot, background, foreground)
        self._cap_line.setPen(pg.mkPen(foreground, width=1, style=Qt.PenStyle.DotLine))
        self._cap_line.label.setColor(foreground)
        self._draw_regimes()
        self.set_current_lr(self._current_lr)

    def _update_controls(self) -> None:
        running = self._active is not None
        self.run_button.setEnabled(self._program is not None and not running)
        self.cancel_button.setEnabled(running)
        for box in (self.lo_box, self.hi_box, self.count_box, self.max_box):
            box.setEnabled(not running)


def _lr_box(value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(6)
    box.setRange(1e-6, 100.0)
    box.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
    box.setValue(value)
    box.setToolTip(tip)
    return box


@dataclass(frozen=True)
class LossScale:
    """Where each final loss is drawn, so that no value can break the loss axis.

    A log scale shows losses from 1e-15 to 1e6 at once, but it has no place for 0 (the tutorial's
    loss at lr = 0.5 exactly) or a negative loss (``log(w)`` can go below 0). Zeros go just below
    the smallest positive loss; a negative loss switches the axis to linear. Infinite, NaN or
    astronomically large losses (diverged runs) go just above the largest drawable one.
    """

    log: bool
    bottom: float  # where a loss of 0 is drawn on a log scale
    top: float  # where a loss too large to draw is drawn

    @classmethod
    def of(cls, losses: Sequence[float]) -> LossScale:
        finite = [loss for loss in losses if _finite(loss)]
        if all(loss >= 0 for loss in finite):
            positive = [loss for loss in finite if loss > 0]
            if not positive:
                return cls(True, 1e-16, 1.0)
            return cls(True, min(positive) / 10, max(positive) * 10)
        low, high = min(finite), max(finite)
        return cls(False, 0.0, high + 0.1 * (high - low))

    def position(self, loss: float) -> float:
        if not _finite(loss):
            return self.top
        if self.log and loss == 0:
            return self.bottom
        return loss


def _finite(loss: float) -> bool:
    """Finite and small enough that an axis range around it does not overflow."""
    return math.isfinite(loss) and abs(loss) <= PLOT_LIMIT


def _describe(point: SweepPoint) -> str:
    lr = format_number(point.lr)
    loss = format_number(point.final_loss)
    if point.status == CONVERGED:
        times = f"{point.overshoots} time{'s' if point.overshoots != 1 else ''}"
        how = "without overshooting" if point.overshoots == 0 else \
            f"overshooting the minimum {times}"
        return (f"lr = {lr}: converged in {point.iterations} iteration"
                f"{'s' if point.iterations != 1 else ''}, {how}; final loss {loss}.")
    if point.status == DIVERGED:
        return f"lr = {lr}: diverged after {point.iterations} iterations (loss {loss})."
    if point.status == MAX_STEPS:
        return f"lr = {lr}: not converged after {point.iterations} iterations; loss {loss}."
    return f"lr = {lr}: stopped with an error after {point.iterations} iterations."


def _thread_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # deleted after it finished
        return False


def _finish_thread(thread: QThread, timeout_ms: int) -> None:
    try:
        thread.quit()
        thread.wait(timeout_ms)
    except RuntimeError:  # deleted after it finished
        pass
