"""Sampling the loss a slice of time at a time, so the window answers while a landscape is computed.

Every sample is a forward pass of the engine (about 20 µs for the tutorial's loss, 0.6 ms for the
network preset's), so a heat map or a slice of a big program is computed in slices of
``engine.timeslice.FRAME_SECONDS`` with a turn of the event loop between them, and only while the
panel is visible. While a run streams moments a newer request of the same kind waits for the one
being computed, after a pause twice as long as that sampling took, so a slice is redrawn a few
times a second rather than continuously.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
import numpy as np
from PySide6.QtCore import QObject, QTimer

from engine.timeslice import FRAME_SECONDS, run_slice

from ..plots.landscape_math import Request, loss_at

RESAMPLE_PAUSE = 2.0  # after a sampling, wait this many times as long before the next one...
MAX_RESAMPLE_PAUSE_MS = 250  # ...but no longer: sampling takes at most a third of the window's time


class Job:
    """A request being computed a slice of time at a time."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.losses = np.full(len(request.points), np.nan)
        self.done = 0
        self.seconds = 0.0  # engine time spent so far

    def _step(self) -> bool:
        self.losses[self.done] = loss_at(self.request.program, self.request.points[self.done].tolist())
        self.done += 1
        return self.done < len(self.request.points)

    def run(self, seconds: float) -> bool:
        """Compute losses for about ``seconds``; True when all are done."""
        if self.done < len(self.request.points):
            start = time.perf_counter()
            run_slice(self._step, seconds)
            self.seconds += time.perf_counter() - start
        return self.done == len(self.request.points)


class Sampler(QObject):
    """Runs one :class:`Job` at a time on the GUI thread's event loop; ``done(request, losses)``
    is called when one finishes. ``visible()`` says whether to work at all (a hidden panel does
    not sample; :meth:`resume` is called when it is shown)."""

    def __init__(self, done: Callable[[Request, np.ndarray], None], visible: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._done = done
        self._visible = visible
        self.cost = 0.0  # seconds of one forward pass of the program shown
        self.job: Job | None = None
        self.pending: Request | None = None
        self.sampled_key: tuple | None = None  # what the drawn curve or heat map shows
        self.slices = 0  # slices of work run from the event loop (how tests see it yields)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)

    def busy(self) -> bool:
        return self.job is not None or self.pending is not None

    def request(self, request: Request) -> None:
        """Compute ``request`` unless it is what is drawn or being computed already."""
        if self.sampled_key == request.key:
            return
        if self.job is not None:
            if self.job.request.key == request.key:
                return
            if self.job.request.kind == request.kind and self.job.done:
                self.pending = request  # the run moved on: sample its latest moment next
                return
            self.job = None
        if self._timer.isActive():  # pausing between two expensive samplings
            self.pending = request
            return
        self._start(request, run=True)

    def cancel(self) -> None:
        self.job = self.pending = None
        self.sampled_key = None
        self._timer.stop()

    def resume(self) -> None:
        """The panel was shown: go on with what waits."""
        if self.busy() and not self._timer.isActive():
            self._timer.start(0)

    def finish(self) -> None:
        """Compute everything still to be sampled now, blocking (exports, screenshots, tests)."""
        while self.busy():
            if self.job is None:
                self._start(self.pending, run=False)
            self._work(math.inf)
        self._timer.stop()

    def _start(self, request: Request, run: bool) -> None:
        self.pending = None if self.pending is request else self.pending
        self.job = Job(request)
        if not (run and self._visible()):  # hidden: resume() starts the work
            return
        if len(request.points) * self.cost <= FRAME_SECONDS:
            self._work(FRAME_SECONDS)  # usually done before the caller returns: nothing stale shows
        elif not self._timer.isActive():
            self._timer.start(0)  # the caller (a refresh) has done enough for this turn

    def _work(self, seconds: float) -> None:
        job = self.job
        if job is None:
            return
        if not job.run(seconds):
            if math.isfinite(seconds):
                self._timer.start(0)
            return
        self.job = None
        if math.isfinite(seconds):
            # A pause before the next sampling (a request meanwhile waits as pending): while a
            # run streams moments, a slice is redrawn a few times a second, not continuously.
            self._timer.start(int(min(MAX_RESAMPLE_PAUSE_MS, RESAMPLE_PAUSE * 1000 * job.seconds)))
        self.sampled_key = job.request.key
        self._done(job.request, job.losses)

    def _on_timer(self) -> None:
        if not self._visible():
            return  # resume() goes on
        if self.job is None and self.pending is not None:
            self._start(self.pending, run=False)
        self.slices += 1
        self._work(FRAME_SECONDS)
