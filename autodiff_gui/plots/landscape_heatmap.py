"""Two parameters (the regression preset's m and b): the loss as a heat map with contour lines,
the path of the iterates, the minimum, and the step −α·∇L at the update.

The colours are log10 of the loss above its lowest sample, so the whole bowl stays visible; the
contours come from contourpy (``landscape_math.contour_lines``) and go round the holes where the
loss is undefined.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from .landscape_draw import COLOURS, ON_MAP, Drawer, Frame
from .landscape_math import (HEATMAP, PARAM_FLOOR, PARAM_LIMIT, Request, contour_lines, drawable,
                             drawable_rows, fit_range, fmt, grid_size, log_surface, plane_points,
                             upsample)

_COLOURMAP = "viridis"
_UPSAMPLE = 4


class HeatmapDrawer(Drawer):
    """L(x, y) over the plane of the two parameters."""

    mode = HEATMAP

    def __init__(self, plot: pg.PlotItem, request, generation: int, cost: float = 0.0) -> None:
        super().__init__(plot, request, generation, cost)
        self.grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.image = self.add(pg.ImageItem(axisOrder="col-major"), -10)
        self.image.setToolTip("The loss, coloured on a logarithmic scale (dark: low, yellow: high), "
                              "so the whole bowl stays visible; the lines are contours of equal loss.")
        self.contours = self.add(pg.PlotCurveItem(connect="finite", antialias=True), -9)
        self.path_line = self.add(pg.PlotCurveItem(antialias=True), 1)
        self.add_label("step", prefer=(0, 1, 2, 3))
        self.add_label("minimum", prefer=(2, 3, 0, 1))

    def title(self, frame: Frame) -> tuple[str, str]:
        return frame.names[0], frame.names[1]

    def step_vector(self) -> tuple[float, ...]:
        """(Δx, Δy) of the drawn step; () when none is drawn."""
        return () if self.arrow is None else tuple(b - a for a, b in zip(*self.arrow))

    def heatmap_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        return None if self.grid is None else tuple(a.copy() for a in self.grid)

    def notes(self, frame: Frame) -> list[str]:
        parts = []
        if self.off_chart:
            parts.append(f"{self.off_chart} iterate{'s are' if self.off_chart != 1 else ' is'} "
                         f"beyond ±{PARAM_LIMIT:g} or inf/nan and not drawn: the run diverged.")
        tip = [v - frame.lr * g for v, g in zip(frame.values, frame.grads)]
        if not all(map(drawable, frame.values)) or (frame.update and not all(map(drawable, tip))):
            parts.append("The current point or its next step is off the chart (inf, nan or beyond "
                         f"±{PARAM_LIMIT:g}): the run diverged.")
        return parts

    def refresh(self, frame: Frame) -> None:
        (a, b), (ga, gb) = frame.values, frame.grads
        tip = (a - frame.lr * ga, b - frame.lr * gb)
        path = frame.path_of(2)
        ok = drawable_rows(path)
        self.off_chart = int(np.count_nonzero(~ok))
        path = path[ok]
        show_step = frame.update and drawable(tip[0]) and drawable(tip[1])
        needed = [p for p in ((a, b), tip if show_step else (a, b)) if drawable(p[0]) and drawable(p[1])]
        if frame.minimum is not None:
            needed.append(frame.minimum)
        points = np.concatenate([np.asarray(needed, dtype=np.float64).reshape(-1, 2), path])
        if not len(points):
            points = np.zeros((1, 2))
        self.x_range = fit_range(self.x_range, points[:, 0], PARAM_FLOOR)
        self.y_range = fit_range(self.y_range, points[:, 1], PARAM_FLOOR)
        self.set_view()
        self._request_grid(frame)

        self.path_line.setData(path[:, 0], path[:, 1])
        path = path[np.isfinite(path).all(axis=1)] if len(path) else path  # a diverged run's inf
        self.path_dots.setData(path[:, 0], path[:, 1])
        point_ok = drawable(a) and drawable(b)
        self.draw_point(a, b, point_ok)
        self._draw_minimum(frame)
        if point_ok and show_step:
            self.arrow = ((a, b), tip)
            self.step_line.setData([a, tip[0]], [b, tip[1]])
            self.set_label("step", (a, b), (f"step −α·∇L = ({fmt(tip[0] - a)}, {fmt(tip[1] - b)})",
                                            "step"), "step")
            self.step_head.setPos(*tip)
            self.step_head.setVisible(tip != (a, b))
            self.avoid(*tip)
            self._orient_arrow()
        else:
            self.hide_step()
        self.place_labels()

    def _draw_minimum(self, frame: Frame) -> None:
        if frame.minimum is None or not all(math.isfinite(v) for v in frame.minimum):
            self.minimum_dot.setData([], [])
            self.set_label("minimum", None)
            return
        mx, my = frame.minimum
        self.minimum_dot.setData([mx], [my])
        self.avoid(mx, my)
        x, y = frame.names
        self.set_label("minimum", (mx, my), (f"({x}*, {y}*) = ({fmt(mx)}, {fmt(my)})", f"({x}*, {y}*)"),
                       "minimum")

    def _request_grid(self, frame: Frame) -> None:
        n = grid_size(self.cost)
        key = (self.generation, HEATMAP, self.x_range, self.y_range, n)
        xs = np.linspace(*self.x_range, n)
        ys = np.linspace(*self.y_range, n)
        self.request(Request(key, (self.generation, HEATMAP), frame.program, plane_points(xs, ys), (xs, ys)))

    def show_samples(self, request: Request, losses: np.ndarray) -> None:
        xs, ys = request.axes
        grid = losses.reshape(len(xs), len(ys))
        self.grid = (xs, ys, grid)
        z = log_surface(grid)
        if z is None:
            self.image.clear()
            self.contours.setData([], [])
            return
        finite = np.isfinite(z)
        z_lo, z_hi = float(z[finite].min()), float(z[finite].max())
        fine = upsample(z, _UPSAMPLE)
        dx = (xs[-1] - xs[0]) / (fine.shape[0] - 1)
        dy = (ys[-1] - ys[0]) / (fine.shape[1] - 1)
        self.image.setImage(fine, autoLevels=False, levels=(z_lo, max(z_hi, z_lo + 1e-9)))
        self.image.setColorMap(pg.colormap.get(_COLOURMAP))
        self.image.setRect(xs[0] - dx / 2, ys[0] - dy / 2, dx * fine.shape[0], dy * fine.shape[1])
        self.contours.setData(*contour_lines(xs, ys, z))

    def on_transform(self) -> None:
        self._orient_arrow()
        super().on_transform()

    def _orient_arrow(self) -> None:
        """Point the arrow head along the step as it appears on screen (the axes' scales differ)."""
        if self.arrow is None:
            return
        tail, tip = self.arrow
        vb = self.plot.vb
        p0, p1 = vb.mapViewToScene(QPointF(*tail)), vb.mapViewToScene(QPointF(*tip))
        dx, dy = p1.x() - p0.x(), p1.y() - p0.y()
        if not (math.isfinite(dx) and math.isfinite(dy)) or (dx == 0 and dy == 0):
            dx, dy = tip[0] - tail[0], -(tip[1] - tail[1])  # no geometry yet: data directions
        self.step_head.setStyle(angle=math.degrees(math.atan2(-dy, -dx)))

    def style(self, tone: str, background: QColor) -> None:
        super().style(tone, background)
        c = COLOURS[tone]
        self.contours.setPen(pg.mkPen(ON_MAP["contour"], width=1))
        self.path_line.setPen(pg.mkPen(ON_MAP["path"], width=1.5))
        self.path_dots.setPen(pg.mkPen(ON_MAP["edge"], width=1))
        self.path_dots.setBrush(pg.mkBrush(ON_MAP["path"]))
        self.minimum_dot.setPen(pg.mkPen(ON_MAP["edge"] if tone == "light" else c["minimum"]))
        self.minimum_dot.setBrush(pg.mkBrush(ON_MAP["path"]))
        self.step_line.setPen(pg.mkPen(ON_MAP["step"], width=3))
        self.step_head.setStyle(pen=pg.mkPen(ON_MAP["edge"]), brush=pg.mkBrush(ON_MAP["step"]))
        self.point_dot.setPen(pg.mkPen(ON_MAP["edge"], width=1.5))
        self.point_dot.setBrush(pg.mkBrush(ON_MAP["point"]))
