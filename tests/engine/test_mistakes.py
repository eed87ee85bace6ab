"""The three common mistakes give exactly the wrong gradients the buggy code gives, and the
numerical check agrees with backprop on every preset."""

from __future__ import annotations

import math

import pytest

from engine.language import parse
from engine.mistakes import (AGREEMENT, ASSIGN, BFS, MISTAKES, NO_ZERO, compare, describe,
                             gradient_check, info, iter_gradient_check, relative_error)
from engine.presets import preset, presets
from engine.train import Trainer, finite_difference, gradient

MULTI_PATH = preset("multi-path").program()  # a = 3; b = a**2; c = 3*a; L = b + c
SHARED_NODE = preset("shared-node").program()  # a = 2; b = a*a; c = 3*b; L = b + c
THREE_STEP = preset("three-step").program()


def test_the_mistakes_come_in_the_order_a_learner_meets_them():
    assert MISTAKES == ["assign", "no_zero", "bfs"]
    for mistake in MISTAKES:
        line = describe(mistake)
        assert line and "\n" not in line
        assert info(mistake).buggy != info(mistake).right
    assert info(ASSIGN).buggy == "child.grad = local_grad * v.grad"
    assert info(ASSIGN).right == "child.grad += local_grad * v.grad"


def test_an_unknown_mistake_names_the_known_ones():
    with pytest.raises(KeyError, match="assign, no_zero, bfs"):
        compare(MULTI_PATH, "typo")


# --- = instead of += ------------------------------------------------------------------------------

def test_assign_keeps_only_the_last_path_on_multi_path():
    # The engine visits L, c, 3, b, a: c's path writes a.grad = 3, then b's overwrites it with 6.
    report = compare(MULTI_PATH, ASSIGN)
    assert report.names == ("a",)
    assert report.right == (9.0,)  # 2a + 3 at a = 3
    assert report.wrong == (6.0,)  # only b's path, 2a · 1, survives
    assert report.wrong != report.right
    assert report.differs and report.differing == (0,)
    assert report.suggested_preset == "multi-path"
    assert "6 instead of 9" in report.explanation
    assert report.at == (3.0,)


def test_assign_also_breaks_a_shared_inner_node():
    # c's path overwrites b.grad (1) with 3, then a*a writes 2a · 3 = 6 twice instead of adding.
    report = compare(SHARED_NODE, ASSIGN)
    assert (report.right, report.wrong) == ((16.0,), (6.0,))
    assert report.differs


def test_assign_hides_when_no_value_is_used_twice():
    report = compare(THREE_STEP, ASSIGN)
    assert report.right == report.wrong == (-4.0,)
    assert not report.differs
    assert report.suggested_preset == "multi-path"


def test_assign_wrong_values_are_what_the_buggy_loop_really_gives():
    """Re-implement the buggy loop here, independently, on the regression preset."""
    from engine.language import evaluate
    from engine.value import topological_order

    program = preset("regression").program()
    ev = evaluate(program)
    topo = topological_order(ev.loss)
    ev.loss.grad = 1
    for v in reversed(topo):
        for child, local in zip(v._children, v._local_grads):
            child.grad = local * v.grad
    report = compare(program, ASSIGN)
    assert report.wrong == tuple(p.grad for _, p in ev.params) == (-4.0, -4.0)
    assert report.right == (-56.0, -24.0)


# --- forgetting to zero ---------------------------------------------------------------------------

def test_no_zero_adds_the_previous_gradient_at_the_second_iteration():
    report = compare(MULTI_PATH, NO_ZERO, lr=0.1)
    assert report.iteration == 1
    # iteration 0: dL/da = 9 both ways, a → 3 - 0.9 = 2.1
    assert report.at == pytest.approx((2.1,))
    assert report.right == pytest.approx((7.2,))  # 2·2.1 + 3
    assert report.wrong == pytest.approx((16.2,))  # 9 left over + 7.2
    assert report.right_next == pytest.approx((1.38,))
    assert report.wrong_next == pytest.approx((0.48,))
    assert report.differs
    assert report.suggested_preset == "multi-path"


def test_no_zero_matches_the_trainer_run_both_ways():
    for lr in (0.01, 0.1):
        report = compare(THREE_STEP, NO_ZERO, lr=lr)
        right, wrong = Trainer(THREE_STEP, lr=lr), Trainer(THREE_STEP, lr=lr, zero_grad=False)
        for _ in range(2):
            right.step()
            wrong.step()
        assert report.right == (right.records[1].params[0].grad,)
        assert report.wrong == (wrong.records[1].params[0].grad,)
        assert report.wrong[0] == pytest.approx(report.right[0] + right.records[0].params[0].grad)


def test_no_zero_on_the_tutorial_loss():
    # w: 0 → 0.4 (dL/dw = -4); at 0.4 the right gradient is -3.2, the wrong one -4 - 3.2 = -7.2
    report = compare(THREE_STEP, NO_ZERO, lr=0.1)
    assert report.at == pytest.approx((0.4,))
    assert report.right == pytest.approx((-3.2,))
    assert report.wrong == pytest.approx((-7.2,))
    assert report.right_next == pytest.approx((0.72,))  # the tutorial's iteration 2
    assert report.wrong_next == pytest.approx((1.12,))


