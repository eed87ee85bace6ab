"""``autodiff``: the engine without a window. grad, train, export and presets.

``grad``, ``train`` and ``presets`` never import Qt, so they answer in a fraction of a second;
``export`` to an image format loads Qt (offscreen when there is no display) only then.

Exit status: 0 success, 2 bad input (program error, unknown preset, unwritable output, a
program error met during training), 3 training diverged, 1 an internal error (a bug).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autodiff_gui import __version__
from engine import explain
from engine.defaults import DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TOL, DIVERGED, ERROR, MAX_STEPS
from engine.explain import format_number
from engine.files import ProgramFileError, atomic_write, describe_os_error, read_program_file
from engine.graph import GraphSnapshot, backward_steps, forward_steps
from engine.language import Program, ProgramError, evaluate, parse
from engine.language.parser import assignment, error_at, short
from engine.presets import preset, presets
from engine.progress import default_every
from engine.records import ChainRuleStep
from engine.value import topological_order

if TYPE_CHECKING:
    from engine.train import Trainer

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 1, 2, 3
IMAGE_FORMATS = (".svg", ".png", ".pdf")
#: engine.takehome.BACKENDS, named here so that parsing the command line imports no exporter
TAKEHOME_BACKENDS = ("tutorial", "micrograd")


def __getattr__(name: str):
    """``Trainer`` is imported on first use: ``grad`` and ``presets`` never need the trainer
    and its compiler, and start faster without them."""
    if name == "Trainer":
        from engine.train import Trainer
        globals()["Trainer"] = Trainer
        return Trainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _trainer() -> type[Trainer]:
    return globals()["Trainer"] if "Trainer" in globals() else __getattr__("Trainer")


class UserError(Exception):
    """Bad input that is not a program error: one plain sentence, exit status 2."""


def load_program(spec: str) -> Program:
    """``spec`` is a path, a preset name, or ``-`` for standard input."""
    if spec == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise UserError("cannot read standard input: it is not UTF-8 text") from None
        return parse(data, "<stdin>")
    if os.path.lexists(spec):  # a file, a folder, a FIFO, a device: only a regular file is read
        try:
            text = read_program_file(spec)
        except ProgramFileError as exc:
            raise UserError(str(exc)) from None
        return parse(text, spec)
    try:
        return preset(spec).program()
    except KeyError:
        names = ", ".join(p.name for p in presets())
        if os.sep in spec or "/" in spec or spec.endswith(".py"):
            raise UserError(f"cannot read {spec}: there is no such file") from None
        raise UserError(f"{spec} is neither a file nor a preset (the presets are {names})") from None


def _num(x: float) -> float | None:
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


# --- grad ------------------------------------------------------------------------------------------
def cmd_grad(args: argparse.Namespace) -> int:
    program = load_program(args.program)
    ev = evaluate(program)
    before = ev.snapshot()
    check_finite(program, before)
    chain = list(backward_steps(ev.loss)) if (args.trace or args.json) else None
    if chain is None:
        ev.loss.backward()
    graph = ev.snapshot()
    check_finite(program, graph, gradients=True)
    params = {name: {"data": _num(v.data), "grad": _num(v.grad)} for name, v in ev.params}
    if args.json:
        from engine import formats
        out = formats.to_dict(graph)
        out["params"] = params
        out["loss_name"] = program.loss_name
        if args.trace:
            out["forward"] = [{"number": s.number, "node": s.node, "op": s.op, "value": _num(s.value),
                               "local_grads": [_num(g) for g in s.local_grads]}
                              for s in forward_steps(before)]
            out["backward"] = [{"number": s.number, "parent": s.parent, "child": s.child,
                                "local_grad": _num(s.local_grad), "upstream": _num(s.upstream),
                                "product": _num(s.product), "child_grad": _num(s.child_grad_after),
                                "formula": explain.chain_formula(graph, s)} for s in chain]
        print(json.dumps(out, indent=2, allow_nan=False))
        return EXIT_OK
    if args.trace:
        print("\n".join(trace_lines(before, graph, chain)))
        print()
    _print_nodes(graph)
    print()
    print(f"loss {program.loss_name} = {format_number(graph.nodes[graph.root].data)}")
    for name, v in ev.params:
        print(f"  {name} = {format_number(v.data)}   d{program.loss_name}/d{name} = "
              f"{format_number(v.grad)}")
    return EXIT_OK


def trace_lines(before: GraphSnapshot, after: GraphSnapshot, chain: list[ChainRuleStep]) -> list[str]:
    """``grad --trace``: each forward step with the local gradients it stores (an auto-named
    node says which line and column made it), then the seed and each chain-rule
    multiplication, in the words of :mod:`engine.explain`."""
    lines = ["forward pass:"]
    for s in forward_steps(before):
        node = before.nodes[s.node]
        locs = ", ".join(f"{explain.local_grad_name(before, node.id, c)} = {format_number(g)}"
                         for c, g in zip(node.children, node.local_grads))
        made = f"   [made by {explain.origin_text(node)}]" if explain.is_auto_name(node) else ""
        lines.append(f"  {s.number}. {node.name} = {format_number(s.value)}   ({locs}){made}")
    lines.append("backward pass:")
    lines.append(f"  0. {explain.seed_text(after)}   (the seed)")
    lines += [f"  {s.number}. {explain.chain_formula(after, s)}" for s in chain]
    return lines


def check_finite(program: Program, graph: GraphSnapshot, gradients: bool = False) -> None:
    """Refuse to report a number that is not finite: the first node (or, with ``gradients``,
    the first gradient of the backward pass) that is inf or NaN is a :class:`ProgramError` at
    the line that made it, naming the operation. Training calls the same thing "diverged"."""
    if gradients:
        # the backward pass runs from the loss down: the first non-finite gradient met that way
        # is the multiplication that overflowed
        for node in reversed(graph.nodes):
            if not math.isfinite(node.grad):
                raise _node_error(program, graph, node, (
                    f"the gradient d{short(program.loss_name)}/d{short(node.name)} is "
                    f"{format_number(node.grad)}: the backward pass grew past what a float holds"))
        return
    for node in graph.nodes:  # children first: the first bad node is the operation that made it
        if math.isfinite(node.data) and all(math.isfinite(g) for g in node.local_grads):
            continue
        what = f"`{short(node.name)}`"
        if not node.children:
            why = f"{what} is {format_number(node.data)}, not a finite number"
        elif not math.isfinite(node.data):
            why = (f"the operation {node.op} makes {what} = {format_number(node.data)}: the "
                   f"numbers grew past what a float holds")
        else:
            why = f"{node.op}: the slope of {what} is not a finite number"
        raise _node_error(program, graph, node, why)


def _node_error(program: Program, graph: GraphSnapshot, node, message: str) -> ProgramError:
    """``message`` at the statement that assigned the node, or its nearest named user."""
    parents: dict[int, int] = {}
    for n in graph.nodes:
        for c in n.children:
            parents.setdefault(c, n.id)
    named = node
    while not named.label and named.id in parents:
        named = graph.nodes[parents[named.id]]
    occurrence = sum(1 for n in graph.nodes[:named.id] if n.label == named.label)
    stmt = assignment(program, named.label, occurrence) if named.label else None
    if stmt is None:
        stmt = assignment(program, named.label) if named.label else None
    if stmt is None:
        return ProgramError(message, source_name=program.name)
    return error_at(program.source, program.name, stmt.value, message)


def _print_nodes(graph: GraphSnapshot) -> None:
    rows = [("id", "node", "kind", "op", "value", "grad", "local grads")]
    for n in graph.nodes:
        rows.append((str(n.id), n.name, n.kind, n.op or "-", format_number(n.data),
                     format_number(n.grad), ", ".join(format_number(g) for g in n.local_grads) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())


# --- train -----------------------------------------------------------------------------------------
def _settings(program: Program, args: argparse.Namespace) -> tuple[float, int]:
    """The learning rate and step cap: the command line's, else the program's ``# autodiff:``
    line, else the defaults."""
    lr = args.lr if args.lr is not None else program.settings.get("lr", DEFAULT_LR)
    steps = args.steps if args.steps is not None else int(program.settings.get("steps", DEFAULT_STEPS))
    if not (lr > 0 and math.isfinite(lr)):
        raise UserError(f"the learning rate must be a positive number, not {format_number(lr)}")
    if steps < 0:
        raise UserError(f"the number of steps must be 0 or more, not {steps}")
    return lr, steps


_SHOWN_PARAMS = 6  # a training line shows this many parameters, then "… N more"


def _iteration_line(rec) -> str:
    params = "  ".join(f"{p.name} = {format_number(p.data)} (grad {format_number(p.grad)})"
                       for p in rec.params[:_SHOWN_PARAMS])
    more = f"  … {len(rec.params) - _SHOWN_PARAMS} more" if len(rec.params) > _SHOWN_PARAMS else ""
    return f"iteration {rec.iteration:>5}  loss {format_number(rec.loss):>12}  {params}{more}".rstrip()


def _training_error(program: Program, trainer: Trainer) -> str:
    """The program error that stopped a run, as ``SOURCE:LINE:COL: error: MESSAGE``."""
    try:
        evaluate(program, trainer.values)  # the values the failed iteration started from
    except ProgramError as exc:
        return f"{exc} (at iteration {trainer.iteration}, lr = {format_number(trainer.lr)})"
    return f"autodiff: {trainer.message}"


#: ``--json`` keeps at most this many iterations; a longer run is thinned as the window's History
#: thins one (every 2nd, then every 4th, …), and the JSON says so.
MAX_JSON_STEPS = 10_000




class _Thinned:
    """The records ``--json`` prints: every ``stride``-th iteration, at most ``cap`` of them.

    When full it keeps every second one and doubles the stride, so a run of any length is held in
    bounded memory at uniform resolution; the last record is added at the end whatever its number.
    """

    def __init__(self, stride: int, cap: int | None = None):
        self.stride, self.cap = stride, MAX_JSON_STEPS if cap is None else cap
        self.items: list = []
        self.decimated = False

    def add(self, rec) -> None:
        if rec.iteration % self.stride:
            return
        self.items.append(rec)
        if len(self.items) > self.cap:
            self.items = self.items[::2]
            self.stride *= 2
            self.decimated = True

    def finish(self, last) -> list:
        if last is not None and (not self.items or self.items[-1] is not last):
            self.items.append(last)
        return self.items


def _train_options(program: Program, args: argparse.Namespace) -> tuple[float, int, float, int]:
    """lr, steps, tol and every: the flags the user typed, else the program's ``# autodiff:``
    line (checked when it was parsed), else the defaults."""
    lr, steps = _settings(program, args)
    tol = args.tol if args.tol is not None else program.settings.get("tol", DEFAULT_TOL)
    if not (tol >= 0 and math.isfinite(tol)):
        raise UserError(f"the tolerance must be 0 or a positive number, not {format_number(tol)}")
    if args.every is not None:
        every = args.every
        if every < 1:
            raise UserError(f"--every must be 1 or more, not {every}")
    elif "every" in program.settings:
        every = program.settings["every"]
    else:
        every = 1 if args.json else default_every(program, steps)
    return lr, steps, tol, every


def _result_values(program: Program, values: list[float]) -> dict[str, float]:
    """The numbers a result line may name: parameters, named inputs and the loss, at ``values``."""
    ev = evaluate(program, values)
    out = {name: v.data for name, v in ev.inputs}
    out.update({name: v.data for name, v in ev.params})
    out[program.loss_name] = ev.loss.data
    return out


def _cap_message(program: Program, trainer: Trainer, steps: int, loss: float) -> str:
    """What a run that hit its cap should try next, from the regime its learning rate is in."""
    head = (f"stopped after {steps} iteration{'s' if steps != 1 else ''} (the cap) with loss "
            f"{format_number(loss)}")
    from engine.regimes import cap_advice, predict_run_regime
    regime = predict_run_regime(program, trainer.values, trainer.lr)
    return f"{head}; {cap_advice(regime, trainer.lr)}"


def cmd_train(args: argparse.Namespace) -> int:
    program = load_program(args.program)
    lr, steps, tol, every = _train_options(program, args)
    result_line = program.result_line
    trainer = _trainer()(program, lr=lr, tol=tol, keep_records=False)
    if result_line is not None:  # a name the result line cannot show is an error before training
        result_line.render(_result_values(program, trainer.values), program.name)
    if not args.json:
        suggested = [k for k in ("lr", "steps") if getattr(args, k) is None and k in program.settings]
        origin = {0: "", 1: f" ({suggested[0] if suggested else ''} as the program suggests)",
                  2: " (as the program suggests)"}[len(suggested)]
        thinned = f"; one iteration in {every} shown (--every 1 shows all)" if every > 1 else ""
        print(f"gradient descent on {program.name}: lr = {format_number(lr)}, at most {steps} "
              f"iteration{'s' if steps != 1 else ''}{origin}, tolerance {tol:g}{thinned}")
    kept = _Thinned(every)  # only --json keeps records; the text is printed as it goes
    while trainer.status == "running" and trainer.iteration < steps:
        rec = trainer.step()
        last = trainer.status != "running" or trainer.iteration >= steps
        if args.json:
            kept.add(rec)
        elif rec.iteration % every == 0 or last:
            print(_iteration_line(rec))
    final_record = trainer.last_record
    result = trainer.run(steps)  # marks max_steps when the cap was reached
    loss = final_record.loss if final_record is not None else math.nan
    if result.status == MAX_STEPS:
        message = (_cap_message(program, trainer, steps, loss) if final_record is not None else
                   "no iterations run (--steps 0): the parameters are the program's")
    else:
        message = result.message
    from engine.dataview import data_view  # on first use, as the trainer is
    view = data_view(program)
    accuracy = view.accuracy(trainer.values) if view is not None else None
    result_text = None
    if result_line is not None and result.status in (MAX_STEPS, "converged"):
        result_text = result_line.render(_result_values(program, trainer.values), program.name)
    if args.json:
        shown = kept.finish(final_record)
        out = {
            "status": result.status,
            "message": message,
            "lr": lr,
            "every": kept.stride,
            "decimated": kept.decimated,
            "steps": [{"iteration": r.iteration, "lr": r.lr, "loss": _num(r.loss),
                       "params": {p.name: {"data": _num(p.data), "grad": _num(p.grad)}
                                  for p in r.params}} for r in shown],
            "final": {k: _num(v) for k, v in result.final.items()},
            "loss": _num(loss),
        }
        if kept.decimated:
            out["note"] = (f"the run made {final_record.iteration + 1:,} iterations; to stay under "
                           f"{kept.cap:,} steps one iteration in {kept.stride:,} is kept, and the last")
        if result_text is not None:
            out["result"] = result_text
        if accuracy is not None:
            out["accuracy"] = accuracy  # the share of data points on their side of the boundary
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        print(message)
        final = [f"{k} = {format_number(v)}" for k, v in result.final.items()]
        if len(final) <= _SHOWN_PARAMS:
            print("final: " + ", ".join(final))
        else:
            print("final:")
            for item in final:
                print(f"  {item}")
        if result_text is not None:
            print(f"Result: {result_text}")
        if accuracy is not None:
            print(view.accuracy_line(trainer.values))
    if result.status == ERROR:
        print(_training_error(program, trainer), file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_DIVERGED if result.status == DIVERGED else EXIT_OK


# --- export ----------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from engine import formats, takehome  # only an export needs them: grad and train start faster

    out = Path(args.output)
    suffix = out.suffix.lower()
    known = sorted(set(formats.TEXT_FORMATS) | set(IMAGE_FORMATS) | set(takehome.SUFFIXES))
    if suffix not in known:
        raise UserError(f"{args.output} has no extension the app knows; use one of "
                        f"{', '.join(known)}")
    if out.is_dir():
        raise UserError(f"cannot write {args.output}: it is a folder")
    program = load_program(args.program)
    if args.data:
        return _export_data(program, out, args)
    if suffix in takehome.SUFFIXES:
        return _export_takehome(program, out, args)
    if args.backend != takehome.TUTORIAL:
        raise UserError("--with applies to .py and .ipynb exports only")
    if suffix in IMAGE_FORMATS:
        refuse_undrawable(program, args.output)
    lr, steps = _settings(program, argparse.Namespace(lr=args.lr, steps=args.steps or 0))
    trainer = _trainer()(program, lr=lr)
    result = trainer.run(steps)
    if result.status == ERROR:
        print(f"{_training_error(program, trainer)}; nothing written to {args.output}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if result.status == DIVERGED:
        print(f"autodiff: {result.message}; nothing written to {args.output}", file=sys.stderr)
        return EXIT_DIVERGED
    # a fresh forward and backward pass at the parameters after the last update
    ev = evaluate(program, trainer.values)
    if suffix in formats.TEXT_FORMATS:
        text = formats.TEXT_FORMATS[suffix](_graph_at(ev, args.backward_step))
        try:
            atomic_write(out, text)
        except OSError as exc:
            raise UserError(describe_os_error(out, exc)) from None
        print(f"wrote {out}")
        return EXIT_OK
    return _export_image(program, out, steps, lr, args, ev)


#: The largest graph a PNG or PDF export draws (through the canvas's items). Measured on the
#: project's 2-core machine (Dec 2026, the 2-16-16-1 perceptron on fewer points): 5,068 nodes take
#: 4.4 s of CPU and 540 MB, 20,000 nodes 33 s and 3.2 GB, so beyond this the export is refused at
#: once rather than left running.
MAX_DRAWN_NODES = 6_000
#: The largest graph an SVG export draws: written from its layout, with no item made
#: (``export.layout_svg``), 67,936 nodes take about 10 s of CPU and a 155 MB file.
MAX_SVG_NODES = 150_000


def refuse_undrawable(program: Program, output: str) -> None:
    """A graph too big to draw in reasonable time is refused before any layout, with its size."""
    nodes = len(topological_order(evaluate(program).loss))
    svg = Path(output).suffix.lower() == ".svg"
    limit = MAX_SVG_NODES if svg else MAX_DRAWN_NODES
    if nodes > limit:
        kind = "an SVG export" if svg else f"a {Path(output).suffix[1:].upper()} export"
        raise UserError(f"cannot draw {output}: the graph has {nodes:,} nodes and {kind} draws "
                        f"at most {limit:,}; export .dot, .mmd or .json instead"
                        + ("" if svg else f", or .svg (up to {MAX_SVG_NODES:,} nodes)"))


def _export_takehome(program: Program, out: Path, args: argparse.Namespace) -> int:
    """A standalone script or notebook that trains the program as the tutorial does (``--steps``
    there is its step cap, else the program's)."""
    from engine import takehome
    try:
        takehome.write(program, out, lr=args.lr, steps=args.steps or None, backend=args.backend)
    except takehome.TakeHomeError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(describe_os_error(out, exc)) from None
    print(f"wrote {out}")
    return EXIT_OK


def _graph_at(ev, backward_step: int | None) -> GraphSnapshot:
    """The graph after the whole backward pass, or frozen after its K-th multiplication (a
    gradient not yet reached is NaN, written as null)."""
    if backward_step is None:
        ev.loss.backward()
        return ev.snapshot()
    before = ev.snapshot()
    chain = list(backward_steps(ev.loss))
    if not 0 <= backward_step <= len(chain):
        raise UserError(f"--backward-step {backward_step} is past the last multiplication: this "
                        f"backward pass has {len(chain)} (numbered 1 to {len(chain)}; 0 is the seed)")
    grads = [math.nan] * len(before.nodes)
    grads[before.root] = 1
    for step in chain[:backward_step]:
        grads[step.child] = step.child_grad_after
    return before.with_values([n.data for n in before.nodes], grads)


def _export_image(program: Program, out: Path, steps: int, lr: float, args: argparse.Namespace,
                  ev) -> int:
    """PNG, SVG and PDF through the window's own scene renderer, on the offscreen platform when
    there is no display; Qt is imported only here."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale is not None and not (args.scale > 0 and math.isfinite(args.scale)):
        raise UserError(f"--scale must be a positive number, not {args.scale}")
    if args.width is not None and args.width < 1:
        raise UserError(f"--width must be a positive number of pixels, not {args.width}")
    from PySide6.QtWidgets import QApplication

    from .export import ExportError, ImageOptions, headless_export

    app = QApplication.instance() or QApplication(["autodiff"])  # noqa: F841 (must stay alive)
    try:
        note = headless_export(program, out, steps, lr, args.backward_step,
                               ImageOptions(scale=args.scale or 1.0, width=args.width,
                                            transparent=args.transparent), evaluation=ev)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(describe_os_error(out, exc)) from None
    print(f"wrote {out}" + (f" ({note})" if note else ""))
    return EXIT_OK


def _export_data(program: Program, out: Path, args: argparse.Namespace) -> int:
    """``--data``: the Data panel (the points and the model) as PNG or SVG, after the program's
    suggested steps (or ``--steps``), drawn offscreen when there is no display."""
    if out.suffix.lower() not in (".png", ".svg"):
        raise UserError(f"--data draws an image: write {out.stem}.png or {out.stem}.svg, not "
                        f"{out.name}")
    from engine.dataview import data_view
    if data_view(program) is None:
        raise UserError(f"{program.name} names no data to draw: add data=xs,ys to its "
                        f"`# autodiff:` line and a line `def predict(x): return ...`")
    lr, steps = _settings(program, argparse.Namespace(lr=args.lr, steps=args.steps))
    trainer = Trainer(program, lr=lr)
    result = trainer.run(steps)
    if result.status == ERROR:
        print(f"{_training_error(program, trainer)}; nothing written to {out}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from .plots.data import DataPanel

    app = QApplication.instance() or QApplication(["autodiff"])  # noqa: F841 (must stay alive)
    panel = DataPanel()
    panel.resize(args.width or 640, round((args.width or 640) * 0.75))
    panel.set_program(program)
    last = trainer.last_record
    panel.set_values(trainer.values, last.iteration + 1 if last is not None else 0)
    try:
        panel.export(str(out))
    except OSError as exc:
        raise UserError(describe_os_error(out, exc)) from None
    finally:
        panel.deleteLater()
    accuracy = panel.accuracy
    print(f"wrote {out} (after {trainer.iteration} iteration{'s' if trainer.iteration != 1 else ''}"
          + (f", accuracy {100 * accuracy:.1f}%" if accuracy is not None else "") + ")")
    return EXIT_OK


def cmd_presets(args: argparse.Namespace) -> int:
    items = presets()
    if not items:
        raise UserError("no presets are installed; reinstall the package")
    width = max(len(p.name) for p in items)
    for p in items:
        print(f"{p.name.ljust(width)}  {p.description}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autodiff", description="Autodiff and backprop from scratch, without a window.")
    parser.add_argument("--version", action="version", version=f"autodiff {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prog_help = "a program file, a preset name (see `autodiff presets`), or - for standard input"

    p = sub.add_parser("grad", help="one forward and backward pass; every node and gradient")
    p.add_argument("program", help=prog_help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trace", action="store_true",
                   help="print each forward step and each chain-rule multiplication")
    p.set_defaults(func=cmd_grad)

    p = sub.add_parser("train", help="gradient descent from the program's starting values")
    p.add_argument("program", help=prog_help)
    p.add_argument("--lr", type=float, help=f"learning rate (default: the preset's, else {DEFAULT_LR})")
    p.add_argument("--steps", type=int, help=f"iteration cap (default: the preset's, else {DEFAULT_STEPS})")
    p.add_argument("--tol", type=float,
                   help=f"converged once every |gradient| is at most this (default {DEFAULT_TOL:g})")
    p.add_argument("--every", type=int,
                   help="show every K-th iteration, and the last (default 1; also thins --json)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="write the graph as .dot, .mmd, .json, .svg, .png or .pdf, "
                                      "or the program as a standalone .py script or .ipynb notebook")
    p.add_argument("program", help=prog_help)
    p.add_argument("-o", "--output", required=True, help="the file to write; its extension picks the format")
    p.add_argument("--steps", type=int, help="training steps before the snapshot (default 0); "
                   "for .py/.ipynb, the script's step cap, and with --data the steps before the "
                   "picture (default for both: the program's)")
    p.add_argument("--data", action="store_true",
                   help="draw the data view (the program's data and its model, as the Data panel "
                        "does) as .png or .svg instead of the graph")
    p.add_argument("--lr", type=float, help="learning rate for those steps (and the script's)")
    p.add_argument("--backward-step", type=int, metavar="K",
                   help="freeze at the K-th chain-rule multiplication of the backward pass "
                        "(1 is the first; 0 is the seed dL/dL = 1), with its highlight and formula")
    p.add_argument("--width", type=int, metavar="PX", help="PNG width in pixels")
    p.add_argument("--scale", type=float, metavar="S", help="PNG scale (default 1; 2 for slides)")
    p.add_argument("--transparent", action="store_true", help="PNG with a transparent background")
    p.add_argument("--with", dest="backend", choices=TAKEHOME_BACKENDS, default=TAKEHOME_BACKENDS[0],
                   help="for .py/.ipynb: whose Value the script runs on (default: the tutorial's, "
                        "written into the script; micrograd: `from micrograd.engine import Value`)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("presets", help="list the shipped example programs")
    p.set_defaults(func=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ProgramError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except UserError as exc:
        print(f"autodiff: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (``autodiff train … | head``): stop quietly, and keep Python's
        # final flush of stdout from complaining about the closed pipe
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # the installation is damaged (the presets folder is missing, say)
        print(f"autodiff: {exc}", file=sys.stderr)
        return EXIT_BUG
    except Exception as exc:  # a bug: one sentence, not a traceback (AUTODIFF_DEBUG=1 shows it)
        if os.environ.get("AUTODIFF_DEBUG"):
            raise
        print(f"autodiff: internal error, please report it: {type(exc).__name__}: {exc} "
              f"(run with AUTODIFF_DEBUG=1 to see where)", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
