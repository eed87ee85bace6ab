"""The loss curve and the parameters' paths, per iteration, drawn with pyqtgraph.

Two plots stacked and sharing the iteration axis, so that a learner sees the loss fall *while* w
walks to its optimum: "Loss L per iteration" (linear or log scale) and "Parameters per iteration"
(one colour per parameter, and where the optimum is known, a dashed line such as ``w* = 2`` that
the path should approach). A vertical marker shows the iteration the canvas is showing, and runs
kept as faded "ghost" curves let a learner compare learning rates side by side.

Three things this module is careful about, and why:

* **Divergence.** A learning rate above 1 on the tutorial's loss sends it to 1e300, inf and nan
  within a few hundred iterations. Passing those to pyqtgraph gives an infinite or NaN axis range
  and a plot that no longer draws or zooms. Only finite points (with ``|y| ≤`` :data:`PLOT_LIMIT`)
  are plotted, so a diverging run shows its finite part, the axes stay finite, and a note under
  the header says how many values are not drawn. On the log scale values ≤ 0 are left out too
  (a loss of exactly 0 has no logarithm).
* **Long runs.** 100,000 iterations are appended in batches (the window throttles updates to
  about 60 a second); each batch costs one ``setData`` per curve, and pyqtgraph draws only the
  visible part, peak-downsampled to the screen's width (``setClipToView``/``setDownsampling``).
  Points are pre-masked, so pyqtgraph's own finite check is skipped.
* **One store.** The points live in a :class:`~autodiff_gui.history.History`, which the
  window may share (``CurvesPanel(history=...)``) as the single record of the run, for the
  time-travel slider and the numbers as well as the plots.
* **Steady axes while running.** Autorange at every redraw moves both axes a little each time,
  and pyqtgraph then regenerates every tick and label: that was the largest cost of a fast run's
  redraw. While a run goes (:meth:`CurvesPanel.set_steady`), a :class:`SteadyViewBox` keeps its
  range as long as it holds all the data and the data fills at least half of it, and grows it
  by a margin when the data leaves it; when the run pauses or ends, the range fits the data
  exactly again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from engine.files import describe_os_error
from engine.records import IterationRecord

from .export import export_plot_png, export_plot_svg
from ..history import History
from ..theme import follow_palette, style_plot

__all__ = [
    "LOSS_TITLE",
    "MAX_GHOSTS",
    "PARAMS_TITLE",
    "PLOT_LIMIT",
    "CurvesPanel",
    "format_number",
    "plottable",
]

LOSS_TITLE = "Loss L per iteration"
PARAMS_TITLE = "Parameters per iteration"
#: More parameters than this and the legend would cover the curves: it is hidden, and the title
#: says how many there are (the Ledger tab lists them by name).
LEGEND_MAX = 8

TITLE_SIZE = "9pt"  # pyqtgraph's 11pt title is cut off when the window gives a plot 150 px
PLOT_LIMIT = 1e300
"""Values with a larger magnitude are not drawn: they are as good as infinite on a plot, and a
range of ±1e308 overflows once pyqtgraph pads it."""

MAX_GHOSTS = 8
"""Ghost runs kept at once; keeping another drops the oldest (beyond this the plot is a tangle)."""

# Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), a variant
# each for light and dark backgrounds. The loss has its own colour, never used for a parameter.
_LOSS_COLOUR = {"light": "#D55E00", "dark": "#FF8A50"}
_PARAM_COLOURS = {
    "light": ["#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"],
    "dark": ["#56B4E9", "#3DDC97", "#E7A1CF", "#F0C050", "#9FD8FF", "#FFFFFF", "#DDDD77"],
}
# Ghosts: Paul Tol's "muted" (light) and "light" (dark) schemes, drawn faded; one colour per kept
# run, the same on both plots, so "lr = 0.6" is one colour wherever it appears.
_GHOST_COLOURS = {
    "light": ["#332288", "#44AA99", "#CC6677", "#117733", "#882255", "#999933", "#88CCEE", "#AA4499"],
    "dark": ["#77AADD", "#44BB99", "#EE8866", "#BBCC33", "#FFAABB", "#EEDD88", "#99DDFF", "#AAAA00"],
}
_GHOST_ALPHA = 150


class SteadyViewBox(pg.ViewBox):
    """A view box whose autorange, while :attr:`steady`, changes the range only when needed.

    pyqtgraph's autorange asks for the data's bounds (plus padding) at every change of the data.
    While steady, that request is dropped for an axis whose current range already holds it and
    is at most twice as wide; otherwise the axis is set to it plus :data:`STEADY_MARGIN` of its
    width on the side the data left by (a quarter of that on the x axis's left: the iterations
    grow to the right), so the next many redraws leave it alone. A range the
    learner sets (pan, zoom) is not touched: pyqtgraph turns autorange off for it.
    """

    STEADY_MARGIN = 0.4

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.steady = False
        # a box whose x axis is linked to another's leaves its x to that one while steady: two
        # linked boxes deciding apart would hand the range back and forth at every redraw
        self.x_follows_link = False

    def setRange(self, rect=None, xRange=None, yRange=None, *args, **kwargs):  # noqa: N802 - Qt's name
        if self.steady and self._updatingRange and rect is None:  # an autorange, while running
            current = self.viewRange()
            # iterations grow to the right: left of the first one only room for the padding's
            # growth, not an empty stretch of negative iterations
            xRange = None if self.x_follows_link else self._steady_axis(current[0], xRange,
                                                                        low_margin=0.25)
            yRange = self._steady_axis(current[1], yRange)
            if xRange is None and yRange is None:
                return
        return super().setRange(rect, xRange, yRange, *args, **kwargs)

    def _steady_axis(self, current, wanted, low_margin: float = 1.0):
        if wanted is None:
            return None
        lo, hi = current
        a, b = float(wanted[0]), float(wanted[1])
        width = b - a
        if not width > 0 or hi - lo > 2 * width:
            return wanted  # a point, or the data fills less than half: fit it
        # A side that lost only some of its padding (pyqtgraph pads by 2-10 % of the width, so
        # the padded edge creeps out as the data widens) still shows the data: it stays.
        creep = 0.02 * width
        a_in, b_in = a >= lo - creep, b <= hi + creep
        if a_in and b_in:
            return None  # holds the data, and the data fills at least half of it: keep it
        margin = self.STEADY_MARGIN * width  # on the side the data left by
        return (lo if a_in else a - margin * low_margin, hi if b_in else b + margin)

    def settle(self) -> None:
        """Leave steady mode and fit the data exactly again (where autorange is on)."""
        self.steady = False
        if any(self.state["autoRange"]):
            self.updateAutoRange()


def _title_over_the_axes(plot: pg.PlotItem) -> None:
    """The title spans the axes' columns too, not the data's alone: at 1600 px the window gives
    a plot some 175 px, of which the left axis takes 45, and "Parameters per iteration" at 9pt
    needs 160."""
    plot.layout.removeItem(plot.titleLabel)
    plot.layout.addItem(plot.titleLabel, 0, 0, 1, 3)


def format_number(value: float) -> str:
    """Up to 6 significant digits, the way the rest of the app shows numbers (-0 shown as 0)."""
    if value == 0:
        return "0"
    return f"{value:.6g}"


def plottable(x: np.ndarray, y: np.ndarray, *, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The points of ``(x, y)`` that can be drawn: finite, ``|y| ≤ PLOT_LIMIT``, and > 0 on a log axis.

    Returns the inputs themselves when every point can be drawn (the common case costs no copy).
    """
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(y) & (np.abs(y) <= PLOT_LIMIT)
        if log:
            keep &= y > 0
    if keep.all():
        return x, y
    return x[keep], y[keep]


