"""Start-up, this checkout beside an older one (issue 13): the CLI's quick commands and the window.

    python benchmarks/bench_startup.py [--rounds 7] [--old-rev c5dbc6e] [--only cli window imports]

- **cli**: ``python -m autodiff_gui.cli grad three-step``, ``train three-step`` and ``presets``,
  each a fresh process, against a bare interpreter (``python -c pass``) in the same rounds.
  Target: under 100 ms above the bare interpreter.
- **window**: ``autodiff-gui`` (``autodiff_gui.app.main``, the default program) from the moment
  the process is started to the first expose of its main window (the window is on the screen),
  in a fresh process with a fresh settings folder. Target: under 1 s.
- **imports**: ``python -X importtime`` of ``autodiff_gui.cli`` and of ``autodiff_gui.window``:
  the slowest imports (each module's cumulative time, the fastest of the rounds).

Every figure is a median over rounds in which the two checkouts (and the bare interpreter)
alternate, the order flipping each round; the older checkout is read from git into a temporary
folder. It runs offscreen when there is no display. The machine is shared: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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
OLD_REV = "c5dbc6e"  # main before the lazy imports
CLI_TARGET_MS = 100.0
WINDOW_TARGET_S = 1.0
COMMANDS = (["grad", "three-step"], ["train", "three-step"], ["presets"])

EXPOSE_PROBE = r"""
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])

class FirstExpose(QObject):
    done = False
    def eventFilter(self, obj, event):
        if (not self.done and event.type() == QEvent.Type.Expose and obj.isWidgetType() is False
                and obj.isExposed()):
            windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)]
            if windows and windows[0].windowHandle() is obj:
                self.done = True
                print(f"EXPOSED {time.time() - t0:.4f}", flush=True)
                QTimer.singleShot(0, windows[0].close)
        return False

probe = FirstExpose()
app.installEventFilter(probe)
from autodiff_gui.app import main
main([])
"""


def old_tree(rev: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "autodiff_gui", "engine",
                           "resources"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(folder)
    return folder


def env_for(root: Path | None, home: str) -> dict:
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"))
    if root is not None:
        env["PYTHONPATH"] = str(root)
    if not env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def timed_run(argv: list[str], env: dict, cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=120)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def window_run(root: Path, home: str) -> float:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", EXPOSE_PROBE, repr(t0)], env=env_for(root, home),
                         cwd=home, capture_output=True, text=True, timeout=120)
    found = re.findall(r"EXPOSED ([0-9.]+)", out.stdout)
    if not found:
        raise SystemExit(f"the window probe failed ({root}):\n{out.stdout}\n{out.stderr}")
    return float(found[0])


def import_times(root: Path, module: str, home: str, rounds: int) -> dict[str, float]:
    """Each module's cumulative import time in ms, the fastest of ``rounds`` runs."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             env=env_for(root, home), cwd=home, capture_output=True, text=True,
                             timeout=120)
        for line in out.stderr.splitlines():
            parts = line.split("|")
            if len(parts) != 3 or not parts[1].strip().isdigit():
                continue
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            key = f"{'  ' * depth}{name.strip()}"
            ms = int(parts[1]) / 1000
            best[key] = min(best.get(key, ms), ms)
    return best


