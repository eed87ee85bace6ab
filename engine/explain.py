"""The maths as text: every name, formula and number the app writes, in one place.

The canvas, the banner, the Tour, the Quiz, the ledger, the command line's trace and the exports
all show the same few kinds of text: a node's name (``w·x``, ``-y``, ``(o - target)²``), the
forward formula of a node (``z = w × x = 0 × 1 = 0``), the chain-rule product of a backward step
(``dL/dz = dL/de · de/dz = (-4) · (1) = -4``), the seed (``dL/dL = 1``), a weight update
(``w ← w - α · dL/dw = 0 - 0.1 · (-4) = 0.4``) and numbers. Written once here, they cannot
disagree; each function is pure (strings and numbers in, a string out) and never imports Qt.

Parentheses follow one rule, :func:`needs_parentheses`: an operand is wrapped when the operator
around it binds more tightly than the operand's own top-level operator, so ``(o - target)²`` keeps
its parentheses and ``w·x`` needs none. Unary minus is wrapped inside a binary operation as the
tutorial writes it (``z + (-y)``, ``(-4) · (1)``). :func:`to_plain` turns any of these texts back
into the loss language's own syntax, which the tests evaluate to check the parentheses are right.
"""

from __future__ import annotations

import ast
import functools
import html
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotations: this module sits below engine.graph
    from .graph import GraphSnapshot
    from .records import ChainRuleStep, IterationRecord
    from .replay import Moment

# --- numbers and symbols -------------------------------------------------------------------------

_SUPER_FROM = "0123456789-."
_SUPER_TO = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·"
SUPERSCRIPT = str.maketrans(_SUPER_FROM, _SUPER_TO)
_FROM_SUPERSCRIPT = dict(zip(_SUPER_TO, _SUPER_FROM))

#: The symbol drawn in an operation's circle (and used in a forward formula's function calls).
OP_SYMBOLS = {"+": "+", "*": "×", "**": "^", "exp": "exp", "log": "log", "tanh": "tanh",
              "sigmoid": "σ", "relu": "relu", "sin": "sin", "cos": "cos", "sqrt": "√", "abs": "|·|"}
_SYMBOL_FUNCTIONS = {"σ": "sigmoid", "√": "sqrt"}

#: An unlabelled node whose expression would be longer than this is named ``t<id>`` instead.
MAX_EXPRESSION_NAME = 24


def format_number(x: float, digits: int = 6) -> str:
    """Up to ``digits`` significant digits; -0 shows as 0, non-finite numbers as inf / nan.

    Short enough for a box on the canvas, and the same everywhere a number is shown."""
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


def paren_number(x: float) -> str:
    """A number ready to be added or multiplied: negatives in parentheses, ``(-4)``."""
    s = format_number(x)
    return f"({s})" if s.startswith("-") else s


def plain_number(x: float) -> str:
    """A number written so that reading it back gives the same float (``repr``)."""
    return repr(float(x))


def superscript(text: str) -> str:
    """``-1`` → ``⁻¹``, ``0.5`` → ``⁰·⁵``: an exponent as it is written after its base."""
    return text.translate(SUPERSCRIPT)


def op_symbol(op: str) -> str:
    """The symbol drawn in an operation's circle: ×, +, x², exp …"""
    if op.startswith("**") and len(op) > 2:
        return "x" + superscript(op[2:])
    return OP_SYMBOLS.get(op, op)


def escape_html(text: str) -> str:
    """Text safe inside rich text (a tooltip, a Tour page): ``<``, ``>`` and ``&`` escaped."""
    return html.escape(text, quote=False)


# --- precedence and parentheses ------------------------------------------------------------------

#: How tightly a text's top-level operator binds, loosest first.
ADD, MUL, UNARY, POW, ATOM = 1, 2, 3, 4, 5

_SUPER_CHARS = set(_SUPER_TO) - {"·"}
_SUBSCRIPTS = re.compile(r"(\[\d+\])*")