MAX_DRAWN = 4000  # points handed to a curve: about two per pixel of a wide plot


def envelope(x: np.ndarray, y: np.ndarray, most: int = MAX_DRAWN) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` points that draw the same line: the lowest and highest point of each of
    ``most / 2`` buckets, in order, plus the last point.

    pyqtgraph can thin a curve too, but only after taking every point on each redraw; a run of
    300,000 iterations redrawn five times a second then costs the window tens of milliseconds a
    frame. Thinning here, in one vectorised pass, keeps each redraw small.
    """
    n = len(y)
    if n <= most:
        return x, y
    buckets = most // 2
    size = -(-n // buckets)
    padded = np.concatenate([y, np.full(buckets * size - n, y[-1])]).reshape(buckets, size)
    base = np.arange(buckets) * size
    keep = np.concatenate([base + padded.argmin(axis=1), base + padded.argmax(axis=1), [n - 1]])
    keep = np.unique(np.minimum(keep, n - 1))
    return x[keep], y[keep]


@dataclass(eq=False)
class _Ghost:
    """A kept run: its raw points (re-masked when the loss axis changes scale) and its curves."""

    label: str
    colour_index: int
    x: np.ndarray
    loss: np.ndarray
    params: dict[str, np.ndarray]
    loss_item: pg.PlotDataItem
    param_items: dict[str, pg.PlotDataItem] = field(default_factory=dict)


class CurvesPanel(QWidget):
    """The loss plot above the parameters plot, with a log-scale toggle (see the module docstring).

    Feed it with :meth:`append` (a batch of new iterations) or :meth:`set_records` (a whole run),
    after :meth:`reset` names the parameters of the program being run. If the window appends to a
    shared :attr:`history` itself, it calls :meth:`refresh` instead.
    """

    logScaleChanged = Signal(bool)
    """The loss axis switched between linear (False) and logarithmic (True), by a click or a call."""

    def __init__(self, parent: QWidget | None = None, *, history: History | None = None) -> None:
        super().__init__(parent)
        self._history = history if history is not None else History()
        self._targets: dict[str, float] = {}
        self._plotted: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}  # None is the loss
        self._param_curves: dict[str, pg.PlotDataItem] = {}
        self._target_lines: dict[str, pg.InfiniteLine] = {}
        self._ghosts: list[_Ghost] = []
        self._marker_iteration: int | None = None
        self._tone = "light"

        self._log_box = QCheckBox("log scale")
        self._log_box.setToolTip(
            "Show the loss on a logarithmic axis: a run that converges at a steady rate becomes a "
            "straight line, and late, tiny losses stay visible. Values ≤ 0 cannot be drawn on it."
        )
        self._log_box.toggled.connect(self._on_log_toggled)
        self._note = QLabel()
        self._note.setObjectName("plotNote")
        self._note.setWordWrap(True)
        self._note.hide()

        self._loss_widget = pg.PlotWidget(viewBox=SteadyViewBox())
        self._param_widget = pg.PlotWidget(viewBox=SteadyViewBox())
        self._loss_plot = self._loss_widget.getPlotItem()
        self._param_plot = self._param_widget.getPlotItem()
        self._loss_widget.setToolTip(
            "The loss before each iteration's update. Gradient descent should make it fall; "
            "if it grows instead, the learning rate is too large."
        )
        self._param_widget.setToolTip(
            "Each parameter's value before each iteration's update. A dashed line marks the "
            "optimum where it is known: the path should approach it."
        )
        for plot, title, left in (
            (self._loss_plot, LOSS_TITLE, "loss L"),
            (self._param_plot, PARAMS_TITLE, "value"),
        ):
            plot.setTitle(title, size=TITLE_SIZE)
            _title_over_the_axes(plot)
            plot.setLabel("left", left)
            plot.setLabel("bottom", "iteration")
            for side in ("left", "bottom"):
                # Plain numbers on the ticks: pyqtgraph would otherwise move a power of ten
                # into the axis label ("loss L (x1e+27)"), which a learner easily misreads.
                plot.getAxis(side).enableAutoSIPrefix(False)
            # No grid by default: pyqtgraph draws it in the axis items, and on a plot redrawn on
            # every batch it costs more than the curves (measured: a 100,000-iteration run plots
            # 4x slower). A learner can turn it on in the plot's context menu (Plot Options).
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
        self._param_plot.setXLink(self._loss_plot)
        self._param_plot.getViewBox().x_follows_link = True
        self._loss_legend = self._loss_plot.addLegend(offset=(-10, 10))
        self._param_legend = self._param_plot.addLegend(offset=(-10, -10))

        self._loss_curve = self._loss_plot.plot(name="this run", antialias=True)
        # Both plots span the run's iterations, even where one of them cannot draw (a loss of 0
        # on the log scale, inf after divergence): otherwise their autoranges disagree and the
        # linked x axes follow whichever updated last. Two invisible vertical lines per plot, at
        # the first and the last iteration, take part in the x autorange (and not in y).
        self._x_span: list[pg.InfiniteLine] = []
        for plot in (self._loss_plot, self._param_plot):
            for _ in range(2):
                guard = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(None))
                guard.setAcceptHoverEvents(False)
                guard.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
                guard.hide()
                plot.addItem(guard)
                self._x_span.append(guard)
        self._markers = (pg.InfiniteLine(angle=90, movable=False), pg.InfiniteLine(angle=90, movable=False))
        for plot, marker in zip((self._loss_plot, self._param_plot), self._markers):
            marker.setZValue(5)
            marker.hide()
            plot.addItem(marker, ignoreBounds=True)  # the marker must never widen the x range

        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self._note, 1)
        header.addWidget(self._log_box, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        plots = QHBoxLayout()  # side by side: the window gives the plots a wide, short strip
        plots.setSpacing(6)
        plots.addWidget(self._loss_widget, 1)
        plots.addWidget(self._param_widget, 1)
        layout.addLayout(plots, 1)

        # pyqtgraph's own "Export..." entry in the plots' context menu offers its SVG exporter,
        # which raises on PySide6 6.11/6.12 (pyqtgraph issue 3495): offer ours instead.
        self._save_action = QAction("Save plots as image…", self)
        self._save_action.setToolTip("Save both plots as an SVG (vector) or PNG image")
        self._save_action.triggered.connect(self._save_interactively)
        for widget in (self._loss_widget, self._param_widget):
            widget.scene().contextMenu = [self._save_action]

        self._apply_palette()
        follow_palette(self, self._apply_palette)
        self._rebuild_param_items()
        self._redraw()  # a shared history may already hold a run: show it, do not clear it

    # --- the run --------------------------------------------------------------------------------

    @property
    def history(self) -> History:
        """The store the plots are drawn from (shared with the caller if one was given)."""
        return self._history

    def reset(self, param_names: Sequence[str], targets: Mapping[str, float] | None = None,
              keep_history: bool = False) -> None:
        """Start a new run of a program with these parameters; ``targets`` are known optima.

        A target for a name not in ``param_names``, or one that is not finite, is not drawn.

        Clears the history (unless ``keep_history``: a panel built after its run began) and the
        current curves and hides the marker; ghost curves of earlier runs stay (comparing runs
        is what they are for) until :meth:`clear_ghosts`.
        """
        if not keep_history:
            self._history.clear(list(param_names))
        self._targets = {
            name: float(value)
            for name, value in (targets or {}).items()
            if name in self._history.param_names and math.isfinite(float(value))
        }
        self._rebuild_param_items()
        self.set_marker(None)
        self._redraw()
        for plot in (self._loss_plot, self._param_plot):
            # an empty plot keeps whatever range it had: start from a small one, then follow the
            # new run's data as it comes
            plot.setRange(xRange=(0, 10), yRange=(0, 1), padding=0.05)
            plot.enableAutoRange()

    def set_records(self, records: Iterable[IterationRecord]) -> None:
        """Replace the whole run with ``records`` (keeping the parameter names and targets)."""
        self._history.clear()
        self.append(records)

    def append(self, records: Iterable[IterationRecord]) -> None:
        """Add a batch of new iterations: one ``setData`` per curve, however many records."""
        recs = records if isinstance(records, Sequence) else list(records)
        if not recs:
            return
        self._history.extend(recs)
        self._redraw()

    def refresh(self) -> None:
        """Redraw from :attr:`history`, after the caller appended to a shared history directly."""
        self._redraw()

    # --- the view ---------------------------------------------------------------------------------

    def set_log_scale(self, on: bool) -> None:
        """Show the loss on a logarithmic (True) or linear (False) axis."""
        self._log_box.setChecked(bool(on))  # its toggled signal does the work, once

    def log_scale(self) -> bool:
        return self._log_box.isChecked()

    def set_steady(self, on: bool) -> None:
        """While a run goes, keep the axes still between redraws unless the data needs more room
        (see :class:`SteadyViewBox`); off, they fit the data exactly again."""
        for plot in (self._loss_plot, self._param_plot):
            box = plot.getViewBox()
            if on:
                box.steady = True
            elif box.steady:
                box.settle()

    def steady(self) -> bool:
        return self._loss_plot.getViewBox().steady

    def set_marker(self, iteration: int | None) -> None:
        """Mark ``iteration`` (the one the canvas shows) with a vertical line; None hides it."""
        self._marker_iteration = None if iteration is None else int(iteration)
        for marker in self._markers:
            if self._marker_iteration is None:
                marker.hide()
            else:
                marker.setValue(self._marker_iteration)
                marker.show()

    def marker(self) -> int | None:
        """The marked iteration, or None when no marker is shown."""
        return self._marker_iteration

    def loss_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The plotted loss points (iteration, loss), in data units even on the log scale."""
        x, y = self._plotted.get(None, (np.empty(0), np.empty(0)))
        return x.copy(), y.copy()

    def param_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The plotted points (iteration, value) of parameter ``name`` (KeyError if none)."""
        x, y = self._plotted[name]
        return x.copy(), y.copy()

    def targets(self) -> dict[str, float]:
        """The known optimum of each parameter that has one, as drawn."""
        return dict(self._targets)

    def loss_plot(self) -> pg.PlotItem:
        return self._loss_plot

    def param_plot(self) -> pg.PlotItem:
        return self._param_plot

    def loss_widget(self) -> pg.PlotWidget:
        """The loss plot on its own, for exporting just that plot."""
        return self._loss_widget

    def param_widget(self) -> pg.PlotWidget:
        return self._param_widget

    # --- ghosts -----------------------------------------------------------------------------------

    def keep_ghost(self, label: str) -> bool:
        """Keep the current run's curves as faded curves labelled ``label`` (e.g. "lr = 0.1").

        A ghost with the same label is replaced; beyond :data:`MAX_GHOSTS` the oldest is dropped.
        Returns False (and keeps nothing) when the current run has no iterations yet.
        """
        if len(self._history) == 0:
            return False
        for ghost in [g for g in self._ghosts if g.label == label]:
            self._remove_ghost(ghost)
        while len(self._ghosts) >= MAX_GHOSTS:
            self._remove_ghost(self._ghosts[0])
        used = {g.colour_index for g in self._ghosts}
        data = self._history.arrays()
        ghost = _Ghost(
            label=label,
            colour_index=min(set(range(MAX_GHOSTS)) - used),
            x=data.iterations.astype(np.float64),
            loss=data.loss,
            params={name: data.value(name) for name in data.param_names},
            loss_item=pg.PlotDataItem(name=label, antialias=True),
        )
        self._loss_plot.addItem(ghost.loss_item)
        for name in ghost.params:
            item = pg.PlotDataItem(name=f"{name} ({label})", antialias=True)
            ghost.param_items[name] = item
            self._param_plot.addItem(item)
        for item in (ghost.loss_item, *ghost.param_items.values()):
            item.setZValue(-1)  # behind the current run
        self._ghosts.append(ghost)
        self._style_ghost(ghost)
        self._draw_ghost(ghost)
        return True

    def clear_ghosts(self) -> None:
        """Remove every ghost curve."""
        for ghost in list(self._ghosts):
            self._remove_ghost(ghost)

    def ghost_labels(self) -> list[str]:
        """The labels of the kept ghosts, oldest first."""
        return [g.label for g in self._ghosts]

    # --- internals ----------------------------------------------------------------------------------

    def _save_interactively(self) -> None:
        """Ask where to save both plots, as SVG or PNG by the name's extension, and say if it failed."""
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save plots as image", "plots.svg", "SVG image (*.svg);;PNG image (*.png)"
        )
        if not path:
            return
        if not path.lower().endswith((".svg", ".png")):
            path += ".png" if "png" in chosen.lower() else ".svg"
        try:
            if path.lower().endswith(".png"):
                export_plot_png(self, path)
            else:
                export_plot_svg(self, path)
        except OSError as exc:
            QMessageBox.warning(self, "Plots not saved", describe_os_error(path, exc))

    def _rebuild_param_items(self) -> None:
        """One curve per parameter of the history, and a dashed line per known target."""
        for line in self._target_lines.values():
            self._param_plot.removeItem(line)
        self._target_lines.clear()
        names = self._history.param_names
        if tuple(self._param_curves) != names:
            for item in self._param_curves.values():
                self._param_plot.removeItem(item)
            self._param_curves.clear()
            many = len(names) > LEGEND_MAX
            for name in names:
                # past LEGEND_MAX the legend is hidden: adding each entry to it anyway cost 2 s for
                # the 337 parameters of micrograd's demo network, so the name comes after
                curve = pg.PlotDataItem(name=None if many else name, antialias=True)
                self._param_curves[name] = curve
                self._param_plot.addItem(curve)
                curve.opts["name"] = name
            self._ghosts_last_in_legend()
            self._param_legend.setVisible(not many)
            self._param_plot.setTitle(f"{len(names)} parameters" if many
                                      else PARAMS_TITLE, size=TITLE_SIZE)
        self._plotted = {None: self._plotted.get(None, (np.empty(0), np.empty(0)))}
        self._plotted.update((name, (np.empty(0), np.empty(0))) for name in names)
        for name, target in self._targets.items():
            line = pg.InfiniteLine(
                pos=target,
                angle=0,
                movable=False,
                label=f"{name}* = {format_number(target)}",
                labelOpts={"position": 0.08, "anchors": [(0, 1), (0, 1)]},
            )
            line.setToolTip(f"The optimum of {name}: where gradient descent should take it.")
            self._target_lines[name] = line
            self._param_plot.addItem(line)  # its y counts in the autorange: the target stays in view
        self._style_items()

    def _ghosts_last_in_legend(self) -> None:
        """List the current run's parameters before the ghosts of earlier runs in the legend."""
        for ghost in self._ghosts:
            for name, item in ghost.param_items.items():
                self._param_legend.removeItem(item)
                self._param_legend.addItem(item, f"{name} ({ghost.label})")
        self._recolour_legend_labels()

    def _recolour_legend_labels(self) -> None:
        foreground = self.palette().color(QPalette.ColorRole.Text)
        for legend in (self._loss_legend, self._param_legend):
            legend.setLabelTextColor(foreground)  # for entries added from now on
            for _sample, label in legend.items:  # and those already there
                label.setText(label.text, color=foreground)

    def _redraw(self) -> None:
        """Hand the history's points to the curves: one ``setData`` per curve."""
        if tuple(self._param_curves) != self._history.param_names:
            self._rebuild_param_items()  # the history took its names from the first record
        data = self._history.arrays(copy=False)
        x = data.iterations.astype(np.float64)
        log = self.log_scale()
        self._plotted[None] = self._set_curve(self._loss_curve, x, data.loss, log=log)
        for j, (name, curve) in enumerate(self._param_curves.items()):
            self._plotted[name] = self._set_curve(curve, x, data.values[:, j], log=False)
        self._update_note(data.loss, data.values, log)
        for k, guard in enumerate(self._x_span):
            if len(x):
                guard.setValue(x[0] if k % 2 == 0 else x[-1])
            guard.setVisible(bool(len(x)))

    @staticmethod
    def _set_curve(
        item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray, *, log: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        px, py = plottable(x, y, log=log)
        if py is y:  # nothing masked: y may be a view into the history, which changes under it
            py = np.array(y, dtype=np.float64)
        dx, dy = envelope(px, py)
        item.setData(dx, dy, connect="all", skipFiniteCheck=True)  # already all finite
        lone = len(dx) == 1  # one point draws no line: show it as a marker
        if getattr(item, "_lone_marker", False) != lone:
            item._lone_marker = lone
            item.setSymbol("o" if lone else None)
            if lone:
                colour = pg.mkPen(item.opts["pen"]).color()
                item.setSymbolPen(colour)
                item.setSymbolBrush(colour)
        return px, py

    def _update_note(self, loss: np.ndarray, values: np.ndarray, log: bool) -> None:
        """Tell the learner about points that are not drawn, and about thinned iterations."""
        with np.errstate(invalid="ignore"):
            bad_loss = int(np.count_nonzero(~(np.isfinite(loss) & (np.abs(loss) <= PLOT_LIMIT))))
            bad_params = int(np.count_nonzero(~(np.isfinite(values) & (np.abs(values) <= PLOT_LIMIT))))
            non_positive = int(np.count_nonzero(np.isfinite(loss) & (loss <= 0))) if log else 0
        parts = []
        if bad_loss or bad_params:
            parts.append(
                f"Not drawn: {_plural(bad_loss + bad_params, 'value')} that are inf, nan or beyond "
                "±1e300: the run diverged."
            )
        if non_positive:
            parts.append(f"Not drawn on the log scale: {_plural(non_positive, 'loss')} ≤ 0 (no logarithm).")
        if self._history.decimated:
            parts.append(f"Long run: every {_ordinal(self._history.stride)} iteration is shown.")
        self._note.setText(" ".join(parts))
        self._note.setVisible(bool(parts))

    def _draw_ghost(self, ghost: _Ghost) -> None:
        self._set_curve(ghost.loss_item, ghost.x, ghost.loss, log=self.log_scale())
        for name, item in ghost.param_items.items():
            self._set_curve(item, ghost.x, ghost.params[name], log=False)

    def _remove_ghost(self, ghost: _Ghost) -> None:
        self._loss_plot.removeItem(ghost.loss_item)
        for item in ghost.param_items.values():
            self._param_plot.removeItem(item)
        self._ghosts.remove(ghost)

    def _on_log_toggled(self, on: bool) -> None:
        # Empty the loss items first: pyqtgraph re-maps their old points onto the new axis, and a
        # lone marker at a loss of 0 would become an all-NaN scatter (a warning on every repaint).
        for item in (self._loss_curve, *(ghost.loss_item for ghost in self._ghosts)):
            item.setData([], [])
        self._loss_plot.setLogMode(x=False, y=on)
        self._redraw()  # the set of drawable points depends on the scale
        for ghost in self._ghosts:
            self._draw_ghost(ghost)
        self._loss_plot.enableAutoRange(axis="y")  # a range panned in one scale means nothing in the other
        self.logScaleChanged.emit(on)

    # --- light and dark palettes -------------------------------------------------------------------

    def _apply_palette(self) -> None:
        """Follow the system's light or dark palette (pyqtgraph's default is always black)."""
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self._tone = "dark" if background.lightness() < 128 else "light"
        for widget, plot, legend in (
            (self._loss_widget, self._loss_plot, self._loss_legend),
            (self._param_widget, self._param_plot, self._param_legend),
        ):
            style_plot(widget, plot, background, foreground)
            legend_background = QColor(background)
            legend_background.setAlpha(200)
            legend.setBrush(legend_background)
        self._recolour_legend_labels()
        self._style_items()

    def _style_items(self) -> None:
        foreground = self.palette().color(QPalette.ColorRole.Text)
        self._loss_curve.setPen(pg.mkPen(_LOSS_COLOUR[self._tone], width=2))
        colours = _PARAM_COLOURS[self._tone]
        for j, (name, curve) in enumerate(self._param_curves.items()):
            colour = colours[j % len(colours)]
            curve.setPen(pg.mkPen(colour, width=2))
            line = self._target_lines.get(name)
            if line is not None:
                line.setPen(pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
                line.label.setColor(colour)
        marker_colour = QColor(foreground)
        marker_colour.setAlpha(150)
        for marker in self._markers:
            marker.setPen(pg.mkPen(marker_colour, width=1, style=Qt.PenStyle.DotLine))
        for ghost in self._ghosts:
            self._style_ghost(ghost)

    def _style_ghost(self, ghost: _Ghost) -> None:
        colours = _GHOST_COLOURS[self._tone]
        faded = QColor(colours[ghost.colour_index % len(colours)])
        faded.setAlpha(_GHOST_ALPHA)
        pen = pg.mkPen(faded, width=1.5)
        for item in (ghost.loss_item, *ghost.param_items.values()):
            item.setPen(pen)


def _plural(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}es" if noun.endswith("s") else f"{n:,} {noun}s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
