"""Names from the program: every node is called what a learner would write.

An element of a named list is named by its place (``hidden[2][4]``, ``preds[1]``), a term of a
sum by its expression (``(m·1 + b - 2)²``), a sum by ``sum(...)`` of what it adds
(``sum(w1[2]·xs[1])``); an auto-name such as ``t9`` is left only where nothing better exists, and
then it says which line and column made it. The trace, the ledger and the exports use the names
of the one snapshot.
"""

from __future__ import annotations

import json

import pytest

from autodiff_gui.cli import trace_lines
from autodiff_gui.panels.ledger import ledger_rows
from engine import explain, formats
from engine.graph import backward_steps
from engine.language import evaluate, parse
from engine.presets import preset
from engine.replay import replay


def graph_of(name: str):
    return evaluate(preset(name).program()).snapshot()


def text_at(source: str, origin: str) -> str:
    line, column = (int(x) for x in origin.split(":"))
    return source.splitlines()[line - 1][column - 1:]


def test_network_names_its_neurons_by_their_place():
    g = graph_of("network")
    names = [n.name for n in g.nodes]
    for place in ("hidden[2][4]", "hidden[0][0]", "hidden[3][5]", "preds[1]", "preds[3]"):
        assert names.count(place) == 1, place
    assert g.node_named("hidden[2][4]").op == "tanh" and g.node_named("preds[1]").op == "tanh"
    # the weighted sums, by the lists they multiply, and each neuron's input with its bias
    assert g.node_named("sum(w1[4]·xs[2])").op == "+"
    assert g.node_named("sum(w1[4]·xs[2]) + b1[4]").children == (
        g.node_named("sum(w1[4]·xs[2])").id, g.node_named("b1[4]").id)
    assert g.node_named("sum(w2·hidden[1])").op == "+"
    assert g.nodes[g.root].name == "loss"
    assert not [n.name for n in g.nodes if explain.is_auto_name(n)]
    # every computed node is one of: a place, a sum, an expression of named inputs
    assert all(len(n) <= explain.MAX_EXPRESSION_NAME or n.startswith("sum(") for n in names)


def test_network_names_are_unique_where_the_program_tells_them_apart():
    g = graph_of("network")
    ops = [n for n in g.nodes if n.children]
    # a neuron's weighted sum and its input are one per neuron and data point
    sums = [n.name for n in ops if n.name.startswith("sum(w1[")]
    assert len(sums) == len(set(sums)) == 2 * 4 * 6  # (the sum and sum + bias) × 4 points × 6


def test_regression_names_each_squared_error_by_its_term():
    g = graph_of("regression")
    names = [n.name for n in g.nodes]
    for term in ("(m·1 + b - 2)²", "(m·2 + b - 4)²", "(m·3 + b - 6)²"):
        assert term in names
    assert "sum((m·x_train + b - y_train)²) (terms 1–2)" in names
    assert g.nodes[g.root].name == "loss"
    assert not [n for n in g.nodes if explain.is_auto_name(n)]


@pytest.mark.parametrize("name", ["network", "regression", "neuron"])
def test_every_operation_knows_the_text_that_made_it(name):
    program = preset(name).program()
    g = evaluate(program).snapshot()
    for n in g.nodes:
        if not n.children:
            assert n.origin == ""
            continue
        assert n.origin, n.name
        made = text_at(program.source, n.origin)
        if n.op == "tanh":
            assert made.startswith("tanh("), (n.name, made)
        if n.name.startswith("sum(") and "(terms" not in n.name:
            assert made.startswith("sum("), (n.name, made)


LONG = "w = Value(0.5)\nL = 2 * tanh(w*w*w + w*w*w*w + 3*w*w)\n"


def test_an_auto_name_says_where_it_comes_from():
    g = evaluate(parse(LONG)).snapshot()
    auto = [n for n in g.nodes if explain.is_auto_name(n)]
    assert auto, [n.name for n in g.nodes]
    tanh = next(n for n in auto if n.op == "tanh")
    assert tanh.origin == "2:9" and text_at(LONG, tanh.origin).startswith("tanh(")
    assert explain.origin_text(tanh) == "line 2, column 9"
    ev = evaluate(parse(LONG))
    before = ev.snapshot()
    lines = trace_lines(before, ev.snapshot(), list(backward_steps(ev.loss)))
    assert any(line.strip().startswith(f"{i}. {tanh.name} = ") and
               line.endswith("[made by line 2, column 9]")
               for i, line in enumerate(lines)), lines


def test_names_survive_the_exports():
    g = graph_of("network")
    back = formats.from_json(formats.to_json(g))
    assert back == g
    data = json.loads(formats.to_json(g))
    assert [n["name"] for n in data["nodes"]] == [n.name for n in g.nodes]
    assert data["nodes"][g.node_named("preds[1]").id]["origin"] == "11:10"
    assert '"preds[1] = ' in formats.to_mermaid(g) and '"hidden[2][4] = ' in formats.to_dot(g)


def test_the_trace_and_the_ledger_use_the_snapshots_names():
    m = replay(preset("network").program())
    rows = ledger_rows(m)
    assert [r[1] for r in rows[1:]] == [m.after.grad_name(s.child) for s in m.chain]
    assert "dloss/dpreds[1]" in {r[1] for r in rows}
    ev = evaluate(preset("network").program())
    before = ev.snapshot()
    text = "\n".join(trace_lines(before, ev.snapshot(), list(backward_steps(ev.loss))))
    assert "dhidden[2][4]/d(sum(w1[4]·xs[2]) + b1[4])" in text
    assert "t9" not in text


def test_a_program_with_its_own_names_keeps_them():
    g = evaluate(parse("w = Value(1.0)\nxs = [w * 2, w * 3]\nL = sum(xs)\n")).snapshot()
    assert [n.name for n in g.nodes if n.children] == ["xs[0]", "xs[1]", "L"]


@pytest.mark.parametrize("name", ["network", "regression", "three-step"])
def test_a_later_iteration_borrows_the_names_of_an_earlier_one(name):
    program = preset(name).program()
    first = evaluate(program).snapshot()
    moved = [v + 0.25 for v in evaluate(program).param_values()]
    fresh, lent = evaluate(program, moved), evaluate(program, moved)
    fresh.loss.backward()
    lent.loss.backward()
    assert lent.snapshot(like=first) == fresh.snapshot()
    # a graph of another shape is named afresh
    other = evaluate(parse("w = Value(1.0)\nL = w * 2\n"))
    assert [n.name for n in other.snapshot(like=first).nodes] == ["w", "2", "L"]
