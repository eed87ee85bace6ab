"""Mutation testing for the engine (and a few GUI guards): does the suite notice when the code lies?

Why a small script and not mutmut: mutmut 3 rewrites every function of the tree into a trampoline
and runs the whole suite per mutant; on two shared cores the suite is far too slow for that. This
script mutates one spot of one module at a time, runs only the tests of that module, and saves the
interpreter start-up per mutant by forking a parent that has pytest, hypothesis, numpy and PySide6
already imported (each child drops the project's modules and imports them afresh, mutated).

The mutants (one at a time, each keeps the line numbers of the original):
  compare   ``<``↔``<=``, ``>``↔``>=``, ``==``↔``!=``, ``in``↔``not in``, ``is``↔``is not``
  binop     ``+``↔``-``, ``*``↔``/``, ``**``→``*``, ``//``→``/``, ``%``→``//`` (also in ``x += y``)
  boolop    ``and``↔``or``
  not       ``not x``→``x``; ``-x``→``x``
  const     an int or float ``n``→``n + 1``; ``True``↔``False``
  guard     ``if test:``→``if False:`` (the branch, usually a guard or an error path, is gone)
  return    ``return x``→``return None``
  drop      a call statement (``self._set_role(...)``)→``pass`` (only with ``--kind drop``)
Strings, docstrings, annotations and f-strings are left alone.

Run from the root of the checkout (it copies the tree to a temporary folder and never edits yours):

    python3 tools/mutate.py engine/value.py          # runs the tests MODULE_TESTS maps it to
    python3 tools/mutate.py engine/value.py tests/engine/test_value.py tests/engine/test_graph.py
    python3 tools/mutate.py engine/files.py tests/engine/test_files.py --function write_text_atomic
    python3 tools/mutate.py engine/graph.py tests/engine/test_graph.py --list     # the mutants only
    python3 tools/mutate.py engine/value.py tests/engine/test_value.py --only 3,17 --show

Each mutant is "killed" (a test failed), "timeout" (counted as killed: the tests hung) or
"survived". A survivor is either a gap in the tests or an equivalent mutant (no behaviour
changes); which one is a judgement, made by reading it (``--show`` prints the mutated line).
The results go to ``--json`` if given. Not part of CI.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

_COMPARE_FLIP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BINOP_FLIP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv,
}
# The tests that guard each module: what a mutant of that module runs when no tests are named.
_E = "tests/engine/"
MODULE_TESTS: dict[str, list[str]] = {
    "engine/value.py": [_E + f for f in ("test_value.py", "test_graph.py", "test_hostile.py",
                                         "test_tutorial_numbers.py", "test_gradients_hypothesis.py")],
    "engine/graph.py": [_E + f for f in ("test_graph.py", "test_language.py", "test_formats.py",
                                         "test_train.py", "test_explain.py")],
    "engine/train.py": [_E + f for f in ("test_train.py", "test_hostile.py", "test_presets.py",
                                         "test_sweep.py", "test_mistakes.py", "test_tutorial_numbers.py")],
    "engine/replay.py": [_E + f for f in ("test_replay.py", "test_explain_names.py", "test_explain.py")],
    "engine/regimes.py": [_E + f for f in ("test_regimes_advice.py", "test_sweep.py", "test_train.py",
                                           "test_explain.py")],
    "engine/files.py": [_E + "test_files.py"],
    "engine/explain.py": [_E + f for f in ("test_explain.py", "test_explain_names.py")],
    "engine/language/parser.py": [_E + f for f in ("test_language.py", "test_hostile.py",
                                                   "test_fuzz_parser.py")],
    "engine/language/interpreter.py": [_E + f for f in ("test_language.py", "test_hostile.py",
                                                        "test_graph.py", "test_fuzz_parser.py")],
}
_COPIED = ("engine", "autodiff_gui", "tests", "resources", "pyproject.toml", "setup.py")


@dataclass
class Mutant:
    """One change at one spot: where it is, what it does, and what the tests said."""

    index: int
    line: int
    function: str
    kind: str
    description: str
    result: str = ""


def _skip_ranges(tree: ast.AST) -> set[int]:
    """Ids of nodes never mutated: docstrings, annotations, f-strings and everything inside them."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mark(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
            for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                mark(a.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.JoinedStr):
            mark(node)
    return skip


