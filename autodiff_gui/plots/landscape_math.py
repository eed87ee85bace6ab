"""The loss landscape's arithmetic, with no Qt: ranges, samples, contours, the tangent, label places.

Everything the landscape panel draws is computed here from plain numbers and numpy arrays, so
each rule is tested on its own (``tests/gui/test_landscape_math.py``) and the drawers
(``landscape_curve``, ``landscape_heatmap``) only turn results into pyqtgraph items. The
curvature that decides the prediction comes from ``engine.regimes``, never from a second copy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import contourpy
import numpy as np

from engine.graph import format_number
from engine.language import Program, ProgramError, cached_start, evaluate
from engine.replay import Moment
from engine.tape import REPLAY_ERRORS, cached_tape

CURVE, HEATMAP, SLICE = "curve", "heatmap", "slice"

PARAM_LIMIT = 1e9
"""Parameter values of larger magnitude are not drawn: only a diverging run gets there, and a
view a billion wide shows nothing a learner can read."""
LOSS_LIMIT = 1e30
"""Loss values of larger magnitude are not drawn (the loss of a parameter near PARAM_LIMIT fits)."""

MAX_PATH_POINTS = 400
"""At most this many iterates are drawn: all of the first ones (where the action is), then an
evenly spaced selection, and always the last."""
_PATH_HEAD = 150

CURVE_POINTS, MIN_CURVE_POINTS = 300, 48
GRID_POINTS, MIN_GRID_POINTS = 64, 16
CURVE_BUDGET_S = 0.08  # engine time one curve may take: fewer points for expensive programs
GRID_BUDGET_S = 0.15  # and one heat map

MARGIN = 0.12  # of the needed span, on each side
SLACK = 8.0  # a kept range may be this many times wider than needed before it is refitted
PARAM_FLOOR = 2.0  # the narrowest parameter range: ±1 around the point, so the bowl shows
TANGENT_HALF = 0.18  # the tangent spans ±this fraction of the view's width around the point...
TANGENT_RISE = 0.4  # ...or less, so that it rises at most this fraction of the view's height
CONTOUR_LEVELS = 6

Range = tuple[float, float]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y pointing down


@dataclass(frozen=True, eq=False)
class Frame:
    """What the panel shows at one moment: the program, the point, what the moment has revealed
    (``slope_known``: the shown parameter's gradient; ``update``: the weight update), α, and the
    iterates so far (at most MAX_PATH_POINTS rows of ``path``, of ``path_total``)."""

    program: Program = field(repr=False)
    names: tuple[str, ...]
    values: tuple[float, ...]
    grads: tuple[float, ...]
    loss: float
    lr: float
    param: int
    path: np.ndarray = field(repr=False)
    path_total: int
    slope_known: bool
    update: bool
    minimum: tuple[float, ...] | None = None

    def path_of(self, width: int) -> np.ndarray:
        """The path's rows if they have ``width`` parameters (a path of another program: none)."""
        return self.path if self.path.ndim == 2 and self.path.shape[1] == width else np.empty((0, width))


# --- what the moment shown has revealed --------------------------------------------------------------

def gradient_known(moment: Moment, index: int) -> bool:
    """True once the moment's backward pass has finished parameter ``index``'s gradient.

    The tangent's slope *is* dL/dθ, so drawing it earlier would give away what the canvas still
    shows as "?". A gradient is finished after the last chain-rule multiplication into its node;
    one the loss ignores (node -1, gradient 0) or the loss itself is known when the pass is done.
    """
    if moment.position >= moment.complete:
        return True
    node = moment.param_nodes[index]
    last = max((i for i, step in enumerate(moment.chain) if step.child == node), default=None)
    if last is None:
        return node == moment.after.root and moment.seeded
    return moment.chain_done > last


def update_reached(moment: Moment) -> bool:
    """True at the weight update (the Tour's step 3): the whole backward pass is done, so
    θ − α·dL/dθ can be drawn as the step."""
    return moment.position >= moment.complete


# --- sampling the loss ----------------------------------------------------------------------------

def loss_at(program: Program, values: Sequence[float]) -> float:
    """The loss at ``values``, or NaN where it is undefined or too large to draw (a gap).

    Replayed on the program's compiled tape when one was compiled already (a run compiles one
    after its first iterations): the same number as the interpreter's, bit for bit, in a fraction
    of its time (micrograd's demo network: 20 ms a point instead of 170). Where the tape refuses
    a point, the interpreter decides, as the trainer does."""
    point = [float(v) for v in values]
    loss = None
    tape = cached_tape(program)
    if tape is not None:
        try:
            loss = float(tape.gradient(point)[0])
        except REPLAY_ERRORS:
            loss = None
    if loss is None:
        try:
            loss = float(evaluate(program, point).loss.data)
        except (ProgramError, ArithmeticError, ValueError):
            return math.nan
    return loss if math.isfinite(loss) and abs(loss) <= LOSS_LIMIT else math.nan


SLOW_PASS_S = 0.02
"""A forward pass this slow is timed once: the best of three guards a small program's cold first
pass, and a big one would spend a second on it (micrograd's demo network: 0.4 s a pass)."""


def pass_cost(program: Program, values: Sequence[float]) -> float:
    """Seconds one forward pass takes (the best of three, so a cold first pass does not count;
    once, when it is slower than :data:`SLOW_PASS_S`). A slow program at its starting values
    was timed already, when it was evaluated there (the editor's check): that pass counts."""
    known = cached_start(program)
    if known is not None and known.seconds > SLOW_PASS_S and tuple(values) == known.values:
        return known.seconds
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        loss_at(program, values)
        best = min(best, time.perf_counter() - start)
        if best > SLOW_PASS_S:
            break
    return best


def curve_size(cost: float) -> int:
    """How many points a curve gets when one forward pass costs ``cost`` seconds."""
    return int(min(CURVE_POINTS, max(MIN_CURVE_POINTS, CURVE_BUDGET_S / max(cost, 1e-9))))


def grid_size(cost: float) -> int:
    """How many points a side of the heat map gets when one forward pass costs ``cost`` seconds."""
    return int(min(GRID_POINTS, max(MIN_GRID_POINTS, math.sqrt(GRID_BUDGET_S / max(cost, 1e-9)))))


def slice_points(values: Sequence[float], index: int, xs: np.ndarray) -> np.ndarray:
    """Full parameter vectors along parameter ``index`` at ``xs``, the others held at ``values``."""
    points = np.tile(np.asarray(values, dtype=np.float64), (len(xs), 1))
    points[:, index] = xs
    return points


def plane_points(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Every (x, y) of a grid, x major: row ``i * len(ys) + j`` is ``(xs[i], ys[j])``."""
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel()])


@dataclass(eq=False)
class Request:
    """Losses to compute: one per row of ``points`` (full parameter vectors).

    ``axes`` are the sampled coordinates along the shown axes (one array for a curve, two for a
    grid). ``kind`` names what is drawn (program, mode, parameter): a request of another kind makes
    a running one pointless, while one of the same kind (the next moment of a run) may wait.
    """

    key: tuple
    kind: tuple
    program: Program
    points: np.ndarray
    axes: tuple[np.ndarray, ...]


# --- ranges and paths ----------------------------------------------------------------------------

def fit_range(current: Range | None, needed: Sequence[float], floor: float,
              slack: float = SLACK) -> Range | None:
    """A range showing every value of ``needed`` with a margin; ``current`` if it already does.

    Keeping the current range while it fits is what keeps the axes still while the point rolls
    down the curve. It is refitted when a needed value leaves it, or when it has become ``slack``
    times wider than needed (after a diverging run, say). Non-finite values are ignored; None when
    nothing is left.
    """
    finite = np.asarray(needed, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return current
    lo, hi = float(finite.min()), float(finite.max())
    if current is not None:
        c_lo, c_hi = current
        inner = 0.02 * (c_hi - c_lo)
        if (c_lo + inner <= lo and hi <= c_hi - inner
                and c_hi - c_lo <= slack * max(hi - lo, floor) * (1 + 2 * MARGIN)):
            return current
    span = hi - lo
    if span < floor:
        centre = (lo + hi) / 2
        lo, hi, span = centre - floor / 2, centre + floor / 2, floor
    return lo - MARGIN * span, hi + MARGIN * span


def subsample(n: int, limit: int = MAX_PATH_POINTS) -> list[int]:
    """Indices of at most ``limit`` of ``n`` iterates: the first ones, then evenly spaced, and the last."""
    return subsample_indices(n, limit).tolist()


def subsample_indices(n: int, limit: int = MAX_PATH_POINTS) -> np.ndarray:
    """:func:`subsample` as an index array (what a numpy path is thinned with)."""
    if n <= limit:
        return np.arange(n)
    head = min(_PATH_HEAD, limit // 2)
    rest = np.unique(np.linspace(head, n - 1, limit - head).round().astype(np.int64))
    return np.concatenate([np.arange(head), rest])


def thin_path(values: np.ndarray) -> np.ndarray:
    """The iterates drawn of a (n, parameters) array: a float copy of at most MAX_PATH_POINTS rows."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"the path needs one row per iterate and one column per parameter, "
                         f"not an array of shape {array.shape}")
    return array[subsample_indices(len(array))].copy()


def drawable(x: float) -> bool:
    """A parameter value the plot can show (finite and within PARAM_LIMIT)."""
    return math.isfinite(x) and abs(x) <= PARAM_LIMIT


def drawable_rows(path: np.ndarray) -> np.ndarray:
    """A mask of the path's rows whose every coordinate is drawable."""
    if not len(path):
        return np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        return (np.isfinite(path) & (np.abs(path) <= PARAM_LIMIT)).all(axis=1)


def fmt(x: float) -> str:
    return format_number(x, 4)


def tidy(x: float) -> float:
    """A minimiser found by finite differences carries ~1e-12 of noise: show 5.9e-12 as 0."""
    return 0.0 if abs(x) < 1e-9 else x


# --- the tangent -------------------------------------------------------------------------------------

def tangent_segment(w: float, loss: float, slope: float, x_range: Range,
                    y_range: Range) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """A segment through (w, loss) with slope exactly ``slope``, short enough to stay readable:
    ±TANGENT_HALF of the view's width, or less so that it rises at most TANGENT_RISE of its height."""
    half = TANGENT_HALF * (x_range[1] - x_range[0])
    if math.isfinite(slope) and slope != 0:
        half = min(half, TANGENT_RISE * (y_range[1] - y_range[0]) / abs(slope))
    if not (math.isfinite(slope) and half > 0 and math.isfinite(slope * half)):
        return None
    return (w - half, loss - slope * half), (w + half, loss + slope * half)


# --- the heat map --------------------------------------------------------------------------------------

def log_surface(grid: np.ndarray) -> np.ndarray | None:
    """log10 of the loss above its lowest sample (NaN in holes), so the whole bowl stays visible;
    None when nothing is finite."""
    finite = np.isfinite(grid)
    if not finite.any():
        return None
    low, high = float(grid[finite].min()), float(grid[finite].max())
    floor = max((high - low) * 1e-4, 1e-12)
    z = np.full(grid.shape, np.nan)
    z[finite] = np.log10(grid[finite] - low + floor)
    return z


def contour_lines(xs: np.ndarray, ys: np.ndarray, z: np.ndarray,
                  count: int = CONTOUR_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """``count`` contours of ``z[i, j]`` (at ``(xs[i], ys[j])``), evenly spaced between its extremes.

    Returned as x and y arrays with a NaN between two lines (draw with ``connect="finite"``).
    contourpy is matplotlib's contour engine (C++): its lines are joined and go round the NaN
    holes of the surface instead of crossing them.
    """
    finite = np.isfinite(z)
    if not finite.any():
        return np.empty(0), np.empty(0)
    lo, hi = float(z[finite].min()), float(z[finite].max())
    if not hi > lo:
        return np.empty(0), np.empty(0)
    generator = contourpy.contour_generator(xs, ys, np.ma.masked_invalid(z.T),
                                            line_type=contourpy.LineType.ChunkCombinedNan)
    parts = []
    for level in np.linspace(lo, hi, count + 2)[1:-1]:
        (points,) = generator.lines(float(level))[0]
        if points is not None and len(points):
            parts.extend([points, np.full((1, 2), np.nan)])
    if not parts:
        return np.empty(0), np.empty(0)
    joined = np.concatenate(parts)
    return joined[:, 0], joined[:, 1]


def upsample(z: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear interpolation to ``factor``× the resolution, so a coarse grid does not look blocky.

    NaN holes spread to the neighbouring fine pixels (they stay holes) and never raise warnings.
    """
    def weights(n: int) -> np.ndarray:
        m = (n - 1) * factor + 1
        pos = np.linspace(0, n - 1, m)
        lo = np.minimum(pos.astype(int), n - 2) if n > 1 else np.zeros(m, dtype=int)
        frac = pos - lo
        w = np.zeros((m, n))
        w[np.arange(m), lo] = 1 - frac
        if n > 1:
            w[np.arange(m), lo + 1] += frac
        return w

    wx, wy = weights(z.shape[0]), weights(z.shape[1])
    holes = ~np.isfinite(z)
    out = wx @ np.where(holes, 0.0, z) @ wy.T
    out[(wx @ holes.astype(float) @ wy.T) > 1e-9] = np.nan
    return out


# --- labels ------------------------------------------------------------------------------------------

# Where a label may sit around its anchor, as the fraction of the label's box at the anchor:
# above right, above left, below right, below left, then right, left, above, below.
SIDES = ((0.0, 1.0), (1.0, 1.0), (0.0, 0.0), (1.0, 0.0), (0.0, 0.5), (1.0, 0.5), (0.5, 1.0), (0.5, 0.0))


@dataclass(frozen=True)
class LabelRequest:
    """One label to place: its anchor in pixels, the sizes of its texts (the full one first, then
    shorter fallbacks) and the sides to try first (indices into :data:`SIDES`)."""

    anchor: tuple[float, float]
    sizes: tuple[tuple[float, float], ...]
    prefer: tuple[int, ...] = ()


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(a: Rect, bounds: Rect) -> bool:
    return bounds[0] <= a[0] and a[2] <= bounds[2] and bounds[1] <= a[1] and a[3] <= bounds[3]


def place_labels(requests: Sequence[LabelRequest], bounds: Rect, obstacles: Sequence[Rect] = (),
                 gap: float = 4.0) -> list[tuple[int, Rect] | None]:
    """Boxes for the labels, in order of priority: each inside ``bounds``, overlapping no other
    label and no obstacle (the points drawn); None for a label with no such place.

    For each label, the full text is tried on every side of its anchor (the preferred sides
    first, each slid along the edge of the plot to stay inside; then each side again, three
    times as far), then each shorter text. A label
    left without a place is not drawn on the plot: its text is in the caption under it anyway.
    Returns (which text, box) per label.
    """
    placed: list[Rect] = []
    out: list[tuple[int, Rect] | None] = []
    for request in requests:
        order = list(request.prefer) + [i for i in range(len(SIDES)) if i not in request.prefer]
        found = None
        for variant, (w, h) in enumerate(request.sizes):
            for distance, side in ((d, side) for d in (gap, 3 * gap) for side in order):
                box = _box(request.anchor, (w, h), SIDES[side], distance, bounds)
                if (box is not None and inside(box, bounds)
                        and not any(overlaps(box, other) for other in (*placed, *obstacles))):
                    found = (variant, box)
                    break
            if found:
                break
        out.append(found)
        if found:
            placed.append(found[1])
    return out


def _box(anchor: tuple[float, float], size: tuple[float, float], side: tuple[float, float],
         gap: float, bounds: Rect) -> Rect | None:
    (ax, ay), (w, h), (fx, fy) = anchor, size, side
    if not all(math.isfinite(v) for v in (ax, ay, w, h)):
        return None
    x = ax - fx * w + gap * (1 - 2 * fx)
    y = ay - fy * h + gap * (1 - 2 * fy)
    x = min(max(x, bounds[0]), bounds[2] - w)  # slide along the plot's edge, never off it
    y = min(max(y, bounds[1]), bounds[3] - h)
    return x, y, x + w, y + h
