"""A multi-layer perceptron written as a program in the app's language, for tests of big graphs.

The shape of ``benchmarks/perceptron_program.py`` (micrograd's demo network 2-16-16-1 on 100
points), at any size: tanh hidden layers ``h1``, ``h2`` …, a linear output ``preds``, the squared
error ``loss``.
"""

from __future__ import annotations

import random


def mlp_program(hidden: tuple[int, ...] = (16, 16), points: int = 10, seed: int = 1) -> str:
    rng = random.Random(seed)
    shape = (2, *hidden, 1)
    lines = []
    xs = [[round(rng.uniform(-2, 2), 3), round(rng.uniform(-2, 2), 3)] for _ in range(points)]
    lines.append(f"xs = {xs}")
    lines.append(f"ys = {[1 if a * b > 0 else -1 for a, b in xs]}")
    layers = len(shape) - 1
    for i, (nin, nout) in enumerate(zip(shape, shape[1:]), start=1):
        rows = [[f"Value({rng.uniform(-1, 1):.3f})" for _ in range(nin)] for _ in range(nout)]
        if i == layers:
            lines.append(f"w{i} = [{', '.join(rows[0])}]")
            lines.append(f"b{i} = Value(0.0)")
        else:
            lines.append(f"w{i} = [{', '.join('[' + ', '.join(r) + ']' for r in rows)}]")
            lines.append(f"b{i} = [{', '.join('Value(0.0)' for _ in rows)}]")
    previous = "xs"
    for i in range(1, layers):
        lines.append(f"h{i} = [[tanh(sum([wi * xi for wi, xi in zip(row, x)]) + b) "
                     f"for row, b in zip(w{i}, b{i})] for x in {previous}]")
        previous = f"h{i}"
    lines.append(f"preds = [sum([wi * hi for wi, hi in zip(w{layers}, h)]) + b{layers} for h in {previous}]")
    lines.append("loss = sum([(p - y)**2 for p, y in zip(preds, ys)])")
    return "\n".join(lines) + "\n"
