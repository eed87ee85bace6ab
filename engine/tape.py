"""The compiled fast path: a program's graph recorded once as a flat tape, replayed on floats.

Gradient descent rebuilds the same graph at every iteration: only the parameters' values change.
So the graph is recorded once, in topological order, into flat arrays (an operation code per
node, the indices of its one or two children, a slot for its value and for each local gradient),
and from those arrays Python source is generated for one forward and backward pass (never from the
user's text: every line comes from an operation code and integer indices). Replaying it creates no
``Value`` objects, so nothing is left for the garbage collector and nothing is interpreted twice.

**The same numbers, bit for bit.** Each node is computed with the very expression ``value.py``
uses (``n * x ** (n - 1)``, ``1 - t * t``, the same ``sigmoid`` branches), and the backward pass
performs ``child.grad += local_grad * v.grad`` for the same pairs in the same order (reversed
topological order, children in order), starting from the same ``0`` (an ``int``, as a fresh node's
gradient is) and the same root seed ``1``. What it leaves out changes no result: nodes that do not
depend on a parameter are constants, computed once when recorded; their gradients are never
needed; and ``x * 1`` is written ``x`` (exact in IEEE arithmetic, and it keeps ints ints).

**When the Value path must run instead.** Anything unusual makes a replay raise :class:`Fallback`
or an ``ArithmeticError``/``ValueError`` (a log of 0, an overflow, ``sin`` of infinity, a negative
base to a fractional power), and the caller then runs that iteration with ``Value`` objects, which
produce the exact error or NaN the learner would see. The loop :meth:`Tape.run` also stops before
any iteration that might end a run (a non-finite number, a loss or parameter past its bound, a
gradient within the tolerance), so the trainer decides those with its own rules.

**The shape is fixed.** The loss language has no value-dependent structure: it has no ``if`` and
no comparison, list indices, ``range`` bounds and constant exponents must not depend on a
parameter (the interpreter folds them to numbers or refuses them), and ``abs``/``relu`` branch
inside one operation. So the graph of a program has the same shape at every parameter value.
:func:`compile_program` still checks it once, at a second point, and the trainer compares the
shape again whenever it builds a ``Value`` graph anyway; a builder that does branch on values
(possible from Python, see :func:`compile_graph`) is detected and gets no tape.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .memo import ProgramMemo
from .value import Value, topological_order

#: The operations a tape can replay: every one ``value.py`` makes ("" is a leaf).
OPS = frozenset({"", "+", "*", "**", "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt",
                 "abs"})


class Fallback(ArithmeticError):
    """This iteration needs the ``Value`` path (its exact error, NaN or message)."""


class Unsupported(Exception):
    """The graph holds something a tape cannot replay exactly (an unknown operation)."""


#: What a replay may raise for an iteration the Value path must take instead.
REPLAY_ERRORS = (ArithmeticError, ValueError, TypeError)


@dataclass(frozen=True, eq=False)
class Tape:
    """One recorded graph: flat arrays in topological order, and the code generated from them.

    ``ops[i]`` is node i's operation ("" for a leaf, ``"**2"`` for a power by a number),
    ``child1[i]``/``child2[i]`` its children (-1: none), ``data[i]`` and ``local1[i]``/``local2[i]``
    the value and local gradients recorded (kept for constants), ``live[i]`` whether it depends on
    a parameter, ``params[k]`` the node of the k-th parameter (-1 when the loss ignores it).
    """

    ops: tuple[str, ...]
    child1: tuple[int, ...]
    child2: tuple[int, ...]
    data: tuple
    local1: tuple
    local2: tuple
    live: tuple[bool, ...]
    params: tuple[int, ...]
    root: int
    _code: dict = field(default_factory=dict, repr=False)

    @property
    def shape(self) -> tuple:
        """What must not change between iterations: the loss graph's operations and edges, and
        where the parameters are."""
        n = self.root + 1
        return (self.ops[:n], self.child1[:n], self.child2[:n], self.params)

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return (f"Tape({len(self.ops)} nodes, the loss's {self.root + 1}, "
                f"{len(self.params)} parameters)")

    def matches(self, root: Value, params: Sequence[Value]) -> bool:
        """Whether a graph built with ``Value`` objects has this tape's shape."""
        try:
            return record(root, params).shape == self.shape
        except Unsupported:
            return False

    # --- replay -------------------------------------------------------------------------------
    def gradient(self, values: Sequence[float], carried: Sequence[float] | None = None
                 ) -> tuple[float, list[float]]:
        """One forward and backward pass at ``values``: the loss and each parameter's gradient.

        ``carried`` is each parameter's gradient before the pass (the trainer's "not zeroing"
        mistake); by default 0, as for a fresh graph. Raises one of :data:`REPLAY_ERRORS` where
        the ``Value`` path must take over.
        """
        values = [float(v) for v in values]  # as the interpreter makes every parameter
        if carried is None:
            return self._function("gradient", False)(values, None)
        return self._function("gradient", True)(values, carried)

    def run(self, values: Sequence[float], lr: float, n: int, tol: float, loss_bound: float,
            value_bounds: Sequence[float], carried: Sequence[float] | None = None,
            columns: tuple[list, list, list] | None = None
            ) -> tuple[int, list[float], list[float] | None]:
        """Up to ``n`` gradient-descent iterations θ ← θ - lr·dL/dθ from ``values``.

        It stops *before* an iteration that is not plainly "running": a replay error, a loss
        beyond ±``loss_bound`` or not finite, a parameter beyond ±``value_bounds[k]`` or not
        finite, a gradient not finite, or every |gradient| ≤ ``tol``. Returns how many iterations
        were done, the parameters after them (the stopping iteration's starting values) and the
        gradients carried on (when ``carried`` was given). With ``columns`` = (losses, values,
        grads) lists, each iteration appends its loss, parameters and gradients (before its
        update): a record, by column.
        """
        fn = self._function("columns" if columns is not None else "run", carried is not None)
        return fn(values, lr, n, tol, loss_bound, value_bounds, carried, columns)

    def stepper(self, carry: bool = False) -> Callable:
        """The compiled ``(values, carried, lr, tol, loss_bound, value_bounds) -> (loss, grads,
        next values)`` of one iteration; next values are None unless the iteration is plainly
        "running" (then the caller decides, with its own rules). Values must be floats."""
        return self._function("step", carry)

    def kernel(self, carry: bool = False) -> Callable:
        """The compiled one-pass function ``(values, carried) -> (loss, grads)`` that
        :meth:`gradient` calls, for a caller that calls it often (values must be floats)."""
        return self._function("gradient", carry)

    def _function(self, kind: str, carry: bool) -> Callable:
        key = (kind, carry)
        fn = self._code.get(key)
        if fn is None:
            fn = self._code[key] = _compile(self, kind, carry)
        return fn

    def source(self, kind: str = "gradient", carry: bool = False) -> str:
        """The generated Python source of one of the replay functions (to read or to test)."""
        return _generate(self, kind, carry)[0]


