"""The landscape panel: the tangent is the backward pass's dL/dw, the arrow is the update, the
prediction names the regime, and nothing a diverging run produces breaks the plot.

Driven offscreen with pytest-qt on the real engine (replayed moments of the shipped presets).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette

from autodiff_gui.panels.landscape import (CURVE, HEATMAP, MAX_PATH_POINTS, PARAM_LIMIT, SLICE,
                                           LandscapePanel, fit_range, subsample)
from engine.language import evaluate, parse
from engine.presets import preset
from engine.replay import replay
from engine.train import train

REGIMES = ("monotone", "one step", "oscillating", "periodic", "diverging")


@pytest.fixture
def panel(qtbot):
    widget = LandscapePanel()
    qtbot.addWidget(widget)
    widget.resize(760, 480)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def tutorial():
    return preset("three-step").program()


def run_values(name: str, lr: float, steps: int) -> list[tuple[float, ...]]:
    """The parameters before each iteration of a headless run of preset ``name``."""
    result = train(preset(name).program(), lr=lr, steps=steps)
    return [tuple(p.data for p in r.params) for r in result.records]


# --- one parameter: the tutorial's loss ---------------------------------------------------------------

def test_tangent_slope_is_the_backward_pass_gradient(panel):
    program = tutorial()
    moment = replay(program, [0.0], lr=0.1)
    panel.set_moment(moment)
    assert panel.mode() == CURVE
    assert moment.grads == (-4.0,)
    assert panel.tangent_slope() == pytest.approx(-4.0, rel=1e-12)
    (x0, y0), (x1, y1) = panel.tangent_line()
    assert x0 < 0.0 < x1 and (x0 + x1) / 2 == pytest.approx(0.0, abs=1e-12)
    assert (y0 + y1) / 2 == pytest.approx(4.0)  # through the current point (0, L = 4)

    panel.set_moment(replay(program, [0.4], iteration=1, lr=0.1))
    assert panel.tangent_slope() == pytest.approx(-3.2, rel=1e-12)


def test_step_arrow_goes_from_w_to_the_next_w(panel):
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    assert panel.step_vector() == pytest.approx((0.4,))
    (tail, tip) = panel.step_arrow()
    assert tail[0] == 0.0 and tip[0] == pytest.approx(0.4)

    panel.set_lr(0.5)  # a new α without a new moment: the arrow is −α·dL/dw, to w* = 2 in one step
    assert panel.step_vector() == pytest.approx((2.0,))
    assert panel.step_arrow()[1][0] == pytest.approx(2.0)


def test_curve_samples_are_the_loss(panel):
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    panel.finish_sampling()  # usually done already: a cheap program fits one slice of work
    assert not panel.sampling()
    w, loss = panel.curve_data()
    assert len(w) == 300
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, (w - 2.0) ** 2, rtol=1e-12, atol=1e-12)
    (x0, x1), _ = panel.view_range()
    assert x0 < 0.0 and x1 > 2.0  # the point, the next point and the minimum w* = 2 are in view


@pytest.mark.parametrize("lr, regime", [(0.1, "monotone"), (0.5, "one step"), (0.6, "oscillating"),
                                        (1.0, "periodic"), (1.5, "diverging")])
def test_prediction_names_the_regime(panel, lr, regime):
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    panel.set_lr(lr)
    text = panel.prediction_text()
    assert f"α = {lr:g}" in text
    assert regime in text
    assert not [other for other in REGIMES if other != regime and other in text]


def test_monotone_prediction_gives_the_factor(panel):
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    assert "keeps 0.8 of the distance to the minimum" in panel.prediction_text()


def test_view_stays_put_while_the_point_rolls_down(panel):
    program = tutorial()
    panel.set_moment(replay(program, [0.0], lr=0.1))
    panel.finish_sampling()
    before = panel.view_range()
    path = [(0.0,), (0.4,), (0.72,)]
    panel.set_path(path)
    panel.set_moment(replay(program, [0.976], iteration=3, lr=0.1))
    panel.finish_sampling()
    assert panel.view_range() == before
    x, y = panel.path_data()
    np.testing.assert_allclose(x, [0.0, 0.4, 0.72])
    np.testing.assert_allclose(y, (x - 2.0) ** 2, atol=1e-3)  # the dots sit on the curve


def test_gaps_where_the_loss_is_undefined(panel):
    program = parse("w = Value(1.0)\nL = log(w) ** 2 + w")
    panel.set_moment(replay(program, [1.0], lr=0.1))
    panel.finish_sampling()
    w, loss = panel.curve_data()
    assert np.any(w <= 0), "the range should reach where log is undefined"
    assert np.all(np.isnan(loss[w <= 0]))
    ok = w > 0
    expected = [evaluate(program, [v]).loss.data for v in w[ok]]
    np.testing.assert_allclose(loss[ok], expected)
    assert "Gaps" in panel.note_text()
    assert panel.tangent_slope() == pytest.approx(1.0)  # d/dw (log w)² + w = 2·log(w)/w + 1 = 1


# --- divergence --------------------------------------------------------------------------------------

def test_diverging_path_keeps_the_view_finite(panel):
    program = tutorial()
    panel.set_moment(replay(program, [0.0], lr=1.5))
    path = [(2 + (-2.0) ** k * -2,) for k in range(60)]  # the lr = 1.5 iterates: ×-2 per step
    path += [(1e200,), (-1e300,), (math.inf,), (math.nan,)]
    panel.set_path(path)
    huge = replay(program, [2 + 2.0 ** 40], iteration=40, lr=1.5)  # w ≈ 1.1e12: off the chart
    panel.set_moment(huge)
    panel.finish_sampling()
    (x0, x1), (y0, y1) = panel.view_range()
    assert all(math.isfinite(v) for v in (x0, x1, y0, y1))
    assert max(abs(x0), abs(x1)) <= 2 * PARAM_LIMIT
    assert "diverged" in panel.note_text()
    assert panel.step_arrow() is None  # the point itself is beyond the chart
    _, loss = panel.curve_data()
    assert np.isfinite(loss).any()

    panel.set_moment(replay(program, [2 + 2.0 ** 10], iteration=10, lr=1.5))  # back in range
    assert panel.step_vector() == pytest.approx((-1.5 * 2 * 2.0 ** 10,))
    assert panel.tangent_slope() == pytest.approx(2 * 2.0 ** 10)
    assert all(math.isfinite(v) for pair in panel.view_range() for v in pair)


def test_long_paths_are_thinned(panel):
    program = tutorial()
    values = [(2 - 2 * 0.8 ** k,) for k in range(100_000)]
    panel.set_moment(replay(program, [0.0], lr=0.1))
    panel.set_path(values)
    panel.finish_sampling()
    x, _ = panel.path_data()
    assert 0 < len(x) <= MAX_PATH_POINTS
    assert f"{MAX_PATH_POINTS} of 100,000 iterates" in panel.note_text()


# --- two parameters: the regression preset -------------------------------------------------------------

def test_regression_shows_a_heat_map_with_the_path(panel):
    program = preset("regression").program()
    values = run_values("regression", 0.01, 40)
    panel.set_moment(replay(program, values[0], lr=0.01))
    assert panel.mode() == HEATMAP
    panel.set_path(values[:30])
    moment = replay(program, values[30], iteration=30, lr=0.01)
    panel.set_moment(moment)
    panel.finish_sampling()
    assert not panel.sampling()

    xs, ys, grid = panel.heatmap_data()
    assert grid.shape == (len(xs), len(ys)) and np.isfinite(grid).all()
    i, j = len(xs) // 3, len(ys) // 2
    assert grid[i, j] == pytest.approx(evaluate(program, [xs[i], ys[j]]).loss.data)
    # the bowl's bottom lies near the minimiser m = 2, b = 0
    bi, bj = np.unravel_index(np.argmin(grid), grid.shape)
    assert abs(xs[bi] - 2.0) < 0.2 and abs(ys[bj]) < 0.5

    px, py = panel.path_data()
    np.testing.assert_allclose(np.column_stack([px, py]), values[:30])
    (x0, x1), (y0, y1) = panel.view_range()
    for m, b in values[:31]:
        assert x0 < m < x1 and y0 < b < y1
    expected = tuple(-0.01 * g for g in moment.grads)
    assert panel.step_vector() == pytest.approx(expected)
    assert math.isnan(panel.tangent_slope())  # no single slope on a surface


def test_regression_prediction_warns_about_the_steepest_direction(panel):
    program = preset("regression").program()
    panel.set_moment(replay(program, [0.0, 0.0], lr=0.01))
    panel.set_lr(0.065)  # along m alone this would still converge; the bowl's steepest direction diverges
    text = panel.prediction_text()
    assert "along m" in text
    assert "it is diverging" in text


# --- more parameters: slices ------------------------------------------------------------------------------

def test_network_slice_tangent_is_the_chosen_parameters_gradient(panel, qtbot):
    program = preset("network").program()
    moment = replay(program, lr=0.05)
    panel.set_moment(moment)
    assert panel.mode() == SLICE
    assert panel.parameter() == moment.param_names[0]
    assert panel.tangent_slope() == pytest.approx(moment.grads[0], rel=1e-12)

    with qtbot.waitSignal(panel.parameterChanged) as changed:
        panel.set_parameter("w2[1]")
    assert changed.args == ["w2[1]"]
    k = moment.param_names.index("w2[1]")
    assert panel.tangent_slope() == pytest.approx(moment.grads[k], rel=1e-12)
    assert panel.step_vector() == pytest.approx((-0.05 * moment.grads[k],))
    assert "along w2[1]" in panel.prediction_text()
    assert "slice" in panel.note_text()

    qtbot.waitUntil(lambda: not panel.sampling(), timeout=5000)  # sampled a slice at a time
    w, loss = panel.curve_data()
    assert 48 <= len(w) <= 300
    j = len(w) // 4
    probe = list(moment.values)
    probe[k] = w[j]
    assert loss[j] == pytest.approx(evaluate(program, probe).loss.data)


def test_unknown_parameter_is_refused(panel):
    panel.set_moment(replay(preset("neuron").program(), lr=0.1))
    with pytest.raises(ValueError, match="w1, w2, b"):
        panel.set_parameter("nope")


def test_hidden_panel_samples_only_when_shown(qtbot):
    panel = LandscapePanel()
    qtbot.addWidget(panel)
    panel.set_moment(replay(preset("network").program(), lr=0.05))
    assert panel.sampling()
    assert len(panel.curve_data()[0]) == 0
    panel.show()
    qtbot.waitUntil(lambda: not panel.sampling(), timeout=5000)
    assert len(panel.curve_data()[0]) > 0


def test_a_new_program_resets_the_view(panel):
    panel.set_moment(replay(preset("regression").program(), [0.0, 0.0], lr=0.01))
    panel.set_path([(0.0, 0.0), (0.56, 0.24)])
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    assert panel.mode() == CURVE
    assert panel.heatmap_data() is None
    assert len(panel.path_data()[0]) == 0  # the old program's path is not drawn on the new one
    assert panel.tangent_slope() == pytest.approx(-4.0)


def test_no_program_and_no_parameters(panel):
    panel.set_moment(None)
    assert panel.step_vector() == () and math.isnan(panel.tangent_slope())
    panel.set_moment(replay(parse("x = 2\nL = x * x")))
    assert "no parameters" in panel.prediction_text()
    assert panel.step_arrow() is None


def test_dark_palette(panel):
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.Base, "#181818"),
                         (QPalette.ColorRole.Text, "#e8e8e8"), (QPalette.ColorRole.WindowText, "#e8e8e8")):
        palette.setColor(role, QColor(colour))
    panel.setPalette(palette)
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    background = panel.plot_widget().backgroundBrush().color()
    text = panel.plot_widget().getPlotItem().getAxis("left").textPen().color()
    assert background.lightness() < 60 and text.lightness() > 180


# --- the helpers ----------------------------------------------------------------------------------------

def test_fit_range_keeps_a_range_that_still_fits():
    first = fit_range(None, [0.0, 0.4, 2.0], 2.0)
    assert first[0] < 0.0 and first[1] > 2.0
    assert fit_range(first, [0.4, 0.72, 2.0], 2.0) == first
    grown = fit_range(first, [0.0, 50.0], 2.0)
    assert grown[1] > 50.0
    assert fit_range(grown, [1.9, 2.1], 2.0) != grown  # far too wide: refitted
    assert fit_range(None, [math.nan, math.inf], 2.0) is None


def test_subsample_keeps_the_start_and_the_end():
    picked = subsample(10_000, 400)
    assert len(picked) <= 400 and picked[:150] == list(range(150)) and picked[-1] == 9_999
    assert subsample(5, 400) == [0, 1, 2, 3, 4]


def test_reset_view_undoes_a_zoom(panel):
    panel.set_moment(replay(tutorial(), [0.0], lr=0.1))
    panel.finish_sampling()
    before = panel.view_range()
    panel.plot_widget().getPlotItem().vb.setRange(xRange=(10, 20), yRange=(5, 6), padding=0)
    panel.set_moment(replay(tutorial(), [0.4], iteration=1, lr=0.1))
    assert panel.view_range()[0] == pytest.approx((10, 20))  # a learner's zoom survives a step
    panel.reset_view()
    assert panel.view_range() == before


# --- never ahead of the tutorial: the tangent after the backward pass, the step at the update -----------

def test_no_tangent_nor_step_before_the_backward_pass(panel):
    moment = replay(tutorial(), [0.0], lr=0.1)
    panel.set_moment(moment.at(len(moment.forward)))  # forward done: the canvas says dL/dw = ?
    assert panel.tangent_line() is None and math.isnan(panel.tangent_slope())
    assert panel.step_arrow() is None and panel.step_vector() == ()
    assert not any(item.isVisible() for item in panel.label_items().values() if item is not
                   panel.label_items()["minimum"])
    assert "once the backward pass has computed it" in panel.caption_text()
    assert "slope dL/dw =" not in panel.caption_text()


def test_the_tangent_once_the_gradient_is_computed_and_the_step_at_the_update(panel):
    moment = replay(tutorial(), [0.0], lr=0.1)
    w = moment.param_nodes[0]
    last = max(i for i, step in enumerate(moment.chain) if step.child == w)
    computed = moment.seed_position + last + 1
    panel.set_moment(moment.at(computed - 1))  # the multiplication into w is still to come
    assert panel.tangent_line() is None
    panel.set_moment(moment.at(computed))
    assert panel.tangent_slope() == pytest.approx(-4.0)
    assert "slope dL/dw = -4" in panel.caption_text()
    if computed < moment.complete:
        assert panel.step_arrow() is None and "the step at the weight update" in panel.caption_text()
    panel.set_moment(moment)  # the update: θ ← θ − α·dL/dθ
    assert panel.step_vector() == pytest.approx((0.4,))
    assert "step −α·dL/dw = 0.4" in panel.caption_text()
    assert "To come" not in panel.caption_text()


def test_the_heat_map_step_waits_for_the_update(panel):
    program = preset("regression").program()
    moment = replay(program, [0.0, 0.0], lr=0.01)
    panel.set_moment(moment.at(len(moment.forward)))
    assert panel.step_arrow() is None
    panel.set_moment(moment)
    assert panel.step_vector() == pytest.approx(tuple(-0.01 * g for g in moment.grads))


# --- labels: never overlapping, never off the plot ----------------------------------------------------------

def assert_labels_fit(panel):
    vb = panel.plot_widget().getPlotItem().vb
    box = vb.sceneBoundingRect()
    shown = [item for item in panel.label_items().values() if item.isVisible()]
    rects = [item.sceneBoundingRect() for item in shown]
    for item, rect in zip(shown, rects):
        assert box.contains(rect), f"{item.toPlainText()!r} leaves the plot: {rect} not in {box}"
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b), f"labels overlap: {a} and {b}"
    return shown


@pytest.mark.parametrize("size", [(760, 480), (330, 260)])
def test_labels_near_convergence_neither_overlap_nor_leave_the_plot(panel, qtbot, size):
    panel.resize(*size)
    program = tutorial()
    values = run_values("three-step", 0.1, 60)
    panel.set_path(values[:50])
    panel.set_moment(replay(program, values[50], iteration=50, lr=0.1))  # w ≈ 2: all labels meet
    panel.finish_sampling()
    qtbot.waitUntil(lambda: panel.plot_widget().getPlotItem().vb.sceneBoundingRect().width() < size[0])
    shown = assert_labels_fit(panel)
    assert shown, "at least one label has room"
    caption = panel.caption_text()  # every label's full text is read under the plot
    assert "slope dL/dw =" in caption and "step −α·dL/dw =" in caption and "w* = 2" in caption


def test_labels_fit_on_the_heat_map_and_after_a_resize(panel, qtbot):
    program = preset("regression").program()
    values = run_values("regression", 0.01, 200)
    panel.set_path(values[:150])
    panel.set_moment(replay(program, values[150], iteration=150, lr=0.01))
    panel.finish_sampling()
    assert_labels_fit(panel)
    vb = panel.plot_widget().getPlotItem().vb
    with qtbot.waitSignal(vb.sigResized, timeout=5000):
        panel.resize(300, 240)
    assert_labels_fit(panel)


# --- redrawing only what changed, and only when seen ------------------------------------------------------

def test_the_same_inputs_are_not_drawn_twice(panel):
    program = tutorial()
    moment = replay(program, [0.4], iteration=1, lr=0.1)
    panel.set_moment(moment)
    panel.set_path_array(np.array([[0.0], [0.4]]))
    panel.finish_sampling()
    drawn = panel.redraws
    panel.set_moment(replay(program, [0.4], iteration=1, lr=0.1))  # equal, not the same object
    panel.set_path_array(np.array([[0.0], [0.4]]))
    panel.set_lr(0.1)
    assert panel.tangent_slope() == pytest.approx(-3.2)
    assert panel.redraws == drawn
    panel.set_lr(0.2)
    assert panel.step_vector() == pytest.approx((0.64,))
    assert panel.redraws == drawn + 1


def test_a_path_as_an_array_draws_as_a_list_of_tuples(panel):
    values = run_values("regression", 0.01, 40)
    program = preset("regression").program()
    panel.set_moment(replay(program, values[30], iteration=30, lr=0.01))
    panel.set_path(values[:30])
    listed = panel.path_data()
    panel.set_path_array(np.array(values[:31]))
    panel.set_path_array(np.array(values[:30]))
    np.testing.assert_array_equal(panel.path_data(), listed)
    with pytest.raises(ValueError, match="one row per iterate"):
        panel.set_path_array(np.zeros(4))


def test_a_hidden_panel_does_not_redraw_until_shown(qtbot):
    from PySide6.QtWidgets import QApplication

    panel = LandscapePanel()
    qtbot.addWidget(panel)
    drawn = panel.redraws
    for k in range(5):
        panel.set_moment(replay(tutorial(), [0.4 * k], iteration=k, lr=0.1))
        QApplication.processEvents()  # a visible panel redraws at the next turn of the loop
    assert panel.redraws == drawn
    panel.show()
    qtbot.waitUntil(lambda: panel.redraws > drawn and not panel.sampling(), timeout=5000)
    # the last moment drawn once (and once more if its curve's samples came in a later slice),
    # not the five moments set while hidden
    assert panel.redraws - drawn <= 2
    assert panel.tangent_slope() == pytest.approx(2 * (0.4 * 4 - 2))


def test_sampling_a_big_program_lets_the_event_loop_run_between_slices(panel, qtbot):
    from PySide6.QtCore import QTimer

    turns = []  # turns of the event loop while the slice was still being sampled
    ticker = QTimer()
    ticker.timeout.connect(lambda: turns.append(panel.sampling()))
    ticker.start(0)
    panel.set_moment(replay(preset("network").program(), lr=0.05))
    qtbot.waitUntil(lambda: not panel.sampling(), timeout=10_000)
    ticker.stop()
    assert panel.sampling_slices() >= 2
    assert any(turns), "the event loop ran while the slice was half-sampled"


# --- text that wraps and never widens the panel ------------------------------------------------------------

def test_the_panel_is_no_wider_for_a_longer_prediction(panel):
    panel.set_moment(replay(tutorial(), [0.0], lr=0.5))
    short = len(panel.prediction_text())
    width = panel.minimumSizeHint().width()
    panel.set_lr(0.6)
    assert len(panel.prediction_text()) > short + 40  # "oscillating" takes many more words...
    assert panel.minimumSizeHint().width() == width  # ...and asks for no more width


def test_a_narrow_panel_shows_the_short_prediction_and_keeps_its_plot(panel, qtbot):
    from PySide6.QtWidgets import QLabel

    program = preset("regression").program()
    panel.set_moment(replay(program, [0.0, 0.0], lr=0.01))
    label = panel.findChild(QLabel, "landscapePrediction")
    wide = panel.prediction_text()
    assert label.text() == wide
    plot = panel.plot_widget()
    panel.resize(300, 300)
    qtbot.waitUntil(lambda: label.width() < 300)
    shown = label.text()
    assert shown != wide and "monotone" in shown and "diverges above" in shown
    assert panel.prediction_text() == wide and wide in label.toolTip()  # the full text is kept
    assert label.heightForWidth(label.width()) <= 3 * label.fontMetrics().lineSpacing() + 8
    assert plot.height() >= 120
