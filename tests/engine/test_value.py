"""The ``Value`` node: every operation's value and gradient, domain errors, accumulation,
the tutorial's backward semantics, and a chain a million nodes deep."""

import gc
import math
import sys

import pytest

from engine.value import DomainError, Value, topological_order, zero_grad


def central_difference(f, x, h=1e-6):
    """dF/dx by central differences, where ``f`` maps a float to a float."""
    return (f(x + h) - f(x - h)) / (2 * h)


def grad_of(build, *xs):
    """Build ``build(*leaves)`` from fresh leaves, back-propagate, return (value, leaf grads)."""
    leaves = [Value(x) for x in xs]
    out = build(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def check_against_finite_differences(build, *xs, rel=1e-6, abs_=1e-7):
    data, grads = grad_of(build, *xs)
    for i in range(len(xs)):
        def f(t, i=i):
            args = list(xs)
            args[i] = t
            return build(*[Value(a) for a in args]).data
        fd = central_difference(f, xs[i])
        assert grads[i] == pytest.approx(fd, rel=rel, abs=abs_), (i, grads[i], fd)
    return data, grads


# --- unary functions ------------------------------------------------------------------------------

UNARY = [
    ("exp", lambda v: v.exp(), math.exp, [-2.0, 0.0, 0.5, 3.0]),
    ("log", lambda v: v.log(), math.log, [0.1, 1.0, 2.5, 40.0]),
    ("tanh", lambda v: v.tanh(), math.tanh, [-3.0, -0.2, 0.0, 0.7]),
    ("sigmoid", lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), [-5.0, -0.5, 0.0, 2.0]),
    ("relu", lambda v: v.relu(), lambda x: max(x, 0.0), [-2.0, -0.1, 0.3, 4.0]),
    ("sin", lambda v: v.sin(), math.sin, [-2.0, 0.0, 1.0, 3.0]),
    ("cos", lambda v: v.cos(), math.cos, [-2.0, 0.0, 1.0, 3.0]),
    ("sqrt", lambda v: v.sqrt(), math.sqrt, [0.01, 0.5, 4.0, 9.0]),
    ("abs", abs, abs, [-3.0, -0.5, 0.25, 2.0]),
    ("neg", lambda v: -v, lambda x: -x, [-3.0, 0.0, 2.0]),
]


@pytest.mark.parametrize("name, op, ref, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_value_and_gradient(name, op, ref, points):
    for x in points:
        data, _ = check_against_finite_differences(op, x)
        assert data == pytest.approx(ref(x), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name, op", [(u[0], u[1]) for u in UNARY if u[0] != "neg"],
                         ids=[u[0] for u in UNARY if u[0] != "neg"])
def test_unary_node_records_its_operation(name, op):
    x = Value(0.5)
    out = op(x)
    assert out.op == name
    assert out._children == (x,)
    assert len(out._local_grads) == 1


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-40.0).sigmoid().data == pytest.approx(1 / (1 + math.exp(40)), rel=1e-12)


def test_relu_and_abs_use_zero_slope_at_zero():
    _, (g,) = grad_of(lambda v: v.relu(), 0.0)
    assert g == 0
    _, (g,) = grad_of(abs, 0.0)
    assert g == 0


def test_sin_and_cos_of_infinity_are_nan_not_an_exception():
    for op in (Value.sin, Value.cos):
        assert math.isnan(op(Value(math.inf)).data)
        assert math.isnan(op(Value(-math.inf)).data)


# --- binary operations, with their reflected forms -----------------------------------------------

BINARY = [
    ("a+b", lambda a, b: a + b, lambda a, b: a + b),
    ("a-b", lambda a, b: a - b, lambda a, b: a - b),
    ("a*b", lambda a, b: a * b, lambda a, b: a * b),
    ("a/b", lambda a, b: a / b, lambda a, b: a / b),
    ("a**b", lambda a, b: a ** b, lambda a, b: a ** b),
    ("mixed", lambda a, b: (a * b - a / b) ** 2 + (a + 1) ** b, lambda a, b: (a * b - a / b) ** 2 + (a + 1) ** b),
]