# --- recording ------------------------------------------------------------------------------------

def record(root: Value, params: Sequence[Value], extra: Sequence[Value] = ()) -> Tape:
    """Record the graph below ``root`` as a tape; ``params`` are the leaves that change.

    ``extra`` are nodes the program computes that the loss does not use, children before
    parents: the tape computes them too (after the loss's nodes, which keep their ids), because
    computing one can fail (a log of 0 in an unused line stops the run on the Value path), but
    they get no gradient. Raises :class:`Unsupported` for an operation the tape cannot replay.
    """
    topo = topological_order(root)
    index = {id(v): i for i, v in enumerate(topo)}
    for v in extra:
        if id(v) not in index:
            index[id(v)] = len(topo)
            topo.append(v)
    param_ids = {id(p) for p in params}
    ops, child1, child2, data, local1, local2, live = [], [], [], [], [], [], []
    for v in topo:
        op = v.op
        if op not in OPS and not (op.startswith("**") and len(op) > 2):
            raise Unsupported(f"the operation {op!r} has no tape form")
        c1 = index[id(v._child1)] if v._child1 is not None else -1
        c2 = index[id(v._child2)] if v._child2 is not None else -1
        if op == "" and id(v) in param_ids:
            is_live = True
        else:
            is_live = (c1 >= 0 and live[c1]) or (c2 >= 0 and live[c2])
        if op.startswith("**") and len(op) > 2:
            _exponent(op)  # a number the tape can read back exactly, or Unsupported
        ops.append(op)
        child1.append(c1)
        child2.append(c2)
        data.append(v.data)
        local1.append(v._local_grad1)
        local2.append(v._local_grad2)
        live.append(is_live)
    nodes = tuple(index.get(id(p), -1) for p in params)
    return Tape(tuple(ops), tuple(child1), tuple(child2), tuple(data), tuple(local1),
                tuple(local2), tuple(live), nodes, index[id(root)])


def _exponent(op: str) -> int | float:
    """The number of a ``**n`` operation, read back from its name (``value._fmt`` is exact)."""
    text = op[2:]
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise Unsupported(f"cannot read the exponent of {op!r}") from None


def compile_graph(build: Callable[[Sequence[float]], tuple[Value, Sequence[Value]]],
                  values: Sequence[float], check: Sequence[Sequence[float]] = (),
                  errors: tuple[type[BaseException], ...] = ()) -> Tape | None:
    """Record ``build(values)`` (which returns the loss and its parameters) as a tape.

    The graph is built again at each point of ``check``; if any has another shape (a builder that
    branches on the values) there is no tape: None. A point where the build fails (an
    ``ArithmeticError``, a ``ValueError`` or one of ``errors``: outside a function's domain) proves
    nothing and is skipped.
    """
    root, params = build(values)
    try:
        tape = record(root, params)
    except Unsupported:
        return None
    for point in check:
        try:
            other_root, other_params = build(point)
        except (ArithmeticError, ValueError, *errors):
            continue
        if not tape.matches(other_root, other_params):
            return None
    return tape


