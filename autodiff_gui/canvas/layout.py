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
   the crossings a shared node makes; the best order found is kept.
4. **Coordinates.** Brandes and Köpf's vertical alignment joins each item to its upper median
   input into a block drawn on one horizontal line, so the tutorial's ``w → × → z → + → e → x² →
   L`` is straight and a long edge is a straight run. Blocks are packed from the top, then each is
   pulled toward its neighbours as far as the column order leaves room. Columns are as wide as
   their widest item and items are centred in them; boxes and circles on one line share a centre.

Coordinates are scene units: x grows to the right, y downwards.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from engine.graph import PARAM, GraphSnapshot

Point = tuple[float, float]
EdgeKey = tuple[int, int, int]  # (child id, parent id, input index), as GraphSnapshot.edges

BOX, CIRCLE, DUMMY = "box", "op", "dummy"

#: How many ordering sweeps at most; each is one pass over every column.
SWEEPS = 40
#: How far apart (scene units) two edges from one box to one circle leave the box.
PARALLEL_SPREAD = 12.0
#: Passes that pull blocks toward their neighbours after the top-down packing.
PULL_PASSES = 8


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
                   sweeps: int = SWEEPS) -> Layout:
    """Lay ``graph`` out left to right: leaves and parameters left, the loss at the far right.

    ``h_gap`` is the room between columns (where edge labels go), ``v_gap`` between items in a
    column (half of it between two edges). ``sweeps=0`` keeps the first, depth-first order; tests
    use it to see what the crossing reduction gains.
    """
    grid = _Grid(graph, box_size, op_size)
    order = _depth_first_order(grid, graph)
    if sweeps > 0:
        order = _reduce_crossings(grid, order, sweeps)
    centres = _vertical_centres(grid, order, v_gap)
    return _assemble(graph, grid, centres, op_size, h_gap)


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
        if node.children:
            column[node.id] = 2 + max(column[c] for c in node.children)
        for c in node.children:
            users[c].append(node.id)
        free[node.id] = node.kind != PARAM and all(free[c] for c in node.children)
    for node in reversed(nodes):  # users are settled before the nodes they use
        if free[node.id] and users[node.id]:
            # just left of the circle of its first user
            latest = min(column[u] for u in users[node.id]) - 2
            column[node.id] = max(column[node.id], latest)
    others = [column[n.id] for n in nodes if n.id != graph.root]
    if others and max(others) >= column[graph.root]:  # only when some node is not used by the loss
        column[graph.root] = max(others) + 2
    return column


class _Grid:
    """The items to place (boxes, circles, dummies), their columns, sizes and links.

    Items are numbered: box of node n is item n; circles and dummies follow. ``left[i]`` lists the
    items linked to i in the column before (an input used twice appears twice), ``right[i]`` the
    items in the column after and ``index[i]`` the input index of each of those links' edges.
    """

    def __init__(self, graph: GraphSnapshot, box_size: tuple[float, float], op_size: float):
        self.column: list[int] = []
        self.width: list[float] = []
        self.height: list[float] = []
        self.dummy: list[bool] = []
        self.left: list[list[int]] = []
        self.right: list[list[int]] = []
        self.index: list[list[int]] = []
        self.circle: dict[int, int] = {}
        self.chain: dict[EdgeKey, list[int]] = {}  # the dummies of each edge, left to right
        box_column = _box_columns(graph)
        for node in graph.nodes:
            self._add(box_column[node.id], *box_size)
        for node in graph.nodes:
            if node.children:
                circle = self._add(box_column[node.id] - 1, op_size, op_size)
                self.circle[node.id] = circle
                self._link(circle, node.id, 0)
        for child, parent, i in graph.edges:
            previous, chain = child, []
            for k in range(box_column[child] + 1, box_column[parent] - 1):
                dummy = self._add(k, 0.0, 0.0, dummy=True)
                self._link(previous, dummy, i)
                chain.append(dummy)
                previous = dummy
            self._link(previous, self.circle[parent], i)
            self.chain[(child, parent, i)] = chain
        self.columns = max(self.column) + 1 if self.column else 0

    def _add(self, column: int, width: float, height: float, dummy: bool = False) -> int:
        self.column.append(column)
        self.width.append(width)
        self.height.append(height)
        self.dummy.append(dummy)
        self.left.append([])
        self.right.append([])
        self.index.append([])
        return len(self.column) - 1

    def _link(self, a: int, b: int, index: int) -> None:
        self.right[a].append(b)
        self.index[a].append(index)
        self.left[b].append(a)


