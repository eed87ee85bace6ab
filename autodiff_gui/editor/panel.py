"""The editor side panel: preset chooser, program text, error line and parameter table.

The text is the one source of truth. The panel checks it a moment after the learner stops
typing; a valid program is announced with ``programChanged``, an invalid one with
``programInvalid`` while the last valid program stays in force elsewhere. Editing a value in the
table rewrites that number in the text, and the text is checked again like any other edit.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette, QTextCursor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget)

from engine.language import Program, ProgramError, parse, set_binding, start
from engine.presets import Preset, preset, presets

from .code_editor import CodeEditor
from ..theme import error_color, follow_palette
from .highlighter import LossHighlighter
from .params import ParameterTable
from .positions import utf16_offset

DEBOUNCE_MS = 250  # long enough not to flash errors at every keystroke, short enough to feel live


def error_text(error: ProgramError) -> str:
    """The one-line form a learner reads under the editor."""
    return f"Line {error.line}, column {error.column}: {error.message}"


def check(source: str, name: str) -> Program:
    """Parse ``source`` and build its graph once, so that errors only found while evaluating
    (an undefined name, log of a negative number) are shown in the editor too."""
    program = parse(source, name)
    start(program)  # evaluated, and remembered for the engine, the sweep and the plots
    return program


def changed_span(old: str, new: str) -> tuple[int, int, int]:
    """Where ``new`` differs from ``old``: ``old[start:old_end]`` became ``new[start:new_end]``."""
    start = len(os.path.commonprefix([old, new]))
    tail = len(os.path.commonprefix([old[start:][::-1], new[start:][::-1]]))
    return start, len(old) - tail, len(new) - tail


class EditorPanel(QWidget):
    """The side panel where a learner writes the loss and sets its starting values."""

    programChanged = Signal(object)  # Program: the text is valid and differs from the last check
    programInvalid = Signal(object)  # ProgramError: shown here; the last valid program stands
    presetChosen = Signal(str)  # a preset was loaded, from the chooser or select_preset

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._name = "<program>"
        self._program: Program | None = None
        self._checked: str | None = None  # the text of the last check, valid or not

        self._presets = QComboBox()
        self._presets.setPlaceholderText("your own program")
        self._presets.setToolTip("Load one of the example programs")
        for item in presets():
            self._presets.addItem(item.name, item.name)
            self._presets.setItemData(self._presets.count() - 1, item.description,
                                      Qt.ItemDataRole.ToolTipRole)
        self._presets.setCurrentIndex(-1)
        self._presets.activated.connect(self._on_preset_activated)
        preset_label = QLabel("&Preset:")
        preset_label.setBuddy(self._presets)

        self._editor = CodeEditor()
        self._editor.setAccessibleName("Loss program")
        self._highlighter = LossHighlighter(self._editor)

        self._error = QLabel()
        self._error.setTextFormat(Qt.TextFormat.PlainText)  # the message quotes the learner's code
        self._error.setWordWrap(True)
        self._error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Empty rather than hidden when the text is valid: the editor keeps its height instead of
        # jumping each time a half-typed line turns invalid and valid again.
        self._error.setMinimumHeight(self._error.fontMetrics().lineSpacing())
        self._style_error_label()
        follow_palette(self, self._style_error_label)

        self._table = ParameterTable()
        self._table.valueEdited.connect(self._on_value_edited)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._check)
        self._editor.textChanged.connect(self._timer.start)

        chooser = QHBoxLayout()
        chooser.addWidget(preset_label)
        chooser.addWidget(self._presets, 1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(chooser)
        top_layout.addWidget(self._editor, 1)
        top_layout.addWidget(self._error)
        table_label = QLabel("Parameters and inputs (edit a value to change the program):")
        table_label.setWordWrap(True)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(table_label)
        bottom_layout.addWidget(self._table)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.setFocusProxy(self._editor)

    # --- public API -----------------------------------------------------------------------------
    @property
    def editor(self) -> CodeEditor:
        """The text editor (for focus, undo and the document's modified flag)."""
        return self._editor

    @property
    def table(self) -> ParameterTable:
        return self._table

    @property
    def preset_chooser(self) -> QComboBox:
        return self._presets

    def error_message(self) -> str:
        """The line shown under the editor: empty while the text is valid."""
        return self._error.text()

    def source(self) -> str:
        return self._editor.toPlainText()

    def program(self) -> Program | None:
        """The last valid program, which stays in force while the text has an error."""
        return self._program

    def current_name(self) -> str:
        """The file path or preset name the text came from, used in error messages."""
        return self._name

    def set_source(self, text: str, name: str = "<program>") -> None:
        """Load ``text`` (a new document: the undo history starts afresh) and check it now.

        Always emits ``programChanged`` or ``programInvalid``, even for the same text, so that
        loading a program again resets whatever follows it.
        """
        self._name = name
        index = self._presets.findData(name)
        self._presets.setCurrentIndex(index)  # -1 shows "your own program"
        self._editor.setPlainText(text)
        self._check(force=True)

    def select_preset(self, name: str) -> None:
        """Load the preset called ``name``; KeyError (naming the presets) if there is none."""
        self._load(preset(name))

    def show_error(self, error: ProgramError) -> None:
        """Show ``error`` at its place in the text (also for errors the window finds itself)."""
        self._editor.set_error(error.line, error.column, error.end_column, error.message)
        self._error.setText(error_text(error))
        self._error.setToolTip(str(error))
        self._table.setEnabled(False)

    # --- internals ------------------------------------------------------------------------------
    def _load(self, chosen: Preset) -> None:
        self.set_source(chosen.source(), chosen.name)
        self.presetChosen.emit(chosen.name)

    def _on_preset_activated(self, index: int) -> None:
        try:
            self._load(preset(self._presets.itemData(index)))
        except (KeyError, OSError) as exc:  # the file vanished since start-up
            self._table.show_status(f"cannot load the preset: {exc}")

    def _check(self, force: bool = False) -> None:
        """Check the text now; emit only if it changed since the last check (or if forced)."""
        self._timer.stop()
        text = self.source()
        if text == self._checked and not force:
            return
        self._checked = text
        try:
            program = check(text, self._name)
        except ProgramError as error:
            self.show_error(error)
            self.programInvalid.emit(error)
            return
        self._program = program
        self._editor.clear_error()
        self._error.clear()
        self._error.setToolTip("")
        self._table.setEnabled(True)
        self._table.set_bindings(program.bindings)
        self.programChanged.emit(program)

    def _on_value_edited(self, name: str, value: float) -> None:
        self._check()  # catch up with typing the debounce has not checked yet
        program = self._program
        if program is None or program.source != self.source():
            self._table.set_bindings(program.bindings if program else ())
            self._table.show_status("Fix the error in the program first: the values come from "
                                    "its text")
            return
        old = program.source
        new = set_binding(old, program.binding(name), value)
        start, old_end, new_end = changed_span(old, new)
        # Replace just the number through a cursor, not with setPlainText: the learner's cursor,
        # selection and undo history survive, and Ctrl+Z undoes the change in one step.
        cursor = QTextCursor(self._editor.document())
        cursor.setPosition(utf16_offset(old, start))
        cursor.setPosition(utf16_offset(old, old_end), QTextCursor.MoveMode.KeepAnchor)
        cursor.beginEditBlock()
        cursor.insertText(new[start:new_end])
        cursor.endEditBlock()
        self._check()

    def _style_error_label(self) -> None:
        palette = self._error.palette()
        palette.setColor(QPalette.ColorRole.WindowText, error_color(self.palette()))
        self._error.setPalette(palette)
