"""Colours the editor derives from the current palette, so it reads on light and dark desktops."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` is a dark theme: fixed colours must then be lighter to keep contrast."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_color(palette: QPalette) -> QColor:
    """The red used for error underlines, gutter markers and the error message.

    Qt's palette has no error role; a deep red is legible on white, a soft one on near-black.
    """
    return QColor("#ff6b6b") if is_dark(palette) else QColor("#c62828")

