"""Shared test set-up: Qt runs offscreen, so the suite needs no display; no test may leave an
engine thread running."""

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


def _running_qthreads() -> list:
    try:
        from PySide6.QtCore import QThread
    except ImportError:
        return []
    found = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, QThread) and obj.isRunning():
                found.append(obj)
        except RuntimeError:  # its C++ object is already gone
            continue
    return found


@pytest.fixture(autouse=True)
def no_thread_left_running(request):
    """Fail any GUI test that leaves a QThread running (it would print "QThread: Destroyed while
    thread is still running" or crash at exit)."""
    yield
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        return
    running = _running_qthreads()
    for t in running:  # stop them, so one leak does not cascade into other tests
        t.quit()
        t.wait(2000)
    assert not running, f"{len(running)} QThread(s) left running: {[t.objectName() for t in running]}"


@pytest.fixture
def settings(tmp_path):
    """A QSettings of the test's own, so no test reads or writes the user's settings."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
