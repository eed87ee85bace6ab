#!/usr/bin/env python3
"""Side-by-side speed of this app's ``Value`` engine and micrograd 0.1.0 (issue 2, "Speed").

    pip install -e ".[bench]"          # micrograd==0.1.0 is the `bench` extra
    python benchmarks/bench_engine.py  # about 1-1.5 minutes on 2 cores

Every measurement runs in its own fresh interpreter (a subprocess of ``sys.executable``) with the
interpreter's default settings, garbage collector on, as a user runs it; ``timeit`` is not used
because it switches the collector off, and the collector is where micrograd loses its time. Runs of
the two engines alternate (engine, micrograd, micrograd, engine, ...), each workload is repeated
(``--reps``, default 5) and the median is reported.

Workloads (see benchmarks/README.md for the details and the measured figures):

* ``mlp``      forward + backward of a 2-16-16-1 perceptron (ReLU hidden layers, linear output,
               written exactly like micrograd's ``nn.MLP``, in plain Python, for both engines) on
               100 points with a squared-error loss: 67,938 nodes. The first pass in a fresh
               process, then the steady state of a training loop (4 more iterations). micrograd
               0.1.0 has no tanh (nor exp), so ReLU is the nonlinearity both compute identically.
               Also a hand-written plain-float forward + backward of the same network: the
               pure-Python floor.
* ``three``    one gradient-descent iteration (forward, zero grad, backward, update) of the
               tutorial's three-step loss ``L = (w*x - y)**2``, timed over many iterations;
               plus the app's headless ``engine.train.Trainer`` on the ``three-step`` preset.
* ``chain``    ``backward()`` alone of a chain of 1,000,000 multiplications (depth 1,000,000,
               default recursion limit). micrograd's recursive sort raises RecursionError there;
               it is run once on the same chain and the error is reported, not raised.
* ``fast``     the compiled fast path (``engine/tape.py``, issues 10 and 13), side by side with a
               hand-written plain-float loop, micrograd and the ``Value`` path (``fast=False``):
               the three-step iteration; ``Trainer.step`` with its record; the perceptron's
               forward + backward replayed from its tape; the learning-rate sweep (50 rates ×
               1,000 iterations) on three-step and on ``network``; and the CLI's million
               iterations (``autodiff train three-step --steps 1000000``, and the ``Trainer``
               with ``keep_records=False`` behind it).

Results are checked as well as timed: every engine must produce the same loss and gradients.
The time spent in the cyclic garbage collector is measured with ``gc.callbacks``.
``--engine-root DIR`` measures the ``engine`` package of another checkout (to compare a patch).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Targets from issue 2, "Speed", and issue 10, "The compiled fast path" (chain under 1 s).
MLP_TARGET_RATIO = 10.0  # engine at least 10x faster than micrograd on the perceptron
CHAIN_TARGET_S = 1.0  # backward() of the 1,000,000-deep chain under 1 s (issue 2 said 2 s)
# Targets of the fast path (issues 10 and 13).
PLAIN_TARGET_RATIO = 0.5  # the tape's three-step iteration at least half the plain loop's speed
MLP_TAPE_TARGET_RATIO = 60.0  # the perceptron replayed from its tape at least 60x micrograd
STEP_TARGET_S = 10e-6  # Trainer.step on three-step, with its record
SWEEP_TARGET_S = 0.2  # 50 rates x 1,000 iterations on three-step
SWEEP_NETWORK_TARGET_S = 20.0  # the same on the network preset
CLI_TARGET_S = 10.0  # autodiff train three-step --steps 1000000
FAST_ITERS = 200_000  # three-step iterations per run on the fast path
STEP_ITERS = 50_000
CLI_STEPS = 1_000_000

MLP_SHAPE = (2, 16, 16, 1)
MLP_POINTS = 100
MLP_ITERS = 5  # per process: the first forward + backward, then 4 training iterations
MLP_LR = 0.001
THREE_STEP_ITERS = 20_000
TRAINER_ITERS = 3_000
TRAINER_LR = 0.001  # small enough that 3,000 steps never converge (and never stop early)
CHAIN_DEPTH = 1_000_000


# =================================================================================================
# Workloads. They run inside a worker process (``--worker``); ``Value`` is the engine's class.
# =================================================================================================

def engine_root() -> Path:
    """The checkout whose ``engine`` package is measured (``--engine-root``; default this one)."""
    return Path(os.environ.get("BENCH_ENGINE_ROOT", ROOT))


def load_value(engine: str):
    if engine == "engine":
        sys.path.insert(0, str(engine_root()))  # that checkout's engine, installed or not
        from engine.value import Value
    elif engine == "micrograd":
        from micrograd.engine import Value
    else:
        raise ValueError(engine)
    return Value


def mlp_setup(seed: int = 1):
    """Weights, biases and data, as plain floats: the same numbers for every engine.

    Weights are uniform in [-1, 1] and biases 0, as micrograd's ``nn.Neuron`` makes them. The data
    is 100 points in [-2, 2]² labelled ±1 by the sign of x·y (an XOR-like task).
    """
    rng = random.Random(seed)
    layers = []
    for i, (nin, nout) in enumerate(zip(MLP_SHAPE, MLP_SHAPE[1:])):
        nonlin = i != len(MLP_SHAPE) - 2  # ReLU on hidden layers, linear output, as nn.MLP
        W = [[rng.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)]
        b = [0.0] * nout
        layers.append((W, b, nonlin))
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(MLP_POINTS)]
    Y = [1.0 if x0 * x1 > 0 else -1.0 for x0, x1 in X]
    return layers, X, Y


def mlp_model(Value, layers):
    """The network as Value parameters: per layer, per neuron, (weights, bias, nonlin)."""
    return [[([Value(w) for w in row], Value(bias), nonlin) for row, bias in zip(W, b)]
            for W, b, nonlin in layers]


def mlp_loss(model, X, Y):
    """Forward pass, written as micrograd's nn.Neuron / nn.Layer / nn.MLP compute it."""
    preds = []
    for x in X:
        a = x
        for layer in model:
            out = []
            for w, bias, nonlin in layer:
                act = sum((wi * xi for wi, xi in zip(w, a)), bias)
                out.append(act.relu() if nonlin else act)
            a = out
        preds.append(a[0])
    return sum((p - y) ** 2 for p, y in zip(preds, Y))


