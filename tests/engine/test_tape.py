"""The compiled tape: the same numbers as the ``Value`` path, bit for bit and type for type, on
every preset and on random programs; the trainer on it, its fallbacks, and shape detection."""

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_gradients_hypothesis import programs

from budget import step_budget

from engine.language import ProgramError, evaluate, parse
from engine.presets import preset, presets
from engine.records import RecordBatch
from engine.tape import Tape, compile_graph, compile_program, record
from engine.train import COMPILE_AFTER, CONVERGED, DIVERGED, ERROR, MAX_STEPS, RUNNING, Trainer
from engine.value import Value

PRESETS = [p.name for p in presets()]


def bits(x):
    """A number as its exact identity: its type and, for a float, its 64 bits (so -0.0 != 0.0)."""
    if isinstance(x, float):
        return ("float", struct.pack("<d", x))
    return (type(x).__name__, x)


def record_bits(r):
    return (r.iteration, bits(r.lr), bits(r.loss), r.status,
            tuple((p.name, bits(p.data), bits(p.grad)) for p in r.params))


def value_path(program, values, carried=None):
    ev = evaluate(program, values)
    if carried is not None:
        for (_, p), g in zip(ev.params, carried):
            p.grad = g
    ev.loss.backward()
    return ev.loss.data, [p.grad for _, p in ev.params]


def drive(t, steps, how):
    """Run a trainer to ``steps`` iterations one ``step()`` at a time, by ``advance(7)`` (which
    goes on to the next multiple of 7) or by one ``run()``."""
    if how == "step":
        while t.status == RUNNING and t.iteration < steps:
            t.step()
        t.run(steps)
    elif how == "advance":
        while t.status == RUNNING and t.iteration < steps:
            t.advance(7)
    else:
        t.run(steps)
    return t


def same_run(program, steps, how, **kwargs):
    """Two trainers, one on the tape and one on Value objects, driven alike; their records."""
    fast = drive(Trainer(program, **kwargs), steps, how)
    slow = drive(Trainer(program, fast=False, **kwargs), steps, how)
    assert slow.tape is None
    return fast, slow


def same_runs(program, steps, **kwargs):
    """The tape's trainer driven each way (``drive``), each beside the Value path's trainer
    driven alike: one Value-path run serves ``step`` and ``run``, whose records are the same on
    the Value path (``test_stepping_and_running_make_the_same_records``); ``advance`` gets its
    own, since it goes past ``steps``."""
    slow = drive(Trainer(program, fast=False, **kwargs), steps, "run")
    slow_advance = drive(Trainer(program, fast=False, **kwargs), steps, "advance")
    assert slow.tape is None and slow_advance.tape is None
    for how in ("step", "advance", "run"):
        yield how, drive(Trainer(program, **kwargs), steps, how), (
            slow_advance if how == "advance" else slow)


# --- one pass ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_compiles_and_one_pass_is_the_value_paths_bit_for_bit(name):
    program = preset(name).program()
    tape = compile_program(program)
    assert tape is not None and len(tape) == len(evaluate(program).snapshot().nodes)
    start = evaluate(program).param_values()
    for shift in (0.0, 0.37, -1.3):
        values = [v + shift for v in start]
        loss, grads = tape.gradient(values)
        ref_loss, ref_grads = value_path(program, values)
        assert bits(loss) == bits(ref_loss)
        assert [bits(g) for g in grads] == [bits(g) for g in ref_grads]


def test_the_tape_is_flat_arrays_in_topological_order():
    tape = compile_program(preset("three-step").program())
    # the tutorial's 8 nodes [w, x, z, y, -1, -y, e, L]
    assert tape.ops == ("", "", "*", "", "", "*", "+", "**2")
    assert tape.child1 == (-1, -1, 0, -1, -1, 3, 2, 6)
    assert tape.child2 == (-1, -1, 1, -1, -1, 4, 5, -1)
    assert tape.live == (True, False, True, False, False, False, True, True)
    assert tape.params == (0,) and tape.root == 7
    assert tape.data[3:5] == (2.0, -1)  # y and the -1 of the negation, kept as constants


def test_the_generated_source_comes_from_operation_codes_not_from_the_program_text():
    program = parse("w = Value(0.5)\nsecret_name = w * 3\nL = tanh(secret_name)**2\n")
    source = compile_program(program).source()
    assert "secret_name" not in source and "tanh(" in source
    assert "import" not in source and "eval" not in source


