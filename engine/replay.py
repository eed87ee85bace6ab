"""A moment of a run, rebuilt from the parameter values alone.

A run stores only its parameters per iteration (a few numbers); the graph, the forward steps and
every chain-rule multiplication of any iteration are recomputed from them on demand. So a learner
can travel back to any recorded moment while memory stays bounded by the history's own cap.
"""

from __future__ import annotations

import gc
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from .graph import GraphSnapshot, NodeInfo, backward_steps, forward_steps
from .language import Program, evaluate
from .records import ChainRuleStep, ForwardStep
from .value import topological_order


class _Rest:
    """What a moment's backward pass adds (the snapshot after it, the forward steps and every
    multiplication), computed once, by whichever thread asks first.

    The engine thread hands a freshly loaded program's moment to the window before this part is
    done (the graph can be drawn without it: on micrograd's demo network it is a second of
    work) and then computes it at once; a reader that comes earlier waits for it, or computes it
    itself if the engine has not begun. Only the thread holding the lock touches the
    evaluation's ``Value`` objects, and they are dropped once done."""

    __slots__ = ("_lock", "_ev", "_before", "_value", "_error", "forward_total", "chain_total",
                 "promised")

    def __init__(self, ev, before: GraphSnapshot) -> None:
        self._lock = threading.Lock()
        self._ev = ev
        self._before = before
        self._value: tuple | None = None
        self._error: BaseException | None = None
        self.forward_total = sum(1 for n in before.nodes if n.children)
        self.chain_total = sum(len(n.children) for n in before.nodes)
        self.promised = False  # the thread that made it makes the records next

    @property
    def done(self) -> bool:
        return self._value is not None or self._error is not None

    def get(self) -> tuple[GraphSnapshot, tuple[ForwardStep, ...], tuple[ChainRuleStep, ...]]:
        if not self.done:
            with self._lock:
                if not self.done:
                    try:
                        self._value = _backward_part(self._ev, self._before)
                    except BaseException as exc:  # an overflow in the backward pass: each reader
                        self._error = exc  # gets it, as a replay that did all at once raised it
                    finally:
                        self._ev = None
        if self._error is not None:
            raise self._error
        return self._value


@contextmanager
def _no_collections():
    """The cyclic garbage collector paused while a big graph's records are made: they are frozen
    tuples and dataclasses with no cycles, but each 700 objects made start a collection, and a
    full one walks every object alive (on micrograd's demo network 0.1 s each, a dozen times).
    Reference counting still frees what it can; the collector runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _backward_part(ev, before: GraphSnapshot) -> tuple:
    with _no_collections():
        return _backward_records(ev, before)


def _backward_records(ev, before: GraphSnapshot) -> tuple:
    chain = tuple(backward_steps(ev.loss))
    topo = topological_order(ev.loss)  # the snapshot's order: node i is topo[i]
    after = GraphSnapshot(tuple(NodeInfo(n.id, n.name, n.label, n.kind, n.op, n.data, v.grad,
                                         n.children, n.local_grads, n.origin)
                                for n, v in zip(before.nodes, topo)), before.root, before.groups)
    return after, tuple(forward_steps(before)), chain


@dataclass(frozen=True)
class Moment:
    """Iteration ``iteration`` of a run, ``position`` records into it.

    ``position`` counts the iteration's steps: 0 is "the forward pass has not begun", ``k`` is
    "after the k-th forward step" (``len(forward)``: the forward pass done, no gradient known
    yet), :attr:`seed_position` is the seed (the loss's gradient set to 1, the backward pass's
    step 0), ``seed_position + k`` is "after the k-th chain-rule multiplication", and
    ``complete`` (the default) is the whole backward pass done.

    ``after``, ``forward`` and ``chain`` are made when first read (or by :meth:`prepare`); the
    positions, the counts and ``before`` are known at once.
    """

    program: Program = field(repr=False)
    iteration: int
    lr: float
    param_names: tuple[str, ...]
    values: tuple[float, ...]  # the parameters before this iteration's update
    param_nodes: tuple[int, ...]  # each parameter's node id in the graph (-1: the loss ignores it)
    before: GraphSnapshot = field(repr=False)  # after the forward pass; gradients 0
    rest: _Rest = field(repr=False, compare=False)  # after, forward and chain, made once
    position: int = -1

    def __post_init__(self) -> None:
        if self.position < 0 or self.position > self.complete:
            object.__setattr__(self, "position", self.complete)

    @property
    def after(self) -> GraphSnapshot:
        """The graph after the whole backward pass."""
        return self.rest.get()[0]

    @property
    def forward(self) -> tuple[ForwardStep, ...]:
        return self.rest.get()[1]

    @property
    def chain(self) -> tuple[ChainRuleStep, ...]:
        return self.rest.get()[2]

    def prepare(self) -> Moment:
        """Make ``after``, ``forward`` and ``chain`` now, in this thread (the engine's, for the
        moment it has just handed to the window); returns the moment."""
        self.rest.get()
        return self

    def promise(self) -> Moment:
        """Say that this thread will :meth:`prepare` the moment next, so a reader in another
        thread that can do something else first need not wait (:attr:`pending`)."""
        self.rest.promised = True
        return self

    @property
    def ready(self) -> bool:
        """Whether ``after``, ``forward`` and ``chain`` are made (reading them costs nothing)."""
        return self.rest.done

    @property
    def pending(self) -> bool:
        """Whether they are being made elsewhere (:meth:`promise`), not made yet: reading them
        now would wait for that thread."""
        return self.rest.promised and not self.rest.done

    @property
    def forward_total(self) -> int:
        """``len(forward)``, known without making the steps."""
        return self.rest.forward_total

    @property
    def chain_total(self) -> int:
        """``len(chain)``, known without making the steps."""
        return self.rest.chain_total

    @property
    def seed_position(self) -> int:
        """The backward pass's step 0: dL/dL = 1."""
        return self.rest.forward_total + 1

    @property
    def complete(self) -> int:
        return self.seed_position + self.rest.chain_total

    @property
    def seeded(self) -> bool:
        """Whether the seed is given at this position (the loss's gradient is known)."""
        return self.position >= self.seed_position

    @property
    def loss(self) -> float:
        return self.before.nodes[self.before.root].data  # the backward pass changes no value

    @property
    def grads(self) -> tuple[float, ...]:
        """dL/dθ for each parameter, after the whole backward pass."""
        after = self.after
        return tuple(after.nodes[i].grad if i >= 0 else 0.0 for i in self.param_nodes)

    @property
    def next_values(self) -> tuple[float, ...]:
        """The parameters after this iteration's update θ ← θ - lr·dL/dθ."""
        return tuple(v - self.lr * g for v, g in zip(self.values, self.grads))

    @property
    def forward_done(self) -> int:
        return min(self.position, self.rest.forward_total)

    @property
    def chain_done(self) -> int:
        return max(0, self.position - self.seed_position)

    def at(self, position: int) -> Moment:
        """The same iteration at another position."""
        from dataclasses import replace
        return replace(self, position=max(0, min(position, self.complete)))

    def shown_grads(self) -> list[float]:
        """Each node's gradient at this position of the backward pass (NaN: not reached yet)."""
        grads = [math.nan] * len(self.before.nodes)
        if self.seeded:
            grads[self.before.root] = 1
        for step in self.chain[:self.chain_done]:
            grads[step.child] = step.child_grad_after
        return grads


