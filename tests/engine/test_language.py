"""The loss language: what a program means, what graph it draws, and how it is rejected."""

import math

import pytest

from engine.graph import CONST, INPUT, OP, PARAM
from engine.language import (MAX_NESTING, Binding, ProgramError, ProgramOverflow, evaluate, parse,
                             set_binding)
from engine.language.parser import ResultLine


def run(source, values=None):
    ev = evaluate(parse(source), values)
    ev.loss.backward()
    return ev, ev.snapshot()


def node(graph, name):
    return graph.node_named(name)


def error(source):
    with pytest.raises(ProgramError) as info:
        evaluate(parse(source))
    return info.value


# --- statements ------------------------------------------------------------------------------------

def test_assignments_and_the_last_name_is_the_loss():
    ev, g = run("a = Value(2.0)\nb = a * 3\nc = b + 1\n")
    assert ev.program.loss_name == "c"
    assert ev.loss.data == 7.0
    assert g.nodes[g.root].label == "c"


def test_tuple_assignment():
    ev, g = run("a, b = Value(2.0), Value(5.0)\nx, y = 1, 2\nL = a * x + b * y\n")
    assert [name for name, _ in ev.params] == ["a", "b"]
    assert [name for name, _ in ev.inputs] == ["x", "y"]
    assert ev.loss.data == 12.0
    assert ev.params[0][1].grad == 1.0 and ev.params[1][1].grad == 2.0


def test_nested_tuple_assignment_and_the_last_name_is_the_loss():
    ev, _ = run("a = Value(1.0)\n(p, q), r = [a * 2, a * 3], a * 4\n")
    assert ev.program.loss_name == "r"
    assert ev.loss.data == 4.0


def test_comments_and_blank_lines_are_ignored():
    ev, _ = run("# a comment\n\nw = Value(1.0)  # trailing\n\n   \nL = w * 2\n# end\n")
    assert ev.loss.data == 2.0


def test_a_loss_that_is_a_plain_number_is_still_a_node():
    ev, g = run("L = 2 * 3\n")
    assert ev.loss.data == 6.0
    assert len(g.nodes) == 1


# --- what becomes what in the graph ------------------------------------------------------------------

def test_value_makes_a_parameter_and_a_named_number_an_input_leaf():
    ev, g = run("w = Value(0.0)\nx = 1\ny = 2\nz = w * x\ne = z - y\nL = e**2\n")
    assert [n.name for n in g.nodes] == ["w", "x", "z", "y", "-1", "-y", "e", "L"]
    kinds = {n.name: n.kind for n in g.nodes}
    assert kinds == {"w": PARAM, "x": INPUT, "z": OP, "y": INPUT, "-1": CONST, "-y": OP,
                     "e": OP, "L": OP}
    assert [name for name, _ in ev.params] == ["w"]
    assert [name for name, _ in ev.inputs] == ["x", "y"]
    assert node(g, "x").label == "x"
    assert node(g, "-1").label == ""


def test_numbers_inside_expressions_are_unlabelled_constant_leaves():
    _, g = run("a = Value(3.0)\nb = a**2\nc = 3 * a\nL = b + c\n")
    three = node(g, "3")
    assert three.kind == CONST and three.label == "" and three.children == ()
    assert node(g, "a").grad == 9.0


def test_names_the_loss_does_not_use_are_not_in_the_graph():
    ev, g = run("a = Value(1.0)\nunused = 5\nalso = a * 7\nL = a * 2\n")
    labels = {n.label for n in g.nodes}
    assert "unused" not in labels and "also" not in labels
    assert len(g.nodes) == 3  # a, 2, L


def test_sum_has_no_leading_zero_node():
    _, g = run("a = Value(2.0)\nb = Value(1.0)\nc = Value(4.0)\nL = sum([a, b, c])\n")
    assert len(g.nodes) == 5  # a, b, a + b, c, L
    assert not any(n.kind == CONST for n in g.nodes)
    assert g.nodes[g.root].data == 7.0


def test_sum_of_an_empty_list_is_zero_and_of_one_term_is_that_term():
    ev, _ = run("L = sum([])\n")
    assert ev.loss.data == 0.0
    ev, g = run("a = Value(2.0)\nL = sum([a])\n")
    assert ev.loss is ev.params[0][1]
    assert len(g.nodes) == 1


def test_comprehension_variables_label_nothing():
    _, g = run("a = Value(2.0)\nL = sum([a * x for x in [1, 2]])\n")
    assert {n.label for n in g.nodes} == {"a", "L", ""}
    assert g.nodes[g.root].data == 6.0


