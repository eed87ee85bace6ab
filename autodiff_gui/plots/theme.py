"""Kept for the landscape panel's import until it moves to :mod:`autodiff_gui.theme`."""

from ..theme import style_plot

__all__ = ["style_plot"]
