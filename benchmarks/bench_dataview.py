"""The data view's cost per frame: predict over a grid in one batch beside predict per point.

The Data panel draws the model's output over a 48 × 48 grid at every panel beat. The peer is the
obvious way: the language's own interpreter evaluating predict at each grid point in turn (what
``engine.language.model.bind`` does once, for its check). The batch walks the expression once
over columns of floats. Each figure is the median of alternated rounds; read the ratio.

    PYTHONPATH=. python3 benchmarks/bench_dataview.py [--rounds 5] [--grid 48]
"""

from __future__ import annotations

import argparse
import statistics
import time

from engine.dataview import data_view
from engine.language import evaluate
from engine.language.interpreter import _Interpreter
from engine.language.model import _resolve
from engine.presets import preset


def per_point(program, view, params, points) -> list[float]:
    run = _Interpreter(program, None)
    run.env = {name: _resolve(value, params) for name, value in view.model._names.items()}
    model = program.model
    out = []
    for p in points:
        run.operations = 0  # the bound is per evaluation of predict
        out.append(run.eval(model.expr, {model.arg: list(p)}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--grid", type=int, default=48)
    args = parser.parse_args()
    for name in ("network", "moons"):
        program = preset(name).program()
        view = data_view(program)
        params = evaluate(program).param_values()
        (x0, x1), (y0, y1) = view.bounds
        n = args.grid
        points = [(x0 + (x1 - x0) * i / (n - 1), y0 + (y1 - y0) * j / (n - 1))
                  for j in range(n) for i in range(n)]
        batch, single = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            fast = view.model.predict(points, params)
            batch.append(time.perf_counter() - t)
            t = time.perf_counter()
            slow = per_point(program, view, params, points)
            single.append(time.perf_counter() - t)
            assert all(abs(a - b) <= 1e-12 * max(1.0, abs(b)) for a, b in zip(fast, slow))
        b, s = statistics.median(batch), statistics.median(single)
        print(f"{name}: {n}×{n} grid  batch {b * 1000:.1f} ms  per point {s * 1000:.1f} ms  "
              f"ratio {s / b:.1f}×")


if __name__ == "__main__":
    main()
