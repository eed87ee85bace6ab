"""The engine's own backward pass, as source, with the line being executed lit.

The text is read from ``engine/value.py`` itself (not a copy), so what a learner reads here is
what runs. At each chain-rule multiplication the line ``child.grad += local_grad * v.grad`` is
lit and the numbers it is using at that moment are shown beneath it.
"""

from __future__ import annotations

import inspect

from PySide6.QtGui import QColor, QFontDatabase, QPalette, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from engine import value as value_module
from engine.graph import format_number
from engine.replay import Moment

ACCUMULATE = "child.grad += local_grad * v.grad"
SEED = "self.grad = 1"
TOPO = "topo = topological_order(self)"


def backward_source() -> str:
    """``Value.backward`` as written in engine/value.py, without the decorator line."""
    lines = inspect.getsource(value_module.Value.backward).splitlines()
    lines = [ln for ln in lines if not ln.strip().startswith("@")]
    indent = min(len(ln) - len(ln.lstrip()) for ln in lines if ln.strip())
    return "\n".join(ln[indent:] for ln in lines)


class SourcePanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code = QPlainTextEdit(backward_source())
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.setAccessibleName("the engine's backward pass")
        self.where = QLabel()
        self.where.setWordWrap(True)
        title = QLabel("<b>Value.backward()</b> in <code>engine/value.py</code> — the code that "
                       "runs, not a copy")
        title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.code, 1)
        layout.addWidget(self.where)
        self.lit_line: str | None = None

    def set_moment(self, moment: Moment) -> None:
        g = moment.after
        if not moment.seeded:
            self._light(None)
            self.where.setText("The forward pass is running: backward() has not been called yet."
                               if moment.position < len(moment.forward) else
                               "The forward pass is done: backward() starts with the seed.")
        elif moment.chain_done == 0 and moment.position < moment.complete:
            self._light(SEED)
            root = g.nodes[g.root].name
            self.where.setText(f"The seed: {root}.grad = 1, since d{root}/d{root} = 1.")
        elif moment.chain_done > 0:
            self._show_step(moment)
        else:
            self._light(None)
            self.where.setText("This program has no operation: there is nothing to multiply.")

    def _show_step(self, moment: Moment) -> None:
        s = moment.chain[moment.chain_done - 1]
        g = moment.after
        v, child = g.nodes[s.parent].name, g.nodes[s.child].name
        f = format_number
        self._light(ACCUMULATE)
        self.where.setText(
            f"multiplication {s.number} of {len(moment.chain)}:  v = {v} (v.grad = {f(s.upstream)}), "
            f"child = {child}, local_grad = {f(s.local_grad)}\n"
            f"child.grad = {f(s.child_grad_before)} + {f(s.local_grad)} × {f(s.upstream)} = "
            f"{f(s.child_grad_after)}"
            + ("\n(the last one: backward() is done)" if moment.chain_done == len(moment.chain) else ""))

    def _light(self, needle: str | None) -> None:
        self.lit_line = needle
        selections = []
        if needle is not None:
            doc = self.code.document()
            cursor = doc.find(needle)
            if not cursor.isNull():
                sel = QTextEdit.ExtraSelection()
                fmt = QTextCharFormat()
                base = self.palette().color(QPalette.ColorRole.Base)
                fmt.setBackground(QColor("#5a4a00") if base.lightness() < 128 else QColor("#fff2a8"))
                fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
                sel.format = fmt
                cursor.clearSelection()
                cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock)
                sel.cursor = cursor
                selections.append(sel)
                self.code.setTextCursor(cursor)
                self.code.ensureCursorVisible()
        self.code.setExtraSelections(selections)
