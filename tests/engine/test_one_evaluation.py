"""Opening a program evaluates it as few times as it can (issue: micrograd's demo network took
8 s to open, evaluated some eight times): its start is remembered per program text
(``engine.language.start``), a replay names its nodes from its own noting pass, and a moment's
backward records are made once, by whichever thread reads them first. Counted by patching the
interpreter's entry point, never by the clock."""

from __future__ import annotations

import threading

import pytest

from engine.language import cached_start, evaluate, interpreter, parse, start
from engine.replay import MomentCache, moment_cost, replay
from engine.train import Trainer
from tests.mlp_program import mlp_program


@pytest.fixture
def runs(monkeypatch):
    """Every run of the interpreter (plain or noting), by thread name, while the test runs."""
    interpreter._STARTS.clear()  # nothing remembered from an earlier test
    seen: list[tuple[str, str]] = []
    original = interpreter._Interpreter.run

    def run(self):
        seen.append((type(self).__name__, threading.current_thread().name))
        return original(self)

    monkeypatch.setattr(interpreter._Interpreter, "run", run)
    yield seen
    interpreter._STARTS.clear()


def test_a_program_text_is_evaluated_once_at_its_start(runs):
    source = mlp_program((3,), points=4)
    program = parse(source, "net.ad")
    first = start(program)
    assert len(runs) == 1
    again = start(parse(source, "net.ad"))  # the same text parsed again: the same start
    assert again is first and len(runs) == 1
    ev = evaluate(program)
    assert first.names == tuple(name for name, _ in ev.params)
    assert first.values == tuple(ev.param_values())
    assert first.loss == ev.loss.data
    assert first.seconds >= 0


def test_another_text_is_another_start_and_errors_are_not_remembered(runs):
    a = parse("w = Value(1.0)\nL = w * w\n")
    b = parse("w = Value(2.0)\nL = w * w\n")
    assert start(a).values == (1.0,) and start(b).values == (2.0,)
    assert start(a).values == (1.0,) and len(runs) == 2
    bad = parse("w = Value(1.0)\nL = log(w - 1)\n")
    for _ in range(2):
        with pytest.raises(interpreter.ProgramError):
            start(bad)
    assert cached_start(bad) is None and len(runs) == 4


def test_the_starts_kept_are_bounded(runs):
    programs = [parse(f"w = Value({k}.0)\nL = w * w\n") for k in range(interpreter._STARTS_KEPT + 2)]
    for p in programs:
        start(p)
    assert len(interpreter._STARTS) == interpreter._STARTS_KEPT
    assert cached_start(programs[0]) is None and cached_start(programs[-1]) is not None


def test_a_trainer_at_the_start_takes_the_remembered_start(runs):
    program = parse(mlp_program((3,), points=4))
    start(program)
    trainer = Trainer(program, keep_records=False)
    assert len(runs) == 1  # the trainer evaluated nothing more
    assert trainer.values == list(start(program).values)
    assert trainer.names == list(start(program).names)
    Trainer(program, param_values=trainer.values)  # other values are evaluated, as before
    assert len(runs) == 2


def test_a_replay_names_its_nodes_from_one_noting_pass(runs):
    program = parse(mlp_program((3, 2), points=3))
    values = start(program).values
    runs.clear()
    moment = replay(program, values)
    assert [kind for kind, _ in runs] == ["_Recorder"]  # one pass, not a plain one and its twin
    old_way = evaluate(program, values).snapshot()  # a plain pass named by a second one
    assert moment.before == old_way
    assert any(n.origin for n in moment.before.nodes) and moment.before.groups


def test_a_replay_like_an_earlier_snapshot_needs_no_noting_pass(runs):
    program = parse(mlp_program((3,), points=3))
    first = replay(program)
    runs.clear()
    later = replay(program, [v + 0.25 for v in first.values], like=first.before)
    assert [kind for kind, _ in runs] == ["_Interpreter"]
    assert [n.name for n in later.before.nodes] == [n.name for n in first.before.nodes]


def test_a_moments_backward_records_are_made_once_when_first_read():
    program = parse(mlp_program((3,), points=3))
    moment = replay(program)
    rest = moment.rest
    assert not rest.done
    # what the views read first is known without the backward pass
    assert moment.forward_total == sum(1 for n in moment.before.nodes if n.children)
    assert moment.chain_total == sum(len(n.children) for n in moment.before.nodes)
    assert moment.complete == moment.forward_total + 1 + moment.chain_total
    loaded = moment.at(moment.forward_total)
    assert loaded.rest is rest and not rest.done
    assert moment_cost(moment) == 2 * len(moment.before.nodes) + moment.forward_total \
        + moment.chain_total and not rest.done
    assert moment.loss == moment.before.nodes[moment.before.root].data and not rest.done
    # made in another thread (the engine's), read here: the same records, made once
    worker = threading.Thread(target=moment.prepare)
    worker.start()
    worker.join()
    assert rest.done
    chain = loaded.chain
    assert chain is moment.chain and len(chain) == moment.chain_total
    assert len(moment.forward) == moment.forward_total
    ev = evaluate(program)
    ev.loss.backward()
    assert moment.grads == tuple(v.grad for _, v in ev.params)  # bit for bit, as backward()
    assert moment.after.nodes[moment.after.root].grad == 1


def test_a_cached_moment_costs_no_backward_pass_to_weigh():
    program = parse(mlp_program((3,), points=3))
    cache = MomentCache()
    m = cache.replay(("g", 0), program, start(program).values, 0, 0.1)
    assert not m.rest.done and cache.cost == moment_cost(m)


def test_a_promised_moment_is_pending_until_its_maker_prepares_it():
    program = parse(mlp_program((3,), points=3))
    moment = replay(program)
    assert not moment.ready and not moment.pending  # nobody said they would make it: read it
    moment.promise()
    assert moment.pending and not moment.ready
    assert moment.at(0).pending  # the same records at every position
    moment.prepare()
    assert moment.ready and not moment.pending and moment.at(0).ready


def test_a_program_is_compiled_to_a_tape_once_for_every_trainer(runs, monkeypatch):
    from engine import tape as tape_module

    tape_module._TAPES.clear()
    compiled = []
    original = tape_module.compile_program

    def compile_program(program, values=None):
        compiled.append(program)
        return original(program, values)

    monkeypatch.setattr(tape_module, "compile_program", compile_program)
    program = parse(mlp_program((3,), points=3))
    first = Trainer(program, keep_records=False, tol=0.0)
    first.run(10)
    again = Trainer(parse(mlp_program((3,), points=3)), keep_records=False, tol=0.0)  # same text
    again.run(10)
    assert len(compiled) == 1 and first.tape is again.tape
    assert again.values == first.values  # the same run, bit for bit
    tape_module._TAPES.clear()


def test_the_curvature_on_a_compiled_tape_is_the_interpreters_bit_for_bit(runs):
    from engine import tape as tape_module
    from engine.train import curvature

    tape_module._TAPES.clear()
    program = parse(mlp_program((3,), points=3))
    values = list(start(program).values)
    runs.clear()
    by_values = [curvature(program, values, k) for k in (0, 5)]
    assert len(runs) == 4  # no tape yet: two gradients through the interpreter each
    assert tape_module.program_tape(program, values) is not None
    runs.clear()
    on_tape = [curvature(program, values, k) for k in (0, 5)]
    assert runs == []  # the tape a run compiled: no interpreting
    assert on_tape == by_values and all(a.hex() == b.hex() for a, b in zip(on_tape, by_values))
    tape_module._TAPES.clear()
