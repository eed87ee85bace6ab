"""A soak: the window left running at full speed, as a learner who leaves it on all day.

    python benchmarks/bench_soak.py [--minutes 5] [--presets three-step network]

For each preset, one window runs gradient descent at full speed ("as fast as the engine goes")
for N minutes, never converging (tolerance -1) and with no iteration cap in the way, while the
process's resident memory (RSS, from /proc/self/statm, so the engine's child process is not
counted: it holds no history) and the iterations done are sampled every 10 s. Two questions,
each printed with its target (issue 12, "Soak"):

1. Is RSS flat after the first minute: max - min of the samples from minute 1 on, under 50 MB?
   (The History decimates a long run, so memory must stop growing once it is full.)
2. Iterations per second in the last minute beside the first: within 10 %?

Not a test (pytest does not collect it); it takes N minutes per preset.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

SAMPLE_SECONDS = 10.0


def rss_mb() -> float:
    """This process's resident set, in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def wait(seconds: float) -> None:
    """Run a real event loop for a while, as a learner's window runs it."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def soak(name: str, minutes: float) -> list[tuple[float, float, int]]:
    """(seconds since the run started, RSS MB, iterations done) every 10 s for ``minutes``."""
    from PySide6.QtCore import QSettings

    from autodiff_gui.window import MainWindow
    from autodiff_gui.worker import SPEEDS

    w = MainWindow(settings=QSettings(os.devnull, QSettings.Format.IniFormat))
    w.persist_settings = False
    w.engine.tolChanged.emit(-1.0)  # never converge: run flat out for the whole soak
    w.load_preset(name)
    w.show()
    w.speed_control.set_speed(len(SPEEDS) - 1)
    # past the cap box's 1,000,000 (three-step reaches that in under a minute): one long run
    w.engine.capChanged.emit(2_000_000_000)
    wait(2.0)  # the window settles, the engine process is up
    history = w.session.history
    w.toggle_run()
    t0 = time.perf_counter()
    samples = [(0.0, rss_mb(), history.count)]
    end = t0 + minutes * 60
    while time.perf_counter() < end:
        wait(SAMPLE_SECONDS)
        samples.append((time.perf_counter() - t0, rss_mb(), history.count))
        t, mb, n = samples[-1]
        print(f"  {name:>10}  t={t:6.1f} s  RSS {mb:7.1f} MB  iterations {n:>10,}", flush=True)
        if not w.state.running:
            print(f"  {name}: the run stopped ({w.state.status}) before the soak's end", flush=True)
            break
    if w.state.running:
        w.toggle_run()
    w.close()
    return samples


def rate(samples: list[tuple[float, float, int]], start: float, stop: float) -> float:
    """Iterations per second between the samples nearest ``start`` and ``stop`` seconds."""
    a = min(samples, key=lambda s: abs(s[0] - start))
    b = min(samples, key=lambda s: abs(s[0] - stop))
    return (b[2] - a[2]) / (b[0] - a[0]) if b[0] > a[0] else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--presets", nargs="+", default=["three-step", "network"])
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from autodiff_gui.app import configure_interpreter

    configure_interpreter()  # as the app's entry point does
    _app = QApplication.instance() or QApplication([])  # must stay alive
    print(f"platform: {os.environ.get('QT_QPA_PLATFORM', 'default')}, Python "
          f"{sys.version.split()[0]}, {args.minutes:g} min per preset, a sample every "
          f"{SAMPLE_SECONDS:g} s")
    rows = []
    for name in args.presets:
        samples = soak(name, args.minutes)
        total = samples[-1][0]
        settled = [mb for t, mb, _ in samples if t >= 60 - SAMPLE_SECONDS / 2] or [samples[-1][1]]
        spread = max(settled) - min(settled)
        first = rate(samples, 0, 60)
        last = rate(samples, total - 60, total)
        change = (last - first) / first * 100 if first else float("nan")
        rows.append((name, samples[0][1], samples[-1][1], spread, first, last, change, total))
    print()
    print(f"{'preset':>10}  {'RSS start':>9}  {'RSS end':>8}  {'spread after 1 min':>18}  "
          f"{'it/s first min':>14}  {'it/s last min':>13}  {'change':>7}")
    ok = True
    for name, start, end, spread, first, last, change, _total in rows:
        flat, steady = spread < 50, abs(change) <= 10
        ok = ok and flat and steady
        print(f"{name:>10}  {start:7.1f} MB  {end:6.1f} MB  {spread:13.1f} MB "
              f"{'met' if flat else 'MISSED':>4}  {first:14,.0f}  {last:13,.0f}  {change:+6.1f} % "
              f"{'met' if steady else 'MISSED'}")
    print("targets: RSS spread after the first minute < 50 MB; last minute's it/s within 10 % "
          "of the first's")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
