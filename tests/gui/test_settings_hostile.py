"""A settings file edited by hand, corrupt, from another version or that cannot be written: the
app opens anyway, with the default for each value that is bad, never a traceback; and if the
settings cannot be saved, the status bar says so."""

from __future__ import annotations

import os
import sys

import pytest
from PySide6.QtCore import QSettings

from autodiff_gui.worker import DEFAULT_SPEED

DEFAULT_LR = 0.1


def ini(tmp_path, text: str | bytes) -> QSettings:
    """A QSettings read from exactly ``text`` (the [General] section unless it names one)."""
    path = tmp_path / "hostile.ini"
    if isinstance(text, str):
        text = text if text.startswith("[") else "[General]\n" + text
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return QSettings(str(path), QSettings.Format.IniFormat)


@pytest.fixture
def open_window(qtbot, monkeypatch):
    """Open the window on the given settings, failing on any exception on the way."""
    errors: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: errors.append(value))
    opened = []

    def open_(settings: QSettings):
        from autodiff_gui.window import MainWindow

        w = MainWindow(settings=settings)
        qtbot.addWidget(w)
        opened.append(w)
        with qtbot.waitSignal(w.graphShown, timeout=10000):
            w.load_default()
        w.show()
        qtbot.waitExposed(w)
        assert not errors, errors
        return w

    yield open_
    for w in opened:
        w.close()
    assert not errors, errors


@pytest.mark.parametrize("saved", ["nan", "inf", "-inf", "-1", "0", "abc", "1e999", "5",
                                   "0.1, 0.2", "@ByteArray(\\x1\\x2)", "@Invalid()", ""])
def test_a_bad_saved_learning_rate_opens_at_the_default(tmp_path, open_window, saved):
    w = open_window(ini(tmp_path, f"lr={saved}\n"))
    assert w.lr_control.lr() == DEFAULT_LR
    assert w.session.lr == DEFAULT_LR  # the engine runs at the rate the box shows


def test_a_good_saved_learning_rate_is_kept(tmp_path, open_window):
    w = open_window(ini(tmp_path, "lr=0.37\nspeed=4\n"))
    assert w.lr_control.lr() == 0.37 and w.speed_control.speed() == 4


@pytest.mark.parametrize("saved", ["99", "-1", "6", "abc", "2.5", "1, 2", "@ByteArray()"])
def test_a_speed_out_of_range_or_no_number_opens_at_the_default_speed(tmp_path, open_window,
                                                                      saved):
    from autodiff_gui.worker import SPEEDS

    w = open_window(ini(tmp_path, f"speed={saved}\n"))
    assert w.speed_control.speed() == DEFAULT_SPEED
    assert w.speed_control.name.text() == SPEEDS[DEFAULT_SPEED][0]


def test_a_speed_control_given_a_speed_out_of_range_shows_the_one_it_took(qtbot):
    from autodiff_gui.controls import SpeedControl
    from autodiff_gui.worker import SPEEDS

    control = SpeedControl(99)
    qtbot.addWidget(control)
    assert control.speed() == len(SPEEDS) - 1 and control.name.text() == SPEEDS[-1][0]


def fits_the_screen(w) -> bool:
    """The window is no larger than the screen's free area (which it may cross by its frame: the
    offscreen screen is smaller than the window's minimum)."""
    area = w._available()
    return w.width() <= area.width() and w.height() <= area.height()


@pytest.mark.parametrize("saved", ["@ByteArray(garbage\\0\\x1\\xff)", "not a geometry", "12, 13",
                                   "@Rect(0 0 100000 100000)"])
def test_a_garbage_geometry_opens_a_window_fitted_to_the_screen(qtbot, tmp_path, open_window,
                                                               saved):
    w = open_window(ini(tmp_path, f"geometry={saved}\n"))
    qtbot.waitUntil(lambda: fits_the_screen(w))