def test_a_comprehension_variable_shadows_an_outer_name_only_inside():
    ev, g = run("a = Value(2.0)\nx = 10\ns = sum([a * x for x in [1, 2]])\nL = s + x\n")
    assert ev.loss.data == 16.0
    assert [n.label for n in g.nodes if n.kind == INPUT] == ["x"]


def test_comprehension_variables_do_not_leak():
    e = error("s = sum([i for i in range(3)])\nL = i\n")
    assert (e.line, e.column) == (2, 5)
    assert "`i` is not defined" in e.message


def test_power_by_a_number_has_one_child():
    _, g = run("a = Value(3.0)\ne = a - 1\nL = e**2\n")
    L = g.nodes[g.root]
    assert L.op == "**2" and len(L.children) == 1
    assert L.local_grads == (4.0,)


def test_power_by_a_named_constant_has_one_child():
    ev, g = run("a = Value(3.0)\nn = 2\nL = a**n\n")
    L = g.nodes[g.root]
    assert L.op == "**2" and len(L.children) == 1
    assert "n" not in {x.label for x in g.nodes}
    assert ev.params[0][1].grad == 6.0


def test_power_by_an_expression_of_constants_has_one_child():
    _, g = run("a = Value(3.0)\nn = 2\nm = n + 1\nL = a**m\n")
    assert g.nodes[g.root].op == "**3"
    assert len(g.nodes[g.root].children) == 1


@pytest.mark.parametrize("source", [
    "a = Value(2.0)\nb = Value(3.0)\nL = a**b\n",
    "a = Value(2.0)\nL = a**(a * 2)\n",
    "a = Value(2.0)\nL = 2**a\n",
    "a = Value(2.0)\nx = 3\nL = x**a\n",
])
def test_an_exponent_that_depends_on_a_parameter_makes_a_two_child_power(source):
    ev, g = run(source)
    L = g.nodes[g.root]
    assert L.op == "**" and len(L.children) == 2
    # and its gradient is right
    values = ev.param_values()
    h = 1e-6
    for i, (_, p) in enumerate(ev.params):
        up, down = list(values), list(values)
        up[i] += h
        down[i] -= h
        fd = (evaluate(parse(source), up).loss.data - evaluate(parse(source), down).loss.data) / (2 * h)
        assert p.grad == pytest.approx(fd, rel=1e-6)


def test_the_tutorials_regression_loss_line_runs_as_written():
    source = ("x_train, y_train = [1, 2, 3], [2, 4, 6]\n"
              "m, b = Value(0.0), Value(0.0)\n"
              "alpha = 0.01\n"
              "loss = sum([(m * x_val + b - y_val)**2 for x_val, y_val in zip(x_train, y_train)])\n")
    ev, g = run(source)
    assert ev.loss.data == 4 + 16 + 36
    grads = {name: p.grad for name, p in ev.params}
    assert grads == {"m": 2 * (-2 * 1 - 4 * 2 - 6 * 3), "b": 2 * (-2 - 4 - 6)}
    assert "alpha" not in {n.label for n in g.nodes}
    assert {n.label for n in g.nodes if n.kind == PARAM} == {"m", "b"}


def test_lists_nested_lists_and_subscripts():
    ev, _ = run("xs = [[1, 2], [3, 4]]\na = Value(1.0)\nL = a * xs[1][0] + xs[-1][-1] + xs[0][1]\n")
    assert ev.loss.data == 3 + 4 + 2
    assert ev.params[0][1].grad == 3.0


def test_lists_of_parameters_are_labelled_by_position():
    ev, g = run("w = [Value(1.0), Value(2.0)]\nm = [[Value(3.0)], [Value(4.0)]]\n"
                "L = w[0] * w[1] + m[1][0]\n")
    assert [name for name, _ in ev.params] == ["w[0]", "w[1]", "m[0][0]", "m[1][0]"]
    assert {n.label for n in g.nodes if n.kind == PARAM} == {"w[0]", "w[1]", "m[1][0]"}


def test_zip_range_len_and_generator_expressions():
    ev, _ = run("xs = [1, 2, 3]\nys = [4, 5, 6]\na = Value(2.0)\n"
                "s = sum(a * x * y for x, y in zip(xs, ys))\n"
                "r = sum([i for i in range(4)]) + sum(range(1, 4)) + len(range(0, 10, 3))\n"
                "n = len(xs)\n"
                "L = s + r + n + sum([x * y for x in range(2) for y in xs])\n")
    assert ev.loss.data == 2 * 32 + (6 + 6 + 4) + 3 + (0 + 6)
    assert ev.params[0][1].grad == 32.0


