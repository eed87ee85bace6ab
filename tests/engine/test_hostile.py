"""Hostile programs: each is refused with the language's own error, quickly, with no side effect,
and a bound that is hit says so."""

import ast
import builtins
import os
import subprocess

import pytest

from engine.language import (MAX_LIST_LENGTH, MAX_NESTING, MAX_OPERATIONS, MAX_SOURCE_CHARS,
                             ProgramError, ProgramOverflow, evaluate, parse)
from engine.train import Trainer
from engine.value import topological_order

pytestmark = pytest.mark.timeout(60)


def reject(source):
    """The program must be refused with a ProgramError (any other exception fails the test)."""
    try:
        evaluate(parse(source))
    except ProgramError as e:
        assert len(str(e)) < 400, str(e)[:500]
        assert "Traceback" not in str(e)
        assert e.line >= 1 and e.column >= 1
        return e
    pytest.fail(f"accepted: {source[:80]!r}")


@pytest.fixture
def no_escape(monkeypatch):
    """Make any attempt to run a command, open a file or run code fail the test loudly.

    ``compile`` stays available for ``ast.parse`` alone (it passes ``PyCF_ONLY_AST``): user text
    is parsed into a tree, never compiled to bytecode.
    """
    calls = []

    def forbidden(name):
        def f(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called by the engine")
        return f

    real_compile = builtins.compile

    def only_ast(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            calls.append("compile")
            raise AssertionError("compile to bytecode called by the engine")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", only_ast)
    for name in ("eval", "exec", "open", "input"):
        monkeypatch.setattr(builtins, name, forbidden(name))
    monkeypatch.setattr(os, "system", forbidden("os.system"))
    monkeypatch.setattr(subprocess, "Popen", forbidden("subprocess.Popen"))
    yield calls
    assert calls == []


ESCAPES = [
    "__import__('os').system('touch {marker}')\nL = 1\n",
    "L = __import__('os').system('touch {marker}')\n",
    "x = __import__\nL = 1\n",
    "L = ().__class__.__bases__\n",
    "L = [].__class__.__base__.__subclasses__()\n",
    "L = (1).__class__\n",
    "L = Value.__init__\n",
    "L = exp.__globals__\n",
    "L = __builtins__\n",
    "L = open('{marker}', 'w')\n",
    "L = open('/etc/passwd')\n",
    "L = exec('1')\n",
    "L = eval('1')\n",
    "L = compile('1', 'x', 'exec')\n",
    "L = globals()\n",
    "L = getattr(exp, '__globals__')\n",
    "L = breakpoint()\n",
    "L = input()\n",
    "L = type(Value)\n",
    "import os\nL = os.system('touch {marker}')\n",
    "from os import system\nL = system('touch {marker}')\n",
    "L = [x for x in ().__class__.__mro__]\n",
    "L = (lambda: __import__('os'))()\n",
    "def f():\n    return __import__('os')\nL = 1\n",
    "L = 1\nexec('open(\"{marker}\", \"w\")')\n",
    "L = Value(1.0).data\n",
    "a = Value(1.0)\na.data = 5\nL = a\n",
    "L = sum.__self__\n",
    "L = exp(1)\n__import__('os')\n",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_escapes_are_refused_without_side_effects(template, tmp_path, no_escape):
    marker = tmp_path / "pwned"
    e = reject(template.format(marker=marker))
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []
    assert e.message


def test_training_a_hostile_program_refuses_it_before_any_step(tmp_path, no_escape):
    marker = tmp_path / "pwned"
    with pytest.raises(ProgramError):
        Trainer(parse(f"w = Value(0.0)\nL = __import__('os').system('touch {marker}') + w\n"))
    assert not marker.exists()


# --- numbers too large ------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "L = 10**10**10\n",
    "L = 10.0**400\n",
    "L = 2**100000\n",
    "a = Value(2.0)\nL = a**1e6\n",
    "a = Value(2.0)\nL = Value(2.0)**1e6 + a\n",
    "a = Value(10.0)\nL = a**400\n",
    "a = Value(1000.0)\nL = exp(a)\n",
    "L = exp(1000)\n",
    "a = Value(2.0)\nL = 10**(a * 1000)\n",
])
def test_huge_powers_overflow_at_once(source):
    e = reject(source)
    assert isinstance(e, ProgramOverflow)
    assert "too large" in e.message


def test_an_integer_literal_with_thousands_of_digits():
    e = reject("L = " + "9" * 5000 + "\n")
    assert "4,300" in e.message and "sys." not in e.message
    e = reject("L = " + "9" * 4000 + "\n")
    assert "too large" in e.message


def test_a_huge_index_gives_a_short_message():
    e = reject("xs = [1]\nL = xs[1e300]\n")
    assert "outside the list" in e.message


# --- size and depth bounds ---------------------------------------------------------------------------

def test_a_5_mb_source_is_refused_before_parsing():
    e = reject("L = 1\n" + "# padding\n" * 500_000)
    assert f"{MAX_SOURCE_CHARS:,}" in e.message


def test_a_source_just_over_the_limit_is_refused_and_one_under_accepted():
    body = "L = 1\n"
    assert evaluate(parse(body + "#" * (MAX_SOURCE_CHARS - len(body)))).loss.data == 1.0
    e = reject(body + "#" * (MAX_SOURCE_CHARS - len(body) + 1))
    assert "limit" in e.message


def test_ten_thousand_nested_parentheses():
    e = reject("L = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n")
    assert "200" in e.message


def test_ten_thousand_nested_unary_minus():
    e = reject("L = " + "-" * 10_000 + "1\n")
    assert str(MAX_NESTING) in e.message


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 500, 3000])
def test_deep_unary_minus_says_the_nesting_limit(depth):
    e = reject("L = " + "-" * depth + "1\n")
    assert str(MAX_NESTING) in e.message


