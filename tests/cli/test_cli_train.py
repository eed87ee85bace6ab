"""``autodiff train``: gradient descent, its settings, its statuses and exit codes."""

from __future__ import annotations

import re

import pytest
from cli_helpers import assert_one_sentence_error

ITERATION = re.compile(r"^iteration\s+(\d+)\s+loss\s+(\S+)\s+(.*)$")


def iteration_lines(stdout: str) -> list[tuple[int, str, str]]:
    return [(int(m[1]), m[2], m[3]) for line in stdout.splitlines() if (m := ITERATION.match(line))]


def test_train_text_follows_the_tutorial(any_cli):
    result = any_cli("train", "three-step", "--every", "1")
    assert result.returncode == 0, result
    assert result.stderr == ""
    header = result.stdout.splitlines()[0]
    assert "lr = 0.1" in header and "100" in header  # the preset's `# autodiff:` suggestion
    lines = iteration_lines(result.stdout)
    # iteration k holds the values before the k-th update (tutorial-numbers.md, §1)
    assert lines[:4] == [(0, "4", "w = 0 (grad -4)"), (1, "2.56", "w = 0.4 (grad -3.2)"),
                         (2, "1.6384", "w = 0.72 (grad -2.56)"),
                         (3, "1.04858", "w = 0.976 (grad -2.048)")]
    assert [n for n, _, _ in lines] == list(range(len(lines)))
    assert "converged" in result.stdout
    assert result.stdout.splitlines()[-1] == "final: w = 2"


def test_train_json_has_status_steps_final_and_loss(any_cli):
    result = any_cli("train", "three-step", "--json")
    assert result.returncode == 0, result
    data = result.json()
    assert data["status"] == "converged"
    steps = data["steps"]
    assert [s["iteration"] for s in steps] == list(range(len(steps)))
    assert steps[0] == {"iteration": 0, "lr": 0.1, "loss": 4, "params": {"w": {"data": 0, "grad": -4}}}
    assert steps[1]["params"]["w"]["data"] == pytest.approx(0.4)
    assert steps[1]["loss"] == pytest.approx(2.56)
    assert steps[1]["params"]["w"]["grad"] == pytest.approx(-3.2)
    assert abs(steps[-1]["params"]["w"]["grad"]) <= 1e-6  # converged: checked before updating
    assert data["final"]["w"] == pytest.approx(2, abs=1e-6)
    assert data["loss"] == steps[-1]["loss"]


def test_train_every_prints_every_kth_iteration_and_the_last(cli):
    result = cli("train", "three-step", "--every", "20")
    assert result.returncode == 0, result
    assert [n for n, _, _ in iteration_lines(result.stdout)] == [0, 20, 40, 60, 69]

    data = cli("train", "three-step", "--every", "20", "--json").json()
    assert [s["iteration"] for s in data["steps"]] == [0, 20, 40, 60, 69]


def test_train_uses_the_presets_suggested_settings_for_regression(cli):
    data = cli("train", "regression", "--json").json()  # `# autodiff: lr=0.01 steps=800`
    assert data["status"] == "max_steps"
    assert len(data["steps"]) == 800
    assert {s["lr"] for s in data["steps"]} == {0.01}
    m, b = data["final"]["m"], data["final"]["b"]
    assert f"y = {m:.2f}x + {b:.2f}" == "y = 2.00x + 0.00"  # the tutorial's printed result
    assert m == pytest.approx(1.9990, abs=1e-4) and b == pytest.approx(0.0023, abs=1e-4)
    assert data["loss"] == pytest.approx(2.2e-6, rel=0.05)


def test_train_regression_text(cli):
    result = cli("train", "regression", "--every", "100")
    assert result.returncode == 0, result
    assert "lr = 0.01" in result.stdout.splitlines()[0]
    assert [n for n, _, _ in iteration_lines(result.stdout)] == [*range(0, 800, 100), 799]
    assert "800" in result.stdout and "cap" in result.stdout
    final = result.stdout.splitlines()[-2]
    assert final.startswith("final: m = 1.999") and ", b = 0.00" in final
    assert result.stdout.splitlines()[-1] == "Result: y = 2.00x + 0.00"  # the preset's result line