def replay(program: Program, values: Sequence[float] | None = None, iteration: int = 0,
           lr: float = 0.1, position: int = -1, like: GraphSnapshot | None = None) -> Moment:
    """Rebuild a moment: one forward pass and one recorded backward pass at ``values``.

    ``like``, a snapshot of the same program (another iteration's, or the engine's own of this
    one), lends its names when the shape is the same (``Evaluation.snapshot``): the names are
    the costly part of a snapshot; without it the forward pass notes them as it goes (one pass,
    not two). The snapshot after the backward pass is the one before with the gradients, not a
    second copy of the graph; it, the forward steps and the multiplications are made when first
    read (:class:`Moment`)."""
    with _no_collections():
        ev = evaluate(program, values, named=like is None)
        before = ev.snapshot(like)
    names = tuple(name for name, _ in ev.params)
    index = {id(v): i for i, v in enumerate(topological_order(ev.loss))}
    nodes = tuple(index.get(id(v), -1) for _, v in ev.params)
    return Moment(program, iteration, lr, names, tuple(ev.param_values()), nodes, before,
                  _Rest(ev, before), position)


#: What a cached moment costs, counted in nodes and chain-rule steps (each a small frozen tuple):
#: 400,000 is some tens of MB whatever the graph, and hundreds of moments of a small one.
CACHE_COST = 400_000
CACHE_MOMENTS = 256


def moment_cost(moment: Moment) -> int:
    """The size of a moment in the units of :data:`CACHE_COST`: its two snapshots' nodes, its
    forward steps and its multiplications."""
    return 2 * len(moment.before.nodes) + moment.forward_total + moment.chain_total


class MomentCache:
    """The replayed moments of a run, least recently used first out, bounded both in number and
    in size (:func:`moment_cost`), so a learner dragging the time-travel slider back over
    iterations already seen pays no replay, while memory stays bounded whatever the graph.

    A key names the moment (the window uses the program's generation and the iteration); a hit
    must also have the same parameter values and rate, so a stale key can never show a wrong
    moment. :meth:`clear` drops everything (a new program, a reset, a new learning rate).
    """

    def __init__(self, max_moments: int = CACHE_MOMENTS, max_cost: int = CACHE_COST) -> None:
        self.max_moments = max_moments
        self.max_cost = max_cost
        self.cost = 0
        self.hits = 0
        self.misses = 0
        self._moments: OrderedDict[Hashable, Moment] = OrderedDict()

    def __len__(self) -> int:
        return len(self._moments)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._moments

    def clear(self) -> None:
        self._moments.clear()
        self.cost = 0

    def get(self, key: Hashable, values: Sequence[float], lr: float) -> Moment | None:
        """The cached moment of ``key`` at ``values`` and ``lr`` (most recently used now)."""
        m = self._moments.get(key)
        if m is None or m.values != tuple(values) or m.lr != lr:
            return None
        self._moments.move_to_end(key)
        return m

    def put(self, key: Hashable, moment: Moment) -> None:
        """Keep ``moment`` (whole: its position is set by the caller with :meth:`Moment.at`)."""
        old = self._moments.pop(key, None)
        if old is not None:
            self.cost -= moment_cost(old)
        cost = moment_cost(moment)
        if cost > self.max_cost:
            return  # a graph too big to keep one moment of: every visit replays it
        self._moments[key] = moment
        self.cost += cost
        while len(self._moments) > self.max_moments or self.cost > self.max_cost:
            _, dropped = self._moments.popitem(last=False)
            self.cost -= moment_cost(dropped)

    def replay(self, key: Hashable, program: Program, values: Sequence[float], iteration: int,
               lr: float, like: GraphSnapshot | None = None) -> Moment:
        """The whole moment of ``key``: from the cache, else replayed (``like`` as for
        :func:`replay`) and kept."""
        m = self.get(key, values, lr)
        if m is not None:
            self.hits += 1
            return m
        self.misses += 1
        m = replay(program, values, iteration, lr, like=like)
        self.put(key, m)
        return m