def compile_program(program, values: Sequence[float] | None = None) -> Tape | None:
    """The tape of a loss program (an :class:`engine.language.Program`), or None.

    Built at ``values`` (default: the program's own) and checked at two more points (each value
    moved by 0.5 + 10 % of itself, up and down). None if the program cannot be evaluated there.
    """
    from .language import ProgramError, evaluate

    def build(point):
        ev = evaluate(program, point)
        return ev.loss, [v for _, v in ev.params]

    try:
        ev, created = _evaluate_watching(evaluate, program, values)
        start = ev.param_values()
        params = [v for _, v in ev.params]
        tape = record(ev.loss, params, _unused(ev.loss, params, created))
        checks = [[v + sign * (0.5 + 0.1 * abs(v)) for v in start] for sign in (1, -1)]
        if compile_graph(build, start, check=checks, errors=(ProgramError,)) is None:
            return None
        return tape
    except (ProgramError, ArithmeticError, ValueError, Unsupported):
        return None


#: Tapes compiled for the last few programs (see :func:`program_tape`)
_TAPES = ProgramMemo(kept=2)


def program_tape(program, values: Sequence[float] | None = None) -> Tape | None:
    """:func:`compile_program`, once per program text: a tape compiled by any thread (the engine's
    trainer, a regime prediction) serves every later caller. A tape does not depend on the values
    it was recorded at (only the parameters' nodes change; the constants are the same), so the
    replay at any point gives the same numbers, bit for bit. A program with no tape is compiled
    again when asked (it may have one at other values)."""
    tape = cached_tape(program)
    if tape is None:
        tape = compile_program(program, values)
        if tape is not None:
            _TAPES.put(program, tape)
    return tape


def cached_tape(program) -> Tape | None:
    """The tape :func:`program_tape` compiled for ``program`` already, else None (nothing is
    compiled: for a caller that would rather take the Value path once than compile)."""
    return _TAPES.get(program)


def _evaluate_watching(evaluate, program, values):
    """``evaluate(program, values)``, and every ``Value`` it created, in the order made.

    A program can compute nodes that its loss never uses (an unused line, the other elements of
    a list it indexes); the Value path still computes them, and one of them can fail. They are
    found by watching ``Value.__init__`` with this thread's profile hook, once, at compile time
    (other threads are not affected; a profiler in Python already set goes on receiving every
    event, and cProfile, whose hook is in C, is handed its hook back afterwards).
    """
    created: list[Value] = []
    init = Value.__init__.__code__
    previous = sys.getprofile()
    chained = previous if callable(previous) else None  # cProfile's hook is C: not callable

    def watch(frame, event, arg):
        if event == "call" and frame.f_code is init:
            created.append(frame.f_locals["self"])
        if chained is not None:
            chained(frame, event, arg)

    sys.setprofile(watch)
    try:
        ev = evaluate(program, values)
    finally:
        if previous is None or chained is not None:
            sys.setprofile(previous)
        else:  # a profiler in C (cProfile) takes its hook back itself, and misses this pass
            sys.setprofile(None)
            previous.enable()
    return ev, created


def _unused(root: Value, params: Sequence[Value], created: Sequence[Value]) -> list[Value]:
    """The nodes in ``created`` (children first) that depend on a parameter but not on the path
    to ``root``, with the constants they need."""
    used = {id(v) for v in topological_order(root)}
    depends = {id(p) for p in params}
    unused = []
    for v in created:
        if id(v) in used:
            continue
        if any(c is not None and id(c) in depends for c in (v._child1, v._child2)):
            depends.add(id(v))
        unused.append(v)
    wanted: set[int] = set()
    for v in reversed(unused):  # keep those that depend on a parameter and what they read
        if id(v) in depends or id(v) in wanted:
            wanted.add(id(v))
            wanted.update(id(c) for c in (v._child1, v._child2) if c is not None)
    return [v for v in unused if id(v) in wanted]


# --- code generation ------------------------------------------------------------------------------

def _literal(x) -> str | None:
    """``x`` as Python source that reads back as the very same number and type, else None."""
    if type(x) is int or (type(x) is float and math.isfinite(x)):
        text = repr(x)
        return f"({text})" if text.startswith("-") else text
    return None


