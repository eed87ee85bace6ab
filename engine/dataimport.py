"""File → Import data…: a CSV file written into the program as literal lists.

The CSV has a header row and numeric columns; the last column is the target, the others the
inputs. The rows become ``xs = [...]`` and ``ys = [...]`` in the program's text, with
``data=xs,ys`` in its ``# autodiff:`` line, so the program stays the one source of truth (saving
it saves the data). A program that already names its data gets its two lists replaced in place
(its model and loss are kept, when the new data has as many inputs); any other program is
replaced by a starter: a linear model fitted by mean squared error, with its ``predict``. (Lists
assigned together, ``x_train, y_train = [...], [...]``, become a line each.)

A bad row is named by its line number; data too big for the language's bounds (its length of
text, its operations, a list's length) is refused with the bound it passes.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
from dataclasses import dataclass

from .language import MAX_LIST_LENGTH, MAX_SOURCE_CHARS, ProgramError, evaluate, parse


class DataFileError(ValueError):
    """A data file that cannot be imported, as one sentence naming where."""


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]

    @property
    def inputs(self) -> int:
        return len(self.header) - 1


def read_csv(text: str, name: str = "data.csv") -> Table:
    """The header and numeric rows of a CSV text; :class:`DataFileError` names the bad line."""
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    header: tuple[str, ...] | None = None
    rows: list[tuple[float, ...]] = []
    try:
        for cells in reader:
            number = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            cells = [c.strip() for c in cells]
            if header is None:
                if len(cells) < 2:
                    raise DataFileError(f"{name}:{number}: the header names {len(cells)} column; "
                                        f"give at least two (the inputs, then the target)")
                header = tuple(cells)
                continue
            if len(cells) != len(header):
                raise DataFileError(f"{name}:{number}: this row has {len(cells)} values but the "
                                    f"header names {len(header)} columns")
            row = []
            for column, cell in enumerate(cells, start=1):
                try:
                    value = float(cell)
                except ValueError:
                    shown = cell if len(cell) <= 20 else cell[:19] + "…"
                    raise DataFileError(f"{name}:{number}: column {column} "
                                        f"({_short(header[column - 1])}) holds `{shown}`, which "
                                        f"is not a number") from None
                if not math.isfinite(value):
                    raise DataFileError(f"{name}:{number}: column {column} holds {cell}; every "
                                        f"value must be a finite number")
                row.append(value)
            rows.append(tuple(row))
            if len(rows) > MAX_LIST_LENGTH:
                raise DataFileError(f"{name}: more than {MAX_LIST_LENGTH:,} rows; a list of the "
                                    f"language holds at most {MAX_LIST_LENGTH:,} elements")
    except csv.Error as exc:
        raise DataFileError(f"{name}:{reader.line_num}: {exc}") from None
    if header is None:
        raise DataFileError(f"{name} is empty: give a header row and at least one row of numbers")
    if not rows:
        raise DataFileError(f"{name}:{len(lines)}: only a header; give at least one row of numbers")
    return Table(name, header, tuple(rows))


def with_data(source: str, table: Table) -> str:
    """``source`` with ``table`` written in as its data (see the module's docstring); the result
    is a program that parses and evaluates, or :class:`DataFileError` says which bound it passes."""
    xs_text, ys_text = _lists(table)
    out = _replace_lists(source, table, xs_text, ys_text)
    if out is None:
        out = _starter(table, xs_text, ys_text)
    if len(out) > MAX_SOURCE_CHARS:
        raise DataFileError(f"{table.name}: {len(table.rows):,} rows make a program of "
                            f"{len(out):,} characters; a program may hold at most "
                            f"{MAX_SOURCE_CHARS:,} (import fewer rows)")
    try:
        evaluate(parse(out, "<imported>"))
    except ProgramError as exc:
        raise DataFileError(f"{table.name}: the program with this data cannot run: "
                            f"{exc.message}") from None
    return out


def _number(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _wrap(prefix: str, items: list[str], width: int = 96) -> str:
    lines, line = [], prefix + "["
    indent = " " * (len(prefix) + 1)
    for k, item in enumerate(items):
        piece = item + (", " if k < len(items) - 1 else "]")
        if len(line) + len(piece) > width and line.strip() not in ("", prefix.strip() + "["):
            lines.append(line.rstrip())
            line = indent
        line += piece
    lines.append(line)
    return "\n".join(lines)


def _lists(table: Table) -> tuple[str, str]:
    if table.inputs == 1:
        xs = [_number(r[0]) for r in table.rows]
    else:
        xs = ["[" + ", ".join(_number(v) for v in r[:-1]) + "]" for r in table.rows]
    ys = [_number(r[-1]) for r in table.rows]
    return _wrap("xs = ", xs), _wrap("ys = ", ys)


def _replace_lists(source: str, table: Table, xs_text: str, ys_text: str) -> str | None:
    """The program's own two data lists replaced, if it names them with ``name = [...]`` lines
    and its model takes as many inputs; None otherwise."""
    try:
        program = parse(source, "<program>")
        ev = evaluate(program)
    except ProgramError:
        return None
    data = program.data
    if data is None or program.model is None:
        return None
    old = ev.env.get(data.inputs)
    dim = 1 if old and not isinstance(old[0], list) else (len(old[0]) if old else 0)
    if dim != table.inputs:
        return None
    new = {data.inputs: _rename(xs_text, "xs", data.inputs),
           data.targets: _rename(ys_text, "ys", data.targets)}
    spans: dict[tuple[int, int], list[str]] = {}  # the lines of a statement → what replaces them
    found = set()
    for stmt in program.tree.body:
        target = stmt.targets[0]
        names = [target.id] if isinstance(target, ast.Name) else \
            [e.id for e in target.elts if isinstance(e, ast.Name)] \
            if isinstance(target, ast.Tuple) and len(target.elts) == 2 else []
        if set(names) & {data.inputs, data.targets}:
            if len(names) == 2 and set(names) != {data.inputs, data.targets}:
                return None  # `xs, other = ...`: not the program's data alone
            spans[(stmt.lineno, stmt.end_lineno)] = [new[n] for n in names]
            found |= set(names)
    if found != {data.inputs, data.targets}:
        return None
    lines = source.splitlines(keepends=True)
    for (first, last), texts in sorted(spans.items(), reverse=True):
        lines[first - 1:last] = [t + "\n" for t in texts]
    return "".join(lines)


def _rename(text: str, old: str, name: str) -> str:
    """``xs = [...]`` as ``name = [...]``, its continuation lines indented to match."""
    head, _, rest = text.partition(" = ")
    assert head == old
    pad = " " * (len(name) - len(old))
    return f"{name} = " + rest.replace("\n" + " " * (len(old) + 4), "\n" + " " * (len(old) + 4) + pad)


def _starter(table: Table, xs_text: str, ys_text: str) -> str:
    names = ", ".join(table.header[:-1])
    target = table.header[-1]
    # a rate the mean squared error is stable at: below 1 / (the inputs' mean square + 1)
    scale = max(1.0, max(sum(r[k] ** 2 for r in table.rows) / len(table.rows)
                         for k in range(table.inputs)))
    lr = float(f"{0.5 / (scale * table.inputs + 1):.1g}")
    head = [f"# {_description(table)}",
            f"# autodiff: lr={lr:g} steps=500 data=xs,ys",
            f"# imported from {_comment(table.name)}: the inputs {_comment(names)}, the target "
            f"{_comment(target)}",
            xs_text, ys_text]
    if table.inputs == 1:
        body = ["m, b = Value(0.0), Value(0.0)",
                "loss = sum([(m * x + b - y)**2 for x, y in zip(xs, ys)]) / len(ys)",
                "# the model, for the data view: its output at any input x",
                "def predict(x): return m * x + b"]
    else:
        zeros = ", ".join("Value(0.0)" for _ in range(table.inputs))
        body = [f"w = [{zeros}]", "b = Value(0.0)",
                "loss = sum([(sum([wi * xi for wi, xi in zip(w, x)]) + b - y)**2 "
                "for x, y in zip(xs, ys)]) / len(ys)",
                "# the model, for the data view: its output at any input x (a list of numbers)",
                "def predict(x): return sum([wi * xi for wi, xi in zip(w, x)]) + b"]
    return "\n".join(head + body) + "\n"


def _description(table: Table) -> str:
    n, k = len(table.rows), table.inputs
    what = "a line" if k == 1 else f"a linear model of {k} inputs"
    return f"data: {what} fitted to the {n} row{'s' if n != 1 else ''} of {_comment(table.name)}"


def _comment(text: str) -> str:
    return re.sub(r"[\r\n]", " ", text)


def _short(text: str) -> str:
    return text if len(text) <= 20 else text[:19] + "…"
