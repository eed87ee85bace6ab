"""Groups of a program's graph, and the graph drawn with some of them collapsed (engine.groups)."""

from __future__ import annotations

import math

import pytest

from engine.graph import GraphSnapshot
from engine.groups import (BUDGET, all_open, default_open, group_key, key_group, nesting,
                           visible_graph)
from engine.language import evaluate, parse
from engine.presets import preset, presets


def graph_of(name: str) -> GraphSnapshot:
    ev = evaluate(preset(name).program())
    ev.loss.backward()
    return ev.snapshot()


@pytest.fixture(scope="module")
def network() -> GraphSnapshot:
    return graph_of("network")


def named(graph: GraphSnapshot, name: str):
    found = [g for g in graph.groups if g.name == name]
    assert len(found) == 1, (name, [g.name for g in graph.groups])
    return found[0]


def test_groups_follow_the_program_and_nest(network):
    neuron = named(network, "hidden[2][4]")
    point = named(network, "hidden[2]")
    layer = named(network, "hidden")
    weighted = named(network, "sum(w1[4]·xs[2])")
    assert (weighted.parent, neuron.parent, point.parent, layer.parent) == \
        (neuron.id, point.id, layer.id, -1)
    assert weighted.kind == "sum" and neuron.kind == "element" and layer.kind == "list"
    # the neuron makes its bias addition and tanh; its weighted sum makes the products and adds
    assert sorted(network.nodes[n].op for n in neuron.nodes) == ["+", "tanh"]
    assert network.nodes[max(neuron.nodes)].name == "hidden[2][4]"
    assert [network.nodes[n].op for n in weighted.nodes].count("*") == 2
    # the weights are a list of rows, each a group of its parameters
    row = named(network, "w1[3]")
    assert [network.nodes[n].name for n in row.nodes] == ["w1[3][0]", "w1[3][1]"]
    assert row.parent == named(network, "w1").id
    # an unnamed comprehension's element is called as its result is
    assert {g.name for g in network.groups if g.parent == named(network, "loss = sum((preds - ys)²)").id} \
        == {"(preds[0] + 1)²", "(preds[1] - 1)²", "(preds[2] - 1)²", "(preds[3] + 1)²"}
    # every group's nodes are its own: no node is in two groups
    seen = [n for g in network.groups for n in g.nodes]
    assert len(seen) == len(set(seen))
    assert all(g.parent < g.id for g in network.groups)


def test_a_term_alone_is_not_a_group():
    graph = evaluate(parse("w = [Value(1.0), Value(2.0)]\nL = sum([wi * 3 for wi in w])")).snapshot()
    kinds = sorted(g.kind for g in graph.groups)
    assert kinds == ["list", "sum"]  # no group per `wi * 3`: a box of one operation teaches nothing


def test_everything_open_is_the_graph_itself(network):
    shown = visible_graph(network, all_open(network))
    assert shown.graph is network and shown.is_identity()
    assert shown.shown_as == tuple(range(len(network.nodes)))


BIG_PRESETS = ("network", "moons")  # hundreds or thousands of nodes: they open grouped


@pytest.mark.parametrize("name", [p.name for p in presets() if p.name not in BIG_PRESETS])
def test_small_presets_open_fully_expanded(name):
    graph = graph_of(name)
    shown = visible_graph(graph, default_open(graph))
    assert shown.graph is graph  # the tutorial's 8 nodes look exactly as they always did


def test_the_network_opens_at_the_neurons_within_budget(network):
    opened = default_open(network)
    shown = visible_graph(network, opened)
    names = [n.name for n in shown.graph.nodes]
    assert len(names) <= BUDGET
    neurons = [f"hidden[{i}][{j}]" for i in range(4) for j in range(6)]
    for neuron in neurons:  # every neuron is a box: the gradient's path through them shows
        assert names.count(neuron) == 1
        assert shown.keys[names.index(neuron)] == group_key(named(network, neuron).id)
    assert {"w1", "b1", "w2", "b2", "loss"} <= set(names)


