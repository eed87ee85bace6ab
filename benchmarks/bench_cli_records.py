"""Peak memory of a long headless run: ``autodiff train`` keeps only what it prints.

Issue 13 measured ``autodiff train three-step --steps 1000000 --tol 0 --every 1000000`` at 337 MB,
because every record was kept although one line was printed. This script runs, each in a fresh
process, the CLI (text and ``--json``) beside the old code path (a ``Trainer`` keeping every
record, as the CLI used to) on the same run, and prints the peak RSS of each and their ratio.

    python benchmarks/bench_cli_records.py --steps 200000

It is not a test (no ``test_`` prefix, not under ``tests/``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(mode: str, steps: int) -> None:
    sys.path.insert(0, str(ROOT))
    if mode == "keep-all":
        from engine.presets import preset
        from engine.train import Trainer
        trainer = Trainer(preset("three-step").program(), tol=0.0)  # keep_records=True
        trainer.run(steps)
        assert len(trainer.records) == steps
    else:
        from autodiff_gui.cli import main
        argv = ["train", "three-step", "--steps", str(steps), "--tol", "0", "--every", str(steps)]
        if mode == "cli-json":
            argv = ["train", "three-step", "--steps", str(steps), "--tol", "0", "--json"]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 0
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def measure(mode: str, steps: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--worker", mode, "--steps", str(steps)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--worker", choices=["keep-all", "cli-text", "cli-json"])
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps)
        return
    old = measure("keep-all", args.steps)
    print(f"{args.steps:,} iterations of three-step, peak RSS of a fresh process:")
    print(f"  old path (every record kept)  {old:8.1f} MB")
    for mode in ("cli-text", "cli-json"):
        mb = measure(mode, args.steps)
        print(f"  autodiff train ({mode[4:]:>4})       {mb:8.1f} MB   {old / mb:5.1f}× less")


if __name__ == "__main__":
    main()
