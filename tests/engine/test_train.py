"""The trainer: what an iteration records, when a run stops, and the observable iteration."""

import math

import pytest

from engine.graph import backward_steps
from engine.language import ProgramError, ProgramOverflow, evaluate, parse
from engine.presets import preset
from engine.records import ChainRuleStep, ForwardStep, IterationRecord
from engine.train import (CONVERGED, DIVERGED, ERROR, MAX_STEPS, RUNNING, IterationStart,
                          Trainer, curvature, finite_difference, gradient, train)

THREE_STEP = "w = Value(0.0)\nx = 1\ny = 2\nz = w * x\ne = z - y\nL = e**2\n"


def three_step(**kwargs):
    return Trainer(parse(THREE_STEP), **kwargs)


# --- what an iteration records --------------------------------------------------------------------

def test_iteration_k_holds_the_values_before_the_kth_update():
    t = three_step(lr=0.1)
    for k in range(5):
        before = list(t.values)
        rec = t.step()
        assert rec.iteration == k
        assert [p.data for p in rec.params] == before
        assert t.values == [before[0] - 0.1 * rec.params[0].grad]
        assert rec.status == RUNNING
    assert [r.iteration for r in t.records] == [0, 1, 2, 3, 4]


def test_records_name_every_parameter_in_program_order():
    t = Trainer(preset("regression").program(), lr=0.01)
    rec = t.step()
    assert [p.name for p in rec.params] == ["m", "b"]
    assert rec.loss == 56.0
    assert (rec.param("m").grad, rec.param("b").grad) == (-56.0, -24.0)
    assert rec.max_abs_grad == 56.0
    with pytest.raises(KeyError):
        rec.param("alpha")


def test_param_values_set_the_start():
    t = Trainer(parse(THREE_STEP), lr=0.1, param_values=[1.0])
    rec = t.step()
    assert rec.param("w").data == 1.0
    assert rec.loss == 1.0 and rec.param("w").grad == -2.0


def test_run_stops_at_the_step_cap_with_the_values_after_the_last_update():
    t = three_step(lr=0.1)
    result = t.run(3)
    assert result.status == MAX_STEPS
    assert len(result.records) == 3
    assert result.final["w"] == pytest.approx(2 - 2 * 0.8 ** 3, abs=1e-12)
    assert result.loss == result.records[-1].loss == pytest.approx(1.6384)  # iteration 2
    assert "stopped after 3 iterations" in result.message
    assert t.iteration == 3


def test_train_function_is_a_whole_run():
    result = train(parse(THREE_STEP), lr=0.5, steps=10)
    assert result.status == CONVERGED
    assert result.final == {"w": 2.0}


def test_the_trainers_snapshot_is_the_last_graph_with_its_gradients():
    t = three_step(lr=0.1)
    assert t.snapshot() is None
    t.step()
    t.step()
    g = t.snapshot()
    assert g.node_named("w").data == 0.4
    assert g.node_named("w").grad == pytest.approx(-3.2)
    assert g.nodes[g.root].grad == 1


# --- convergence --------------------------------------------------------------------------------------

def test_convergence_is_checked_before_updating():
    t = three_step(lr=0.5)
    first = t.step()
    assert first.status == RUNNING
    second = t.step()  # w = 2: the gradient is 0, so no update follows
    assert second.status == CONVERGED == t.status
    assert second.param("w").data == 2.0 and second.param("w").grad == 0.0
    assert t.values == [2.0]
    assert t.iteration == 1
    assert t.message.startswith("converged: |dL/dw| ≤ 1e-06 after 1 iteration, w = 2.0000")


def test_a_run_that_starts_at_the_minimum_converges_at_iteration_zero():
    result = Trainer(parse("w = Value(2.0)\nL = (w - 2)**2\n")).run(100)
    assert result.status == CONVERGED
    assert len(result.records) == 1
    assert result.final == {"w": 2.0}


def test_tolerance():
    # |dL/dw| = 4·0.8^k: above 1 up to k = 6, below it from k = 7
    result = three_step(lr=0.1, tol=1.0).run(100)
    assert result.status == CONVERGED
    assert len(result.records) == 8
    assert abs(result.records[-1].param("w").grad) <= 1.0 < abs(result.records[-2].param("w").grad)
    # tol 0 needs an exact zero gradient
    assert three_step(lr=0.1, tol=0.0).run(50).status == MAX_STEPS


def test_a_program_without_parameters_converges_at_once():
    result = Trainer(parse("L = 3\n")).run(10)
    assert result.status == CONVERGED
    assert result.records[0].params == ()
    assert result.final == {}


