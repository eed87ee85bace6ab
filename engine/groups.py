"""Groups of a graph, and the graph as it shows with some of them collapsed into one box each.

A program makes its graph in pieces a learner recognises: every element of a list comprehension
(a neuron's weighted sum and activation, one data point's error), every ``sum(...)``, every list
a statement names (a layer ``hidden``, the weights ``w1`` and their rows). The interpreter notes
which piece made each node (:class:`engine.graph.Group`, on the snapshot); pieces nest, so
``hidden`` holds ``hidden[2]``, which holds the neuron ``hidden[2][4]``, which holds its
``sum(w1[4]·xs[2])``.

:func:`visible_graph` is the graph with every group not in ``opened`` drawn as one box: the box
takes the group's inputs (each once) and feeds whatever uses the group's results; it shows the
value and gradient of its result. It is an ordinary :class:`~engine.graph.GraphSnapshot` (nodes
numbered in a topological order), so the canvas lays it out as any graph.

:func:`default_open` picks what a graph opens with: every group open when the whole graph is
small (the presets a learner starts with look as they always did), else groups opened level by
level, the ones that compute first and lists of parameters last, while at most ``budget`` boxes
show. Pure Python: no Qt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .graph import CONST, OP, PARAM, GraphSnapshot, Group, NodeInfo

#: At most this many boxes and circles' results show when a graph opens grouped.
BUDGET = 40


def group_key(group_id: int) -> int:
    """The key of a collapsed group's box among node ids: negative, so it never meets one."""
    return -(group_id + 1)


def key_group(key: int) -> int:
    """The group a box's key stands for (the inverse of :func:`group_key`)."""
    return -key - 1


@dataclass(frozen=True)
class Nesting:
    """How a graph's groups sit in each other, worked out once per graph shape."""

    parent: tuple[int, ...]  # per group: the group it sits in, -1 for none
    children: tuple[tuple[int, ...], ...]  # per group: the groups directly inside it
    depth: tuple[int, ...]  # per group: 0 for a group in no other
    node_group: tuple[int, ...]  # per node: the innermost group holding it, -1 for none
    size: tuple[int, ...]  # per group: its nodes, with those of the groups inside it
    computes: tuple[bool, ...]  # per group: whether it holds an operation (not only parameters)


def nesting(graph: GraphSnapshot) -> Nesting:
    groups = graph.groups
    parent = tuple(g.parent for g in groups)
    children: list[list[int]] = [[] for _ in groups]
    depth = [0] * len(groups)
    for g in groups:
        if g.parent >= 0:
            children[g.parent].append(g.id)
            depth[g.id] = depth[g.parent] + 1
    node_group = [-1] * len(graph.nodes)
    size = [len(g.nodes) for g in groups]
    computes = [any(graph.nodes[n].children for n in g.nodes) for g in groups]
    for g in groups:
        for n in g.nodes:
            node_group[n] = g.id
    for g in reversed(groups):  # a parent is always an earlier group
        if g.parent >= 0:
            size[g.parent] += size[g.id]
            computes[g.parent] = computes[g.parent] or computes[g.id]
    return Nesting(parent, tuple(map(tuple, children)), tuple(depth), tuple(node_group),
                   tuple(size), tuple(computes))


@dataclass(frozen=True)
class VisibleGraph:
    """The graph as it shows: ``graph``'s nodes are the items drawn, in a topological order.

    ``keys[i]`` says what item ``i`` is: a node of the full graph (its id, >= 0) or a collapsed
    group's box (:func:`group_key`). ``shown_as[n]`` is the key of the item that shows full node
    ``n`` (itself, or the box it is hidden in); ``outputs[g]`` the nodes of a collapsed group
    that are used outside it (or are the loss); ``opened`` the open groups it was made with."""

    full: GraphSnapshot
    graph: GraphSnapshot
    keys: tuple[int, ...]
    shown_as: tuple[int, ...]
    outputs: dict[int, tuple[int, ...]]
    members: dict[int, tuple[int, ...]]  # a collapsed group's nodes, its inner groups' too
    opened: frozenset[int]

    def position(self, key: int) -> int:
        return self._positions[key]

    @property
    def _positions(self) -> dict[int, int]:
        cached = self.__dict__.get("_pos")
        if cached is None:
            cached = {k: i for i, k in enumerate(self.keys)}
            object.__setattr__(self, "_pos", cached)
        return cached

    @property
    def collapsed(self) -> tuple[int, ...]:
        """The groups drawn as boxes."""
        return tuple(key_group(k) for k in self.keys if k < 0)

    def is_identity(self) -> bool:
        return not self.outputs


