"""``autodiff train`` on a classifier reports its accuracy; a mistake in the data is line:col."""

from __future__ import annotations


def test_a_classifier_reports_its_accuracy(cli):
    result = cli("train", "moons")
    assert result.returncode == 0, result
    assert result.stdout.splitlines()[-1] == \
        "accuracy: 40/40 points on their side of the boundary (100.0%)"
    data = cli("train", "moons", "--json").json()
    assert data["accuracy"] == 1.0


def test_accuracy_after_a_few_steps_is_what_the_parameters_give(cli):
    data = cli("train", "network", "--steps", "0", "--json").json()
    assert data["accuracy"] == 0.25  # XOR's starting network: one of four points right
    assert cli("train", "network").stdout.splitlines()[-1].startswith("accuracy: 4/4 ")


def test_a_regression_has_no_accuracy(cli):
    result = cli("train", "regression")
    assert result.stdout.splitlines()[-1] == "Result: y = 2.00x + 0.00"
    assert "accuracy" not in result.stdout
    assert "accuracy" not in cli("train", "regression", "--json").json()


def test_a_mistake_in_the_data_is_an_error_at_its_place(cli, tmp_path):
    path = tmp_path / "p.py"
    path.write_text("# autodiff: data=xs,ys\nxs = [1, 2]\nys = [1]\nw = Value(1.0)\n"
                    "L = (w - 1)**2\ndef predict(x): return w * x\n", encoding="utf-8")
    result = cli("train", path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (f"{path}:1:13: error: the setting `data`: `xs` has 2 points "
                                     f"but `ys` has 1 targets; give one target per point")
