"""The engine thread: drives the Qt-free trainer and turns its records into signals.

An :class:`EngineWorker` lives in its own ``QThread`` (moved there by :class:`EngineThread`). The
window talks to it only through queued signals (commands in), and it answers only through signals
(records out), so no widget is ever touched from the worker and no ``Value`` crosses threads: the
records and graph snapshots it sends are frozen.

Pacing: at the slow speeds each timer tick advances one record (one forward step or one chain-rule
multiplication); at the fast speeds it runs whole iterations, and at full speed as many as fit in
a ~15 ms slice, sending one batch per slice. So the GUI gets at most ~60 updates a second however
fast the engine goes, and commands (pause, a new learning rate) are handled between slices.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from engine.graph import GraphSnapshot
from engine.language import Program, ProgramError, evaluate
from engine.records import ChainRuleStep, ForwardStep, IterationRecord, RecordBatch
from engine.replay import replay
from engine.train import DEFAULT_TOL, RUNNING, IterationStart, Trainer

from engine.timeslice import run_slice

from .engine_process import Batch, Failed, Pause, Paused, Run, SetLr, Stop, serve

#: Speeds a learner picks, slowest first: (name, ms between ticks, advance by "step" or "iteration")
SPEEDS: tuple[tuple[str, int, str], ...] = (
    ("one multiplication at a time (slow)", 900, "step"),
    ("steps, medium", 350, "step"),
    ("steps, quick", 90, "step"),
    ("one iteration at a time", 400, "iteration"),
    ("iterations, quick", 60, "iteration"),
    ("as fast as the engine goes", 4, "batch"),
)
DEFAULT_SPEED = 3
SLICE_SECONDS = 0.012  # work per tick at full speed, then 4 ms off: Python has one GIL, and
# a worker that never lets go of it would make the GUI thread wait up to the interpreter's switch
# interval (5 ms) at every return from Qt, which starves the window while the engine runs.
DEFAULT_CAP = 10_000
PREWARM_MS = 1500


@dataclass(frozen=True)
class RunState:
    """What the worker is doing, for the window's controls."""

    running: bool
    status: str  # the trainer's: running, converged, diverged, max_steps, error
    iteration: int
    mid_iteration: bool  # a step-by-step iteration has begun but not ended


