"""pyqtgraph plots that follow the light or dark palette (its own default is always black)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor


def style_plot(widget: pg.PlotWidget, plot: pg.PlotItem, background: QColor, foreground: QColor,
               title: bool = True) -> None:
    """Background, axes, tick labels and (if it has one) the title in the palette's colours."""
    widget.setBackground(background)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(foreground)
        axis.setTextPen(foreground)
    if title and plot.titleLabel.text:
        plot.titleLabel.setText(plot.titleLabel.text, color=foreground)