# --- 3: order within columns --------------------------------------------------------------------

def _depth_first_order(grid: _Grid, graph: GraphSnapshot) -> list[list[int]]:
    """Columns filled in the order a depth-first walk from the loss meets their items."""
    columns: list[list[int]] = [[] for _ in range(grid.columns)]
    seen = [False] * len(grid.column)
    starts = [graph.root] + [n.id for n in reversed(graph.nodes) if n.id != graph.root]
    for start in starts:
        stack = [start]
        while stack:
            item = stack.pop()
            if seen[item]:
                continue
            seen[item] = True
            columns[grid.column[item]].append(item)
            stack.extend(reversed(grid.left[item]))  # input 0 is walked, so placed, first
    return columns


def _positions(columns: list[list[int]], size: int) -> list[int]:
    pos = [0] * size
    for column in columns:
        for p, item in enumerate(column):
            pos[item] = p
    return pos


def _reduce_crossings(grid: _Grid, columns: list[list[int]], sweeps: int) -> list[list[int]]:
    """Barycenter sweeps, left→right or right→left, each followed by transposes.

    Every sweep starts again from the best order so far: alternating blindly, a right→left sweep
    (which orders everything from the loss's column back) undoes each left→right one and the two
    repeat forever (on the network preset: 1968 crossings instead of 756). A direction is kept
    while it helps; the sweeps are deterministic, so once neither direction improves on the best
    order, none will.
    """
    best = [list(c) for c in columns]
    fewest = _crossings(grid, best, _positions(best, len(grid.column)))
    rightward, failures = True, 0
    for _ in range(sweeps):
        if fewest == 0 or failures == 2:
            break
        columns = [list(c) for c in best]
        pos = _positions(columns, len(grid.column))
        if rightward:
            for k in range(1, len(columns)):
                _sort_by_left(grid, columns[k], pos)
        else:
            for k in range(len(columns) - 2, -1, -1):
                _sort_by_right(grid, columns[k], pos)
        _transpose(grid, columns, pos)
        count = _crossings(grid, columns, pos)
        if count < fewest:
            best, fewest, failures = columns, count, 0
        else:
            rightward, failures = not rightward, failures + 1
    return best


def _sort_by_left(grid: _Grid, column: list[int], pos: list[int]) -> None:
    keys = {}
    for item in column:
        links = grid.left[item]
        if links:
            keys[item] = (sum(pos[u] for u in links) / len(links), pos[item])
    _reorder(column, keys, pos)


def _sort_by_right(grid: _Grid, column: list[int], pos: list[int]) -> None:
    keys = {}
    for item in column:
        links = grid.right[item]
        if links:
            # on a tie (two inputs of one operation) input 0 goes above input 1
            keys[item] = (sum(pos[v] for v in links) / len(links),
                          sum(grid.index[item]) / len(links), pos[item])
    _reorder(column, keys, pos)


