"""How often a training run prints an iteration: one rule for `autodiff train` and the take-home
script, so their lines stay the same."""

from __future__ import annotations

from .language import Program

#: By default a run prints at most about this many progress lines.
PROGRESS_LINES = 20


def default_every(program: Program, steps: int) -> int:
    """The program's ``every`` setting, else a round stride (1, 2, 5, 10, 20, 50, …) that
    prints at most about :data:`PROGRESS_LINES` lines of a ``steps``-iteration run."""
    if "every" in program.settings:
        return int(program.settings["every"])
    target = max(1, -(-steps // PROGRESS_LINES))
    stride = 1
    while stride < target:
        stride = stride * 5 // 2 if str(stride)[0] == "2" else stride * 2
    return stride
