"""The Data panel: the points and the model at the moment shown, the boundary of a classifier,
a sentence for a program without data, and nothing a NaN can break (offscreen, pytest-qt)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autodiff_gui.plots.data import DataPanel
from autodiff_gui.worker import SPEEDS
from engine.dataview import HOW_TO
from engine.presets import preset
from engine.replay import replay
from engine.train import Trainer

FAST = len(SPEEDS) - 1


@pytest.fixture
def panel(qtbot):
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.resize(420, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def trained_values(name):
    program = preset(name).program()
    trainer = Trainer(program, lr=program.settings["lr"])
    trainer.run(program.settings["steps"])
    return program, trainer


def test_a_program_without_data_says_how_to_add_it(panel):
    panel.set_program(preset("three-step").program())
    assert panel.hint() == HOW_TO
    assert "data=" in HOW_TO and "def predict(x)" in HOW_TO
    assert not panel.plot_widget().isVisible()
    panel.set_values([1.0])  # nothing to draw: no error either
    assert panel.redraws == 0


def test_the_regression_line_follows_the_parameters(panel):
    panel.set_program(preset("regression").program())
    assert panel.hint() is None and panel.plot_widget().isVisible()
    xs, ys = panel.point_data()
    assert list(xs) == [1, 2, 3] and list(ys) == [2, 4, 6]
    panel.set_values([0.0, 0.0], iteration=0)
    x, y = panel.curve_data()
    assert len(x) > 100 and np.all(y == 0)
    assert "iteration 0" in panel.title() and "accuracy" not in panel.title()
    panel.set_values([2.0, 0.5], iteration=5)
    x, y = panel.curve_data()
    assert np.allclose(y, 2 * x + 0.5)
    assert x[0] < 1 and x[-1] > 3  # the input range, with a margin
    panel.set_values([2.0, 0.5], iteration=5)
    assert panel.redraws == 2  # the same frame is not drawn twice


def test_the_moons_boundary_separates_the_classes(panel):
    program, trainer = trained_values("moons")
    panel.set_program(program)
    panel.set_values(trainer.values, iteration=trainer.iteration)
    assert panel.accuracy == 1.0
    assert "accuracy 40/40 (100%)" in panel.title()
    image = panel.image()
    assert image is not None and image.shape == (142, 142) and np.isfinite(image).all()
    bx, by = panel.boundary_data()
    assert len(bx) > 10
    (x0, x1), (y0, y1) = panel.view.bounds
    finite = np.isfinite(bx)
    assert x0 <= bx[finite].min() and bx[finite].max() <= x1
    # the boundary is a curve, not a straight line: the moons interleave
    view = panel.view
    sides = [math.copysign(1, p) for p in view.predictions(trainer.values)]
    assert sides == list(view.targets)

    panel.set_values(trainer.start_values, iteration=0)
    assert panel.accuracy < 1.0


def test_nan_parameters_draw_nothing_and_raise_nothing(panel):
    program, trainer = trained_values("moons")
    panel.set_program(program)
    panel.set_values([math.nan] * len(trainer.values), iteration=3)
    assert panel.accuracy == 0.0
    assert len(panel.boundary_data()[0]) == 0
    panel.set_program(preset("regression").program())
    panel.set_values([math.inf, math.nan], iteration=1)
    assert len(panel.curve_data()[0]) == 0
    panel.set_values([1.0, 1.0], iteration=2)  # and it draws again after
    assert len(panel.curve_data()[0]) > 0


def test_it_draws_a_replayed_moment_of_a_new_program(panel):
    program = preset("network").program()
    start = Trainer(program).values
    panel.set_moment(replay(program, start, lr=0.05))
    assert panel.view is not None and panel.view.kind == "map"
    assert panel.accuracy == 0.25
    assert "iteration 0" in panel.title()


def test_right_click_offers_only_the_save_action(panel):
    """The plot's own menus are never made (the panel's one action is its right-click menu)."""
    plot = panel._plot
    assert not plot.menuEnabled() and plot.getViewBox().menu is None
    assert [a.text() for a in panel._widget.scene().contextMenu] == [panel._save_action.text()]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_data_view_exports_as_an_image(panel, tmp_path, suffix):
    program, trainer = trained_values("moons")
    panel.set_program(program)
    panel.set_values(trainer.values)
    path = tmp_path / f"data{suffix}"
    panel.export(str(path))
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data


def test_the_window_draws_the_run_and_time_travel_moves_it(qtbot, window):
    window.load_preset("regression")
    panel = window.data_panel
    qtbot.waitUntil(lambda: panel.view is not None and panel.hint() is None, timeout=10000)
    window.speed_control.set_speed(FAST)
    with qtbot.waitSignal(window.runEnded, timeout=30000):
        window.toggle_run()
    last = window.records[-1].iteration
    qtbot.waitUntil(lambda: panel.title().endswith(f"iteration {last}"), timeout=10000)
    x, y = panel.curve_data()
    assert np.allclose(y, 2 * x, atol=0.02)  # the line on the three points
    window.travel_to_iteration(0)
    qtbot.waitUntil(lambda: "iteration 0" in panel.title(), timeout=10000)
    assert np.all(panel.curve_data()[1] == 0)  # the first line, y = 0x + 0


def test_the_readout_shows_a_classifiers_accuracy_beside_its_loss(qtbot, window):
    window.load_preset("network")
    window.speed_control.set_speed(FAST)
    with qtbot.waitSignal(window.runEnded, timeout=60000):
        window.toggle_run()
    qtbot.waitUntil(lambda: "accuracy 4/4 (100%)" in window.readout.text(), timeout=10000)
    assert window.readout.text().index("loss") < window.readout.text().index("accuracy")
    window.load_preset("three-step")
    qtbot.waitUntil(lambda: window.data_panel.hint() == HOW_TO, timeout=10000)
    assert "accuracy" not in window.readout.text()


def test_import_data_writes_the_csv_into_the_program_and_draws_it(qtbot, window, tmp_path):
    csv = tmp_path / "points.csv"
    csv.write_text("x,y\n0,1\n1,3\n2,5\n", encoding="utf-8")
    assert window.import_data_action.text() == "&Import data…"
    assert window.commands.import_data(csv)
    assert "xs = [0, 1, 2]\nys = [1, 3, 5]\n" in window.editor.source()
    panel = window.data_panel
    qtbot.waitUntil(lambda: panel.view is not None and len(panel.point_data()[0]) == 3,
                    timeout=10000)
    assert list(panel.point_data()[1]) == [1, 3, 5]


def test_a_bad_csv_is_one_dialog_naming_its_line_and_the_program_stays(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QMessageBox
    before = window.editor.source()
    csv = tmp_path / "bad.csv"
    csv.write_text("x,y\n0,1\n1,oops\n", encoding="utf-8")
    assert not window.commands.import_data(csv)
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorDialog"]
    assert boxes and "bad.csv:3: column 2 (y) holds `oops`" in boxes[-1].text()
    assert window.editor.source() == before


def test_file_export_data_view_writes_what_the_panel_shows(qtbot, window, tmp_path):
    window.load_preset("regression")
    qtbot.waitUntil(lambda: window.data_panel.view is not None, timeout=10000)
    assert window.export_data_action.text() == "Export &data view…"
    assert window.commands.export_data_view(tmp_path / "line.svg")
    assert b"<svg" in (tmp_path / "line.svg").read_bytes()
    assert not window.commands.export_data_view(tmp_path / "line.gif")
    assert not (tmp_path / "line.gif").exists()


def test_no_accuracy_is_claimed_for_another_programs_values(panel):
    program, trainer = trained_values("moons")
    panel.set_program(program)
    assert panel.accuracy_text(trainer.values) == "accuracy 40/40 (100%)"
    assert panel.accuracy_text([0.0, 0.0]) == ""  # the regression's two parameters


def test_a_one_input_classifier_draws_its_threshold(panel):
    from engine.language import parse
    program = parse("# autodiff: data=xs,ys\nxs = [-2, -1, 1, 2]\nys = [0, 0, 1, 1]\n"
                    "w, b = Value(1.0), Value(0.0)\n"
                    "loss = sum([(sigmoid(w * x + b) - y)**2 for x, y in zip(xs, ys)])\n"
                    "def predict(x): return sigmoid(w * x + b)\n", "p")
    panel.set_program(program)
    panel.set_values([1.0, 0.0], iteration=0)
    assert panel.accuracy == 1.0 and "accuracy 4/4 (100%)" in panel.title()
    assert panel._threshold.isVisible() and panel._threshold.value() == 0.5
    panel.set_program(preset("regression").program())
    assert not panel._threshold.isVisible()


@pytest.mark.parametrize("values", [(1e200, 1e200), (1e308, -1e308), (-1e-300, 1e300)])
def test_a_diverged_line_draws_without_a_warning(qtbot, panel, values):
    panel.set_program(preset("regression").program())
    panel.set_values(values, iteration=9)
    panel.repaint()  # pyqtgraph computes its ranges as it paints: warnings are errors here
    x, y = panel.curve_data()
    assert len(x) == 0 or not np.isnan(y).all()


def test_a_diverged_classifier_draws_without_a_warning(panel):
    program, trainer = trained_values("network")
    panel.set_program(program)
    panel.set_values([v * 1e300 for v in trainer.values], iteration=9)
    panel.repaint()
    image = panel.image()
    assert image is None or np.isfinite(image).all()
