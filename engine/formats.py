"""A graph snapshot as text: Graphviz DOT, Mermaid (the tutorial's own notation) and JSON.

JSON is strict (no NaN or Infinity tokens: a non-finite number is written as null) and parses back
into the same snapshot with :func:`from_json`.
"""

from __future__ import annotations

import json
import math

from .explain import format_number, op_symbol
from .graph import CONST, OP, GraphSnapshot, Group, NodeInfo


def _num(x: float) -> float | None:
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def _unnum(x: float | None) -> float:
    return math.nan if x is None else x


def to_dict(graph: GraphSnapshot) -> dict:
    """The snapshot as JSON-ready data; an operation also says where in the program it was made
    (``"origin": "line:column"``), as the canvas's tooltips and the trace do."""
    return {
        "root": graph.root,
        "loss": _num(graph.nodes[graph.root].data),
        "nodes": [_node_dict(n) for n in graph.nodes],
        **({"groups": [{"id": g.id, "kind": g.kind, "name": g.name, "text": g.text,
                        "parent": g.parent, "nodes": list(g.nodes)} for g in graph.groups]}
           if graph.groups else {}),
    }


def _node_dict(n: NodeInfo) -> dict:
    d = {"id": n.id, "name": n.name, "label": n.label, "kind": n.kind, "op": n.op,
         "data": _num(n.data), "grad": _num(n.grad), "children": list(n.children),
         "local_grads": [_num(g) for g in n.local_grads]}
    if n.origin:
        d["origin"] = n.origin
    return d


def to_json(graph: GraphSnapshot, indent: int | None = 2) -> str:
    return json.dumps(to_dict(graph), indent=indent, allow_nan=False)


def from_json(text: str) -> GraphSnapshot:
    d = json.loads(text)
    nodes = tuple(
        NodeInfo(n["id"], n["name"], n["label"], n["kind"], n["op"], _unnum(n["data"]),
                 _unnum(n["grad"]), tuple(n["children"]),
                 tuple(_unnum(g) for g in n["local_grads"]), n.get("origin", ""))
        for n in d["nodes"])
    groups = tuple(Group(g["id"], g["kind"], g["name"], g["text"], g["parent"], tuple(g["nodes"]))
                   for g in d.get("groups", ()))
    for k, g in enumerate(groups):
        if g.id != k or not -1 <= g.parent < k or not all(0 <= n < len(nodes) for n in g.nodes):
            raise ValueError(f"group {k} ({g.name}) is not numbered in order, or names a parent "
                             f"or a node that does not exist")
    return GraphSnapshot(nodes, d["root"], groups)


def _value_text(n: NodeInfo) -> str:
    head = n.name if n.kind == CONST else f"{n.name} = {format_number(n.data)}"
    return f"{head}, grad {format_number(n.grad)}"


def to_dot(graph: GraphSnapshot) -> str:
    """A Graphviz digraph: boxes for values, circles for operations, one edge per input."""
    lines = ["digraph autodiff {", "  rankdir=LR;", '  node [fontname="DejaVu Sans"];']
    for n in graph.nodes:
        lines.append(f'  v{n.id} [shape=box, label="{_dot_escape(_value_text(n))}"];')
        if n.kind == OP:
            lines.append(f'  op{n.id} [shape=circle, label="{_dot_escape(op_symbol(n.op))}"];')
            lines.append(f"  op{n.id} -> v{n.id};")
    for n in graph.nodes:
        for child, local in zip(n.children, n.local_grads):
            lines.append(f'  v{child} -> op{n.id} [label="{_dot_escape(format_number(local))}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def to_mermaid(graph: GraphSnapshot) -> str:
    """``flowchart LR`` shaped like the tutorial's flowchart: boxes, circles, input edges."""
    lines = ["flowchart LR"]
    for n in graph.nodes:
        lines.append(f'  v{n.id}["{_mermaid_escape(_value_text(n))}"]')
        if n.kind == OP:
            lines.append(f'  op{n.id}(("{_mermaid_escape(op_symbol(n.op))}"))')
    for n in graph.nodes:
        for child, local in zip(n.children, n.local_grads):
            lines.append(f'  v{child} -- "{_mermaid_escape(format_number(local))}" --- op{n.id}')
        if n.kind == OP:
            lines.append(f"  op{n.id} --> v{n.id}")
    return "\n".join(lines) + "\n"


def _mermaid_escape(s: str) -> str:
    return s.replace('"', "#quot;")


TEXT_FORMATS = {".dot": to_dot, ".gv": to_dot, ".mmd": to_mermaid, ".json": to_json}


def records_to_csv(records) -> str:
    """A run's history, one row per iteration: iteration, lr, loss, then each parameter and its
    gradient (``w``, ``dL/dw``), before that iteration's update. Readable by a spreadsheet and
    by pandas; a non-finite number is written as ``nan`` / ``inf``, which both read."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [p.name for p in records[0].params] if records else []
    writer.writerow(["iteration", "lr", "loss"] + [c for n in names for c in (n, f"grad_{n}")])
    for r in records:
        row = [r.iteration, repr(float(r.lr)), repr(float(r.loss))]
        for p in r.params:
            row += [repr(float(p.data)), repr(float(p.grad))]
        writer.writerow(row)
    return out.getvalue()