def test_carried_gradients_start_where_the_value_path_starts():
    program = preset("multi-path").program()
    tape = compile_program(program)
    values = evaluate(program).param_values()
    carried = [0.25 * (k + 1) for k in range(len(values))]
    assert [bits(x) for x in (tape.gradient(values, carried)[0], *tape.gradient(values, carried)[1])] \
        == [bits(x) for x in (value_path(program, values, carried)[0],
                              *value_path(program, values, carried)[1])]


def test_integer_gradients_stay_integers_and_negative_zero_stays_signed():
    # L = -(a + b): every gradient is the int -1, as in value.py
    program = parse("a = Value(1.0)\nb = Value(2.0)\nL = -(a + b)\n")
    loss, grads = compile_program(program).gradient([1.0, 2.0])
    assert [bits(g) for g in grads] == [bits(g) for g in value_path(program, [1.0, 2.0])[1]] \
        == [("int", -1), ("int", -1)]
    # at w = 0 the slope of w*w*w is -0.0 times ... : the tape must keep the sign of each zero
    program = parse("w = Value(0.0)\nL = (w * -1.0) * w * 2\n")
    for v in (0.0, -0.0):
        assert [bits(g) for g in compile_program(program).gradient([v])[1]] == \
            [bits(g) for g in value_path(program, [v])[1]]


def test_a_parameter_the_loss_ignores_gets_gradient_zero():
    program = parse("a = Value(1.0)\nunused = Value(5.0)\nL = a * a\n")
    tape = compile_program(program)
    assert tape.params[1] > tape.root  # recorded, but outside the loss's graph
    assert [bits(g) for g in tape.gradient([1.0, 5.0])[1]] == \
        [bits(g) for g in value_path(program, [1.0, 5.0])[1]]


def test_an_unused_line_that_fails_stops_the_run_on_both_paths():
    # t is never used by the loss, but the Value path computes it, and log(0) stops the run
    program = parse("w = Value(2.0)\nt = log(w - 1)\nL = (w + 3)**2 * 0.01\n")
    tape = compile_program(program)
    assert tape.live[tape.root + 1:].count(True) >= 2  # w - 1 and log(w - 1), after the loss
    with pytest.raises((ArithmeticError, ValueError)):
        tape.gradient([1.0])
    fast, slow = same_run(program, 50, "run", lr=0.25)
    assert fast.status == slow.status == ERROR and fast.message == slow.message
    assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]


def test_a_loss_that_is_a_parameter_itself():
    program = parse("w = Value(3.0)\nL = w\n")
    assert [bits(g) for g in compile_program(program).gradient([3.0])[1]] == [("int", 1)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.floats(-1.5, 1.5, allow_nan=False), st.sampled_from([0.01, 0.3, 2.0]))
def test_random_programs_replay_bit_for_bit_or_fall_back(case, shift, lr):
    source, values = case
    program = parse(source)
    try:
        evaluate(program)
    except ProgramError:
        return  # outside the domain at the start: nothing to train
    tape = compile_program(program)
    assert tape is not None
    point = [v + shift for v in values]
    try:
        ref = value_path(program, point)
    except (ProgramError, ArithmeticError):
        with pytest.raises((ArithmeticError, ValueError)):
            tape.gradient(point)  # the tape refuses too: its caller takes the Value path
    else:
        try:
            got = tape.gradient(point)
        except (ArithmeticError, ValueError):
            pass  # allowed: the Value path then gives this iteration (sin(inf) is nan there)
        else:
            assert bits(got[0]) == bits(ref[0])
            assert [bits(g) for g in got[1]] == [bits(g) for g in ref[1]]
    # and whole runs, through each of the trainer's entry points
    for how in ("step", "advance", "run"):
        fast, slow = same_run(program, 25, how, lr=lr, tol=1e-9)
        assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]
        assert (fast.status, fast.message, fast.values) == (slow.status, slow.message, slow.values)


# --- whole runs -------------------------------------------------------------------------------------

def budgeted(program, iterations: int) -> int:
    """``iterations``, or fewer for a big graph (``step_budget``): more than ``COMPILE_AFTER``
    interpreted, then the tape compiled and replayed for the rest."""
    return min(iterations, max(COMPILE_AFTER + 7, step_budget(program)))


