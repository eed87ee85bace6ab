"""The landscape panel's cost per push from the window, old way beside new way, in one run.

1. The path: the window built 2,000 Python tuples one float at a time and called ``set_path``
   (``_push_landscape``); ``set_path_array`` takes the numpy rows as they are.
2. The redraw: a push whose inputs equal the last one's (the same moment again: a paused window,
   a panel beat with nothing new) is now skipped; beside it, a push of a new moment (a redraw).

Each figure is the median of alternated rounds; read the ratios (the machine is shared).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python3 benchmarks/bench_landscape.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PySide6.QtWidgets import QApplication

from autodiff_gui.panels.landscape import LandscapePanel
from engine.presets import preset
from engine.replay import replay
from engine.train import Trainer


def history(name: str, n: int) -> tuple[object, np.ndarray]:
    """A preset's program and the parameters of ``n`` iterations of a headless run."""
    program = preset(name).program()
    trainer = Trainer(program, lr=0.01, tol=0.0, keep_records=False)
    rows = []
    for _ in range(n):
        rows.append([p.data for p in trainer.step().params])
    return program, np.array(rows)


def timed(action, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"{'workload':44} {'old':>10} {'new':>10} {'old/new':>8}")
    for name in ("three-step", "network"):
        program, values = history(name, 2000)
        panel = LandscapePanel()
        panel.resize(500, 360)
        panel.show()
        moment = replay(program, values[-1].tolist(), iteration=len(values) - 1, lr=0.01)
        panel.set_moment(moment)
        panel.finish_sampling()
        app.processEvents()

        def old_path() -> None:
            panel.set_path([tuple(float(x) for x in row) for row in values[-2000:]])
            panel.path_data()

        def new_path() -> None:
            panel.set_path_array(values[-2000:])
            panel.path_data()

        k = 100  # mid-run: two moments that differ (the end of a run may have converged)
        other = replay(program, values[k].tolist(), iteration=k, lr=0.01)
        moments = [replay(program, values[k - 1].tolist(), iteration=k - 1, lr=0.01), other]

        def redraw() -> None:  # a new moment each time: the panel draws it
            moments.reverse()
            panel.set_moment(moments[0])
            panel.tangent_line()

        def same() -> None:  # the moment already shown: nothing to draw
            panel.set_moment(moments[0])
            panel.tangent_line()

        figures = {"path": ([], []), "push": ([], [])}
        for r in range(args.rounds):
            pairs = ((old_path, new_path, "path"), (redraw, same, "push"))
            for old, new, key in pairs:
                first, second = (old, new) if r % 2 == 0 else (new, old)
                a, b = timed(first, 5), timed(second, 5)
                figures[key][0].append(a if first is old else b)
                figures[key][1].append(b if first is old else a)
        for key, label in (("path", "2,000 iterates: tuples+set_path vs array"),
                           ("push", "a push: new moment vs the same again")):
            old_s, new_s = (statistics.median(v) for v in figures[key])
            print(f"{name + ': ' + label:44} {old_s * 1e3:8.3f}ms {new_s * 1e3:8.3f}ms {old_s / new_s:7.1f}×")
        panel.close()


if __name__ == "__main__":
    main()
