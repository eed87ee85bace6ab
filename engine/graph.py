"""Plain snapshots of a Value graph, and the observable forward and backward passes.

A snapshot copies what a view needs (names, operations, values, gradients, edges) into frozen
tuples, so a drawing or an export never touches live ``Value`` objects that another thread may be
changing. Node ids are positions in the topological order; the graph a program makes has the same
shape at every iteration, so ids stay stable while values change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from . import explain
from .explain import OP_SYMBOLS, format_number, op_symbol
from .records import ChainRuleStep, ForwardStep
from .value import Value, topological_order

#: What each kind of node is: a trained parameter, a named input, an unnamed constant, an operation.
PARAM, INPUT, CONST, OP = "param", "input", "const", "op"

# The text of names, numbers and formulas lives in ``engine.explain``; these names stay
# importable from here for the modules that always found them here.
__all__ = ["PARAM", "INPUT", "CONST", "OP", "OP_SYMBOLS", "NodeInfo", "Group", "GraphSnapshot",
           "snapshot",
           "snapshot_like",
           "forward_steps", "backward_steps", "formula", "format_number", "op_symbol"]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    id: int
    name: str  # what to call it: its label, a constant's number, or a short expression
    label: str  # the program's name, "" if none
    kind: str  # PARAM, INPUT, CONST or OP
    op: str
    data: float
    grad: float
    children: tuple[int, ...]
    local_grads: tuple[float, ...]
    origin: str = ""  # "line:column" of the program text that made an operation, "" if unknown


#: What made a group: one element of a list comprehension, one ``sum(...)`` call, or a list a
#: statement names (``w1 = [[Value(0.5), ...], ...]``, ``hidden = [... for x in xs]``).
ELEMENT, SUM, LIST = "element", "sum", "list"


@dataclass(frozen=True, slots=True)
class Group:
    """A part of the graph the program made in one piece, which the canvas can draw as one box.

    ``nodes`` are the ids of the nodes made directly in it (not in a group inside it); ``parent``
    is the group it sits in (-1: none), always an earlier group. ``name`` is short, for a box
    (``hidden[2][4]``, ``preds[1]``, ``sum(w1[0]·xs[1])``); ``text`` says what made it."""

    id: int
    kind: str  # ELEMENT, SUM or LIST
    name: str
    text: str
    parent: int
    nodes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GraphSnapshot:
    nodes: tuple[NodeInfo, ...]
    root: int
    groups: tuple[Group, ...] = ()  # see engine.groups; () for a graph not made by a program

    @property
    def edges(self) -> list[tuple[int, int, int]]:
        """(child, parent, input position) for every input of every operation."""
        return [(c, n.id, i) for n in self.nodes for i, c in enumerate(n.children)]

    def node_named(self, name: str) -> NodeInfo:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def grad_name(self, node_id: int) -> str:
        """``dL/dz`` for node z when the root is L; ``dL/d(-y)`` when the name is not one symbol."""
        return explain.grad_name(self, node_id)

    def local_grad_name(self, parent: int, child: int) -> str:
        """``de/dz``: the derivative of an operation's result with respect to one input."""
        return explain.local_grad_name(self, parent, child)

    def with_values(self, data: list[float], grad: list[float],
                    local_grads: list[tuple[float, ...]] | None = None) -> GraphSnapshot:
        nodes = tuple(replace(n, data=data[n.id], grad=grad[n.id],
                              local_grads=n.local_grads if local_grads is None else local_grads[n.id])
                      for n in self.nodes)
        return GraphSnapshot(nodes, self.root, self.groups)


