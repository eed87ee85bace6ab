"""The ``Value`` node: the tutorial's tiny autodiff engine, kept readable beside it.

A ``Value`` is a number that remembers how it was made: its ``data`` (computed in the forward
pass), its "global" gradient ``grad`` (filled in by the backward pass), the nodes it was computed
from (``_children``) and the derivatives of itself with respect to each of them
(``_local_grads``, computed in the forward pass and stored for the backward pass).

Subtraction and negation are built as in the tutorial (add the negation; negate by multiplying
by -1), so ``w*x - y`` makes the tutorial's 8 nodes ``[w, x, z, y, -1, -y, e, L]``.

Read from the top, the file is the tutorial: the node, its operations, ``backward()``. Below them
come the operations beyond the tutorial, then how a node is stored (four slots instead of two
tuples) and why the garbage collector is paused during a backward pass: engineering that makes the
same code fast on big graphs without changing how it reads.

Unlike micrograd, a node keeps no ``_backward`` closure pointing back at itself, so a graph has no
reference cycles and is freed by reference counting alone.
"""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Iterable


class DomainError(ArithmeticError):
    """An operation was asked for outside its domain (log of 0, a negative base to 1.5, 1/0).

    The message names the operation, so a learner sees which step of the loss went wrong.
    """


class Value:
    # (why four slots and not the tutorial's two tuples: "How a node is stored", below)
    __slots__ = ("data", "grad", "_child1", "_child2", "_local_grad1", "_local_grad2", "op", "label")

    def __init__(self, data, children=(), local_grads=(), op: str = "", label: str = ""):
        self.data = data  # current value
        self.grad = 0  # "global" gradient dL/d(self), filled in by backward()
        # dependencies (child nodes) and d(self)/d(child) for each child: the tutorial's
        # `self._children = children` and `self._local_grads = local_grads`, kept in slots
        n = len(children)
        if n == 2:
            self._child1, self._child2 = children
            self._local_grad1, self._local_grad2 = local_grads
        elif n == 1:
            (self._child1,), (self._local_grad1,) = children, local_grads
            self._child2, self._local_grad2 = None, 0
        elif n == 0:
            self._child1 = self._child2 = None
            self._local_grad1 = self._local_grad2 = 0
        else:
            raise ValueError(f"a node has at most two children, not {n}")
        self.op = op  # the operation that made this node ("" for a leaf)
        self.label = label  # the program's name for it, if any

    # --- the tutorial's operations -------------------------------------------------------------
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        # d/dx (x + y) = 1 and d/dy (x + y) = 1
        return Value(self.data + other.data, (self, other), (1, 1), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        # d/dx (x * y) = y and d/dy (x * y) = x
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, other):
        if isinstance(other, Value):
            return self._pow_value(other)
        n = other
        x = self.data
        if x == 0 and n < 0:
            raise DomainError(f"power: 0 ** {n:g} divides by zero")
        if x < 0 and not float(n).is_integer():
            raise DomainError(f"power: a negative base ({x:g}) to a fractional power ({n:g})")
        if x == 0 and 0 < n < 1:
            raise DomainError(f"power: the slope of 0 ** {n:g} is infinite")
        # Power rule: d/dx (x^n) = n * x^(n-1)  (x^0 is the constant 1, slope 0, even at x = 0)
        return Value(x**n, (self,), (n * x ** (n - 1) if n != 0 else 0.0,), f"**{_fmt(n)}")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    # --- the backward pass ---------------------------------------------------------------------
    def backward(self):
        """Fill in ``grad`` of every node below this one: d(self)/d(node).

        As in the tutorial, the root's gradient is set to 1 and every other node's gradient is
        *added to*: call ``zero_grad()`` first, or a second call adds onto the first one's.
        (The garbage collector is paused while it runs: see ``_collector_paused`` below.)
        """
        # 1. Build a list of all nodes in order (topological sort)
        topo = topological_order(self)
        # 2. Apply the chain rule backwards
        self.grad = 1  # The derivative of the output with respect to itself is 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                # The Chain Rule: Local Gradient * Global Gradient
                child.grad += local_grad * v.grad

    # --- beyond the tutorial -------------------------------------------------------------------
    def __truediv__(self, other):
        other = _as_value(other)
        if other.data == 0:
            raise DomainError("division: the divisor is 0")
        return self * other**-1

    def __rtruediv__(self, other):
        return _as_value(other) / self

    def __rpow__(self, other):
        return _as_value(other) ** self

    def _pow_value(self, other: Value) -> Value:
        a, b = self.data, other.data
        if a <= 0:
            raise DomainError(f"power: a base of {a:g} to a power that is itself trained (needs a base > 0)")
        out = a**b
        # d/da a^b = b a^(b-1);  d/db a^b = a^b ln a
        return Value(out, (self, other), (b * a ** (b - 1), out * math.log(a)), "**")

    def exp(self):
        out = math.exp(self.data)
        return Value(out, (self,), (out,), "exp")

    def log(self):
        if self.data <= 0:
            raise DomainError(f"log: log({self.data:g}) is undefined (needs a positive number)")
        return Value(math.log(self.data), (self,), (1 / self.data,), "log")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t * t,), "tanh")

    def sigmoid(self):
        x = self.data
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        return Value(s, (self,), (s * (1 - s),), "sigmoid")

    def relu(self):
        x = self.data
        return Value(x if x > 0 else 0.0, (self,), (1.0 if x > 0 else 0.0,), "relu")

    def sin(self):
        if math.isinf(self.data):  # math.sin raises for ±inf; like any overflowed pass, nan
            return Value(math.nan, (self,), (math.nan,), "sin")
        return Value(math.sin(self.data), (self,), (math.cos(self.data),), "sin")

    def cos(self):
        if math.isinf(self.data):
            return Value(math.nan, (self,), (math.nan,), "cos")
        return Value(math.cos(self.data), (self,), (-math.sin(self.data),), "cos")

    def sqrt(self):
        x = self.data
        if x < 0:
            raise DomainError(f"sqrt: sqrt({x:g}) is undefined (needs a number ≥ 0)")
        if x == 0:
            raise DomainError("sqrt: the slope of sqrt at 0 is infinite")
        r = math.sqrt(x)
        return Value(r, (self,), (0.5 / r,), "sqrt")

    def __abs__(self):
        x = self.data
        # at 0 the slope is undefined; 0 is the usual subgradient
        return Value(abs(x), (self,), (1.0 if x > 0 else -1.0 if x < 0 else 0.0,), "abs")

    # --- how a node is stored ----------------------------------------------------------------
    # A node's children (one or two; none for a leaf) and their local gradients sit in four slots
    # of the node rather than in two tuples: every tuple is one more object that Python's cyclic
    # garbage collector walks on each of its passes, and on a 68,000-node graph the tuples more
    # than double its work and make building the graph about three times slower
    # (benchmarks/README.md). ``_children`` and ``_local_grads`` still read as the tutorial's
    # tuples, built when asked for: a leaf shares the one empty tuple.

    @property
    def _children(self) -> tuple[Value, ...]:
        """The child nodes, as the tutorial's tuple."""
        child2 = self._child2
        if child2 is not None:
            return (self._child1, child2)
        child1 = self._child1
        return () if child1 is None else (child1,)

    @property
    def _local_grads(self) -> tuple:
        """d(self)/d(child) for each child, as the tutorial's tuple."""
        if self._child2 is not None:
            return (self._local_grad1, self._local_grad2)
        return () if self._child1 is None else (self._local_grad1,)

    # --- gradients -----------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set the gradient of this node and of every node below it back to 0."""
        for v in topological_order(self):
            v.grad = 0

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data!r}, grad={self.grad!r})"


