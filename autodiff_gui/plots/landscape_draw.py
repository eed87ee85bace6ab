"""What every landscape drawer shares: the frame it draws, the current point, the path, the step
arrow, the minimum, and labels placed so that they never overlap nor leave the plot.

A drawer owns its pyqtgraph items and one kind of plot (``landscape_curve``: the curve L(w) and
the slices of a bigger program; ``landscape_heatmap``: two parameters). The panel makes a new
drawer for each program and hands it a :class:`Frame` per moment; the drawer keeps the axes'
ranges (recomputed only when something that must be seen leaves them, or when they have become
far too wide, so the view stays still while the point rolls down the curve).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from .landscape_math import Frame, LabelRequest, Range, Rect, place_labels

# Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), one variant for
# light and one for dark backgrounds, matching the loss and parameter plots.
COLOURS = {
    "light": {"curve": "#0072B2", "point": "#D55E00", "tangent": "#009E73", "step": "#B0488F",
              "minimum": "#333333"},
    "dark": {"curve": "#56B4E9", "point": "#FF8A50", "tangent": "#3DDC97", "step": "#E7A1CF",
             "minimum": "#E0E0E0"},
}
# Over the heat map (viridis: dark purple low, yellow high) the colours do not follow the palette.
ON_MAP = {"path": "#FFFFFF", "edge": "#000000", "point": "#FF8A50", "step": "#FF3D7F",
          "contour": (255, 255, 255, 110)}
_DOT_PX = 7.0  # half the size of the drawn dots: labels keep off them


@dataclass
class _Label:
    item: pg.TextItem
    texts: tuple[str, ...] = ()
    role: str = "minimum"  # its colour: a key of COLOURS[tone]
    anchor: tuple[float, float] | None = None  # in plot coordinates
    prefer: tuple[int, ...] = ()


class Drawer:
    """The base of a drawer: shared items, the view's ranges, labels and the caption. On its own,
    the empty plot of a panel with no program (it draws nothing)."""

    mode = ""

    def __init__(self, plot: pg.PlotItem, request: Callable, generation: int, cost: float = 0.0) -> None:
        self.plot = plot
        self.cost = cost  # seconds of one forward pass: how many samples to ask for
        self.request = request  # hands a sampling Request to the panel's sampler
        self.generation = generation
        self.x_range: Range | None = None
        self.y_range: Range | None = None
        self.off_chart = 0
        self.tangent: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.arrow: tuple[tuple[float, ...], tuple[float, ...]] | None = None
        self.tone = "light"
        self._shown_range = None
        self._items: list[pg.GraphicsObject] = []
        self._labels: dict[str, _Label] = {}
        self._dots: list[tuple[float, float]] = []  # plot coordinates of points labels avoid
        self.path_dots = self.add(pg.ScatterPlotItem(size=8), 2)
        self.minimum_dot = self.add(pg.ScatterPlotItem(size=13, symbol="star"), 3)
        self.step_line = self.add(pg.PlotCurveItem(antialias=True), 5)
        self.step_head = self.add(pg.ArrowItem(headLen=14, tipAngle=32, tailLen=None), 5)
        self.point_dot = self.add(pg.ScatterPlotItem(size=12), 7)
        self.step_head.hide()

    # --- items -------------------------------------------------------------------------------------
    def add(self, item: pg.GraphicsObject, z: float) -> pg.GraphicsObject:
        item.setZValue(z)
        self.plot.addItem(item, ignoreBounds=True)  # ranges are set explicitly
        self._items.append(item)
        return item

    def add_label(self, name: str, prefer: tuple[int, ...] = ()) -> None:
        item = self.add(pg.TextItem(anchor=(0, 0)), 8)
        item.hide()
        self._labels[name] = _Label(item, prefer=prefer)

    def detach(self) -> None:
        """Take every item off the plot (another program gets another drawer)."""
        for item in self._items:
            self.plot.removeItem(item)
        self._items.clear()

    # --- what subclasses draw ----------------------------------------------------------------------
    def refresh(self, frame: Frame) -> None:
        """Fit the ranges, ask for samples and draw ``frame``."""

    def show_samples(self, request, losses: np.ndarray) -> None:
        """Draw the samples of ``request`` (a curve or a grid)."""

    def notes(self, frame: Frame) -> list[str]:
        """Sentences saying what the plot does not show, and why."""
        return []

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        return np.empty(0), np.empty(0)

    def step_vector(self) -> tuple[float, ...]:
        """The drawn step along the plot's parameter axis, (Δθ,); () when no arrow is drawn."""
        return () if self.arrow is None else (self.arrow[1][0] - self.arrow[0][0],)

    def heatmap_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        return None

    def title(self, frame: Frame) -> tuple[str, str]:
        """The bottom and left axis labels."""
        return frame.names[frame.param], "loss L"

    # --- the view ------------------------------------------------------------------------------------
    def set_view(self) -> None:
        """Apply the computed ranges, only when they changed (a learner's zoom survives a step)."""
        wanted = (self.x_range, self.y_range)
        if None not in wanted and wanted != self._shown_range:
            self._shown_range = wanted
            self.plot.setRange(xRange=self.x_range, yRange=self.y_range, padding=0)

    def reset_view(self) -> None:
        self._shown_range = None
        self.set_view()

    def on_transform(self) -> None:
        """The view moved or was resized: labels are placed again (and arrows oriented)."""
        self.place_labels()

    # --- the shared pieces ------------------------------------------------------------------------
    def draw_point(self, x: float, y: float, ok: bool) -> None:
        self.point_dot.setData([x] if ok else [], [y] if ok else [])
        self._dots = [(x, y)] if ok else []

    def avoid(self, x: float, y: float) -> None:
        """Keep labels off the point (x, y) (a drawn dot)."""
        if math.isfinite(x) and math.isfinite(y):
            self._dots.append((x, y))

    def hide_step(self) -> None:
        self.arrow = None
        self.step_line.setData([], [])
        self.step_head.hide()
        self.set_label("step", None)

    def set_label(self, name: str, anchor: tuple[float, float] | None, texts: tuple[str, ...] = (),
                  role: str = "minimum") -> None:
        """Say what label ``name`` reads and where it belongs (None: not shown); it is placed by
        :meth:`place_labels`, after everything of the frame is known."""
        label = self._labels[name]
        label.anchor = anchor if anchor is not None and all(map(math.isfinite, anchor)) else None
        label.texts, label.role = texts, role
        if label.anchor is None:
            label.item.hide()

    def caption(self) -> list[tuple[str, str, str]]:
        """(role, full text, colour) of every label of the frame, for the legend under the plot:
        what the plot has no room for is still read there."""
        return [(label.role, label.texts[0], COLOURS[self.tone][label.role])
                for label in self._labels.values() if label.anchor is not None and label.texts]

    def labels(self) -> dict[str, pg.TextItem]:
        """The label items by name (for tests: those visible are the ones placed)."""
        return {name: label.item for name, label in self._labels.items()}

    def place_labels(self) -> None:
        """Put each label beside its anchor where it overlaps no other label, no drawn dot and
        stays inside the plot (``landscape_math.place_labels``); a label with no such place is
        hidden (the caption still has it)."""
        vb = self.plot.vb
        bounds_rect = vb.sceneBoundingRect()
        bounds: Rect = (bounds_rect.left(), bounds_rect.top(), bounds_rect.right(), bounds_rect.bottom())
        wanted = [label for label in self._labels.values() if label.anchor is not None and label.texts]
        for label in self._labels.values():
            if label not in wanted:
                label.item.hide()
        if not wanted:
            return
        if bounds[2] - bounds[0] < 2 or bounds[3] - bounds[1] < 2:
            for label in wanted:
                label.item.hide()
            return
        requests = []
        for label in wanted:
            sizes = []
            for text in label.texts:
                label.item.setText(text, color=COLOURS[self.tone][label.role])
                rect = label.item.textItem.boundingRect()
                sizes.append((rect.width(), rect.height()))
            requests.append(LabelRequest(self._to_scene(label.anchor), tuple(sizes), label.prefer))
        obstacles = []
        for x, y in self._dots:
            px, py = self._to_scene((x, y))
            if math.isfinite(px) and math.isfinite(py):
                obstacles.append((px - _DOT_PX, py - _DOT_PX, px + _DOT_PX, py + _DOT_PX))
        for label, result in zip(wanted, place_labels(requests, bounds, obstacles, gap=_DOT_PX + 1)):
            if result is None:
                label.item.hide()
                continue
            variant, (x0, y0, _, _) = result
            label.item.setText(label.texts[variant], color=COLOURS[self.tone][label.role])
            top_left = vb.mapSceneToView(QPointF(x0, y0))
            label.item.setPos(top_left.x(), top_left.y())
            label.item.show()
            label.item.updateTransform(force=True)

    def _to_scene(self, point: tuple[float, float]) -> tuple[float, float]:
        p = self.plot.vb.mapViewToScene(QPointF(*point))
        return p.x(), p.y()

    # --- colours -------------------------------------------------------------------------------------
    def style(self, tone: str, background: QColor) -> None:
        """Follow the light or dark palette."""
        self.tone = tone
        fill = QColor(background)
        fill.setAlpha(190)
        for label in self._labels.values():
            label.item.fill = pg.mkBrush(fill)
