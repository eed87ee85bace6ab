"""The loss and parameter plots: the run's history, the curves panel, and SVG/PNG export.

The History tests use no Qt (and check that its module imports none); the panel tests drive a
real CurvesPanel offscreen with pytest-qt.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from autodiff_gui.plots.curves import (
    LOSS_TITLE,
    MAX_GHOSTS,
    PARAMS_TITLE,
    CurvesPanel,
    format_number,
    plottable,
)
from autodiff_gui.plots.export import export_plot_png, export_plot_svg
from autodiff_gui.history import DEFAULT_CAP, History
from engine.records import IterationRecord, ParamState

# The tutorial's first iterations at lr = 0.1 (L = (w·x - y)², x = 1, y = 2, w starts at 0).
TUTORIAL_LOSS = [4.0, 2.56, 1.6384, 1.048576]
TUTORIAL_W = [0.0, 0.4, 0.72, 0.976]


def tutorial_records(n: int = 4) -> list[IterationRecord]:
    """n iterations of gradient descent on the tutorial's loss, computed exactly as the engine does."""
    records, w = [], 0.0
    for i in range(n):
        loss, grad = (w * 1.0 - 2.0) ** 2, 2 * (w * 1.0 - 2.0) * 1.0
        records.append(IterationRecord(i, 0.1, loss, (ParamState("w", w, grad),)))
        w -= 0.1 * grad
    return records


def series(values: list[float], *, lr: float = 1.5) -> list[IterationRecord]:
    """Records whose loss and w both take the given values (for odd and diverging data)."""
    return [IterationRecord(i, lr, v, (ParamState("w", v, v),)) for i, v in enumerate(values)]


def two_param_records(n: int, start: int = 0) -> list[IterationRecord]:
    return [
        IterationRecord(
            i,
            0.01,
            1.0 / (i + 1),
            (ParamState("m", 0.5 * i, -1.0 * i), ParamState("b", -0.25 * i, 2.0 * i)),
            "converged" if i == start + n - 1 else "running",
        )
        for i in range(start, start + n)
    ]


# --- History (no Qt) ------------------------------------------------------------------------------