def cli_section(new: Path, old: Path, home: str, rounds: int) -> None:
    print("\nCLI, fresh processes: wall ms [CPU ms of the process]; above = minus the bare "
          "interpreter")
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in range(rounds):
        order = [("bare", None), ("new", new), ("old", old)]
        if r % 2:
            order.reverse()
        for which, root in order:
            if which == "bare":
                times.setdefault(("bare", ""), []).append(
                    timed_run([sys.executable, "-c", "pass"], env_for(None, home), home))
                continue
            for cmd in COMMANDS:
                times.setdefault((which, " ".join(cmd)), []).append(timed_run(
                    [sys.executable, "-m", "autodiff_gui.cli", *cmd], env_for(root, home), home))

    def med(key, k):
        return statistics.median(x[k] for x in times[key]) * 1000

    bare, bare_cpu = med(("bare", ""), 0), med(("bare", ""), 1)
    print(f"  bare interpreter (python -c pass)   {bare:6.1f} ms [{bare_cpu:5.1f}]")
    print(f"  {'command':34} {'old':>15} {'new':>15}   {'old above':>15} {'new above':>15}  "
          f"target (CPU above)")
    for cmd in COMMANDS:
        name = " ".join(cmd)
        o, oc = med(("old", name), 0), med(("old", name), 1)
        n, nc = med(("new", name), 0), med(("new", name), 1)
        ok = nc - bare_cpu < CLI_TARGET_MS
        print(f"  autodiff {name:25} {o:6.1f} [{oc:5.1f}] {n:6.1f} [{nc:5.1f}]   "
              f"{o - bare:6.1f} [{oc - bare_cpu:5.1f}] {n - bare:6.1f} [{nc - bare_cpu:5.1f}]  "
              f"< {CLI_TARGET_MS:g} ms: {'met' if ok else 'MISSED'}")


def window_section(new: Path, old: Path, home: str, rounds: int) -> None:
    print("\nWindow, process start to the first expose of the main window (fresh processes)")
    runs: dict[str, list[float]] = {"new": [], "old": []}
    for r in range(rounds):
        for which in (("new", "old") if r % 2 == 0 else ("old", "new")):
            folder = tempfile.mkdtemp(prefix="home_", dir=home)  # fresh settings each time
            runs[which].append(window_run(new if which == "new" else old, folder))
    o, n = statistics.median(runs["old"]), statistics.median(runs["new"])
    print(f"  old {o:.3f} s ({min(runs['old']):.3f}-{max(runs['old']):.3f})   "
          f"new {n:.3f} s ({min(runs['new']):.3f}-{max(runs['new']):.3f})   old/new {o / n:.2f}x"
          f"   target < {WINDOW_TARGET_S:g} s: {'met' if n < WINDOW_TARGET_S else 'MISSED'}")


def imports_section(new: Path, old: Path, home: str, rounds: int, top: int = 14) -> None:
    for module in ("autodiff_gui.cli", "autodiff_gui.window"):
        print(f"\npython -X importtime -c 'import {module}' (cumulative ms, fastest of {rounds})")
        o = import_times(old, module, home, rounds)
        n = import_times(new, module, home, rounds)
        print(f"  {'module':44} {'old':>8} {'new':>8}")
        keys = sorted(set(o) | set(n), key=lambda k: -max(o.get(k, 0), n.get(k, 0)))
        shown = keys[:top]
        for k in shown:
            ov = f"{o[k]:8.1f}" if k in o else "       -"
            nv = f"{n[k]:8.1f}" if k in n else "       -"
            print(f"  {k[:44]:44} {ov} {nv}")
        for heavy in ("numpy", "pyqtgraph", "PySide6.QtCore", "PySide6.QtWidgets"):
            ok = next((k for k in o if k.strip() == heavy), None)
            nk = next((k for k in n if k.strip() == heavy), None)
            print(f"  imports {heavy}: old {'yes' if ok else 'no'}, new {'yes' if nk else 'no'}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--only", nargs="*", default=["cli", "window", "imports"])
    args = parser.parse_args()
    old = old_tree(args.old_rev)
    home = tempfile.mkdtemp(prefix="bench_home_")
    try:
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}; old = {args.old_rev}, medians of {args.rounds} rounds, "
              f"platform {env_for(None, home).get('QT_QPA_PLATFORM', 'default')}")
        if "cli" in args.only:
            cli_section(ROOT, old, home, args.rounds)
        if "window" in args.only:
            window_section(ROOT, old, home, args.rounds)
        if "imports" in args.only:
            imports_section(ROOT, old, home, max(3, args.rounds // 2))
    finally:
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
