"""The guided tour: the tutorial's three steps, one click at a time, for whatever program is loaded.

The pages are written from a :class:`~engine.replay.Moment` (never from a fixed script), so the
sentences carry the live numbers of the loaded program and iteration: ``z = w × x = 0 × 1 = 0``,
``dL/dw = dL/dz · dz/dw = (-4) · (1) = -4``, ``w ← w - α · dL/dw = 0 - 0.1 · (-4) = 0.4``. Every
page knows the moment position it talks about; turning to it emits ``positionRequested`` so the
window can put the canvas at that moment and light the node or edge the sentence names.

A big graph would make a tour of hundreds of pages that nobody reads to the end, so the forward
and backward passes show a handful of steps each and sum up the rest on one page; the intro says
so. The text helpers here (forward formulas, local-gradient rules) are plain functions so the quiz
can explain answers in the same words.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QTextBrowser,
                               QVBoxLayout, QWidget)

from engine.explain import (chain_formula, derivative, escape_html, forward_formula, local_gradient_rule,
                            op_symbol, paren_number, seed_text, update_line, wrap)
from engine.explain import format_number as num
from engine.graph import CONST, INPUT, PARAM, GraphSnapshot
from engine.records import ChainRuleStep
from engine.replay import Moment

#: At most this many forward steps get a page of their own; the rest share a summary page.
MAX_FORWARD_PAGES = 10
#: At most this many chain-rule multiplications get a page of their own.
MAX_CHAIN_PAGES = 12
#: How many names a list in a sentence shows before "and N more".
MAX_LISTED = 6

INTRO, FORWARD, BACKWARD, UPDATE, REPEAT = ("Introduction", "Step 1 · Forward pass",
                                           "Step 2 · Backward pass", "Step 3 · Weight update",
                                           "Repeat")

# --- words and numbers ------------------------------------------------------------------------

#: ``num`` (a number as the canvas shows it), ``paren`` (negatives in parentheses), ``wrap`` (a
#: name as one symbol), ``forward_formula`` and ``local_gradient_rule`` come from
#: :mod:`engine.explain`, so the Tour, the Quiz and the canvas say the same thing.
paren = paren_number
__all__ = ["num", "paren", "wrap", "listing", "forward_formula", "local_gradient_rule",
           "build_pages", "moment_shape", "moment_identity", "TourPage", "TourPanel"]


def listing(items: Sequence[str], limit: int = MAX_LISTED) -> str:
    """``a, b and c``; ``a, b, … and 17 more`` when the list is long."""
    items = list(items)
    if not items:
        return ""
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _esc(text: str) -> str:
    return escape_html(text)


def _code(text: str) -> str:
    return f"<code>{_esc(text)}</code>"


def _p(*sentences: str) -> str:
    return "<p>" + " ".join(s for s in sentences if s) + "</p>"


# --- pages ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TourPage:
    """One page of the tour: which step it belongs to, its rich text, and the moment position
    (see :class:`~engine.replay.Moment`) the canvas should show while it is read."""

    step: str
    html: str
    position: int
    nodes: tuple[int, ...] = ()  # the graph nodes the page talks about

    def plain_text(self) -> str:
        return QTextDocumentFragment.fromHtml(self.html).toPlainText()


def _sample(count: int, limit: int, extra: Sequence[int] = ()) -> list[int]:
    """Which of ``count`` steps get a page: all if few, else the first ones, any ``extra``
    examples and the last one, ``limit`` in all."""
    if count <= limit:
        return list(range(count))
    extra = sorted({e for e in extra if 0 <= e < count})
    head = max(1, limit - 1 - len(extra))
    return sorted(set(range(head)) | set(extra) | {count - 1})


def _leaves(graph: GraphSnapshot, kind: str) -> list[str]:
    seen: dict[str, None] = {}
    for n in graph.nodes:
        if n.kind == kind and not n.children:
            seen.setdefault(n.name, None)
    return list(seen)


def build_pages(moment: Moment) -> list[TourPage]:
    """The whole tour for one iteration of one program, from its moment."""
    pages = [_intro_page(moment)]
    pages += _forward_pages(moment)
    pages += _backward_pages(moment)
    pages += _update_pages(moment)
    return pages


def _intro_page(m: Moment) -> TourPage:
    g = m.before
    root = g.nodes[g.root]
    loss = root.name
    description = m.program.description.removeprefix(f"{m.program.name}: ").strip()
    params = [f"{name} = {num(v)}" for name, v in zip(m.param_names, m.values)]
    inputs = [f"{n.name} = {num(n.data)}" for n in g.nodes if n.kind == INPUT]
    inputs = list(dict.fromkeys(inputs))
    consts = _leaves(g, CONST)
    ops = [n.name for n in g.nodes if n.children]
    parts = []
    if description:
        parts.append(f"<p><i>{_esc(description)}</i></p>")
    parts.append(_p(f"This program computes <b>{_esc(loss)}</b>, the loss: how wrong the model is. "
                    "Training means changing the parameters so that the loss gets smaller."))
    who = []
    if params:
        who.append(f"The <b>parameters</b>, which training adjusts, are {_esc(listing(params))}.")
    else:
        who.append("It has no parameters, so there is nothing to train; the three steps still run.")
    if inputs:
        who.append(f"The <b>inputs</b>, which stay fixed, are {_esc(listing(inputs))}.")
    if consts:
        who.append(f"Constants: {_esc(listing(consts))}.")
    parts.append(_p(*who))
    if ops:
        parts.append(_p(f"The loss is broken into {len(ops)} simple operation"
                        f"{'s' if len(ops) != 1 else ''} ({_esc(listing(ops))}), one node each on "
                        "the canvas, so the chain rule can be applied one small step at a time."))
    parts.append(_p(f"Iteration {m.iteration} has three steps: <b>1. forward pass</b> (compute the "
                    f"values and the local gradients), <b>2. backward pass</b> (the chain rule, from "
                    f"{_esc(loss)} back to the parameters) and <b>3. weight update</b> (gradient "
                    "descent). Press Next to walk through them; the canvas follows."))
    if len(m.forward) > MAX_FORWARD_PAGES or len(m.chain) > MAX_CHAIN_PAGES:
        parts.append(_p(f"This graph is big ({len(m.forward)} operations, {len(m.chain)} chain-rule "
                        "multiplications), so the tour shows the first few of each and sums up the "
                        "rest on one page: every one of them follows the same rule."))
    return TourPage(INTRO, "".join(parts), 0)


def _forward_sentence(g: GraphSnapshot, node_id: int) -> str:
    node = g.nodes[node_id]
    rules = [local_gradient_rule(g, node_id, i) for i in range(len(node.children))]
    if len(rules) == 2 and rules[0] == rules[1]:
        stored = (f"Its local gradient {_code(rules[0])} is stored for later, once for each time "
                  f"{_esc(g.nodes[node.children[0]].name)} is used.")
    elif len(rules) == 1:
        stored = f"Its local gradient {_code(rules[0])} is stored for later."
    else:
        stored = f"Its local gradients {' and '.join(_code(r) for r in rules)} are stored for later."
    return f"{_code(forward_formula(g, node_id))}. {stored}"


def _forward_pages(m: Moment) -> list[TourPage]:
    g = m.before
    n = len(m.forward)
    if n == 0:
        return [TourPage(FORWARD, _p(f"The loss {_code(g.nodes[g.root].name)} = "
                                     f"{_esc(num(g.nodes[g.root].data))} is a single number: there "
                                     "is nothing to compute and no local gradient to store."), 0)]
    pages = []
    picked = _sample(n, MAX_FORWARD_PAGES)
    previous = -1
    for k in picked:
        if k > previous + 1:
            pages.append(_forward_summary(m, previous + 1, k - 1))
        step = m.forward[k]
        text = [f"<p><b>Forward step {k + 1} of {n}.</b></p>"]
        if k == 0:
            text.append(_p("The forward pass computes every node from its inputs, in order, and, "
                           "anticipating the backward pass, also the <b>local gradients</b>: the "
                           "derivative of each node with respect to its immediate inputs."))
        text.append(_p(_forward_sentence(g, step.node)))
        if step.node == g.root:
            text.append(_p(f"This is the loss: <b>{_esc(g.nodes[g.root].name)} = "
                           f"{_esc(num(step.value))}</b>. The forward pass is done."))
        pages.append(TourPage(FORWARD, "".join(text), k + 1, (step.node, *step.children)))
        previous = k
    return pages


def _forward_summary(m: Moment, first: int, last: int) -> TourPage:
    """One page for forward steps ``first..last`` (0-based), which are not shown one by one."""
    g = m.before
    count = last - first + 1
    ops = Counter(op_symbol(s.op) for s in m.forward[first:last + 1])
    kinds = listing([f"{c} {op}" for op, c in ops.most_common()])
    text = _p(f"<b>… and {count} more forward step{'s' if count != 1 else ''}</b> (steps {first + 1} "
              f"to {last + 1}: {_esc(kinds)}), each the same: compute one node's value from its "
              "inputs and store its local gradients for the backward pass.",
              "The canvas now shows all of them.")
    last_node = m.forward[last].node
    return TourPage(FORWARD, text + _p(f"The last one: {_forward_sentence(g, last_node)}"),
                    last + 1, (last_node,))


def _backward_pages(m: Moment) -> list[TourPage]:
    g = m.after
    loss = g.nodes[g.root].name
    base = m.seed_position
    order = [g.nodes[i].name for i in range(len(g.nodes) - 1, -1, -1) if g.nodes[i].children]
    text = [_p(f"The backward pass starts from the <b>seed</b> {_code(seed_text(g))}: the loss "
               "changes one for one with itself.")]
    if m.chain:
        text.append(_p(f"Then the engine visits the nodes in reverse topological order "
                       f"({_esc(listing(order))}) and, for each input of each node, multiplies the "
                       "global gradient arriving from above by the local gradient stored in the "
                       f"forward pass: {_code('child.grad += local_grad * v.grad')}."))
    else:
        text.append(_p(f"{_esc(loss)} has no inputs, so there is nothing to multiply."))
    pages = [TourPage(BACKWARD, "".join(text), base, (g.root,))]

    n = len(m.chain)
    accumulate = next((i for i, s in enumerate(m.chain) if s.contribution > 1), -1)
    reaches_param = next((i for i, s in enumerate(m.chain)
                          if g.nodes[s.child].kind == PARAM and s.contribution == s.contributions), -1)
    picked = _sample(n, MAX_CHAIN_PAGES, [i for i in (accumulate, reaches_param)
                                          if i >= MAX_CHAIN_PAGES - 3])
    previous = -1
    for k in picked:
        if k > previous + 1:
            pages.append(_chain_summary(m, previous + 1, k - 1))
        pages.append(_chain_page(m, m.chain[k]))
        previous = k

    grads = [(name, node, grad) for name, node, grad in zip(m.param_names, m.param_nodes, m.grads)]
    lines = [_code(f"{g.grad_name(node) if node >= 0 else derivative(loss, name)} = {num(grad)}")
             for name, node, grad in grads]
    done = [_p("The backward pass is done." + (f" The gradients of the parameters: "
                                              f"{listing(lines)}." if lines else ""))]
    if grads:
        name, node, grad = grads[0]
        if node < 0:
            done.append(_p(f"{_esc(loss)} does not use {_esc(name)}, so its gradient is 0."))
        elif math.isfinite(grad) and grad != 0:
            way = "decrease" if grad < 0 else "increase"
            done.append(_p(f"{_code(g.grad_name(node))} = {_esc(num(grad))} means: if we increase "
                           f"{_esc(name)} by a tiny amount, the loss will {way} by approximately "
                           f"{_esc(num(abs(grad)))} times that amount."))
        elif grad == 0:
            done.append(_p(f"{_code(g.grad_name(node))} = 0: a tiny change of {_esc(name)} does not "
                           "change the loss (to first order)."))
    pages.append(TourPage(BACKWARD, "".join(done), m.complete,
                          tuple(node for _, node, _ in grads if node >= 0)))
    return pages


def _chain_page(m: Moment, step: ChainRuleStep) -> TourPage:
    g = m.after
    n = len(m.chain)
    child = g.nodes[step.child]
    target = g.grad_name(step.child)
    upstream = g.grad_name(step.parent)
    text = [f"<p><b>Multiplication {step.number} of {n}.</b></p>",
            _p(_code(chain_formula(g, step)))]
    source = ("the seed" if step.parent == g.root else "computed earlier in this pass")
    text.append(_p(f"The global gradient arriving from above, {_code(upstream)} = "
                   f"{_esc(num(step.upstream))} ({source}), times the local gradient "
                   f"{_code(local_gradient_rule(g, step.parent, step.input_index))} "
                   "(stored in the forward pass)."))
    if step.contributions > 1:
        if step.contribution == 1:
            text.append(_p(f"{_esc(child.name)} is used in {step.contributions} places, so this is "
                           f"only the first of its {step.contributions} contributions; the engine "
                           "will add the others when it reaches them."))
        else:
            total = f"{num(step.child_grad_before)} + {paren(step.product)} = {num(step.child_grad_after)}"
            text.append(_p(f"{_esc(child.name)} was already reached by another path "
                           f"({_code(f'{target} = {num(step.child_grad_before)}')}), so the engine "
                           f"adds this path's {_esc(num(step.product))}: "
                           f"{_code(total)}"
                           f". That is why the loop says {_code('child.grad +=')}, not "
                           f"{_code('=')}: with {_code('=')} the earlier path would be lost."))
            if step.contribution == step.contributions:
                every = "Both" if step.contributions == 2 else f"All {step.contributions}"
                text.append(_p(f"{every} paths are in: "
                               f"{_code(f'{target} = {num(step.child_grad_after)}')} is complete."))
    if step.contribution == step.contributions:
        if child.kind == PARAM:
            text.append(_p(f"<b>{_esc(child.name)} is a parameter</b>: "
                           f"{_code(f'{target} = {num(step.child_grad_after)}')} is a gradient the "
                           "weight update will use."))
        elif child.kind in (INPUT, CONST):
            what = "an input" if child.kind == INPUT else "a constant"
            text.append(_p(f"{_esc(child.name)} is {what}, not a parameter: nothing will use "
                           f"{_code(target)}, but the engine computes it anyway (it does not know "
                           "which leaves you train)."))
    return TourPage(BACKWARD, "".join(text), m.seed_position + step.number,
                    (step.parent, step.child))


def _chain_summary(m: Moment, first: int, last: int) -> TourPage:
    """One page for multiplications ``first..last`` (0-based), which are not shown one by one."""
    g = m.after
    steps = m.chain[first:last + 1]
    count = len(steps)
    added = sum(1 for s in steps if s.contribution > 1)
    params = [g.nodes[s.child].name for s in steps
              if g.nodes[s.child].kind == PARAM and s.contribution == s.contributions]
    text = [_p(f"<b>… and {count} more multiplication{'s' if count != 1 else ''}</b> "
               f"({first + 1} to {last + 1}), each the same rule: "
               f"{_code('child.grad += local_grad * v.grad')}.")]
    facts = []
    if added:
        facts.append(f"{added} of them added another path into a node already reached (the "
                     f"{_code('+=')} at work)")
    if params:
        facts.append(f"{len(params)} finished a parameter's gradient ({_esc(listing(params))})")
    if facts:
        text.append(_p(listing(facts, limit=len(facts)).capitalize() + "."))
    text.append(_p(f"The last one: {_code(chain_formula(g, steps[-1]))}."))
    return TourPage(BACKWARD, "".join(text), m.seed_position + last + 1,
                    (steps[-1].parent, steps[-1].child))


def _update_pages(m: Moment) -> list[TourPage]:
    g = m.after
    loss = g.nodes[g.root].name
    lr = num(m.lr)
    rows = []
    for name, node, value, grad, new in zip(m.param_names, m.param_nodes, m.values, m.grads,
                                            m.next_values):
        gname = g.grad_name(node) if node >= 0 else None
        rows.append((name, node, grad, update_line(name, value, grad, m.lr, new, loss, gname)))
    text = [_p("Gradient descent moves every parameter a small step <b>against</b> its gradient, "
               f"downhill on the loss: {_code('θ ← θ - α · dL/dθ')}, with the learning rate "
               f"α = {_esc(lr)} setting the step size.")]
    if rows:
        shown = rows[:MAX_LISTED]
        text.append("<p>" + "<br>".join(_code(r[3]) for r in shown) + "</p>")
        if len(rows) > len(shown):
            text.append(_p(f"… and the same for the other {len(rows) - len(shown)} parameters."))
        name, _, grad, _ = rows[0]
        if math.isfinite(grad) and grad != 0:
            sign, move = ("negative", "increase") if grad < 0 else ("positive", "decrease")
            text.append(_p(f"The gradient of {_esc(name)} is {sign}: increasing {_esc(name)} would "
                           f"{'decrease' if grad < 0 else 'increase'} the loss, so the update "
                           f"{move}s {_esc(name)}."))
    else:
        text.append(_p("This program has no parameters, so nothing moves."))
    update = TourPage(UPDATE, "".join(text), m.complete,
                      tuple(node for _, node, _, _ in rows if node >= 0))

    starts = listing([f"{name} = {num(v)}" for name, v in zip(m.param_names, m.next_values)])
    closing = [_p(f"That was iteration {m.iteration}: one forward pass, one backward pass, one "
                  "update.")]
    closing.append(_p("The process (steps 1 to 3) is repeated until convergence, when the loss "
                      "stops falling and the gradients are close to zero."
                      + (f" The next iteration starts from {_esc(starts)}." if starts else "")))
    closing.append(_p("Run the next iteration and open the tour again to see the new numbers, or "
                      "try another program: the tour is written from whatever is loaded."))
    return [update, TourPage(REPEAT, "".join(closing), m.complete)]


# --- the panel --------------------------------------------------------------------------------

def moment_shape(m: Moment) -> tuple:
    """What must stay the same for a page (or a question) to keep meaning the same step."""
    return (m.program.loss_name, m.param_names,
            tuple((n.kind, n.op, n.children) for n in m.before.nodes))


def moment_identity(m: Moment) -> tuple:
    """What makes two moments the same iteration of the same run (their position aside)."""
    return (m.program.source, m.program.name, m.iteration, m.lr, m.values)


class TourPanel(QWidget):
    """A side panel that walks the tutorial's three steps for the loaded program, one page a click.

    ``set_moment`` (re)writes the pages; Back / Next turn them and emit ``positionRequested`` with
    the moment position each page talks about. A moment that differs only in its position (the
    window following the tour, or the learner scrubbing time) changes nothing here.
    """

    positionRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pages: list[TourPage] = []
        self._index = 0
        self._shape: tuple | None = None
        self._identity: tuple | None = None

        self._step = QLabel()
        font = self._step.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self._step.setFont(font)
        self._step.setWordWrap(True)
        self._step.setTextFormat(Qt.TextFormat.PlainText)

        self._body = QTextBrowser()
        self._body.setOpenLinks(False)
        self._body.setFrameShape(QFrame.Shape.NoFrame)
        self._body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._body.setAccessibleName("Tour page")

        self._back = QPushButton("◀ Back")
        self._back.setToolTip("The previous page of the tour")
        self._next = QPushButton("Next ▶")
        self._next.setToolTip("The next page of the tour; the canvas follows")
        self._next.setDefault(True)
        self._counter = QLabel()
        self._back.clicked.connect(self.previous_page)
        self._next.clicked.connect(self.next_page)

        nav = QHBoxLayout()
        nav.addWidget(self._back)
        nav.addStretch(1)
        nav.addWidget(self._counter)
        nav.addStretch(1)
        nav.addWidget(self._next)

        layout = QVBoxLayout(self)
        layout.addWidget(self._step)
        layout.addWidget(self._body, 1)
        layout.addLayout(nav)
        self._show()

    # --- input --------------------------------------------------------------------------------

    def set_moment(self, moment: Moment) -> None:
        """Write the tour for ``moment``'s program and iteration.

        The page stays where it is when the program keeps its shape (a new iteration, a changed
        starting value), so a learner can watch a sentence's numbers change; a program of another
        shape starts the tour again. Nothing is emitted: the window already shows ``moment``.
        """
        identity = moment_identity(moment)
        if identity == self._identity:
            return
        shape = moment_shape(moment)
        keep = shape == self._shape
        self._pages = build_pages(moment)
        self._index = min(self._index, len(self._pages) - 1) if keep else 0
        self._shape, self._identity = shape, identity
        self._show()

    # --- navigation ---------------------------------------------------------------------------

    def start_over(self) -> None:
        """Back to the first page, quietly (a reset or a new program: the window is already at
        its start)."""
        self._index = 0
        self._show()

    def next_page(self) -> None:
        self.go_to_page(self._index + 1)

    def previous_page(self) -> None:
        self.go_to_page(self._index - 1)

    def go_to_page(self, index: int) -> None:
        """Turn to page ``index`` (clamped) and ask the window to show its moment."""
        if not self._pages:
            return
        self._index = max(0, min(index, len(self._pages) - 1))
        self._show()
        self.positionRequested.emit(self._pages[self._index].position)

    # --- state, for the window and for tests ---------------------------------------------------

    def page_index(self) -> int:
        return self._index

    def page_count(self) -> int:
        return len(self._pages)

    def pages(self) -> tuple[TourPage, ...]:
        return tuple(self._pages)

    def page_text(self, index: int | None = None) -> str:
        """The plain text of page ``index`` (the current page by default)."""
        if not self._pages:
            return ""
        return self._pages[self._index if index is None else index].plain_text()

    def current_position(self) -> int:
        """The moment position the current page talks about (0 before any program)."""
        return self._pages[self._index].position if self._pages else 0

    def _show(self) -> None:
        if not self._pages:
            self._step.setText("Guided tour")
            self._body.setHtml(_p("Load a program to start the tour."))
            self._counter.setText("")
            self._back.setEnabled(False)
            self._next.setEnabled(False)
            return
        page = self._pages[self._index]
        self._step.setText(page.step)
        self._body.setHtml(page.html)
        self._counter.setText(f"page {self._index + 1} of {len(self._pages)}")
        self._back.setEnabled(self._index > 0)
        self._next.setEnabled(self._index < len(self._pages) - 1)
