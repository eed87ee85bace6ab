"""The regime of a whole run (the stiffest direction for several parameters) and the advice a
run stopped by its step cap gets from it."""

import math

import pytest

from engine.language import parse
from engine.presets import preset
from engine.regimes import (DIVERGING, MONOTONE, ONE_STEP, OSCILLATING, PERIODIC, UNKNOWN, Regime,
                            cap_advice, predict_regime, predict_run_regime, stiffest_curvature)

THREE_STEP = preset("three-step").program()


@pytest.mark.parametrize("lr, name", [(0.1, MONOTONE), (0.5, ONE_STEP), (0.9, OSCILLATING),
                                      (1.0, PERIODIC), (1.5, DIVERGING)])
def test_one_parameter_is_the_window_s_prediction(lr, name):
    run = predict_run_regime(THREE_STEP, [0.0], lr)
    assert run == predict_regime(THREE_STEP, [0.0], lr)
    assert run.name == name


def test_several_parameters_use_the_largest_hessian_eigenvalue():
    # regression: L = Σ (m·x + b - y)², H = 2·[[Σx², Σx], [Σx, n]] = [[28, 12], [12, 6]]
    program = preset("regression").program()
    biggest = 17 + math.sqrt(11**2 + 12**2)  # the eigenvalues of [[28, 12], [12, 6]]
    assert stiffest_curvature(program, [0.0, 0.0]) == pytest.approx(biggest, rel=1e-6)
    assert predict_run_regime(program, [0.0, 0.0], 0.01).name == MONOTONE
    assert predict_run_regime(program, [0.0, 0.0], 0.05).name == OSCILLATING
    assert predict_run_regime(program, [0.0, 0.0], 0.07).name == DIVERGING
    assert predict_run_regime(program, [1.0, 1.0], 2 / biggest).name == PERIODIC


def test_a_loss_that_curves_down_is_unknown():
    program = parse("a, b = Value(1.0), Value(1.0)\nL = -(a*a) - b*b\n")
    assert predict_run_regime(program, [1.0, 1.0], 0.1).name == UNKNOWN


@pytest.mark.parametrize("lr, words, absent", [
    (0.1, ["approaches steadily", "more steps or a larger lr", "below 1"], "will not help"),
    (0.9, ["overshoots but it converges", "more steps go further", "nearer 0.5"], "diverges"),
    (1.0, ["bounces for ever", "more steps will not help", "a larger one diverges"], "go further"),
    (1.2, ["more steps make it worse", "an lr below 1 converges"], "go further"),
])
def test_the_advice_is_true_to_the_regime(lr, words, absent):
    advice = cap_advice(predict_run_regime(THREE_STEP, [0.0], lr), lr)
    for w in words:
        assert w in advice, advice
    assert absent not in advice
    assert f"lr = {lr:g}" in advice


def test_a_very_big_program_is_not_predicted():
    program = parse("ws = [Value(1.0) for i in range(501)]\nL = sum([w*w for w in ws])\n")
    assert predict_run_regime(program, [1.0] * 501, 0.1).name == UNKNOWN
    small = parse("ws = [Value(1.0) for i in range(3)]\nL = sum([w*w for w in ws])\n")
    assert predict_run_regime(small, [1.0] * 3, 0.1).name == MONOTONE  # c = 2: 1 - 0.2 > 0


def test_unknown_regimes_get_the_plain_advice():
    assert cap_advice(Regime(UNKNOWN, None, None, "?"), 0.1) == "more steps may go further"


# --- what mutation testing found unguarded (tools/mutate.py) ----------------------------------------

def test_a_loss_with_no_bowl_has_no_regime_and_the_cap_advice_stays_modest():
    regime = predict_regime(parse("w = Value(1.0)\nL = w * 3"), [1.0], 0.1)
    assert (regime.name, regime.factor, regime.curvature) == (UNKNOWN, None, 0.0)
    assert "d²L/dθ² = 0 is not positive" in regime.explanation
    assert cap_advice(regime, 0.1) == "more steps may go further"


def test_the_explanation_names_the_factor_that_each_step_keeps():
    regime = predict_regime(parse("w = Value(0.0)\nL = (w - 2)**2"), [0.0], 0.1)
    assert (regime.name, regime.factor, regime.curvature) == (MONOTONE, pytest.approx(0.8), 2.0)
    assert "factor 1 - α·d²L/dθ² = 0.8; below 0.5 each step keeps 0.8 of the distance" in regime.explanation


def test_an_oscillating_run_stopped_by_its_cap_is_told_more_steps_help():
    regime = predict_regime(THREE_STEP, [0.0], 0.9)
    assert regime.name == OSCILLATING
    advice = cap_advice(regime, 0.9)
    assert advice.startswith("at lr = 0.9 each step overshoots but it converges, so more steps go further")


def test_a_one_step_run_stopped_by_its_cap_is_told_the_tolerance_may_be_too_tight():
    regime = predict_regime(THREE_STEP, [0.0], 0.5)
    assert regime.name == ONE_STEP
    assert cap_advice(regime, 0.5) == "lr = 0.5 reaches the minimum in one step, so the tolerance may be too tight"
