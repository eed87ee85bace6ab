"""Walk a checked program's tree and build its Value graph. Never ``eval``, never ``exec``.

Values the interpreter handles: a ``float`` (a plain number), a ``Value`` (a node of the graph) and
a ``list`` (of either, or of lists). Plain-number arithmetic stays plain; a ``Value`` appears only
for ``Value(number)`` (a trained parameter), for a name bound to a number (a named input, drawn as
a leaf like the tutorial's x and y) and for anything computed from those.
"""

from __future__ import annotations

import ast
import copy
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import explain
from ..graph import ELEMENT, INPUT, LIST, PARAM, SUM, GraphSnapshot, snapshot, snapshot_like
from ..memo import ProgramMemo
from ..value import DomainError, Value, topological_order
from .errors import ProgramError, ProgramOverflow
from .parser import (FUNCTIONS, MAX_LIST_LENGTH, MAX_OPERATIONS, Program, error_at, position,
                     short)


@dataclass
class Evaluation:
    """One forward pass of a program: the loss node, its parameters and named inputs."""

    program: Program
    loss: Value
    params: list[tuple[str, Value]]  # in the order the program creates them
    inputs: list[tuple[str, Value]]
    kinds: dict[int, str] = field(repr=False)
    #: what a plain run cannot afford to note for every node, filled in by the first snapshot:
    #: ``sum(...)`` names by ``id`` of the node, and where each computed node comes from
    _names: tuple | None = field(default=None, repr=False)
    #: every top-level name and what it holds at the end of the pass (the data view reads it)
    env: dict[str, object] = field(default_factory=dict, repr=False)
    #: the noting run that built this graph (``evaluate(..., named=True)``), until the first
    #: snapshot has read its notes: then no second pass is needed for the names
    _noted: object = field(default=None, repr=False)

    def snapshot(self, like: GraphSnapshot | None = None) -> GraphSnapshot:
        """The graph as plain data, every node named as the program names it (see
        :mod:`engine.explain`): labels and places first, then ``sum(...)``, then expressions;
        each computed node knows the line and column that made it.

        Naming costs a second, noting pass of the interpreter; ``like``, an earlier snapshot of
        the same program (the previous iteration's), lends its names instead when the shape
        is the same, so a run that draws every iteration pays for the names once."""
        if like is not None and self._names is None:
            same = snapshot_like(self.loss, like, self.kinds)
            if same is not None:
                return same
        if self._names is None:
            self._names = _program_names(self, self._noted)
            self._noted = None
        return snapshot(self.loss, self.kinds, *self._names)

    def param_values(self) -> list[float]:
        return [v.data for _, v in self.params]


def evaluate(program: Program, param_values: Sequence[float] | None = None, *,
             named: bool = False) -> Evaluation:
    """Build the graph of ``program``; the k-th ``Value(...)`` gets ``param_values[k]`` if given.

    Evaluated at its own starting values (no ``param_values``), a program with a model
    (``def predict``) also has its data and model checked, so a mistake there is an error at
    its line and column when the program is loaded, like any other.

    ``named``: the pass notes as it goes what a snapshot needs to name the nodes (the same
    graph and numbers; slower than a plain pass, but its first snapshot needs no second pass).
    """
    began = time.perf_counter()
    run = _Recorder(program, param_values) if named else _Interpreter(program, param_values)
    ev = run.run()
    if named:
        ev._noted = run
    if param_values is None and program.model is not None:
        from .model import bind  # here, not at the top: model builds on this module
        bind(ev)
    if param_values is None:
        _remember(program, ev, time.perf_counter() - began)
    return ev


@dataclass(frozen=True)
class Start:
    """A program at its own starting values, as plain numbers: each parameter's name and value,
    the loss, and how long the evaluation that found them took (seconds)."""

    names: tuple[str, ...]
    values: tuple[float, ...]
    loss: float
    seconds: float


#: The last few programs evaluated at their starting values (see :func:`start`)
_STARTS = ProgramMemo(kept=4)
_STARTS_KEPT = _STARTS.kept


def start(program: Program) -> Start:
    """``program`` at its starting values: from the last few programs evaluated there (by any
    thread: the editor's check, the engine), else evaluated now (raising :class:`ProgramError`
    as :func:`evaluate` does). A program is a pure function of its text, so the same text has
    the same start: opening a 68,000-node network evaluates it once for the editor, the sweep,
    the targets and the trainer, not once each."""
    found = cached_start(program)
    if found is None:
        evaluate(program)  # which remembers it
        found = cached_start(program)
    return found


