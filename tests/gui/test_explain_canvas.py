"""The canvas writes its formulas with ``engine.explain``: the same words as the Tour and the trace.

The canvas once printed ``L = o - target² = (-0.192893)²`` for the neuron preset (the square of
``target`` alone); it must print ``L = (o - target)²``, as the Tour does.
"""

from __future__ import annotations

from autodiff_gui.canvas.scene import GraphScene
from autodiff_gui.panels.tour import TourPanel
from engine import explain
from engine.presets import preset
from engine.replay import replay

NEURON_L = "L = (o - target)² = (-0.192893)² = 0.0372078"


def test_canvas_prints_the_neurons_loss_with_its_parentheses(qapp):
    m = replay(preset("neuron").program())
    scene = GraphScene()
    scene.begin_iteration(m.before)
    last = m.forward[-1]
    assert m.before.nodes[last.node].name == "L"
    scene.show_forward_step(last, len(m.forward))
    assert scene.banner.text == NEURON_L
    # the backward pass's step 0, the seed, in the words the trace uses
    scene.show_moment(m.at(m.seed_position))
    assert scene.banner.text == "dL/dL = 1" == explain.seed_text(m.after)


def test_canvas_and_tour_write_every_forward_step_alike(qtbot):
    m = replay(preset("neuron").program())
    tour = TourPanel()
    qtbot.addWidget(tour)
    tour.set_moment(m)
    text = "\n".join(tour.page_text(i) for i in range(tour.page_count()))
    scene = GraphScene()
    scene.begin_iteration(m.before)
    for step in m.forward:
        scene.show_forward_step(step, len(m.forward))
        assert scene.banner.text == explain.forward_formula(m.before, step.node)
        assert scene.banner.text in text, scene.banner.text
    assert NEURON_L in text


def test_canvas_tooltips_name_the_gradient_with_parentheses(qapp):
    m = replay(preset("neuron").program())
    scene = GraphScene()
    scene.show_graph(m.after)
    product = m.after.node_named("x1·w1").id
    assert "d(x1·w1)/dx1" in scene.edges[(m.after.node_named("x1").id, product, 0)].toolTip()
    assert "dL/d(x1·w1)" in scene.boxes[product].toolTip()


def test_canvas_boxes_carry_the_programs_names(qapp):
    m = replay(preset("network").program())
    scene = GraphScene()
    scene.show_graph(m.after)
    scene.expand_all()  # the network opens grouped (tests/gui/test_canvas_groups.py): every node
    assert [scene.box_texts(n.id)[0] for n in m.after.nodes] == [n.name for n in m.after.nodes]
    neuron = m.after.node_named("hidden[2][4]").id
    assert "line 10, column 12" in scene.ops[neuron].toolTip()


def test_an_auto_named_box_says_where_it_was_made(qapp):
    from engine.language import parse
    m = replay(parse("w = Value(0.5)\nL = 2 * tanh(w*w*w + w*w*w*w + 3*w*w)\n"))
    scene = GraphScene()
    scene.show_graph(m.after)
    auto = next(n for n in m.after.nodes if explain.is_auto_name(n))
    assert "automatic name" in scene.boxes[auto.id].toolTip()
    assert "line 2, column 9" in scene.boxes[auto.id].toolTip()
