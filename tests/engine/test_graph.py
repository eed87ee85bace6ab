"""Snapshots, names, numbers and the observable passes in ``engine.graph``."""

import math

import pytest

from engine.graph import (backward_steps, format_number, formula, forward_steps, op_symbol,
                          snapshot)
from engine.language import evaluate, parse
from engine.value import Value, topological_order


@pytest.mark.parametrize("x, text", [
    (0, "0"), (-0.0, "0"), (1, "1"), (1.5, "1.5"), (-4, "-4"), (1e-7, "1e-7"),
    (123456789, "1.23457e8"), (1e21, "1e21"), (math.inf, "inf"), (-math.inf, "-inf"),
    (math.nan, "nan"), (True, "1"), (2.0000001, "2"),
])
def test_format_number(x, text):
    assert format_number(x) == text


@pytest.mark.parametrize("op, symbol", [
    ("**2", "x²"), ("**-1", "x⁻¹"), ("**0.5", "x⁰·⁵"), ("*", "×"), ("+", "+"), ("**", "^"),
    ("sigmoid", "σ"), ("sqrt", "√"), ("exp", "exp"),
])
def test_op_symbol(op, symbol):
    assert op_symbol(op) == symbol


def test_snapshot_ids_are_positions_in_the_topological_order():
    a = Value(2.0, label="a")
    L = (a * 3).exp()
    g = snapshot(L)
    assert [n.id for n in g.nodes] == list(range(len(g.nodes)))
    assert g.root == len(g.nodes) - 1
    order = topological_order(L)
    assert [n.data for n in g.nodes] == [v.data for v in order]
    assert all(c < n.id for n in g.nodes for c in n.children)
    assert g.edges == [(c, n.id, i) for n in g.nodes for i, c in enumerate(n.children)]


def test_unlabelled_nodes_get_short_expression_names():
    ev = evaluate(parse("w = Value(1.0)\nx = 2\nL = (w * x - 3)**2 + exp(w)\n"))
    names = [n.name for n in ev.snapshot().nodes]
    assert "w·x" in names and "exp(w)" in names and "L" in names
    assert all(len(n) <= 12 for n in names)


def test_gradient_names():
    ev = evaluate(parse("w = Value(0.0)\nx = 1\ny = 2\nz = w * x\ne = z - y\nL = e**2\n"))
    g = ev.snapshot()
    assert g.grad_name(g.node_named("z").id) == "dL/dz"
    assert g.grad_name(g.node_named("-y").id) == "dL/d(-y)"
    assert g.local_grad_name(g.node_named("e").id, g.node_named("z").id) == "de/dz"


def test_forward_steps_number_the_computed_nodes():
    ev = evaluate(parse("a = Value(3.0)\nb = a**2\nc = 3 * a\nL = b + c\n"))
    steps = list(forward_steps(ev.snapshot()))
    assert [s.number for s in steps] == [1, 2, 3]
    assert [s.op for s in steps] == ["**2", "*", "+"]
    assert [s.value for s in steps] == [9.0, 9.0, 18.0]


def test_backward_steps_count_the_paths_into_a_shared_node():
    ev = evaluate(parse("a = Value(3.0)\nb = a**2\nc = 3 * a\nL = b + c\n"))
    g = ev.snapshot()
    steps = list(backward_steps(ev.loss))
    a = g.node_named("a").id
    into_a = [s for s in steps if s.child == a]
    assert [(s.contribution, s.contributions) for s in into_a] == [(1, 2), (2, 2)]
    assert formula(g, into_a[0]).startswith("dL/da = dL/dc · dc/da = (1) · (3) = 3")
    assert formula(g, into_a[1]) == "dL/da += dL/db · db/da = (1) · (6): dL/da = 3 + 6 = 9"


def test_backward_steps_of_a_times_a_record_both_inputs():
    a = Value(3.0, label="a")
    L = a * a
    steps = list(backward_steps(L))
    assert len(steps) == 2
    assert [s.child_grad_after for s in steps] == [3.0, 6.0]
    assert a.grad == 6.0


def test_backward_steps_cost_nothing_until_iterated():
    a = Value(3.0)
    L = a * a
    gen = backward_steps(L)
    assert a.grad == 0 and L.grad == 0
    next(gen)
    assert L.grad == 1


# --- what mutation testing found unguarded (tools/mutate.py) ----------------------------------------

def test_with_values_replaces_the_numbers_and_keeps_the_shape_and_names():
    a = Value(2.0, label="a")
    L = a * a
    L.label = "L"
    L.backward()
    g = snapshot(L)
    h = g.with_values([5.0, 25.0], [10.0, 1.0])
    assert [(n.name, n.data, n.grad) for n in h.nodes] == [("a", 5.0, 10.0), ("L", 25.0, 1.0)]
    assert h.root == g.root and h.edges == g.edges
    assert [n.local_grads for n in h.nodes] == [n.local_grads for n in g.nodes]
    k = g.with_values([5.0, 25.0], [10.0, 1.0], [(), (5.0, 5.0)])
    assert k.nodes[1].local_grads == (5.0, 5.0)


def test_snapshot_like_lends_names_only_to_a_graph_of_the_same_shape():
    from engine.graph import INPUT, snapshot_like

    ev = evaluate(parse("w = Value(1.0)\nx = 3.0\nL = sum([w * x, w])"))
    ev.loss.backward()
    first = ev.snapshot()
    again = evaluate(parse("w = Value(1.0)\nx = 3.0\nL = sum([w * x, w])"), [2.0])
    again.loss.backward()
    lent = snapshot_like(again.loss, first, again.kinds)
    assert lent == again.snapshot()
    assert [n.kind for n in lent.nodes if n.name == "x"] == [INPUT]
    assert [n.data for n in lent.nodes] != [n.data for n in first.nodes]
    a = Value(2.0, label="a")
    assert snapshot_like(a * a, snapshot(a + a)) is None  # same size, another operation
    assert snapshot_like(a * a * a, snapshot(a * a)) is None  # another size
    b = Value(2.0, label="b")
    assert snapshot_like(b * b, snapshot(a * a)) is None  # another label


def test_a_snapshots_nodes_are_frozen_and_carry_no_per_node_dict():
    import dataclasses

    node = snapshot(Value(2.0, label="a") * 3).nodes[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.data = 5.0
    assert not hasattr(node, "__dict__")  # slots: a 100,000-node snapshot stays small


def test_a_node_made_inside_the_losss_own_expression_gets_the_losss_origin():
    ev = evaluate(parse("w = Value(1.0)\ny = 2.0\nL = w - y"))  # z - y makes -y, then adds it
    origins = {n.name: n.origin for n in ev.snapshot().nodes}
    assert origins == {"w": "", "y": "", "-1": "", "-y": "3:5", "L": "3:5"}


def test_a_graph_snapshot_is_frozen_and_slotted():
    import dataclasses

    g = snapshot(Value(2.0, label="a") * 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.root = 0
    assert not hasattr(g, "__dict__")