def test_zip_stops_at_the_shortest_list_and_range_counts_down():
    ev, _ = run("L = sum([a * b for a, b in zip([1, 2, 3], [10, 20])]) + sum(range(3, 0, -1))\n")
    assert ev.loss.data == 50 + 6


def test_indexing_and_ranges_with_named_whole_numbers():
    ev, _ = run("xs = [5, 6, 7]\nk = 2\nn = len(xs)\nL = xs[k] + xs[k - 1] + sum(range(n - 1))\n")
    assert ev.loss.data == 7 + 6 + 1


def test_an_index_that_depends_on_a_parameter_is_refused():
    e = error("xs = [5, 6, 7]\na = Value(1.0)\nL = xs[a]\n")
    assert (e.line, e.column) == (3, 8)
    assert "whole number" in e.message


def test_an_unexpected_indent_is_a_syntax_error_on_its_line():
    e = error("x = 1\n  L = x\n")
    assert e.line == 2 and "indent" in e.message


def test_functions_on_plain_numbers_stay_plain():
    ev, g = run("L = exp(0) + log(1) + tanh(0) + sigmoid(0) + relu(-1) + sin(0) + cos(0) + sqrt(4)"
                " + abs(-3)\n")
    assert ev.loss.data == 1 + 0 + 0 + 0.5 + 0 + 0 + 1 + 2 + 3
    assert len(g.nodes) == 1


def test_every_function_on_a_parameter():
    ev, g = run("a = Value(0.5)\nL = exp(a) + log(a) + tanh(a) + sigmoid(a) + relu(a) + sin(a)"
                " + cos(a) + sqrt(a) + abs(a)\n")
    ops = {n.op for n in g.nodes if n.kind == OP}
    assert {"exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs"} <= ops
    expected = (math.exp(0.5) + 1 / 0.5 + (1 - math.tanh(0.5) ** 2)
                + (1 / (1 + math.exp(-0.5))) * (1 - 1 / (1 + math.exp(-0.5))) + 1 + math.cos(0.5)
                - math.sin(0.5) + 0.5 / math.sqrt(0.5) + 1)
    assert ev.params[0][1].grad == pytest.approx(expected, rel=1e-12)


def test_param_values_override_the_starting_values_in_order():
    source = "a = Value(1.0)\nb = Value(2.0)\nL = a * 10 + b\n"
    ev = evaluate(parse(source), [3.0, 4.0])
    assert ev.loss.data == 34.0
    assert ev.param_values() == [3.0, 4.0]
    with pytest.raises(ProgramError, match="expected 2 parameter values"):
        evaluate(parse(source), [1.0, 2.0, 3.0])
    with pytest.raises(ProgramError, match="expected 1 parameter values"):
        evaluate(parse(source), [1.0])


def test_the_same_program_evaluates_to_a_fresh_graph_each_time():
    program = parse("w = Value(0.0)\nL = (w - 2)**2\n")
    a, b = evaluate(program), evaluate(program)
    a.loss.backward()
    assert a.params[0][1].grad == -4.0
    assert b.params[0][1].grad == 0
    assert [n.name for n in a.snapshot().nodes] == [n.name for n in b.snapshot().nodes]


# --- settings, description, bindings ----------------------------------------------------------------

def test_settings_comment_and_description():
    p = parse("# fits a line to three points\n# autodiff: lr=0.01 steps=800\nw = Value(0.0)\nL = w\n")
    assert p.description == "fits a line to three points"
    assert p.settings == {"lr": 0.01, "steps": 800}
    assert isinstance(p.settings["steps"], int)


def test_settings_may_come_first_and_be_indented():
    p = parse("  # autodiff: lr=0.5 steps=10 every=5 tol=1e-8\n# the description\nL = 1\n")
    assert p.settings == {"lr": 0.5, "steps": 10, "every": 5, "tol": 1e-8}
    assert p.description == "the description"


