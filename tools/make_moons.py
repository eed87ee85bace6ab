"""Write resources/presets/moons.py: two interleaved half-moons and a 2-8-8-1 tanh network.

Run once (``python tools/make_moons.py``); the preset ships the numbers as literal lists, so the
program is its own data. The seed is fixed: running it again writes the same file.
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

SEED = 32
POINTS = 40
HIDDEN = 8
LR, STEPS = 0.5, 400


def moons(rng: random.Random, n: int, noise: float = 0.08) -> tuple[list, list]:
    """``n`` points, one more on the upper moon (label 1) than on the lower (label -1): with
    as many of each, the hinge loss's gradient for the output bias starts at exactly 0, which a
    finite-difference check cannot tell from its rounding."""
    upper_n = n // 2 + 1
    lower_n = n - upper_n
    points = []
    for k in range(upper_n):
        t = math.pi * k / (upper_n - 1)
        points.append((math.cos(t), math.sin(t), 1))
    for k in range(lower_n):
        t = math.pi * k / (lower_n - 1)
        points.append((1 - math.cos(t), 0.5 - math.sin(t), -1))
    order = list(range(n))
    rng.shuffle(order)
    xs, ys = [], []
    for i in order:
        x, y, label = points[i]
        x, y = x + rng.gauss(0, noise), y + rng.gauss(0, noise)
        # centred on 0 and scaled to about [-1, 1], where tanh is steep
        xs.append([round((x - 0.5) / 1.5, 2), round((y - 0.25) / 0.75, 2)])
        ys.append(label)
    return xs, ys


def weights(rng: random.Random, rows: int, cols: int, scale: float) -> list:
    return [[round(rng.uniform(-scale, scale), 2) for _ in range(cols)] for _ in range(rows)]


def fmt_values(row: list) -> str:
    return "[" + ", ".join(f"Value({v})" for v in row) + "]"


def main(out: Path, seed: int = SEED, lr: float = LR, steps: int = STEPS) -> None:
    rng = random.Random(seed)
    xs, ys = moons(rng, POINTS)
    w1 = weights(rng, HIDDEN, 2, 1.0)
    b1 = [round(rng.uniform(-0.5, 0.5), 2) for _ in range(HIDDEN)]
    w2 = weights(rng, HIDDEN, HIDDEN, 1 / math.sqrt(HIDDEN))
    b2 = [round(rng.uniform(-0.5, 0.5), 2) for _ in range(HIDDEN)]
    w3 = [round(rng.uniform(-0.5, 0.5), 2) for _ in range(HIDDEN)]
    lines = [
        "# moons: a 2-8-8-1 tanh network separating two interleaved half-moons of 40 points "
        "(hinge loss + L2)",
        f"# autodiff: lr={lr} steps={steps} data=xs,ys",
        "xs = [" + ",\n      ".join(", ".join(str(p) for p in xs[i:i + 5])
                                     for i in range(0, len(xs), 5)) + "]",
        "ys = [" + ", ".join(str(y) for y in ys) + "]",
        "w1 = [" + ",\n      ".join(fmt_values(r) for r in w1) + "]",
        "b1 = " + fmt_values(b1),
        "w2 = [" + ",\n      ".join(fmt_values(r) for r in w2) + "]",
        "b2 = " + fmt_values(b2),
        "w3 = " + fmt_values(w3),
        "b3 = Value(0.0)",
        "h1 = [[tanh(sum([w * xi for w, xi in zip(row, x)]) + b) for row, b in zip(w1, b1)] "
        "for x in xs]",
        "h2 = [[tanh(sum([w * hi for w, hi in zip(row, h)]) + b) for row, b in zip(w2, b2)] "
        "for h in h1]",
        "scores = [sum([w * hi for w, hi in zip(w3, h)]) + b3 for h in h2]",
        "# the hinge loss: a point counts until its score is on its side by a margin of 1",
        "data_loss = sum([relu(1 - y * s) for s, y in zip(scores, ys)]) / len(ys)",
        "# a small L2 term keeps the weights from growing without end",
        "l2 = sum([w**2 for row in w1 for w in row]) + sum([w**2 for row in w2 for w in row]) "
        "+ sum([w**2 for w in w3])",
        "loss = data_loss + 0.0001 * l2",
        "def predict(x): return sum([v * tanh(sum([w * t for w, t in zip(row2, [tanh(sum([u * xi "
        "for u, xi in zip(row1, x)]) + c1) for row1, c1 in zip(w1, b1)])]) + c2) "
        "for v, row2, c2 in zip(w3, w2, b2)]) + b3",
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else Path(__file__).resolve().parents[1] / "resources/presets/moons.py",
         *(float(a) if "." in a else int(a) for a in args[1:2]))
