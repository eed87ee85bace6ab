"""What a learning rate will do, predicted before running: the regimes of gradient descent.

Near a minimum a loss of one parameter is close to a parabola with curvature c = d²L/dw². One
step multiplies the distance to the minimum by the factor (1 - lr·c), so:

- 0 < factor < 1 (lr < 1/c): the iterates approach monotonically;
- factor = 0 (lr = 1/c): one step lands on the minimum;
- -1 < factor < 0 (1/c < lr < 2/c): they overshoot and oscillate, but converge;
- factor = -1 (lr = 2/c): they bounce between two points for ever;
- factor < -1 (lr > 2/c): each overshoot is bigger than the last: divergence.

For the tutorial's L = (w·x - y)², c = 2x², so the factor is 1 - 2·lr·x²; with x = 1 the
boundaries are lr = 0.5 and lr = 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .graph import format_number
from .language import Program, ProgramError
from .train import curvature, gradient

MONOTONE, ONE_STEP, OSCILLATING, PERIODIC, DIVERGING, UNKNOWN = (
    "monotone", "one step", "oscillating", "periodic", "diverging", "unknown")
_EXACT = 1e-9


@dataclass(frozen=True)
class Regime:
    name: str
    factor: float | None  # the error's factor per step, 1 - lr·c (None when unknown)
    curvature: float | None
    explanation: str

    @property
    def boundaries(self) -> tuple[float, float] | None:
        """(1/c, 2/c): where one-step convergence and divergence begin."""
        if not self.curvature or self.curvature <= 0:
            return None
        return 1 / self.curvature, 2 / self.curvature


def classify(lr: float, c: float) -> str:
    factor = 1 - lr * c
    if abs(factor) <= _EXACT:
        return ONE_STEP
    if abs(factor + 1) <= _EXACT:
        return PERIODIC
    if factor > 0:
        return MONOTONE
    if factor > -1:
        return OSCILLATING
    return DIVERGING


def predict_regime(program: Program, values: Sequence[float], lr: float, index: int = 0) -> Regime:
    """The regime of ``lr`` along parameter ``index``, from the curvature at ``values``.

    Exact for a quadratic loss (the tutorial's); for others it describes the behaviour near
    the current point.
    """
    try:
        c = curvature(program, values, index)
    except (ProgramError, ArithmeticError):
        return Regime(UNKNOWN, None, None, "the curvature cannot be measured here")
    c = float(f"{c:.9g}")  # finite differences of an exact parabola leave ~1e-12 noise
    if not c > 0:
        return Regime(UNKNOWN, None, c, f"d²L/dθ² = {format_number(c)} is not positive: there is "
                                        f"no bowl here for gradient descent to settle in")
    name = classify(lr, c)
    factor = 1 - lr * c
    f, b1, b2 = format_number, format_number(1 / c), format_number(2 / c)
    why = {
        MONOTONE: f"below {b1} each step keeps {f(factor, 4)} of the distance to the minimum: a "
                  f"steady approach",
        ONE_STEP: f"at exactly {b1} the first step lands on the minimum",
        OSCILLATING: f"between {b1} and {b2} each step overshoots; the distance is multiplied by "
                     f"{f(factor, 4)}, so it oscillates but converges",
        PERIODIC: f"at exactly {b2} each step overshoots by as much as it corrects: it bounces "
                  f"for ever",
        DIVERGING: f"above {b2} each overshoot is {f(abs(factor), 4)}× the last: it diverges",
    }[name]
    return Regime(name, factor, c, f"{name}: factor 1 - α·d²L/dθ² = {f(factor, 4)}; {why}")


#: Power-iteration rounds for the stiffest curvature of a loss of several parameters.
_POWER_ROUNDS = 60
#: Above this many parameters the whole-run prediction is not attempted (it costs up to
#: 2·_POWER_ROUNDS backward passes, too slow for a very big graph); the regime is then unknown.
MAX_PREDICTED_PARAMS = 500


def stiffest_curvature(program: Program, values: Sequence[float], h: float = 1e-4) -> float:
    """The largest eigenvalue of the Hessian at ``values``: the curvature along the stiffest
    direction, which sets the learning rate where gradient descent stops settling (2/c).

    Power iteration on Hessian-vector products, each measured as a central difference of two
    backward passes, so it costs a few dozen gradients whatever the number of parameters.
    """
    n = len(values)
    base = [float(v) for v in values]
    vec = [1.0 / math.sqrt(n)] * n
    estimate = math.nan
    grad = _gradients_of(program, base)
    for _ in range(_POWER_ROUNDS):
        up = grad([b + h * v for b, v in zip(base, vec)])
        down = grad([b - h * v for b, v in zip(base, vec)])
        hv = [(u - d) / (2 * h) for u, d in zip(up, down)]
        norm = math.sqrt(sum(x * x for x in hv))
        if not (norm > 0 and math.isfinite(norm)):
            return 0.0 if norm == 0 else math.nan
        previous, estimate = estimate, sum(x * v for x, v in zip(hv, vec))  # Rayleigh quotient
        vec = [x / norm for x in hv]
        if abs(estimate - previous) <= 1e-10 * abs(estimate):
            break
    return estimate


def _gradients_of(program: Program, values: Sequence[float]):
    """``values -> gradients`` of ``program``: on its compiled tape (the same numbers bit for bit
    as the ``Value`` path, without interpreting the program again: on the moons preset a power
    iteration took 10 s through the interpreter), or through the interpreter where the tape
    cannot replay a point."""
    from .tape import REPLAY_ERRORS, program_tape

    tape = program_tape(program, values)  # compiled once per program text, by whoever asks first

    def grad(point: list[float]) -> list[float]:
        if tape is not None:
            try:
                return tape.gradient(point)[1]
            except REPLAY_ERRORS:
                pass
        return gradient(program, point)[1]

    return grad


def predict_run_regime(program: Program, values: Sequence[float], lr: float) -> Regime:
    """The regime of ``lr`` for the whole run: :func:`predict_regime` for one parameter, and for
    several the regime along the stiffest direction (the first to diverge as lr grows)."""
    if len(values) <= 1:
        return predict_regime(program, values, lr) if values else Regime(
            UNKNOWN, None, None, "there is no parameter to train")
    if len(values) > MAX_PREDICTED_PARAMS:
        return Regime(UNKNOWN, None, None, f"more than {MAX_PREDICTED_PARAMS} parameters: not "
                                           f"predicted")
    try:
        c = stiffest_curvature(program, values)
    except (ProgramError, ArithmeticError):
        return Regime(UNKNOWN, None, None, "the curvature cannot be measured here")
    c = float(f"{c:.9g}") if math.isfinite(c) else c
    if not c > 0:
        return Regime(UNKNOWN, None, c, "the loss does not curve upward here")
    factor = 1 - lr * c
    return Regime(classify(lr, c), factor, c, f"factor 1 - α·c = {format_number(factor, 4)} along "
                                              f"the stiffest direction (c = {format_number(c, 4)})")


def cap_advice(regime: Regime, lr: float) -> str:
    """What a run stopped by its step cap should try next, true to its regime: more steps help
    only a run that converges; a run that bounces or grows needs a smaller rate."""
    a = format_number(lr)
    bounds = regime.boundaries
    if bounds is None or regime.name == UNKNOWN:
        return "more steps may go further"
    b1, b2 = format_number(bounds[0], 4), format_number(bounds[1], 4)
    if regime.name == MONOTONE:
        return (f"at lr = {a} it approaches steadily, so more steps or a larger lr (below {b2}, "
                f"where it stops converging) go further")
    if regime.name == ONE_STEP:
        return f"lr = {a} reaches the minimum in one step, so the tolerance may be too tight"
    if regime.name == OSCILLATING:
        return (f"at lr = {a} each step overshoots but it converges, so more steps go further, "
                f"and an lr nearer {b1} converges faster")
    if regime.name == PERIODIC:
        return (f"at lr = {a} each step overshoots by as much as it corrects, so it bounces for "
                f"ever: more steps will not help; a smaller lr converges, a larger one diverges")
    return (f"at lr = {a} each overshoot is bigger than the last, so more steps make it worse; "
            f"an lr below {b2} converges")


def steepest_curvature(program: Program, values: Sequence[float], h: float = 1e-4) -> float | None:
    """The largest curvature of the loss at ``values`` in any direction, for the landscape's two
    parameters (:func:`stiffest_curvature`); None where it cannot be measured.

    With two parameters the curvature along each axis alone is not what decides divergence: the
    bowl's steepest direction is (the regression preset diverges above α ≈ 0.06, while along m
    alone the limit would be 0.071), so ``classify(lr, steepest_curvature(...))`` is the
    prediction for both parameters together.
    """
    if len(values) != 2:
        return None
    try:
        top = stiffest_curvature(program, values, h)
    except (ProgramError, ArithmeticError, ValueError):
        return None
    return float(f"{top:.9g}") if math.isfinite(top) else None
