"""``autodiff grad``: one forward and backward pass, as a table, as strict JSON, and as a trace."""

from __future__ import annotations

import re

import pytest
from cli_helpers import assert_one_sentence_error, strict_json

# The tutorial's three-step loss after one forward and backward pass (tutorial-numbers.md, §1):
# node -> (value, gradient), in the tutorial's topological order.
THREE_STEP = {"w": (0, -4), "x": (1, 0), "z": (0, -4), "y": (2, 4), "-1": (-1, -8),
              "-y": (-2, -4), "e": (-2, -4), "L": (4, 1)}


def table_rows(stdout: str) -> dict[str, dict[str, str]]:
    """The node table ``grad`` prints, as {node name: {column: cell}}."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["id", "node"])
    header = re.split(r"\s{2,}", lines[start].strip())
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        row = dict(zip(header, cells))
        rows[row["node"]] = row
    return rows


def test_grad_text_shows_every_node_with_value_and_gradient(any_cli):
    result = any_cli("grad", "three-step")
    assert result.returncode == 0, result
    assert result.stderr == ""
    rows = table_rows(result.stdout)
    assert list(rows) == list(THREE_STEP)
    for name, (value, grad) in THREE_STEP.items():
        assert float(rows[name]["value"]) == value, rows[name]
        assert float(rows[name]["grad"]) == grad, rows[name]
    assert rows["L"]["op"] == "**2" and rows["L"]["local grads"] == "-4"
    assert rows["e"]["op"] == "+" and rows["e"]["local grads"] == "1, 1"
    assert rows["z"]["op"] == "*" and rows["z"]["local grads"] == "1, 0"
    assert rows["w"]["kind"] == "param" and rows["x"]["kind"] == "input"
    assert "loss L = 4" in result.stdout
    assert re.search(r"^\s*w = 0\s+dL/dw = -4$", result.stdout, re.M), result.stdout


def test_grad_json_is_strict_and_complete(any_cli):
    result = any_cli("grad", "three-step", "--json")
    assert result.returncode == 0, result
    data = strict_json(result.stdout)
    assert data["loss"] == 4
    assert data["params"] == {"w": {"data": 0, "grad": -4}}
    nodes = data["nodes"]
    assert [n["id"] for n in nodes] == list(range(8))
    for n in nodes:
        assert {"id", "label", "op", "data", "grad", "children", "local_grads"} <= set(n)
        assert len(n["children"]) == len(n["local_grads"])
        assert all(0 <= c < n["id"] for c in n["children"])  # children come first (topological)
    by_name = {n.get("name") or n["label"]: n for n in nodes}
    for name, (value, grad) in THREE_STEP.items():
        assert (by_name[name]["data"], by_name[name]["grad"]) == (value, grad), by_name[name]
    labels = [n["label"] for n in nodes]
    assert labels == ["w", "x", "z", "y", "", "", "e", "L"]
    e = by_name["e"]
    assert e["op"] == "+" and e["local_grads"] == [1, 1]
    assert [nodes[c]["label"] or nodes[c]["name"] for c in e["children"]] == ["z", "-y"]
    assert by_name["L"]["op"] == "**2" and by_name["L"]["local_grads"] == [-4]


@pytest.mark.parametrize("flags", [[], ["--json"], ["--trace"]])
def test_grad_refuses_to_print_a_number_that_overflowed(cli, flags):
    # 1e200 squared overflows to inf: an error at the operation, never inf printed as a result
    result = cli("grad", "-", *flags, stdin="w = Value(1e200)\nL = w * w\n")
    line = assert_one_sentence_error(result)
    assert line == "<stdin>:2:5: error: the operation * makes `L` = inf: the numbers grew past " \
                   "what a float holds", line


@pytest.mark.parametrize("source, where, words", [
    ("w = Value(1e308)\nz = w * 10\nL = sin(z)\n", "2:5", "the operation * makes `z` = inf"),
    # dL/du·du/d(1e-300) = 2e300·1e300: the backward pass overflows at the line that made it
    ("w = Value(1e300)\nu = w * 1e-300\nL = u * u * w\n", "2:5", "the gradient dL/d1e-300 is inf"),
    ("ws = [Value(i * 1e308) for i in range(3)]\nL = sum(ws)\n", "1:6", "`ws[2]` is inf"),
    ("w = Value(1e300)\nL = w + w * 1e300\n", "2:5", "makes `w·1e300` = inf"),
])
def test_grad_names_the_operation_that_made_a_non_finite_number(cli, source, where, words):
    line = assert_one_sentence_error(cli("grad", "-", stdin=source))
    assert line.startswith(f"<stdin>:{where}: error: ") and words in line, line
    assert "nan" not in line.lower().replace("finite", "")


@pytest.mark.parametrize("source, where", [
    ("w = Value(1e309)\nL = w\n", "1:11"),
    ("w = Value(1e308*10)\nL = w\n", "1:11"),
    ("w = Value(1.0)\nL = w + (1e309 - 1e309)\n", "2:10"),
    ("w = Value(1.0)\nL = sin(w * 1e309)\n", "2:13"),
])
def test_a_number_that_is_not_finite_in_the_program_is_an_error_at_it(cli, source, where):
    line = assert_one_sentence_error(cli("grad", "-", stdin=source))
    assert line.startswith(f"<stdin>:{where}: error: ") and "too large for a float" in line, line


def test_grad_multi_path_sums_both_paths(cli):
    data = cli("grad", "multi-path", "--json").json()
    assert data["loss"] == 18  # b + c = 9 + 9 at a = 3
    assert data["params"] == {"a": {"data": 3, "grad": 9}}  # 2a + 3


# The backward pass of the three-step loss as `--trace` prints it: 7 multiplications, in the
# engine's order, each with the tutorial's formula (tutorial-numbers.md, §1).
TRACE = [
    "1. dL/de = dL/dL · dL/de = (1) · (-4) = -4",
    "2. dL/dz = dL/de · de/dz = (-4) · (1) = -4",
    "3. dL/d(-y) = dL/de · de/d(-y) = (-4) · (1) = -4",
    "4. dL/dy = dL/d(-y) · d(-y)/dy = (-4) · (-1) = 4",
    "5. dL/d(-1) = dL/d(-y) · d(-y)/d(-1) = (-4) · (2) = -8",
    "6. dL/dw = dL/dz · dz/dw = (-4) · (1) = -4",
    "7. dL/dx = dL/dz · dz/dx = (-4) · (0) = 0",
]


def test_grad_trace_prints_each_chain_rule_multiplication(any_cli):
    result = any_cli("grad", "three-step", "--trace")
    assert result.returncode == 0, result
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "0. dL/dL = 1   (the seed)" in lines
    start = lines.index(TRACE[0])
    assert lines[start:start + 7] == TRACE
    assert not re.match(r"8\. ", lines[start + 7])
    # the forward pass comes first, with the values and local gradients it stores
    assert lines.index("forward pass:") < lines.index("backward pass:") < start
    assert "4. L = 4   (dL/de = -4)" in lines
    # and the node table still follows
    assert table_rows(result.stdout)["w"]["grad"] == "-4"


def test_grad_trace_json_lists_the_multiplications(cli):
    data = cli("grad", "three-step", "--json", "--trace").json()
    steps = data["backward"]
    assert [s["number"] for s in steps] == list(range(1, 8))
    assert [s["formula"] for s in steps] == [t.split(". ", 1)[1] for t in TRACE]
    assert [s["product"] for s in steps] == [-4, -4, -4, 4, -8, -4, 0]
    assert [f["value"] for f in data["forward"]] == [0, -2, -2, 4]


def test_grad_trace_shows_accumulation_for_a_shared_node(cli):
    result = cli("grad", "multi-path", "--trace")
    assert result.returncode == 0, result
    # a is reached twice: the second multiplication adds to the first
    assert re.search(r"dL/da \+= .* dL/da = \d+ \+ \d+ = 9$", result.stdout, re.M), result.stdout


@pytest.mark.parametrize("source, expected", [
    ("file", "w = 3"),
    ("stdin", "w = 3"),
])
def test_grad_reads_a_file_or_standard_input(cli, tmp_path, source, expected):
    program = "# a parabola\nw = Value(3.0)\nL = w**2 + 1\n"
    if source == "file":
        path = tmp_path / "parabola.py"
        path.write_text(program, encoding="utf-8")
        result = cli("grad", path)
    else:
        result = cli("grad", "-", stdin=program)
    assert result.returncode == 0, result
    assert re.search(r"^\s*w = 3\s+dL/dw = 6$", result.stdout, re.M), result.stdout
    assert "loss L = 10" in result.stdout


def test_grad_reads_a_relative_path_from_the_working_folder(cli, tmp_path):
    (tmp_path / "mine.py").write_text("w = Value(1.0)\nL = 3 * w\n", encoding="utf-8")
    data = cli("grad", "mine.py", "--json").json()
    assert data["params"] == {"w": {"data": 1, "grad": 3}}


def test_presets_lists_each_preset_on_one_line(any_cli):
    result = any_cli("presets")
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names[:5] == ["three-step", "multi-path", "regression", "neuron", "network"]
    assert all(len(line.split(None, 1)) == 2 for line in lines)  # a name and a description
    assert "w = 0" in lines[0]


@pytest.mark.parametrize("name", ["three-step", "multi-path", "regression", "neuron", "network"])
def test_every_preset_runs_through_grad(cli, name):
    data = cli("grad", name, "--json").json()
    assert data["loss"] is not None and data["params"]
    assert all(p["grad"] is not None for p in data["params"].values())