def count_nodes(root, engine: str) -> int:
    """Nodes reachable from ``root`` (iteratively, so deep graphs are fine)."""
    attr = "_children" if engine == "engine" else "_prev"
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in getattr(stack.pop(), attr):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


class GCTimer:
    """Time spent inside the cyclic garbage collector (``gc.callbacks``; settings untouched)."""

    def __init__(self):
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1

    def take(self) -> dict:
        out = {"gc": self.seconds, "collections": self.collections}
        self.seconds, self.collections = 0.0, [0, 0, 0]
        return out


def work_mlp(engine: str) -> dict:
    """MLP_ITERS iterations of gradient descent, written as a user writes the loop.

    Iteration 0 in the fresh process is the "forward + backward" figure (timed in two parts);
    the later ones are the steady state of a training loop, where the previous iteration's graph
    is still referenced (by ``loss``) while the next one is built, as in micrograd's demo.
    """
    layers, X, Y = mlp_setup()
    if engine == "plain":
        return work_mlp_plain(layers, X, Y)
    Value = load_value(engine)
    model = mlp_model(Value, layers)
    params = [p for layer in model for w, b, _ in layer for p in (*w, b)]
    gct = GCTimer()
    t0 = time.perf_counter()
    loss = mlp_loss(model, X, Y)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    first = {"seconds": t2 - t0, "forward": t1 - t0, "backward": t2 - t1, **gct.take()}
    result = {**first, "loss": loss.data, "grads": [p.grad for p in params]}
    for p in params:
        p.data -= MLP_LR * p.grad
    steady = []
    for _ in range(MLP_ITERS - 1):
        t0 = time.perf_counter()
        loss = mlp_loss(model, X, Y)  # forward
        for p in params:  # zero grad
            p.grad = 0
        loss.backward()  # backward
        for p in params:  # update
            p.data -= MLP_LR * p.grad
        steady.append({"seconds": time.perf_counter() - t0, **gct.take()})
    gc.callbacks.clear()
    result.update(steady=steady, nodes=count_nodes(loss, engine), final_loss=loss.data)
    return result


