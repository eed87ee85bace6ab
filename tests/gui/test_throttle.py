"""The window's throttle for its slower views: a beat at most once per period, beats that share a
spacing never back to back, and ``now`` at once. Only lower bounds on time are asserted (a loaded
machine makes every wait longer, never shorter)."""

import time

from PySide6.QtCore import QObject

from autodiff_gui.throttle import Beat, Spacing


def test_a_beat_runs_at_once_then_once_at_the_end_of_its_period(qtbot):
    owner = QObject()
    calls = []
    beat = Beat(owner, 80, lambda: calls.append(time.monotonic()))
    beat.request()
    assert len(calls) == 1  # due: at once
    for _ in range(5):
        beat.request()  # within the period: one trailing call for all of them
    assert len(calls) == 1
    qtbot.waitUntil(lambda: len(calls) == 2)
    assert calls[1] - calls[0] >= 0.079
    beat.stop()


def test_beats_sharing_a_spacing_wait_for_each_other(qtbot):
    owner = QObject()
    spacing = Spacing(70)
    calls = []
    plots = Beat(owner, 10, lambda: calls.append(("plots", time.monotonic())), spacing=spacing)
    panels = Beat(owner, 10, lambda: calls.append(("panels", time.monotonic())), spacing=spacing)
    plots.request()
    panels.request()  # its own period is over, but the plots just drew: it waits for the spacing
    assert [name for name, _ in calls] == ["plots"]
    qtbot.waitUntil(lambda: len(calls) == 2)
    assert calls[1][0] == "panels" and calls[1][1] - calls[0][1] >= 0.069
    panels.now()  # a run's end draws at once, spacing or not
    assert [name for name, _ in calls] == ["plots", "panels", "panels"]
