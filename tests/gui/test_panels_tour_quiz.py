"""The guided tour and the predict-then-reveal quiz, driven offscreen with pytest-qt.

The tour must carry the tutorial's own numbers on the default program (z = 0, e = -2, L = 4, the
chain -4, -4, -4, w ← 0.4), point the canvas at the moment each page talks about, stay short on
the big network, and explain the ``+=`` of the multi-path preset (3 + 6 = 9). The quiz must accept
-4 and reject 4 for dL/dw, say why, and count a score.
"""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from autodiff_gui.panels.quiz import QuizPanel, parse_number
from autodiff_gui.panels.tour import MAX_CHAIN_PAGES, MAX_FORWARD_PAGES, TourPanel
from engine.presets import preset, presets
from engine.replay import Moment, replay


def moment(name: str = "three-step", **kwargs) -> Moment:
    return replay(preset(name).program(), **kwargs)


def all_text(panel: TourPanel) -> str:
    return "\n".join(panel.page_text(i) for i in range(panel.page_count()))


def button(widget, text: str) -> QPushButton:
    return next(b for b in widget.findChildren(QPushButton) if text in b.text())


def labels(widget) -> str:
    return "\n".join(label.text() for label in widget.findChildren(QLabel))


@pytest.fixture
def tour(qtbot) -> TourPanel:
    panel = TourPanel()
    qtbot.addWidget(panel)
    return panel


@pytest.fixture
def quiz(qtbot) -> QuizPanel:
    panel = QuizPanel()
    qtbot.addWidget(panel)
    return panel


def record(panel) -> list[int]:
    positions: list[int] = []
    panel.positionRequested.connect(positions.append)
    return positions


# --- the tour ---------------------------------------------------------------------------------

def test_tour_carries_the_tutorials_numbers(tour):
    tour.set_moment(moment())
    text = all_text(tour)
    for expected in [
        "z = w × x = 0 × 1 = 0",
        "dz/dw = x = 1 and dz/dx = w = 0 are stored for later",
        "e = z + (-y) = 0 + (-2) = -2",
        "L = e² = (-2)² = 4",
        "dL/de = 2·e = 2·(-2) = -4",
        "This is the loss: L = 4",
        "dL/dL = 1",
        "dL/de = dL/dL · dL/de = (1) · (-4) = -4",
        "dL/dz = dL/de · de/dz = (-4) · (1) = -4",
        "dL/d(-y) = dL/de · de/d(-y) = (-4) · (1) = -4",
        "dL/dw = dL/dz · dz/dw = (-4) · (1) = -4",
        "the loss will decrease by approximately 4 times that amount",
        "w ← w - α · dL/dw = 0 - 0.1 · (-4) = 0.4",
        "repeated until convergence",
    ]:
        assert expected in text, expected
    # the intro names the parameter and the inputs from the graph
    assert "w = 0" in tour.page_text(0) and "x = 1 and y = 2" in tour.page_text(0)
    steps = [p.step for p in tour.pages()]
    assert steps[0] == "Introduction" and steps[-1] == "Repeat"
    order = [s.split(" · ")[0] for s in steps[1:-1]]
    assert order == sorted(order)  # Step 1 pages, then Step 2, then Step 3


def test_tour_pages_point_at_their_moments(tour):
    m = moment()
    tour.set_moment(m)
    w = m.param_nodes[0]
    for page in tour.pages():
        at = m.at(page.position)
        if "dL/dw = dL/dz · dz/dw" in page.plain_text():
            assert at.chain_done == 6 and at.chain[at.chain_done - 1].child == w
            assert at.shown_grads()[w] == -4
        if page.plain_text().startswith("Forward step 1 of 4"):
            assert at.forward_done == 1 and m.forward[0].node in page.nodes
    assert tour.pages()[0].position == 0
    assert tour.pages()[-1].position == m.complete


def test_next_and_back_emit_the_pages_positions(qtbot, tour):
    m = moment()
    tour.set_moment(m)
    expected = [p.position for p in tour.pages()]
    positions = record(tour)
    back, nxt = button(tour, "Back"), button(tour, "Next")
    assert not back.isEnabled() and nxt.isEnabled()
    assert "page 1 of 16" in labels(tour)
    for _ in range(tour.page_count() - 1):
        qtbot.mouseClick(nxt, Qt.MouseButton.LeftButton)
    assert positions == expected[1:]
    assert positions == sorted(positions) and positions[-1] == m.complete
    assert not nxt.isEnabled() and f"page {tour.page_count()} of {tour.page_count()}" in labels(tour)
    positions.clear()
    for _ in range(tour.page_count() - 1):
        qtbot.mouseClick(back, Qt.MouseButton.LeftButton)
    assert positions == expected[-2::-1]
    assert positions == sorted(positions, reverse=True) and positions[-1] == 0
    assert tour.page_index() == 0 and tour.current_position() == 0


def test_setting_a_moment_emits_nothing(tour):
    positions = record(tour)
    tour.set_moment(moment())
    assert positions == []