def work_mlp_plain(layers, X, Y) -> dict:
    """Forward and backward of the same network by hand, on plain floats: the pure-Python floor.

    The sums run in the same order as the Value versions (bias first, then w0*x0, w1*x1, ...), so
    the loss and the gradients agree to the last few bits.
    """
    t0 = time.perf_counter()
    gW = [[[0.0] * len(row) for row in W] for W, _, _ in layers]
    gb = [[0.0] * len(b) for _, b, _ in layers]
    loss = 0.0
    for x, y in zip(X, Y):
        acts = [x]  # the input of each layer
        pres = []  # the pre-activations of each layer
        a = x
        for W, b, nonlin in layers:
            z = []
            for row, bias in zip(W, b):
                s = bias
                for wi, ai in zip(row, a):
                    s += wi * ai
                z.append(s)
            pres.append(z)
            a = [s if s > 0 else 0.0 for s in z] if nonlin else z
            acts.append(a)
        d = a[0] - y
        loss += d * d
        g = [2.0 * d]  # dL/d(output)
        for k in range(len(layers) - 1, -1, -1):
            W, _, nonlin = layers[k]
            if nonlin:
                g = [gj if s > 0 else 0.0 for gj, s in zip(g, pres[k])]
            inp = acts[k]
            gWk, gbk = gW[k], gb[k]
            back = [0.0] * len(inp)
            for j, gj in enumerate(g):
                gbk[j] += gj
                row, grow = W[j], gWk[j]
                for i, ai in enumerate(inp):
                    grow[i] += gj * ai
                    back[i] += gj * row[i]
            g = back
    t1 = time.perf_counter()
    grads = [v for gWk, gbk in zip(gW, gb) for grow, gbj in zip(gWk, gbk) for v in (*grow, gbj)]
    return {"seconds": t1 - t0, "loss": loss, "grads": grads}


def work_three(engine: str) -> dict:
    """Gradient descent on the tutorial's L = (w*x - y)**2 with the tutorial's 8-node graph."""
    Value = load_value(engine)
    w, x, y = Value(0.0), Value(1.0), Value(2.0)
    lr = 0.1
    t0 = time.perf_counter()
    for _ in range(THREE_STEP_ITERS):
        L = (w * x - y) ** 2  # forward
        w.grad = 0  # zero grad
        L.backward()  # backward
        w.data -= lr * w.grad  # update
    t1 = time.perf_counter()
    return {"seconds": (t1 - t0) / THREE_STEP_ITERS, "iterations": THREE_STEP_ITERS,
            "nodes": count_nodes(L, engine), "w": w.data}


def work_trainer(engine: str) -> dict:
    """The app's headless Trainer on the ``three-step`` preset: iterations per second.

    ``step`` is the fast path (``Trainer.run``); ``steps`` is the observed path the window's engine
    thread drives (the graph snapshot, every forward step and chain-rule record, each iteration).
    """
    sys.path.insert(0, str(engine_root()))
    from engine.presets import preset
    from engine.train import Trainer

    program = preset("three-step").program()
    trainer = Trainer(program, lr=TRAINER_LR)
    t0 = time.perf_counter()
    if engine == "trainer":
        trainer.run(TRAINER_ITERS)
    else:  # "trainer-steps"
        for _ in range(TRAINER_ITERS):
            for _record in trainer.steps():
                pass
    t1 = time.perf_counter()
    assert trainer.iteration == TRAINER_ITERS, (trainer.status, trainer.message)
    return {"seconds": (t1 - t0) / TRAINER_ITERS, "iterations": TRAINER_ITERS,
            "status": trainer.status, "w": trainer.values[0]}


def work_chain(engine: str) -> dict:
    """backward() alone of v = x * c * c * ... * c (1,000,000 multiplications, 1,000,002 nodes).

    ``c`` is one shared constant node (1.0, so the values never overflow): the chain is 1,000,000
    nodes deep, and the right answers are dL/dx = 1 and dL/dc = 1,000,000.
    """
    Value = load_value(engine)
    x, c = Value(1.0), Value(1.0)
    v = x
    t0 = time.perf_counter()
    for _ in range(CHAIN_DEPTH):
        v = v * c
    t1 = time.perf_counter()
    result = {"build": t1 - t0, "limit": sys.getrecursionlimit()}
    t1 = time.perf_counter()
    try:
        v.backward()
    except RecursionError as exc:
        result.update(error=f"RecursionError: {exc}", after=time.perf_counter() - t1)
        return result
    t2 = time.perf_counter()
    result.update(seconds=t2 - t1, x_grad=x.grad, c_grad=c.grad)
    if engine == "engine":  # where the time goes: the topological sort alone, on the same graph
        from engine.value import topological_order
        t3 = time.perf_counter()
        topo = topological_order(v)
        result.update(topo=time.perf_counter() - t3, nodes=len(topo))
    return result


