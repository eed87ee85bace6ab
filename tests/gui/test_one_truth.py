"""Every view names the same iteration and step at every moment: the Session's one Shown.

Drives a run at each speed, pauses, steps, travels and resets, and after each asks every view
what it shows: the readout, the banner line, the canvas card, the time-travel labels, the plots'
marker, the status, and the canvas's own numbers.
"""

import re

import pytest

from autodiff_gui.session import ITERATIONS
from autodiff_gui.timeline import position_text
from autodiff_gui.worker import SPEEDS

ITERATION = re.compile(r"[Ii]teration (\d+)")


def assert_views_agree(w) -> None:
    shown = w.session.shown
    assert shown is not None
    views = {
        "readout": w.readout.text(),
        "banner": w.step_label.text(),
        "canvas card": f"{w.scene.banner.title} {w.scene.banner.text}",
        "time travel": w.timeline.iteration_label.text(),
    }
    for view, text in views.items():
        for n in ITERATION.findall(text):
            assert int(n) == shown.iteration, f"the {view} says {text!r}, not iteration {shown.iteration}"
    assert ITERATION.search(views["readout"]), views["readout"]
    assert ITERATION.search(views["time travel"]), views["time travel"]
    assert w.timeline.step_label.text() == position_text(shown.position, shown.forward_total,
                                                         shown.chain_total)
    assert w.timeline.step_slider.value() == shown.position
    assert w.curves.marker() == (None if shown.live else shown.iteration)
    # the canvas's w box holds the number the readout names
    readout_w = re.search(r"\bw = (\S+)", views["readout"]).group(1)
    w_node = w.scene.graph.node_named("w").id
    value = w.scene.box_texts(w_node)[1]
    assert value == f"value {readout_w}" or value.startswith(f"value {readout_w} → "), value
    m = w.session.current_moment()
    assert m is not None and m.iteration == shown.iteration


def wait_moment(qtbot, w, action, kind=None, timeout=10000):
    check = (lambda s: s.kind == kind) if kind else None
    with qtbot.waitSignal(w.session.momentChanged, timeout=timeout, check_params_cb=check):
        action()


def pause(qtbot, w):
    with qtbot.waitSignal(w.session.stateChanged, timeout=10000,
                          check_params_cb=lambda s: not s.running):
        w.toggle_run()


@pytest.mark.parametrize("speed", [2, 3, 4, len(SPEEDS) - 1],
                         ids=[SPEEDS[i][0].split(",")[0].split(" (")[0] for i in (2, 3, 4, 5)])
def test_every_view_names_the_same_moment(qtbot, window, speed):
    w = window
    assert_views_agree(w)  # loaded: iteration 0, the forward pass done
    w.lr_control.set_lr(0.1 if speed < len(SPEEDS) - 1 else 0.0001)
    w.speed_control.set_speed(speed)
    w.cap_control.spin.setValue(100_000)
    mode = SPEEDS[speed][2]
    for _ in range(2):  # a few moments of the run arrive
        wait_moment(qtbot, w, lambda: None if w.state.running else w.toggle_run(),
                    kind=ITERATIONS if mode != "step" else None)
    pause(qtbot, w)
    assert_views_agree(w)
    wait_moment(qtbot, w, w.step_one)
    assert_views_agree(w)
    while len(w.records) < 2:
        wait_moment(qtbot, w, w.step_iteration, kind=ITERATIONS)
        assert_views_agree(w)
    w.travel_to_iteration(1)
    assert_views_agree(w)
    assert not w.live and w.session.shown.iteration == w.records[1].iteration
    w.travel_to_position(3)
    assert_views_agree(w)
    assert w.session.shown.position == 3
    w.back_to_live()
    assert_views_agree(w)
    with qtbot.waitSignal(w.graphShown, timeout=10000):
        w.reset()
    assert_views_agree(w)
    assert w.session.shown.iteration == 0 and not w.records


def test_a_paused_run_has_shown_every_record_it_computed(qtbot, window):
    """The pause is reported only after the last computed record reached the views, so a step
    after it adds exactly one iteration."""
    w = window
    w.speed_control.set_speed(4)
    w.cap_control.spin.setValue(100_000)
    shown = []
    w.iterationsShown.connect(lambda records: shown.extend(r.iteration for r in records))
    wait_moment(qtbot, w, w.toggle_run, kind=ITERATIONS)
    pause(qtbot, w)
    before = len(w.records)
    assert shown == [r.iteration for r in w.records]
    assert w.session.shown.iteration == w.records[-1].iteration
    wait_moment(qtbot, w, w.step_iteration, kind=ITERATIONS)
    assert len(w.records) == before + 1
    assert shown == [r.iteration for r in w.records]