def test_a_finished_run_refuses_another_step():
    t = three_step(lr=0.5)
    t.run(10)
    with pytest.raises(RuntimeError):
        t.step()


# --- learning rate --------------------------------------------------------------------------------------

def test_the_learning_rate_may_change_between_iterations_and_takes_effect_at_the_next():
    t = three_step(lr=0.1)
    r0 = t.step()
    assert t.values == [0.4]
    t.lr = 0.5
    r1 = t.step()
    assert (r0.lr, r1.lr) == (0.1, 0.5)
    assert r1.param("w").data == 0.4  # the earlier step used 0.1
    assert t.values == [pytest.approx(0.4 + 0.5 * 3.2)]
    r2 = t.step()
    assert r2.param("w").data == pytest.approx(2.0) and r2.status == CONVERGED


# --- divergence and errors --------------------------------------------------------------------------------

def test_an_infinite_loss_is_divergence():
    result = Trainer(parse("w = Value(1e308)\nL = w * 10\n")).run(10)
    assert result.status == DIVERGED
    assert math.isinf(result.loss)
    assert "infinite or not a number" in result.message


def test_a_nan_loss_is_divergence():
    result = Trainer(parse("w = Value(1e308)\nL = w * 10 - w * 10\n")).run(10)
    assert result.status == DIVERGED
    assert math.isnan(result.loss)


OVERFLOWS_AT_ONE = "w = Value(0.0)\nL = (w - 2)**2 + exp(w) - exp(w)\n"  # lr 200: w = 800


def test_an_overflow_is_divergence_not_an_exception():
    # dL/dw = -4 at w = 0, so lr 200 takes w to 800 and math.exp raises OverflowError
    result = Trainer(parse(OVERFLOWS_AT_ONE), lr=200).run(10)
    assert result.status == DIVERGED
    assert len(result.records) == 2
    assert result.records[-1].loss == math.inf
    assert all(math.isnan(p.grad) for p in result.records[-1].params)
    assert "too large" in result.message and "iteration 1" in result.message


def test_an_overflow_at_the_starting_values_is_the_programs_error():
    # nothing has been trained yet: the program itself cannot be evaluated
    with pytest.raises(ProgramOverflow):
        Trainer(parse("w = Value(10.0)\nL = w**400\n"))


def test_a_millionfold_growth_of_the_loss_is_divergence():
    # first loss 0.01; each step multiplies it by 4: the bound is 1e6 × max(0.01, 1) = 1e6,
    # first passed at iteration 14 (0.01 · 4^14 ≈ 2.7e6)
    result = Trainer(parse("w = Value(2.1)\nL = (w - 2)**2\n"), lr=1.5).run(1000)
    assert result.status == DIVERGED
    assert result.records[-1].iteration == 14
    assert result.records[-2].loss < 1e6 < result.records[-1].loss
    assert "million-fold" in result.message
    assert "2/2 = 1" in result.message  # the stability hint: d²L/dw² = 2


def test_the_three_step_loss_at_lr_1_5_diverges_within_a_few_dozen_iterations():
    result = three_step(lr=1.5).run(500)
    assert result.status == DIVERGED
    assert len(result.records) < 40
    assert result.records[-1].status == DIVERGED


def test_a_domain_error_after_the_first_iteration_ends_the_run_with_status_error():
    # log(w): dL/dw = 1/w = 1, so lr 2 takes w from 1 to -1, outside log's domain
    t = Trainer(parse("w = Value(1.0)\nL = log(w)\n"), lr=2.0)
    result = t.run(10)
    assert result.status == ERROR
    assert len(result.records) == 2
    last = result.records[-1]
    assert last.iteration == 1 and math.isnan(last.loss)
    assert "iteration 1" in result.message and "log" in result.message and "line 2" in result.message
    assert result.final == {"w": -1.0}


def test_a_program_error_at_the_start_is_raised():
    with pytest.raises(ProgramError):
        Trainer(parse("w = Value(0.0)\nL = log(w)\n"))


# --- zero_grad=False ----------------------------------------------------------------------------------------

def test_without_zeroing_each_gradient_starts_from_the_last_one():
    t = three_step(lr=0.1, zero_grad=False)
    r0 = t.step()
    r1 = t.step()
    assert r0.param("w").grad == -4.0
    assert r1.param("w").data == 0.4
    assert r1.param("w").grad == pytest.approx(-3.2 - 4.0)  # the fresh gradient plus the old
    assert t.values == [pytest.approx(0.4 + 0.1 * 7.2)]
    # and with zeroing, the fresh gradient alone
    z = three_step(lr=0.1)
    z.step()
    assert z.step().param("w").grad == pytest.approx(-3.2)


