"""``atomic_write``: a file is written whole or not at all."""

import os
import stat

import pytest

from engine.files import (MAX_PROGRAM_BYTES, ProgramFileError, atomic_write, describe_os_error,
                          read_program_file)


def test_writes_text_and_bytes(tmp_path):
    atomic_write(tmp_path / "a.txt", "héllo\n")
    atomic_write(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_replaces_a_file_and_keeps_its_mode(tmp_path):
    target = tmp_path / "out.dot"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_new_file_gets_a_plain_files_mode_not_the_temporary_files_private_one(tmp_path):
    target = tmp_path / "new.svg"
    atomic_write(target, "<svg/>")
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as info:
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert describe_os_error(target, info.value) == f"cannot write {target}: No space left on device"


def test_a_path_under_a_regular_file_cannot_be_written(tmp_path):
    blocker = tmp_path / "some_file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        atomic_write(blocker / "out.dot", "digraph {}")
    assert [p.name for p in tmp_path.iterdir()] == ["some_file"]


def _open_descriptors() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count descriptors")
def test_a_failed_chmod_leaks_no_descriptor_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.dot"
    target.write_text("old")

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "fchmod", refuse)
    monkeypatch.setattr(os, "chmod", refuse)
    before = _open_descriptors()
    with pytest.raises(PermissionError):
        atomic_write(target, "new")
    assert _open_descriptors() == before
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.dot"]


# --- read_program_file ----------------------------------------------------------------------------

def test_reads_a_program_dropping_a_bom_and_normalising_line_ends(tmp_path):
    path = tmp_path / "p.py"
    path.write_bytes(b"\xef\xbb\xbfw = Value(1.0)\r\n\tL = w*w\rM = L\n")
    assert read_program_file(path) == "w = Value(1.0)\n\tL = w*w\nM = L\n"


def test_invalid_utf8_is_one_sentence_with_the_line(tmp_path):
    path = tmp_path / "latin1.py"
    path.write_bytes(b"w = Value(1.0)\n# caf\xe9\nL = w*w\n")
    with pytest.raises(ProgramFileError) as info:
        read_program_file(path)
    assert str(info.value) == f"cannot read {path}: it is not UTF-8 text (byte 0xe9 on line 2)"


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ProgramFileError, match="it is a folder"):
        read_program_file(tmp_path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ProgramFileError, match="there is no such file"):
        read_program_file(tmp_path / "nope.py")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_with_no_writer_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    with pytest.raises(ProgramFileError, match=r"it is a pipe \(FIFO\), not a program file"):
        read_program_file(fifo)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_at_once():
    with pytest.raises(ProgramFileError, match="it is a device, not a program file"):
        read_program_file("/dev/zero")


def test_a_file_larger_than_any_program_is_refused_unread(tmp_path):
    path = tmp_path / "big.py"
    with open(path, "wb") as fh:  # sparse: the size without the bytes
        fh.truncate(MAX_PROGRAM_BYTES + 1)
    with pytest.raises(ProgramFileError, match=f"{MAX_PROGRAM_BYTES + 1:,} bytes"):
        read_program_file(path)
    just = tmp_path / "just.py"
    just.write_bytes(b"#" * MAX_PROGRAM_BYTES)
    assert len(read_program_file(just)) == MAX_PROGRAM_BYTES


def test_the_byte_limit_is_four_bytes_for_each_character_the_parser_allows(tmp_path):
    from engine.language.parser import MAX_SOURCE_CHARS

    longest = tmp_path / "longest.py"  # the parser's limit in characters, each of UTF-8's longest
    longest.write_bytes("\U0001F600".encode("utf-8") * MAX_SOURCE_CHARS)
    assert len(read_program_file(longest)) == MAX_SOURCE_CHARS
    over = tmp_path / "over.py"
    with open(over, "wb") as fh:
        fh.truncate(4 * MAX_SOURCE_CHARS + 1)
    with pytest.raises(ProgramFileError, match="bytes; a program may be at most 400,000 bytes"):
        read_program_file(over)


def test_a_file_that_grows_after_its_size_was_checked_is_still_refused(tmp_path, monkeypatch):
    path = tmp_path / "growing.py"
    real_fstat = os.fstat

    def fstat_from_before_it_grew(fd):
        fields = list(real_fstat(fd))
        fields[6] = 10  # st_size: what the file held when it was checked
        return os.stat_result(fields)

    read_sizes = []
    real_read = os.read

    def counted_read(fd, n):
        chunk = real_read(fd, n)
        read_sizes.append(len(chunk))
        return chunk

    path.write_bytes(b"#" * (3 * MAX_PROGRAM_BYTES))
    monkeypatch.setattr(os, "fstat", fstat_from_before_it_grew)
    monkeypatch.setattr(os, "read", counted_read)
    with pytest.raises(ProgramFileError, match=f"it is more than {MAX_PROGRAM_BYTES:,} bytes"):
        read_program_file(path)
    # one byte past the limit is enough to know, and nothing more is read
    assert sum(read_sizes) == MAX_PROGRAM_BYTES + 1


def test_a_socket_and_an_unknown_kind_of_file_are_named():
    from engine.files import _kind

    assert _kind(stat.S_IFSOCK) == "a socket"
    assert _kind(stat.S_IFBLK) == "a device"
    assert _kind(0) == "not a regular file"
