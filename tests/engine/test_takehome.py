"""engine.takehome: the exported script computes the app's numbers to the last bit, holds just the
operations the program uses, imports nothing but math, and refuses what it cannot express."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys

import nbformat
import pytest

from engine import takehome
from engine.language import ProgramError, evaluate, parse
from engine.presets import preset, presets
from engine.train import Trainer, gradient
from engine.value import topological_order
from budget import step_budget

STEP_CAP = 300  # keeps the big presets quick; every preset still runs its first 300 iterations

# Programs that reach each rewrite the exporter makes (see engine/takehome.py's docstring).
PROGRAMS = {
    # 7 / 3 differs from 7 * 3**-1 in the last bit: the app divides named numbers as nodes do
    "named-division": """\
# named-division
# autodiff: lr=0.05 steps=60
x = 7
y = 3
c = x / y
i = 1.0
xs = [0.5, 1.5, 2.5]
ys = [1, 3.1, 4.9]
pairs = zip(xs, ys)
n = len(xs)
w = Value(0.3)
b = Value(-0.1)
L = sum((w * a + b - t) ** 2 for a, t in pairs) / n + c * (w - xs[i]) ** 2 + sum([w, w * w, 3 * w]) / 7
""",
    "functions": """\
# functions: every function, on plain numbers and on nodes, and powers by parameters
# autodiff: lr=0.02 steps=150
k = tanh(0.5)
s0 = sigmoid(-1.2)
w = Value(0.7)
v = Value(1.3)
u = Value(-0.4)
a = exp(w * 0.5) + log(v * v + 1) + sqrt(w * w + 1) + abs(u) + sin(u) * cos(w)
b = sigmoid(u * 3) + sigmoid(-(u * 3)) + relu(u + 1) + relu(u) + tanh(w * k)
c = (w * w + 1) ** 0.5 + (v * v + 2) ** -1 + 2 ** w + v ** w + 1 / (v * v + 1) + (u + 1) ** 0
L = (a + b + c - 4 * s0) ** 2
""",
    "deep": """\
# deep: a sum of 1500 terms, deeper than Python's recursion limit
# autodiff: lr=0.00001 steps=4
w = Value(0.0)
L = sum([(w - k) ** 2 for k in range(1500)])
""",
    "lists": """\
# lists: parameters made by comprehensions, indexed by range
# autodiff: lr=0.1 steps=40
xs = [1, 2, 3, 4]
ws = [Value(0.1 * k) for k in range(3)]
grid = [[Value(0.5), Value(-0.5)] for _ in range(2)]
preds = [ws[0] + ws[1] * x + ws[2] * x * x + grid[1][0] * grid[0][1] for x in xs]
L = sum([(p - 2 * x) ** 2 for p, x in zip(preds, xs)]) / len(xs)
""",
    # w's gradient adds 1, 1e16 and -1e16: in the app's order 0, after Python's `0 + w` node 1
    "sum-order": "# sum-order\nw = Value(1.0)\nL = sum([w, w * 1e16, w * -1e16])\n",
    "no-parameter": "# no-parameter\nx = 2\nL = x * 3\n",
    # n is a plain number computed from the parameters' list: k must be computed after it
    "plain-from-parameters": """\
