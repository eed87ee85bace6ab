"""Every number in shared/reference/tutorial-numbers.md, asserted."""

import pytest

from engine.graph import backward_steps, formula
from engine.language import evaluate
from engine.presets import preset
from engine.train import CONVERGED, DIVERGED, MAX_STEPS, Trainer
from engine.value import Value, topological_order


@pytest.fixture
def three_step():
    ev = evaluate(preset("three-step").program())
    return ev, ev.snapshot()


def names(graph):
    return [n.name for n in graph.nodes]


def test_graph_has_the_tutorials_eight_nodes_in_topological_order(three_step):
    _, graph = three_step
    assert names(graph) == ["w", "x", "z", "y", "-1", "-y", "e", "L"]


def test_the_value_class_alone_builds_the_same_graph():
    w, x, y = Value(0.0, label="w"), Value(1.0, label="x"), Value(2.0, label="y")
    L = (w * x - y) ** 2
    assert [v.data for v in topological_order(L)] == [0.0, 1.0, 0.0, 2.0, -1, -2.0, -2.0, 4.0]


def test_forward_values_and_local_gradients(three_step):
    _, g = three_step
    z, e, L = g.node_named("z"), g.node_named("e"), g.node_named("L")
    assert (z.data, e.data, L.data) == (0, -2, 4)
    assert z.local_grads[0] == 1  # dz/dw = x = 1
    assert e.local_grads == (1, 1)  # de/dz = 1, de/d(-y) = 1
    assert L.local_grads == (-4,)  # dL/de = 2e = -4
    assert L.children == (g.node_named("e").id,)
    assert e.children == (g.node_named("z").id, g.node_named("-y").id)


def test_backward_chain(three_step):
    ev, _ = three_step
    steps = list(backward_steps(ev.loss))
    g = ev.snapshot()
    assert len(steps) == 7
    by_number = {s.number: (g.nodes[s.parent].name, g.nodes[s.child].name, s.product) for s in steps}
    assert by_number[1] == ("L", "e", -4)
    assert by_number[2] == ("e", "z", -4)
    assert by_number[3] == ("e", "-y", -4)
    assert {by_number[4][1], by_number[5][1]} == {"y", "-1"}
    assert by_number[6] == ("z", "w", -4)
    assert by_number[7][1] == "x"
    assert g.node_named("L").grad == 1
    assert formula(g, steps[1]) == "dL/dz = dL/de · de/dz = (-4) · (1) = -4"


def test_node_L_and_node_e_after_one_pass(three_step):
    ev, _ = three_step
    ev.loss.backward()
    g = ev.snapshot()
    L, e = g.node_named("L"), g.node_named("e")
    assert (L.data, L.grad, L.local_grads) == (4, 1, (-4,))
    assert (e.data, e.grad, e.local_grads) == (-2, -4, (1, 1))


def test_weight_update_and_first_iterations():
    t = Trainer(preset("three-step").program(), lr=0.1)
    expected = [(0, 4, -4), (0.4, 2.56, -3.2), (0.72, 1.6384, -2.56), (0.976, 1.048576, -2.048)]
    for it, (w, L, g) in enumerate(expected):
        rec = t.step()
        assert rec.iteration == it
        assert rec.param("w").data == pytest.approx(w, abs=1e-12)
        assert rec.loss == pytest.approx(L, abs=1e-12)
        assert rec.param("w").grad == pytest.approx(g, abs=1e-12)
    assert t.records[1].param("w").data == pytest.approx(0.4)


def test_converges_to_two():
    r = Trainer(preset("three-step").program(), lr=0.1).run(1000)
    assert r.status == CONVERGED
    assert r.final["w"] == pytest.approx(2, abs=1e-6)
    assert len(r.records) == 70  # iterations 0..69, the 69th converged
    assert r.message.startswith("converged: |dL/dw| ≤ 1e-06 after 69 iterations, w = 2.0000")


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3, 0.49])
def test_small_learning_rates_approach_monotonically(lr):
    r = Trainer(preset("three-step").program(), lr=lr).run(5000)
    ws = [rec.param("w").data for rec in r.records]
    assert all(a < b <= 2 + 1e-12 for a, b in zip(ws, ws[1:]))
    assert r.status == CONVERGED


def test_half_reaches_the_minimum_in_one_step():
    r = Trainer(preset("three-step").program(), lr=0.5).run(100)
    assert r.records[1].param("w").data == 2
    assert r.status == CONVERGED and len(r.records) == 2


@pytest.mark.parametrize("lr", [0.6, 0.75, 0.9])
def test_between_half_and_one_oscillates_and_converges(lr):
    r = Trainer(preset("three-step").program(), lr=lr).run(5000)
    errors = [rec.param("w").data - 2 for rec in r.records[:6]]
    assert all(a * b < 0 for a, b in zip(errors[1:], errors[2:]))  # sign flips around w* = 2
    assert r.status == CONVERGED


def test_one_oscillates_forever():
    r = Trainer(preset("three-step").program(), lr=1.0).run(200)
    ws = [rec.param("w").data for rec in r.records]
    assert set(ws) == {0.0, 4.0}
    assert r.status == MAX_STEPS


@pytest.mark.parametrize("lr", [1.01, 1.1, 1.5, 2.0])
def test_above_one_diverges(lr):
    r = Trainer(preset("three-step").program(), lr=lr).run(10_000)
    assert r.status == DIVERGED
    assert "diverging" in r.message
    if lr >= 1.5:
        assert len(r.records) < 40


def test_multi_path_gradient_sums_both_paths():
    ev = evaluate(preset("multi-path").program())
    steps = list(backward_steps(ev.loss))
    g = ev.snapshot()
    a = g.node_named("a")
    into_a = [s for s in steps if s.child == a.id]
    assert [s.product for s in into_a] == [3, 6]
    assert into_a[-1].child_grad_after == 9 == 2 * 3 + 3
    assert "dL/da = 3 + 6 = 9" in formula(g, into_a[-1])


def test_regression_exercise():
    program = preset("regression").program()
    assert program.settings == {"lr": 0.01, "steps": 800}
    r = Trainer(program, lr=0.01).run(800)
    m, b = r.final["m"], r.final["b"]
    assert f"y = {m:.2f}x + {b:.2f}" == "y = 2.00x + 0.00"
    assert m == pytest.approx(1.9990, abs=1e-4)
    assert b == pytest.approx(0.0023, abs=1e-4)
    assert r.loss == pytest.approx(2.2e-6, rel=0.05)
