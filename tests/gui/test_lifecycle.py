"""Windows opened and closed in one process, each while a full-speed run is going: nothing may
outlive its window. A learner's session opens one window, but the app's own tests, a notebook or
a teacher's script open many; a leak of a thread, an engine process, a timer or a few thousand
objects per window would show here long before it showed anywhere else.

Counted after each window is closed and deleted: engine child processes; and after the first,
the third and the last window (a full collection first): running QThreads, QTimers and QObjects
alive (the Python side of every Qt object the app made), top-level widgets, and the process's
resident memory (/proc/self/statm).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import Counter

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer
from PySide6.QtWidgets import QApplication, QScrollArea

WINDOWS = 30
WARM_UP = 3  # the first windows fill caches that last the process (fonts, imports, pyqtgraph)
RSS_GROWTH_MB = 100


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def engine_processes() -> list:
    return [p for p in multiprocessing.active_children() if p.name == "autodiff-engine"]


def qt_objects() -> Counter:
    """The live Qt objects, by class: every top-level widget and the application, and all their
    descendants (a widget's timers, actions, layouts; the engine's worker and thread)."""
    found: Counter = Counter()
    roots = [QCoreApplication.instance(), *QApplication.topLevelWidgets()]
    for root in roots:
        for obj in [root, *root.findChildren(QObject)]:
            found[type(obj).__name__] += 1
    return found


def settle() -> None:
    """Collect the garbage of the windows so far, and let Qt delete what that asked it to: a
    collected wrapper can post a deferred delete of its object, and a scroll area's pan gesture
    is deleted by Qt's gesture manager at the next event it filters (a probe's show)."""
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    probe = QScrollArea()
    probe.show()
    QCoreApplication.processEvents()
    probe.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def census() -> dict[str, int]:
    objects = qt_objects()
    running = 0
    for obj in gc.get_objects():
        try:
            if isinstance(obj, QThread) and obj.isRunning():
                running += 1
        except RuntimeError:
            continue
    return {"running QThreads": running, "engine processes": len(engine_processes()),
            "QTimers": objects["QTimer"], "QObjects": sum(objects.values()),
            "widgets": len(QApplication.allWidgets()),
            "top-level widgets": len(QApplication.topLevelWidgets())}


def open_run_close(qtbot, settings) -> int:
    """One window, a full-speed run on it until the engine process has sent iterations, then
    closed mid-run and deleted. Returns the engine process's pid."""
    from autodiff_gui.window import MainWindow
    from autodiff_gui.worker import SPEEDS

    w = MainWindow(settings=settings)
    w.persist_settings = False
    w.engine.tolChanged.emit(-1.0)  # never converges: the run is still going when it closes
    with qtbot.waitSignal(w.graphShown, timeout=10000):
        w.load_default()
    w.show()
    w.speed_control.set_speed(len(SPEEDS) - 1)
    w.cap_control.spin.setValue(w.cap_control.spin.maximum())
    # nor ends at the cap meanwhile: the box's 1,000,000 is a second of the child's work, so
    # the engine gets a cap past anything a loaded machine reaches (as the soak does)
    w.engine.capChanged.emit(2_000_000_000)
    with qtbot.waitSignal(w.iterationsShown, timeout=20000):
        w.toggle_run()
    qtbot.waitUntil(lambda: w.session.engine_pid is not None, timeout=20000)
    with qtbot.waitSignal(w.iterationsShown, timeout=20000):
        pass  # iterations from the engine process, not only the thread's first slice
    assert w.state.running
    pid = w.session.engine_pid
    w.close()
    w.deleteLater()  # (and the Python side goes with this function's frame)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return pid


def test_thirty_windows_each_closed_mid_run_leave_nothing_behind(qtbot, settings, monkeypatch):
    from autodiff_gui import worker

    children = []  # every engine process the windows start
    start = worker._Remote.__init__

    def recorded(self) -> None:
        start(self)
        children.append(self.process)

    monkeypatch.setattr(worker._Remote, "__init__", recorded)
    QTimer()  # the timer class is loaded before the census, so the first count is like the rest
    settle()
    before = census()  # what earlier tests in this process left is not this test's to count
    start_mb = rss_mb()
    pids: list[int] = []
    rss: list[float] = []
    counts: list[dict[str, int]] = []
    for i in range(WINDOWS):
        pids.append(open_run_close(qtbot, settings))
        # after each window no engine process is left; the whole census (a full collection and
        # a walk of the heap, a quarter of a second in a big test process) where it is compared
        assert len(engine_processes()) <= before["engine processes"], f"window {i + 1}"
        if i in (0, WARM_UP - 1, WINDOWS - 1):
            settle()
            counts.append(census())
            rss.append(rss_mb())
            now = counts[-1]
            assert now["running QThreads"] <= before["running QThreads"], f"window {i + 1}: {now}"
    assert len(set(pids)) == WINDOWS  # each window ran its own engine process, and it ended
    # ...on its own when told to stop, mid-batch, not killed after a timed-out join (which froze
    # each window's close for 2 s while the child sat blocked sending a batch nobody read)
    assert [p.exitcode for p in children] == [0] * len(children), [p.exitcode for p in children]
    settled = counts[1]  # after window WARM_UP
    growth = {k: counts[-1][k] - settled[k] for k in settled}
    assert all(v <= 0 for v in growth.values()), (
        f"grew from window {WARM_UP} to {WINDOWS}: {growth}\n"
        + "\n".join(f"{w}: {c}" for w, c in zip((1, WARM_UP, WINDOWS), counts)))
    # from the first window's end: its one-time costs (fonts, plugins, first-use caches, about
    # 100 MB) are no growth per window
    grown_mb = rss[-1] - rss[0]
    assert grown_mb < RSS_GROWTH_MB, (f"RSS grew {grown_mb:.0f} MB over {WINDOWS - 1} windows: "
                                      f"{[round(x) for x in rss]}")
    print(f"{WINDOWS} windows: RSS {start_mb:.0f} MB before, {rss[0]:.0f} after the first, "
          f"{rss[-1]:.0f} after the last; after window "
          f"{WARM_UP}: {settled}; after the last: {counts[-1]}")