class EngineWorker(QObject):
    # --- records out (queued to the GUI thread) ---
    # GraphSnapshot after a forward pass, gradients not yet computed; and the Program it is of
    graphReset = Signal(object, object)
    #: just before a graphReset: the replay of that graph's iteration 0 (``engine.replay.Moment``,
    #: its ``before`` is the graph), made here so the window does not make it in the GUI thread;
    #: its backward records are made here just after the graphReset (``Moment.pending`` until then)
    momentReplayed = Signal(object)
    iterationStarted = Signal(object)  # IterationStart: a step-by-step iteration begins
    forwardStep = Signal(object)  # ForwardStep
    seedStep = Signal()  # the backward pass's step 0 (dL/dL = 1), before its first multiplication
    chainRuleStep = Signal(object)  # ChainRuleStep
    iterationsDone = Signal(object, object)  # list[IterationRecord], GraphSnapshot after backward
    runFinished = Signal(str, str)  # status, message
    stateChanged = Signal(object)  # RunState
    failed = Signal(str)  # a program that cannot even start (should not happen: checked before)
    processStarted = Signal(int)  # the pid of the child process that runs full-speed runs

    def __init__(self) -> None:
        super().__init__()
        self._program: Program | None = None
        self._trainer: Trainer | None = None
        self._steps: Iterator | None = None  # the step-by-step iteration in progress
        self._held: ChainRuleStep | None = None  # a multiplication held back a step for the seed
        self._seeded = False  # the step-by-step iteration in progress has shown its seed
        self._lr = 0.1
        self._cap = DEFAULT_CAP
        self._tol = DEFAULT_TOL
        self._speed = DEFAULT_SPEED
        self._running = False
        self._timer: QTimer | None = None
        self._remote: _Remote | None = None  # the full-speed engine process, started on demand
        self._remote_failed = os.environ.get("AUTODIFF_ENGINE_PROCESS", "1") == "0"

    # --- commands in (queued from the GUI thread) -------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Runs in the worker thread once it starts: create the timer there."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        # start the full-speed engine process once the window is up, so the first fast run
        # does not pause to spawn it
        QTimer.singleShot(PREWARM_MS, self, self._remote_process)

    @Slot(object, float)
    def load(self, program: Program, lr: float) -> None:
        self._program = program
        self._lr = lr
        self.reset()

    @Slot()
    def reset(self) -> None:
        self._stop_timer()
        self._stop_remote_run(keep=False)
        self._running = False
        self._steps, self._held = None, None
        if self._program is None:
            return
        try:
            # the window's History keeps (and bounds) the run; the trainer need not
            self._trainer = Trainer(self._program, lr=self._lr, tol=self._tol, keep_records=False)
        except ProgramError as exc:
            self._trainer = None
            self.failed.emit(str(exc))
            return
        # the forward pass at the starting values: values known, gradients not yet; with the
        # whole iteration replayed here, off the GUI thread (seconds on a 68,000-node network)
        try:
            moment = replay(self._program, self._trainer.values, 0, self._lr)
        except ProgramError:
            moment = None
        if moment is not None:
            self.momentReplayed.emit(moment.promise())
            graph = moment.before
        else:
            graph = evaluate(self._program, self._trainer.values).snapshot()
        self.graphReset.emit(graph, self._program)
        self._emit_state()
        if moment is not None:
            # the backward pass's records, here rather than in the GUI thread, which draws the
            # graph meanwhile (a reader there that comes first waits for them or makes them)
            try:
                moment.prepare()
            except ArithmeticError:
                pass  # an overflow: the reader gets it, as from a replay made all at once

    @Slot(float)
    def set_lr(self, lr: float) -> None:
        """Takes effect at the next iteration (an iteration in progress keeps its rate)."""
        self._lr = lr
        if self._trainer is not None and self._steps is None:
            self._trainer.lr = lr
        if self._remote is not None and self._remote.active:
            self._remote.send(SetLr(lr))

    @Slot(int)
    def set_speed(self, index: int) -> None:
        self._speed = max(0, min(len(SPEEDS) - 1, index))
        if SPEEDS[self._speed][2] != "batch":
            self._stop_remote_run(keep=True)
        if self._running:
            self._schedule()

    @Slot(float)
    def set_tol(self, tol: float) -> None:
        """Convergence tolerance for the next run (reset applies it)."""
        self._tol = tol  # a negative tolerance never converges (benchmarks run flat out)

    @Slot(int)
    def set_cap(self, cap: int) -> None:
        self._cap = max(1, cap)
        self._stop_remote_run(keep=True)  # the next slice restarts it with the new cap
        self._emit_state()

    @Slot()
    def run(self) -> None:
        if self._trainer is None:
            return
        if self._trainer.status != RUNNING:
            self.reset()
        if self._trainer is None or self._trainer.iteration >= self._cap:
            return
        self._running = True
        self._emit_state()
        self._schedule(immediately=True)

    @Slot()
    def pause(self) -> None:
        self._running = False
        self._stop_timer()
        self._stop_remote_run(keep=True)
        self._emit_state()

    @Slot()
    def step_one(self) -> None:
        """Advance by one record: a forward step or one chain-rule multiplication."""
        self.pause()
        if self._ensure_trainer():
            self._advance_step()
            self._emit_state()

    @Slot()
    def step_iteration(self) -> None:
        """Finish the iteration in progress, or do one whole iteration."""
        self.pause()
        if self._ensure_trainer():
            self._advance_iteration()
            self._emit_state()

    @Slot()
    def shutdown(self) -> None:
        self._running = False
        self._stop_timer()
        # the start-up prewarm may still be due (it fires before the thread's loop ends): it must
        # not start an engine process after the window is gone
        self._remote_failed = True
        if self._remote is not None:
            self._remote.close()
            self._remote = None

    # --- the engine, paced ------------------------------------------------------------------------
    def _ensure_trainer(self) -> bool:
        if self._trainer is None:
            return False
        if self._trainer.status != RUNNING:
            self.reset()
        return self._trainer is not None

    def _schedule(self, immediately: bool = False) -> None:
        if self._timer is None:
            return
        _, interval, _ = SPEEDS[self._speed]
        self._timer.start(0 if immediately else interval)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        if not self._running or self._trainer is None:
            return
        _, _, mode = SPEEDS[self._speed]
        if mode == "step":
            self._advance_step()
        elif mode == "iteration":
            self._advance_iteration()
        else:
            self._advance_batch()
        if self._trainer.status != RUNNING or (self._steps is None and self._trainer.iteration >= self._cap):
            self._running = False
            self._stop_remote_run(keep=True)
            if self._trainer.status == RUNNING:
                self._trainer.run(self._trainer.iteration)  # marks the cap as the reason
                self._emit_state()
                self.runFinished.emit(self._trainer.status, self._trainer.message)
            else:
                self._emit_state()
            return
        self._schedule()

    def _advance_step(self) -> None:
        trainer = self._trainer
        if self._steps is None:
            trainer.lr = self._lr
            self._steps = trainer.steps()
        if self._held is not None:  # the multiplication that waited for the seed's own step
            record, self._held = self._held, None
        else:
            record = next(self._steps, None)
        if isinstance(record, ChainRuleStep) and record.number == 1 and not self._seeded:
            self._seeded, self._held = True, record
            self.seedStep.emit()
            return
        if isinstance(record, IterationStart):
            self._seeded = False
            self.iterationStarted.emit(record)
        elif isinstance(record, ForwardStep):
            self.forwardStep.emit(record)
        elif isinstance(record, ChainRuleStep):
            self.chainRuleStep.emit(record)
        elif isinstance(record, IterationRecord):
            self._steps = None
            self._finish_batch([record])

    def _advance_iteration(self) -> None:
        trainer = self._trainer
        if self._steps is not None:  # finish the step-by-step iteration quietly
            *_, record = self._steps  # run the generator to its end: the last is the record
            self._steps, self._held = None, None
            if isinstance(record, IterationRecord):
                self._finish_batch([record])
            return
        trainer.lr = self._lr
        self._finish_batch([trainer.step()])

    def _advance_batch(self) -> None:
        if self._steps is not None:
            self._advance_iteration()
            return
        trainer = self._trainer
        trainer.lr = self._lr
        if trainer.iteration >= self._cap:
            return  # the cap is reached: _tick ends the run; nothing to hand to the child
        remote = self._remote_process()
        if remote is not None:
            if not remote.active:
                remote.send(Run(self._program, trainer.state(), self._tol, self._cap))
                remote.active = True
            self._receive(remote)
            return
        records: list[IterationRecord] = []

        def step() -> bool:
            records.append(trainer.step())
            return trainer.status == RUNNING and trainer.iteration < self._cap

        if trainer.status == RUNNING:
            run_slice(step, SLICE_SECONDS)
        if records:
            self._finish_batch(records)

    # --- the full-speed engine process ------------------------------------------------------------
    def _remote_process(self) -> _Remote | None:
        if self._remote is None and not self._remote_failed:
            try:
                self._remote = _Remote()
                self.processStarted.emit(self._remote.process.pid)
            except (OSError, RuntimeError):  # no processes here: run in this thread instead
                self._remote_failed = True
        return self._remote

    def _receive(self, remote: _Remote, until_paused: bool = False, keep: bool = True) -> None:
        """Take the child's batches (all that wait; with ``until_paused``, up to its answer to a
        pause), adopt its trainer state, and pass the records on as one batch."""
        batches: list[RecordBatch] = []
        deadline = time.monotonic() + 5.0
        while True:
            if not remote.conn.poll(0.5 if until_paused else 0):
                if not until_paused or time.monotonic() > deadline or not remote.alive():
                    break
                continue
            try:
                message = remote.conn.recv()
            except (EOFError, OSError):
                self._drop_remote(failed=True)
                break
            match message:
                case Failed():  # the child cannot run this program: run it here
                    self._drop_remote(failed=True)
                    break
                case Batch(records=records, state=state, done=done):
                    if keep:
                        self._trainer.restore(state)
                    if len(records):
                        batches.append(records)
                    if done:
                        remote.active = False
                        if not until_paused:
                            break
                case Paused(state=state):
                    if state is not None and keep:
                        self._trainer.restore(state)
                    remote.active = False
                    break
        if batches and keep:
            self._finish_batch(RecordBatch.concat(batches))

    def _stop_remote_run(self, keep: bool) -> None:
        """Pause the child and take what it computed meanwhile (``keep``) or drop it (a reset)."""
        remote = self._remote
        if remote is None or not remote.active:
            return
        remote.send(Pause())
        self._receive(remote, until_paused=True, keep=keep)
        if remote.active and self._remote is remote:  # no answer in time: start afresh next run
            self._drop_remote(failed=False)

    def _drop_remote(self, failed: bool) -> None:
        if self._remote is not None:
            self._remote.close()
            self._remote = None
        self._remote_failed = self._remote_failed or failed

    def _finish_batch(self, records: Sequence[IterationRecord]) -> None:
        trainer = self._trainer
        self.iterationsDone.emit(records, trainer.snapshot())
        if trainer.status != RUNNING:
            self._running = False
            self._stop_timer()
            self._emit_state()  # before runFinished: a listener to it sees the run stopped
            self.runFinished.emit(trainer.status, trainer.message)

    def _emit_state(self) -> None:
        t = self._trainer
        self.stateChanged.emit(RunState(self._running, t.status if t else "idle",
                                        t.iteration if t else 0, self._steps is not None))


