"""The run controls: learning rate (log slider + exact spin box), speed, and the iteration cap."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget)

from .worker import DEFAULT_CAP, DEFAULT_SPEED, SPEEDS

LR_MIN, LR_MAX = 1e-4, 2.0
_SLIDER_STEPS = 1000


def lr_to_slider(lr: float) -> int:
    lr = min(LR_MAX, max(LR_MIN, lr))
    frac = (math.log10(lr) - math.log10(LR_MIN)) / (math.log10(LR_MAX) - math.log10(LR_MIN))
    return round(frac * _SLIDER_STEPS)


def slider_to_lr(position: int) -> float:
    frac = position / _SLIDER_STEPS
    lr = 10 ** (math.log10(LR_MIN) + frac * (math.log10(LR_MAX) - math.log10(LR_MIN)))
    # round to 3 significant digits so the slider lands on readable rates (0.1, not 0.10023)
    return float(f"{lr:.3g}")


class LearningRateControl(QWidget):
    """A logarithmic slider and an exact spin box that stay in step; emits ``lrChanged``, and
    ``committed`` when the learner presses Enter in the box (the window then hands the keys back to
    the canvas, so the next Space runs instead of typing a space)."""

    lrChanged = Signal(float)
    committed = Signal()

    def __init__(self, lr: float = 0.1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, _SLIDER_STEPS)
        self.slider.setMinimumWidth(140)
        self.slider.setToolTip("learning rate α, on a logarithmic scale from 0.0001 to 2")
        self.slider.setAccessibleName("learning rate slider")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(LR_MIN, LR_MAX)
        self.spin.setDecimals(4)
        self.spin.setSingleStep(0.01)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("learning rate α: each update is w ← w − α·dL/dw")
        self.spin.setAccessibleName("learning rate")
        label = QLabel("Learning rate α")
        label.setBuddy(self.spin)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        self._lr = lr
        self.set_lr(lr)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.spin.editingFinished.connect(self._on_editing_finished)

    def _on_editing_finished(self) -> None:
        if self.spin.hasFocus():  # Enter, not a focus change
            self.committed.emit()

    def lr(self) -> float:
        return self._lr

    def set_lr(self, lr: float) -> None:
        lr = min(LR_MAX, max(LR_MIN, float(lr)))
        changed = lr != self._lr
        self._lr = lr
        for w, value in ((self.slider, lr_to_slider(lr)), (self.spin, lr)):
            w.blockSignals(True)
            w.setValue(value)
            w.blockSignals(False)
        if changed:
            self.lrChanged.emit(lr)

    def _from_slider(self, position: int) -> None:
        self.set_lr(slider_to_lr(position))

    def _from_spin(self, value: float) -> None:
        self.set_lr(value)


class SpeedControl(QWidget):
    speedChanged = Signal(int)

    def __init__(self, speed: int = DEFAULT_SPEED, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, len(SPEEDS) - 1)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setMinimumWidth(110)
        self.slider.setAccessibleName("animation speed")
        self.name = QLabel()
        widest = max(self.name.fontMetrics().horizontalAdvance(name) for name, _, _ in SPEEDS)
        self.name.setFixedWidth(widest + 4)  # the row does not jump as the speed changes
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Speed"))
        row.addWidget(self.slider)
        row.addWidget(self.name)
        self.slider.valueChanged.connect(self._changed)
        self.slider.setValue(speed)
        self._changed(self.slider.value())  # the slider's range bounds a speed out of range

    def speed(self) -> int:
        return self.slider.value()

    def set_speed(self, speed: int) -> None:
        self.slider.setValue(max(0, min(len(SPEEDS) - 1, speed)))

    def _changed(self, value: int) -> None:
        self.name.setText(SPEEDS[value][0])
        self.slider.setToolTip(f"animation speed: {SPEEDS[value][0]}")
        self.speedChanged.emit(value)


class CapControl(QWidget):
    capChanged = Signal(int)

    def __init__(self, cap: int = DEFAULT_CAP, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = QSpinBox()
        self.spin.setRange(1, 1_000_000)
        self.spin.setValue(cap)
        self.spin.setKeyboardTracking(False)
        self.spin.setGroupSeparatorShown(True)
        self.spin.setToolTip("a run stops after this many iterations if it has not converged")
        self.spin.setAccessibleName("iteration cap")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Max iterations")
        label.setBuddy(self.spin)
        row.addWidget(label)
        row.addWidget(self.spin)
        self.spin.valueChanged.connect(self.capChanged)

    def cap(self) -> int:
        return self.spin.value()
