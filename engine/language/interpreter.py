"""Walk a checked program's tree and build its Value graph. Never ``eval``, never ``exec``.

Values the interpreter handles: a ``float`` (a plain number), a ``Value`` (a node of the graph) and
a ``list`` (of either, or of lists). Plain-number arithmetic stays plain; a ``Value`` appears only
for ``Value(number)`` (a trained parameter), for a name bound to a number (a named input, drawn as
a leaf like the tutorial's x and y) and for anything computed from those.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..graph import INPUT, PARAM, GraphSnapshot, snapshot
from ..value import DomainError, Value
from .errors import ProgramError, ProgramOverflow
from .parser import (FUNCTIONS, MAX_LIST_LENGTH, MAX_OPERATIONS, Program, error_at, short)


@dataclass
class Evaluation:
    """One forward pass of a program: the loss node, its parameters and named inputs."""

    program: Program
    loss: Value
    params: list[tuple[str, Value]]  # in the order the program creates them
    inputs: list[tuple[str, Value]]
    kinds: dict[int, str] = field(repr=False)

    def snapshot(self) -> GraphSnapshot:
        return snapshot(self.loss, self.kinds)

    def param_values(self) -> list[float]:
        return [v.data for _, v in self.params]


def evaluate(program: Program, param_values: Sequence[float] | None = None) -> Evaluation:
    """Build the graph of ``program``; the k-th ``Value(...)`` gets ``param_values[k]`` if given."""
    return _Interpreter(program, param_values).run()


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

    def fail(self, node: ast.AST, message: str) -> ProgramError:
        return error_at(self.program.source, self.program.name, node, message)

    def _overflow(self, node: ast.AST, what: str) -> ProgramOverflow:
        e = self.fail(node, f"{what}: the result is too large for a float")
        return ProgramOverflow(e.message, e.line, e.column, e.end_column, e.source_name)

    def run(self) -> Evaluation:
        last = None
        for stmt in self.program.tree.body:
            assert isinstance(stmt, ast.Assign)
            value = self.eval(stmt.value, self.env)
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
                          self.kinds)

    # --- statements -----------------------------------------------------------------------------
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
        if id(items) in self._labelled:  # labelled already (lists never change once built)
            return
        self._labelled[id(items)] = items
        for i, item in enumerate(items):
            if isinstance(item, Value) and not item.label and id(item) in self.kinds:
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
                out.append(self.eval(node.elt, env))
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

    def call_sum(self, node: ast.Call, args: list) -> object:
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
