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


def test_advance_packed_is_the_packed_batch_and_refuses_a_trainer_that_keeps_records() -> None:
    import struct

    program = preset("network").program()
    plain = Trainer(program, lr=0.05, tol=-1.0, keep_records=False)
    packed = Trainer(program, lr=0.05, tol=-1.0, keep_records=False)
    for n in (3, 40, 200):
        a, b = plain.advance(n).packed(), packed.advance(n, packed=True)
        for column in ("iterations", "lrs", "losses", "values", "grads"):
            x, y = getattr(a, column), getattr(b, column)
            assert x.typecode == y.typecode and x.tobytes() == y.tobytes(), column
        assert a.statuses == b.statuses and a.names == b.names
    assert struct.pack("<d", plain.last_record.loss) == struct.pack("<d", packed.last_record.loss)
    with pytest.raises(ValueError, match="keeps no records"):
        Trainer(program, lr=0.05).advance(5, packed=True)


def test_the_pace_of_a_slice_carries_to_the_next() -> None:
    from autodiff_gui.engine_process import SLICE_SECONDS, _Pace

    pace = _Pace()
    assert pace.first_chunk() == _Pace.FIRST  # nothing measured yet: a small first chunk
    pace.measured(0.2, 2_000)  # a tenth of a millisecond an iteration
    assert pace.first_chunk() == int(0.8 * SLICE_SECONDS / 1e-4)  # most of a slice at once
    pace.measured(0.002, 2_000)  # a microsecond: a slice holds more than the biggest chunk
    assert pace.first_chunk() == _Pace.MOST
    assert pace.chunk_for(0.001, 16) == 64  # then at most four times the last chunk...
    assert pace.chunk_for(0.00001, 1_000) == 10  # ...what fits in the time left...
    assert pace.chunk_for(1.0, 100_000) == _Pace.MOST  # ...and never more than the biggest
    program = preset("three-step").program()
    t = Trainer(program, lr=0.01, tol=-1.0, keep_records=False)
    kept = _Pace()
    _run_slice(t, 10**9, kept)
    assert kept.each > 0  # measured in one slice, for the next
