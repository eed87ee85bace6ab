"""Opening a network in the window (issue: micrograd's demo network took 8 s to its graph):
the program is evaluated once in the GUI thread (the editor's check) and once in the engine's
(the replay that names the graph); the graph is shown before the plots are built (they come
after the engine has made the moment's backward records) and before the Learn panels are
written; and what the plots and the sweep read of the program's start comes from the one
remembered evaluation. Counted by patching the interpreter's entry point."""

from __future__ import annotations

import threading

import pytest

from autodiff_gui.window import MainWindow
from engine.language import interpreter
from tests.mlp_program import mlp_program


@pytest.fixture
def runs(monkeypatch):
    interpreter._STARTS.clear()
    seen: list[tuple[str, bool]] = []
    original = interpreter._Interpreter.run

    def run(self):
        seen.append((type(self).__name__, threading.current_thread() is threading.main_thread()))
        return original(self)

    monkeypatch.setattr(interpreter._Interpreter, "run", run)
    yield seen
    interpreter._STARTS.clear()


def test_opening_a_network_evaluates_it_once_per_thread_and_shows_the_graph_first(
        qtbot, settings, tmp_path, runs):
    path = tmp_path / "net.ad"
    path.write_text(mlp_program((4, 4), points=6))
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    at_shown = {}

    def shown(graph):
        if graph is not None and len(graph.nodes) > 100 and not at_shown:
            at_shown.update(plots=w.plots_built, runs=list(runs),
                            tour=w.tour._identity is not None)

    w.graphShown.connect(shown)
    built = w.presenter.plots_built
    at_plots = {}

    def plots_built():
        at_plots.setdefault("ready", w.moment is not None and w.moment.ready)
        built()

    w.presenter.plots_built = plots_built
    with qtbot.waitSignal(w.graphShown, timeout=20000,
                          check_params_cb=lambda g: g is not None and len(g.nodes) > 100):
        assert w.load_file(path)
        w.show()
    assert not at_shown["plots"]  # the graph first: the plots come in a later turn
    assert not at_shown["tour"]  # and so do the Learn panels
    gui = [kind for kind, main in at_shown["runs"] if main]
    engine = [kind for kind, main in at_shown["runs"] if not main]
    assert gui == ["_Interpreter"]  # the editor's check
    assert engine == ["_Recorder"]  # the engine's replay, naming the graph as it goes
    qtbot.waitUntil(lambda: w.plots_built and w.tour._identity is not None, timeout=20000)
    assert at_plots["ready"]  # the plots came after the engine made the backward records
    assert w.sweep._program is w.session.program
    runs.clear()
    # what the plots, the sweep and the History read of the start evaluates nothing again
    assert w.session.targets() == {}  # a network: no quadratic minimum
    assert len(w.session.param_names()) == len(w.moment.param_names)
    w.sweep.set_program(w.session.program)
    assert runs == []
    w.close()