def _functions(tree: ast.AST) -> dict[int, str]:
    """Node id → qualified name of the function (or class) the node sits in."""
    owner: dict[int, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            here = name
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                here = f"{name}.{child.name}" if name else child.name
            owner[id(child)] = here
            visit(child, here)

    visit(tree, "")
    return owner


def _candidates(tree: ast.AST, drop_calls: bool = False) -> list[tuple[ast.AST, str, str]]:
    """Every (node, kind, description) this module offers, in a fixed order; removed call
    statements (``drop``) only when asked for, as they multiply the mutants of a module."""
    skip = _skip_ranges(tree)
    found: list[tuple[ast.AST, str, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE_FLIP:
                    found.append((node, f"compare:{i}", f"{type(op).__name__}→"
                                  f"{_COMPARE_FLIP[type(op)].__name__}"))
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOP_FLIP:
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(
                    node.left, ast.Constant) and isinstance(node.left.value, str):
                continue  # "%s" % x formatting
            found.append((node, "binop", f"{type(node.op).__name__}→"
                          f"{_BINOP_FLIP[type(node.op)].__name__}"))
        elif isinstance(node, ast.BoolOp):
            found.append((node, "boolop", f"{type(node.op).__name__}→"
                          f"{'Or' if isinstance(node.op, ast.And) else 'And'}"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                found.append((node, "const", f"-{node.operand.value!r}→{node.operand.value!r}"))
            else:
                found.append((node, "not", f"drop {type(node.op).__name__}"))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            found.append((node, "const", f"{node.value!r}→{_new_constant(node.value)!r}"))
        elif isinstance(node, ast.If):
            found.append((node, "guard", "if …: → if False:"))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and drop_calls:
            found.append((node, "drop", "a call statement → pass"))
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            found.append((node, "return", "return … → return None"))
    return found


def _new_constant(value: int | float | bool) -> int | float | bool:
    if isinstance(value, bool):
        return not value
    return value + 1


def _mutated_text(node: ast.AST, kind: str) -> tuple[ast.AST, str]:
    """The (segment node, replacement source) for mutating ``node`` by ``kind``."""
    if kind.startswith("compare:"):
        i = int(kind.split(":")[1])
        new = ast.Compare(left=node.left, ops=list(node.ops), comparators=node.comparators)
        new.ops[i] = _COMPARE_FLIP[type(node.ops[i])]()
        return node, ast.unparse(new)
    if kind == "binop" and isinstance(node, ast.BinOp):
        return node, ast.unparse(ast.BinOp(left=node.left, op=_BINOP_FLIP[type(node.op)](),
                                           right=node.right))
    if kind == "binop":  # AugAssign: only the operator changes; the statement keeps its place
        return node, ast.unparse(ast.AugAssign(target=node.target, op=_BINOP_FLIP[type(node.op)](),
                                               value=node.value))
    if kind == "boolop":
        op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return node, ast.unparse(ast.BoolOp(op=op, values=node.values))
    if kind == "not":
        return node, ast.unparse(node.operand)
    if kind == "const" and isinstance(node, ast.UnaryOp):
        return node, repr(node.operand.value)
    if kind == "const":
        return node, repr(_new_constant(node.value))
    if kind == "guard":
        return node.test, "False"
    if kind == "return":
        return node.value, "None"
    if kind == "drop":
        return node, "pass"
    raise ValueError(kind)


def _line_offsets(source: str) -> list[int]:
    offsets, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line.encode("utf-8"))
        offsets.append(total)
    return offsets


def apply(source: str, index: int, drop_calls: bool = False) -> tuple[str, Mutant]:
    """The module's source with mutant ``index`` applied (line numbers kept), and the mutant."""
    tree = ast.parse(source)
    owners = _functions(tree)
    node, kind, description = _candidates(tree, drop_calls)[index]
    segment, text = _mutated_text(node, kind)
    data = source.encode("utf-8")
    offsets = _line_offsets(source)
    start = offsets[segment.lineno - 1] + segment.col_offset
    end = offsets[segment.end_lineno - 1] + segment.end_col_offset
    lines = segment.end_lineno - segment.lineno
    if isinstance(segment, ast.stmt):
        # a statement cannot be wrapped in parentheses: keep its later lines as blank ones
        replacement = text.replace("\n", " ") + "\n" * lines
    else:
        replacement = "(" + text + "\n" * lines + ")"
    mutated = data[:start] + replacement.encode("utf-8") + data[end:]
    mutant = Mutant(index=index, line=node.lineno, function=owners.get(id(node), "") or "<module>",
                    kind=kind.split(":")[0], description=description)
    return mutated.decode("utf-8"), mutant


def count(source: str, drop_calls: bool = False) -> list[Mutant]:
    """Every mutant the module offers, described, without running anything."""
    tree = ast.parse(source)
    owners = _functions(tree)
    return [Mutant(i, node.lineno, owners.get(id(node), "") or "<module>", kind.split(":")[0], d)
            for i, (node, kind, d) in enumerate(_candidates(tree, drop_calls))]


def _run_child(work: str, tests: list[str], keyword: str | None) -> int:
    """In a forked child: forget the project's modules, then run the tests (quiet, stop at first)."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("engine", "autodiff_gui", "tests", "conftest"):
            del sys.modules[name]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    import pytest

    args = ["-x", "-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            "--timeout", "50", *tests]
    if keyword:
        args += ["-k", keyword]
    return int(pytest.main(args))


def run(work: str, tests: list[str], keyword: str | None, timeout: float) -> str:
    """Fork, run the tests in the child, and name the outcome."""
    pid = os.fork()
    if pid == 0:
        try:
            code = _run_child(work, tests, keyword)
        except BaseException:  # the child must never return into the parent's loop
            import traceback

            with open(os.path.join(work, "child-error.txt"), "w", encoding="utf-8") as f:
                traceback.print_exc(file=f)
            code = 3
        os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "survived" if code == 0 else ("killed" if code == 1 else f"error{code}")
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("module", help="the file to mutate, e.g. engine/value.py")
    parser.add_argument("tests", nargs="*",
                        help="the test files (or test ids) that guard it (default: MODULE_TESTS)")
    parser.add_argument("--function",
                        help="mutate only spots inside functions whose name contains this (or any of a,b,c)")
    parser.add_argument("--only", help="comma-separated mutant numbers")
    parser.add_argument("--kind", help="comma-separated kinds (compare,binop,boolop,not,const,guard,return,drop)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression for the tests")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--show", action="store_true", help="print each survivor's mutated line")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    root = os.getcwd()
    args.tests = args.tests or MODULE_TESTS.get(args.module, [])
    if not args.tests:
        parser.error(f"no tests named and none mapped for {args.module}")
    source = open(args.module, encoding="utf-8").read()
    drop_calls = bool(args.kind) and "drop" in args.kind.split(",")
    mutants = count(source, drop_calls)
    if args.function:
        names = args.function.split(",")
        mutants = [m for m in mutants if any(n in m.function for n in names)]
    if args.only:
        wanted = {int(x) for x in args.only.split(",")}
        mutants = [m for m in mutants if m.index in wanted]
    if args.kind:
        kinds = set(args.kind.split(","))
        mutants = [m for m in mutants if m.kind in kinds]
    if args.list:
        for m in mutants:
            print(f"{m.index:4d} {args.module}:{m.line} {m.function} {m.kind} {m.description}")
        return 0

    work = tempfile.mkdtemp(prefix="mutate-")
    try:
        for name in _COPIED:
            src = os.path.join(root, name)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(work, name),
                                ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
            elif os.path.exists(src):
                shutil.copy2(src, work)
        os.chdir(work)
        sys.path.insert(0, work)
        os.environ["PYTHONPATH"] = work + os.pathsep + os.environ.get("PYTHONPATH", "")
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        sys.dont_write_bytecode = True
        import numpy  # noqa: F401  (imported once here, inherited by every forked child)
        import pytest  # noqa: F401
        try:
            import hypothesis  # noqa: F401
            import PySide6.QtWidgets  # noqa: F401
        except ImportError:
            pass
        target = os.path.join(work, args.module)
        baseline = run(work, args.tests, args.keyword, args.timeout)
        if baseline != "survived":
            print(f"the tests fail on the unmutated code ({baseline}); fix that first")
            if os.path.exists(os.path.join(work, "child-error.txt")):
                print(open(os.path.join(work, "child-error.txt"), encoding="utf-8").read())
            return 2
        for m in mutants:
            mutated, _ = apply(source, m.index, drop_calls)
            with open(target, "w", encoding="utf-8") as f:
                f.write(mutated)
            m.result = run(work, args.tests, args.keyword, args.timeout)
            with open(target, "w", encoding="utf-8") as f:
                f.write(source)
            line = f"{m.index:4d} {m.result:8s} {args.module}:{m.line} {m.function} {m.kind} {m.description}"
            if args.show and m.result == "survived":
                line += "\n        " + mutated.splitlines()[m.line - 1].strip()
            print(line, flush=True)
    finally:
        os.chdir(root)
        shutil.rmtree(work, ignore_errors=True)
    killed = sum(m.result in ("killed", "timeout") for m in mutants)
    survived = [m for m in mutants if m.result == "survived"]
    print(f"{args.module}: {len(mutants)} mutants, {killed} killed, {len(survived)} survived, "
          f"{len(mutants) - killed - len(survived)} errors")
    if args.json:
        with open(os.path.join(root, args.json), "w", encoding="utf-8") as f:
            json.dump([asdict(m) for m in mutants], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