@pytest.mark.parametrize("name, op, ref", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("a, b", [(1.5, 2.0), (0.3, -1.7), (4.0, 0.5), (2.0, 3.0)])
def test_binary_value_and_gradients(name, op, ref, a, b):
    data, _ = check_against_finite_differences(op, a, b, rel=1e-5)
    assert data == pytest.approx(ref(a, b), rel=1e-12)


REFLECTED = [
    ("v+2", lambda v: v + 2, lambda x: x + 2, 1.0),
    ("2+v", lambda v: 2 + v, lambda x: 2 + x, 1.0),
    ("v-2", lambda v: v - 2, lambda x: x - 2, 1.0),
    ("2-v", lambda v: 2 - v, lambda x: 2 - x, -1.0),
    ("v*3", lambda v: v * 3, lambda x: x * 3, 3.0),
    ("3*v", lambda v: 3 * v, lambda x: 3 * x, 3.0),
    ("v/4", lambda v: v / 4, lambda x: x / 4, 0.25),
    ("4/v", lambda v: 4 / v, lambda x: 4 / x, None),
    ("2**v", lambda v: 2 ** v, lambda x: 2 ** x, None),
    ("v**3", lambda v: v ** 3, lambda x: x ** 3, None),
    ("v**-2", lambda v: v ** -2, lambda x: x ** -2, None),
    ("v**0.5", lambda v: v ** 0.5, lambda x: x ** 0.5, None),
    ("v**1", lambda v: v ** 1, lambda x: x, 1.0),
    ("v**0", lambda v: v ** 0, lambda x: 1.0, 0.0),
]


@pytest.mark.parametrize("name, op, ref, slope", REFLECTED, ids=[r[0] for r in REFLECTED])
@pytest.mark.parametrize("x", [0.7, 2.5])
def test_operations_with_plain_numbers(name, op, ref, slope, x):
    data, (g,) = check_against_finite_differences(op, x)
    assert data == pytest.approx(ref(x), rel=1e-12)
    if slope is not None:
        assert g == pytest.approx(slope, rel=1e-12)


def test_power_by_a_number_has_one_child_and_the_power_rule_local_gradient():
    e = Value(-2.0)
    L = e ** 2
    assert L._children == (e,)
    assert L._local_grads == (-4.0,)
    assert L.op == "**2"
    assert (Value(2.0) ** 0.5).op == "**0.5"


def test_value_to_a_value_has_two_children():
    a, b = Value(2.0), Value(3.0)
    out = a ** b
    assert out.data == 8.0
    assert out._children == (a, b)
    assert out._local_grads == pytest.approx((3 * 2.0 ** 2, 8.0 * math.log(2.0)))
    assert out.op == "**"


def test_subtraction_and_negation_are_built_as_in_the_tutorial():
    a, b = Value(5.0), Value(2.0)
    out = a - b
    # a + (b * -1): the negation is a multiplication by a constant -1 leaf
    assert out.op == "+"
    left, neg = out._children
    assert left is a
    assert neg.op == "*" and neg._children[0] is b and neg._children[1].data == -1
    assert neg._children[1]._children == ()
    assert (-a).op == "*" and (-a)._children[1].data == -1


def test_division_is_multiplication_by_a_reciprocal():
    a, b = Value(6.0), Value(3.0)
    out = a / b
    assert out.data == 2.0
    assert out.op == "*"
    assert out._children[1].op == "**-1"


def test_zero_to_the_zero_is_one_with_slope_zero():
    x = Value(0.0)
    out = x ** 0
    out.backward()
    assert out.data == 1.0
    assert x.grad == 0


# --- domain errors --------------------------------------------------------------------------------

DOMAIN = [
    ("log of 0", lambda: Value(0.0).log(), "log"),
    ("log of -1", lambda: Value(-1.0).log(), "log"),
    ("negative base, fractional power", lambda: Value(-8.0) ** (1 / 3), "power"),
    ("negative base to a trained power", lambda: Value(-2.0) ** Value(2.0), "power"),
    ("zero base to a trained power", lambda: Value(0.0) ** Value(2.0), "power"),
    ("division by a zero Value", lambda: Value(1.0) / Value(0.0), "division"),
    ("division by the number 0", lambda: Value(1.0) / 0, "division"),
    ("a number divided by a zero Value", lambda: 1 / Value(0.0), "division"),
    ("0 ** -1", lambda: Value(0.0) ** -1, "power"),
    ("0 ** -2.5", lambda: Value(0.0) ** -2.5, "power"),
    ("0 ** 0.5 has an infinite slope", lambda: Value(0.0) ** 0.5, "power"),
    ("sqrt of a negative number", lambda: Value(-4.0).sqrt(), "sqrt"),
    ("sqrt at 0 has an infinite slope", lambda: Value(0.0).sqrt(), "sqrt"),
    ("negative base, nan power", lambda: Value(-2.0) ** math.nan, "power"),
]


@pytest.mark.parametrize("what, make, op", DOMAIN, ids=[d[0] for d in DOMAIN])
def test_domain_errors_name_the_operation(what, make, op):
    with pytest.raises(DomainError) as info:
        make()
    assert str(info.value).startswith(op + ":"), str(info.value)
    assert isinstance(info.value, ArithmeticError)


def test_negative_base_to_a_whole_power_is_fine():
    data, (g,) = grad_of(lambda v: v ** 3, -2.0)
    assert (data, g) == (-8.0, 12.0)
    data, (g,) = grad_of(lambda v: v ** -1, -2.0)
    assert (data, g) == (-0.5, -0.25)


# --- accumulation and the backward pass -----------------------------------------------------------

def test_a_node_used_twice_in_one_operation():
    a = Value(3.0)
    out = a * a
    out.backward()
    assert a.grad == 6.0


def test_the_tutorials_multi_path_gradient_is_2a_plus_3():
    for x in (3.0, -1.5, 0.0, 10.0):
        a = Value(x)
        b = a ** 2
        c = 3 * a
        L = b + c
        L.backward()
        assert a.grad == 2 * x + 3
        assert (b.grad, c.grad, L.grad) == (1, 1, 1)


def test_a_shared_intermediate_node_gets_all_its_paths_before_passing_them_on():
    # b is not a leaf and is used twice: a wrong (breadth-first) order would miss a path
    a = Value(2.0)
    b = a * a
    c = 3 * b
    L = b + c
    L.backward()
    assert b.grad == 4.0
    assert a.grad == 4.0 * 2 * 2.0


def test_a_diamond_reused_many_times():
    x = Value(0.5)
    y = x
    for _ in range(20):
        y = y * y + y  # y is used twice at every level
    y.backward()

    def f(t):
        for _ in range(20):
            t = t * t + t
        return t
    # exact derivative by the chain rule on plain floats
    t, d = 0.5, 1.0
    for _ in range(20):
        d = d * (2 * t + 1)
        t = t * t + t
    assert y.data == f(0.5)
    assert x.grad == pytest.approx(d, rel=1e-12)


def tutorial_backward(root):
    """The tutorial's own ``backward()``, recursive, as printed: the reference semantics."""
    topo, visited = [], set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build_topo(child)
            topo.append(v)
    build_topo(root)
    root.grad = 1
    for v in reversed(topo):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad
    return topo


def three_step(w=0.0):
    w, x, y = Value(w, label="w"), Value(1.0, label="x"), Value(2.0, label="y")
    z = w * x
    e = z - y
    L = e ** 2
    return w, x, y, z, e, L


def test_backward_order_and_numbers_match_the_tutorials_code():
    *_, L = three_step()
    ours = topological_order(L)
    *_, L2 = three_step()
    theirs = tutorial_backward(L2)
    L.backward()
    assert [v.data for v in ours] == [v.data for v in theirs]
    assert [v.grad for v in ours] == [v.grad for v in theirs]


def test_root_gradient_is_set_to_one_and_the_others_are_added_to():
    w, x, y, z, e, L = three_step()
    L.backward()
    assert (L.grad, e.grad, z.grad, w.grad) == (1, -4.0, -4.0, -4.0)
    L.backward()  # forgot to zero: the root is reset to 1, every other node is added to
    assert L.grad == 1
    # e's grad doubles (-8), then z gets -4 + 1·(-8) = -12 and w gets -4 + 1·(-12) = -16:
    # on the same graph the error compounds down the chain
    assert (e.grad, z.grad, w.grad) == (-8.0, -12.0, -16.0)
    # the tutorial's code does exactly this on the same graph
    *_, L2 = three_step()
    tutorial_backward(L2)
    tutorial_backward(L2)
    assert [v.grad for v in topological_order(L)] == [v.grad for v in topological_order(L2)]


def test_backward_twice_doubles_the_gradients_of_leaves_under_the_root():
    # only the root is reset: leaves *directly* under it double; deeper nodes compound (above)
    a, b = Value(3.0), Value(-2.0)
    L = a * b
    L.backward()
    first = (a.grad, b.grad)
    L.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])
    assert L.grad == 1


