"""engine.groups on a real network: micrograd's demo perceptron opens as its layers, in at most
BUDGET boxes, and every node is shown by exactly one of them."""

from __future__ import annotations

import pytest
from mlp_program import mlp_program

from engine.groups import BUDGET, default_open, key_group, visible_graph
from engine.language import evaluate, parse


@pytest.fixture(scope="module")
def network():
    ev = evaluate(parse(mlp_program((16, 16), points=100)))  # micrograd's demo network
    ev.loss.backward()
    return ev.snapshot()


def test_the_perceptron_opens_as_its_layers_within_the_budget(network):
    view = visible_graph(network, default_open(network))
    assert len(view.graph.nodes) <= BUDGET
    boxes = {network.groups[key_group(k)].name for k in view.keys if k < 0}
    assert {"h1", "h2", "preds"} <= boxes  # each layer is one box, as a learner reads the network
    loss_item = view.graph.nodes[view.position(view.shown_as[network.root])]
    assert loss_item.name.startswith("loss")  # the loss (or the sum that makes it) shows by name
    assert view.graph.root == loss_item.id
    # the boxes pass the network along in order: inputs → h1 → h2 → preds → loss
    by_name = {n.name: n for n in view.graph.nodes}
    assert by_name["h1"].id in by_name["h2"].children
    assert by_name["h2"].id in by_name["preds"].children


def test_every_node_of_the_perceptron_is_shown_by_one_item(network):
    view = visible_graph(network, default_open(network))
    assert len(view.shown_as) == len(network.nodes)
    hidden = sum(len(m) for m in view.members.values())
    plain = sum(1 for k in view.keys if k >= 0)
    assert hidden + plain == len(network.nodes)
    for key in view.keys:
        if key < 0:
            assert all(view.shown_as[n] == key for n in view.members[key_group(key)])


def test_the_demo_network_program_has_the_size_of_micrographs(network):
    # 2-16-16-1 on 100 points: micrograd's graph has 67,938 nodes, with the leading 0 node of
    # Python's sum and its addition, which the language's sum(...) does not make
    assert len(network.nodes) + 2 == 67_938
