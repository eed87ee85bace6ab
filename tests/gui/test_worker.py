"""The engine thread and its full-speed engine process."""

import multiprocessing

import pytest

from autodiff_gui.window import MainWindow
from autodiff_gui.worker import SPEEDS
from engine.presets import preset
from engine.train import Trainer

FAST = len(SPEEDS) - 1


def engine_processes():
    """The live child processes that run the engine at full speed."""
    return [p for p in multiprocessing.active_children() if p.name == "autodiff-engine"]


def test_trainer_state_round_trip_goes_on_identically():
    program = preset("regression").program()
    a = Trainer(program, lr=0.01)
    for _ in range(10):
        a.step()
    b = Trainer(program, lr=0.5)
    b.restore(a.state())
    for _ in range(20):
        assert a.step() == b.step()
    assert b.snapshot() == a.snapshot()




def test_full_speed_runs_in_a_child_process_with_the_same_numbers(window, qtbot):
    window.lr_control.set_lr(0.01)
    window.speed_control.set_speed(FAST)
    with qtbot.waitSignal(window.runEnded, timeout=30000):
        window.toggle_run()
    children = [p for p in engine_processes() if p.pid == window.session.engine_pid]
    assert len(children) == 1 and children[0].is_alive()
    local = Trainer(preset("three-step").program(), lr=0.01).run(10_000)
    assert [r.loss for r in window.records] == [r.loss for r in local.records]
    assert window.records[-1].status == local.status == "converged"
    window.close()
    assert not children[0].is_alive()
    assert window.session.engine_pid not in [p.pid for p in engine_processes()]


def runs_on(window) -> None:
    """A full-speed run that neither converges nor reaches its cap while a test looks at it:
    the engine process does millions of three-step iterations a second, so lr = 0.0001 converges
    within a tenth of a second and the box's largest cap within a second."""
    window.engine.tolChanged.emit(-1.0)
    window.cap_control.spin.setValue(1_000_000)
    window.engine.capChanged.emit(2_000_000_000)


def test_pausing_a_child_run_keeps_every_iteration_and_steps_on_locally(window, qtbot):
    window.lr_control.set_lr(0.0001)
    window.speed_control.set_speed(FAST)
    runs_on(window)  # the run is still going when paused
    with qtbot.waitSignal(window.iterationsShown, timeout=10000):
        window.toggle_run()
    qtbot.waitUntil(lambda: len(window.records) > 500, timeout=10000)
    window.toggle_run()
    qtbot.waitUntil(lambda: not window.state.running, timeout=5000)
    # the pause is reported after every record computed before it was shown
    # (past 200,000 iterations the History keeps every stride-th: its count says what arrived)
    its = [r.iteration for r in window.records]
    history = window.session.history
    assert its[0] == 0 and its == sorted(set(its))  # in order, nothing twice
    assert history.count == its[-1] + 1  # nothing lost
    with qtbot.waitSignal(window.iterationsShown, timeout=5000) as blocker:
        window.step_iteration()
    assert blocker.args[0][0].iteration == its[-1] + 1
    w_last = window.records[-2].param("w")
    assert window.records[-1].param("w").data == pytest.approx(w_last.data - 0.0001 * w_last.grad)


def test_without_a_child_process_the_thread_runs_the_engine(qtbot, settings, monkeypatch):
    monkeypatch.setenv("AUTODIFF_ENGINE_PROCESS", "0")
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.load_default()
    w.speed_control.set_speed(FAST)
    with qtbot.waitSignal(w.runEnded, timeout=20000):
        w.toggle_run()
    assert w.session.engine_pid is None
    assert len(w.records) == 70
    w.close()


def test_a_run_that_overflows_in_the_child_ends_as_diverged(window, qtbot):
    window.editor.set_source("w = Value(3.0)\nL = exp(w*w)\n")
    qtbot.waitUntil(lambda: window.program is not None and window.program.source.startswith("w = Value(3.0)"))
    window.speed_control.set_speed(FAST)
    with qtbot.waitSignal(window.runEnded, timeout=20000) as blocker:
        window.toggle_run()
    assert blocker.args[0] == "diverged"
    assert not window.state.running


