"""Gradients of random loss programs checked against central finite differences.

Hypothesis writes small programs in the loss language (parameters, a named input, intermediate
names used several times, every operation and function). The engine evaluates and
back-propagates them; the reference is the same text run as plain Python on floats with the
``math`` module, differentiated by central differences, so it shares no code with the engine.
"""

import functools
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.graph import backward_steps
from engine.language import ProgramError, evaluate, parse
from engine.value import Value, topological_order

FUNCTIONS = ["exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs"]

FLOAT_FUNCTIONS = {
    "exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
    "sqrt": math.sqrt, "abs": abs, "relu": lambda x: x if x > 0 else 0.0,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x)),
}

SMALL_CONSTANTS = st.sampled_from(["1", "2", "3", "0.5", "1.5", "-1", "-2.5", "0.25"])


@functools.cache
def expression(names, depth):
    """Source text of a random expression over ``names`` (a tuple)."""
    leaf = st.one_of(st.sampled_from(names), st.sampled_from(names), SMALL_CONSTANTS)
    if depth == 0:
        return leaf
    sub = expression(names, depth - 1)
    positive = st.one_of(  # an argument that stays in the domain of log, sqrt and a trained base
        st.builds(lambda e: f"(({e})**2 + 0.5)", sub),
        st.builds(lambda e: f"exp({e})", sub),
        sub,
    )
    return st.one_of(
        leaf,
        st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from("+-*"), sub),
        st.builds(lambda a, b: f"({a} / {b})", sub, positive),
        st.builds(lambda a, k: f"({a})**{k}", sub, st.sampled_from(["2", "3", "-1", "-2", "0", "1"])),
        st.builds(lambda a: f"({a})**0.5", positive),
        st.builds(lambda a, b: f"({a})**({b})", positive, sub),  # Value ** Value when b is trained
        st.builds(lambda e: f"-({e})", sub),
        st.builds(lambda f, e: f"{f}({e})",
                  st.sampled_from(["exp", "tanh", "sigmoid", "relu", "sin", "cos", "abs"]), sub),
        st.builds(lambda f, e: f"{f}({e})", st.sampled_from(["log", "sqrt"]), positive),
    )


@st.composite
def programs(draw):
    n_params = draw(st.integers(1, 3))
    values = [draw(st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3))) for _ in range(n_params)]
    lines = [f"p{i} = Value({v!r})" for i, v in enumerate(values)]
    names = [f"p{i}" for i in range(n_params)]
    if draw(st.booleans()):
        lines.append(f"c = {draw(SMALL_CONSTANTS)}")
        names.append("c")
    for k in range(draw(st.integers(0, 3))):
        lines.append(f"t{k} = {draw(expression(tuple(names), draw(st.integers(1, 2))))}")
        names.append(f"t{k}")
    # the loss uses the intermediate names again, so shared sub-expressions have several parents
    loss = draw(expression(tuple(names), 2))
    if len(names) > n_params:
        loss = f"{loss} + {names[-1]} * {draw(st.sampled_from(names))}"
    lines.append(f"L = {loss}")
    return "\n".join(lines) + "\n", values


def run_as_python(source, values):
    """The program as plain Python on floats; ``Value(v)`` hands out ``values`` in order."""
    it = iter(values)
    namespace = dict(FLOAT_FUNCTIONS)
    namespace["Value"] = lambda _start: float(next(it))
    namespace["__builtins__"] = {}
    exec(source, namespace)  # our own generated text, never the engine's input path
    out = namespace["L"]
    if isinstance(out, complex):
        raise ArithmeticError("complex")
    return float(out)


def float_gradient(source, values, i, h):
    up, down = list(values), list(values)
    up[i] += h
    down[i] -= h
    return (run_as_python(source, up) - run_as_python(source, down)) / (2 * h)