def test_a_chain_of_100k_additions():
    e = reject("L = " + "+".join(["1"] * 100_000) + "\n")
    assert "limit" in e.message


def test_a_chain_of_additions_too_deep_for_pythons_parser():
    e = reject("L = " + "+".join(["1"] * 30_000) + "\n")
    assert str(MAX_NESTING) in e.message and "sum" in e.message


def test_deeply_nested_lists():
    e = reject("L = " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert "200" in e.message
    e = reject("L = " + "[" * 150 + "1" + "]" * 150 + "\n")
    assert str(MAX_NESTING) in e.message


def test_deeply_nested_calls():
    e = reject("a = Value(1.0)\nL = " + "exp(" * 150 + "a" + ")" * 150 + "\n")
    assert str(MAX_NESTING) in e.message


def test_a_comprehension_with_thousands_of_for_parts():
    e = reject("L = sum([1 " + " ".join(f"for a{i} in [1]" for i in range(5000)) + "])\n")
    assert str(MAX_NESTING) in e.message


def test_range_of_a_billion():
    e = reject("L = sum(range(10**9))\n")
    assert f"{MAX_LIST_LENGTH:,}" in e.message


def test_a_list_longer_than_the_limit():
    e = reject("xs = range(100000)\nL = sum([x for x in xs for y in [1, 2]])\n")
    assert "200,000" in e.message or f"{MAX_LIST_LENGTH:,}" in e.message


@pytest.mark.parametrize("source", [
    "a = Value(1.0)\nL = sum([a * i * j for i in range(1000) for j in range(1000)])\n",
    "a = Value(1.0)\nxs = [a for i in range(100000)]\nL = sum([sum(xs) for i in range(100000)])\n",
    "L = sum([sum([sum([i * j * k for k in range(100)]) for j in range(100)]) for i in range(100)])\n",
    # zip and range inside a comprehension: each call builds a long list
    "xs = range(100000)\nL = len([zip(xs, xs) for i in range(100000)])\n",
    "L = len([range(100000) for i in range(100000)])\n",
    # one zip of very many long lists
    "xs = range(100000)\nL = len(zip(" + ",".join(["xs"] * 20000) + "))\n",
])
def test_a_comprehension_that_would_build_millions_of_nodes(source):
    e = reject(source)
    assert f"{MAX_OPERATIONS:,}" in e.message


def test_a_long_list_reused_many_times_is_not_walked_again_and_again():
    # one list of 100k references to another list of 100k numbers, named again and again
    source = ("xs = range(50000)\nys = [xs for i in range(50000)]\n"
              + "".join(f"y{i} = ys\n" for i in range(2000)) + "L = len(ys)\n")
    assert evaluate(parse(source)).loss.data == 50000


def test_a_big_constant_exponent_reused_many_times():
    # the exponent is a big graph of named inputs; deciding it is constant must not be repeated
    source = ("x = 1\na = Value(1.0)\ns = sum([x for i in range(25000)])\n"
              "L = sum([a**s for i in range(25000)])\n")
    ev = evaluate(parse(source))
    assert ev.loss.data == 25000
    powers = {v.op for v in topological_order(ev.loss) if v.op.startswith("**")}
    assert powers == {"**25000"}  # a power by a number: one child each


# --- text that is not a program -----------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "L = 1\x00\n",
    "\x00",
    "L = 1 # \udcff\n",
    "a = 1\nL = \ud800 + a\n",
    "L = '\udc80'\n",
    "\ufeffL = 1\n",
    "L = 1\x1b[31m\n",
    "L = 1\r\x00",
    "L = \u2028 1\n",
])
def test_null_bytes_surrogates_and_control_characters(source):
    reject(source)