@pytest.mark.parametrize("line, column, words", [
    ("# autodiff: lr=nan steps=10", 13, "the setting `lr` must be a positive number, not nan"),
    ("# autodiff: lr=abc steps=1e9 every=0", 13, "the setting `lr` must be a number, not abc"),
    ("# autodiff: lr=0.1 steps=1e9 every=0", 20, "the setting `steps` must be a whole number, not 1e9"),
    ("# autodiff: lr=0.1 steps=10 every=0", 29, "the setting `every` must be 1 or more, not 0"),
    ("# autodiff: lr=-1", 13, "`lr` must be a positive number, not -1"),
    ("# autodiff: lr=inf", 13, "`lr` must be a positive number, not inf"),
    ("# autodiff: tol=-1", 13, "`tol` must be 0 or a positive number"),
    ("# autodiff: steps=-5", 13, "`steps` must be a whole number, not -5"),
    ("#autodiff:   speed=3", 14, "`speed` is not a setting; an `# autodiff:` line may set lr, steps"),
    ("# autodiff: lr", 13, "the setting `lr` needs a value, as in lr=0.1"),
    ("# autodiff: lr=", 13, "the setting `lr` needs a value"),
    ("# autodiff: lr=0.1 lr=0.2", 20, "the setting `lr` is given twice"),
    ("  # autodiff: steps=ten", 15, "`steps` must be a whole number, not ten"),
])
def test_a_bad_setting_is_an_error_at_its_line_and_column_naming_the_key(line, column, words):
    with pytest.raises(ProgramError) as info:
        parse(f"# a description\n{line}\nw = Value(1.0)\nL = w\n")
    e = info.value
    assert (e.line, e.column) == (2, column), str(e)
    assert words in e.message, e.message
    assert line[column - 1:].split("=")[0].split()[0] in e.message  # the key it names


# --- the result line -----------------------------------------------------------------------------

def test_a_result_line_is_parsed_into_fields_and_rendered_from_numbers():
    p = parse('# autodiff: lr=0.01 result="y = {m:.2f}x + {b:.2f} (loss {L})"\n'
              "m, b = Value(0.0), Value(0.0)\nL = (m + b - 1)**2\n")
    r = p.result_line
    assert isinstance(r, ResultLine) and r.names == ("m", "b", "L")
    assert (r.line, r.column) == (1, 21)
    assert r.render({"m": 1.99901, "b": 0.00225344, "L": 2.2e-6}) == "y = 2.00x + 0.00 (loss 2.2e-06)"
    assert r.render({"m": -0.5, "b": 3.14159, "L": 0}) == "y = -0.50x + 3.14 (loss 0)"


def test_a_result_line_may_use_single_quotes_and_doubled_braces():
    r = parse("# autodiff: result='{{w}} = {w:.3f}'\nw = Value(1.0)\nL = w\n").result_line
    assert r.render({"w": 2.0}) == "{w} = 2.000"


@pytest.mark.parametrize("text, words", [
    ('"{m.__class__}"', "may only name a variable in braces"),
    ('"{m[0]}"', "may only name a variable in braces"),
    ('"{m!r}"', "may only name a variable in braces"),
    ('"{m:>{w}}"', "has a lone `{`"),
    ('"{m:x}"', "may only format a number as {m:.Nf}"),
    ('"{m:.2e}"', "may only format a number as {m:.Nf}"),
    ('"{__import__}"', "does not assign"),
    ('"{q}"', "names `q`, which the program does not assign"),
    ('"{}"', "may only name a variable in braces"),
    ('"a } b"', "has a lone `}`"),
    ('"open {"', "has a lone `{`"),
    ('"no closing quote', "must be quoted text"),
    ("y={m}", "must be quoted text"),
])
def test_a_result_line_only_names_program_variables(text, words):
    with pytest.raises(ProgramError) as info:
        parse(f"# autodiff: result={text}\nm = Value(1.0)\nL = m\n")
    assert (info.value.line, info.value.column) == (1, 13)
    assert words in info.value.message, info.value.message


def test_rendering_a_name_that_is_no_number_is_an_error_at_the_directive():
    r = parse('# autodiff: result="{xs}"\nxs = [1, 2]\nL = sum(xs)\n').result_line
    with pytest.raises(ProgramError) as info:
        r.render({"L": 3.0}, "p.py")
    assert str(info.value).startswith("p.py:1:13: error: the result line names `xs`")


# --- numbers that are not finite ------------------------------------------------------------------

