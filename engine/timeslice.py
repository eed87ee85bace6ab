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


class Pace:
    """Work for ``work_s``, then rest ``rest_s``: for a thread that shares Python's one GIL with
    a window, polled between small pieces of work (``tick()``), so the window's thread gets the
    interpreter at once now and then instead of waiting for the switch interval."""

    def __init__(self, work_s: float, rest_s: float,
                 clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.work_s, self.rest_s = work_s, rest_s
        self._clock, self._sleep = clock, sleep
        self._started = clock()

    def tick(self) -> None:
        if self._clock() - self._started >= self.work_s:
            self._sleep(self.rest_s)
            self._started = self._clock()
