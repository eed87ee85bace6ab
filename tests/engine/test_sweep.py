"""The learning-rate sweep on the tutorial's loss L = (w·1 - 2)²: regimes change at 0.5 and 1."""

from __future__ import annotations

import math

import pytest

from engine.language import ProgramError, parse
from engine.presets import preset
from engine.regimes import predict_regime
from engine.sweep import DEFAULT_COUNT, SweepPoint, log_space, sweep
from engine.train import CONVERGED, DIVERGED, ERROR, MAX_STEPS


@pytest.fixture(scope="module")
def three_step():
    return preset("three-step").program()


@pytest.fixture(scope="module")
def default_points(three_step) -> list[SweepPoint]:
    return list(sweep(three_step))


def one(program, lr: float, max_iterations: int = 1000) -> SweepPoint:
    [point] = sweep(program, [lr], max_iterations)
    return point


# --- log_space -----------------------------------------------------------------------------------
def test_log_space_is_geometric_with_exact_ends():
    values = log_space(1e-3, 1.5, 50)
    assert len(values) == 50 and values[0] == 1e-3 and values[-1] == 1.5
    ratios = [b / a for a, b in zip(values, values[1:])]
    assert all(r == pytest.approx(ratios[0]) for r in ratios)
    assert log_space(0.1, 10, 3) == pytest.approx([0.1, 1, 10])
    assert log_space(0.2, 5, 1) == [0.2]


@pytest.mark.parametrize("lo, hi, n", [(0, 1, 5), (-1, 1, 5), (1e-3, math.inf, 5), (1e-3, 1, 0)])
def test_log_space_rejects_what_has_no_log_scale(lo, hi, n):
    with pytest.raises(ValueError):
        log_space(lo, hi, n)


# --- the regimes, one learning rate at a time ----------------------------------------------------
@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3, 0.45])
def test_below_one_half_converges_without_overshooting(three_step, lr):
    point = one(three_step, lr)
    assert point.status == CONVERGED and point.overshoots == 0
    assert point.final_loss < 1e-12


def test_exactly_one_half_lands_on_the_minimum_in_one_step(three_step):
    point = one(three_step, 0.5)
    assert (point.status, point.iterations, point.final_loss) == (CONVERGED, 1, 0.0)
    assert point.overshoots == 0


@pytest.mark.parametrize("lr", [0.55, 0.75, 0.95])
def test_between_one_half_and_one_converges_oscillating(three_step, lr):
    point = one(three_step, lr)
    assert point.status == CONVERGED
    # every update jumps past w* = 2, so the gradient's sign flips each time
    assert point.overshoots == point.iterations


def test_exactly_one_bounces_until_the_cap(three_step):
    point = one(three_step, 1.0, max_iterations=300)
    assert (point.status, point.iterations) == (MAX_STEPS, 300)
    assert point.final_loss == 4.0  # w bounces between 0 and 4, where L = 4 both times


@pytest.mark.parametrize("lr", [1.05, 1.2, 1.5])
def test_above_one_diverges(three_step, lr):
    point = one(three_step, lr)
    assert point.status == DIVERGED and point.iterations < 1000


# --- a whole sweep -------------------------------------------------------------------------------
def test_default_sweep_is_fifty_log_spaced_rates(default_points):
    assert len(default_points) == DEFAULT_COUNT
    assert [p.lr for p in default_points] == log_space(1e-3, 1.5, 50)
    assert all(p.iterations <= 1000 for p in default_points)


def test_the_sweep_shows_the_regimes_where_theory_puts_them(default_points):
    for p in default_points:
        if p.lr > 1:
            assert p.status == DIVERGED, p
        elif p.status == CONVERGED:
            assert (p.overshoots == 0) == (p.lr <= 0.5), p
        else:  # only the smallest rates run out of iterations before converging
            assert p.status == MAX_STEPS and p.lr < 0.01, p


def test_fewest_iterations_near_one_half(default_points):
    converged = [p for p in default_points if p.status == CONVERGED]
    fastest = min(converged, key=lambda p: p.iterations)
    assert 0.4 < fastest.lr < 0.6
    # slower on both sides: a V with its tip at 1/c
    assert all(p.iterations > fastest.iterations for p in converged if abs(p.lr - 0.5) > 0.15)


