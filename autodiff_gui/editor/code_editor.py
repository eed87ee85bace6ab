"""A plain-text editor for loss programs: line numbers, a current-line band and live error marks.

The gutter follows Qt's classic CodeEditor example: a child widget over the editor's left
viewport margin, painted by the editor, which alone knows where each block is drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import (QColor, QFontDatabase, QHelpEvent, QKeyEvent, QPainter, QPaintEvent,
                           QPalette, QResizeEvent, QTextCharFormat, QTextCursor, QTextFormat)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from ..theme import error_color
from .positions import span_cursor

INDENT = "    "


class _Gutter(QWidget):
    """The line-number margin. It only forwards to the editor, which knows the block geometry."""

    def __init__(self, editor: CodeEditor):
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self._editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._editor._paint_gutter(self, event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            message = self._editor._gutter_tooltip(event.pos())
            if message:
                QToolTip.showText(event.globalPos(), message, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)


class CodeEditor(QPlainTextEdit):
    """The loss program's text, monospaced, with one error at a time underlined where it is.

    The error span is kept as a QTextCursor, so the underline and the gutter marker move with the
    text when the learner types above it, until the next check replaces or clears them.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._gutter = _Gutter(self)
        self._error: tuple[QTextCursor, str] | None = None
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # a line number is one line
        self.document().setDocumentMargin(8)  # air between the line numbers and the code
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._update_selections)
        self._apply_font()
        self._update_selections()

    # --- errors -------------------------------------------------------------------------------
    def set_error(self, line: int, column: int, end_column: int, message: str) -> None:
        """Underline ``column``..``end_column`` (1-based, end exclusive) of ``line`` in red.

        Columns count characters, as the engine's errors do. The span is at least one character
        wide; an error past the end of a line underlines its last character.
        """
        cursor = span_cursor(self.document(), line, column, end_column, widen=True)
        self._error = (cursor, message)
        self._update_selections()

    def clear_error(self) -> None:
        """Remove the underline, the gutter marker and the tooltip."""
        if self._error is not None:
            self._error = None
            self._update_selections()

    def error_message(self) -> str:
        """The message of the error shown, or an empty string."""
        return self._error[1] if self._error else ""

    # --- gutter -------------------------------------------------------------------------------
    def gutter_width(self) -> int:
        """Room for a marker and the largest line number (at least two digits, so it rarely jumps)."""
        metrics = self.fontMetrics()
        digits = max(2, len(str(self.blockCount())))
        return self._marker_size() + 6 + metrics.horizontalAdvance("9") * digits + 6

    def _marker_size(self) -> int:
        return max(6, round(self.fontMetrics().height() * 0.6))

    def _update_gutter_width(self) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)
        self._place_gutter()

    def _place_gutter(self) -> None:
        rect = self.contentsRect()
        self._gutter.setGeometry(QRect(rect.left(), rect.top(), self.gutter_width(), rect.height()))

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def _error_block(self) -> int:
        return self._error[0].block().blockNumber() if self._error else -1

    def _paint_gutter(self, gutter: QWidget, event: QPaintEvent) -> None:
        palette = self.palette()
        metrics = self.fontMetrics()
        marker = self._marker_size()
        current = self.textCursor().blockNumber()
        error_block = self._error_block()
        with QPainter(gutter) as painter:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Window))
            block = self.firstVisibleBlock()
            top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
            while block.isValid() and top <= event.rect().bottom():
                bottom = top + round(self.blockBoundingRect(block).height())
                number = block.blockNumber()
                if block.isVisible() and bottom >= event.rect().top():
                    if number == error_block:
                        painter.setPen(Qt.PenStyle.NoPen)
                        painter.setBrush(error_color(palette))
                        y = top + (metrics.height() - marker) // 2
                        painter.drawEllipse(3, y, marker, marker)
                    role = QPalette.ColorRole.Text if number == current \
                        else QPalette.ColorRole.PlaceholderText
                    painter.setPen(palette.color(role))
                    painter.drawText(0, top, gutter.width() - 6, metrics.height(),
                                     Qt.AlignmentFlag.AlignRight, str(number + 1))
                block = block.next()
                top = bottom

    def _gutter_tooltip(self, pos: QPoint) -> str:
        if self._error is None:
            return ""
        block = self.cursorForPosition(QPoint(0, pos.y())).block()
        return self._error[1] if block.blockNumber() == self._error_block() else ""

    # --- selections: current line and error ---------------------------------------------------
    def _update_selections(self) -> None:
        palette = self.palette()
        selections = []
        if not self.isReadOnly():
            band = QTextEdit.ExtraSelection()
            color = QColor(palette.color(QPalette.ColorRole.Highlight))
            color.setAlpha(36)  # a tint of the selection colour suits both light and dark themes
            band.format.setBackground(color)
            band.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            band.cursor = self.textCursor()
            band.cursor.clearSelection()
            selections.append(band)
        if self._error is not None:
            underline = QTextEdit.ExtraSelection()
            underline.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            underline.format.setUnderlineColor(error_color(palette))
            underline.cursor = self._error[0]
            selections.append(underline)
        self.setExtraSelections(selections)
        self._gutter.update()  # the error marker, and the current line's number drawn brighter

    # --- Qt virtuals ----------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(self.gutter_width() + metrics.horizontalAdvance("9") * 64,
                     metrics.lineSpacing() * 16)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_gutter()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._apply_font()
        elif event.type() == QEvent.Type.PaletteChange:
            self._update_selections()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._error is not None:
            assert isinstance(event, QHelpEvent)
            cursor, message = self._error
            position = self.cursorForPosition(event.pos()).position()
            if cursor.selectionStart() <= position <= cursor.selectionEnd():
                QToolTip.showText(event.globalPos(), message, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if self.isReadOnly() or modifiers & ~(Qt.KeyboardModifier.ShiftModifier
                                              | Qt.KeyboardModifier.ControlModifier):
            super().keyPressEvent(event)
        elif key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) \
                and modifiers & Qt.KeyboardModifier.ControlModifier:
            # Tab indents, so Ctrl+Tab (Ctrl+Shift+Tab) is the keyboard's way out of the editor
            QWidget.focusNextPrevChild(self, key == Qt.Key.Key_Tab)  # QPlainTextEdit refuses
        elif modifiers & Qt.KeyboardModifier.ControlModifier:
            super().keyPressEvent(event)
        elif key == Qt.Key.Key_Tab:
            self._indent()
        elif key == Qt.Key.Key_Backtab:
            self._dedent()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # Keep the indentation of a continued list, as every code editor does. Shift+Return
            # too: Qt would insert a soft line break, one block that Python counts as two lines.
            line = self.textCursor().block().text()
            self._insert("\n" + line[:len(line) - len(line.lstrip(" "))])
        else:
            super().keyPressEvent(event)
            return
        self.ensureCursorVisible()

    # --- editing helpers ----------------------------------------------------------------------
    def _apply_font(self) -> None:
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * len(INDENT))
        self._update_gutter_width()

    def _insert(self, text: str) -> None:
        cursor = self.textCursor()
        cursor.insertText(text)
        self.setTextCursor(cursor)

    def _selected_blocks(self) -> list[int]:
        cursor = self.textCursor()
        doc = self.document()
        first = doc.findBlock(cursor.selectionStart()).blockNumber()
        last = doc.findBlock(cursor.selectionEnd()).blockNumber()
        return list(range(first, last + 1))

    def _indent(self) -> None:
        """Four spaces; with several lines selected, each of them moves right."""
        blocks = self._selected_blocks()
        if len(blocks) == 1:
            self._insert(INDENT)
            return
        edit = QTextCursor(self.document())
        edit.beginEditBlock()
        for number in blocks:
            edit.setPosition(self.document().findBlockByNumber(number).position())
            edit.insertText(INDENT)
        edit.endEditBlock()

    def _dedent(self) -> None:
        """Up to four leading spaces removed from each selected line (or the current one)."""
        edit = QTextCursor(self.document())
        edit.beginEditBlock()
        for number in self._selected_blocks():
            block = self.document().findBlockByNumber(number)
            text = block.text()
            width = min(len(INDENT), len(text) - len(text.lstrip(" ")))
            if width:
                edit.setPosition(block.position())
                edit.setPosition(block.position() + width, QTextCursor.MoveMode.KeepAnchor)
                edit.removeSelectedText()
        edit.endEditBlock()
