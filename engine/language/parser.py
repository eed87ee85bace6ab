"""Parse a loss program with ``ast`` and check every node against a short whitelist.

Nothing here runs user text: ``ast.parse`` only builds a tree, which :mod:`.interpreter` walks.
The bounds below keep a hostile or accidental program from taking the window with it.
"""

from __future__ import annotations

import ast
import math
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ProgramError, ProgramOverflow

#: Bounds on what a program may ask for (documented in README.md, "The loss language").
MAX_SOURCE_CHARS = 100_000
MAX_NESTING = 100  # expression depth: parentheses, operators and calls nested in one another
MAX_OPERATIONS = 200_000  # operations, calls and range/zip elements one evaluation may make
MAX_LIST_LENGTH = 100_000  # elements of one list, range or comprehension

FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs")
BUILTINS = ("Value", "sum", "zip", "range", "len") + FUNCTIONS

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_SETTING = re.compile(r"#\s*autodiff:\s*(.*)")


@dataclass(frozen=True)
class Binding:
    """A top-level ``name = number`` or ``name = Value(number)``: a row of the parameter table.

    ``line``, ``column`` and ``end_column`` (1-based, end exclusive) locate the number's text, so
    an editor can rewrite just that number.
    """

    name: str
    kind: str  # "param" or "input"
    value: float
    line: int
    column: int
    end_column: int


@dataclass(frozen=True)
class ResultLine:
    """A preset's result line, from ``result="y = {m:.2f}x + {b:.2f}"`` in its ``# autodiff:``
    line: literal text and ``{name}`` / ``{name:.Nf}`` fields naming program variables, printed
    after training. It is parsed here into pieces and filled in by :meth:`render`, so no text of
    the program is ever formatted or evaluated as code."""

    pieces: tuple[tuple[str, str, int | None], ...]  # (literal text, field name or "", digits)
    line: int
    column: int
    end_column: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _, name, _ in self.pieces if name)

    def render(self, values: Mapping[str, float], source_name: str = "<program>") -> str:
        """The line with each field filled from ``values``; a name with no number there is a
        :class:`ProgramError` at the directive."""
        out = []
        for text, name, digits in self.pieces:
            out.append(text)
            if not name:
                continue
            if name not in values:
                raise ProgramError(f"the result line names `{short(name)}`, which is not a "
                                   f"parameter, a named input or the loss", self.line, self.column,
                                   self.end_column, source_name)
            x = float(values[name])
            out.append(f"{x:.{digits}f}" if digits is not None else _plain_number(x))
        return "".join(out)


def _plain_number(x: float) -> str:
    return f"{x:.6g}"


@dataclass(frozen=True)
class DataNames:
    """``data=xs,ys`` in a program's ``# autodiff:`` line: the list of inputs (numbers, or lists
    of numbers) and the list of targets the model is fitted to, and where the setting is."""

    inputs: str
    targets: str
    line: int
    column: int
    end_column: int


@dataclass(frozen=True)
class Model:
    """``def predict(x): return <expression>``: what the program's model predicts at one input,
    for the data view. It is taken out of the program's statements (the loss never runs it)."""

    arg: str
    expr: ast.expr = field(repr=False, compare=False)
    line: int
    column: int
    end_column: int


@dataclass(frozen=True)
class Program:
    source: str
    name: str  # the file path, preset name or <stdin>, used in error messages
    tree: ast.Module = field(repr=False, compare=False)
    loss_name: str
    bindings: tuple[Binding, ...] = ()
    description: str = ""
    settings: dict = field(default_factory=dict, compare=False)  # from "# autodiff: lr=0.01 steps=800"
    result_line: ResultLine | None = field(default=None, compare=False)  # from result="..."
    data: DataNames | None = field(default=None, compare=False)  # from data=xs,ys
    model: Model | None = field(default=None, compare=False)  # def predict(x): return ...

    def binding(self, name: str) -> Binding:
        for b in self.bindings:
            if b.name == name:
                return b
        raise KeyError(name)