def cached_start(program: Program) -> Start | None:
    """:func:`start` if it is known already, else None (nothing is evaluated)."""
    return _STARTS.get(program)


def _remember(program: Program, ev: Evaluation, seconds: float) -> None:
    _STARTS.put(program, Start(tuple(name for name, _ in ev.params), tuple(ev.param_values()),
                               float(ev.loss.data), seconds))


def _program_names(ev: Evaluation, noted: _Recorder | None = None) -> tuple:
    """The names of ``ev``'s sums, the origin of each of its nodes and the groups the program
    made them in, from ``noted`` (the noting run that built ``ev``) or else from a second pass
    that notes them (the graph has the same shape at the same parameters: nodes match by
    position)."""
    if noted is not None:
        run, twin = noted, ev
    else:
        run = _Recorder(ev.program, ev.param_values())
        twin = run.run()
    mine = topological_order(ev.loss)
    theirs = mine if twin is ev else topological_order(twin.loss)
    if len(mine) != len(theirs):
        return {}, {}, None
    texts: list[str] = []
    hints = sum_hints(run.sums, run.places, texts)
    source = ev.program.source
    where: dict[int, tuple[int, int]] = {}  # one position per expression, however many nodes
    names, origins = {}, {}
    for a, b in zip(mine, theirs):
        if id(b) in hints:
            names[id(a)] = hints[id(b)]
        node = run.origins.get(id(b))
        if node is not None:
            if id(node) not in where:
                where[id(node)] = position(source, node)[:2]
            origins[id(a)] = where[id(node)]
    member = {}
    for a, b in zip(mine, theirs):
        g = run.owner.get(id(b), -1)
        if g >= 0:
            member[id(a)] = g
    return names, origins, (run.group_specs(texts), member)