class _Writer:
    """Source lines for the forward and backward pass of a tape (shared by every function kind).

    Parameters are floats (the interpreter makes them so), hence so is every value that depends
    on one; a gradient may be an ``int`` (the seed 1, an addition's local gradient 1, the -1 of a
    negation), exactly as in ``value.py``. Two rewrites keep every bit and every type: ``x * 1``
    and ``x * 1.0`` become ``x`` when ``x`` is a float (or the ``1`` is an int), and the first
    ``0 + p`` of a gradient becomes ``p`` when ``p`` cannot be -0.0 (the only number ``0 +``
    changes).
    """

    def __init__(self, tape: Tape, carry: bool):
        self.tape = tape
        self.carry = carry
        self.constants: dict[str, object] = {}  # names for numbers with no literal (inf, nan)
        self.alias: dict[int, str] = {}  # a live node whose value is another node's: x * 1.0

    def value(self, i: int) -> str:
        """The expression for node i's value: its variable if it depends on a parameter."""
        t = self.tape
        if t.live[i]:
            return self.alias.get(i, f"d{i}")
        return self.constant(t.data[i], f"k{i}")

    def constant(self, x, name: str) -> str:
        text = _literal(x)
        if text is None:
            self.constants[name] = x
            return name
        return text

    def forward(self) -> list[str]:
        """One statement or a few per node that depends on a parameter, in topological order.

        Each computes the node's value ``d{i}`` and the local gradients ``l{i}_{j}`` its live
        children will need, with ``value.py``'s own expressions.
        """
        t = self.tape
        out: list[str] = []
        for i, op in enumerate(t.ops):
            if not t.live[i] or op == "":
                continue
            a = self.value(t.child1[i])
            b = self.value(t.child2[i]) if t.child2[i] >= 0 else ""
            live1 = t.live[t.child1[i]]
            live2 = t.child2[i] >= 0 and t.live[t.child2[i]]
            d = f"d{i}"
            if op == "+":
                out.append(f"{d} = {a} + {b}")
            elif op == "*":
                if live1 and not live2 and _is_one(t.data[t.child2[i]]):
                    self.alias[i] = a  # a float times 1: the same float
                elif live2 and not live1 and _is_one(t.data[t.child1[i]]):
                    self.alias[i] = b
                else:
                    out.append(f"{d} = {a} * {b}")
            elif op == "**":
                out.append(f"if {a} <= 0: raise Fallback")
                out.append(f"{d} = {a} ** {b}")
                grad1 = f"{b} * {a} ** ({b} - 1)"  # computed even when unused: it may overflow
                out.append(f"l{i}_0 = {grad1}" if live1 else grad1)
                if live2:
                    out.append(f"l{i}_1 = {d} * log({a})")
            elif op.startswith("**"):
                n = _exponent(op)
                if not float(n).is_integer():
                    out.append(f"if {a} < 0: raise Fallback")
                out.append(f"{d} = {a} ** {self.constant(n, f'n{i}')}")
                if n != 0:
                    out.append(f"l{i}_0 = {self.constant(n, f'n{i}')} * {a} ** "
                               f"{self.constant(n - 1, f'm{i}')}")
            elif op == "exp":
                out.append(f"{d} = exp({a})")
            elif op == "log":
                out.append(f"{d} = log({a})")
                out.append(f"l{i}_0 = 1 / {a}")
            elif op == "tanh":
                out.append(f"{d} = tanh({a})")
                out.append(f"l{i}_0 = 1 - {d} * {d}")
            elif op == "sigmoid":
                out.append(f"{d} = 1 / (1 + exp(-{a})) if {a} >= 0 else exp({a}) / (1 + exp({a}))")
                out.append(f"l{i}_0 = {d} * (1 - {d})")
            elif op == "relu":
                out.append(f"{d} = {a} if {a} > 0 else 0.0")
                out.append(f"l{i}_0 = 1.0 if {a} > 0 else 0.0")
            elif op == "sin":
                out.append(f"{d} = sin({a})")
                out.append(f"l{i}_0 = cos({a})")
            elif op == "cos":
                out.append(f"{d} = cos({a})")
                out.append(f"l{i}_0 = -sin({a})")
            elif op == "sqrt":
                out.append(f"{d} = sqrt({a})")
                out.append(f"l{i}_0 = 0.5 / {d}")
            elif op == "abs":
                out.append(f"{d} = abs({a})")
                out.append(f"l{i}_0 = 1.0 if {a} > 0 else -1.0 if {a} < 0 else 0.0")
            else:  # pragma: no cover - record() refuses anything else
                raise Unsupported(op)
        return out

    def local(self, i: int, j: int) -> _Expr:
        """The local gradient of node i with respect to its j-th child, as an expression."""
        t = self.tape
        op = t.ops[i]
        if op == "+":
            return _Expr("1", False, True, True)
        if op == "*":  # d(a*b)/da = b, d(a*b)/db = a: the other factor's value
            other = t.child2[i] if j == 0 else t.child1[i]
            if t.live[other]:
                return _Expr(self.value(other), True, False, False)
            x = t.data[other]
            return _Expr(self.value(other), type(x) is not int, x == x and x != 0 or type(x) is int,
                         _is_one(x))
        if op == "exp":
            return _Expr(f"d{i}", True, False, False)
        if op.startswith("**") and len(op) > 2 and _exponent(op) == 0:
            return _Expr("0.0", True, False, False)
        return _Expr(f"l{i}_{j}", True, False, False)

    def backward(self) -> tuple[list[str], dict[int, _Expr]]:
        """``child.grad += local_grad * v.grad`` for every live pair, in ``backward()``'s order.

        Returns the statements and, per live node, the expression of its final gradient.
        """
        t = self.tape
        out: list[str] = []
        grad: dict[int, _Expr] = {}  # the gradient of each live node reached so far
        carried = {node: f"c{k}" for k, node in enumerate(t.params) if node >= 0}
        if t.live[t.root]:
            grad[t.root] = _Expr("1", False, True, True)  # self.grad = 1, an int
        for i in range(t.root, -1, -1):  # the loss's nodes only (the unused come after it)
            if not t.live[i] or t.ops[i] == "":
                continue
            up = grad[i]
            for j, c in enumerate((t.child1[i], t.child2[i])):
                if c < 0 or not t.live[c]:
                    continue
                product = _times(self.local(i, j), up)
                before = grad.get(c)
                if before is None and self.carry and c in carried:
                    before = _Expr(carried[c], True, False, False)
                if before is None:  # the first path to reach c: 0 + product
                    if product.no_negative_zero:  # 0 + p is p itself, of p's type
                        if product.simple:
                            grad[c] = product
                            continue
                        out.append(f"g{c} = {product.text}")
                    else:
                        out.append(f"g{c} = 0 + {product.text}")
                    grad[c] = _Expr(f"g{c}", product.is_float, True, False)
                    continue
                out.append(f"g{c} = {before.text} + {product.text}")
                grad[c] = _Expr(f"g{c}", before.is_float or product.is_float,
                                before.no_negative_zero or product.no_negative_zero, False)
        return out, grad

    def grads(self, grad: dict[int, _Expr]) -> list[str]:
        """Each parameter's gradient after the pass (carried, or 0, when the loss ignores it)."""
        t = self.tape
        out = []
        for k, node in enumerate(t.params):
            if node >= 0 and node in grad:
                out.append(grad[node].text)
            else:
                out.append(f"c{k}" if self.carry else "0")
        return out