def test_a_fine_sweep_brackets_the_predicted_boundaries(three_step):
    regime = predict_regime(three_step, [0.0], 0.1)
    assert regime.boundaries == pytest.approx((0.5, 1.0))
    points = list(sweep(three_step, [0.9 + 0.2 * i / 40 for i in range(41)], max_iterations=1000))
    largest_converging = max(p.lr for p in points if p.status == CONVERGED)
    smallest_diverging = min(p.lr for p in points if p.status == DIVERGED)
    assert 0.95 < largest_converging < 1.0 < smallest_diverging < 1.05
    fastest = min((p for p in sweep(three_step, log_space(0.3, 0.8, 41)) if p.status == CONVERGED),
                  key=lambda p: p.iterations)
    assert fastest.lr == pytest.approx(regime.boundaries[0], rel=0.05)


def test_starting_values_and_tolerance_are_honoured(three_step):
    # starting at the minimum w* = 2: converged before any update, at every rate
    assert [p.iterations for p in sweep(three_step, [0.01, 1.5], param_values=[2.0])] == [0, 0]
    loose, tight = (next(sweep(three_step, [0.1], tol=tol)) for tol in (1e-2, 1e-9))
    assert loose.iterations < tight.iterations


def test_a_math_error_mid_run_is_that_point_s_status():
    # L = log(w) from w = 1: at lr = 0.5, w goes 1 → 0.5 → -0.5, where log has no value
    program = parse("w = Value(1.0)\nL = log(w)\n", "log")
    error, capped = sweep(program, [0.5, 0.01], max_iterations=50)
    assert (error.status, error.iterations) == (ERROR, 2) and math.isnan(error.final_loss)
    assert capped.status == MAX_STEPS and capped.final_loss < 0


# --- stopping ------------------------------------------------------------------------------------
def test_should_stop_ends_the_sweep_between_points(three_step):
    seen: list[SweepPoint] = []
    for point in sweep(three_step, log_space(), should_stop=lambda: len(seen) >= 3):
        seen.append(point)
    assert len(seen) == 3


def test_should_stop_interrupts_a_long_run(three_step):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2  # the check before the run, then two inside it

    assert list(sweep(three_step, [1e-4], max_iterations=100_000, should_stop=stop)) == []
    assert len(calls) == 3  # it stopped long before its 100,000 iterations


def test_a_program_that_cannot_run_raises_at_once():
    program = parse("w = Value(0.0)\nL = log(w)\n", "bad")
    with pytest.raises(ProgramError):
        next(sweep(program, [0.1]))


# --- on the fast path ------------------------------------------------------------------------------

def _value_path_point(program, lr, max_iterations, tol=1e-6):
    """The sweep point as a plain loop of Value-path steps would find it."""
    import math as _math

    from engine.train import RUNNING, Trainer
    t = Trainer(program, lr=lr, tol=tol, fast=False)
    overshoots, previous, loss = 0, None, _math.nan
    while t.status == RUNNING and t.iteration < max_iterations:
        r = t.step()
        loss = r.loss
        grads = [p.grad for p in r.params]
        if previous is not None and any(g * h < 0 for g, h in zip(grads, previous)):
            overshoots += 1
        previous = grads
    status = "max_steps" if t.status == RUNNING else t.status
    return (lr, status, t.iteration, repr(loss), overshoots)


@pytest.mark.parametrize("name", ["three-step", "network"])
def test_the_sweep_on_the_tape_finds_what_value_path_runs_find(name):
    from engine.presets import preset
    program = preset(name).program()
    rates = [0.003, 0.2, 0.7, 1.3]
    for kwargs in ({}, {"should_stop": lambda: False}):  # one chunk per run, or ten iterations
        points = list(sweep(program, rates, max_iterations=150, **kwargs))
        assert [(p.lr, p.status, p.iterations, repr(p.final_loss), p.overshoots) for p in points] \
            == [_value_path_point(program, lr, 150) for lr in rates]


def test_should_stop_is_asked_every_ten_iterations_of_a_run(three_step):
    asked = []

    def stop():
        asked.append(1)
        return False

    (point,) = sweep(three_step, [1e-4], max_iterations=95, should_stop=stop)
    assert point.iterations == 95
    assert len(asked) == 1 + 9  # before the run, then at iterations 10, 20, ..., 90
