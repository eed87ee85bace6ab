"""The guards of the Session and the highlight rules of the canvas, each with a test that fails
when the guard or the rule is removed (found by mutating them one at a time, tools/mutate.py).

The engine's late signals are delivered as the worker delivers them: by emitting the worker's
own signals (from the GUI thread the connection to the Session is direct, so each one has been
handled when ``emit`` returns, before any queued signal of the real worker can arrive).
"""

import pytest

from autodiff_gui.canvas.items import COMPUTING, RECEIVING, UPSTREAM
from autodiff_gui.canvas.scene import GraphScene
from autodiff_gui.session import CHAIN, FORWARD, ITERATIONS, LIVE, LOADED, SEED, STARTED, TRAVEL
from autodiff_gui.worker import SPEEDS
from engine.graph import format_number
from engine.language import parse
from engine.presets import preset
from engine.replay import replay


def wait_shown(qtbot, session, kind, act):
    with qtbot.waitSignal(session.momentChanged, timeout=10000,
                          check_params_cb=lambda shown: shown.kind == kind) as blocker:
        act()
    return blocker.args[0]


def one_of_each_engine_signal(qtbot, window):
    """A whole iteration's records, then an iteration started step by step, with its first
    forward step and first multiplication: one of everything the worker sends."""
    s = window.session
    records = wait_shown(qtbot, s, ITERATIONS, window.step_iteration).records
    start = wait_shown(qtbot, s, STARTED, window.step_one).step
    m = s.current_moment()
    return records, start, m.forward[0], m.chain[0]


def test_late_signals_of_the_program_before_a_load_are_never_shown(qtbot, window):
    s, w = window.session, window.session.engine.worker
    records, start, fstep, cstep = one_of_each_engine_signal(qtbot, window)
    kept = len(s.history)
    shown, ended = [], []
    s.momentChanged.connect(shown.append)
    s.runEnded.connect(lambda *a: ended.append(a))
    window.iterationsShown.connect(shown.append)
    s.load(parse("w = Value(3.0)\nL = w * w\n"))
    w.iterationsDone.emit(records, None)
    w.iterationStarted.emit(start)
    w.forwardStep.emit(fstep)
    w.chainRuleStep.emit(cstep)
    w.runFinished.emit("converged", "a run that was replaced")
    assert shown == [] and ended == []
    assert len(s.history) == kept and s.awaiting_reset
    loaded = wait_shown(qtbot, s, LOADED, lambda: None)
    assert [n.name for n in loaded.graph.nodes] == ["w", "L"]
    assert len(s.history) == 0 and not s.awaiting_reset
    assert [x.kind for x in shown] == [LOADED] and ended == []


def test_late_signals_after_a_reset_are_never_shown(qtbot, window):
    s, w = window.session, window.session.engine.worker
    records, start, fstep, cstep = one_of_each_engine_signal(qtbot, window)
    shown = []
    s.momentChanged.connect(shown.append)
    s.reset()
    w.forwardStep.emit(fstep)
    w.iterationsDone.emit(records, None)
    assert shown == [] and s.awaiting_reset
    wait_shown(qtbot, s, LOADED, lambda: None)
    assert len(s.history) == 0


def test_while_travelling_the_engine_moves_on_but_the_moment_shown_stays(qtbot, window):
    s, w = window.session, window.session.engine.worker
    records, start, fstep, cstep = one_of_each_engine_signal(qtbot, window)
    travel = wait_shown(qtbot, s, TRAVEL, lambda: window.travel_to_iteration(0))
    assert not s.live
    shown = []
    s.momentChanged.connect(shown.append)
    w.forwardStep.emit(fstep)
    w.chainRuleStep.emit(cstep)
    assert shown == []  # the live iteration advanced out of sight
    assert s.shown is travel
    # back to live: the canvas shows where the engine got to while the learner was away
    live = wait_shown(qtbot, s, LIVE, window.back_to_live)
    seed = live.moment.seed_position
    assert live.live and live.position == seed + cstep.number
    assert live.moment.position == seed + cstep.number


def test_records_that_arrive_while_travelling_are_kept_but_do_not_move_the_view(qtbot, window):
    s, w = window.session, window.session.engine.worker
    records, start, fstep, cstep = one_of_each_engine_signal(qtbot, window)
    travel = wait_shown(qtbot, s, TRAVEL, lambda: window.travel_to_iteration(0))
    before = len(s.history)
    with qtbot.waitSignal(s.momentChanged, timeout=10000) as blocker:
        w.iterationsDone.emit(records, None)
    update = blocker.args[0]
    assert update.kind == TRAVEL and not update.live and not update.redraw
    assert (update.iteration, update.position) == (travel.iteration, travel.position)
    assert list(update.records) == list(records)
    assert len(s.history) == before + len(records)
    w.iterationStarted.emit(start)  # a new step-by-step iteration, unseen while travelling
    assert s.shown.kind == TRAVEL


