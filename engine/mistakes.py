"""Three classic backpropagation bugs, run for real next to the right answer, plus a numerical check.

A learner trusts the backward pass more once they have seen how it breaks. Each "mistake" here
computes the gradients exactly as the buggy code would (not a made-up number), so the app can show
the wrong value beside the right one and say why they differ, or why this program happens to hide
the bug:

``assign``  ``child.grad = local_grad * v.grad`` instead of ``+=``: a node used in several places
            keeps only the last path's contribution (multi-path: dL/da = 6 instead of 9).
``no_zero`` gradients not reset between iterations: from the second iteration on each gradient is
            added on top of the previous one (multi-path, lr = 0.1: 9 + 7.2 = 16.2 instead of 7.2).
``bfs``     each node processed once, breadth-first from the loss, instead of in reverse
            topological order: a shared node that is not a leaf passes its gradient on before every
            path into it has arrived (shared-node: dL/da = 4 instead of 16).

:func:`gradient_check` compares the backward pass with central finite differences, which need no
chain rule at all, so agreement is independent evidence that backprop is right.

Pure Python: the GUI's panels and the CLI both use it, and it never imports Qt.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from .graph import format_number
from .language import Evaluation, Program, ProgramError, evaluate
from .tape import REPLAY_ERRORS, compile_program
from .train import RUNNING, Trainer, finite_difference
from .value import Value, topological_order

ASSIGN, NO_ZERO, BFS = "assign", "no_zero", "bfs"
MISTAKES: list[str] = [ASSIGN, NO_ZERO, BFS]

# The iteration at which forgetting to zero first shows: iteration 0 starts from grad = 0 anyway.
NO_ZERO_ITERATION = 1
# Central differences with h = 1e-6 agree with an exact gradient to about 1e-9 on smooth losses;
# anything above this is worth a learner's attention (a kink such as relu at 0, or a bug).
AGREEMENT = 1e-6


@dataclass(frozen=True)
class MistakeInfo:
    """What a learner reads about one mistake: a title, one line of why, and the code that differs."""

    id: str
    title: str
    description: str
    buggy: str  # the buggy code, one or a few lines
    right: str  # the same lines written correctly
    suggested_preset: str  # a preset on which the mistake changes the gradients


_INFO: dict[str, MistakeInfo] = {
    ASSIGN: MistakeInfo(
        ASSIGN, "= instead of += in the backward loop",
        "With = a node keeps only the last path's contribution, so a value used in several "
        "places loses the others: its gradient must be the sum over every path.",
        "child.grad = local_grad * v.grad",
        "child.grad += local_grad * v.grad",
        "multi-path"),
    NO_ZERO: MistakeInfo(
        NO_ZERO, "Forgetting to zero the gradients",
        "backward() adds into .grad, so without resetting it to 0 each iteration the new "
        "gradient lands on top of the old ones, and from the second iteration on every step is off.",
        "# (gradients not reset)\nloss.backward()",
        "for p in params: p.grad = 0\nloss.backward()",
        "multi-path"),
    BFS: MistakeInfo(
        BFS, "Back-propagating breadth-first",
        "Breadth-first from the loss may pass a node's gradient on before every path into it has "
        "arrived; reverse topological order handles a node only once all its users are done.",
        "for v in breadth_first(loss):  # nearest nodes first",
        "for v in reversed(topo):  # a node after all its users",
        "shared-node"),
}


def info(mistake: str) -> MistakeInfo:
    """Title, explanation and code snippet of ``mistake`` (one of :data:`MISTAKES`)."""
    try:
        return _INFO[mistake]
    except KeyError:
        raise KeyError(f"no mistake called {mistake!r}; the mistakes are {', '.join(MISTAKES)}") from None


def describe(mistake: str) -> str:
    """One line that tells a learner what goes wrong and why."""
    return info(mistake).description


@dataclass(frozen=True)
class MistakeReport:
    """The right and the wrong gradients of every parameter, at the same parameter values.

    ``at`` are the parameter values the gradients belong to: the values given to :func:`compare`
    for ``assign`` and ``bfs``, and those of iteration ``iteration`` (the second) for ``no_zero``.
    """

    mistake: str
    names: tuple[str, ...]
    right: tuple[float, ...]
    wrong: tuple[float, ...]
    explanation: str
    differs: bool
    suggested_preset: str
    at: tuple[float, ...] = ()
    iteration: int = 0
    lr: float = 0.1
    loss_name: str = "L"

    @property
    def right_next(self) -> tuple[float, ...]:
        """The parameters after the update θ - lr·dL/dθ with the right gradients."""
        return tuple(v - self.lr * g for v, g in zip(self.at, self.right))

    @property
    def wrong_next(self) -> tuple[float, ...]:
        """The parameters the buggy code would step to."""
        return tuple(v - self.lr * g for v, g in zip(self.at, self.wrong))

    @property
    def differing(self) -> tuple[int, ...]:
        """Indices of the parameters whose wrong gradient differs from the right one."""
        return tuple(i for i, (r, w) in enumerate(zip(self.right, self.wrong)) if not _same(r, w))


def compare(program: Program, mistake: str, values: Sequence[float] | None = None,
            lr: float = 0.1) -> MistakeReport:
    """Run ``mistake`` on ``program`` at ``values`` (the program's own by default) next to the right
    backward pass. Raises :class:`ProgramError` if the program cannot be evaluated there."""
    info(mistake)  # an unknown id fails here, with the list of known ones
    if mistake == NO_ZERO:
        return _compare_no_zero(program, values, lr)
    return _compare_order(program, mistake, values, lr)


# --- = instead of +=, and breadth-first order: one graph, two backward passes ----------------------
def _compare_order(program: Program, mistake: str, values: Sequence[float] | None,
                   lr: float) -> MistakeReport:
    ev = evaluate(program, values)
    topo = topological_order(ev.loss)
    names = _node_names(ev)

    ev.loss.backward()
    right_by_node = {id(v): v.grad for v in topo}
    right = tuple(float(p.grad) for _, p in ev.params)
    for v in topo:
        v.grad = 0

    early: list[tuple[Value, float]] = []
    if mistake == ASSIGN:
        _backward_assign(ev.loss, topo)
    else:
        early = _backward_breadth_first(ev.loss, right_by_node)
    wrong = tuple(float(p.grad) for _, p in ev.params)

    report = MistakeReport(mistake, tuple(n for n, _ in ev.params), right, wrong, "", False,
                           info(mistake).suggested_preset, tuple(ev.param_values()), 0, lr,
                           program.loss_name)
    differs = bool(report.differing)
    uses = _use_counts(topo)
    if mistake == ASSIGN:
        # the nodes where the bug bites: used in several places, and left with a wrong gradient
        bitten = [names[id(v)] for v in topo
                  if uses.get(id(v), 0) > 1 and not _same(v.grad, right_by_node[id(v)])]
        text = _explain_assign(report, bitten) if differs else _hidden_assign(report)
    else:
        inner_shared = any(v._children and uses.get(id(v), 0) > 1 for v in topo)
        text = (_explain_bfs(report, [(names[id(v)], g, right_by_node[id(v)]) for v, g in early])
                if differs else _hidden_bfs(report, inner_shared))
    return _with(report, text, differs)


def _backward_assign(root: Value, topo: list[Value]) -> None:
    """The engine's backward pass with the bug: ``=`` where it needs ``+=``."""
    root.grad = 1
    for v in reversed(topo):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad = local_grad * v.grad  # the bug: the paths already added are thrown away


def _backward_breadth_first(root: Value, right: dict[int, float]) -> list[tuple[Value, float]]:
    """``+=`` as it should be, but every node handled once, in breadth-first order from the loss.

    Returns the nodes that passed their gradient on before it was complete, each with the partial
    gradient it passed on (``right`` holds each node's true gradient, by ``id``).
    """
    root.grad = 1
    queue, seen = deque([root]), {id(root)}
    early: list[tuple[Value, float]] = []
    while queue:
        v = queue.popleft()
        if v._children and not _same(v.grad, right[id(v)]):
            early.append((v, v.grad))
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad
            if id(child) not in seen:
                seen.add(id(child))
                queue.append(child)
    return early


def _explain_assign(report: MistakeReport, bitten: list[str]) -> str:
    i = report.differing[0]
    shown = bitten[:3] + (["others"] if len(bitten) > 3 else [])
    where = (f" ({_join(shown)} {'is' if len(shown) == 1 else 'are'} used in more than one place)"
             if bitten else "")
    return (f"{_grad(report, i)} comes out {format_number(report.wrong[i])} instead of "
            f"{format_number(report.right[i])}: with = only the last path into a node counts{where}, "
            f"while the right gradient adds every path.")


def _hidden_assign(report: MistakeReport) -> str:
    if not report.names:
        return "This program has no parameters, so there is no gradient to get wrong."
    return ("Every gradient comes out right here: no parameter's gradient needs two paths added, "
            "so = and += happen to agree. The bug is still there; a value used twice reveals it.")


def _explain_bfs(report: MistakeReport, early: list[tuple[str, float, float]]) -> str:
    i = report.differing[0]
    head = (f"{_grad(report, i)} comes out {format_number(report.wrong[i])} instead of "
            f"{format_number(report.right[i])}")
    if early:
        name, partial, full = early[0]
        return (f"{head}: breadth-first handled {name} before every path into it had arrived, so "
                f"it passed on {format_number(partial)} instead of {format_number(full)}.")
    return f"{head}: breadth-first passed a gradient on before it was complete."


def _hidden_bfs(report: MistakeReport, inner_shared: bool) -> str:
    if not report.names:
        return "This program has no parameters, so there is no gradient to get wrong."
    if inner_shared:
        return ("Breadth-first happens to give the right gradients here: every shared node had "
                "received all its paths before breadth-first reached it.")
    return ("Breadth-first gives the right gradients here: no node that is computed from others "
            "is used twice (shared leaves such as parameters pass nothing on), so the order cannot "
            "matter. It goes wrong when a shared node is not a leaf.")


# --- forgetting to zero: two gradient-descent runs from the same start ------------------------------
def _compare_no_zero(program: Program, values: Sequence[float] | None, lr: float) -> MistakeReport:
    # tol = 0: stop only on a gradient of exactly 0, so both runs reach the second iteration
    right_run = Trainer(program, lr=lr, tol=0.0, param_values=values)
    wrong_run = Trainer(program, lr=lr, tol=0.0, param_values=values, zero_grad=False)
    names = tuple(right_run.names)
    for _ in range(NO_ZERO_ITERATION + 1):
        if right_run.status != RUNNING or wrong_run.status != RUNNING:
            break
        right_run.step()
        wrong_run.step()
    # The runs agree on iteration 0 (nothing is left over yet), so iteration 1 starts at the same θ.
    ok = len(right_run.records) > NO_ZERO_ITERATION and len(wrong_run.records) > NO_ZERO_ITERATION
    k = NO_ZERO_ITERATION if ok else len(right_run.records) - 1
    rec_right, rec_wrong = right_run.records[k], wrong_run.records[k]
    report = MistakeReport(NO_ZERO, names, tuple(p.grad for p in rec_right.params),
                           tuple(p.grad for p in rec_wrong.params), "", False,
                           info(NO_ZERO).suggested_preset,
                           tuple(p.data for p in rec_right.params), k, lr, program.loss_name)
    differs = bool(report.differing)
    if differs:
        first = right_run.records[0]
        i = report.differing[0]
        text = (f"At iteration {k}, {_grad(report, i)} should be {format_number(report.right[i])}, "
                f"but the {format_number(first.params[i].grad)} left over from iteration 0 is added: "
                f"{format_number(report.wrong[i])}, so {names[i]} steps to "
                f"{format_number(report.wrong_next[i])} instead of {format_number(report.right_next[i])}.")
    elif not names:
        text = "This program has no parameters, so there is no gradient to get wrong."
    elif not ok:
        text = ("The run stops at iteration 0 here (the gradient is exactly 0, or the numbers "
                "blow up), so there is no leftover gradient to add.")
    else:
        text = ("The gradients of iteration 0 are all 0 here, so the leftover adds nothing; "
                "anywhere the loss has a slope, forgetting to zero makes the steps too big.")
    return _with(report, text, differs)


# --- the numerical check --------------------------------------------------------------------------
@dataclass(frozen=True)
class GradCheck:
    """One parameter's gradient from the backward pass beside its finite-difference estimate."""

    name: str
    backprop: float
    numeric: float
    rel_error: float  # NaN when the estimate could not be computed (a domain edge within h)

    @property
    def agrees(self) -> bool:
        return self.rel_error < AGREEMENT  # False for NaN too


def relative_error(a: float, n: float) -> float:
    """|a - n| / max(|a|, |n|, 1e-12): scale-free, so a gradient of 1e-3 and one of 1e3 compare alike."""
    if not (math.isfinite(a) and math.isfinite(n)):
        return 0.0 if a == n else math.nan
    return abs(a - n) / max(abs(a), abs(n), 1e-12)


def iter_gradient_check(program: Program, values: Sequence[float] | None = None, h: float = 1e-6,
                        grads: Sequence[float] | None = None) -> Iterator[GradCheck]:
    """:func:`gradient_check` one parameter at a time, so a GUI can spread the work over time.

    ``grads`` are the backward pass's gradients if the caller has them already (a replayed
    moment does); otherwise one backward pass computes them.
    """
    ev = evaluate(program, values)
    point = ev.param_values()
    if grads is None:
        ev.loss.backward()
        grads = [p.grad for _, p in ev.params]
    tape = compile_program(program, point)  # the loss at θ ± h bit for bit, not interpreted
    for i, ((name, _), g) in enumerate(zip(ev.params, grads)):
        try:
            numeric = _difference(tape, program, point, i, h)
        except (ProgramError, ArithmeticError):  # θ ± h crosses a domain edge (log near 0, ...)
            numeric = math.nan
        yield GradCheck(name, float(g), float(numeric), relative_error(float(g), float(numeric)))


def _difference(tape, program: Program, point: list[float], index: int, h: float) -> float:
    """:func:`finite_difference` on the program's tape where it replays (the same losses, on the
    moons preset's 105 parameters 20 times quicker), else through the interpreter."""
    if tape is not None:
        up, down = list(point), list(point)
        up[index] += h
        down[index] -= h
        try:
            return (tape.gradient(up)[0] - tape.gradient(down)[0]) / (2 * h)
        except REPLAY_ERRORS:
            pass
    return finite_difference(program, point, index, h)


def gradient_check(program: Program, values: Sequence[float] | None = None,
                   h: float = 1e-6) -> list[GradCheck]:
    """Each parameter's backprop gradient beside the central difference (L(θ+h) - L(θ-h)) / 2h."""
    return list(iter_gradient_check(program, values, h))


# --- helpers --------------------------------------------------------------------------------------
def _same(a: float, b: float) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _use_counts(topo: list[Value]) -> dict[int, int]:
    """How many edges lead into each node (by ``id``): the contributions its gradient must add."""
    counts: dict[int, int] = {}
    for v in topo:
        for c in v._children:
            counts[id(c)] = counts.get(id(c), 0) + 1
    return counts


def _node_names(ev: Evaluation) -> dict[int, str]:
    """Each node's name as the canvas shows it (its label, or a short expression such as 3·b)."""
    snap = ev.snapshot()
    return {id(v): snap.nodes[i].name for i, v in enumerate(topological_order(ev.loss))}


def _grad(report: MistakeReport, i: int) -> str:
    return f"d{report.loss_name}/d{report.names[i]}"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _with(report: MistakeReport, explanation: str, differs: bool) -> MistakeReport:
    return replace(report, explanation=explanation, differs=differs)


__all__ = ["AGREEMENT", "ASSIGN", "BFS", "MISTAKES", "NO_ZERO", "NO_ZERO_ITERATION", "GradCheck",
           "MistakeInfo", "MistakeReport", "compare", "describe", "gradient_check", "info",
           "iter_gradient_check", "relative_error"]
