"""What the landscape is drawn from, and whether it changed: the moment, α, the parameter shown
and the iterates so far. No Qt: the panel asks :meth:`LandscapeInputs.frame` for a
:class:`~autodiff_gui.plots.landscape_draw.Frame` and redraws only when its :meth:`key` changed,
so a run that pushes the same moment twice, or a path equal to the one drawn, costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.language import Program
from engine.replay import Moment
from engine.train import quadratic_minimum

from ..plots.landscape_math import (CURVE, HEATMAP, SLICE, Frame, drawable, gradient_known, pass_cost,
                                    subsample, thin_path, tidy, update_reached)


class LandscapeInputs:
    """The panel's inputs. ``generation`` counts programs, so a sampling of an older one is
    dropped; ``cost`` is one forward pass of the program, in seconds."""

    def __init__(self) -> None:
        self.moment: Moment | None = None
        self.program: Program | None = None
        self.generation = 0
        self.lr = 0.1
        self.param = 0
        self.cost = 0.0
        self.minimum: tuple[float, ...] | None = None
        self.path = np.empty((0, 0))
        self.path_total = 0
        self._path_version = 0

    def names(self) -> tuple[str, ...]:
        return self.moment.param_names if self.moment is not None else ()

    def mode(self) -> str:
        """"curve" (one parameter, or none), "heatmap" (two) or "slice" (more)."""
        n = len(self.names())
        return HEATMAP if n == 2 else SLICE if n > 2 else CURVE

    def set_moment(self, moment: Moment | None) -> bool:
        """Take ``moment`` (and its α); True when it is of another program than the last one (the
        path, the parameter shown and the minimiser start again)."""
        if moment is None:
            self.moment = self.program = None
            self.generation += 1
            return True
        new = self.program is None or not (moment.program is self.program or moment.program == self.program)
        if new:
            self.program = moment.program
            self.generation += 1
            self.path, self.path_total = np.empty((0, 0)), 0
            self.param = 0
            names = moment.param_names
            self.cost = pass_cost(moment.program, moment.values) if names else 0.0
            self.minimum = None
            if 1 <= len(names) <= 2:
                target = quadratic_minimum(moment.program, moment.values)
                if target is not None and all(drawable(v) for v in target):
                    self.minimum = tuple(tidy(float(v)) for v in target)
        self.moment = moment
        self.lr = float(moment.lr)
        return new

    def set_path_array(self, values: np.ndarray) -> bool:
        """The iterates, one row each (thinned to what is drawn); True if they changed."""
        array = np.asarray(values, dtype=np.float64)
        if array.size == 0 and array.ndim < 2:
            array = array.reshape(0, 0)
        return self._store(thin_path(array), len(array))

    def set_path(self, values_list: Sequence[Sequence[float]]) -> bool:
        """The iterates as a sequence of tuples (only the drawn ones are read); True if changed."""
        n = len(values_list)
        rows = [tuple(values_list[i]) for i in subsample(n)]
        width = len(rows[0]) if rows else 0
        if any(len(r) != width for r in rows):
            raise ValueError("every iterate needs the same number of parameters")
        with np.errstate(all="ignore"):
            return self._store(np.array(rows, dtype=np.float64).reshape(len(rows), width), n)

    def _store(self, path: np.ndarray, total: int) -> bool:
        if total == self.path_total and path.shape == self.path.shape and np.array_equal(
                path, self.path, equal_nan=True):
            return False
        self.path, self.path_total = path, total
        self._path_version += 1
        return True

    def frame(self) -> Frame | None:
        """What to draw now; None without a moment or without parameters."""
        m = self.moment
        if m is None or not m.param_names:
            return None
        return Frame(m.program, m.param_names, m.values, m.grads, m.loss, self.lr, self.param,
                     self.path, self.path_total, gradient_known(m, self.param), update_reached(m),
                     self.minimum)

    def key(self, frame: Frame, *extra: object) -> tuple:
        """Equal for two frames that draw the same picture (``extra``: the palette, say)."""
        return (self.generation, frame.param, frame.lr, frame.values, frame.grads, frame.slope_known,
                frame.update, self._path_version, *extra)
