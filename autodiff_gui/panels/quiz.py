"""Predict, then reveal: the learner computes each chain-rule multiplication before it is shown.

One question per multiplication of the backward pass, in the engine's order. While a question is
open the panel asks the window for the moment *before* that multiplication (the answer is not on
the canvas yet); once it is answered right or revealed, for the moment *after* it. A wrong answer
is diagnosed, not just marked: the usual slips (a flipped sign, a missing upstream or local
factor, adding instead of multiplying, forgetting the earlier path of a ``+=`` node) each get
their own hint, and the learner may try again before revealing.

The score counts first tries only: a question counts once it has been checked, and it is right
if the first check was. Revealing without a guess is not counted, so looking is never punished.
"""

from __future__ import annotations

import html
import math
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from engine.graph import PARAM, GraphSnapshot, formula
from engine.records import ChainRuleStep
from engine.replay import Moment

from .tour import local_gradient_rule, moment_identity, moment_shape, num

#: A guess is right within this relative or absolute tolerance.
TOLERANCE = 1e-6
#: Longer input is not a number anyone types; it is refused before parsing.
MAX_INPUT = 64

_DASHES = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                         "\ufe63": "-", "\uff0d": "-", "\uff0b": "+", "\u00f7": "/",
                         "\u2044": "/", "\u221e": "inf"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
            "infinity": math.inf, "-infinity": -math.inf}


def parse_number(text: str) -> float | None:
    """What a learner typed, as a number: ``-4``, ``-4.0``, ``−4`` (Unicode minus), ``1e-3``,
    ``1/2``, ``(-4)``, ``0,5``; ``nan`` and ``inf`` for a diverged run. None if it is not one."""
    if len(text) > MAX_INPUT:
        return None
    s = re.sub(r"\s*/\s*", "/", text.strip().translate(_DASHES))
    if not s or any(c.isspace() for c in s):  # "4 4" is two numbers, not 44
        return None
    while s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    if "," in s and "." not in s and s.count(",") == 1:
        s = s.replace(",", ".")
    if s.lower() in _SPECIAL:
        return _SPECIAL[s.lower()]
    parts = s.split("/")
    if len(parts) > 2 or not all(_NUMBER.fullmatch(p.strip("()")) for p in parts):
        return None
    try:
        values = [float(p.strip("()")) for p in parts]
    except ValueError:  # pragma: no cover - the pattern admits only floats
        return None
    if len(values) == 2:
        if values[1] == 0:
            return None
        values = [values[0] / values[1]]
    return values[0] if math.isfinite(values[0]) else None


