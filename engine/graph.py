"""Plain snapshots of a Value graph, and the observable forward and backward passes.

A snapshot copies what a view needs (names, operations, values, gradients, edges) into frozen
tuples, so a drawing or an export never touches live ``Value`` objects that another thread may be
changing. Node ids are positions in the topological order; the graph a program makes has the same
shape at every iteration, so ids stay stable while values change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from .records import ChainRuleStep, ForwardStep
from .value import Value, topological_order

#: What each kind of node is: a trained parameter, a named input, an unnamed constant, an operation.
PARAM, INPUT, CONST, OP = "param", "input", "const", "op"

OP_SYMBOLS = {"+": "+", "*": "×", "**": "^", "exp": "exp", "log": "log", "tanh": "tanh",
              "sigmoid": "σ", "relu": "relu", "sin": "sin", "cos": "cos", "sqrt": "√", "abs": "|·|"}
_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def op_symbol(op: str) -> str:
    """The symbol drawn in an operation's circle: ×, +, x², exp …"""
    if op.startswith("**") and len(op) > 2:
        exponent = op[2:]
        return "x" + exponent.translate(_SUPERSCRIPT)
    return OP_SYMBOLS.get(op, op)


def format_number(x: float, digits: int = 6) -> str:
    """Up to ``digits`` significant digits; -0 shows as 0, non-finite numbers as inf / nan."""
    if isinstance(x, bool):
        x = int(x)
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    s = f"{x:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return s


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


@dataclass(frozen=True, slots=True)
class GraphSnapshot:
    nodes: tuple[NodeInfo, ...]
    root: int

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
        return f"d{_wrap(self.nodes[self.root].name)}/d{_wrap(self.nodes[node_id].name)}"

    def local_grad_name(self, parent: int, child: int) -> str:
        """``de/dz``: the derivative of an operation's result with respect to one input."""
        return f"d{_wrap(self.nodes[parent].name)}/d{_wrap(self.nodes[child].name)}"

    def with_values(self, data: list[float], grad: list[float],
                    local_grads: list[tuple[float, ...]] | None = None) -> GraphSnapshot:
        nodes = tuple(replace(n, data=data[n.id], grad=grad[n.id],
                              local_grads=n.local_grads if local_grads is None else local_grads[n.id])
                      for n in self.nodes)
        return GraphSnapshot(nodes, self.root)


def _wrap(name: str) -> str:
    simple = name.isidentifier() or name.replace("[", "").replace("]", "").replace("_", "").isalnum()
    return name if simple else f"({name})"


def snapshot(root: Value, kinds: dict[int, str] | None = None) -> GraphSnapshot:
    """Copy the graph below ``root`` into a :class:`GraphSnapshot`.

    ``kinds`` maps ``id(value)`` of parameters and inputs to PARAM / INPUT (the interpreter knows
    which leaves are which); other leaves are constants.
    """
    topo = topological_order(root)
    index = {id(v): i for i, v in enumerate(topo)}
    kinds = kinds or {}
    names: list[str] = []
    nodes = []
    for i, v in enumerate(topo):
        children = tuple(index[id(c)] for c in v._children)
        if v._children:
            kind = OP
        else:
            kind = kinds.get(id(v), PARAM if v.label else CONST)
        name = v.label or _expression_name(v, children, names)
        names.append(name)
        nodes.append(NodeInfo(i, name, v.label, kind, v.op, v.data, v.grad, children,
                              tuple(v._local_grads)))
    return GraphSnapshot(tuple(nodes), len(topo) - 1)


def _expression_name(v: Value, children: tuple[int, ...], names: list[str]) -> str:
    """A short name for an unlabelled node: ``-1``, ``-y``, ``w·x``; ``t7`` when it gets long."""
    if not v._children:
        return format_number(v.data)
    kids = [names[c] for c in children]
    op = v.op
    if op == "*" and len(kids) == 2 and kids[1] == "-1":
        name = f"-{kids[0]}" if _atomic(kids[0]) else f"-({kids[0]})"
    elif op == "*" and len(kids) == 2:
        name = "·".join(k if _atomic(k) else f"({k})" for k in kids)
    elif op == "+" and len(kids) == 2:
        name = f"{kids[0]} - {kids[1][1:]}" if kids[1].startswith("-") and _atomic(kids[1][1:]) \
            else f"{kids[0]} + {kids[1]}"
    elif op.startswith("**") and len(op) > 2:
        base = kids[0] if _atomic(kids[0]) else f"({kids[0]})"
        name = base + op[2:].translate(_SUPERSCRIPT)
    elif op == "**":
        name = f"{kids[0]}^{kids[1]}"
    else:
        name = f"{op}({kids[0]})"
    if len(name) > 12:
        name = f"t{len(names)}"
    return name


def _atomic(name: str) -> bool:
    return name.replace("[", "").replace("]", "").replace("_", "").replace(".", "").isalnum()


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
    """The banner for one multiplication: ``dL/dz = dL/de · de/dz = (-4) · (1) = -4``.

    For a node reached by several paths the ``+=`` shows as a running sum
    (``dL/da = 3 + 6 = 9``).
    """
    target = graph.grad_name(step.child)
    upstream = graph.grad_name(step.parent)
    local = graph.local_grad_name(step.parent, step.child)
    f = format_number
    text = (f"{target} = {upstream} · {local} = ({f(step.upstream)}) · ({f(step.local_grad)})"
            f" = {f(step.product)}")
    if step.contribution > 1:
        text = (f"{target} += {upstream} · {local} = ({f(step.upstream)}) · ({f(step.local_grad)}):"
                f" {target} = {f(step.child_grad_before)} + {f(step.product)}"
                f" = {f(step.child_grad_after)}")
    return text