def test_stepping_and_running_make_the_same_records():
    """What ``same_runs`` leans on: on the Value path, ``step()`` by ``step()`` and one ``run()``
    make the same records."""
    for name, lr in (("three-step", 0.3), ("network", 0.01), ("neuron", 1.5)):
        program = preset(name).program()
        stepped = drive(Trainer(program, fast=False, lr=lr), 60, "step")
        ran = drive(Trainer(program, fast=False, lr=lr), 60, "run")
        assert [record_bits(r) for r in stepped.records] == [record_bits(r) for r in ran.records]
        assert (stepped.status, stepped.message) == (ran.status, ran.message)


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("lr", [0.01, 0.3, 1.5, 1e6])
def test_a_run_on_the_tape_makes_the_value_paths_records(name, lr):
    program = preset(name).program()
    for how, fast, slow in same_runs(program, budgeted(program, 120), lr=lr):
        assert fast.tape is not None or fast.status != RUNNING, how
        assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records], how
        assert (fast.status, fast.message, fast.iteration) == (
            slow.status, slow.message, slow.iteration), how
        assert [bits(v) for v in fast.values] == [bits(v) for v in slow.values], how
        assert record_bits(fast.last_record) == record_bits(slow.last_record), how


@pytest.mark.parametrize("name", ["three-step", "multi-path", "network"])
def test_without_zeroing_the_tape_carries_the_gradients_as_the_value_path_does(name):
    for how in ("step", "advance", "run"):
        fast, slow = same_run(preset(name).program(), 40, how, lr=0.01, zero_grad=False, tol=0)
        assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]
        assert fast.tape is not None


def test_the_trainer_compiles_once_the_run_goes_on_not_for_a_step_or_two():
    t = Trainer(preset("three-step").program())
    t.step()
    t.step()
    assert t.tape is None  # a caller that takes a step or two never pays for compiling
    t.run(500)
    assert t.tape is not None and t.status == CONVERGED


def test_advance_returns_the_records_by_column_and_keeps_the_last():
    t = Trainer(preset("three-step").program(), lr=0.001, tol=0, keep_records=False)
    batch = t.advance(500)
    assert isinstance(batch, RecordBatch) and len(batch) == 500
    assert batch.iterations == tuple(range(500)) and t.iteration == 500 and t.records == []
    assert record_bits(t.last_record) == record_bits(batch[-1])
    slow = Trainer(preset("three-step").program(), lr=0.001, tol=0, fast=False)
    slow.run(500)
    assert [record_bits(r) for r in batch] == [record_bits(r) for r in slow.records]


def test_a_million_iterations_without_records_keep_only_the_last():
    t = Trainer(preset("three-step").program(), lr=1e-7, tol=0, keep_records=False)
    result = t.run(20_000)
    assert result.status == MAX_STEPS and result.records == [] and t.iteration == 20_000
    assert result.last.iteration == 19_999 and result.loss == result.last.loss


def test_the_lr_may_change_between_advances():
    t = Trainer(preset("three-step").program(), lr=0.01, tol=0)
    t.advance(10)
    t.lr = 0.02
    t.advance(10)
    slow = Trainer(preset("three-step").program(), lr=0.01, tol=0, fast=False)
    for k in range(20):
        slow.lr = 0.01 if k < 10 else 0.02
        slow.step()
    assert [record_bits(r) for r in t.records] == [record_bits(r) for r in slow.records]


def test_a_restored_trainer_goes_on_on_the_tape():
    program = preset("network").program()
    a = Trainer(program, lr=0.05, keep_records=False)
    a.advance(30)  # still running (run() would mark the cap)
    b = Trainer(program, lr=0.05, keep_records=False)
    b.restore(a.state())
    a.advance(30)
    b.advance(30)
    assert a.iteration == b.iteration == 60
    assert [bits(v) for v in a.values] == [bits(v) for v in b.values]
    assert b.tape is not None


# --- falling back -----------------------------------------------------------------------------------

def test_a_domain_error_mid_run_comes_from_the_value_path_with_its_line_and_column():
    # log(w) with w walking down through 0: the tape raises, the Value path names the operation
    program = parse("w = Value(1.0)\nL = log(w) + 3 * w\n")
    fast, slow = same_run(program, 100, "run", lr=0.2)
    assert fast.status == slow.status == ERROR
    assert fast.message == slow.message and "line 2" in fast.message
    assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]


def test_an_overflow_mid_run_is_the_same_divergence():
    program = parse("w = Value(1.0)\nL = exp(w * w)\n")
    fast, slow = same_run(program, 100, "run", lr=5.0)
    assert fast.status == slow.status == DIVERGED and fast.message == slow.message


def test_sin_of_infinity_is_nan_on_both_paths():
    program = parse("w = Value(1e300)\nL = sin(w * w) + w\n")
    fast, slow = same_run(program, 10, "step", lr=0.1)
    assert fast.status == slow.status == DIVERGED
    assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]


def test_a_negative_base_to_a_fractional_power_is_refused_not_made_complex():
    program = parse("w = Value(1.0)\nL = (w - 2)**0.5\n")
    with pytest.raises(ProgramError):
        evaluate(program)
    tape = record(*_graph(lambda w: (w + 1.0) ** 0.5, 1.0))
    with pytest.raises(ArithmeticError):
        tape.gradient([-3.0])


