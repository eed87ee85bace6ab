"""Bad input: ``SOURCE:LINE:COL: error: MESSAGE`` for a program, one sentence otherwise, exit 2,
and never a Python traceback."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from cli_helpers import assert_one_sentence_error, run

import autodiff_gui.cli
import engine.presets


def test_program_error_in_a_file_names_the_file_line_and_column(any_cli, tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("w = Value(1.0)\nL = log(w - 1)\n", encoding="utf-8")
    line = assert_one_sentence_error(any_cli("grad", path))
    assert re.fullmatch(rf"{re.escape(str(path))}:2:5: error: log: .+", line), line


def test_program_error_on_standard_input_is_named_stdin(any_cli):
    line = assert_one_sentence_error(any_cli("grad", "-", stdin="w = Value(1.0)\nL = w +\n"))
    assert re.fullmatch(r"<stdin>:2:\d+: error: .+", line), line


def test_program_error_in_a_preset_is_named_after_the_preset(tmp_path, monkeypatch, capsys):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "broken.py").write_text("# broken: a preset with a mistake\n"
                                                    "w = Value(2.0)\nL = w * q\n", encoding="utf-8")
    monkeypatch.setattr(engine.presets, "resources_dir", lambda: tmp_path)
    assert autodiff_gui.cli.main(["grad", "broken"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.fullmatch(r"broken:3:9: error: .*\bq\b.*", captured.err.strip()), captured.err


@pytest.mark.parametrize("command", [["grad"], ["train"], ["export", "-o", "g.dot"]])
@pytest.mark.parametrize("program", [
    "import os\n",
    "__import__('os').system('touch pwned')\n",
    "L = ().__class__.__bases__\n",
    "L = open('pwned', 'w')\n",
    "L = 'text'\n",
    "w = Value(2.0)\nL = w ** 10 ** 10 ** 10\n",
    "L = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n",
    "def f():\n    return 1\nL = f()\n",
    "",
    "w = Value(1.0)\nwhile True:\n    w = w\n",
])
def test_hostile_or_broken_programs_are_one_error_line(cli, tmp_path, command, program):
    result = cli(command[0], "-", *command[1:], stdin=program)
    line = assert_one_sentence_error(result)
    assert re.fullmatch(r"<stdin>:\d+:\d+: error: .+", line), line
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "g.dot").exists()


def test_a_5_mb_program_is_refused_with_the_limit(cli, tmp_path):
    path = tmp_path / "big.py"
    path.write_text("x = 1\n" * 900_000, encoding="utf-8")  # about 5 MB
    line = assert_one_sentence_error(cli("grad", path))
    assert line == (f"autodiff: cannot read {path}: it is 5,400,000 bytes; a program may be at "
                    f"most 400,000 bytes"), line


def test_a_program_just_over_the_character_limit_names_the_limit(cli, tmp_path):
    path = tmp_path / "long.py"
    path.write_text("x = 1\n" * 20_000 + "L = x\n", encoding="utf-8")  # 120,006 characters
    line = assert_one_sentence_error(cli("grad", path))
    assert line.startswith(f"{path}:1:1: error: ") and "100,000" in line, line


def test_unknown_preset_is_one_sentence_naming_the_presets(any_cli):
    line = assert_one_sentence_error(any_cli("grad", "four-step"))
    assert line.startswith("autodiff: ") and "four-step" in line and "three-step" in line, line


@pytest.mark.parametrize("spec, words", [
    ("missing.py", "no such file"),
    ("sub/missing", "no such file"),
    (".", "it is a folder"),
    ("/dev/zero", "it is a device, not a program file"),
])
def test_missing_files_and_folders_are_one_sentence(cli, spec, words):
    line = assert_one_sentence_error(cli("grad", spec))
    assert line.startswith("autodiff: ") and words in line, line


def test_a_file_that_is_not_text_is_one_sentence(cli, tmp_path):
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00w = 1\n")
    line = assert_one_sentence_error(cli("grad", tmp_path / "binary.py"))
    assert "UTF-8" in line, line


def test_standard_input_that_is_not_text_is_one_sentence(tmp_path):
    result = run(["grad", "-"], stdin_bytes=b"\xff\xfeL = 1\n", cwd=tmp_path)
    line = assert_one_sentence_error(result)
    assert line == "autodiff: cannot read standard input: it is not UTF-8 text"


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_byte_order_mark_is_not_part_of_the_program(tmp_path, where):
    program = "\ufeffw = Value(1.0)\nL = w * 2\n".encode("utf-8")
    if where == "file":
        (tmp_path / "bom.py").write_bytes(program)
        result = run(["grad", str(tmp_path / "bom.py"), "--json"], cwd=tmp_path)
    else:
        result = run(["grad", "-", "--json"], stdin_bytes=program, cwd=tmp_path)
    assert result.returncode == 0, result
    assert result.json()["params"] == {"w": {"data": 1, "grad": 2}}


def test_a_missing_resources_folder_is_one_sentence(monkeypatch, capsys):
    def missing():
        raise FileNotFoundError("the app's resources folder is missing; reinstall the package")
    monkeypatch.setattr(engine.presets, "resources_dir", missing)
    assert autodiff_gui.cli.main(["presets"]) == 1
    err = capsys.readouterr().err
    assert err == "autodiff: the app's resources folder is missing; reinstall the package\n"


@pytest.mark.parametrize("args", [[], ["grad"], ["frobnicate"], ["train", "three-step", "--steps", "x"]])
def test_usage_errors_exit_2_without_a_traceback(cli, args):
    result = cli(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.output


def test_help_works(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("grad", "train", "export", "presets"):
        assert command in result.stdout


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"autodiff \d+\.\d+\.\d+\S*", result.stdout.strip()), result.stdout


def test_an_internal_error_is_one_sentence_not_a_traceback(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(autodiff_gui.cli, "cmd_presets", broken)
    monkeypatch.delenv("AUTODIFF_DEBUG", raising=False)
    assert autodiff_gui.cli.main(["presets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "ZeroDivisionError: a bug" in err


def test_a_closed_pipe_ends_quietly(tmp_path):
    # `autodiff train network | head -1`: the reader leaves after one line
    with subprocess.Popen([sys.executable, "-m", "autodiff_gui.cli", "train", "network"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path) as proc:
        assert proc.stdout.readline().startswith(b"gradient descent on network")
        proc.stdout.close()  # far more than a pipe's buffer is still to come
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0
    assert err == ""


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", [["grad"], ["train"], ["export", "-o", "g.dot"]])
def test_a_fifo_given_as_the_program_is_refused_at_once(cli, tmp_path, command):
    import os
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)  # no writer: reading it would wait for ever
    line = assert_one_sentence_error(cli(command[0], fifo, *command[1:]))
    assert line == f"autodiff: cannot read {fifo}: it is a pipe (FIFO), not a program file", line


@pytest.mark.parametrize("content, expected", [
    (b"w = Value(1.0)\r\nL = w * 3\r\n", 3),   # CRLF
    (b"w = Value(1.0)\rL = w * 4\r", 4),         # old Mac line ends
    (b"\xef\xbb\xbfw = Value(1.0)\nL = w * 5\n", 5),  # a BOM
    (b"w = Value(1.0)\nL = w * 6\t# a tab\n", 6),
])
def test_line_ends_a_bom_and_tabs_are_read_as_before(cli, tmp_path, content, expected):
    (tmp_path / "p.py").write_bytes(content)
    data = cli("grad", tmp_path / "p.py", "--json").json()
    assert data["params"] == {"w": {"data": 1, "grad": expected}}


def test_a_program_error_after_crlf_lines_has_the_right_line(cli, tmp_path):
    (tmp_path / "p.py").write_bytes(b"w = Value(1.0)\r\n\r\nL = w +\r\n")
    line = assert_one_sentence_error(cli("grad", tmp_path / "p.py"))
    assert line.startswith(f"{tmp_path / 'p.py'}:3:"), line


def test_invalid_utf8_names_the_line(cli, tmp_path):
    (tmp_path / "p.py").write_bytes(b"w = Value(1.0)\n# caf\xe9\nL = w\n")
    line = assert_one_sentence_error(cli("grad", tmp_path / "p.py"))
    assert line == f"autodiff: cannot read {tmp_path / 'p.py'}: it is not UTF-8 text (byte 0xe9 on line 2)"


# --- exit codes as a shell sees them (a real process) ----------------------------------------------

@pytest.mark.parametrize("args, stdin, code", [
    (["grad", "three-step"], None, 0),
    (["grad", "-"], "L = w +\n", 2),
    (["train", "three-step", "--lr", "1.5"], None, 3),
    (["grad", "four-step"], None, 2),
    (["frobnicate"], None, 2),
])
def test_exit_codes_of_a_real_process(process_cli, args, stdin, code):
    result = process_cli(*args, stdin=stdin)
    assert result.returncode == code, result
    assert "Traceback" not in result.output
