"""Syntax colours for the loss language, chosen to read on the current light or dark palette."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit

from engine.language import BUILTINS

from ..theme import follow_palette, is_dark
from .positions import utf16_offset

# One pass over a line finds every token; a comment runs to the end of the line, and the language
# has no strings, so (unlike Python) no state carries from one line to the next.
_TOKENS = re.compile(r"""
    (?P<comment>\#.*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<operator>\*\*|[-+*/=])
""", re.VERBOSE)
_SETTINGS = re.compile(r"#\s*autodiff:")
_KEYWORDS = frozenset({"for", "in"})
_FUNCTIONS = frozenset(BUILTINS) - {"Value"}

# (light, dark) foreground per token kind; the dark column is brighter to keep the contrast.
_SCHEME = {
    "number": ("#1750eb", "#79b8ff"),
    "function": ("#00627a", "#4fc1d6"),
    "value": ("#871094", "#d291e4"),
    "keyword": ("#0033b3", "#cf8e6d"),
    "operator": ("#8a4a00", "#e0a060"),
    "comment": ("#707070", "#8f949c"),
    "setting": ("#067d17", "#8fcf7f"),
}


def _format(kind: str, dark: bool) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(_SCHEME[kind][dark]))
    if kind in ("value", "keyword"):
        fmt.setFontWeight(QFont.Weight.Bold)  # Value(...) marks what training changes: make it stand out
    if kind in ("comment", "setting"):
        fmt.setFontItalic(True)
    return fmt


class LossHighlighter(QSyntaxHighlighter):
    """Colours numbers, the language's functions, ``Value``, operators and comments.

    It follows ``editor``'s palette: when the desktop switches between light and dark, the editor
    receives a palette change and the colours are picked again.
    """

    def __init__(self, editor: QPlainTextEdit):
        super().__init__(editor.document())
        self._editor = editor
        self._dark = False
        self._formats: dict[str, QTextCharFormat] = {}
        self._pick_scheme()
        follow_palette(editor, self._on_palette)

    def _on_palette(self) -> None:
        self._pick_scheme()
        self.rehighlight()

    def is_dark(self) -> bool:
        """Whether the dark colour scheme is in use."""
        return self._dark

    def _pick_scheme(self) -> None:
        self._dark = is_dark(self._editor.palette())
        self._formats = {kind: _format(kind, self._dark) for kind in _SCHEME}

    def highlightBlock(self, text: str) -> None:
        for match in _TOKENS.finditer(text):
            kind = match.lastgroup
            token = match.group()
            if kind == "comment":
                kind = "setting" if _SETTINGS.match(token) else "comment"
            elif kind == "name":
                if token == "Value":
                    kind = "value"
                elif token in _FUNCTIONS:
                    kind = "function"
                elif token in _KEYWORDS:
                    kind = "keyword"
                else:
                    continue
            start = utf16_offset(text, match.start())
            self.setFormat(start, utf16_offset(text, match.end()) - start, self._formats[kind])