def test_a_fresh_graph_without_zeroing_doubles_a_parameters_gradient():
    """The "forgot to zero" mistake of a training loop: a new graph, the old parameter grad."""
    w = Value(0.0)
    for expected in (-4.0, -8.0, -12.0):
        L = (w * 1.0 - 2.0) ** 2
        L.backward()
        assert w.grad == expected


def test_zero_grad_resets_the_whole_graph():
    w, x, y, z, e, L = three_step()
    L.backward()
    L.zero_grad()
    assert all(v.grad == 0 for v in topological_order(L))
    L.backward()
    assert w.grad == -4.0
    zero_grad([w, x])
    assert (w.grad, x.grad) == (0, 0)
    assert e.grad == -4.0


def test_topological_order_puts_every_node_after_its_children_once():
    a = Value(1.0)
    b = a * a + a.exp()
    c = b * a - b.tanh()
    order = topological_order(c)
    assert len(order) == len({id(v) for v in order})
    position = {id(v): i for i, v in enumerate(order)}
    for v in order:
        for child in v._children:
            assert position[id(child)] < position[id(v)]
    assert order[-1] is c


def test_backward_leaves_the_garbage_collector_as_it_found_it():
    a = Value(2.0)
    L = a * a
    assert gc.isenabled()
    L.backward()
    assert gc.isenabled()
    gc.disable()
    try:
        L.backward()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_repr_shows_label_data_and_grad():
    v = Value(2.0, label="w")
    assert repr(v) == "Value(w: data=2.0, grad=0)"
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0)"


