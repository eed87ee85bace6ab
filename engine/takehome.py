"""Take the program home: one standalone script or notebook that trains it as the tutorial does.

``script(program)`` writes the tutorial's ``Value`` class (with just the operations the program
uses), the program as plain Python and the tutorial's training loop, printing the same lines as
``autodiff train`` — on a bare ``python3``, with no import but ``math``. ``notebook(program)`` is
the same as a Jupyter notebook, one cell per part with the tutorial's words before each, and
``backend=MICROGRAD`` writes the program against Karpathy's ``micrograd.engine.Value`` instead.

The program is generated from its checked syntax tree (``ast.unparse`` of the validated, lightly
rewritten tree), never pasted from its text, and the numbers are the app's to the last bit: the
rewrites below exist because plain Python differs from the language in a few places (a named
number is a node there; ``sum`` has no leading ``0 +``; a ``zip`` is a list). What the script
cannot express the same way is a :class:`~engine.language.ProgramError` at its line and column.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .files import atomic_write
from .graph import format_number
from .dataview import view_of
from .language.model import bind
from .language import FUNCTIONS, Program, ProgramError, evaluate
from .language.parser import error_at, short
from .progress import default_every
from .train import DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TOL, Trainer
from .value import topological_order

TUTORIAL, MICROGRAD = "tutorial", "micrograd"  # whose Value the exported program runs on
BACKENDS = (TUTORIAL, MICROGRAD)
SUFFIXES = (".py", ".ipynb")
SHOWN_PARAMS = 6  # as `autodiff train`: a line shows this many parameters, then "… N more"
#: Deeper than this, the tutorial's recursive topological sort would meet Python's recursion
#: limit (1000 frames), so the script gets the same sort with an explicit stack instead.
RECURSION_SAFE_DEPTH = 800

# What micrograd's Value (0.1.0) can do: +, *, ** by a plain number, relu (and -, / built on them)
_MICROGRAD_OPS = {"+", "*", "relu"}
_MICROGRAD_FUNCTIONS = {"relu"}

# The script's own names: a program may not rebind them (nor Python's built-ins it calls)
_SCRIPT_NAMES = {"Value", "math", "micrograd", "format_number", "report", "finished", "parameters",
                 "params", "names", "alpha", "steps", "tol", "every", "iteration", "first_loss",
                 "grads", "stopped", "error", "param", "final", "program_name", "where", "item",
                 "sum", "predict", "predicted_class", "correct_points"} | set(FUNCTIONS)
# Python's built-ins the script calls (tests/engine/test_takehome.py keeps this list complete)
_PYTHON_NAMES = {"print", "isinstance", "zip", "range", "len", "list", "tuple", "int", "float", "abs",
                 "max", "all", "iter", "set", "reversed", "ArithmeticError", "ValueError",
                 "OverflowError", "bool", "str"}

NUM, CONST, PARAM = "num", "const", "param"  # a plain float, a named number's node, a parameter's


class TakeHomeError(ValueError):
    """A take-home export cannot be made (a missing optional package, a bad setting): one
    sentence for the user."""


@dataclass(frozen=True)
class Settings:
    """The training the script runs: the same numbers ``autodiff train`` would use."""

    lr: float = DEFAULT_LR
    steps: int = DEFAULT_STEPS
    tol: float = DEFAULT_TOL
    every: int = 1
    origin: str = ""  # " (as the program suggests)" as `autodiff train` says it, or ""


def settings_for(program: Program, lr: float | None = None, steps: int | None = None,
                 tol: float | None = None, every: int | None = None) -> Settings:
    """The given settings, else the program's ``# autodiff:`` line, else the trainer's defaults
    (the same resolution as ``autodiff train``); a bad one is a :class:`TakeHomeError`."""
    suggested = [k for k, v in (("lr", lr), ("steps", steps)) if v is None and k in program.settings]
    origin = {0: "", 1: f" ({suggested[0] if suggested else ''} as the program suggests)",
              2: " (as the program suggests)"}[len(suggested)]
    lr = float(lr if lr is not None else program.settings.get("lr", DEFAULT_LR))
    steps = int(steps if steps is not None else program.settings.get("steps", DEFAULT_STEPS))
    tol = float(tol if tol is not None else program.settings.get("tol", DEFAULT_TOL))
    every = int(every if every is not None else default_every(program, steps))
    if not (lr > 0 and math.isfinite(lr)):
        raise TakeHomeError(f"the learning rate must be a positive number, not {format_number(lr)}")
    if steps < 0:
        raise TakeHomeError(f"the number of steps must be 0 or more, not {steps}")
    if not (tol >= 0 and math.isfinite(tol)):
        raise TakeHomeError(f"the tolerance must be 0 or a positive number, not {format_number(tol)}")
    if every < 1:
        raise TakeHomeError(f"every must be 1 or more, not {every}")
    return Settings(lr, steps, tol, every, origin)


@dataclass(frozen=True)
class Part:
    """One part of the exported program: a notebook's markdown cell and code cell, a section of
    the script."""

    title: str
    markdown: str
    code: str


# --- public entry points ---------------------------------------------------------------------------
def parts(program: Program, settings: Settings | None = None, backend: str = TUTORIAL) -> list[Part]:
    """The exported program, part by part (the node, printing, the program, the loop, the end)."""
    if backend not in BACKENDS:
        raise TakeHomeError(f"unknown engine {backend!r}; choose {' or '.join(BACKENDS)}")
    return _Exporter(program, settings or settings_for(program), backend).parts()


def script(program: Program, settings: Settings | None = None, backend: str = TUTORIAL) -> str:
    """One standalone Python script: run it with ``python3`` and it prints what
    ``autodiff train`` prints."""
    ps = parts(program, settings, backend)
    out = []
    for part in ps:
        out.append(f"# {'-' * 3} {part.title} {'-' * max(3, 90 - len(part.title))}")
        out.extend(_comment(part.markdown))
        out.append(part.code.rstrip() + "\n\n")
    return "\n".join(out).rstrip() + "\n"


def notebook(program: Program, settings: Settings | None = None, backend: str = TUTORIAL) -> str:
    """The same as a Jupyter notebook (nbformat 4 JSON, validated): a markdown cell in the
    tutorial's words before each code cell."""
    try:
        import nbformat
        from nbformat import v4
    except ImportError:
        raise TakeHomeError("writing a notebook needs nbformat: pip install "
                            "'autodiff-gui[notebook]'") from None
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for part in parts(program, settings, backend):
        nb.cells.append(v4.new_markdown_cell(f"## {part.title}\n\n{part.markdown}"))
        nb.cells.append(v4.new_code_cell(part.code.rstrip()))
    for k, cell in enumerate(nb.cells):  # stable ids, so exporting twice writes the same file
        cell["id"] = f"cell-{k}"
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def write(program: Program, path: str | Path, lr: float | None = None, steps: int | None = None,
          every: int | None = None, backend: str = TUTORIAL) -> Path:
    """Write the script (``.py``) or notebook (``.ipynb``) whole or not at all; the window's
    File → Export as Python script calls this. Raises ProgramError, TakeHomeError or OSError."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in SUFFIXES:
        raise TakeHomeError(f"{target.name} is neither a .py script nor a .ipynb notebook")
    settings = settings_for(program, lr=lr, steps=steps, every=every)
    text = script(program, settings, backend) if suffix == ".py" else notebook(program, settings, backend)
    atomic_write(target, text)
    return target


# --- the static view of the program ----------------------------------------------------------------
@dataclass(frozen=True)
class _Kind:
    """What a value can be at run time in the app's interpreter: a set of scalar kinds (NUM,
    CONST, PARAM) and, for a list, the kind of its elements."""

    scalars: frozenset = frozenset()
    elem: _Kind | None = None

    def __or__(self, other: _Kind) -> _Kind:
        if self.elem is None or other.elem is None:
            elem = self.elem or other.elem
        else:
            elem = self.elem | other.elem
        return _Kind(self.scalars | other.scalars, elem)

    def has_param(self) -> bool:
        return PARAM in self.scalars or (self.elem is not None and self.elem.has_param())


_EMPTY = _Kind()


def _scalar(*kinds: str) -> _Kind:
    return _Kind(frozenset(kinds))


def _list_of(kind: _Kind) -> _Kind:
    return _Kind(frozenset(), kind)


def _elem(kind: _Kind) -> _Kind:
    return kind.elem if kind.elem is not None else _EMPTY


@dataclass
class _Statement:
    node: ast.Assign
    role: str  # "param" (makes parameters), "data" (no parameter in it), "forward" (uses them)
    names: list[str] = field(default_factory=list)


class _Exporter:
    def __init__(self, program: Program, settings: Settings, backend: str):
        self.program = program
        self.settings = settings
        self.backend = backend
        self.ev = evaluate(program)  # raises ProgramError: a program that does not run is not exported
        self.ev.loss.backward()
        graph = topological_order(self.ev.loss)
        self.ops = {v.op for v in graph if v.op}
        params = {id(p) for _, p in self.ev.params}
        self.loss_has_param = any(id(v) in params for v in graph)
        self.depth = _longest_path(graph)
        # a classifier's script prints its accuracy as `autodiff train` does, through predict
        self.view = view_of(bind(self.ev)) if program.model is not None else None
        if self.view is not None and not self.view.is_classifier:
            self.view = None
        read = [program.tree] + ([program.model.expr] if self.view is not None else [])
        self.functions = sorted({n.func.id for tree in read for n in ast.walk(tree)
                                 if isinstance(n, ast.Call) and n.func.id in FUNCTIONS})
        self.divides = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)
                           for n in ast.walk(program.tree))
        self.uses_sum = any(isinstance(n, ast.Call) and n.func.id == "sum"
                            for tree in read for n in ast.walk(tree))
        self.env: dict[str, _Kind] = {}
        self.int_names: set[str] = set()
        self.forward_names: set[str] = set()
        self.statements: list[_Statement] = []
        # Found while rewriting: a power whose exponent may be trained (``a ** b``), and a power
        # the tutorial's rule cannot take (not by a positive whole number). From the syntax, not
        # only the loss's graph: a line the loss does not use still runs.
        self.trained_power = "**" in self.ops
        self.guarded_power = self.divides
        self._check_names()
        for stmt in program.tree.body:
            self.statements.append(self._classify(stmt))
        self.code = {id(st.node): self.code_of(st.node) for st in self.statements}
        if backend == MICROGRAD:
            self._check_micrograd()

    def fail(self, node: ast.AST, message: str) -> ProgramError:
        return error_at(self.program.source, self.program.name, node, message)

    # --- checks ---------------------------------------------------------------------------------
    def _check_names(self) -> None:
        reserved = _SCRIPT_NAMES | _PYTHON_NAMES
        seen: dict[str, ast.AST] = {}
        for stmt in self.program.tree.body:
            for target in _target_names(stmt.targets[0]):
                if target.id in seen:
                    line = seen[target.id].lineno
                    raise self.fail(target, f"`{short(target.id)}` is assigned again (first on line "
                                            f"{line}); the exported script needs each name assigned "
                                            f"once, so give this one another name")
                seen[target.id] = target
        for node in ast.walk(self.program.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in reserved:
                raise self.fail(node, f"`{node.id}` is a name the exported script uses itself (the "
                                      f"training loop's, or a Python built-in); rename it")

    def _check_micrograd(self) -> None:
        lacking = sorted(({op for op in self.ops if not op.startswith("**")} - _MICROGRAD_OPS)
                         | (set(self.functions) - _MICROGRAD_FUNCTIONS)
                         | ({"**"} if self.trained_power else set()))
        if not lacking:
            if self.depth > RECURSION_SAFE_DEPTH:
                raise TakeHomeError(f"micrograd's backward() is recursive and this program's graph "
                                    f"is {self.depth} nodes deep, past what Python's recursion "
                                    f"limit allows; export it without --with micrograd")
            return
        shown = ["** by a trained exponent" if op == "**" else op for op in lacking]
        where = self._first_use(set(lacking))
        message = (f"micrograd's Value has no {', '.join(shown)} (it has +, -, *, /, ** by a number "
                   f"and relu); export without --with micrograd to use the tutorial's Value")
        if where is None:
            raise ProgramError(message, source_name=self.program.name)
        raise self.fail(where, message)

    def _first_use(self, ops: set[str]) -> ast.AST | None:
        """The first call (in reading order) of one of ``ops``, else the first ``**``."""
        calls = [n for n in ast.walk(self.program.tree) if isinstance(n, ast.Call) and n.func.id in ops]
        if not calls and "**" in ops:
            calls = [n for n in ast.walk(self.program.tree)
                     if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)]
        return min(calls, key=lambda n: (n.lineno, n.col_offset), default=None)

    # --- classification: which lines run once, which run in the loop ----------------------------
    def _classify(self, stmt: ast.Assign) -> _Statement:
        target, value = stmt.targets[0], stmt.value
        calls = [n for n in ast.walk(value)
                 if isinstance(n, ast.Call) and n.func.id == "Value"]
        uses_params = self._reads_params(value, set())
        if calls:
            loose = self._loose_value_call(value)
            if loose is not None or uses_params:
                raise self.fail(loose or calls[0],
                                "the exported script creates each parameter once, before its "
                                "training loop: put Value(...) on a line of its own, in a list if "
                                "need be (for example `w = Value(0.5)`), not inside a calculation")
            role = "param"
        else:
            role = "forward" if uses_params else "data"
        self._bind(target, value, {})
        names = [t.id for t in _target_names(target)]
        if role == "forward":  # computed in the loop: a line that reads it runs there too
            self.forward_names.update(names)
        return _Statement(stmt, role, names)

    def _loose_value_call(self, node: ast.expr) -> ast.Call | None:
        """A ``Value(...)`` that is not simply an element of the line's (nested) lists."""
        if isinstance(node, ast.Call) and node.func.id == "Value":
            inner = [n for n in ast.walk(node.args[0]) if isinstance(n, ast.Call) and n.func.id == "Value"]
            return inner[0] if inner else None
        if isinstance(node, (ast.List, ast.Tuple)):
            for elt in node.elts:
                found = self._loose_value_call(elt)
                if found is not None:
                    return found
            return None
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            for gen in node.generators:
                inner = [n for n in ast.walk(gen.iter) if isinstance(n, ast.Call) and n.func.id == "Value"]
                if inner:
                    return inner[0]
            return self._loose_value_call(node.elt)
        inner = [n for n in ast.walk(node) if isinstance(n, ast.Call) and n.func.id == "Value"]
        return inner[0] if inner else None

    def _reads_params(self, node: ast.expr, local: set[str]) -> bool:
        """Does the expression read a parameter, or a name the training loop computes?"""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and (
                    n.id in self.forward_names or n.id in self.env and self.env[n.id].has_param()):
                return True
        return False

    # --- kinds: what the app's interpreter would hold at each expression --------------------------
    def _bind(self, target: ast.expr, value: ast.expr, local: dict[str, _Kind]) -> None:
        """Top-level assignment: a name bound to a plain number becomes a named number (CONST)."""
        if isinstance(target, ast.Name):
            kind = self.kind(value, local)
            if NUM in kind.scalars:
                kind = _Kind((kind.scalars - {NUM}) | {CONST}, kind.elem)
            self.env[target.id] = kind
            if self._is_int(value, set()):
                self.int_names.add(target.id)
            return
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            for t, v in zip(target.elts, value.elts):
                self._bind(t, v, local)
            return
        element = _elem(self.kind(value, local))
        for t in target.elts:
            self._bind_kind(t, element, self.env, top=True)

    def _bind_kind(self, target: ast.expr, kind: _Kind, env: dict, top: bool) -> None:
        if isinstance(target, ast.Name):
            if top and NUM in kind.scalars:
                kind = _Kind((kind.scalars - {NUM}) | {CONST}, kind.elem)
            env[target.id] = kind
            return
        for t in target.elts:
            self._bind_kind(t, _elem(kind), env, top)

    def kind(self, node: ast.expr, local: dict[str, _Kind]) -> _Kind:
        if isinstance(node, ast.Constant):
            return _scalar(NUM)
        if isinstance(node, ast.Name):
            return local.get(node.id) or self.env.get(node.id, _EMPTY)
        if isinstance(node, ast.UnaryOp):
            return self.kind(node.operand, local)
        if isinstance(node, ast.BinOp):
            left = self.kind(node.left, local).scalars
            right = self.kind(node.right, local).scalars
            if isinstance(node.op, ast.Pow):  # a named exponent is used as a plain number
                right = frozenset(NUM if k == CONST else k for k in right)
            out = set()
            for a in left:
                for b in right:
                    out.add(PARAM if PARAM in (a, b) else CONST if CONST in (a, b) else NUM)
            return _Kind(frozenset(out))
        if isinstance(node, ast.Call):
            name = node.func.id
            args = [self.kind(a, local) for a in node.args]
            if name == "Value":
                return _scalar(PARAM)
            if name == "sum":
                # An empty sum is the plain number 0, but 0 divides the same way as a plain number
                # and as a node (0 / c == 0 * c**-1), so only the terms' kinds matter.
                inner = _elem(args[0]) if args else _EMPTY
                return _Kind(inner.scalars or frozenset({NUM}))
            if name == "len":
                return _scalar(NUM)
            if name == "range":
                return _list_of(_scalar(NUM))
            if name == "zip":
                row = _EMPTY
                for a in args:
                    row = row | _elem(a)
                return _list_of(_list_of(row))
            return _Kind(args[0].scalars) if args else _EMPTY  # exp, tanh, ...: as their argument
        if isinstance(node, (ast.List, ast.Tuple)):
            out = _EMPTY
            for e in node.elts:
                out = out | self.kind(e, local)
            return _list_of(out)
        if isinstance(node, ast.Subscript):
            return _elem(self.kind(node.value, local))
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            inner = dict(local)
            for gen in node.generators:
                self._bind_kind(gen.target, _elem(self.kind(gen.iter, inner)), inner, top=False)
            return _list_of(self.kind(node.elt, inner))
        return _EMPTY

    def _is_int(self, node: ast.expr, ints: set[str], local: dict | None = None) -> bool:
        """Is this plain number surely an ``int`` in the script (so it can index a list)?
        ``ints`` are the comprehension names that loop over a range, ``local`` all of them."""
        if isinstance(node, ast.Constant):
            return type(node.value) is int
        if isinstance(node, ast.Name):
            if local is not None and node.id in local:
                return node.id in ints
            return node.id in self.int_names
        if isinstance(node, ast.UnaryOp):
            return self._is_int(node.operand, ints, local)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            return self._is_int(node.left, ints, local) and self._is_int(node.right, ints, local)
        if isinstance(node, ast.Call):
            return node.func.id == "len"
        return False

    # --- the program as plain Python --------------------------------------------------------------
    def code_of(self, stmt: ast.Assign) -> str:
        """The statement as plain Python: unparsed from the rewritten tree, laid out as written
        (``a, b = 1, 2`` without parentheses; a long list one element a line)."""
        tree = _Rewriter(self).visit(copy.deepcopy(stmt))
        ast.fix_missing_locations(tree)
        target, value = ast.unparse(tree.targets[0]), tree.value
        if isinstance(value, ast.Tuple) and value.elts:
            return f"{target} = {', '.join(ast.unparse(e) for e in value.elts)}"
        text = f"{target} = {ast.unparse(value)}"
        if isinstance(value, ast.List) and len(text) > 99:
            return _wrap_list(f"{target} = ", [ast.unparse(e) for e in value.elts])
        return text

    # --- the parts ----------------------------------------------------------------------------------
    def parts(self) -> list[Part]:
        micro = self.backend == MICROGRAD
        out = [self._intro_part(),
               self._micrograd_part() if micro else self._value_part(),
               self._printing_part(),
               self._program_part(),
               self._loop_part(),
               self._end_part()]
        return out

    def _intro_part(self) -> Part:
        p, s = self.program, self.settings
        description = _printable(p.description) or f"the program {_printable(p.name)}"
        engine = ("Karpathy's micrograd (`micrograd.engine.Value`)" if self.backend == MICROGRAD
                  else "the tiny autodiff engine of *Autodiff and Backprop from Scratch*")
        markdown = (f"{description}\n\nExported from Autodiff GUI: the program `{_printable(p.name)}` "
                    f"trained by gradient descent with {engine}, printing the same lines as "
                    f"`autodiff train {_printable(p.name)} --every {s.every}`.")
        code = (f"# Settings: the learning rate and step cap{_printable(s.origin)}\n"
                f"alpha = {s.lr!r}  # learning rate\n"
                f"steps = {s.steps}  # at most this many iterations\n"
                f"tol = {s.tol!r}  # converged once every |gradient| is at most this\n"
                f"every = {s.every}  # print every K-th iteration (and the last)\n")
        name = json.dumps(_printable(p.name), ensure_ascii=False)
        return Part("Settings", markdown, f"import math\n\nprogram_name = {name}\n{code}")

    def _value_part(self) -> Part:
        methods = [_INIT, _ADD, _MUL, self._pow_method(), _HELPERS]
        if self.divides:
            methods.append(_DIV)
        if self.trained_power:
            methods.append(_RPOW)
        wanted = set(self.functions) | {op for op in self.ops if op in _FUNCTION_METHODS}
        for name in sorted(wanted, key=list(_FUNCTION_METHODS).index):
            methods.append(_FUNCTION_METHODS[name])
        methods.append(_BACKWARD if self.depth <= RECURSION_SAFE_DEPTH else _BACKWARD_STACK)
        code = "class Value:\n" + "\n".join(methods)
        return Part("Everything in a node", _NODE_MARKDOWN, code)

    def _pow_method(self) -> str:
        body = _POW_GUARDED if self.guarded_power else _POW_SIMPLE
        if self.trained_power:
            body = _POW_VALUE_BRANCH + body
        return _POW_HEAD + body

    def _micrograd_part(self) -> Part:
        return Part("Karpathy's micrograd", _MICROGRAD_MARKDOWN,
                    "from micrograd.engine import Value  # pip install micrograd\n")

    def _function_helpers(self) -> str:
        out = []
        if self.uses_sum:
            out.append(_SUM)
        if self._params_expression().startswith("parameters("):
            out.append(_PARAMETERS)
        for name in self.functions:
            if name == "abs":
                continue  # Python's own abs() calls Value.__abs__
            out.append(f"def {name}(x):\n"
                       f"    # a node for a Value, a plain number for a plain number (as the app)\n"
                       f"    return x.{name}() if isinstance(x, Value) else Value(x).{name}().data\n")
        return "\n\n".join(out)

    def _printing_part(self) -> Part:
        code = inspect.getsource(format_number) + "\n\n" + _REPORT.format(shown=SHOWN_PARAMS)
        return Part("Printing as `autodiff train` does", _PRINT_MARKDOWN, code)

    def _program_part(self) -> Part:
        helpers = self._function_helpers()
        lines = [helpers + "\n"] if helpers else []
        for st in self.statements:
            if st.role != "forward":
                lines.append(self.code[id(st.node)])
                if st.node is self.statements[-1].node and not self.loss_has_param:
                    lines.append(_wrap_loss(self.program.loss_name))
        lines.append("")
        lines.append(f"params = {self._params_expression()}  # the trained parameters, in order")
        lines.append(_wrap_list("names = ", [repr(n) for n, _ in self.ev.params], compact=True))
        return Part("The program: its data and parameters", _PROGRAM_MARKDOWN, "\n".join(lines) + "\n")

    def _params_expression(self) -> str:
        labels = [n for n, _ in self.ev.params]
        paths = []
        for label in labels:
            m = re.fullmatch(r"([A-Za-z_][A-Za-z_0-9]*)((?:\[\d+\])*)", label)
            if m is None:
                raise ProgramError(f"the exported script cannot name the parameter {short(label)}; "
                                   f"assign each Value(...) to a name", source_name=self.program.name)
            paths.append((m.group(1), tuple(int(i) for i in re.findall(r"\d+", m.group(2)))))
        if all(not index for _, index in paths):
            return "[" + ", ".join(name for name, _ in paths) + "]"
        roots = list(dict.fromkeys(name for name, _ in paths))
        keys = [(roots.index(name), index) for name, index in paths]
        if keys != sorted(keys):
            raise ProgramError("the exported script cannot list the parameters in the order the "
                               "app makes them", source_name=self.program.name)
        return f"parameters({', '.join(roots)})"

    def _loop_part(self) -> Part:
        loss = self.program.loss_name
        forward = []
        for st in self.statements:
            if st.role == "forward":
                forward.append(self.code[id(st.node)])
                if st.node is self.statements[-1].node and not self.loss_has_param:
                    forward.append(_wrap_loss(loss))
        if not forward:
            forward = [f"pass  # {loss} does not change with the parameters: it was computed above"]
        simple = [n for n, _ in self.ev.params]
        explicit = 0 < len(simple) <= 4 and all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in simple)
        if explicit:
            zero = f"{', '.join(f'{n}.grad' for n in simple)} = {', '.join('0' for _ in simple)}"
            update = [f"{n}.data -= alpha * {n}.grad" for n in simple]
        else:
            zero = "for param in params:\n        param.grad = 0"
            update = ["for param in params:", "    param.data -= alpha * param.grad"]
        code = _LOOP.format(
            origin=json.dumps(_printable(self.settings.origin), ensure_ascii=False)[1:-1],
            forward=_indent("\n".join(forward), 8),
            zero=zero, loss=loss,
            update=_indent("\n".join(update), 4),
            what=f"|d{loss}/d{simple[0]}|" if len(simple) == 1 else "max |gradient|",
            hint=json.dumps(_printable(self._stability_hint()), ensure_ascii=False))
        return Part("Gradient descent: the three steps, repeated", _LOOP_MARKDOWN, code)

    def _stability_hint(self) -> str:
        try:
            return Trainer(self.program, lr=self.settings.lr)._stability_hint()
        except (ProgramError, ArithmeticError):
            return ""

    def _end_part(self) -> Part:
        code = _END.replace("__LOSS__", self.program.loss_name).replace(
            "__ADVICE__", json.dumps(_printable(self._cap_advice()), ensure_ascii=False))
        result = self.program.result_line
        if result is not None:  # the program's own result line, as `autodiff train` prints it
            fields = []
            values = {n for n, _ in self.ev.params} | {self.program.loss_name}
            for text, name, digits in result.pieces:
                fields.append(text.replace("{", "{{").replace("}", "}}"))
                if name:
                    spec = f".{digits}f" if digits is not None else ".6g"
                    fields.append(f"{{{name}.data:{spec}}}" if name in values else f"{{{name}:{spec}}}")
            code += (f"if stopped.startswith(('converged', 'stopped after')):\n"
                     f"    print(f{json.dumps('Result: ' + ''.join(fields), ensure_ascii=False)})\n")
        if self.view is not None:
            code += _ACCURACY.format(
                arg=self.program.model.arg, expr=ast.unparse(self.program.model.expr),
                threshold=self.view.threshold, low=-1 if self.view.labels == "sign" else 0,
                xs=self.program.data.inputs, ys=self.program.data.targets)
        return Part("The result", _END_MARKDOWN, code)

    def _cap_advice(self) -> str:
        """What a run stopped by its cap should try next, from the regime of the rate at the
        program's start (the app judges it where the run stopped; for a quadratic loss, as the
        tutorial's, the two are the same)."""
        try:
            from .regimes import cap_advice, predict_run_regime
            regime = predict_run_regime(self.program, self.ev.param_values(), self.settings.lr)
            return cap_advice(regime, self.settings.lr)
        except (ProgramError, ArithmeticError, ValueError):
            return "more steps may go further"


