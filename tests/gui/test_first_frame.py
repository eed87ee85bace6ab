"""The window's first frame needs only the editor and the canvas (start-up, issue 13): the plots,
the landscape and the sweep (pyqtgraph and numpy's panels) are built in the event-loop turn after
the canvas first paints, and then show what the other views show; anything that asks for them
earlier gets them at once."""

import json
import subprocess
import sys
import textwrap

from autodiff_gui.session import TRAVEL
from autodiff_gui.window import MainWindow
from engine.train import Trainer


def test_importing_the_window_imports_no_plotting_library(tmp_path):
    script = textwrap.dedent("""
        import json, sys
        import autodiff_gui.window
        print(json.dumps(sorted(m for m in sys.modules
                                if m.split(".")[0] == "pyqtgraph"
                                or m.startswith("autodiff_gui.plots")
                                or m in ("autodiff_gui.panels.landscape",
                                         "autodiff_gui.panels.sweep"))))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_the_window_names_the_recording_mode_the_recorder_uses():
    from autodiff_gui import commands, recording
    assert commands.ITERATIONS == recording.ITERATIONS


def test_the_plots_come_just_after_the_first_frame_and_catch_up(qtbot, settings):
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.load_default()
    w.show()
    assert not w.plots_built  # the first frame: the editor and the canvas
    qtbot.waitUntil(lambda: w.plots_built, timeout=10000)
    qtbot.waitUntil(lambda: w.moment is not None and len(w.scene.boxes) == 8, timeout=10000)
    assert w.curves.targets() == {"w": 2.0}  # drawn from the program loaded before they existed
    assert w.curves.history is w.session.history
    assert w.sweep._program is w.session.program
    assert w.curves.isVisible() and w.landscape.isVisible()
    assert w.landscape.parameter() == "w"
    w.close()


def test_plots_asked_for_early_are_built_at_once_and_keep_the_run(qtbot, settings):
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.load_default()
    with qtbot.waitSignal(w.graphShown, timeout=10000):
        pass  # the program is on the canvas; the window was never shown, so no plots yet
    assert not w.plots_built
    records = [r for r, _ in zip(_steps(w), range(5))]
    w.session.engine.worker.iterationsDone.emit(records, None)
    with qtbot.waitSignal(w.session.momentChanged, timeout=10000,
                          check_params_cb=lambda shown: shown.kind == TRAVEL):
        w.travel_to_iteration(2)
    assert not w.plots_built
    assert w.curves.marker() == records[2].iteration  # built on demand, at the moment shown
    assert len(w.curves.loss_data()[0]) == 5  # the shared history was kept, not reset
    assert w.curves.targets() == {"w": 2.0}
    assert w.landscape.parameter() == "w"
    w.close()


def _steps(w):
    trainer = Trainer(w.session.program, lr=0.1, tol=0.0)
    while True:
        yield trainer.step()