def work_micrograd_depth(engine: str) -> dict:
    """The deepest chain micrograd's recursive backward() handles (bisection, fresh graphs)."""
    Value = load_value("micrograd")

    def ok(depth: int) -> bool:
        v = Value(1.0)
        c = Value(1.0)
        for _ in range(depth):
            v = v * c
        try:
            v.backward()
        except RecursionError:
            return False
        return True

    lo, hi = 1, 4096  # ok(lo) holds, ok(hi) fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return {"max_depth": lo, "limit": sys.getrecursionlimit()}


def load_engine():
    sys.path.insert(0, str(engine_root()))
    from engine import tape, train
    from engine.presets import preset
    return tape, train, preset


def plain_three_step(n: int, lr: float) -> float:
    """The tutorial's three steps and their chain rule written by hand on floats: the floor."""
    w, x, y = 0.0, 1.0, 2.0
    for _ in range(n):
        z = w * x  # forward: the three steps
        e = z - y
        L = e**2
        dL_de = 2 * e  # backward: the chain rule, step by step
        dL_dz = dL_de
        dL_dw = dL_dz * x
        w = w - lr * dL_dw  # update
    return w + 0 * L


def work_fast(engine: str) -> dict:
    """One of the fast path's workloads (``engine`` names it); times are per iteration or call."""
    if engine == "plain":
        t0 = time.perf_counter()
        w = plain_three_step(FAST_ITERS, TRAINER_LR)
        return {"seconds": (time.perf_counter() - t0) / FAST_ITERS, "w": w}
    tape_mod, train, preset = load_engine()
    program = preset("three-step").program()
    if engine == "tape":  # the tape's own loop, which the trainer's run() and advance() drive
        tape = tape_mod.compile_program(program)
        t0 = time.perf_counter()
        count, values, _ = tape.run([0.0], TRAINER_LR, FAST_ITERS, -1.0, 1e300, [1e300])
        t1 = time.perf_counter()
        assert count == FAST_ITERS
        return {"seconds": (t1 - t0) / FAST_ITERS, "w": values[0]}
    if engine in ("step", "step-keep", "step-value"):  # Trainer.step, each returning its record
        trainer = train.Trainer(program, lr=TRAINER_LR, tol=-1, keep_records=engine == "step-keep",
                                fast=engine != "step-value")
        n = STEP_ITERS if engine != "step-value" else STEP_ITERS // 10
        for _ in range(5):
            trainer.step()
        t0 = time.perf_counter()
        for _ in range(n):
            trainer.step()
        t1 = time.perf_counter()
        return {"seconds": (t1 - t0) / n, "w": trainer.values[0]}
    if engine == "trainer-run":  # the CLI's million iterations, without keeping records
        trainer = train.Trainer(program, lr=TRAINER_LR, tol=0, keep_records=False)
        t0 = time.perf_counter()
        trainer.run(CLI_STEPS)
        t1 = time.perf_counter()
        return {"seconds": t1 - t0, "iterations": trainer.iteration, "rss_mb": rss_mb()}
    raise ValueError(engine)


def rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def work_mlp_tape(engine: str) -> dict:
    """The perceptron's forward + backward replayed from its tape (recorded once, built outside
    the timer), first replay and the median of 3 more; checked against ``backward()``."""
    tape_mod, _, _ = load_engine()
    Value = load_value("engine")
    layers, X, Y = mlp_setup()
    model = mlp_model(Value, layers)
    params = [p for layer in model for w, b, _ in layer for p in (*w, b)]
    loss = mlp_loss(model, X, Y)
    t0 = time.perf_counter()
    tape = tape_mod.record(loss, params)
    replay = tape.kernel()
    t1 = time.perf_counter()
    values = [p.data for p in params]
    gct = GCTimer()
    times = []
    for _ in range(4):
        t2 = time.perf_counter()
        L, grads = replay(values, None)
        times.append(time.perf_counter() - t2)
    gcs = gct.take()
    gc.callbacks.clear()
    loss.backward()
    same = L == loss.data and all(g == p.grad for g, p in zip(grads, params))
    return {"seconds": times[0], "steady": statistics.median(times[1:]), "prepare": t1 - t0,
            "gc": gcs["gc"], "same": same, "nodes": len(tape)}


