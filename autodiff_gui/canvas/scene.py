"""Graph snapshot → canvas items, in one place; and the highlight of the current step.

The scene keeps one item per value box, operation circle and edge, keyed by node ids from the
engine's snapshot. A new snapshot of the same shape (the next iteration) only changes texts; a new
shape (an edited program) rebuilds the items with a fresh layered layout.

What the learner sees follows the engine's records: after a forward pass the values are known and
the gradients are "?"; each forward step reveals one node; each chain-rule multiplication lights
the edge it multiplies along, its two ends, and writes the child's new gradient.

A program's graph comes in groups (``engine.groups``: a neuron, a data point's error, a sum, a
list of weights). A big graph opens with groups collapsed, each drawn as one box
(:class:`~.items.GroupBox`); a double-click opens one in place. The scene keeps the full graph
(``graph``: what the banner, the steps and the text exports speak of) and the graph as drawn
(``view``); items are keyed by what they show: a node's id, or a collapsed group's negative
key. A step's highlight is worked out on the full graph and lit on whatever item shows each
part: a multiplication inside a collapsed neuron lights the neuron's box.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, QVariantAnimation, Signal
from PySide6.QtGui import QPainterPath, QPalette, QPolygonF
from PySide6.QtWidgets import QGraphicsScene

from engine.explain import (chain_formula, escape_html, format_number, forward_formula,
                            is_auto_name, op_symbol, origin_text, seed_text)
from engine.graph import OP, GraphSnapshot
from engine.groups import (BUDGET, VisibleGraph, all_open, default_open, key_group, nesting,
                           visible_graph)
from engine.records import ChainRuleStep, ForwardStep

from .items import (COMPUTING, NONE, RECEIVING, SELECTED, UPSTREAM, Banner, Edge, GroupBox,
                    OpCircle, Overview, Theme, ValueBox)
from .layout import layered_layout

BOX_SIZE = (156.0, 58.0)
OP_SIZE = 36.0
H_GAP = 64.0  # room for a local-gradient label on the short edge into a circle
LAYOUT_OPTIONS = {"box_size": BOX_SIZE, "op_size": OP_SIZE, "h_gap": H_GAP}  # the layout thread's too
BANNER_GAP = 74.0
#: Above this many items a regrouped graph is laid out by ``background_layout`` if one is set.
BACKGROUND_ITEMS = 400
#: A graph of more items than this is drawn as an :class:`~.items.Overview` when zoomed out
#: past reading (the view says when: :meth:`GraphScene.set_overview`).
OVERVIEW_ITEMS = 2000
#: A regrouped graph of at most this many items moves to its new layout in MOTION_MS.
ANIMATE_ITEMS = 1500
MOTION_MS = 260
#: The most boxes the window draws at once: opening groups past it is refused with a sentence
#: (``refused``), since the canvas makes its items in the GUI thread (a 5,068-node graph takes
#: about 1.5 s; micrograd's 67,936-node network fully open took 15 s): the export draws more.
MAX_SHOWN_NODES = 6000
#: When one item shows several lit parts (a collapsed group), the strongest role wins.
_ROLE_RANK = {SELECTED: 1, COMPUTING: 2, UPSTREAM: 3, RECEIVING: 4}

_KIND_WORDS = {"param": "a parameter (trained by gradient descent)",
               "input": "a named input (a constant: not trained)",
               "const": "a constant written in the program", "op": "the result of an operation"}


class GraphScene(QGraphicsScene):
    #: the open groups changed and the items were rebuilt for them
    regrouped = Signal()
    #: the highlight moved: where the step's receiving (or computing) boxes are now
    highlightMoved = Signal(QRectF)
    #: the items of a regrouped graph have reached their new places
    settled = Signal()
    #: groups were not opened: the graph would be too big to draw in the window (one sentence)
    refused = Signal(str)

    def __init__(self, palette: QPalette | None = None, parent=None, grouping: bool = True) -> None:
        super().__init__(parent)
        #: whether a big graph opens grouped (False: every group open, as the command line's
        #: exports draw the whole graph)
        self.grouping = grouping
        self.view: VisibleGraph | None = None
        #: set by the window: lays a big regrouped graph out off the GUI thread, then calls
        #: :meth:`set_layout`; without it the scene lays out at once
        self.background_layout: Callable[[GraphSnapshot, VisibleGraph], None] | None = None
        #: where the group just opened or collapsed is (the view keeps it in sight), else None
        self.regroup_focus: QRectF | None = None
        self._lit: dict[tuple, str] = {}  # item key → role, as the items show it now
        self._box_inputs: dict[int, list[int]] = {}  # a collapsed group's inputs, by key
        #: whether a group opened or closed moves the items to their new places (else at once)
        self.animate = True
        self._motion: QVariantAnimation | None = None
        self._moving: list[tuple[object, QPointF]] = []  # (item, where it starts, as an offset)
        self._fading: list[object] = []
        self.theme = Theme.from_palette(palette or QPalette())
        self.setBackgroundBrush(self.theme.background)
        self.graph: GraphSnapshot | None = None
        self.boxes: dict[int, ValueBox] = {}
        self.ops: dict[int, OpCircle] = {}
        self.edges: dict[tuple[int, int, int], Edge] = {}  # (child, parent, input index) -> edge
        self.group_boxes: dict[int, GroupBox] = {}  # collapsed group id -> its box (in boxes too)
        self.results: dict[int, Edge] = {}  # op id -> edge from its circle to its result box
        self._texts: dict[int, tuple] = {}  # node id -> its tooltips (see _node_texts)
        self.banner = Banner(self.theme)
        self.addItem(self.banner)
        self.overview = Overview(self.theme)
        self.overview.setVisible(False)
        self.addItem(self.overview)
        self._shape: tuple | None = None
        self._value_known: list[bool] = []
        self._grad_known: list[bool] = []
        self._grads: list[float] = []
        self._roles: dict[object, str] = {}

    # --- building ----------------------------------------------------------------------------------
    def set_palette(self, palette: QPalette) -> None:
        self.theme = Theme.from_palette(palette)
        self.setBackgroundBrush(self.theme.background)
        graph, self._shape = self.graph, None
        self.removeItem(self.banner)
        self.banner = Banner(self.theme)
        self.addItem(self.banner)
        self.overview.theme = self.theme
        if graph is not None:
            known = (list(self._value_known), list(self._grad_known), list(self._grads))
            self._build(graph, view=self.view)
            self._value_known, self._grad_known, self._grads = known
            self._refresh_all()
            self._sync_roles()

    def has_shape_of(self, graph: GraphSnapshot) -> bool:
        """Whether the items on the scene are laid out for ``graph``'s shape already."""
        return _shape(graph) == self._shape

    def view_for(self, graph: GraphSnapshot) -> VisibleGraph:
        """The graph as the canvas would draw ``graph``: with the groups open now if it has the
        shape shown, else with the groups a graph opens with (:func:`engine.groups.default_open`).
        The last answer is kept: the presenter asks before the scene builds the same graph (a
        snapshot is frozen, so the same object has the same view)."""
        if self.view is not None and _shape(graph) == self._shape:
            opened = self.view.opened
        else:
            opened = None
        last = self._last_view
        if last is not None and last[0] is graph and last[1] == opened and last[2] == self.grouping:
            return last[3]
        view = visible_graph(graph, opened if opened is not None else
                             default_open(graph) if self.grouping else all_open(graph))
        self._last_view = (graph, opened, self.grouping, view)
        return view

    _last_view: tuple | None = None

    def set_layout(self, graph: GraphSnapshot, layout, view: VisibleGraph | None = None) -> None:
        """Build the items for ``graph`` from a layout made elsewhere (the layout thread) of
        ``view.graph`` (``graph`` itself when no view is given)."""
        if view is None:
            view = visible_graph(graph, all_open(graph))
        regroup = self.graph is not None and _shape(graph) == self._shape
        if regroup:
            graph = self.graph  # the values shown now, not those of when the layout was asked
            before = {key: box.rect() for key, box in self.boxes.items()}
            circles = {key: c.rect() for key, c in self.ops.items()}
        self._build(graph, layout, view)
        if regroup:  # the same graph, other groups open: what it showed stays
            self._refresh_all()
            self._sync_roles()
            if self.animate and len(self.boxes) + len(self.edges) <= ANIMATE_ITEMS:
                self._move_from(before, circles)
            self.regrouped.emit()

    # --- moving to a new layout -------------------------------------------------------------------
    def _move_from(self, before: dict[int, QRectF], circles: dict[int, QRectF]) -> None:
        """Start the items where what they show was drawn before, and move them to their new
        places: a node that was in a group's box comes out of that box, a group closed gathers
        at its result's old place; edges fade in once the boxes are on their way."""
        view, nest = self.view, nesting(self.graph)

        def origin(key: int) -> QRectF | None:
            if key in before:
                return before[key]
            if key < 0:  # a group just closed: where its result was
                outs = view.outputs.get(key_group(key), ())
                for o in outs:
                    if o in before:
                        return before[o]
                g = self.graph.groups[key_group(key)].parent
            else:
                g = nest.node_group[key]
            while g >= 0:  # a node or group just opened: out of the box that held it
                if -(g + 1) in before:
                    return before[-(g + 1)]
                g = self.graph.groups[g].parent
            return None

        moving = []
        for key, box in self.boxes.items():
            start = origin(key)
            if start is not None and start.topLeft() != box.rect().topLeft():
                moving.append((box, start.topLeft() - box.rect().topLeft()))
            circle = self.ops.get(key)
            if circle is not None:
                was = circles.get(key)
                offset = (was.topLeft() - circle.rect().topLeft() if was is not None
                          else moving[-1][1] if moving and moving[-1][0] is box else None)
                if offset is not None and not offset.isNull():
                    moving.append((circle, offset))
        if not moving:
            return
        self._moving = moving
        self._fading = [*self.edges.values(), *self.results.values()]
        for item, offset in moving:
            item.setPos(offset)
        for item in self._fading:
            item.setOpacity(0.0)
        motion = QVariantAnimation(self)
        motion.setStartValue(0.0)
        motion.setEndValue(1.0)
        motion.setDuration(MOTION_MS)
        motion.setEasingCurve(QEasingCurve.Type.OutCubic)
        motion.valueChanged.connect(self._step_motion)
        motion.finished.connect(self.settle)
        self._motion = motion
        motion.start()

    def _step_motion(self, t: float) -> None:
        left = 1.0 - t
        for item, offset in self._moving:
            item.setPos(offset * left)
        fade = max(0.0, (t - 0.35) / 0.65)
        for item in self._fading:
            item.setOpacity(fade)

    def moving(self) -> bool:
        return self._motion is not None

    def settle(self) -> None:
        """Put every item at its place now (the end of a move; an export does it first)."""
        motion, self._motion = self._motion, None
        if motion is None:
            return
        motion.stop()
        for item, _ in self._moving:
            item.setPos(0, 0)
        for item in self._fading:
            item.setOpacity(1.0)
        self._moving, self._fading = [], []
        motion.deleteLater()
        self.settled.emit()

    # --- groups ---------------------------------------------------------------------------------
    def open_group(self, group: int) -> None:
        """Open a collapsed group in place (and the groups it sits in)."""
        if self.view is None or not 0 <= group < len(self.graph.groups):
            return
        opened = set(self.view.opened) | {group}
        parent = self.graph.groups[group].parent
        while parent >= 0:
            opened.add(parent)
            parent = self.graph.groups[parent].parent
        self.set_opened(opened, focus=group)

    def collapse_group(self, group: int) -> None:
        """Draw an open group as one box again (the groups inside it keep their state)."""
        if self.view is None or group not in self.view.opened:
            return
        self.set_opened(self.view.opened - {group}, focus=group)

    def collapse_around(self, node_id: int) -> None:
        """Collapse the innermost open group holding a node (what a double-click on an open
        group's node does)."""
        if self.view is None or not 0 <= node_id < len(self.graph.nodes):
            return
        group = nesting(self.graph).node_group[node_id]
        while group >= 0 and group not in self.view.opened:
            group = self.graph.groups[group].parent
        if group >= 0:
            self.collapse_group(group)

    def expand_all(self) -> None:
        if self.graph is not None:
            self.set_opened(all_open(self.graph))

    def collapse_all(self) -> None:
        """Back to the level a graph opens with."""
        if self.graph is not None:
            self.set_opened(default_open(self.graph) if len(self.graph.nodes) > BUDGET else ())

    def set_opened(self, opened, focus: int | None = None) -> None:
        """Draw the graph with ``opened`` groups open, keeping every value, gradient and
        highlight it shows; a big result is laid out by ``background_layout``."""
        if self.graph is None or self.view is None:
            return
        opened = frozenset(opened)
        if opened == self.view.opened:
            return
        view = visible_graph(self.graph, opened)
        shown = len(view.graph.nodes)
        if shown > MAX_SHOWN_NODES and shown > len(self.view.graph.nodes):
            self.refused.emit(f"Not opened: that would draw {shown:,} of this graph's "
                              f"{len(self.graph.nodes):,} nodes and the canvas draws at most "
                              f"{MAX_SHOWN_NODES:,} at once; open one group at a time, or draw the "
                              f"whole graph with `autodiff export PROGRAM -o graph.svg`.")
            return
        self._focus_group = focus
        if len(view.graph.nodes) > BACKGROUND_ITEMS and self.background_layout is not None:
            self.background_layout(self.graph, view)
            return
        self.set_layout(self.graph, layered_layout(view.graph, **LAYOUT_OPTIONS), view)

    def selected_group(self) -> int | None:
        for item in self.selectedItems():
            if isinstance(item, GroupBox):
                return item.group
        return None

    def node_at_item(self, item) -> int | None:
        """The full graph's node a plain box or circle shows, else None."""
        for store in (self.boxes, self.ops):
            for key, it in store.items():
                if it is item and key >= 0:
                    return key
        return None

    _focus_group: int | None = None

    def _focus_rect(self, group: int | None) -> QRectF | None:
        """Where a group shows now: its box, or the items of its nodes."""
        if group is None or self.view is None:
            return None
        box = self.group_boxes.get(group)
        if box is not None:
            return box.rect()
        rect = QRectF()
        for n in self.graph.groups[group].nodes:
            item = self.boxes.get(self.view.shown_as[n])
            if item is not None:
                rect = rect.united(item.rect())
        return rect if not rect.isEmpty() else None

    # --- the overview -----------------------------------------------------------------------------
    def big(self) -> bool:
        """Whether the graph drawn has enough items for the overview to pay."""
        return len(self.boxes) + len(self.ops) + len(self.edges) + len(self.results) > OVERVIEW_ITEMS

    def set_overview(self, on: bool) -> None:
        """Draw the graph as one overview item (a view zoomed out past reading) or item by item."""
        on = bool(on) and self.big()
        if on != self.overview.isVisible():
            # each item hidden on its own: one parent of them all would make the scene walk
            # every child (a Python call each) on every frame, even those out of sight
            for store in (self.edges, self.results, self.ops, self.boxes):
                for item in store.values():
                    item.setVisible(not on)
            self.overview.setVisible(on)
            if on:
                self._light_overview()

    def overview_shown(self) -> bool:
        return self.overview.isVisible()

    def _fill_overview(self) -> None:
        if not self.big():
            self.overview.set_contents(QPainterPath(), {})
            self.set_overview(False)
            return
        path = QPainterPath()
        for edge in (*self.edges.values(), *self.results.values()):
            path.addPolygon(QPolygonF(edge.points))
        rects: dict[str, list[QRectF]] = {}
        t = self.theme
        for key, box in self.boxes.items():
            colour = t.op if key < 0 else t.kind_color(box.kind)
            rects.setdefault(colour.name(), []).append(box.rect())
        for circle in self.ops.values():
            rects.setdefault(t.op.name(), []).append(circle.rect())
        self.overview.set_contents(path, rects)

    def _light_overview(self) -> None:
        lit = []
        for (kind, key), role in self._lit.items():
            item = self._item((kind, key))
            if isinstance(item, Edge):
                path = QPainterPath()
                path.addPolygon(QPolygonF(item.points))
                lit.append((role, path))
            elif item is not None:
                lit.append((role, item.rect()))
        self.overview.set_lit(lit)

    # --- building -------------------------------------------------------------------------------
    def _build(self, graph: GraphSnapshot, layout=None, view: VisibleGraph | None = None) -> None:
        self.settle()
        overview = self.overview.isVisible()
        old = [*self.boxes.values(), *self.ops.values(), *self.edges.values(), *self.results.values()]
        if len(old) > OVERVIEW_ITEMS:
            # taking 19,000 items out of the scene's index one by one takes seconds; clearing
            # the scene takes milliseconds (the banner and the overview are made again)
            title, text, width = self.banner.title, self.banner.text, self.banner.width
            self.clear()
            self.banner = Banner(self.theme)
            self.banner.set_width(width)
            self.banner.set_text(title, text)
            self.addItem(self.banner)
            self.overview = Overview(self.theme)
            self.addItem(self.overview)
        else:
            for item in old:
                self.removeItem(item)
        self.overview.setVisible(False)
        # (the lit parts, self._roles, stay: a regrouped graph shows the same moment)
        self.boxes, self.ops, self.edges, self.results = {}, {}, {}, {}
        self.group_boxes, self._lit = {}, {}
        self._texts = {}
        if view is None or view.full is not graph and _shape(view.full) != _shape(graph):
            view = self.view_for(graph)
        shown = view.graph
        keys = view.keys
        if layout is None:
            layout = layered_layout(shown, **LAYOUT_OPTIONS)
        for n in shown.nodes:
            key = keys[n.id]
            p = layout.boxes[n.id]
            rect = QRectF(p.x, p.y, p.w, p.h)
            if key < 0:
                box = GroupBox(rect, self.theme, key_group(key))
                self.group_boxes[key_group(key)] = box
            else:
                box = ValueBox(rect, self.theme, n.kind)
            self.addItem(box)
            self.boxes[key] = box
            if n.children:
                q = layout.ops[n.id]
                symbol = op_symbol(n.op) if n.op != "group" else "⋯"
                circle = OpCircle(QRectF(q.x, q.y, q.w, q.h), self.theme, symbol, grouped=key < 0)
                self.addItem(circle)
                self.ops[key] = circle
                start = QPointF(q.x + q.w, q.y + q.h / 2)
                end = QPointF(p.x, p.y + p.h / 2)
                result = Edge([start, end], self.theme)
                self.addItem(result)
                self.results[key] = result
        for n in shown.nodes:
            key = keys[n.id]
            for i, c in enumerate(n.children):
                pts = layout.edge_points.get((c, n.id, i))
                if pts:
                    points = [QPointF(x, y) for x, y in pts]
                else:
                    a, q = layout.boxes[c], layout.ops[n.id]
                    points = [QPointF(a.x + a.w, a.y + a.h / 2), QPointF(q.x, q.y + q.h / 2)]
                # twin edges (a * a) meet at the circle: their labels sit apart, near the box
                edge = Edge(points, self.theme, label_at=0.25 if n.children.count(c) > 1 else 0.5)
                self.addItem(edge)
                self.edges[(keys[c], key, i)] = edge
        self._fill_overview()
        if overview:  # still zoomed out: the new items hide behind the overview at once
            self.set_overview(True)
        self.view = view
        self._box_inputs = {keys[n.id]: [keys[c] for c in n.children]
                            for n in shown.nodes if keys[n.id] < 0}
        width = max(layout.width, 560.0)
        banner_width = min(width, 1000.0)  # a wide graph keeps a banner that fits a screen
        self.banner.set_width(banner_width)
        self.banner.setPos(0, -BANNER_GAP)
        self.graph = graph
        self._shape = _shape(graph)
        self.regroup_focus = self._focus_rect(self._focus_group)
        self._focus_group = None
        # last: a view refits on this signal and asks where the loss is
        try:
            self.setSceneRect(QRectF(-24, -BANNER_GAP - 16, width + 48,
                                     layout.height + BANNER_GAP + 40))
        finally:
            self.regroup_focus = None

    # --- showing a moment -------------------------------------------------------------------------
    def show_graph(self, graph: GraphSnapshot, grads_known: bool = True) -> None:
        """Show a whole snapshot: values, and gradients if the backward pass has run."""
        if _shape(graph) != self._shape:
            self._build(graph)
        self.graph = graph
        n = len(graph.nodes)
        self._value_known = [True] * n
        self._grad_known = [grads_known] * n
        self._grads = [node.grad for node in graph.nodes]
        self._clear_roles()
        self._refresh_all()
        self._sync_roles()

    def begin_iteration(self, graph: GraphSnapshot) -> None:
        """A step-by-step iteration starts: only the leaves' values are known."""
        if _shape(graph) != self._shape:
            self._build(graph)
        self.graph = graph
        self._value_known = [not node.children for node in graph.nodes]
        self._grad_known = [False] * len(graph.nodes)
        self._grads = [0.0] * len(graph.nodes)
        self._clear_roles()
        self._refresh_all()
        self._sync_roles()
        self.set_banner("Step 1 · forward pass", "compute each node from its inputs, left to right")

    def show_forward_step(self, step: ForwardStep, total: int) -> None:
        g = self.graph
        if g is None or step.node >= len(g.nodes):
            return
        self._value_known[step.node] = True
        self._clear_roles()
        self._light_forward_step(step)
        self._sync_roles()
        self._refresh_node(step.node)
        self.set_banner(f"Step 1 · forward pass, {step.number} of {total}", forward_formula(g, step.node))

    def begin_backward(self) -> None:
        g = self.graph
        if g is None:
            return
        self._grad_known[g.root] = True
        self._grads[g.root] = 1
        self._refresh_node(g.root)

    def show_seed(self) -> None:
        """Step 0 of the backward pass: the loss's gradient becomes 1 (``dL/dL = 1``), its box lit."""
        if self.graph is None:
            return
        self.begin_backward()
        self._clear_roles()
        self._set_role(("box", self.graph.root), RECEIVING)
        self._sync_roles()
        self.set_banner("Step 2 · backward pass, step 0: the seed", seed_text(self.graph))

    def show_chain_rule_step(self, step: ChainRuleStep, text: str, total: int | None = None) -> None:
        g = self.graph
        if g is None or step.child >= len(g.nodes):
            return
        if not self._grad_known[g.root]:
            self.begin_backward()
        self._clear_roles()
        self._grads[step.child] = step.child_grad_after
        self._grad_known[step.child] = True
        self._light_chain_step(step)
        self._sync_roles()
        self._refresh_node(step.child)
        of = f" of {total}" if total else ""
        self.set_banner(f"Step 2 · backward pass, multiplication {step.number}{of}", text)

    def show_moment(self, moment) -> None:
        """Put the canvas at any moment of an iteration (an ``engine.replay.Moment``): values
        known up to its forward step, gradients up to its multiplication, the last one lit."""
        if moment.position >= moment.complete:
            self.show_graph(moment.after)
            if moment.chain:
                last = moment.chain[-1]
                self._light_chain_step(last)
                self._sync_roles()
                self.set_banner(f"Step 2 · backward pass, multiplication {last.number} of "
                                f"{len(moment.chain)} (the last)", chain_formula(moment.after, last))
            return
        g = moment.before
        if _shape(g) != self._shape:
            self._build(g)
        self.graph = moment.after
        known = [not node.children for node in g.nodes]
        for step in moment.forward[:moment.forward_done]:
            known[step.node] = True
        self._value_known = known
        shown = moment.shown_grads()
        self._grad_known = [x == x for x in shown]  # NaN: not reached yet
        self._grads = [0.0 if x != x else x for x in shown]
        if moment.seeded:
            self._grad_known[g.root] = True
            self._grads[g.root] = 1
        self._clear_roles()
        self._refresh_all()
        self._sync_roles()
        if moment.chain_done:
            step = moment.chain[moment.chain_done - 1]
            self._light_chain_step(step)
            self._sync_roles()
            self.set_banner(f"Step 2 · backward pass, multiplication {step.number} of "
                            f"{len(moment.chain)}", chain_formula(moment.after, step))
        elif moment.seeded:
            self.show_seed()
        elif moment.forward_done:
            step = moment.forward[moment.forward_done - 1]
            self._light_forward_step(step)
            self._sync_roles()
            self.set_banner(f"Step 1 · forward pass, {step.number} of {len(moment.forward)}",
                            forward_formula(g, step.node))
        else:
            self.set_banner("Step 1 · forward pass", "compute each node from its inputs, left to right")

    def _light_forward_step(self, step: ForwardStep) -> None:
        node = self.graph.nodes[step.node]
        self._set_role(("box", step.node), COMPUTING)
        self._set_role(("op", step.node), COMPUTING)
        for i, c in enumerate(node.children):
            self._set_role(("edge", (c, step.node, i)), COMPUTING)

    def _light_chain_step(self, step: ChainRuleStep) -> None:
        self._set_role(("box", step.parent), UPSTREAM)
        self._set_role(("op", step.parent), UPSTREAM)
        self._set_role(("result", step.parent), UPSTREAM)
        self._set_role(("edge", (step.child, step.parent, step.input_index)), RECEIVING)
        self._set_role(("box", step.child), RECEIVING)

    def select_edge(self, child: int, parent: int, index: int) -> None:
        self._clear_roles()
        self._set_role(("edge", (child, parent, index)), SELECTED)
        self._set_role(("box", child), RECEIVING)
        self._set_role(("box", parent), UPSTREAM)
        self._sync_roles()

    def set_banner(self, title: str, text: str) -> None:
        self.banner.set_text(title, text)

    def clear_highlight(self) -> None:
        self._clear_roles()
        self._sync_roles()

    # --- queries (tests and the window) -----------------------------------------------------------
    def highlighted(self) -> dict[object, str]:
        """Every lit part of the full graph: ("box", id), ("op", id), ("edge", (child, parent,
        i)) → its role (whether it shows on its own or inside a collapsed group's box)."""
        return dict(self._roles)

    def lit_items(self) -> dict[tuple, str]:
        """What the items show lit: ("box", key), ("op", key), ("result", key), ("edge",
        (child key, parent key, i)) → role, where a key is a node id or a collapsed group's
        (negative) key."""
        return dict(self._lit)

    def group_texts(self, group: int) -> tuple[str, str, str]:
        b = self.group_boxes[group]
        return b.name, b.value_text, b.grad_text

    def displayed_graph(self) -> GraphSnapshot | None:
        """The snapshot as the canvas shows it now: a value or gradient not yet computed at this
        moment of the pass is NaN (written as null in JSON)."""
        g = self.graph
        if g is None:
            return None
        nan = float("nan")
        data = [n.data if known else nan for n, known in zip(g.nodes, self._value_known)]
        grads = [gr if known else nan for gr, known in zip(self._grads, self._grad_known)]
        return g.with_values(data, grads)

    def root_rect(self) -> QRectF | None:
        """Where the loss's box is, in scene coordinates."""
        if self.graph is None or self.view is None:
            return None
        box = self.boxes.get(self.view.shown_as[self.graph.root])
        return box.rect() if box is not None else None

    def box_texts(self, node_id: int) -> tuple[str, str, str]:
        b = self.boxes[node_id]
        return b.name, b.value_text, b.grad_text

    # --- internals --------------------------------------------------------------------------------
    def _item(self, key):
        kind, ident = key
        return {"box": self.boxes, "op": self.ops, "edge": self.edges, "result": self.results}[kind].get(ident)

    def _set_role(self, key, role: str) -> None:
        """Light a part of the full graph (shown by :meth:`_sync_roles`)."""
        if role:
            self._roles[key] = role
        else:
            self._roles.pop(key, None)

    def _clear_roles(self) -> None:
        self._roles = {}

    def _shown_key(self, key) -> tuple | None:
        """The item that shows a part of the full graph: itself, or the collapsed group's box
        (or the edge into it) that it is hidden in."""
        view = self.view
        if view is None:
            return None
        kind, ident = key
        n = len(view.shown_as)
        if kind == "edge":
            child, parent, index = ident
            if not (0 <= child < n and 0 <= parent < n):
                return None
            c, p = view.shown_as[child], view.shown_as[parent]
            if p >= 0:
                return ("edge", (c, p, index))
            if c == p:  # inside one collapsed group
                return ("box", p)
            inputs = self._box_inputs.get(p, [])
            return ("edge", (c, p, inputs.index(c))) if c in inputs else ("box", p)
        if not 0 <= ident < n:
            return None
        shown = view.shown_as[ident]
        return (kind, ident) if shown >= 0 else ("box", shown)

    def _sync_roles(self) -> None:
        """Show the lit parts on the items, repainting only the items whose role changed."""
        lit: dict[tuple, str] = {}
        for key, role in self._roles.items():
            item_key = self._shown_key(key)
            if item_key is not None and _ROLE_RANK.get(role, 0) > _ROLE_RANK.get(lit.get(item_key, ""), 0):
                lit[item_key] = role
        for item_key in self._lit.keys() - lit.keys():
            item = self._item(item_key)
            if item is not None:
                item.set_role(NONE)
        for item_key, role in lit.items():
            if self._lit.get(item_key) != role:
                item = self._item(item_key)
                if item is not None:
                    item.set_role(role)
        moved = lit != self._lit
        self._lit = {k: r for k, r in lit.items() if self._item(k) is not None}
        if moved and self.overview.isVisible():
            self._light_overview()
        if moved and self._lit:
            where = QRectF()
            for (kind, key), role in self._lit.items():
                if kind == "box" and role in (RECEIVING, COMPUTING):
                    where = where.united(self.boxes[key].rect())
            if where.isEmpty():
                for (kind, key) in self._lit:
                    if kind == "box":
                        where = where.united(self.boxes[key].rect())
            if not where.isEmpty():
                self.highlightMoved.emit(where)

    def _refresh_all(self) -> None:
        shown_as = self.view.shown_as if self.view is not None else range(len(self.graph.nodes))
        for node in self.graph.nodes:
            if shown_as[node.id] >= 0:
                self._refresh_node(node.id)
        for group in self.group_boxes:
            self._refresh_group(group)

    def _refresh_group(self, group: int) -> None:
        """A collapsed group's box: its name, its result's value and gradient as far as the pass
        has computed them (several results: how many are known)."""
        g, view = self.graph, self.view
        box = self.group_boxes[group]
        info = g.groups[group]
        outs = view.outputs.get(group, ())
        inside = len(view.members.get(group, ()))
        if len(outs) == 1:
            o = outs[0]
            value = format_number(g.nodes[o].data) if self._value_known[o] else "…"
            grad = format_number(self._grads[o]) if self._grad_known[o] else "?"
            box.set_texts(info.name, f"value {value}", f"grad  {grad}")
            about = (f"value: {value}<br>gradient {escape_html(g.grad_name(o))}: {grad}")
        else:
            known = sum(1 for o in outs if self._grad_known[o])
            box.set_texts(info.name, f"{len(outs)} results",
                          f"grads {known} of {len(outs)}" if known else "grads ?")
            about = f"{len(outs)} results used outside it; {known} of their gradients known"
        box.setToolTip(f"<b>{escape_html(info.name)}</b> — {escape_html(info.text)}, a group of "
                       f"{inside} nodes<br>{about}<br>Double-click (or select it and press Enter) "
                       f"to open it; double-click a node inside an open group to close it again")

    def show_update(self, moves: dict[str, tuple[float, float]]) -> None:
        """Step 3, the weight update: each parameter's box shows its value going from the old
        to the new (``name → (old, new)``); the rest of the graph keeps this iteration's numbers."""
        g = self.graph
        if g is None:
            return
        for node in g.nodes:
            if node.kind == "param" and node.name in moves and node.id in self.boxes:
                # (a parameter inside a collapsed list shows on its group's box: not here)
                old, new = moves[node.name]
                box = self.boxes[node.id]
                box.set_texts(node.name, f"value {format_number(old)} → {format_number(new)}",
                              box.grad_text)

    def _refresh_node(self, node_id: int) -> None:
        view = self.view
        shown_as = view.shown_as if view is not None else None
        if shown_as is not None and shown_as[node_id] < 0:
            self._refresh_group(key_group(shown_as[node_id]))
            return
        g = self.graph
        node = g.nodes[node_id]
        known = self._value_known[node_id]
        value = format_number(node.data) if known else "…"
        grad = format_number(self._grads[node_id]) if self._grad_known[node_id] else "?"
        box = self.boxes[node_id]
        box.set_texts(node.name, f"value {value}", f"grad  {grad}")
        texts = self._texts.get(node_id)
        # the names in a node's tooltips are part of the scene's shape (a new shape rebuilds the
        # items, and these texts with them); where the program made the node may change alone
        if texts is None or texts[0] != (node.origin, node.label):
            texts = self._texts[node_id] = ((node.origin, node.label),
                                            *_node_texts(g, node_id, node_id in self.ops))
        _, tip, op_tip, edge_tips = texts
        box.setToolTip(tip.format(value=value, grad=grad))
        if op_tip is not None:
            op_item = self.ops[node_id]
            if op_item.toolTip() != op_tip:
                op_item.setToolTip(op_tip)
            for i, (c, local) in enumerate(zip(node.children, node.local_grads)):
                edge = self.edges.get((shown_as[c] if shown_as is not None else c, node_id, i))
                if edge is None:
                    continue
                edge.set_label(format_number(local, 4) if known else "")
                edge.setToolTip(edge_tips[i].format(local=format_number(local) if known else "?"))


