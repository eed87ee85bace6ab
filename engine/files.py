"""Files in and out: a program read safely, a file written whole or not at all.

A failed write (an unwritable folder, a full disk) raises OSError and leaves any earlier file with
that name untouched, never a partial or empty one. A program is read only from a regular file of
bounded size, so a folder, a FIFO or ``/dev/zero`` given by mistake is refused at once instead of
being read forever.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .language.parser import MAX_SOURCE_CHARS

#: A program file may hold at most this many bytes: the parser's character limit at four bytes a
#: character (UTF-8's longest). Larger files are refused before they are read.
MAX_PROGRAM_BYTES = 4 * MAX_SOURCE_CHARS


class ProgramFileError(ValueError):
    """A program file that cannot be used, as one sentence naming the file."""


def read_program_file(path: str | os.PathLike) -> str:
    """The text of the program file ``path``, or :class:`ProgramFileError` with a sentence.

    Only a regular file is read (opened without blocking, so a FIFO with no writer cannot hang
    the caller), at most :data:`MAX_PROGRAM_BYTES` of it. The text is UTF-8; a BOM some editors
    write is dropped, and CRLF or CR line ends become LF as a text-mode read would make them.
    """
    shown = os.fspath(path)
    try:
        fd = os.open(shown, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except IsADirectoryError:
        raise ProgramFileError(f"cannot read {shown}: it is a folder; give a program file") from None
    except FileNotFoundError:
        raise ProgramFileError(f"cannot read {shown}: there is no such file") from None
    except OSError as exc:
        raise ProgramFileError(f"cannot read {shown}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ProgramFileError(f"cannot read {shown}: it is a folder; give a program file")
        if not stat.S_ISREG(info.st_mode):
            raise ProgramFileError(f"cannot read {shown}: it is {_kind(info.st_mode)}, not a "
                                   f"program file")
        if info.st_size > MAX_PROGRAM_BYTES:
            raise ProgramFileError(f"cannot read {shown}: it is {info.st_size:,} bytes; a program "
                                   f"may be at most {MAX_PROGRAM_BYTES:,} bytes")
        data = _read_at_most(fd, MAX_PROGRAM_BYTES + 1)  # it may grow between fstat and read
    except OSError as exc:
        raise ProgramFileError(f"cannot read {shown}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_PROGRAM_BYTES:
        raise ProgramFileError(f"cannot read {shown}: it is more than {MAX_PROGRAM_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ProgramFileError(f"cannot read {shown}: it is not UTF-8 text (byte "
                               f"0x{data[exc.start]:02x} on line {line})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and an atomic rename."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        # own the descriptor first, so nothing below can leak it
        with os.fdopen(fd, "wb") as fh:
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
            os.fchmod(fh.fileno(), mode)  # mkstemp makes it private; give it a plain write's mode
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
