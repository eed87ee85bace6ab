"""``autodiff export``: the graph as DOT, Mermaid or JSON, whole or not at all."""

from __future__ import annotations

import errno
import os
import types

import pytest
from cli_helpers import assert_one_sentence_error, strict_json

import autodiff_gui.cli
import engine.files
from engine.formats import from_json


@pytest.mark.parametrize("suffix", [".dot", ".mmd", ".json"])
def test_export_after_one_step_shows_the_updated_graph(any_cli, tmp_path, suffix):
    out = tmp_path / f"graph{suffix}"
    result = any_cli("export", "three-step", "--steps", "1", "-o", out)
    assert result.returncode == 0, result
    assert str(out) in result.stdout
    text = out.read_text(encoding="utf-8")
    if suffix == ".json":
        graph = from_json(text)
        strict_json(text)
        w, loss = graph.node_named("w"), graph.nodes[graph.root]
        assert (w.data, w.grad) == (pytest.approx(0.4), pytest.approx(-3.2))
        assert (loss.name, loss.data, loss.grad) == ("L", pytest.approx(2.56), 1)
        assert len(graph.nodes) == 8
    else:
        # one step of lr 0.1: w = 0.4, L = 2.56, dL/dw = -3.2 (tutorial-numbers.md, §1)
        assert "w = 0.4, grad -3.2" in text
        assert "L = 2.56, grad 1" in text
        assert text.startswith("digraph" if suffix == ".dot" else "flowchart LR")


def test_export_defaults_to_no_training(cli, tmp_path):
    out = tmp_path / "graph.json"
    assert cli("export", "three-step", "-o", out).returncode == 0
    graph = from_json(out.read_text(encoding="utf-8"))
    assert graph.node_named("w").data == 0 and graph.node_named("w").grad == -4
    assert graph.nodes[graph.root].data == 4


def test_export_mermaid_is_the_tutorials_flowchart(cli, tmp_path):
    out = tmp_path / "graph.mmd"
    assert cli("export", "three-step", "-o", out).returncode == 0
    text = out.read_text(encoding="utf-8")
    # value nodes as boxes, operations as circles, input -> operation -> result
    assert text.count('(("') == 4  # ×, ×, +, x²
    assert '(("×"))' in text and '(("+"))' in text
    assert text.count("-->") == 4


def test_export_from_standard_input(cli, tmp_path):
    out = tmp_path / "mine.dot"
    result = cli("export", "-", "-o", out, stdin="a = Value(2.0)\nL = a * a\n")
    assert result.returncode == 0, result
    assert "a = 2, grad 4" in out.read_text(encoding="utf-8")


def test_unknown_extension_is_refused_and_nothing_written(cli, tmp_path):
    line = assert_one_sentence_error(cli("export", "three-step", "-o", tmp_path / "graph.txt"))
    assert ".dot" in line and ".mmd" in line and ".json" in line
    assert not (tmp_path / "graph.txt").exists()


def test_unwritable_path_is_one_sentence_and_leaves_nothing(cli, tmp_path):
    blocker = tmp_path / "somefile"
    blocker.write_text("a regular file, not a folder\n", encoding="utf-8")
    before = sorted(os.listdir(tmp_path))
    line = assert_one_sentence_error(cli("export", "three-step", "-o", blocker / "out.dot"))
    assert line.startswith("autodiff: cannot write ") and "somefile/out.dot" in line, line
    assert sorted(os.listdir(tmp_path)) == before
    assert blocker.read_text(encoding="utf-8") == "a regular file, not a folder\n"


def test_missing_folder_is_one_sentence(cli, tmp_path):
    line = assert_one_sentence_error(cli("export", "three-step", "-o", tmp_path / "no" / "g.dot"))
    assert "cannot write" in line
    assert not (tmp_path / "no").exists()


def test_a_folder_as_output_is_one_sentence(cli, tmp_path):
    (tmp_path / "graph.dot").mkdir()
    line = assert_one_sentence_error(cli("export", "three-step", "-o", tmp_path / "graph.dot"))
    assert "folder" in line


def test_diverged_training_writes_nothing_and_keeps_the_old_file(cli, tmp_path):
    out = tmp_path / "graph.json"
    out.write_text("{}\n", encoding="utf-8")
    result = cli("export", "three-step", "--lr", "1.5", "--steps", "100", "-o", out)
    line = assert_one_sentence_error(result, 3)
    assert "diverg" in line and "nothing written" in line
    assert out.read_text(encoding="utf-8") == "{}\n"


def test_a_program_error_during_training_writes_nothing(cli, tmp_path):
    out = tmp_path / "graph.dot"
    result = cli("export", "-", "--lr", "5", "--steps", "3", "-o", out,
                 stdin="w = Value(2.0)\nL = log(w)\n")
    line = assert_one_sentence_error(result)
    assert line.startswith("<stdin>:2:5: error: log: ") and "nothing written" in line, line
    assert not out.exists()


def _svg_text(path) -> str:
    import xml.etree.ElementTree as ET
    return " ".join((el.text or "").strip() for el in ET.parse(path).getroot().iter())


