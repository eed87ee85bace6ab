"""The loss landscape: the derivative drawn as a slope, and the step it causes drawn as an arrow.

One parameter: the curve L(w), the point, the tangent (its slope is exactly the backward pass's
dL/dw) and the update −α·dL/dw as an arrow to the next point; two (regression's m and b): a heat
map with the path and the step −α·∇L; more: a slice along the parameter the learner picks. The
tangent appears once the moment shown has computed the gradient and the step at the weight
update, as the tutorial reveals them, never ahead of the canvas's "dL/dw = ?". Above the plot, a
prediction for α from the curvature (``engine.regimes``); under it, a caption with every label's
full text (labels never overlap nor leave the plot: one without room is read there).

The rooms: ``plots/landscape_math`` (arithmetic, no Qt), ``plots/landscape_text`` (the words),
``plots/landscape_curve`` and ``plots/landscape_heatmap`` (one drawer per kind of plot),
``panels/landscape_inputs`` (what changed), ``panels/landscape_sampling`` (forward passes a slice
of time at a time). This widget redraws only when its frame changed, and only while visible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.regimes import steepest_curvature  # re-exported: it moved to the engine
from engine.replay import Moment

from ..plots.landscape_curve import CurveDrawer, SliceDrawer
from ..plots.landscape_draw import Drawer, Frame
from ..plots.landscape_heatmap import HeatmapDrawer
from ..plots.landscape_math import (CURVE, HEATMAP, LOSS_LIMIT, MAX_PATH_POINTS, PARAM_LIMIT, SLICE,
                                    fit_range, loss_at, subsample)
from ..plots.landscape_text import Prediction, caption, describe, prediction
from ..theme import follow_palette, style_plot
from ..throttle import Beat
from .landscape_inputs import LandscapeInputs
from .landscape_sampling import Sampler
from .landscape_view import fit_text, landscape_plot, wrapping_label

__all__ = ["CURVE", "HEATMAP", "LOSS_LIMIT", "MAX_PATH_POINTS", "PARAM_LIMIT", "SLICE", "LandscapePanel",
           "describe", "fit_range", "loss_at", "steepest_curvature", "subsample"]

CHEAP_PASS_S = 2e-4  # a forward pass this fast makes every refresh immediate
MIN_REFRESH_MS = 60  # otherwise refreshes while a run streams moments are this far apart


class LandscapePanel(QWidget):
    """The loss around the current point, the tangent, the step, and a prediction for α.

    Feed it :meth:`set_moment` (the moment the canvas shows), :meth:`set_path_array` (the iterates
    so far; :meth:`set_path` takes a list of tuples) and :meth:`set_lr` (when the learner changes α
    before running). The learner chooses the parameter of a slice in the panel's combo box (or
    the window calls :meth:`set_parameter`).
    """

    parameterChanged = Signal(str)
    """The learner picked another parameter to slice along (or to predict along, on a heat map)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._in = LandscapeInputs()
        self._tone = "light"
        self._drawn_key: tuple | None = None
        self._prediction = ""
        self._forecast: Prediction | None = None
        self._caption_plain = ""
        self._refreshing = False
        self.redraws = 0  # frames drawn (a frame equal to the last one is not drawn again)
        self._sampler = Sampler(self._on_samples, self.isVisible, self)
        self._dirty = False
        self._refresh_beat = Beat(self, MIN_REFRESH_MS, self._flush, defer=True)
        self._build()
        self._drawer = Drawer(self._plot, self._sampler.request, 0)  # no program yet: an empty plot
        self._apply_palette()
        follow_palette(self, self._apply_palette)
        self._refresh_now()

    def _build(self) -> None:
        self._prediction_label = wrapping_label("landscapePrediction")
        self._note = wrapping_label("landscapeNote")
        self._caption = wrapping_label("landscapeCaption", rich=True)
        self._combo_label = QLabel("Slice along")
        self._combo = QComboBox()
        self._combo.setObjectName("landscapeParameter")
        self._combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._combo.currentIndexChanged.connect(self._on_combo)
        self._widget = landscape_plot(self._on_transform, self._on_click)
        self._plot = self._widget.getPlotItem()
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self._combo_label)
        header.addWidget(self._combo)
        header.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(2)
        layout.addWidget(self._prediction_label)
        layout.addLayout(header)
        layout.addWidget(self._note)
        layout.addWidget(self._widget, 1)
        layout.addWidget(self._caption)
        self.setMinimumHeight(220)

    # --- the inputs ---------------------------------------------------------------------------------

    def set_moment(self, moment: Moment | None) -> None:
        """Show ``moment``: its program, parameter values, what it has revealed, and its α.

        None clears the panel (no program, or one that does not parse). A moment of another
        program resets the path, the chosen parameter and the view.
        """
        if self._in.set_moment(moment):
            self._new_program()
        if moment is None:
            self._refresh_now()
        else:
            self._schedule_refresh()

    def set_path_array(self, values: np.ndarray) -> None:
        """The iterates so far, oldest first, one row each (may be long: only a selection is drawn).

        One numpy call where :meth:`set_path` walks a list; a path equal to the one drawn costs
        no redraw.
        """
        if self._in.set_path_array(values):
            self._schedule_refresh()

    def set_path(self, values_list: Sequence[Sequence[float]]) -> None:
        """The iterates so far as a sequence of tuples, oldest first (see :meth:`set_path_array`)."""
        if self._in.set_path(values_list):
            self._schedule_refresh()

    def set_lr(self, lr: float) -> None:
        """A new learning rate: the prediction and the step arrow follow (step = −α·gradient)."""
        self._in.lr = float(lr)
        self._schedule_refresh()

    def set_parameter(self, name: str) -> None:
        """Slice along (or, on a heat map, predict along) parameter ``name``."""
        names = self._in.names()
        if name not in names:
            raise ValueError(f"no parameter called {name!r}; the parameters are {', '.join(names) or 'none'}")
        self._combo.setCurrentIndex(names.index(name))  # _on_combo does the rest

    # --- the queries (each refreshes first, so it is never stale) ---------------------------------------

    def parameter(self) -> str | None:
        """The parameter shown along the x axis (the one predicted along), or None."""
        names = self._in.names()
        return names[self._in.param] if names else None

    def mode(self) -> str:
        """The kind of plot: "curve" (one parameter, or none), "heatmap" (two) or "slice" (more)."""
        return self._in.mode()

    def lr(self) -> float:
        return self._in.lr

    def tangent_line(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The drawn tangent's endpoints, or None (none drawn: no gradient known yet, or a heat map)."""
        self._flush()
        return self._drawer.tangent

    def tangent_slope(self) -> float:
        """The slope of the drawn tangent, from its two drawn endpoints (NaN when none is drawn)."""
        line = self.tangent_line()
        if line is None:
            return math.nan
        (x0, y0), (x1, y1) = line
        return (y1 - y0) / (x1 - x0)

    def step_arrow(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """The drawn step arrow's tail and tip in plot coordinates, or None (not at the update)."""
        self._flush()
        return self._drawer.arrow

    def step_vector(self) -> tuple[float, ...]:
        """The drawn step, tip minus tail, along the plot's parameter axes: (Δw,) on a curve or a
        slice, (Δm, Δb) on a heat map; () when no arrow is drawn."""
        self._flush()
        return self._drawer.step_vector()

    def prediction_text(self) -> str:
        """The prediction line above the plot, as shown."""
        self._flush()
        return self._prediction

    def note_text(self) -> str:
        """The note under the prediction (points not drawn, a slice's meaning, sampling)."""
        self._flush()
        return self._note.text() if self._note.isVisibleTo(self) else ""

    def caption_text(self) -> str:
        """The caption under the plot (every label's full text), as plain text."""
        self._flush()
        return self._caption_plain

    def label_items(self) -> dict[str, pg.TextItem]:
        """The on-plot labels by name ("tangent", "step", "minimum"); the visible ones are placed."""
        self._flush()
        return self._drawer.labels()

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The sampled curve (parameter values, losses; NaN in gaps), on a curve or a slice."""
        self._flush()
        return self._drawer.curve_data()

    def heatmap_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The sampled grid on a heat map: x values, y values, losses[ix, iy] (NaN in holes)."""
        self._flush()
        return self._drawer.heatmap_data()

    def path_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The drawn iterates (x, y) in plot coordinates."""
        self._flush()
        x, y = self._drawer.path_dots.getData()
        return np.asarray(x, dtype=float).copy(), np.asarray(y, dtype=float).copy()

    def view_range(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The plot's visible ((x0, x1), (y0, y1))."""
        self._flush()
        (x0, x1), (y0, y1) = self._plot.vb.viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def reset_view(self) -> None:
        """Show the panel's own range again after the learner panned or zoomed."""
        self._flush()
        self._drawer.reset_view()

    def plot_widget(self) -> pg.PlotWidget:
        """The plot, for exporting it as an image."""
        return self._widget

    def sampling(self) -> bool:
        """True while a curve or heat map is still being computed (or waits to be)."""
        self._flush()
        return self._sampler.busy()

    def sampling_slices(self) -> int:
        """How many slices of sampling work ran from the event loop (each one a turn of it)."""
        return self._sampler.slices

    def finish_sampling(self) -> None:
        """Compute what is still to be sampled now, blocking (for exports, screenshots and tests)."""
        self._flush()
        self._sampler.finish()

    # --- programs and drawers -------------------------------------------------------------------------

    def _new_program(self) -> None:
        names = self._in.names()
        self._sampler.cost = self._in.cost
        self._combo.blockSignals(True)
        self._combo.clear()
        self._combo.addItems(list(names))
        self._combo.setCurrentIndex(0)
        self._combo.blockSignals(False)
        mode = self._in.mode()
        self._combo_label.setText("Predict along" if mode == HEATMAP else "Slice along")
        for w in (self._combo_label, self._combo):
            w.setVisible(mode != CURVE)
        self._set_drawer(mode if names else None)

    def _set_drawer(self, mode: str | None) -> None:
        """A fresh drawer (ranges, items) for ``mode``, the old one's items taken off the plot."""
        self._sampler.cancel()
        self._drawn_key = None
        self._drawer.detach()
        kind = {CURVE: CurveDrawer, SLICE: SliceDrawer, HEATMAP: HeatmapDrawer}.get(mode, Drawer)
        self._drawer = kind(self._plot, self._sampler.request, self._in.generation, self._in.cost)
        self._drawer.style(self._tone, self.palette().color(QPalette.ColorRole.Base))

    def _on_combo(self, index: int) -> None:
        if index < 0 or index == self._in.param:
            return
        self._in.param = index
        if self.mode() == SLICE:
            self._set_drawer(SLICE)
        self._refresh_now()
        self.parameterChanged.emit(self._in.names()[index])

    def _on_samples(self, request, losses: np.ndarray) -> None:
        if request.kind[0] != self._in.generation:
            return
        self._drawer.show_samples(request, losses)
        if not self._refreshing:  # (a refresh under way draws them itself)
            self._drawn_key = None  # the y range, the path's dots and the note depend on them
            self._refresh_now()

    def _on_transform(self, *_) -> None:
        if not self._refreshing:
            self._drawer.on_transform()

    def _on_click(self, event) -> None:
        if event.double():
            self.reset_view()

    # --- refreshing -----------------------------------------------------------------------------------

    def _schedule_refresh(self) -> None:
        """Refresh at the next turn of the event loop, so that a path and a moment set together
        cost one refresh; for an expensive program, at most every MIN_REFRESH_MS while a run
        streams moments. A hidden panel waits for its showEvent."""
        self._dirty = True
        if not self.isVisible():
            return
        cheap = self._sampler.cost <= CHEAP_PASS_S
        self._refresh_beat.ms = 0 if cheap else MIN_REFRESH_MS
        self._refresh_beat.request()

    def _flush(self) -> None:
        if self._dirty:
            self._refresh_now()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self._schedule_refresh()
        self._sampler.resume()

    def _refresh_now(self) -> None:
        self._dirty = False
        self._refresh_beat.stop()
        frame = self._in.frame()
        key = None if frame is None else self._in.key(frame, self._tone)
        if key is not None and key == self._drawn_key:
            return  # nothing the panel shows has changed
        self._refresh_beat.last = time.monotonic()  # a direct refresh counts for the beat too
        self.redraws += 1
        if frame is None:
            self._prediction = ("Load a program with a parameter to see its loss landscape."
                                if self._in.moment is None else
                                "This program has no parameters (no Value(...)): there is no "
                                "landscape to descend.")
            self._prediction_label.setText(self._prediction)
            self._prediction_label.setToolTip("")
            self._forecast = None
            self._note.hide()
            self._caption.setText("")
            self._caption_plain = ""
            return
        self._drawn_key = key
        bottom, left = self._drawer.title(frame)
        self._plot.getAxis("bottom").setLabel(bottom)
        self._plot.getAxis("left").setLabel(left)
        self._update_prediction(frame)
        self._refreshing = True  # a sampling finished on the way is drawn by this refresh
        try:
            self._drawer.refresh(frame)
        finally:
            self._refreshing = False
        self._update_note(frame)
        self._update_caption(frame)

    def _update_note(self, frame: Frame) -> None:
        """Say what the plot does not show, and why: thinned or diverged iterates, gaps, sampling."""
        parts = self._drawer.notes(frame)
        if frame.path_total > MAX_PATH_POINTS:
            parts.append(f"{MAX_PATH_POINTS} of {frame.path_total:,} iterates are drawn.")
        if self._sampler.busy():
            parts.append("Sampling the landscape…")
        self._note.setText(" ".join(parts))
        self._note.setVisible(bool(parts))

    def _update_caption(self, frame: Frame) -> None:
        rich, plain = caption(self._drawer.caption(), frame, self.mode() != HEATMAP)
        self._caption.setText(rich)
        self._caption_plain = plain

    def _update_prediction(self, frame: Frame) -> None:
        self._forecast = prediction(frame)
        self._prediction = self._forecast.text
        self._prediction_label.setToolTip(self._forecast.tip)
        self._fit_prediction()

    def _fit_prediction(self) -> None:
        """The whole prediction while it fits in a few lines, its short form (the regime and where
        divergence begins) when narrower, so the text never squeezes the plot."""
        if self._forecast is not None:
            fit_text(self._prediction_label, self._forecast.text, self._forecast.short)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_prediction()

    # --- light and dark palettes -----------------------------------------------------------------------

    def _apply_palette(self) -> None:
        """Follow the light or dark palette (pyqtgraph's default background is always black)."""
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        self._tone = "dark" if background.lightness() < 128 else "light"
        style_plot(self._widget, self._plot, background, palette.color(QPalette.ColorRole.Text), title=False)
        if hasattr(self, "_drawer"):
            self._drawer.style(self._tone, background)
            self._schedule_refresh()