def test_lowering_then_raising_the_cap_keeps_the_run_ended(window, qtbot):
    window.lr_control.set_lr(0.0001)
    window.speed_control.set_speed(FAST)
    runs_on(window)
    with qtbot.waitSignal(window.iterationsShown, timeout=10000):
        window.toggle_run()
    qtbot.waitUntil(lambda: len(window.records) > 200, timeout=10000)
    with qtbot.waitSignal(window.runEnded, timeout=10000) as blocker:
        window.cap_control.spin.setValue(100)
    assert blocker.args[0] == "max_steps"
    with qtbot.waitSignal(window.session.stateChanged, timeout=5000) as blocker:
        window.cap_control.spin.setValue(1_000_000)
    assert blocker.args[0].status == "max_steps" and not blocker.args[0].running
    assert window.state.status == "max_steps"


def test_records_of_an_earlier_program_are_not_drawn_for_a_new_one(window, qtbot):
    from engine.train import IterationStart
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.step_iteration()
    old_record = window.records[-1]
    stale_start = IterationStart(5, window.graph, (1.0, 2.0), 0.1)  # fits either program
    shown, steps = [], []
    window.iterationsShown.connect(shown.append)
    window.session.momentChanged.connect(steps.append)
    worker = window.engine.worker
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.editor.set_source("a = Value(1.0)\nb = Value(2.0)\nL = (a*b - 3)**2\n")
        # still queued from the old run when the new program was loaded: both are dropped
        worker.iterationStarted.emit(stale_start)
        worker.iterationsDone.emit([old_record], None)
    assert shown == []
    assert [s.kind for s in steps] == ["loaded"]
    assert window.session.history.count == 0
    assert window.current_moment().param_names == ("a", "b")


def test_travel_during_a_run_stays_put_and_steps_resume_where_the_engine_is(window, qtbot):
    window.lr_control.set_lr(0.0001)
    window.speed_control.set_speed(FAST)
    runs_on(window)
    with qtbot.waitSignal(window.iterationsShown, timeout=10000):
        window.toggle_run()
    qtbot.waitUntil(lambda: len(window.records) > 300, timeout=10000)
    # the fourth stored iteration: 3, or 6, 12... if the run went past the History's cap before
    # the travel (millions of iterations a second) and the History thinned it
    chosen = 3 * window.session.history.stride
    window.travel_to_iteration(3)
    assert window.moment.iteration == chosen
    # the travel pauses the run; the records still on their way are stored, the moment stays
    qtbot.waitUntil(lambda: not window.state.running, timeout=5000)
    assert not window.live and window.moment.iteration == chosen
    assert not window.state.running
    n = window.session.history.count  # (every iteration arrived; a long run stores fewer)
    # a step goes on from where the engine is, and the canvas follows it
    for _ in range(2):
        window.step_one()
    qtbot.waitUntil(lambda: window.moment is not None and window.moment.iteration == n
                    and window.moment.position == 1, timeout=5000)
    assert window.live
    window.travel_to_iteration(0)
    with qtbot.waitSignal(window.momentShown, timeout=3000):
        window.timeline.step_slider.setValue(3)
    window.back_to_live()
    assert window.moment.iteration == n and window.moment.position == 1
    window.step_one()
    qtbot.waitUntil(lambda: window.moment.position == 2, timeout=5000)
    assert window.moment.iteration == n


def test_a_loaded_program_is_replayed_in_the_engine_thread_not_the_gui_thread(window, qtbot,
                                                                              monkeypatch):
    import threading

    import autodiff_gui.session
    import autodiff_gui.worker
    from engine.replay import replay

    where = []

    def traced(module):
        def call(*args, **kwargs):
            where.append((module, threading.current_thread() is threading.main_thread()))
            return replay(*args, **kwargs)
        return call

    monkeypatch.setattr(autodiff_gui.session, "replay", traced("session"))
    monkeypatch.setattr(autodiff_gui.worker, "replay", traced("worker"))
    with qtbot.waitSignal(window.graphShown, timeout=10000):
        window.load_preset("network")
    assert where == [("worker", False)]  # once, off the GUI thread
    m = window.current_moment()
    assert m.before is window.graph  # the moment of the graph drawn
    assert m.position == len(m.forward)  # the forward pass done, no gradient yet
    fresh = replay(preset("network").program(), None, 0, m.lr)
    assert (m.before, m.after, m.forward, m.chain, m.values) == (fresh.before, fresh.after, fresh.forward,
                                                                 fresh.chain, fresh.values)
