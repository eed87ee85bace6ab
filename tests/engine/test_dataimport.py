"""File → Import data…: a CSV becomes literal lists in the program, bad rows named by line."""

import pytest

from engine.dataimport import DataFileError, read_csv, with_data
from engine.dataview import data_view
from engine.language import parse
from engine.presets import preset
from engine.train import Trainer


def test_a_csv_becomes_a_starter_program_that_fits_a_line():
    table = read_csv("x,y\n1,2\n\n2,4\n3,6\n", "line.csv")
    assert table.header == ("x", "y") and table.rows == ((1, 2), (2, 4), (3, 6))
    source = with_data("w = Value(1.0)\nL = w**2\n", table)
    assert "xs = [1, 2, 3]\nys = [2, 4, 6]\n" in source
    assert "data=xs,ys" in source and "def predict(x): return m * x + b" in source
    program = parse(source, "p")
    trainer = Trainer(program, lr=program.settings["lr"])
    trainer.run(program.settings["steps"])
    view = data_view(program)
    assert view.predictions(trainer.values) == pytest.approx([2, 4, 6], abs=0.05)


def test_a_program_that_names_its_data_keeps_its_model():
    table = read_csv("a,b,label\n0,0,-1\n1,1,-1\n0,1,1\n1,0,1\n0.5,0.5,-1\n", "xor.csv")
    old = preset("network").source()
    source = with_data(old, table)
    assert "xs = [[0, 0], [1, 1], [0, 1], [1, 0], [0.5, 0.5]]" in source
    assert "ys = [-1, -1, 1, 1, -1]" in source
    assert source.splitlines()[0] == old.splitlines()[0]  # the network, its loss, its predict
    assert old.splitlines()[-1] == source.splitlines()[-1]
    assert len(data_view(parse(source, "p")).points) == 5


def test_a_model_of_another_shape_gets_a_starter_of_the_new_shape():
    table = read_csv("u,v,w,t\n1,2,3,4\n2,3,4,5\n", "three.csv")
    source = with_data(preset("network").source(), table)
    assert "w = [Value(0.0), Value(0.0), Value(0.0)]" in source
    assert data_view(parse(source, "p")).model.dim == 3


@pytest.mark.parametrize("text, message", [
    ("x,y\n1,2\n3\n", "bad.csv:3: this row has 1 values but the header names 2 columns"),
    ("x,y\n1,2\n\n1,abc\n", "bad.csv:4: column 2 (y) holds `abc`, which is not a number"),
    ("x,y\n1,nan\n", "bad.csv:2: column 2 holds nan; every value must be a finite number"),
    ("x\n1\n", "bad.csv:1: the header names 1 column"),
    ("", "bad.csv is empty"),
    ("x,y\n", "bad.csv:1: only a header"),
])
def test_a_bad_row_is_named_by_its_line(text, message):
    with pytest.raises(DataFileError) as info:
        read_csv(text, "bad.csv")
    assert str(info.value).startswith(message)


def test_data_past_the_languages_bounds_is_refused_with_the_bound():
    rows = "".join(f"{i},{i}\n" for i in range(30_000))
    with pytest.raises(DataFileError) as info:
        with_data("", read_csv("x,y\n" + rows, "big.csv"))
    assert "a program may hold at most 100,000" in str(info.value)
    wide = "a,b,c,d,e,f,g,h,t\n" + "".join("1,2,3,4,5,6,7,8,9\n" for _ in range(5_000))
    with pytest.raises(DataFileError) as info:
        with_data("", read_csv(wide, "wide.csv"))
    assert "200,000 operations" in str(info.value) or "100,000" in str(info.value)


def test_lists_assigned_together_become_a_line_each_and_the_model_stays():
    table = read_csv("x,y\n0,1\n1,3\n2,5\n3,7\n", "odd.csv")
    source = with_data(preset("regression").source(), table)
    assert "x_train = [0, 1, 2, 3]\ny_train = [1, 3, 5, 7]\n" in source
    assert "def predict(x): return m * x + b" in source
    assert 'result="y = {m:.2f}x + {b:.2f}"' in source
    program = parse(source, "p")
    trainer = Trainer(program, lr=0.01)
    trainer.run(2000)
    assert data_view(program).predictions(trainer.values) == pytest.approx([1, 3, 5, 7], abs=0.05)
