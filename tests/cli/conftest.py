"""Fixtures that run the ``autodiff`` command from a scratch folder, so nothing depends on the
working directory: ``cli`` calls it in this process (fast), ``any_cli`` also as the installed
``autodiff`` script in a subprocess, and ``process_cli`` as ``python -m autodiff_gui.cli``."""

from __future__ import annotations

import pytest
from cli_helpers import Result, run


@pytest.fixture
def cli(tmp_path):
    """``cli("grad", "three-step")`` runs ``autodiff_gui.cli.main`` in this process."""
    def call(*args: str, stdin: str | None = None) -> Result:
        return run([str(a) for a in args], stdin=stdin, cwd=tmp_path)
    return call


@pytest.fixture
def process_cli(tmp_path):
    """``python -m autodiff_gui.cli ARGS`` in a child process: for exit codes as a shell sees them."""
    def call(*args: str, stdin: str | None = None) -> Result:
        return run([str(a) for a in args], stdin=stdin, cwd=tmp_path, subprocess_=True)
    return call


@pytest.fixture(params=["in-process", "script"])
def any_cli(request, tmp_path):
    """The same command run both ways: ``main(argv)`` in this process and the installed
    ``autodiff`` script in a subprocess."""
    script = request.param == "script"

    def call(*args: str, stdin: str | None = None) -> Result:
        return run([str(a) for a in args], script=script, stdin=stdin, cwd=tmp_path)
    return call