def parse(source: str, name: str = "<program>") -> Program:
    """Parse and check ``source``; raise :class:`ProgramError` with a position on any problem."""
    if not isinstance(source, str):
        raise ProgramError("the program must be text", source_name=name)
    if len(source) > MAX_SOURCE_CHARS:
        raise ProgramError(f"the program is {len(source):,} characters long; the limit is "
                           f"{MAX_SOURCE_CHARS:,}", source_name=name)
    try:
        with warnings.catch_warnings():
            # SyntaxWarnings (`1for`, "\d") would go to stderr, or become errors under -W error
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=name, mode="exec")
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1  # 1-based, in characters for text source
        raise ProgramError(_syntax_message(exc), line, col, source_name=name) from None
    except UnicodeEncodeError as exc:  # a lone surrogate, which no file can hold
        lines = re.split(r"\r\n|\r|\n", source[:exc.start])
        bad = f"U+{ord(source[exc.start]):04X}"
        raise ProgramError(f"the program contains a character that is not text ({bad})",
                           len(lines), len(lines[-1]) + 1, source_name=name) from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as exc:
        raise ProgramError(f"the program cannot be read: {_plain(exc)}", source_name=name) from None

    checker = _Checker(source, name)
    loss_name = checker.check_module(tree)
    settings = _settings(source, name, frozenset(checker.assigned))
    result_line = settings.pop("result", None)
    data = settings.pop("data", None)
    model = checker.model
    if model is not None:
        tree = ast.Module(body=[s for s in tree.body if not isinstance(s, ast.FunctionDef)],
                          type_ignores=[])
    if model is not None and data is None:
        raise ProgramError("predict(...) draws the model over its data: name the data in the "
                           "`# autodiff:` line, as in data=x_train,y_train", model.line,
                           model.column, model.end_column, source_name=name)
    if data is not None and model is None:
        raise ProgramError("the setting `data` needs a model to draw: add a line "
                           "`def predict(x): return ...` giving the model's output at an input x",
                           data.line, data.column, data.end_column, source_name=name)
    return Program(source=source, name=name, tree=tree, loss_name=loss_name,
                   bindings=tuple(_bindings(tree, source)), description=_description(source),
                   settings=settings, result_line=result_line, data=data, model=model)


def position(source: str, node: ast.AST) -> tuple[int, int, int]:
    """1-based line, column and exclusive end column (in characters) of an AST node."""
    line = getattr(node, "lineno", 1) or 1
    col = _char_col(source, line, getattr(node, "col_offset", 0) or 0) + 1
    end_line = getattr(node, "end_lineno", line) or line
    if end_line == line and getattr(node, "end_col_offset", None) is not None:
        end = _char_col(source, line, node.end_col_offset) + 1
    else:
        end = len(_line(source, line)) + 1
    return line, col, end


def error_at(source: str, name: str, node: ast.AST, message: str) -> ProgramError:
    line, col, end = position(source, node)
    return ProgramError(message, line, col, end, source_name=name)


def assignment(program: Program, name: str, occurrence: int = 0) -> ast.Assign | None:
    """The ``occurrence``-th top-level statement that assigns ``name`` (a graph node's label;
    ``ws[3]`` counts as ``ws``), so a message about a node can point at the line that made it."""
    base = name.split("[", 1)[0]
    seen = 0
    for stmt in program.tree.body:
        if isinstance(stmt, ast.Assign) and base in _target_names(stmt.targets[0]):
            if seen == occurrence:
                return stmt
            seen += 1
    return None


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    return []


def _line(source: str, line: int) -> str:
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _char_col(source: str, line: int, offset: int, is_bytes: bool = True) -> int:
    """ast offsets count UTF-8 bytes; an editor counts characters."""
    if not is_bytes:
        return max(0, offset)
    text = _line(source, line).encode("utf-8")
    return len(text[:max(0, offset)].decode("utf-8", errors="ignore"))


