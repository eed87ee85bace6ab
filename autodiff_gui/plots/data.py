"""The Data panel: the program's data and its model's output, at the moment the window shows.

A 1-D input draws the points and the model's curve over the input range (the regression line
swinging onto its three points); a 2-D input draws the points coloured by class over a heat map
of the model's output, with the decision boundary (the 0 contour for labels ±1, 0.5 for 0/1), as
micrograd's demo draws its moons. The numbers come from :mod:`engine.dataview`; this widget only
draws them, and only what is finite (an all-NaN array never reaches pyqtgraph).

Feed it :meth:`set_program` when a program loads and :meth:`set_moment` with the moment shown
(the presenter does both, at the panels' beat and on time travel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import contourpy
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QVBoxLayout, QWidget

from engine.dataview import CURVE, HOW_TO, MAP, NONE, DataView, data_view
from engine.files import describe_os_error
from engine.language import Program, ProgramError
from engine.replay import Moment

from ..theme import follow_palette, style_plot
from .export import export_plot_png, export_plot_svg
from .landscape_math import upsample

#: class 1 and the other class (-1 or 0), for the points and the two sides of the map
_CLASS_COLOURS = {"light": ((230, 120, 20), (40, 100, 200)), "dark": ((255, 160, 60), (90, 160, 255))}
_CURVE_COLOUR = {"light": (200, 40, 60), "dark": (255, 110, 120)}
_POINT_COLOUR = {"light": (30, 30, 30), "dark": (235, 235, 235)}
GRID = 48  # the map's resolution: a 48 × 48 grid of model outputs per frame
_UPSAMPLE = 3  # drawn bilinearly at 3× that, as the landscape's heat map is


class DataPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataPanel")
        self._view: DataView | None = None
        self._program: Program | None = None
        self._values: tuple[float, ...] | None = None
        self._drawn: tuple | None = None
        self._tone = "light"
        self.redraws = 0  # frames drawn (the same parameters are not drawn again)
        self.accuracy: float | None = None  # at the values drawn last, for a classifier

        self._title = QLabel()
        self._title.setObjectName("dataTitle")
        self._title.setWordWrap(True)
        self._hint = QLabel(HOW_TO)
        self._hint.setObjectName("dataHint")
        self._hint.setWordWrap(True)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._widget = pg.PlotWidget(enableMenu=False)  # no menus made only to be switched off
        self._plot = self._widget.getPlotItem()
        for side in ("left", "bottom"):
            self._plot.getAxis(side).enableAutoSIPrefix(False)
        self._image = pg.ImageItem(axisOrder="col-major")
        self._image.setZValue(-10)
        self._boundary = pg.PlotCurveItem(connect="finite", antialias=True)
        self._curve = pg.PlotCurveItem(antialias=True)
        self._points = pg.ScatterPlotItem(size=9, pxMode=True)
        self._points.setZValue(10)
        self._threshold = pg.InfiniteLine(angle=0, movable=False)  # a 1-D classifier's boundary
        self._threshold.hide()
        for item in (self._image, self._boundary, self._curve, self._points, self._threshold):
            self._plot.addItem(item)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._title)
        layout.addWidget(self._hint, 1)
        layout.addWidget(self._widget, 1)

        self._save_action = QAction("Save data view as image…", self)
        self._save_action.triggered.connect(self._save_interactively)
        self._widget.scene().contextMenu = [self._save_action]
        self._widget.setToolTip("The program's data and its model's output (predict) at the "
                                "moment shown: it follows the run and time travel.")
        self._apply_palette()
        follow_palette(self, self._apply_palette)
        self.set_program(None)

    # --- what to draw ---------------------------------------------------------------------------
    @property
    def view(self) -> DataView | None:
        return self._view

    def set_program(self, program: Program | None) -> None:
        """Take ``program``'s data view (none: the one-sentence hint)."""
        if program is not None and _same(program, self._program):
            return
        try:
            view = data_view(program) if program is not None else None
        except ProgramError as exc:  # the editor already refused it; say it here too
            view = None
            self._hint.setText(f"The data view cannot be drawn: {exc.message}")
        else:
            self._hint.setText(HOW_TO)
        self._program = program
        self._view = view
        self._values = None
        self._drawn = None
        self.accuracy = None
        self._hint.setVisible(view is None)
        self._widget.setVisible(view is not None)
        self._title.setText("Data" if view is None else self._title_text(None))
        self._clear()
        if view is not None:
            self._setup_axes(view)

    def set_moment(self, moment: Moment) -> None:
        """Draw the moment the window shows (a new program's first moment takes its view)."""
        if not _same(moment.program, self._program):
            self.set_program(moment.program)
        self.set_values(moment.values, moment.iteration)

    def set_values(self, values: Sequence[float], iteration: int | None = None) -> None:
        """Draw the model at the parameter values ``values`` (the moment shown)."""
        if self._view is None:
            return
        key = (tuple(float(v) for v in values), iteration)
        if key == self._drawn:
            return
        self._drawn = key
        self._values = key[0]
        self._draw(self._view, self._values, iteration)

    def accuracy_text(self, values: Sequence[float]) -> str:
        """``accuracy 40/40 (100%)`` at ``values`` for a classifier, else ""."""
        view = self._view
        if view is None or not view.is_classifier or len(values) != view.model.params:
            return ""  # (another program's values, before its view is taken: nothing to say)
        share = view.accuracy(values)
        total = len(view.targets)
        return f"accuracy {round(share * total)}/{total} ({100 * share:.0f}%)"

    def plot_widget(self) -> pg.PlotWidget:
        return self._widget

    # what is drawn, for tests and for a learner's screen reader
    def hint(self) -> str | None:
        """The sentence shown instead of a plot, or None when the plot is drawn."""
        return self._hint.text() if self._view is None else None

    def title(self) -> str:
        return self._title.text()

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._curve.getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)

    def boundary_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._boundary.getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)

    def image(self) -> np.ndarray | None:
        return self._image.image

    def point_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._points.getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)

    def export(self, path: str) -> None:
        """Save the panel as PNG or SVG by the suffix of ``path`` (OSError if it cannot)."""
        if str(path).lower().endswith(".svg"):
            export_plot_svg(self, path)
        else:
            export_plot_png(self, path)

    # --- drawing --------------------------------------------------------------------------------
    def _title_text(self, iteration: int | None) -> str:
        view = self._view
        m = view.model
        what = (f"Data: {m.target_name} against {m.input_name}, the model's line"
                if view.kind == CURVE else
                f"Data: {m.input_name} by class, over predict(x)" if view.is_classifier and
                view.kind == MAP else f"Data: {m.input_name}, over predict(x)" if view.kind == MAP
                else f"Data: {len(view.points)} points of {m.dim} inputs (a plot holds 1 or 2)")
        if iteration is not None:
            what += f" · iteration {iteration}"
        if self.accuracy is not None:
            total = len(view.targets)
            what += f" · accuracy {round(self.accuracy * total)}/{total} ({100 * self.accuracy:.0f}%)"
        return what

    def _clear(self) -> None:
        self._threshold.hide()
        self._image.clear()
        self._boundary.setData([], [])
        self._curve.setData([], [])
        self._points.setData([], [])

    def _setup_axes(self, view: DataView) -> None:
        m = view.model
        if view.kind == CURVE:
            self._plot.setLabel("bottom", m.input_name)
            self._plot.setLabel("left", m.target_name)
            if view.threshold is not None:  # classes: the output's side of the line decides
                self._threshold.setValue(view.threshold)
                self._threshold.show()
        elif view.kind == MAP:
            self._plot.setLabel("bottom", f"{m.input_name}[0]")
            self._plot.setLabel("left", f"{m.input_name}[1]")
            (x0, x1), (y0, y1) = view.bounds[:2]
            self._plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self._draw_points(view)

    def _draw_points(self, view: DataView) -> None:
        if view.kind == NONE:
            return
        xs = np.array([p[0] for p in view.points], dtype=float)
        if view.kind == CURVE:
            ys = np.array(view.targets, dtype=float)
        else:
            ys = np.array([p[1] for p in view.points], dtype=float)
        ok = np.isfinite(xs) & np.isfinite(ys)
        brushes = self._brushes(view)
        self._points.setData(xs[ok], ys[ok], brush=[b for b, k in zip(brushes, ok) if k],
                             pen=pg.mkPen(_POINT_COLOUR[self._tone], width=1))

    def _brushes(self, view: DataView) -> list:
        if not view.is_classifier:
            return [pg.mkBrush(_POINT_COLOUR[self._tone])] * len(view.targets)
        one, other = _CLASS_COLOURS[self._tone]
        return [pg.mkBrush(one if y == 1 else other) for y in view.targets]

    def _draw(self, view: DataView, values: tuple[float, ...], iteration: int | None) -> None:
        self.redraws += 1
        self.accuracy = view.accuracy(values)
        self._title.setText(self._title_text(iteration))
        if view.kind == CURVE:
            xs, ys = view.curve(values)
            x, y = np.array(xs, dtype=float), np.array(ys, dtype=float)
            ok = np.isfinite(y)
            if ok.any():
                # a model undefined somewhere (log of a negative) leaves a gap, never a NaN array
                y = np.where(ok, y, np.nan)
                self._curve.setData(x, y, connect="finite")
            else:
                self._curve.setData([], [])
        elif view.kind == MAP:
            self._draw_map(view, values)

    def _draw_map(self, view: DataView, values: tuple[float, ...]) -> None:
        grid = view.grid(values, GRID)
        xs, ys = np.array(grid.xs), np.array(grid.ys)
        z = np.array(grid.z, dtype=float).T  # z[i, j] at (xs[i], ys[j]), as the image wants
        finite = np.isfinite(z)
        if not finite.any():
            self._image.clear()
            self._boundary.setData([], [])
            return
        t = view.threshold
        if t is not None:
            span = 1.0 if view.labels == "sign" else 0.5  # tanh's and sigmoid's range about t
            levels = (t - span, t + span)
            filled = np.where(finite, z, t)
        else:
            lo, hi = float(z[finite].min()), float(z[finite].max())
            levels = (lo, hi if hi > lo else lo + 1e-9)
            filled = np.where(finite, z, lo)
        fine = upsample(np.clip(filled, *levels), _UPSAMPLE)  # smooth, not blocky
        dx = (xs[-1] - xs[0]) / (fine.shape[0] - 1)
        dy = (ys[-1] - ys[0]) / (fine.shape[1] - 1)
        self._image.setImage(fine, autoLevels=False, levels=levels)
        self._image.setColorMap(self._colour_map(view))
        self._image.setRect(xs[0] - dx / 2, ys[0] - dy / 2, dx * fine.shape[0], dy * fine.shape[1])
        self._boundary.setData(*boundary_lines(xs, ys, z, t))

    def _colour_map(self, view: DataView) -> pg.ColorMap:
        if not view.is_classifier:
            return pg.colormap.get("viridis")
        one, other = _CLASS_COLOURS[self._tone]
        middle = (250, 250, 250) if self._tone == "light" else (40, 40, 40)
        soft = [tuple(int(0.45 * c + 0.55 * m) for c, m in zip(colour, middle))
                for colour in (other, one)]
        return pg.ColorMap([0.0, 0.5, 1.0], [soft[0], middle, soft[1]])

    def _apply_palette(self) -> None:
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self._tone = "dark" if background.lightness() < 128 else "light"
        style_plot(self._widget, self._plot, background, foreground)
        self._curve.setPen(pg.mkPen(_CURVE_COLOUR[self._tone], width=2))
        self._boundary.setPen(pg.mkPen(QColor(foreground), width=2))
        self._threshold.setPen(pg.mkPen(QColor(foreground), width=1, style=Qt.PenStyle.DashLine))
        if self._view is not None:
            self._draw_points(self._view)
            if self._values is not None:
                self._draw(self._view, self._values, None)

    def _save_interactively(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Save the data view", "data.png",
                                                   "PNG image (*.png);;SVG image (*.svg)")
        if not path:
            return
        if not path.lower().endswith((".svg", ".png")):
            path += ".svg" if "svg" in chosen.lower() else ".png"
        try:
            self.export(path)
        except OSError as exc:
            QMessageBox.warning(self, "Data view not saved", describe_os_error(path, exc))



def _same(a: Program | None, b: Program | None) -> bool:
    """The same program text (a moment may carry a copy of the program from another thread)."""
    return a is b or (a is not None and b is not None and (a.name, a.source) == (b.name, b.source))


def boundary_lines(xs: np.ndarray, ys: np.ndarray, z: np.ndarray,
                   level: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The ``level`` contour of ``z[i, j]`` (at ``(xs[i], ys[j])``): x and y with a NaN between
    two lines (draw with ``connect="finite"``); empty when there is none or no level."""
    if level is None or not math.isfinite(level):
        return np.empty(0), np.empty(0)
    finite = np.isfinite(z)
    if not finite.any() or not (z[finite].min() < level < z[finite].max()):
        return np.empty(0), np.empty(0)
    generator = contourpy.contour_generator(xs, ys, np.ma.masked_invalid(z.T),
                                            line_type=contourpy.LineType.ChunkCombinedNan)
    (points,) = generator.lines(float(level))[0]
    if points is None or not len(points):
        return np.empty(0), np.empty(0)
    return points[:, 0], points[:, 1]
