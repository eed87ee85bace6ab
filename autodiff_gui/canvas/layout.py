"""Where the canvas puts each box, operation circle and edge: a layered, left-to-right layout.

Pure Python (no Qt), so it is tested and timed on its own. The steps are those of Sugiyama,
Tagawa and Toda (1981), which Graphviz's dot and dagre follow too:

1. **Columns.** Every node is a value box; an operation also has a circle, one column left of its
   box and one column right of its rightmost input (longest path from the leaves). Parameters stay
   in column 0, so a learner finds the weights at the left. Other leaves, and what is computed
   from them alone (the tutorial's ``-y = y · -1``), move right to just before their first use,
   the way the tutorial's flowchart draws y and -1 next to where they are used.
2. **Dummies.** An edge spanning several columns gets a dummy item in each column it passes, so
   it is routed between the boxes instead of through them.
3. **Order within columns.** A depth-first walk from the loss, inputs in their order, gives a
   drawing with no crossings for a tree, input 0 above input 1. Barycenter sweeps, left to right
   and right to left, each followed by transposes of neighbours (as in dot), then undo most of
   the crossings a shared node makes; the best order found is kept. Crossings are counted with
   Barth, Jünger and Mutzel's accumulator tree, and the sweeps stop when they stop helping or
   when their work (items and links looked at, :data:`ORDER_WORK`) would pass its allowance, so
   the whole layout grows about as n log n (``benchmarks/bench_layout.py``).
4. **Coordinates.** Brandes and Köpf's vertical alignment joins each item to its upper median
   input into a block drawn on one horizontal line, so the tutorial's ``w → × → z → + → e → x² →
   L`` is straight and a long edge is a straight run. Blocks are packed from the top, then each is
   pulled toward its neighbours as far as the column order leaves room. Columns are as wide as
   their widest item and items are centred in them; boxes and circles on one line share a centre.

Coordinates are scene units: x grows to the right, y downwards.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.graph import PARAM, GraphSnapshot

Point = tuple[float, float]
EdgeKey = tuple[int, int, int]  # (child id, parent id, input index), as GraphSnapshot.edges

BOX, CIRCLE, DUMMY = "box", "op", "dummy"

#: How many ordering sweeps at most; each is one pass over every column.
SWEEPS = 40
#: How far apart (scene units) two edges from one box to one circle leave the box.
PARALLEL_SPREAD = 24.0  # twin edges (a * a) leave their box this far apart: room for two labels
#: Passes that pull blocks toward their neighbours after the top-down packing.
PULL_PASSES = 8
#: How much work (items and links looked at) ordering may spend. A graph of a few thousand items
#: gets all the sweeps it can use; one of 10,000 nodes (66,000 items with the dummies of its long
#: edges) two; one of 68,000 nodes (850,000 items) none: layout grows about as n log n, not n².
ORDER_WORK = 1_500_000
#: The same for the pulls toward neighbours: fewer passes on a big graph, never fewer than two.
PULL_WORK = 2_000_000
#: Up to how many links between two columns crossings are counted with a sorted list (below).
INSERTION_LIMIT = 16_384


class LayoutCancelled(Exception):
    """Raised inside :func:`layered_layout` when its ``should_stop`` says a newer layout won."""


@dataclass(frozen=True)
class Placement:
    """An item's rectangle: top-left corner and size, in scene units."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Placement) -> bool:
        """True when the interiors intersect (touching edges do not count)."""
        return (self.x < other.x + other.w and other.x < self.x + self.w
                and self.y < other.y + other.h and other.y < self.y + self.h)


