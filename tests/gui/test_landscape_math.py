"""The landscape's arithmetic without Qt: what a moment reveals, contours, the tangent, thinning,
and label placement (never overlapping, never off the plot)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_gui.plots.landscape_math import (SIDES, LabelRequest, contour_lines, fit_range,
                                               gradient_known, inside, overlaps, place_labels,
                                               subsample, subsample_indices, tangent_segment,
                                               thin_path, update_reached)
from engine.presets import preset
from engine.regimes import classify, steepest_curvature
from engine.replay import replay


def test_the_module_needs_no_qt():
    code = ("import sys, autodiff_gui.plots.landscape_math, autodiff_gui.plots.landscape_text; "
            "print(any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- what the moment shown has revealed ----------------------------------------------------------

def test_the_gradient_is_known_after_the_last_multiplication_into_the_parameter():
    m = replay(preset("three-step").program(), [0.0])
    w = m.param_nodes[0]
    last = max(i for i, step in enumerate(m.chain) if step.child == w)
    for position in range(m.complete + 1):
        known = gradient_known(m.at(position), 0)
        assert known == (position >= m.seed_position + last + 1), position
        assert update_reached(m.at(position)) == (position == m.complete)


def test_every_parameter_of_the_network_is_known_when_the_pass_is_done():
    m = replay(preset("network").program())
    assert not any(gradient_known(m.at(len(m.forward)), k) for k in range(len(m.param_names)))
    assert all(gradient_known(m, k) for k in range(len(m.param_names)))


# --- curvature from the engine -----------------------------------------------------------------------

def test_steepest_curvature_of_the_regression_bowl():
    program = preset("regression").program()
    steepest = steepest_curvature(program, [0.0, 0.0])
    assert steepest is not None and 2 / steepest == pytest.approx(0.06, abs=0.005)
    assert classify(0.065, steepest) == "diverging"
    assert steepest_curvature(preset("three-step").program(), [0.0]) is None  # one parameter


# --- geometry --------------------------------------------------------------------------------------

def test_tangent_segment_has_the_slope_and_stays_short():
    (x0, y0), (x1, y1) = tangent_segment(0.0, 4.0, -4.0, (-1.0, 3.0), (0.0, 10.0))
    assert (y1 - y0) / (x1 - x0) == pytest.approx(-4.0)
    assert (x0 + x1) / 2 == pytest.approx(0.0) and (y0 + y1) / 2 == pytest.approx(4.0)
    assert abs(y1 - y0) <= 2 * 0.4 * 10.0 + 1e-12
    assert tangent_segment(0.0, 4.0, math.nan, (-1.0, 3.0), (0.0, 10.0)) is None


def test_contour_lines_lie_on_their_levels_and_go_round_holes():
    xs, ys = np.linspace(-2, 2, 41), np.linspace(-1, 3, 41)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    z = x ** 2 + 2 * (y - 1) ** 2
    cx, cy = contour_lines(xs, ys, z, count=4)
    finite = np.isfinite(cx)
    assert finite.sum() > 20 and (~finite).sum() >= 4  # lines, separated by NaN
    on = cx[finite] ** 2 + 2 * (cy[finite] - 1) ** 2
    levels = np.linspace(z.min(), z.max(), 6)[1:-1]
    nearest = np.min(np.abs(on[:, None] - levels[None, :]), axis=1)
    assert np.all(nearest < 0.05 * levels.min() + 0.02)  # linear interpolation between samples
    holed = np.where(x < -1, np.nan, z)
    hx, _ = contour_lines(xs, ys, holed, count=4)
    assert np.all(hx[np.isfinite(hx)] >= -1.0 - 1e-9)


def test_thinning_a_path():
    path = np.column_stack([np.arange(100_000.0), -np.arange(100_000.0)])
    thinned = thin_path(path)
    assert len(thinned) <= 400 and thinned[0, 0] == 0 and thinned[-1, 0] == 99_999
    assert subsample_indices(10_000).tolist() == subsample(10_000)
    assert subsample(5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="one row per iterate"):
        thin_path(np.zeros(3))


def test_fit_range_ignores_non_finite_values():
    assert fit_range(None, [math.nan, math.inf], 2.0) is None
    lo, hi = fit_range(None, [math.nan, 1.0, 3.0], 2.0)
    assert lo < 1.0 and hi > 3.0


# --- labels -------------------------------------------------------------------------------------------

def test_labels_that_would_collide_are_moved_apart():
    bounds = (0.0, 0.0, 300.0, 200.0)
    same = LabelRequest((150.0, 100.0), ((120.0, 16.0),))
    boxes = place_labels([same, same, same], bounds)
    placed = [b for _, b in filter(None, boxes)]
    assert len(placed) == 3
    assert not any(overlaps(a, b) for i, a in enumerate(placed) for b in placed[i + 1:])
    assert all(inside(b, bounds) for b in placed)


def test_a_label_at_the_edge_slides_inside_and_one_too_big_falls_back_or_is_dropped():
    bounds = (0.0, 0.0, 300.0, 200.0)
    (variant, box), = place_labels([LabelRequest((298.0, 2.0), ((200.0, 16.0),))], bounds)
    assert variant == 0 and inside(box, bounds)
    (variant, box), = place_labels([LabelRequest((10.0, 100.0), ((400.0, 16.0), (40.0, 16.0)))], bounds)
    assert variant == 1 and inside(box, bounds)  # the short text
    assert place_labels([LabelRequest((10.0, 100.0), ((400.0, 16.0),))], bounds) == [None]


def test_labels_keep_off_obstacles():
    bounds = (0.0, 0.0, 300.0, 200.0)
    dot = (140.0, 90.0, 160.0, 110.0)
    (_, box), = place_labels([LabelRequest((150.0, 100.0), ((60.0, 16.0),), prefer=(0,))], bounds, [dot])
    assert not overlaps(box, dot)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-50, 350), st.floats(-50, 250), st.floats(5, 250), st.floats(5, 60),
                          st.sampled_from(range(len(SIDES)))), max_size=6))
def test_placed_labels_never_overlap_nor_leave_the_plot(labels):
    bounds = (0.0, 0.0, 300.0, 200.0)
    requests = [LabelRequest((x, y), ((w, h),), (side,)) for x, y, w, h, side in labels]
    placed = [b for _, b in filter(None, place_labels(requests, bounds))]
    assert all(inside(b, bounds) for b in placed)
    assert not any(overlaps(a, b) for i, a in enumerate(placed) for b in placed[i + 1:])


def test_a_slow_forward_pass_is_timed_once_and_a_fast_one_three_times(monkeypatch):
    import autodiff_gui.plots.landscape_math as lm
    from engine.language import parse

    program = parse("w = Value(1.0)\nL = w * w\n")
    clock = {"now": 0.0, "passes": 0}

    def timed_pass(seconds):
        def loss_at(program, values):
            clock["passes"] += 1
            clock["now"] += seconds
            return 1.0
        return loss_at

    monkeypatch.setattr(lm.time, "perf_counter", lambda: clock["now"])
    monkeypatch.setattr(lm, "loss_at", timed_pass(0.4))
    assert lm.pass_cost(program, [1.0]) == 0.4 and clock["passes"] == 1
    clock["passes"] = 0
    monkeypatch.setattr(lm, "loss_at", timed_pass(0.001))
    assert lm.pass_cost(program, [1.0]) == pytest.approx(0.001) and clock["passes"] == 3


@pytest.mark.parametrize("name", ["three-step", "network", "regression"])
def test_the_loss_is_sampled_on_a_compiled_tape_bit_for_bit(monkeypatch, name):
    """Once a run compiled the program's tape, the landscape's samples replay it (no interpreter),
    and each is the interpreter's number to the last bit; before, the interpreter gives them."""
    import struct

    import autodiff_gui.plots.landscape_math as lm
    from engine.language import evaluate
    from engine.tape import cached_tape, program_tape

    program = preset(name).program()
    start = evaluate(program).param_values()
    points = [[v + shift for v in start] for shift in (0.0, 0.37, -1.3, 25.0)]
    with monkeypatch.context() as m:  # no tape: the interpreter's numbers
        m.setattr(lm, "cached_tape", lambda program: None)
        before = [lm.loss_at(program, p) for p in points]
    assert program_tape(program) is cached_tape(program) is not None
    interpreted = []
    monkeypatch.setattr(lm, "evaluate", lambda *a: interpreted.append(a) or evaluate(*a))
    after = [lm.loss_at(program, p) for p in points]
    assert interpreted == []  # all on the tape
    assert [struct.pack("<d", x) for x in after] == [struct.pack("<d", x) for x in before]


def test_a_point_the_tape_refuses_is_decided_by_the_interpreter(monkeypatch):
    import autodiff_gui.plots.landscape_math as lm
    from engine.language import parse
    from engine.tape import program_tape

    program = parse("w = Value(0.5)\nL = log(w) + w * w\n")
    assert program_tape(program) is not None
    assert lm.loss_at(program, [-1.0]) != lm.loss_at(program, [-1.0])  # log of a negative: a gap
    assert lm.loss_at(program, [2.0]) == pytest.approx(math.log(2.0) + 4.0)
    monkeypatch.setattr(lm, "cached_tape", lambda program: None)
    assert lm.loss_at(program, [2.0]) == pytest.approx(math.log(2.0) + 4.0)