def _as_value(other: Value | float) -> Value:
    return other if isinstance(other, Value) else Value(other)


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root``, each after all its children.

    The same order as the tutorial's recursive ``build_topo`` (a depth-first search that visits
    children in order), but with an explicit stack, so a graph a million nodes deep does not hit
    Python's recursion limit.
    """
    topo: list[Value] = []
    visited = {root}
    stack = [root]
    place, push, pop = topo.append, stack.append, stack.pop  # bound once: a million nodes
    seen, mark = visited.__contains__, visited.add
    while stack:
        v = stack[-1]
        child = v._child1  # the first child not yet placed, if any, goes on the stack
        if child is None or seen(child):
            child = v._child2
            if child is None or seen(child):  # every child is placed: place the node
                pop()
                place(v)
                continue
        mark(child)
        push(child)
    return topo


def zero_grad(values: Iterable[Value]) -> None:
    """Set the gradient of each given node to 0 (for example a model's parameters)."""
    for v in values:
        v.grad = 0


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else repr(float(n))


# --- pausing the garbage collector ---------------------------------------------------------------
def _collector_paused(fn):
    """Run ``fn`` with Python's cyclic garbage collector paused.

    A Value graph has no reference cycles, so the collector never frees anything in it; but with
    tens of thousands of live nodes each of its passes walks them all, and it can cost more than
    the arithmetic. Pausing it during a backward pass keeps the plain loop fast.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return wrapper


Value.backward = _collector_paused(Value.backward)
topological_order = _collector_paused(topological_order)