def _transpose(grid: _Grid, columns: list[list[int]], pos: list[int], rounds: int = 8) -> None:
    """Swap neighbours in a column while that removes crossings (Gansner et al., 1993)."""
    dirty = [True] * len(columns)  # a column to look at again: it or a neighbour changed
    left, right = grid.left, grid.right
    for _ in range(rounds):
        changed = [False] * len(columns)
        for k, column in enumerate(columns):
            if not dirty[k]:
                continue
            for p in range(len(column) - 1):
                u, v = column[p], column[p + 1]
                as_is = swapped = 0  # crossings among the links of u and v, and with u, v swapped
                for mine, theirs in ((left[u], left[v]), (right[u], right[v])):
                    for a in mine:
                        pa = pos[a]
                        for b in theirs:
                            if pa > pos[b]:
                                as_is += 1
                            elif pa < pos[b]:
                                swapped += 1
                if swapped < as_is:
                    column[p], column[p + 1] = v, u
                    pos[u], pos[v] = p + 1, p
                    changed[k] = True
        if not any(changed):
            return
        dirty = [any(changed[max(k - 1, 0):k + 2]) for k in range(len(columns))]


def _reorder(column: list[int], keys: dict, pos: list[int]) -> None:
    """Sort the items that have a key; those without one keep their places."""
    moving = iter(sorted(keys, key=keys.__getitem__))
    column[:] = [next(moving) if item in keys else item for item in column]
    for p, item in enumerate(column):
        pos[item] = p


def _crossings(grid: _Grid, columns: list[list[int]], pos: list[int]) -> int:
    total = 0
    for k in range(len(columns) - 1):
        pairs = sorted((pos[u], pos[v]) for u in columns[k] for v in grid.right[u])
        total += _inversions([v for _, v in pairs], len(columns[k + 1]))
    return total


def _inversions(sequence: list[int], size: int) -> int:
    """Pairs i < j with sequence[i] > sequence[j], for values in range(size): a Fenwick tree."""
    tree = [0] * (size + 1)
    count = 0
    for seen, value in enumerate(sequence):
        i, at_most = value + 1, 0
        while i > 0:
            at_most += tree[i]
            i -= i & -i
        count += seen - at_most
        i = value + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return count


# --- 4: coordinates -----------------------------------------------------------------------------

def _vertical_centres(grid: _Grid, columns: list[list[int]], v_gap: float) -> list[float]:
    """The y of each item's centre: blocks on one line, packed, then pulled to their neighbours."""
    size = len(grid.column)
    pos = _positions(columns, size)
    root = _align(grid, columns, pos, _type1_conflicts(grid, columns, pos))

    def gap(a: int, b: int) -> float:
        space = v_gap / 2 if grid.dummy[a] and grid.dummy[b] else v_gap
        return (grid.height[a] + grid.height[b]) / 2 + space

    # Block graph: in every column, the item above must stay gap() above the item below.
    below: dict[int, list[tuple[int, float]]] = {}
    above: dict[int, list[tuple[int, float]]] = {}
    waiting = dict.fromkeys((root[item] for column in columns for item in column), 0)
    for column in columns:
        for a, b in zip(column, column[1:]):
            space = gap(a, b)
            below.setdefault(root[a], []).append((root[b], space))
            above.setdefault(root[b], []).append((root[a], space))
            waiting[root[b]] += 1
    order = [block for block, n in waiting.items() if n == 0]
    queue = deque(order)
    while queue:
        block = queue.popleft()
        for lower, _ in below.get(block, ()):
            waiting[lower] -= 1
            if waiting[lower] == 0:
                order.append(lower)
                queue.append(lower)
    y = dict.fromkeys(order, 0.0)
    for block in order:  # packed from the top
        for lower, space in below.get(block, ()):
            y[lower] = max(y[lower], y[block] + space)

    # Pull each block toward the mean height of the items it is linked to, within its room.
    neighbours: dict[int, list[int]] = {block: [] for block in order}
    for item in range(size):
        r = root[item]
        neighbours[r].extend(root[u] for u in grid.left[item] if root[u] != r)
        neighbours[r].extend(root[v] for v in grid.right[item] if root[v] != r)
    for sweep in range(PULL_PASSES):
        for block in (order if sweep % 2 else reversed(order)):
            linked = neighbours[block]
            if not linked:
                continue
            target = sum(y[b] for b in linked) / len(linked)
            low = max((y[b] + s for b, s in above.get(block, ())), default=-math.inf)
            high = min((y[b] - s for b, s in below.get(block, ())), default=math.inf)
            y[block] = min(max(target, low), high)
    return [y[root[item]] for item in range(size)]


