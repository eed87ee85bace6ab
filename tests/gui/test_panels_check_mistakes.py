"""The gradient-check and common-mistakes panels, driven offscreen: the numbers a learner reads in
their tables are the engine's right and wrong gradients."""

from __future__ import annotations


import pytest

from autodiff_gui.panels.check import PENDING, GradientCheckPanel
from autodiff_gui.panels.mistakes import MistakesPanel
from engine.mistakes import MISTAKES, gradient_check
from engine.presets import preset, presets
from engine.replay import replay

CHECK_COLUMNS = ["parameter", "backprop dL/dθ", "finite difference", "relative error"]


def cells(table, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]


def headers(table) -> list[str]:
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]


def moment(name: str, **kwargs):
    return replay(preset(name).program(), **kwargs)


# --- the gradient check ---------------------------------------------------------------------------

@pytest.fixture
def check_panel(qtbot) -> GradientCheckPanel:
    panel = GradientCheckPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 480)
    panel.show()
    return panel


def test_check_table_shows_backprop_beside_the_finite_difference(qtbot, check_panel):
    with qtbot.waitSignal(check_panel.checked, timeout=5000) as blocker:
        check_panel.set_moment(moment("three-step"))
    (result,) = blocker.args[0]
    assert headers(check_panel.table) == CHECK_COLUMNS
    row = cells(check_panel.table, 0)
    assert row[0] == "w"
    assert row[1] == "-4"
    assert float(row[2]) == pytest.approx(-4.0, abs=1e-7)
    assert float(row[3]) < 1e-6
    assert float(row[3]) == pytest.approx(result.rel_error, rel=0.05)
    assert "agree" in check_panel.summary.text()
    assert "finite difference" in check_panel.intro.text()


@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_check_panel_agrees_on_every_preset(qtbot, check_panel, name):
    m = moment(name)
    # a hang guard, not a speed target: moons' 105 parameters take 210 passes of 8,925 nodes
    with qtbot.waitSignal(check_panel.checked, timeout=60000):
        check_panel.set_moment(m)
    table = check_panel.table
    assert table.rowCount() == len(m.param_names)
    expected = gradient_check(m.program, m.values)
    for r, check in enumerate(expected):
        row = cells(table, r)
        assert row[0] == check.name == m.param_names[r]
        assert float(row[1]) == pytest.approx(check.backprop, rel=1e-7, abs=1e-12)
        assert float(row[2]) == pytest.approx(check.numeric, rel=1e-7, abs=1e-12)
        assert float(row[3]) < 1e-6
    assert all(c.agrees for c in check_panel.results())


def test_check_of_the_network_never_blocks_the_window(qtbot, check_panel):
    """25 parameters, 50 forward passes: done in slices, each a small fraction of a second."""
    m = moment("network")
    check_panel.set_moment(m)  # returns before checking: the work is done in slices
    assert check_panel.is_checking()
    assert cells(check_panel.table, 24)[2] == PENDING
    with qtbot.waitSignal(check_panel.checked, timeout=10000):
        pass
    assert not check_panel.is_checking()
    assert len(check_panel.results()) == 25
    assert all(float(cells(check_panel.table, r)[3]) < 1e-6 for r in range(25))
    assert "All 25 gradients agree" in check_panel.summary.text()


def test_a_hidden_panel_checks_when_shown(qtbot):
    panel = GradientCheckPanel()
    qtbot.addWidget(panel)
    panel.set_moment(moment("multi-path"))
    assert panel.is_checking() and panel.results() == []
    with qtbot.waitSignal(panel.checked, timeout=5000):
        panel.show()
    assert cells(panel.table, 0)[:2] == ["a", "9"]


def test_a_tiny_step_loses_digits_to_rounding(qtbot, check_panel):
    check_panel.set_moment(moment("network"))
    check_panel.finish()
    check_panel.set_step(1e-10)
    assert check_panel.step_box.currentText() == "h = 1e-10"
    results = check_panel.finish()
    assert any(not c.agrees for c in results)
    assert "disagree" in check_panel.summary.text()
    check_panel.step_box.setCurrentIndex(check_panel.step_box.findData(1e-6))
    assert check_panel.step() == 1e-6
    assert all(c.agrees for c in check_panel.finish())


def test_another_position_of_the_same_iteration_is_not_checked_again(qtbot, check_panel):
    m = moment("multi-path")
    with qtbot.waitSignal(check_panel.checked, timeout=5000):
        check_panel.set_moment(m)
    check_panel.set_moment(m.at(0))
    assert not check_panel.is_checking()
    assert len(check_panel.results()) == 1
    check_panel.set_moment(None)
    assert check_panel.table.rowCount() == 0