class _Interpreter:
    def __init__(self, program: Program, param_values: Sequence[float] | None):
        self.program = program
        self.overrides = list(param_values) if param_values is not None else None
        self.env: dict[str, object] = {}
        self.params: list[Value] = []
        self.inputs: list[tuple[str, Value]] = []
        self.kinds: dict[int, str] = {}
        self.operations = 0
        # Work done once per object, however often a program reuses it (kept alive so ids stay
        # unique): lists already labelled, and whether a node depends on a parameter.
        self._labelled: dict[int, list] = {}
        self._depends: dict[int, tuple[Value, bool]] = {}
        self.places: dict[int, str] = {}  # where each named list sits (``w1[2]``)

    def fail(self, node: ast.AST, message: str) -> ProgramError:
        return error_at(self.program.source, self.program.name, node, message)

    def _overflow(self, node: ast.AST, what: str) -> ProgramOverflow:
        e = self.fail(node, f"{what}: the result is too large for a float")
        return ProgramOverflow(e.message, e.line, e.column, e.end_column, e.source_name)

    def run(self) -> Evaluation:
        last = None
        for stmt in self.program.tree.body:
            assert isinstance(stmt, ast.Assign)
            value = self._statement(stmt)
            self.assign(stmt.targets[0], value, self.env, label=True)
            last = stmt.targets[0]
        loss = self.env[self.program.loss_name]
        if isinstance(loss, float):
            loss = Value(loss, label=self.program.loss_name)
        if not isinstance(loss, Value):
            raise self.fail(last, f"the loss `{short(self.program.loss_name)}` must be a number, not a "
                                  f"list; add its terms with sum(...)")
        if self.overrides is not None and len(self.overrides) != len(self.params):
            raise ProgramError(f"expected {len(self.params)} parameter values, got "
                               f"{len(self.overrides)}", source_name=self.program.name)
        names = _unique([v.label or f"p{k}" for k, v in enumerate(self.params)])
        return Evaluation(self.program, loss, list(zip(names, self.params)), self.inputs,
                          self.kinds, env=self.env)

    # --- statements -----------------------------------------------------------------------------
    def _statement(self, stmt: ast.Assign) -> object:
        return self.eval(stmt.value, self.env)

    def assign(self, target: ast.expr, value: object, env: dict, label: bool) -> None:
        if isinstance(target, ast.Name):
            if label:
                value = self.label(target.id, value)
            env[target.id] = value
            return
        # tuple / list unpacking
        if not isinstance(value, (list, tuple)):
            raise self.fail(target, "cannot unpack a single number into several names")
        if len(value) != len(target.elts):
            raise self.fail(target, f"{len(target.elts)} names but {len(value)} values to "
                                    f"unpack")
        for t, v in zip(target.elts, value):
            self.assign(t, v, env, label)

    def label(self, name: str, value: object) -> object:
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, float):
            # a name bound to a plain number: a named input, a leaf of the graph
            v = Value(value, label=name)
            self.kinds[id(v)] = INPUT
            self.inputs.append((name, v))
            return v
        if isinstance(value, Value):
            if not value.label:
                value.label = name
            return value
        if isinstance(value, list):
            self._label_list(name, value)
        return value

    def _label_list(self, prefix: str, items: list) -> None:
        """Name every element of a named list by its place, as a learner would write it:
        ``w1[0][1]`` for a parameter, ``hidden[2][4]`` and ``preds[1]`` for computed elements."""
        if id(items) in self._labelled:  # labelled already (lists never change once built)
            return
        self._labelled[id(items)] = items
        self.places[id(items)] = prefix
        for i, item in enumerate(items):
            if isinstance(item, Value) and not item.label and (item._child1 is not None
                                                               or id(item) in self.kinds):
                item.label = f"{prefix}[{i}]"
            elif isinstance(item, list):
                self._label_list(f"{prefix}[{i}]", item)

    # --- expressions ----------------------------------------------------------------------------
    def count(self, node: ast.AST, n: int = 1) -> None:
        self.operations += n
        if self.operations > MAX_OPERATIONS:
            raise self.fail(node, f"the program makes more than {MAX_OPERATIONS:,} operations; "
                                  f"that limit keeps the app responsive")

    def eval(self, node: ast.expr, env: dict) -> object:
        method = getattr(self, "eval_" + type(node).__name__)
        return method(node, env)

    def eval_Constant(self, node: ast.Constant, env: dict) -> float:
        try:
            return float(node.value)
        except OverflowError:
            raise self.fail(node, "this number is too large for a float") from None

    def eval_Name(self, node: ast.Name, env: dict) -> object:
        if node.id in env:
            return env[node.id]
        if node.id in self.env:
            return self.env[node.id]
        if node.id in ("Value", "sum", "zip", "range", "len") + FUNCTIONS:
            raise self.fail(node, f"`{node.id}` is a function: call it, as in `{node.id}(...)`")
        raise self.fail(node, f"`{short(node.id)}` is not defined; assign it on an earlier line")

    def eval_UnaryOp(self, node: ast.UnaryOp, env: dict) -> object:
        value = self.eval(node.operand, env)
        self._need_scalar(node.operand, value, "-")
        if isinstance(node.op, ast.UAdd):
            return value
        self.count(node)
        return -value

    def eval_BinOp(self, node: ast.BinOp, env: dict) -> object:
        left = self.eval(node.left, env)
        right = self.eval(node.right, env)
        self.count(node)
        op = type(node.op)
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}[op]
        self._need_scalar(node.left, left, symbol)
        self._need_scalar(node.right, right, symbol)
        try:
            if op is ast.Add:
                return left + right
            if op is ast.Sub:
                return left - right
            if op is ast.Mult:
                return left * right
            if op is ast.Div:
                if isinstance(right, float) and right == 0:
                    raise DomainError("division: the divisor is 0")
                return left / right
            return self.power(left, right)
        except DomainError as exc:
            raise self.fail(node, str(exc)) from None
        except ZeroDivisionError:
            raise self.fail(node, f"{symbol}: division by zero") from None
        except OverflowError:
            raise self._overflow(node, symbol) from None

    def power(self, base: object, exponent: object) -> object:
        if isinstance(exponent, Value) and not self._depends_on_param(exponent):
            exponent = exponent.data  # a constant exponent: a power by a number, as in e**2
        if isinstance(base, float) and isinstance(exponent, float):
            if base < 0 and not exponent.is_integer():
                raise DomainError(f"power: a negative base ({base:g}) to a fractional power "
                                  f"({exponent:g})")
            if base == 0 and exponent < 0:
                raise DomainError(f"power: 0 ** {exponent:g} divides by zero")
            return base**exponent
        if isinstance(base, float):
            base = Value(base)
        return base**exponent

    def _depends_on_param(self, v: Value) -> bool:
        # Remembered per node, so a big exponent reused many times is walked once in all.
        memo = self._depends
        stack = [(v, False)]
        while stack:
            n, children_done = stack.pop()
            if id(n) in memo:
                continue
            if children_done:
                memo[id(n)] = (n, self.kinds.get(id(n)) == PARAM
                               or any(memo[id(c)][1] for c in n._children))
            else:
                stack.append((n, True))
                stack.extend((c, False) for c in n._children if id(c) not in memo)
        return memo[id(v)][1]

    def _need_scalar(self, node: ast.AST, value: object, op: str) -> None:
        if isinstance(value, (list, tuple)):
            raise self.fail(node, f"`{op}` needs a number, not a list; use sum(...) or index "
                                  f"one element")

    def eval_List(self, node: ast.List, env: dict) -> list:
        if len(node.elts) > MAX_LIST_LENGTH:
            raise self.fail(node, f"lists may hold at most {MAX_LIST_LENGTH:,} elements")
        return [self.eval(e, env) for e in node.elts]

    eval_Tuple = eval_List

    def eval_Subscript(self, node: ast.Subscript, env: dict) -> object:
        seq = self.eval(node.value, env)
        if not isinstance(seq, (list, tuple)):
            raise self.fail(node.value, "only lists can be indexed")
        index = self._integer(node.slice, self.eval(node.slice, env), "a list index")
        if not -len(seq) <= index < len(seq):
            shown = index if abs(index) < 10**15 else f"{float(index):g}"
            raise self.fail(node.slice, f"index {shown} is outside the list (it has "
                                        f"{len(seq)} elements)")
        return seq[index]

    def eval_ListComp(self, node: ast.ListComp, env: dict) -> list:
        out: list = []
        self._comprehend(node, node.generators, dict(env), out)
        return out

    eval_GeneratorExp = eval_ListComp

    def _element(self, node: ast.ListComp, env: dict) -> object:
        """One element of a comprehension."""
        return self.eval(node.elt, env)

    def _comprehend(self, node, generators, env: dict, out: list) -> None:
        gen, rest = generators[0], generators[1:]
        items = self.eval(gen.iter, env)
        if not isinstance(items, (list, tuple)):
            raise self.fail(gen.iter, "a comprehension needs a list, range(...) or zip(...) to "
                                      "loop over")
        for item in items:
            self.assign(gen.target, item, env, label=False)
            if rest:
                self._comprehend(node, rest, env, out)
            else:
                self.count(node)
                out.append(self._element(node, env))
            if len(out) > MAX_LIST_LENGTH:
                raise self.fail(node, f"lists may hold at most {MAX_LIST_LENGTH:,} elements")

    def eval_Call(self, node: ast.Call, env: dict) -> object:
        fname = node.func.id
        args = [self.eval(a, env) for a in node.args]
        self.count(node)
        handler = getattr(self, "call_" + fname, None)
        try:
            if handler is not None:
                return handler(node, args)
            return self.call_function(node, fname, args)
        except DomainError as exc:
            raise self.fail(node, str(exc)) from None
        except OverflowError:
            raise self._overflow(node, fname) from None

    def _arity(self, node: ast.Call, args: list, low: int, high: int | None = None) -> None:
        high = low if high is None else high
        if not low <= len(args) <= high:
            want = f"{low}" if low == high else f"{low} to {high}"
            raise self.fail(node, f"{node.func.id}(...) takes {want} argument"
                                  f"{'s' if high != 1 else ''}, not {len(args)}")

    def call_Value(self, node: ast.Call, args: list) -> Value:
        self._arity(node, args, 1)
        if not isinstance(args[0], float) or isinstance(args[0], bool):
            raise self.fail(node.args[0], "Value(...) takes a plain number, the parameter's "
                                          "starting value")
        k = len(self.params)
        start = args[0]
        if self.overrides is not None:
            if k >= len(self.overrides):
                raise ProgramError(f"expected {len(self.overrides)} parameter values but the "
                                   f"program makes more", source_name=self.program.name)
            start = float(self.overrides[k])
        v = Value(start)
        self.params.append(v)
        self.kinds[id(v)] = PARAM
        return v

    def call_function(self, node: ast.Call, fname: str, args: list) -> object:
        self._arity(node, args, 1)
        x = args[0]
        self._need_scalar(node.args[0], x, fname)
        plain = isinstance(x, float)
        v = Value(x) if plain else x
        out = abs(v) if fname == "abs" else getattr(v, fname)()
        return out.data if plain else out

    def call_sum(self, node: ast.Call, args: list, partials: list | None = None) -> object:
        self._arity(node, args, 1)
        items = args[0]
        if not isinstance(items, (list, tuple)):
            raise self.fail(node.args[0], "sum(...) needs a list of terms")
        if not items:
            return 0.0
        total = items[0]
        for item in items[1:]:
            self._need_scalar(node, item, "sum")
            total = total + item  # no leading 0 node: the first term starts the sum
            if partials is not None:  # the running totals, for a snapshot's names
                partials.append(total)
        self.count(node, len(items))
        self._need_scalar(node, total, "sum")
        return total

    def call_zip(self, node: ast.Call, args: list) -> list:
        for a, arg in zip(node.args, args):
            if not isinstance(arg, (list, tuple)):
                raise self.fail(a, "zip(...) needs lists")
        self.count(node, min(map(len, args), default=0) * len(args))
        return [list(t) for t in zip(*args)]

    def call_range(self, node: ast.Call, args: list) -> list:
        self._arity(node, args, 1, 3)
        ints = [self._integer(a, v, "range(...)") for a, v in zip(node.args, args)]
        if len(ints) == 3 and ints[2] == 0:
            raise self.fail(node.args[2], "the step of range(...) must not be 0")
        r = range(*ints)
        if len(r) > MAX_LIST_LENGTH:
            raise self.fail(node, f"range(...) may give at most {MAX_LIST_LENGTH:,} numbers")
        self.count(node, len(r))
        return [float(i) for i in r]

    def call_len(self, node: ast.Call, args: list) -> float:
        self._arity(node, args, 1)
        if not isinstance(args[0], (list, tuple)):
            raise self.fail(node.args[0], "len(...) needs a list")
        return float(len(args[0]))

    def _integer(self, node: ast.AST, value: object, what: str) -> int:
        if isinstance(value, Value) and not self._depends_on_param(value):
            value = value.data  # a named whole number, or arithmetic on named numbers
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise self.fail(node, f"{what} needs a whole number")