def test_a_collapsed_group_takes_its_inputs_once_and_shows_its_result(network):
    neuron = named(network, "hidden[1][3]")
    opened = all_open(network) - {neuron.id}
    shown = visible_graph(network, opened)
    assert len(shown.graph.nodes) == len(network.nodes) - nesting(network).size[neuron.id] + 1
    box = shown.graph.nodes[shown.position(group_key(neuron.id))]
    out = network.node_named("hidden[1][3]")
    assert shown.outputs[neuron.id] == (out.id,)
    assert (box.name, box.data, box.grad, box.op) == ("hidden[1][3]", out.data, out.grad, "tanh")
    assert box.grad != 0
    # its inputs: the neuron's weights, its bias, the data point's inputs, each once
    inputs = {shown.keys[c] for c in box.children}
    assert len(box.children) == len(inputs)
    members = set(shown.members[neuron.id])
    outside = {c for m in members for c in network.nodes[m].children if c not in members}
    assert inputs == outside
    assert {network.nodes[k].name for k in inputs} >= {"w1[3][0]", "w1[3][1]", "b1[3]"}
    # what used the neuron now uses the box
    for node in network.nodes:
        if out.id in node.children and node.id not in members:
            user = shown.graph.nodes[shown.position(node.id)]
            assert shown.position(group_key(neuron.id)) in user.children


@pytest.mark.parametrize("opened", ["none", "default", "half"])
def test_the_visible_graph_is_a_graph(network, opened):
    chosen = {"none": frozenset(), "default": default_open(network),
              "half": frozenset(g.id for g in network.groups if g.id % 2)}[opened]
    shown = visible_graph(network, chosen)
    g = shown.graph
    for i, node in enumerate(g.nodes):  # numbered in order, inputs before users
        assert node.id == i and all(c < i for c in node.children)
    # every node of the full graph is shown by exactly one item: itself or its box
    for n, key in enumerate(shown.shown_as):
        if key >= 0:
            assert key == n and shown.keys[shown.position(n)] == n
        else:
            assert n in shown.members[key_group(key)]
    assert g.nodes[g.root].name in ("loss", "loss = sum((preds - ys)²)")
    boxes = [k for k in shown.keys if k < 0]
    assert len(boxes) == len(set(boxes)) == len(shown.collapsed)
    for node in g.nodes:
        if shown.keys[node.id] < 0:
            assert all(math.isnan(x) for x in node.local_grads)


def test_snapshots_of_later_iterations_keep_the_groups():
    program = preset("network").program()
    first = evaluate(program).snapshot()
    later = evaluate(program, [0.1] * 25).snapshot(like=first)
    assert later.groups == first.groups
    assert first.with_values([0.0] * len(first.nodes), [0.0] * len(first.nodes)).groups == first.groups


def test_any_groups_open_give_a_graph_whose_boxes_hold_what_they_hide():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    graphs = [graph_of("network"), graph_of("regression")]

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from([0, 1]), st.data())
    def check(which, data):
        graph = graphs[which]
        opened = data.draw(st.sets(st.sampled_from(range(len(graph.groups)))))
        shown = visible_graph(graph, opened)
        g = shown.graph
        assert all(c < node.id for node in g.nodes for c in node.children)
        assert sorted(n for ms in shown.members.values() for n in ms) == \
            sorted(n for n, k in enumerate(shown.shown_as) if k < 0)
        for node in graph.nodes:  # every edge of the full graph shows, or is inside one box
            for c in node.children:
                a, b = shown.shown_as[c], shown.shown_as[node.id]
                if a != b:
                    assert shown.position(a) in g.nodes[shown.position(b)].children
        root = g.nodes[g.root]
        assert root.data == graph.nodes[graph.root].data

    check()


def test_the_moons_network_opens_grouped_within_budget():
    graph = graph_of("moons")
    shown = visible_graph(graph, default_open(graph))
    assert len(graph.nodes) > 8000 and len(shown.graph.nodes) <= BUDGET
    assert shown.graph.nodes[shown.graph.root].name == "loss"
