"""Time travel keeps the moments it replayed (issue 13): a moment from the cache is the moment a
fresh replay gives, the cache belongs to one run (a new program, a reset, a new rate drop it),
and it stays bounded however many iterations the learner visits.

Records are delivered as the worker delivers them (its own signal, emitted from the GUI thread,
so the Session has stored them when ``emit`` returns), from a headless run of the same program.
"""

from engine.graph import format_number
from engine.presets import preset
from engine.replay import MomentCache, moment_cost, replay
from engine.train import Trainer


def feed(window, n=12, lr=0.1):
    """``n`` whole iterations of the window's program, stored in its History."""
    s = window.session
    trainer = Trainer(s.program, lr=lr, tol=0.0)
    records = [trainer.step() for _ in range(n)]
    s.engine.worker.iterationsDone.emit(records, None)
    assert len(s.history) == n
    return records


def assert_same_moment(a, b):
    """Every number and every step of two moments, compared exactly."""
    assert (a.iteration, a.lr, a.values, a.param_nodes) == (b.iteration, b.lr, b.values,
                                                             b.param_nodes)
    assert a.before == b.before and a.after == b.after  # values, gradients, local gradients
    assert a.forward == b.forward and a.chain == b.chain  # every forward step, every multiplication
    assert a.grads == b.grads and a.loss == b.loss


def test_a_cached_moment_is_the_fresh_replay_at_every_step(qtbot, window):
    s = window.session
    records = feed(window)
    window.travel_to_iteration(4)
    first = s.moment
    misses = s.moments.misses
    window.travel_to_iteration(7)
    window.travel_to_iteration(4)  # back: from the cache
    assert s.moments.misses == misses + 1 and s.moments.hits >= 1
    again = s.moment
    assert again is first
    r = records[4]
    fresh = replay(s.program, [p.data for p in r.params], r.iteration, r.lr)
    assert_same_moment(again, fresh)
    for position in range(fresh.complete + 1):  # and the step slider over the cached moment
        window.travel_to_position(position)
        shown = s.moment
        assert shown.position == position
        assert shown.shown_grads() == fresh.at(position).shown_grads()
        assert (shown.forward_done, shown.chain_done) == (fresh.at(position).forward_done,
                                                          fresh.at(position).chain_done)
    assert window.scene.box_texts(s.graph.node_named("w").id)[1] == \
        f"value {format_number(fresh.values[0])}"


def test_the_next_iteration_is_replayed_while_the_window_is_idle(qtbot, window):
    s = window.session
    records = feed(window)
    window.travel_to_iteration(2)
    qtbot.waitUntil(lambda: (s._generation, records[3].iteration) in s.moments, timeout=5000)
    hits = s.moments.hits
    window.travel_to_iteration(3)
    assert s.moments.hits == hits + 1
    window.travel_to_iteration(1)  # moving back: the one before is replayed next
    qtbot.waitUntil(lambda: (s._generation, records[0].iteration) in s.moments, timeout=5000)


def test_a_reset_a_new_rate_and_a_new_program_drop_the_cache(qtbot, window):
    s = window.session
    feed(window)
    window.travel_to_iteration(3)
    assert len(s.moments) >= 1
    window.lr_control.set_lr(0.05)
    assert len(s.moments) == 0
    window.travel_to_iteration(3)
    assert len(s.moments) >= 1
    with qtbot.waitSignal(window.graphShown, timeout=10000):
        window.reset()
    assert len(s.moments) == 0 and len(s.history) == 0
    # the new run's iteration 3 is not the old one's: a moment of it is replayed, not reused
    records = feed(window, lr=0.05)
    window.travel_to_iteration(3)
    assert s.moment.values == tuple(p.data for p in records[3].params)
    with qtbot.waitSignal(window.graphShown, timeout=10000):
        window.load_preset("network")
    assert len(s.moments) == 0