def _is_symbol(text: str) -> bool:
    """A name (``w``, ``w1[0]``, ``hidden[2][4]``) or a whole number: one symbol as it stands."""
    if text.isdigit():
        return True
    head = text.split("[", 1)[0]
    # (Python allows a middle dot inside a name; here it is always a product)
    return head.isidentifier() and "·" not in head and bool(_SUBSCRIPTS.fullmatch(text[len(head):]))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def precedence(text: str) -> int:
    """The binding strength of ``text``'s top-level operator: ADD for ``a - b``, MUL for
    ``w·x``, UNARY for ``-y``, POW for ``e²``, ATOM for a name, a number, a call or a
    parenthesised whole. Reads display text (``·``, ``×``, superscripts) and plain text alike."""
    text = text.strip()
    if _is_symbol(text):
        return ATOM
    if _is_number(text):
        return UNARY if text.startswith("-") else ATOM
    top = text  # the text at depth 0: every bracketed part removed, innermost first
    while "(" in top or "[" in top:
        flat = _BRACKETED.sub("", top)
        if flat == top:
            break  # unbalanced: read what is left as it is
        top = flat
    if " + " in top or " - " in top:
        return ADD
    if any(ch in top for ch in "·×/") or "*" in top.replace("**", ""):
        return MUL
    if top.startswith("-"):
        return UNARY
    if "^" in top or "**" in top or any(ch in _SUPER_CHARS for ch in top):
        return POW
    return ATOM


_BRACKETED = re.compile(r"\([^()\[\]]*\)|\[[^()\[\]]*\]")


#: Where an operand sits, and the weakest binding it may have there without parentheses.
_SLOTS = {
    "add_left": (ADD,), "add_right": (MUL, POW, ATOM),
    "mul_left": (MUL, POW, ATOM), "mul_right": (POW, ATOM),
    "base": (ATOM,), "exponent": (ATOM,), "negate": (ATOM,), "symbol": (ATOM,),
}


def needs_parentheses(text: str, slot: str) -> bool:
    """Whether ``text`` must be wrapped to sit in ``slot`` (``add_left``, ``add_right``,
    ``mul_left``, ``mul_right``, ``base``, ``exponent``, ``negate``, ``symbol``)."""
    p = precedence(text)
    allowed = _SLOTS[slot]
    if slot == "add_left":
        return False
    if slot == "symbol":
        # one symbol: a name (w, w1[0]) or a whole number; d(0.5) and d(exp(w)) read better
        # with their parentheses than as d0.5 and dexp(w)
        return not _is_symbol(text)
    return p not in allowed


def operand(text: str, slot: str) -> str:
    """``text`` wrapped in parentheses if it needs them in ``slot``."""
    return f"({text})" if needs_parentheses(text, slot) else text


@functools.lru_cache(maxsize=8192)  # a pure function of a name: time travel redraws every box
def wrap(name: str) -> str:
    """A node name ready to stand as one symbol, as in ``d(-y)`` or ``d(x1·w1)``: ``w`` and
    ``w1[0]`` bare, anything with an operator in parentheses."""
    return operand(name, "symbol")


# --- writing one operation ------------------------------------------------------------------------

#: Styles of :func:`render`: a node's name, a formula's symbolic or numeric part, plain language.
NAME, FORMULA, PLAIN = "name", "formula", "plain"


def render(op: str, operands: Sequence[str], style: str = NAME) -> str:
    """One operation written with its operands' texts, each parenthesised where it needs it.

    ``NAME`` is how an unlabelled node is called (``w·x``, ``-y``, ``z - y``, ``e²``);
    ``FORMULA`` the middle of a forward formula (``w × x``, ``z + (-y)``, ``σ(n)``);
    ``PLAIN`` the loss language itself (``w * x``, ``e**2``), which a program can evaluate.
    """
    k = list(operands)
    if op == "*" and len(k) == 2:
        if style == NAME and k[1] == "-1":
            return "-" + operand(k[0], "negate")
        times = {NAME: "·", FORMULA: " × ", PLAIN: " * "}[style]
        return operand(k[0], "mul_left") + times + operand(k[1], "mul_right")
    if op == "+" and len(k) == 2:
        if style == NAME and k[1].startswith("-") and precedence(k[1]) == UNARY:
            return f"{k[0]} - {k[1][1:]}"
        return f"{operand(k[0], 'add_left')} + {operand(k[1], 'add_right')}"
    if op.startswith("**") and len(op) > 2 and len(k) == 1:
        exponent = op[2:]
        power = f"**{operand(exponent, 'exponent')}" if style == PLAIN else superscript(exponent)
        return operand(k[0], "base") + power
    if op == "**" and len(k) == 2:
        caret = "**" if style == PLAIN else "^"
        return operand(k[0], "base") + caret + operand(k[1], "exponent")
    if op == "abs" and style == FORMULA and len(k) == 1:
        return f"|{k[0]}|"
    function = op_symbol(op) if style == FORMULA else op
    return f"{function}({', '.join(k)})"


