"""The engine at full speed, in a process of its own, and the messages both ends exchange.

Python runs one thread at a time (the GIL): an engine thread running flat out makes the window's
thread wait for its turn at every return from Qt, and the window stutters. So at full speed the
engine thread hands the iterations to this child process, on the machine's other core, and only
relays its batches; the window's thread then has the interpreter to itself.

This module imports no Qt: the child starts quickly and small. Messages are frozen dataclasses,
pickled over a pipe, and read with ``match`` at both ends:

    parent → child: Run · SetLr · Pause · Stop
    child → parent: Batch (records by column, the trainer's state, done?) · Paused · Failed
                    (the parent then runs the engine itself)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from engine.language import Program, ProgramError
from engine.records import RecordBatch
from engine.train import RUNNING, Trainer, TrainerState

SLICE_SECONDS = 0.015  # iterations per batch: about one frame's worth


# --- parent → child ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """Run ``program`` from ``state`` until it ends or reaches ``cap`` iterations."""
    program: Program
    state: TrainerState
    tol: float
    cap: int


@dataclass(frozen=True)
class SetLr:
    lr: float


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Stop:
    pass


# --- child → parent ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Batch:
    """The iterations of one slice, and where the run is after them."""
    records: RecordBatch | list
    state: TrainerState
    done: bool


@dataclass(frozen=True)
class Paused:
    state: TrainerState | None


@dataclass(frozen=True)
class Failed:
    message: str


def serve(conn: Connection) -> None:
    """The child's loop: run slices while running, answer commands between them."""
    trainer: Trainer | None = None
    pace = _Pace()
    cap = 0
    running = False
    while True:
        if not running or conn.poll():
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return  # the parent has gone
            match message:
                case Run(program=program, state=state, tol=tol, cap=cap):
                    try:  # built at the program's own start, then moved on to where the run is
                        trainer = Trainer(program, lr=state.lr, tol=tol, keep_records=False)
                    except (ProgramError, ArithmeticError) as exc:
                        conn.send(Failed(str(exc)))
                        trainer, running = None, False
                        continue
                    trainer.restore(state)
                    pace = _Pace()
                    running = trainer.status == RUNNING and trainer.iteration < cap
                    if not running:
                        conn.send(Batch([], trainer.state(), True))
                case SetLr(lr=lr) if trainer is not None:
                    trainer.lr = lr
                case Pause():
                    running = False
                    conn.send(Paused(trainer.state() if trainer is not None else None))
                case Stop():
                    return
            continue
        batch = _run_slice(trainer, cap, pace)  # by column: cheap to pickle and to take in
        done = trainer.status != RUNNING or trainer.iteration >= cap
        try:
            conn.send(Batch(batch, trainer.state(), done))  # blocks if the parent lags
        except (BrokenPipeError, OSError):
            return
        if done:
            running = False


def _run_slice(trainer: Trainer, cap: int, pace: _Pace | None = None) -> RecordBatch:
    """The iterations of one slice, by column, in ``array`` columns (:meth:`RecordBatch.packed`):
    as many as fit in about a frame, until the run ends. They run in :meth:`Trainer.advance`'s
    loop (the compiled tape, no record object per iteration), in chunks sized from the rate
    measured so far (``pace``, kept from slice to slice, so a slice starts at the known rate), so
    a slice ends near its deadline however fast the program is."""
    pace = pace if pace is not None else _Pace()
    batches: list[RecordBatch] = []
    deadline = time.perf_counter() + SLICE_SECONDS
    chunk = pace.first_chunk()
    while trainer.status == RUNNING and trainer.iteration < cap:
        started = time.perf_counter()
        batch = trainer.advance(min(chunk, cap - trainer.iteration), packed=True)
        batches.append(batch)
        now = time.perf_counter()
        if not len(batch):
            break
        pace.measured(now - started, len(batch))
        if now >= deadline:
            break
        chunk = pace.chunk_for(deadline - now, chunk)
    return RecordBatch.concat(batches) if batches else RecordBatch.from_records([]).packed()


class _Pace:
    """Seconds an iteration takes, as the last chunks measured it: how big a slice's chunks are
    (a slow program's slice is one chunk; a fast one's a few of ``MOST``)."""

    FIRST = 16  # the first chunk of a run, before any rate is known
    MOST = 2048  # and the biggest: the loop's lists past a few thousand rows run slower (the
    # three-step loss: 1.2M iterations a second in chunks of 1,000-2,000, 0.75M in 16,000s)

    def __init__(self) -> None:
        self.each = 0.0

    def measured(self, seconds: float, iterations: int) -> None:
        self.each = seconds / iterations

    def first_chunk(self) -> int:
        """Most of a slice at the rate known (the rest in a second chunk), else a small one."""
        if self.each <= 0:
            return self.FIRST
        return max(1, min(self.MOST, int(0.8 * SLICE_SECONDS / self.each)))

    def chunk_for(self, left: float, last: int) -> int:
        fits = int(left / self.each) if self.each > 0 else last * 4
        return max(1, min(self.MOST, last * 4, fits))