def work_sweep(engine: str) -> dict:
    """``engine.sweep.sweep`` with its defaults (50 rates from 1e-3 to 1.5, 1,000 iterations)."""
    sys.path.insert(0, str(engine_root()))
    from engine.presets import preset
    from engine.sweep import sweep
    program = preset(engine).program()
    t0 = time.perf_counter()
    points = list(sweep(program))
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "points": len(points),
            "iterations": sum(p.iterations for p in points),
            "statuses": sorted({p.status for p in points})}


def work_cli(engine: str) -> dict:
    """``autodiff train three-step --steps 1000000 --tol 0 --every 1000000``, in-process."""
    sys.path.insert(0, str(engine_root()))
    import contextlib
    import io
    from autodiff_gui.cli import main as cli_main
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli_main(["train", "three-step", "--steps", str(CLI_STEPS), "--tol", "0",
                         "--every", str(CLI_STEPS)])
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "exit": code, "rss_mb": rss_mb(), "tail": out.getvalue()[-200:]}


WORKERS = {"mlp": work_mlp, "three": work_three, "trainer": work_trainer, "chain": work_chain,
           "depth": work_micrograd_depth, "fast": work_fast, "mlptape": work_mlp_tape,
           "sweep": work_sweep, "cli": work_cli}


def worker(workload: str, engine: str) -> None:
    assert gc.isenabled()  # the interpreter's defaults, untouched
    result = WORKERS[workload](engine)
    print(json.dumps(result))


# =================================================================================================
# The driver: fresh processes, alternating, medians, the table.
# =================================================================================================

def run_one(workload: str, engine: str, timeout: float = 300) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", workload, engine]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{workload}/{engine} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def alternate(workload: str, engines: list[str], reps: int, log) -> dict[str, list[dict]]:
    """``reps`` runs of each engine, alternating, the order reversed on every other round."""
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    for rep in range(reps):
        order = engines if rep % 2 == 0 else engines[::-1]
        for engine in order:
            r = run_one(workload, engine)
            runs[engine].append(r)
            log(f"  {workload:8} {engine:14} run {rep + 1}/{reps}: {fmt_s(r.get('seconds'))}")
    return runs


def median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def verdict(met: bool, by: float) -> str:
    return "MET" if met else f"MISSED ({by:.2f}x short)"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} µs"


def fmt_load(load) -> str:
    return " ".join(f"{x:.2f}" for x in load) if load else "unknown"


def close(a: list[float], b: list[float], rel: float = 1e-9) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= rel * max(1.0, abs(x), abs(y))
                                    for x, y in zip(a, b))


