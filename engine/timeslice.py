"""Work in slices: run steps until a deadline passes, so a thread can answer between slices.

Every long computation in the app (training at full speed, the learning-rate sweep, the gradient
check, the landscape's grid) does a little, then lets its event loop or command pipe have a turn.
The one rule they share lives here: at least one step per slice (so work always advances), then
as many as fit before the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: About one frame's worth of work: a thread that yields this often keeps a window at ~60 Hz.
FRAME_SECONDS = 0.012


def run_slice(step: Callable[[], bool], seconds: float = FRAME_SECONDS,
              clock: Callable[[], float] = time.perf_counter) -> int:
    """Call ``step()`` until it returns False (nothing left to do) or ``seconds`` have passed.

    Returns how many times ``step`` ran: at least once, however small ``seconds`` is.
    """
    deadline = clock() + seconds
    done = 0
    while True:
        more = step()
        done += 1
        if not more or clock() >= deadline:
            return done