@dataclass(frozen=True)
class _Expr:
    """A gradient (or local gradient) as source: its text, whether it is a float (else an int),
    whether it can never be -0.0, and whether it is exactly the number 1."""

    text: str
    is_float: bool
    no_negative_zero: bool
    one: bool

    @property
    def simple(self) -> bool:
        """A name or a literal: copying it costs nothing."""
        return self.text.isidentifier() or _literal_text(self.text)


def _literal_text(text: str) -> bool:
    try:
        float(text.strip("()"))
    except ValueError:
        return False
    return True


def _is_one(x) -> bool:
    return (type(x) is int or type(x) is float) and x == 1


def _times(lg: _Expr, up: _Expr) -> _Expr:
    """``local_grad * v.grad`` as source, with ``x * 1`` written ``x`` where that is exact.

    ``x * 1`` (an int 1) is ``x`` for any number; ``x * 1.0`` is ``x`` when ``x`` is a float.
    """
    for one, x in ((up, lg), (lg, up)):
        if one.one and (not one.is_float or x.is_float):
            return x
    return _Expr(f"{lg.text} * {up.text}", lg.is_float or up.is_float, False, False)


def _generate(tape: Tape, kind: str, carry: bool) -> tuple[str, dict]:
    w = _Writer(tape, carry)
    forward = w.forward()
    backward, grad = w.backward()
    grads = w.grads(grad)
    loss = w.value(tape.root)
    n = len(tape.params)
    pvars = [f"d{node}" if node >= 0 else f"u{k}" for k, node in enumerate(tape.params)]
    cvars = [f"c{k}" for k in range(n)]

    def unpack(names: list[str], source: str) -> str:
        return f"{', '.join(names)}, = {source}" if names else f"() = {source}"

    def plain_iteration() -> str:
        """The condition under which an iteration is plainly "running" (see :meth:`Tape.run`)."""
        parts = [f"-t{k} <= {p} <= t{k}" for k, p in enumerate(pvars)]
        parts.append(f"-LB <= {loss} <= LB")
        if n == 1:  # finite, and beyond the tolerance
            parts.append(f"(tol < {grads[0]} < INF or -INF < {grads[0]} < -tol)")
        elif n:
            parts += [f"-INF < {g} < INF" for g in grads]
            parts.append("(" + " or ".join(f"{g} > tol or {g} < -tol" for g in grads) + ")")
        else:
            parts.append("False")  # no parameter: nothing to descend (the trainer converges it)
        return " and ".join(parts)

    lines: list[str] = []
    if kind == "step":
        lines.append("def step(P, C, lr, tol, LB, TB):")
        body = [unpack(pvars, "P"), unpack([f"t{k}" for k in range(n)], "TB")]
        if carry:
            body.append(unpack(cvars, "C"))
        body += forward + backward
        body.append(f"if {plain_iteration()}:")
        body.append(f"    return {loss}, [{', '.join(grads)}], "
                    f"[{', '.join(f'{p} - lr * {g}' for p, g in zip(pvars, grads))}]")
        body.append(f"return {loss}, [{', '.join(grads)}], None")
        lines += ["    " + b for b in body]
    elif kind == "gradient":
        lines.append("def gradient(P, C):")
        body = [unpack(pvars, "P")]
        if carry:
            body.append(unpack(cvars, "C"))
        body += forward + backward
        body.append(f"return {loss}, [{', '.join(grads)}]")
        lines += ["    " + b for b in body]
    else:
        lines.append("def run(P, lr, n, tol, LB, TB, C, cols):")
        body = [unpack(pvars, "P"), unpack([f"t{k}" for k in range(n)], "TB")]
        if carry:
            body.append(unpack(cvars, "C"))
        if kind == "columns":
            body.append("AL, AV, AG = cols[0].append, cols[1].extend, cols[2].extend")
        body.append("i = 0")
        body.append("try:")
        inner = forward + backward
        inner.append(f"if not ({plain_iteration()}): break")
        if kind == "columns":
            inner.append(f"AL({loss})")
            inner.append(f"AV(({', '.join(pvars)},))")
            inner.append(f"AG(({', '.join(grads)},))")
        for p, g in zip(pvars, grads):
            inner.append(f"{p} = {p} - lr * {g}")
        if carry:
            for c, g in zip(cvars, grads):
                inner.append(f"{c} = {g}")
        body.append("    for i in range(n):")
        body += ["        " + s for s in inner]
        body.append("    else:")
        body.append("        i = n")
        body.append("except REPLAY_ERRORS:")
        body.append("    pass")
        carried = f"[{', '.join(cvars)}]" if carry else "None"
        body.append(f"return i, [{', '.join(pvars)}], {carried}")
        lines += ["    " + b for b in body]
    return "\n".join(lines) + "\n", w.constants


