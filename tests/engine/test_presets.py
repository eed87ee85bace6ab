"""The shipped presets: each parses, evaluates and describes itself in one line."""

import ast
import math

import pytest

from engine.language import evaluate, parse
from engine.presets import DEFAULT, preset, presets, resources_dir
from engine.train import CONVERGED, Trainer

PRESET_FILES = sorted((resources_dir() / "presets").glob("*.py"))
REQUIRED = ["three-step", "multi-path", "regression", "neuron", "network"]


def test_the_required_presets_ship_in_the_tutorials_order():
    names = [p.name for p in presets()]
    assert names[:5] == REQUIRED
    assert set(names) == {f.stem for f in PRESET_FILES}
    assert DEFAULT == "three-step"


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.stem)
def test_every_preset_parses_evaluates_and_back_propagates(path):
    source = path.read_text(encoding="utf-8")
    ast.parse(source)  # valid Python, so any editor highlights it
    program = parse(source, path.stem)
    ev = evaluate(program)
    ev.loss.backward()
    assert math.isfinite(ev.loss.data)
    assert ev.params, "a preset has something to train"
    assert all(math.isfinite(p.grad) for _, p in ev.params)
    assert source.startswith("# ")
    assert source.endswith("\n")


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.stem)
def test_every_preset_has_a_one_line_description_and_settings(path):
    p = preset(path.stem)
    assert p.description and "\n" not in p.description
    assert not p.description.startswith(f"{path.stem}:")
    assert len(p.description) < 160
    settings = p.program().settings
    assert set(settings) <= {"lr", "steps", "tol", "every"}
    assert 0 < settings["lr"] < 10 and settings["steps"] >= 1


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(KeyError) as info:
        preset("nope")
    assert "three-step" in str(info.value)


def test_three_step_is_the_tutorials_loss():
    ev = evaluate(preset("three-step").program())
    ev.loss.backward()
    g = ev.snapshot()
    assert [n.name for n in g.nodes] == ["w", "x", "z", "y", "-1", "-y", "e", "L"]
    assert (ev.loss.data, ev.params[0][1].grad) == (4.0, -4.0)
    assert preset("three-step").program().settings == {"lr": 0.1, "steps": 100}


def test_multi_path_gives_2a_plus_3():
    ev = evaluate(preset("multi-path").program())
    ev.loss.backward()
    assert ev.params == [("a", ev.params[0][1])]
    assert ev.params[0][1].grad == 9.0


def test_neuron_is_a_tanh_neuron_with_two_inputs():
    program = preset("neuron").program()
    ev = evaluate(program)
    ops = [n.op for n in ev.snapshot().nodes]
    assert "tanh" in ops
    assert {name for name, _ in ev.params} >= {"w1", "w2", "b"}
    assert len(ev.inputs) >= 2
    result = Trainer(program, lr=program.settings["lr"]).run(program.settings["steps"])
    assert result.loss < result.records[0].loss


def test_network_has_a_few_hundred_nodes_and_learns():
    program = preset("network").program()
    ev = evaluate(program)
    n = len(ev.snapshot().nodes)
    assert 150 <= n <= 2000
    assert len(ev.params) >= 10
    result = Trainer(program, lr=program.settings["lr"]).run(200)
    assert result.loss < 0.5 * result.records[0].loss


def test_regression_reproduces_the_tutorials_result():
    program = preset("regression").program()
    assert program.settings == {"lr": 0.01, "steps": 800}
    source = preset("regression").source()
    assert ("loss = sum([(m * x_val + b - y_val)**2 for x_val, y_val in zip(x_train, y_train)])"
            in source)
    result = Trainer(program, lr=program.settings["lr"]).run(program.settings["steps"])
    m, b = result.final["m"], result.final["b"]
    assert f"Result: y = {m:.2f}x + {b:.2f}" == "Result: y = 2.00x + 0.00"
    # the preset declares the tutorial's printed line, filled from the trained numbers
    assert program.result_line.render(result.final) == "y = 2.00x + 0.00"


def test_shared_node_gradient():
    ev = evaluate(preset("shared-node").program())
    ev.loss.backward()
    # b = a², c = 3b, L = b + c = 4a²: dL/da = 8a = 16 at a = 2
    assert ev.params[0][1].grad == 16.0


@pytest.mark.parametrize("name", REQUIRED)
def test_presets_with_their_suggested_settings_do_not_diverge(name):
    program = preset(name).program()
    result = Trainer(program, lr=program.settings["lr"]).run(min(program.settings["steps"], 300))
    assert result.status in (CONVERGED, "max_steps")
