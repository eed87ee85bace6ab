"""``atomic_write``: a file is written whole or not at all."""

import os

import pytest

from engine.files import atomic_write, describe_os_error


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
