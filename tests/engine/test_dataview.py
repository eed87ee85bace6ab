"""The data view: data=xs,ys and def predict(x), their errors, and the view of the presets."""

import math
import random

import pytest

from engine.dataview import CURVE, HALF, MAP, NONE, SIGN, data_view
from engine.language import ProgramError, evaluate, parse
from engine.language.interpreter import _Interpreter
from engine.presets import preset
from engine.train import Trainer

LINE = """# autodiff: lr=0.01 data=xs,ys
xs = [1, 2, 3]
ys = [2, 4, 6]
m, b = Value(0.5), Value(1.0)
loss = sum([(m * x + b - y)**2 for x, y in zip(xs, ys)])
def predict(x): return m * x + b
"""

LOOSE = LINE.replace("loss = sum([(m * x + b - y)**2 for x, y in zip(xs, ys)])",
                     "loss = (m * 2 + b - 4)**2")  # a loss that reads no data


def error(source):
    with pytest.raises(ProgramError) as info:
        evaluate(parse(source, "p"))
    return info.value


def trained(name):
    program = preset(name).program()
    trainer = Trainer(program, lr=program.settings["lr"])
    trainer.run(program.settings["steps"])
    return program, trainer


def test_a_program_names_its_data_and_its_model():
    program = parse(LINE, "p")
    assert (program.data.inputs, program.data.targets) == ("xs", "ys")
    assert program.model.arg == "x"
    # the def is not a statement of the loss: the graph and the loss are as without it
    assert all(type(s).__name__ == "Assign" for s in program.tree.body)
    assert program.loss_name == "loss"
    view = data_view(program)
    assert view.kind == CURVE and not view.is_classifier
    assert view.points == ((1.0,), (2.0,), (3.0,)) and view.targets == (2.0, 4.0, 6.0)
    assert view.predictions([0.5, 1.0]) == [1.5, 2.0, 2.5]
    assert view.predictions([2.0, 0.0]) == [2.0, 4.0, 6.0]
    xs, ys = view.curve([2.0, 1.0], n=5)
    assert xs[0] == pytest.approx(0.8) and xs[-1] == pytest.approx(3.2)  # the range, padded
    assert ys == pytest.approx([2 * x + 1 for x in xs])
    assert view.accuracy([2.0, 0.0]) is None


def test_a_program_without_data_has_no_view():
    assert data_view(preset("three-step").program()) is None


def test_the_regression_line_turns_onto_y_equals_2x():
    program, trainer = trained("regression")
    view = data_view(program)
    assert view.kind == CURVE
    assert view.predictions(trainer.start_values) == [0.0, 0.0, 0.0]
    assert view.predictions(trainer.values) == pytest.approx([2, 4, 6], abs=0.01)


def test_moons_holds_every_point_over_the_last_half_of_its_steps():
    program = preset("moons").program()
    view = data_view(program)
    trainer = Trainer(program, lr=program.settings["lr"], keep_records=False)
    accuracies = []
    for _ in range(program.settings["steps"]):
        accuracies.append(view.accuracy(trainer.values))
        trainer.step()
    accuracies.append(view.accuracy(trainer.values))
    assert accuracies[0] < 0.5
    assert set(accuracies[213:]) == {1.0}  # from update 213 on, as the README says
    assert accuracies[212] < 1.0


def test_moons_reaches_every_point_within_its_steps():
    program, trainer = trained("moons")
    view = data_view(program)
    assert view.kind == MAP and view.labels == SIGN and len(view.points) == 40
    assert sorted(set(view.targets)) == [-1.0, 1.0]
    assert view.accuracy(trainer.start_values) < 0.9
    assert view.accuracy(trainer.values) == 1.0
    grid = view.grid(trainer.values, n=12)
    assert len(grid.xs) == len(grid.ys) == 12 and all(len(r) == 12 for r in grid.z)
    flat = [v for r in grid.z for v in r]
    assert min(flat) < 0 < max(flat)  # the boundary crosses the grid


def test_xor_gets_its_data_view():
    program, trainer = trained("network")
    view = data_view(program)
    assert view.kind == MAP and view.labels == SIGN
    assert view.accuracy(trainer.values) == 1.0


@pytest.mark.parametrize("name", ["regression", "network", "moons"])
def test_the_batch_gives_the_interpreters_numbers(name):
    """predict over many points at once equals the interpreter's predict at each point."""
    program = preset(name).program()
    view = data_view(program)
    ev = evaluate(program)
    rng = random.Random(3)
    params = [p + rng.uniform(-0.5, 0.5) for p in ev.param_values()]
    points = [tuple(rng.uniform(-2, 2) for _ in range(view.model.dim)) for _ in range(7)]
    batch = view.model.predict(points, params)
    at = evaluate(program, params)
    run = _Interpreter(program, None)
    run.env = at.env
    for point, got in zip(points, batch):
        x = point[0] if view.model.scalar_input else list(point)
        want = run.eval(program.model.expr, {program.model.arg: x})
        assert got == pytest.approx(getattr(want, "data", want), rel=1e-12)


