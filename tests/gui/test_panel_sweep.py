"""The sweep panel: a background sweep that finishes, cancels and shuts down, never blocking."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication

from autodiff_gui.panels.sweep import SweepPanel
from engine.language import parse
from engine.presets import preset
from engine.sweep import SweepPoint
from engine.train import CONVERGED, DIVERGED, ERROR, MAX_STEPS

SWEEP_TIMEOUT_MS = 30_000


@pytest.fixture
def panel(qtbot) -> SweepPanel:
    widget = SweepPanel()
    qtbot.addWidget(widget)
    widget.resize(700, 800)
    widget.set_program(preset("three-step").program())
    widget.show()
    yield widget
    widget.shutdown()


def run_to_end(qtbot, panel: SweepPanel, **kwargs) -> list[SweepPoint]:
    with qtbot.waitSignal(panel.sweepFinished, timeout=SWEEP_TIMEOUT_MS) as blocker:
        assert panel.start(**kwargs)
    return blocker.args[0]


def test_default_sweep_finishes_with_regimes_at_one_half_and_one(qtbot, panel):
    points = run_to_end(qtbot, panel)
    assert len(points) == 50 and points == panel.points()
    assert not panel.is_running()
    assert panel.progress.value() == panel.progress.maximum() == 50
    for p in points:
        if p.lr > 1:
            assert p.status == DIVERGED
        elif p.status == CONVERGED:
            assert (p.overshoots == 0) == (p.lr <= 0.5)
        else:
            assert p.status == MAX_STEPS and p.lr < 0.01
    fastest = min((p for p in points if p.status == CONVERGED), key=lambda p: p.iterations)
    assert 0.4 < fastest.lr < 0.6
    assert "50 learning rates" in panel.status_label.text()


def test_the_sweep_plots_have_no_menus(panel):
    for plot in (panel.iterations_plot, panel.loss_plot):
        assert not plot.menuEnabled() and plot.getViewBox().menu is None


def test_boundary_lines_are_at_one_half_and_one(panel):
    assert panel.boundaries() == pytest.approx((0.5, 1.0))
    [(one, one_label), (two, two_label)] = panel.boundary_markers()
    assert (one, two) == pytest.approx((0.5, 1.0))
    assert (one_label, two_label) == ("one step at 0.5", "diverges above 1")


def test_several_parameters_draw_no_boundaries(panel):
    panel.set_program(preset("regression").program())
    assert panel.boundaries() is None and panel.boundary_markers() == []


def test_plots_mark_each_outcome_and_keep_finite_axes(qtbot, panel):
    points = run_to_end(qtbot, panel, n=20, max_iterations=200)
    by_status = {s: [p for p in points if p.status == s] for s in (CONVERGED, MAX_STEPS, DIVERGED)}
    assert all(by_status.values())
    for status in by_status:
        xs, ys = panel._iteration_items[status].getOriginalDataset()
        assert list(xs) == [p.lr for p in by_status[status]]
        expected = [p.iterations for p in by_status[status]] if status == CONVERGED else \
            [200] * len(by_status[status])
        assert list(ys) == expected  # never converged: drawn on the cap line
    assert_plots_finite(panel)


def test_non_finite_and_zero_losses_do_not_break_the_log_axis(qtbot, panel):
    # exp overflows at the first step: every final loss is inf
    panel.set_program(parse("w = Value(0.0)\nL = exp((w - 2)**2 * 100)\n", "steep"))
    points = run_to_end(qtbot, panel, lo=0.001, hi=0.1, n=5, max_iterations=50)
    assert all(p.status == DIVERGED and p.final_loss == math.inf for p in points)
    assert "5 final losses too large or not a number, drawn at the top" in panel.status_label.text()
    assert_plots_finite(panel)
    # lr = 0.5 lands exactly on the minimum: a loss of 0, which has no logarithm
    panel.set_program(preset("three-step").program())
    points = run_to_end(qtbot, panel, lo=0.25, hi=1.0, n=3)
    assert [p.final_loss for p in points if p.lr == 0.5] == [0.0]
    assert "1 final loss of exactly 0 drawn at the bottom" in panel.status_label.text()
    assert_plots_finite(panel)
    panel.grab()  # paints without warnings (which fail the test)


def test_negative_losses_and_errors_switch_the_loss_axis_to_linear(qtbot, panel):
    panel.set_program(parse("w = Value(1.0)\nL = log(w)\n", "log"))
    points = run_to_end(qtbot, panel, lo=0.01, hi=0.5, n=4, max_iterations=50)
    assert {p.status for p in points} == {MAX_STEPS, ERROR}
    assert "the loss axis is linear" in panel.status_label.text()
    assert "stopped by an error" in panel.status_label.text()
    _, ys = panel._iteration_items[ERROR].getOriginalDataset()
    assert list(ys) == [50] * sum(p.status == ERROR for p in points)
    assert_plots_finite(panel, log=False)
    panel.set_program(preset("three-step").program())
    run_to_end(qtbot, panel, n=5)
    assert_plots_finite(panel)  # back to a log scale
    panel.grab()


def assert_plots_finite(panel: SweepPanel, log: bool = True) -> None:
    assert panel.loss_plot.getAxis("left").logMode == log
    for item in panel._loss_items.values():
        _, ys = item.getOriginalDataset()
        assert ys is None or all(math.isfinite(y) and (y > 0 or not log) for y in ys)
    for plot in (panel.iterations_plot, panel.loss_plot):
        (x0, x1), (y0, y1) = plot.viewRange()
        assert all(math.isfinite(v) for v in (x0, x1, y0, y1))


def test_cancel_stops_early_and_leaves_no_thread(qtbot, panel):
    with qtbot.waitSignal(panel.runningChanged, timeout=SWEEP_TIMEOUT_MS):
        panel.start(n=400, max_iterations=20_000)
    qtbot.waitUntil(lambda: len(panel.points()) >= 2, timeout=SWEEP_TIMEOUT_MS)
    finished: list = []
    panel.sweepFinished.connect(finished.append)
    panel.cancel()
    assert not panel.cancel_button.isEnabled() and panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=2000)
    kept = len(panel.points())
    assert 2 <= kept < 400
    assert "Cancelled" in panel.status_label.text()
    QApplication.processEvents()  # points still queued by the ended worker are not added
    assert len(panel.points()) == kept and finished == []


def test_the_event_loop_runs_between_the_points_of_a_sweep(qtbot, panel):
    """The sweep runs in its own thread: the window's event loop keeps turning while the points
    arrive (how fast it answers is measured in benchmarks/, not here)."""
    events: list[str] = []
    timer = QTimer()
    timer.setInterval(0)  # fires on every turn of the event loop
    timer.timeout.connect(lambda: events.append("turn"))
    panel.progress.valueChanged.connect(lambda v: events.append("point") if v else None)
    timer.start()
    try:
        # a sweep long enough to take many event-loop turns (the network's runs mostly reach
        # their cap; the three-step loss's 50 runs now take a tenth of a second in all)
        panel.set_program(preset("network").program())
        with qtbot.waitSignal(panel.sweepFinished, timeout=SWEEP_TIMEOUT_MS * 2) as blocker:
            panel.start(n=20, max_iterations=2000)
    finally:
        timer.stop()
    assert len(blocker.args[0]) == 20
    first, last = events.index("point"), len(events) - 1 - events[::-1].index("point")
    turns_during = events[first:last].count("turn")
    assert turns_during >= 3, events[:40]


def test_shutdown_mid_sweep_leaves_no_running_thread(qtbot, panel):
    panel.start(n=200, max_iterations=50_000)
    qtbot.waitUntil(lambda: len(panel.points()) >= 1, timeout=SWEEP_TIMEOUT_MS)
    panel.shutdown()  # blocks until the sweep's thread has ended
    assert not panel.is_running()
    QApplication.processEvents()  # late queued signals of the stopped sweep are harmless
    assert not panel.is_running()


def test_a_new_program_cancels_the_running_sweep(qtbot, panel):
    panel.start(n=300, max_iterations=20_000)
    qtbot.waitUntil(lambda: len(panel.points()) >= 1, timeout=SWEEP_TIMEOUT_MS)
    panel.set_program(preset("multi-path").program())
    assert panel.points() == [] and panel.cancel_button.isEnabled() is False
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=2000)
    points = run_to_end(qtbot, panel, n=10)
    assert len(points) == 10


def test_restarting_ignores_the_points_of_the_previous_sweep(qtbot, panel):
    panel.start(n=300, max_iterations=20_000)
    points = run_to_end(qtbot, panel, lo=0.1, hi=1.0, n=5)
    assert [p.lr for p in points] == pytest.approx([0.1, 0.1778279, 0.3162278, 0.5623413, 1.0])
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=2000)
    assert len(panel.points()) == 5


def test_clicking_a_point_chooses_its_learning_rate(qtbot, panel):
    points = run_to_end(qtbot, panel, lo=0.1, hi=1.0, n=5)
    target = points[3]
    view = panel.iterations_plot.getViewBox()
    panel.iterations_plot.setYRange(0, 100)
    QApplication.processEvents()
    scene_pos = view.mapViewToScene(QPointF(math.log10(target.lr), target.iterations))
    widget_pos = panel.iterations_widget.mapFromScene(scene_pos)
    with qtbot.waitSignal(panel.lrChosen) as blocker:
        qtbot.mouseClick(panel.iterations_widget.viewport(), Qt.MouseButton.LeftButton,
                         pos=widget_pos)
    assert blocker.args == [pytest.approx(target.lr)]
    assert panel.status_label.text().startswith("lr = 0.562341: converged in")


def test_start_refuses_an_empty_or_reversed_range(qtbot):
    widget = SweepPanel()
    qtbot.addWidget(widget)
    assert not widget.start()
    assert "Load a program" in widget.status_label.text()
    widget.set_program(preset("three-step").program())
    assert not widget.start(lo=1.0, hi=0.5)
    assert not widget.is_running()


def test_the_window_builds_its_sweep_when_its_tab_is_first_shown(qtbot, window):
    """A window whose Sweep tab is never opened builds no sweep (its plot and its predicted
    boundaries cost a window's start-up); opened, it sweeps the program loaded meanwhile."""
    qtbot.waitUntil(lambda: window.plots_built)
    with qtbot.waitSignal(window.graphShown, timeout=10000):
        window.editor.select_preset("multi-path")
    assert window._sweep is None and window._sweep_page.layout().count() == 0
    window.teach.setCurrentWidget(window._sweep_page)
    sweep = window._sweep
    assert sweep is not None and sweep.isVisible()
    assert sweep.parent() is window._sweep_page
    assert sweep._program is window.session.program
    with qtbot.waitSignal(window.graphShown, timeout=10000):
        window.editor.select_preset("three-step")  # later programs reach it too
    assert sweep._program is window.session.program
    assert sweep.boundaries() == pytest.approx((0.5, 1.0))
    sweep.lrChosen.emit(0.25)  # and a rate it chooses is the window's
    assert window.lr_control.lr() == 0.25
