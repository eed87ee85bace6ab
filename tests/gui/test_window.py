"""The real window, driven as a learner drives it (offscreen, waiting on signals, never sleeping)."""

import math

import pytest
from PySide6.QtCore import Qt

from autodiff_gui.canvas.items import RECEIVING, UPSTREAM
from autodiff_gui.window import MainWindow
from autodiff_gui.worker import SPEEDS

FAST = len(SPEEDS) - 1




def run_to_end(qtbot, w, timeout=20000):
    with qtbot.waitSignal(w.runEnded, timeout=timeout) as blocker:
        w.toggle_run()
    return blocker.args


def test_opens_on_the_three_step_loss(window):
    assert "Autodiff" in window.windowTitle()
    names = [n.name for n in window.graph.nodes]
    assert names == ["w", "x", "z", "y", "-1", "-y", "e", "L"]
    L = window.graph.node_named("L")
    assert window.scene.box_texts(L.id) == ("L", "value 4", "grad  ?")
    assert len(window.scene.ops) == 4  # ×, ×, +, x²
    assert len(window.scene.edges) == 7


def test_run_converges_to_two_and_the_curve_holds_the_tutorials_losses(qtbot, window):
    window.speed_control.set_speed(FAST)
    status, message = run_to_end(qtbot, window)
    assert status == "converged"
    assert "after 69 iterations" in message and "w = 2.0000" in message
    assert window.status_label.text() == message
    losses = [r.loss for r in window.records[:4]]
    assert losses == pytest.approx([4, 2.56, 1.6384, 1.048576])
    x, y = window.curves.loss_data()
    assert list(y[:4]) == pytest.approx([4, 2.56, 1.6384, 1.048576])
    _, w = window.curves.param_data("w")
    assert w[-1] == pytest.approx(2, abs=1e-6)
    assert window.records[-1].param("w").data == pytest.approx(2, abs=1e-6)


def test_the_first_backward_pass_shows_all_seven_multiplications(qtbot, window):
    steps = []
    window.stepShown.connect(lambda s: steps.append((s, dict(window.scene.highlighted()),
                                                     window.scene.banner.text)))
    # step through: iteration start, 4 forward steps, the seed, then 7 multiplications
    for _ in range(1 + 4):
        window.step_one()
    L = window.graph.node_named("L").id
    with qtbot.waitSignal(window.session.momentChanged, timeout=5000,
                          check_params_cb=lambda s: s.kind == "forward" and s.position == 4):
        pass
    assert window.scene.box_texts(L)[2] == "grad  ?"  # the forward pass is done, no gradient yet
    with qtbot.waitSignal(window.session.momentChanged, timeout=5000,
                          check_params_cb=lambda s: s.kind == "seed"):
        window.step_one()  # the seed is a step of its own
    assert window.scene.box_texts(L)[2] == "grad  1"
    assert window.scene.banner.text == "dL/dL = 1" and steps == []
    assert window.timeline.step_label.text() == "backward step 0: the seed"
    for _ in range(7):
        with qtbot.waitSignal(window.stepShown, timeout=5000):
            window.step_one()
    g = window.scene.graph
    assert [s.number for s, _, _ in steps] == list(range(1, 8))
    named = [(g.nodes[s.parent].name, g.nodes[s.child].name, s.product) for s, _, _ in steps]
    assert named[0] == ("L", "e", -4)
    assert named[1] == ("e", "z", -4)
    assert named[2] == ("e", "-y", -4)
    assert named[5] == ("z", "w", -4)
    for step, lit, _ in steps:
        assert lit[("edge", (step.child, step.parent, step.input_index))] == RECEIVING
        assert lit[("box", step.child)] == RECEIVING
        assert lit[("box", step.parent)] == UPSTREAM
    assert steps[1][2] == "dL/dz = dL/de · de/dz = (-4) · (1) = -4"
    # after the 7th multiplication every gradient is known
    assert window.scene.box_texts(g.node_named("w").id)[2] == "grad  -4"


