"""Shared test set-up: Qt runs offscreen, so the suite needs no display; no test may leave an
engine thread running."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Where the environment asks Python not to write bytecode (PYTHONDONTWRITEBYTECODE is set on
# these machines), every run compiled every module again, in each worker, in each engine process
# a window starts and in each CLI subprocess (0.2-0.3 s of CPU each for the app's modules, and
# pytest's rewriting of the test modules): the suite writes its caches as any run could, and the
# processes it starts read them.
sys.dont_write_bytecode = False

import pytest  # noqa: E402


_started = None  # every QThread started since the first GUI test, weakly (see _watch_qthreads)


def _watch_qthreads() -> None:
    """Note every QThread the app starts: ``QThread.start`` is wrapped once per process, so a
    test's end checks the threads started, not every object in the heap (a scan of the heap cost
    15-30 ms a GUI test)."""
    global _started
    if _started is not None:
        return
    import weakref

    from PySide6.QtCore import QThread

    _started = weakref.WeakSet()
    start = QThread.start

    def noted(self, *args, **kwargs):
        _started.add(self)
        return start(self, *args, **kwargs)

    QThread.start = noted


def _running_qthreads() -> list:
    found = []
    for obj in list(_started or ()):
        try:
            if obj.isRunning():
                found.append(obj)
        except RuntimeError:  # its C++ object is already gone
            continue
    return found


@pytest.fixture(autouse=True)
def no_thread_left_running(request):
    """Fail any GUI test that leaves a QThread running (it would print "QThread: Destroyed while
    thread is still running" or crash at exit)."""
    gui = "qtbot" in request.fixturenames or "qapp" in request.fixturenames
    if gui:
        _watch_qthreads()
    yield
    if not gui:
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