@dataclass(frozen=True)
class Layout:
    """Where everything goes.

    ``edge_points[(child, parent, i)]`` is the polyline of the edge from the child's box to the
    parent's operation circle: it starts at the box's right middle, crosses each column in between
    as a horizontal run at its dummy's height (two points per column) and ends at the circle's left
    end. Every slanted segment lies in the gap between two columns, so no edge passes through a box
    or a circle. The edge from a circle to its result box is one segment: :meth:`result_points`.
    """

    boxes: dict[int, Placement]
    ops: dict[int, Placement]
    layers: dict[tuple[str, int], int]
    width: float
    height: float
    edge_points: dict[EdgeKey, list[Point]] = field(default_factory=dict)
    columns: tuple[float, ...] = ()  # the x of each column's left side

    def result_points(self, node_id: int) -> list[Point]:
        """The segment from an operation's circle to its result box."""
        box = self.boxes[node_id]
        circle = self.ops[node_id]
        return [(circle.x + circle.w, circle.cy), (box.x, box.cy)]


def layered_layout(graph: GraphSnapshot, box_size: tuple[float, float] = (120.0, 58.0),
                   op_size: float = 34.0, h_gap: float = 46.0, v_gap: float = 22.0, *,
                   sweeps: int = SWEEPS, should_stop: Callable[[], bool] | None = None) -> Layout:
    """Lay ``graph`` out left to right: leaves and parameters left, the loss at the far right.

    ``h_gap`` is the room between columns (where edge labels go), ``v_gap`` between items in a
    column (half of it between two edges). ``sweeps=0`` keeps the first, depth-first order; tests
    use it to see what the crossing reduction gains. ``should_stop`` is asked now and then (between
    sweeps and columns): when it answers True the layout stops with :class:`LayoutCancelled`, so a
    worker drops a layout nobody waits for without finishing it.
    """
    _check_graph(graph)
    # The layout makes no reference cycles, so Python's cyclic collector has nothing to find in
    # it; but its full passes walk every list and tuple made here (hundreds of thousands on a big
    # graph), and each holds the GIL: 60-110 ms pauses of the window while a worker thread lays out
    # 10,000 nodes, and a third of the time. It is paused meanwhile, as Value.backward pauses it.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _layered_layout(graph, box_size, op_size, h_gap, v_gap, sweeps, should_stop)
    finally:
        if paused:
            gc.enable()


def _layered_layout(graph: GraphSnapshot, box_size: tuple[float, float], op_size: float,
                    h_gap: float, v_gap: float, sweeps: int,
                    should_stop: Callable[[], bool] | None) -> Layout:
    work = _Work(ORDER_WORK, should_stop)
    grid = _Grid(graph, box_size, op_size, work.check)
    work.check()
    order = _depth_first_order(grid, graph, work.check)
    if sweeps > 0:
        order = _reduce_crossings(grid, order, sweeps, work)
    centres = _vertical_centres(grid, order, v_gap, work)
    work.check()
    return _assemble(graph, grid, centres, op_size, h_gap, work.check)


def _check_graph(graph: GraphSnapshot) -> None:
    """Raise ValueError, naming the node, unless every input is an earlier node (a snapshot's
    nodes come children first) and the root is a node: a snapshot read from a file may not be."""
    nodes = graph.nodes
    for position, node in enumerate(nodes):
        if node.id != position:
            raise ValueError(f"node {position} ({node.name}) has the id {node.id}; a graph's "
                             f"nodes are numbered 0, 1, 2, … in order")
        for child in node.children:
            if not 0 <= child < position:
                raise ValueError(f"node {position} ({node.name}) takes input {child}, which is "
                                 f"not one of the nodes before it")
    if not 0 <= graph.root < len(nodes):
        raise ValueError(f"the root {graph.root} is not one of the graph's {len(nodes)} nodes")


def count_crossings(graph: GraphSnapshot, layout: Layout) -> int:
    """How many pairs of edge segments cross between adjacent columns, read from the geometry."""
    segments: dict[int, list[tuple[float, float]]] = {}

    def add(column: int, y0: float, y1: float) -> None:
        segments.setdefault(column, []).append((y0, y1))

    for child, parent, i in graph.edges:
        points = layout.edge_points[(child, parent, i)]
        ys = [layout.boxes[child].cy] + [y for _, y in points[1:-1:2]] + [layout.ops[parent].cy]
        first = layout.layers[(BOX, child)]
        for k in range(len(ys) - 1):
            add(first + k, ys[k], ys[k + 1])
    for node_id, circle in layout.ops.items():
        add(layout.layers[(CIRCLE, node_id)], circle.cy, layout.boxes[node_id].cy)
    total = 0
    for pairs in segments.values():
        pairs.sort()
        rank = {y: r for r, y in enumerate(sorted({y1 for _, y1 in pairs}))}
        total += _inversions([rank[y1] for _, y1 in pairs], len(rank))
    return total