def test_a_lone_surrogate_is_located():
    e = reject("a = 1\nL = \ud800 + a\n")
    assert (e.line, e.column) == (2, 5)
    assert "U+D800" in e.message
    e = reject("a = 1\r\nL = a # \udcff\n")
    assert (e.line, e.column) == (2, 9)


@pytest.mark.parametrize("source", [
    "L = ((((((((((1\n",
    "L = )\n",
    "L = 1 +\n",
    ")" * 5000,
    "(" * 5000,
    "[" * 199 + "]" * 199,
    "L = " + "not " * 5000 + "1\n",
    "L = " + "~" * 5000 + "1\n",
    "L = " + "a." * 5000 + "b\n",
    "L = " + "x" * 90_000 + "\n",
    "L = " + "f(" * 199 + ")" * 199 + "\n",
    "if 1:\n" + "".join(" " * i + "if 1:\n" for i in range(1, 120)) + " " * 120 + "L = 1\n",
])
def test_malformed_and_deep_text(source):
    reject(source)


# --- numbers that are not finite, and directives ---------------------------------------------------

@pytest.mark.parametrize("source", [
    "w = Value(1e309)\nL = w\n",
    "w = Value(1e308*10)\nL = w\n",
    "w = Value(1.0)\nL = w + (1e309 - 1e309)\n",
    "L = " + "1e308 * " * 50 + "1\n",
    "L = (((((10.0**300)**2)**2)**2)**2)\n",
])
def test_a_number_that_is_not_finite_never_reaches_the_graph(source):
    e = reject(source)
    assert "float" in e.message


@pytest.mark.parametrize("source", [
    "w = Value(1e308)\nL = sin(w * 10)\n",
    "w = Value(1e308)\nL = cos(w + w)\n",
    "ws = [Value(i * 1e308) for i in range(3)]\nL = sum(ws)\n",
])
def test_training_an_overflowing_pass_diverges_without_a_crash(source):
    trainer = Trainer(parse(source))
    trainer.run(5)
    assert trainer.status == "diverged" and "infinite or not a number" in trainer.message


@pytest.mark.parametrize("directive", [
    "# autodiff: lr=nan steps=10",
    "# autodiff: lr=abc steps=1e9 every=0",
    "# autodiff: result=\"{__import__('os').system('touch pwned')}\"",
    "# autodiff: result=\"{w.__class__.__mro__}\"",
    "# autodiff: result=\"{w:{w}}\"",
    "# autodiff: " + "lr=0.1 " * 10_000,
    "# autodiff: result=\"" + "{" * 10_000,
])
def test_hostile_directives_are_refused_at_their_line(directive, tmp_path, no_escape):
    e = reject(f"{directive}\nw = Value(1.0)\nL = w\n")
    assert e.line == 1 and "setting" in e.message
    assert list(tmp_path.iterdir()) == []
