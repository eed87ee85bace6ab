"""Snapshots, recordings, plot and CSV exports: open what was written and check it."""

import csv
import io
import json
import os
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtGui import QImage

from autodiff_gui import export as export_mod
from autodiff_gui.export import ExportError, ImageOptions, export_scene, headless_scene
from autodiff_gui.recording import BACKWARD, ITERATIONS, gif_bytes, record
from engine.presets import preset

THREE_STEP = preset("three-step").program()


@pytest.fixture
def scene(qapp):
    return headless_scene(THREE_STEP)


def svg_texts(path):
    root = ET.parse(path).getroot()
    return " ".join(t.strip() for el in root.iter() for t in [el.text or ""] if t.strip())


def distinct_colours(image: QImage, step: int = 3) -> int:
    seen = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
    return len(seen)


def test_svg_holds_the_labels_values_and_gradients_as_text(scene, tmp_path):
    path = tmp_path / "graph.svg"
    export_scene(scene, path)
    text = svg_texts(path)
    for label in ("w", "x", "y", "z", "e", "L"):
        assert f" {label} " in f" {text} "
    for number in ("value 4", "value -2", "grad  -4", "grad  1"):
        assert number in text


def test_png_has_the_requested_size_and_is_not_blank(scene, tmp_path):
    r = scene.sceneRect()
    for options, width in ((ImageOptions(scale=1), round(r.width())), (ImageOptions(scale=2), round(2 * r.width())),
                           (ImageOptions(width=800), 800)):
        path = tmp_path / f"g{width}.png"
        export_scene(scene, path, options)
        image = QImage(str(path))
        assert image.width() == width
        assert distinct_colours(image) > 50


def test_transparent_png_has_transparent_corners(scene, tmp_path):
    path = tmp_path / "t.png"
    export_scene(scene, path, ImageOptions(transparent=True))
    image = QImage(str(path))
    assert image.hasAlphaChannel()
    assert image.pixelColor(1, image.height() - 2).alpha() == 0
    opaque = tmp_path / "o.png"
    export_scene(scene, opaque)
    assert QImage(str(opaque)).pixelColor(1, 1).alpha() == 255


def test_pdf_is_one_page(scene, tmp_path):
    path = tmp_path / "g.pdf"
    export_scene(scene, path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(b"/Type/Page") >= 1
    assert b"/Count 1" in data


def test_backward_step_2_shows_the_banner_for_dL_dz(qapp, tmp_path):
    scene = headless_scene(THREE_STEP, backward_step=2)
    assert scene.banner.text == "dL/dz = dL/de · de/dz = (-4) · (1) = -4"
    path = tmp_path / "b2.svg"
    export_scene(scene, path)
    assert "dL/dz = dL/de · de/dz = (-4) · (1) = -4" in svg_texts(path)
    assert headless_scene(THREE_STEP, backward_step=0).banner.text == "dL/dL = 1"
    with pytest.raises(ExportError, match="past the last"):
        headless_scene(THREE_STEP, backward_step=8)


def test_unknown_suffix_and_unwritable_paths_leave_nothing(scene, tmp_path):
    with pytest.raises(ExportError):
        export_scene(scene, tmp_path / "graph.bmpx")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        export_scene(scene, blocker / "graph.png")
    assert sorted(os.listdir(tmp_path)) == ["a_file"]


def test_a_full_disk_never_replaces_a_good_file(scene, tmp_path, monkeypatch):
    good = tmp_path / "graph.png"
    export_scene(scene, good)
    before = good.read_bytes()

    import engine.files as files

    class Full(io.RawIOBase):
        def __init__(self, fd):
            os.close(fd)

        def writable(self):
            return True

        def write(self, b):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: io.BufferedWriter(Full(fd)))
    with pytest.raises(OSError):
        export_scene(scene, good)
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["graph.png"]


def test_record_backward_steps_writes_one_frame_per_step_and_a_gif(qapp, tmp_path):
    paths = record(THREE_STEP, tmp_path / "frames", BACKWARD)
    pngs = [p for p in paths if p.suffix == ".png"]
    assert len(pngs) == 8  # the seed and the 7 multiplications
    assert pngs[0].name == "frame_0001.png"
    gif = tmp_path / "frames" / "run.gif"
    assert gif in paths
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 8


def test_record_iterations_stops_when_cancelled(qapp, tmp_path):
    from autodiff_gui.recording import RecordingCancelled

    with pytest.raises(RecordingCancelled):
        record(THREE_STEP, tmp_path / "f", ITERATIONS, count=10, gif=False,
               progress=lambda done, total: done < 3)
    assert len(list((tmp_path / "f").glob("*.png"))) == 3


