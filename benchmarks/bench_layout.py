#!/usr/bin/env python3
"""The canvas's layout at scale, side by side with the layout it replaced and with Graphviz (issue 13).

    python benchmarks/bench_layout.py              # about 5 minutes on 2 cores, most of it the old
                                                    # layout at 10,000 nodes and Graphviz
    python benchmarks/bench_layout.py --quick      # without the 10,000-node old layout and the
                                                    # 67,938-node export

Four measurements, each run in its own fresh interpreter (``--worker ...``), the graph built
before the clock starts:

* **layout, new vs old**: ``layered_layout`` of this checkout against the one it replaced, read
  from git (``--old-rev``, default the commit before the rewrite) into a temporary module, on the
  ``network`` preset's program made wider and run on more points (a tanh network learning XOR,
  written in the loss language): 340 / 990 / 3,044 / 10,090 nodes. Runs of the two alternate
  (new, old, old, new, ...) and the median of ``--reps`` is reported, with each layout's edge
  crossings (from the geometry, :func:`count_crossings`), so speed is not bought silently with
  a worse drawing.
* **layout + scene + SVG vs ``dot -Tsvg``** on the 4,890-node network: the app's whole export
  path (``GraphScene.show_graph``, which lays out, then ``export.svg_bytes``) against Graphviz
  on the same graph's DOT export (``engine.formats.to_dot``), the time of the ``dot`` process.
* **the window while a worker lays out**: a 16 ms timer in the GUI thread while a
  ``LayoutWorker`` lays out the 10,090-node network in its thread, the longest gap between ticks,
  with the layout pausing the cyclic collector (as it does) and without (as it did).
* **the 67,938-node perceptron**: micrograd's demo network 2-16-16-1 on 100 points, built with
  the engine's ``Value`` as ``bench_engine.py`` builds it, laid out, put in a scene and exported
  to SVG, each step timed (target: under 30 s in all).

Wall-clock seconds are what the targets are about; CPU seconds of the process are printed
beside them because this machine is shared and its load varies.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
OLD_REV = "53c2e55"  # main before the near-linear layout: its layout.py is the "old" one

#: (hidden width, points) of the network program, and the node count it makes
SIZES = {"340": (8, 4), "990": (10, 10), "3,044": (16, 20), "10,090": (32, 34)}
DOT_SIZE = (20, 26)  # 4,890 nodes
LAYOUT_TARGET_S = 2.0  # 10,000 nodes laid out in under 2 s
EXPORT_TARGET_S = 30.0  # the 67,938-node perceptron: layout + scene + SVG in under 30 s


# =================================================================================================
# Graphs
# =================================================================================================

def network_program(hidden: int, points: int, seed: int = 1) -> str:
    """The ``network`` preset's program (2-H-1 tanh network, XOR-like labels), wider, more points."""
    rng = random.Random(seed)

    def weight() -> str:
        return f"Value({rng.uniform(-1, 1):.3f})"

    xs = [[round(rng.uniform(-1, 1), 3), round(rng.uniform(-1, 1), 3)] for _ in range(points)]
    ys = [1 if a * b > 0 else -1 for a, b in xs]
    return "\n".join([
        f"xs = {xs}", f"ys = {ys}",
        "w1 = [" + ", ".join(f"[{weight()}, {weight()}]" for _ in range(hidden)) + "]",
        "b1 = [" + ", ".join(weight() for _ in range(hidden)) + "]",
        "w2 = [" + ", ".join(weight() for _ in range(hidden)) + "]",
        "b2 = Value(0.0)",
        "hidden = [[tanh(sum([wi * xi for wi, xi in zip(row, x)]) + bi) for row, bi in zip(w1, b1)]"
        " for x in xs]",
        "preds = [tanh(sum([v * h for v, h in zip(w2, hs)]) + b2) for hs in hidden]",
        "loss = sum([(p - y)**2 for p, y in zip(preds, ys)])", ""])


def network_graph(hidden: int, points: int):
    from engine.language import evaluate, parse

    ev = evaluate(parse(network_program(hidden, points)))
    ev.loss.backward()
    return ev.snapshot()


def perceptron_graph():
    """micrograd's demo network 2-16-16-1 on 100 points (67,938 nodes), as bench_engine.py builds
    it (ReLU hidden layers, linear output, squared error), with its weights marked parameters."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_engine

    from engine.graph import PARAM, snapshot
    from engine.value import Value

    layers, X, Y = bench_engine.mlp_setup()
    model = bench_engine.mlp_model(Value, layers)
    kinds = {}
    for i, layer in enumerate(model):
        for j, (w, b, _) in enumerate(layer):
            for k, v in enumerate(w):
                v.label = f"w{i + 1}[{j}][{k}]"
                kinds[id(v)] = PARAM
            b.label = f"b{i + 1}[{j}]"
            kinds[id(b)] = PARAM
    loss = bench_engine.mlp_loss(model, X, Y)
    loss.backward()
    return snapshot(loss, kinds)


def load_old_layout(rev: str):
    """The layout module as it was at ``rev``, imported from a temporary file."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:autodiff_gui/canvas/layout.py"],
                            capture_output=True, text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="old_layout_"))
    path = folder / "old_layout.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_layout", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_layout"] = module
    spec.loader.exec_module(module)
    shutil.rmtree(folder, ignore_errors=True)
    return module