def close(a: float, b: float) -> bool:
    """Equal within the quiz's tolerance; NaN matches NaN and infinities match themselves."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _code(text: str) -> str:
    return f"<code>{_esc(text)}</code>"


def diagnose(graph: GraphSnapshot, step: ChainRuleStep, guess: float) -> str:
    """Why ``guess`` is not the gradient ``step`` produces, as one hint (HTML).

    The common slips are recognised by the number they produce, so the hint speaks to the
    learner's actual mistake rather than repeating the rule.
    """
    target = graph.grad_name(step.child)
    upstream = graph.grad_name(step.parent)
    local = graph.local_grad_name(step.parent, step.child)
    u, g, before, p = step.upstream, step.local_grad, step.child_grad_before, step.product
    accumulating = step.contribution > 1
    base = before if accumulating else 0.0
    if accumulating and close(guess, p):
        return (f"That is this path's contribution only. {_esc(graph.nodes[step.child].name)} is "
                f"used in {step.contributions} places, so {_code(target)} adds up its paths: "
                f"don't forget the earlier path, which already gave {_code(f'{target} = {num(before)}')}.")
    if accumulating and close(guess, before) and p != 0:
        return (f"That is {_code(target)} before this path. The {_code('+=')} adds this path's "
                f"contribution {_code(f'{upstream} · {local}')} to it.")
    if p != 0 and (close(guess, base - p) or close(guess, -step.child_grad_after)):
        return (f"Check the sign of the local gradient {_code(f'{local} = {num(g)}')} and of "
                f"{_code(f'{upstream} = {num(u)}')}: their product is "
                f"{'negative' if p < 0 else 'positive'}.")
    if u != 1 and close(guess, base + g):
        return (f"You used the local gradient {_code(local)} alone; multiply it by the upstream "
                f"gradient {_code(f'{upstream} = {num(u)}')}, which carries everything between "
                f"the loss and this node.")
    if g != 1 and close(guess, base + u):
        return (f"You used the upstream gradient {_code(upstream)} alone; multiply it by the local "
                f"gradient {_code(local)} stored in the forward pass.")
    if u + g != u * g and close(guess, base + u + g):
        return "You added the two factors; the chain rule multiplies them."
    if step.contributions > 1 and not accumulating and close(guess, graph.nodes[step.child].grad):
        return (f"That is the final {_code(target)}, after all {step.contributions} paths. This "
                "multiplication is only the first path: what does it alone give?")
    op = "+=" if accumulating else "="
    return (f"The chain rule multiplies the gradient from above by the local gradient: "
            f"{_code(f'{target} {op} {upstream} · {local}')}.")


class QuizPanel(QWidget):
    """A side panel where the learner predicts each gradient of the backward pass.

    ``set_moment`` loads a program's iteration; ``positionRequested`` asks the window to show the
    moment before the current multiplication while asking, and after it once revealed.
    """

    positionRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._moment: Moment | None = None
        self._shape: tuple | None = None
        self._identity: tuple | None = None
        self._index = 0
        self._revealed = False
        self._hinted = False
        self._wrong = 0  # wrong tries at the open question
        self._feedback = ""
        # (iteration's identity, question index) → right at the first check
        self._first_try: dict[tuple, bool] = {}

        self._progress = QLabel()
        self._score = QLabel()
        self._score.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._question = QLabel()
        font = self._question.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self._question.setFont(font)
        self._question.setWordWrap(True)
        self._question.setTextFormat(Qt.TextFormat.PlainText)
        self._context = QLabel()
        self._context.setWordWrap(True)
        self._context.setTextFormat(Qt.TextFormat.RichText)
        self._input = QLineEdit()
        self._input.setPlaceholderText("your prediction, e.g. -4, 0.5 or 1/2")
        self._input.setAccessibleName("Your prediction")
        self._input.setClearButtonEnabled(True)
        self._check = QPushButton("Check")
        self._check.setToolTip("Compare your prediction with the engine's gradient")
        self._hint = QPushButton("Hint")
        self._hint.setToolTip("Show the local gradient's value and where it comes from")
        self._reveal = QPushButton("Reveal")
        self._reveal.setToolTip("Show the answer without guessing (not counted in the score)")
        self._next = QPushButton("Next ▶")
        self._next.setToolTip("The next multiplication of the backward pass")
        self._restart = QPushButton("Start over")
        self._restart.setToolTip("Back to the first multiplication, with the score reset")
        self._result = QLabel()
        self._result.setWordWrap(True)
        self._result.setTextFormat(Qt.TextFormat.RichText)
        self._result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._result.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

        self._input.returnPressed.connect(self._check_clicked)
        self._check.clicked.connect(self._check_clicked)
        self._hint.clicked.connect(self.show_hint)
        self._reveal.clicked.connect(self.reveal)
        self._next.clicked.connect(self.next_question)
        self._restart.clicked.connect(self.start_over)

        top = QHBoxLayout()
        top.addWidget(self._progress)
        top.addStretch(1)
        top.addWidget(self._score)
        answer = QHBoxLayout()
        answer.addWidget(self._input, 1)
        answer.addWidget(self._check)
        buttons = QHBoxLayout()
        buttons.addWidget(self._hint)
        buttons.addWidget(self._reveal)
        buttons.addStretch(1)
        buttons.addWidget(self._restart)
        buttons.addWidget(self._next)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._question)
        layout.addWidget(self._context)
        layout.addLayout(answer)
        layout.addWidget(self._result)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self._show()

    # --- input --------------------------------------------------------------------------------

    def set_moment(self, moment: Moment) -> None:
        """Quiz on ``moment``'s backward pass.

        The same program at a new iteration keeps the question and the score, but the question
        opens again (its numbers changed); another program starts over. A moment differing only in
        its position changes nothing, so the window may echo ``positionRequested`` back here.
        """
        identity = moment_identity(moment)
        if identity == self._identity:
            return
        shape = moment_shape(moment)
        if shape != self._shape:
            self._index = 0
            self._first_try.clear()
        self._moment = moment
        self._shape, self._identity = shape, identity
        self._index = max(0, min(self._index, len(moment.chain) - 1))
        self._open()

    # --- the learner's actions ----------------------------------------------------------------

    def answer_text(self, text: str) -> bool:
        """Put ``text`` in the answer box and check it; True if it is the right gradient."""
        self._input.setText(text)
        return self._check_answer(text)

    def reveal(self) -> None:
        """Show the answer and the formula behind it, without a guess."""
        step = self._step()
        if step is None or self._moment is None:
            return
        self._feedback = (f"<p>{_code(formula(self._moment.after, step))}</p>"
                          + self._meaning(step))
        self._set_revealed()

    def show_hint(self) -> None:
        """Show the local gradient's value and the rule it comes from."""
        if self._step() is not None:
            self._hinted = True
            self._show()

    def next_question(self) -> None:
        """Move on to the next multiplication (skipping is allowed and not counted)."""
        if self._moment is not None and self._index < len(self._moment.chain) - 1:
            self.go_to_question(self._index + 1)

    def go_to_question(self, index: int) -> None:
        """Open question ``index`` (0-based, clamped) and show the moment just before it."""
        if self._moment is None or not self._moment.chain:
            return
        self._index = max(0, min(index, len(self._moment.chain) - 1))
        self._open()
        self.positionRequested.emit(self.current_position())

    def jump_to_gradient(self, name: str) -> bool:
        """Open the question that completes dL/d``name`` (``"w"``, or ``"dL/dw"`` in full).

        For a node reached by several paths it is the last one, where the gradient is final.
        False if no multiplication produces that gradient.
        """
        if self._moment is None:
            return False
        g = self._moment.after
        prefix = f"d{g.nodes[g.root].name}/d"
        wanted = {name, name.removeprefix(prefix), name.removeprefix(prefix).strip("()")}
        for i in range(len(self._moment.chain) - 1, -1, -1):
            if g.nodes[self._moment.chain[i].child].name in wanted:
                self.go_to_question(i)
                return True
        return False

    def start_over(self) -> None:
        """Back to the first question, with the score reset."""
        self._first_try.clear()
        self.go_to_question(0)

    # --- state, for the window and for tests ---------------------------------------------------

    def question(self) -> str:
        """The current question: ``What is dL/dw?``; ``""`` when there is nothing to ask."""
        step = self._step()
        if step is None or self._moment is None:
            return ""
        target = self._moment.after.grad_name(step.child)
        if step.contribution > 1:
            return f"What is {target} now, after adding this path?"
        return f"What is {target}?"

    def score(self) -> tuple[int, int]:
        """(right at the first try, questions checked)."""
        return sum(self._first_try.values()), len(self._first_try)

    def question_index(self) -> int:
        return self._index

    def question_count(self) -> int:
        return len(self._moment.chain) if self._moment is not None else 0

    def is_revealed(self) -> bool:
        return self._revealed

    def feedback_text(self) -> str:
        """The plain text of the last verdict or revealed answer."""
        return QTextDocumentFragment.fromHtml(self._feedback).toPlainText() if self._feedback else ""

    def current_position(self) -> int:
        """The moment position the canvas should show: before the multiplication while asking,
        after it once revealed."""
        if self._moment is None:
            return 0
        if not self._moment.chain:
            return self._moment.complete
        return self._moment.seed_position + self._index + (1 if self._revealed else 0)

    # --- internals ----------------------------------------------------------------------------

    def _step(self) -> ChainRuleStep | None:
        if self._moment is None or not self._moment.chain:
            return None
        return self._moment.chain[self._index]

    def _open(self) -> None:
        self._revealed = False
        self._hinted = False
        self._wrong = 0
        self._feedback = ""
        self._input.clear()
        self._show()

    def _set_revealed(self) -> None:
        was = self._revealed
        self._revealed = True
        self._show()
        if not was:
            self.positionRequested.emit(self.current_position())

    def _check_clicked(self) -> None:
        self._check_answer(self._input.text())

    def _check_answer(self, text: str) -> bool:
        step = self._step()
        if step is None or self._moment is None:
            return False
        guess = parse_number(text)
        if guess is None:
            self._feedback = ("<p>Type a number, like <code>-4</code>, <code>0.5</code>, "
                              "<code>1e-3</code> or <code>1/2</code>.</p>")
            self._show()
            return False
        g = self._moment.after
        expected = step.child_grad_after
        right = close(guess, expected)
        if not self._revealed:  # a check after seeing the answer proves nothing
            self._first_try.setdefault((self._identity, self._index), right)
        target = g.grad_name(step.child)
        if right:
            self._feedback = (f"<p><b>✓ Right.</b> {_code(formula(g, step))}</p>" + self._meaning(step))
            self._set_revealed()
            return True
        if self._revealed:
            self._feedback = (f"<p><b>✗ Not quite:</b> {_esc(num(guess))} is not {_esc(target)}. "
                              f"{_code(formula(g, step))}</p>")
        elif self._wrong == 0 and not self._hinted:
            # a first wrong try gets a nudge: the worked argument would give the answer away
            self._wrong += 1
            self._feedback = (f"<p><b>✗ Not quite:</b> {_esc(num(guess))} is not {_esc(target)}."
                              "</p><p>Look again at the two factors the chain rule multiplies, "
                              "and at their signs. Try again, or press Hint.</p>")
        else:
            self._wrong += 1
            self._feedback = (f"<p><b>✗ Not quite:</b> {_esc(num(guess))} is not {_esc(target)}."
                              f"</p><p>{diagnose(g, step, guess)}</p>"
                              "<p>Try again, or press Reveal.</p>")
        self._show()
        return False

    def _meaning(self, step: ChainRuleStep) -> str:
        """What the revealed number means, for a parameter or a node reached by several paths."""
        assert self._moment is not None
        g = self._moment.after
        child = g.nodes[step.child]
        lines = []
        if step.contribution > 1:
            lines.append(f"{_esc(child.name)} is used in {step.contributions} places: the "
                         f"{_code('+=')} added this path's {_esc(num(step.product))} to the "
                         f"{_esc(num(step.child_grad_before))} already there.")
        elif step.contributions > 1:
            lines.append(f"{_esc(child.name)} is used in {step.contributions} places; the other "
                         f"path{'s' if step.contributions > 2 else ''} will be added with "
                         f"{_code('+=')}.")
        if child.kind == PARAM and step.contribution == step.contributions:
            value = step.child_grad_after
            if math.isfinite(value) and value != 0:
                way = "decrease" if value < 0 else "increase"
                lines.append(f"So increasing {_esc(child.name)} a tiny amount would {way} the loss "
                             f"by about {_esc(num(abs(value)))} times that amount.")
        return "".join(f"<p>{line}</p>" for line in lines)

    def _show(self) -> None:
        step = self._step()
        moment = self._moment
        has = step is not None and moment is not None
        for w in (self._input, self._check, self._hint, self._reveal):
            w.setEnabled(has)
        if not has:
            self._progress.setText("")
            self._question.setText("Predict, then reveal")
            self._context.setText("Load a program with a backward pass: you will predict each "
                                  "gradient before the engine shows it.")
            self._result.setText("")
            self._next.setEnabled(False)
            self._restart.setEnabled(False)
            self._score.setText("")
            return
        assert step is not None and moment is not None
        g = moment.after
        n = len(moment.chain)
        target = g.grad_name(step.child)
        upstream = g.grad_name(step.parent)
        local = g.local_grad_name(step.parent, step.child)
        self._progress.setText(f"Multiplication {self._index + 1} of {n}")
        right, checked = self.score()
        self._score.setText(f"{right} of {checked} right" if checked else "")
        self._question.setText(self.question())
        op = "+=" if step.contribution > 1 else "="
        where = "the seed" if step.parent == g.root else "computed in an earlier step"
        context = [f"Chain rule: {_code(f'{target} {op} {upstream} · {local}')}.",
                   f"{_code(f'{upstream} = {num(step.upstream)}')} is known ({where}); "
                   f"{_code(local)} was stored in the forward pass."]
        if step.contribution > 1:
            context.append(f"An earlier path already gave "
                           f"{_code(f'{target} = {num(step.child_grad_before)}')}.")
        if self._hinted or self._revealed:
            context.append(f"Hint: {_code(local_gradient_rule(g, step.parent, step.input_index))}.")
        self._context.setText(context[0] + "<br>" + " ".join(context[1:]))
        self._result.setText(self._feedback)
        self._hint.setEnabled(not self._hinted and not self._revealed)
        self._reveal.setEnabled(not self._revealed)
        self._next.setEnabled(self._index < n - 1)
        self._restart.setEnabled(True)
        if self._revealed and self._index == n - 1:
            self._result.setText(self._feedback + "<p><b>That was the last multiplication of the "
                                 f"backward pass.</b> You got {right} of {checked} right at the "
                                 "first try.</p>")

