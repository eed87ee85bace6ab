"""The teaching panels wired into the real window: ledger, backward code, time travel, ghosts."""

import pytest
from PySide6.QtWidgets import QApplication

from autodiff_gui.canvas.items import RECEIVING, UPSTREAM
from autodiff_gui.panels.ledger import ledger_rows
from autodiff_gui.panels.source import ACCUMULATE, SEED
from autodiff_gui.worker import SPEEDS
from engine.presets import preset
from engine.replay import replay

FAST = len(SPEEDS) - 1




def run_to_end(qtbot, w):
    w.speed_control.set_speed(FAST)
    with qtbot.waitSignal(w.runEnded, timeout=20000):
        w.toggle_run()


def test_ledger_rows_hold_the_tutorials_chain():
    rows = ledger_rows(replay(preset("three-step").program()))
    assert rows[0] == ("0", "dL/dL", "seed", "1")
    assert rows[1] == ("1", "dL/de", "1 × -4 = -4", "-4")
    assert rows[2] == ("2", "dL/dz", "-4 × 1 = -4", "-4")
    assert rows[3] == ("3", "dL/d(-y)", "-4 × 1 = -4", "-4")
    assert rows[6] == ("6", "dL/dw", "-4 × 1 = -4", "-4")
    assert len(rows) == 8


def test_ledger_shows_the_running_sum_of_a_shared_node():
    rows = ledger_rows(replay(preset("multi-path").program()))
    into_a = [r for r in rows if r[1] == "dL/da"]
    assert [r[2] for r in into_a] == ["1 × 3 = 3", "1 × 6 = 6"]
    assert into_a[-1][3] == "3 + 6 = 9"


def test_selecting_a_ledger_row_lights_that_edge_and_shows_the_banner(window, qtbot):
    window.teach.setCurrentWidget(window.ledger)
    window._push_moment_to_panels()
    assert window.ledger.table.rowCount() == 8
    with qtbot.waitSignal(window.momentShown, timeout=3000):
        window.ledger.select_number(2)
    lit = window.scene.highlighted()
    g = window.scene.graph
    z, e = g.node_named("z").id, g.node_named("e").id
    assert lit[("edge", (z, e, 0))] == RECEIVING
    assert lit[("box", z)] == RECEIVING and lit[("box", e)] == UPSTREAM
    assert window.scene.banner.text == "dL/dz = dL/de · de/dz = (-4) · (1) = -4"
    assert window.scene.box_texts(z)[2] == "grad  -4"
    assert window.scene.box_texts(g.node_named("w").id)[2] == "grad  ?"


def test_backward_code_lights_the_accumulation_line(window, qtbot):
    window.teach.setCurrentWidget(window.source_panel)
    m = window.moment
    window.travel_to_position(len(m.forward))  # the forward pass done: backward() not called yet
    assert window.source_panel.lit_line is None
    window.travel_to_position(m.seed_position)  # backward step 0
    assert window.source_panel.lit_line == SEED
    window.travel_to_position(m.seed_position + 2)
    assert window.source_panel.lit_line == ACCUMULATE
    assert "child.grad = 0 + 1 × -4 = -4" in window.source_panel.where.text()
    assert "child.grad += local_grad * v.grad" in window.source_panel.code.toPlainText()


def test_time_travel_restores_iteration_three(window, qtbot):
    run_to_end(qtbot, window)
    with qtbot.waitSignal(window.momentShown, timeout=3000):
        window.timeline.iteration_slider.setValue(3)
    m = window.moment
    assert m.iteration == 3
    assert m.values[0] == pytest.approx(0.976)
    assert m.loss == pytest.approx(1.048576)
    g = window.scene.graph
    assert window.scene.box_texts(g.node_named("w").id)[1] == "value 0.976"
    assert window.scene.box_texts(g.node_named("L").id)[1] == "value 1.04858"
    assert "iteration 3" in window.readout.text() and "w = 0.976" in window.readout.text()
    assert window.curves.marker() == 3
    # and within the iteration: back to its second forward step
    with qtbot.waitSignal(window.momentShown, timeout=3000):
        window.timeline.step_slider.setValue(2)
    assert window.moment.position == 2
    assert window.scene.box_texts(g.node_named("e").id)[1] == "value …"
    window.back_to_live()
    assert window.live and window.curves.marker() is None


def test_ghost_runs_kept_and_cleared(window, qtbot):
    run_to_end(qtbot, window)
    window.commands.keep_run()
    window.lr_control.set_lr(0.6)
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.reset()
    run_to_end(qtbot, window)
    window.commands.keep_run()
    assert window.curves.ghost_labels() == ["α = 0.1", "α = 0.6"]
    window.commands.clear_kept_runs()
    assert window.curves.ghost_labels() == []