# =================================================================================================
# Workers (each in a fresh process): print one JSON line
# =================================================================================================

def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clocks()
    return {"wall": wall - start[0], "cpu": cpu - start[1]}


def worker_layout(which: str, size: str, rev: str) -> dict:
    from autodiff_gui.canvas import layout as new
    from autodiff_gui.canvas.scene import BOX_SIZE, H_GAP, OP_SIZE

    module = new if which == "new" else load_old_layout(rev)
    graph = network_graph(*SIZES[size])
    start = clocks()
    result = module.layered_layout(graph, BOX_SIZE, OP_SIZE, H_GAP)
    timing = since(start)
    return {**timing, "nodes": len(graph.nodes), "crossings": new.count_crossings(graph, result)}


def worker_export(graph_name: str) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from autodiff_gui import export
    from autodiff_gui.canvas import layout, scene

    graph = perceptron_graph() if graph_name == "perceptron" else network_graph(*DOT_SIZE)
    out: dict = {"nodes": len(graph.nodes)}
    computed = {}
    original = scene.layered_layout

    def timed_layout(*args, **kwargs):  # the scene's own call, timed
        start = clocks()
        computed["layout"] = original(*args, **kwargs)
        out["layout"] = since(start)
        return computed["layout"]

    scene.layered_layout = timed_layout
    start = clocks()
    canvas = scene.GraphScene(grouping=False)  # every node, as before grouping
    canvas.show_graph(graph)
    out["layout+scene"] = since(start)
    svg_start = clocks()
    data = export.svg_bytes(canvas)
    out["svg"] = since(svg_start)
    out["total"] = since(start)
    out["svg_mb"] = len(data) / 1e6
    out["items"] = len(canvas.items())
    out["crossings"] = layout.count_crossings(graph, computed["layout"])
    del app
    return out