def test_a_geometry_larger_than_the_screen_opens_a_window_fitted_to_it(qtbot, tmp_path,
                                                                      open_window):
    from PySide6.QtWidgets import QMainWindow

    big = QMainWindow()
    qtbot.addWidget(big)
    area = big.screen().availableGeometry()
    big.setGeometry(area.x() - 500, area.y() - 400, area.width() * 3, area.height() * 3)
    settings = ini(tmp_path, "")
    settings.setValue("geometry", big.saveGeometry())
    settings.sync()
    w = open_window(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.waitUntil(lambda: fits_the_screen(w))


def test_recent_files_that_are_now_a_folder_a_fifo_or_a_device_are_left_out(tmp_path,
                                                                            open_window):
    good = tmp_path / "good.py"
    good.write_text("w = Value(0.0)\nL = w**2\n")
    folder = tmp_path / "now-a-folder.py"
    folder.mkdir()
    fifo = tmp_path / "now-a-fifo.py"
    os.mkfifo(fifo)
    settings = ini(tmp_path, "")
    settings.setValue("recent", [str(folder), str(fifo), "/dev/zero", str(good), "", "a\0b"])
    settings.sync()
    w = open_window(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    assert w.recent_files() == [str(good)]
    assert [a.text() for a in w.recent_menu.actions()] == [str(good)]
    assert w.commands.last_dir() == tmp_path


@pytest.mark.parametrize("saved", [
    "3", "@ByteArray(\\x1)",
    # Qt itself warns on reading a variant of no known type (before the app sees the value)
    pytest.param("@Variant(\\0\\0\\0\\x7f)", marks=pytest.mark.qt_log_ignore("QVariant::load"))])
def test_recent_files_that_are_no_list_of_paths_are_none(tmp_path, open_window, saved):
    w = open_window(ini(tmp_path, f"recent={saved}\n"))
    assert w.recent_files() == []
    assert not w.recent_menu.isEnabled()
    assert w.commands.last_dir().is_dir()


def test_a_settings_file_of_garbage_bytes_opens_with_the_defaults(tmp_path, open_window):
    noise = bytes(range(256)) * 8 + b"\n[General]\nlr=\xff\xfe\nspeed=\x00\n[\x00\n="
    w = open_window(ini(tmp_path, noise))
    assert w.lr_control.lr() == DEFAULT_LR and w.speed_control.speed() == DEFAULT_SPEED


def test_bad_values_are_written_back_as_their_defaults(qtbot, tmp_path, open_window):
    settings = ini(tmp_path, "lr=nan\nspeed=99\n")
    w = open_window(settings)
    qtbot.waitUntil(lambda: QSettings(settings.fileName(), QSettings.Format.IniFormat)
                    .value("lr") is not None and float(QSettings(settings.fileName(),
                                                                 QSettings.Format.IniFormat)
                                                       .value("lr")) == DEFAULT_LR)
    again = QSettings(settings.fileName(), QSettings.Format.IniFormat)
    assert int(again.value("speed")) == DEFAULT_SPEED
    assert w.settings_error is None


def test_settings_that_cannot_be_saved_open_the_app_and_the_status_bar_says_so(
        qtbot, tmp_path, open_window):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the settings folder should be")  # so even root cannot write
    settings = QSettings(str(blocker / "autodiff" / "settings.ini"), QSettings.Format.IniFormat)
    w = open_window(settings)
    qtbot.waitUntil(lambda: w.settings_error is not None)
    assert "Cannot save settings" in w.statusBar().currentMessage()
    assert str(blocker) in w.statusBar().currentMessage()
    assert w.lr_control.lr() == DEFAULT_LR
    w.lr_control.set_lr(0.3)
    w.close()  # saving on close fails quietly: the learner was told already
    assert not (blocker / "autodiff").exists()


def test_a_scripted_window_writes_no_settings(qtbot, tmp_path):
    from autodiff_gui.window import MainWindow

    path = tmp_path / "untouched.ini"
    w = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.persist_settings = False  # as --screenshot sets it, before the event loop runs
    with qtbot.waitSignal(w.graphShown, timeout=10000):
        w.load_default()
    w.close()
    assert not path.exists()