def test_labels_0_and_1_are_split_at_one_half():
    source = LINE.replace("ys = [2, 4, 6]", "ys = [0, 1, 1]")
    view = data_view(parse(source, "p"))
    assert view.labels == HALF and view.threshold == 0.5
    assert view.accuracy([0.0, 0.6]) == pytest.approx(2 / 3)  # 0.6 everywhere: class 1
    assert view.accuracy([1.0, -0.6]) == 1.0  # 0.4, 1.4, 2.4: classes 0, 1, 1
    assert view.classes([0.2, 0.7, math.nan]) == [0.0, 1.0, None]


def test_more_than_two_inputs_draw_nothing_but_still_score():
    source = """# autodiff: data=xs,ys
xs = [[1, 2, 3], [0, 1, 0]]
ys = [1, -1]
w = [Value(0.1), Value(-0.2), Value(0.3)]
loss = sum([(sum([a * b for a, b in zip(w, x)]) - y)**2 for x, y in zip(xs, ys)])
def predict(x): return sum([a * b for a, b in zip(w, x)])
"""
    view = data_view(parse(source, "p"))
    assert view.kind == NONE and view.model.dim == 3
    assert view.accuracy([0.1, -0.2, 0.3]) == 1.0  # 0.6 and -0.2
    assert view.accuracy([0.1, 0.3, 0.3]) == 0.5  # 1.6 and 0.3


def test_outside_its_domain_the_model_is_nan_not_an_error():
    source = LINE.replace("return m * x + b", "return log(m * x + b)")
    view = data_view(parse(source, "p"))
    out = view.model.predict([(-10.0,), (1.0,)], [1.0, 0.0])
    assert math.isnan(out[0]) and out[1] == 0.0
    assert all(math.isnan(v) for v in view.model.predict([(1.0,)], [math.nan, 0.0]))


def test_a_model_that_ignores_its_input_is_flat():
    source = LINE.replace("return m * x + b", "return b")
    assert data_view(parse(source, "p")).model.predict([(1.0,), (5.0,)], [0.0, 3.0]) == [3.0, 3.0]


BAD = [
    (LINE.replace("data=xs,ys", "data=xs"), 1, 21, "names two lists"),
    (LINE.replace("data=xs,ys", "data=xs,zs"), 1, 21, "`zs`, which the program does not assign"),
    (LINE.replace("ys = [2, 4, 6]", "ys = [2, 4]"), 1, 21, "`xs` has 3 points but `ys` has 2"),
    (LOOSE.replace("xs = [1, 2, 3]", "xs = 3"), 1, 21, "`xs` must be a list"),
    (LOOSE.replace("ys = [2, 4, 6]", "ys = []"), 1, 21, "`ys` is empty"),
    (LOOSE.replace("xs = [1, 2, 3]", "xs = [1, [2], 3]"), 1, 21, "`xs[1]` must be a number"),
    (LOOSE.replace("xs = [1, 2, 3]", "xs = [[1], [2, 1], [3]]"), 1, 21,
     "`xs[1]` must be a list of 1 number,"),
    (LOOSE.replace("ys = [2, 4, 6]\nm, b = Value(0.5), Value(1.0)",
                   "m, b = Value(0.5), Value(1.0)\nys = [2, m, 6]"), 1, 21,
     "`ys[1]` must be a number"),
    (LINE.replace("def predict(x): return m * x + b\n", ""), 1, 21, "needs a model"),
    (LINE.replace(" data=xs,ys", ""), 6, 1, "name the data"),
    (LINE.replace("def predict(x)", "def f(x)"), 6, 1, "functions cannot be defined"),
    (LINE.replace("def predict(x)", "def predict(x, y)"), 6, 1, "takes one input"),
    (LINE.replace("return m * x + b", "y = 1"), 6, 17, "one `return <expression>`"),
    (LINE.replace("return m * x + b", "return predict(x)"), 6, 24, "cannot call itself"),
    (LINE.replace("return m * x + b", "return Value(1.0) * x"), 6, 24, "does not make them"),
    (LINE.replace("return m * x + b", "return [m * x]"), 6, 24, "one number"),
    (LINE.replace("return m * x + b", "return m * x + q"), 6, 32, "`q` is not defined"),
    (LINE.replace("return m * x + b", "return x[0]"), 6, 24, "only lists can be indexed"),
    (LINE.replace("return m * x + b", "return loss * x"), 6, 24, "computed from the parameters"),
    (LINE.replace("return m * x + b", "return m * x if x else b"), 6, 24, "not part of the language"),
    (LINE + "L = predict(3)\n", 7, 5, "for the data view, not the loss"),
    (LINE + "def predict(x): return x\n", 7, 1, "defined twice"),
]


@pytest.mark.parametrize("source, line, column, words", BAD, ids=[w for *_, w in BAD])
def test_a_mistake_in_the_data_or_the_model_says_where(source, line, column, words):
    e = error(source)
    assert words in e.message, e.message
    assert (e.line, e.column) == (line, column), e
