"""The maths as text (``engine.explain``): every rendered formula means what the graph computes.

The strongest check reads the text back: a node's forward formula, written in plain form (the
loss language itself), is parsed and evaluated by the language's own parser and interpreter, and
must give the node's value exactly. The display form (``·``, ``×``, superscripts, ``σ``) is
turned into plain form by ``to_plain`` and must evaluate to the same value too, so a missing
parenthesis (the canvas once wrote ``L = o - target²``) cannot hide.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff_gui.cli import trace_lines
from engine import explain
from engine.graph import OP, GraphSnapshot, backward_steps
from engine.language import ProgramError, evaluate, parse
from engine.presets import preset, presets
from engine.records import IterationRecord, ParamState
from engine.replay import replay

ROOT = Path(__file__).resolve().parents[2]

# Constants a six-digit display writes exactly, so the display form can be evaluated exactly too.
CONSTANTS = st.sampled_from(["1", "2", "3", "0.5", "1.5", "-1", "-2.5", "0.25"])
UNARY = ["exp", "tanh", "sigmoid", "relu", "sin", "cos", "abs"]


def expression(names: tuple[str, ...], depth: int):
    leaf = st.one_of(st.sampled_from(names), st.sampled_from(names), CONSTANTS)
    if depth == 0:
        return leaf
    sub = expression(names, depth - 1)
    positive = st.one_of(st.builds(lambda e: f"(({e})**2 + 0.5)", sub),
                         st.builds(lambda e: f"exp({e})", sub))
    return st.one_of(
        leaf,
        st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from("+-*"), sub),
        st.builds(lambda a, op, b: f"{a} {op} {b}", sub, st.sampled_from("+-*"), sub),
        st.builds(lambda a, b: f"({a} / {b})", sub, positive),
        st.builds(lambda a, k: f"({a})**{k}", sub, st.sampled_from(["2", "3", "-1", "0"])),
        st.builds(lambda a: f"({a})**0.5", positive),
        st.builds(lambda a, b: f"({a})**({b})", positive, sub),
        st.builds(lambda e: f"-({e})", sub),
        st.builds(lambda e: f"-{e}", leaf),
        st.builds(lambda f, e: f"{f}({e})", st.sampled_from(UNARY), sub),
        st.builds(lambda f, e: f"{f}({e})", st.sampled_from(["log", "sqrt"]), positive),
    )


@st.composite
def programs(draw) -> str:
    """Straight-line programs: parameters, an input, named steps used again (names never of the
    form t<N>, the auto-names' form)."""
    n_params = draw(st.integers(1, 3))
    lines = [f"p{i} = Value({draw(st.floats(-2, 2, allow_nan=False))!r})" for i in range(n_params)]
    names = [f"p{i}" for i in range(n_params)]
    if draw(st.booleans()):
        lines.append(f"x = {draw(CONSTANTS)}")
        names.append("x")
    for k in range(draw(st.integers(0, 3))):
        lines.append(f"h{k} = {draw(expression(tuple(names), draw(st.integers(1, 2))))}")
        names.append(f"h{k}")
    lines.append(f"L = {draw(expression(tuple(names), 2))} + {names[-1]}")
    return "\n".join(lines) + "\n"


@st.composite
def list_programs(draw) -> str:
    """Programs with named lists, comprehensions and sums: the names come from places
    (``hs[1]``), from terms and from ``sum(...)``."""
    n = draw(st.integers(2, 4))
    starts = [draw(st.floats(-1.5, 1.5, allow_nan=False)) for _ in range(n)]
    lines = [f"ws = [{', '.join(f'Value({v!r})' for v in starts)}]",
             f"xs = [{', '.join(draw(CONSTANTS) for _ in range(n))}]"]
    element = draw(expression(("w", "x", "ws[0]"), 1))
    lines.append(f"hs = [{element} for w, x in zip(ws, xs)]")
    term = draw(expression(("h", "x"), 1))
    lines.append(f"L = sum([{term} for h, x in zip(hs, xs)]) + {draw(expression(('hs[0]', 'ws[1]'), 1))}")
    return "\n".join(lines) + "\n"


def is_symbol_name(graph: GraphSnapshot, node) -> bool:
    """A node named by the program or by an auto-name, not by an expression of its inputs."""
    if node.label or not node.children:
        return bool(node.label)
    kids = [graph.nodes[c].name for c in node.children]
    return explain.expression_name(node.op, kids) != node.name


def evaluate_text(rhs: str, bindings: dict[str, float]) -> float:
    """``rhs`` run by the loss language's own parser and interpreter, names bound to numbers."""
    lines = [f"{name} = {explain.plain_number(value)}" for name, value in bindings.items()]
    source = "\n".join(lines + [f"result_ = {rhs}"]) + "\n"
    return evaluate(parse(source)).loss.data


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_every_forward_formula_evaluates_to_its_nodes_value(source):
    try:
        ev = evaluate(parse(source))
    except ProgramError:
        assume(False)
    g = ev.snapshot()
    assume(all(math.isfinite(n.data) for n in g.nodes))
    # every named node (a program name or an auto-name) bound to its value
    bindings = {n.name: n.data for n in g.nodes if is_symbol_name(g, n)}
    exact_constants = all(float(n.name) == n.data for n in g.nodes
                          if not n.children and not n.label)
    for node in g.nodes:
        if node.kind != OP:
            continue
        name, symbolic, numeric, result = explain.forward_parts(g, node.id, plain=True)
        # the numbers, to full precision, in the language's syntax
        assert same(evaluate_text(numeric, {}), node.data), (source, numeric)
        assert float(result) == node.data
        formula = explain.forward_formula(g, node.id)
        assert formula.startswith(f"{node.name} = ") and formula.endswith(
            f" = {explain.format_number(node.data)}"), formula
        if not exact_constants:
            continue  # a folded constant such as exp(1.5) shows six digits only
        # the symbolic middle as the canvas and the Tour show it, read back
        shown = explain.forward_parts(g, node.id)[1]
        value = evaluate_text(explain.to_plain(shown), bindings)
        assert same(value, node.data), (source, shown, explain.to_plain(shown))
        # and an expression name (w·x, -y, (o - target)²) means its node's value
        if not is_symbol_name(g, node):
            value = evaluate_text(explain.to_plain(node.name), bindings)
            assert same(value, node.data), (source, node.name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(list_programs())
def test_random_programs_with_lists_trace_only_nodes_that_exist(source):
    try:
        ev = evaluate(parse(source))
        before = ev.snapshot()
        chain = list(backward_steps(ev.loss))
    except (ProgramError, ArithmeticError):
        assume(False)
    after = ev.snapshot()
    names = {n.name for n in after.nodes}
    lines = trace_lines(before, after, chain)
    found = [d for line in lines for d in derivatives(line)]
    assert len(found) >= 2 * len(chain) + 1
    for top, bottom in found:
        assert top in names and bottom in names, (source, top, bottom)
    for node in after.nodes:
        if node.children:
            numeric = explain.forward_parts(after, node.id, plain=True)[2]
            if math.isfinite(node.data):
                assert same(evaluate_text(numeric, {}), node.data), (source, numeric)
            assert node.origin, (source, node.name)


# --- names and parentheses -----------------------------------------------------------------------

@pytest.mark.parametrize("text, level", [
    ("w", explain.ATOM), ("hidden[2][4]", explain.ATOM), ("exp(w·x)", explain.ATOM),
    ("1e-7", explain.ATOM), ("-1", explain.UNARY), ("-y", explain.UNARY), ("-x²", explain.UNARY),
    ("e²", explain.POW), ("x**2", explain.POW), ("a^b", explain.POW), ("w·x", explain.MUL),
    ("(-y)·x", explain.MUL), ("w * x", explain.MUL), ("o - target", explain.ADD),
    ("a + b·c", explain.ADD), ("(o - target)²", explain.POW),
])
def test_precedence(text, level):
    assert explain.precedence(text) == level


@pytest.mark.parametrize("op, operands, style, text", [
    ("**2", ["o - target"], explain.FORMULA, "(o - target)²"),
    ("**2", ["e"], explain.FORMULA, "e²"),
    ("**2", ["-2"], explain.FORMULA, "(-2)²"),
    ("*", ["x1", "w1"], explain.NAME, "x1·w1"),
    ("*", ["y", "-1"], explain.NAME, "-y"),
    ("*", ["y", "-1"], explain.FORMULA, "y × (-1)"),
    ("*", ["a + b", "c"], explain.NAME, "(a + b)·c"),
    ("*", ["a", "b·c"], explain.NAME, "a·(b·c)"),
    ("+", ["z", "-y"], explain.NAME, "z - y"),
    ("+", ["z", "-y"], explain.FORMULA, "z + (-y)"),
    ("+", ["a", "b + c"], explain.FORMULA, "a + (b + c)"),
    ("**-1", ["b"], explain.NAME, "b⁻¹"),
    ("**0.5", ["x"], explain.PLAIN, "x**0.5"),
    ("sigmoid", ["n"], explain.FORMULA, "σ(n)"),
    ("abs", ["x"], explain.FORMULA, "|x|"),
])
def test_render(op, operands, style, text):
    assert explain.render(op, operands, style) == text


@pytest.mark.parametrize("display, plain", [
    ("(o - target)²", "(o - target)**2"), ("x⁰·⁵", "x**0.5"), ("x²·y", "x**2*y"),
    ("b⁻¹", "b**-1"), ("σ(n) × 2", "sigmoid(n) * 2"), ("|x|", "abs(x)"), ("a^b", "a**b"),
])
def test_to_plain(display, plain):
    assert explain.to_plain(display) == plain


@pytest.mark.parametrize("top, bottom, text", [
    ("L", "z", "dL/dz"), ("L", "-y", "dL/d(-y)"), ("x1·w1", "x1", "d(x1·w1)/dx1"),
    ("L", "hidden[2][4]", "dL/dhidden[2][4]"), ("L", "3", "dL/d3"), ("L", "0.5", "dL/d(0.5)"),
    ("L", "exp(w)", "dL/d(exp(w))"), ("L", "e²", "dL/d(e²)"),
])
def test_derivative_wraps_a_name_that_is_not_one_symbol(top, bottom, text):
    assert explain.derivative(top, bottom) == text


def test_escape_html():
    assert explain.escape_html("a<b & c>d") == "a&lt;b &amp; c&gt;d"


# --- the presets ----------------------------------------------------------------------------------

def test_neuron_loss_formula_keeps_its_parentheses():
    g = replay(preset("neuron").program()).before
    L = g.node_named("L").id
    assert explain.forward_formula(g, L) == "L = (o - target)² = (-0.192893)² = 0.0372078"


def _symbol(text: str, i: int) -> tuple[str, int]:
    """The symbol that starts at ``text[i]``: a balanced ``(...)`` (its parentheses removed) or a
    bare name such as ``w``, ``hidden[2][4]`` or ``3``; and where it ends."""
    if text.startswith("(", i):
        depth = 0
        for j in range(i, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1:j], j + 1
        raise AssertionError(f"unbalanced parentheses in {text!r}")
    m = re.compile(r"[^\W\d][\w]*(\[\d+\])*|\d+").match(text, i)
    assert m and m.end() > i and "·" not in m.group(), f"no symbol at {text[i:]!r}"
    return m.group(), m.end()


def derivatives(text: str) -> list[tuple[str, str]]:
    """Every ``dA/dB`` in ``text``, with the parentheses that make A and B one symbol removed."""
    found = []
    for m in re.finditer(r"(?<![\w)\]])d(?=[(\w])", text):
        top, end = _symbol(text, m.end())
        if not text.startswith("/d", end):
            continue
        bottom, _ = _symbol(text, end + 2)
        found.append((top, bottom))
    return found


@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_every_derivative_of_the_trace_names_a_node(name):
    ev = evaluate(preset(name).program())
    before = ev.snapshot()
    chain = list(backward_steps(ev.loss))
    after = ev.snapshot()
    lines = trace_lines(before, after, chain)
    names = {n.name for n in after.nodes}
    found = [d for line in lines for d in derivatives(line)]
    assert len(found) >= 2 * len(chain) + 1  # target, upstream and local of each multiplication
    for top, bottom in found:
        assert top in names and bottom in names, (top, bottom)


def test_neuron_trace_writes_the_product_in_parentheses():
    ev = evaluate(preset("neuron").program())
    before = ev.snapshot()
    chain = list(backward_steps(ev.loss))
    text = "\n".join(trace_lines(before, ev.snapshot(), chain))
    assert "d(x1·w1)/dx1" in text and "dx1·w1/dx1" not in text


def test_the_command_prints_the_fixed_trace():
    result = subprocess.run([sys.executable, "-m", "autodiff_gui.cli", "grad", "neuron", "--trace"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "d(x1·w1)/dx1 = -3" in result.stdout


# --- the weight update, the banner and the readout ------------------------------------------------

def record(*params: tuple[str, float, float], status: str = "running") -> IterationRecord:
    return IterationRecord(3, 0.1, 4.0, tuple(ParamState(*p) for p in params), status)


def test_update_line_has_the_tutorials_numbers():
    assert (explain.update_line("w", 0.0, -4.0, 0.1, 0.4)
            == "w ← w - α · dL/dw = 0 - 0.1 · (-4) = 0.4")


def test_update_text_uses_the_records_own_next_values():
    rec = record(("w", 0.0, -4.0))
    title, text = explain.update_text(rec)
    assert title == "Step 3 · weight update (iteration 3)"
    assert text == f"w ← w - α · dL/dw = 0 - 0.1 · (-4) = {explain.format_number(rec.next_values[0])}"
    title, text = explain.update_text(record(*[(f"w{i}", 1.0, 2.0) for i in range(5)]))
    assert text.startswith("each θ ← θ - 0.1 · dL/dθ") and "… 2 more" in text
    assert explain.update_text(record(("w", 2.0, 0.0), status="converged"))[0].endswith("converged")


def test_readouts_of_a_record_and_of_a_moment_agree_once_the_pass_is_done():
    m = replay(preset("three-step").program())
    rec = IterationRecord(m.iteration, m.lr, m.loss,
                          tuple(ParamState(n, v, g) for n, v, g in zip(m.param_names, m.values,
                                                                        m.grads)))
    assert explain.moment_readout(m) == explain.record_readout(rec)
    assert explain.record_readout(rec) == "iteration 0   ·   L = 4   ·   w = 0   ·   dL/dw = -4   ·   α = 0.1"
    early = explain.moment_readout(m.at(0))
    assert "L = …" in early and "dL/dw = ?" in early
    many = explain.readout_text(1, "loss", 2.0, [(f"w{i}", 0.0, 1.0) for i in range(5)], 0.1)
    assert "… 2 more parameters" in many and "dloss/dw0 = 1" in many
