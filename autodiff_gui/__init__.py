"""Autodiff GUI: everything Qt (the window, canvas, plots, engine thread) and the command lines.

This package's ``__init__`` imports nothing, so ``autodiff grad`` never loads Qt.
"""

__version__ = "0.1.0"