def test_gif_keeps_frames_that_differ(qapp):
    frames = [export_mod.png_bytes(headless_scene(THREE_STEP, backward_step=k)) for k in range(3)]
    from PIL import Image

    with Image.open(io.BytesIO(gif_bytes(frames))) as im:
        assert im.n_frames == 3


# --- from the window -----------------------------------------------------------------------------


def test_window_text_exports(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.iterationsShown, timeout=5000):
        window.step_iteration()
    assert window.export_snapshot(tmp_path / "g.mmd")
    mmd = (tmp_path / "g.mmd").read_text()
    assert mmd.startswith("flowchart LR")
    for name in ("w", "x", "z", "y", "-1", "-y", "e", "L"):
        assert f'["{name}' in mmd
    assert window.export_snapshot(tmp_path / "g.dot")
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph") and dot.count("-> op") == 7
    assert window.export_snapshot(tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    grads = {n["name"]: n["grad"] for n in data["nodes"]}
    assert grads["w"] == -4 and grads["L"] == 1


def test_window_snapshot_mid_backward_pass_is_one_moment(window, qtbot, tmp_path):
    for _ in range(6):  # the iteration's start, 4 forward steps, the seed
        window.step_one()
    with qtbot.waitSignal(window.stepShown, timeout=5000):
        window.step_one()
    with qtbot.waitSignal(window.stepShown, timeout=5000):
        window.step_one()
    assert window.export_snapshot(tmp_path / "mid.json")
    nodes = {n["name"]: n for n in json.loads((tmp_path / "mid.json").read_text())["nodes"]}
    assert nodes["z"]["grad"] == -4 and nodes["e"]["grad"] == -4
    assert nodes["w"]["grad"] is None  # not reached yet at this moment of the pass
    assert window.export_snapshot(tmp_path / "mid.svg")
    assert "dL/dz = dL/de · de/dz" in svg_texts(tmp_path / "mid.svg")


def test_window_png_and_plot_and_csv(window, qtbot, tmp_path):
    from autodiff_gui.worker import SPEEDS

    window.speed_control.set_speed(len(SPEEDS) - 1)
    with qtbot.waitSignal(window.runEnded, timeout=20000):
        window.toggle_run()
    assert window.export_snapshot(tmp_path / "g.png", ImageOptions(scale=2))
    assert QImage(str(tmp_path / "g.png")).width() == round(2 * window.scene.sceneRect().width())
    assert window.export_csv(tmp_path / "run.csv")
    rows = list(csv.DictReader((tmp_path / "run.csv").open()))
    assert len(rows) == len(window.records) == 70
    assert [float(r["loss"]) for r in rows[:4]] == pytest.approx([4, 2.56, 1.6384, 1.048576])
    assert [float(r["w"]) for r in rows[:4]] == pytest.approx([0, 0.4, 0.72, 0.976])
    assert float(rows[0]["grad_w"]) == -4
    assert window.export_plot(tmp_path / "loss.svg")
    ET.parse(tmp_path / "loss.svg")
    assert window.export_plot(tmp_path / "loss.png")
    assert QImage(str(tmp_path / "loss.png")).width() > 100


def test_window_export_errors_show_a_dialog_not_a_traceback(window, tmp_path, qtbot):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert not window.export_snapshot(blocker / "g.png")
    assert "cannot write" in window.statusBar().currentMessage()
    assert not window.export_snapshot(tmp_path / "g.unknown")
    assert "no image extension" in window.statusBar().currentMessage()
    assert {p.name for p in tmp_path.iterdir()} <= {"file", "settings.ini"}


def test_the_export_dialog_starts_where_the_last_export_went(window, tmp_path):
    from autodiff_gui.export_dialog import SnapshotDialog
    out = tmp_path / "slides" / "graph.svg"
    out.parent.mkdir()
    assert window.export_snapshot(out)
    start = window.commands.last_snapshot_path()
    assert start == out.resolve()
    dialog = SnapshotDialog(str(start), window)
    assert dialog.path() == str(out.resolve()) and dialog.format.currentData() == ".svg"
    dialog.deleteLater()


def test_a_pdf_page_is_cropped_to_the_drawing(window):
    """The page has the drawing's own proportions: no empty band under it."""
    import re

    from autodiff_gui.export import pdf_bytes
    data = pdf_bytes(window.scene)
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box is not None
    width, height = float(box.group(1)), float(box.group(2))
    rect = window.scene.sceneRect()
    assert width / height == pytest.approx(rect.width() / rect.height(), rel=0.01)


def test_the_program_goes_home_as_a_script_that_runs_on_a_bare_python(window, tmp_path):
    import subprocess
    import sys
    out = tmp_path / "loss.py"
    assert window.commands.export_script(out)
    text = out.read_text(encoding="utf-8")
    assert "child.grad += local_grad * v.grad" in text and "import math" in text
    run = subprocess.run([sys.executable, "-I", str(out)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "converged" in run.stdout and "w = 2" in run.stdout


def test_recording_from_the_window_never_reenters_the_event_loop(window, qtbot, tmp_path):
    """Frames are written a turn of the event loop at a time behind a modal progress dialog; a
    second recording or a reset meanwhile is harmless."""
    with qtbot.waitSignal(window.commands.recordingDone, timeout=60000) as done:
        assert window.record_run(tmp_path / "frames", ITERATIONS, count=6, gif=False)
        assert not window.record_run(tmp_path / "again", ITERATIONS, count=3)  # one at a time
        window.reset()
    paths = done.args[0]
    assert [p.name for p in paths] == [f"frame_{i:04d}.png" for i in range(1, 7)]
    assert not (tmp_path / "again").exists()


def test_a_cancelled_recording_keeps_its_frames_and_says_so(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QProgressDialog
    with qtbot.waitSignal(window.commands.recordingDone, timeout=60000) as done:
        window.record_run(tmp_path / "frames", ITERATIONS, count=200, gif=False)
        qtbot.waitUntil(lambda: len(list((tmp_path / "frames").glob("*.png"))) >= 2, timeout=30000)
        window.findChild(QProgressDialog).cancel()
    assert done.args[0] is None
    assert "cancelled" in window.statusBar().currentMessage()
    assert 2 <= len(list((tmp_path / "frames").glob("*.png"))) < 200

def test_big_scenes_are_written_to_svg_from_their_items(qapp, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QGraphicsRectItem

    scene = headless_scene(THREE_STEP, backward_step=3)  # dL/d(-y): an edge and two nodes lit
    monkeypatch.setattr(export_mod, "DIRECT_SVG_ITEMS", 0)
    path = tmp_path / "big.svg"
    export_scene(scene, path)
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    text = svg_texts(path)
    assert all(t.get("dominant-baseline") == "central" for t in root.iter(f"{ns}text"))
    for label in ("w", "x", "y", "z", "e", "L", "-y"):
        assert f" {label} " in f" {text} "
    assert "value -2" in text and "grad  -4" in text and scene.banner.text in text
    boxes = [r for r in root.iter(f"{ns}rect") if r.get("rx") == "7"]
    assert len(boxes) == len(scene.boxes) == 8
    assert len(list(root.iter(f"{ns}circle"))) == len(scene.ops) == 4
    assert len(list(root.iter(f"{ns}path"))) == len(scene.edges) + len(scene.results)
    lit = {scene.theme.receiving.name(), scene.theme.computing.name(), scene.theme.upstream.name()}
    assert any(p.get("stroke") in lit and p.get("stroke-width") == "3.2" for p in root.iter(f"{ns}path"))
    # an item this writer does not know: Qt's renderer draws the scene instead
    scene.addItem(QGraphicsRectItem(0, 0, 10, 10))
    export_scene(scene, path)
    written = ET.parse(path).getroot()
    assert not [t for t in written.iter(f"{ns}text") if t.get("dominant-baseline")]
    assert " -y " in f" {svg_texts(path)} "


def test_a_png_too_big_for_its_scale_is_drawn_smaller_and_says_so(scene, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "MAX_PIXELS", 400)
    r = scene.sceneRect()
    assert r.width() > 400  # the three-step graph is about 1,200 scene units wide
    path = tmp_path / "capped.png"
    note = export_scene(scene, path, ImageOptions(scale=2))
    image = QImage(str(path))
    assert max(image.width(), image.height()) == 400
    assert image.width() / image.height() == pytest.approx(r.width() / r.height(), rel=0.02)
    assert f"{round(r.width() * 2):,} ×" in note and "400 a side" in note and "SVG or PDF" in note
    assert distinct_colours(image, step=2) > 20
    assert export_scene(scene, tmp_path / "small.png", ImageOptions(width=300)) == ""
    assert QImage(str(tmp_path / "small.png")).width() == 300