class _Recorder(_Interpreter):
    """The interpreter, noting as it goes what a snapshot needs to name nodes as the program
    does: the expression that made each node, and each ``sum(...)`` with the names it reads.
    Only a snapshot runs it, so a plain training iteration pays nothing for the names."""

    def __init__(self, program: Program, param_values: Sequence[float] | None):
        super().__init__(program, param_values)
        self.origins: dict[int, ast.AST] = {}
        self.sums: list[tuple[ast.Call, dict, list]] = []
        self._free: dict[int, tuple[str, ...]] = {}
        self._env: dict = {}
        # the groups (see engine.groups): [kind, parent, what it made, index into sums], and the
        # group each node was made in directly, by id (-1: none); the nodes are kept alive so
        # that an id is never reused by another node
        self.groups: list[list] = []
        self.owner: dict[int, int] = {}
        self._open: list[int] = []
        self._kept: list[Value] = []

    def _made(self, node: ast.AST, value: object) -> object:
        if isinstance(value, Value) and id(value) not in self.origins:
            self.origins[id(value)] = node
        self._own(value)
        return value

    def _own(self, value: object) -> None:
        """``value`` and the inputs made with it (a constant, the ``-y`` of ``z - y``, the running
        totals of a sum) belong to the innermost group open now, unless they belong somewhere."""
        if not isinstance(value, Value) or id(value) in self.owner:
            return
        group = self._open[-1] if self._open else -1
        stack = [value]
        while stack:
            v = stack.pop()
            if id(v) in self.owner:
                continue
            self.owner[id(v)] = group
            self._kept.append(v)
            stack.extend(c for c in v._children if id(c) not in self.owner)

    def _begin(self, kind: str) -> list:
        group = [kind, self._open[-1] if self._open else -1, None, -1]
        self._open.append(len(self.groups))
        self.groups.append(group)
        return group

    def label(self, name: str, value: object) -> object:
        value = super().label(name, value)
        self._own(value)  # a named input is made by its statement, outside every group
        return value

    def _statement(self, stmt: ast.Assign) -> object:
        target = stmt.targets[0]
        if not (isinstance(target, ast.Name) and isinstance(stmt.value, (ast.List, ast.ListComp))):
            return super()._statement(stmt)
        group = self._begin(LIST)  # a named list: a layer, a list of weights
        try:
            group[2] = value = super()._statement(stmt)
            for item in value if isinstance(value, list) else ():
                self._own(item)
        finally:
            self._open.pop()
        return value

    def eval_List(self, node: ast.List, env: dict) -> list:
        if not self._open or self.groups[self._open[-1]][0] != LIST:
            return super().eval_List(node, env)
        group = self._begin(LIST)  # a row inside a named list
        try:
            group[2] = value = super().eval_List(node, env)
            for item in value:
                self._own(item)
        finally:
            self._open.pop()
        return value

    def _element(self, node: ast.ListComp, env: dict) -> object:
        group = self._begin(ELEMENT)
        try:
            group[2] = value = super()._element(node, env)
            self._own(value)
        finally:
            self._open.pop()
        return value

    def group_specs(self, texts: list[str]) -> list[tuple[str, str, str, int]]:
        """Each group's (kind, name, text, parent), named once the program has run (a list's
        element is labelled by its statement): ``hidden[2][4]``, ``w1``, ``sum(w1[0]·xs[1])``."""
        specs = []
        for kind, parent, value, sum_index in self.groups:
            place = ""
            if isinstance(value, Value):
                place = value.label
            elif isinstance(value, list):
                place = self.places.get(id(value), "")
            if kind == SUM:
                text = texts[sum_index] if 0 <= sum_index < len(texts) else "sum(...)"
                name = text if not place else f"{place} = {text}"
            elif kind == LIST:
                text = f"the list {place}" if place else "a list"
                name = place or "list"
            else:
                text = f"element {place}" if place else "an element of a list comprehension"
                name = place  # "": named after its result by the snapshot
            specs.append((kind, name, text, parent))
        return specs

    def eval_UnaryOp(self, node: ast.UnaryOp, env: dict) -> object:
        return self._made(node, super().eval_UnaryOp(node, env))

    def eval_BinOp(self, node: ast.BinOp, env: dict) -> object:
        return self._made(node, super().eval_BinOp(node, env))

    def eval_Call(self, node: ast.Call, env: dict) -> object:
        if node.func.id != "sum":
            self._env = env
            return self._made(node, super().eval_Call(node, env))
        group = self._begin(SUM)  # the sum and the terms made in its argument
        try:
            self._env = env
            group[2] = value = self._made(node, super().eval_Call(node, env))
        finally:
            self._open.pop()
        return value

    def call_sum(self, node: ast.Call, args: list) -> object:
        env = self._env  # the names the sum reads, as its call saw them
        partials: list = []
        total = super().call_sum(node, args, partials)
        if isinstance(total, Value) and partials:
            free = self._free.get(id(node))
            if free is None:
                free = self._free[id(node)] = _free_names(node)
            self.sums.append((node, {k: env[k] for k in free if k in env}, partials))
            if self._open and self.groups[self._open[-1]][0] == SUM:
                self.groups[self._open[-1]][3] = len(self.sums) - 1
        return total


