"""What was worked out for the last few programs, shared by every thread (see :class:`ProgramMemo`)."""

from __future__ import annotations

import threading
from typing import Any


class ProgramMemo(list):
    """The last ``kept`` (program, value) pairs, the most recently used last. A program is a pure
    function of its text, so an equal program (not only the same object) finds its value. A list,
    so a test may ``clear()`` it or count it; reads and writes take its lock."""

    def __init__(self, kept: int) -> None:
        super().__init__()
        self.kept = kept
        self._lock = threading.Lock()

    def get(self, program) -> Any | None:
        with self._lock:
            for i, (p, value) in enumerate(self):
                if p is program or p == program:
                    self.append(self.pop(i))
                    return value
        return None

    def put(self, program, value) -> None:
        with self._lock:
            self[:] = [(p, v) for p, v in self if not (p is program or p == program)]
            self.append((program, value))
            del self[:-self.kept]