@pytest.mark.parametrize("source, line, column", [
    ("w = Value(1e309)\nL = w\n", 1, 11),
    ("w = Value(-1e309)\nL = w\n", 1, 12),
    ("w = Value(1e308*10)\nL = w\n", 1, 11),
    ("w = Value(1.0)\nL = w + (1e309 - 1e309)\n", 2, 10),
    ("w = Value(1.0)\nL = w * (2.0**1024)\n", 2, 10),
    ("w = Value(1.0)\nL = w * (1e200 * 1e200 - 1)\n", 2, 10),
    ("x = 1e308 + 1e308\nL = x\n", 1, 5),
    ("L = -(1e308 * -1e308)\n", 1, 7),
    ("L = " + "9" * 400 + "\n", 1, 5),
])
def test_a_number_that_is_not_finite_is_an_error_at_its_column(source, line, column):
    with pytest.raises(ProgramOverflow) as info:
        parse(source)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert "too large for a float" in info.value.message


@pytest.mark.parametrize("source, value", [
    ("L = 1e308 * 1.5\n", 1.5e308),
    ("L = 2.0**1023\n", 2.0**1023),
    ("L = 1e-320 * 1e-10\n", 0.0),  # underflow to 0 is a number
    ("L = -(1e308) - 1e308 * 0.5\n", -1.5e308),
])
def test_large_but_finite_literal_arithmetic_is_accepted(source, value):
    assert evaluate(parse(source)).loss.data == value


@pytest.mark.parametrize("source, words", [
    ("L = 1 / 0\n", "division"),
    ("L = (-8.0) ** 0.5\n", "negative base"),
    ("L = 0.0 ** -1\n", "divides by zero"),
])
def test_folding_leaves_domain_errors_to_the_interpreter(source, words):
    parse(source)  # the parser does not judge these; the interpreter names the operation
    with pytest.raises(ProgramError, match=words):
        evaluate(parse(source))


def test_the_checker_has_one_method_per_node_type_it_accepts():
    from engine.language.parser import _Checker
    accepted = {name.removeprefix("check_") for name in vars(_Checker) if name.startswith("check_")
                and name[6:7].isupper()}
    assert accepted == {"Constant", "Name", "BinOp", "UnaryOp", "Call", "List", "Tuple",
                        "Subscript", "ListComp", "GeneratorExp"}
    interpreted = {name.removeprefix("eval_") for name in dir(__import__(
        "engine.language.interpreter", fromlist=["_Interpreter"])._Interpreter)
        if name.startswith("eval_")}
    assert accepted == interpreted  # what the checker lets through, the interpreter can run


def test_no_description_when_code_comes_first():
    p = parse("L = 1\n# too late\n")
    assert p.description == ""
    assert p.settings == {}


def test_bindings_locate_each_number():
    source = "w = Value(0.0)\nx = 1\ny = -2.5\nm, b = Value(0.25), Value(3.0)\nL = w*x + y + m + b\n"
    p = parse(source)
    assert p.binding("w") == Binding("w", "param", 0.0, 1, 11, 14)
    assert p.binding("x") == Binding("x", "input", 1.0, 2, 5, 6)
    assert p.binding("y") == Binding("y", "input", -2.5, 3, 5, 9)
    assert p.binding("m") == Binding("m", "param", 0.25, 4, 14, 18)
    assert p.binding("b") == Binding("b", "param", 3.0, 4, 27, 30)
    assert [b.name for b in p.bindings] == ["w", "x", "y", "m", "b"]
    with pytest.raises(KeyError):
        p.binding("L")


def test_binding_columns_count_characters_not_bytes():
    source = "é, w = 1, Value(2.0)\nL = w * é\n"
    p = parse(source)
    b = p.binding("w")
    assert (b.line, b.column, b.end_column) == (1, 17, 20)
    assert source.splitlines()[0][b.column - 1:b.end_column - 1] == "2.0"


def test_a_name_bound_twice_keeps_only_the_last_binding():
    p = parse("x = 1\nx = 2\nL = x\n")
    assert [b.line for b in p.bindings] == [2]


@pytest.mark.parametrize("name, value, expected_line", [
    ("w", 1.5, "w = Value(1.5)"),
    ("x", -3.0, "x = -3.0"),
    ("y", 0.125, "y = 0.125  # target"),
    ("b", 7.0, "m, b = Value(0.25), Value(7.0)"),
    ("m", 1e20, "m, b = Value(1e+20), Value(3.0)"),
])
def test_set_binding_rewrites_exactly_one_number(name, value, expected_line):
    source = ("# é: a comment\nw = Value(0.0)\nx = 1\ny = -2  # target\n"
              "m, b = Value(0.25), Value(3.0)\nL = w*x + y + m + b\n")
    p = parse(source)
    binding = p.binding(name)
    new = set_binding(source, binding, value)
    old_lines, new_lines = source.splitlines(), new.splitlines()
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    assert changed == [binding.line - 1]
    assert new_lines[binding.line - 1] == expected_line
    assert len(old_lines) == len(new_lines)
    assert parse(new).binding(name).value == value


