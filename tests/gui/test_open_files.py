"""File → Open with whatever a learner picks: bad files are refused at once with a sentence, odd
but valid ones open as they should."""

import os

import pytest
from PySide6.QtWidgets import QMessageBox

PROGRAM = "w = Value(0.0)\nL = (w - 3)**2\n"


def error_box(window) -> QMessageBox | None:
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorDialog"
             and b.isVisible()]
    return boxes[-1] if boxes else None


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "bad-utf8"])
def test_a_file_that_is_no_program_is_refused_with_a_sentence(window, tmp_path, kind):
    if kind == "folder":
        path = tmp_path / "programs"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # no writer: a plain read would wait for ever
    elif kind == "device":
        path = "/dev/zero"  # endless: a plain read would fill the memory
    else:
        path = tmp_path / "latin1.py"
        path.write_bytes("w = Value(0.0)\n# caf\xe9\nL = w**2\n".encode("latin-1"))
    before = window.program
    assert window.load_file(path) is False
    box = error_box(window)
    assert box is not None and os.fspath(path) in box.text()
    assert "Traceback" not in box.text()
    assert window.program is before  # nothing lost: the program shown stays
    box.close()


@pytest.mark.parametrize("variant", ["bom", "crlf", "tabs"])
def test_odd_but_valid_program_files_open(window, qtbot, tmp_path, variant):
    text = {"bom": "\ufeff" + PROGRAM, "crlf": PROGRAM.replace("\n", "\r\n"),
            "tabs": "w = Value(0.0)\nL = (w -\t3)**2\t# a tab\n"}[variant]
    path = tmp_path / f"{variant}.py"
    path.write_bytes(text.encode("utf-8"))
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        assert window.load_file(path)
    assert window.program.name == str(path)
    assert "\ufeff" not in window.editor.source() and "\r" not in window.editor.source()
    assert [n.name for n in window.graph.nodes if n.kind == "param"] == ["w"]
    assert window.file_path == path
