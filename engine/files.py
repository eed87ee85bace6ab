"""Write a file whole or not at all: a temporary file beside it, then an atomic rename.

A failed write (an unwritable folder, a full disk) raises OSError and leaves any earlier file with
that name untouched, never a partial or empty one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(tmp, mode)  # mkstemp makes it private; give it the mode a plain write would
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def describe_os_error(path: str | os.PathLike, exc: OSError) -> str:
    """One sentence a user understands: ``cannot write out/graph.svg: No space left on device``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot write {os.fspath(path)}: {reason}"