def test_command_line_settings_override_the_presets(cli):
    data = cli("train", "regression", "--lr", "0.02", "--steps", "5", "--json").json()
    assert len(data["steps"]) == 5 and {s["lr"] for s in data["steps"]} == {0.02}


def test_program_without_settings_uses_lr_0_1_and_100_steps(cli):
    data = cli("train", "-", "--json", "--tol", "0",
               stdin="w = Value(0.0)\nL = (w - 1)**2 + (w - 1)**4\n").json()
    assert data["status"] in ("max_steps", "converged")
    assert len(data["steps"]) <= 100 and {s["lr"] for s in data["steps"]} == {0.1}


def test_lr_one_half_reaches_the_minimum_in_one_step(cli):
    data = cli("train", "three-step", "--lr", "0.5", "--json").json()
    assert data["status"] == "converged"
    assert [s["params"]["w"]["data"] for s in data["steps"]] == [0, 2]


def test_lr_one_oscillates_forever(cli):
    data = cli("train", "three-step", "--lr", "1", "--steps", "6", "--json").json()
    assert data["status"] == "max_steps"
    assert [s["params"]["w"]["data"] for s in data["steps"]] == [0, 4, 0, 4, 0, 4]


@pytest.mark.parametrize("json_flag", [False, True])
def test_diverging_training_exits_3(cli, json_flag):
    result = cli("train", "three-step", "--lr", "1.5", *(["--json"] if json_flag else []))
    assert result.returncode == 3, result
    assert "Traceback" not in result.output
    if json_flag:
        data = result.json()
        assert data["status"] == "diverged"
        assert len(data["steps"]) < 40  # called within a few dozen iterations, not after 100
    else:
        assert "diverg" in result.stdout
        assert "final: w = " in result.stdout


def test_diverging_by_overflow_is_a_status_not_a_crash(cli):
    result = cli("train", "-", "--lr", "10", "--json", stdin="w = Value(3.0)\nL = w**8\n")
    assert result.returncode == 3, result
    assert result.json()["status"] == "diverged"
    assert "Traceback" not in result.output


def test_steps_zero_runs_nothing(cli):
    data = cli("train", "three-step", "--steps", "0", "--json").json()
    assert data["steps"] == [] and data["final"] == {"w": 0} and data["loss"] is None
    assert data["status"] == "max_steps"


def test_a_program_error_during_training_is_reported_with_its_place(cli):
    # lr 5 takes w below 0, where log is undefined: a program error at iteration 1, not a crash
    result = cli("train", "-", "--lr", "5", "--steps", "5", stdin="w = Value(2.0)\nL = log(w)\n")
    line = assert_one_sentence_error(result, 2, quiet=False)
    assert re.match(r"<stdin>:2:5: error: log: .*-0\.5", line), line
    assert "iteration 1" in line


@pytest.mark.parametrize("args, words", [
    (["--lr", "-1"], "learning rate"),
    (["--lr", "0"], "learning rate"),
    (["--lr", "nan"], "learning rate"),
    (["--lr", "inf"], "learning rate"),
    (["--steps", "-1"], "steps"),
    (["--every", "0"], "--every"),
    (["--tol", "-1"], "tolerance"),
])
def test_bad_settings_are_one_sentence(cli, args, words):
    line = assert_one_sentence_error(cli("train", "three-step", *args))
    assert line.startswith("autodiff: ") and words in line, line


def test_non_numbers_are_refused_by_the_argument_parser(cli):
    result = cli("train", "three-step", "--lr", "fast")
    assert result.returncode == 2
    assert "Traceback" not in result.output and "--lr" in result.stderr
