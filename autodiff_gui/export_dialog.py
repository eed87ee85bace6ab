"""The dialogs behind File → Export snapshot… and File → Record run…"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QPushButton,
                               QRadioButton, QSpinBox, QWidget)

from .export import ImageOptions
from .recording import BACKWARD, ITERATIONS, gif_available

#: (label, suffix) in the order a teacher most often wants them
SNAPSHOT_FORMATS = [("PNG image", ".png"), ("SVG vector image", ".svg"), ("PDF document", ".pdf"),
                    ("Mermaid flowchart (text)", ".mmd"), ("Graphviz DOT (text)", ".dot"),
                    ("JSON (values and gradients)", ".json")]


class _PathRow(QWidget):
    def __init__(self, path: str, folder: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(path)
        self.folder = folder
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        if self.folder:
            path = QFileDialog.getExistingDirectory(self, "Folder for the frames", self.edit.text())
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export snapshot", self.edit.text())
        if path:
            self.edit.setText(path)

    def path(self) -> str:
        return self.edit.text().strip()


class SnapshotDialog(QDialog):
    """Format, size and background; the path's suffix follows the format."""

    def __init__(self, default_path: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export snapshot")
        self.format = QComboBox()
        for label, suffix in SNAPSHOT_FORMATS:
            self.format.addItem(f"{label} ({suffix})", suffix)
        self.path_row = _PathRow(default_path)
        self.scale = QComboBox()
        self.scale.addItem("1× (screen size)", 1.0)
        self.scale.addItem("2× (sharp on slides)", 2.0)
        self.scale.addItem("a chosen width", None)
        self.width = QSpinBox()
        self.width.setRange(100, 16000)
        self.width.setValue(1920)
        self.width.setSuffix(" px")
        self.width.setEnabled(False)
        self.transparent = QCheckBox("transparent background")
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("File", self.path_row)
        form.addRow("Size (PNG)", self.scale)
        form.addRow("Width (PNG)", self.width)
        form.addRow("", self.transparent)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.scale.currentIndexChanged.connect(lambda _: self.width.setEnabled(self.scale.currentData() is None))
        self.scale.setCurrentIndex(1)
        remembered = self.format.findData(Path(default_path).suffix.lower())
        if remembered >= 0:  # the format of the last export
            self.format.setCurrentIndex(remembered)
        self._format_changed()

    def _format_changed(self, *_) -> None:
        suffix = self.format.currentData()
        path = Path(self.path_row.path() or "graph.png")
        self.path_row.edit.setText(str(path.with_suffix(suffix)))
        png = suffix == ".png"
        for w in (self.scale, self.transparent):
            w.setEnabled(png)
        self.width.setEnabled(png and self.scale.currentData() is None)

    def options(self) -> ImageOptions:
        scale = self.scale.currentData()
        return ImageOptions(scale=scale or 1.0, width=None if scale else self.width.value(),
                            transparent=self.transparent.isChecked())

    def path(self) -> str:
        return self.path_row.path()


class RecordDialog(QDialog):
    def __init__(self, default_folder: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record a run")
        self.iterations = QRadioButton("every iteration of gradient descent")
        self.backward = QRadioButton("every chain-rule multiplication of one backward pass")
        self.iterations.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.iterations)
        group.addButton(self.backward)
        self.count = QSpinBox()
        self.count.setRange(1, 2000)
        self.count.setValue(30)
        self.folder_row = _PathRow(default_folder, folder=True)
        self.gif = QCheckBox("also an animated GIF (run.gif)")
        self.gif.setChecked(gif_available())
        self.gif.setEnabled(gif_available())
        if not gif_available():
            self.gif.setToolTip("install Pillow (pip install 'autodiff-gui[gif]') for GIFs")
        form = QFormLayout(self)
        form.addRow("Record", self.iterations)
        form.addRow("", self.backward)
        form.addRow("Iterations", self.count)
        form.addRow("Folder", self.folder_row)
        form.addRow("", self.gif)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.backward.toggled.connect(lambda on: self.count.setEnabled(not on))

    def mode(self) -> str:
        return BACKWARD if self.backward.isChecked() else ITERATIONS