def _node_texts(g: GraphSnapshot, node_id: int, has_op: bool) -> tuple[str, str | None, list[str]]:
    """The tooltips of a node's box, its operation and its input edges, with ``{value}``,
    ``{grad}`` and ``{local}`` left for the numbers: the names in them are the same at every
    moment of the graph, and writing them (escaped, with their derivative names) cost more than
    the rest of a time-travel step."""
    node = g.nodes[node_id]

    def esc(text: str) -> str:
        return escape_html(text).replace("{", "{{").replace("}", "}}")

    gname = g.grad_name(node_id)
    tip = (f"<b>{esc(node.name)}</b> — {esc(_KIND_WORDS.get(node.kind, node.kind))}<br>"
           f"value: {{value}} (computed in the forward pass)<br>"
           f"gradient {esc(gname)}: {{grad}} (the backward pass: how much "
           f"{esc(g.nodes[g.root].name)} changes per unit change of {esc(node.name)})")
    if node.kind != OP or not has_op:
        return tip, None, []
    where = origin_text(node)
    made = f"<br>made by {where} of the program" if where else ""
    if where and is_auto_name(node):
        tip += (f"<br>{esc(node.name)} is an automatic name: nothing in the program names it; "
                f"it was made by {esc(where)}")
    op_tip = (f"operation {op_symbol(node.op)}: computes {escape_html(node.name)} from "
              f"{', '.join(escape_html(g.nodes[c].name) for c in node.children)}{made}")
    edge_tips = []
    for c in node.children:
        lname = g.local_grad_name(node_id, c)
        edge_tips.append(
            f"local gradient {esc(lname)} = {{local}}<br>"
            f"how much {esc(node.name)} changes per unit change of {esc(g.nodes[c].name)};"
            f" computed in the forward pass, multiplied by {esc(gname)} "
            f"in the backward pass")
    return tip, op_tip, edge_tips


def _shape(graph: GraphSnapshot) -> tuple:
    """What the scene's items depend on. The last few graphs' are kept by identity (a snapshot is
    frozen): loading a 68,000-node network asks five times for the same graph's."""
    for g, shape in _SHAPES:
        if g is graph:
            return shape
    shape = (tuple((n.kind, n.op, n.children, n.name) for n in graph.nodes), len(graph.groups))
    _SHAPES.insert(0, (graph, shape))
    del _SHAPES[2:]
    return shape


_SHAPES: list[tuple[GraphSnapshot, tuple]] = []
