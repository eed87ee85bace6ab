"""The engine at full speed, in a process of its own.

Python runs one thread at a time (the GIL): an engine thread running flat out makes the window's
thread wait for its turn at every return from Qt, and the window stutters. So at full speed the
engine thread hands the iterations to this child process, on the machine's other core, and only
relays its batches; the window's thread then has the interpreter to itself.

This module imports no Qt: the child starts quickly and small. Messages (pickled over a pipe):

    parent → child: ("run", program, TrainerState, tol, cap) · ("lr", lr) · ("pause",) · ("stop",)
    child → parent: ("batch", RecordBatch, TrainerState, done) · ("paused", TrainerState)
                    · ("failed", message): the parent then runs the engine itself
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

from engine.language import ProgramError
from engine.records import RecordBatch
from engine.train import RUNNING, Trainer

SLICE_SECONDS = 0.015  # iterations per batch: about one frame's worth


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
            kind = message[0]
            if kind == "run":
                _, program, state, tol, cap = message
                try:  # built at the program's own start, then moved on to where the run is
                    trainer = Trainer(program, lr=state.lr, tol=tol, keep_records=False)
                except (ProgramError, ArithmeticError) as exc:
                    conn.send(("failed", str(exc)))
                    trainer, running = None, False
                    continue
                trainer.restore(state)
                running = trainer.status == RUNNING and trainer.iteration < cap
                if not running:
                    conn.send(("batch", [], trainer.state(), True))
            elif kind == "lr" and trainer is not None:
                trainer.lr = message[1]
            elif kind == "pause":
                running = False
                conn.send(("paused", trainer.state() if trainer is not None else None))
            elif kind == "stop":
                return
            continue
        records = []
        deadline = time.perf_counter() + SLICE_SECONDS
        while trainer.status == RUNNING and trainer.iteration < cap:
            records.append(trainer.step())
            if time.perf_counter() >= deadline:
                break
        done = trainer.status != RUNNING or trainer.iteration >= cap
        batch = RecordBatch.from_records(records)  # by column: cheap to pickle and to take in
        try:
            conn.send(("batch", batch, trainer.state(), done))  # blocks if the parent lags
        except (BrokenPipeError, OSError):
            return
        if done:
            running = False