def test_a_graph_has_no_reference_cycles():
    gc.collect()
    a = Value(1.0)
    L = (a * 2 + 1).exp()
    del a, L
    assert gc.collect() == 0


def test_a_chain_far_deeper_than_the_recursion_limit_back_propagates():
    assert sys.getrecursionlimit() <= 10_000  # nothing here raised it
    n = 200_000  # twenty times the limit: no recursion (the million-deep chain is a benchmark)
    c = 1.0 + 1e-7
    x = Value(1.0)
    k = Value(c)
    v = x
    for _ in range(n):
        v = v * k
    v.backward()
    assert x.grad == pytest.approx(c ** n, rel=1e-8)
    assert k.grad == pytest.approx(n * c ** (n - 1), rel=1e-8)
    assert v.grad == 1
    assert len(topological_order(v)) == n + 2


# --- the file reads like the tutorial ---------------------------------------------------------------

def test_value_py_shows_the_tutorials_operations_and_backward_before_the_engineering():
    import inspect

    import engine.value as value_module
    text = inspect.getsource(value_module)
    order = [text.index(needle) for needle in (
        "class Value:", "def __add__", "def __mul__", "def __pow__", "def backward(self)",
        "child.grad += local_grad * v.grad", "# --- how a node is stored", "def _children",
        "def _collector_paused")]
    assert order == sorted(order)


def test_backward_keeps_the_tutorials_loop_and_still_pauses_the_collector():
    import inspect
    source = inspect.getsource(Value.backward)  # the def itself (the pause wraps it from below)
    assert "for child, local_grad in zip(v._children, v._local_grads):" in source
    assert "child.grad += local_grad * v.grad" in source
    seen = []
    original = gc.isenabled()
    try:
        gc.enable()

        class Watch(Value):  # records whether the collector was on when its grad was written
            __slots__ = ()

            def __setattr__(self, name, value):
                if name == "grad":
                    seen.append(gc.isenabled())
                super().__setattr__(name, value)

        w = Watch(2.0)  # its grad = 0 is written with the collector on
        (w * 3.0).backward()  # its grad += ... with the collector paused
    finally:
        if not original:
            gc.disable()
    assert seen == [True, False] and gc.isenabled() == original


# --- what mutation testing found unguarded (tools/mutate.py) ----------------------------------------

def test_the_edges_of_the_domain_at_zero_say_what_is_wrong():
    with pytest.raises(DomainError, match="the slope of sqrt at 0 is infinite"):
        Value(0.0).sqrt()
    with pytest.raises(DomainError, match=r"the slope of 0 \*\* 0.5 is infinite"):
        Value(0.0) ** 0.5
    x = Value(0.0)
    y = x ** 1.5  # zero to a fractional power above one is fine, and flat
    y.backward()
    assert (y.data, x.grad) == (0.0, 0.0)
    x = Value(0.0)
    y = x ** 1  # the slope of x¹ is 1, at zero too
    y.backward()
    assert (y.data, x.grad) == (0.0, 1.0)