GENERATE_UP_TO = 5000
"""Graphs with more nodes than this are replayed by :func:`_replay_arrays`, a loop over the
tape's arrays, instead of generated code: CPython takes seconds to compile a function of a
hundred thousand lines, and on graphs that big the loop is about as fast as straight-line code
(either way every value stays alive until the backward pass reads it)."""


def _compile(tape: Tape, kind: str, carry: bool) -> Callable:
    if len(tape) > GENERATE_UP_TO:
        return _array_function(tape, kind, carry)
    source, constants = _generate(tape, kind, carry)
    namespace = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin,
                 "cos": math.cos, "sqrt": math.sqrt, "abs": abs, "Fallback": Fallback,
                 "REPLAY_ERRORS": REPLAY_ERRORS, "INF": math.inf, "range": range,
                 "__builtins__": {}}
    namespace.update(constants)
    code = compile(source, f"<tape {kind}>", "exec")
    exec(code, namespace)  # noqa: S102 - source generated above from op codes and indices only
    return namespace["gradient" if kind == "gradient" else "step" if kind == "step" else "run"]


# --- big graphs: the arrays replayed by a loop ------------------------------------------------------

_ADD, _MUL, _POWN, _POW, _EXP, _LOG, _TANH, _SIGMOID, _RELU, _SIN, _COS, _SQRT, _ABS = range(13)
_CODES = {"+": _ADD, "*": _MUL, "**": _POW, "exp": _EXP, "log": _LOG, "tanh": _TANH,
          "sigmoid": _SIGMOID, "relu": _RELU, "sin": _SIN, "cos": _COS, "sqrt": _SQRT, "abs": _ABS}


