"""The canvas draws a program's groups: a big graph opens with neurons as boxes, a double-click
opens one in place, a step inside a collapsed group lights its box (engine.groups)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter

from engine.explain import chain_formula, format_number
from engine.groups import BUDGET, group_key
from engine.presets import preset
from engine.replay import replay

from autodiff_gui.canvas import items as canvas_items
from autodiff_gui.canvas.items import RECEIVING, UPSTREAM, Edge, GroupBox, OpCircle, ValueBox
from autodiff_gui.canvas.layout import layered_layout
from autodiff_gui.canvas.scene import LAYOUT_OPTIONS, GraphScene
from autodiff_gui.canvas.view import GraphView
from autodiff_gui.export import svg_bytes


@pytest.fixture(scope="module")
def network():
    return replay(preset("network").program())


def group_id(graph, name: str) -> int:
    return next(g.id for g in graph.groups if g.name == name)


def shown(qtbot, moment):
    scene = GraphScene()
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    scene.show_graph(moment.after)
    return scene, view


def test_the_network_opens_with_its_neurons_as_boxes(qtbot, network):
    scene, _ = shown(qtbot, network)
    g = network.after
    assert 24 <= len(scene.boxes) <= BUDGET
    neuron = group_id(g, "hidden[2][4]")
    assert isinstance(scene.boxes[group_key(neuron)], GroupBox)
    out = g.node_named("hidden[2][4]")
    assert scene.group_texts(neuron) == ("hidden[2][4]", f"value {format_number(out.data)}",
                                         f"grad  {format_number(out.grad)}")
    assert scene.ops[group_key(neuron)].symbol == "tanh" and scene.ops[group_key(neuron)].grouped
    # a list of weights shows how many of its gradients are known
    w1 = group_id(g, "w1")
    assert scene.group_texts(w1) == ("w1", "12 results", "grads 12 of 12")
    assert "double-click" in scene.group_boxes[neuron].toolTip().lower()
    # its nodes are not drawn one by one
    assert out.id not in scene.boxes


def test_the_tutorials_graph_looks_as_it_always_did(qtbot):
    m = replay(preset("three-step").program())
    scene, _ = shown(qtbot, m)
    assert sorted(scene.boxes) == list(range(8))
    assert not scene.group_boxes
    expected = layered_layout(m.after, **LAYOUT_OPTIONS)
    for n in m.after.nodes:
        p = expected.boxes[n.id]
        assert scene.boxes[n.id].rect() == QRectF(p.x, p.y, p.w, p.h)
        assert type(scene.boxes[n.id]) is ValueBox


def test_double_click_opens_a_group_in_place_and_on_a_node_closes_it(qtbot, network):
    scene, view = shown(qtbot, network)
    g = network.after
    neuron = group_id(g, "hidden[1][3]")
    box = scene.boxes[group_key(neuron)]
    view.centerOn(box.rect().center())
    at = view.mapFromScene(box.rect().center())
    with qtbot.waitSignals([scene.regrouped, scene.settled], timeout=3000):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert group_key(neuron) not in scene.boxes
    tanh = g.node_named("hidden[1][3]")
    assert scene.box_texts(tanh.id) == ("hidden[1][3]", f"value {format_number(tanh.data)}",
                                        f"grad  {format_number(tanh.grad)}")
    weighted = group_id(g, "sum(w1[3]·xs[1])")
    assert isinstance(scene.boxes[group_key(weighted)], GroupBox)  # inner groups stay closed
    # the opened group is in sight
    seen = view.mapToScene(view.viewport().rect()).boundingRect()
    assert seen.intersects(scene.boxes[tanh.id].sceneBoundingRect())
    # a double-click on one of its nodes closes it again
    node = scene.boxes[tanh.id]
    view.centerOn(node.rect().center())
    with qtbot.waitSignal(scene.regrouped, timeout=3000):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                          pos=view.mapFromScene(node.rect().center()))
    assert isinstance(scene.boxes[group_key(neuron)], GroupBox)


def test_enter_opens_the_selected_group_and_backspace_closes_its_parent(qtbot, network):
    scene, view = shown(qtbot, network)
    g = network.after
    preds = group_id(g, "preds[2]")
    scene.boxes[group_key(preds)].setSelected(True)
    view.setFocus()
    with qtbot.waitSignal(scene.regrouped, timeout=3000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    inner = group_id(g, "sum(w2·hidden[2])")
    assert group_key(preds) not in scene.boxes and group_key(inner) in scene.boxes
    scene.boxes[group_key(inner)].setSelected(True)
    with qtbot.waitSignal(scene.regrouped, timeout=3000):
        qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert group_key(preds) in scene.boxes


def test_a_step_inside_a_collapsed_neuron_lights_its_box(qtbot, network):
    scene, _ = shown(qtbot, network)
    g = network.after
    neuron = group_id(g, "hidden[3][3]")
    members = set(scene.view.members[neuron])
    step = next(s for s in network.chain if s.child in members and s.parent in members)
    scene.show_graph(network.before, grads_known=False)
    scene.show_chain_rule_step(step, chain_formula(g, step), len(network.chain))
    assert scene.lit_items() == {("box", group_key(neuron)): RECEIVING}
    # the full graph's parts stay what the step is about: the banner shows the multiplication
    assert scene.highlighted()[("box", step.child)] == RECEIVING
    assert scene.banner.text == chain_formula(g, step)
    # the step from preds[3] into the neuron lights the edge between their two boxes
    pred = group_id(g, "preds[3]")
    into = next(s for s in network.chain if s.parent in scene.view.members[pred]
                and s.child == g.node_named("hidden[3][3]").id)
    scene.show_chain_rule_step(into, chain_formula(g, into), len(network.chain))
    lit = scene.lit_items()
    assert lit[("box", group_key(pred))] == UPSTREAM
    assert lit[("box", group_key(neuron))] == RECEIVING
    edge = [k for k, role in lit.items() if k[0] == "edge"]
    assert len(edge) == 1 and edge[0][1][:2] == (group_key(neuron), group_key(pred))
    assert scene.edges[edge[0][1]].role == RECEIVING


def test_opening_a_group_keeps_the_step_lit(qtbot, network):
    scene, _ = shown(qtbot, network)
    g = network.after
    neuron = group_id(g, "hidden[0][1]")
    members = set(scene.view.members[neuron])
    step = next(s for s in network.chain if s.child in members and s.parent in members)
    scene.show_chain_rule_step(step, chain_formula(g, step), len(network.chain))
    with qtbot.waitSignal(scene.regrouped, timeout=3000):
        scene.open_group(neuron)
    lit = scene.lit_items()
    key = scene.view.shown_as[step.child]
    assert lit[("box", key)] == RECEIVING  # now on the node itself, or its inner sum's box
    assert ("box", group_key(neuron)) not in lit


def test_a_highlight_repaints_only_the_items_it_changes(qtbot, monkeypatch, network):
    scene, _ = shown(qtbot, network)
    g = network.after
    repainted = []
    for cls in (ValueBox, OpCircle, Edge):
        monkeypatch.setattr(cls, "update", lambda self, *a, _r=repainted: _r.append(self))
    neuron = group_id(g, "hidden[3][3]")
    members = set(scene.view.members[neuron])
    inside = [s for s in network.chain if s.child in members and s.parent in members]
    assert len(inside) >= 2
    scene.show_chain_rule_step(inside[0], "", None)
    repainted.clear()
    scene.show_chain_rule_step(inside[1], "", None)  # the same box lit the same way
    box = scene.boxes[group_key(neuron)]
    assert set(repainted) <= {box}  # nothing else is touched
    assert len(repainted) <= 1  # and the box once at most: its gradient's text may change


def test_exports_follow_what_the_canvas_shows(qtbot, network):
    scene, _ = shown(qtbot, network)
    svg = svg_bytes(scene).decode()
    assert "hidden[2][4]" in svg and "w1[4][0]·1<" not in svg
    scene.expand_all()
    svg = svg_bytes(scene).decode()
    assert "w1[4][0]·1<" in svg


def test_expanding_a_big_graph_lays_it_out_in_the_background(window, qtbot, monkeypatch):
    from autodiff_gui.canvas import scene as scene_module
    monkeypatch.setattr(scene_module, "BACKGROUND_ITEMS", 100)
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.editor.select_preset("network")
    scene = window.scene
    assert len(scene.boxes) <= BUDGET
    with qtbot.waitSignal(window.presenter.layout.busyChanged, timeout=5000,
                          check_params_cb=lambda busy: busy):
        window.expand_action.trigger()
    assert len(scene.boxes) <= BUDGET  # the grouped drawing stays until the layout is done
    with qtbot.waitSignal(scene.regrouped, timeout=20000):
        pass
    assert len(scene.boxes) == len(scene.graph.nodes) == 260
    with qtbot.waitSignal(scene.regrouped, timeout=5000):
        window.collapse_action.trigger()  # small again: at once
    assert len(scene.boxes) <= BUDGET


def paint(item, scale: float) -> QImage:
    image = QImage(400, 200, QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.scale(scale, scale)
    painter.translate(8, 30)
    item.paint(painter, None)
    painter.end()
    return image


@pytest.mark.parametrize("kind", ["box", "group", "edge"])
def test_zoomed_out_items_drop_their_text(qapp, kind):
    scene = GraphScene()
    theme = scene.theme
    rect = QRectF(0, 0, 156, 58)

    def make(text: str):
        if kind == "edge":
            edge = Edge([QPointF(0, 20), QPointF(200, 20)], theme)
            edge.set_label(text or "")
            return edge
        item = ValueBox(rect, theme, "op") if kind == "box" else GroupBox(rect, theme, 0)
        item.set_texts(text, text, text)
        return item

    threshold = canvas_items.LABEL_DETAIL if kind == "edge" else canvas_items.TEXT_DETAIL
    near, far = threshold * 2.5, threshold * 0.8
    assert paint(make("hidden[2][4] 0.125"), near) != paint(make(""), near)  # text drawn
    assert paint(make("hidden[2][4] 0.125"), far) == paint(make(""), far)  # none: unreadable


def test_zoomed_out_a_big_graph_is_one_overview_and_exports_stay_whole(qtbot, monkeypatch, network):
    from autodiff_gui.canvas import scene as scene_module
    monkeypatch.setattr(scene_module, "OVERVIEW_ITEMS", 100)
    scene, view = shown(qtbot, network)
    scene.expand_all()
    assert scene.big()
    view.resetTransform()
    view.zoom(0.1)  # past the boxes' shapes
    assert scene.overview_shown()
    assert not any(item.isVisible() for item in scene.boxes.values())
    assert not any(item.isVisible() for item in scene.edges.values())
    assert len(scene.overview.rects) >= 2 and not scene.overview.edges.isEmpty()
    # a step lit meanwhile shows on the overview
    step = network.chain[5]
    scene.show_chain_rule_step(step, "", None)
    assert RECEIVING in {role for role, _ in scene.overview.lit}
    view.viewport().repaint()  # painted by the view itself, without an error
    # a file gets every item, with its text, whatever the canvas's zoom
    svg = svg_bytes(scene).decode()
    assert "w1[4][0]·1<" in svg
    assert scene.overview_shown()
    view.zoom(20)
    assert not scene.overview_shown()
    assert all(item.isVisible() for item in scene.boxes.values())


def test_an_opened_group_comes_out_of_its_box_smoothly(qtbot, network):
    scene, _ = shown(qtbot, network)
    g = network.after
    neuron = group_id(g, "hidden[0][2]")
    was = scene.boxes[group_key(neuron)].rect()
    with qtbot.waitSignal(scene.regrouped, timeout=3000):
        scene.open_group(neuron)
    tanh = scene.boxes[g.node_named("hidden[0][2]").id]
    assert scene.moving()
    # its nodes start where the box was, and the edges are not drawn yet
    assert tanh.sceneBoundingRect().topLeft() == was.adjusted(-4, -4, 4, 4).topLeft()
    assert all(edge.opacity() == 0 for edge in scene.edges.values())
    with qtbot.waitSignal(scene.settled, timeout=3000):
        pass
    assert not scene.moving()
    assert tanh.pos() == QPointF(0, 0) and all(b.pos() == QPointF(0, 0) for b in scene.boxes.values())
    assert all(edge.opacity() == 1 for edge in scene.edges.values())


def test_opening_more_than_the_canvas_draws_is_refused_with_a_sentence(window, qtbot, monkeypatch):
    from autodiff_gui.canvas import scene as scene_module
    monkeypatch.setattr(scene_module, "MAX_SHOWN_NODES", 100)
    with qtbot.waitSignal(window.graphShown, timeout=5000):
        window.editor.select_preset("network")
    scene = window.scene
    before = dict(scene.boxes)
    opened = scene.view.opened
    with qtbot.waitSignal(scene.refused, timeout=5000) as refused:
        window.expand_action.trigger()
    assert scene.view.opened == opened and scene.boxes == before  # nothing was redrawn
    text = refused.args[0]
    assert "260 of this graph's 260 nodes" in text and "at most 100" in text
    assert "autodiff export" in text
    assert window.statusBar().currentMessage() == text
    # opening one group that fits still works
    group = next(iter(scene.group_boxes))
    with qtbot.waitSignal(scene.regrouped, timeout=5000):
        scene.open_group(group)
    assert group in scene.view.opened
