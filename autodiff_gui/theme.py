"""The app's one theme: colours that read on light and dark desktops, and following the palette.

Every widget that draws its own colours (the editor, the canvas, the plots, the panels) asks here
for them and registers here to hear when the system palette changes, so light/dark switching is
written once. Categorical colours are Okabe–Ito's, distinguishable with the common colour-vision
deficiencies.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QWidget

#: Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999",
    "black": "#000000",
}
_GOOD = {"light": "#1a7f37", "dark": "#3fb950"}
_BAD = {"light": "#c62828", "dark": "#ff6b6b"}


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` is a dark theme: fixed colours must then be lighter to keep contrast."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def tone(palette: QPalette) -> str:
    return "dark" if is_dark(palette) else "light"


def error_color(palette: QPalette) -> QColor:
    """The red of errors, wrong answers and diverged runs (Qt's palette has no error role; a deep
    red is legible on white, a soft one on near-black)."""
    return QColor(_BAD[tone(palette)])


def good_color(palette: QPalette) -> QColor:
    """The green of right answers, agreeing gradients and converged runs."""
    return QColor(_GOOD[tone(palette)])


def status_style(palette: QPalette, good: bool | None) -> str:
    """A style sheet for a status line: green for good news, red for bad, plain otherwise."""
    if good is None:
        return ""
    colour = (good_color if good else error_color)(palette).name()
    return f"color: {colour}; font-weight: bold;"


class _PaletteWatcher(QObject):
    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._callback()
        return False


def follow_palette(widget: QWidget, callback: Callable[[], None]) -> QObject:
    """Call ``callback`` whenever ``widget``'s palette (or the application's) changes."""
    return _PaletteWatcher(widget, callback)


def read_only(table: QAbstractItemView) -> None:
    """A table a learner reads and selects rows of, but does not edit."""
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)


def style_plot(widget, plot, background: QColor, foreground: QColor, title: bool = True) -> None:
    """A pyqtgraph plot in the palette's colours (its own default is always black): background,
    axes, tick labels and (if it has one) the title."""
    widget.setBackground(background)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(foreground)
        axis.setTextPen(foreground)
    if title and plot.titleLabel.text:
        plot.titleLabel.setText(plot.titleLabel.text, color=foreground)
