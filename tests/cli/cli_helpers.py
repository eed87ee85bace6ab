"""Helpers for the CLI tests: run ``autodiff`` (in-process, or in a subprocess where the process
itself is what is tested), parse strict JSON, check errors.

Most tests call :func:`autodiff_gui.cli.main` in this process with its output captured: it is the
same code a subprocess would run, without paying an interpreter start per test. A few tests keep a
real subprocess for what only a process shows: exit codes, the installed script, no-Qt imports.
"""

from __future__ import annotations

import contextlib
import io
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
        timeout: float = 60, stdin_bytes: bytes | None = None, subprocess_: bool = False) -> Result:
    """Run ``autodiff ARGS``; ``stdin`` is text, or ``stdin_bytes`` exact bytes.

    In this process by default; ``script=True`` runs the installed ``autodiff`` script and
    ``subprocess_=True`` runs ``python -m autodiff_gui.cli``, each in a child process."""
    if stdin_bytes is None:
        stdin_bytes = (stdin or "").encode("utf-8")
    if not (script or subprocess_):
        return run_in_process(args, stdin_bytes, cwd)
    if script:
        exe = _installed_script()
        if exe is None:
            pytest.fail("the `autodiff` script is not installed; run pip install -e '.[test]'")
        cmd = [exe, *args]
    else:
        cmd = [sys.executable, "-m", "autodiff_gui.cli", *args]
    proc = subprocess.run(cmd, input=stdin_bytes, capture_output=True, cwd=cwd, env=_env(),
                          timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def run_in_process(args: list[str], stdin_bytes: bytes = b"", cwd: Path | None = None) -> Result:
    """``autodiff_gui.cli.main(args)`` with stdin, stdout, stderr, the working folder and
    ``AUTODIFF_DEBUG`` as a fresh process would have them, all restored afterwards."""
    from autodiff_gui.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_stdin, saved_cwd = sys.stdin, os.getcwd()
    saved_debug = os.environ.pop("AUTODIFF_DEBUG", None)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin_bytes), encoding="utf-8")
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help, --version and usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        if saved_debug is not None:
            os.environ["AUTODIFF_DEBUG"] = saved_debug
    return Result(code, out.getvalue(), err.getvalue())


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
