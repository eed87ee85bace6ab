"""Gradient descent on a program's parameters: forward, zero-grad, backward, update, repeat.

Each iteration computes the graph of the program at the current parameter values (the graph's
shape never changes, so node ids stay the same), runs the backward pass, and records the loss,
parameters and gradients *before* the update. A run stops when it converges (the largest
|gradient| ≤ tol, checked before updating), diverges (a non-finite number, an overflow, the loss
grown a million-fold, or a parameter grown past a million times its start) or reaches its step
cap; divergence is a status, never an exception.

Two paths compute an iteration, with the same numbers bit for bit. The program is interpreted
into ``Value`` objects for the first iterations, for :meth:`Trainer.steps` (the step-by-step view
needs the nodes) and for any iteration the tape cannot replay (an error, an overflow); once a run
goes on, the graph is compiled into a flat tape (:mod:`engine.tape`) and replayed on floats.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .graph import GraphSnapshot, backward_steps, forward_steps, format_number
from .language import Evaluation, Program, ProgramError, ProgramOverflow, evaluate, start
from .records import (ChainRuleStep, ForwardStep, IterationRecord, RecordBatch, iteration_record,
                      param_state)
from .defaults import (CONVERGED, DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TOL, DIVERGED, ERROR,  # noqa: F401
                       MAX_STEPS, RUNNING)
from .tape import REPLAY_ERRORS, Tape, cached_tape, program_tape
from .value import DomainError

DIVERGENCE_FACTOR = 1e6
COMPILE_AFTER = 3
_INF = math.inf
"""Iterations interpreted before the program is compiled to a tape: a caller that takes only a
step or two (the mistakes panel, a test) never pays for compiling; a run pays once."""


@dataclass(frozen=True, slots=True)
class IterationStart:
    """The forward pass of an iteration is done: the graph with values and local gradients."""

    iteration: int
    graph: GraphSnapshot
    values: tuple[float, ...] = ()  # the parameters at this iteration, before its update
    lr: float = DEFAULT_LR


@dataclass(frozen=True)
class TrainerState:
    """Everything a trainer needs to go on from where another one stopped (another thread or
    process): plain numbers, so it pickles."""

    values: tuple[float, ...]
    iteration: int
    status: str
    message: str
    lr: float
    first_loss: float | None
    carried: tuple[float, ...]
    last_record: IterationRecord | None
    start_values: tuple[float, ...] = ()


@dataclass
class TrainResult:
    status: str
    records: list[IterationRecord]
    final: dict[str, float]
    message: str
    last: IterationRecord | None = None  # the last iteration, kept even when records are not

    @property
    def loss(self) -> float:
        if self.records:
            return self.records[-1].loss
        return self.last.loss if self.last is not None else math.nan


class Trainer:
    """Gradient descent, one iteration at a time; ``lr`` may change between iterations.

    ``zero_grad=False`` reproduces the classic mistake of not zeroing gradients between
    iterations: each parameter's gradient then starts from the previous iteration's.
    ``fast=False`` keeps every iteration on the ``Value`` path (to compare the two); ``tape``
    hands in a tape already compiled for this program (a sweep compiles once for all its runs).
    """

    def __init__(self, program: Program, lr: float = DEFAULT_LR, tol: float = DEFAULT_TOL,
                 param_values: Sequence[float] | None = None, zero_grad: bool = True,
                 keep_records: bool = True, fast: bool = True, tape: Tape | None = None):
        self.program = program
        self.lr = float(lr)
        self.tol = float(tol)
        self.zero_grad = zero_grad
        if param_values is None:  # evaluated once per program text (the editor did already)
            first = start(program)  # raises ProgramError for a bad program
            self.names, self.values = list(first.names), list(first.values)
        else:
            ev = evaluate(program, param_values)  # raises ProgramError for a bad program
            self.names = [name for name, _ in ev.params]
            self.values = ev.param_values()
        self.start_values = list(self.values)
        self.iteration = 0
        self.status = RUNNING
        self.message = ""
        self.keep_records = keep_records  # False for endless runs: their caller keeps its own
        self.records: list[IterationRecord] = []
        self.last_record: IterationRecord | None = None
        self.first_loss: float | None = None
        self.last: Evaluation | None = None  # the graph of the last iteration, after backward
        self._carried = [0.0] * len(self.values)
        self._carried_in: list[float] | None = None  # what the last iteration started from
        self._tape = tape if fast else None
        self._compile = fast and tape is None  # compile one when the run goes on
        self._interpreted = 0
        self._bounds = [DIVERGENCE_FACTOR * max(1.0, abs(v)) for v in self.start_values]

    @property
    def tape(self) -> Tape | None:
        """The compiled tape the fast path replays (None: every iteration is interpreted)."""
        return self._tape

    def state(self) -> TrainerState:
        return TrainerState(tuple(self.values), self.iteration, self.status, self.message, self.lr,
                            self.first_loss, tuple(self._carried), self.last_record,
                            tuple(self.start_values))

    def restore(self, state: TrainerState) -> None:
        """Go on from ``state`` (same program and settings); ``last`` is rebuilt on demand."""
        self.values = list(state.values)
        self.iteration = state.iteration
        self.status = state.status
        self.message = state.message
        self.lr = state.lr
        self.first_loss = state.first_loss
        self._carried = list(state.carried)
        self.last_record = state.last_record
        if state.start_values:
            self.start_values = list(state.start_values)
            self._bounds = [DIVERGENCE_FACTOR * max(1.0, abs(v)) for v in self.start_values]
        self.last = None
        self._carried_in = None

    # --- one iteration --------------------------------------------------------------------------
    def step(self) -> IterationRecord:
        """One whole iteration: replayed from the tape when there is one, else interpreted."""
        if self.status != RUNNING:
            raise RuntimeError(f"the run has ended ({self.status})")
        tape = self._tape_now(1) if self._compile else self._tape
        if tape is not None and self.first_loss is not None:
            carried = None if self.zero_grad else self._carried
            try:
                loss, grads, after = tape.stepper(carried is not None)(
                    self.values, carried, self.lr, self.tol,
                    DIVERGENCE_FACTOR * max(abs(self.first_loss), 1.0), self._bounds)
            except REPLAY_ERRORS:
                pass  # this iteration's error, overflow or NaN comes from the Value path
            else:
                self.last = None
                self._carried_in = carried
                if after is None:  # it may end the run: the rules below decide
                    return self._conclude(loss, grads)
                self._carried = grads
                record = self._record(loss, grads)
                self.values = after  # record.next_values, computed in the tape
                self.iteration += 1
                return record
        return self._interpret()

    def _interpret(self) -> IterationRecord:
        """One iteration on the ``Value`` path (the tutorial's ``backward()``)."""
        ev = self._forward()
        if ev is None:
            return self.last_record
        self._interpreted += 1
        try:
            ev.loss.backward()
        except OverflowError:
            return self._diverge(ev, "a gradient overflowed")
        return self._finish(ev)

    def _tape_now(self, upcoming: int) -> Tape | None:
        """The tape, compiled once the run has shown that it goes on."""
        if self._compile and (self._interpreted >= COMPILE_AFTER or upcoming > COMPILE_AFTER):
            self._compile = False
            self._tape = program_tape(self.program, self.values)  # once per program text
        return self._tape

    def advance(self, n: int, packed: bool = False) -> RecordBatch:
        """Up to ``n`` iterations at once (fewer if the run ends), their records by column.

        Plain iterations run in the tape's own loop; any iteration that may end the run, or that
        the tape cannot replay, is taken by :meth:`step` with its exact rules, and the loop goes
        on after it. The records are the same as ``n`` calls of :meth:`step` would make.
        ``packed``: the numbers in ``array`` columns (:meth:`RecordBatch.packed`), made from the
        loop's lists at once (what the engine process sends; its trainer keeps no records, and
        a record kept from an array would hold a float where the Value path holds an int).
        """
        if packed and self.keep_records:
            raise ValueError("advance(packed=True) is for a trainer that keeps no records")
        iterations: list[int] = []
        lrs: list[float] = []
        statuses: list[str] = []
        columns: tuple[list, list, list] = ([], [], [])
        self._advance(n, columns, iterations, lrs, statuses)
        if packed:
            batch = RecordBatch(tuple(self.names), array("q", iterations), array("d", lrs),
                                array("d", columns[0]), array("d", columns[1]),
                                array("d", columns[2]), tuple(statuses))
        else:
            batch = RecordBatch(tuple(self.names), tuple(iterations), tuple(lrs),
                                tuple(columns[0]), tuple(columns[1]), tuple(columns[2]),
                                tuple(statuses))
        if len(batch) and self.keep_records:
            self.records.extend(batch)
            self.last_record = self.records[-1]
        elif len(batch):  # the last record, built from the columns' last row
            p = len(self.names)
            params = tuple(map(param_state, self.names, columns[1][-p:] if p else (),
                               columns[2][-p:] if p else ()))
            self.last_record = iteration_record(iterations[-1], lrs[-1], columns[0][-1], params,
                                                statuses[-1])
        return batch

    def _advance(self, n: int, columns: tuple[list, list, list] | None, iterations: list[int],
                 lrs: list[float], statuses: list[str]) -> int:
        """The loop behind :meth:`advance` and :meth:`run`; returns the iterations done.

        Without ``columns`` the tape's loop keeps no record, and the last iteration is a
        :meth:`step`, so ``last_record`` is always the last iteration's.
        """
        done = 0
        while done < n and self.status == RUNNING:
            tape = self._tape_now(n - done)
            want = n - done if columns is not None else n - done - 1
            if tape is not None and self.first_loss is not None and want > 0:
                bound = DIVERGENCE_FACTOR * max(abs(self.first_loss), 1.0)
                carried = None if self.zero_grad else self._carried
                count, values, carried = tape.run(self.values, self.lr, want, self.tol, bound,
                                                  self._bounds, carried, columns)
                if count:
                    if columns is not None:
                        iterations.extend(range(self.iteration, self.iteration + count))
                        lrs.extend([self.lr] * count)
                        statuses.extend([RUNNING] * count)
                    self.values = values
                    if carried is not None:
                        self._carried = carried
                    self.iteration += count
                    self.last = None
                    self._carried_in = None
                    done += count
                    continue  # back to the top: the loop may have stopped before an ending
            record = self._exact_step(columns is not None or self.keep_records)
            if columns is not None:
                iterations.append(record.iteration)
                lrs.append(record.lr)
                statuses.append(record.status)
                columns[0].append(record.loss)
                columns[1].extend(p.data for p in record.params)
                columns[2].extend(p.grad for p in record.params)
            done += 1
        return done

    def _exact_step(self, columns: bool) -> IterationRecord:
        """:meth:`step`, without adding to ``records`` when :meth:`advance` adds the batch."""
        keep = self.keep_records
        if columns:
            self.keep_records = False
        try:
            return self.step()
        finally:
            self.keep_records = keep

    def steps(self) -> Iterator[IterationStart | ForwardStep | ChainRuleStep | IterationRecord]:
        """The same iteration as :meth:`step`, as records: the graph after the forward pass, each
        forward step, each chain-rule multiplication, and last the iteration's record."""
        if self.status != RUNNING:
            raise RuntimeError(f"the run has ended ({self.status})")
        ev = self._forward()
        if ev is None:
            yield self.last_record
            return
        self._interpreted += 1
        graph = ev.snapshot()
        yield IterationStart(self.iteration, graph, tuple(self.values), self.lr)
        yield from forward_steps(graph)
        try:
            yield from backward_steps(ev.loss)
        except OverflowError:
            yield self._diverge(ev, "a gradient overflowed")
            return
        yield self._finish(ev)

    def snapshot(self) -> GraphSnapshot | None:
        """The last iteration's graph with values and gradients (before its update)."""
        if self.last is None and self.last_record is not None:
            try:  # rebuilt after restore(); a run that overflowed cannot be rebuilt: no picture
                ev = evaluate(self.program, [p.data for p in self.last_record.params])
                if self._carried_in is not None:  # the gradients the iteration started from
                    for (_, p), g in zip(ev.params, self._carried_in):
                        p.grad = g
                ev.loss.backward()
            except (ProgramError, ArithmeticError):
                return None
            self.last = ev
        return self.last.snapshot() if self.last is not None else None

    def _forward(self) -> Evaluation | None:
        if self.status != RUNNING:
            raise RuntimeError(f"the run has ended ({self.status})")
        try:
            ev = evaluate(self.program, self.values)
        except ProgramOverflow as exc:
            self._end(DIVERGED, f"diverged: {exc.message} at iteration {self.iteration}")
            self._record(math.inf, [math.nan] * len(self.values))
            return None
        except ProgramError as exc:
            if self.iteration == 0:
                raise
            self._end(ERROR, f"stopped at iteration {self.iteration}: {exc.message} "
                             f"(line {exc.line})")
            self._record(math.nan, [math.nan] * len(self.values))
            return None
        self._carried_in = None
        if not self.zero_grad:
            self._carried_in = list(self._carried)
            for (_, p), g in zip(ev.params, self._carried):
                p.grad = g
        self.last = ev
        if self._tape is not None and not self._tape.matches(ev.loss, [p for _, p in ev.params]):
            self._tape = None  # the graph changed shape: the Value path from now on
        return ev

    def _finish(self, ev: Evaluation) -> IterationRecord:
        return self._conclude(ev.loss.data, [p.grad for _, p in ev.params])

    def _conclude(self, loss: float, grads: list[float]) -> IterationRecord:
        """The end of an iteration, whichever path computed it: divergence, convergence, update."""
        self._carried = grads
        if self.first_loss is None:
            self.first_loss = loss
        bound = DIVERGENCE_FACTOR * max(abs(self.first_loss), 1.0)
        if (-bound <= loss <= bound and -_INF < loss < _INF and all(-_INF < g < _INF for g in grads)
                and all(-b <= v <= b for v, b in zip(self.values, self._bounds))):
            # nothing diverges (the usual case, decided at once): converged, or one more update
            return self._converge_or_update(loss, grads)
        if not _finite(loss) or not all(_finite(g) for g in grads):
            return self._diverge_at(loss, grads, "a value became infinite or not a number")
        if abs(loss) > DIVERGENCE_FACTOR * max(abs(self.first_loss), 1.0):
            return self._diverge_at(loss, grads, "the loss grew a million-fold")
        for name, v, bound in zip(self.names, self.values, self._bounds):
            if not abs(v) <= bound:
                return self._diverge_at(loss, grads, f"{name} = {format_number(v)} grew past a "
                                                     f"million times its start")
        return self._converge_or_update(loss, grads)

    def _converge_or_update(self, loss: float, grads: list[float]) -> IterationRecord:
        """Step 3: stop if every gradient is within the tolerance, else θ ← θ - lr·dL/dθ."""
        if max(map(abs, grads), default=0.0) <= self.tol:
            self._end(CONVERGED, self._converged_message(grads))
            return self._record(loss, grads)
        record = self._record(loss, grads)
        lr = self.lr
        self.values = [v - lr * g for v, g in zip(self.values, grads)]  # record.next_values
        self.iteration += 1
        return record

    def _record(self, loss: float, grads: list[float]) -> IterationRecord:
        params = tuple(map(param_state, self.names, self.values, grads))
        rec = iteration_record(self.iteration, self.lr, loss, params, self.status)
        self.last_record = rec
        if self.keep_records:
            self.records.append(rec)
        return rec

    def _end(self, status: str, message: str) -> None:
        self.status = status
        self.message = message

    def _diverge(self, ev: Evaluation, why: str) -> IterationRecord:
        return self._diverge_at(ev.loss.data, [p.grad for _, p in ev.params], why)

    def _diverge_at(self, loss: float, grads: list[float], why: str) -> IterationRecord:
        hint = self._stability_hint()
        self._end(DIVERGED, f"diverging: {why} after {self.iteration} iterations at lr = "
                            f"{format_number(self.lr)}{hint}")
        return self._record(loss, grads)

    def _stability_hint(self) -> str:
        """For one parameter, the learning rate above which gradient descent cannot settle.

        Near a minimum the loss is close to a parabola with curvature c = d²L/dw², and each step
        multiplies the distance to the minimum by (1 - lr·c): it diverges once lr > 2/c.
        """
        if len(self.values) != 1:
            return ""
        try:
            c = curvature(self.program, self.start_values)
        except (ProgramError, ArithmeticError):
            return ""
        if not (_finite(c) and c > 0):
            return ""
        return (f"; for this loss d²L/d{self.names[0]}² = {format_number(c, 4)}, so any "
                f"learning rate above 2/{format_number(c, 4)} = {format_number(2 / c, 4)} diverges")

    def _converged_message(self, grads: list[float]) -> str:
        name = self.names[0] if len(self.names) == 1 else None
        what = f"|d{self.program.loss_name}/d{name}|" if name else "max |gradient|"
        where = ", ".join(f"{n} = {v:.4f}" for n, v in zip(self.names, self.values))
        its = self.iteration
        return (f"converged: {what} ≤ {self.tol:g} after {its} iteration{'s' if its != 1 else ''}"
                f"{', ' + where if where else ''}")

    # --- whole runs -----------------------------------------------------------------------------
    def run(self, max_steps: int = DEFAULT_STEPS) -> TrainResult:
        """Iterate until convergence, divergence or ``max_steps`` updates."""
        while self.status == RUNNING and self.iteration < max_steps:
            n = max_steps - self.iteration
            if self.keep_records:
                self.advance(min(n, 65536))  # records built by column, a batch at a time
            else:
                self._advance(n, None, [], [], [])
        if self.status == RUNNING:
            self.status = MAX_STEPS
            shown = [f"{n} = {format_number(v)}" for n, v in zip(self.names[:6], self.values)]
            if len(self.names) > 6:  # a network's hundred parameters would fill the window
                shown.append(f"… {len(self.names) - 6} more")
            where = ", ".join(shown)
            self.message = f"stopped after {max_steps} iterations (the cap){': ' + where if where else ''}"
        return self.result()

    def result(self) -> TrainResult:
        return TrainResult(self.status, list(self.records), dict(zip(self.names, self.values)),
                           self.message, self.last_record)


def train(program: Program, lr: float = DEFAULT_LR, steps: int = DEFAULT_STEPS,
          tol: float = DEFAULT_TOL) -> TrainResult:
    return Trainer(program, lr=lr, tol=tol).run(steps)


def gradient(program: Program, param_values: Sequence[float] | None = None) -> tuple[float, list[float]]:
    """The loss and each parameter's gradient at the given values (one forward, one backward)."""
    ev = evaluate(program, param_values)
    ev.loss.backward()
    return ev.loss.data, [p.grad for _, p in ev.params]


def curvature(program: Program, param_values: Sequence[float], index: int = 0,
              h: float = 1e-4) -> float:
    """d²L/dθ² along one parameter, by central differences of the backward pass's gradient.

    On the program's tape when one was compiled already (a run compiles one; the same numbers
    bit for bit, without interpreting the program twice: 0.7 s on micrograd's demo network),
    else, or where the tape cannot replay a point, through the interpreter."""
    up, down = list(param_values), list(param_values)
    up[index] += h
    down[index] -= h
    tape = cached_tape(program)
    return (_gradient_on(tape, program, up)[index]
            - _gradient_on(tape, program, down)[index]) / (2 * h)


def _gradient_on(tape: Tape | None, program: Program, values: list[float]) -> list[float]:
    if tape is not None:
        try:
            return tape.gradient(values)[1]
        except REPLAY_ERRORS:
            pass
    return gradient(program, values)[1]


def quadratic_minimum(program: Program, param_values: Sequence[float], h: float = 1e-3,
                      max_params: int = 4) -> list[float] | None:
    """The exact minimiser θ* when the loss is a quadratic bowl in (at most a few) parameters.

    One Newton step θ* = θ - H⁻¹·g lands on the minimum of a quadratic. The Hessian H is measured
    by differences of the backward pass's gradients at two points; if it differs between them
    the loss is not quadratic and there is no simple target to draw, so the answer is None.
    """
    n = len(param_values)
    if n == 0 or n > max_params:
        return None
    try:
        H = _hessian(program, param_values, h)
        elsewhere = [v + 0.37 for v in param_values]
        if any(abs(a - b) > 1e-6 * max(1.0, abs(a)) for ra, rb in zip(H, _hessian(program, elsewhere, h))
               for a, b in zip(ra, rb)):
            return None
        g = gradient(program, param_values)[1]
        step = _solve(H, g)
    except (ProgramError, ArithmeticError):
        return None
    if step is None:
        return None
    # a minimum, not a saddle: the step must lower the loss
    target = [v - s for v, s in zip(param_values, step)]
    try:
        if evaluate(program, target).loss.data > evaluate(program, param_values).loss.data + 1e-12:
            return None
    except (ProgramError, ArithmeticError):
        return None
    return target


def _hessian(program: Program, values: Sequence[float], h: float) -> list[list[float]]:
    n = len(values)
    H = [[0.0] * n for _ in range(n)]
    for j in range(n):
        up, down = list(values), list(values)
        up[j] += h
        down[j] -= h
        gu, gd = gradient(program, up)[1], gradient(program, down)[1]
        for i in range(n):
            H[i][j] = (gu[i] - gd[i]) / (2 * h)
    return H


def _solve(A: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None for a singular matrix."""
    n = len(b)
    M = [list(row) + [b[i]] for i, row in enumerate(A)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(M[r][col]))
        if abs(M[pivot][col]) < 1e-12:
            return None
        M[col], M[pivot] = M[pivot], M[col]
        for r in range(n):
            if r != col:
                f = M[r][col] / M[col][col]
                M[r] = [a - f * c for a, c in zip(M[r], M[col])]
    return [M[i][n] / M[i][i] for i in range(n)]


def finite_difference(program: Program, param_values: Sequence[float], index: int,
                      h: float = 1e-6) -> float:
    """Central finite-difference estimate of dL/dθ for one parameter."""
    up, down = list(param_values), list(param_values)
    up[index] += h
    down[index] -= h
    return (evaluate(program, up).loss.data - evaluate(program, down).loss.data) / (2 * h)


def _finite(x: float) -> bool:
    try:
        return math.isfinite(x)
    except (TypeError, OverflowError):
        return False


__all__ = ["COMPILE_AFTER", "CONVERGED", "DIVERGED", "ERROR", "MAX_STEPS", "RUNNING", "DomainError",
           "IterationStart", "TrainResult", "Trainer", "TrainerState", "curvature", "finite_difference",
           "gradient", "quadratic_minimum", "train"]
