"""The engine thread and its full-speed engine process."""

import pytest

from autodiff_gui.window import MainWindow
from autodiff_gui.worker import SPEEDS
from engine.presets import preset
from engine.train import Trainer

FAST = len(SPEEDS) - 1


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
    remote = window.engine.worker._remote
    assert remote is not None and remote.alive()
    local = Trainer(preset("three-step").program(), lr=0.01).run(10_000)
    assert [r.loss for r in window.records] == [r.loss for r in local.records]
    assert window.records[-1].status == local.status == "converged"
    window.close()
    assert not remote.alive()


def test_pausing_a_child_run_keeps_every_iteration_and_steps_on_locally(window, qtbot):
    window.lr_control.set_lr(0.0001)  # far from converging: the run is still going when paused
    window.speed_control.set_speed(FAST)
    window.cap_control.spin.setValue(1_000_000)
    with qtbot.waitSignal(window.iterationsShown, timeout=10000):
        window.toggle_run()
    qtbot.waitUntil(lambda: len(window.records) > 500, timeout=10000)
    window.toggle_run()
    qtbot.waitUntil(lambda: not window.state.running, timeout=5000)
    qtbot.wait(50)
    its = [r.iteration for r in window.records]
    assert its == list(range(len(its)))  # nothing lost, nothing twice
    with qtbot.waitSignal(window.iterationsShown, timeout=5000) as blocker:
        window.step_iteration()
    assert blocker.args[0][0].iteration == len(its)
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
    assert w.engine.worker._remote is None
    assert len(w.records) == 70
    w.close()
