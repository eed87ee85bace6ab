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
from .train import _hessian, curvature  # the trainer's own Hessian: one computation of it

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


def steepest_curvature(program: Program, values: Sequence[float], h: float = 1e-4) -> float | None:
    """The largest curvature of the loss at ``values`` in any direction (the Hessian's largest
    eigenvalue), for two parameters; None where it cannot be measured.

    With two parameters the curvature along each axis alone is not what decides divergence: the
    bowl's steepest direction is (the regression preset diverges above α ≈ 0.06, while along m
    alone the limit would be 0.071), so ``classify(lr, steepest_curvature(...))`` is the
    prediction for both parameters together.
    """
    if len(values) != 2:
        return None
    try:
        (a, b1), (b2, d) = _hessian(program, values, h)
    except (ProgramError, ArithmeticError, ValueError):
        return None
    b = (b1 + b2) / 2
    top = (a + d) / 2 + math.hypot((a - d) / 2, b)
    return float(f"{top:.9g}") if math.isfinite(top) else None