def _replay_arrays(tape: Tape) -> Callable:
    """One forward and backward pass over the tape's arrays, ``value.py``'s formulas node by node.

    Values and local gradients live in one list ``S``: node values first, then two local-gradient
    slots per node. The forward pass may compute nodes in any order that puts children first (a
    node's value depends on its children's values only), so nodes are grouped by level and
    operation, each group in consecutive slots, and a group of additions or multiplications is
    one ``map(operator.add, ...)`` into a slice: the same C function as ``a + b``. The backward
    pass is ``backward()``'s own loop over the pairs in its order,
    ``G[child] = G[child] + local_grad * G[v]``, from a list of int 0s with the root's 1; the
    local gradient of a product is read from the other factor's value slot, as ``value.py``
    stores ``other.data``.
    """
    import operator

    n = len(tape)
    live, ops, child1, child2 = tape.live, tape.ops, tape.child1, tape.child2
    level = [0] * n
    groups: dict[tuple, list[int]] = {}
    for i, op in enumerate(ops):
        if not live[i] or op == "":
            continue
        level[i] = 1 + max(level[c] for c in (child1[i], child2[i]) if c >= 0)
        code = _CODES.get(op, _POWN)
        key = (level[i], code, _exponent(op) if code == _POWN else 0)
        groups.setdefault(key, []).append(i)
    order = [i for i in range(n) if not (live[i] and ops[i] != "")]  # leaves and constants
    for key in sorted(groups, key=lambda k: (k[0], k[1], repr(k[2]))):
        order += groups[key]
    slot = [0] * n
    for position, i in enumerate(order):
        slot[i] = position
    template = [tape.data[i] for i in order]
    for i in order:
        template += [tape.local1[i], tape.local2[i]]

    def lg(i: int, j: int) -> int:
        return n + 2 * slot[i] + j

    plan = []  # (code, first slot, last slot + 1, gather a, gather b, nodes, k, k - 1)
    for key in sorted(groups, key=lambda k: (k[0], k[1], repr(k[2]))):
        nodes = groups[key]
        _, code, k = key
        lo, hi = slot[nodes[0]], slot[nodes[-1]] + 1
        a = [slot[child1[i]] for i in nodes]
        b = [slot[child2[i]] if child2[i] >= 0 else 0 for i in nodes]
        plan.append((code, lo, hi, _getter(a), _getter(b), [(slot[i], sa, sb) for i, sa, sb
                                                           in zip(nodes, a, b)], k, k - 1))
    edges = []  # (v's slot, child's slot, the local gradient's slot) in backward()'s order
    for i in range(tape.root, -1, -1):
        if not live[i] or ops[i] == "":
            continue
        for j, c in enumerate((child1[i], child2[i])):
            if c < 0 or not live[c]:
                continue
            if ops[i] == "*":
                e = slot[child2[i] if j == 0 else child1[i]]  # d(a*b)/da = b's value
            elif ops[i] == "exp":
                e = slot[i]  # d(exp x)/dx = exp x, the node's own value
            else:
                e = lg(i, j)
            edges.append((slot[i], slot[c], e))
    pslots = [slot[node] if node >= 0 else -1 for node in tape.params]
    root = slot[tape.root]
    root_live = live[tape.root]
    dynamic = set(pslots) - {-1}  # the slots a pass writes: floats when the parameters are
    for code, lo, hi, *_ in plan:
        dynamic.update(range(lo, hi))
        if code not in (_ADD, _MUL, _EXP):
            dynamic.update(range(n + 2 * lo, n + 2 * hi))
    waves = _backward_waves(edges, template, dynamic, n, root if root_live else -1, pslots)
    add, mul = operator.add, operator.mul
    exp, log, tanh, sin, cos, sqrt = math.exp, math.log, math.tanh, math.sin, math.cos, math.sqrt

    def gradient(P, C):
        S = template[:]
        for k, s_ in enumerate(pslots):
            if s_ >= 0:
                S[s_] = P[k]
        for code, lo, hi, ga, gb, nodes, k, km1 in plan:
            if code == _ADD:
                S[lo:hi] = map(add, ga(S), gb(S))
            elif code == _MUL:
                S[lo:hi] = map(mul, ga(S), gb(S))
            elif code == _RELU:
                xs = ga(S)
                S[lo:hi] = [x if x > 0 else 0.0 for x in xs]
                S[n + 2 * lo:n + 2 * hi:2] = [1.0 if x > 0 else 0.0 for x in xs]
            elif code == _TANH:
                ts = list(map(tanh, ga(S)))
                S[lo:hi] = ts
                S[n + 2 * lo:n + 2 * hi:2] = [1 - t * t for t in ts]
            elif code == _POWN:
                xs = ga(S)
                if not float(k).is_integer() and any(x < 0 for x in xs):
                    raise Fallback
                S[lo:hi] = [x**k for x in xs]
                S[n + 2 * lo:n + 2 * hi:2] = ([k * x**km1 for x in xs] if k != 0
                                              else [0.0] * (hi - lo))
            elif code == _EXP:
                S[lo:hi] = map(exp, ga(S))
            else:
                for i, a, b in nodes:
                    x = S[a]
                    li = n + 2 * i
                    if code == _POW:
                        y = S[b]
                        if x <= 0:
                            raise Fallback
                        out = x**y
                        S[i] = out
                        S[li] = y * x ** (y - 1)
                        S[li + 1] = out * log(x)
                    elif code == _LOG:
                        S[i] = log(x)
                        S[li] = 1 / x
                    elif code == _SIGMOID:
                        sg = 1 / (1 + exp(-x)) if x >= 0 else exp(x) / (1 + exp(x))
                        S[i] = sg
                        S[li] = sg * (1 - sg)
                    elif code == _SIN:
                        S[i] = sin(x)
                        S[li] = cos(x)
                    elif code == _COS:
                        S[i] = cos(x)
                        S[li] = -sin(x)
                    elif code == _SQRT:
                        r = sqrt(x)
                        S[i] = r
                        S[li] = 0.5 / r
                    else:  # _ABS
                        S[i] = abs(x)
                        S[li] = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
        if waves is not None and _all_floats(P) and (C is None or _all_floats(C)):
            return S[root], waves(S, C)
        G = [0] * n
        if C is not None:
            for k, s_ in enumerate(pslots):
                if s_ >= 0:
                    G[s_] = C[k]
        if root_live:
            G[root] = 1
        for v, c, e in edges:
            G[c] = G[c] + S[e] * G[v]
        grads = [G[s_] if s_ >= 0 else (C[k] if C is not None else 0)
                 for k, s_ in enumerate(pslots)]
        return S[root], grads

    gradient.backward_waves = waves  # None: the loop above runs (for tests and benchmarks to see)
    return gradient


def _all_floats(xs) -> bool:
    return all(type(x) is float for x in xs)


EXACT_INT = 2**53
"""Integers up to this size are exact as floats, so a sum or product of them is the same number
computed either way."""