# --- the common mistakes --------------------------------------------------------------------------

@pytest.fixture
def mistakes_panel(qtbot) -> MistakesPanel:
    panel = MistakesPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 900)
    panel.show()
    return panel


def show(qtbot, panel: MistakesPanel, name: str, *mistakes: str, **kwargs) -> None:
    with qtbot.waitSignal(panel.updated, timeout=5000):
        panel.set_moment(moment(name, **kwargs))
        for m in mistakes:
            panel.set_enabled(m, True)


def test_mistakes_start_switched_off(mistakes_panel):
    for m in MISTAKES:
        assert not mistakes_panel.is_enabled(m)
        assert mistakes_panel.report(m) is None
        assert not mistakes_panel.table(m).isVisible()


def test_assign_shows_6_instead_of_9_on_multi_path(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "multi-path", "assign")
    table = mistakes_panel.table("assign")
    assert table.isVisible()
    assert headers(table) == ["parameter", "right dL/dθ", "wrong dL/dθ"]
    assert cells(table, 0) == ["a", "9", "6"]
    assert "Shows here" in mistakes_panel.verdict("assign")
    assert "6 instead of 9" in mistakes_panel.verdict("assign")
    assert not mistakes_panel.preset_button("assign").isVisible()
    code = mistakes_panel._views["assign"].code.text()
    assert "child.grad = local_grad * v.grad" in code
    assert "child.grad += local_grad * v.grad" in code


def test_no_zero_shows_the_leftover_gradient_added(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "multi-path", "no_zero", lr=0.1)
    table = mistakes_panel.table("no_zero")
    assert headers(table)[:3] == ["parameter", "right dL/dθ", "wrong dL/dθ"]
    assert cells(table, 0) == ["a", "7.2", "16.2", "1.38", "0.48"]
    assert "iteration 1" in mistakes_panel._views["no_zero"].where.text()
    assert "Shows here" in mistakes_panel.verdict("no_zero")


def test_bfs_shows_4_instead_of_16_on_shared_node(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "shared-node", "bfs")
    assert cells(mistakes_panel.table("bfs"), 0) == ["a", "16", "4"]
    assert "Shows here" in mistakes_panel.verdict("bfs")
    assert not mistakes_panel.preset_button("bfs").isVisible()


def test_a_hidden_mistake_offers_the_preset_where_it_shows(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "multi-path", "bfs")
    assert cells(mistakes_panel.table("bfs"), 0) == ["a", "9", "9"]
    assert "Does not show on this program" in mistakes_panel.verdict("bfs")
    button = mistakes_panel.preset_button("bfs")
    assert button.isVisible() and button.text() == "Show it on shared-node"
    with qtbot.waitSignal(mistakes_panel.presetRequested, timeout=1000) as blocker:
        button.click()
    assert blocker.args == ["shared-node"]


def test_assign_hides_on_the_tutorial_loss_and_points_to_multi_path(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "three-step", "assign")
    assert cells(mistakes_panel.table("assign"), 0) == ["w", "-4", "-4"]
    button = mistakes_panel.preset_button("assign")
    assert button.isVisible() and button.text() == "Show it on multi-path"
    with qtbot.waitSignal(mistakes_panel.presetRequested, timeout=1000) as blocker:
        button.click()
    assert blocker.args == ["multi-path"]


def test_switching_off_hides_the_comparison(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "multi-path", "assign")
    mistakes_panel.set_enabled("assign", False)
    assert not mistakes_panel.table("assign").isVisible()
    assert mistakes_panel.report("assign") is None


def test_a_new_moment_updates_the_switched_on_mistakes(qtbot, mistakes_panel):
    show(qtbot, mistakes_panel, "multi-path", *MISTAKES)
    show(qtbot, mistakes_panel, "shared-node")
    assert cells(mistakes_panel.table("assign"), 0) == ["a", "16", "6"]
    assert cells(mistakes_panel.table("bfs"), 0) == ["a", "16", "4"]
    # the network: 25 parameters, and = instead of += breaks every one of them
    show(qtbot, mistakes_panel, "network")
    report = mistakes_panel.report("assign")
    assert report is not None and report.differs
    assert mistakes_panel.table("assign").rowCount() == 25
    assert "25 of 25 gradients come out wrong" in mistakes_panel.verdict("assign")


def test_a_hidden_mistakes_panel_computes_when_shown(qtbot):
    panel = MistakesPanel()
    qtbot.addWidget(panel)
    panel.set_moment(moment("shared-node"))
    panel.set_enabled("bfs", True)
    assert panel.report("bfs") is None
    with qtbot.waitSignal(panel.updated, timeout=5000):
        panel.show()
    assert cells(panel.table("bfs"), 0) == ["a", "16", "4"]
