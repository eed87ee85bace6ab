"""One parameter: the curve L(w), the point, the tangent whose slope is dL/dw, and the step.

The tangent's slope is exactly the dL/dw the backward pass produced (not a numerical estimate),
drawn once the moment shown has computed it; the update −α·dL/dw is an arrow along the w axis at
the point's height, then a dotted drop to the next point on the curve, drawn at the update. The
iterates so far sit on the curve as faint dots. :class:`SliceDrawer` draws the same for one
parameter of a bigger program, the others held where they are.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from .landscape_draw import COLOURS, Drawer, Frame
from .landscape_math import (CURVE, LOSS_LIMIT, PARAM_FLOOR, PARAM_LIMIT, SLICE, Request, curve_size,
                             drawable, fit_range, fmt, loss_at, slice_points, tangent_segment)


class CurveDrawer(Drawer):
    """L(θ) along one parameter."""

    mode = CURVE

    def __init__(self, plot: pg.PlotItem, request, generation: int, cost: float = 0.0) -> None:
        super().__init__(plot, request, generation, cost)
        self.curve = (np.empty(0), np.empty(0))
        self.curve_item = self.add(pg.PlotCurveItem(connect="finite", antialias=True), 0)
        self.tangent_item = self.add(pg.PlotCurveItem(antialias=True), 4)
        self.drop_line = self.add(pg.PlotCurveItem(antialias=True), 4)
        self.next_dot = self.add(pg.ScatterPlotItem(size=10), 6)
        # Priority: the step (what happens next), the slope, the minimum. Sides: see SIDES.
        self.add_label("step", prefer=(0, 1))
        self.add_label("tangent", prefer=(0, 1, 4, 5))
        self.add_label("minimum", prefer=(3, 2, 7))

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.curve[0].copy(), self.curve[1].copy()

    def notes(self, frame: Frame) -> list[str]:
        parts = []
        if self.off_chart:
            parts.append(f"{self.off_chart} iterate{'s are' if self.off_chart != 1 else ' is'} "
                         f"beyond ±{PARAM_LIMIT:g} or inf/nan and not drawn: the run diverged.")
        w = frame.values[frame.param]
        if not drawable(w) or (frame.update and not drawable(w - frame.lr * frame.grads[frame.param])):
            parts.append("The current point or its next step is off the chart (inf, nan or beyond "
                         f"±{PARAM_LIMIT:g}): the run diverged.")
        if len(self.curve[1]) and not np.isfinite(self.curve[1]).all():
            parts.append("Gaps: the loss is undefined (or too large to draw) there.")
        return parts

    def minimum_of(self, frame: Frame) -> float | None:
        return frame.minimum[0] if frame.minimum is not None else None

    def refresh(self, frame: Frame) -> None:
        k, lr = frame.param, frame.lr
        w, g, loss = frame.values[k], frame.grads[k], frame.loss
        nxt = w - lr * g
        next_values = list(frame.values)
        next_values[k] = nxt
        next_loss = loss_at(frame.program, next_values) if frame.update and drawable(nxt) else math.nan
        path = frame.path_of(len(frame.values))[:, k]

        needed = [v for v in (w, nxt if frame.update else w) if drawable(v)]
        minimum = self.minimum_of(frame)
        if minimum is not None:
            needed.append(minimum)
            if drawable(w):
                needed.append(2 * minimum - w)  # the mirror image: the whole bowl is in view
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(path) & (np.abs(path) <= PARAM_LIMIT)
        self.off_chart = int(np.count_nonzero(~ok))
        needed.extend(path[ok].tolist())
        self.x_range = fit_range(self.x_range, needed or [0.0], PARAM_FLOOR)
        self._request_curve(frame)

        xs, ys = self.curve
        in_view = ys[(xs >= self.x_range[0]) & (xs <= self.x_range[1])] if len(xs) else ys
        y_needed = [v for v in (loss, next_loss) if math.isfinite(v) and abs(v) <= LOSS_LIMIT]
        y_needed.extend(in_view[np.isfinite(in_view)].tolist())
        top = max((abs(v) for v in y_needed), default=1.0)
        self.y_range = fit_range(self.y_range, y_needed or [0.0], max(1e-9, 0.1 * top), slack=4.0)
        self.set_view()

        name = frame.names[k]
        point_ok = drawable(w) and math.isfinite(loss) and abs(loss) <= LOSS_LIMIT
        self.draw_point(w, loss, point_ok)
        self._draw_path(path)
        self._draw_minimum(frame, minimum)
        self._draw_tangent(w, loss, g, name, point_ok and frame.slope_known)
        if point_ok and frame.update and drawable(nxt):
            self._draw_step(w, loss, nxt, next_loss, lr * g, name)
        else:
            self.hide_step()
            self.next_dot.setData([], [])
            self.drop_line.setData([], [])
        self.place_labels()

    def _request_curve(self, frame: Frame) -> None:
        k = frame.param
        lo, hi = self.x_range
        n = curve_size(self.cost)
        held = tuple(v for i, v in enumerate(frame.values) if i != k)
        key = (self.generation, self.mode, k, lo, hi, n, held)
        xs = np.linspace(lo, hi, n)
        self.request(Request(key, (self.generation, self.mode, k), frame.program,
                             slice_points(frame.values, k, xs), (xs,)))

    def show_samples(self, request: Request, losses: np.ndarray) -> None:
        self.curve = (request.axes[0], losses)
        self.curve_item.setData(request.axes[0], losses)

    def _draw_path(self, path: np.ndarray) -> None:
        """The earlier iterates as faint dots on the drawn curve (on a slice: projected onto it)."""
        xs, ys = self.curve
        finite = np.isfinite(ys)
        if not len(path) or np.count_nonzero(finite) < 2:
            self.path_dots.setData([], [])
            return
        cx, cy = xs[finite], ys[finite]
        with np.errstate(invalid="ignore"):
            px = path[np.isfinite(path) & (path >= cx[0]) & (path <= cx[-1])]
        self.path_dots.setData(px, np.interp(px, cx, cy))

    def _draw_minimum(self, frame: Frame, minimum: float | None) -> None:
        y_min = loss_at(frame.program, [minimum]) if minimum is not None else math.nan
        if minimum is None or not math.isfinite(y_min):
            self.minimum_dot.setData([], [])
            self.set_label("minimum", None)
            return
        self.minimum_dot.setData([minimum], [y_min])
        self.avoid(minimum, y_min)
        self.set_label("minimum", (minimum, y_min), (f"{frame.names[frame.param]}* = {fmt(minimum)}",
                                                     f"{frame.names[frame.param]}*"), "minimum")

    def _draw_tangent(self, w: float, loss: float, g: float, name: str, shown: bool) -> None:
        ends = tangent_segment(w, loss, g, self.x_range, self.y_range) if shown else None
        self.tangent = ends
        if ends is None:
            self.tangent_item.setData([], [])
            self.set_label("tangent", None)
            return
        self.tangent_item.setData([ends[0][0], ends[1][0]], [ends[0][1], ends[1][1]])
        # Anchored at the uphill end, away from the point: the step goes the other way.
        uphill, downhill = (ends[1], ends[0]) if g > 0 else (ends[0], ends[1])
        x0, x1 = self.x_range
        end = uphill if x0 <= uphill[0] <= x1 or not x0 <= downhill[0] <= x1 else downhill
        self.set_label("tangent", end, (f"slope dL/d{name} = {fmt(g)}", "slope"), "tangent")

    def _draw_step(self, w: float, loss: float, nxt: float, next_loss: float, lr_g: float,
                   name: str) -> None:
        """The arrow from w to w − α·dL/dw at the point's height, then down (or up) to the curve."""
        self.arrow = ((w, loss), (nxt, loss))
        self.step_line.setData([w, nxt], [loss, loss])
        self.set_label("step", ((w + nxt) / 2, loss), (f"step −α·dL/d{name} = {fmt(-lr_g)}", "step"),
                       "step")
        if nxt != w:
            self.step_head.setPos(nxt, loss)
            self.step_head.setStyle(angle=180 if nxt > w else 0)
            self.step_head.show()
        else:
            self.step_head.hide()
        if math.isfinite(next_loss) and math.isfinite(nxt):
            self.next_dot.setData([nxt], [next_loss])
            self.drop_line.setData([nxt, nxt], [loss, next_loss])
            self.avoid(nxt, next_loss)
        else:
            self.next_dot.setData([], [])
            self.drop_line.setData([], [])

    def style(self, tone: str, background: QColor) -> None:
        super().style(tone, background)
        c = COLOURS[tone]
        self.curve_item.setPen(pg.mkPen(c["curve"], width=2.5))
        self.tangent_item.setPen(pg.mkPen(c["tangent"], width=2.5))
        self.drop_line.setPen(pg.mkPen(c["step"], width=1.2, style=Qt.PenStyle.DotLine))
        faded = QColor(c["point"])
        faded.setAlpha(140)
        self.path_dots.setPen(pg.mkPen(None))
        self.path_dots.setBrush(pg.mkBrush(faded))
        self.minimum_dot.setPen(pg.mkPen("#000000" if tone == "light" else c["minimum"]))
        self.minimum_dot.setBrush(pg.mkBrush(c["minimum"]))
        self.step_line.setPen(pg.mkPen(c["step"], width=3))
        self.step_head.setStyle(pen=pg.mkPen(c["step"]), brush=pg.mkBrush(c["step"]))
        self.point_dot.setPen(pg.mkPen(c["point"], width=1.5))
        self.point_dot.setBrush(pg.mkBrush(c["point"]))
        self.next_dot.setPen(pg.mkPen(c["step"], width=2))
        self.next_dot.setBrush(pg.mkBrush(None))


class SliceDrawer(CurveDrawer):
    """A slice through the current point along one parameter of a bigger program."""

    mode = SLICE

    def minimum_of(self, frame: Frame) -> float | None:
        return None  # the minimiser of the whole loss is not on this slice

    def notes(self, frame: Frame) -> list[str]:
        name = frame.names[frame.param]
        return [f"A slice along {name} through the current point, the other parameters held where "
                f"they are."] + super().notes(frame)