def _backward_waves(edges: list[tuple[int, int, int]], template: list, dynamic: set[int], n: int,
                    root: int, pslots: list[int]) -> Callable | None:
    """The backward loop of :func:`_replay_arrays` as a few hundred numpy operations, with the
    same result bit for bit and type for type; None where that cannot be promised.

    ``backward()`` runs ``G[c] = G[c] + S[e] * G[v]`` edge by edge. Each edge is given a *wave*:
    after the wave that completes ``G[v]`` (every edge into v), and not before the wave of the
    previous edge into the same child. Within a wave the products are computed at once from
    gradients that are final, and ``numpy.add.at`` adds them in the edges' order, so each
    gradient is the same sum of the same products in the same order: IEEE doubles in numpy round
    as Python's floats do. What Python would keep an ``int`` is found before any pass: the slots
    a pass writes (``dynamic``) are floats when the parameters are, every other slot keeps its
    recorded value, so a gradient is an int only where every product into it is an int times an
    int, and then its value is the same at every pass (computed here, exactly). The promise needs
    those ints to stay exact as floats (below :data:`EXACT_INT`); a graph with bigger ones, or a
    pass with non-float parameters, keeps the loop.
    """
    import numpy as np

    def big(x: int) -> bool:
        return not -EXACT_INT <= x <= EXACT_INT

    for s_, x in enumerate(template):  # what no pass writes: plain numbers, and exact as floats
        if s_ not in dynamic and (type(x) not in (int, float, bool)
                                  or (type(x) is not float and big(int(x)))):
            return None
    gint = [0] * n  # the gradient while it is an int, None once a float
    if root >= 0:
        gint[root] = 1
    done = [-1] * n  # the last wave that adds into each gradient
    wave_of = []
    for v, c, e in edges:
        w = max(done[v] + 1, done[c])
        wave_of.append(w)
        done[c] = w
        gv, ge = gint[v], (None if e in dynamic or type(template[e]) is float else int(template[e]))
        if gint[c] is None:
            continue
        if gv is None or ge is None:
            gint[c] = None
            continue
        term = ge * gv
        gint[c] += term
        if big(term) or big(gint[c]):
            return None
    # each parameter's gradient, where it stays an int
    exact = {k: gint[s_] for k, s_ in enumerate(pslots) if s_ >= 0 and gint[s_] is not None}
    count = max(wave_of, default=-1) + 1
    by_wave: list[list[tuple[int, int, int]]] = [[] for _ in range(count)]
    for edge, w in zip(edges, wave_of):
        by_wave[w].append(edge)
    plan = []
    for group in by_wave:
        vs, cs, es = (np.fromiter(col, dtype=np.intp, count=len(group)) for col in zip(*group))
        plan.append((es, vs, cs, len(set(cs.tolist())) < len(cs)))
    size = len(template)
    live_params = [(k, s_) for k, s_ in enumerate(pslots) if s_ >= 0]
    pk = np.array([s_ for _, s_ in live_params], dtype=np.intp)
    add_at = np.add.at

    def backward(S: list, C) -> list:
        local = np.fromiter(S, dtype=np.float64, count=size)  # values and local gradients
        G = np.zeros(n)
        if C is not None and live_params:
            G[pk] = [C[k] for k, _ in live_params]
        if root >= 0:
            G[root] = 1.0
        with np.errstate(all="ignore"):
            for es, vs, cs, repeated in plan:
                if repeated:
                    add_at(G, cs, local[es] * G[vs])
                else:
                    G[cs] += local[es] * G[vs]
        found = G[pk].tolist() if live_params else []
        grads = [C[k] if C is not None else 0 for k in range(len(pslots))]
        for (k, s_), g in zip(live_params, found):
            if s_ == root:
                grads[k] = 1
            elif C is None and k in exact:
                grads[k] = exact[k]
            else:
                grads[k] = g
        return grads

    return backward


def _getter(indices: list[int]) -> Callable:
    """``lambda S: tuple(S[i] for i in indices)``, in C (``operator.itemgetter``)."""
    import operator
    if len(indices) == 1:
        only = indices[0]
        return lambda S: (S[only],)
    return operator.itemgetter(*indices)


def _array_function(tape: Tape, kind: str, carry: bool) -> Callable:
    """:func:`_replay_arrays` behind the same signatures as the generated functions."""
    gradient = _replay_arrays(tape)
    if kind == "gradient":
        return gradient
    inf = math.inf

    def plain(loss, grads, values, tol, LB, TB) -> bool:
        return (all(-t <= v <= t for v, t in zip(values, TB)) and -LB <= loss <= LB
                and all(-inf < g < inf for g in grads) and any(g > tol or g < -tol for g in grads))

    if kind == "step":
        def step(P, C, lr, tol, LB, TB):
            loss, grads = gradient(P, C)
            if plain(loss, grads, P, tol, LB, TB):
                return loss, grads, [v - lr * g for v, g in zip(P, grads)]
            return loss, grads, None
        return step

    def run(P, lr, n, tol, LB, TB, C, cols):
        P = list(P)
        for i in range(n):
            if not all(-t <= v <= t for v, t in zip(P, TB)):
                return i, P, C
            try:
                loss, grads = gradient(P, C)
            except REPLAY_ERRORS:
                return i, P, C
            if not plain(loss, grads, P, tol, LB, TB):
                return i, P, C
            if cols is not None:
                cols[0].append(loss)
                cols[1].extend(P)
                cols[2].extend(grads)
            P = [v - lr * g for v, g in zip(P, grads)]
            if C is not None:
                C = grads
        return n, P, C

    return run


__all__ = ["GENERATE_UP_TO", "OPS", "REPLAY_ERRORS", "Fallback", "Tape", "Unsupported", "cached_tape",
           "compile_graph", "compile_program", "program_tape", "record"]
