"""``autodiff export PROGRAM -o loss.py`` (and ``.ipynb``, ``--with micrograd``): the exported
program, run on a bare interpreter, prints what ``autodiff train`` prints."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys

import nbformat
import pytest

import autodiff_gui.cli
from engine import takehome
from engine.presets import preset, presets
from budget import step_budget

STEP_CAP = 300  # the bigger presets train their first 300 iterations here; regression its whole 800
NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e-?\d+)?|inf|nan)")


def autodiff(capsys, *argv: str) -> tuple[int, list[str], str]:
    """``autodiff ARGV`` in this process: exit status, stdout lines, stderr."""
    capsys.readouterr()
    code = autodiff_gui.cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def run_bare(path, cwd) -> list[str]:
    """The script on an isolated interpreter: no PYTHONPATH, no user site, not this package."""
    proc = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout.splitlines()


def steps_of(name: str) -> int:
    program = preset(name).program()
    return min(int(program.settings.get("steps", 100)), STEP_CAP, step_budget(program))


@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_every_presets_script_prints_the_trainers_lines_on_a_bare_python(name, tmp_path, capsys):
    steps = steps_of(name)
    path = takehome.write(preset(name).program(), tmp_path / f"{name}.py", steps=steps, every=1)
    script = run_bare(path, tmp_path)
    code, train, _ = autodiff(capsys, "train", name, "--steps", steps, "--every", 1)
    assert code == 0
    # the same lines, in order; only the advice after a capped run may differ: the app judges the
    # rate's regime where the run stopped, the script where it started (the same for a quadratic)
    assert [numbers_only(line) for line in script] == [numbers_only(line) for line in train]
    assert len(train) >= min(steps, 50)


def numbers_only(line: str) -> str:
    return line.split("; ")[0] if line.startswith("stopped after") else line


def test_the_regression_script_ends_with_the_tutorials_last_line(tmp_path, capsys):
    """`autodiff export regression -o loss.py` with the defaults: the whole run, as
    `autodiff train regression` prints it, then the tutorial's own last line."""
    code, out, _ = autodiff(capsys, "export", "regression", "-o", tmp_path / "loss.py")
    assert (code, out) == (0, [f"wrote {tmp_path / 'loss.py'}"])
    script = run_bare(tmp_path / "loss.py", tmp_path)
    _, train, _ = autodiff(capsys, "train", "regression")
    assert script[-1] == train[-1] == "Result: y = 2.00x + 0.00"
    assert [numbers_only(line) for line in script] == [numbers_only(line) for line in train]
    assert train[-3].startswith("stopped after 800 iterations (the cap)")


def test_the_options_reach_the_script(tmp_path, capsys):
    code, _, _ = autodiff(capsys, "export", "three-step", "-o", tmp_path / "t.py", "--lr", 0.3,
                          "--steps", 5)
    assert code == 0
    text = (tmp_path / "t.py").read_text(encoding="utf-8")
    assert "alpha = 0.3  #" in text and "steps = 5  #" in text
    _, train, _ = autodiff(capsys, "train", "three-step", "--lr", 0.3, "--steps", 5, "--every", 1)
    assert run_bare(tmp_path / "t.py", tmp_path) == train
    assert train[1] == "iteration     0  loss            4  w = 0 (grad -4)"


@pytest.mark.parametrize("name", ["three-step", "regression", "network"])
def test_the_notebook_validates_and_its_cells_print_the_trainers_lines(name, tmp_path, capsys):
    steps = steps_of(name)
    code, _, _ = autodiff(capsys, "export", name, "-o", tmp_path / "loss.ipynb", "--steps", steps)
    assert code == 0
    nb = nbformat.read(tmp_path / "loss.ipynb", as_version=4)
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells][:2] == ["markdown", "code"]
    namespace: dict = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102
    _, train, _ = autodiff(capsys, "train", name, "--steps", steps)  # the same default print policy
    cells = printed.getvalue().splitlines()
    assert [numbers_only(line) for line in cells] == [numbers_only(line) for line in train]


@pytest.mark.parametrize("name", ["three-step", "multi-path", "regression", "shared-node"])
def test_against_micrograd_the_script_prints_our_numbers(name, tmp_path, capsys):
    path = tmp_path / f"{name}_micrograd.py"
    code, _, _ = autodiff(capsys, "export", name, "-o", path, "--with", "micrograd")
    assert code == 0
    assert "from micrograd.engine import Value" in path.read_text(encoding="utf-8")
    script = [numbers_only(line) for line in run_bare(path, tmp_path)]
    _, train, _ = autodiff(capsys, "train", name)
    train = [numbers_only(line) for line in train]
    assert len(script) == len(train)
    for ours, theirs in zip(train, script):  # the same algorithm; sums may add in another order
        assert NUMBER.sub("#", ours) == NUMBER.sub("#", theirs)
        assert [float(x) for x in NUMBER.findall(theirs)] == pytest.approx(
            [float(x) for x in NUMBER.findall(ours)], rel=1e-5, abs=1e-12)


def test_micrograds_missing_operations_are_one_error_naming_them(tmp_path, capsys):
    code, out, err = autodiff(capsys, "export", "network", "-o", tmp_path / "n.py", "--with", "micrograd")
    assert (code, out) == (2, [])
    assert err.splitlines() == ["network:10:12: error: micrograd's Value has no tanh (it has +, -, *, "
                                "/, ** by a number and relu); export without --with micrograd to use "
                                "the tutorial's Value"]
    assert not (tmp_path / "n.py").exists()


@pytest.mark.parametrize("argv, words", [
    (["export", "three-step", "-o", "{tmp}/g.svg", "--with", "micrograd"], "--with applies to .py and .ipynb"),
    (["export", "three-step", "-o", "{tmp}/missing/loss.py"], "cannot write"),
    (["export", "three-step", "-o", "{tmp}/loss.py", "--lr", "0"], "learning rate must be a positive"),
])
def test_bad_exports_are_one_sentence(argv, words, tmp_path, capsys):
    code, out, err = autodiff(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert (code, out) == (2, [])
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_a_program_the_script_cannot_express_is_an_error_at_its_position(tmp_path, capsys):
    program = tmp_path / "prog.py"
    program.write_text("w = Value(1.0)\nw = Value(2.0)\nL = w * w\n", encoding="utf-8")
    code, _, err = autodiff(capsys, "export", program, "-o", tmp_path / "loss.py")
    assert code == 2
    assert err.startswith(f"{program}:2:1: error: `w` is assigned again (first on line 1)")
    assert not (tmp_path / "loss.py").exists()


def test_a_missing_nbformat_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nbformat", None)
    code, _, err = autodiff(capsys, "export", "three-step", "-o", tmp_path / "loss.ipynb")
    assert code == 2
    assert err.splitlines() == ["autodiff: writing a notebook needs nbformat: pip install "
                                "'autodiff-gui[notebook]'"]
    assert not (tmp_path / "loss.ipynb").exists()


def test_the_unknown_extension_message_lists_the_take_home_formats(tmp_path, capsys):
    code, _, err = autodiff(capsys, "export", "three-step", "-o", tmp_path / "loss.txt")
    assert code == 2 and ".ipynb" in err and ".py" in err


def test_the_command_line_offers_the_exporters_backends():
    from autodiff_gui import cli
    assert cli.TAKEHOME_BACKENDS == takehome.BACKENDS and cli.TAKEHOME_BACKENDS[0] == takehome.TUTORIAL
