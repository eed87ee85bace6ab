"""``autodiff-gui PROGRAM`` on micrograd's demo network: start to the grouped graph shown (issue 10).

```sh
QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/bench_bigopen.py            # 5 runs
QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/bench_bigopen.py --rounds 3 --program P
```

Each run is a fresh interpreter started by this script (``time.time()`` taken just before the
process starts), offscreen, with its own empty HOME. The child runs ``autodiff_gui.app.main``
on the program (default ``benchmarks/perceptron.ad``, the 2-16-16-1 tanh network on 100 points,
written by ``benchmarks/perceptron_program.py``) and reports:

- **shown**: seconds from the start of the process to the window's ``graphShown`` signal of the
  loaded program, and **painted**: to the end of the first paint of the canvas after it (a
  ``repaint()`` of the view's viewport, so the grouped graph is on the screen);
- the boxes drawn (the canvas's items: boxes, of which collapsed groups), so a fast open is
  never bought by showing something else;
- **longest gap**: the longest wait between two ticks of a 16 ms timer in the GUI thread from
  the first tick to the paint, i.e. the longest the window did not answer while it opened;
  with ``--after S`` the window stays S seconds more, and the longest gap in them is reported
  too ("then"): what is built after the graph (the plots, the Learn panels, the landscape).

The target: painted in under 3 s. The figures go to benchmarks/README.md.

``--export`` measures the other half of the target instead: ``autodiff export PROGRAM -o
big.svg`` (every group open) in a fresh process on the same network on 7, 30 and 100 points
(5,068, 20,296 and 67,936 nodes), wall and CPU seconds (the child's own, from ``wait4``), and
the CPU time over n·log n relative to the smallest, which stays near 1 if the export grows as
n log n. Graphviz's ``dot -Tsvg`` on the same graph's DOT export is timed beside it at 5,068
nodes when ``dot`` is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "benchmarks" / "perceptron.ad"
TARGET_S = 3.0

PROBE = r"""
import json, sys, time
t0 = float(sys.argv[1])
after = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
import autodiff_gui.window as window_mod

ticks = []
timer = QTimer()
timer.setInterval(16)
timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
timer.start()
result = {}
made = window_mod.MainWindow.__init__

def init(self, *args, **kwargs):
    made(self, *args, **kwargs)

    def shown(graph):
        if result or graph is None or len(graph.nodes) < 1000:
            return  # the three-step loss a window may show first is not the program
        result["shown"] = time.time() - t0
        self.view.viewport().repaint()
        result["painted"] = time.time() - t0
        end = time.perf_counter()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])] + ([end - ticks[-1]] if ticks else [])
        result["gap"] = max(gaps) if gaps else result["painted"]
        scene = self.scene
        result["nodes"] = len(graph.nodes)
        result["boxes"] = len(scene.boxes)
        result["groups"] = len(scene.group_boxes)

        def done():
            if after:  # the longest freeze in the seconds after the paint (plots, panels)
                later = [t for t in ticks if t > end] + [time.perf_counter()]
                result["after"] = max(b - a for a, b in zip([end] + later, later))
            print("RESULT " + json.dumps(result), flush=True)
            QTimer.singleShot(0, self.close)
            QTimer.singleShot(50, app.quit)

        QTimer.singleShot(int(after * 1000), done)

    self.graphShown.connect(shown)