class _Rewriter(ast.NodeTransformer):
    """Plain Python that computes what the app's interpreter computes, bit for bit."""

    def __init__(self, exporter: _Exporter):
        self.x = exporter
        self.local: dict[str, _Kind] = {}
        self.ints: set[str] = set()
        self.iterated: set[int] = set()  # zip(...) calls a comprehension loops over directly

    def visit_Assign(self, node: ast.Assign) -> ast.Assign:
        node.value = self.visit(node.value)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        if isinstance(node.op, ast.Div):
            left = self.x.kind(node.left, self.local).scalars
            right = self.x.kind(node.right, self.local).scalars
            node.left, node.right = self.visit(node.left), self.visit(node.right)
            pairs = [(a, b) for a in left for b in right]
            # The app divides by a node (a named number's or a parameter's) as a * b**-1 and
            # divides two plain floats as a / b. In the script a named number is plain: keep
            # `/` unless it then divides a named number, and never write both in one place.
            if not any(PARAM not in (a, b) and CONST in (a, b) for a, b in pairs):
                return node
            if (NUM, NUM) in pairs:
                raise self.x.fail(node, "the exported script cannot tell whether this divides plain "
                                        "numbers or named ones (the app computes the two a little "
                                        "differently); give the numbers one kind")
            # the app divides a named number as a node does: a * b**-1, not a / b
            self.x.guarded_power = True
            inverse = ast.BinOp(node.right, ast.Pow(), ast.UnaryOp(ast.USub(), ast.Constant(1)))
            return ast.BinOp(node.left, ast.Mult(), inverse)
        if isinstance(node.op, ast.Pow):
            if PARAM in self.x.kind(node.right, self.local).scalars:
                self.x.trained_power = True
            number = _int_literal(node.right)
            if number is None or number < 1:
                self.x.guarded_power = True
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        name = node.func.id
        if name == "Value" and node.args:
            arg = node.args[0]
            number = _int_literal(arg)
            if number is not None:  # Value(3) holds the float 3.0, as in the app
                node.args = [ast.Constant(float(number))]
                return node
        if name == "range":
            node.args = [self._index(a) for a in node.args]
            return node
        zipped = name == "zip" and id(node) not in self.iterated
        self.generic_visit(node)
        if zipped:  # the app's zip is a list: it can be kept, measured and looped over again
            return ast.Call(ast.Name("list", ast.Load()), [node], [])
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.Subscript:
        node.value = self.visit(node.value)
        node.slice = self._index(node.slice)
        return node

    def _index(self, node: ast.expr) -> ast.expr:
        is_int = self.x._is_int(node, self.ints, self.local)
        node = self.visit(node)
        if is_int:
            return node
        # a whole number the app accepts as an index, but that may be a float here
        return ast.Call(ast.Name("int", ast.Load()), [node], [])

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.ListComp:
        return self.visit_ListComp(ast.ListComp(node.elt, node.generators))

    def visit_ListComp(self, node: ast.ListComp) -> ast.ListComp:
        saved_local, saved_ints = dict(self.local), set(self.ints)
        for gen in node.generators:
            if isinstance(gen.iter, ast.Call) and gen.iter.func.id == "zip":
                self.iterated.add(id(gen.iter))
            over_range = isinstance(gen.iter, ast.Call) and gen.iter.func.id == "range"
            element = _elem(self.x.kind(gen.iter, self.local))
            gen.iter = self.visit(gen.iter)
            self.x._bind_kind(gen.target, element, self.local, top=False)
            for t in _target_names(gen.target):
                if over_range:
                    self.ints.add(t.id)
                else:
                    self.ints.discard(t.id)
        node.elt = self.visit(node.elt)
        self.local, self.ints = saved_local, saved_ints
        return node


