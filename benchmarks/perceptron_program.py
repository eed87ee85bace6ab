"""micrograd's demo network as a program in the app's language: a 2-16-16-1 tanh MLP on 100 points.

``python benchmarks/perceptron_program.py [OUT]`` writes it (default ``benchmarks/perceptron.ad``,
the file the big-graph benchmarks open). The weights are uniform in [-1, 1] and the biases 0, as
micrograd's ``nn.Neuron`` makes them; the data is 100 points in [-2, 2]² labelled ±1 by the sign of
x·y, as ``bench_engine.mlp_setup`` makes them (same seed, same numbers). Each neuron is written as
the ``network`` preset writes one, ``tanh(sum([wi * xi for wi, xi in zip(row, x)]) + b)``; the
output neuron is linear, as ``nn.MLP``'s last layer, and the loss is the squared error.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "perceptron.ad"


def perceptron_program(hidden: tuple[int, ...] = (16, 16), points: int = 100, seed: int = 1) -> str:
    """The program text of a 2-H1-...-1 tanh network with a linear output on ``points`` points."""
    rng = random.Random(seed)
    shape = (2, *hidden, 1)
    lines = [f"# perceptron: a {'-'.join(map(str, shape))} tanh network on {points} points "
             f"(micrograd's demo network)", "# autodiff: lr=0.01 steps=100"]
    weights = []
    for nin, nout in zip(shape, shape[1:]):
        weights.append([[rng.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)])
    xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(points)]
    ys = [1 if a * b > 0 else -1 for a, b in xs]
    lines.append("xs = [" + ", ".join(f"[{a:.4f}, {b:.4f}]" for a, b in xs) + "]")
    lines.append(f"ys = {ys}")
    for i, w in enumerate(weights, start=1):
        if i == len(weights):  # the output neuron: one row
            lines.append(f"w{i} = [" + ", ".join(f"Value({v:.4f})" for v in w[0]) + "]")
            lines.append(f"b{i} = Value(0.0)")
        else:
            lines.append(f"w{i} = [" + ", ".join("[" + ", ".join(f"Value({v:.4f})" for v in row) + "]"
                                                 for row in w) + "]")
            lines.append(f"b{i} = [" + ", ".join("Value(0.0)" for _ in w) + "]")
    last = len(weights)
    previous = "xs"
    for i in range(1, last):
        name = f"h{i}"
        lines.append(f"{name} = [[tanh(sum([wi * xi for wi, xi in zip(row, x)]) + b) "
                     f"for row, b in zip(w{i}, b{i})] for x in {previous}]")
        previous = name
    lines.append(f"preds = [sum([wi * hi for wi, hi in zip(w{last}, h)]) + b{last} for h in {previous}]")
    lines.append("loss = sum([(p - y)**2 for p, y in zip(preds, ys)])")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.write_text(perceptron_program())
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
