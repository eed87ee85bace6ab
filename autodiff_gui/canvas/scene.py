"""Graph snapshot → canvas items, in one place; and the highlight of the current step.

The scene keeps one item per value box, operation circle and edge, keyed by node ids from the
engine's snapshot. A new snapshot of the same shape (the next iteration) only changes texts; a new
shape (an edited program) rebuilds the items with a fresh layered layout.

What the learner sees follows the engine's records: after a forward pass the values are known and
the gradients are "?"; each forward step reveals one node; each chain-rule multiplication lights
the edge it multiplies along, its two ends, and writes the child's new gradient.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGraphicsScene

from engine.explain import (chain_formula, escape_html, format_number, forward_formula,
                            is_auto_name, op_symbol, origin_text, seed_text)
from engine.graph import OP, GraphSnapshot
from engine.records import ChainRuleStep, ForwardStep

from .items import COMPUTING, NONE, RECEIVING, SELECTED, UPSTREAM, Banner, Edge, OpCircle, Theme, ValueBox
from .layout import layered_layout

BOX_SIZE = (156.0, 58.0)
OP_SIZE = 36.0
H_GAP = 64.0  # room for a local-gradient label on the short edge into a circle
LAYOUT_OPTIONS = {"box_size": BOX_SIZE, "op_size": OP_SIZE, "h_gap": H_GAP}  # the layout thread's too
BANNER_GAP = 74.0

_KIND_WORDS = {"param": "a parameter (trained by gradient descent)",
               "input": "a named input (a constant: not trained)",
               "const": "a constant written in the program", "op": "the result of an operation"}


class GraphScene(QGraphicsScene):
    def __init__(self, palette: QPalette | None = None, parent=None) -> None:
        super().__init__(parent)
        self.theme = Theme.from_palette(palette or QPalette())
        self.setBackgroundBrush(self.theme.background)
        self.graph: GraphSnapshot | None = None
        self.boxes: dict[int, ValueBox] = {}
        self.ops: dict[int, OpCircle] = {}
        self.edges: dict[tuple[int, int, int], Edge] = {}  # (child, parent, input index) -> edge
        self.results: dict[int, Edge] = {}  # op id -> edge from its circle to its result box
        self._texts: dict[int, tuple] = {}  # node id -> its tooltips (see _node_texts)
        self.banner = Banner(self.theme)
        self.addItem(self.banner)
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
        if graph is not None:
            known = (list(self._value_known), list(self._grad_known), list(self._grads))
            self._build(graph)
            self._value_known, self._grad_known, self._grads = known
            self._refresh_all()

    def has_shape_of(self, graph: GraphSnapshot) -> bool:
        """Whether the items on the scene are laid out for ``graph``'s shape already."""
        return _shape(graph) == self._shape

    def set_layout(self, graph: GraphSnapshot, layout) -> None:
        """Build the items for ``graph`` from a layout made elsewhere (the layout thread)."""
        self._build(graph, layout)

    def _build(self, graph: GraphSnapshot, layout=None) -> None:
        for item in [*self.boxes.values(), *self.ops.values(), *self.edges.values(),
                     *self.results.values()]:
            self.removeItem(item)
        self.boxes, self.ops, self.edges, self.results, self._roles = {}, {}, {}, {}, {}
        self._texts = {}
        if layout is None:
            layout = layered_layout(graph, **LAYOUT_OPTIONS)
        for n in graph.nodes:
            p = layout.boxes[n.id]
            box = ValueBox(QRectF(p.x, p.y, p.w, p.h), self.theme, n.kind)
            self.addItem(box)
            self.boxes[n.id] = box
            if n.kind == OP:
                q = layout.ops[n.id]
                circle = OpCircle(QRectF(q.x, q.y, q.w, q.h), self.theme, op_symbol(n.op))
                self.addItem(circle)
                self.ops[n.id] = circle
                start = QPointF(q.x + q.w, q.y + q.h / 2)
                end = QPointF(p.x, p.y + p.h / 2)
                result = Edge([start, end], self.theme)
                self.addItem(result)
                self.results[n.id] = result
        for n in graph.nodes:
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
                self.edges[(c, n.id, i)] = edge
        width = max(layout.width, 560.0)
        banner_width = min(width, 1000.0)  # a wide graph keeps a banner that fits a screen
        self.banner.set_width(banner_width)
        self.banner.setPos(0, -BANNER_GAP)
        self.graph = graph
        self._shape = _shape(graph)
        # last: a view refits on this signal and asks where the loss is
        self.setSceneRect(QRectF(-24, -BANNER_GAP - 16, width + 48, layout.height + BANNER_GAP + 40))

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
        self.clear_highlight()
        self._refresh_all()

    def begin_iteration(self, graph: GraphSnapshot) -> None:
        """A step-by-step iteration starts: only the leaves' values are known."""
        if _shape(graph) != self._shape:
            self._build(graph)
        self.graph = graph
        self._value_known = [not node.children for node in graph.nodes]
        self._grad_known = [False] * len(graph.nodes)
        self._grads = [0.0] * len(graph.nodes)
        self.clear_highlight()
        self._refresh_all()
        self.set_banner("Step 1 · forward pass", "compute each node from its inputs, left to right")

    def show_forward_step(self, step: ForwardStep, total: int) -> None:
        g = self.graph
        if g is None or step.node >= len(g.nodes):
            return
        self._value_known[step.node] = True
        self.clear_highlight()
        self._light_forward_step(step)
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
        self.clear_highlight()
        self._set_role(("box", self.graph.root), RECEIVING)
        self.set_banner("Step 2 · backward pass, step 0: the seed", seed_text(self.graph))

    def show_chain_rule_step(self, step: ChainRuleStep, text: str, total: int | None = None) -> None:
        g = self.graph
        if g is None or step.child >= len(g.nodes):
            return
        if not self._grad_known[g.root]:
            self.begin_backward()
        self.clear_highlight()
        self._grads[step.child] = step.child_grad_after
        self._grad_known[step.child] = True
        self._light_chain_step(step)
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
        self.clear_highlight()
        self._refresh_all()
        if moment.chain_done:
            step = moment.chain[moment.chain_done - 1]
            self._light_chain_step(step)
            self.set_banner(f"Step 2 · backward pass, multiplication {step.number} of "
                            f"{len(moment.chain)}", chain_formula(moment.after, step))
        elif moment.seeded:
            self.show_seed()
        elif moment.forward_done:
            step = moment.forward[moment.forward_done - 1]
            self._light_forward_step(step)
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
        self.clear_highlight()
        self._set_role(("edge", (child, parent, index)), SELECTED)
        self._set_role(("box", child), RECEIVING)
        self._set_role(("box", parent), UPSTREAM)

    def set_banner(self, title: str, text: str) -> None:
        self.banner.set_text(title, text)

    def clear_highlight(self) -> None:
        for key in list(self._roles):
            self._set_role(key, NONE)
        self._roles.clear()

    # --- queries (tests and the window) -----------------------------------------------------------
    def highlighted(self) -> dict[object, str]:
        """Every lit item: ("box", id), ("op", id), ("edge", (child, parent, i)) → its role."""
        return dict(self._roles)

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
        if self.graph is None or self.graph.root not in self.boxes:
            return None
        return self.boxes[self.graph.root].rect()

    def box_texts(self, node_id: int) -> tuple[str, str, str]:
        b = self.boxes[node_id]
        return b.name, b.value_text, b.grad_text

    # --- internals --------------------------------------------------------------------------------
    def _item(self, key):
        kind, ident = key
        return {"box": self.boxes, "op": self.ops, "edge": self.edges, "result": self.results}[kind].get(ident)

    def _set_role(self, key, role: str) -> None:
        item = self._item(key)
        if item is None:
            return
        item.set_role(role)
        if role:
            self._roles[key] = role
        else:
            self._roles.pop(key, None)

    def _refresh_all(self) -> None:
        for node in self.graph.nodes:
            self._refresh_node(node.id)

    def show_update(self, moves: dict[str, tuple[float, float]]) -> None:
        """Step 3, the weight update: each parameter's box shows its value going from the old
        to the new (``name → (old, new)``); the rest of the graph keeps this iteration's numbers."""
        g = self.graph
        if g is None:
            return
        for node in g.nodes:
            if node.kind == "param" and node.name in moves and node.id in self.boxes:
                old, new = moves[node.name]
                box = self.boxes[node.id]
                box.set_texts(node.name, f"value {format_number(old)} → {format_number(new)}",
                              box.grad_text)

    def _refresh_node(self, node_id: int) -> None:
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
                edge = self.edges.get((c, node_id, i))
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
    return tuple((n.kind, n.op, n.children, n.name) for n in graph.nodes)