def test_live_records_move_the_view_to_the_newest_iteration(qtbot, window):
    s = window.session
    first = wait_shown(qtbot, s, ITERATIONS, window.step_iteration)
    second = wait_shown(qtbot, s, ITERATIONS, window.step_iteration)
    assert first.live and second.live
    assert second.iteration == first.iteration + 1 == 1
    assert second.record.iteration == s.history.last().iteration == 1
    # each batch brings the graph after its backward pass, and the window draws that one
    assert second.graph is not None and second.graph is not first.graph
    assert s.graph is second.graph
    assert second.graph.node_named("w").grad == pytest.approx(second.record.param("w").grad)


# --- the highlight rules -------------------------------------------------------------------------

@pytest.fixture
def three_step(qapp):
    moment = replay(preset("three-step").program())
    scene = GraphScene()
    scene.show_graph(moment.before, grads_known=False)
    return scene, moment


def test_a_forward_step_lights_its_box_its_operation_and_every_input_edge(three_step):
    scene, m = three_step
    g = m.before
    total = len(m.forward)
    for step in m.forward:
        scene.show_forward_step(step, total)
        node = g.nodes[step.node]
        expected = {("box", step.node): COMPUTING, ("op", step.node): COMPUTING}
        expected.update({("edge", (c, step.node, i)): COMPUTING for i, c in enumerate(node.children)})
        assert scene.highlighted() == expected
    assert any(len(g.nodes[s.node].children) == 2 for s in m.forward)  # both edges were checked


def test_a_multiplication_lights_the_parent_upstream_and_the_child_receiving(three_step):
    scene, m = three_step
    g = m.before
    for step in m.chain:
        scene.show_chain_rule_step(step, "text", len(m.chain))
        assert scene.highlighted() == {
            ("box", step.parent): UPSTREAM, ("op", step.parent): UPSTREAM,
            ("result", step.parent): UPSTREAM,
            ("edge", (step.child, step.parent, step.input_index)): RECEIVING,
            ("box", step.child): RECEIVING,
        }
    assert any(step.input_index == 1 for step in m.chain)  # a second input's edge was lit too
    assert g.nodes[m.chain[0].parent].name == "L"


def test_a_moment_lights_its_last_step_and_the_whole_iteration_lights_the_last_multiplication(
        three_step):
    scene, m = three_step
    scene.show_moment(m.at(2))  # two forward steps done: the second is lit
    step = m.forward[1]
    assert scene.highlighted()[("box", step.node)] == COMPUTING
    scene.show_moment(m.at(m.seed_position + 3))  # three multiplications done: the third is lit
    third = m.chain[2]
    assert scene.highlighted()[("box", third.child)] == RECEIVING
    assert scene.highlighted()[("box", third.parent)] == UPSTREAM
    scene.show_moment(m.at(m.complete))
    last = m.chain[-1]
    assert scene.highlighted()[("box", last.child)] == RECEIVING
    scene.show_moment(m.at(0))  # nothing computed yet: nothing lit
    assert scene.highlighted() == {}


def test_showing_a_step_after_another_leaves_only_the_new_one_lit(three_step):
    scene, m = three_step
    scene.show_chain_rule_step(m.chain[0], "text")
    scene.show_forward_step(m.forward[0], len(m.forward))
    assert set(scene.highlighted().values()) == {COMPUTING}


def test_travelling_during_a_run_pauses_the_engine(qtbot, window):
    s = window.session
    window.speed_control.set_speed(len(SPEEDS) - 2)
    with qtbot.waitSignal(window.iterationsShown, timeout=10000):
        window.toggle_run()
    assert s.state.running
    with qtbot.waitSignal(s.stateChanged, timeout=10000,
                          check_params_cb=lambda state: not state.running):
        window.travel_to_iteration(0)
    assert not s.live and s.shown.kind == TRAVEL


def test_the_window_lights_each_forward_step_and_each_multiplication_as_the_engine_sends_it(
        qtbot, window):
    s = window.session
    wait_shown(qtbot, s, STARTED, window.step_one)
    g = window.scene.graph
    for number in range(1, 5):
        shown = wait_shown(qtbot, s, FORWARD, window.step_one)
        step = shown.step
        assert step.number == number and not shown.redraw
        lit = window.scene.highlighted()
        assert set(lit.values()) == {COMPUTING}
        assert ("box", step.node) in lit and ("op", step.node) in lit
        assert window.scene.banner.title == f"Step 1 · forward pass, {number} of 4"
    wait_shown(qtbot, s, SEED, window.step_one)  # step 0 of the backward pass: L's box alone
    assert window.scene.highlighted() == {("box", g.root): RECEIVING}
    shown = wait_shown(qtbot, s, CHAIN, window.step_one)
    step = shown.step
    assert window.scene.highlighted() == {
        ("box", step.parent): UPSTREAM, ("op", step.parent): UPSTREAM,
        ("result", step.parent): UPSTREAM,
        ("edge", (step.child, step.parent, step.input_index)): RECEIVING,
        ("box", step.child): RECEIVING,
    }
    assert g.nodes[step.parent].name == "L"
    assert window.scene.banner.title == "Step 2 · backward pass, multiplication 1 of 7"