def snapshot(root: Value, kinds: dict[int, str] | None = None, hints: dict[int, str] | None = None,
             origins: dict[int, tuple[int, int]] | None = None,
             groups: tuple[list[tuple[str, str, str, int]], dict[int, int]] | None = None,
             ) -> GraphSnapshot:
    """Copy the graph below ``root`` into a :class:`GraphSnapshot`.

    ``kinds`` maps ``id(value)`` of parameters and inputs to PARAM / INPUT (the interpreter knows
    which leaves are which); other leaves are constants. A node is named by its label (the
    program's name, or its place in a named list such as ``hidden[2][4]``), else by ``hints``
    (``sum(...)`` of what a sum adds), else by its expression (``w·x``), else ``t<id>``.
    ``origins`` maps ``id(value)`` to the (line, column) that made it; a node made inside
    another's expression (the ``-y`` of ``z - y``) gets the origin of the node that uses it.
    ``groups`` is ``(specs, member)``: each group's (kind, name, text, parent) and, by
    ``id(value)``, the group each node was made in directly (see :mod:`engine.groups`).
    """
    topo = topological_order(root)
    index = {id(v): i for i, v in enumerate(topo)}
    kinds = kinds or {}
    hints = hints or {}
    names: list[str] = []
    nodes = []
    where = _origins(topo, index, origins) if origins else [""] * len(topo)
    for i, v in enumerate(topo):
        children = tuple(index[id(c)] for c in v._children)
        if v._children:
            kind = OP
        else:
            kind = kinds.get(id(v), PARAM if v.label else CONST)
        name = v.label or hints.get(id(v)) or _expression_name(v, children, names)
        names.append(name)
        nodes.append(NodeInfo(i, name, v.label, kind, v.op, v.data, v.grad, children,
                              tuple(v._local_grads), where[i]))
    found = _groups(topo, groups, names) if groups else ()
    return GraphSnapshot(tuple(nodes), len(topo) - 1, found)


def _groups(topo: list[Value], groups: tuple[list[tuple[str, str, str, int]], dict[int, int]],
            names: list[str]) -> tuple[Group, ...]:
    """The groups of ``topo`` as node ids: those holding no node of the graph are dropped (a
    group inside them is moved up to the nearest kept one), and so is a group that would only
    wrap one operation (a ``wi * xi`` term alone): a box of one circle teaches nothing."""
    specs, member = list(groups[0]), groups[1]
    direct: list[list[int]] = [[] for _ in specs]
    for i, v in enumerate(topo):
        g = member.get(id(v), -1)
        if g >= 0:
            direct[g].append(i)
    total = [sum(1 for i in d if topo[i]._children) for d in direct]  # its operations, and
    count = [len(d) for d in direct]  # its nodes, with those of every group inside it
    for g in range(len(specs) - 1, -1, -1):  # a parent is always an earlier group
        parent = specs[g][3]
        if parent >= 0:
            total[parent] += total[g]
            count[parent] += count[g]
    # a list of parameters is a group too (w1: its rows, their weights)
    keep = [total[g] >= 2 or (specs[g][0] == LIST and count[g] >= 2) for g in range(len(specs))]
    # a group holding exactly one kept group and nothing of its own is that group twice
    inner: list[list[int]] = [[] for _ in specs]
    for g, spec in enumerate(specs):
        if spec[3] >= 0:
            inner[spec[3]].append(g)
    for g in range(len(specs)):
        kept_inner = [c for c in inner[g] if keep[c]]
        if keep[g] and not direct[g] and len(kept_inner) == 1 and total[kept_inner[0]] == total[g]:
            keep[kept_inner[0]] = False
            direct[g] = direct[kept_inner[0]]
            direct[kept_inner[0]] = []
            for c in inner[kept_inner[0]]:
                specs[c] = (*specs[c][:3], g)
            inner[g] = inner[kept_inner[0]]
    new_id: dict[int, int] = {}
    home = list(range(len(specs)))  # where a dropped group's nodes go: its nearest kept parent
    out: list[Group] = []
    for g, (kind, name, text, parent) in enumerate(specs):
        while parent >= 0 and not keep[parent]:
            parent = specs[parent][3]
        if not keep[g]:
            home[g] = parent
            if parent >= 0:
                direct[parent].extend(direct[g])
            continue
        new_id[g] = len(out)
        out.append(Group(len(out), kind, name, text, new_id.get(parent, -1), ()))
    last = [max(d, default=-1) for d in direct]  # the newest node: a group's result
    for g in range(len(specs) - 1, -1, -1):
        parent = specs[g][3]
        if keep[g] and parent >= 0:
            while parent >= 0 and not keep[parent]:
                parent = specs[parent][3]
            if parent >= 0:
                last[parent] = max(last[parent], last[g])
    groups = []
    for old, grp in zip(new_id, out):
        name = grp.name
        if not name:  # an element of an unnamed list: called as its result is
            name = names[last[old]] if last[old] >= 0 else "element"
            if _AUTO.fullmatch(name):
                name = "element"
        groups.append(Group(grp.id, grp.kind, name, grp.text, grp.parent,
                            tuple(sorted(direct[old]))))
    return tuple(groups)