def test_the_cache_stays_bounded_in_moments_and_in_size():
    program = preset("network").program()
    trainer = Trainer(program, lr=0.1, tol=0.0)
    values = [[p.data for p in trainer.step().params] for _ in range(30)]
    one = moment_cost(replay(program, values[0]))
    cache = MomentCache(max_moments=50, max_cost=one * 5)
    for i, v in enumerate(values):
        cache.replay(("run", i), program, v, i, 0.1)
        assert len(cache) <= 5 and cache.cost <= one * 5
    assert len(cache) == 5 and cache.misses == 30
    assert [("run", i) in cache for i in range(30)] == [False] * 25 + [True] * 5  # the newest
    cache.replay(("run", 25), program, values[25], 25, 0.1)  # used again: now the newest
    cache.replay(("run", 0), program, values[0], 0, 0.1)  # so the oldest other one goes
    assert ("run", 25) in cache and ("run", 26) not in cache
    by_count = MomentCache(max_moments=3)
    for i, v in enumerate(values[:10]):
        by_count.replay(i, program, v, i, 0.1)
    assert len(by_count) == 3 and by_count.cost == 3 * one
    too_big = MomentCache(max_cost=one - 1)  # a graph too big to keep: replayed every time
    too_big.replay(0, program, values[0], 0, 0.1)
    assert len(too_big) == 0 and too_big.cost == 0
    by_count.clear()
    assert len(by_count) == 0 and by_count.cost == 0


def test_a_stale_key_never_gives_another_runs_moment():
    program = preset("three-step").program()
    cache = MomentCache()
    a = cache.replay("k", program, [0.0], 0, 0.1)
    b = cache.replay("k", program, [1.0], 0, 0.1)  # same key, other values: replayed
    assert a.values == (0.0,) and b.values == (1.0,) and cache.misses == 2
    c = cache.replay("k", program, [1.0], 0, 0.2)  # other rate: replayed
    assert c.lr == 0.2 and cache.misses == 3


def test_a_closed_learn_dock_is_not_drawn_and_catches_up_when_reopened(qtbot, window):
    records = feed(window)
    window.teach.setCurrentWidget(window.tour)
    window.travel_to_iteration(2)
    expected = f"w = {format_number(records[2].params[0].data)}"
    qtbot.waitUntil(lambda: expected in window.tour.page_text(0), timeout=5000)  # on its beat
    qtbot.waitUntil(lambda: not window.presenter.panel_beat.timer.isActive(), timeout=5000)
    shown = window.tour.page_text(0)
    window.teach_dock.close()
    qtbot.waitUntil(lambda: window.teach_dock.isHidden())
    window.travel_to_iteration(5)
    window.presenter.panel_beat.now()  # even when its beat comes
    assert window.tour.page_text(0) == shown  # out of sight: not rewritten
    with qtbot.waitSignal(window.teach_dock.visibilityChanged, timeout=5000):
        window.teach_dock.show()
    assert f"w = {format_number(records[5].params[0].data)}" in window.tour.page_text(0)


def test_a_minimised_window_draws_no_plot_and_catches_up_when_restored(qtbot, window):
    window.ensure_plots()  # built (they are, a moment after the first frame)
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized, timeout=5000)
    feed(window, n=12)
    window.presenter.plot_beat.now()  # even a due redraw is skipped while out of sight
    assert len(window.curves.loss_data()[0]) == 0
    window.showNormal()
    qtbot.waitUntil(lambda: not window.isMinimized(), timeout=5000)
    qtbot.waitUntil(lambda: len(window.curves.loss_data()[0]) == 12, timeout=5000)


def test_dragging_the_iteration_slider_moves_the_learn_tab_on_its_beat_and_lands(qtbot, window):
    records = feed(window, n=30)
    window.teach.setCurrentWidget(window.tour)
    written = []
    real = window.tour.set_moment
    window.tour.set_moment = lambda m: (written.append(m.iteration), real(m))
    for index in range(1, 30):  # a drag: every step at once, far quicker than the beat
        window.timeline.iteration_slider.setValue(index)
        assert window.session.shown.iteration == records[index].iteration  # the canvas follows
    assert len(written) <= 2  # at most the first step (if its beat was due) before the end
    last = records[29]
    qtbot.waitUntil(lambda: bool(written) and written[-1] == last.iteration, timeout=5000)
    assert f"w = {format_number(last.params[0].data)}" in window.tour.page_text(0)
    before = len(written)
    window.timeline.step_slider.setValue(3)  # within the iteration: at once, not on the beat
    assert len(written) == before + 1
