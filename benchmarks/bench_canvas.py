"""Pan and zoom of a 5,000-node graph, fully expanded, offscreen: frames per second (issue 10).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/bench_canvas.py [--rounds 3]

A scripted sequence of view transforms, each followed by a synchronous repaint of the canvas's
viewport (``viewport().repaint()``: the whole paint path, scene to pixels), on the ``network``
preset's program made wider and run on more points (4,890 nodes, 19,291 items, as
``bench_layout.py``'s export), with every group open. The view is 1280 x 800.

Phases, each a number of frames:

- *overview*: the whole graph fitted (about 0.04 of full size), nudged across;
- *zoom in*: from the fitted overview to full size around the loss, 1.05x a frame;
- *pan, full size*: the view moved 40 px a frame across the graph at 1:1;
- *pan, mid zoom*: the same at 0.3 (boxes a few pixels high, no text);
- *zoom out*: back to the overview.

Side by side, in fresh processes, alternating: this checkout's canvas (level of detail, the
overview item that replaces every item when zoomed out past the boxes' shapes,
``DeviceCoordinateCache``, remembered fonts and elided texts) against the items of ``--old-rev``
(default: the commit before them), read from git into a temporary module and put in the scene in
their place, without the overview. Goal: at least 30 frames per second in every phase.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_REV = "826a84c"  # the canvas items before level of detail and caching
SIZE = (20, 26)  # hidden units, points: 4,890 nodes (bench_layout.DOT_SIZE)
VIEW = (1280, 800)
GOAL_FPS = 30.0
PHASES = ("overview", "zoom in", "pan, full size", "pan, mid zoom", "zoom out")


def load_old_items(rev: str):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:autodiff_gui/canvas/items.py"],
                            capture_output=True, text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="old_items_"))
    path = folder / "old_items.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_items", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_items"] = module
    spec.loader.exec_module(module)
    shutil.rmtree(folder, ignore_errors=True)
    return module


def worker(which: str, rev: str) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_layout import network_graph
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from autodiff_gui.canvas import scene as scene_module
    from autodiff_gui.canvas.view import GraphView

    if which == "old":
        old = load_old_items(rev)
        for name in ("ValueBox", "Edge", "Banner", "Theme"):
            setattr(scene_module, name, getattr(old, name))

        class OldCircle(old.OpCircle):  # the old circle knew no collapsed groups (none here)
            def __init__(self, rect, theme, symbol, grouped=False):
                super().__init__(rect, theme, symbol)
                self.grouped = grouped

        scene_module.OpCircle = OldCircle
        scene_module.OVERVIEW_ITEMS = 10**9  # nor was there an overview
    graph = network_graph(*SIZE)
    scene = scene_module.GraphScene(grouping=False)
    scene.show_graph(graph)
    view = GraphView(scene)
    view.resize(*VIEW)
    view.show()
    app.processEvents()
    port = view.viewport()
    rect = scene.sceneRect()
    root = scene.root_rect().center()

    def frame() -> None:
        port.repaint()

    def timed(steps) -> float:
        start = time.perf_counter()
        n = 0
        for step in steps:
            step()
            frame()
            n += 1
        return n / (time.perf_counter() - start)

    def at_scale(scale: float, center) -> None:
        view.zoom(scale / view.transform().m11())  # the wheel's and Ctrl +'s path
        view.centerOn(center)

    fps = {}
    view.fit()
    frame()
    fitted = view.transform().m11()
    # overview: the fitted graph, nudged across (a pan that shows everything)
    fps["overview"] = timed([lambda k=k: view.centerOn(rect.center().x() + (k % 10 - 5) * 20,
                                                        rect.center().y()) for k in range(40)])
    scales = []
    s = fitted
    while s < 1.0:
        scales.append(s)
        s *= 1.05
    fps["zoom in"] = timed([lambda s=s: at_scale(s, root) for s in scales])
    at_scale(1.0, root)
    frame()
    bar = view.horizontalScrollBar()
    vbar = view.verticalScrollBar()
    fps["pan, full size"] = timed([lambda: bar.setValue(bar.value() - 40) for _ in range(60)]
                                  + [lambda: vbar.setValue(vbar.value() + 40) for _ in range(60)])
    at_scale(0.3, rect.center())
    frame()
    fps["pan, mid zoom"] = timed([lambda: bar.setValue(bar.value() + 40) for _ in range(60)]
                                 + [lambda: vbar.setValue(vbar.value() - 40) for _ in range(60)])
    fps["zoom out"] = timed([lambda s=s: at_scale(s, root) for s in reversed(scales)])
    return {"fps": fps, "nodes": len(graph.nodes), "items": len(scene.items()),
            "frames": 40 + 2 * len(scales) + 240}


def run_worker(which: str, rev: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, __file__, "--worker", which, "--old-rev", rev],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{which} worker failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--old-rev", default=OLD_REV, help="git revision of the old canvas items")
    parser.add_argument("--worker", choices=("new", "old"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.old_rev)))
        return 0
    runs: dict[str, list[dict]] = {"new": [], "old": []}
    for r in range(args.rounds):
        for which in (("new", "old") if r % 2 == 0 else ("old", "new")):
            runs[which].append(run_worker(which, args.old_rev))
    first = runs["new"][0]
    print(f"pan and zoom, {first['nodes']:,} nodes ({first['items']:,} items), view "
          f"{VIEW[0]}x{VIEW[1]}, {first['frames']} frames a run; medians of {args.rounds} "
          f"alternating runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'phase':<16}{'new fps':>10}{'old fps':>10}{'new/old':>10}   goal >= {GOAL_FPS:g} fps")
    worst = float("inf")
    for phase in PHASES:
        new = statistics.median(run["fps"][phase] for run in runs["new"])
        old = statistics.median(run["fps"][phase] for run in runs["old"])
        worst = min(worst, new)
        print(f"{phase:<16}{new:>10.1f}{old:>10.1f}{new / old:>9.1f}x   "
              f"{'met' if new >= GOAL_FPS else 'MISSED'}")
    print(f"slowest phase: {worst:.1f} fps: {'met' if worst >= GOAL_FPS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