def test_history_module_imports_no_qt() -> None:
    code = (
        "import sys, autodiff_gui.history; "
        "sys.exit(any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2])
    assert result.returncode == 0, "autodiff_gui.history must not import Qt or pyqtgraph"


def test_history_holds_the_tutorial_iterations() -> None:
    history = History(["w"])
    history.extend(tutorial_records())
    arrays = history.arrays()
    assert len(history) == len(arrays) == 4 and history.count == 4
    assert arrays.iterations.tolist() == [0, 1, 2, 3]
    assert arrays.loss == pytest.approx(TUTORIAL_LOSS)
    assert arrays.value("w") == pytest.approx(TUTORIAL_W)
    assert arrays.grad("w")[0] == -4.0
    assert arrays.lr.tolist() == [0.1] * 4
    assert not history.decimated and history.stride == 1
    third = history.record_at(3)
    assert third.iteration == 3 and third.loss == pytest.approx(1.048576)
    assert third.param("w").data == pytest.approx(0.976)
    assert history.last() == third and history.status == "running"
    with pytest.raises(KeyError):
        arrays.value("v")
    with pytest.raises(IndexError):
        history.record_at(4)


def test_history_round_trips_records_exactly() -> None:
    records = two_param_records(10)
    history = History(["m", "b"])
    history.extend(records)
    assert [history.record_at(i) for i in range(len(history))] == records
    assert list(history.records()) == records
    assert history.status == "converged"


def test_history_arrays_are_copies_unless_asked_for_views() -> None:
    history = History(["w"])
    history.extend(tutorial_records())
    copy = history.arrays()
    copy.loss[0] = 99.0
    assert history.arrays().loss[0] == 4.0
    view = history.arrays(copy=False)
    assert not view.loss.flags.writeable
    with pytest.raises(ValueError):
        view.loss[0] = 99.0


def test_history_grows_by_doubling_and_clear_forgets() -> None:
    history = History(["m", "b"])
    history.extend(two_param_records(5000))
    assert len(history) == 5000
    assert history.arrays().value("m")[-1] == 0.5 * 4999
    history.clear(["w"])
    assert len(history) == 0 and history.count == 0 and history.last() is None and history.status is None
    assert history.param_names == ("w",)
    history.extend(tutorial_records())
    assert history.arrays().value("w") == pytest.approx(TUTORIAL_W)


def test_history_takes_its_names_from_the_first_record() -> None:
    history = History()
    history.append(tutorial_records(1)[0])
    assert history.param_names == ("w",)
    assert history.arrays().value("w").tolist() == [0.0]


def test_history_maps_parameters_by_name_and_rejects_others() -> None:
    history = History(["b", "m"])  # the records list m first
    history.extend(two_param_records(3))
    assert history.arrays().value("m").tolist() == [0.0, 0.5, 1.0]
    assert history.arrays().value("b").tolist() == [0.0, -0.25, -0.5]
    with pytest.raises(ValueError, match="clear"):
        history.extend(tutorial_records())  # a w-only program without clear(): a caller's bug
    assert len(history) == 3  # a rejected batch adds nothing


def test_history_rejects_iterations_going_backwards() -> None:
    history = History(["w"])
    history.extend(tutorial_records())
    with pytest.raises(ValueError, match="backwards"):
        history.append(tutorial_records(1)[0])
    with pytest.raises(ValueError):
        History(["w"]).extend(list(reversed(tutorial_records())))
    with pytest.raises(ValueError):
        History(cap=1)


def test_history_default_cap() -> None:
    assert History().cap == DEFAULT_CAP == 200_000
    assert History(["w"]).cap == DEFAULT_CAP  # the tutorial's loss: the budget is not the limit


def test_a_wide_programs_history_is_bounded_in_bytes_not_only_in_iterations() -> None:
    from autodiff_gui.history import DEFAULT_BUDGET, MIN_POINTS
    from engine.records import RecordBatch

    names = [f"w{j}" for j in range(25)]  # the XOR network's parameter count
    history = History(names)
    assert MIN_POINTS < history.cap < DEFAULT_CAP
    k, p = 20_000, len(names)
    total = 0
    while total < 10 * history.cap:  # a long run, sent by column as the engine does
        its = tuple(range(total, total + k))
        history.extend(RecordBatch(tuple(names), its, (0.1,) * k, tuple(float(i) for i in its),
                                   (0.5,) * (k * p), (0.25,) * (k * p), ("running",) * k))
        total += k
    assert history.decimated and len(history) <= history.cap
    assert history.cap * (8 + 8 + 8 + 2 + 16 * p) <= DEFAULT_BUDGET
    arrays = history.arrays(copy=False)
    assert arrays.values.shape == (len(history), p)
    assert arrays.iterations[0] == 0 and arrays.iterations[-1] == total - 1  # both ends exactly
    # a very wide program keeps at least MIN_POINTS, and an explicit cap still wins
    assert History([f"p{j}" for j in range(5000)]).cap == MIN_POINTS
    assert History(names, cap=100).cap == 100


@pytest.mark.parametrize("cap", [2, 3, 10, 1000])
def test_history_decimates_above_its_cap_and_keeps_first_and_last_exact(cap: int) -> None:
    n = 5 * cap + 7
    history = History(["m", "b"], cap=cap)
    history.extend(two_param_records(n))
    assert history.decimated and history.stride > 1
    assert len(history) <= cap
    arrays = history.arrays()
    # Uniform thinning: every stride-th iteration from the first, plus the newest.
    grid = np.arange(0, n, history.stride)
    expected = grid if grid[-1] == n - 1 else np.append(grid, n - 1)
    assert arrays.iterations.tolist() == expected.tolist()
    last = history.last()
    assert last is not None and last == two_param_records(n)[-1]  # the newest, exactly
    assert history.record_at(0) == two_param_records(n)[0]  # the first, exactly
    assert history.count == n


def test_history_decimation_is_the_same_one_at_a_time_or_in_batches() -> None:
    records = two_param_records(2345)
    one_by_one, batched, whole = History(cap=100), History(cap=100), History(cap=100)
    for record in records:
        one_by_one.append(record)
        assert len(one_by_one) <= 100
        assert one_by_one.last() == record  # the newest is always there, exact
    for start in range(0, len(records), 97):
        batched.extend(records[start : start + 97])
    whole.extend(iter(records))  # any iterable
    for other in (batched, whole):
        assert other.stride == one_by_one.stride
        for field in ("iterations", "lr", "loss", "values", "grads"):
            assert np.array_equal(getattr(one_by_one.arrays(), field), getattr(other.arrays(), field))


def test_history_index_at_finds_the_stored_iteration_at_or_before() -> None:
    history = History(cap=10)
    history.extend(two_param_records(100))  # decimated: stores 0, 16, 32, … and 99
    stored = history.arrays().iterations
    assert history.index_at(0) == 0
    assert stored[history.index_at(40)] == 32
    assert stored[history.index_at(10_000)] == 99
    assert history.index_at(-5) == 0
    with pytest.raises(IndexError):
        History().index_at(0)


# --- CurvesPanel ----------------------------------------------------------------------------------


@pytest.fixture
def panel(qtbot) -> CurvesPanel:
    widget = CurvesPanel()
    qtbot.addWidget(widget)
    widget.resize(640, 720)
    widget.show()
    qtbot.waitExposed(widget)
    widget.reset(["w"], {"w": 2.0})
    return widget


def settle(qtbot) -> None:
    """Let pyqtgraph run its deferred autorange: it is done in the paint that the events ask
    for, so handle the events and paint now (no waiting on a clock)."""
    QApplication.processEvents()
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            widget.repaint()
    QApplication.processEvents()


def view_ranges_finite(panel: CurvesPanel) -> bool:
    ranges = panel.loss_plot().viewRange() + panel.param_plot().viewRange()
    return all(math.isfinite(v) for r in ranges for v in r)


def test_panel_titles_speak_to_a_learner(panel: CurvesPanel) -> None:
    assert panel.loss_plot().titleLabel.text == LOSS_TITLE == "Loss L per iteration"
    assert panel.param_plot().titleLabel.text == PARAMS_TITLE == "Parameters per iteration"
    assert panel.loss_plot().getAxis("bottom").labelText == "iteration"


def test_the_titles_fit_a_plot_as_narrow_as_a_1600_px_window_gives(qtbot) -> None:
    widget = CurvesPanel()
    qtbot.addWidget(widget)
    widget.resize(2 * 175 + 30, 300)  # about what a 1600 px wide window gives each plot
    widget.show()
    qtbot.waitExposed(widget)
    for plot in (widget.loss_plot(), widget.param_plot()):
        view = plot.getViewWidget()
        label = plot.titleLabel
        qtbot.waitUntil(lambda: view.width() < 200)  # noqa: B023 (used at once)
        box = view.mapFromScene(label.mapRectToScene(label.rect())).boundingRect()
        text = label.item.boundingRect().width()
        assert text <= label.rect().width()  # the whole title, "Parameters per iteration"
        assert 0 <= box.left() and box.right() <= view.width()  # and all of it in the plot


def test_tutorial_iterations_appear_in_the_plots(panel: CurvesPanel, qtbot) -> None:
    panel.append(tutorial_records())
    x, loss = panel.loss_data()
    assert x.tolist() == [0, 1, 2, 3]
    assert loss == pytest.approx(TUTORIAL_LOSS)
    xw, w = panel.param_data("w")
    assert xw.tolist() == [0, 1, 2, 3]
    assert w == pytest.approx(TUTORIAL_W)
    with pytest.raises(KeyError):
        panel.param_data("b")
    settle(qtbot)
    (y0, y1) = panel.loss_plot().viewRange()[1]
    assert y0 <= 1.048576 and y1 >= 4.0  # autoranged to the data


def test_append_in_batches_equals_set_records(panel: CurvesPanel, qtbot) -> None:
    records = tutorial_records(200)
    for start in range(0, 200, 37):
        panel.append(records[start : start + 37])
    panel.append([])  # an empty batch changes nothing
    batched = panel.loss_data(), panel.param_data("w")
    other = CurvesPanel()
    qtbot.addWidget(other)
    other.reset(["w"], {"w": 2.0})
    other.set_records(iter(records))
    whole = other.loss_data(), other.param_data("w")
    for (bx, by), (wx, wy) in zip(batched, whole):
        assert np.array_equal(bx, wx) and np.array_equal(by, wy)
    other.set_records(tutorial_records(2))  # replaces, not adds
    assert other.loss_data()[1] == pytest.approx(TUTORIAL_LOSS[:2])


def test_each_batch_updates_each_curve_with_one_set_data(panel: CurvesPanel, monkeypatch) -> None:
    calls: list[int] = []
    original = pg.PlotDataItem.setData

    def counting(self, *args, **kwargs):
        calls.append(id(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pg.PlotDataItem, "setData", counting)
    panel.append(tutorial_records(500))
    assert len(calls) == 2  # the loss curve and the w curve, once each, for 500 records


def test_target_line_is_drawn_at_the_optimum(panel: CurvesPanel, qtbot) -> None:
    panel.append(tutorial_records())
    assert panel.targets() == {"w": 2.0}
    lines = [item for item in panel.param_plot().items if getattr(item, "label", None) is not None]
    labelled = {item.label.format: item.value() for item in lines}
    assert labelled == {"w* = 2": 2.0}
    assert lines[0].angle == 0  # horizontal
    settle(qtbot)
    y0, y1 = panel.param_plot().viewRange()[1]
    assert y0 <= 0.0 and y1 >= 2.0  # the target is in view although w has not reached it yet

    panel.reset(["m", "b"], {"m": 0.5, "zz": 1.0, "b": math.nan})  # unknown or non-finite: not drawn
    assert panel.targets() == {"m": 0.5}


def test_log_scale_toggles_and_ignores_non_positive_losses(panel: CurvesPanel, qtbot) -> None:
    toggles: list[bool] = []
    panel.logScaleChanged.connect(toggles.append)
    panel.append(series([4.0, 1.0, 0.0, -1.0, 0.25], lr=0.5))
    assert panel.loss_data()[1].tolist() == [4.0, 1.0, 0.0, -1.0, 0.25]
    assert not panel.log_scale()

    panel.set_log_scale(True)
    assert panel.log_scale() and panel.loss_plot().getAxis("left").logMode
    x, loss = panel.loss_data()
    assert x.tolist() == [0, 1, 4] and loss.tolist() == [4.0, 1.0, 0.25]
    assert panel.param_data("w")[1].tolist() == [4.0, 1.0, 0.0, -1.0, 0.25]  # the w axis stays linear
    settle(qtbot)
    assert view_ranges_finite(panel)

    panel._log_box.click()  # the learner's checkbox does the same
    assert not panel.log_scale() and not panel.loss_plot().getAxis("left").logMode
    assert len(panel.loss_data()[0]) == 5
    assert toggles == [True, False]


def test_a_lone_loss_of_zero_survives_the_log_scale(panel: CurvesPanel, qtbot) -> None:
    # One iteration draws as a marker; at a loss of exactly 0 the log axis has no place for it.
    # pyqtgraph used to re-map the old marker onto the log axis before the panel redrew, leaving
    # an all-NaN scatter that warned on every repaint (found by the monkey).
    panel.append(series([0.0]))
    ghost = panel.loss_plot().listDataItems()
    panel.set_log_scale(True)
    for item in ghost:
        scatter = item.scatter
        ys = scatter.data["y"]
        assert not (len(ys) and np.isnan(ys).all()), "an all-NaN marker is left on the log axis"
    panel.loss_plot().vb.childrenBounds()  # the bounds pyqtgraph asks for at the next repaint
    settle(qtbot)
    assert view_ranges_finite(panel)
    panel.set_log_scale(False)
    assert panel.loss_data()[1].tolist() == [0.0]


def test_a_diverging_run_keeps_the_plots_usable(panel: CurvesPanel, qtbot) -> None:
    values = [4.0, 40.0, 4e6, 1e10, 1e300, math.inf, math.nan, -math.inf, 1e308]
    panel.append(series(values))
    x, loss = panel.loss_data()
    assert x.tolist() == [0, 1, 2, 3, 4]  # only the finite part is drawn
    assert np.isfinite(loss).all()
    assert panel.param_data("w")[0].tolist() == [0, 1, 2, 3, 4]
    assert "diverged" in panel._note.text() and panel._note.isVisible()
    top = {False: 1e300, True: 300.0}  # the largest drawable loss, 1e300, in view units
    for log in (False, True, False):
        panel.set_log_scale(log)
        panel.loss_plot().getViewBox().enableAutoRange()
        settle(qtbot)
        assert view_ranges_finite(panel), panel.loss_plot().viewRange()
        # pyqtgraph widens the range towards huge values over a few frames; it ends on the data,
        # not on its ±1e307 limit (which is where inf would have sent it).
        qtbot.waitUntil(lambda log=log: panel.loss_plot().viewRange()[1][1] >= top[log], timeout=3000)
        y0, y1 = panel.loss_plot().viewRange()[1]
        assert y1 < 1.2 * top[log] and y0 > -0.15 * top[log], (y0, y1)
        assert view_ranges_finite(panel)
    # The plots still draw a sane run afterwards.
    panel.reset(["w"], {"w": 2.0})
    panel.append(tutorial_records())
    assert panel.loss_data()[1] == pytest.approx(TUTORIAL_LOSS)
    assert not panel._note.isVisible()
    settle(qtbot)
    assert view_ranges_finite(panel)


def test_plottable_masks_what_cannot_be_drawn() -> None:
    x = np.arange(6, dtype=float)
    y = np.array([1.0, math.nan, math.inf, 1e301, -2.0, 0.0])
    assert plottable(x, y)[1].tolist() == [1.0, -2.0, 0.0]
    assert plottable(x, y, log=True)[1].tolist() == [1.0]
    clean = np.array([1.0, 2.0])
    assert plottable(clean, clean)[1] is clean  # no copy when nothing is masked
    assert format_number(-0.0) == "0" and format_number(2.0) == "2" and format_number(1 / 3) == "0.333333"


def test_ghosts_are_kept_labelled_and_cleared(panel: CurvesPanel) -> None:
    assert not panel.keep_ghost("empty")  # nothing to keep yet
    panel.append(tutorial_records(30))
    assert panel.keep_ghost("lr = 0.1")
    panel.reset(["w"], {"w": 2.0})  # the next run; ghosts stay
    panel.append(series([4.0, 0.0, 4.0, 0.0], lr=1.0))
    assert panel.keep_ghost("lr = 1")
    assert panel.ghost_labels() == ["lr = 0.1", "lr = 1"]
    legend_labels = {label.text for _, label in panel.loss_plot().legend.items}
    assert {"this run", "lr = 0.1", "lr = 1"} <= legend_labels
    param_labels = {label.text for _, label in panel.param_plot().legend.items}
    assert {"w", "w (lr = 0.1)", "w (lr = 1)"} <= param_labels
    assert len(panel.loss_plot().listDataItems()) == 3

    assert panel.keep_ghost("lr = 0.1")  # same label: replaced, not doubled
    assert panel.ghost_labels() == ["lr = 1", "lr = 0.1"]
    for i in range(MAX_GHOSTS + 2):
        panel.keep_ghost(f"run {i}")
    assert len(panel.ghost_labels()) == MAX_GHOSTS and panel.ghost_labels()[-1] == f"run {MAX_GHOSTS + 1}"

    panel.clear_ghosts()
    assert panel.ghost_labels() == []
    assert len(panel.loss_plot().listDataItems()) == 1
    assert {label.text for _, label in panel.param_plot().legend.items} == {"w"}
    assert panel.loss_data()[1].tolist() == [4.0, 0.0, 4.0, 0.0]  # the current run is untouched


def test_ghosts_follow_the_log_scale(panel: CurvesPanel) -> None:
    panel.append(series([4.0, 0.0, 1.0], lr=0.5))
    panel.keep_ghost("lr = 0.5")
    ghost_item = panel._ghosts[0].loss_item
    assert len(ghost_item.xData) == 3
    panel.set_log_scale(True)
    assert len(ghost_item.xData) == 2  # the 0 is left out on the log scale too


def test_marker_shows_the_current_iteration(panel: CurvesPanel) -> None:
    panel.append(tutorial_records(10))
    assert panel.marker() is None and not any(m.isVisible() for m in panel._markers)
    panel.set_marker(3)
    assert panel.marker() == 3
    assert all(m.isVisible() and m.value() == 3 for m in panel._markers)
    panel.set_marker(None)
    assert panel.marker() is None and not any(m.isVisible() for m in panel._markers)
    panel.set_marker(5)
    panel.reset(["w"])  # a new run hides it
    assert panel.marker() is None


def test_both_plots_span_the_whole_run(panel: CurvesPanel, qtbot) -> None:
    # On the log scale the zero losses after iteration 2 cannot be drawn; the x axis still
    # covers all 50 iterations, in both plots, which stay aligned.
    panel.append(series([4.0, 1.0] + [0.0] * 48, lr=0.5))
    panel.set_log_scale(True)
    settle(qtbot)
    for plot in (panel.loss_plot(), panel.param_plot()):
        x0, x1 = plot.viewRange()[0]
        assert x0 <= 0 and x1 >= 49


def test_many_iterations_are_downsampled_for_drawing(panel: CurvesPanel, qtbot) -> None:
    n = 100_000
    w = 2.0 - 2.0 * 0.8 ** np.arange(n)
    loss, grad = (w - 2.0) ** 2, 2.0 * (w - 2.0)
    records = [
        IterationRecord(i, 0.1, float(loss[i]), (ParamState("w", float(w[i]), float(grad[i])),))
        for i in range(n)
    ]
    for start in range(0, n, 5000):
        panel.append(records[start : start + 5000])
    assert len(panel.loss_data()[0]) == n
    settle(qtbot)
    drawn_x, _ = panel._param_curves["w"].getData()
    assert len(drawn_x) < n / 10  # peak-downsampled to the plot's width
    assert panel.loss_plot().clipToViewMode() and panel.loss_plot().downsampleMode()[1]


def test_a_shared_history_is_the_single_store(qtbot) -> None:
    history = History(["w"])
    history.extend(tutorial_records(2))
    widget = CurvesPanel(history=history)
    qtbot.addWidget(widget)
    assert widget.history is history
    assert widget.loss_data()[1] == pytest.approx(TUTORIAL_LOSS[:2])  # a run already stored is shown
    history.extend(tutorial_records()[2:])  # the window appends to the store itself …
    widget.refresh()  # … and asks the plots to redraw
    assert widget.loss_data()[1] == pytest.approx(TUTORIAL_LOSS)
    widget.append(tutorial_records(6)[4:])  # or hands the batch to the panel, which stores it there
    assert len(history) == 6
    widget.reset(["m", "b"])
    assert history.param_names == ("m", "b") and len(history) == 0


def test_curves_appear_for_names_taken_from_the_records(qtbot) -> None:
    widget = CurvesPanel()
    qtbot.addWidget(widget)
    widget.append(two_param_records(4))  # never reset: the names come from the first record
    assert widget.param_data("m")[1].tolist() == [0.0, 0.5, 1.0, 1.5]
    assert widget.param_data("b")[1].tolist() == [0.0, -0.25, -0.5, -0.75]


def test_a_long_run_says_it_is_thinned(qtbot) -> None:
    widget = CurvesPanel(history=History(cap=50))
    qtbot.addWidget(widget)
    widget.reset(["m", "b"])
    widget.append(two_param_records(500))
    assert widget.history.decimated
    assert "Long run" in widget._note.text()
    assert len(widget.loss_data()[0]) <= 50


def test_the_plots_follow_a_dark_palette(panel: CurvesPanel) -> None:
    dark = QPalette(panel.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
    panel.setPalette(dark)
    assert panel.loss_widget().backgroundBrush().color().name() == "#1e1e1e"
    assert panel.loss_plot().getAxis("left").textPen().color().name() == "#eeeeee"


# --- export ---------------------------------------------------------------------------------------


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return " ".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))


def test_svg_export_is_xml_with_the_axis_labels(panel: CurvesPanel, qtbot, tmp_path: Path) -> None:
    panel.append(tutorial_records(20))
    settle(qtbot)
    path = tmp_path / "curves.svg"
    export_plot_svg(panel, path)
    text = svg_text(path)
    for label in (LOSS_TITLE, PARAMS_TITLE, "iteration", "loss L", "value", "w* = 2"):
        assert label in text
    root = ET.parse(path).getroot()
    assert root.get("viewBox") == f"0 0 {panel.width()} {panel.height()}"
    # One plot on its own works too.
    export_plot_svg(panel.loss_widget(), tmp_path / "loss.svg")
    assert LOSS_TITLE in svg_text(tmp_path / "loss.svg")
    assert sorted(os.listdir(tmp_path)) == ["curves.svg", "loss.svg"]  # no temporary left behind


def test_png_export_has_the_scaled_size_and_is_not_blank(panel: CurvesPanel, qtbot, tmp_path: Path) -> None:
    panel.append(tutorial_records(20))
    settle(qtbot)
    path = tmp_path / "curves.png"
    export_plot_png(panel, path)  # scale 2 by default
    image = QImage(str(path))
    assert not image.isNull()
    assert (image.width(), image.height()) == (2 * panel.width(), 2 * panel.height())
    small = image.scaled(64, 64)
    colours = {small.pixel(x, y) for x in range(64) for y in range(64)}
    assert len(colours) > 3  # background, text and curves, not a blank image
    export_plot_png(panel.param_widget(), tmp_path / "w.png", scale=1)
    image = QImage(str(tmp_path / "w.png"))
    assert (image.width(), image.height()) == (panel.param_widget().width(), panel.param_widget().height())
    with pytest.raises(ValueError):
        export_plot_png(panel, tmp_path / "bad.png", scale=0)


@pytest.mark.parametrize("export", [export_plot_svg, export_plot_png])
def test_export_to_an_unwritable_path_raises_and_leaves_nothing(
    panel: CurvesPanel, tmp_path: Path, export
) -> None:
    panel.append(tutorial_records())
    missing = tmp_path / "no such folder" / "plot.out"
    with pytest.raises(OSError):
        export(panel, missing)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("keep me")
    with pytest.raises(OSError):
        export(panel, not_a_folder / "plot.out")
    assert sorted(os.listdir(tmp_path)) == ["file"]
    assert not_a_folder.read_text() == "keep me"


def test_the_context_menu_saves_with_our_exporter(panel: CurvesPanel, tmp_path: Path, monkeypatch) -> None:
    panel.append(tutorial_records())
    actions = panel.loss_widget().scene().contextMenu
    assert [a.text() for a in actions] == ["Save plots as image…"]  # not pyqtgraph's broken "Export..."
    assert panel.param_widget().scene().contextMenu == actions

    target = tmp_path / "chosen"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG image (*.png)"))
    actions[0].trigger()
    assert not QImage(str(tmp_path / "chosen.png")).isNull()  # the extension follows the chosen filter

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    missing = str(tmp_path / "gone" / "p.svg")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (missing, "SVG image (*.svg)"))
    actions[0].trigger()
    assert len(warnings) == 1 and warnings[0].startswith("cannot write")
    assert sorted(os.listdir(tmp_path)) == ["chosen.png"]