# --- 1 and 2: columns and dummies ---------------------------------------------------------------

def _box_columns(graph: GraphSnapshot) -> list[int]:
    """The column of each node's box (its circle, if any, is one column to the left)."""
    nodes = graph.nodes
    column = [0] * len(nodes)
    users: list[list[int]] = [[] for _ in nodes]
    free = [False] * len(nodes)  # not a parameter, and computed from no parameter
    for node in nodes:  # children come before parents
        children = node.children
        if children:
            column[node.id] = 2 + max([column[c] for c in children])
            for c in children:
                users[c].append(node.id)
            free[node.id] = node.kind != PARAM and all(free[c] for c in children)
        else:
            free[node.id] = node.kind != PARAM
    for node in reversed(nodes):  # users are settled before the nodes they use
        if free[node.id] and users[node.id]:
            # just left of the circle of its first user
            latest = min([column[u] for u in users[node.id]]) - 2
            if latest > column[node.id]:
                column[node.id] = latest
    others = [column[n.id] for n in nodes if n.id != graph.root]
    if others and max(others) >= column[graph.root]:  # only when some node is not used by the loss
        column[graph.root] = max(others) + 2
    return column


class _Grid:
    """The items to place (boxes, circles, dummies), their columns, sizes and links.

    Items are numbered: box of node n is item n; circles follow, then dummies (``dummy[i]`` is
    ``i >= first_dummy``). ``left[i]`` lists the items linked to i in the column before (an input
    used twice appears twice), ``right[i]`` the items in the column after and ``index[i]`` the
    input index of each of those links' edges. A dummy's three lists are 1-tuples: a graph of
    60,000 nodes has about 700,000 dummies, and they are built in bulk.
    """

    def __init__(self, graph: GraphSnapshot, box_size: tuple[float, float], op_size: float,
                 check: Callable[[], None] = lambda: None):
        nodes = graph.nodes
        n = len(nodes)
        box_column = _box_columns(graph)
        column = list(box_column)
        left: list = [[] for _ in range(n)]
        right: list = [[] for _ in range(n)]
        index: list = [[] for _ in range(n)]
        circle: dict[int, int] = {}
        for node in nodes:
            if node.children:
                item = len(column)
                circle[node.id] = item
                column.append(box_column[node.id] - 1)
                left[node.id].append(item)
                left.append([])
                right.append([node.id])
                index.append([0])
        self.first_dummy = first_dummy = len(column)
        chain: dict[EdgeKey, range] = {}  # the dummies of each edge, left to right
        for node in nodes:
            parent = node.id
            if not node.children:
                continue
            if not parent & 1023:
                check()
            target = circle[parent]
            target_left = left[target]
            end = box_column[parent] - 1
            for i, child in enumerate(node.children):
                start = box_column[child] + 1
                if start >= end:
                    right[child].append(target)
                    index[child].append(i)
                    target_left.append(child)
                    chain[(child, parent, i)] = range(0)
                    continue
                first = len(column)
                last = first + end - start - 1
                column.extend(range(start, end))
                right[child].append(first)
                index[child].append(i)
                left.append((child,))
                left.extend([(d,) for d in range(first, last)])
                right.extend([(d,) for d in range(first + 1, last + 1)])
                right.append((target,))
                index.extend([(i,)] * (last - first + 1))
                target_left.append(last)
                chain[(child, parent, i)] = range(first, last + 1)
        size = len(column)
        self.column = column
        self.width = [box_size[0]] * n + [op_size] * (first_dummy - n) + [0.0] * (size - first_dummy)
        self.height = [box_size[1]] * n + [op_size] * (first_dummy - n) + [0.0] * (size - first_dummy)
        self.dummy = [False] * first_dummy + [True] * (size - first_dummy)
        self.left, self.right, self.index = left, right, index
        self.circle = circle
        self.chain = chain
        self.columns = max(column) + 1 if column else 0
        self.links = sum(map(len, right))