def test_one_iteration_updates_w_to_0_4(qtbot, window):
    with qtbot.waitSignal(window.iterationsShown, timeout=5000) as blocker:
        window.step_iteration()
    (record,) = blocker.args[0]
    assert (record.iteration, record.loss, record.param("w").grad) == (0, 4, -4)
    assert "= 0.4" in window.scene.banner.text
    assert window.scene.box_texts(window.graph.node_named("w").id)[2] == "grad  -4"


def test_editing_the_program_rebuilds_the_graph(qtbot, window):
    source = window.editor.source().replace("L = e**2", "L = e**2 + w")
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.editor.set_source(source)
    qtbot.waitUntil(lambda: len(window.scene.boxes) == 9)
    assert window.graph.nodes[-1].name == "L"


def test_a_bad_program_shows_the_error_and_keeps_the_old_graph(qtbot, window):
    before = window.graph
    with qtbot.waitSignal(window.editor.programInvalid, timeout=5000):
        window.editor.set_source("w = Value(0.0)\nL = (w - q)**2\n")
    assert window.graph is before
    assert len(window.scene.boxes) == 8
    assert "q" in window.statusBar().currentMessage()
    assert "line 2" in window.statusBar().currentMessage().lower()


def test_learning_rate_changed_mid_run_takes_effect(qtbot, window):
    window.lr_control.set_lr(0.01)
    window.speed_control.set_speed(FAST - 1)
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.toggle_run()
    window.lr_control.set_lr(0.3)
    qtbot.waitUntil(lambda: any(r.lr == 0.3 for r in window.records), timeout=5000)
    window.toggle_run()
    qtbot.waitUntil(lambda: not window.state.running, timeout=5000)
    lrs = [r.lr for r in window.records]
    assert lrs[0] == 0.01 and lrs[-1] == 0.3
    first_fast = lrs.index(0.3)
    assert all(lr == 0.01 for lr in lrs[:first_fast]) and all(lr == 0.3 for lr in lrs[first_fast:])


def test_pause_step_and_reset(qtbot, window):
    window.speed_control.set_speed(FAST - 1)
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.toggle_run()
    window.toggle_run()
    qtbot.waitUntil(lambda: not window.state.running, timeout=5000)
    n = len(window.records)
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.step_iteration()
    assert len(window.records) == n + 1
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.reset()
    assert window.records == []
    assert window.scene.box_texts(window.graph.node_named("w").id)[1] == "value 0"


def test_divergence_ends_the_run_with_an_explanation_and_finite_plots(qtbot, window):
    window.lr_control.set_lr(1.5)
    window.speed_control.set_speed(FAST)
    status, message = run_to_end(qtbot, window)
    assert status == "diverged"
    assert "diverging" in message and "above 2/2 = 1 diverges" in message
    assert len(window.records) < 40
    plots = window.curves.findChildren(type(window.curves.loss_plot)) if hasattr(window.curves, "loss_plot") else []
    for plot in plots:
        for r in plot.getPlotItem().viewRange():
            assert all(math.isfinite(v) for v in r)


def test_space_runs_from_the_canvas_and_types_in_the_editor(qtbot, window):
    window.speed_control.set_speed(FAST)
    window.activateWindow()
    window.view.setFocus()
    qtbot.waitUntil(window.view.hasFocus, timeout=3000)
    with qtbot.waitSignal(window.runEnded, timeout=20000):
        qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert window.records[-1].status == "converged"
    editor = window.editor.editor if hasattr(window.editor, "editor") else None
    if editor is not None:
        editor.setFocus()
        qtbot.waitUntil(editor.hasFocus, timeout=3000)
        before = editor.toPlainText()
        qtbot.keyClick(editor, Qt.Key.Key_Space)
        assert len(editor.toPlainText()) == len(before) + 1


