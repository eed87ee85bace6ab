"""SVG of a big graph written from its layout, with no canvas item made (``export.layout_svg``):
the same file as the canvas writes, holding every node; ``autodiff export`` takes this path."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from mlp_program import mlp_program
from PySide6.QtGui import QPalette

import autodiff_gui.canvas.scene as scene_mod
from autodiff_gui import export as export_mod
from autodiff_gui.canvas.items import Theme
from autodiff_gui.canvas.layout import layered_layout
from autodiff_gui.canvas.scene import LAYOUT_OPTIONS
from engine.language import parse
from engine.presets import preset

NS = "{http://www.w3.org/2000/svg}"
MLP = parse(mlp_program((3, 3), points=3))


def evaluated(program):
    ev = export_mod._trained(program, 0, 0.1)
    ev.loss.backward()
    return ev, ev.snapshot()


@pytest.mark.parametrize("name", ["three-step", "network"])
def test_the_layout_writes_the_file_the_canvas_writes(qapp, monkeypatch, name):
    program = preset(name).program()
    ev, graph = evaluated(program)
    banner = export_mod._banner(program, ev, 0)
    scene = export_mod._scene_of(graph, banner)
    monkeypatch.setattr(export_mod, "DIRECT_SVG_ITEMS", 0)  # the canvas writes its items too
    from_items = export_mod.svg_bytes(scene)
    assert len(scene.items()) == export_mod.drawn_items(graph)
    from_layout = export_mod.layout_svg(graph, layered_layout(graph, **LAYOUT_OPTIONS),
                                        Theme.from_palette(QPalette()), banner)
    assert from_layout == from_items


def test_a_big_svg_export_holds_every_node_and_makes_no_item(qapp, tmp_path, monkeypatch):
    ev, graph = evaluated(MLP)
    monkeypatch.setattr(export_mod, "DIRECT_SVG_ITEMS", 10)

    def no_scene(*args, **kwargs):
        raise AssertionError("a big SVG export made the canvas's items")

    monkeypatch.setattr(scene_mod.GraphScene, "__init__", no_scene)
    path = tmp_path / "big.svg"
    assert export_mod.headless_export(MLP, path) == ""
    root = ET.parse(path).getroot()
    boxes = [r for r in root.iter(f"{NS}rect") if r.get("rx") == "7"]
    ops = [n for n in graph.nodes if n.children]
    assert len(boxes) == len(graph.nodes)
    assert len(list(root.iter(f"{NS}circle"))) == len(ops)
    assert len(list(root.iter(f"{NS}path"))) == len(ops) + sum(len(n.children) for n in ops)
    texts = [t.text for t in root.iter(f"{NS}text")]
    for n in graph.nodes:
        assert n.name[:8] in " ".join(texts)  # names may be elided to the box's width
    loss = graph.nodes[graph.root]
    assert f"value {export_mod.format_number(loss.data)}" in texts
    assert any(t.startswith(f"{MLP.loss_name} = ") for t in texts)  # the banner


def test_positions_past_a_million_units_are_written_exactly(qapp):
    # a 68,000-node graph is over two million units tall: six significant digits moved its boxes
    data = export_mod._svg_document(
        (-24.0, -90.0, 1000.0, 2_296_287.0), Theme.from_palette(QPalette()), Theme.from_palette(
            QPalette()).background, "t", [([(10.0, 2_296_100.25), (74.0, 2_296_100.25)], "", "", None)],
        [(0.0, 2_296_000.5, 156.0, 58.0, "param", False, "", "w", "value 1", "grad  2")], [], [])
    text = data.decode()
    assert 'y="2296000.5"' in text and "M10,2296100.25 L74,2296100.25" in text
    assert 'viewBox="0 0 1000 2296287"' in text
    assert "e+06" not in text


def test_the_command_line_draws_a_big_svg_from_its_layout(qapp, tmp_path, monkeypatch):
    import autodiff_gui.cli

    monkeypatch.setattr(export_mod, "DIRECT_SVG_ITEMS", 10)
    calls = []
    real = export_mod.layout_svg
    monkeypatch.setattr(export_mod, "layout_svg", lambda *a, **k: calls.append(a) or real(*a, **k))
    program = tmp_path / "mlp.ad"
    program.write_text(mlp_program((3, 3), points=3))
    out = tmp_path / "mlp.svg"
    assert autodiff_gui.cli.main(["export", str(program), "-o", str(out)]) == 0
    assert len(calls) == 1
    _, graph = evaluated(MLP)
    root = ET.parse(out).getroot()
    assert len([r for r in root.iter(f"{NS}rect") if r.get("rx") == "7"]) == len(graph.nodes)