def test_a_long_curve_is_thinned_to_its_envelope_before_drawing():
    from autodiff_gui.plots.curves import MAX_DRAWN, envelope

    x = np.arange(250_000, dtype=float)
    y = np.cos(x / 500.0) * np.exp(-x / 80_000)
    dx, dy = envelope(x, y)
    assert len(dx) <= MAX_DRAWN + 1
    assert (dx[0], dx[-1]) == (0, 249_999)
    assert dy.max() == y.max() and dy.min() == y.min()
    assert np.all(np.diff(dx) > 0)
    small = np.arange(10.0)
    assert envelope(small, small)[0] is small


def test_history_takes_a_batch_by_column_like_its_records():
    from engine.records import IterationRecord, ParamState, RecordBatch

    records = [IterationRecord(i, 0.1, 4.0 * 0.64**i, (ParamState("w", 2 - 2 * 0.8**i, -1.0),))
               for i in range(50)]
    by_record, by_column = History(), History()
    by_record.extend(records)
    by_column.extend(RecordBatch.from_records(records))
    a, b = by_record.arrays(), by_column.arrays()
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.values, b.values)
    assert list(by_column.records()) == records


def test_one_point_is_drawn_as_a_marker_and_axes_follow_a_new_run(panel, qtbot) -> None:
    from engine.records import IterationRecord, ParamState
    panel.append([IterationRecord(0, 0.1, 4.0, (ParamState("w", 0.0, -4.0),), "running")])
    assert panel._loss_curve.opts["symbol"] == "o"  # a lone point has no line to draw
    panel.append([IterationRecord(i, 0.1, 4.0 / (i + 1), (ParamState("w", 0.1 * i, -1.0),),
                                  "running") for i in range(1, 700)])
    assert panel._loss_curve.opts["symbol"] is None
    settle(qtbot)
    assert panel.loss_plot().viewRange()[0][1] >= 600
    panel.reset(["w"], {"w": 2.0})
    settle(qtbot)
    assert panel.loss_plot().viewRange()[0][1] < 50  # empty: not the old run's 0–700
    panel.append([IterationRecord(i, 0.1, 1.0, (ParamState("w", 1.0, 0.0),), "running")
                  for i in range(5)])
    settle(qtbot)
    assert panel.loss_plot().viewRange()[0][1] < 50


