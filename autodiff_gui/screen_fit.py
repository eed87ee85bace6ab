"""How the window meets the screen and the saved settings: a size that fits, and settings read
defensively. Plain arithmetic on rectangles, apart from the window itself, so it is easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSettings, QSize

DEFAULT_SIZE = QSize(1560, 960)  # shrunk to fit smaller screens, grown on big ones
MAX_SIZE = QSize(2400, 1500)


@dataclass(frozen=True)
class Fit:
    window: QRect  # where the window goes (its frame excluded)
    dock: int  # the Learn dock's width
    editor: int  # the editor's width
    centre: int  # the canvas column's width
    canvas: int  # the canvas's height, above the plots
    plots: int


def fit_window(area: QRect, frame: QSize = QSize(0, 0)) -> Fit:
    """The default size, grown on big screens (never past most of them) and shrunk on small ones,
    centred on ``area`` (the screen's free area) with its ``frame``; the editor, the Learn dock
    and the plots in proportion."""
    want = DEFAULT_SIZE.expandedTo(QSize(int(area.width() * 0.85), int(area.height() * 0.9)))
    want = want.boundedTo(MAX_SIZE)
    width = max(1, min(want.width(), area.width() - frame.width()))
    height = max(1, min(want.height(), area.height() - frame.height()))
    corner = QPoint(area.x() + (area.width() - width - frame.width()) // 2,
                    area.y() + (area.height() - height - frame.height()) // 2)
    dock = max(240, min(520, int(width * 0.28)))
    editor = max(200, min(360, int(width * 0.22)))
    plots = max(180, int(height * 0.32))  # the canvas keeps most of a short screen
    return Fit(QRect(corner, QSize(width, height)), dock, editor, max(1, width - editor - dock),
               max(1, height - plots), plots)


def read_setting(settings: QSettings, key: str, default, kind, valid):
    """The saved ``key`` as ``kind`` if it converts and is ``valid``, else ``default``: a settings
    file edited by hand, corrupt or from another version must never stop the app from opening."""
    raw = settings.value(key, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError, OverflowError):
        return default
    return value if valid(value) else default


HELP_TEXT = (
    "Autodiff GUI shows backpropagation as the tutorial teaches it.\n\n"
    "• The editor on the left holds the loss program, e.g. z = w*x; e = z - y; L = e**2. "
    "Value(0.0) is a parameter that gradient descent trains; x = 1 is an input.\n\n"
    "• The canvas draws the computational graph: boxes hold a value and its gradient, circles "
    "are operations, and each input edge is labelled with its local gradient.\n\n"
    "• Space (or F5) runs and pauses. → (or F10) takes one step: one forward operation, the "
    "seed, or one chain-rule multiplication  child.grad += local_grad * v.grad. Shift+F10 does "
    "one whole iteration, Ctrl+R resets, Ctrl+0 fits the graph.\n\n"
    "• The learning rate α may be changed while it runs: below 0.5 the tutorial's loss converges "
    "smoothly to w = 2, between 0.5 and 1 it oscillates, above 1 it diverges."
)