def test_the_tour_walks_the_canvas_through_the_three_steps(window, qtbot):
    window.teach.setCurrentWidget(window.tour)
    window._push_moment_to_panels()
    positions = []
    window.momentShown.connect(lambda m: positions.append(m.position))
    texts = []
    for _ in range(window.tour.page_count() - 1):
        window.tour.next_page()
        texts.append(window.tour.page_text())
    joined = " ".join(texts)
    for number in ("-4", "0.4"):
        assert number in joined
    assert positions == sorted(positions) and positions[-1] == window.moment.complete
    assert window.scene.box_texts(window.scene.graph.node_named("w").id)[2] == "grad  -4"


def test_the_quiz_in_the_window_accepts_minus_four_for_dL_dw(window):
    window.teach.setCurrentWidget(window.quiz)
    window._push_moment_to_panels()
    assert window.quiz.jump_to_gradient("w")
    assert window.quiz.question() == "What is dL/dw?"
    assert not window.quiz.answer_text("4")
    assert window.quiz.answer_text("-4")


def test_mistakes_panel_can_load_the_preset_that_shows_a_mistake(window, qtbot):
    window.teach.setCurrentWidget(window.mistakes)
    window._push_moment_to_panels()
    window.mistakes.set_enabled("assign", True)
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.mistakes.preset_button("assign").click()
    assert window.program.name == "multi-path"


def test_the_sweep_tab_finds_the_regimes_and_sets_a_chosen_rate(window, qtbot):
    window.teach.setCurrentWidget(window.sweep)
    with qtbot.waitSignal(window.sweep.sweepFinished, timeout=30000) as blocker:
        assert window.sweep.start(n=20, max_iterations=300)
    points = blocker.args[0]
    converged = [p.lr for p in points if p.status == "converged"]
    diverged = [p.lr for p in points if p.status == "diverged"]
    assert max(converged) < 1 < min(diverged)
    assert sorted(lr for lr, _ in window.sweep.boundary_markers()) == pytest.approx([0.5, 1.0])
    window.sweep.lrChosen.emit(0.25)
    assert window.lr_control.lr() == 0.25


def test_the_landscape_follows_the_window(window, qtbot):
    window._push_moment_to_panels()
    assert window.landscape.mode() == "curve"
    # loaded: the forward pass is done, dL/dw is still "?": no tangent and no step yet (issue 9)
    assert window.landscape.tangent_line() is None and window.landscape.step_arrow() is None
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.step_iteration()
    window._push_moment_to_panels()
    assert window.landscape.tangent_slope() == pytest.approx(-4)
    assert window.landscape.step_vector()[0] == pytest.approx(0.4)
    window.lr_control.set_lr(1.5)
    assert "diverging" in window.landscape.prediction_text()
    window.lr_control.set_lr(0.6)
    assert "oscillating" in window.landscape.prediction_text()


def test_a_big_graph_opens_readable_around_the_loss(window, qtbot):
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.editor.select_preset("network")
    view = window.view
    assert view.zoom_level() == pytest.approx(0.75)
    root = window.scene.root_rect()
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(root.center())
    window.fit_action.trigger()
    assert view.zoom_level() < 0.3  # Ctrl+0 still shows everything
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.editor.select_preset("three-step")
    assert every_box_in_view(window)  # a small graph is fitted again, whole
    assert view.zoom_level() > 0.3


def every_box_in_view(window) -> bool:
    view = window.view
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    return all(shown.contains(box.sceneBoundingRect()) for box in window.scene.boxes.values())


def test_a_big_graph_is_laid_out_off_the_gui_thread_and_the_newest_program_wins(window, qtbot):
    """A graph past the background size is laid out in the layout thread: the old graph stays on
    the canvas meanwhile, and a program loaded before that layout ends replaces it."""
    from autodiff_gui.presenter import BACKGROUND_LAYOUT_NODES
    big = "ws = [Value(0.1) for i in range(400)]\nL = sum([w*w for w in ws])\n"
    window.scene.grouping = False  # grouped, this graph is two boxes (tests/gui/test_canvas_groups.py)
    with qtbot.waitSignal(window.presenter.layout.busyChanged, timeout=5000,
                          check_params_cb=lambda busy: busy):
        window.editor.set_source(big, "big")
    assert len(window.scene.boxes) == 8  # still the tutorial's graph while the big one is laid out
    assert "Laying out" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.graphShown, timeout=60000):
        pass
    assert len(window.scene.boxes) > BACKGROUND_LAYOUT_NODES
    # the newest program wins: a big one, then at once a small one
    with qtbot.waitSignal(window.graphShown, timeout=10000):
        window.editor.set_source(big.replace("0.1", "0.2"), "big2")
        window.editor.select_preset("three-step")
    assert len(window.scene.boxes) == 8
    QApplication.processEvents()
    assert len(window.scene.boxes) == 8 and not window.presenter.layout.busy


def test_a_reset_turns_the_tour_back_to_its_first_page(window, qtbot):
    window.teach.setCurrentWidget(window.tour)
    window._push_moment_to_panels()
    for _ in range(3):
        window.tour.next_page()
    assert window.tour.page_index() == 3
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.reset()
    assert window.tour.page_index() == 0