class _Places(ast.NodeTransformer):
    """A copy of an expression whose free names are written as what they stand for: a list by
    its place (``row`` → ``w1[2]``), a named node by its name, a number by its value."""

    def __init__(self, env: dict, places: dict[int, str]):
        self.env, self.places, self.bound = env, places, set()

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        node.iter = self.visit(node.iter)  # the loop's own names stay as the program has them
        self.bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        return node

    def visit_ListComp(self, node: ast.ListComp) -> ast.AST:
        node.generators = [self.visit(g) for g in node.generators]
        node.elt = self.visit(node.elt)
        return node

    visit_GeneratorExp = visit_ListComp

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.bound or node.id not in self.env:
            return node
        value = self.env[node.id]
        if isinstance(value, list) and id(value) in self.places:
            return ast.Name(self.places[id(value)])
        if isinstance(value, Value) and value.label:
            return ast.Name(value.label)
        if isinstance(value, float):
            return ast.Name(explain.format_number(value))
        return node


def sum_hints(sums: list, places: dict[int, str], texts: list[str] | None = None) -> dict[int, str]:
    """``sum(...)`` of what it adds, for each sum's node and its running totals: the program's
    own text with the lists it loops over named by their places
    (``sum(wi·xi for wi, xi in zip(w1[2], xs[1]))``); a running total adds ``(terms 1–k)``.
    ``texts``, if given, receives each sum's text in order."""
    hints: dict[int, str] = {}
    templates: dict[int, str | None] = {}
    for node, env, partials in sums:
        if id(node) not in templates:
            templates[id(node)] = _template(node)
        template = templates[id(node)]
        if template is None:  # a loop name shadows an outer one: substitute in the tree
            text = explain.source_text(_compact(_Places(env, places).visit(copy.deepcopy(node))))
        else:
            text = _IDENTIFIER.sub(lambda m: _stands_for(m.group(), env, places), template)  # noqa: B023 (used at once)
        if texts is not None:
            texts.append(text)
        n = len(partials) + 1
        for k, partial in enumerate(partials, start=2):
            if isinstance(partial, Value) and not partial.label and id(partial) not in hints:
                hints[id(partial)] = text if k == n else f"{text} (terms 1–{k})"
    return hints