def test_svg_png_pdf_through_the_scene_renderer_without_a_display(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    svg = tmp_path / "g.svg"
    assert cli("export", "three-step", "-o", svg, "--steps", "1").returncode == 0
    text = _svg_text(svg)
    for label in ("w", "x", "y", "z", "e", "L"):
        assert f" {label} " in f" {text} "
    assert "value 0.4" in text and "grad  -3.2" in text and "value 2.56" in text
    png = tmp_path / "g.png"
    assert cli("export", "three-step", "-o", png, "--width", "900", "--transparent").returncode == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 900  # IHDR width
    pdf = tmp_path / "g.pdf"
    assert cli("export", "three-step", "-o", pdf).returncode == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_backward_step_freezes_the_snapshot_with_its_banner(cli, tmp_path):
    svg = tmp_path / "b.svg"
    assert cli("export", "three-step", "-o", svg, "--backward-step", "2").returncode == 0
    assert "dL/dz = dL/de · de/dz = (-4) · (1) = -4" in _svg_text(svg)
    js = tmp_path / "b.json"
    assert cli("export", "three-step", "-o", js, "--backward-step", "2").returncode == 0
    grads = {n["name"]: n["grad"] for n in strict_json(js.read_text())["nodes"]}
    assert grads["z"] == -4 and grads["e"] == -4 and grads["L"] == 1 and grads["w"] is None


@pytest.mark.parametrize("suffix", [".svg", ".json"])
def test_backward_step_past_the_last_is_an_error(cli, tmp_path, suffix):
    out = tmp_path / f"b{suffix}"
    result = cli("export", "three-step", "-o", out, "--backward-step", "8")
    assert result.returncode == 2
    assert_one_sentence_error(result)
    assert "past the last" in result.stderr
    assert not out.exists()


# --- a full disk, simulated in-process -----------------------------------------------------------

class _FullDisk:
    """A file whose writes stop part-way with ENOSPC, as on a full disk."""

    def __init__(self, real):
        self.real = real
        self.written = 0

    def write(self, data):
        self.real.write(data[:16])  # a partial temporary file really exists on disk
        self.real.flush()
        self.written += 16
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()
        return False


@pytest.fixture
def full_disk(monkeypatch):
    """Make engine.files' writes fail with ENOSPC; yields the list of files it opened."""
    opened: list[_FullDisk] = []

    def fdopen(fd, *args, **kwargs):
        f = _FullDisk(os.fdopen(fd, *args, **kwargs))
        opened.append(f)
        return f

    fake_os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake_os.fdopen = fdopen
    fake_os.path = os.path
    monkeypatch.setattr(engine.files, "os", fake_os)
    return opened


@pytest.mark.parametrize("suffix", [".dot", ".mmd", ".json"])
def test_full_disk_keeps_the_old_file_and_leaves_no_partial_file(tmp_path, capsys, full_disk, suffix):
    out = tmp_path / f"graph{suffix}"
    out.write_text("the good file from before\n", encoding="utf-8")
    code = autodiff_gui.cli.main(["export", "three-step", "--steps", "1", "-o", str(out)])
    captured = capsys.readouterr()
    assert full_disk and full_disk[0].written, "the simulated disk was never written to"
    assert code == 2
    assert captured.out == ""
    assert captured.err.strip() == f"autodiff: cannot write {out}: No space left on device"
    assert out.read_text(encoding="utf-8") == "the good file from before\n"
    assert sorted(os.listdir(tmp_path)) == [out.name]  # no temporary or partial file


def test_full_disk_with_no_earlier_file_leaves_nothing(tmp_path, capsys, full_disk):
    out = tmp_path / "graph.dot"
    assert autodiff_gui.cli.main(["export", "three-step", "-o", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert full_disk
    assert os.listdir(tmp_path) == []


BIG = "ws = [Value(0.1) for i in range(20000)]\nL = sum([w*w for w in ws])\n"


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_an_image_of_a_graph_too_big_to_draw_is_refused_at_once(cli, tmp_path, suffix):
    out = tmp_path / f"big{suffix}"
    line = assert_one_sentence_error(cli("export", "-", "-o", out, stdin=BIG))
    assert line == (f"autodiff: cannot draw {out}: the graph has 59,999 nodes and a "
                    f"{suffix[1:].upper()} export draws at most "
                    f"{autodiff_gui.cli.MAX_DRAWN_NODES:,}; export .dot, .mmd or .json instead, "
                    f"or .svg (up to {autodiff_gui.cli.MAX_SVG_NODES:,} nodes)"), line
    assert list(tmp_path.iterdir()) == []


def test_an_svg_too_big_to_draw_is_refused_at_once(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(autodiff_gui.cli, "MAX_SVG_NODES", 50_000)
    out = tmp_path / "big.svg"
    line = assert_one_sentence_error(cli("export", "-", "-o", out, stdin=BIG))
    assert line == (f"autodiff: cannot draw {out}: the graph has 59,999 nodes and an SVG export "
                    f"draws at most 50,000; export .dot, .mmd or .json instead"), line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_the_drawing_limit_is_checked_before_any_training(cli, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(autodiff_gui.cli, "MAX_DRAWN_NODES", 7)  # three-step has 8 nodes
    monkeypatch.setattr(autodiff_gui.cli, "MAX_SVG_NODES", 7)
    monkeypatch.setattr(autodiff_gui.cli, "Trainer", None)  # a training step would fail loudly
    line = assert_one_sentence_error(cli("export", "three-step", "--steps", "5", "-o",
                                         tmp_path / f"g{suffix}"))
    assert "the graph has 8 nodes" in line and "at most 7" in line


def test_a_graph_too_big_to_draw_still_exports_as_text(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(autodiff_gui.cli, "MAX_DRAWN_NODES", 7)
    out = tmp_path / "g.json"
    assert cli("export", "three-step", "-o", out).returncode == 0
    assert len(from_json(out.read_text(encoding="utf-8")).nodes) == 8
