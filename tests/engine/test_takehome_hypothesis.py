"""Random loss programs (the strategy of test_gradients_hypothesis.py: parameters, a named number,
names used several times, every operation and function) exported as scripts: each is either a
clear error at a line and column, or runs to the engine's loss and gradients to the last bit."""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, assume, given, settings
from test_gradients_hypothesis import programs

from engine import takehome
from engine.language import ProgramError, evaluate, parse


def engine_pass(source: str):
    try:
        ev = evaluate(parse(source, "random"))
        ev.loss.backward()
    except (ProgramError, ArithmeticError):
        assume(False)  # outside a function's domain: nothing to export
    return ev


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(programs())
def test_random_programs_export_to_the_engines_numbers_exactly(case):
    source, _ = case
    ev = engine_pass(source)
    program = parse(source, "random")
    try:
        code = takehome.script(program, takehome.settings_for(program, steps=1))
    except ProgramError as exc:  # what the script cannot express: said at a position
        assert exc.line >= 1 and exc.column >= 1 and "exported script" in exc.message
        return
    namespace: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<takehome>", "exec"), namespace)  # noqa: S102 (the test runs it)
    loss = namespace[program.loss_name]
    if all(loss is not p for p in namespace["params"]):  # (a parameter as the loss is updated since)
        assert repr(float(loss.data)) == repr(float(ev.loss.data)), source
    ours = [p.grad for _, p in ev.params]
    theirs = [p.grad for p in namespace["params"]]
    assert [repr(float(g)) for g in theirs] == [repr(float(g)) for g in ours], source
