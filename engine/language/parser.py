"""Parse a loss program with ``ast`` and check every node against a short whitelist.

Nothing here runs user text: ``ast.parse`` only builds a tree, which :mod:`.interpreter` walks.
The bounds below keep a hostile or accidental program from taking the window with it.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

from .errors import ProgramError

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
class Program:
    source: str
    name: str  # the file path, preset name or <stdin>, used in error messages
    tree: ast.Module = field(repr=False, compare=False)
    loss_name: str
    bindings: tuple[Binding, ...] = ()
    description: str = ""
    settings: dict = field(default_factory=dict, compare=False)  # from "# autodiff: lr=0.01 steps=800"

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
    return Program(source=source, name=name, tree=tree, loss_name=loss_name,
                   bindings=tuple(_bindings(tree, source)), description=_description(source),
                   settings=_settings(source))


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


def _settings(source: str) -> dict:
    out: dict = {}
    for raw in source.splitlines():
        m = _SETTING.match(raw.strip())
        if not m:
            continue
        for item in m.group(1).split():
            key, _, value = item.partition("=")
            try:
                out[key.strip()] = int(value) if key.strip() in ("steps", "every") else float(value)
            except ValueError:
                continue
    return out


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

    def fail(self, node: ast.AST, message: str) -> ProgramError:
        return error_at(self.source, self.name, node, message)

    def check_module(self, tree: ast.Module) -> str:
        loss_name = None
        for stmt in tree.body:
            if not isinstance(stmt, ast.Assign):
                raise self.fail(stmt, _statement_message(stmt))
            if len(stmt.targets) != 1:
                raise self.fail(stmt, "assign one name at a time (write `a = 1` and `b = 1`, not "
                                      "`a = b = 1`)")
            target = stmt.targets[0]
            names = self.check_target(target)
            self.check_expr(stmt.value, 0)
            loss_name = names[-1]
        if loss_name is None:
            raise ProgramError("the program is empty: assign the loss last, for example "
                               "`L = (w*x - y)**2`", source_name=self.name)
        return loss_name

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

    def check_expr(self, node: ast.expr, depth: int) -> None:
        if depth > MAX_NESTING:
            raise self.fail(node, f"the expression is nested more than {MAX_NESTING} levels deep")
        d = depth + 1
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise self.fail(node, _constant_message(node.value))
            return
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise self.fail(node, "names may not start with two underscores")
            return
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self.fail(node, "only + - * / and ** are supported")
            self.check_expr(node.left, d)
            self.check_expr(node.right, d)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.fail(node, "only the unary minus (and plus) is supported")
            self.check_expr(node.operand, d)
            return
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                if isinstance(node.func, ast.Attribute):
                    raise self.fail(node.func, f"methods are not part of the language; write "
                                               f"`{node.func.attr}(x)` instead of `x.{node.func.attr}()`"
                                    if node.func.attr in FUNCTIONS else
                                    "attribute access is not part of the language")
                raise self.fail(node.func, "only the language's functions can be called")
            if node.func.id not in BUILTINS:
                raise self.fail(node.func, f"`{short(node.func.id)}` is not a function of the language; "
                                           f"it knows {', '.join(BUILTINS)}")
            if node.keywords:
                raise self.fail(node.keywords[0].value, "keyword arguments are not supported")
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise self.fail(arg, "`*` unpacking is not supported")
                self.check_expr(arg, d)
            return
        if isinstance(node, (ast.List, ast.Tuple)):
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    raise self.fail(elt, "`*` unpacking is not supported")
                self.check_expr(elt, d)
            return
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                raise self.fail(node.slice, "slices are not supported; index one element, "
                                            "for example `xs[0]`")
            self.check_expr(node.value, d)
            self.check_expr(node.slice, d)
            return
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            if depth + len(node.generators) > MAX_NESTING:
                raise self.fail(node, f"the comprehension has {len(node.generators)} `for` parts "
                                      f"and is nested more than {MAX_NESTING} levels deep")
            for gen in node.generators:
                if gen.is_async:
                    raise self.fail(node, "async comprehensions are not supported")
                if gen.ifs:
                    raise self.fail(gen.ifs[0], "`if` inside a comprehension is not supported")
                self.check_target(gen.target)
                self.check_expr(gen.iter, d)
            self.check_expr(node.elt, d)
            return
        raise self.fail(node, _expression_message(node))


def _statement_message(stmt: ast.stmt) -> str:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return "imports are not part of the language"
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
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
