"""Plain, frozen records of what the engine does, step by step.

They name nodes by their id in a :class:`~engine.graph.GraphSnapshot` (the node's position in the
topological order), hold only numbers and strings, and so can be printed, stored, compared in a
test, or sent across a thread to the window without sharing any live ``Value``.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain


@dataclass(frozen=True, slots=True)
class ForwardStep:
    """One node computed in the forward pass, with the local gradients stored for later."""

    number: int  # 1-based, in topological order among the nodes that are computed
    node: int
    op: str
    value: float
    children: tuple[int, ...]
    local_grads: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ChainRuleStep:
    """One multiplication of the backward pass: ``child.grad += local_grad * parent.grad``.

    ``number`` is 1-based in the engine's order (step 0 is the seed dL/dL = 1). ``contribution``
    counts the paths that have reached ``child`` so far (1 for the first ``+=``), so a view can
    show the accumulation of a node used in several places as it happens.
    """

    number: int
    parent: int
    child: int
    local_grad: float
    upstream: float  # parent.grad, the global gradient arriving from above
    product: float  # local_grad * upstream, this path's contribution
    child_grad_before: float
    child_grad_after: float
    contribution: int
    contributions: int  # how many paths reach the child in all
    input_index: int = 0  # which input of the parent the child is (a*a has the child twice)


@dataclass(frozen=True, slots=True)
class ParamState:
    name: str
    data: float
    grad: float


@dataclass(frozen=True, slots=True)
class IterationRecord:
    """One gradient-descent iteration: the values *before* its update.

    Iteration k holds the loss, parameters and gradients before the k-th update, so iteration 0
    of the tutorial's loss is w = 0, L = 4, dL/dw = -4.
    """

    iteration: int
    lr: float
    loss: float
    params: tuple[ParamState, ...]
    status: str = "running"  # running, converged, diverged, max_steps

    def param(self, name: str) -> ParamState:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def next_values(self) -> tuple[float, ...]:
        """The parameters after this iteration's update, θ ← θ - lr·dL/dθ (the trainer's rule)."""
        return tuple(p.data - self.lr * p.grad for p in self.params)

    @property
    def max_abs_grad(self) -> float:
        return max((abs(p.grad) for p in self.params), default=0.0)


@dataclass(frozen=True)
class RecordBatch(Sequence):
    """Many iterations at once, stored by column: what a fast run sends across a process or a
    thread. It reads as a sequence of :class:`IterationRecord` (built on demand), and a consumer
    that understands columns (the window's history) takes them whole, without one Python object
    per iteration.
    """

    names: tuple[str, ...]
    iterations: tuple[int, ...]
    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    values: tuple[float, ...]  # row by row: len(iterations) × len(names)
    grads: tuple[float, ...]
    statuses: tuple[str, ...]

    @staticmethod
    def from_records(records: Sequence[IterationRecord]) -> RecordBatch:
        names = tuple(p.name for p in records[0].params) if records else ()
        return RecordBatch(names, tuple(r.iteration for r in records), tuple(r.lr for r in records),
                           tuple(r.loss for r in records),
                           tuple(p.data for r in records for p in r.params),
                           tuple(p.grad for r in records for p in r.params),
                           tuple(r.status for r in records))

    @staticmethod
    def concat(batches: Sequence[RecordBatch]) -> RecordBatch:
        """One batch of all of them, in order; columns that are arrays stay arrays (joined in C)."""
        if len(batches) == 1:
            return batches[0]
        columns = []
        for f in ("iterations", "lrs", "losses", "values", "grads", "statuses"):
            parts = [getattr(b, f) for b in batches]
            if all(isinstance(c, array) for c in parts) and len({c.typecode for c in parts}) == 1:
                joined = array(parts[0].typecode)
                for c in parts:
                    joined.extend(c)
                columns.append(joined)
            else:
                columns.append(tuple(chain.from_iterable(parts)))
        return RecordBatch(batches[0].names, *columns)

    def packed(self) -> RecordBatch:
        """The same batch with its numbers in ``array`` columns (machine ints and doubles): about
        four times quicker to unpickle than tuples of floats, and numpy reads them without a
        copy. What the engine process sends the window (whose history holds float64 anyway)."""
        return RecordBatch(self.names, array("q", self.iterations), array("d", self.lrs),
                           array("d", self.losses), array("d", self.values), array("d", self.grads),
                           self.statuses)

    def __len__(self) -> int:
        return len(self.iterations)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("record index out of range")
        p = len(self.names)
        row = slice(index * p, (index + 1) * p)
        params = tuple(ParamState(name, v, g)
                       for name, v, g in zip(self.names, self.values[row], self.grads[row]))
        return IterationRecord(self.iterations[index], self.lrs[index], self.losses[index], params,
                               self.statuses[index])


# --- building records fast ------------------------------------------------------------------------
# A frozen dataclass sets each field through ``object.__setattr__`` in a Python-level ``__init__``;
# a trainer making a record per iteration spends more on that than on the iteration itself. The
# slots' own descriptors set the same fields from C, for the same frozen, equal record.
_new = object.__new__
_PARAM_FIELDS = tuple(ParamState.__dict__[f].__set__ for f in ("name", "data", "grad"))
_RECORD_FIELDS = tuple(IterationRecord.__dict__[f].__set__
                       for f in ("iteration", "lr", "loss", "params", "status"))


def param_state(name: str, data: float, grad: float) -> ParamState:
    """``ParamState(name, data, grad)``, built without the dataclass's ``__init__``."""
    set_name, set_data, set_grad = _PARAM_FIELDS
    p = _new(ParamState)
    set_name(p, name)
    set_data(p, data)
    set_grad(p, grad)
    return p


def iteration_record(iteration: int, lr: float, loss: float, params: tuple[ParamState, ...],
                     status: str = "running") -> IterationRecord:
    """``IterationRecord(iteration, lr, loss, params, status)``, built the same fast way."""
    set_iteration, set_lr, set_loss, set_params, set_status = _RECORD_FIELDS
    r = _new(IterationRecord)
    set_iteration(r, iteration)
    set_lr(r, lr)
    set_loss(r, loss)
    set_params(r, params)
    set_status(r, status)
    return r
