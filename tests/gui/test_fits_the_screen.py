"""The window fits every screen from 1024×700 up, never grows past it, and Fit graph fits."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QByteArray, QRect
from PySide6.QtWidgets import QApplication

from autodiff_gui.window import MainWindow
from autodiff_gui.worker import SPEEDS
from engine.presets import presets

SCREENS = [QRect(0, 0, 1024, 700), QRect(0, 0, 1366, 768), QRect(0, 0, 1920, 1080)]
FAST = len(SPEEDS) - 1


def every_box_in_view(window) -> bool:
    view = window.view
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    return all(shown.contains(box.sceneBoundingRect()) for box in window.scene.boxes.values())


def assert_fits(window, screen: QRect) -> None:
    QApplication.processEvents()
    hint = window.minimumSizeHint()
    assert hint.width() <= screen.width() and hint.height() <= screen.height(), hint
    assert screen.contains(window.frameGeometry()), (window.frameGeometry(), screen)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda r: f"{r.width()}x{r.height()}")
def test_every_preset_fits_the_screen_and_fit_graph_fits(qtbot, window, screen):
    window.fit_to_screen(screen)
    assert_fits(window, screen)
    for p in presets():
        with qtbot.waitSignal(window.graphShown, timeout=10000):
            window.editor.select_preset(p.name)
        assert_fits(window, screen)
        window.fit_action.trigger()
        QApplication.processEvents()  # the layout settles; the view keeps fitting as it does
        assert every_box_in_view(window), p.name
        window.resize(window.width() - 40, window.height() - 30)  # a later resize keeps the fit
        QApplication.processEvents()
        assert every_box_in_view(window), p.name
        window.fit_to_screen(screen)


def test_running_each_preset_never_widens_the_window(qtbot, window):
    screen = SCREENS[0]
    window.fit_to_screen(screen)
    window.speed_control.set_speed(FAST)
    window.cap_control.spin.setValue(300)
    for p in presets():
        with qtbot.waitSignal(window.graphShown, timeout=10000):
            window.editor.select_preset(p.name)
        with qtbot.waitSignal(window.runEnded, timeout=60000):
            window.toggle_run()
        assert_fits(window, screen)
    window.teach_dock.close()  # closing the Learn dock does not widen it either
    assert_fits(window, screen)


def test_a_remembered_geometry_bigger_than_the_screen_is_not_restored(qtbot, settings):
    big = MainWindow(settings=settings)
    qtbot.addWidget(big)
    big.keep_on_screen = False
    big.resize(3000, 2000)
    settings.setValue("geometry", big.saveGeometry())
    big.close()
    assert isinstance(settings.value("geometry"), QByteArray)
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    available = w.screen().availableGeometry()
    qtbot.waitUntil(lambda: available.contains(w.frameGeometry()), timeout=5000)
    w.close()


@pytest.mark.slow
def test_a_first_start_on_a_small_screen_opens_inside_it(tmp_path):
    """A real (offscreen) screen of 1024×700: the window opens fitted to it."""
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "small", "x": 0, "y": 0, "width": 1024,
                                               "height": 700}]}))
    script = textwrap.dedent("""
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from autodiff_gui.window import MainWindow
        w = MainWindow(settings=QSettings(%r, QSettings.Format.IniFormat))
        w.load_default()
        w.show()
        for _ in range(50):
            app.processEvents()
        a, f = w.screen().availableGeometry(), w.frameGeometry()
        print(a.width(), a.height(), f.x(), f.y(), f.width(), f.height())
        w.shutdown()
    """) % str(tmp_path / "settings.ini")
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    aw, ah, x, y, fw, fh = map(int, result.stdout.split()[-6:])
    assert (aw, ah) == (1024, 700)
    assert x >= 0 and y >= 0 and x + fw <= 1024 and y + fh <= 700, result.stdout