def test_set_binding_keeps_line_endings_and_the_final_newline():
    source = "w = Value(0.0)\r\nL = w * 2\r\n"
    new = set_binding(source, parse(source).binding("w"), 4.0)
    assert new == "w = Value(4.0)\r\nL = w * 2\r\n"


# --- errors ------------------------------------------------------------------------------------------

REJECTED = [
    # (program, line, column, words the message contains)
    ("import os\nL = 1\n", 1, 1, "imports"),
    ("from os import path\nL = 1\n", 1, 1, "imports"),
    ("x = 1\nL = x.real\n", 2, 5, "attribute"),
    ("x = 1\nL = x[0]\n", 2, 5, "only lists can be indexed"),
    ("a = Value(1.0)\nL = a[0]\n", 2, 5, "only lists can be indexed"),
    ("L = (lambda: 1)\n", 1, 6, "lambda"),
    ("L = 'text'\n", 1, 5, "text strings"),
    ('L = f"{1}"\n', 1, 5, "text strings"),
    ("while 1:\n    x = 1\nL = 1\n", 1, 1, "loops"),
    ("for i in range(3):\n    x = 1\nL = 1\n", 1, 1, "loops"),
    ("def f():\n    return 1\nL = 1\n", 1, 1, "functions cannot be defined"),
    ("x = 1\nL = y + 1\n", 2, 5, "`y` is not defined"),
    ("L = foo(1)\n", 1, 5, "`foo` is not a function"),
    ("L = open('x')\n", 1, 5, "`open` is not a function"),
    ("x = [1]\nL = (x)(1)\n", 2, 6, "`x` is not a function"),
    ("L = sum([1])(2)\n", 1, 5, "only the language's functions can be called"),
    ("print(1)\nL = 1\n", 1, 1, "print"),
    ("L = exp(x=1)\n", 1, 11, "keyword arguments"),
    ("L = Value(1.0, label=2)\n", 1, 22, "keyword arguments"),
    ("xs = [1, 2]\nL = xs[0:1]\n", 2, 8, "slices"),
    ("L = sum([i for i in range(3) if i > 0])\n", 1, 33, "`if` inside a comprehension"),
    ("L = 1\nL += 1\n", 2, 1, "`+=`"),
    ("L = 1 < 2\n", 1, 5, "comparisons"),
    ("L = 1 if 1 else 2\n", 1, 5, "if c else"),
    ("L = {1: 2}\n", 1, 5, "only lists"),
    ("L = True\n", 1, 5, "True and False"),
    ("L = None\n", 1, 5, "None"),
    ("L = 1j\n", 1, 5, "complex"),
    ("a = b = 1\n", 1, 1, "one name at a time"),
    ("x = 1\nx.y = 2\nL = 1\n", 2, 1, "attributes cannot be assigned"),
    ("xs = [1]\nxs[0] = 2\nL = 1\n", 2, 1, "list elements cannot be assigned"),
    ("sum = 1\nL = sum\n", 1, 1, "built-in"),
    ("__x = 1\nL = 1\n", 1, 1, "two underscores"),
    ("L = [*[1, 2]]\n", 1, 6, "unpacking"),
    ("L = exp\n", 1, 5, "is a function: call it"),
    ("L = [1, 2]\n", 1, 1, "must be a number, not a list"),
    ("L = [1, 2] + 1\n", 1, 5, "needs a number, not a list"),
    ("L = exp(1, 2)\n", 1, 5, "takes 1 argument"),
    ("L = Value(Value(1.0))\n", 1, 11, "plain number"),
    ("xs = [1, 2]\nL = xs[2]\n", 2, 8, "outside the list"),
    ("xs = [1, 2]\nL = xs[0.5]\n", 2, 8, "whole number"),
    ("L = sum(range(1, 5, 0))\n", 1, 21, "step"),
    ("a, b = 1\nL = a\n", 1, 1, "cannot unpack"),
    ("a, b = [1, 2, 3]\nL = a\n", 1, 1, "2 names but 3 values"),
    ("L = log(0)\n", 1, 5, "log"),
    ("a = Value(0.0)\nL = 1 / a\n", 2, 5, "division"),
    ("L = 1 / 0\n", 1, 5, "division"),
    ("a = Value(-1.0)\nL = a**0.5\n", 2, 5, "negative base"),
    ("a = Value(-1.0)\nL = sqrt(a)\n", 2, 5, "sqrt"),
    ("a = Value(0.0)\nL = a**-1\n", 2, 5, "power"),
    ("", 1, 1, "empty"),
    ("# only a comment\n", 1, 1, "empty"),
    ("L = 1 $\n", 1, 7, "not valid Python syntax"),
    ("x = 1\nL = (x +\n", 2, 5, "'(' was never closed"),
]


