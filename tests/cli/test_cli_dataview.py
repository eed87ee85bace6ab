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


def test_export_data_draws_the_data_view_without_a_display(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    png = tmp_path / "data.png"
    result = cli("export", "moons", "-o", png, "--data")
    assert result.returncode == 0, result
    assert result.stdout.strip() == f"wrote {png} (after 400 iterations, accuracy 100.0%)"
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = tmp_path / "line.svg"
    assert cli("export", "regression", "-o", svg, "--data", "--steps", "3").returncode == 0
    assert b"<svg" in svg.read_bytes()


def test_export_data_refuses_what_it_cannot_draw(cli, tmp_path):
    result = cli("export", "three-step", "-o", tmp_path / "d.png", "--data")
    assert result.returncode == 2
    assert "names no data to draw" in result.stderr and "def predict(x)" in result.stderr
    result = cli("export", "moons", "-o", tmp_path / "d.json", "--data")
    assert result.returncode == 2 and "write d.png or d.svg" in result.stderr
    assert not (tmp_path / "d.png").exists() and not (tmp_path / "d.json").exists()
