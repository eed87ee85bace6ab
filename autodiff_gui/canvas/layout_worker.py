"""Lay graphs out in a background thread, so the window keeps answering while a big one is placed.

:class:`LayoutWorker` lives in the GUI thread and owns one ``QThread``; :meth:`LayoutWorker.request`
hands a :class:`~engine.graph.GraphSnapshot` to that thread and returns a token at once. When the
layout is done, :attr:`LayoutWorker.laidOut` is emitted in the GUI thread with the token and the
:class:`~autodiff_gui.canvas.layout.Layout` (plain data, no Qt items: the scene builds its items
from it in the GUI thread).

A newer request supersedes every older one: the older layout is told to stop (its
``should_stop`` answers True, so it ends within one column's work) and, if it finished anyway,
its result is dropped; only the newest request's result is ever emitted. A request waiting in
the queue behind a running one is skipped without being started.

Sharing the interpreter: layout is pure Python, so its thread holds the GIL while it works, and
the GUI thread needs the GIL for every call into Python. As the learning-rate sweep does, the
layout rests :data:`REST_SECONDS` after each :data:`~engine.timeslice.FRAME_SECONDS` of work,
so the window gets the GIL at once and stays fluid; the layout takes a little longer.

The window calls :meth:`LayoutWorker.shutdown` on close, which stops the layout in progress and
waits for the thread to end (no "QThread: Destroyed while thread is still running").
"""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine.graph import GraphSnapshot
from engine.timeslice import FRAME_SECONDS

from .layout import Layout, LayoutCancelled, layered_layout

__all__ = ["REST_SECONDS", "LayoutWorker"]

REST_SECONDS = 0.002  # after FRAME_SECONDS of work, so the GUI thread takes the GIL at once
SHUTDOWN_WAIT_MS = 10000


class _Job(QObject):
    """Runs in the layout thread: one layout at a time, in the order they were asked for."""

    done = Signal(int, object)  # token, Layout
    failed = Signal(int, str)  # token, one sentence
    cancelled = Signal(int)  # token: superseded before or while it ran

    @Slot(int, object, object, object)
    def run(self, token: int, graph: GraphSnapshot, options: dict[str, Any],
            stop: threading.Event) -> None:
        if stop.is_set():
            self.cancelled.emit(token)
            return
        slice_started = time.perf_counter()

        def should_stop() -> bool:
            nonlocal slice_started
            if stop.is_set():
                return True
            if time.perf_counter() - slice_started >= FRAME_SECONDS:
                time.sleep(REST_SECONDS)
                slice_started = time.perf_counter()
            return stop.is_set()

        try:
            layout = layered_layout(graph, should_stop=should_stop, **options)
        except LayoutCancelled:
            self.cancelled.emit(token)
        except (ValueError, KeyError, IndexError, TypeError) as exc:  # a malformed snapshot
            self.failed.emit(token, f"The graph could not be laid out: {exc}.")
        else:
            self.done.emit(token, layout)


class LayoutWorker(QObject):
    """Background layout with the newest request winning; see the module docstring.

    ``options`` given here (``box_size``, ``op_size``, ``h_gap``, ``v_gap``: those of
    :func:`~autodiff_gui.canvas.layout.layered_layout`) apply to every request; a request's own
    options win over them.
    """

    laidOut = Signal(int, object)  # token, Layout: the newest request's layout
    failed = Signal(int, str)  # token, message: the newest request could not be laid out
    busyChanged = Signal(bool)  # True while a layout is wanted and not yet delivered

    _runRequested = Signal(int, object, object, object)

    def __init__(self, parent: QObject | None = None, **options: Any) -> None:
        super().__init__(parent)
        self._options = dict(options)
        self._next_token = 1
        self._latest = 0  # the token whose result is wanted; 0: none
        self._stops: dict[int, threading.Event] = {}  # requests not yet finished in the thread
        self.thread = QThread()
        self.thread.setObjectName("layout")
        self._job = _Job()
        self._job.moveToThread(self.thread)
        self._runRequested.connect(self._job.run, Qt.ConnectionType.QueuedConnection)
        self._job.done.connect(self._on_done)
        self._job.failed.connect(self._on_failed)
        self._job.cancelled.connect(self._on_cancelled)
        self.thread.finished.connect(self._job.deleteLater)
        self.thread.start()

    @property
    def busy(self) -> bool:
        """Whether a layout has been asked for and its result not yet delivered."""
        return self._latest != 0

    @property
    def pending(self) -> int:
        """Requests the thread has not finished with (the newest and any being wound down)."""
        return len(self._stops)

    def request(self, graph: GraphSnapshot, **options: Any) -> int:
        """Lay ``graph`` out in the background; returns the token :attr:`laidOut` will carry.

        Every older request is superseded: it stops as soon as it next looks, and its result,
        if it had one, is never emitted.
        """
        if not self.thread.isRunning():
            raise RuntimeError("the layout worker has been shut down")
        for stop in self._stops.values():
            stop.set()
        token = self._next_token
        self._next_token += 1
        stop = threading.Event()
        self._stops[token] = stop
        was_busy = self.busy
        self._latest = token
        self._runRequested.emit(token, graph, {**self._options, **options}, stop)
        if not was_busy:
            self.busyChanged.emit(True)
        return token

    def cancel(self) -> None:
        """Drop every request: nothing more is emitted until the next :meth:`request`."""
        for stop in self._stops.values():
            stop.set()
        if self.busy:
            self._latest = 0
            self.busyChanged.emit(False)

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Stop the layout in progress and wait for the thread to end; for the window's close."""
        self.cancel()
        if not self.thread.isRunning():
            return True
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    # --- results, in the GUI thread ---------------------------------------------------------------
    @Slot(int, object)
    def _on_done(self, token: int, layout: Layout) -> None:
        self._stops.pop(token, None)
        if token == self._latest:
            self._latest = 0
            self.laidOut.emit(token, layout)
            self.busyChanged.emit(False)

    @Slot(int, str)
    def _on_failed(self, token: int, message: str) -> None:
        self._stops.pop(token, None)
        if token == self._latest:
            self._latest = 0
            self.failed.emit(token, message)
            self.busyChanged.emit(False)

    @Slot(int)
    def _on_cancelled(self, token: int) -> None:
        self._stops.pop(token, None)