def usable(loss):
    """Skip points where finite differences cannot be trusted: huge numbers, kinks, poles."""
    for v in topological_order(loss):
        if not math.isfinite(v.data) or abs(v.data) > 1e3:
            return False
        if v._children:
            x = v._children[0].data
            if v.op in ("relu", "abs", "log", "sqrt", "**") and abs(x) < 1e-2:
                return False
            if v.op.startswith("**") and v.op[2:].startswith("-") and abs(x) < 0.1:
                return False
        if any(not math.isfinite(g) or abs(g) > 1e4 for g in v._local_grads):
            return False
    return True


def checked_gradients(source, values):
    """The engine's gradients, after skipping inputs outside the domain or at a kink."""
    try:
        ev = evaluate(parse(source))
    except ProgramError:
        assume(False)  # a domain error (log of a negative number, a negative base to 0.5 ...)
    assume(usable(ev.loss))
    ev.loss.backward()
    return ev


def assert_matches_finite_differences(source, values, ev):
    assert ev.loss.data == pytest.approx(run_as_python(source, values), rel=1e-9, abs=1e-12)
    for i, (name, p) in enumerate(ev.params):
        try:
            coarse = float_gradient(source, values, i, 1e-5)
            fine = float_gradient(source, values, i, 1e-6)
        except (ArithmeticError, ValueError):
            assume(False)  # a step of h crosses out of the domain
        # the reference must agree with itself before it can judge the engine
        assume(math.isclose(coarse, fine, rel_tol=1e-4, abs_tol=1e-6))
        assert p.grad == pytest.approx(fine, rel=1e-4, abs=1e-5), (name, source)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(programs())
def test_random_programs_match_finite_differences(case):
    source, values = case
    ev = checked_gradients(source, values)
    assert_matches_finite_differences(source, values, ev)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(programs())
def test_observed_backward_pass_gives_the_same_numbers(case):
    source, _ = case
    try:
        plain = evaluate(parse(source))
        watched = evaluate(parse(source))
    except ProgramError:
        assume(False)
    plain.loss.backward()
    steps = list(backward_steps(watched.loss))
    a, b = topological_order(plain.loss), topological_order(watched.loss)
    assert [v.grad for v in a] == pytest.approx([v.grad for v in b], nan_ok=True)
    assert len(steps) == sum(len(v._children) for v in b)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    for s in steps:
        assert s.product == s.local_grad * s.upstream or math.isnan(s.product)


@settings(max_examples=150, deadline=None)
@given(st.floats(-3, 3), st.floats(0.2, 3), st.sampled_from([-2, -1, 2, 3]))
def test_shared_sub_expression_used_in_every_function(x, y, k):
    """One intermediate name feeds every function and operation: its paths must all add up."""
    source = (f"a = Value({x!r})\nb = Value({y!r})\n"
              f"s = a * b + a\n"
              f"L = exp(s / 4) + log(b + s**2) + tanh(s) + sigmoid(s) + relu(s) + sin(s) * cos(s)"
              f" + sqrt(b * s**2 + 1) + abs(s) + s**{k} * 0.01 + b**(a / 3) + s * s\n")
    ev = checked_gradients(source, [x, y])
    assert_matches_finite_differences(source, [x, y], ev)


@settings(max_examples=150, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.3, 3))
def test_value_api_with_reflected_forms(a, b, c):
    """The Value class directly (no language): every operator and its reflected form."""
    def f(x, y, z, make):
        x, y, z = make(x), make(y), make(z)
        return (2 + x) * (y - 1) + (1 - x) / z + 3 * y * x - y / 2 + 2 ** (x / 4) + z ** y / 5 \
            + (-x) ** 2 + z ** 0.5 + (x * y) ** 3 / 10 - 4 / (z + 1)

    values = [Value(a), Value(b), Value(c)]
    out = f(*values, make=lambda v: v)
    out.backward()
    plain = f(a, b, c, make=float)
    assert out.data == pytest.approx(plain, rel=1e-12, abs=1e-12)
    for i, v in enumerate(values):
        def g(t, i=i):
            args = [a, b, c]
            args[i] = t
            return f(*args, make=float)
        h = 1e-6
        fd = (g([a, b, c][i] + h) - g([a, b, c][i] - h)) / (2 * h)
        assert v.grad == pytest.approx(fd, rel=1e-4, abs=1e-5)
