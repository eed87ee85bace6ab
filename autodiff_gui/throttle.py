"""One throttle for the window's slower views.

superqt's ``qthrottled`` does the same leading- and trailing-edge throttling, but it is one more
dependency for fifteen lines, and the window needs two things it lacks: :meth:`Beat.hold` (a
run's start staggers the beats so their first frames do not land in one event-loop turn),
:class:`Spacing` (beats that share one keep apart, so two slow redraws never run back to back
while a run is fast) and :meth:`Beat.now` (a run's end draws at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Spacing:
    """Beats that share one are kept at least ``ms`` apart from each other: each waits until
    the last of them to run is ``ms`` old. (Their drawing is heavy; two in one event-loop turn
    would keep the window from answering twice as long.)"""

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.last = -1e9

    def wait_ms(self) -> float:
        return self.ms - (time.monotonic() - self.last) * 1000


class Beat:
    """Call ``action`` when asked, at most once per ``ms``: at once if the last call is a beat
    old, otherwise once at the end of the beat (however often it was asked meanwhile)."""

    def __init__(self, parent: QObject, ms: int, action: Callable[[], None],
                 defer: bool = False, spacing: Spacing | None = None) -> None:
        self.action = action
        self.spacing = spacing
        self.ms = ms
        self.defer = defer  # even a call that is due waits for the next event-loop turn, so
        # several requests made together (a path and a moment) cost one call
        self.last = -1e9
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._due)

    def _wait_ms(self) -> float:
        wait = self.ms - (time.monotonic() - self.last) * 1000
        if self.spacing is not None:
            wait = max(wait, self.spacing.wait_ms())
        return wait

    def _due(self) -> None:
        wait = self._wait_ms()
        if wait > 0:  # another beat of the same spacing ran meanwhile
            self.timer.start(int(wait) + 1)
        else:
            self.now()

    def request(self) -> None:
        if self.timer.isActive():
            return
        wait = self._wait_ms()
        if wait <= 0 and not self.defer:
            self.now()
        elif wait <= 0:
            self.timer.start(0)
        else:
            self.timer.start(int(wait) + 1)

    def later(self) -> None:
        """As :meth:`request`, but never in this event-loop turn: what is drawn now (a new
        graph on the canvas) reaches the screen first."""
        if not self.timer.isActive():
            self.timer.start(max(0, int(self._wait_ms()) + 1))

    def now(self) -> None:
        self.timer.stop()
        self.last = time.monotonic()
        if self.spacing is not None:
            self.spacing.last = self.last
        self.action()

    def hold(self, extra_ms: int) -> None:
        """Count as just called (plus ``extra_ms``): the next request waits for the beat's end."""
        self.last = time.monotonic() + extra_ms / 1000

    def stop(self) -> None:
        self.timer.stop()
