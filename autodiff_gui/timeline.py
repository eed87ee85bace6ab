"""Time travel: a slider over the recorded iterations and one over the steps of an iteration.

Moving either asks the window to put the canvas, the ledger, the plots and the numbers back at
that moment (the window pauses a running engine first). While the learner is not travelling the
sliders follow the live run.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QSlider, QWidget


def position_text(position: int, forward: int, chain: int) -> str:
    """``forward step 2 of 4``, ``the seed``, ``multiplication 3 of 7``, ``complete``: the
    positions of an ``engine.replay.Moment`` (the seed is its own step, after the forward pass)."""
    if forward + chain == 0:
        return "the whole iteration"
    if position >= forward + 1 + chain:
        return f"backward pass done ({chain} multiplications)"
    if position == 0:
        return "before the forward pass"
    if position < forward:
        return f"forward step {position} of {forward}"
    if position == forward:
        return f"forward step {forward} of {forward}: the forward pass is done"
    k = position - forward - 1
    return f"multiplication {k} of {chain}" if k else "backward step 0: the seed"


class Timeline(QWidget):
    iterationChosen = Signal(int)  # an index into the recorded iterations
    positionChosen = Signal(int)  # a position within the shown iteration
    liveRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.iteration_slider = QSlider(Qt.Orientation.Horizontal)
        self.iteration_slider.setAccessibleName("recorded iteration")
        self.iteration_slider.setToolTip("Travel back to any recorded iteration")
        self.iteration_label = QLabel("iteration —")
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setAccessibleName("step within the iteration")
        self.step_slider.setToolTip("Travel through the forward steps and chain-rule "
                                    "multiplications of the shown iteration")
        self.step_label = QLabel("")
        for label in (self.iteration_label, self.step_label):
            # the sliders get the room; a label too long for what is left is cut, whole in its tip
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Back to the latest moment of the run")
        self.live_button.setEnabled(False)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 0, 8, 0)
        grid.setVerticalSpacing(0)
        grid.addWidget(QLabel("Time travel:"), 0, 0)
        grid.addWidget(self.iteration_slider, 0, 1)
        grid.addWidget(self.iteration_label, 0, 2)
        grid.addWidget(QLabel("Step:"), 1, 0)
        grid.addWidget(self.step_slider, 1, 1)
        grid.addWidget(self.step_label, 1, 2)
        grid.addWidget(self.live_button, 0, 3, 2, 1)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 2)
        self.iteration_slider.valueChanged.connect(self._iteration_moved)
        self.step_slider.valueChanged.connect(self._step_moved)
        self.live_button.clicked.connect(self.liveRequested)
        self._quiet = False
        self._iterations: list[int] = []
        self._forward = 0
        self._chain = 0
        self.set_iterations([], False)

    def set_iterations(self, iterations, decimated: bool) -> None:
        """The recorded iteration numbers, any sequence (a long run keeps a thinned record: the
        tooltip says so)."""
        self._iterations = iterations
        self._quietly(self.iteration_slider.setRange, 0, max(0, len(iterations) - 1))
        self.iteration_slider.setEnabled(len(iterations) > 0)
        tip = "Travel back to any recorded iteration"
        if decimated:
            tip += (" (a long run keeps a thinned record, so memory stays bounded: some "
                    "iterations are skipped)")
        self.iteration_slider.setToolTip(tip)

    def set_moment_position(self, index: int, position: int, forward: int, chain: int,
                            live: bool, iteration: int | None = None) -> None:
        """Put the sliders at recorded iteration ``index`` and ``position`` within it; the label
        names ``iteration`` (the one shown: it may be in progress, not yet recorded)."""
        self._forward, self._chain = forward, chain
        self._quietly(self.iteration_slider.setValue, max(0, index))
        self._quietly(self.step_slider.setRange, 0, forward + 1 + chain if forward + chain else 0)
        self._quietly(self.step_slider.setValue, position)
        total = len(self._iterations)
        recorded = 0 <= index < total
        if iteration is None:
            iteration = int(self._iterations[index]) if recorded else 0
        if recorded and int(self._iterations[index]) == iteration:
            where = f" ({index + 1} of {total} recorded)"
        else:
            where = f" (in progress; {total} recorded)" if total else ""
        self.iteration_label.setText(f"iteration {iteration}{where}")
        self.iteration_label.setToolTip(self.iteration_label.text())
        self.step_label.setText(position_text(position, forward, chain))
        self.step_label.setToolTip(self.step_label.text())
        self.live_button.setEnabled(not live)

    def iteration_at(self, index: int) -> int:
        return int(self._iterations[index])

    def _quietly(self, fn, *args) -> None:
        self._quiet = True
        try:
            fn(*args)
        finally:
            self._quiet = False

    def _iteration_moved(self, index: int) -> None:
        if not self._quiet:
            self.iterationChosen.emit(index)

    def _step_moved(self, position: int) -> None:
        if not self._quiet:
            self.step_label.setText(position_text(position, self._forward, self._chain))
            self.positionChosen.emit(position)
