"""``autodiff-gui`` itself, in a subprocess: the way a learner starts it."""

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

pytestmark = pytest.mark.slow


def run_gui(*args, cwd, timeout=90):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(cwd / "config"))
    return subprocess.run([sys.executable, "-m", "autodiff_gui.app", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_screenshot_runs_the_default_loss_and_saves_the_whole_window(tmp_path, qapp):
    out = tmp_path / "window.png"
    result = run_gui("--screenshot", out, "--run-steps", "100", "--backward-step", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)
    saved = [p.read_text() for p in (tmp_path / "config").rglob("*.conf")]
    assert all("speed" not in text for text in saved)  # a scripted run leaves settings alone


def test_a_preset_and_a_learning_rate_from_the_command_line(tmp_path, qapp):
    out = tmp_path / "w.png"
    result = run_gui("regression", "--lr", "0.02", "--screenshot", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert QImage(str(out)).width() == 1600


def test_bad_arguments_are_one_sentence(tmp_path):
    result = run_gui("no-such-preset", cwd=tmp_path)
    assert result.returncode == 2
    assert "no preset called 'no-such-preset'" in result.stderr and "Traceback" not in result.stderr
    result = run_gui("--lr", "5", cwd=tmp_path)
    assert result.returncode == 2 and "learning rate" in result.stderr
