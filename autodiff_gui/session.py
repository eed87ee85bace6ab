"""One learner's session: the program, its graph, the run's History and the one moment shown.

Every view of the window (canvas, banners, readout, status bar, time-travel sliders, plots and
panels) draws from :attr:`Session.momentChanged`, which carries one :class:`Shown`: so no two
views can name different iterations. The Session owns the engine thread too, and all the
transitions between moments: records arriving from the engine, time travel, back to live, a
reset and a new program. It holds no widget.

Fast runs send far more iterations than a window can draw: the Session stores every batch in its
History at once (so the record of the run is always complete: a paused run has every record it
computed), and announces the newest moment at most once a frame.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QTimer, Signal

from engine.graph import GraphSnapshot
from engine.language import Program, ProgramError, start
from engine.records import ChainRuleStep, ForwardStep, IterationRecord, RecordBatch
from engine.replay import Moment, MomentCache, replay
from engine.train import IterationStart, quadratic_minimum

from .history import History
from .worker import EngineThread, RunState

# A fast run is drawn at most ~20 times a second: each frame repaints the canvas and the numbers,
# and more frames would leave the event loop too little time between them to answer the learner.
MIN_FRAME_MS = 50
MAX_FRAME_MS = 500

# What a Shown moment is
LOADED = "loaded"  # a new program or a reset: the forward pass at the start, no gradient yet
STARTED = "started"  # a step-by-step iteration begins
FORWARD = "forward"  # one forward step of the live iteration
SEED = "seed"  # the backward pass's step 0 of the live iteration: dL/dL = 1
CHAIN = "chain"  # one chain-rule multiplication of the live iteration
ITERATIONS = "iterations"  # one or more whole iterations done (the update included)
TRAVEL = "travel"  # the learner went back in time
LIVE = "live"  # back from time travel to the latest moment


@dataclass(frozen=True)
class Shown:
    """The moment every view shows, and how it was reached.

    ``iteration`` and ``position`` (records into the iteration: forward steps, then the seed,
    then the multiplications) name the moment; ``moment`` is its full replay where one was
    needed (step by step, time travel), else None: :meth:`Session.current_moment` builds it on
    demand from ``record``. ``redraw`` says the canvas must draw the moment whole instead of
    adding the one step to what it shows.
    """

    kind: str
    iteration: int
    position: int
    forward_total: int
    chain_total: int
    live: bool
    moment: Moment | None = None
    record: IterationRecord | None = None  # the newest whole iteration (ITERATIONS, LIVE)
    records: Sequence[IterationRecord] = ()  # the iterations new since the last Shown
    step: ForwardStep | ChainRuleStep | IterationStart | None = None
    graph: GraphSnapshot | None = None  # the graph to draw (LOADED, ITERATIONS, STARTED)
    redraw: bool = False

    @property
    def complete(self) -> bool:
        return self.position >= self.forward_total + 1 + self.chain_total


class Session(QObject):
    #: the one signal for "the moment shown changed": every view draws from its Shown
    momentChanged = Signal(object)
    #: the run stopped: status, message (after the last moment of the run was shown)
    runEnded = Signal(str, str)
    #: the engine's run state (running or not), after every record it computed was shown
    stateChanged = Signal(object)
    #: the engine could not start the program
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.program: Program | None = None
        self.graph: GraphSnapshot | None = None
        self.history = History()
        self.state = RunState(False, "idle", 0, False)
        self.shown: Shown | None = None
        self.live = True  # False while the learner travels back in time
        self.lr = 0.1  # the rate the next iteration uses
        self._moment: Moment | None = None  # the replay of the moment shown, once built
        self._live_moment: Moment | None = None  # the engine's step-by-step iteration, if any
        self._canvas_live = True  # the views show the engine's latest moment, not a travel
        # After a load or reset, records still queued from the run before it must be dropped;
        # the worker's graphReset marks where the new run's records begin.
        self._awaiting_reset = False
        self._forward_total = 0
        self._chain_total = 0
        self._new: list[Sequence[IterationRecord]] = []  # batches stored but not yet shown
        self._new_graph: GraphSnapshot | None = None
        self.engine_pid: int | None = None  # the child process of full-speed runs, once started
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(MIN_FRAME_MS)
        self._frame.timeout.connect(self._show_new)
        # Time travel: the replayed moments of this run (bounded), keyed by the run's generation
        # (a new program, a reset or a new rate starts the next) and the iteration; after a step of
        # the slider the next iteration the same way is replayed while the window is idle.
        self.moments = MomentCache()
        self._generation = 0
        self._travel_index = -1
        self._prefetch_index = -1
        self._prefetch = QTimer(self)
        self._prefetch.setSingleShot(True)
        self._prefetch.setInterval(0)
        self._prefetch.timeout.connect(self._prefetch_next)

        self.engine = EngineThread(self)
        w = self.engine.worker
        w.momentReplayed.connect(self._on_moment_replayed)
        w.graphReset.connect(self._on_graph_reset)
        w.iterationStarted.connect(self._on_iteration_started)
        w.forwardStep.connect(self._on_forward_step)
        w.seedStep.connect(self._on_seed)
        w.chainRuleStep.connect(self._on_chain_rule_step)
        w.iterationsDone.connect(self._on_iterations_done)
        w.runFinished.connect(self._on_run_finished)
        w.stateChanged.connect(self._on_state)
        w.failed.connect(self._on_failed)
        w.processStarted.connect(self._on_process_started)

    # --- commands -------------------------------------------------------------------------------
    def load(self, program: Program) -> None:
        """A new program: the engine starts over on it; records of the old one are dropped."""
        self._awaiting_reset = True
        self.program = program
        self._new_generation()
        self.engine.pauseRequested.emit()
        self.engine.loadRequested.emit(program, self.lr)

    def set_lr(self, lr: float) -> None:
        """Takes effect at the next iteration (one in progress keeps its rate)."""
        if lr != self.lr:
            self._new_generation()
        self.lr = lr
        self.engine.lrChanged.emit(lr)

    def run(self) -> None:
        self.live = True
        self.engine.runRequested.emit()

    def pause(self) -> None:
        self.engine.pauseRequested.emit()

    def step(self) -> None:
        self.live = True
        self.engine.stepRequested.emit()

    def step_iteration(self) -> None:
        self.live = True
        self.engine.iterationRequested.emit()

    def reset(self) -> None:
        self._awaiting_reset = True
        self.engine.resetRequested.emit()

    def stop(self) -> None:
        self._frame.stop()
        self._prefetch.stop()
        self.engine.stop()

    @property
    def records(self) -> list[IterationRecord]:
        """The run so far (bounded on long runs: the History decimates)."""
        return list(self.history.records())

    @property
    def moment(self) -> Moment | None:
        """The replay of the moment shown, if it was built (see :meth:`current_moment`)."""
        return self._moment

    def current_moment(self) -> Moment | None:
        """The moment shown, replayed from its record if a fast run left it unbuilt."""
        shown = self.shown
        if self._moment is None and shown is not None and shown.record is not None:
            self._moment = self._replay_record(shown.record)
        return self._moment

    # --- time travel ----------------------------------------------------------------------------
    def travel_to_iteration(self, index: int) -> None:
        if not 0 <= index < len(self.history) or self.program is None:
            return
        m = self._replay_record(self.history.record_at(index))
        if m is None:
            return
        self._travel(m)
        step = 1 if index >= self._travel_index else -1
        self._travel_index = index
        if 0 <= index + step < len(self.history):
            self._prefetch_index = index + step
            self._prefetch.start()

    def travel_to_position(self, position: int) -> None:
        m = self.current_moment()
        if m is not None:
            self._travel(m.at(position))

    def _travel(self, moment: Moment) -> None:
        if self.state.running:
            self.engine.pauseRequested.emit()
        self._show_new()  # what the run computed before the travel is stored and shown first
        self.live = False
        self._canvas_live = False
        self._moment = moment
        self._announce(Shown(TRAVEL, moment.iteration, moment.position, len(moment.forward),
                             len(moment.chain), False, moment=moment, redraw=True))

    def back_to_live(self) -> None:
        self.live = True
        self._canvas_live = True
        if self._live_moment is not None:  # the engine is part-way through an iteration
            m = self._live_moment
            self._moment = m
            self._announce(Shown(LIVE, m.iteration, m.position, len(m.forward), len(m.chain), True,
                                 moment=m, redraw=True))
            return
        last = self.history.last()
        if last is not None:
            m = self._replay_record(last)
            self._moment = m
            if m is not None:
                self._announce(Shown(LIVE, m.iteration, m.complete, len(m.forward), len(m.chain),
                                     True, moment=m, record=last, graph=m.after, redraw=True))
            return
        m = self._moment
        if m is not None:
            m = m.at(len(m.forward))
            self._moment = m
            self._announce(Shown(LIVE, m.iteration, m.position, len(m.forward), len(m.chain), True,
                                 moment=m, graph=m.before, redraw=True))

    # --- records in -----------------------------------------------------------------------------
    def _on_moment_replayed(self, moment: Moment) -> None:
        self._replayed = moment  # the next graphReset's, if its graph is this moment's

    _replayed: Moment | None = None

    def _on_graph_reset(self, graph: GraphSnapshot | None, program: Program | None = None) -> None:
        replayed, self._replayed = self._replayed, None
        if program is not None and program is not self.program:
            # the reset of an earlier program (a run that restarted it, queued before the load):
            # its records may still follow, so the wait for the new program's reset goes on
            return
        self._new, self._new_graph = [], None  # records of the run that was reset
        self._frame.stop()
        self._awaiting_reset = False
        self._new_generation()
        self._live_moment = None
        self._canvas_live = True
        self.live = True
        if graph is None:
            return
        self.graph = graph
        self._forward_total = sum(1 for n in graph.nodes if n.children)
        self._chain_total = sum(len(n.children) for n in graph.nodes)
        self._moment = None
        names = None
        if self.program is not None:
            try:  # made by the engine's thread, else here, named as the engine's snapshot is
                m = replayed
                if m is None or m.before is not graph or m.program is not self.program or m.lr != self.lr:
                    m = replay(self.program, None, 0, self.lr, like=graph)
                self._moment = m.at(m.forward_total)
                names = list(m.param_names)
            except ProgramError:
                pass
        self.history.clear(self.param_names() if names is None else names)
        self._announce(Shown(LOADED, 0, self._forward_total, self._forward_total,
                             self._chain_total, True, moment=self._moment, graph=graph,
                             redraw=True))

    def _on_iteration_started(self, start: IterationStart) -> None:
        if self._awaiting_reset or self.program is None:
            return
        self._show_new()
        try:
            self._live_moment = replay(self.program, start.values, start.iteration, start.lr, 0,
                                       like=start.graph or self.graph)
        except ProgramError:
            self._live_moment = None
            return
        self.graph = start.graph
        if not self.live:
            return
        self._moment = self._live_moment
        self._canvas_live = True
        self._announce(Shown(STARTED, start.iteration, 0, self._forward_total, self._chain_total,
                             True, moment=self._moment, step=start, graph=start.graph,
                             redraw=True))

    def _on_forward_step(self, step: ForwardStep) -> None:
        self._advance_live(FORWARD, step.number, step)

    def _on_seed(self) -> None:
        seed = self._live_moment.seed_position if self._live_moment is not None else 0
        self._advance_live(SEED, seed, None)

    def _on_chain_rule_step(self, step: ChainRuleStep) -> None:
        seed = self._live_moment.seed_position if self._live_moment is not None else 0
        self._advance_live(CHAIN, seed + step.number, step)

    def _advance_live(self, kind: str, position: int, step) -> None:
        self._show_new()
        if self._awaiting_reset or self._live_moment is None:
            return
        self._live_moment = self._live_moment.at(position)
        if not self.live:
            return
        m = self._moment = self._live_moment
        redraw = not self._canvas_live
        self._canvas_live = True
        self._announce(Shown(kind, m.iteration, m.position, len(m.forward), len(m.chain), True,
                             moment=m, step=step, redraw=redraw))

    def _on_iterations_done(self, records: Sequence[IterationRecord],
                            graph: GraphSnapshot | None) -> None:
        """Store the iterations at once; show the newest at most once a frame."""
        if not len(records) or self._awaiting_reset:
            return
        self.history.extend(records)
        self._live_moment = None  # the iteration is complete
        self._new.append(records)
        if graph is not None:
            self._new_graph = graph
        if not self._frame.isActive():
            self._show_new()

    def _show_new(self) -> None:
        """Announce the iterations stored since the last frame, then wait a frame."""
        if not self._new:
            return
        batches, graph = self._new, self._new_graph
        self._new, self._new_graph = [], None
        if len(batches) == 1:
            records = batches[0]
        elif all(isinstance(b, RecordBatch) for b in batches):
            records = RecordBatch.concat(batches)
        else:
            records = [r for b in batches for r in b]
        last = records[-1]
        if graph is not None:
            self.graph = graph
        started = time.perf_counter()
        if self.live:
            self._moment = None  # built from the record when a view asks for it
            self._canvas_live = True
            self._announce(Shown(ITERATIONS, last.iteration,
                                 self._forward_total + 1 + self._chain_total, self._forward_total,
                                 self._chain_total, True, record=last, records=records,
                                 graph=graph))
        else:  # travelling: the run is recorded, the moment shown stays put
            if self.shown is not None:
                self._announce(replace(self.shown, records=records, redraw=False))
        # the cooldown grows with the cost of drawing, so the event loop never falls behind
        cost_ms = (time.perf_counter() - started) * 1000
        self._frame.setInterval(max(MIN_FRAME_MS, min(MAX_FRAME_MS, int(cost_ms * 3))))
        self._frame.start()

    def _on_run_finished(self, status: str, message: str) -> None:
        if self._awaiting_reset:
            return
        self._show_new()
        self.runEnded.emit(status, message)

    def _on_state(self, state: RunState) -> None:
        if not state.running:
            self._show_new()  # a paused run has shown every record it computed
        self.state = state
        self.stateChanged.emit(state)

    def _on_process_started(self, pid: int) -> None:
        self.engine_pid = pid

    def _on_failed(self, message: str) -> None:
        self._awaiting_reset = False
        self.failed.emit(message)

    # --- helpers ----------------------------------------------------------------------------------
    def _announce(self, shown: Shown | None) -> None:
        if shown is None:
            return
        self.shown = shown
        self.momentChanged.emit(shown)

    def _replay_record(self, record: IterationRecord) -> Moment | None:
        if self.program is None:
            return None
        try:
            return self.moments.replay((self._generation, record.iteration), self.program,
                                       [p.data for p in record.params], record.iteration,
                                       record.lr, like=self.graph)
        except ProgramError:
            return None

    def _new_generation(self) -> None:
        """The moments replayed so far belong to another run: drop them."""
        self._generation += 1
        self.moments.clear()
        self._prefetch.stop()
        self._travel_index = -1

    def _prefetch_next(self) -> None:
        """Replay the iteration the slider is likely to reach next, while the window is idle."""
        index = self._prefetch_index
        if self.live or self.program is None or not 0 <= index < len(self.history):
            return
        self._replay_record(self.history.record_at(index))

    @property
    def awaiting_reset(self) -> bool:
        return self._awaiting_reset

    def param_names(self) -> list[str]:
        if self.program is None:
            return []
        try:
            return list(start(self.program).names)
        except ProgramError:
            return []

    def targets(self) -> dict[str, float]:
        """The exact minimum of a quadratic loss (w* = 2 for the tutorial's), else nothing."""
        if self.program is None:
            return {}
        try:
            first = start(self.program)
        except ProgramError:
            return {}
        target = quadratic_minimum(self.program, first.values)
        if target is None:
            return {}
        # round away the finite-difference noise (b* = 5.9e-12 is b* = 0)
        return {name: round(float(f"{v:.9g}"), 9) for name, v in zip(first.names, target)}

    def index_of(self, iteration: int) -> int:
        """The History index of ``iteration`` (0 when nothing is recorded)."""
        return self.history.index_at(iteration) if len(self.history) else 0