def expression_name(op: str, operands: Sequence[str]) -> str | None:
    """The name of an unlabelled node from its operands' names (``w·x``, ``-y``, ``exp(w)``),
    or None when it would be too long to read in a box."""
    if sum(map(len, operands)) > MAX_EXPRESSION_NAME:  # too long before any symbol is added
        return None
    name = render(op, operands, NAME)
    return name if len(name) <= MAX_EXPRESSION_NAME else None


_POWER = re.compile(r" ?\*\* ?(-?\d+(?:\.\d+)?)(?![\d.])")


def source_text(tree: ast.AST) -> str:
    """A piece of the program, written as the canvas writes maths: ``sum(wi·xi for wi, xi in
    zip(w1[2], xs[1]))`` for ``sum([wi * xi for wi, xi in zip(row, x)])``, ``e²`` for ``e**2``."""
    text = ast.unparse(tree)
    if (isinstance(tree, ast.Call) and len(tree.args) == 1
            and isinstance(tree.args[0], ast.ListComp) and text.endswith("])")):
        head = text.index("([")
        text = text[:head + 1] + text[head + 2:-2] + ")"  # sum([... for ...]) → sum(... for ...)
    text = _POWER.sub(lambda m: superscript(m.group(1)), text)
    return text.replace(" * ", "·")


_ABS = re.compile(r"\|([^|]+)\|")
_SUPER_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+(?:·[⁰¹²³⁴⁵⁶⁷⁸⁹]+)?")


def to_plain(text: str) -> str:
    """Display text in the loss language's syntax: ``(o - target)²`` → ``(o - target)**2``,
    ``w·x`` → ``w*x``, ``σ(n)`` → ``sigmoid(n)``, ``|x|`` → ``abs(x)``. A learner can paste it
    into a program; the tests evaluate it to check every parenthesis."""
    text = _ABS.sub(r"abs(\1)", text)
    text = _SUPER_RUN.sub(lambda m: "**" + "".join(_FROM_SUPERSCRIPT[c] for c in m.group()), text)
    for symbol, function in _SYMBOL_FUNCTIONS.items():
        text = text.replace(symbol + "(", function + "(")
    return text.replace("·", "*").replace("×", "*").replace("^", "**").replace("−", "-")


# --- formulas of a graph ---------------------------------------------------------------------------

_AUTO_NAME = re.compile(r"t\d+")


def is_auto_name(node) -> bool:
    """Whether ``node`` (a :class:`~engine.graph.NodeInfo`) is called ``t<id>`` because nothing
    in the program names it and its expression is too long to read."""
    return bool(node.children) and not node.label and bool(_AUTO_NAME.fullmatch(node.name))


def origin_text(node) -> str:
    """``line 10, column 17``: where in the program a computed node was made ("" if unknown)."""
    if not node.origin:
        return ""
    line, column = node.origin.split(":")
    return f"line {line}, column {column}"


def derivative(top: str, bottom: str) -> str:
    """``dL/dz``, ``d(x1·w1)/dx1``: the derivative of ``top`` with respect to ``bottom``."""
    return f"d{wrap(top)}/d{wrap(bottom)}"


def grad_name(graph: GraphSnapshot, node_id: int) -> str:
    """``dL/dz`` for node z when the root is L: the node's global gradient."""
    return derivative(graph.nodes[graph.root].name, graph.nodes[node_id].name)


def local_grad_name(graph: GraphSnapshot, parent: int, child: int) -> str:
    """``de/dz``: the derivative of an operation's result with respect to one input."""
    return derivative(graph.nodes[parent].name, graph.nodes[child].name)


def seed_text(graph: GraphSnapshot) -> str:
    """The first line of every backward pass: ``dL/dL = 1``."""
    return f"{grad_name(graph, graph.root)} = 1"