_IDENTIFIER = re.compile(r"(?<![\w.\[])[^\W\d]\w*")


def _template(node: ast.Call) -> str | None:
    """A sum's text with its free names left to fill in (the same for every iteration of the
    loop that makes it), or None when a loop name shadows a free one. A sum over one loop
    through lists is written with the lists themselves: ``sum(wi * xi for wi, xi in zip(row,
    x))`` → ``sum(row·x)``, as in vector notation."""
    bound = {n.id for g in ast.walk(node) if isinstance(g, ast.comprehension)
             for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    if bound & set(_free_names(node)):
        return None
    renames = _loop_lists(node)
    if renames is None:
        return explain.source_text(node)
    text = explain.source_text(ast.Call(node.func, [node.args[0].elt], []))
    return _IDENTIFIER.sub(lambda m: renames.get(m.group(), m.group()), text)


def _loop_lists(call: ast.Call) -> dict[str, str] | None:
    """For ``sum(e for a, b in zip(A, B))`` (or ``for a in A``), each loop name → its list's
    name; None for any other shape of sum."""
    comp = call.args[0] if call.args else None
    if not isinstance(comp, (ast.ListComp, ast.GeneratorExp)) or len(comp.generators) != 1:
        return None
    gen = comp.generators[0]
    if gen.ifs:
        return None
    if (isinstance(gen.iter, ast.Call) and isinstance(gen.iter.func, ast.Name)
            and gen.iter.func.id == "zip" and isinstance(gen.target, ast.Tuple)
            and len(gen.target.elts) == len(gen.iter.args)):
        pairs = list(zip(gen.target.elts, gen.iter.args))
    else:
        pairs = [(gen.target, gen.iter)]
    if not all(isinstance(t, ast.Name) and isinstance(i, ast.Name) for t, i in pairs):
        return None
    return {t.id: i.id for t, i in pairs}


def _stands_for(name: str, env: dict, places: dict[int, str]) -> str:
    """What a free name is written as in a sum's name: a list's place, a node's name, a number."""
    if name not in env:
        return name
    value = env[name]
    if isinstance(value, list) and id(value) in places:
        return places[id(value)]
    if isinstance(value, Value) and value.label:
        return value.label
    if isinstance(value, float):
        return explain.format_number(value)
    return name


def _compact(call: ast.Call) -> ast.Call:
    """The tree form of :func:`_template`'s vector notation, for a sum whose names shadow."""
    renames = _loop_lists(call)
    if renames is None:
        return call
    return ast.Call(call.func, [_Rename(renames).visit(call.args[0].elt)], [])


class _Rename(ast.NodeTransformer):
    """A loop's names replaced by the lists they walk through (``wi`` → ``row``)."""

    def __init__(self, names: dict[str, str]):
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.names.get(node.id, node.id))


def _free_names(node: ast.AST) -> tuple[str, ...]:
    """The names an expression reads that its own comprehensions do not bind."""
    bound = {n.id for g in ast.walk(node) if isinstance(g, ast.comprehension)
             for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    return tuple({n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - bound)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}#{seen[n]}")
        else:
            seen[n] = 1
            out.append(n)
    return out