def _type1_conflicts(grid: _Grid, columns: list[list[int]], pos: list[int]) -> set[tuple[int, int]]:
    """Links that cross a dummy-to-dummy link: the long edge keeps its straight run, they yield."""
    marked: set[tuple[int, int]] = set()
    for k in range(1, len(columns) - 1):
        previous, column = columns[k], columns[k + 1]
        k0, start = 0, 0
        for index, v in enumerate(column):
            inner = next((u for u in grid.left[v] if grid.dummy[u] and grid.dummy[v]), None)
            if index == len(column) - 1 or inner is not None:
                k1 = pos[inner] if inner is not None else len(previous) - 1
                for w in column[start:index + 1]:
                    for u in grid.left[w]:
                        if pos[u] < k0 or pos[u] > k1:
                            marked.add((u, w))
                start, k0 = index + 1, k1
    return marked


def _align(grid: _Grid, columns: list[list[int]], pos: list[int],
           marked: set[tuple[int, int]]) -> list[int]:
    """Each item's block, named by its leftmost item: an item joins its upper median input."""
    root = list(range(len(grid.column)))
    aligned = [False] * len(grid.column)  # already has an item of the next column joined to it
    for column in columns[1:]:
        r = -1
        for v in column:
            inputs = sorted(grid.left[v], key=pos.__getitem__)
            if not inputs:
                continue
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
              h_gap: float) -> Layout:
    widths = [0.0] * grid.columns
    for item, k in enumerate(grid.column):
        widths[k] = max(widths[k], grid.width[item])
    widths = [w or op_size for w in widths]
    lefts, x = [], 0.0
    for w in widths:
        lefts.append(x)
        x += w + h_gap
    top = min((centres[i] - grid.height[i] / 2 for i in range(len(centres))), default=0.0)
    bottom = max((centres[i] + grid.height[i] / 2 for i in range(len(centres))), default=0.0)

    def place(item: int) -> Placement:
        k, w, h = grid.column[item], grid.width[item], grid.height[item]
        return Placement(lefts[k] + (widths[k] - w) / 2, centres[item] - h / 2 - top, w, h)

    boxes = {n.id: place(n.id) for n in graph.nodes}
    ops = {n: place(item) for n, item in grid.circle.items()}
    layers = {(BOX, n.id): grid.column[n.id] for n in graph.nodes}
    layers.update({(CIRCLE, n): grid.column[item] for n, item in grid.circle.items()})
    parallel: dict[tuple[int, int], list[int]] = {}  # an input used twice, as in a * a
    for child, parent, i in grid.chain:
        parallel.setdefault((child, parent), []).append(i)
    edge_points = {}
    for (child, parent, i), chain in grid.chain.items():
        box, circle = boxes[child], ops[parent]
        # Parallel edges leave their box apart, so each can be seen (and highlighted) on its own.
        # They all end at the circle's left end: any other point of the rim can be reached, by an
        # edge coming steeply from far above or below, only through the circle or its neighbours.
        twins = parallel[(child, parent)]
        shift = (twins.index(i) - (len(twins) - 1) / 2) * min(PARALLEL_SPREAD, box.h / len(twins))
        points = [(box.x + box.w, box.cy + shift)]
        for dummy in chain:
            k, y = grid.column[dummy], centres[dummy] - top
            points += [(lefts[k], y), (lefts[k] + widths[k], y)]
        points.append((circle.x, circle.cy))
        edge_points[(child, parent, i)] = points
    width = lefts[-1] + widths[-1] if widths else 0.0
    return Layout(boxes, ops, layers, width, bottom - top, edge_points, tuple(lefts))