class _Remote:
    """The child process of :mod:`.engine_process`, and the pipe to it."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,), daemon=True,
                                       name="autodiff-engine")
        self.process.start()
        child.close()
        self.active = False  # a run is going on in the child

    def send(self, message: Run | SetLr | Pause | Stop) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError):
            self.active = False

    def alive(self) -> bool:
        return self.process.is_alive()

    def close(self) -> None:
        """End the child at once: Stop, then close the pipe. A child mid-run may be blocked
        sending a batch nobody will read (the pipe is full); closing the parent's end turns that
        send into a BrokenPipeError, on which it returns, instead of a join that times out."""
        self.send(Stop())
        self.conn.close()
        self.process.join(2)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)


class EngineThread(QObject):
    """Owns the worker and its ``QThread``: starts them, and stops and waits on close.

    The window keeps one of these; ``stop()`` must be called before the window goes away, so no
    "QThread: Destroyed while thread is still running".
    """

    # commands out, queued into the worker's thread
    loadRequested = Signal(object, float)
    runRequested = Signal()
    pauseRequested = Signal()
    stepRequested = Signal()
    iterationRequested = Signal()
    resetRequested = Signal()
    lrChanged = Signal(float)
    speedChanged = Signal(int)
    capChanged = Signal(int)
    tolChanged = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.thread.finished.connect(self.worker.deleteLater)
        w = self.worker
        self.loadRequested.connect(w.load)
        self.runRequested.connect(w.run)
        self.pauseRequested.connect(w.pause)
        self.stepRequested.connect(w.step_one)
        self.iterationRequested.connect(w.step_iteration)
        self.resetRequested.connect(w.reset)
        self.lrChanged.connect(w.set_lr)
        self.speedChanged.connect(w.set_speed)
        self.capChanged.connect(w.set_cap)
        self.tolChanged.connect(w.set_tol)
        self.thread.start()

    def stop(self, timeout_ms: int = 15000) -> bool:
        """Stop the worker's timer, end the thread's event loop and wait for it."""
        if not self.thread.isRunning():
            return True
        # blocking: the worker must have stopped its timer and its child process before its event
        # loop is told to end (a queued request could be skipped by a loop that is ending)
        QMetaObject.invokeMethod(self.worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        return self.thread.wait(timeout_ms)


__all__ = ["DEFAULT_CAP", "DEFAULT_SPEED", "SPEEDS", "EngineThread", "EngineWorker", "RunState",
           "GraphSnapshot"]
