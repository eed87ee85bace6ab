"""The parser and interpreter fuzzed: whatever the text, the only exception is ProgramError.

Three sources of text: arbitrary Unicode (surrogates and control characters included), soups of
the language's own tokens (which get much further into the interpreter), and the shipped presets
with characters deleted, inserted and replaced.
"""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.formats import from_json, to_json
from engine.language import ProgramError, evaluate, parse
from engine.presets import presets
from engine.train import RUNNING, Trainer

pytestmark = pytest.mark.timeout(120)

PRESETS = presets()
PRESET_SOURCES = [p.source() for p in PRESETS]

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def survives(source):
    """Run the whole pipeline; only the language's own error may escape."""
    try:
        program = parse(source)
        ev = evaluate(program)
    except ProgramError as e:
        assert e.line >= 1 and e.column >= 1 and e.message
        str(e)
        return
    ev.loss.backward()
    graph = ev.snapshot()
    assert len(from_json(to_json(graph)).nodes) == len(graph.nodes)
    try:
        trainer = Trainer(program, lr=0.05)
    except ProgramError:
        return
    for _ in range(3):
        if trainer.status != RUNNING:
            break
        record = trainer.step()
        assert record.iteration == len(trainer.records) - 1
        assert isinstance(record.loss, (int, float))


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=200))
@example("\x00")
@example("\ud800")
@example("L = \udcff")
@example("\ufeffL = 1")
@example("L = 1\r\n\x0c")
def test_arbitrary_text(text):
    survives(text)


TOKENS = [
    "L", "a", "b", "x", "xs", "w", "i", "_", "é", "Value", "sum", "zip", "range", "len", "exp",
    "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs", "print", "open", "__import__",
    "0", "1", "2", "-1", "0.5", "1e308", "1e-320", "10", "3", "1e6", "0x10", "1_000", "9" * 30,
    "=", "+", "-", "*", "/", "**", "//", "%", "@", "(", ")", "[", "]", ",", ":", ".", ";", " ",
    "\n", "\n", "    ", "#", "for", "in", "if", "else", "lambda", "not", "and", "==", "<",
    "'s'", "True", "None", "...", "Value(1.0)", "Value(-2.0)", "Value(0.0)", "[1, 2, 3]",
    "range(3)", "zip(xs, xs)", "+=", "*", "\\", "\t",
]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_soups_of_the_languages_tokens(tokens):
    survives("".join(tokens))


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=30), st.lists(st.sampled_from(TOKENS), max_size=30))
def test_token_soups_after_a_valid_prefix(left, right):
    survives("xs = [1, 2, 3]\na = Value(0.5)\nb = Value(-1.5)\nL = " + "".join(left) + "\nM = "
             + "".join(right) + "\n")


@st.composite
def mutated_presets(draw):
    source = draw(st.sampled_from(PRESET_SOURCES))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        pos = draw(st.integers(0, max(0, len(source) - 1)))
        if kind == "delete":
            end = pos + draw(st.integers(1, 5))
            source = source[:pos] + source[end:]
        elif kind == "insert":
            source = source[:pos] + draw(st.sampled_from(TOKENS) | st.characters()) + source[pos:]
        elif kind == "replace":
            source = source[:pos] + draw(st.sampled_from(TOKENS) | st.characters()) + source[pos + 1:]
        else:
            end = pos + draw(st.integers(1, 40))
            source = source[:end] + source[pos:end] + source[end:]
    return source


@FUZZ
@given(mutated_presets())
def test_mutated_presets(source):
    survives(source)


@pytest.mark.parametrize("source", PRESET_SOURCES, ids=[p.name for p in PRESETS])
def test_every_prefix_of_every_preset(source):
    for n in range(0, len(source), 3):
        survives(source[:n])


DIRECTIVE_PIECES = ["lr", "steps", "every", "tol", "result", "=", "0", "1", "0.1", "1e9", "-1",
                    "nan", "inf", "abc", '"', "'", "{", "}", "{m}", "{m:.2f}", "{m:x}", "{L}",
                    "{{", "}}", ":", ".", "!r", "\\", " ", "  ", "\t", "é", "y = "]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(DIRECTIVE_PIECES), max_size=16).map("".join))
@example('result="{m:.2f')
@example("result='\\'")
@example('lr=1 result="{m}}"')
def test_directive_soups(rest):
    """Whatever follows ``# autodiff:``, the program parses or is refused at that line; a result
    line that parses renders from numbers alone."""
    source = f"# autodiff: {rest}\nm = Value(1.0)\nL = m * m\n"
    try:
        program = parse(source)
    except ProgramError as e:
        assert e.line == 1 and 1 <= e.column <= len(source.splitlines()[0]) + 1 and e.message
        return
    result = program.result_line
    if result is not None:
        assert isinstance(result.render({"m": 1.0, "L": 1.0}), str)
