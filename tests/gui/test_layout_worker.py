"""The background layout: results arrive by signal, the newest request wins, no thread outlives it."""

from __future__ import annotations

from functools import cache

import pytest
from PySide6.QtCore import QCoreApplication

from autodiff_gui.canvas.layout import layered_layout
from autodiff_gui.canvas.layout_worker import LayoutWorker
from engine.graph import GraphSnapshot, NodeInfo
from engine.language import evaluate, parse
from engine.presets import preset

OPTIONS = {"box_size": (156.0, 58.0), "op_size": 36.0, "h_gap": 64.0}


@cache
def graph_of(name: str) -> GraphSnapshot:
    ev = evaluate(preset(name).program())
    ev.loss.backward()
    return ev.snapshot()


@cache
def big_graph() -> GraphSnapshot:
    """The network preset's program on 24 points: about 1,500 nodes, a layout that takes a while."""
    source = preset("network").source()
    points = ", ".join(f"[{i % 5 / 4}, {i % 3 / 2}]" for i in range(24))
    labels = ", ".join("1" if i % 2 else "-1" for i in range(24))
    source = (source.replace("xs = [[0, 0], [0, 1], [1, 0], [1, 1]]", f"xs = [{points}]")
              .replace("ys = [-1, 1, 1, -1]", f"ys = [{labels}]"))
    ev = evaluate(parse(source))
    ev.loss.backward()
    return ev.snapshot()


@pytest.fixture
def worker(qtbot):
    w = LayoutWorker(**OPTIONS)
    yield w
    w.shutdown()
    assert not w.thread.isRunning()


def record(signal) -> list:
    seen: list = []
    signal.connect(lambda *args: seen.append(args))
    return seen


def test_a_request_is_laid_out_as_the_plain_function_does(qtbot, worker):
    g = graph_of("network")
    busy = record(worker.busyChanged)
    with qtbot.waitSignal(worker.laidOut, timeout=20000) as done:
        token = worker.request(g)
        assert worker.busy
    assert done.args[0] == token
    assert done.args[1] == layered_layout(g, **OPTIONS)
    assert busy == [(True,), (False,)]
    assert not worker.busy and worker.pending == 0


def test_a_newer_request_wins_and_the_older_result_is_never_emitted(qtbot, worker):
    results = record(worker.laidOut)
    busy = record(worker.busyChanged)
    first = worker.request(big_graph())
    second = worker.request(graph_of("three-step"))
    assert second != first
    with qtbot.waitSignal(worker.laidOut, timeout=60000,
                          check_params_cb=lambda token, layout: token == second):
        pass
    # Jobs run one at a time and report in order: the first had ended before the second was sent.
    assert [token for token, _ in results] == [second]
    assert results[0][1] == layered_layout(graph_of("three-step"), **OPTIONS)
    assert worker.pending == 0
    assert busy == [(True,), (False,)]


def test_a_request_takes_its_own_options(qtbot, worker):
    g = graph_of("three-step")
    with qtbot.waitSignal(worker.laidOut, timeout=20000) as done:
        worker.request(g, v_gap=40.0)
    assert done.args[1] == layered_layout(g, **OPTIONS, v_gap=40.0)
    assert done.args[1] != layered_layout(g, **OPTIONS)


def test_shutdown_stops_the_layout_and_leaves_no_thread(qtbot):
    worker = LayoutWorker(**OPTIONS)
    results = record(worker.laidOut)
    worker.request(big_graph())
    assert worker.shutdown()
    assert not worker.thread.isRunning()
    QCoreApplication.processEvents()  # whatever the ended thread posted is delivered now
    assert results == [] and not worker.busy
    with pytest.raises(RuntimeError, match="shut down"):
        worker.request(graph_of("three-step"))


def test_cancel_drops_the_pending_layout(qtbot, worker):
    results = record(worker.laidOut)
    busy = record(worker.busyChanged)
    worker.request(big_graph())
    worker.cancel()
    assert busy == [(True,), (False,)] and not worker.busy
    with qtbot.waitSignal(worker.laidOut, timeout=20000):
        later = worker.request(graph_of("three-step"))
    assert [token for token, _ in results] == [later]


def test_a_malformed_graph_fails_with_one_sentence(qtbot, worker):
    bad = GraphSnapshot((NodeInfo(0, "a", "a", "param", "", 1.0, 0.0, (), ()),
                         NodeInfo(1, "b", "", "op", "*", 1.0, 0.0, (0, 5), (1.0, 1.0))), 1)
    results = record(worker.laidOut)
    with qtbot.waitSignal(worker.failed, timeout=20000) as failed:
        token = worker.request(bad)
    assert failed.args[0] == token
    message = failed.args[1]
    assert "node 1 (b)" in message and "5" in message and message.count(". ") == 0
    assert results == [] and not worker.busy
