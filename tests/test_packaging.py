"""The wheel: what it holds, and that it runs when installed away from the checkout.

The wheel is built from a clean copy of the project (a stale ``build/`` folder in a checkout can
smuggle deleted modules into a wheel), installed with ``--no-deps`` into a venv that sees the
system's packages (so Qt is not downloaded again), and run from another folder with PYTHONPATH
unset. The editable install of this same checkout is visible from that venv too, so the test
checks that the venv's own copy is the one imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "autodiff_gui")
IGNORED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                 ".pytest_cache", ".hypothesis", ".benchmarks", ".venv", "venv")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, encoding="utf-8",
                          cwd=cwd, env=_env(), timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _checkout_packages() -> set[str]:
    """Every folder of Python code under engine/ and autodiff_gui/ in the checkout."""
    found = set()
    for top in PACKAGES:
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]:
            if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py")):
                found.add(folder.relative_to(ROOT).as_posix())
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", src],
         cwd=tmp, timeout=240)
    wheels = list((tmp / "dist").glob("autodiff_gui-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == set(PACKAGES), f"unexpected top-level entries: {tops}"
    assert "resources" not in tops  # installed inside engine/, never as a package of its own

    for required in ("engine/__init__.py", "engine/language/__init__.py", "engine/presets.py",
                     "autodiff_gui/__init__.py", "autodiff_gui/cli.py", "autodiff_gui/app.py"):
        assert required in names
    # every preset, as engine/resources/presets/NAME.py
    presets = sorted(p.name for p in (ROOT / "resources" / "presets").glob("*.py"))
    assert presets and all(f"engine/resources/presets/{p}" in names for p in presets)
    # and every other shipped resource (icons, styles …), wherever it sits under resources/
    for f in (ROOT / "resources").rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
            assert f"engine/{f.relative_to(ROOT).as_posix()}" in names, f
    # every package of the checkout, including ones added after this test was written
    folders = {n.rsplit("/", 1)[0] for n in names if n.endswith(".py") and "/" in n}
    missing = _checkout_packages() - folders
    assert not missing, f"packages missing from the wheel: {sorted(missing)}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "autodiff = autodiff_gui.cli:main" in text
    assert "autodiff-gui = autodiff_gui.app:main" in text


@pytest.mark.slow
def test_wheel_installs_and_runs_away_from_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], cwd=tmp_path)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # the system's pip, running in the venv, installs into the venv; --ignore-installed because
    # the editable install of this checkout is already visible through the system's packages
    _run([python, "-m", "pip", "install", "--no-deps", "--ignore-installed", "--quiet", wheel],
         cwd=tmp_path, timeout=240)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()

    # which copy is imported: the wheel's, inside the venv, not the checkout's
    probe = ("import json, engine, autodiff_gui, autodiff_gui.cli, engine.presets as p; "
             "print(json.dumps({'engine': engine.__file__, 'gui': autodiff_gui.__file__, "
             "'cli': autodiff_gui.cli.__file__, 'resources': str(p.resources_dir())}))")
    for flags in (["-I"], []):  # isolated, and as the installed script's interpreter starts
        where = json.loads(_run([python, *flags, "-c", probe], cwd=workdir).stdout)
        for key, path in where.items():
            resolved = Path(path).resolve()
            assert resolved.is_relative_to(venv.resolve()), f"{key} imported from {path}, not the wheel"
            assert not resolved.is_relative_to(ROOT), f"{key} imported from the checkout: {path}"
        assert Path(where["resources"]).resolve() == Path(where["engine"]).resolve().parent / "resources"

    script = bindir / ("autodiff.exe" if os.name == "nt" else "autodiff")
    assert script.exists(), "the wheel did not install the `autodiff` command"
    shebang = script.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    assert str(venv) in shebang, shebang

    listing = _run([script, "presets"], cwd=workdir).stdout
    names = [line.split()[0] for line in listing.splitlines()]
    assert names[:5] == ["three-step", "multi-path", "regression", "neuron", "network"]

    data = json.loads(_run([script, "grad", "three-step", "--json"], cwd=workdir).stdout)
    assert data["loss"] == 4
    assert data["params"] == {"w": {"data": 0, "grad": -4}}

    trace = _run([script, "grad", "three-step", "--trace"], cwd=workdir).stdout
    assert "dL/dz = dL/de · de/dz = (-4) · (1) = -4" in trace
    assert os.listdir(workdir) == []  # it ran there and left nothing behind
