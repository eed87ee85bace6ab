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

from autodiff_gui import __version__
from engine import formats, takehome
from engine.files import atomic_write, describe_os_error
from engine.graph import GraphSnapshot, backward_steps, format_number, formula, forward_steps
from engine.language import Program, ProgramError, evaluate, parse
from engine.presets import preset, presets
from engine.train import DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TOL, DIVERGED, ERROR, MAX_STEPS, Trainer

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 1, 2, 3
IMAGE_FORMATS = (".svg", ".png", ".pdf")


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
    path = Path(spec)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM some editors write is not code
        except UnicodeDecodeError:
            raise UserError(f"cannot read {spec}: it is not UTF-8 text") from None
        except OSError as exc:
            raise UserError(f"cannot read {spec}: {exc.strerror or exc}") from None
        return parse(text, spec)
    if path.is_dir():
        raise UserError(f"{spec} is a folder; give a program file or a preset name")
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
    chain = list(backward_steps(ev.loss)) if (args.trace or args.json) else None
    if chain is None:
        ev.loss.backward()
    graph = ev.snapshot()
    params = {name: {"data": _num(v.data), "grad": _num(v.grad)} for name, v in ev.params}
    if args.json:
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
                                "formula": formula(graph, s)} for s in chain]
        print(json.dumps(out, indent=2, allow_nan=False))
        return EXIT_OK
    if args.trace:
        print("forward pass:")
        for s in forward_steps(before):
            node = before.nodes[s.node]
            locs = ", ".join(f"{before.local_grad_name(node.id, c)} = {format_number(g)}"
                             for c, g in zip(node.children, node.local_grads))
            print(f"  {s.number}. {node.name} = {format_number(s.value)}   ({locs})")
        print("backward pass:")
        print(f"  0. {graph.grad_name(graph.root)} = 1   (the seed)")
        for s in chain:
            print(f"  {s.number}. {formula(graph, s)}")
        print()
    _print_nodes(graph)
    print()
    print(f"loss {program.loss_name} = {format_number(graph.nodes[graph.root].data)}")
    for name, v in ev.params:
        print(f"  {name} = {format_number(v.data)}   d{program.loss_name}/d{name} = "
              f"{format_number(v.grad)}")
    return EXIT_OK


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


def cmd_train(args: argparse.Namespace) -> int:
    program = load_program(args.program)
    lr, steps = _settings(program, args)
    tol = args.tol if args.tol is not None else program.settings.get("tol", DEFAULT_TOL)
    every = args.every if args.every is not None else int(program.settings.get("every", 1))
    if not (tol >= 0 and math.isfinite(tol)):
        raise UserError(f"the tolerance must be 0 or a positive number, not {format_number(tol)}")
    if every < 1:
        raise UserError(f"--every must be 1 or more, not {every}")
    trainer = Trainer(program, lr=lr, tol=tol)
    if not args.json:
        suggested = [k for k in ("lr", "steps") if getattr(args, k) is None and k in program.settings]
        origin = {0: "", 1: f" ({suggested[0] if suggested else ''} as the program suggests)",
                  2: " (as the program suggests)"}[len(suggested)]
        print(f"gradient descent on {program.name}: lr = {format_number(lr)}, at most {steps} "
              f"iteration{'s' if steps != 1 else ''}{origin}, tolerance {tol:g}")
    shown: list = []  # the records printed (or put in the JSON): every K-th and the last
    while trainer.status == "running" and trainer.iteration < steps:
        rec = trainer.step()
        last = trainer.status != "running" or trainer.iteration >= steps
        if rec.iteration % every == 0 or last:
            shown.append(rec)
            if not args.json:
                print(_iteration_line(rec))
    result = trainer.run(steps)  # marks max_steps when the cap was reached
    if result.status == MAX_STEPS:
        message = (f"stopped after {steps} iteration{'s' if steps != 1 else ''} (the cap) with "
                   f"loss {format_number(result.loss)}; more steps or a larger lr may go further")
        if not result.records:
            message = "no iterations run (--steps 0): the parameters are the program's"
    else:
        message = result.message
    if args.json:
        out = {
            "status": result.status,
            "message": message,
            "lr": lr,
            "every": every,
            "steps": [{"iteration": r.iteration, "lr": r.lr, "loss": _num(r.loss),
                       "params": {p.name: {"data": _num(p.data), "grad": _num(p.grad)}
                                  for p in r.params}} for r in shown],
            "final": {k: _num(v) for k, v in result.final.items()},
            "loss": _num(result.loss),
        }
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
    if result.status == ERROR:
        print(_training_error(program, trainer), file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_DIVERGED if result.status == DIVERGED else EXIT_OK


# --- export ----------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.output)
    suffix = out.suffix.lower()
    known = sorted(set(formats.TEXT_FORMATS) | set(IMAGE_FORMATS) | set(takehome.SUFFIXES))
    if suffix not in known:
        raise UserError(f"{args.output} has no extension the app knows; use one of "
                        f"{', '.join(known)}")
    if out.is_dir():
        raise UserError(f"cannot write {args.output}: it is a folder")
    program = load_program(args.program)
    if suffix in takehome.SUFFIXES:
        return _export_takehome(program, out, args)
    if args.backend != takehome.TUTORIAL:
        raise UserError("--with applies to .py and .ipynb exports only")
    lr, steps = _settings(program, argparse.Namespace(lr=args.lr, steps=args.steps or 0))
    trainer = Trainer(program, lr=lr)
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
    return _export_image(program, out, steps, lr, args)


def _export_takehome(program: Program, out: Path, args: argparse.Namespace) -> int:
    """A standalone script or notebook that trains the program as the tutorial does (``--steps``
    there is its step cap, else the program's)."""
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


def _export_image(program: Program, out: Path, steps: int, lr: float, args: argparse.Namespace) -> int:
    """PNG, SVG and PDF through the window's own scene renderer, on the offscreen platform when
    there is no display; Qt is imported only here."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale is not None and not (args.scale > 0 and math.isfinite(args.scale)):
        raise UserError(f"--scale must be a positive number, not {args.scale}")
    if args.width is not None and args.width < 1:
        raise UserError(f"--width must be a positive number of pixels, not {args.width}")
    from PySide6.QtWidgets import QApplication

    from .export import ExportError, ImageOptions, export_scene, headless_scene

    app = QApplication.instance() or QApplication(["autodiff"])  # noqa: F841 (must stay alive)
    try:
        scene = headless_scene(program, steps, lr, args.backward_step)
        export_scene(scene, out, ImageOptions(scale=args.scale or 1.0, width=args.width,
                                              transparent=args.transparent))
    except ExportError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(describe_os_error(out, exc)) from None
    print(f"wrote {out}")
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
    p.add_argument("--steps", type=int, default=0, help="training steps before the snapshot (default 0); "
                   "for .py/.ipynb, the script's step cap (default: the program's)")
    p.add_argument("--lr", type=float, help="learning rate for those steps (and the script's)")
    p.add_argument("--backward-step", type=int, metavar="K",
                   help="freeze at the K-th chain-rule multiplication of the backward pass "
                        "(1 is the first; 0 is the seed dL/dL = 1), with its highlight and formula")
    p.add_argument("--width", type=int, metavar="PX", help="PNG width in pixels")
    p.add_argument("--scale", type=float, metavar="S", help="PNG scale (default 1; 2 for slides)")
    p.add_argument("--transparent", action="store_true", help="PNG with a transparent background")
    p.add_argument("--with", dest="backend", choices=takehome.BACKENDS, default=takehome.TUTORIAL,
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
