"""The editor side panel, driven as a learner would: typing, fixing, editing values, presets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QToolTip, QVBoxLayout, QWidget

from autodiff_gui.editor.code_editor import CodeEditor
from autodiff_gui.editor.highlighter import LossHighlighter
from autodiff_gui.editor.panel import EditorPanel
from autodiff_gui.editor.params import ParameterTable, format_value, parse_value
from engine.language import Program, ProgramError, set_binding
from engine.presets import preset, presets

THREE_STEP = "w = Value(0.0)\nx = 1\ny = 2\nz = w * x\ne = z - y\nL = e**2\n"


@pytest.fixture
def panel(qtbot) -> EditorPanel:
    widget = EditorPanel()
    qtbot.addWidget(widget)
    widget.set_source(THREE_STEP, "test")
    widget.show()
    return widget


def move_to_end(editor: CodeEditor) -> None:
    cursor = editor.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    editor.setTextCursor(cursor)


def select(editor: CodeEditor, text: str) -> None:
    start = editor.toPlainText().index(text)
    cursor = editor.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(start + len(text), QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)


def wave_selections(editor: CodeEditor) -> list:
    return [s for s in editor.extraSelections()
            if s.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline]


class Recorder(QObject):
    """Collects every status-bar message sent from inside the panel."""

    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.StatusTip and event.tip():
            self.messages.append(event.tip())
        return False


# --- checking the text -------------------------------------------------------------------------
def test_set_source_checks_at_once(qtbot):
    widget = EditorPanel()
    qtbot.addWidget(widget)
    seen: list[Program] = []
    widget.programChanged.connect(seen.append)
    widget.set_source(THREE_STEP, "mine")
    assert len(seen) == 1 and seen[0].loss_name == "L" and seen[0].name == "mine"
    assert widget.program() is seen[0] and widget.current_name() == "mine"
    assert widget.source() == THREE_STEP
    assert [(r, widget.table.item(r, 0).text(), widget.table.item(r, 1).text())
            for r in range(widget.table.rowCount())] == [
        (0, "w", "parameter (trained)"), (1, "x", "input"), (2, "y", "input")]


def test_typing_a_valid_change_emits_the_new_program_once(qtbot, panel):
    invalid: list[ProgramError] = []
    changed: list[Program] = []
    panel.programInvalid.connect(invalid.append)
    panel.programChanged.connect(changed.append)
    move_to_end(panel.editor)
    with qtbot.waitSignal(panel.programChanged, check_params_cb=lambda p: p.loss_name == "M"):
        qtbot.keyClicks(panel.editor, "M = L * 3")
    assert panel.source().endswith("L = e**2\nM = L * 3")
    # the debounce checked once, after the last keystroke, not at each half-typed state
    assert len(changed) == 1 and invalid == []


def test_a_bad_program_is_underlined_while_the_last_valid_one_stays(qtbot, panel):
    valid = panel.program()
    move_to_end(panel.editor)
    with qtbot.waitSignal(panel.programInvalid) as blocker:
        qtbot.keyClicks(panel.editor, "M = foo * L")
    error = blocker.args[0]
    assert isinstance(error, ProgramError) and (error.line, error.column) == (7, 5)
    assert panel.error_message().startswith("Line 7, column 5: `foo` is not defined")
    [underline] = wave_selections(panel.editor)
    line_start = panel.editor.document().findBlockByNumber(6).position()
    assert (underline.cursor.selectionStart(), underline.cursor.selectionEnd()) == \
        (line_start + 4, line_start + 7)
    assert underline.cursor.selectedText() == "foo"
    assert panel.editor.error_message().startswith("`foo` is not defined")
    assert panel.program() is valid
    assert not panel.table.isEnabled()

    select(panel.editor, "foo")
    with qtbot.waitSignal(panel.programChanged, check_params_cb=lambda p: p.loss_name == "M"):
        qtbot.keyClicks(panel.editor, "2")
    assert panel.error_message() == ""
    assert wave_selections(panel.editor) == []
    assert panel.editor.error_message() == ""
    assert panel.program().source.endswith("M = 2 * L")
    assert panel.table.isEnabled()


def test_an_error_at_the_end_of_a_line_underlines_its_last_character(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("w = Value(0.0)\nL = w +\n")
    editor.set_error(2, 8, 9, "this line is not valid Python syntax")
    [underline] = wave_selections(editor)
    start = editor.document().findBlockByNumber(1).position()
    assert (underline.cursor.selectionStart(), underline.cursor.selectionEnd()) == \
        (start + 6, start + 7)
    editor.clear_error()
    assert wave_selections(editor) == []


def test_columns_count_characters_even_after_astral_letters(qtbot, panel):
    # 𝑤 is one character for Python but two UTF-16 units for Qt; NFKC makes it the name w
    with qtbot.waitSignal(panel.programInvalid):
        panel.set_source("𝑤 = Value(0.0)\nL = 𝑤**2 + foo\n")
    [underline] = wave_selections(panel.editor)
    assert underline.cursor.selectedText() == "foo"


def test_the_tooltip_over_the_underline_shows_the_message(qtbot, panel):
    panel.set_source("w = Value(0.0)\nL = w * undefined_name\n")
    editor = panel.editor
    [underline] = wave_selections(editor)
    cursor = QTextCursor(underline.cursor)
    cursor.setPosition(underline.cursor.selectionStart() + 2)
    pos = editor.cursorRect(cursor).center()
    global_pos = editor.viewport().mapToGlobal(pos)
    QApplication.sendEvent(editor.viewport(), QHelpEvent(QEvent.Type.ToolTip, pos, global_pos))
    assert "`undefined_name` is not defined" in QToolTip.text()
    QToolTip.hideText()


def test_hostile_text_becomes_an_error_not_an_exception(qtbot, panel):
    for text in ["", "L = " + "(" * 300 + "1" + ")" * 300, "\x00", "import os",
                 "L = sum(range(10**9))", "L = log(-1)"]:
        with qtbot.waitSignal(panel.programInvalid):
            panel.set_source(text)
        assert panel.error_message().startswith("Line ")
    assert panel.program().source == THREE_STEP  # the last valid program stays in force


# --- the parameter table ----------------------------------------------------------------------
def test_editing_a_value_rewrites_exactly_that_number(qtbot, panel):
    editor = panel.editor
    before = panel.program()
    # the learner's cursor sits at the start of "z = w * x"; it must stay there
    cursor = editor.textCursor()
    cursor.setPosition(editor.document().findBlockByNumber(3).position())
    editor.setTextCursor(cursor)
    row = panel.table.row_of("w")
    with qtbot.waitSignal(panel.programChanged,
                          check_params_cb=lambda p: p.binding("w").value == 1.5) as blocker:
        panel.table.item(row, 2).setText("1.5")  # what the cell's editor does on commit
    assert panel.source() == set_binding(before.source, before.binding("w"), 1.5)
    assert panel.source().splitlines()[0] == "w = Value(1.5)"
    assert blocker.args[0].binding("x").value == 1.0
    assert (editor.textCursor().blockNumber(), editor.textCursor().positionInBlock()) == (3, 0)
    assert panel.table.value("w") == 1.5

    # a longer number shifts the rest of the line, and Ctrl+Z undoes the edit in one step
    with qtbot.waitSignal(panel.programChanged):
        panel.table.item(panel.table.row_of("y"), 2).setText("-12.25")
    assert panel.source().splitlines()[2] == "y = -12.25"
    assert editor.textCursor().blockNumber() == 3
    with qtbot.waitSignal(panel.programChanged):  # the undo is an ordinary edit, checked later
        editor.undo()
    assert panel.source().splitlines()[2] == "y = 2"
    assert panel.table.value("y") == 2.0


def test_editing_a_value_after_an_astral_letter(qtbot, panel):
    panel.set_source("𝑤 = Value(0.0)\nL = 𝑤**2\n")
    with qtbot.waitSignal(panel.programChanged):
        panel.table.item(panel.table.row_of("w"), 2).setText("1.5")
    assert panel.source() == "𝑤 = Value(1.5)\nL = 𝑤**2\n"


def test_an_invalid_entry_is_refused_with_a_status_message(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.statusBar()  # created before the message, as the app's window does
    widget = EditorPanel()
    window.setCentralWidget(widget)
    widget.set_source(THREE_STEP)
    item = widget.table.item(widget.table.row_of("w"), 2)
    with qtbot.assertNotEmitted(widget.table.valueEdited), \
            qtbot.assertNotEmitted(widget.programChanged):
        item.setText("two")
    assert item.text() == "0"
    assert widget.source() == THREE_STEP
    assert "not a number" in window.statusBar().currentMessage()


def test_values_cannot_be_edited_through_an_invalid_text(qtbot, panel):
    recorder = Recorder()
    panel.installEventFilter(recorder)
    move_to_end(panel.editor)
    qtbot.keyClicks(panel.editor, "M = ")
    panel.table.setEnabled(True)  # as if the learner was quicker than the check
    with qtbot.assertNotEmitted(panel.programChanged):
        panel.table.item(0, 2).setText("5")
    assert panel.source().startswith("w = Value(0.0)")
    assert panel.table.value("w") == 0.0
    assert any("Fix the error" in m for m in recorder.messages)


def test_the_table_emits_only_for_user_edits(qtbot):
    table = ParameterTable()
    qtbot.addWidget(table)
    with qtbot.assertNotEmitted(table.valueEdited), qtbot.assertNotEmitted(table.itemChanged):
        table.set_bindings(preset("three-step").program().bindings)
        table.set_bindings(preset("neuron").program().bindings)
    with qtbot.waitSignal(table.valueEdited) as blocker:
        table.item(table.row_of("w1"), 2).setText(" 2,5 ")
    assert blocker.args == ["w1", 2.5]
    assert table.item(table.row_of("w1"), 2).text() == "2.5"


@pytest.mark.parametrize("text, value", [("1.5", 1.5), ("-3", -3.0), ("1e-3", 0.001),
                                         ("\u22122", -2.0), ("0,25", 0.25), ("abc", None),
                                         ("", None), ("nan", None), ("inf", None), ("1e999", None)])
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_format_value_reads_back():
    assert [format_value(v) for v in (2.0, -0.0, 0.1, 1e-7, 1.5)] == ["2", "-0", "0.1", "1e-07", "1.5"]


# --- presets ----------------------------------------------------------------------------------
def test_choosing_a_preset_loads_its_source(qtbot, panel):
    box = panel.preset_chooser
    assert [box.itemText(i) for i in range(box.count())] == [p.name for p in presets()]
    assert box.itemData(1, Qt.ItemDataRole.ToolTipRole) == preset("multi-path").description
    box.setCurrentIndex(0)
    box.setFocus()
    events: list[tuple[str, str]] = []
    panel.programChanged.connect(lambda program: events.append(("program", program.name)))
    panel.presetChosen.connect(lambda name: events.append(("preset", name)))
    with qtbot.waitSignal(panel.presetChosen):
        qtbot.keyClick(box, Qt.Key.Key_Down)  # a learner picking the next preset
    assert events == [("program", "multi-path"), ("preset", "multi-path")]
    assert panel.source() == preset("multi-path").source()
    assert panel.current_name() == "multi-path"
    assert panel.program().name == "multi-path"


def test_select_preset_and_custom_names(qtbot, panel):
    with qtbot.waitSignal(panel.presetChosen, check_params_cb=lambda name: name == "network"):
        panel.select_preset("network")
    assert panel.preset_chooser.currentText() == "network"
    assert panel.table.row_of("b2") >= 0
    panel.set_source(THREE_STEP, "/tmp/mine.py")
    assert panel.preset_chooser.currentIndex() == -1
    with pytest.raises(KeyError, match="three-step"):
        panel.select_preset("no-such-preset")


# --- the editor widget ------------------------------------------------------------------------
def test_the_highlighter_formats_numbers_and_comments_differently(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    highlighter = LossHighlighter(editor)
    editor.setPlainText("# a comment\nw = Value(2.5) + exp(w)\n")
    highlighter.rehighlight()

    def format_at(block_number: int, column: int) -> QTextCharFormat:
        block = editor.document().findBlockByNumber(block_number)
        for r in block.layout().formats():
            if r.start <= column < r.start + r.length:
                return QTextCharFormat(r.format)  # a copy: the range is a temporary
        return QTextCharFormat()

    comment, number = format_at(0, 0), format_at(1, 10)
    value, function, name = format_at(1, 4), format_at(1, 17), format_at(1, 0)
    assert comment.fontItalic() and not number.fontItalic()
    colours = {f.foreground().color().name() for f in (comment, number, value, function)}
    assert len(colours) == 4
    assert name.foreground().style() == Qt.BrushStyle.NoBrush  # plain names keep the text colour

    light_number = number.foreground().color()
    dark = QPalette(editor.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.Base, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e8eaed"))
    editor.setPalette(dark)
    assert highlighter.is_dark()
    dark_number = format_at(1, 10).foreground().color()
    assert dark_number.lightness() > light_number.lightness()


def test_the_gutter_grows_with_the_line_count(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("L = 1")
    narrow = editor.gutter_width()
    editor.setPlainText("\n" * 1200 + "L = 1")
    assert editor.gutter_width() > narrow
    assert editor.viewportMargins().left() == editor.gutter_width()
    editor.show()
    qtbot.waitExposed(editor)
    editor.repaint()  # the gutter paints without error


def test_tab_inserts_spaces_and_shift_tab_removes_them(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    "
    qtbot.keyClicks(editor, "a")
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert editor.toPlainText() == "a"
    editor.setPlainText("a = [1,\n2]")
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    a = [1,\n    2]"
    move_to_end(editor)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText().endswith("2]\n    ")  # Return keeps the indentation


def test_ctrl_tab_moves_the_focus_out_of_the_editor(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    before, editor, after = QLineEdit(), CodeEditor(), QLineEdit()
    layout = QVBoxLayout(window)
    for widget in (before, editor, after):
        layout.addWidget(widget)
    window.show()
    window.activateWindow()
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(after.hasFocus)
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Backtab,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(before.hasFocus)
    assert editor.toPlainText() == ""


def test_the_font_is_monospaced(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    metrics = editor.fontMetrics()
    assert metrics.horizontalAdvance("i") == metrics.horizontalAdvance("W")
