"""From the engine's positions (1-based line and column, in characters) to Qt text cursors."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor, QTextDocument


def utf16_offset(text: str, index: int) -> int:
    """Qt positions count UTF-16 units, Python (and the engine's columns) count characters.

    They differ only after a character outside the Basic Multilingual Plane, such as 𝑤 or 🙂.
    """
    prefix = text[:index]
    return len(prefix) if prefix.isascii() else len(prefix.encode("utf-16-le")) // 2


def span_cursor(document: QTextDocument, line: int, column: int, end_column: int, *,
                widen: bool = False) -> QTextCursor:
    """A cursor selecting ``column`` to ``end_column`` (exclusive) of ``line``, kept in the text.

    With ``widen`` the span is at least one character, and a position past the end of the line
    (where Python reports an unfinished line) selects its last character, so an underline shows.
    """
    if line > document.blockCount():  # past the last line: point at the end of the text
        line, column = document.blockCount(), 1_000_000_000
        end_column = column
    block = document.findBlockByNumber(max(line, 1) - 1)
    text = block.text()
    start = min(max(column - 1, 0), len(text))
    end = min(max(end_column - 1, start), len(text))
    if widen and end == start:
        start, end = (start, start + 1) if start < len(text) else (max(len(text) - 1, 0), len(text))
    cursor = QTextCursor(block)
    cursor.setPosition(block.position() + utf16_offset(text, start))
    cursor.setPosition(block.position() + utf16_offset(text, end), QTextCursor.MoveMode.KeepAnchor)
    return cursor