def short(name: str, limit: int = 40) -> str:
    """A name as an error message shows it: cut short, so a message stays one readable line."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _plain(exc: BaseException) -> str:
    if isinstance(exc, (RecursionError, MemoryError)):
        # Python's parser gives up on very deep expressions (a long a+b+c+... chain counts)
        return (f"it is nested too deeply (an expression may nest at most {MAX_NESTING} "
                f"levels; add long lists of terms with sum([...]))")
    if "integer string conversion" in str(exc):  # Python reads at most 4300 digits
        return "a number has too many digits (Python reads at most 4,300)"
    return str(exc) or type(exc).__name__


def _syntax_message(exc: SyntaxError) -> str:
    msg = exc.msg or "invalid syntax"
    if "integer string conversion" in msg:  # Python reads at most 4300 digits
        return "a number has too many digits (Python reads at most 4,300)"
    if "too many nested parentheses" in msg:
        return "too many nested parentheses (Python allows 200)"
    if msg.startswith("invalid syntax"):
        return "this line is not valid Python syntax"
    return msg


def _description(source: str) -> str:
    for raw in source.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#") and not _SETTING.match(line):
            return line.lstrip("#").strip()
        if not line.startswith("#"):
            break
    return ""


#: The keys a ``# autodiff:`` line may set, and what each must be.
SETTING_KEYS = ("lr", "steps", "every", "tol", "result", "data")
_ITEM = re.compile(r"""([^\s=]*)(=("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|\S*))?""")
_FIELD = re.compile(r"\{([^{}]*)\}|\{\{|\}\}|[{}]")
_FIELD_SPEC = re.compile(r"\.(\d{1,2})f")


def _settings(source: str, name: str = "<program>", assigned: frozenset[str] = frozenset()) -> dict:
    """The ``# autodiff: lr=0.01 steps=800`` settings of a program (``result`` among them).

    Each item is checked here, so a bad one is an error at its own line and column naming the
    key, like any other mistake in the program, and never reaches a trainer as if typed."""
    out: dict = {}
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", source), start=1):  # as ast counts lines
        m = _SETTING.match(raw.strip())
        if not m:
            continue
        rest_start = len(raw) - len(raw.lstrip()) + m.start(1)
        pos = rest_start
        while True:
            while pos < len(raw) and raw[pos].isspace():
                pos += 1
            if pos >= len(raw):
                break
            item = _ITEM.match(raw, pos)
            key, value = item.group(1), item.group(3)
            where = (number, item.start() + 1, item.end() + 1)
            pos = item.end()
            if not key:
                raise ProgramError(f"a setting needs a name before `=`, as in lr=0.1; an "
                                   f"`# autodiff:` line may set {', '.join(SETTING_KEYS)}", *where,
                                   source_name=name)
            if key not in SETTING_KEYS:
                raise ProgramError(f"`{short(key)}` is not a setting; an `# autodiff:` line may set "
                                   f"{', '.join(SETTING_KEYS)}", *where, source_name=name)
            if value is None or value == "":
                raise ProgramError(f"the setting `{key}` needs a value, as in "
                                   f"{key}={_EXAMPLES[key]}", *where, source_name=name)
            if key in out:
                raise ProgramError(f"the setting `{key}` is given twice", *where, source_name=name)
            out[key] = _setting_value(key, value, where, name, assigned)
    return out


_EXAMPLES = {"lr": "0.1", "steps": "100", "every": "10", "tol": "1e-6",
             "result": '"w = {w:.2f}"', "data": "x_train,y_train"}


def _setting_value(key: str, text: str, where: tuple[int, int, int], name: str,
                   assigned: frozenset[str]) -> object:
    def bad(why: str) -> ProgramError:
        return ProgramError(f"the setting `{key}` {why}", *where, source_name=name)

    shown = short(text, 20)
    if key == "result":
        return _result_line(text, where, name, assigned)
    if key == "data":
        names = text.split(",")
        if len(names) != 2 or not all(n.isidentifier() for n in names):
            raise bad(f"names two lists, the inputs and the targets, as in data=x_train,y_train, "
                      f"not {shown}")
        for n in names:
            if assigned and n not in assigned:
                raise bad(f"names `{short(n)}`, which the program does not assign")
        return DataNames(names[0], names[1], *where)
    if key in ("steps", "every"):
        if not re.fullmatch(r"\d{1,12}", text):
            raise bad(f"must be a whole number, not {shown}")
        value = int(text)
        if key == "every" and value < 1:
            raise bad(f"must be 1 or more, not {value}")
        return value
    try:
        value = float(text)
    except ValueError:
        raise bad(f"must be a number, not {shown}") from None
    if key == "lr" and not (math.isfinite(value) and value > 0):
        raise bad(f"must be a positive number, not {shown}")
    if key == "tol" and not (math.isfinite(value) and value >= 0):
        raise bad(f"must be 0 or a positive number, not {shown}")
    return value


def _result_line(text: str, where: tuple[int, int, int], name: str,
                 assigned: frozenset[str]) -> ResultLine:
    def bad(why: str) -> ProgramError:
        return ProgramError(f"the setting `result` {why}", *where, source_name=name)

    quote = text[0]
    if quote not in "\"'" or len(text) < 2 or text[-1] != quote:
        raise bad('must be quoted text, as in result="w = {w:.2f}"')
    body = re.sub(r"\\(.)", r"\1", text[1:-1])
    pieces: list[tuple[str, str, int | None]] = []
    literal = ""
    pos = 0
    for m in _FIELD.finditer(body):
        literal += body[pos:m.start()]
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            literal += token[0]
            continue
        if m.group(1) is None:
            raise bad(f"has a lone `{token}`; write {{{{ or }}}} for a brace")
        field, _, spec = m.group(1).partition(":")
        if not field.isidentifier():
            raise bad(f"may only name a variable in braces, as in {{w}} or {{w:.2f}}, not "
                      f"{{{short(m.group(1), 20)}}}")
        digits = None
        if spec:
            fmt = _FIELD_SPEC.fullmatch(spec)
            if fmt is None:
                raise bad(f"may only format a number as {{{field}:.Nf}} (N digits after the "
                          f"point), not {{{short(m.group(1), 20)}}}")
            digits = int(fmt.group(1))
        if assigned and field not in assigned:
            raise bad(f"names `{short(field)}`, which the program does not assign")
        pieces.append((literal, field, digits))
        literal = ""
    literal += body[pos:]
    if literal:
        pieces.append((literal, "", None))
    return ResultLine(tuple(pieces), *where)


def _number_literal(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        try:
            return float(node.value)
        except OverflowError:  # an integer too large for a float: evaluate() says so
            return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number_literal(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


def _bindings(tree: ast.Module, source: str) -> list[Binding]:
    out = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            continue
        target, value = stmt.targets[0], stmt.value
        pairs = []
        if isinstance(target, ast.Name):
            pairs = [(target, value)]
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) \
                and len(target.elts) == len(value.elts):
            pairs = list(zip(target.elts, value.elts))
        for t, v in pairs:
            if not isinstance(t, ast.Name):
                continue
            kind, num_node = "input", v
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "Value" \
                    and len(v.args) == 1 and not v.keywords:
                kind, num_node = "param", v.args[0]
            number = _number_literal(num_node)
            if number is None:
                continue
            line, col, end = position(source, num_node)
            out.append(Binding(t.id, kind, number, line, col, end))
    # a name bound twice: the last binding is the one in force
    last = {b.name: b for b in out}
    return [b for b in out if last[b.name] is b]


def set_binding(source: str, binding: Binding, value: float) -> str:
    """Rewrite the number of one binding, leaving the rest of the text as it was."""
    lines = source.splitlines(keepends=True)
    text = lines[binding.line - 1]
    new = _format_literal(value)
    lines[binding.line - 1] = text[:binding.column - 1] + new + text[binding.end_column - 1:]
    return "".join(lines)


def _format_literal(value: float) -> str:
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


class _Checker:
    """Walks the tree once, rejecting anything outside the language with a learner's sentence."""

    def __init__(self, source: str, name: str):
        self.source = source
        self.name = name
        self.assigned: set[str] = set()  # every name a top-level statement binds
        self.model: Model | None = None  # the program's def predict(x), if it has one

    def fail(self, node: ast.AST, message: str) -> ProgramError:
        return error_at(self.source, self.name, node, message)

    def check_module(self, tree: ast.Module) -> str:
        loss_name = None
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef):
                self.check_predict(stmt)
                continue
            if not isinstance(stmt, ast.Assign):
                raise self.fail(stmt, _statement_message(stmt))
            if len(stmt.targets) != 1:
                raise self.fail(stmt, "assign one name at a time (write `a = 1` and `b = 1`, not "
                                      "`a = b = 1`)")
            target = stmt.targets[0]
            names = self.check_target(target)
            self.assigned.update(names)
            self.check_expr(stmt.value, 0)
            loss_name = names[-1]
        if loss_name is None:
            raise ProgramError("the program is empty: assign the loss last, for example "
                               "`L = (w*x - y)**2`", source_name=self.name)
        return loss_name

    def check_predict(self, node: ast.FunctionDef) -> None:
        """``def predict(x): return <one expression>``, and nothing else a ``def`` could hold."""
        line, col, _ = position(self.source, node)
        where = (line, col, len(_line(self.source, line)) + 1)
        if node.name != "predict":
            raise ProgramError(f"functions cannot be defined, but for the model of the data "
                               f"view, `def predict(x): return ...` (not `{short(node.name)}`)",
                               *where,
                               source_name=self.name)
        if self.model is not None:
            raise ProgramError("predict is defined twice", *where, source_name=self.name)
        if node.decorator_list:
            raise self.fail(node.decorator_list[0], "decorators are not part of the language")
        a = node.args
        if (len(a.args) != 1 or a.posonlyargs or a.kwonlyargs or a.vararg or a.kwarg
                or a.defaults or getattr(node, "type_params", None)):
            raise ProgramError("predict takes one input, as in `def predict(x): return m*x + b`",
                               *where, source_name=self.name)
        if len(node.body) != 1 or not isinstance(node.body[0], ast.Return) \
                or node.body[0].value is None:
            bad = node.body[0] if node.body else node
            raise self.fail(bad, "predict's body is one `return <expression>` (no other "
                                 "statements), as in `def predict(x): return m*x + b`")
        arg = a.args[0].arg
        if arg in BUILTINS or arg.startswith("__"):
            raise self.fail(a.args[0], f"`{short(arg)}` cannot name predict's input; choose "
                                       f"another name")
        expr = node.body[0].value
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) \
                    and sub.func.id == "predict":
                raise self.fail(sub, "predict cannot call itself: write the model as one "
                                     "expression of its input")
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) \
                    and sub.func.id == "Value":
                raise self.fail(sub, "predict reads the parameters, it does not make them: "
                                     "create each with Value(...) on a line of its own")
        self.check_expr(expr, 0)
        self.model = Model(arg, expr, *where)

    def check_target(self, target: ast.expr) -> list[str]:
        if isinstance(target, ast.Name):
            if target.id in BUILTINS:
                raise self.fail(target, f"`{target.id}` is a built-in of the language; choose "
                                        f"another name")
            if target.id.startswith("__"):
                raise self.fail(target, "names may not start with two underscores")
            return [target.id]
        if isinstance(target, (ast.Tuple, ast.List)):
            names = []
            for elt in target.elts:
                if isinstance(elt, (ast.Tuple, ast.List)):
                    names += self.check_target(elt)
                elif isinstance(elt, ast.Name):
                    names += self.check_target(elt)
                else:
                    raise self.fail(elt, "only names can be assigned to")
            if not names:
                raise self.fail(target, "nothing to assign to")
            return names
        if isinstance(target, ast.Attribute):
            raise self.fail(target, "attributes cannot be assigned; the trainer sets .data and "
                                    ".grad itself")
        if isinstance(target, ast.Subscript):
            raise self.fail(target, "list elements cannot be assigned; build the list whole")
        raise self.fail(target, "only names can be assigned to")

    def check_expr(self, node: ast.expr, depth: int) -> float | None:
        """Check ``node`` and what it holds; return its value when it is arithmetic on number
        literals alone (so ``1e308*10`` is refused here, at its column), else None."""
        if depth > MAX_NESTING:
            raise self.fail(node, f"the expression is nested more than {MAX_NESTING} levels deep")
        check = getattr(self, "check_" + type(node).__name__, None)
        if check is None:
            raise self.fail(node, _expression_message(node))
        return check(node, depth + 1)

    def check_Constant(self, node: ast.Constant, depth: int) -> float:
        if type(node.value) not in (int, float):
            raise self.fail(node, _constant_message(node.value))
        try:
            value = float(node.value)
        except OverflowError:
            raise self.overflow(node, "this number is too large for a float") from None
        if not math.isfinite(value):
            raise self.overflow(node, f"this number is too large for a float (the largest is "
                                      f"about {sys.float_info.max:.3g})")
        return value

    def check_Name(self, node: ast.Name, depth: int) -> None:
        if node.id.startswith("__"):
            raise self.fail(node, "names may not start with two underscores")

    def check_BinOp(self, node: ast.BinOp, depth: int) -> float | None:
        symbol = _BINOPS.get(type(node.op))
        if symbol is None:
            raise self.fail(node, "only + - * / and ** are supported")
        left = self.check_expr(node.left, depth)
        right = self.check_expr(node.right, depth)
        if left is None or right is None:
            return None
        return self.fold(node, symbol, left, right)

    def check_UnaryOp(self, node: ast.UnaryOp, depth: int) -> float | None:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise self.fail(node, "only the unary minus (and plus) is supported")
        value = self.check_expr(node.operand, depth)
        if value is None:
            return None
        return -value if isinstance(node.op, ast.USub) else value

    def check_Call(self, node: ast.Call, depth: int) -> None:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.fail(node.func, f"methods are not part of the language; write "
                                           f"`{node.func.attr}(x)` instead of `x.{node.func.attr}()`"
                                if node.func.attr in FUNCTIONS else
                                "attribute access is not part of the language")
            raise self.fail(node.func, "only the language's functions can be called")
        if node.func.id == "predict":
            raise self.fail(node.func, "predict(...) is for the data view, not the loss: build "
                                       "the loss from the model's own expression")
        if node.func.id not in BUILTINS:
            raise self.fail(node.func, f"`{short(node.func.id)}` is not a function of the language; "
                                       f"it knows {', '.join(BUILTINS)}")
        if node.keywords:
            raise self.fail(node.keywords[0].value, "keyword arguments are not supported")
        self.check_items(node.args, depth)

    def check_List(self, node: ast.List | ast.Tuple, depth: int) -> None:
        self.check_items(node.elts, depth)

    check_Tuple = check_List

    def check_items(self, items: list[ast.expr], depth: int) -> None:
        for item in items:
            if isinstance(item, ast.Starred):
                raise self.fail(item, "`*` unpacking is not supported")
            self.check_expr(item, depth)

    def check_Subscript(self, node: ast.Subscript, depth: int) -> None:
        if isinstance(node.slice, ast.Slice):
            raise self.fail(node.slice, "slices are not supported; index one element, "
                                        "for example `xs[0]`")
        self.check_expr(node.value, depth)
        self.check_expr(node.slice, depth)

    def check_ListComp(self, node: ast.ListComp | ast.GeneratorExp, depth: int) -> None:
        if depth - 1 + len(node.generators) > MAX_NESTING:
            raise self.fail(node, f"the comprehension has {len(node.generators)} `for` parts "
                                  f"and is nested more than {MAX_NESTING} levels deep")
        for gen in node.generators:
            if gen.is_async:
                raise self.fail(node, "async comprehensions are not supported")
            if gen.ifs:
                raise self.fail(gen.ifs[0], "`if` inside a comprehension is not supported")
            self.check_target(gen.target)
            self.check_expr(gen.iter, depth)
        self.check_expr(node.elt, depth)

    check_GeneratorExp = check_ListComp

    def overflow(self, node: ast.AST, message: str) -> ProgramOverflow:
        e = self.fail(node, message)
        return ProgramOverflow(e.message, e.line, e.column, e.end_column, e.source_name)

    def fold(self, node: ast.BinOp, symbol: str, left: float, right: float) -> float | None:
        """``left symbol right`` as the interpreter will compute it, refused here if the result
        is not a finite number. Operations outside their domain (1/0, (-8)**0.5) are left to the
        interpreter, whose message names them."""
        try:
            if symbol == "+":
                value = left + right
            elif symbol == "-":
                value = left - right
            elif symbol == "*":
                value = left * right
            elif symbol == "/":
                value = left / right
            else:
                value = left**right
        except ZeroDivisionError:
            return None
        except OverflowError:
            raise self.overflow(node, f"{symbol}: the result is too large for a float") from None
        if not isinstance(value, float):  # a complex power: the interpreter's domain error
            return None
        if not math.isfinite(value):
            raise self.overflow(node, f"{symbol}: the result is too large for a float")
        return value