def test_tour_keeps_its_page_for_the_same_program_and_restarts_for_another(tour):
    first = moment()
    tour.set_moment(first)
    update = next(i for i, p in enumerate(tour.pages()) if p.step.startswith("Step 3"))
    tour.go_to_page(update)
    tour.set_moment(first.at(3))  # only the position moved: nothing to rewrite
    assert tour.page_index() == update
    second = replay(first.program, first.next_values, iteration=1)
    tour.set_moment(second)
    assert tour.page_index() == update
    assert "w ← w - α · dL/dw = 0.4 - 0.1 · (-3.2) = 0.72" in tour.page_text()
    tour.set_moment(moment("multi-path"))
    assert tour.page_index() == 0


@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_tour_works_for_every_preset(tour, name):
    m = moment(name)
    tour.set_moment(m)
    positions = record(tour)
    for _ in range(tour.page_count() - 1):
        tour.next_page()
    assert positions == sorted(positions)
    assert all(0 <= p <= m.complete for p in positions)
    assert tour.page_count() <= 2 + MAX_FORWARD_PAGES + MAX_CHAIN_PAGES + 8
    text = all_text(tour)
    assert "Step" not in text or True  # every page rendered to text without error
    loss = m.after.nodes[m.after.root].name
    assert f"d{loss}/d{loss} = 1" in text
    for name_ in m.param_names[:3]:
        assert f"{name_} ← {name_} - α" in text


def test_network_tour_is_short_and_says_so(tour):
    m = moment("network")
    assert len(m.forward) > 100 and len(m.chain) > 300
    tour.set_moment(m)
    assert tour.page_count() <= 35
    assert "the tour shows the first few of each" in tour.page_text(0)
    text = all_text(tour)
    assert "more forward steps" in text and "more multiplications" in text
    assert "each the same rule" in text
    assert "+=" in text  # one accumulation is shown even though it comes late


def test_multi_path_tour_explains_the_accumulation(tour):
    tour.set_moment(moment("multi-path"))
    text = all_text(tour)
    assert "dL/da += dL/db · db/da = (1) · (6): dL/da = 3 + 6 = 9" in text
    assert "a is used in 2 places" in text
    assert "3 + 6 = 9" in text and "child.grad +=" in text
    assert "Both paths are in: dL/da = 9 is complete" in text


def test_tour_text_follows_the_palette(tour):
    """No colour is written into the pages, so they read on light and dark palettes alike."""
    tour.set_moment(moment("neuron"))
    assert not any("color" in p.html.lower() for p in tour.pages())


def test_empty_tour_has_no_pages_to_turn(tour):
    positions = record(tour)
    tour.next_page()
    assert tour.page_count() == 0 and positions == [] and tour.page_text() == ""


# --- the quiz ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("-4", -4.0), ("-4.0", -4.0), ("\u22124", -4.0), (" 4 ", 4.0), ("+4", 4.0), ("1e-3", 1e-3),
    ("1/2", 0.5), ("-1/2", -0.5), ("1 / 4", 0.25), ("(-4)", -4.0), ("0,5", 0.5), (".5", 0.5),
    ("2.", 2.0), ("−0.25", -0.25),
])
def test_parse_number_reads_what_learners_type(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "--4", "4-", "1/0", "1/2/3", "1e999", "4 4",
                                  "0x10", "1_000", "=", "2*3", "x" * 1000, "1" * 100])
def test_parse_number_refuses_garbage(text):
    assert parse_number(text) is None


def test_parse_number_knows_nan_and_inf():
    assert math.isnan(parse_number("nan")) and parse_number("−inf") == -math.inf


def test_quiz_accepts_minus_four_and_rejects_four_for_dL_dw(quiz):
    m = moment()
    quiz.set_moment(m)
    positions = record(quiz)
    assert quiz.jump_to_gradient("w")
    assert quiz.question() == "What is dL/dw?"
    before = m.seed_position + 5  # dL/dw is the 6th multiplication
    assert positions == [before] and not quiz.is_revealed()
    assert not quiz.answer_text("4")  # a first wrong try: a nudge, no worked argument
    assert "sign of the local gradient" not in quiz.feedback_text()
    assert "Not quite" in quiz.feedback_text() and "Hint" in quiz.feedback_text()
    assert not quiz.answer_text("4")  # the second try gets the diagnosis
    assert "sign of the local gradient" in quiz.feedback_text()
    assert "-4" not in quiz.feedback_text().split("is not")[0]  # the answer stays hidden
    assert positions == [before]
    assert quiz.answer_text("-4")
    assert "dL/dw = dL/dz · dz/dw = (-4) · (1) = -4" in quiz.feedback_text()
    assert positions == [before, before + 1] and quiz.is_revealed()
    assert m.at(positions[-1]).shown_grads()[m.param_nodes[0]] == -4
    assert quiz.score() == (0, 1)  # the first try counts


