"""The real window, for the GUI tests that drive it."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def interpreter_as_the_app_sets_it():
    """The GUI tests run the window as ``autodiff-gui`` does (a short GIL switch interval)."""
    from autodiff_gui.app import configure_interpreter

    configure_interpreter()


@pytest.fixture
def window(qtbot, settings):
    """The main window on the tutorial's three-step loss, shown, its graph on the canvas."""
    from autodiff_gui.window import MainWindow

    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.load_default()
    w.show()
    qtbot.waitUntil(lambda: w.moment is not None and len(w.scene.boxes) == 8)
    yield w
    w.close()