def forward_parts(graph: GraphSnapshot, node_id: int, plain: bool = False) -> tuple[str, str, str, str]:
    """A forward step's four parts: the node's name, the operation on its inputs' names, the
    operation on their values, the result. With ``plain`` the middle two are in the loss
    language, numbers to full precision, so evaluating the third gives the node's value."""
    node = graph.nodes[node_id]
    kids = [graph.nodes[c] for c in node.children]
    style = PLAIN if plain else FORMULA
    names = [to_plain(k.name) for k in kids] if plain else [k.name for k in kids]
    number = plain_number if plain else format_number
    symbolic = render(node.op, names, style)
    numeric = render(node.op, [number(k.data) for k in kids], style)
    return node.name, symbolic, numeric, number(node.data)


def forward_formula(graph: GraphSnapshot, node_id: int) -> str:
    """What one forward step computes, with its numbers: ``z = w × x = 0 × 1 = 0``, ``L = e² =
    (-2)² = 4``. The symbolic middle is left out when it would only repeat the node's name."""
    name, symbolic, numeric, result = forward_parts(graph, node_id)

    def squash(s: str) -> str:
        return s.replace(" ", "").replace("×", "·").replace("(", "").replace(")", "")

    parts = [name]
    if squash(symbolic) != squash(name):
        parts.append(symbolic)
    parts += [numeric, result]
    return " = ".join(parts)


def chain_formula(graph: GraphSnapshot, step: ChainRuleStep) -> str:
    """The banner for one multiplication: ``dL/dz = dL/de · de/dz = (-4) · (1) = -4``.

    For a node reached by several paths the ``+=`` shows as a running sum
    (``dL/da = 3 + 6 = 9``)."""
    target = grad_name(graph, step.child)
    upstream = grad_name(graph, step.parent)
    local = local_grad_name(graph, step.parent, step.child)
    f = format_number
    if step.contribution > 1:
        return (f"{target} += {upstream} · {local} = ({f(step.upstream)}) · ({f(step.local_grad)}):"
                f" {target} = {f(step.child_grad_before)} + {f(step.product)}"
                f" = {f(step.child_grad_after)}")
    return (f"{target} = {upstream} · {local} = ({f(step.upstream)}) · ({f(step.local_grad)})"
            f" = {f(step.product)}")


def local_gradient_rule(graph: GraphSnapshot, parent: int, input_index: int) -> str:
    """Why a local gradient has its value: ``dz/dw = x = 1``, ``dL/de = 2·e = 2·(-2) = -4``,
    ``de/dz = 1``. It is the derivative rule of the parent's operation, at the forward values."""
    node = graph.nodes[parent]
    child = graph.nodes[node.children[input_index]]
    value = node.local_grads[input_index]
    name = local_grad_name(graph, parent, child.id)
    c, p = wrap(child.name), wrap(node.name)
    cv, pv = paren_number(child.data), paren_number(node.data)
    num = format_number
    op = node.op
    steps: list[str] = []
    if op == "*" and len(node.children) == 2:
        other = graph.nodes[node.children[1 - input_index]]
        steps = [wrap(other.name)]
    elif op == "+":
        steps = []
    elif op.startswith("**") and len(op) > 2:
        n = op[2:]
        try:
            n_minus_1 = num(float(n) - 1)
        except ValueError:
            n_minus_1 = f"{n} - 1"
        if n_minus_1 == "1":
            steps = [f"{n}·{c}", f"{n}·{cv}"]
        elif n_minus_1 == "0":
            steps = [n]
        else:
            sup = superscript(n_minus_1)
            steps = [f"{n}·{c}{sup}", f"{n}·{cv}{sup}"]
    elif op == "**" and len(node.children) == 2:
        a, b = (wrap(graph.nodes[i].name) for i in node.children)
        steps = [f"{b}·{a}^({b} - 1)"] if input_index == 0 else [f"{p}·ln {a}"]
    elif op == "exp":
        steps = [f"exp({child.name})", pv]
    elif op == "log":
        steps = [f"1/{c}", f"1/{cv}"]
    elif op == "tanh":
        steps = [f"1 - {p}²", f"1 - {pv}²"]
    elif op == "sigmoid":
        steps = [f"{p}·(1 - {p})", f"{pv}·(1 - {pv})"]
    elif op == "relu":
        steps = [f"1 if {c} > 0, else 0"]
    elif op == "sin":
        steps = [f"cos {c}"]
    elif op == "cos":
        steps = [f"-sin {c}"]
    elif op == "sqrt":
        steps = [f"1/(2·√{c})"]
    elif op == "abs":
        steps = [f"the sign of {c}"]
    shown = [s for s in steps if s.strip("()") != num(value)]
    return " = ".join([name, *shown, num(value)])


