"""``engine.replay``: one iteration rebuilt at any position, as time travel and the step-by-step
views read it (the numbers are the tutorial's three-step loss at w = 0)."""

import math

import pytest

from engine.language import parse
from engine.presets import preset, presets
from engine.replay import replay

THREE_STEP = preset("three-step").program()


def test_a_moment_counts_its_forward_steps_the_seed_then_its_multiplications():
    m = replay(THREE_STEP)
    assert (len(m.forward), m.seed_position, len(m.chain), m.complete) == (4, 5, 7, 12)
    assert m.position == m.complete  # the default: the whole backward pass done
    assert m.loss == 4
    assert m.grads == (-4,) and m.next_values == pytest.approx((0.4,))


@pytest.mark.parametrize("asked, position", [(-5, 0), (0, 0), (3, 3), (12, 12), (100, 12)])
def test_at_clamps_the_position_into_the_iteration(asked, position):
    assert replay(THREE_STEP).at(asked).position == position


@pytest.mark.parametrize("asked", [-1, -7, 13, 1000])
def test_a_position_outside_the_iteration_means_the_whole_iteration(asked):
    assert replay(THREE_STEP, position=asked).position == 12
    assert replay(THREE_STEP, position=5).position == 5


@pytest.mark.parametrize("position, forward_done, seeded, chain_done", [
    (0, 0, False, 0), (2, 2, False, 0), (4, 4, False, 0), (5, 4, True, 0), (7, 4, True, 2),
    (12, 4, True, 7)])
def test_steps_done_at_a_position(position, forward_done, seeded, chain_done):
    m = replay(THREE_STEP).at(position)
    assert (m.forward_done, m.seeded, m.chain_done) == (forward_done, seeded, chain_done)


def test_the_gradients_shown_are_those_reached_so_far():
    m = replay(THREE_STEP)
    root = m.after.root
    assert all(math.isnan(g) for g in m.at(4).shown_grads())  # forward done, no seed yet
    seed = m.at(5).shown_grads()  # step 0 of the backward pass: the seed alone
    assert seed[root] == 1 and sum(not math.isnan(g) for g in seed) == 1
    one = m.at(6).shown_grads()
    first = m.chain[0]
    assert one[root] == 1 and one[first.child] == first.child_grad_after
    assert sum(not math.isnan(g) for g in one) == 2
    whole = m.shown_grads()
    for step in m.chain:
        assert whole[step.child] == m.after.nodes[step.child].grad
    assert whole[root] == 1


def test_a_parameter_the_loss_ignores_has_no_node_and_a_zero_gradient():
    m = replay(parse("w = Value(3.0)\nv = Value(2.0)\nL = w * w"), lr=0.5)
    assert m.param_names == ("w", "v") and m.param_nodes[1] == -1
    assert m.grads == (6.0, 0.0)
    assert m.next_values == (0.0, 2.0)


def test_a_loss_that_is_a_leaf_has_its_seed_once_the_iteration_is_complete():
    m = replay(parse("L = Value(2.0)"))
    assert (m.complete, m.chain_done) == (1, 0)  # no forward step; the seed is the whole pass
    assert m.shown_grads() == [1]
    assert math.isnan(m.at(0).shown_grads()[0])


def test_a_moment_is_frozen_starts_at_iteration_zero_and_prints_short():
    import dataclasses

    m = replay(THREE_STEP)
    assert m.iteration == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.position = 3
    text = repr(m)  # a log line, not the program, two graphs and every step
    assert "Program(" not in text and "GraphSnapshot(" not in text
    assert "ForwardStep(" not in text and "ChainRuleStep(" not in text
    assert "iteration=0" in text and "position=12" in text


@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_a_replay_named_like_another_snapshot_is_the_plain_replay(name):
    from engine.language import evaluate
    program = preset(name).program()
    ev = evaluate(program)
    engine_snapshot = ev.snapshot()  # what the engine thread shows of the same iteration
    plain, lent = replay(program), replay(program, like=engine_snapshot)
    ev.loss.backward()
    for m in (plain, lent):
        assert m.before == engine_snapshot
        assert m.after == ev.snapshot()  # the gradients of a whole backward pass, named alike
        assert (m.forward, m.chain, m.values, m.param_nodes) == (plain.forward, plain.chain,
                                                                 plain.values, plain.param_nodes)
