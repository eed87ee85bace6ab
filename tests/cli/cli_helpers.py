"""Helpers for the CLI tests: run ``autodiff`` in a subprocess, parse strict JSON, check errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


def _installed_script() -> str | None:
    """The ``autodiff`` script installed beside this interpreter (pip install -e .), else on PATH."""
    return shutil.which("autodiff", path=str(Path(sys.executable).parent)) or shutil.which("autodiff")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        return strict_json(self.stdout)


def strict_json(text: str):
    """``json.loads`` that refuses the NaN / Infinity / -Infinity tokens Python would accept."""
    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token!r}")
    return json.loads(text, parse_constant=refuse)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AUTODIFF_DEBUG", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(args: list[str], *, script: bool = False, stdin: str | None = None, cwd: Path | None = None,
        timeout: float = 60, stdin_bytes: bytes | None = None) -> Result:
    """Run ``autodiff ARGS``; ``stdin`` is text, or ``stdin_bytes`` exact bytes."""
    if script:
        exe = _installed_script()
        if exe is None:
            pytest.fail("the `autodiff` script is not installed; run pip install -e '.[test]'")
        cmd = [exe, *args]
    else:
        cmd = [sys.executable, "-m", "autodiff_gui.cli", *args]
    if stdin_bytes is None:
        stdin_bytes = (stdin or "").encode("utf-8")
    proc = subprocess.run(cmd, input=stdin_bytes, capture_output=True, cwd=cwd, env=_env(),
                          timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def assert_one_sentence_error(result: Result, code: int = 2, quiet: bool = True) -> str:
    """Exit ``code``, one line on stderr, no traceback anywhere and, if ``quiet``, nothing on
    stdout. Returns the line."""
    assert result.returncode == code, result
    assert "Traceback" not in result.output, result.output
    if quiet:
        assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
