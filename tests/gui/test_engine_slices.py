"""The engine process's slices (autodiff_gui/engine_process.py, no Qt): what a full-speed run
sends the window is exactly what one step() at a time makes, and a slice never runs past the
iteration cap or past the end of a run."""

from __future__ import annotations

import math

import pytest

from autodiff_gui.engine_process import _run_slice
from engine.presets import preset
from engine.train import RUNNING, Trainer


def _stepped(program, lr: float, n: int, tol: float):
    t = Trainer(program, lr=lr, tol=tol, keep_records=False)
    out = []
    while len(out) < n and t.status == RUNNING:
        out.append(t.step())
    return out, t


@pytest.mark.parametrize(("name", "lr", "tol"), [("three-step", 0.01, -1.0), ("network", 0.05, -1.0),
                                                 ("three-step", 0.1, 1e-6), ("three-step", 1.5, 1e-6)])
def test_slices_send_the_records_one_step_at_a_time_makes(name: str, lr: float, tol: float) -> None:
    program = preset(name).program()
    cap = 3_000
    sliced = Trainer(program, lr=lr, tol=tol, keep_records=False)
    records = []
    while sliced.status == RUNNING and sliced.iteration < cap:
        batch = _run_slice(sliced, cap)
        assert len(batch) > 0  # every slice moves the run on
        records.extend(batch)
    expected, stepped = _stepped(program, lr, cap, tol)
    assert len(records) == len(expected)
    assert records == expected  # every iteration, loss, parameter, gradient and status
    assert sliced.status == stepped.status and sliced.iteration == stepped.iteration
    if lr == 1.5:  # the tutorial's diverging rate ends the run, as the step path does
        assert sliced.status != RUNNING and not math.isfinite(records[-1].loss) or abs(
            records[-1].params[0].data) > 1e3


def test_a_slice_stops_at_the_cap() -> None:
    program = preset("three-step").program()
    t = Trainer(program, lr=0.01, tol=-1.0, keep_records=False)
    for cap in (1, 2, 7, 100, 101):
        while t.iteration < cap:
            _run_slice(t, cap)
        assert t.iteration == cap
    assert len(_run_slice(t, t.iteration)) == 0  # at the cap: nothing more


def test_a_packed_batch_reads_as_the_same_records_and_fills_the_history_alike() -> None:
    import pickle
    from array import array

    import numpy as np

    from autodiff_gui.history import History
    from engine.records import RecordBatch

    program = preset("network").program()
    t = Trainer(program, lr=0.05, tol=-1.0, keep_records=False)
    first, second = t.advance(40), t.advance(25)
    packed = [pickle.loads(pickle.dumps(b.packed())) for b in (first, second)]  # as sent
    assert all(isinstance(b.values, array) for b in packed)
    assert list(packed[0]) == list(first) and list(packed[1]) == list(second)
    joined = RecordBatch.concat(packed)
    assert isinstance(joined.grads, array)  # joined in C, still arrays
    assert list(joined) == list(first) + list(second)
    plain, fast = History(), History()
    plain.extend(RecordBatch.concat([first, second]))
    fast.extend(joined)
    a, b = plain.arrays(), fast.arrays()
    for column in ("iterations", "lr", "loss", "values", "grads"):
        assert np.array_equal(getattr(a, column), getattr(b, column)), column
    assert plain.status == fast.status
