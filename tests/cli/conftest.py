"""Fixtures that run the ``autodiff`` command in a subprocess, both as ``python -m autodiff_gui.cli``
and as the installed ``autodiff`` script, from a scratch folder so nothing depends on the working
directory."""

from __future__ import annotations

import pytest
from cli_helpers import Result, run


@pytest.fixture
def cli(tmp_path):
    """``cli("grad", "three-step")`` runs ``python -m autodiff_gui.cli`` in a scratch folder."""
    def call(*args: str, stdin: str | None = None, script: bool = False) -> Result:
        return run([str(a) for a in args], script=script, stdin=stdin, cwd=tmp_path)
    return call


@pytest.fixture(params=["module", "script"])
def any_cli(request, tmp_path):
    """The same command run both ways: ``python -m autodiff_gui.cli`` and the ``autodiff`` script."""
    script = request.param == "script"

    def call(*args: str, stdin: str | None = None) -> Result:
        return run([str(a) for a in args], script=script, stdin=stdin, cwd=tmp_path)
    return call

