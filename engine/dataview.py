"""The data view of a program: its data points and its model's output over them.

A program names its data with ``data=xs,ys`` in its ``# autodiff:`` line and its model with
``def predict(x): return <expression>`` (see :mod:`engine.language.model`). Its view is
 - a curve for a 1-D input: the points and the model's output over the input range;
 - a map for a 2-D input: the points over a grid of the model's output, with the decision
   boundary (the 0 contour for labels ±1, the 0.5 contour for labels 0/1) when the targets are
   classes.
For targets that are classes, the accuracy is the share of points on the right side of the
boundary. Everything here is plain floats, fast enough for every beat of a plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .language import Program, evaluate
from .language.model import BoundModel, bind

CURVE, MAP, NONE = "curve", "map", "none"  # 1-D input, 2-D input, more inputs than a plot holds
SIGN, HALF = "sign", "half"  # labels ±1 (class by the sign), labels 0/1 (class by 0.5)
CURVE_POINTS = 200
GRID_POINTS = 40

#: what the Data panel says for a program that names no data
HOW_TO = ("Name the data to see the model fit it: add data=xs,ys to the program's "
          "`# autodiff:` line and a line `def predict(x): return ...` (see the regression preset).")


@dataclass(frozen=True)
class Grid:
    xs: tuple[float, ...]  # the grid's columns (first input)
    ys: tuple[float, ...]  # its rows (second input)
    z: tuple[tuple[float, ...], ...]  # z[row][column]: the model's output at (xs[column], ys[row])


@dataclass(frozen=True)
class DataView:
    model: BoundModel
    kind: str
    labels: str | None  # SIGN, HALF, or None for a regression
    bounds: tuple[tuple[float, float], ...]  # (low, high) of each input, padded

    @property
    def is_classifier(self) -> bool:
        return self.labels is not None

    @property
    def threshold(self) -> float | None:
        return {SIGN: 0.0, HALF: 0.5}.get(self.labels)

    @property
    def points(self) -> tuple[tuple[float, ...], ...]:
        return self.model.inputs

    @property
    def targets(self) -> tuple[float, ...]:
        return self.model.targets

    def predictions(self, params: Sequence[float]) -> list[float]:
        return self.model.predict_data(params)

    def classes(self, outputs: Sequence[float]) -> list[float | None]:
        """The class each output stands for (None for nan): 1 above the threshold, else -1 or 0."""
        t = self.threshold
        low = -1.0 if self.labels == SIGN else 0.0
        return [None if math.isnan(p) else (1.0 if p > t else low) for p in outputs]

    def accuracy(self, params: Sequence[float]) -> float | None:
        """The share (0 to 1) of data points on their own label's side of the boundary; None
        when the targets are not classes."""
        if not self.is_classifier:
            return None
        predicted = self.classes(self.predictions(params))
        right = sum(1 for c, y in zip(predicted, self.targets) if c is not None and c == y)
        return right / len(self.targets)

    def accuracy_line(self, params: Sequence[float]) -> str | None:
        """``accuracy: 40/40 points on their side of the boundary (100.0%)``, as ``autodiff
        train`` and the exported script print it; None when the targets are not classes."""
        share = self.accuracy(params)
        if share is None:
            return None
        return accuracy_text(round(share * len(self.targets)), len(self.targets))

    def curve(self, params: Sequence[float], n: int = CURVE_POINTS) -> tuple[list[float], list[float]]:
        """The model's output at ``n`` inputs evenly over the (padded) input range."""
        (low, high), = self.bounds[:1]
        xs = [low + (high - low) * k / (n - 1) for k in range(n)]
        return xs, self.model.predict([(x,) for x in xs], params)

    def grid(self, params: Sequence[float], n: int = GRID_POINTS) -> Grid:
        """The model's output over an ``n`` × ``n`` grid of the first two inputs' range."""
        (x0, x1), (y0, y1) = self.bounds[:2]
        xs = tuple(x0 + (x1 - x0) * k / (n - 1) for k in range(n))
        ys = tuple(y0 + (y1 - y0) * k / (n - 1) for k in range(n))
        out = self.model.predict([(x, y) for y in ys for x in xs], params)
        return Grid(xs, ys, tuple(tuple(out[r * n:(r + 1) * n]) for r in range(n)))


def accuracy_text(right: int, total: int) -> str:
    return f"accuracy: {right}/{total} points on their side of the boundary ({100 * right / total:.1f}%)"


def data_view(program: Program) -> DataView | None:
    """The view of ``program``'s data, or None when it names none; a mistake in its data or
    model is a :class:`ProgramError` at its line and column."""
    if program.data is None or program.model is None:
        return None
    return view_of(bind(evaluate(program)))


def view_of(model: BoundModel) -> DataView:
    dim = model.dim
    kind = CURVE if dim == 1 else MAP if dim == 2 else NONE
    bounds = []
    for k in range(dim):
        values = [p[k] for p in model.inputs]
        low, high = min(values), max(values)
        pad = (high - low) * 0.1 if high > low else 1.0
        bounds.append((low - pad, high + pad))
    return DataView(model, kind, _labels(model.targets), tuple(bounds))


def _labels(targets: Sequence[float]) -> str | None:
    seen = set(targets)
    if seen <= {-1.0, 1.0}:
        return SIGN
    if seen <= {0.0, 1.0}:
        return HALF
    return None