_AUTO = re.compile(r"t\d+")


def snapshot_like(root: Value, like: GraphSnapshot,
                  kinds: dict[int, str] | None = None) -> GraphSnapshot | None:
    """A snapshot of ``root`` named as ``like`` is: a later iteration of the same program has
    the same shape, so its names and origins are the same, position by position, and need not
    be worked out again. None if the shape differs (the program's branches went another way)."""
    topo = topological_order(root)
    if len(topo) != len(like.nodes):
        return None
    index = {id(v): i for i, v in enumerate(topo)}
    kinds = kinds or {}
    nodes = []
    for i, (v, old) in enumerate(zip(topo, like.nodes)):
        children = tuple(index[id(c)] for c in v._children)
        if children != old.children or v.op != old.op or v.label != old.label:
            return None
        kind = OP if children else kinds.get(id(v), PARAM if v.label else CONST)
        name = old.name if children or v.label else format_number(v.data)
        nodes.append(NodeInfo(i, name, v.label, kind, v.op, v.data, v.grad, children,
                              tuple(v._local_grads), old.origin))
    return GraphSnapshot(tuple(nodes), len(topo) - 1, like.groups)


def _origins(topo: list[Value], index: dict[int, int],
             origins: dict[int, tuple[int, int]]) -> list[str]:
    found = [origins.get(id(v)) for v in topo]
    for i in range(len(topo) - 1, -1, -1):  # parents first: hand an origin down to its inputs
        if found[i] is not None:
            for c in topo[i]._children:
                j = index[id(c)]
                if found[j] is None and c._children:
                    found[j] = found[i]
    return [f"{o[0]}:{o[1]}" if o and v._children else "" for o, v in zip(found, topo)]


def _expression_name(v: Value, children: tuple[int, ...], names: list[str]) -> str:
    """A short name for an unlabelled node: ``-1``, ``-y``, ``w·x``; ``t7`` when it gets long."""
    if not v._children:
        return format_number(v.data)
    return explain.expression_name(v.op, [names[c] for c in children]) or f"t{len(names)}"


# --- observable passes ------------------------------------------------------------------------

def forward_steps(graph: GraphSnapshot) -> Iterator[ForwardStep]:
    """The forward pass as records: each computed node in topological order."""
    number = 0
    for n in graph.nodes:
        if n.children:
            number += 1
            yield ForwardStep(number, n.id, n.op, n.data, n.children, n.local_grads)


def backward_steps(root: Value) -> Iterator[ChainRuleStep]:
    """Run ``root.backward()``'s loop, yielding a record for every multiplication.

    The arithmetic is exactly ``Value.backward``'s (the root's grad set to 1, every other node's
    added to), in the same order; it is a separate function so the plain loop in ``value.py``
    stays the one a learner reads, and costs nothing when nobody watches.
    """
    topo = topological_order(root)
    index = {id(v): i for i, v in enumerate(topo)}
    paths = [0] * len(topo)
    for v in topo:
        for child in v._children:
            paths[index[id(child)]] += 1
    seen = [0] * len(topo)
    root.grad = 1
    number = 0
    for v in reversed(topo):
        for i, (child, local_grad) in enumerate(zip(v._children, v._local_grads)):
            before = child.grad
            product = local_grad * v.grad
            child.grad += product
            number += 1
            c = index[id(child)]
            seen[c] += 1
            yield ChainRuleStep(number, index[id(v)], c, local_grad, v.grad, product, before,
                                child.grad, seen[c], paths[c], i)


def formula(graph: GraphSnapshot, step: ChainRuleStep) -> str:
    """The banner for one multiplication (see :func:`engine.explain.chain_formula`)."""
    return explain.chain_formula(graph, step)