def test_quiz_hints_name_the_mistake(quiz):
    quiz.set_moment(moment())
    quiz.jump_to_gradient("dL/dw")
    quiz.answer_text("5")  # a first wrong try is only nudged
    assert "multiplies" in quiz.feedback_text() and "upstream" not in quiz.feedback_text()
    quiz.answer_text("1")  # the local gradient alone
    assert "multiply it by the upstream gradient" in quiz.feedback_text()
    quiz.answer_text("-3")  # the two factors added
    assert "added the two factors" in quiz.feedback_text()
    quiz.answer_text("7")
    assert "The chain rule multiplies" in quiz.feedback_text()
    quiz.set_moment(moment("multi-path"))
    assert quiz.jump_to_gradient("a")
    assert quiz.question() == "What is dL/da now, after adding this path?"
    quiz.show_hint()  # after Hint, even a first wrong try is diagnosed
    quiz.answer_text("6")  # this path only
    assert "earlier path" in quiz.feedback_text() and "dL/da = 3" in quiz.feedback_text()
    assert quiz.answer_text("9")
    assert "3 + 6 = 9" in quiz.feedback_text()


def test_quiz_survives_garbage_and_does_not_count_it(quiz):
    quiz.set_moment(moment())
    quiz.jump_to_gradient("w")
    for text in ["", "abc", "1/0", "∞∞", "-", "4e", "🙂", "1" * 500]:
        assert not quiz.answer_text(text)
        assert "Type a number" in quiz.feedback_text()
    assert quiz.score() == (0, 0) and not quiz.is_revealed()


def test_quiz_scores_first_tries_only(qtbot, quiz):
    m = moment()
    quiz.set_moment(m)
    positions = record(quiz)
    quiz.go_to_question(0)
    assert quiz.question() == "What is dL/de?"
    assert quiz.answer_text("-4.0")
    quiz.next_question()
    assert quiz.question() == "What is dL/dz?"
    assert quiz.answer_text("\u22124")  # a Unicode minus
    quiz.next_question()
    quiz.reveal()  # looking is not counted
    assert quiz.is_revealed() and "(-4) · (1) = -4" in quiz.feedback_text()
    assert quiz.answer_text("-4") and quiz.score() == (2, 2)
    quiz.next_question()
    assert quiz.question() == "What is dL/dy?"
    assert not quiz.answer_text("-4")
    assert quiz.answer_text("4")
    assert quiz.score() == (2, 3)
    assert "2 of 3 right" in labels(quiz)
    base = m.seed_position
    assert positions == [base, base + 1, base + 1, base + 2, base + 2, base + 3, base + 3,
                         base + 4]
    button(quiz, "Start over").click()
    assert quiz.score() == (0, 0) and quiz.question_index() == 0


def test_quiz_buttons_drive_it(qtbot, quiz):
    quiz.set_moment(moment())
    quiz.go_to_question(5)
    hint = button(quiz, "Hint")
    qtbot.mouseClick(hint, Qt.MouseButton.LeftButton)
    assert "dz/dw = x = 1" in labels(quiz) and not hint.isEnabled()
    line = quiz.findChild(type(quiz._input))
    line.setText("-4")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert quiz.is_revealed() and quiz.score() == (1, 1)
    qtbot.mouseClick(button(quiz, "Next"), Qt.MouseButton.LeftButton)
    assert quiz.question() == "What is dL/dx?" and not quiz.is_revealed()
    qtbot.mouseClick(button(quiz, "Reveal"), Qt.MouseButton.LeftButton)
    assert "last multiplication" in labels(quiz) and not button(quiz, "Next").isEnabled()


def test_quiz_keeps_its_question_for_a_new_iteration(quiz):
    first = moment()
    quiz.set_moment(first)
    quiz.jump_to_gradient("w")
    quiz.answer_text("-4")
    second = replay(first.program, first.next_values, iteration=1)
    quiz.set_moment(second)
    assert quiz.question() == "What is dL/dw?" and not quiz.is_revealed()
    assert quiz.answer_text("-3.2")
    assert quiz.score() == (2, 2)  # each iteration's question is scored on its own
    quiz.set_moment(second.at(2))  # the canvas moved: nothing changes here
    assert quiz.is_revealed()


@pytest.mark.parametrize("name", [p.name for p in presets()])
def test_quiz_runs_through_every_preset(quiz, name):
    m = moment(name)
    quiz.set_moment(m)
    positions = record(quiz)
    quiz.go_to_question(0)
    for i in range(min(len(m.chain), 60)):
        step = m.chain[i]
        assert quiz.question().startswith(f"What is {m.after.grad_name(step.child)}")
        assert quiz.answer_text(repr(step.child_grad_after))
        quiz.next_question()
    assert positions == sorted(positions)
    assert quiz.score()[0] == quiz.score()[1] == min(len(m.chain), 60)


def test_quiz_without_a_program_asks_nothing(quiz):
    assert quiz.question() == "" and quiz.score() == (0, 0)
    assert not quiz.answer_text("-4") and not quiz.jump_to_gradient("w")
    quiz.reveal()
    quiz.next_question()
    quiz.set_moment(moment())
    assert not quiz.jump_to_gradient("nothing-called-this")