window_mod.MainWindow.__init__ = init
from autodiff_gui.app import main
main([sys.argv[2]])
"""


def run_once(program: Path, root: Path, after: float = 0.0) -> dict:
    home = tempfile.mkdtemp(prefix="bench_bigopen_")
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               PYTHONPATH=str(root))
    if not env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", PROBE, repr(t0), str(program), repr(after)], env=env, cwd=home,
                         capture_output=True, text=True, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"the probe failed:\n{out.stdout}\n{out.stderr}")


EXPORT_POINTS = (7, 30, 100)
EXPORT_TARGET_S = 30.0


def timed_child(argv: list[str], env: dict, cwd: str) -> tuple[float, float, int]:
    """Wall seconds, the child's CPU seconds and its exit status."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def export_section(root: Path, rounds: int) -> None:
    import math
    import shutil

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from perceptron_program import perceptron_program

    folder = Path(tempfile.mkdtemp(prefix="bench_bigopen_export_"))
    env = dict(os.environ, PYTHONPATH=str(root), HOME=str(folder))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    dot = shutil.which("dot")
    print(f"autodiff export PROGRAM -o big.svg (fresh process, median of {rounds}); "
          f"graphviz dot: {dot or 'not installed here, so not compared'}")
    base = None
    for points in EXPORT_POINTS:
        program = folder / f"perceptron_{points}.ad"
        program.write_text(perceptron_program((16, 16), points))
        sys.path.insert(0, str(root))
        from engine.language import evaluate, parse
        nodes = len(evaluate(parse(program.read_text())).snapshot().nodes)
        runs = []
        for _ in range(rounds):
            out = folder / "big.svg"
            wall, cpu, code = timed_child([sys.executable, "-m", "autodiff_gui.cli", "export", str(program),
                                           "-o", str(out)], env, str(folder))
            if code != 0:
                raise SystemExit(f"autodiff export failed on {nodes:,} nodes")
            runs.append((wall, cpu, out.stat().st_size))
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        per = cpu / (nodes * math.log(nodes))
        base = base or per
        line = (f"  {nodes:>7,} nodes  {wall:6.2f} s [{cpu:6.2f} s CPU]  {runs[0][2] / 1e6:6.1f} MB  "
                f"CPU / n log n = {per / base:4.2f}x the smallest's")
        if nodes > 60_000:
            line += f"   target < {EXPORT_TARGET_S:g} s: {'met' if wall < EXPORT_TARGET_S else 'MISSED'}"
        print(line, flush=True)
        if dot and points == EXPORT_POINTS[0]:
            dot_file = folder / "g.dot"
            subprocess.run([sys.executable, "-m", "autodiff_gui.cli", "export", str(program), "-o",
                            str(dot_file)], env=env, cwd=folder, check=True, capture_output=True)
            dwall, dcpu, _ = timed_child([dot, "-Tsvg", str(dot_file), "-o", str(folder / "dot.svg")],
                                         env, str(folder))
            print(f"  dot -Tsvg on the same graph: {dwall:.2f} s [{dcpu:.2f} s CPU]; "
                  f"app / dot = {wall / dwall:.2f}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--program", type=Path, default=PROGRAM)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--after", type=float, default=0.0, metavar="S",
                        help="keep the window S seconds after the paint and report its longest "
                             "freeze then too (the plots and panels built after the graph)")
    parser.add_argument("--export", action="store_true",
                        help="time `autodiff export` to SVG at 5k, 20k and 68k nodes instead")
    args = parser.parse_args(argv)
    if args.export:
        export_section(args.root, args.rounds)
        return 0
    if not args.program.exists():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from perceptron_program import main as write
        write([str(args.program)])
    runs = []
    for i in range(args.rounds):
        r = run_once(args.program, args.root, args.after)
        runs.append(r)
        later = f", then {r['after'] * 1000:.0f} ms in {args.after:g} s" if "after" in r else ""
        print(f"run {i + 1}: shown {r['shown']:.2f} s, painted {r['painted']:.2f} s, longest gap "
              f"{r['gap'] * 1000:.0f} ms{later}, {r['nodes']:,} nodes drawn as {r['boxes']} boxes "
              f"({r['groups']} groups), load {os.getloadavg()[0]:.1f}", flush=True)
    painted = statistics.median(r["painted"] for r in runs)
    later = ""
    if all("after" in r for r in runs):
        later = f", then {statistics.median(r['after'] for r in runs) * 1000:.0f} ms"
    print(f"median: shown {statistics.median(r['shown'] for r in runs):.2f} s, painted {painted:.2f} s, "
          f"longest gap {statistics.median(r['gap'] for r in runs) * 1000:.0f} ms{later}; target < "
          f"{TARGET_S:g} s: {'met' if painted < TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