def test_without_zeroing_the_observed_iteration_carries_too():
    a, b = three_step(lr=0.1, zero_grad=False), three_step(lr=0.1, zero_grad=False)
    for _ in range(4):
        rec_a = a.step()
        rec_b = list(b.steps())[-1]
        assert rec_a == rec_b


# --- the observable iteration ----------------------------------------------------------------------------

def test_steps_yields_the_start_forward_steps_seven_multiplications_then_the_record():
    t = three_step(lr=0.1)
    items = list(t.steps())
    assert isinstance(items[0], IterationStart) and items[0].iteration == 0
    graph = items[0].graph
    assert [n.name for n in graph.nodes] == ["w", "x", "z", "y", "-1", "-y", "e", "L"]
    forward = [i for i in items if isinstance(i, ForwardStep)]
    chain = [i for i in items if isinstance(i, ChainRuleStep)]
    assert isinstance(items[-1], IterationRecord)
    assert items == [items[0]] + forward + chain + [items[-1]]
    assert [graph.nodes[f.node].name for f in forward] == ["z", "-y", "e", "L"]
    assert [f.number for f in forward] == [1, 2, 3, 4]
    assert [f.value for f in forward] == [0, -2, -2, 4]
    assert forward[-1].local_grads == (-4,)
    assert len(chain) == 7
    assert [c.number for c in chain] == list(range(1, 8))
    names = [(graph.nodes[c.parent].name, graph.nodes[c.child].name) for c in chain]
    assert names[:3] == [("L", "e"), ("e", "z"), ("e", "-y")]
    assert set(names[3:5]) == {("-y", "y"), ("-y", "-1")}
    assert names[5:] == [("z", "w"), ("z", "x")]
    assert [c.product for c in chain[:3]] == [-4, -4, -4]
    into_w = chain[5]
    assert (into_w.local_grad, into_w.upstream, into_w.product) == (1, -4, -4)
    assert (into_w.child_grad_before, into_w.child_grad_after) == (0, -4)
    record = items[-1]
    assert record.iteration == 0 and record.loss == 4 and record.param("w").grad == -4


def test_steps_and_step_give_the_same_numbers():
    for name, lr in [("three-step", 0.1), ("multi-path", 0.1), ("neuron", 0.1), ("regression", 0.01)]:
        program = preset(name).program()
        plain, watched = Trainer(program, lr=lr), Trainer(program, lr=lr)
        for k in range(5):
            rec = plain.step()
            items = list(watched.steps())
            assert items[-1] == rec
            assert items[0].iteration == k
            chain = [i for i in items if isinstance(i, ChainRuleStep)]
            # the last multiplication into each parameter leaves its recorded gradient
            final = {}
            for c in chain:
                final[c.child] = c.child_grad_after
            graph = items[0].graph
            for p in rec.params:
                nodes = [n for n in graph.nodes if n.label == p.name]
                if nodes:
                    assert final[nodes[0].id] == p.grad
        assert plain.values == watched.values


def test_steps_on_a_diverging_program_yield_the_record():
    t = Trainer(parse(OVERFLOWS_AT_ONE), lr=200)
    assert isinstance(list(t.steps())[-1], IterationRecord)
    items = list(t.steps())
    assert len(items) == 1 and isinstance(items[0], IterationRecord)
    assert items[0].status == DIVERGED == t.status


# --- helpers ---------------------------------------------------------------------------------------------

def test_gradient_curvature_and_finite_difference():
    program = parse(THREE_STEP)
    assert gradient(program) == (4.0, [-4.0])
    assert gradient(program, [1.0]) == (1.0, [-2.0])
    assert curvature(program, [0.0]) == pytest.approx(2.0, rel=1e-6)
    assert finite_difference(program, [0.0], 0) == pytest.approx(-4.0, rel=1e-6)
    multi = preset("multi-path").program()
    assert finite_difference(multi, [3.0], 0) == pytest.approx(9.0, rel=1e-6)
    assert curvature(multi, [3.0]) == pytest.approx(2.0, rel=1e-6)