# --- helpers ---------------------------------------------------------------------------------------
def _target_names(target: ast.expr) -> list[ast.Name]:
    if isinstance(target, ast.Name):
        return [target]
    out: list[ast.Name] = []
    for elt in getattr(target, "elts", []):
        out += _target_names(elt)
    return out


def _int_literal(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _int_literal(node.operand)
        if inner is not None:
            return -inner if isinstance(node.op, ast.USub) else inner
    return None


def _longest_path(topo: list) -> int:
    depth: dict[int, int] = {}
    for v in topo:  # children come first
        depth[id(v)] = 1 + max((depth[id(c)] for c in v._children), default=0)
    return max(depth.values(), default=0)


def _wrap_list(prefix: str, items: list[str], compact: bool = False) -> str:
    """A list literal over several lines when it is long: one element a line, or (``compact``)
    as many as fit in 96 columns."""
    one_line = f"{prefix}[{', '.join(items)}]"
    if len(one_line) <= 99:
        return one_line
    if not compact:
        return prefix + "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    lines, line = [], "   "
    for item in items:
        if len(line) + len(item) + 2 > 96:
            lines.append(line.rstrip())
            line = "   "
        line += f" {item},"
    lines.append(line.rstrip())
    return prefix + "[\n" + "\n".join(lines) + "\n]"


def _printable(text: str) -> str:
    """Text from the program (its description, its name) made safe for a comment or a string:
    one line, printable characters only."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def _comment(markdown: str) -> list[str]:
    """Markdown as comment lines of at most 96 columns: paragraphs and "- " items kept apart."""
    out = []
    for paragraph in markdown.split("\n\n"):
        items = re.split(r"\n(?=- )", paragraph)
        for item in items:
            words = re.findall(r"[^\s`]*`[^`]*`\S*|\S+", item.replace("**", ""))  # `code` kept whole
            line, indent = "#", "#  " if item.startswith("- ") else "#"
            for word in words:
                if len(line) + 1 + len(word) > 96:
                    out.append(line)
                    line = indent
                line += " " + word
            out.append(line)
        out.append("#")
    return out[:-1]


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def _wrap_loss(loss: str) -> str:
    return (f"{loss} = Value({loss})  # the loss does not depend on any parameter: "
            f"a node, so that it has backward()")


# --- the code the script is made of ----------------------------------------------------------------
_INIT = '''\
    def __init__(self, data, children=(), local_grads=()):
        self.data = data  # current value
        self.grad = 0  # "global" gradient (initially 0, to be calculated in backward pass)
        self._children = children  # dependencies (child nodes)
        self._local_grads = local_grads  # local gradients
'''

_ADD = '''\
    def __add__(self, other):
        # Handle addition with another Value or a regular number
        other = other if isinstance(other, Value) else Value(other)
        # Return a new Value node with its data (the sum), dependencies, and local gradients
        # The local gradients are always 1, since d/dx (x + y) = 1 and d/dy (x + y) = 1
        return Value(self.data + other.data, (self, other), (1, 1))
'''

_MUL = '''\
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        # The local gradients are the other operand's value,
        # since d/dx (x * y) = y and d/dy (x * y) = x
        return Value(self.data * other.data, (self, other), (other.data, self.data))
'''

_POW_HEAD = '''\
    def __pow__(self, other):
'''

_POW_VALUE_BRANCH = '''\
        if isinstance(other, Value):  # a power that is itself trained: a ** b
            a, b = self.data, other.data
            if a <= 0:
                raise ArithmeticError(f"power: a base of {a:g} to a power that is itself trained (needs a base > 0)")
            out = a**b
            # d/da a^b = b a^(b-1);  d/db a^b = a^b ln a
            return Value(out, (self, other), (b * a ** (b - 1), out * math.log(a)))
'''

_POW_SIMPLE = '''\
        # Power rule: d/dx (x^n) = n * x^(n-1)
        return Value(self.data**other, (self,), (other * self.data**(other-1),))
'''

_POW_GUARDED = '''\
        x, n = self.data, other
        if x == 0 and n < 0:
            raise ArithmeticError(f"power: 0 ** {n:g} divides by zero")
        if x < 0 and not float(n).is_integer():
            raise ArithmeticError(f"power: a negative base ({x:g}) to a fractional power ({n:g})")
        if x == 0 and 0 < n < 1:
            raise ArithmeticError(f"power: the slope of 0 ** {n:g} is infinite")
        # Power rule: d/dx (x^n) = n * x^(n-1)  (x^0 is the constant 1, slope 0, even at x = 0)
        return Value(x**n, (self,), (n * x ** (n - 1) if n != 0 else 0.0,))
'''

_HELPERS = '''\
    # Helper methods to handle subtraction and ordering
    # Negation and subtraction can be implemented in terms of multiplication by -1 and addition
    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)

    # Handle right-hand operations to allow for expressions like 2 + Value(3) or 2 * Value(3)
    def __radd__(self, other): return self + other
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
'''

_DIV = '''\
    # Division is multiplication by the power -1: x / y = x * y**-1
    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        if other.data == 0:
            raise ArithmeticError("division: the divisor is 0")
        return self * other**-1

    def __rtruediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return other / self
'''

_RPOW = '''\
    def __rpow__(self, other):  # 2 ** Value(3)
        other = other if isinstance(other, Value) else Value(other)
        return other ** self
'''

_FUNCTION_METHODS = {
    "exp": '''\
    def exp(self):
        out = math.exp(self.data)
        return Value(out, (self,), (out,))  # d/dx e^x = e^x
''',
    "log": '''\
    def log(self):
        if self.data <= 0:
            raise ArithmeticError(f"log: log({self.data:g}) is undefined (needs a positive number)")
        return Value(math.log(self.data), (self,), (1 / self.data,))  # d/dx ln x = 1/x
''',
    "tanh": '''\
    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t * t,))  # d/dx tanh x = 1 - tanh(x)^2
''',
    "sigmoid": '''\
    def sigmoid(self):
        x = self.data
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        return Value(s, (self,), (s * (1 - s),))  # d/dx s(x) = s(x) (1 - s(x))
''',
    "relu": '''\
    def relu(self):
        x = self.data
        return Value(x if x > 0 else 0.0, (self,), (1.0 if x > 0 else 0.0,))  # slope 1 or 0
''',
    "sin": '''\
    def sin(self):
        if math.isinf(self.data):
            return Value(math.nan, (self,), (math.nan,))
        return Value(math.sin(self.data), (self,), (math.cos(self.data),))  # d/dx sin x = cos x
''',
    "cos": '''\
    def cos(self):
        if math.isinf(self.data):
            return Value(math.nan, (self,), (math.nan,))
        return Value(math.cos(self.data), (self,), (-math.sin(self.data),))  # d/dx cos x = -sin x
''',
    "sqrt": '''\
    def sqrt(self):
        x = self.data
        if x < 0:
            raise ArithmeticError(f"sqrt: sqrt({x:g}) is undefined (needs a number >= 0)")
        if x == 0:
            raise ArithmeticError("sqrt: the slope of sqrt at 0 is infinite")
        r = math.sqrt(x)
        return Value(r, (self,), (0.5 / r,))  # d/dx sqrt x = 1 / (2 sqrt x)
''',
    "abs": '''\
    def __abs__(self):
        x = self.data
        # the slope is 1 or -1 (at 0 it is undefined; 0 is the usual choice)
        return Value(abs(x), (self,), (1.0 if x > 0 else -1.0 if x < 0 else 0.0,))
''',
}

_BACKWARD = '''\
    def backward(self):
        # 1. Build a list of all nodes in order (Topological Sort)
        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)
        build_topo(self)

        # 2. Apply the chain rule backwards
        self.grad = 1  # The derivative of the output with respect to itself is 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                # The Chain Rule: Local Gradient * Global Gradient
                child.grad += local_grad * v.grad
'''

_BACKWARD_STACK = '''\
    def backward(self):
        # 1. Build a list of all nodes in order (Topological Sort). This graph is deeper than
        # Python's recursion limit, so the depth-first search keeps its own stack: the same
        # order as the recursive build_topo(v) of the tutorial.
        topo = []
        visited = {self}
        stack = [(self, iter(self._children))]
        while stack:
            v, children = stack[-1]
            for child in children:
                if child not in visited:
                    visited.add(child)
                    stack.append((child, iter(child._children)))
                    break
            else:
                stack.pop()
                topo.append(v)

        # 2. Apply the chain rule backwards
        self.grad = 1  # The derivative of the output with respect to itself is 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                # The Chain Rule: Local Gradient * Global Gradient
                child.grad += local_grad * v.grad
'''

_SUM = '''\
def sum(terms):
    # Python's built-in sum starts from 0 (0 + t0 + t1 ...); the app's starts with the first
    # term, so the graph holds no extra `0 +` node and the gradients add up in the app's order.
    terms = list(terms)
    if not terms:
        return 0.0
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
'''

_REPORT = '''\
def report(iteration, loss, grads):
    """One line per iteration, as `autodiff train` prints it: the values before the update."""
    shown = "  ".join(f"{{name}} = {{format_number(param.data)}} (grad {{format_number(grad)}})"
                      for name, param, grad in list(zip(names, params, grads))[:{shown}])
    more = f"  … {{len(params) - {shown}}} more" if len(params) > {shown} else ""
    print(f"iteration {{iteration:>5}}  loss {{format_number(loss):>12}}  {{shown}}{{more}}".rstrip())


def finished(iteration, loss, grads, first_loss, hint=""):
    """Why the run stops here, before its update (as `autodiff train` decides), or None."""
    if not all(math.isfinite(x) for x in [loss, *grads]):
        why = "a value became infinite or not a number"
    elif abs(loss) > 1e6 * max(abs(first_loss), 1.0):
        why = "the loss grew a million-fold"
    elif max((abs(g) for g in grads), default=0.0) <= tol:
        return "converged"
    else:
        return None
    return (f"diverging: {{why}} after {{iteration}} iterations at lr = {{format_number(alpha)}}"
            f"{{hint}}")
'''

_PARAMETERS = '''\
def parameters(*things):
    """Every Value in the given (nested) lists, in order: the trained parameters."""
    found = []
    for thing in things:
        if isinstance(thing, Value):
            found.append(thing)
        elif isinstance(thing, (list, tuple)):
            found.extend(parameters(*thing))
    return found
'''

_LOOP = '''\
print(f"gradient descent on {{program_name}}: lr = {{format_number(alpha)}}, at most {{steps}} "
      f"iteration{{'s' if steps != 1 else ''}}{origin}, tolerance {{tol:g}}"
      + (f"; one iteration in {{every}} shown (--every 1 shows all)" if every > 1 else ""))
first_loss = None
stopped = None  # why the run ended before its step cap, if it did
for iteration in range(steps):
    try:
        # Step 1. Forward pass: the loss from the parameters' current values
{forward}
    except OverflowError:
        report(iteration, math.inf, [math.nan] * len(params))
        stopped = f"diverged: a number grew too large for a float at iteration {{iteration}}"
        break
    except (ArithmeticError, ValueError) as error:
        report(iteration, math.nan, [math.nan] * len(params))
        stopped = f"stopped at iteration {{iteration}}: {{error}}"
        break

    # Step 2. Backward pass: zero the gradients, then the chain rule from the loss down
    {zero}
    {loss}.backward()

    # Before the update: stop if the run has converged or diverged
    grads = [param.grad for param in params]
    if first_loss is None:
        first_loss = {loss}.data
    stopped = finished(iteration, {loss}.data, grads, first_loss, {hint})
    if stopped or iteration % every == 0 or iteration == steps - 1:
        report(iteration, {loss}.data, grads)
    if stopped == "converged":
        where = ", ".join(f"{{name}} = {{param.data:.4f}}" for name, param in zip(names, params))
        stopped = (f"converged: {what} ≤ {{tol:g}} after {{iteration}} "
                   f"iteration{{'s' if iteration != 1 else ''}}{{', ' + where if where else ''}}")
    if stopped:
        break

    # Step 3. Weight update: w_new = w_old - alpha * dL/dw
{update}
'''

_ACCURACY = '''\


# the model, as the program writes it, and the share of points on their side of its boundary
def predict({arg}):
    return {expr}


def predicted_class(output):
    output = output.data if isinstance(output, Value) else output
    if output != output:  # nan: no class at all
        return None
    return 1 if output > {threshold} else {low}


correct_points = len([1 for x, y in zip({xs}, {ys}) if predicted_class(predict(x)) == y])
print(f"accuracy: {{correct_points}}/{{len({ys})}} points on their side of the boundary "
      f"({{100 * correct_points / len({ys}):.1f}}%)")
'''

_END = '''\
if stopped is None and steps == 0:
    stopped = "no iterations run (--steps 0): the parameters are the program's"
elif stopped is None:
    stopped = (f"stopped after {steps} iteration{'s' if steps != 1 else ''} (the cap) with loss "
               f"{format_number(__LOSS__.data)}; " + __ADVICE__)
print(stopped)
final = [f"{name} = {format_number(param.data)}" for name, param in zip(names, params)]
if len(final) <= 6:
    print("final: " + ", ".join(final))
else:
    print("final:")
    for item in final:
        print(f"  {item}")
'''

_NODE_MARKDOWN = """\
A node is a special kind of "number" that not only has a value and performs operations with other \
"numbers", but also stores the information needed to compute the gradients during the backward \
pass. Therefore, a node keeps track of:

- its current value (`data`): computed during the forward pass;
- its "global" gradient (`grad`): the derivative of the loss with respect to the node, calculated \
during the backward pass;
- its dependencies (`_children`): the nodes from which it was computed;
- its local gradients (`_local_grads`): the derivatives of this node with respect to its inputs, \
computed during the forward pass and stored for the backward pass.

Performing an operation corresponds to a forward step: it returns a new Value node with its value, \
dependencies and local gradients (here, just the operations this program uses). `backward()` has \
two steps: a topological sort arranges all the nodes so that each appears after its dependencies, \
then the chain rule is applied in reverse order, `child.grad += local_grad * v.grad`. The `+=` \
adds up the paths of a node used in several places."""

_MICROGRAD_MARKDOWN = """\
This version runs on Karpathy's micrograd (`pip install micrograd`), imported below, instead of \
the tutorial's class. It is the same algorithm: each node keeps its `data`, its `grad` and its \
children (`_prev`); instead of storing its local gradients it keeps a small `_backward` function \
that does `child.grad += local_grad * out.grad` for each child, and `backward()` runs them in \
reverse topological order."""

_PRINT_MARKDOWN = """\
Helpers that print each iteration the way `autodiff train` does (six significant digits), and \
decide, before each update, whether the run has converged (every |gradient| at most `tol`) or \
diverged (a number that is not finite, or the loss grown a million-fold)."""

_PROGRAM_MARKDOWN = """\
The program's lines that do not change while it trains: its data, its named numbers and its \
parameters, each `Value(...)` made once here so that the updates below can change its `data`."""

_LOOP_MARKDOWN = """\
**Step 1. Forward pass**: compute the loss from the current parameters; each operation makes a \
node that also stores its local gradients.

**Step 2. Backward pass**: starting with the "seed" gradient dL/dL = 1, apply the chain rule in \
reverse order to compute the global gradient of every node (the gradients are zeroed first, or \
they would add up across iterations).

**Step 3. Weight update**: gradient descent, w_new = w_old - alpha · dL/dw: descend in the \
opposite direction of the gradient. The process (step 1 to step 3) is repeated until \
convergence."""

_END_MARKDOWN = """\
How the run ended, and the parameters it found."""
