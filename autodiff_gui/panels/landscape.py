"""The loss landscape: the derivative drawn as a slope, and the step it causes drawn as an arrow.

A learner reads "dL/dw = -4" in the ledger; here they *see* it. With one parameter the panel
draws the curve L(w), the current point, the tangent line at that point (its slope is exactly the
dL/dw the backward pass produced, not a numerical estimate) and the update −α·dL/dw as an arrow
along the w axis to the next point. The iterates so far sit on the curve as faint dots. With two
parameters (the regression preset's m and b) it draws the loss as a heat map with contour lines,
the path of the iterates and the step −α·∇L. With more, it draws a slice through the current point
along the parameter the learner picks, the others held where they are.

Above the plot, a prediction for the current learning rate, before anything runs: the curvature
along the shown parameter decides whether gradient descent approaches steadily, lands in one step,
oscillates, bounces for ever or diverges (``engine.regimes``).

Why it is built the way it is:

* **Cost.** Every sample is a forward pass of the engine. One pass of the tutorial's loss takes
  about 20 µs, one of the network preset about 0.6 ms, so the panel measures the cost of a pass
  and picks how many points to sample (up to 300 on a curve and 64×64 on a heat map; 125 on the
  network's slices). Sampling runs at most ~12 ms per turn of the event loop and only while the
  panel is visible, so the window never freezes; while a run streams moments, a new slice waits
  for the one being sampled and a pause twice as long (it is redrawn a few times a second). A
  curve or heat map is resampled only when its range changes (a slice: also when the parameters
  it holds fixed move). Setting a moment and a path together costs one refresh, at the next turn
  of the event loop; every query (``tangent_slope()`` ...) refreshes first, so it is never stale.
* **Stable axes.** A view that re-fits on every iteration is hard to read, so the range is
  recomputed only when something that must be seen (the current point, the next one, the
  minimiser, the path) leaves it, or when it has become far too wide.
* **Divergence.** A learning rate that is too large sends the parameters to 1e300 and inf. Points
  beyond :data:`PARAM_LIMIT` or with a loss beyond :data:`LOSS_LIMIT` are not drawn and a note says
  so; axes stay finite. Where the loss is undefined (the log of a negative number) the curve has
  a gap and the heat map a transparent hole.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette, QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.graph import format_number
from engine.language import Program, ProgramError, evaluate
from engine.regimes import (DIVERGING, MONOTONE, ONE_STEP, OSCILLATING, PERIODIC, Regime, classify,
                            predict_regime)
from engine.replay import Moment
from engine.train import gradient, quadratic_minimum

from ..plots.theme import style_plot

__all__ = [
    "CURVE",
    "HEATMAP",
    "LOSS_LIMIT",
    "MAX_PATH_POINTS",
    "PARAM_LIMIT",
    "SLICE",
    "LandscapePanel",
    "contour_segments",
    "describe",
    "fit_range",
    "loss_at",
    "steepest_curvature",
    "subsample",
]

CURVE, HEATMAP, SLICE = "curve", "heatmap", "slice"

PARAM_LIMIT = 1e9
"""Parameter values of larger magnitude are not drawn: only a diverging run gets there, and a
view a billion wide shows nothing a learner can read."""
LOSS_LIMIT = 1e30
"""Loss values of larger magnitude are not drawn (the loss of a parameter near PARAM_LIMIT fits)."""

MAX_PATH_POINTS = 400
"""At most this many iterates are drawn: all of the first ones (where the action is), then an
evenly spaced selection, and always the last."""
_PATH_HEAD = 150

CURVE_POINTS, MIN_CURVE_POINTS = 300, 48
GRID_POINTS, MIN_GRID_POINTS = 64, 16
CURVE_BUDGET_S = 0.08  # engine time one curve may take: fewer points for expensive programs
GRID_BUDGET_S = 0.15  # and one heat map
SLICE_BUDGET_S = 0.012  # work per turn of the event loop: the window stays responsive
RESAMPLE_PAUSE = 2.0  # after a sampling, wait this many times as long before the next one...
MAX_RESAMPLE_PAUSE_MS = 250  # ...but no longer: sampling takes at most a third of the window's time
CHEAP_PASS_S = 2e-4  # a forward pass this fast makes every refresh immediate
MIN_REFRESH_S = 0.06  # otherwise refreshes while a run streams moments are this far apart

_MARGIN = 0.12  # of the needed span, on each side
_SLACK = 8.0  # a kept range may be this many times wider than needed before it is refitted
_PARAM_FLOOR = 2.0  # the narrowest parameter range: ±1 around the point, so the bowl shows
_TANGENT_HALF = 0.18  # the tangent spans ±this fraction of the view's width around the point...
_TANGENT_RISE = 0.4  # ...or less, so that it rises at most this fraction of the view's height

# Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), one variant for
# light and one for dark backgrounds, matching the loss and parameter plots.
_COLOURS = {
    "light": {"curve": "#0072B2", "point": "#D55E00", "tangent": "#009E73", "step": "#B0488F",
              "minimum": "#333333"},
    "dark": {"curve": "#56B4E9", "point": "#FF8A50", "tangent": "#3DDC97", "step": "#E7A1CF",
             "minimum": "#E0E0E0"},
}
# Over the heat map (viridis: dark purple low, yellow high) the colours do not follow the palette.
_ON_MAP = {"path": "#FFFFFF", "edge": "#000000", "point": "#FF8A50", "step": "#FF3D7F",
           "contour": (255, 255, 255, 110)}
_COLOURMAP = "viridis"


# --- sampling -----------------------------------------------------------------------------------

def loss_at(program: Program, values: Sequence[float]) -> float:
    """The loss at ``values``, or NaN where it is undefined or too large to draw (a gap)."""
    try:
        loss = float(evaluate(program, [float(v) for v in values]).loss.data)
    except (ProgramError, ArithmeticError, ValueError):
        return math.nan
    return loss if math.isfinite(loss) and abs(loss) <= LOSS_LIMIT else math.nan


def pass_cost(program: Program, values: Sequence[float]) -> float:
    """Seconds one forward pass takes (the best of three, so a cold first pass does not count)."""
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        loss_at(program, values)
        best = min(best, time.perf_counter() - start)
    return best


@dataclass(eq=False)
class _Request:
    """Losses to compute: one per row of ``points`` (full parameter vectors).

    ``axes`` are the sampled coordinates along the shown axes (one array for a curve, two for a
    grid). ``kind`` names what is drawn (program, mode, parameter): a request of another kind makes
    a running one pointless, while one of the same kind (the next moment of a run) may wait.
    """

    key: tuple
    kind: tuple
    program: Program
    points: np.ndarray
    axes: tuple[np.ndarray, ...]


class _Job:
    """A request being computed a slice of time at a time."""

    def __init__(self, request: _Request) -> None:
        self.request = request
        self.losses = np.full(len(request.points), np.nan)
        self.done = 0
        self.seconds = 0.0  # engine time spent so far

    def run(self, seconds: float) -> bool:
        """Compute losses for about ``seconds``; True when all are done."""
        start = time.perf_counter()
        end = start + seconds
        program, points = self.request.program, self.request.points
        while self.done < len(points):
            self.losses[self.done] = loss_at(program, points[self.done].tolist())
            self.done += 1
            if time.perf_counter() >= end:
                break
        self.seconds += time.perf_counter() - start
        return self.done == len(points)


# --- small pure helpers ---------------------------------------------------------------------------

def fit_range(current: tuple[float, float] | None, needed: Sequence[float], floor: float,
              slack: float = _SLACK) -> tuple[float, float] | None:
    """A range showing every value of ``needed`` with a margin; ``current`` if it already does.

    Keeping the current range while it fits is what keeps the axes still while the point rolls
    down the curve. It is refitted when a needed value leaves it, or when it has become ``slack``
    times wider than needed (after a diverging run, say). Non-finite values are ignored; None when
    nothing is left.
    """
    finite = [float(v) for v in needed if math.isfinite(v)]
    if not finite:
        return current
    lo, hi = min(finite), max(finite)
    if current is not None:
        c_lo, c_hi = current
        inner = 0.02 * (c_hi - c_lo)
        if (c_lo + inner <= lo and hi <= c_hi - inner
                and c_hi - c_lo <= slack * max(hi - lo, floor) * (1 + 2 * _MARGIN)):
            return current
    span = hi - lo
    if span < floor:
        centre = (lo + hi) / 2
        lo, hi, span = centre - floor / 2, centre + floor / 2, floor
    return lo - _MARGIN * span, hi + _MARGIN * span


def subsample(n: int, limit: int = MAX_PATH_POINTS) -> list[int]:
    """Indices of at most ``limit`` of ``n`` iterates: the first ones, then evenly spaced, and the last."""
    if n <= limit:
        return list(range(n))
    head = min(_PATH_HEAD, limit // 2)
    rest = np.linspace(head, n - 1, limit - head).round().astype(int)
    return list(range(head)) + sorted(set(rest.tolist()))


def _drawable(x: float) -> bool:
    return math.isfinite(x) and abs(x) <= PARAM_LIMIT


def _fmt(x: float) -> str:
    return format_number(x, 4)


def _tidy(x: float) -> float:
    """A minimiser found by finite differences carries ~1e-12 of noise: show 5.9e-12 as 0."""
    return 0.0 if abs(x) < 1e-9 else x


def describe(regime: Regime) -> str:
    """One plain sentence for a learner: what gradient descent will do, and where the boundaries are.

    Built from the regime's numbers (not its explanation text) so that the sentence for one regime
    never names another.
    """
    bounds = regime.boundaries
    factor = regime.factor
    if bounds is None or factor is None:
        return regime.explanation
    b1, b2 = _fmt(bounds[0]), _fmt(bounds[1])
    sentence = {
        MONOTONE: f"each step keeps {_fmt(factor)} of the distance to the minimum: a steady "
                  f"approach (for α below {b1})",
        ONE_STEP: f"the first step lands exactly on the minimum (α = {b1})",
        OSCILLATING: f"each step jumps past the minimum and the distance is multiplied by "
                     f"{_fmt(factor)}: it swings from side to side but converges (α between "
                     f"{b1} and {b2})",
        PERIODIC: f"each step jumps past the minimum by exactly as much as it was off: it bounces "
                  f"between two points for ever (α = {b2})",
        DIVERGING: f"each step lands {_fmt(abs(factor))}× farther from the minimum, on the other "
                   f"side: it diverges (α above {b2})",
    }.get(regime.name)
    return f"{regime.name} — {sentence}" if sentence else regime.explanation


def steepest_curvature(program: Program, values: Sequence[float], h: float = 1e-4) -> float | None:
    """The largest curvature of the loss at ``values`` in any direction (the Hessian's largest
    eigenvalue), for two parameters; None where it cannot be measured.

    With two parameters the curvature along each axis alone is not what decides divergence: the
    bowl's steepest direction is (the regression preset diverges above α ≈ 0.06, while along m
    alone the limit would be 0.071).
    """
    if len(values) != 2:
        return None
    try:
        columns = []
        for j in range(2):
            up, down = list(values), list(values)
            up[j] += h
            down[j] -= h
            gu, gd = gradient(program, up)[1], gradient(program, down)[1]
            columns.append([(a - b) / (2 * h) for a, b in zip(gu, gd)])
    except (ProgramError, ArithmeticError, ValueError):
        return None
    a, d = columns[0][0], columns[1][1]
    b = (columns[0][1] + columns[1][0]) / 2
    root = math.hypot((a - d) / 2, b)
    top = (a + d) / 2 + root
    return float(f"{top:.9g}") if math.isfinite(top) else None


# --- the panel --------------------------------------------------------------------------------------

class LandscapePanel(QWidget):
    """The loss around the current point, the tangent, the step, and a prediction for α.

    Feed it :meth:`set_moment` (the moment the canvas shows), :meth:`set_path` (the iterates so
    far) and :meth:`set_lr` (when the learner changes α before running). The learner chooses the
    parameter of a slice in the panel's combo box (or the window calls :meth:`set_parameter`).
    """

    parameterChanged = Signal(str)
    """The learner picked another parameter to slice along (or to predict along, on a heat map)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._moment: Moment | None = None
        self._program: Program | None = None
        self._generation = 0  # counts programs, so a request can tell a stale one
        self._lr = 0.1
        self._param = 0
        self._path = np.empty((0, 0))
        self._path_total = 0
        self._minimum: tuple[float, ...] | None = None
        self._cost = 0.0
        self._tone = "light"

        self._x_range: tuple[float, float] | None = None
        self._y_range: tuple[float, float] | None = None
        self._shown_range: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._sampled: _Request | None = None  # what the drawn curve or heat map shows
        self._curve = (np.empty(0), np.empty(0))
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._tangent: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._arrow: tuple[tuple[float, ...], tuple[float, ...]] | None = None
        self._prediction = ""
        self._off_chart = 0
        self._styled_mode = ""
        self._refreshing = False

        self._job: _Job | None = None
        self._pending: _Request | None = None
        self._work_timer = QTimer(self)
        self._work_timer.setSingleShot(True)
        self._work_timer.timeout.connect(self._on_work_timer)
        self._dirty = False
        self._last_refresh = -math.inf
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._flush)

        self._build()
        self._apply_palette()
        self._refresh_now()

    def _build(self) -> None:
        self._prediction_label = QLabel()
        self._prediction_label.setObjectName("landscapePrediction")
        self._prediction_label.setWordWrap(True)
        self._prediction_label.setTextFormat(Qt.TextFormat.PlainText)
        self._combo_label = QLabel("Slice along")
        self._combo = QComboBox()
        self._combo.setObjectName("landscapeParameter")
        self._combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._combo.currentIndexChanged.connect(self._on_combo)
        self._note = QLabel()
        self._note.setObjectName("landscapeNote")
        self._note.setWordWrap(True)

        self._widget = pg.PlotWidget()
        self._plot = self._widget.getPlotItem()
        self._plot.disableAutoRange()
        self._plot.hideButtons()  # ranges are managed here; a double-click restores them
        for side in ("left", "bottom"):
            self._plot.getAxis(side).enableAutoSIPrefix(False)  # "4e+06", never "4 (x1e+06)"
        self._plot.vb.sigTransformChanged.connect(lambda *_: self._orient_arrow())
        # pyqtgraph's own "Export..." raises on PySide6 6.11+ (pyqtgraph issue 3495): no menu entry.
        self._widget.scene().contextMenu = []
        self._widget.scene().sigMouseClicked.connect(self._on_click)
        self._widget.setToolTip("Drag to pan, scroll to zoom; double-click to see the whole picture again.")

        self._image = pg.ImageItem(axisOrder="col-major")
        self._contours = pg.PlotCurveItem(connect="pairs", antialias=True)
        self._curve_item = pg.PlotCurveItem(connect="finite", antialias=True)
        self._path_line = pg.PlotCurveItem(antialias=True)
        self._path_dots = pg.ScatterPlotItem(size=8)
        self._minimum_dot = pg.ScatterPlotItem(size=13, symbol="star")
        self._minimum_label = pg.TextItem(anchor=(0.5, -0.25))
        self._tangent_item = pg.PlotCurveItem(antialias=True)
        self._tangent_label = pg.TextItem()
        self._step_line = pg.PlotCurveItem(antialias=True)
        self._step_head = pg.ArrowItem(headLen=14, tipAngle=32, tailLen=None)
        self._step_label = pg.TextItem()
        self._drop_line = pg.PlotCurveItem(antialias=True)
        self._next_dot = pg.ScatterPlotItem(size=10)
        self._point_dot = pg.ScatterPlotItem(size=12)
        self._image.setToolTip("The loss, coloured on a logarithmic scale (dark: low, yellow: high), "
                               "so the whole bowl stays visible; the lines are contours of equal loss.")
        for item, z in ((self._image, -10), (self._contours, -9), (self._curve_item, 0),
                        (self._path_line, 1), (self._path_dots, 2), (self._minimum_dot, 3),
                        (self._minimum_label, 3), (self._tangent_item, 4), (self._tangent_label, 6),
                        (self._drop_line, 4), (self._step_line, 5), (self._step_head, 5),
                        (self._step_label, 6), (self._next_dot, 6), (self._point_dot, 7)):
            item.setZValue(z)
            self._plot.addItem(item, ignoreBounds=True)  # ranges are set explicitly

        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self._note, 1)
        header.addStretch(0)  # keeps the combo box narrow while the note is hidden
        header.addWidget(self._combo_label)
        header.addWidget(self._combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(2)
        layout.addWidget(self._prediction_label)
        layout.addLayout(header)
        layout.addWidget(self._widget, 1)
        self.setMinimumHeight(220)

    # --- the public API ---------------------------------------------------------------------------

    def set_moment(self, moment: Moment | None) -> None:
        """Show ``moment``: its program, parameter values, gradients and learning rate.

        None clears the panel (no program, or one that does not parse). A moment of another
        program resets the path, the chosen parameter and the view.
        """
        if moment is None:
            self._moment = self._program = None
            self._generation += 1
            self._reset_view()
            self._cancel_sampling()
            self._refresh_now()
            return
        if self._program is None or not (moment.program is self._program or moment.program == self._program):
            self._new_program(moment)
        self._moment = moment
        self._lr = float(moment.lr)
        self._schedule_refresh()

    def set_path(self, values_list: Sequence[Sequence[float]]) -> None:
        """The iterates so far, oldest first (may be long: only a selection is drawn)."""
        n = len(values_list)
        rows = [tuple(values_list[i]) for i in subsample(n)]
        width = len(rows[0]) if rows else 0
        if any(len(r) != width for r in rows):
            raise ValueError("every iterate needs the same number of parameters")
        with np.errstate(all="ignore"):
            self._path = np.array(rows, dtype=np.float64).reshape(len(rows), width)
        self._path_total = n
        self._schedule_refresh()

    def set_lr(self, lr: float) -> None:
        """A new learning rate: the prediction and the step arrow follow (step = −α·gradient)."""
        self._lr = float(lr)
        self._schedule_refresh()

    def set_parameter(self, name: str) -> None:
        """Slice along (or, on a heat map, predict along) parameter ``name``."""
        names = self._names()
        if name not in names:
            raise ValueError(f"no parameter called {name!r}; the parameters are {', '.join(names) or 'none'}")
        self._combo.setCurrentIndex(names.index(name))  # _on_combo does the rest

    def parameter(self) -> str | None:
        """The parameter shown along the x axis (the one predicted along), or None."""
        names = self._names()
        return names[self._param] if names else None

    def mode(self) -> str:
        """The kind of plot: "curve" (one parameter, or none), "heatmap" (two) or "slice" (more)."""
        n = len(self._names())
        return HEATMAP if n == 2 else SLICE if n > 2 else CURVE

    def lr(self) -> float:
        return self._lr

    def tangent_slope(self) -> float:
        """The slope of the drawn tangent, from its two drawn endpoints (NaN when none is drawn)."""
        self._flush()
        if self._tangent is None:
            return math.nan
        (x0, y0), (x1, y1) = self._tangent
        return (y1 - y0) / (x1 - x0)

    def tangent_line(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The drawn tangent's endpoints, or None."""
        self._flush()
        return self._tangent

    def step_arrow(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """The drawn step arrow's tail and tip in plot coordinates, or None."""
        self._flush()
        return self._arrow

    def step_vector(self) -> tuple[float, ...]:
        """The drawn step, tip minus tail, along the plot's parameter axes: (Δw,) on a curve or a
        slice, (Δm, Δb) on a heat map; () when no arrow is drawn."""
        self._flush()
        if self._arrow is None:
            return ()
        tail, tip = self._arrow
        if self.mode() == HEATMAP:
            return tuple(b - a for a, b in zip(tail, tip))
        return (tip[0] - tail[0],)

    def prediction_text(self) -> str:
        """The prediction line above the plot, as shown."""
        self._flush()
        return self._prediction

    def note_text(self) -> str:
        """The note under the prediction (points not drawn, a slice's meaning, sampling)."""
        self._flush()
        return self._note.text() if self._note.isVisibleTo(self) else ""

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The sampled curve (parameter values, losses; NaN in gaps), on a curve or a slice."""
        self._flush()
        return self._curve[0].copy(), self._curve[1].copy()

    def heatmap_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The sampled grid on a heat map: x values, y values, losses[ix, iy] (NaN in holes)."""
        self._flush()
        return None if self._grid is None else tuple(a.copy() for a in self._grid)

    def path_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The drawn iterates (x, y) in plot coordinates."""
        self._flush()
        x, y = self._path_dots.getData()
        return np.asarray(x, dtype=float).copy(), np.asarray(y, dtype=float).copy()

    def view_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The plot's visible ((x0, x1), (y0, y1))."""
        self._flush()
        (x0, x1), (y0, y1) = self._plot.vb.viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def reset_view(self) -> None:
        """Show the panel's own range again after the learner panned or zoomed."""
        self._flush()
        self._shown_range = None
        if self._x_range is not None and self._y_range is not None:
            self._set_view()

    def plot_widget(self) -> pg.PlotWidget:
        """The plot, for exporting it as an image."""
        return self._widget

    def sampling(self) -> bool:
        """True while a curve or heat map is still being computed (or waits to be)."""
        self._flush()
        return self._job is not None or self._pending is not None

    def finish_sampling(self) -> None:
        """Compute what is still to be sampled now, blocking (for exports, screenshots and tests)."""
        self._flush()
        while self._job is not None or self._pending is not None:
            if self._job is None:
                self._start(self._pending, run=False)
            self._work(math.inf)
        self._work_timer.stop()

    # --- refreshing ---------------------------------------------------------------------------------

    def _names(self) -> tuple[str, ...]:
        return self._moment.param_names if self._moment is not None else ()

    def _new_program(self, moment: Moment) -> None:
        self._program = moment.program
        self._generation += 1
        self._path = np.empty((0, 0))
        self._path_total = 0
        self._reset_view()
        self._cancel_sampling()
        names = moment.param_names
        self._cost = pass_cost(moment.program, moment.values) if names else 0.0
        self._minimum = None
        if 1 <= len(names) <= 2:
            target = quadratic_minimum(moment.program, moment.values)
            if target is not None and all(_drawable(v) for v in target):
                self._minimum = tuple(_tidy(float(v)) for v in target)
        self._combo.blockSignals(True)
        self._combo.clear()
        self._combo.addItems(list(names))
        self._param = 0
        self._combo.setCurrentIndex(0)
        self._combo.blockSignals(False)
        self._clear_items()

    def _reset_view(self) -> None:
        self._x_range = self._y_range = None
        self._sampled = None
        self._curve = (np.empty(0), np.empty(0))
        self._grid = None

    def _on_combo(self, index: int) -> None:
        if index < 0 or index == self._param:
            return
        self._param = index
        if self.mode() == SLICE:
            self._reset_view()
            self._cancel_sampling()
        self._refresh_now()
        self.parameterChanged.emit(self._names()[index])

    def _schedule_refresh(self) -> None:
        """Refresh at the next turn of the event loop, so that a path and a moment set together
        cost one refresh; for an expensive program, at most every MIN_REFRESH_S while a run
        streams moments. Every query (``tangent_slope()``, ...) refreshes first if needed."""
        self._dirty = True
        if self._refresh_timer.isActive():
            return
        wait = MIN_REFRESH_S - (time.perf_counter() - self._last_refresh)
        cheap = self._cost <= CHEAP_PASS_S
        self._refresh_timer.start(0 if cheap or wait <= 0 else max(1, int(wait * 1000)))

    def _flush(self) -> None:
        if self._dirty:
            self._refresh_now()

    def _refresh_now(self) -> None:
        self._dirty = False
        self._refresh_timer.stop()
        self._last_refresh = time.perf_counter()
        mode = self.mode()
        if mode != self._styled_mode:
            self._styled_mode = mode
            self._style_for_mode()
            self._combo_label.setText("Predict along" if mode == HEATMAP else "Slice along")
            for w in (self._combo_label, self._combo):
                w.setVisible(mode != CURVE)
        names = self._names()
        self._plot.getAxis("bottom").setLabel(names[0] if mode == HEATMAP else self.parameter() or "")
        self._plot.getAxis("left").setLabel(names[1] if mode == HEATMAP else "loss L")
        if self._moment is None or not self._names():
            self._clear_items()
            self._prediction = ("Load a program with a parameter to see its loss landscape."
                                if self._moment is None else
                                "This program has no parameters (no Value(...)): there is no "
                                "landscape to descend.")
            self._prediction_label.setText(self._prediction)
            self._note.hide()
            return
        self._update_prediction()
        self._refreshing = True  # a sampling finished on the way is drawn by this refresh
        try:
            if mode == HEATMAP:
                self._refresh_heatmap()
            else:
                self._refresh_curve()
        finally:
            self._refreshing = False
        self._update_note()

    def _clear_items(self) -> None:
        self._image.clear()
        for item in (self._contours, self._curve_item, self._path_line, self._tangent_item,
                     self._step_line, self._drop_line):
            item.setData([], [])
        for item in (self._path_dots, self._minimum_dot, self._next_dot, self._point_dot):
            item.setData([], [])
        for item in (self._tangent_label, self._step_label, self._minimum_label, self._step_head):
            item.hide()
        self._tangent = self._arrow = None

    # --- the prediction -----------------------------------------------------------------------------

    def _update_prediction(self) -> None:
        m = self._moment
        assert m is not None
        name = m.param_names[self._param]
        regime = predict_regime(m.program, m.values, self._lr, self._param)
        where = "" if len(m.param_names) == 1 else f" along {name}"
        text = f"Prediction for α = {format_number(self._lr)}{where}: {describe(regime)}."
        tip = [regime.explanation]
        if regime.curvature is not None:
            tip.append(f"The curvature d²L/d{name}² = {_fmt(regime.curvature)} at the current point "
                       f"decides: one step multiplies the distance to the minimum by 1 − α·curvature.")
        if len(m.param_names) == 2:
            steepest = steepest_curvature(m.program, m.values)
            if steepest is not None and steepest > 0:
                both = classify(self._lr, steepest)
                text += (f" Both parameters together: along the bowl's steepest direction "
                         f"(curvature {_fmt(steepest)}) it is {both}, and diverges above "
                         f"α = {_fmt(2 / steepest)}.")
        elif len(m.param_names) > 2:
            tip.append("Along one parameter only: the others change too when the run updates them.")
        self._prediction = text
        self._prediction_label.setText(text)
        self._prediction_label.setToolTip("\n".join(tip))

    # --- one parameter, or a slice ----------------------------------------------------------------------

    def _refresh_curve(self) -> None:
        m = self._moment
        assert m is not None
        k, lr = self._param, self._lr
        w, g, loss = m.values[k], m.grads[k], m.loss
        nxt = w - lr * g
        next_values = list(m.values)
        next_values[k] = nxt
        next_loss = loss_at(m.program, next_values) if _drawable(nxt) else math.nan
        path = self._path[:, k] if self._path.shape[1:] == (len(m.values),) else np.empty(0)

        needed = [v for v in (w, nxt) if _drawable(v)]
        minimum = self._minimum[0] if self._minimum is not None and self.mode() == CURVE else None
        if minimum is not None:
            needed.append(minimum)
            if _drawable(w):
                needed.append(2 * minimum - w)  # the mirror image: the whole bowl is in view
        needed.extend(float(v) for v in path if _drawable(v))
        self._off_chart = int(np.count_nonzero(~(np.isfinite(path) & (np.abs(path) <= PARAM_LIMIT)))) \
            if len(path) else 0
        if not needed:
            needed = [0.0]
        self._x_range = fit_range(self._x_range, needed, _PARAM_FLOOR)
        self._request_curve(m)

        xs, ys = self._curve
        in_view = ys[(xs >= self._x_range[0]) & (xs <= self._x_range[1])] if len(xs) else ys
        y_needed = [v for v in (loss, next_loss) if math.isfinite(v) and abs(v) <= LOSS_LIMIT]
        y_needed.extend(in_view[np.isfinite(in_view)].tolist())
        top = max((abs(v) for v in y_needed), default=1.0)
        self._y_range = fit_range(self._y_range, y_needed or [0.0], max(1e-9, 0.1 * top), slack=4.0)
        self._set_view()

        colours = _COLOURS[self._tone]
        point_ok = _drawable(w) and math.isfinite(loss) and abs(loss) <= LOSS_LIMIT
        self._point_dot.setData([w] if point_ok else [], [loss] if point_ok else [])
        self._draw_path_on_curve(path)
        if minimum is not None:
            y_min = loss_at(m.program, [minimum])
            self._minimum_dot.setData([minimum], [y_min])
            self._minimum_label.setText(f"{m.param_names[k]}* = {_fmt(minimum)}",
                                        color=colours["minimum"])
            self._minimum_label.setPos(minimum, y_min)
            self._minimum_label.setAnchor((0.5, -0.25))
            self._minimum_label.setVisible(math.isfinite(y_min))
        else:
            self._minimum_dot.setData([], [])
            self._minimum_label.hide()
        self._draw_tangent(w, loss, g, m.param_names[k], point_ok)
        self._draw_step(w, loss, nxt, next_loss, lr * g, m.param_names[k], point_ok)

    def _request_curve(self, m: Moment) -> None:
        k = self._param
        lo, hi = self._x_range
        n = int(min(CURVE_POINTS, max(MIN_CURVE_POINTS, CURVE_BUDGET_S / max(self._cost, 1e-9))))
        held = tuple(v for i, v in enumerate(m.values) if i != k)
        key = (self._generation, self.mode(), k, lo, hi, n, held)
        xs = np.linspace(lo, hi, n)
        points = np.tile(np.asarray(m.values, dtype=np.float64), (n, 1))
        points[:, k] = xs
        self._request(_Request(key, (self._generation, self.mode(), k), m.program, points, (xs,)))

    def _draw_path_on_curve(self, path: np.ndarray) -> None:
        """The earlier iterates as faint dots on the drawn curve (on a slice: projected onto it)."""
        xs, ys = self._curve
        finite = np.isfinite(ys)
        if not len(path) or np.count_nonzero(finite) < 2:
            self._path_dots.setData([], [])
            return
        cx, cy = xs[finite], ys[finite]
        keep = np.isfinite(path) & (path >= cx[0]) & (path <= cx[-1])
        px = path[keep]
        self._path_dots.setData(px, np.interp(px, cx, cy))
        self._path_line.setData([], [])

    def _draw_tangent(self, w: float, loss: float, g: float, name: str, point_ok: bool) -> None:
        """A segment through the point with slope exactly g, short enough to stay in view."""
        x_span = self._x_range[1] - self._x_range[0]
        y_span = self._y_range[1] - self._y_range[0]
        half = _TANGENT_HALF * x_span
        if math.isfinite(g) and g != 0:
            half = min(half, _TANGENT_RISE * y_span / abs(g))
        if not (point_ok and math.isfinite(g) and half > 0 and math.isfinite(g * half)):
            self._tangent = None
            self._tangent_item.setData([], [])
            self._tangent_label.hide()
            return
        ends = ((w - half, loss - g * half), (w + half, loss + g * half))
        self._tangent = ends
        self._tangent_item.setData([ends[0][0], ends[1][0]], [ends[0][1], ends[1][1]])
        # The label sits at the uphill end, away from the point: the step goes the other way, so
        # the two labels never meet. If that end is out of view (a point at the edge), the other.
        uphill, downhill = (ends[1], ends[0]) if g > 0 else (ends[0], ends[1])
        x0, x1 = self._x_range
        end = uphill if x0 <= uphill[0] <= x1 or not x0 <= downhill[0] <= x1 else downhill
        self._tangent_label.setText(f"slope dL/d{name} = {_fmt(g)}", color=_COLOURS[self._tone]["tangent"])
        self._place(self._tangent_label, end[0], end[1], rightwards=end[0] >= w)

    def _place(self, label: pg.TextItem, x: float, y: float, rightwards: bool) -> None:
        """Put ``label`` beside (x, y): above it, extending right or left, flipped to stay in view.

        Labels on the plot must stay readable wherever the point is (at the edge of the view after
        a big step, at the top of the view on a steep curve).
        """
        (x0, x1), (y0, y1) = self._x_range, self._y_range
        try:
            px, _ = self._plot.vb.viewPixelSize()
        except (ZeroDivisionError, ValueError, TypeError):
            px = math.nan
        width = label.textItem.boundingRect().width() * px
        if math.isfinite(width) and width > 0:
            if rightwards and x + width > x1 and x - width >= x0:
                rightwards = False
            elif not rightwards and x - width < x0 and x + width <= x1:
                rightwards = True
        above = y <= y0 + 0.85 * (y1 - y0)
        label.setAnchor((0 if rightwards else 1, 1.15 if above else -0.15))
        label.setPos(min(max(x, x0), x1), y)
        label.show()

    def _draw_step(self, w: float, loss: float, nxt: float, next_loss: float, lr_g: float,
                   name: str, point_ok: bool) -> None:
        """The arrow from w to w − α·dL/dw at the point's height, then down (or up) to the curve."""
        if not (point_ok and _drawable(nxt)):
            self._hide_step()
            return
        self._arrow = ((w, loss), (nxt, loss))
        self._step_line.setData([w, nxt], [loss, loss])
        self._step_label.setText(f"step −α·dL/d{name} = {_fmt(-lr_g)}",
                                 color=_COLOURS[self._tone]["step"])
        self._place(self._step_label, w, loss, rightwards=nxt >= w)
        if nxt != w:
            self._step_head.setPos(nxt, loss)
            self._step_head.setStyle(angle=180 if nxt > w else 0)
            self._step_head.show()
        else:
            self._step_head.hide()
        if math.isfinite(next_loss):
            self._next_dot.setData([nxt], [next_loss])
            self._drop_line.setData([nxt, nxt], [loss, next_loss])
        else:
            self._next_dot.setData([], [])
            self._drop_line.setData([], [])

    def _hide_step(self) -> None:
        self._arrow = None
        for item in (self._step_line, self._drop_line):
            item.setData([], [])
        self._next_dot.setData([], [])
        self._step_head.hide()
        self._step_label.hide()

    # --- two parameters -----------------------------------------------------------------------------

    def _refresh_heatmap(self) -> None:
        m = self._moment
        assert m is not None
        (a, b), (ga, gb) = m.values, m.grads
        tip = (a - self._lr * ga, b - self._lr * gb)
        path = self._path if self._path.shape[1:] == (2,) else np.empty((0, 2))
        drawable = np.isfinite(path).all(axis=1) & (np.abs(path) <= PARAM_LIMIT).all(axis=1) \
            if len(path) else np.zeros(0, dtype=bool)
        self._off_chart = int(np.count_nonzero(~drawable))
        path = path[drawable]
        needed = [p for p in ((a, b), tip) if all(_drawable(v) for v in p)]
        if self._minimum is not None:
            needed.append(self._minimum)
        needed.extend(map(tuple, path.tolist()))
        if not needed:
            needed = [(0.0, 0.0)]
        self._x_range = fit_range(self._x_range, [p[0] for p in needed], _PARAM_FLOOR)
        self._y_range = fit_range(self._y_range, [p[1] for p in needed], _PARAM_FLOOR)
        self._set_view()
        self._request_grid(m)

        for item in (self._curve_item, self._tangent_item, self._drop_line):
            item.setData([], [])
        self._next_dot.setData([], [])
        self._tangent = None
        self._tangent_label.hide()
        self._path_line.setData(path[:, 0], path[:, 1])
        self._path_dots.setData(path[:, 0], path[:, 1])
        point_ok = _drawable(a) and _drawable(b)
        self._point_dot.setData([a] if point_ok else [], [b] if point_ok else [])
        if self._minimum is not None:
            mx, my = self._minimum
            self._minimum_dot.setData([mx], [my])
            self._minimum_label.setText(f"({m.param_names[0]}*, {m.param_names[1]}*) = "
                                        f"({_fmt(mx)}, {_fmt(my)})", color=_COLOURS[self._tone]["minimum"])
            self._minimum_label.setPos(mx, my)
            # on the side of the star facing the middle, so the label stays in view
            self._minimum_label.setAnchor((0 if mx < sum(self._x_range) / 2 else 1, -0.25))
            self._minimum_label.show()
        else:
            self._minimum_dot.setData([], [])
            self._minimum_label.hide()
        if not (point_ok and all(_drawable(v) for v in tip)):
            self._hide_step()
            return
        self._arrow = ((a, b), tip)
        self._step_line.setData([a, tip[0]], [b, tip[1]])
        self._step_label.setText(f"step −α·∇L = ({_fmt(tip[0] - a)}, {_fmt(tip[1] - b)})",
                                 color=_COLOURS[self._tone]["step"])
        self._place(self._step_label, a, b, rightwards=tip[0] >= a)
        self._step_head.setPos(*tip)
        self._step_head.setVisible(tip != (a, b))
        self._orient_arrow()

    def _request_grid(self, m: Moment) -> None:
        n = int(min(GRID_POINTS, max(MIN_GRID_POINTS, math.sqrt(GRID_BUDGET_S / max(self._cost, 1e-9)))))
        key = (self._generation, HEATMAP, self._x_range, self._y_range, n)
        xs = np.linspace(*self._x_range, n)
        ys = np.linspace(*self._y_range, n)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        points = np.column_stack([gx.ravel(), gy.ravel()])
        self._request(_Request(key, (self._generation, HEATMAP), m.program, points, (xs, ys)))

    def _orient_arrow(self) -> None:
        """Point the arrow head along the step as it appears on screen (the axes' scales differ)."""
        if self._arrow is None or self.mode() != HEATMAP:
            return
        tail, tip = self._arrow
        vb = self._plot.vb
        p0, p1 = vb.mapViewToScene(QPointF(*tail)), vb.mapViewToScene(QPointF(*tip))
        dx, dy = p1.x() - p0.x(), p1.y() - p0.y()
        if not (math.isfinite(dx) and math.isfinite(dy)) or (dx == 0 and dy == 0):
            dx, dy = tip[0] - tail[0], -(tip[1] - tail[1])  # no geometry yet: data directions
        self._step_head.setStyle(angle=math.degrees(math.atan2(-dy, -dx)))

    # --- the view -------------------------------------------------------------------------------------

    def _on_click(self, event) -> None:
        if event.double():
            self.reset_view()

    def _set_view(self) -> None:
        """Apply the computed ranges, only when they changed (a learner's zoom survives a step)."""
        wanted = (self._x_range, self._y_range)
        if wanted != self._shown_range:
            self._shown_range = wanted
            self._plot.setRange(xRange=self._x_range, yRange=self._y_range, padding=0)

    def _update_note(self) -> None:
        """Say what the plot does not show, and why: thinned or diverged iterates, gaps, sampling."""
        parts = []
        name = self.parameter()
        if self.mode() == SLICE:
            parts.append(f"A slice through the current point along {name}; the other parameters are "
                         f"held at their current values (earlier iterates are shown at their {name}).")
        if self._off_chart:
            parts.append(f"{self._off_chart} iterate{'s are' if self._off_chart != 1 else ' is'} "
                         f"beyond ±{PARAM_LIMIT:g} or inf/nan and not drawn: the run diverged.")
        if self._moment is not None and self._arrow is None and self._names():
            parts.append("The current point or its next step is off the chart (inf, nan or beyond "
                         f"±{PARAM_LIMIT:g}): the run diverged.")
        if self.mode() != HEATMAP and len(self._curve[1]) and not np.isfinite(self._curve[1]).all():
            parts.append("Gaps: the loss is undefined (or too large to draw) there.")
        if self._path_total > MAX_PATH_POINTS:
            parts.append(f"{MAX_PATH_POINTS} of {self._path_total:,} iterates are drawn.")
        if self._job is not None or self._pending is not None:
            parts.append("Sampling the landscape…")
        self._note.setText(" ".join(parts))
        self._note.setVisible(bool(parts))

    # --- sampling in slices of time -----------------------------------------------------------------------

    def _request(self, request: _Request) -> None:
        if self._sampled is not None and self._sampled.key == request.key:
            return
        if self._job is not None:
            if self._job.request.key == request.key:
                return
            if self._job.request.kind == request.kind and self._job.done:
                self._pending = request  # the run moved on: sample its latest moment next
                return
            self._job = None
        if self._work_timer.isActive():  # pausing between two expensive samplings
            self._pending = request
            return
        self._start(request, run=True)

    def _start(self, request: _Request, run: bool) -> None:
        self._pending = None if self._pending is request else self._pending
        self._job = _Job(request)
        if not (run and self.isVisible()):  # hidden, showEvent starts the work
            return
        if len(request.points) * self._cost <= SLICE_BUDGET_S:
            self._work(SLICE_BUDGET_S)  # usually done before the caller returns: nothing stale shows
        elif not self._work_timer.isActive():
            self._work_timer.start(0)  # the caller (a refresh) has done enough for this turn

    def _work(self, seconds: float) -> None:
        job = self._job
        if job is None:
            return
        if not job.run(seconds):
            if math.isfinite(seconds):
                self._work_timer.start(0)
            return
        self._job = None
        if math.isfinite(seconds):
            # A pause before the next sampling (a request meanwhile waits as pending): while a
            # run streams moments, a slice is redrawn a few times a second, not continuously.
            self._work_timer.start(int(min(MAX_RESAMPLE_PAUSE_MS, RESAMPLE_PAUSE * 1000 * job.seconds)))
        self._draw_sampled(job)

    def _on_work_timer(self) -> None:
        if not self.isVisible():
            return  # showEvent resumes
        if self._job is None and self._pending is not None:
            self._start(self._pending, run=False)
        self._work(SLICE_BUDGET_S)

    def _cancel_sampling(self) -> None:
        self._job = self._pending = None
        self._work_timer.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if (self._job is not None or self._pending is not None) and not self._work_timer.isActive():
            self._work_timer.start(0)

    def _draw_sampled(self, job: _Job) -> None:
        request = job.request
        if request.kind[0] != self._generation:
            return
        self._sampled = request
        if len(request.axes) == 1:
            self._curve = (request.axes[0], job.losses)
            self._curve_item.setData(request.axes[0], job.losses)
            self._image.clear()
            self._contours.setData([], [])
        else:
            xs, ys = request.axes
            grid = job.losses.reshape(len(xs), len(ys))
            self._grid = (xs, ys, grid)
            self._curve = (np.empty(0), np.empty(0))
            self._curve_item.setData([], [])
            self._draw_heatmap(xs, ys, grid)
        if not self._refreshing:  # the y range, the path's dots and the note depend on it
            self._dirty = True
            self._flush()

    def _draw_heatmap(self, xs: np.ndarray, ys: np.ndarray, grid: np.ndarray) -> None:
        """log10 of the loss above its lowest sample, smoothed for display, and a few contours."""
        finite = np.isfinite(grid)
        if not finite.any():
            self._image.clear()
            self._contours.setData([], [])
            return
        low, high = float(grid[finite].min()), float(grid[finite].max())
        floor = max((high - low) * 1e-4, 1e-12)
        z = np.full(grid.shape, np.nan)
        z[finite] = np.log10(grid[finite] - low + floor)
        z_lo, z_hi = float(z[finite].min()), float(z[finite].max())
        fine = _upsample(z, 4)
        dx = (xs[-1] - xs[0]) / (fine.shape[0] - 1)
        dy = (ys[-1] - ys[0]) / (fine.shape[1] - 1)
        self._image.setImage(fine, autoLevels=False, levels=(z_lo, max(z_hi, z_lo + 1e-9)))
        self._image.setColorMap(pg.colormap.get(_COLOURMAP))
        self._image.setRect(xs[0] - dx / 2, ys[0] - dy / 2, dx * fine.shape[0], dy * fine.shape[1])
        self._draw_contours(xs, ys, z)

    def _draw_contours(self, xs: np.ndarray, ys: np.ndarray, z: np.ndarray) -> None:
        finite = np.isfinite(z)
        lo, hi = float(z[finite].min()), float(z[finite].max())
        if hi - lo <= 0:
            self._contours.setData([], [])
            return
        filled = np.where(finite, z, hi)  # holes read as high ground: contours go round them
        parts = [contour_segments(xs, ys, filled, float(level)) for level in np.linspace(lo, hi, 8)[1:-1]]
        segments = np.concatenate(parts) if parts else np.empty((0, 2))
        self._contours.setData(segments[:, 0], segments[:, 1])

    # --- light and dark palettes -----------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """Follow the light or dark palette (pyqtgraph's default background is always black)."""
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self._tone = "dark" if background.lightness() < 128 else "light"
        style_plot(self._widget, self._plot, background, foreground, title=False)
        c = _COLOURS[self._tone]
        label_fill = QColor(background)
        label_fill.setAlpha(190)
        self._curve_item.setPen(pg.mkPen(c["curve"], width=2.5))
        self._tangent_item.setPen(pg.mkPen(c["tangent"], width=2.5))
        self._drop_line.setPen(pg.mkPen(c["step"], width=1.2, style=Qt.PenStyle.DotLine))
        self._contours.setPen(pg.mkPen(_ON_MAP["contour"], width=1))
        self._path_line.setPen(pg.mkPen(_ON_MAP["path"], width=1.5))
        self._minimum_dot.setPen(pg.mkPen(_ON_MAP["edge"] if self._tone == "light" else c["minimum"]))
        self._minimum_dot.setBrush(pg.mkBrush(c["minimum"]))
        for label in (self._tangent_label, self._step_label, self._minimum_label):
            label.fill = pg.mkBrush(label_fill)
        self._style_for_mode()

    def _style_for_mode(self) -> None:
        """Colours of the items whose look differs on a heat map from on a curve."""
        c = _COLOURS[self._tone]
        if self.mode() == HEATMAP:
            step, point, edge = _ON_MAP["step"], _ON_MAP["point"], _ON_MAP["edge"]
            self._path_dots.setPen(pg.mkPen(edge, width=1))
            self._path_dots.setBrush(pg.mkBrush(_ON_MAP["path"]))
            self._minimum_dot.setBrush(pg.mkBrush(_ON_MAP["path"]))
        else:
            step, point, edge = c["step"], c["point"], c["curve"]
            faded = QColor(point)
            faded.setAlpha(140)
            self._path_dots.setPen(pg.mkPen(None))
            self._path_dots.setBrush(pg.mkBrush(faded))
            self._minimum_dot.setBrush(pg.mkBrush(c["minimum"]))
        self._step_line.setPen(pg.mkPen(step, width=3))
        self._step_head.setStyle(pen=pg.mkPen(edge if self.mode() == HEATMAP else step),
                                 brush=pg.mkBrush(step))
        self._point_dot.setPen(pg.mkPen(_ON_MAP["edge"] if self.mode() == HEATMAP else point, width=1.5))
        self._point_dot.setBrush(pg.mkBrush(point))
        self._next_dot.setPen(pg.mkPen(step, width=2))
        self._next_dot.setBrush(pg.mkBrush(None))


def contour_segments(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, level: float) -> np.ndarray:
    """The contour ``z = level`` of a grid (``z[i, j]`` at ``(xs[i], ys[j])``) by marching squares.

    Returns the segments' endpoints as rows of an (2k, 2) array, pairs in order (for a curve
    drawn with ``connect="pairs"``). Vectorised: pyqtgraph's own ``isocurve`` loops in Python and
    took ~50 ms for the heat map's six contours; this takes about a millisecond.
    """
    below = z < level
    v00, v10, v01, v11 = z[:-1, :-1], z[1:, :-1], z[:-1, 1:], z[1:, 1:]
    b00, b10, b01, b11 = below[:-1, :-1], below[1:, :-1], below[:-1, 1:], below[1:, 1:]
    i, j = np.meshgrid(np.arange(z.shape[0] - 1), np.arange(z.shape[1] - 1), indexing="ij")

    def crossing(a: np.ndarray, b: np.ndarray, cross: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(cross, (level - a) / np.where(cross, b - a, 1.0), np.nan)

    # Where each edge of each cell is crossed, in grid units: bottom, right, top, left.
    edges = []
    for a, b, ba, bb, along_x, fixed in ((v00, v10, b00, b10, True, 0), (v10, v11, b10, b11, False, 1),
                                         (v01, v11, b01, b11, True, 1), (v00, v01, b00, b01, False, 0)):
        cross = ba != bb
        t = crossing(a, b, cross)
        gx = i + (t if along_x else fixed)
        gy = j + (fixed if along_x else t)
        edges.append((cross, gx, gy))
    crossed = np.stack([e[0] for e in edges], axis=-1)
    gx = np.stack([e[1] for e in edges], axis=-1)
    gy = np.stack([e[2] for e in edges], axis=-1)
    count = crossed.sum(axis=-1)
    pairs = []
    two = count == 2
    if two.any():
        cells = crossed[two]
        first = np.argmax(cells, axis=-1)  # the first crossed edge, and the last
        second = 3 - np.argmax(cells[:, ::-1], axis=-1)
        rows = np.arange(len(cells))
        cx, cy = gx[two], gy[two]
        pairs.append((cx[rows, first], cy[rows, first], cx[rows, second], cy[rows, second]))
    four = count == 4  # a saddle: join bottom with left and right with top
    if four.any():
        for e0, e1 in ((0, 3), (1, 2)):
            pairs.append((gx[four][:, e0], gy[four][:, e0], gx[four][:, e1], gy[four][:, e1]))
    if not pairs:
        return np.empty((0, 2))
    x0, y0, x1, y1 = (np.concatenate(c) for c in zip(*pairs))
    out = np.empty((2 * len(x0), 2))
    step_x, step_y = xs[1] - xs[0], ys[1] - ys[0]
    out[0::2, 0], out[1::2, 0] = xs[0] + x0 * step_x, xs[0] + x1 * step_x
    out[0::2, 1], out[1::2, 1] = ys[0] + y0 * step_y, ys[0] + y1 * step_y
    return out


def _upsample(z: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear interpolation to ``factor``× the resolution, so a coarse grid does not look blocky.

    NaN holes spread to the neighbouring fine pixels (they stay holes) and never raise warnings.
    """
    def weights(n: int) -> np.ndarray:
        m = (n - 1) * factor + 1
        pos = np.linspace(0, n - 1, m)
        lo = np.minimum(pos.astype(int), n - 2) if n > 1 else np.zeros(m, dtype=int)
        frac = pos - lo
        w = np.zeros((m, n))
        w[np.arange(m), lo] = 1 - frac
        if n > 1:
            w[np.arange(m), lo + 1] += frac
        return w

    wx, wy = weights(z.shape[0]), weights(z.shape[1])
    holes = ~np.isfinite(z)
    filled = np.where(holes, 0.0, z)
    out = wx @ filled @ wy.T
    spread = (wx @ holes.astype(float) @ wy.T) > 1e-9
    out[spread] = np.nan
    return out
