"""The landscape panel's widgets: text that wraps (never a minimum width that depends on it), a
prediction that shortens rather than squeeze the plot, and the plot itself with its ranges left
to the drawers."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

PREDICTION_LINES = 3  # a longer prediction is shown in its short form (the tooltip has it all)


def wrapping_label(name: str, rich: bool = False) -> QLabel:
    """A word-wrapped label that takes the width it is given, whatever its text."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def fit_text(label: QLabel, full: str, short: str, lines: int = PREDICTION_LINES) -> None:
    """Show ``full`` while it fits in ``lines`` lines at the label's width, else ``short``."""
    metrics = label.fontMetrics()
    width = max(1, label.contentsRect().width())
    height = metrics.boundingRect(0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, full).height()
    label.setText(full if height <= lines * metrics.lineSpacing() + 1 else short)


def landscape_plot(on_transform: Callable[..., None], on_click: Callable[..., None]) -> pg.PlotWidget:
    """The plot: no auto-range and no buttons (the drawers set the ranges; a double-click, handled
    by ``on_click``, restores them), no SI prefixes, no context-menu export."""
    widget = pg.PlotWidget()
    widget.setMinimumHeight(120)
    plot = widget.getPlotItem()
    plot.disableAutoRange()
    plot.hideButtons()
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)  # "4e+06", never "4 (x1e+06)"
    plot.vb.sigTransformChanged.connect(on_transform)
    plot.vb.sigResized.connect(on_transform)
    # pyqtgraph's own "Export..." raises on PySide6 6.11+ (pyqtgraph issue 3495): no menu entry.
    widget.scene().contextMenu = []
    widget.scene().sigMouseClicked.connect(on_click)
    widget.setToolTip("Drag to pan, scroll to zoom; double-click to see the whole picture again.")
    return widget
