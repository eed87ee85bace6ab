"""``grad``, ``train`` and ``presets`` never import Qt, pyqtgraph or numpy, so they answer at once
and run where Qt's libraries are missing; ``grad`` and ``presets`` do not even import the trainer
and its compiler (start-up, issue 13: benchmarks/bench_startup.py measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "numpy")
#: what only a run (or an export) needs
RUN_MODULES = ("engine.train", "engine.tape", "engine.regimes", "engine.formats", "engine.takehome")

SCRIPT = textwrap.dedent("""
    import contextlib, io, json, sys
    from autodiff_gui.cli import main
    argv = json.loads(sys.argv[1])
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    qt = sorted(m for m in sys.modules if m.split(".")[0] in {qt_modules!r})
    run = sorted(m for m in sys.modules if m in {run_modules!r})
    print(json.dumps({{"code": code, "qt": qt, "run": run}}))
""").format(qt_modules=QT_MODULES, run_modules=RUN_MODULES)


@pytest.mark.parametrize("argv", [
    ["presets"],
    ["grad", "three-step"],
    ["grad", "network", "--json", "--trace"],
    ["train", "three-step"],
    ["train", "regression", "--json", "--every", "100"],
    ["train", "three-step", "--lr", "1.5"],
], ids=" ".join)
def test_command_does_not_import_qt(tmp_path, argv):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(argv)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] in (0, 3)
    assert result["qt"] == []


def test_the_check_would_see_qt(tmp_path):
    """The probe above is not blind: importing the Qt binding shows up in it."""
    script = SCRIPT.replace("from autodiff_gui.cli import main",
                            "from autodiff_gui.cli import main\nimport PySide6.QtCore")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(["presets"])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "PySide6.QtCore" in json.loads(proc.stdout.splitlines()[-1])["qt"]
    numpy = SCRIPT.replace("from autodiff_gui.cli import main",
                           "from autodiff_gui.cli import main\nimport numpy")
    proc = subprocess.run([sys.executable, "-c", numpy, json.dumps(["presets"])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert "numpy" in json.loads(proc.stdout.splitlines()[-1])["qt"]


@pytest.mark.parametrize("argv", [["presets"], ["grad", "three-step"], ["grad", "network", "--trace"]],
                         ids=" ".join)
def test_command_does_not_import_the_trainer(tmp_path, argv):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(argv)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0 and result["run"] == []


def test_a_run_does_import_the_trainer(tmp_path):
    """The probe is not blind to the trainer either."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(["train", "three-step"])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "engine.train" in json.loads(proc.stdout.splitlines()[-1])["run"]