# plain-from-parameters
# autodiff: lr=0.1 steps=30
ws = [Value(1.0), Value(-2.0)]
n = len(ws)
k = n * 2
L = sum([(w - k) ** 2 for w in ws]) / k
""",
    "diverges": "# diverges\n# autodiff: lr=1.5 steps=50\nw = Value(0.0)\nL = (w * 1 - 2)**2\n",
}


def program_of(name: str):
    return parse(PROGRAMS[name], name) if name in PROGRAMS else preset(name).program()


def all_programs() -> list[str]:
    return [p.name for p in presets()] + list(PROGRAMS)


def capped(program) -> takehome.Settings:
    steps = min(int(program.settings.get("steps", 100)), STEP_CAP, step_budget(program))
    return takehome.settings_for(program, steps=steps, every=1)


def run_parts(code_cells: list[str]) -> tuple[dict, list[str]]:
    """Run code cells in order in one namespace, as a notebook kernel would; its printed lines."""
    namespace: dict = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for code in code_cells:
            exec(compile(code, "<cell>", "exec"), namespace)  # noqa: S102 (the test runs it)
    return namespace, out.getvalue().splitlines()


def trainer_run(program, settings: takehome.Settings) -> Trainer:
    trainer = Trainer(program, lr=settings.lr, tol=settings.tol)
    trainer.run(settings.steps)
    return trainer


@pytest.mark.parametrize("name", all_programs())
def test_the_script_ends_with_the_trainers_numbers_to_the_last_bit(name):
    program = program_of(name)
    settings = capped(program)
    namespace, _ = run_parts([takehome.script(program, settings)])
    trainer = trainer_run(program, settings)
    assert [p.data for p in namespace["params"]] == trainer.values  # ==, not approx
    assert namespace["names"] == trainer.names
    # every named number of the last forward pass, as the app computed it
    last = evaluate(program, [p.data for p in trainer.records[-1].params])
    named = {v.label: v.data for v in topological_order(last.loss)
             if v.label in namespace and v.label not in trainer.names}  # parameters: updated since
    assert named or name in ("multi-path", "deep", "sum-order"), "nothing named to compare"
    for label, data in named.items():
        value = namespace[label]
        assert getattr(value, "data", value) == data, label


@pytest.mark.parametrize("name", all_programs())
def test_the_first_gradients_are_the_engines_exactly(name):
    program = program_of(name)
    namespace, _ = run_parts([takehome.script(program, takehome.settings_for(program, steps=1))])
    assert [p.grad for p in namespace["params"]] == gradient(program)[1]


def test_the_rewrites_matter_plain_division_would_differ():
    """The named division is written x * y ** -1 because the plain one gives another float."""
    program = program_of("named-division")
    code = takehome.script(program)
    assert "c = x * y ** (-1)" in code
    assert 7 / 3 != 7 * 3 ** -1
    assert "xs[int(i)]" in code  # the app indexes by the whole float 1.0; Python needs an int
    assert "pairs = list(zip(xs, ys))" in code  # kept and looped over each iteration


def test_the_script_imports_only_math_and_has_the_tutorials_shape():
    code = takehome.script(preset("regression").program())
    tree = ast.parse(code)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [a.name for n in imports for a in n.names] == ["math"]
    for text in ("self._children = children", "self._local_grads = local_grads",
                 "def build_topo(v):", "child.grad += local_grad * v.grad",
                 "m.grad, b.grad = 0, 0", "m.data -= alpha * m.grad", "alpha = 0.01", "steps = 800",
                 "loss = sum([(m * x_val + b - y_val) ** 2 for x_val, y_val in zip(x_train, y_train)])",
                 'print(f"Result: y = {m.data:.2f}x + {b.data:.2f}")'):
        assert text in code, text


def test_only_the_operations_the_program_uses_are_written():
    methods = {}
    for name in ("regression", "network", "functions"):
        tree = ast.parse(takehome.script(program_of(name)))
        cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value")
        methods[name] = {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}
    basic = {"__init__", "__add__", "__mul__", "__pow__", "__neg__", "__sub__", "__radd__",
             "__rsub__", "__rmul__", "backward"}
    assert methods["regression"] == basic
    assert methods["network"] == basic | {"tanh"}
    assert methods["functions"] == basic | {"__truediv__", "__rtruediv__", "__rpow__", "exp", "log",
                                            "tanh", "sigmoid", "relu", "sin", "cos", "sqrt",
                                            "__abs__"}


def test_the_tutorials_power_rule_is_kept_when_every_power_is_a_positive_whole_number():
    assert "(other * self.data**(other-1),)" in takehome.script(preset("three-step").program())
    guarded = takehome.script(program_of("functions"))
    assert "to a fractional power" in guarded and "if n != 0 else 0.0" in guarded


def test_a_graph_deeper_than_the_recursion_limit_gets_the_sort_with_its_own_stack():
    assert "def build_topo" not in takehome.script(program_of("deep"))
    assert "def build_topo" in takehome.script(preset("network").program())


def test_the_notebook_is_valid_and_explains_each_part_before_it():
    program = preset("regression").program()
    nb = nbformat.reads(takehome.notebook(program), as_version=4)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code"] * (len(kinds) // 2)
    text = {c.source.splitlines()[0]: c.source for c in nb.cells if c.cell_type == "markdown"}
    node = text["## Everything in a node"]
    for words in ("its current value", '"global" gradient', "its dependencies",
                  "its local gradients", "child.grad += local_grad * v.grad"):
        assert words in node
    loop = text["## Gradient descent: the three steps, repeated"]
    for words in ("Step 1. Forward pass", "Step 2. Backward pass", "Step 3. Weight update",
                  "w_new = w_old - alpha"):
        assert words in loop
    assert json.loads(takehome.notebook(program)) == json.loads(takehome.notebook(program))


@pytest.mark.parametrize("name", all_programs())
def test_the_notebooks_cells_in_order_print_what_the_script_prints(name):
    program = program_of(name)
    settings = capped(program)
    nb = nbformat.reads(takehome.notebook(program, settings), as_version=4)
    _, from_cells = run_parts([c.source for c in nb.cells if c.cell_type == "code"])
    _, from_script = run_parts([takehome.script(program, settings)])
    assert from_cells == from_script
    assert len(from_cells) > 3


def test_a_missing_nbformat_is_one_sentence_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nbformat", None)
    with pytest.raises(takehome.TakeHomeError, match=r"autodiff-gui\[notebook\]"):
        takehome.notebook(preset("three-step").program())


# --- micrograd -------------------------------------------------------------------------------------
MICROGRAD_PROGRAMS = ["three-step", "multi-path", "regression", "shared-node", "named-division",
                      "lists", "relu-division"]
PROGRAMS["relu-division"] = """\
# relu-division
# autodiff: lr=0.05 steps=30
a = Value(1.5)
b = Value(-0.5)
x = 2
c = relu(a * x + b) / (a * a + 1) + 3 / (b * b + 2)
L = (c - 0.3)**2 + relu(b) + relu(-b)
"""


@pytest.mark.parametrize("name", MICROGRAD_PROGRAMS)
def test_against_micrograd_the_gradients_are_ours(name):
    program = program_of(name)
    code = takehome.script(program, takehome.settings_for(program, steps=1), takehome.MICROGRAD)
    assert "from micrograd.engine import Value" in code
    assert "class Value" not in code
    namespace, _ = run_parts([code])
    assert type(namespace["params"][0]).__module__ == "micrograd.engine"
    ours = gradient(program)[1]
    assert [p.grad for p in namespace["params"]] == pytest.approx(ours, rel=1e-12, abs=1e-15)


def test_against_micrograd_a_whole_run_ends_where_ours_does():
    program = preset("regression").program()
    settings = takehome.settings_for(program)
    namespace, lines = run_parts([takehome.script(program, settings, takehome.MICROGRAD)])
    assert [p.data for p in namespace["params"]] == pytest.approx(trainer_run(program, settings).values,
                                                                  rel=1e-9)
    assert lines[-1] == "Result: y = 2.00x + 0.00"


@pytest.mark.parametrize("name, lacking, where", [
    ("network", "tanh", (10, 12)),
    ("functions", "** by a trained exponent, abs, cos, exp, log, sigmoid, sin, sqrt, tanh", (3, 5)),
    ("named-division", None, None),
])
def test_operations_micrograd_lacks_are_named_at_their_first_use(name, lacking, where):
    if lacking is None:  # +, *, ** by a number and / are micrograd's
        assert "micrograd" in takehome.script(program_of(name), backend=takehome.MICROGRAD)
        return
    with pytest.raises(ProgramError) as info:
        takehome.script(program_of(name), backend=takehome.MICROGRAD)
    assert info.value.message == (f"micrograd's Value has no {lacking} (it has +, -, *, /, ** by a "
                                  f"number and relu); export without --with micrograd to use the "
                                  f"tutorial's Value")
    assert (info.value.line, info.value.column) == where


def test_micrograd_cannot_take_a_graph_deeper_than_its_recursion():
    with pytest.raises(takehome.TakeHomeError, match="recursive"):
        takehome.script(program_of("deep"), backend=takehome.MICROGRAD)


# --- what the script cannot express --------------------------------------------------------------
@pytest.mark.parametrize("source, where, words", [
    ("w = Value(1.0)\nw = Value(2.0)\nL = w * w\n", (2, 1), "`w` is assigned again (first on line 1)"),
    ("print = Value(1.0)\nL = print ** 2\n", (1, 1), "`print` is a name the exported script uses"),
    ("w = Value(0.5)\nparams = [w]\nL = w * w\n", (2, 1), "`params` is a name the exported script"),
    ("xs = [1, 2]\nL = sum([v * 2 for v, alpha in zip(xs, xs)])\n", (2, 23), "`alpha`"),
    ("x = 2\nL = (Value(0.0) * x - 1) ** 2\n", (2, 6), "put Value(...) on a line of its own"),
    ("w = Value(1.0)\nws = [w, Value(2.0)]\nL = ws[0] * ws[1]\n", (2, 10), "on a line of its own"),
    ("x = 1\nxs = [x, 2]\nw = Value(1.0)\nL = w * sum([a / 2 for a in xs])\n", (4, 14),
     "cannot tell whether this divides plain numbers or named ones"),
])
def test_what_the_script_cannot_express_is_an_error_at_its_line_and_column(source, where, words):
    with pytest.raises(ProgramError) as info:
        takehome.script(parse(source, "prog.py"))
    assert (info.value.line, info.value.column) == where
    assert words in info.value.message
    assert str(info.value).startswith(f"prog.py:{where[0]}:{where[1]}: error: ")


def test_the_script_reserves_every_builtin_it_calls_and_no_other():
    import builtins
    loaded = set()
    for name in ("functions", "lists", "deep", "named-division"):
        for backend in (takehome.TUTORIAL,) if name in ("functions", "deep") else takehome.BACKENDS:
            tree = ast.parse(takehome.script(program_of(name), backend=backend))
            loaded |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and hasattr(builtins, n.id)}
    assert loaded - {"sum", "abs"} <= takehome._PYTHON_NAMES
    # and every name the script binds at its top level, but the program's own
    for name in ("functions", "lists", "network"):
        program = program_of(name)
        tree = ast.parse(takehome.script(program))
        own = {n.id for n in ast.walk(program.tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        bound |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        inside = {n.id for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.ListComp, ast.GeneratorExp))
                  for n in ast.walk(f) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assert (bound - own - inside) | {"math"} <= takehome._SCRIPT_NAMES
    # an ordinary name that happens to be a built-in the script never calls is the program's
    namespace, _ = run_parts([takehome.script(parse("input = 2\nid = Value(1.0)\nL = (id * input) ** 2\n",
                                                    "p"))])
    assert namespace["input"] == 2


def test_a_program_that_does_not_run_is_its_own_error():
    with pytest.raises(ProgramError, match="log"):
        takehome.script(parse("w = Value(0.0)\nL = log(w)\n", "p"))


@pytest.mark.parametrize("kwargs, words", [({"lr": 0}, "learning rate"), ({"steps": -1}, "steps"),
                                           ({"every": 0}, "every")])
def test_bad_settings_are_one_sentence(kwargs, words):
    with pytest.raises(takehome.TakeHomeError, match=words):
        takehome.settings_for(preset("three-step").program(), **kwargs)


def test_write_picks_the_format_by_suffix_and_writes_whole_files(tmp_path, monkeypatch):
    program = preset("three-step").program()
    script = takehome.write(program, tmp_path / "loss.py")
    assert script.read_text(encoding="utf-8") == takehome.script(program)
    nb = takehome.write(program, tmp_path / "loss.ipynb")
    nbformat.validate(nbformat.reads(nb.read_text(encoding="utf-8"), as_version=4))
    with pytest.raises(takehome.TakeHomeError, match="neither a .py script nor a .ipynb"):
        takehome.write(program, tmp_path / "loss.txt")

    def full_disk(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("engine.files.os.replace", full_disk)
    with pytest.raises(OSError):
        takehome.write(preset("regression").program(), script)
    assert script.read_text(encoding="utf-8") == takehome.script(program)  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.ipynb", "loss.py"]


def test_text_from_the_program_is_made_one_printable_line():
    source = "# a description with a \x1b[31m escape\nw = Value(1.0)\nL = w * w\n"
    code = takehome.script(parse(source, 'we"ird\u2028name'))
    assert "\x1b" not in code and "\u2028" not in code
    namespace, lines = run_parts([code])
    assert lines[0].startswith('gradient descent on we"ird?name: ')
