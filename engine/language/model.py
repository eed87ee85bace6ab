"""A program's model over its data: ``data=xs,ys`` and ``def predict(x): return <expression>``.

:func:`bind` checks them against an evaluated program (the lists exist, hold numbers, have one
point per target; predict reads only data, numbers and parameters and returns one number) and
gives a :class:`BoundModel`, which evaluates predict at many inputs at once for given parameter
values: one walk of the expression over columns of plain floats (a grid of 1,600 inputs costs
one pass, not 1,600), never building a graph. Outside an operation's domain (log of a negative
number, far off the data) a prediction is nan, never an error: a grid may stray where the
model is undefined.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..graph import INPUT, PARAM
from ..value import Value
from .errors import ProgramError
from .interpreter import Evaluation, _Interpreter
from .parser import FUNCTIONS, Program, error_at, short

_NAN = math.nan


@dataclass(frozen=True)
class _Param:
    """A parameter in predict's names: its place among the program's parameters."""

    index: int


class _Col(list):
    """One number per input of a batch (a plain list stays a list of the language)."""


class _PerPoint(Exception):
    """The batch cannot go on as one column (an index computed from the input)."""


@dataclass(frozen=True)
class BoundModel:
    program: Program
    inputs: tuple[tuple[float, ...], ...]  # every input point, as a tuple of its coordinates
    targets: tuple[float, ...]
    dim: int  # coordinates per input
    scalar_input: bool  # predict's x is a number (the inputs are a list of numbers)
    params: int  # how many parameters the program has (predict takes their values in order)
    _names: dict = field(repr=False, compare=False)  # predict's free names → numbers/_Param/lists

    @property
    def input_name(self) -> str:
        return self.program.data.inputs

    @property
    def target_name(self) -> str:
        return self.program.data.targets

    def predict(self, points: Sequence[Sequence[float]], params: Sequence[float]) -> list[float]:
        """predict at each point (a sequence of ``dim`` numbers) for the parameter values
        ``params`` (in the program's order); nan where the model is undefined."""
        n = len(points)
        if n == 0:
            return []
        env = {name: _resolve(value, params) for name, value in self._names.items()}
        try:
            try:
                return self._batch(points, env)
            except _PerPoint:
                out = []
                for p in points:
                    out += self._batch([p], env)
                return out
        except (_Bad, _PerPoint, RecursionError):
            return [_NAN] * n

    def predict_data(self, params: Sequence[float]) -> list[float]:
        return self.predict(self.inputs, params)

    def _batch(self, points: Sequence[Sequence[float]], env: dict) -> list[float]:
        n = len(points)
        cols = [_Col(float(p[k]) for p in points) for k in range(self.dim)]
        x = cols[0] if self.scalar_input else cols
        model = self.program.model
        out = _Batch(n, env).eval(model.expr, {model.arg: x})
        if isinstance(out, _Col):
            return [float(v) for v in out]
        if isinstance(out, float):
            return [out] * n
        return [_NAN] * n  # a list: bind() refuses that shape, so only a changed program


def bind(ev: Evaluation) -> BoundModel:
    """Check the program's data and model against its evaluation ``ev`` and bind them; raise
    :class:`ProgramError` at the directive or in predict on any mistake."""
    program = ev.program
    data, model = program.data, program.model
    if data is None or model is None:
        raise ProgramError("the program names no data: add data=xs,ys to its `# autodiff:` line "
                           "and a line `def predict(x): return ...`", source_name=program.name)
    where = (data.line, data.column, data.end_column)

    def bad(message: str) -> ProgramError:
        return ProgramError(f"the setting `data`: {message}", *where, source_name=program.name)

    env = ev.env
    lists = []
    for name in (data.inputs, data.targets):
        if name not in env:
            raise bad(f"`{short(name)}` is not assigned")
        value = env[name]
        if not isinstance(value, list):
            raise bad(f"`{short(name)}` must be a list, one element per data point")
        if not value:
            raise bad(f"`{short(name)}` is empty; the data needs at least one point")
        lists.append(value)
    xs, ys = lists
    if len(xs) != len(ys):
        raise bad(f"`{short(data.inputs)}` has {len(xs)} points but `{short(data.targets)}` has "
                  f"{len(ys)} targets; give one target per point")
    targets = []
    for i, y in enumerate(ys):
        number = _number(y, ev)
        if number is None:
            raise bad(f"`{short(data.targets)}[{i}]` must be a number")
        targets.append(number)
    scalar = _number(xs[0], ev) is not None
    points = []
    dim = 1 if scalar else (len(xs[0]) if isinstance(xs[0], list) else 0)
    if dim == 0:
        raise bad(f"`{short(data.inputs)}[0]` must be a number or a list of numbers")
    for i, x in enumerate(xs):
        if scalar:
            number = _number(x, ev)
            if number is None:
                raise bad(f"`{short(data.inputs)}[{i}]` must be a number, as the first point is")
            points.append((number,))
            continue
        coords = [_number(c, ev) for c in x] if isinstance(x, list) else None
        if coords is None or len(coords) != dim or None in coords:
            plural = "s" if dim > 1 else ""
            raise bad(f"`{short(data.inputs)}[{i}]` must be a list of {dim} number{plural}, as "
                      f"the first point is")
        points.append(tuple(coords))

    index = {id(v): k for k, (_, v) in enumerate(ev.params)}
    names = {}
    for node in _free_names(model.expr, model.arg):
        if node.id in names:
            continue
        if node.id not in env:
            raise error_at(program.source, program.name, node,
                           f"`{short(node.id)}` is not defined; predict may read the program's "
                           f"names, its parameters and its input `{model.arg}`")
        names[node.id] = _template(env[node.id], ev, index, node, program)

    # predict at the first point through the interpreter itself: its errors, at their columns
    # (on plain numbers: the check makes no node, so a tape compiled from this pass holds none)
    run = _Interpreter(program, None)
    start = ev.param_values()
    run.env = {name: _resolve(value, start) for name, value in names.items()}
    first = points[0][0] if scalar else list(points[0])
    out = run.eval(model.expr, {model.arg: first})
    if isinstance(out, list):
        raise error_at(program.source, program.name, model.expr,
                       "predict must return one number, the model's output at its input, not a "
                       "list")
    return BoundModel(program, tuple(points), tuple(targets), dim, scalar, len(ev.params), names)


def _number(value: object, ev: Evaluation) -> float | None:
    if isinstance(value, float):
        return value
    if isinstance(value, Value) and ev.kinds.get(id(value)) == INPUT:
        return float(value.data)
    return None


def _template(value: object, ev: Evaluation, index: dict[int, int], node: ast.Name,
              program: Program) -> object:
    if isinstance(value, float):
        return value
    if isinstance(value, Value):
        kind = ev.kinds.get(id(value))
        if kind == PARAM and id(value) in index:
            return _Param(index[id(value)])
        if kind == INPUT:
            return float(value.data)
        raise error_at(program.source, program.name, node,
                       f"predict may read numbers, parameters and lists of them, not "
                       f"`{short(node.id)}`, which is computed from the parameters: write its "
                       f"expression inside predict")
    if isinstance(value, list):
        return [_template(v, ev, index, node, program) for v in value]
    return value


def _resolve(value: object, params: Sequence[float]) -> object:
    if isinstance(value, _Param):
        return float(params[value.index]) if value.index < len(params) else _NAN
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


def _free_names(expr: ast.expr, arg: str) -> list[ast.Name]:
    bound = {arg} | {n.id for g in ast.walk(expr) if isinstance(g, ast.comprehension)
                     for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    called = {id(c.func) for c in ast.walk(expr) if isinstance(c, ast.Call)}
    return [n for n in ast.walk(expr)
            if isinstance(n, ast.Name) and n.id not in bound and id(n) not in called]


# --- the batch: predict's expression over columns of floats -----------------------------------
def _safe(f):
    def g(x: float) -> float:
        try:
            return f(x)
        except (ValueError, OverflowError, ZeroDivisionError):
            return _NAN
    return g


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sigmoid(x: float) -> float:
    if x != x:
        return _NAN
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = _exp(x)
    return e / (1 + e)


_UNARY = {
    "exp": _exp,
    "log": _safe(lambda x: math.log(x) if x > 0 else _NAN),
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: x if x > 0 else (0.0 if x == x else _NAN),
    "sin": _safe(lambda x: _NAN if math.isinf(x) else math.sin(x)),
    "cos": _safe(lambda x: _NAN if math.isinf(x) else math.cos(x)),
    "sqrt": _safe(lambda x: math.sqrt(x) if x >= 0 else _NAN),
    "abs": abs,
}


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return _NAN


def _pow(a: float, b: float) -> float:
    try:
        out = a**b
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return _NAN
    return out if isinstance(out, float) else (float(out) if isinstance(out, int) else _NAN)


class _Batch:
    def __init__(self, n: int, env: dict):
        self.n = n
        self.env = env

    def eval(self, node: ast.expr, local: dict) -> object:
        return getattr(self, "eval_" + type(node).__name__)(node, local)

    def eval_Constant(self, node: ast.Constant, local: dict) -> float:
        try:
            return float(node.value)
        except OverflowError:
            return _NAN

    def eval_Name(self, node: ast.Name, local: dict) -> object:
        if node.id in local:
            return local[node.id]
        return self.env.get(node.id, _NAN)

    def eval_UnaryOp(self, node: ast.UnaryOp, local: dict) -> object:
        v = self.eval(node.operand, local)
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(v, _Col):
            return _Col(-a for a in v)
        return -v if isinstance(v, float) else _NAN

    def eval_BinOp(self, node: ast.BinOp, local: dict) -> object:
        a = self._scalar(self.eval(node.left, local))
        b = self._scalar(self.eval(node.right, local))
        op = type(node.op)
        ca, cb = isinstance(a, _Col), isinstance(b, _Col)
        if op is ast.Add:
            if ca and cb:
                return _Col([x + y for x, y in zip(a, b)])
            if ca:
                return _Col([x + b for x in a])
            return _Col([a + y for y in b]) if cb else a + b
        if op is ast.Sub:
            if ca and cb:
                return _Col([x - y for x, y in zip(a, b)])
            if ca:
                return _Col([x - b for x in a])
            return _Col([a - y for y in b]) if cb else a - b
        if op is ast.Mult:
            if ca and cb:
                return _Col([x * y for x, y in zip(a, b)])
            if ca:
                return _Col([x * b for x in a])
            return _Col([a * y for y in b]) if cb else _mul(a, b)
        f = _div if op is ast.Div else _pow
        if ca or cb:
            a = a if ca else [a] * self.n
            b = b if cb else [b] * self.n
            return _Col([f(x, y) for x, y in zip(a, b)])
        return f(a, b)

    def _scalar(self, v: object) -> object:
        """A number or a column; a list where a number belongs is nan (bind() refuses it)."""
        return v if isinstance(v, (float, _Col)) else _NAN

    def eval_List(self, node: ast.List, local: dict) -> list:
        return [self.eval(e, local) for e in node.elts]

    eval_Tuple = eval_List

    def eval_Subscript(self, node: ast.Subscript, local: dict) -> object:
        seq = self.eval(node.value, local)
        i = self.eval(node.slice, local)
        if isinstance(i, _Col):
            if len(i) != 1:
                raise _PerPoint
            i = i[0]
        if not isinstance(seq, list) or isinstance(seq, _Col) or not isinstance(i, float) \
                or not i.is_integer() or not -len(seq) <= i < len(seq):
            return _NAN
        return seq[int(i)]

    def eval_ListComp(self, node: ast.ListComp, local: dict) -> list:
        out: list = []
        self._comprehend(node, node.generators, dict(local), out)
        return out

    eval_GeneratorExp = eval_ListComp

    def _comprehend(self, node, generators, local: dict, out: list) -> None:
        gen, rest = generators[0], generators[1:]
        items = self.eval(gen.iter, local)
        if not isinstance(items, list) or isinstance(items, _Col):
            raise _PerPoint if isinstance(items, _Col) and len(items) != 1 else _Bad
        for item in items:
            self._assign(gen.target, item, local)
            if rest:
                self._comprehend(node, rest, local, out)
            else:
                out.append(self.eval(node.elt, local))

    def _assign(self, target: ast.expr, value: object, local: dict) -> None:
        if isinstance(target, ast.Name):
            local[target.id] = value
            return
        if not isinstance(value, list) or isinstance(value, _Col) \
                or len(value) != len(target.elts):
            raise _Bad
        for t, v in zip(target.elts, value):
            self._assign(t, v, local)

    def eval_Call(self, node: ast.Call, local: dict) -> object:
        name = node.func.id
        args = [self.eval(a, local) for a in node.args]
        if name in FUNCTIONS:
            f = _UNARY[name]
            x = self._scalar(args[0]) if len(args) == 1 else _NAN
            if isinstance(x, _Col):
                return _Col([f(v) for v in x])
            return f(x)
        if name == "sum":
            items = args[0] if args and isinstance(args[0], list) else []
            total: object = 0.0
            for k, item in enumerate(items):
                total = item if k == 0 else self._add(total, item)
            return self._scalar(total)
        if name == "zip":
            if not all(isinstance(a, list) and not isinstance(a, _Col) for a in args):
                raise _Bad
            return [list(t) for t in zip(*args)]
        if name == "range":
            ints = [a for a in args if isinstance(a, float) and a.is_integer()]
            if len(ints) != len(args) or not 1 <= len(ints) <= 3 or (len(ints) == 3 and not ints[2]):
                raise _Bad
            return [float(i) for i in range(*map(int, ints))]
        if name == "len":
            if args and isinstance(args[0], list) and not isinstance(args[0], _Col):
                return float(len(args[0]))
            raise _Bad
        if name == "Value" and len(args) == 1:
            return args[0]
        raise _Bad

    def _add(self, a: object, b: object) -> object:
        a, b = self._scalar(a), self._scalar(b)
        if isinstance(a, _Col) and isinstance(b, _Col):
            return _Col([x + y for x, y in zip(a, b)])
        if isinstance(a, _Col):
            return _Col([x + b for x in a])
        if isinstance(b, _Col):
            return _Col([a + y for y in b])
        return a + b


class _Bad(Exception):
    """A shape bind() would have refused; the batch gives nan rather than an error."""


def _mul(a: float, b: float) -> float:
    return a * b