def test_backward_steps_agree_with_backward_on_the_network_preset():
    program = preset("network").program()
    a, b = evaluate(program), evaluate(program)
    a.loss.backward()
    steps = list(backward_steps(b.loss))
    assert [p.grad for _, p in a.params] == [p.grad for _, p in b.params]
    assert len(steps) == sum(len(n.children) for n in b.snapshot().nodes)


def test_a_record_batch_reads_as_the_records_it_was_made_from():
    import pickle

    from engine.records import RecordBatch

    t = Trainer(preset("regression").program(), lr=0.01)
    records = [t.step() for _ in range(6)]
    batch = RecordBatch.from_records(records)
    assert list(batch) == records and batch[-1] == records[-1] and batch[2:4] == records[2:4]
    assert pickle.loads(pickle.dumps(batch)) == batch
    both = RecordBatch.concat([batch, RecordBatch.from_records([t.step()])])
    assert len(both) == 7 and both[6].iteration == 6


# --- divergence of the parameters (issue 12) and records kept or not ------------------------------------

def test_the_network_at_a_huge_rate_diverges_although_tanh_keeps_the_loss_small():
    result = Trainer(preset("network").program(), lr=1e6).run(100)
    assert result.status == DIVERGED
    assert "grew past a million times its start" in result.message
    assert result.records[-1].status == DIVERGED


def test_a_finite_loss_with_an_infinite_gradient_is_divergence():
    # log of a subnormal number is about -736, but its slope 1/x overflows to inf
    for fast in (True, False):
        t = Trainer(parse("w = Value(1.0)\nL = log(w * 1e-320) + 1\n"), lr=1e-3, fast=fast)
        t.run(5)
        rec = t.records[-1]
        assert t.status == DIVERGED and "infinite or not a number" in t.message
        assert math.isfinite(rec.loss) and math.isinf(rec.param("w").grad)


def test_a_run_without_records_still_reports_its_last_loss():
    t = three_step(lr=0.1, keep_records=False)
    result = t.run(1000)
    assert result.records == [] and result.status == CONVERGED
    assert result.loss == t.last_record.loss < 1e-10


# --- quadratic_minimum, found unguarded by mutation testing (tools/mutate.py) ------------------------

def test_the_minimum_of_a_quadratic_bowl_is_one_newton_step_away():
    from engine.train import gradient, quadratic_minimum

    assert quadratic_minimum(preset("three-step").program(), [0.0]) == pytest.approx([2.0])
    regression = preset("regression").program()
    target = quadratic_minimum(regression, [0.0, 0.0])
    assert target is not None and len(target) == 2
    assert gradient(regression, target)[1] == pytest.approx([0.0, 0.0], abs=1e-9)
    four = parse("a = Value(1.0)\nb = Value(1.0)\nc = Value(1.0)\nd = Value(1.0)\n"
                 "L = (a-1)*(a-1) + b*b + c*c + (d+2)*(d+2)")
    assert quadratic_minimum(four, [0.0] * 4) == pytest.approx([1.0, 0.0, 0.0, -2.0], abs=1e-9)


@pytest.mark.parametrize("source, values", [
    ("w = Value(1.0)\nL = w**4", [1.0]),  # not a quadratic: the Hessian differs elsewhere
    ("w = Value(1.0)\nL = -(w*w)", [1.0]),  # a maximum: the step would raise the loss
    ("a = Value(1.0)\nb = Value(1.0)\nL = (a + b)**2", [1.0, 1.0]),  # a valley: singular
    ("L = Value(1.0)*0 + 3", []),  # no parameters to solve for
    ("a = Value(1.0)\nb = Value(1.0)\nc = Value(1.0)\nd = Value(1.0)\ne = Value(1.0)\n"
     "L = a*a + b*b + c*c + d*d + e*e", [1.0] * 5),  # more parameters than it solves for
])
def test_no_simple_target_when_the_loss_is_not_a_bowl_it_can_solve(source, values):
    from engine.train import quadratic_minimum

    assert quadratic_minimum(parse(source), values) is None


def test_a_trainer_restored_from_anothers_state_goes_on_exactly_as_the_first_would():
    from engine.train import Trainer

    program = preset("three-step").program()
    first = Trainer(program, lr=0.3)
    for _ in range(3):
        first.step()
    state = first.state()
    second = Trainer(program, lr=0.3, param_values=[5.0])  # started elsewhere: restore wins
    second.restore(state)
    assert second.start_values == first.start_values == [0.0]
    assert second.snapshot() == first.snapshot()  # rebuilt from the last record
    went_on = [first.step() for _ in range(3)]
    assert [second.step() for _ in range(3)] == went_on
    assert second.state() == first.state()