# --- 3: order within columns --------------------------------------------------------------------

def _depth_first_order(grid: _Grid, graph: GraphSnapshot,
                       check: Callable[[], None] = lambda: None) -> list[list[int]]:
    """Columns filled in the order a depth-first walk from the loss meets their items."""
    columns: list[list[int]] = [[] for _ in range(grid.columns)]
    seen = [False] * len(grid.column)
    left, column_of = grid.left, grid.column
    starts = [graph.root] + [n.id for n in reversed(graph.nodes) if n.id != graph.root]
    for start in starts:
        if seen[start]:
            continue
        check()
        stack = [start]
        pop, extend = stack.pop, stack.extend
        while stack:
            item = pop()
            if seen[item]:
                continue
            seen[item] = True
            columns[column_of[item]].append(item)
            links = left[item]
            if len(links) == 1:
                if not seen[links[0]]:
                    stack.append(links[0])
            elif links:
                extend(reversed(links))  # input 0 is walked, so placed, first
    return columns


def _positions(columns: list[list[int]], size: int) -> list[int]:
    pos = [0] * size
    for column in columns:
        for p, item in enumerate(column):
            pos[item] = p
    return pos


class _Work:
    """Counts the items and links the crossing reduction has looked at, against its allowance.

    Counting work instead of timing it keeps the layout deterministic: the same graph gets the
    same drawing on any machine, however loaded.
    """

    def __init__(self, allowance: int, should_stop: Callable[[], bool] | None) -> None:
        self.spent = 0
        self.allowance = allowance
        self.should_stop = should_stop

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise LayoutCancelled("a newer layout was asked for")

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.allowance