def test_no_zero_hides_at_a_minimum():
    # at w = 2 the gradient is exactly 0: there is nothing left over to add
    report = compare(THREE_STEP, NO_ZERO, values=[2.0])
    assert report.right == report.wrong == (0.0,)
    assert not report.differs


# --- breadth-first order --------------------------------------------------------------------------

def test_bfs_passes_b_on_before_c_has_added_into_it():
    report = compare(SHARED_NODE, BFS)
    # right: dL/db = 1 + 3 = 4, dL/da = 4 · 2a = 16 at a = 2 (L = 4a², dL/da = 8a)
    assert report.right == (16.0,)
    assert gradient(SHARED_NODE)[1] == [16.0]
    assert finite_difference(SHARED_NODE, [2.0], 0) == pytest.approx(16.0)
    # breadth-first handles b (reached from L) before c: b passes on 1, so a gets 2·2·1 = 4
    assert report.wrong == (4.0,)
    assert report.differs
    assert report.suggested_preset == "shared-node"
    assert "4 instead of 16" in report.explanation
    assert "passed on 1 instead of 4" in report.explanation


def test_bfs_is_right_when_the_shared_node_is_a_leaf():
    report = compare(MULTI_PATH, BFS)
    assert report.wrong == report.right == (9.0,)
    assert not report.differs
    assert "leaf" in report.explanation


@pytest.mark.parametrize("name", ["three-step", "regression", "neuron", "network"])
def test_bfs_is_right_on_presets_with_no_shared_inner_node(name):
    assert not compare(preset(name).program(), BFS).differs


def test_bfs_goes_wrong_when_a_shared_inner_node_is_reached_early():
    # h is one step from L and two steps through u: breadth-first hands h's gradient on too soon
    program = parse("w = Value(1.5)\nh = w * w\nu = h * 2\nL = h + u\n", "early")
    report = compare(program, BFS)
    assert report.right[0] == pytest.approx(finite_difference(program, [1.5], 0), rel=1e-6)
    assert report.wrong == (3.0,)  # 2w · 1: u's 2 never reaches w
    assert report.differs


def test_bfs_can_happen_to_be_right_with_a_shared_inner_node():
    # h and u are both used twice, but every user of each comes one level earlier in the queue
    program = parse("w = Value(1.5)\nh = w * w\nu = h * 2\nv = u * h\nL = v + u\n", "late")
    report = compare(program, BFS)
    assert report.wrong == report.right == (33.0,)
    assert not report.differs
    assert "happens" in report.explanation


# --- every mistake on every preset ----------------------------------------------------------------

@pytest.mark.parametrize("mistake", MISTAKES)
@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_every_report_is_consistent(mistake, name):
    program = preset(name).program()
    report = compare(program, mistake)
    assert len(report.names) == len(report.right) == len(report.wrong) == len(report.at)
    assert report.differs == bool(report.differing)
    assert report.explanation
    assert report.suggested_preset in {p.name for p in presets()}
    if mistake != NO_ZERO:  # the right column is the engine's own backward pass
        assert list(report.right) == gradient(program)[1]


@pytest.mark.parametrize("mistake", MISTAKES)
def test_the_suggested_preset_shows_the_mistake(mistake):
    report = compare(preset(info(mistake).suggested_preset).program(), mistake)
    assert report.differs


# --- the numerical check --------------------------------------------------------------------------

@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_backprop_agrees_with_finite_differences_on_every_preset(name):
    program = preset(name).program()
    checks = gradient_check(program)
    _, grads = gradient(program)
    assert [c.backprop for c in checks] == grads
    assert checks, "every preset has a parameter"
    for c in checks:
        assert c.rel_error < 1e-6, c
        assert c.agrees


def test_gradient_check_of_the_tutorial_loss():
    (check,) = gradient_check(THREE_STEP)
    assert check.name == "w"
    assert check.backprop == -4.0
    assert check.numeric == pytest.approx(-4.0, abs=1e-8)
    assert check.rel_error == relative_error(-4.0, check.numeric)


def test_gradient_check_at_given_values_and_step():
    (check,) = gradient_check(MULTI_PATH, values=[1.0], h=1e-3)
    assert check.backprop == 5.0  # 2a + 3
    # L is quadratic: the central difference is exact up to rounding, whatever h
    assert check.numeric == pytest.approx(5.0, rel=1e-9)


def test_iter_gradient_check_uses_the_given_gradients():
    # a deliberately wrong backprop value must show as a large relative error
    (check,) = iter_gradient_check(MULTI_PATH, grads=[6.0])
    assert check.backprop == 6.0
    assert check.rel_error == pytest.approx(3 / 9, rel=1e-6)
    assert not check.agrees


def test_relative_error():
    assert relative_error(1.0, 1.0) == 0.0
    assert relative_error(0.0, 0.0) == 0.0  # both exactly 0: no 0/0
    assert relative_error(2.0, 1.0) == 0.5
    assert relative_error(-1e-3, 1e-3) == 2.0  # scale-free
    assert math.isnan(relative_error(1.0, math.nan))
    assert AGREEMENT == 1e-6


def test_a_domain_edge_within_h_gives_nan_not_an_exception():
    program = parse("w = Value(0.0000000001)\nL = sqrt(w)\n", "edge")
    (check,) = gradient_check(program, h=1e-6)  # w - h < 0: sqrt is undefined there
    assert math.isnan(check.numeric) and math.isnan(check.rel_error)
    assert not check.agrees