@pytest.mark.parametrize("source, line, column, words", REJECTED,
                         ids=[r[0].splitlines()[0] if r[0] else "<empty>" for r in REJECTED])
def test_rejected_programs_say_where_and_why(source, line, column, words):
    e = error(source)
    assert (e.line, e.column) == (line, column), e
    assert words in e.message, e.message
    assert str(e) == f"<program>:{line}:{column}: error: {e.message}"
    assert "Traceback" not in e.message and len(e.message) < 300


@pytest.mark.parametrize("source, line, column, end", [
    # the error comes after non-ASCII characters on its line: ast counts UTF-8 bytes
    ("ü = 1\nL = ü + ü + y\n", 2, 13, 14),
    ("ü = 1\nL = ü * ü.real\n", 2, 9, 15),
    ("ü = 1\nL = [ü for ü in range(3) if ü]\n", 2, 29, 30),
    ("π = 3\nL = π * 'π'\n", 2, 9, 12),
    ("L = 1 # ü\nM = 'ü' + ü\n", 2, 5, 8),
    ("ééé = 1 $\n", 1, 9, None),
    ("x = 'é' ; L = (1 +\n", 1, 15, None),
])
def test_columns_count_characters_after_non_ascii_text(source, line, column, end):
    e = error(source)
    assert (e.line, e.column) == (line, column), e
    if end is not None:
        assert e.end_column == end


def test_an_error_names_its_source():
    with pytest.raises(ProgramError) as info:
        parse("L = (\n", "my-loss.py")
    assert str(info.value).startswith("my-loss.py:1:5: error: ")
    with pytest.raises(ProgramError) as info:
        evaluate(parse("L = y\n", "my-loss.py"))
    assert str(info.value) == "my-loss.py:1:5: error: `y` is not defined; assign it on an earlier line"


def test_nesting_deeper_than_the_limit_is_refused_with_the_limit():
    ok = "L = " + "-" * MAX_NESTING + "1\n"
    assert evaluate(parse(ok)).loss.data == 1.0
    e = error("L = " + "-" * (MAX_NESTING + 1) + "1\n")
    assert str(MAX_NESTING) in e.message


def test_parse_is_quiet_about_python_syntax_warnings(recwarn):
    # "1for" is valid Python that makes the compiler warn; the warning must not escape
    ev = evaluate(parse("L = sum([1for i in range(3)])\n"))
    assert ev.loss.data == 3.0
    e = error("L = '\\d'\n")  # an invalid escape, in a string the language rejects anyway
    assert "text strings" in e.message
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]


def test_a_non_text_program_is_refused():
    with pytest.raises(ProgramError):
        parse(b"L = 1\n")  # type: ignore[arg-type]


# --- what mutation testing found unguarded (tools/mutate.py) ----------------------------------------

def test_the_documented_bounds_on_program_size_and_range_length():
    head = "L = Value(1.0)\n"
    assert parse(head + "#" * (100_000 - len(head))).loss_name == "L"
    with pytest.raises(ProgramError, match="is 100,001 characters long; the limit is 100,000"):
        parse(head + "#" * (100_001 - len(head)))
    assert evaluate(parse("L = Value(1.0) * len(range(100000))")).loss.data == 100_000
    e = error("L = Value(1.0) * len(range(100001))")
    assert "range(...) may give at most 100,000 numbers" in str(e)


def test_each_kind_of_rejected_line_gets_its_own_sentence():
    assert "`if` is not part of the language" in str(error("w = Value(1.0)\nif w:\n    L = w"))
    assert "only numbers are supported" in str(error("L = ..."))
    assert "`:=` is not part of the language" in str(error("L = (x := 3)"))
    assert "`Starred` expressions are not part of the language" in str(error("L = *a"))


