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


# --- the program's `# autodiff:` line ----------------------------------------------------------

@pytest.mark.parametrize("directive, column, key", [
    ("lr=nan steps=10", 13, "lr"),
    ("lr=abc steps=1e9 every=0", 13, "lr"),
    ("lr=0.1 steps=1e9", 20, "steps"),
    ("every=0", 13, "every"),
    ("result=\"{w.__class__}\"", 13, "result"),
])
def test_a_bad_directive_is_an_error_at_its_line_naming_the_key(cli, directive, column, key):
    source = f"# a loss\n# autodiff: {directive}\nw = Value(0.0)\nL = (w - 1)**2\n"
    line = assert_one_sentence_error(cli("train", "-", stdin=source))
    assert line.startswith(f"<stdin>:2:{column}: error: the setting `{key}` "), line
    assert "--" not in line  # never blamed on a flag the user did not type


def test_flags_the_user_typed_win_over_the_directive(cli):
    source = "# autodiff: lr=0.3 steps=7 every=3 tol=1e-9\nw = Value(0.0)\nL = (w - 1)**2\n"
    data = cli("train", "-", "--json", stdin=source).json()
    assert data["lr"] == 0.3 and data["every"] == 3
    assert [s["iteration"] for s in data["steps"]] == [0, 3, 6]
    data = cli("train", "-", "--json", "--lr", "0.1", "--steps", "4", "--every", "1", "--tol", "0",
               stdin=source).json()
    assert data["lr"] == 0.1 and [s["iteration"] for s in data["steps"]] == [0, 1, 2, 3]
    assert {s["lr"] for s in data["steps"]} == {0.1}


# --- how much it prints ----------------------------------------------------------------------

@pytest.mark.parametrize("program, steps, flags", [("three-step", 100, []), ("regression", 800, []),
                                                   ("network", 230, ["--steps", "230"])])
def test_the_default_shows_at_most_about_twenty_progress_lines(cli, program, steps, flags):
    result = cli("train", program, "--tol", "0", *flags)
    assert result.returncode == 0, result
    shown = [n for n, _, _ in iteration_lines(result.stdout)]
    assert 10 <= len(shown) <= 21, shown
    assert shown[0] == 0 and shown[-1] == steps - 1
    stride = shown[1] - shown[0]
    assert shown[:-1] == list(range(0, steps, stride))


def test_every_one_shows_every_iteration(cli):
    result = cli("train", "three-step", "--tol", "0", "--every", "1")
    assert [n for n, _, _ in iteration_lines(result.stdout)] == list(range(100))


def test_the_cap_message_follows_the_regime_at_lr_1(cli):
    result = cli("train", "three-step", "--lr", "1.0")
    assert result.returncode == 0, result
    message = result.stdout.splitlines()[-2]
    assert message.startswith("stopped after 100 iterations (the cap) with loss 4; ")
    assert "bounces for ever" in message and "more steps will not help" in message
    assert "a larger one diverges" in message and "may go further" not in message


@pytest.mark.parametrize("lr, steps, words", [
    ("0.01", "100", "approaches steadily, so more steps or a larger lr (below 1, where it stops "
                    "converging) go further"),
    ("0.9", "20", "overshoots but it converges, so more steps go further, and an lr nearer 0.5"),
    ("1.05", "5", "more steps make it worse; an lr below 1 converges"),
])
def test_the_cap_message_for_each_regime_of_the_tutorial(cli, lr, steps, words):
    result = cli("train", "three-step", "--lr", lr, "--steps", steps)
    assert words in result.stdout.splitlines()[-2], result.stdout


def test_the_cap_message_of_several_parameters_uses_the_stiffest_direction(cli):
    # regression: H = 2·[[14, 6], [6, 3]], largest eigenvalue 33.27, so lr 2/33.27 = 0.0601
    result = cli("train", "regression")
    assert "at lr = 0.01 it approaches steadily" in result.stdout
    assert "below 0.0601, where it stops converging" in result.stdout


def test_regression_ends_with_the_tutorials_result_line(cli):
    result = cli("train", "regression")
    assert result.stdout.splitlines()[-1] == "Result: y = 2.00x + 0.00"
    assert cli("train", "regression", "--json").json()["result"] == "y = 2.00x + 0.00"


def test_a_result_line_naming_a_list_fails_before_training(cli):
    source = '# autodiff: result="{ws}"\nws = [Value(1.0), Value(2.0)]\nL = sum(ws)\n'
    line = assert_one_sentence_error(cli("train", "-", stdin=source))
    assert line.startswith("<stdin>:1:13: error: the result line names `ws`"), line


def test_a_diverged_run_prints_no_result_line(cli):
    source = '# autodiff: result="w = {w:.2f}"\nw = Value(0.0)\nL = (w - 2)**2\n'
    result = cli("train", "-", "--lr", "1.5", stdin=source)
    assert result.returncode == 3 and "Result:" not in result.stdout


# --- bounded records -------------------------------------------------------------------------

def test_text_output_keeps_no_records(cli, monkeypatch):
    import autodiff_gui.cli
    made = []

    class Spy(autodiff_gui.cli.Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)
    monkeypatch.setattr(autodiff_gui.cli, "Trainer", Spy)
    result = cli("train", "three-step", "--steps", "5000", "--tol", "0", "--every", "5000")
    assert result.returncode == 0
    assert [n for n, _, _ in iteration_lines(result.stdout)] == [0, 4999]
    assert len(made) == 1 and made[0].records == [] and made[0].iteration == 5000


def test_a_long_json_run_is_decimated_and_says_so(cli, monkeypatch):
    import autodiff_gui.cli
    monkeypatch.setattr(autodiff_gui.cli, "MAX_JSON_STEPS", 100)
    data = cli("train", "three-step", "--steps", "1000", "--tol", "0", "--json").json()
    iterations = [s["iteration"] for s in data["steps"]]
    assert len(iterations) <= 101 and data["decimated"] is True
    stride = data["every"]
    assert stride in (16, 32) and iterations[:-1] == list(range(0, 1000, stride))
    assert iterations[-1] == 999  # the last is kept exactly
    assert "1,000 iterations" in data["note"] and f"one iteration in {stride:,} is kept" in data["note"]
    short = cli("train", "three-step", "--steps", "50", "--tol", "0", "--json").json()
    assert short["decimated"] is False and "note" not in short and len(short["steps"]) == 50


@pytest.mark.parametrize("source", ["w = Value(1e308)\nL = sin(w * 10)\n",
                                    "w = Value(1e200)\nL = w * w\n"])
def test_a_pass_that_overflows_at_the_start_is_the_usual_divergence(cli, source):
    result = cli("train", "-", stdin=source)
    assert result.returncode == 3, result
    assert "diverging: a value became infinite or not a number after 0 iterations" in result.stdout
    assert "Traceback" not in result.output


def test_the_header_says_when_iterations_are_skipped(cli):
    assert "one iteration in 5 shown (--every 1 shows all)" in cli("train", "three-step").stdout
    assert "shown" not in cli("train", "three-step", "--every", "1").stdout.splitlines()[0]