def test_closing_mid_run_leaves_no_thread(qtbot, settings):
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.load_preset("network")
    w.show()
    w.speed_control.set_speed(FAST)
    w.cap_control.spin.setValue(1_000_000)
    with qtbot.waitSignal(w.iterationsShown, timeout=10000):
        w.toggle_run()
    w.close()
    assert not w.engine.thread.isRunning()


def test_the_first_run_freezes_what_lives_on_and_closing_thaws_it(window, qtbot):
    """The window's long-lived objects leave the cyclic collector's sight at its first run (not
    at show: a window that never runs never pays for the collection), and come back at close, so
    a closed window's cycles can be collected."""
    import gc

    assert gc.get_freeze_count() == 0  # shown, its plots built, but not run
    qtbot.waitUntil(lambda: window.plots_built)
    window.speed_control.set_speed(FAST)
    with qtbot.waitSignal(window.iterationsShown, timeout=10000):
        window.toggle_run()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the window, its plots and the modules they import
    window.toggle_run()  # a pause and a second run freeze nothing more (a frozen object that
    window.toggle_run()  # dies meanwhile leaves the count)
    assert gc.get_freeze_count() <= frozen
    window.close()
    assert gc.get_freeze_count() == 0


def test_settings_remember_the_learning_rate(qtbot, settings):
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.load_default()
    w.lr_control.set_lr(0.25)
    w.close()
    w2 = MainWindow(settings=settings)
    qtbot.addWidget(w2)
    assert w2.lr_control.lr() == 0.25
    w2.close()


def test_enter_in_the_rate_box_then_space_runs(qtbot, window):
    """Type 0.5, Enter (the number is taken and the canvas gets the keys), Space runs."""
    spin = window.lr_control.spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=3000)
    spin.selectAll()
    qtbot.keyClicks(spin, "0.5")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert window.lr_control.lr() == 0.5
    qtbot.waitUntil(window.view.hasFocus, timeout=3000)
    with qtbot.waitSignal(window.session.stateChanged, timeout=5000,
                          check_params_cb=lambda s: s.running):
        qtbot.keyClick(window.view, Qt.Key.Key_Space)


def test_space_in_a_number_box_runs_instead_of_typing(qtbot, window):
    spin = window.cap_control.spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=3000)
    before = spin.text()
    with qtbot.waitSignal(window.session.stateChanged, timeout=5000,
                          check_params_cb=lambda s: s.running):
        qtbot.keyClick(spin, Qt.Key.Key_Space)
    assert spin.text() == before


def test_a_broken_program_is_not_run(qtbot, window):
    window.editor.editor.setPlainText("w = Value(0.0)\nL = (w - \n")
    qtbot.waitUntil(lambda: bool(window.editor.error_message()), timeout=5000)
    window.toggle_run()
    window.step_one()
    assert not window.state.running
    assert "Fix the program first" in window.step_label.text()
    assert "line 2" in window.step_label.text().lower()


def test_the_weight_update_shows_the_new_value_on_the_canvas(qtbot, window):
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.step_iteration()
    w = window.graph.node_named("w")
    assert window.scene.box_texts(w.id)[1] == "value 0 → 0.4"
    assert "0.4" in window.scene.banner.text


def test_the_cards_instruction_is_whole_on_the_canvas(window):
    from autodiff_gui.canvas.items import _elide, _font
    banner = window.scene.banner
    assert "Space" in banner.text
    assert _elide(banner.text, _font(12, True, True), banner.width - 24) == banner.text  # no "…"


def test_the_plots_keep_steady_axes_while_running_and_fit_the_data_when_paused(qtbot, window):
    window.ensure_plots()
    assert not window.curves.steady()
    window.engine.tolChanged.emit(-1.0)  # never converge: the run goes on until paused
    window.speed_control.set_speed(FAST - 1)
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.toggle_run()
    qtbot.waitUntil(lambda: window.state.running, timeout=5000)
    assert window.curves.steady()
    window.toggle_run()
    qtbot.waitUntil(lambda: not window.state.running, timeout=5000)
    assert not window.curves.steady()
