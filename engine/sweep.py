"""A learning-rate sweep: train the same program at many learning rates and compare the outcomes.

One run per learning rate, with the same headless :class:`~engine.train.Trainer` a learner's own
run uses, so a point of the sweep is exactly what pressing Run at that rate would do. The program
is compiled to a tape once (:mod:`engine.tape`) and every run replays it on floats. Plotting
iterations-to-converge and final loss against lr makes the regimes of
:mod:`engine.regimes` visible: slow monotone convergence for small rates, the fastest near 1/c,
oscillating convergence up to 2/c, and divergence beyond.

:func:`sweep` is a generator, one :class:`SweepPoint` per learning rate, so a caller can show
progress and stop between points; ``should_stop`` is also polled inside runs (every
:data:`STOP_CHECK_EVERY` iterations), so cancelling never waits for a whole 1,000-iteration run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .language import Program
from .tape import Tape, program_tape
from .train import CONVERGED, DEFAULT_TOL, DIVERGED, ERROR, MAX_STEPS, RUNNING, Trainer

DEFAULT_LO, DEFAULT_HI, DEFAULT_COUNT = 1e-3, 1.5, 50
DEFAULT_MAX_ITERATIONS = 1000
STOP_CHECK_EVERY = 10
"""Iterations between two calls of ``should_stop`` inside one run: 0.25 ms of work on the
tutorial's loss, about 8 ms on the network preset. Often enough that a cancel is prompt and a
caller's ``should_stop`` can pace the work; rare enough to cost nothing measurable."""


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """How one learning rate ended.

    ``iterations`` counts the updates made: for a converged run, the iterations it needed (1 for
    the tutorial's loss at lr = 0.5); for a diverged one, how long it took to blow up; for
    ``max_steps``, the cap. ``final_loss`` is the last loss computed and may be inf or nan.
    ``overshoots`` counts the updates after which some gradient changed sign, i.e. the iterate
    jumped past the minimum: 0 in the monotone regime, about one per update when oscillating.
    """

    lr: float
    status: str  # CONVERGED, DIVERGED, MAX_STEPS or ERROR (engine.train's names)
    iterations: int
    final_loss: float
    overshoots: int = 0

    @property
    def converged(self) -> bool:
        return self.status == CONVERGED


def log_space(lo: float = DEFAULT_LO, hi: float = DEFAULT_HI,
              n: int = DEFAULT_COUNT) -> list[float]:
    """``n`` values from ``lo`` to ``hi`` (both included, exactly) evenly spaced on a log scale.

    Learning rates matter by their order of magnitude: 0.001 and 0.002 differ as much as 0.5 and
    1, so a linear grid would waste most points on the large rates.
    """
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"a log scale needs positive finite bounds, got {lo!r} and {hi!r}")
    if n < 1:
        raise ValueError(f"need at least one value, got n = {n}")
    if n == 1:
        return [float(lo)]
    a, b = math.log(lo), math.log(hi)
    values = [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]
    values[0], values[-1] = float(lo), float(hi)
    return values


def sweep(program: Program, lrs: Iterable[float] | None = None,
          max_iterations: int = DEFAULT_MAX_ITERATIONS, tol: float = DEFAULT_TOL,
          should_stop: Callable[[], bool] | None = None,
          param_values: Sequence[float] | None = None) -> Iterator[SweepPoint]:
    """Train ``program`` once per learning rate in ``lrs``, yielding each outcome as it is known.

    Every run starts from ``param_values`` (default: the program's own starting values) and stops
    at convergence (every |gradient| ≤ ``tol``), divergence or ``max_iterations`` updates. When
    ``should_stop()`` turns true the generator ends without yielding the interrupted run.
    A program that cannot even be evaluated raises :class:`~engine.language.ProgramError` at the
    first point; a failure later in a run is that point's ``error`` status.
    """
    rates = log_space() if lrs is None else lrs
    stop = should_stop or _never
    every = STOP_CHECK_EVERY if should_stop is not None else max_iterations  # nobody to ask
    tape: Tape | None = None
    compiled = False
    for lr in rates:
        if stop():
            return
        if not compiled:  # once for every rate (None: the runs take the Value path)
            compiled = True
            tape = program_tape(program, param_values)  # or the one a run compiled already
        point = _run_one(program, float(lr), max_iterations, tol, stop, param_values, tape, every)
        if point is None:
            return
        yield point


def _run_one(program: Program, lr: float, max_iterations: int, tol: float,
             stop: Callable[[], bool], param_values: Sequence[float] | None,
             tape: Tape | None = None, every: int = STOP_CHECK_EVERY) -> SweepPoint | None:
    """One run, polling ``stop`` every ``every`` iterations; None if stopped.

    Driven ``every`` iterations at a time with ``Trainer.advance`` (the records by column)
    rather than ``Trainer.run``, so that it can be interrupted and can watch the gradients' signs
    for overshoots.
    """
    every = max(1, every)
    trainer = Trainer(program, lr=lr, tol=tol, param_values=param_values, keep_records=False,
                      tape=tape, fast=tape is not None)
    overshoots = 0
    previous: Sequence[float] | None = None
    loss = math.nan
    p = len(trainer.names)
    while trainer.status == RUNNING and trainer.iteration < max_iterations:
        if trainer.iteration % every == 0 and trainer.iteration and stop():
            return None
        batch = trainer.advance(min(every - trainer.iteration % every,
                                    max_iterations - trainer.iteration))
        if not len(batch):
            break
        loss = batch.losses[-1]
        grads = batch.grads
        if p == 1:  # one parameter: a sign change of its gradient, without slicing rows
            last = previous[0] if previous is not None else None
            for g in grads:
                if last is not None and g * last < 0:
                    overshoots += 1
                last = g
            previous = (last,)
            continue
        for row in range(0, len(grads), p) if p else ():
            current = grads[row:row + p]
            if previous is not None and any(g * h < 0 for g, h in zip(current, previous)):
                overshoots += 1
            previous = current
    status = MAX_STEPS if trainer.status == RUNNING else trainer.status
    assert status in (CONVERGED, DIVERGED, MAX_STEPS, ERROR)
    return SweepPoint(lr, status, trainer.iteration, loss, overshoots)


def _never() -> bool:
    return False


__all__ = ["DEFAULT_COUNT", "DEFAULT_HI", "DEFAULT_LO", "DEFAULT_MAX_ITERATIONS", "SweepPoint",
           "log_space", "sweep"]
