"""The store of a gradient-descent run's iterations, as numpy arrays, bounded in memory.

Why not a list of :class:`~engine.records.IterationRecord`: the plots redraw a run of 100,000
iterations tens of times a second, and they need its loss and parameter values as contiguous
arrays, not 100,000 Python objects walked on every redraw. A :class:`History` keeps one growable
array per quantity (the iteration number, the learning rate, the loss, and each parameter's value
and gradient), grows by doubling so appending is amortised O(1), and hands out the filled part.

Why the memory bound: a learner may leave a run going with the iteration cap raised. Above
``cap`` stored iterations (200,000 by default) the history *decimates*: it keeps every second
stored point and from then on records only every second iteration (then every fourth, and so on),
so the whole run stays visible at uniform resolution in at most ``cap`` points. The first
iteration and the newest one are always kept exactly, so the curve starts where the run started
and ends at the numbers the window shows. :attr:`History.decimated` says when this has happened,
so a view can tell the learner that older iterations are thinned.

The cap is also a budget in bytes (16 MiB of columns by default): a row costs 26 bytes plus 16 per
parameter, so a wide program stores fewer points (the XOR network's 25 parameters: about 39,000;
a 337-parameter perceptron: about 3,900, never fewer than 4,096 unless ``cap`` says so) and its
memory stays as flat as the three-step loss's when a run is left going all day.

This module imports no Qt: the window, the tests and any headless tool can use it alike, and the
window can use one ``History`` as the single store of a run (the plots, the time-travel slider
and the numbers all read from it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from engine.records import IterationRecord, ParamState, RecordBatch

__all__ = ["DEFAULT_CAP", "History", "HistoryArrays"]

DEFAULT_CAP = 200_000
DEFAULT_BUDGET = 16 * 2**20  # bytes of columns: what a run may hold, however wide its program
MIN_POINTS = 4_096  # the budget never thins a run below this (a curve stays smooth)
_ROW_BYTES = 8 + 8 + 8 + 2  # iteration, learning rate, loss, status; + 16 per parameter
"""Stored iterations above which a :class:`History` decimates (see the module docstring)."""

_INITIAL_CAPACITY = 1024


@dataclass(frozen=True, slots=True)
class HistoryArrays:
    """The stored part of a :class:`History`, one array per quantity, all of the same length.

    ``values`` and ``grads`` have one column per parameter, in the order of ``param_names``.
    """

    param_names: tuple[str, ...]
    iterations: np.ndarray  # int64, shape (n,)
    lr: np.ndarray  # float64, shape (n,)
    loss: np.ndarray  # float64, shape (n,)
    values: np.ndarray  # float64, shape (n, len(param_names))
    grads: np.ndarray  # float64, shape (n, len(param_names))

    def __len__(self) -> int:
        return int(self.iterations.shape[0])

    def value(self, name: str) -> np.ndarray:
        """The values of parameter ``name`` per stored iteration (KeyError if there is none)."""
        return self.values[:, self._column(name)]

    def grad(self, name: str) -> np.ndarray:
        """The gradients dL/d``name`` per stored iteration (KeyError if there is none)."""
        return self.grads[:, self._column(name)]

    def _column(self, name: str) -> int:
        try:
            return self.param_names.index(name)
        except ValueError:
            raise KeyError(name) from None


class History:
    """An append-only, memory-bounded store of a run's iterations (see the module docstring).

    Iterations must arrive in order (non-decreasing iteration numbers), as one run produces them;
    :meth:`clear` starts the next run. Every record must carry exactly the parameters named in
    ``param_names`` (in any order). If the history was created without names, it takes them from
    the first record it receives.
    """

    def __init__(self, param_names: Iterable[str] = (), cap: int = DEFAULT_CAP,
                 budget: int = DEFAULT_BUDGET) -> None:
        if cap < 2:
            raise ValueError(f"cap must be at least 2 (the first and the newest iteration), not {cap}")
        self._cap = int(cap)
        self._budget = int(budget)
        self._names: tuple[str, ...] = ()
        self.clear(param_names)

    # --- what is stored -------------------------------------------------------------------------

    @property
    def param_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def cap(self) -> int:
        """The most iterations ever stored at once: ``cap``, or fewer for a wide program (the
        budget in bytes, but never below :data:`MIN_POINTS`)."""
        row = _ROW_BYTES + 16 * len(self._names)
        return min(self._cap, max(MIN_POINTS, self._budget // row))

    @property
    def count(self) -> int:
        """How many records were appended since the last :meth:`clear` (stored or thinned out)."""
        return self._count

    @property
    def stride(self) -> int:
        """Every ``stride``-th appended record is kept (1 until the history first decimates)."""
        return self._stride

    @property
    def decimated(self) -> bool:
        """True once older iterations have been thinned out to stay within :attr:`cap`."""
        return self._stride > 1

    @property
    def status(self) -> str | None:
        """The status of the newest record (``running``, ``converged`` …), None when empty."""
        return self._statuses[int(self._status[self._n - 1])] if self._n else None

    def __len__(self) -> int:
        """The number of stored iterations (at most :attr:`cap`)."""
        return self._n

    def arrays(self, copy: bool = True) -> HistoryArrays:
        """The stored iterations as arrays.

        With ``copy=False`` the arrays are read-only views into the history's buffers: cheaper,
        but only valid until the next append or clear, which may overwrite or move them.
        """
        n = self._n
        parts = [self._it[:n], self._lr[:n], self._loss[:n], self._vals[:n], self._grads[:n]]
        if copy:
            parts = [p.copy() for p in parts]
        else:
            parts = [p.view() for p in parts]
            for p in parts:
                p.flags.writeable = False
        return HistoryArrays(self._names, *parts)

    def record_at(self, index: int) -> IterationRecord:
        """The stored iteration at ``index`` (negative counts from the newest) as a record."""
        n = self._n
        if not -n <= index < n:
            raise IndexError(f"history index {index} out of range for {n} stored iterations")
        i = index % n
        params = tuple(
            ParamState(name, float(self._vals[i, j]), float(self._grads[i, j]))
            for j, name in enumerate(self._names)
        )
        return IterationRecord(
            iteration=int(self._it[i]),
            lr=float(self._lr[i]),
            loss=float(self._loss[i]),
            params=params,
            status=self._statuses[int(self._status[i])],
        )

    def records(self) -> Iterator[IterationRecord]:
        """The stored iterations as records, oldest first (for a CSV export, say).

        Built one at a time from the arrays, so a long run is not copied into objects all at once.
        """
        for i in range(self._n):
            yield self.record_at(i)

    def last(self) -> IterationRecord | None:
        """The newest record, exactly as appended (never thinned), or None when empty."""
        return self.record_at(-1) if self._n else None

    def index_at(self, iteration: int) -> int:
        """The index of the stored iteration at or just before ``iteration``.

        After decimation the asked-for iteration may not be stored; the nearest earlier one is the
        state the run was in. Before the first stored iteration this is 0.
        """
        if not self._n:
            raise IndexError("the history is empty")
        i = int(np.searchsorted(self._it[: self._n], iteration, side="right")) - 1
        return max(i, 0)

    # --- adding and clearing -------------------------------------------------------------------

    def clear(self, param_names: Iterable[str] | None = None) -> None:
        """Forget every iteration, to start a new run; ``param_names`` replaces the names if given.

        The buffers shrink back to their initial size, so a long run's memory is released.
        """
        if param_names is not None:
            names = tuple(param_names)
            if len(set(names)) != len(names):
                raise ValueError(f"parameter names must be distinct: {names}")
            self._names = names
        self._n = 0
        self._count = 0
        self._stride = 1
        self._statuses: list[str] = []
        self._status_codes: dict[str, int] = {}
        self._allocate(min(_INITIAL_CAPACITY, self.cap))

    def append(self, record: IterationRecord) -> None:
        """Add one iteration (the newest)."""
        self.extend((record,))

    def extend(self, records: Iterable[IterationRecord]) -> None:
        """Add a batch of iterations, oldest first; one pass over the batch, however long."""
        if isinstance(records, RecordBatch) and len(records):
            self._extend_columns(records)
            return
        recs = records if isinstance(records, Sequence) else list(records)
        k = len(recs)
        if k == 0:
            return
        if not self._names and self._count == 0 and recs[0].params:
            self._names = tuple(p.name for p in recs[0].params)
            self._allocate(self._it.shape[0])
        it = np.fromiter((r.iteration for r in recs), dtype=np.int64, count=k)
        if (k > 1 and bool(np.any(it[1:] < it[:-1]))) or (self._n and it[0] < self._it[self._n - 1]):
            raise ValueError("iterations must not go backwards within a run; clear() to start another")
        lr = np.fromiter((r.lr for r in recs), dtype=np.float64, count=k)
        loss = np.fromiter((r.loss for r in recs), dtype=np.float64, count=k)
        status = np.fromiter((self._status_code(r.status) for r in recs), dtype=np.int16, count=k)
        vals, grads = self._param_columns(recs)
        self._ingest(it, lr, loss, status, vals, grads)

    def _extend_columns(self, batch: RecordBatch) -> None:
        """A batch sent by column (a fast run): taken whole, no object per iteration."""
        if not self._names and self._count == 0 and batch.names:
            self._names = batch.names
            self._allocate(self._it.shape[0])
        if batch.names != self._names:
            raise ValueError(f"the batch has parameters {list(batch.names)}, this history holds "
                             f"{list(self._names)}; clear() with the new names to start another run")
        k, p = len(batch), len(self._names)
        it = np.asarray(batch.iterations, dtype=np.int64)
        if (k > 1 and bool(np.any(it[1:] < it[:-1]))) or (self._n and it[0] < self._it[self._n - 1]):
            raise ValueError("iterations must not go backwards within a run; clear() to start another")
        statuses = batch.statuses
        first = statuses[0]
        if statuses.count(first) == k:  # a run's batch: one status throughout, as a rule
            status = np.full(k, self._status_code(first), dtype=np.int16)
        else:
            codes = {s: self._status_code(s) for s in set(statuses)}
            status = np.fromiter((codes[s] for s in statuses), dtype=np.int16, count=k)
        self._ingest(it, np.asarray(batch.lrs, dtype=np.float64),
                     np.asarray(batch.losses, dtype=np.float64), status,
                     np.asarray(batch.values, dtype=np.float64).reshape(k, p),
                     np.asarray(batch.grads, dtype=np.float64).reshape(k, p))

    # --- internals -----------------------------------------------------------------------------

    def _allocate(self, capacity: int) -> None:
        p = len(self._names)
        self._it = np.zeros(capacity, dtype=np.int64)
        self._lr = np.zeros(capacity, dtype=np.float64)
        self._loss = np.zeros(capacity, dtype=np.float64)
        self._status = np.zeros(capacity, dtype=np.int16)
        self._vals = np.zeros((capacity, p), dtype=np.float64)
        self._grads = np.zeros((capacity, p), dtype=np.float64)

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._it.shape[0]
        if needed <= capacity:
            return
        new_capacity = min(max(needed, 2 * capacity), self.cap)
        n = self._n

        def grown(a: np.ndarray) -> np.ndarray:
            b = np.zeros((new_capacity, *a.shape[1:]), dtype=a.dtype)
            b[:n] = a[:n]
            return b

        self._it, self._lr, self._loss = grown(self._it), grown(self._lr), grown(self._loss)
        self._status, self._vals, self._grads = grown(self._status), grown(self._vals), grown(self._grads)

    def _status_code(self, status: str) -> int:
        code = self._status_codes.get(status)
        if code is None:
            code = self._status_codes[status] = len(self._statuses)
            self._statuses.append(status)
        return code

    def _param_columns(self, recs: Sequence[IterationRecord]) -> tuple[np.ndarray, np.ndarray]:
        """The batch's parameter values and gradients, one column per name in ``param_names``."""
        names = self._names
        k, p = len(recs), len(names)
        if all(len(r.params) == p and all(s.name == n for s, n in zip(r.params, names)) for r in recs):
            vals = np.fromiter((s.data for r in recs for s in r.params), dtype=np.float64, count=k * p)
            grads = np.fromiter((s.grad for r in recs for s in r.params), dtype=np.float64, count=k * p)
            return vals.reshape(k, p), grads.reshape(k, p)
        # Same parameters in another order (or a wrong set, which is a caller's bug: say so).
        column = {n: j for j, n in enumerate(names)}
        vals = np.empty((k, p), dtype=np.float64)
        grads = np.empty((k, p), dtype=np.float64)
        for i, r in enumerate(recs):
            got = [s.name for s in r.params]
            if len(got) != p or set(got) != set(names):
                raise ValueError(
                    f"iteration {r.iteration} has parameters {got}, this history holds {list(names)}; "
                    "clear() with the new names to start a run of another program"
                )
            for s in r.params:
                vals[i, column[s.name]] = s.data
                grads[i, column[s.name]] = s.grad
        return vals, grads

    @staticmethod
    def _stored_for(total: int, stride: int) -> int:
        """Points stored after ``total`` appends at ``stride``: the grid, plus an off-grid newest."""
        return -(-total // stride) + (1 if (total - 1) % stride else 0)

    def _ingest(
        self,
        it: np.ndarray,
        lr: np.ndarray,
        loss: np.ndarray,
        status: np.ndarray,
        vals: np.ndarray,
        grads: np.ndarray,
    ) -> None:
        """Store a batch, decimating as often as needed to stay within the cap.

        The invariant: the appended records are numbered 0, 1, 2 … (their ordinal since
        :meth:`clear`); the history stores every record whose ordinal is a multiple of the stride
        (the grid, which always includes record 0), plus the newest record if it is off the grid.
        That newest off-grid point is provisional: the next append replaces it. Doubling the stride
        keeps every second grid point, which is why decimation never loses the first iteration.
        """
        k = it.shape[0]
        start, total = self._count, self._count + k
        old_stride = stride = self._stride
        cap = self.cap
        while self._stored_for(total, stride) > cap:
            stride *= 2
        grid = -(-start // old_stride)  # grid points already stored (any provisional tail is dropped)
        if stride != old_stride:
            step = stride // old_stride
            kept = -(-grid // step)
            for buf in (self._it, self._lr, self._loss, self._status, self._vals, self._grads):
                buf[:kept] = buf[0:grid:step].copy()
            grid = kept
        first = (-start) % stride  # index in the batch of its first grid point
        picks = np.arange(first, k, stride)
        if (total - 1) % stride:
            picks = np.append(picks, k - 1)
        n = grid + picks.shape[0]
        self._ensure_capacity(n)
        for buf, src in (
            (self._it, it),
            (self._lr, lr),
            (self._loss, loss),
            (self._status, status),
            (self._vals, vals),
            (self._grads, grads),
        ):
            buf[grid:n] = src[picks]
        self._n, self._count, self._stride = n, total, stride
