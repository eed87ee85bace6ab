"""One step of the time-travel slider, this checkout beside an older one (issue 13).

    python benchmarks/bench_travel.py [--rounds 3] [--old-rev c5dbc6e] [--steps 30]

For each program (the ``three-step`` and ``network`` presets, and the network made wider, 990
nodes), a fresh window (offscreen when there is no display) is given 200 recorded iterations of a
headless run, then the learner's moves are replayed on its sliders:

- *iteration slider, forward*: one step at a time over 30 iterations never visited;
- *iteration slider, back*: the same 30 again, backwards (iterations already visited);
- *step slider*: one position at a time through the shown iteration's forward steps and
  multiplications.

Each step is timed twice: *the step* (``setValue`` until it returns: the Session and every view
put at the moment, what the learner waits for before the next frame can be drawn), and *with what
follows* (the step plus the event loop run until it is idle: the repaint, the landscape's
sampling, and on this checkout the idle replay of the next iteration). Medians of each run's
steps; runs in fresh processes, the two checkouts alternating (the older one is read from git
into a temporary folder). The machine is shared: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_REV = "c5dbc6e"  # main before the moment cache
TARGET_MS = 5.0  # network: one step under 5 ms
PROGRAMS = ("three-step", "network", "990 nodes")
RECORDS = 200


def program_source(name: str) -> tuple[str, str]:
    if name == "990 nodes":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_layout import network_program
        return network_program(10, 10), "wide network"
    from engine.presets import preset
    return preset(name).source(), name


def worker(name: str, steps: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from autodiff_gui.window import MainWindow
    from engine.train import Trainer

    app = QApplication.instance() or QApplication([])
    w = MainWindow(settings=QSettings(os.devnull, QSettings.Format.IniFormat))
    w.persist_settings = False
    w.show()
    source, title = program_source(name)
    w.editor.set_source(source, title)
    end = time.monotonic() + 120
    while time.monotonic() < end and not (
            w.session.graph is not None and w.session.program is not None
            and not w.session.awaiting_reset
            and len(w.scene.boxes) == len(w.session.graph.nodes)):
        app.processEvents()
    trainer = Trainer(w.session.program, lr=0.01, tol=0.0)
    records = [trainer.step() for _ in range(RECORDS)]
    w.session.engine.worker.iterationsDone.emit(records, None)
    settle(app)

    def timed(action) -> tuple[float, float]:
        t0 = time.perf_counter()
        action()
        t1 = time.perf_counter()
        settle(app)
        return (t1 - t0) * 1000, (time.perf_counter() - t0) * 1000

    start = 50
    w.timeline.iteration_slider.setValue(start)
    settle(app)
    forward = [timed(lambda i=i: w.timeline.iteration_slider.setValue(i))
               for i in range(start + 1, start + 1 + steps)]
    back = [timed(lambda i=i: w.timeline.iteration_slider.setValue(i))
            for i in range(start + steps - 1, start, -1)]
    m = w.session.moment
    positions = list(range(1, m.complete + 1))[:steps * 3]
    within = [timed(lambda p=p: w.timeline.step_slider.setValue(p)) for p in positions]
    w.close()
    nodes = len(w.session.graph.nodes)

    def med(runs, k):
        return statistics.median(r[k] for r in runs)

    return {"nodes": nodes, "forward": med(forward, 0), "forward_all": med(forward, 1),
            "back": med(back, 0), "back_all": med(back, 1),
            "within": med(within, 0), "within_all": med(within, 1)}


def settle(app) -> None:
    """Run the event loop until nothing is left to do (timers due at once included)."""
    for _ in range(3):
        app.processEvents()
        app.sendPostedEvents()
    deadline = time.perf_counter() + 0.002
    while time.perf_counter() < deadline:
        app.processEvents()


def old_tree(rev: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench_travel_"))
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "autodiff_gui", "engine", "resources"],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(folder)
    return folder


def run_worker(root: Path, name: str, steps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--steps", str(steps)],
                         capture_output=True, text=True, env=env, timeout=900, cwd=str(root))
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"worker failed ({root}, {name}):\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--only", nargs="*", default=list(PROGRAMS))
    parser.add_argument("--worker", default=None)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps)), flush=True)
        return 0
    old = old_tree(args.old_rev)
    try:
        return compare(args, old)
    finally:
        shutil.rmtree(old, ignore_errors=True)


def compare(args, old: Path) -> int:
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; old = {args.old_rev}, medians of {args.rounds} rounds")
    rows = []
    for name in args.only:
        runs = {"new": [], "old": []}
        for r in range(args.rounds):
            order = ("new", "old") if r % 2 == 0 else ("old", "new")
            for which in order:
                runs[which].append(run_worker(ROOT if which == "new" else old, name, args.steps))
        rows.append((name, runs))
    print(f"{'program':>10} {'nodes':>6}  {'move':34} {'old':>9} {'new':>9} {'old/new':>8}")
    for name, runs in rows:
        nodes = runs["new"][0]["nodes"]
        for key, what in (("forward", "iteration slider, forward (new)"),
                          ("back", "iteration slider, back (seen)"),
                          ("within", "step slider")):
            for suffix, how in (("", "the step"), ("_all", " with what follows")):
                o = statistics.median(x[key + suffix] for x in runs["old"])
                n = statistics.median(x[key + suffix] for x in runs["new"])
                label = f"{what}: {how.strip()}"
                print(f"{name:>10} {nodes:>6,}  {label:34.34} {o:7.2f}ms {n:7.2f}ms {o / n:7.1f}x")
        net = statistics.median(x["forward"] for x in runs["new"])
        if name == "network":
            print(f"{'':18}network, one step forward: {net:.2f} ms, target < {TARGET_MS:g} ms: "
                  f"{'met' if net < TARGET_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