# --- the weight update and the readout ----------------------------------------------------------

def update_line(name: str, value: float, grad: float, lr: float, new: float,
                loss: str = "L", gradient: str | None = None) -> str:
    """One parameter's gradient-descent step with its numbers:
    ``w ← w - α · dL/dw = 0 - 0.1 · (-4) = 0.4``. ``gradient`` names the gradient when it is
    not ``derivative(loss, name)`` (a parameter whose node is named otherwise)."""
    gradient = gradient or derivative(loss, name)
    return (f"{name} ← {name} - α · {gradient} = {format_number(value)} - "
            f"{format_number(lr)} · {paren_number(grad)} = {format_number(new)}")


def params_text(record: IterationRecord, limit: int = 4) -> str:
    """``w = 0.4, b = 1``: the first parameters of an iteration and their values."""
    return ", ".join(f"{p.name} = {format_number(p.data)}" for p in record.params[:limit])


def update_text(record: IterationRecord, loss: str = "L") -> tuple[str, str]:
    """The banner's (title, text) after an iteration: step 3, the weight update, its numbers."""
    if record.status == "converged":
        return (f"Iteration {record.iteration}: converged",
                f"every |gradient| ≤ tolerance, so no update: {params_text(record)}")
    if record.status == "diverged":
        return f"Iteration {record.iteration}: diverged", "the loss ran away; lower the learning rate"
    if record.status != "running":
        return f"Iteration {record.iteration}", params_text(record)
    after = record.next_values
    title = f"Step 3 · weight update (iteration {record.iteration})"
    if len(record.params) == 1:
        p = record.params[0]
        return title, update_line(p.name, p.data, p.grad, record.lr, after[0], loss)
    moves = ", ".join(f"{p.name}: {format_number(p.data)} → {format_number(v)}"
                      for p, v in zip(record.params[:3], after))
    more = f", … {len(record.params) - 3} more" if len(record.params) > 3 else ""
    return title, (f"each θ ← θ - {format_number(record.lr)} · {derivative(loss, 'θ')}   "
                   f"({moves}{more})")


#: How many parameters the readout under the canvas names before "… N more parameters".
READOUT_PARAMS = 3


def readout_text(iteration: int, loss_name: str, loss: float | None,
                 params: Sequence[tuple[str, float, float | None]], lr: float,
                 shown: int = READOUT_PARAMS) -> str:
    """The line under the canvas: ``iteration 3 · L = 1.04858 · w = 0.976 · dL/dw = -2.048 · α =
    0.1``. A loss or gradient not computed yet at the moment shown is None, written ``…`` / ``?``."""
    parts = [f"iteration {iteration}",
             f"{loss_name} = {'…' if loss is None else format_number(loss)}"]
    for name, value, grad in params[:shown]:
        parts += [f"{name} = {format_number(value)}",
                  f"{derivative(loss_name, name)} = {'?' if grad is None else format_number(grad)}"]
    if len(params) > shown:
        parts.append(f"… {len(params) - shown} more parameters")
    parts.append(f"α = {format_number(lr)}")
    return "   ·   ".join(parts)


def record_readout(record: IterationRecord | None, loss_name: str = "L") -> str:
    """The readout for an iteration's record (its numbers before the update)."""
    if record is None:
        return "iteration —"
    return readout_text(record.iteration, loss_name, record.loss,
                        [(p.name, p.data, p.grad) for p in record.params], record.lr)


def moment_readout(moment: Moment, loss_name: str = "L") -> str:
    """The readout at a moment of an iteration: the loss once the forward pass has computed it,
    the gradients once the backward pass has (never ahead of the canvas)."""
    loss = moment.loss if moment.position >= moment.forward_total else None
    done = moment.position >= moment.complete
    grads = moment.grads if done else (None,) * len(moment.values)
    params = [(name, v, g) for name, v, g in zip(moment.param_names, moment.values, grads)]
    return readout_text(moment.iteration, loss_name, loss, params, moment.lr)