def _reduce_crossings(grid: _Grid, columns: list[list[int]], sweeps: int,
                      work: _Work) -> list[list[int]]:
    """Barycenter sweeps, left→right or right→left, each followed by transposes.

    Every sweep starts again from the best order so far: alternating blindly, a right→left sweep
    (which orders everything from the loss's column back) undoes each left→right one and the two
    repeat forever (on the network preset: 1968 crossings instead of 756). A direction is kept
    while it helps; the sweeps are deterministic, so once neither direction improves on the best
    order, none will. A sweep that removes less than one crossing in a thousand counts as no
    improvement (its order is still kept), and the work of all sweeps is bounded by
    ``work.allowance``, so a big graph gets a few sweeps, not forty, and a huge one (where one
    sweep and its counts would not fit: the 68,000-node perceptron) keeps the depth-first order,
    which draws every tree without a crossing.
    Crossings are counted per pair of columns, again only where a column changed, each pair by
    Barth, Jünger and Mutzel's accumulator tree in O(links · log items).
    """
    left, right, index = grid.left, grid.right, grid.index
    size = len(grid.column)
    sweep_cost = size + grid.links
    if 3 * sweep_cost > work.allowance:  # not even one sweep and its two counts: keep the walk's
        return columns
    best = [list(c) for c in columns]
    best_pos = _positions(best, size)
    pair = []
    for k in range(len(best) - 1):
        work.check()
        pair.append(_pair_crossings(best[k], right, best_pos, len(best[k + 1])))
    fewest = sum(pair)
    work.spent += sweep_cost
    rightward, failures = True, 0
    for _ in range(sweeps):
        if fewest == 0 or failures == 2 or work.spent + sweep_cost > work.allowance:
            break
        work.check()
        columns = [list(c) for c in best]
        pos = list(best_pos)
        if rightward:
            for k in range(1, len(columns)):
                work.check()
                _sort_by_left(left, columns[k], pos)
        else:
            for k in range(len(columns) - 2, -1, -1):
                work.check()
                _sort_by_right(right, index, columns[k], pos)
        work.spent += sweep_cost
        _transpose(grid, columns, pos, work)
        counts = list(pair)
        for k in range(len(columns) - 1):
            if columns[k] != best[k] or columns[k + 1] != best[k + 1]:
                work.check()
                counts[k] = _pair_crossings(columns[k], right, pos, len(columns[k + 1]))
                work.spent += len(columns[k]) + len(columns[k + 1])
        count = sum(counts)
        if count < fewest:
            enough = fewest - count >= max(1, fewest // 1000)
            best, best_pos, pair, fewest = columns, pos, counts, count
            if enough:
                failures = 0
                continue
        rightward, failures = not rightward, failures + 1
    return best


def _sort_by_left(left: list, column: list[int], pos: list[int]) -> None:
    """Order the column by the mean position of each item's inputs (ties: as they were)."""
    getpos = pos.__getitem__
    keys = [(pos[links[0]] if len(links) == 1 else sum(map(getpos, links)) / len(links) if links
             else None) for links in map(left.__getitem__, column)]
    _reorder(column, keys, pos)


def _sort_by_right(right: list, index: list, column: list[int], pos: list[int]) -> None:
    """Order the column by the mean position of each item's users; on a tie (two inputs of one
    operation) input 0 goes above input 1."""
    getpos = pos.__getitem__
    keys = [((pos[links[0]], index[item][0]) if len(links) == 1
             else (sum(map(getpos, links)) / len(links), sum(index[item]) / len(links)) if links
             else None) for item, links in zip(column, map(right.__getitem__, column))]
    _reorder(column, keys, pos)


def _reorder(column: list[int], keys: list, pos: list[int]) -> None:
    """Sort the items that have a key (not None) into the places they held; the others keep their
    places. The sort is stable, so items with equal keys keep their order."""
    if None in keys:
        slots = [p for p, key in enumerate(keys) if key is not None]
        moving = [column[p] for p in sorted(slots, key=keys.__getitem__)]
        for p, item in zip(slots, moving):
            column[p] = item
    else:
        column[:] = [column[p] for p in sorted(range(len(column)), key=keys.__getitem__)]
    for p, item in enumerate(column):
        pos[item] = p


def _transpose(grid: _Grid, columns: list[list[int]], pos: list[int], work: _Work,
               rounds: int = 8) -> None:
    """Swap neighbours in a column while that removes crossings (Gansner et al., 1993).

    The crossings two neighbours u, v make among their own links are counted from their links'
    sorted positions (a binary search per link of the one with fewer), not pair by pair: two
    parameters used a hundred times each would cost ten thousand comparisons. Most items are
    dummies, with one link each way; they are compared directly.
    """
    dirty = [True] * len(columns)  # a column to look at again: it or a neighbour changed
    left, right = grid.left, grid.right
    getpos = pos.__getitem__
    for _ in range(rounds):
        changed = [False] * len(columns)
        for k, column in enumerate(columns):
            if not dirty[k] or len(column) < 2:
                continue
            if work.exhausted:
                return
            work.check()
            # one link: its position; none: -1; more: their sorted positions
            lefts = [(pos[links[0]] if len(links) == 1 else sorted(map(getpos, links)) if links else -1)
                     for links in map(left.__getitem__, column)]
            rights = [(pos[links[0]] if len(links) == 1 else sorted(map(getpos, links)) if links else -1)
                      for links in map(right.__getitem__, column)]
            work.spent += 3 * len(column)
            u, lu, ru = column[0], lefts[0], rights[0]
            for p in range(1, len(column)):
                v, lv, rv = column[p], lefts[p], rights[p]
                # crossings as they are, minus crossings were u and v swapped
                if lu.__class__ is int and lv.__class__ is int:
                    gain = (lu > lv) - (lu < lv) if lu >= 0 and lv >= 0 else 0
                else:
                    gain = _pair_gain(lu, lv)
                if ru.__class__ is int and rv.__class__ is int:
                    if ru >= 0 and rv >= 0:
                        gain += (ru > rv) - (ru < rv)
                else:
                    gain += _pair_gain(ru, rv)
                if gain > 0:
                    column[p - 1], column[p] = v, u
                    pos[u], pos[v] = p, p - 1
                    lefts[p - 1], rights[p - 1] = lv, rv
                    changed[k] = True  # u moves on down, compared next with the item below
                else:
                    lefts[p - 1], rights[p - 1] = lu, ru
                    u, lu, ru = v, lv, rv
        if not any(changed):
            return
        dirty = [any(changed[max(k - 1, 0):k + 2]) for k in range(len(columns))]


def _pair_gain(a: int | list[int], b: int | list[int]) -> int:
    """How many crossings two neighbours' links to one side make as they stand, minus how many
    they would make swapped: pairs x in a, y in b with x > y, minus those with x < y."""
    if a.__class__ is int:
        if a < 0:
            return 0
        a = [a]
    if b.__class__ is int:
        if b < 0:
            return 0
        b = [b]
    gain = 0
    if len(a) <= len(b):
        n = len(b)
        for x in a:
            gain += bisect_left(b, x) - (n - bisect_right(b, x))
    else:
        n = len(a)
        for y in b:
            gain += (n - bisect_right(a, y)) - bisect_left(a, y)
    return gain


def _pair_crossings(column: list[int], right: list, pos: list[int], size: int) -> int:
    """Crossings between a column and the next: its links' ends read in order, then counted."""
    ends: list[int] = []
    append, extend, getpos = ends.append, ends.extend, pos.__getitem__
    for u in column:
        links = right[u]
        if len(links) == 1:
            append(pos[links[0]])
        elif links:
            extend(sorted(map(getpos, links)))
    return _inversions(ends, size)


def _inversions(sequence: list[int], size: int) -> int:
    """Pairs i < j with sequence[i] > sequence[j], for values in range(size).

    Barth, Jünger and Mutzel's accumulator tree (2004): a complete binary tree over the values;
    inserting a value walks from its leaf to the root and adds up the counts of the right
    siblings on the way, which are the values already seen that are greater: O(n log size).
    Below INSERTION_LIMIT values a sorted list does the same count faster in CPython (a binary
    search and a memmove in C beat a tree walk in Python; measured 4-8x at 500-2,000 values), so
    the tree takes the long sequences, where the list's quadratic memmove would lose.
    """
    if len(sequence) <= INSERTION_LIMIT:
        seen: list[int] = []
        insert, count = seen.insert, 0
        for n, value in enumerate(sequence):
            at = bisect_right(seen, value)
            count += n - at
            insert(at, value)
        return count
    first = 1
    while first < size:
        first <<= 1
    tree = [0] * (2 * first)
    first -= 1
    count = 0
    for value in sequence:
        i = value + first
        tree[i] += 1
        while i:
            if i & 1:
                count += tree[i + 1]
            i = (i - 1) >> 1
            tree[i] += 1
    return count


# --- 4: coordinates -----------------------------------------------------------------------------

def _vertical_centres(grid: _Grid, columns: list[list[int]], v_gap: float,
                      work: _Work) -> list[float]:
    """The y of each item's centre: blocks on one line, packed, then pulled to their neighbours."""
    size = len(grid.column)
    pos = _positions(columns, size)
    root = _align(grid, columns, pos, _type1_conflicts(grid, columns, pos, work.check), work.check)
    work.check()
    height, dummy = grid.height, grid.dummy

    # Block graph: in every column, the item above must stay gap() above the item below. Two
    # blocks side by side in many columns (two long edges) are one constraint, the widest gap.
    constraint: dict[int, float] = {}  # upper block * size + lower block: the widest gap
    has_upper = [False] * size
    firsts: list[int] = []  # blocks, in the order the columns list them first
    met = [False] * size
    half = [h / 2 for h in height]
    for column in columns:
        work.check()
        previous = -1
        for b in column:
            rb = root[b]
            if not met[rb]:
                met[rb] = True
                firsts.append(rb)
            if previous >= 0:
                a = previous
                space = half[a] + half[b] + (v_gap / 2 if dummy[a] and dummy[b] else v_gap)
                key = root[a] * size + rb
                old = constraint.get(key)
                if old is None or space > old:
                    constraint[key] = space
                has_upper[rb] = True
            previous = b
    below: dict[int, list[tuple[int, float]]] = {}
    above: dict[int, list[tuple[int, float]]] = {}
    waiting = [0] * size
    for key, space in constraint.items():
        upper, lower = divmod(key, size)
        below.setdefault(upper, []).append((lower, space))
        above.setdefault(lower, []).append((upper, space))
        waiting[lower] += 1
    del constraint
    order = [block for block in firsts if not has_upper[block]]
    for block in order:  # grows while it is read: Kahn's topological order
        for lower, _ in below.get(block, ()):
            waiting[lower] -= 1
            if waiting[lower] == 0:
                order.append(lower)
    work.check()
    y = [0.0] * size
    for block in order:  # packed from the top
        top = y[block]
        for lower, space in below.get(block, ()):
            if top + space > y[lower]:
                y[lower] = top + space

    # Pull each block toward the mean height of the items it is linked to, within its room.
    neighbours: dict[int, list[int]] = {block: [] for block in order}
    for item in range(size):
        if not item & 4095:
            work.check()
        r = root[item]
        mine = neighbours[r]
        for u in grid.left[item]:
            if root[u] != r:
                mine.append(root[u])
        for v in grid.right[item]:
            if root[v] != r:
                mine.append(root[v])
    pulls = [(block, neighbours[block], above.get(block, ()), below.get(block, ()))
             for block in order if neighbours[block]]
    del neighbours
    per_pass = sum(len(n) + len(a) + len(b) for _, n, a, b in pulls) + len(pulls)
    passes = max(2, min(PULL_PASSES, PULL_WORK // max(per_pass, 1)))
    for sweep in range(passes):
        work.check()
        for block, linked, up, down in (pulls if sweep % 2 else reversed(pulls)):
            target = sum([y[b] for b in linked]) / len(linked)
            if up:
                low = max([y[b] + s for b, s in up])
                if target < low:
                    target = low
            if down:
                high = min([y[b] - s for b, s in down])
                if target > high:
                    target = high
            y[block] = target
    return [y[r] for r in root]


def _type1_conflicts(grid: _Grid, columns: list[list[int]], pos: list[int],
                     check: Callable[[], None]) -> tuple[list[bool], set[tuple[int, int]]]:
    """Links that cross a dummy-to-dummy link: the long edge keeps its straight run, they yield.

    An item with one input (every dummy) has its link marked in ``blocked[item]``; the links of
    items with several inputs are marked in the set, as (input, item).
    """
    blocked = [False] * len(grid.column)
    marked: set[tuple[int, int]] = set()
    left, dummy = grid.left, grid.dummy
    for k in range(1, len(columns) - 1):
        check()
        previous, column = columns[k], columns[k + 1]
        k0, start = 0, 0
        last = len(column) - 1
        for at, v in enumerate(column):
            inner = -1
            if dummy[v]:
                u = left[v][0]
                if dummy[u]:
                    inner = u
                    if start == at:  # the common case, a run of long edges: v alone
                        k1 = pos[u]
                        if k1 < k0:
                            blocked[v] = True
                        start, k0 = at + 1, k1
                        continue
            if at == last or inner >= 0:
                k1 = pos[inner] if inner >= 0 else len(previous) - 1
                for w in column[start:at + 1]:
                    links = left[w]
                    if len(links) == 1:
                        p = pos[links[0]]
                        if p < k0 or p > k1:
                            blocked[w] = True
                    else:
                        for u in links:
                            if pos[u] < k0 or pos[u] > k1:
                                marked.add((u, w))
                start, k0 = at + 1, k1
    return blocked, marked


def _align(grid: _Grid, columns: list[list[int]], pos: list[int],
           conflicts: tuple[list[bool], set[tuple[int, int]]], check: Callable[[], None]) -> list[int]:
    """Each item's block, named by its leftmost item: an item joins its upper median input."""
    blocked, marked = conflicts
    root = list(range(len(grid.column)))
    aligned = [False] * len(grid.column)  # already has an item of the next column joined to it
    left = grid.left
    for column in columns[1:]:
        check()
        r = -1
        for v in column:
            inputs = left[v]
            if len(inputs) == 1:
                u = inputs[0]
                if not blocked[v] and not aligned[u] and r < pos[u]:
                    aligned[u] = True
                    root[v] = root[u]
                    r = pos[u]
                continue
            if not inputs:
                continue
            inputs = sorted(inputs, key=pos.__getitem__)
            d = len(inputs)
            for m in sorted({(d - 1) // 2, d // 2}):
                u = inputs[m]
                if (u, v) not in marked and not aligned[u] and r < pos[u]:
                    aligned[u] = True
                    root[v] = root[u]
                    r = pos[u]
                    break
    return root


def _assemble(graph: GraphSnapshot, grid: _Grid, centres: list[float], op_size: float,
              h_gap: float, check: Callable[[], None] = lambda: None) -> Layout:
    widths = [0.0] * grid.columns
    for item in range(grid.first_dummy):
        k = grid.column[item]
        if grid.width[item] > widths[k]:
            widths[k] = grid.width[item]
    widths = [w or op_size for w in widths]
    lefts, x = [], 0.0
    for w in widths:
        lefts.append(x)
        x += w + h_gap
    height = grid.height
    top = min([c - h / 2 for c, h in zip(centres, height)], default=0.0)
    bottom = max([c + h / 2 for c, h in zip(centres, height)], default=0.0)

    def place(item: int) -> Placement:
        k, w, h = grid.column[item], grid.width[item], height[item]
        return Placement(lefts[k] + (widths[k] - w) / 2, centres[item] - h / 2 - top, w, h)

    boxes = {n.id: place(n.id) for n in graph.nodes}
    ops = {n: place(item) for n, item in grid.circle.items()}
    layers = {(BOX, n.id): grid.column[n.id] for n in graph.nodes}
    layers.update({(CIRCLE, n): grid.column[item] for n, item in grid.circle.items()})
    twins: dict[tuple[int, int], list[int]] = {}  # an input used twice, as in a * a
    for node in graph.nodes:
        children = node.children
        if len(children) > 1 and len(set(children)) < len(children):
            for i, child in enumerate(children):
                twins.setdefault((child, node.id), []).append(i)
    column_of = grid.column
    edge_points = {}
    for n, ((child, parent, i), chain) in enumerate(grid.chain.items()):
        if not n & 1023:
            check()
        box, circle = boxes[child], ops[parent]
        # Parallel edges leave their box apart, so each can be seen (and highlighted) on its own.
        # They all end at the circle's left end: any other point of the rim can be reached, by an
        # edge coming steeply from far above or below, only through the circle or its neighbours.
        shift = 0.0
        pair = twins.get((child, parent))
        if pair is not None:
            shift = (pair.index(i) - (len(pair) - 1) / 2) * min(PARALLEL_SPREAD, box.h / len(pair))
        points = [(box.x + box.w, box.cy + shift)]
        for dummy in chain:
            k, y = column_of[dummy], centres[dummy] - top
            points.append((lefts[k], y))
            points.append((lefts[k] + widths[k], y))
        points.append((circle.x, circle.cy))
        edge_points[(child, parent, i)] = points
    width = lefts[-1] + widths[-1] if widths else 0.0
    return Layout(boxes, ops, layers, width, bottom - top, edge_points, tuple(lefts))