def _graph(f, *values):
    params = [Value(v) for v in values]
    return f(*params), params


# --- the shape -------------------------------------------------------------------------------------

def test_a_builder_that_branches_on_values_gets_no_tape():
    def branching(point):
        w = Value(point[0])
        return (w * w if point[0] > 0 else w * 3 + 1), [w]

    def steady(point):
        w = Value(point[0])
        return (w * w + abs(w)).relu(), [w]  # abs and relu branch inside one operation

    assert compile_graph(branching, [1.0], check=[[-1.0]]) is None
    assert isinstance(compile_graph(steady, [1.0], check=[[-1.0]]), Tape)


def test_the_trainer_drops_a_tape_whose_shape_no_longer_matches():
    program = preset("three-step").program()
    t = Trainer(program, tape=compile_program(preset("multi-path").program()))
    list(t.steps())  # the step-by-step view builds Value objects and compares the shape
    assert t.tape is None
    t.run(100)
    assert t.status == CONVERGED and t.values == [pytest.approx(2.0)]


def test_matches_compares_operations_edges_and_parameters():
    program = preset("network").program()
    tape = compile_program(program)
    ev = evaluate(program, [v * 2 for v in evaluate(program).param_values()])
    assert tape.matches(ev.loss, [v for _, v in ev.params])
    other = evaluate(preset("neuron").program())
    assert not tape.matches(other.loss, [v for _, v in other.params])


# --- divergence (issue 12) ---------------------------------------------------------------------------

def test_parameters_that_explode_are_divergence_even_when_the_loss_saturates():
    fast = Trainer(preset("network").program(), lr=1e6)
    result = fast.run(100)
    assert result.status == DIVERGED
    assert "grew past a million times its start" in result.message
    assert any(abs(p.data) > 1e6 for p in result.records[-1].params)


def test_a_parameter_bound_scales_with_its_start():
    program = parse("w = Value(1e7)\nL = (w - 3e12)**2 * 1e-30\n")
    t = Trainer(program, lr=1e32, tol=0)
    t.run(3)
    assert t.status == DIVERGED and "grew past" in t.message  # 1e6 × |θ₀| = 1e13, passed
    calm = Trainer(parse("w = Value(1e7)\nL = (w - 2e7)**2 * 1e-20\n"), lr=1e5, tol=0)
    calm.run(50)
    assert calm.status == MAX_STEPS  # 2e7 is twice its start: no divergence


def test_math_isfinite_agrees_with_the_tapes_bounds():
    assert not (-math.inf < math.nan < math.inf)


# --- big graphs: the arrays replayed by a loop, not generated code -------------------------------

@pytest.fixture
def array_replay(monkeypatch):
    """Every tape replayed by the loop over its arrays (as graphs past GENERATE_UP_TO are)."""
    import engine.tape
    monkeypatch.setattr(engine.tape, "GENERATE_UP_TO", 0)


@pytest.mark.parametrize("name", PRESETS)
def test_the_array_replay_is_the_value_path_bit_for_bit(name, array_replay):
    program = preset(name).program()
    tape = compile_program(program)
    start = evaluate(program).param_values()
    for shift in (0.0, 0.37, -1.3):
        values = [v + shift for v in start]
        loss, grads = tape.gradient(values)
        ref_loss, ref_grads = value_path(program, values)
        assert bits(loss) == bits(ref_loss)
        assert [bits(g) for g in grads] == [bits(g) for g in ref_grads]
    for zero in (True, False):
        for how, fast, slow in same_runs(program, budgeted(program, 60), lr=0.3, zero_grad=zero):
            assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]
            assert (fast.status, fast.message) == (slow.status, slow.message), (how, zero)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(programs(), st.sampled_from([0.01, 0.3, 2.0]))
def test_random_programs_on_the_array_replay(array_replay, case, lr):
    source, _ = case
    program = parse(source)
    try:
        evaluate(program)
    except ProgramError:
        return
    for how in ("step", "run"):
        fast, slow = same_run(program, 25, how, lr=lr, tol=1e-9)
        assert [record_bits(r) for r in fast.records] == [record_bits(r) for r in slow.records]
        assert (fast.status, fast.message, fast.values) == (slow.status, slow.message, slow.values)


# --- the array replay's backward pass in waves of numpy operations --------------------------------

def waves_of(tape):
    """The wave-scheduled backward of a tape replayed from its arrays (None: the loop runs)."""
    import engine.tape
    gradient = engine.tape._replay_arrays(tape)
    return gradient, gradient.backward_waves