def environment() -> dict:
    try:
        from importlib.metadata import version
        mg = version("micrograd")
    except Exception:  # noqa: BLE001 - only for the header
        mg = "not installed"
    return {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "machine": platform.machine(),
            "platform": platform.platform(), "cpus": os.cpu_count(), "micrograd": mg,
            "gc_thresholds": gc.get_threshold(), "recursion_limit": sys.getrecursionlimit(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="runs of each engine per workload (5)")
    ap.add_argument("--only", nargs="+", choices=["mlp", "three", "chain", "fast"],
                    default=["mlp", "three", "chain", "fast"], help="run only these workloads")
    ap.add_argument("--json", metavar="FILE", help="also write every run's raw result here")
    ap.add_argument("--quiet", action="store_true", help="print only the table")
    ap.add_argument("--engine-root", metavar="DIR", type=Path,
                    help="measure the engine package of another checkout (to compare a patch)")
    ap.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "ENGINE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0

    if args.engine_root:
        if not (args.engine_root / "engine" / "value.py").is_file():
            print(f"{args.engine_root} has no engine/value.py", file=sys.stderr)
            return 2
        os.environ["BENCH_ENGINE_ROOT"] = str(args.engine_root.resolve())
    try:
        import micrograd  # noqa: F401
    except ImportError:
        print('micrograd is not installed: pip install -e ".[bench]"  (or pip install '
              'micrograd==0.1.0)', file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, flush=True)

    env = environment()
    started = time.perf_counter()
    log(f"Python {env['python']} on {env['platform']}, {env['cpus']} CPUs, micrograd "
        f"{env['micrograd']}, gc thresholds {env['gc_thresholds']}, {env['date']}, "
        f"load average {fmt_load(env['load_average'])}; engine from {engine_root()}")
    raw: dict = {"environment": env}
    rows = []  # (workload, engine, micrograd, ratio, target, met)
    notes = []
    checks = []

    if "mlp" in args.only:
        log(f"MLP {'-'.join(map(str, MLP_SHAPE))} on {MLP_POINTS} points: forward + backward, then "
            f"{MLP_ITERS - 1} training iterations, per process:")
        runs = alternate("mlp", ["engine", "micrograd"], args.reps, log)
        runs["plain"] = [run_one("mlp", "plain") for _ in range(args.reps)]
        log(f"  mlp      plain floats   median of {args.reps}: {fmt_s(median(runs['plain']))}")
        raw["mlp"] = runs
        e, m, p = (median(runs[k]) for k in ("engine", "micrograd", "plain"))
        ratio = m / e
        nodes = runs["engine"][0]["nodes"]
        rows.append((f"MLP 2-16-16-1 x {MLP_POINTS} pts, fwd+bwd, fresh process ({nodes:,} nodes)",
                     fmt_s(e), fmt_s(m), f"{ratio:.1f}x", f">= {MLP_TARGET_RATIO:g}x",
                     verdict(ratio >= MLP_TARGET_RATIO, MLP_TARGET_RATIO / ratio)))
        parts = {k: " / ".join(fmt_s(median(runs[k], part)) for part in ("forward", "backward", "gc"))
                 for k in ("engine", "micrograd")}
        rows.append(("  of which forward / backward / in the cyclic GC", parts["engine"],
                     parts["micrograd"], "", "", ""))
        def steady(engine: str, key: str) -> float:  # the median over every later iteration
            return statistics.median(it[key] for r in runs[engine] for it in r["steady"])

        es, ms = steady("engine", "seconds"), steady("micrograd", "seconds")
        egc, mgc = steady("engine", "gc"), steady("micrograd", "gc")
        rows.append(("MLP training iteration, steady state (fwd, zero, bwd, update)",
                     fmt_s(es), fmt_s(ms), f"{ms / es:.1f}x", f">= {MLP_TARGET_RATIO:g}x",
                     verdict(ms / es >= MLP_TARGET_RATIO, MLP_TARGET_RATIO / (ms / es))))
        rows.append(("  of which in the cyclic GC", fmt_s(egc), fmt_s(mgc), "", "", ""))
        rows.append(("MLP fwd+bwd by hand on plain floats (pure-Python floor)", fmt_s(p), "",
                     f"engine = {e / p:.0f}x floor", "", ""))
        ref = runs["plain"][0]
        for k in ("engine", "micrograd"):
            r = runs[k][0]
            checks.append((f"MLP loss and {len(ref['grads'])} gradients, {k} = plain floats",
                           close([r["loss"], *r["grads"]], [ref["loss"], *ref["grads"]])))
        mg_nodes = runs["micrograd"][0]["nodes"]
        if mg_nodes != nodes:
            notes.append(f"micrograd's MLP graph has {mg_nodes:,} nodes, the engine's {nodes:,}.")

    if "three" in args.only:
        log(f"Three-step loss, {THREE_STEP_ITERS:,} gradient-descent iterations per run:")
        runs = alternate("three", ["engine", "micrograd"], args.reps, log)
        for kind in ("trainer", "trainer-steps"):
            runs[kind] = []
            for _rep in range(args.reps):
                runs[kind].append(run_one("trainer", kind))
            log(f"  trainer  {kind:14} median of {args.reps}: {fmt_s(median(runs[kind]))}")
        raw["three"] = runs
        e, m = median(runs["engine"]), median(runs["micrograd"])
        rows.append((f"three-step GD iteration ({runs['engine'][0]['nodes']} nodes), per iter",
                     fmt_s(e), fmt_s(m), f"{m / e:.2f}x", "", ""))
        for kind, what in (("trainer", "Trainer.run (step), three-step preset"),
                           ("trainer-steps", "Trainer.steps (observed), three-step preset")):
            t = median(runs[kind])
            rows.append((f"  {what}", f"{fmt_s(t)} = {1 / t:,.0f} it/s", "", "", "", ""))
        w_engine, w_micrograd = runs["engine"][0]["w"], runs["micrograd"][0]["w"]
        checks.append(("three-step: both engines reach the same w = 2",
                       close([w_engine], [w_micrograd]) and abs(w_engine - 2.0) < 1e-12))
        checks.append(("Trainer ran every iteration (no early stop)",
                       all(r["status"] in ("running", "max_steps")
                           for r in runs["trainer"] + runs["trainer-steps"])))

    if "chain" in args.only:
        log(f"Chain of {CHAIN_DEPTH:,} multiplications, backward() alone:")
        runs = {"engine": []}
        for rep in range(args.reps):
            r = run_one("chain", "engine")
            runs["engine"].append(r)
            log(f"  chain    engine         run {rep + 1}/{args.reps}: {fmt_s(r['seconds'])} "
                f"(sort {fmt_s(r['topo'])}; building the chain took {fmt_s(r['build'])})")
            if rep == 0:  # micrograd once, between the engine's runs: it fails at once anyway
                mg = run_one("chain", "micrograd")
                runs["micrograd"] = [mg]
                log(f"  chain    micrograd      {mg.get('error', 'no error')[:60]} after "
                    f"{fmt_s(mg.get('after'))}")
        depth = run_one("depth", "micrograd")
        raw["chain"] = {**runs, "micrograd_max_depth": depth}
        e = median(runs["engine"])
        mg = runs["micrograd"][0]
        mg_text = ("RecursionError" if "error" in mg else fmt_s(mg["seconds"]))
        rows.append((f"backward() of a {CHAIN_DEPTH:,}-deep chain", fmt_s(e), mg_text,
                     "", f"< {CHAIN_TARGET_S:g} s",
                     verdict(e < CHAIN_TARGET_S, e / CHAIN_TARGET_S)))
        rows.append(("  of which the topological sort", fmt_s(median(runs["engine"], "topo")),
                     "", "", "", ""))
        notes.append(f"micrograd's recursive backward() handles chains up to depth "
                     f"{depth['max_depth']} at the default recursion limit "
                     f"({depth['limit']}); at {CHAIN_DEPTH:,} it raises RecursionError "
                     f"(after {fmt_s(mg.get('after'))}).")
        r0 = runs["engine"][0]
        checks.append(("chain: dL/dx = 1 and dL/dc = 1,000,000",
                       r0["x_grad"] == 1.0 and r0["c_grad"] == CHAIN_DEPTH))

    if "fast" in args.only:
        fast_rows(args, log, raw, rows, checks)

    elapsed = time.perf_counter() - started
    print_table(rows, env, args.reps, elapsed)
    for note in notes:
        print(f"Note: {note}")
    for what, ok in checks:
        print(f"Check: {what}: {'ok' if ok else 'FAILED'}")
    if args.json:
        raw["elapsed"] = elapsed
        Path(args.json).write_text(json.dumps(raw, indent=1), encoding="utf-8")
    return 0 if all(ok for _, ok in checks) else 1


def fast_rows(args, log, raw: dict, rows: list, checks: list) -> None:
    """The compiled fast path side by side with the plain loop, micrograd and the Value path."""
    log(f"Fast path: three-step, {FAST_ITERS:,} iterations per run, alternating with the plain "
        f"loop and micrograd:")
    runs = alternate("fast", ["tape", "plain"], args.reps, log)
    runs["micrograd"] = [run_one("three", "micrograd") for _ in range(args.reps)]
    log(f"  three    micrograd      median of {args.reps}: {fmt_s(median(runs['micrograd']))}")
    steps = alternate("fast", ["step", "step-value"], args.reps, log)
    steps["step-keep"] = [run_one("fast", "step-keep") for _ in range(args.reps)]
    tape, plain, mg = (median(runs[k]) for k in ("tape", "plain", "micrograd"))
    rows.append(("FAST PATH (engine/tape.py)", "tape", "plain floats / micrograd", "ratio", "", ""))
    rows.append(("three-step iteration: tape loop vs hand-written plain floats", fmt_s(tape),
                 fmt_s(plain), f"{plain / tape:.2f}x the plain speed",
                 f">= {PLAIN_TARGET_RATIO:g}x", verdict(plain / tape >= PLAIN_TARGET_RATIO,
                                                        PLAIN_TARGET_RATIO / (plain / tape))))
    rows.append(("three-step iteration: tape loop vs micrograd", fmt_s(tape), fmt_s(mg),
                 f"{mg / tape:.1f}x", "", ""))
    st, sv, sk = (median(steps[k]) for k in ("step", "step-value", "step-keep"))
    rows.append(("Trainer.step, three-step, with its record (keep_records=False)", fmt_s(st),
                 f"Value path {fmt_s(sv)}", f"{sv / st:.1f}x", f"< {fmt_s(STEP_TARGET_S)}",
                 verdict(st < STEP_TARGET_S, st / STEP_TARGET_S)))
    rows.append(("  the same, keeping every record (GC on)", fmt_s(sk), "", "",
                 f"< {fmt_s(STEP_TARGET_S)}", verdict(sk < STEP_TARGET_S, sk / STEP_TARGET_S)))
    checks.append(("fast path: the tape loop, Trainer.step and the plain loop reach the same w",
                   close([runs["tape"][0]["w"]], [runs["plain"][0]["w"]])
                   and close([steps["step"][0]["w"]], [steps["step-keep"][0]["w"]])))
    raw["fast"] = {"three": runs, "step": steps}

    log("Fast path: the perceptron's forward + backward replayed from its tape, vs micrograd:")
    mlp = alternate("mlptape", ["engine"], 1, log)["engine"]
    mlp += [run_one("mlptape", "engine") for _ in range(args.reps - 1)]
    mg_runs = raw.get("mlp", {}).get("micrograd") or alternate("mlp", ["micrograd"], args.reps,
                                                               log)["micrograd"]
    t, m = median(mlp), median(mg_runs)
    ts = median(mlp, "steady")
    rows.append((f"MLP 2-16-16-1 x {MLP_POINTS} pts fwd+bwd, replayed from the tape "
                 f"({mlp[0]['nodes']:,} nodes)", fmt_s(t), fmt_s(m), f"{m / t:.1f}x",
                 f">= {MLP_TAPE_TARGET_RATIO:g}x",
                 verdict(m / t >= MLP_TAPE_TARGET_RATIO, MLP_TAPE_TARGET_RATIO / (m / t))))
    rows.append(("  later replays (median) / recording the tape once", fmt_s(ts),
                 f"record {fmt_s(median(mlp, 'prepare'))}", f"{m / ts:.1f}x", "", ""))
    checks.append(("MLP: the tape's loss and gradients = backward()'s, exactly",
                   all(r["same"] for r in mlp)))
    raw["mlptape"] = mlp

    log("Fast path: learning-rate sweeps (50 rates x 1,000 iterations):")
    sweeps = {"three-step": [run_one("sweep", "three-step") for _ in range(args.reps)],
              "network": [run_one("sweep", "network")]}
    for name, target in (("three-step", SWEEP_TARGET_S), ("network", SWEEP_NETWORK_TARGET_S)):
        t = median(sweeps[name])
        log(f"  sweep    {name:14} median of {len(sweeps[name])}: {fmt_s(t)}")
        rows.append((f"sweep 50 x 1,000 on {name} ({sweeps[name][0]['iterations']:,} iterations)",
                     fmt_s(t), "", "", f"< {fmt_s(target)}", verdict(t < target, t / target)))
    raw["sweep"] = sweeps

    log(f"Fast path: {CLI_STEPS:,} iterations, the CLI and the Trainer behind it:")
    cli = [run_one("cli", "engine") for _ in range(max(1, args.reps // 2))]
    bare = [run_one("fast", "trainer-run") for _ in range(max(1, args.reps // 2))]
    c, b = median(cli), median(bare)
    rows.append((f"autodiff train three-step --steps {CLI_STEPS:,} --tol 0 --every {CLI_STEPS:,}",
                 fmt_s(c), f"peak RSS {max(r['rss_mb'] for r in cli):.0f} MB", "",
                 f"< {fmt_s(CLI_TARGET_S)}", verdict(c < CLI_TARGET_S, c / CLI_TARGET_S)))
    rows.append((f"  Trainer(keep_records=False).run({CLI_STEPS:,})", fmt_s(b),
                 f"peak RSS {max(r['rss_mb'] for r in bare):.0f} MB", "", f"< {fmt_s(CLI_TARGET_S)}",
                 verdict(b < CLI_TARGET_S, b / CLI_TARGET_S)))
    checks.append(("CLI: a million iterations, exit status 0",
                   all(r["exit"] == 0 for r in cli) and all(r["iterations"] == CLI_STEPS
                                                            for r in bare)))
    raw["cli"] = {"cli": cli, "trainer": bare}


def print_table(rows, env, reps: int, elapsed: float) -> None:
    head = ("workload", "engine", "micrograd", "micrograd/engine", "target", "result")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    print()
    print(f"Medians of {reps} fresh processes each, GC on (Python {env['python']}, {env['cpus']} "
          f"CPUs, {env['date']}; {elapsed:.0f} s in all)")
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print(line)


if __name__ == "__main__":
    sys.exit(main())