def _statement_message(stmt: ast.stmt) -> str:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return "imports are not part of the language"
    if isinstance(stmt, (ast.AsyncFunctionDef, ast.Lambda)):
        return "functions cannot be defined; write the loss as assignments"
    if isinstance(stmt, (ast.While, ast.For, ast.AsyncFor)):
        return "loops are not statements here; use a list comprehension inside sum(...), and " \
               "leave the training loop to the trainer"
    if isinstance(stmt, ast.If):
        return "`if` is not part of the language"
    if isinstance(stmt, ast.AugAssign):
        return "`+=` and friends are not supported; write `a = a + b`"
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name) \
                and stmt.value.func.id == "print":
            return "print is not needed: the app shows every value"
        if isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute) \
                and stmt.value.func.attr == "backward":
            return "backward() is the trainer's job; the program only builds the loss"
        return "a line must assign a name, for example `L = e**2`"
    return f"`{type(stmt).__name__}` statements are not part of the language"


def _constant_message(value: object) -> str:
    if isinstance(value, str):
        return "text strings are not part of the language"
    if isinstance(value, bool):
        return "True and False are not part of the language; use 1 and 0"
    if value is None:
        return "None is not part of the language"
    if isinstance(value, complex):
        return "complex numbers are not supported"
    return "only numbers are supported"


def _expression_message(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return "attribute access is not part of the language"
    if isinstance(node, ast.Lambda):
        return "lambda is not part of the language"
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        return "comparisons and and/or are not part of the language"
    if isinstance(node, ast.IfExp):
        return "`a if c else b` is not part of the language"
    if isinstance(node, (ast.Dict, ast.DictComp, ast.Set, ast.SetComp)):
        return "only lists are supported, not dicts or sets"
    if isinstance(node, ast.JoinedStr):
        return "text strings are not part of the language"
    if isinstance(node, ast.NamedExpr):
        return "`:=` is not part of the language"
    return f"`{type(node).__name__}` expressions are not part of the language"