def test_a_step_writes_the_number_it_computed_into_its_box(three_step):
    scene, m = three_step
    g = m.before
    scene.begin_iteration(g)
    first = m.forward[0]
    assert scene.box_texts(first.node)[1] == "value …"  # not computed yet
    scene.show_forward_step(first, len(m.forward))
    assert scene.box_texts(first.node)[1] == f"value {format_number(first.value)}"
    root = g.root
    assert scene.box_texts(root)[2] == "grad  ?"
    step = m.chain[0]
    scene.show_chain_rule_step(step, "text", len(m.chain))
    assert scene.box_texts(root)[2] == "grad  1"  # the seed comes with the first multiplication
    assert scene.box_texts(step.child)[2] != "grad  ?"


def test_a_step_for_a_node_the_canvas_does_not_have_is_ignored(qapp, three_step):
    import dataclasses

    _, m = three_step
    empty = GraphScene()
    empty.show_forward_step(m.forward[0], len(m.forward))  # no graph yet: nothing to light
    empty.show_chain_rule_step(m.chain[0], "text")
    assert empty.highlighted() == {}
    scene, _ = three_step
    n = len(m.before.nodes)
    scene.show_forward_step(dataclasses.replace(m.forward[0], node=n), len(m.forward))
    scene.show_chain_rule_step(dataclasses.replace(m.chain[0], child=n), "text")
    assert scene.highlighted() == {}


def test_the_complete_moment_says_its_multiplication_is_the_last(three_step):
    scene, m = three_step
    scene.show_moment(m.at(m.complete))
    assert scene.banner.title.endswith(f"multiplication {len(m.chain)} of {len(m.chain)} (the last)")


def test_batches_that_arrive_within_one_frame_are_shown_together_and_none_is_lost(qtbot, window):
    s, w = window.session, window.session.engine.worker
    import dataclasses

    done = [list(wait_shown(qtbot, s, ITERATIONS, window.step_iteration).records) for _ in range(3)]
    # the same iterations again, numbered as the run's next three
    batches = [[dataclasses.replace(r, iteration=r.iteration + 3) for r in b] for b in done]
    before = len(s.history)
    shown = []
    s.momentChanged.connect(lambda sh: shown.append(sh) if sh.kind == ITERATIONS else None)
    last = batches[-1][-1]
    with qtbot.waitSignal(s.momentChanged, timeout=10000,
                          check_params_cb=lambda sh: sh.kind == ITERATIONS and sh.record is last):
        for b in batches:  # a frame is shown at most once; the batches that wait are joined
            w.iterationsDone.emit(b, None)
    assert [r.iteration for sh in shown for r in sh.records] == [r.iteration for b in batches for r in b]
    assert len(shown) < len(batches)  # at least two of them waited for the same frame
    assert len(s.history) == before + sum(len(b) for b in batches)


def test_every_moment_of_an_iteration_shows_what_is_known_then_and_lights_its_last_step(three_step):
    scene, m = three_step
    g, forward = m.before, len(m.forward)
    for position in range(m.complete + 1):
        at = m.at(position)
        scene.show_moment(at)
        computed = {s.node for s in m.forward[:at.forward_done]}
        reached = {s.child for s in m.chain[:at.chain_done]}
        seeded = position >= m.seed_position
        for node in g.nodes:
            _, value, grad = scene.box_texts(node.id)
            assert (value != "value …") == (not node.children or node.id in computed), (position, node)
            knows = node.id in reached or (seeded and node.id == g.root)
            assert (grad != "grad  ?") == knows, (position, node.name)
        title = scene.banner.title
        if position == 0:
            assert title == "Step 1 · forward pass" and scene.highlighted() == {}
        elif position <= forward:  # the last forward step too: the forward pass is done
            assert title == f"Step 1 · forward pass, {position} of {forward}"
            assert scene.highlighted()[("box", m.forward[position - 1].node)] == COMPUTING
        elif position == m.seed_position:
            assert title == "Step 2 · backward pass, step 0: the seed"
            assert scene.highlighted() == {("box", g.root): RECEIVING}
        else:
            k = position - m.seed_position
            assert title.startswith(f"Step 2 · backward pass, multiplication {k} of {len(m.chain)}")
            assert scene.highlighted()[("box", m.chain[k - 1].child)] == RECEIVING


def test_a_moment_of_another_program_rebuilds_the_canvas_and_lighting_is_undone_on_the_items(
        three_step):
    scene, m = three_step
    scene.show_forward_step(m.forward[0], len(m.forward))
    lit = scene.boxes[m.forward[0].node]
    assert lit.role == COMPUTING
    scene.show_moment(m.at(0))
    assert lit.role != COMPUTING  # cleared on the item, not only in the record of what is lit
    other = replay(parse("a = Value(2.0)\nb = Value(3.0)\nL = a * b + a\n"))
    scene.show_moment(other.at(1))
    assert len(scene.boxes) == len(other.before.nodes) == 4
    assert scene.box_texts(other.forward[0].node)[1] == "value 6"