def visible_graph(graph: GraphSnapshot, opened: Iterable[int] = ()) -> VisibleGraph:
    """``graph`` with every group not in ``opened`` (and every group inside a collapsed one)
    drawn as a single box. With every group open it is ``graph`` itself, node for node."""
    opened = frozenset(opened)
    groups = graph.groups
    n = len(graph.nodes)
    if not groups or len(opened) >= len(groups) and all(g.id in opened for g in groups):
        ids = tuple(range(n))
        return VisibleGraph(graph, graph, ids, ids, {}, {}, opened)
    nest = nesting(graph)
    box = [-1] * len(groups)  # per group: the collapsed group whose box shows it, -1 if open
    for g in groups:
        if g.parent >= 0 and box[g.parent] >= 0:
            box[g.id] = box[g.parent]
        elif g.id not in opened:
            box[g.id] = g.id
    shown_as = [i if nest.node_group[i] < 0 or box[nest.node_group[i]] < 0
                else group_key(box[nest.node_group[i]]) for i in range(n)]
    nodes = graph.nodes
    # the items, each with the keys of its inputs (a box takes each outside input once)
    inputs: dict[int, list[int]] = {}
    members: dict[int, list[int]] = {}
    used_outside: set[int] = {graph.root}
    for node in nodes:
        key = shown_as[node.id]
        if key >= 0:
            inputs[key] = [shown_as[c] for c in node.children]
            used_outside.update(c for c in node.children if shown_as[c] != key)
            continue
        members.setdefault(key, []).append(node.id)
        ins = inputs.setdefault(key, [])
        for c in node.children:
            k = shown_as[c]
            if k != key:
                used_outside.add(c)
                if k not in ins:
                    ins.append(k)
    order = _topological(inputs, [shown_as[i] for i in range(n)])
    position = {k: i for i, k in enumerate(order)}
    outputs = {key_group(k): tuple(m for m in ms if m in used_outside) for k, ms in members.items()}
    shown = []
    for i, key in enumerate(order):
        children = tuple(position[k] for k in inputs[key])
        if key >= 0:
            node = nodes[key]
            shown.append(NodeInfo(i, node.name, node.label, node.kind, node.op, node.data,
                                  node.grad, children, node.local_grads, node.origin))
            continue
        g = groups[key_group(key)]
        outs = outputs[g.id]
        data = nodes[outs[0]].data if len(outs) == 1 else math.nan
        grad = nodes[outs[0]].grad if len(outs) == 1 else math.nan
        op = nodes[outs[0]].op if len(outs) == 1 and nodes[outs[0]].children else "group"
        if children:
            kind = OP
        else:
            kind = PARAM if any(nodes[m].kind == PARAM for m in members[key]) else CONST
        shown.append(NodeInfo(i, g.name, "", kind, op, data, grad, children,
                              (math.nan,) * len(children), ""))
    root = position[shown_as[graph.root]]
    return VisibleGraph(graph, GraphSnapshot(tuple(shown), root), tuple(order), tuple(shown_as),
                        outputs, {key_group(k): tuple(v) for k, v in members.items()}, opened)


def _topological(inputs: dict[int, list[int]], first_seen: list[int]) -> list[int]:
    """The items in an order where each comes after its inputs, near the full graph's order."""
    order: list[int] = []
    done: set[int] = set()
    seen_order = list(dict.fromkeys(first_seen))
    for start in seen_order:
        if start in done:
            continue
        stack = [(start, False)]
        while stack:
            key, expanded = stack.pop()
            if expanded:
                if key not in done:
                    done.add(key)
                    order.append(key)
                continue
            if key in done:
                continue
            stack.append((key, True))
            stack.extend((k, False) for k in reversed(inputs[key]) if k not in done)
    return order


def all_open(graph: GraphSnapshot) -> frozenset[int]:
    return frozenset(g.id for g in graph.groups)


def default_open(graph: GraphSnapshot, budget: int = BUDGET) -> frozenset[int]:
    """The groups a graph opens with: all of them if the whole graph has at most ``budget``
    nodes; else, from everything collapsed, whole levels of alike groups (every neuron of a
    layer at once, every row of a weight matrix) in order of depth, groups that compute before
    lists of parameters, each level opened only if the boxes then shown stay within ``budget``.
    """
    groups = graph.groups
    if not groups or len(graph.nodes) <= budget:
        return all_open(graph)
    nest = nesting(graph)
    # a family: the groups opened together, alike by where they sit (their parents' family)
    # and what made them; a group in no other is a family of its own
    family: list[tuple] = [()] * len(groups)
    for g in groups:
        family[g.id] = (g.id,) if g.parent < 0 else (family[g.parent], g.kind)
    members: dict[tuple, list[int]] = {}
    for g in groups:
        members.setdefault(family[g.id], []).append(g.id)
    inside: dict[int, list[tuple]] = {}  # a group → the families whose first member sits in it
    for f, ms in members.items():
        inside.setdefault(groups[ms[0]].parent, []).append(f)

    def families_in(ms: list[int]) -> list[tuple]:
        return [f for m in ms for f in inside.get(m, ())]
    shown = sum(1 for i in range(len(graph.nodes)) if nest.node_group[i] < 0) \
        + sum(1 for g in groups if g.parent < 0)
    opened: set[int] = set()
    for computing in (True, False):
        frontier = [f for f, ms in members.items() if groups[ms[0]].parent < 0]
        while frontier:
            following = []
            for fam in sorted(frontier, key=lambda f: members[f][0]):
                ms = members[fam]
                if any(groups[m].parent >= 0 and groups[m].parent not in opened for m in ms):
                    continue  # inside a group left collapsed
                if all(m in opened for m in ms):
                    following += families_in(ms)
                    continue
                if nest.computes[ms[0]] != computing:
                    continue
                more = sum(len(groups[m].nodes) + len(nest.children[m]) - 1 for m in ms)
                if shown + more <= budget:
                    shown += more
                    opened.update(ms)
                    following += families_in(ms)
            frontier = list(dict.fromkeys(following))
    return frozenset(opened)


def group_of(graph: GraphSnapshot, node_id: int) -> Group | None:
    """The innermost group holding a node, or None."""
    for g in graph.groups:
        if node_id in g.nodes:
            return g
    return None
