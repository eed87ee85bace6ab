"""Regression test for a PySide6 bug that kills the interpreter.

PySide6 6.12.0 on Python 3.11 drops a reference to ``True`` on every ``Signal.emit()``: after a
few thousand emits the count reaches zero and the interpreter aborts with ``Fatal Python error:
bool_dealloc``. pyproject.toml pins ``PySide6-Essentials<6.12`` on Python < 3.12 (3.12 made
``True`` immortal, so there the bug is harmless). These tests emit 10,000 signals of each kind
in a subprocess, so a release that brings the bug back fails here instead of aborting the whole
suite, and check that the installed binding satisfies the pin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtCore")

EMITS = 10_000

PROBE = textwrap.dedent("""
    import gc, json, sys, threading
    from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

    N = int(sys.argv[1])
    MODE = sys.argv[2]

    class Emitter(QObject):
        no_args = Signal()
        flag = Signal(bool)
        obj = Signal(object)
        integer = Signal(int)
        real = Signal(float)
        mixed = Signal(bool, object, int, float)
        done = Signal()

        @Slot()
        def emit_all(self):
            for i in range(N):
                self.no_args.emit()
                self.flag.emit(i % 2 == 0)
                self.obj.emit({"i": i, "ok": True})
                self.integer.emit(i)
                self.real.emit(i / 2)
                self.mixed.emit(True, None, i, 0.5)
            self.done.emit()

    class Receiver(QObject):
        def __init__(self):
            super().__init__()
            self.calls = 0
            self.trues = 0
            self.finished = threading.Event()

        @Slot()
        def on_no_args(self):
            self.calls += 1

        @Slot(bool)
        def on_flag(self, value):
            self.calls += 1
            self.trues += value is True

        @Slot(object)
        def on_obj(self, value):
            self.calls += 1

        @Slot(int)
        def on_int(self, value):
            self.calls += 1

        @Slot(float)
        def on_real(self, value):
            self.calls += 1

        @Slot(bool, object, int, float)
        def on_mixed(self, a, b, c, d):
            self.calls += 1

        @Slot()
        def on_done(self):
            self.finished.set()
            app = QCoreApplication.instance()
            if QThread.currentThread() is app.thread():
                app.quit()

    app = QCoreApplication(sys.argv[:1])
    emitter, receiver = Emitter(), Receiver()
    lambda_calls = [0]  # a count, not the values: a list of Trues would hide a fall in the count
    for signal, slot in [(emitter.no_args, receiver.on_no_args), (emitter.flag, receiver.on_flag),
                         (emitter.obj, receiver.on_obj), (emitter.integer, receiver.on_int),
                         (emitter.real, receiver.on_real), (emitter.mixed, receiver.on_mixed),
                         (emitter.done, receiver.on_done)]:
        signal.connect(slot)
    if MODE == "direct":  # a plain Python callable too, not only decorated slots
        emitter.flag.connect(lambda value: lambda_calls.__setitem__(0, lambda_calls[0] + 1))

    thread = None
    if MODE == "queued-to-thread":
        # the receiver lives in a QThread: every emit from here is queued to it
        thread = QThread()
        receiver.moveToThread(thread)
        thread.start()
    elif MODE == "queued-from-thread":
        # the emitter lives in a QThread and emits to a receiver here, in the main event loop
        thread = QThread()
        emitter.moveToThread(thread)
        thread.start()

    gc.collect()
    before = sys.getrefcount(True)

    if MODE == "direct":
        emitter.emit_all()
    elif MODE == "queued-to-thread":
        emitter.emit_all()
        if not receiver.finished.wait(120):
            sys.exit("the worker thread did not receive every signal")
    else:
        QTimer.singleShot(0, emitter.emit_all)  # runs in the emitter's thread
        QTimer.singleShot(120_000, lambda: app.exit(4))
        if app.exec() != 0:
            sys.exit("the main thread did not receive every signal")
    if thread is not None:
        thread.quit()
        thread.wait()
    QCoreApplication.processEvents()

    gc.collect()
    after = sys.getrefcount(True)
    print(json.dumps({"before": before, "after": after, "calls": receiver.calls,
                      "trues": receiver.trues, "lambda_calls": lambda_calls[0],
                      "python": sys.version.split()[0]}))
""")


@pytest.mark.parametrize("mode", ["direct", "queued-to-thread", "queued-from-thread"])
def test_emitting_signals_keeps_the_refcount_of_true(tmp_path, mode):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(EMITS), mode], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=240)
    assert "bool_dealloc" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, (
        f"the subprocess died (exit {proc.returncode}); a PySide6 that corrupts True's refcount "
        f"on emit aborts like this:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["calls"] == 6 * EMITS
    assert result["trues"] == EMITS // 2
    if mode == "direct":
        assert result["lambda_calls"] == EMITS
    assert result["after"] >= result["before"], (
        f"sys.getrefcount(True) fell from {result['before']} to {result['after']} over "
        f"{6 * EMITS} emits: this PySide6 leaks away references to True (see pyproject.toml)")


def _installed_pyside_version() -> str:
    for dist in ("PySide6-Essentials", "PySide6"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    import PySide6
    return PySide6.__version__


def test_installed_pyside6_is_not_the_broken_release():
    version = _installed_pyside_version()
    major_minor = tuple(int(p) for p in version.split(".")[:2])
    if sys.version_info < (3, 12):
        assert major_minor != (6, 12), (
            f"PySide6 {version} on Python {sys.version.split()[0]} corrupts the refcount of True "
            f"on every Signal.emit(); install PySide6-Essentials<6.12 (pyproject.toml pins it)")


def test_pyproject_pins_pyside6_below_6_12_on_python_before_3_12():
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    deps = [Requirement(d) for d in tomllib.loads(pyproject.read_text("utf-8"))["project"]["dependencies"]]
    pyside = [r for r in deps if r.name.lower() == "pyside6-essentials"]
    assert pyside, "pyproject.toml no longer depends on PySide6-Essentials"

    def allowed(python: str, version: str) -> bool:
        env = {"python_version": python, "python_full_version": python + ".0"}
        applicable = [r for r in pyside if r.marker is None or r.marker.evaluate(env)]
        assert applicable, f"no PySide6-Essentials requirement applies on Python {python}"
        return all(r.specifier.contains(version, prereleases=True) for r in applicable)

    for python in ("3.10", "3.11"):
        assert not allowed(python, "6.12.0"), f"pyproject.toml allows PySide6 6.12.0 on Python {python}"
        assert allowed(python, "6.11.3")
    assert allowed("3.12", "6.12.0")  # harmless where True is immortal


def test_installed_pyside6_satisfies_the_projects_pin():
    """The installed binding is one the project's own metadata (pip install -e .) accepts."""
    from packaging.requirements import Requirement

    try:
        requires = metadata.requires("autodiff-gui") or []
    except metadata.PackageNotFoundError:
        pytest.skip("the project is not installed")
    version = _installed_pyside_version()
    for req in map(Requirement, requires):
        if req.name.lower() == "pyside6-essentials" and (req.marker is None or req.marker.evaluate()):
            assert req.specifier.contains(version, prereleases=True), (
                f"PySide6 {version} does not satisfy the project's pin {req}")
