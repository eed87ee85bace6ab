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

from dataclasses import dataclass
from multiprocessing.connection import Connection

from engine.language import Program, ProgramError
from engine.records import RecordBatch
from engine.timeslice import run_slice
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
        records = _run_slice(trainer, cap)
        done = trainer.status != RUNNING or trainer.iteration >= cap
        batch = RecordBatch.from_records(records)  # by column: cheap to pickle and to take in
        try:
            conn.send(Batch(batch, trainer.state(), done))  # blocks if the parent lags
        except (BrokenPipeError, OSError):
            return
        if done:
            running = False


def _run_slice(trainer: Trainer, cap: int) -> list:
    """The iterations of one slice: as many as fit in about a frame, until the run ends."""
    records = []

    def step() -> bool:
        records.append(trainer.step())
        return trainer.status == RUNNING and trainer.iteration < cap

    if trainer.status == RUNNING and trainer.iteration < cap:
        run_slice(step, SLICE_SECONDS)
    return records
