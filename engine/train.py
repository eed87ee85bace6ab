"""Gradient descent on a program's parameters: forward, zero-grad, backward, update, repeat.

Each iteration rebuilds the graph from the program at the current parameter values (the graph's
shape never changes, so node ids stay the same), runs the backward pass, and records the loss,
parameters and gradients *before* the update. A run stops when it converges (the largest
|gradient| ≤ tol, checked before updating), diverges (a non-finite number, an overflow, or the loss
grown a million-fold) or reaches its step cap; divergence is a status, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .graph import GraphSnapshot, backward_steps, forward_steps, format_number
from .language import Evaluation, Program, ProgramError, ProgramOverflow, evaluate
from .records import ChainRuleStep, ForwardStep, IterationRecord, ParamState
from .value import DomainError

RUNNING, CONVERGED, DIVERGED, MAX_STEPS, ERROR = "running", "converged", "diverged", "max_steps", "error"
DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TOL = 0.1, 100, 1e-6
DIVERGENCE_FACTOR = 1e6


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

    @property
    def loss(self) -> float:
        return self.records[-1].loss if self.records else math.nan


class Trainer:
    """Gradient descent, one iteration at a time; ``lr`` may change between iterations.

    ``zero_grad=False`` reproduces the classic mistake of not zeroing gradients between
    iterations: each parameter's gradient then starts from the previous iteration's.
    """

    def __init__(self, program: Program, lr: float = DEFAULT_LR, tol: float = DEFAULT_TOL,
                 param_values: Sequence[float] | None = None, zero_grad: bool = True,
                 keep_records: bool = True):
        self.program = program
        self.lr = float(lr)
        self.tol = float(tol)
        self.zero_grad = zero_grad
        first = evaluate(program, param_values)  # raises ProgramError for a bad program
        self.names = [name for name, _ in first.params]
        self.values = first.param_values()
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
        self.last = None

    # --- one iteration --------------------------------------------------------------------------
    def step(self) -> IterationRecord:
        """One whole iteration with the plain ``backward()``; the fast path."""
        ev = self._forward()
        if ev is None:
            return self.last_record
        try:
            ev.loss.backward()
        except OverflowError:
            return self._diverge(ev, "a gradient overflowed")
        return self._finish(ev)

    def steps(self) -> Iterator[IterationStart | ForwardStep | ChainRuleStep | IterationRecord]:
        """The same iteration as :meth:`step`, as records: the graph after the forward pass, each
        forward step, each chain-rule multiplication, and last the iteration's record."""
        ev = self._forward()
        if ev is None:
            yield self.last_record
            return
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
        if not self.zero_grad:
            for (_, p), g in zip(ev.params, self._carried):
                p.grad = g
        self.last = ev
        return ev

    def _finish(self, ev: Evaluation) -> IterationRecord:
        loss = ev.loss.data
        grads = [p.grad for _, p in ev.params]
        self._carried = list(grads)
        if self.first_loss is None:
            self.first_loss = loss
        if not _finite(loss) or not all(_finite(g) for g in grads):
            return self._diverge(ev, "a value became infinite or not a number")
        if abs(loss) > DIVERGENCE_FACTOR * max(abs(self.first_loss), 1.0):
            return self._diverge(ev, "the loss grew a million-fold")
        biggest = max((abs(g) for g in grads), default=0.0)
        if biggest <= self.tol:
            self._end(CONVERGED, self._converged_message(grads))
            return self._record(loss, grads)
        record = self._record(loss, grads)
        self.values = list(record.next_values)
        self.iteration += 1
        return record

    def _record(self, loss: float, grads: list[float]) -> IterationRecord:
        params = tuple(ParamState(n, v, g) for n, v, g in zip(self.names, self.values, grads))
        rec = IterationRecord(self.iteration, self.lr, loss, params, self.status)
        self.last_record = rec
        if self.keep_records:
            self.records.append(rec)
        return rec

    def _end(self, status: str, message: str) -> None:
        self.status = status
        self.message = message

    def _diverge(self, ev: Evaluation, why: str) -> IterationRecord:
        hint = self._stability_hint()
        self._end(DIVERGED, f"diverging: {why} after {self.iteration} iterations at lr = "
                            f"{format_number(self.lr)}{hint}")
        grads = [p.grad for _, p in ev.params]
        return self._record(ev.loss.data, grads)

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
            self.step()
        if self.status == RUNNING:
            self.status = MAX_STEPS
            where = ", ".join(f"{n} = {format_number(v)}" for n, v in zip(self.names, self.values))
            self.message = f"stopped after {max_steps} iterations (the cap){': ' + where if where else ''}"
        return self.result()

    def result(self) -> TrainResult:
        return TrainResult(self.status, list(self.records), dict(zip(self.names, self.values)),
                           self.message)


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
    """d²L/dθ² along one parameter, by central differences of the backward pass's gradient."""
    up, down = list(param_values), list(param_values)
    up[index] += h
    down[index] -= h
    return (gradient(program, up)[1][index] - gradient(program, down)[1][index]) / (2 * h)


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


__all__ = ["CONVERGED", "DIVERGED", "ERROR", "MAX_STEPS", "RUNNING", "DomainError",
           "IterationStart", "TrainResult", "Trainer", "TrainerState", "curvature", "finite_difference",
           "gradient", "quadratic_minimum", "train"]