def test_a_program_of_many_parameters_gets_a_count_not_a_legend_over_its_curves(panel) -> None:
    names = [f"w[{j}]" for j in range(25)]
    panel.reset(names, {})
    panel.append([IterationRecord(i, 0.1, 1.0 / (i + 1), tuple(ParamState(n, 0.1 * i + j, 0.0)
                                                              for j, n in enumerate(names)))
                  for i in range(3)])
    assert not panel._param_legend.isVisible()
    assert panel.param_plot().titleLabel.text == "25 parameters"
    assert len(panel.param_data("w[24]")[1]) == 3  # every curve is still drawn
    assert panel._param_legend.items == []  # the hidden legend is not filled either
    assert [c.name() for c in panel._param_curves.values()] == names  # each curve keeps its name
    panel.reset(["w"], {"w": 2.0})
    panel.append(series([4.0, 1.0]))
    assert panel._param_legend.isVisible()
    assert [label.text for _, label in panel._param_legend.items] == ["w"]
    assert panel.param_plot().titleLabel.text == PARAMS_TITLE


# --- steady axes while a run goes -------------------------------------------------------------


def test_steady_axes_move_only_when_the_data_needs_room_and_fit_again_when_settled(
        panel: CurvesPanel, qtbot) -> None:
    records = tutorial_records(400)
    panel.append(records[:100])
    settle(qtbot)
    panel.set_steady(True)
    assert panel.steady()
    x0 = panel.loss_plot().viewRange()[0]
    changes = []
    panel.loss_plot().getViewBox().sigXRangeChanged.connect(lambda _, r: changes.append(tuple(r)))
    for k in range(101, 400):  # one iteration at a time, as a fast run's redraws come
        panel.append(records[k - 1:k])
        settle(qtbot)
        (lo, hi) = panel.loss_plot().viewRange()[0]
        assert lo <= 0 and hi >= k - 1  # every point stays in sight
    # pyqtgraph's autorange would have moved the x axis at every one of the 299 redraws
    assert 1 <= len(changes) <= 6, changes
    assert panel.loss_plot().viewRange()[0] != x0
    grown = panel.loss_plot().viewRange()[0][1]
    panel.set_steady(False)  # the run paused or ended: fit the data exactly
    settle(qtbot)
    assert not panel.steady()
    (lo, hi) = panel.loss_plot().viewRange()[0]
    assert hi < grown and 399 <= hi <= 399 * 1.11  # pyqtgraph's padding: 2-10 %
    assert panel.param_plot().viewRange()[0] == pytest.approx([lo, hi])  # still linked


def test_a_range_the_learner_set_is_kept_while_steady(panel: CurvesPanel, qtbot) -> None:
    records = tutorial_records(300)
    panel.append(records[:50])
    settle(qtbot)
    panel.set_steady(True)
    panel.loss_plot().setXRange(10, 20, padding=0)  # as a pan or zoom does: autorange goes off
    panel.append(records[50:])
    settle(qtbot)
    assert panel.loss_plot().viewRange()[0] == pytest.approx([10, 20])
    panel.set_steady(False)
    settle(qtbot)
    assert panel.loss_plot().viewRange()[0] == pytest.approx([10, 20])