def worker_gaps(collector: str) -> dict:
    """The GUI thread's 16 ms timer while a LayoutWorker lays out 10,090 nodes in its thread:
    the longest gap between ticks, with the layout's collector pause (``on``) or without it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from autodiff_gui.canvas import layout
    from autodiff_gui.canvas.layout_worker import LayoutWorker
    from autodiff_gui.canvas.scene import BOX_SIZE, H_GAP, OP_SIZE

    app = QCoreApplication.instance() or QCoreApplication([])
    if collector == "off":  # as before the layout paused the collector: it never finds it on
        layout.gc = SimpleNamespace(isenabled=lambda: False)
    graph = network_graph(*SIZES["10,090"])
    sys.setswitchinterval(0.001)  # as the window's engine thread sets it
    worker = LayoutWorker(box_size=BOX_SIZE, op_size=OP_SIZE, h_gap=H_GAP)
    stamps: list[float] = []
    timer = QTimer()
    timer.setInterval(16)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    loop = QEventLoop()
    worker.laidOut.connect(lambda *_: loop.quit())
    timer.start()
    start = time.perf_counter()
    worker.request(graph)
    loop.exec()
    wall = time.perf_counter() - start
    timer.stop()
    worker.shutdown()
    gaps = [(b - a) * 1000 for a, b in zip(stamps, stamps[1:])]
    del app
    return {"wall": wall, "longest_gap_ms": max(gaps), "ticks": len(stamps)}


def worker_dot() -> dict:
    from engine.formats import to_dot

    graph = network_graph(*DOT_SIZE)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.dot"
        path.write_text(to_dot(graph))
        start = time.perf_counter()
        done = subprocess.run(["dot", "-Tsvg", str(path), "-o", str(Path(folder) / "graph.svg")],
                              capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - start
        size = (Path(folder) / "graph.svg").stat().st_size if done.returncode == 0 else 0
    return {"wall": wall, "nodes": len(graph.nodes), "returncode": done.returncode,
            "svg_mb": size / 1e6, "stderr": done.stderr[-300:]}


def run_worker(*args: str, timeout: float = 1800) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True,
                              text=True, env=env, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


# =================================================================================================
# The report
# =================================================================================================

def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs per layout and size (median)")
    parser.add_argument("--old-rev", default=OLD_REV, help="git revision of the old layout")
    parser.add_argument("--quick", action="store_true",
                        help="skip the old layout at 10,000 nodes and the 67,938-node export")
    parser.add_argument("--only", nargs="+", choices=("layout", "worker", "dot", "perceptron"),
                        default=("layout", "worker", "dot", "perceptron"), help="a subset")
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        result = {"layout": lambda: worker_layout(rest[0], rest[1], rest[2]),
                  "export": lambda: worker_export(rest[0]), "dot": worker_dot,
                  "gaps": lambda: worker_gaps(rest[0])}[kind]()
        print(json.dumps(result))
        return 0

    print(f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs; old layout from {args.old_rev}; medians of {args.reps}; "
          f"load average {os.getloadavg()[0]:.1f}")
    raw: dict = {}
    failed = False
    print("\nlayout alone (wall, with CPU seconds of the process in brackets)")
    print(f"{'nodes':>8}  {'new':>18}  {'old':>18}  {'old/new':>8}  {'crossings new / old':>22}")
    for size in (SIZES if "layout" in args.only else ()):
        runs: dict[str, list[dict]] = {"new": [], "old": []}
        skip_old = args.quick and size == "10,090"
        reps = 1 if size == "10,090" else args.reps
        for rep in range(reps):
            for which in (("new", "old") if rep % 2 == 0 else ("old", "new")):
                if which == "old" and skip_old:
                    continue
                result = run_worker("layout", which, size, args.old_rev)
                if "error" in result:
                    print(f"  {which} layout at {size} nodes failed: {result['error']}")
                    failed = True
                    continue
                runs[which].append(result)
        raw[f"layout {size}"] = runs
        if not runs["new"]:
            continue
        new_wall, new_cpu = median_of(runs["new"], "wall"), median_of(runs["new"], "cpu")
        line = f"{runs['new'][0]['nodes']:>8,}  {fmt(new_wall):>9} [{fmt(new_cpu):>6}]"
        if runs["old"]:
            old_wall, old_cpu = median_of(runs["old"], "wall"), median_of(runs["old"], "cpu")
            line += (f"  {fmt(old_wall):>9} [{fmt(old_cpu):>6}]  {old_wall / new_wall:>7.1f}x"
                     f"  {runs['new'][0]['crossings']:>10,} / {runs['old'][0]['crossings']:,}")
        else:
            line += f"  {'(skipped)':>18}  {'':>8}  {runs['new'][0]['crossings']:>10,}"
        print(line)
    big = raw.get("layout 10,090", {}).get("new")
    if big:
        wall = median_of(big, "wall")
        print(f"target: 10,000 nodes laid out in under {LAYOUT_TARGET_S:g} s: {fmt(wall)}, "
              f"{'met' if wall < LAYOUT_TARGET_S else 'MISSED'}")

    if "worker" in args.only:
        print("\nthe window's 16 ms timer while a LayoutWorker lays out 10,090 nodes in its thread")
        for collector in ("on", "off") * 2:
            result = run_worker("gaps", collector)
            raw.setdefault("worker gaps", []).append({"collector paused": collector, **result})
            if "error" in result:
                print(f"  failed: {result['error']}")
                failed = True
                continue
            print(f"  collector paused {collector:>3} during layout: longest gap "
                  f"{result['longest_gap_ms']:.0f} ms over {result['ticks']} ticks, layout "
                  f"{fmt(result['wall'])}")
    if "dot" in args.only:
        print(f"\nlayout + scene + SVG export vs dot -Tsvg, the network program with "
              f"{DOT_SIZE[0]} hidden units on {DOT_SIZE[1]} points")
        ours = run_worker("export", "network")
        dot = run_worker("dot", timeout=3600)
        raw["export network"], raw["dot network"] = ours, dot
    if "dot" not in args.only:
        pass
    elif "error" in ours or "error" in dot or dot.get("returncode"):
        print(f"  failed: {ours.get('error') or dot.get('error') or dot.get('stderr')}")
        failed = True
    else:
        print(f"  {ours['nodes']:,} nodes, {ours['items']:,} scene items")
        print(f"  app: layout {fmt(ours['layout']['wall'])}, layout+scene "
              f"{fmt(ours['layout+scene']['wall'])}, SVG {fmt(ours['svg']['wall'])}; total "
              f"{fmt(ours['total']['wall'])} [{fmt(ours['total']['cpu'])} CPU], "
              f"{ours['svg_mb']:.0f} MB")
        print(f"  dot -Tsvg: {fmt(dot['wall'])}, {dot['svg_mb']:.0f} MB")
        ratio = ours["total"]["wall"] / dot["wall"]
        print(f"  app / dot = {ratio:.2f}: {'ahead (met)' if ratio < 1 else 'behind (MISSED)'}")

    if not args.quick and "perceptron" in args.only:
        print("\nthe 67,938-node perceptron (2-16-16-1 on 100 points): layout + scene + SVG export")
        result = run_worker("export", "perceptron", timeout=1800)
        raw["export perceptron"] = result
        if "error" in result:
            print(f"  failed: {result['error']}")
            failed = True
        else:
            print(f"  {result['nodes']:,} nodes, {result['items']:,} scene items, "
                  f"{result['crossings']:,} crossings")
            print(f"  layout {fmt(result['layout']['wall'])} [{fmt(result['layout']['cpu'])} CPU], "
                  f"scene {fmt(result['layout+scene']['wall'] - result['layout']['wall'])}, "
                  f"SVG {fmt(result['svg']['wall'])} ({result['svg_mb']:.0f} MB)")
            total = result["total"]["wall"]
            print(f"  total {fmt(total)} [{fmt(result['total']['cpu'])} CPU]; target under "
                  f"{EXPORT_TARGET_S:g} s: {'met' if total < EXPORT_TARGET_S else 'MISSED'}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (wall times grow with it; CPU "
          f"seconds much less)")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