def test_a_source_python_cannot_read_says_why():
    with pytest.raises(ProgramError, match="null bytes"):
        parse("L = 1\x00")


def test_an_error_on_an_expression_over_several_lines_underlines_the_rest_of_its_first_line():
    e = error("w = Value(1.0)\nL = (w <\n     w)")
    assert (e.line, e.column, e.end_column) == (2, 6, len("L = (w <") + 1)


def test_assignment_finds_the_statement_that_made_a_name():
    from engine.language.parser import assignment

    program = parse("a, b = Value(1.0), Value(2.0)\nws = [Value(1.0)]\nb = b * 2\nL = a*b + ws[0]")
    assert assignment(program, "b").lineno == 1  # inside a tuple target
    assert assignment(program, "b", 1).lineno == 3  # the second time b is assigned
    assert assignment(program, "ws[0]").lineno == 2  # an element counts as its list
    assert assignment(program, "L").lineno == 4
    assert assignment(program, "b", 2) is None
    assert assignment(program, "zz") is None


def test_the_description_is_the_first_comment_even_after_blank_lines():
    assert parse("\n\n   \n# Fit a line\nL = Value(1.0)").description == "Fit a line"
    assert parse("L = Value(1.0)\n# too late\n").description == ""


def test_a_long_name_is_cut_to_forty_characters_in_a_message():
    from engine.language.parser import short

    assert short("x" * 40) == "x" * 40
    assert short("x" * 41) == "x" * 39 + "…"
    e = error("L = " + "y" * 50)
    assert f"`{'y' * 39}…` is not defined" in str(e)


@pytest.mark.parametrize("source, where, message", [
    ("__x = Value(1.0)\nL = __x", (1, 1), "names may not start with two underscores"),
    ("w = Value(1.0)\nL = w % 2", (2, 5), "only + - * / and ** are supported"),
    ("w = Value(1.0)\nL = ~w", (2, 5), "only the unary minus (and plus) is supported"),
    ("w = Value(1.0)\nw += 1\nL = w", (2, 1), "`+=` and friends are not supported"),
    ("w = Value(1.0)\nL = w*w\nL.backward()", (3, 1), "backward() is the trainer's job"),
    ("print(1)\nL = Value(1.0)", (1, 1), "print is not needed"),
    ('L = f"x"', (1, 5), "text strings are not part of the language"),
    # folded constant by constant: the outer product overflows, though the inner one does not
    ("L = Value(1.0) * ((1e200 * 1e100) * 1e100)", (1, 19), "*: the result is too large for a float"),
])
def test_a_rejected_construct_is_named_at_its_place(source, where, message):
    e = error(source)
    assert (e.line, e.column) == where
    assert message in str(e)


def test_a_program_and_its_parts_are_frozen():
    import dataclasses

    p = parse("# autodiff: result=\"w = {w}\"\nw = Value(1.0)\nL = w * 2")
    for obj in (p, p.bindings[0], p.result_line):
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.name = "changed"


def test_a_setting_without_a_name_and_a_long_bad_value_are_clear():
    with pytest.raises(ProgramError, match="a setting needs a name before `=`") as info:
        parse("# autodiff: =0.1\nL = Value(1.0)")
    assert (info.value.line, info.value.column) == (1, 13)
    with pytest.raises(ProgramError) as info:
        parse("# autodiff: lr=" + "a" * 25 + "\nL = Value(1.0)")
    assert str(info.value).endswith("must be a number, not " + "a" * 19 + "…")
    with pytest.raises(ProgramError) as info:
        parse("# autodiff: steps=" + "b" * 20 + "\nL = Value(1.0)")
    assert str(info.value).endswith("must be a whole number, not " + "b" * 20)


@pytest.mark.parametrize("source, where, message", [
    ("() = 1\nL = Value(1.0)", (1, 1), "nothing to assign to"),
    ("L = sum([Value(1.0) for i in range(3) if i])", (1, 42), "`if` inside a comprehension"),
])
def test_more_rejected_constructs_at_their_place(source, where, message):
    e = error(source)
    assert (e.line, e.column) == where and message in str(e)


def test_constants_fold_with_their_sign_and_every_may_be_one():
    # folded with its minus, 1e308 + -1e308 is 0, not an overflow
    assert evaluate(parse("L = Value(1.0) * (1e308 + -1e308)")).loss.data == 0.0
    assert parse("# autodiff: every=1\nL = Value(1.0)").settings == {"every": 1}