@pytest.mark.parametrize("source, values, kinds", [
    # the tutorial's loss: x = 1 and y = 2 are ints, so w's local gradients are ints
    ("w = Value(0.0)\nL = (w * 1 - 2)**2\n", [0.0], ["float"]),
    # int gradients through sums, and a parameter used twice by one node (two edges into w)
    ("a = Value(1.0)\nb = Value(2.0)\nL = -(a + b) + a * a\n", [1.0, 2.0], ["float", "int"]),
    ("w = Value(0.5)\nu = Value(1.0)\nL = -(w + u) - (u + w)\n", [0.5, 1.0], ["int", "int"]),
    ("w = Value(3.0)\nL = w\n", [3.0], ["int"]),
    ("w = Value(0.0)\nL = (w * -1.0) * w * 2\n", [-0.0], ["float"]),
])
def test_the_backward_in_waves_is_the_value_paths_bit_for_bit_and_type_for_type(source, values,
                                                                                 kinds):
    program = parse(source)
    tape = compile_program(program)
    gradient, waves = waves_of(tape)
    assert waves is not None  # this graph takes the numpy waves, not the loop
    loss, grads = gradient(values, None)
    ref_loss, ref_grads = value_path(program, values)
    assert bits(loss) == bits(ref_loss)
    assert [bits(g) for g in grads] == [bits(g) for g in ref_grads]
    assert [bits(g)[0] for g in grads] == kinds
    carried = [0.25 * (k + 1) for k in range(len(values))]
    assert [bits(g) for g in gradient(values, carried)[1]] == \
        [bits(g) for g in value_path(program, values, carried)[1]]


@pytest.mark.parametrize("big, takes_waves", [(3**40, False), (3**20, True)])
def test_ints_too_big_to_be_exact_as_floats_keep_the_loop(big, takes_waves):
    # built from Python, where constants stay ints: 3**40 > 2**53, so the int gradient of w
    # would be rounded by a float sum; 3**20 is exact either way
    def build(values):
        w, v = Value(values[0]), Value(values[1])
        return -(w * big + w * 1 + v) - w, [w, v]

    root, params = build([1.0, 2.0])
    gradient, waves = waves_of(record(root, params))
    assert (waves is not None) == takes_waves
    root.backward()
    assert [bits(g) for g in gradient([1.0, 2.0], None)[1]] == [bits(p.grad) for p in params] \
        == [("int", -big - 2), ("int", -1)]


def test_the_waves_add_into_one_gradient_in_backward_orders_order():
    # many products into one parameter, of very different sizes: a different order of the sums
    # would round differently
    terms = " + ".join(f"w * {10.0 ** (k % 7 - 3) * (1 + k / 7):.6g}" for k in range(40))
    program = parse(f"w = Value(0.3)\nu = Value(-1.1)\nL = ({terms}) * u + tanh(w * u)**2\n")
    tape = compile_program(program)
    gradient, waves = waves_of(tape)
    assert waves is not None
    for values in ([0.3, -1.1], [1e-8, 3.0], [-2.5, 1e5]):
        assert [bits(g) for g in gradient(values, None)[1]] == \
            [bits(g) for g in value_path(program, values)[1]]


def test_a_pass_with_integer_parameters_keeps_the_loop_and_its_types():
    program = parse("w = Value(1.0)\nL = w * w\n")
    gradient, waves = waves_of(compile_program(program))
    assert waves is not None
    # called with an int (kernel callers pass floats; this is the guard if one does not)
    assert [bits(g) for g in gradient([2], None)[1]] == [("int", 4)]


def test_compiling_under_cprofile_keeps_the_profiler_and_the_tape():
    import cProfile

    program = preset("network").program()
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        tape = compile_program(program)
        evaluate(program)  # after the compile: still seen by the profiler
    finally:
        profiler.disable()
    assert tape is not None
    seen = {e.code.co_name for e in profiler.getstats() if hasattr(e.code, "co_name")}
    assert "evaluate" in seen
    loss, grads = tape.gradient(evaluate(program).param_values())
    assert bits(loss) == bits(value_path(program, evaluate(program).param_values())[0])


def test_compiling_under_a_python_profile_hook_chains_to_it():
    import sys

    calls = []
    program = preset("three-step").program()
    sys.setprofile(lambda frame, event, arg: calls.append(frame.f_code.co_name))
    try:
        tape = compile_program(program)
    finally:
        hook = sys.getprofile()
        sys.setprofile(None)
    assert tape is not None and hook is not None  # handed back
    assert "__init__" in calls  # the hook saw the pass the compile watched
