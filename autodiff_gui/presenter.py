"""The one place the Session's moment becomes what the window shows.

Every view is drawn here from the same :class:`~autodiff_gui.session.Shown`: the canvas and its
banner card, the banner line above it, the readout under it, the time-travel sliders, the plots'
marker and the Learn panels. So they cannot name different iterations: they are all written
from one value, in one slot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import replace

from PySide6.QtCore import QObject

from engine import explain
from engine.graph import GraphSnapshot
from engine.replay import Moment
from engine.train import CONVERGED, DIVERGED, RUNNING

from .theme import status_style
from .canvas.layout_worker import LayoutWorker
from .canvas.scene import LAYOUT_OPTIONS
from .session import (CHAIN, FORWARD, ITERATIONS, LIVE, LOADED, SEED, STARTED, TRAVEL, Session,
                      Shown)
from .throttle import Beat, Spacing
from .timeline import position_text

if TYPE_CHECKING:
    from .window import MainWindow

#: Graphs above this many nodes are laid out in the layout thread: the window keeps answering
#: (the old graph stays, a note says what is happening); smaller ones take a few ms, at once.
BACKGROUND_LAYOUT_NODES = 400
PLOT_FRAME_MS = 200  # the loss and parameter plots during a fast run
PANEL_FRAME_MS = 250  # the Learn panels and the landscape during a fast run
BEAT_SPACING_MS = 60  # the least time between the plots' redraw and the panels'
PENDING_MS = 40  # how often the panels look whether the engine has made a new moment's records

CARD_HINT = "Space runs gradient descent · → takes one step"
LOADED_HINT = ("Press Space to run gradient descent, or → to step through it one forward "
               "operation or chain-rule multiplication at a time")


class Presenter(QObject):
    def __init__(self, window: MainWindow, session: Session) -> None:
        super().__init__(window)
        self.w = window
        self.session = session
        # panels and plots follow a fast run on their own slower beats: at once when their last
        # update is a beat old, else at the end of the beat (a leading- and trailing-edge throttle)
        # and never back to back: each waits until the other's redraw is BEAT_SPACING_MS old
        spacing = Spacing(BEAT_SPACING_MS)
        self.panel_beat = Beat(self, PANEL_FRAME_MS, self.push_moment_to_panels, spacing=spacing)
        self.plot_beat = Beat(self, PLOT_FRAME_MS, self._refresh_plots, spacing=spacing)
        session.momentChanged.connect(self.show)
        session.runEnded.connect(self._on_run_ended)
        session.stateChanged.connect(self._on_state)
        session.failed.connect(self._on_failed)
        self.layout = LayoutWorker(self, **LAYOUT_OPTIONS)
        self.layout.laidOut.connect(self._on_laid_out)
        self.layout.failed.connect(self._on_layout_failed)
        self._laying_out: dict[int, tuple] = {}  # token → (the graph, its view) being laid out
        window.scene.background_layout = self._lay_out_regrouped
        window.scene.refused.connect(lambda text: window.statusBar().showMessage(text, 10000))

    def run_starting(self) -> None:
        """Stagger the slower beats, so a run's first frames do not all come at once."""
        self.plot_beat.hold(0)
        self.panel_beat.hold(PANEL_FRAME_MS // 2)

    # --- layout off the GUI thread ------------------------------------------------------------
    def _canvas_ready(self, shown: Shown) -> bool:
        """Whether the canvas can draw ``shown`` now: its graph's items exist, or it is small
        enough to lay out at once. A big new graph goes to the layout thread, once."""
        graph = shown.graph or (shown.moment.before if shown.moment is not None else None) \
            or self.session.graph
        scene = self.w.scene
        if graph is None:
            return True
        if scene.has_shape_of(graph):
            if any(not _same_shape(g, graph) for g, _ in self._laying_out.values()):
                self.layout.cancel()  # back to the graph shown: the other layout is not wanted
                self._laying_out.clear()
            return True
        view = scene.view_for(graph)  # a grouped network draws its boxes, not its nodes
        if len(view.graph.nodes) <= BACKGROUND_LAYOUT_NODES:
            if self._laying_out:
                self.layout.cancel()  # a newer, small program: the big layout is not wanted
                self._laying_out.clear()
            return True
        if not any(_same_shape(g, graph) and v.opened == view.opened
                   for g, v in self._laying_out.values()):
            self._request_layout(graph, view)
        return False

    def _request_layout(self, graph: GraphSnapshot, view) -> None:
        self.layout.cancel()
        self._laying_out = {self.layout.request(view.graph): (graph, view)}
        self.w.statusBar().showMessage(f"Laying out the graph of {len(view.graph.nodes):,} "
                                       f"items… (the window keeps answering)")

    def _lay_out_regrouped(self, graph: GraphSnapshot, view) -> None:
        """A group opened or closed on a big graph: its new layout comes from the layout thread."""
        self._request_layout(graph, view)

    def _on_laid_out(self, token: int, layout) -> None:
        graph, view = self._laying_out.pop(token, (None, None))
        if graph is None:
            return
        scene = self.w.scene
        regroup = scene.has_shape_of(graph)
        scene.set_layout(graph, layout, view)
        self.w.statusBar().showMessage(f"Laid out {len(view.graph.nodes):,} items", 3000)
        if regroup:
            return  # the same moment, other groups open: the scene kept what it showed
        shown = self.session.shown
        if shown is not None:  # draw whatever moment the window is at by now, whole
            self.show(replace(shown, redraw=True, records=()))

    def _on_layout_failed(self, token: int, message: str) -> None:
        if self._laying_out.pop(token, None) is not None:
            self.w.statusBar().showMessage(f"Cannot lay out the graph: {message}")

    # --- the one slot ---------------------------------------------------------------------------
    def show(self, shown: Shown) -> None:
        if not self._canvas_ready(shown):
            self._show_numbers(shown)  # the old graph stays on the canvas until the new is laid out
            return
        w, scene = self.w, self.w.scene
        if shown.kind == LOADED:
            program = self.session.program
            if program is not None and program.source != self._ghosts_of:
                if w.plots_built:
                    w.curves.clear_ghosts()  # kept runs belong to the program they were run on
                self._ghosts_of = program.source
            scene.show_graph(shown.graph, grads_known=False)
            if w.plots_built:  # else they are drawn when built, just after the first frame
                w.curves.reset(self.session.history.param_names, self.session.targets())
                w.data_panel.set_program(program)
            has_params = any(n.kind == "param" for n in shown.graph.nodes)
            hint = LOADED_HINT if has_params else "This program has no Value(...) parameter to train"
            # the card on the canvas is one line: the short form, the whole hint in the banner
            card = CARD_HINT if has_params else hint
            scene.set_banner("Forward pass done: every value is known; gradients are not yet", card)
            self._banner(hint)
            w.status_label.setText("")
            w.tour.start_over()  # a reset starts the Tour again too
        elif shown.kind == STARTED:
            scene.begin_iteration(shown.graph)
            self._banner(f"Iteration {shown.iteration}, step 1 · forward pass: compute each node "
                         f"from its inputs, and the local gradients along the way")
        elif shown.kind in (FORWARD, SEED, CHAIN) and shown.redraw:
            scene.show_moment(shown.moment)
            self._set_marker(None)
            self._banner(f"{scene.banner.title}:  {scene.banner.text}")
        elif shown.kind == FORWARD:
            step = shown.step
            scene.show_forward_step(step, shown.forward_total)
            self._banner(f"Forward step {step.number} of {shown.forward_total}:  "
                         f"{scene.banner.text}")
        elif shown.kind == SEED:
            scene.show_seed()
            self._banner(f"Backward step 0, the seed:  {scene.banner.text}   (the loss's gradient "
                         f"with respect to itself is 1: backward() starts here)")
        elif shown.kind == CHAIN:
            step = shown.step
            text = explain.chain_formula(scene.graph, step)
            scene.show_chain_rule_step(step, text, shown.chain_total)
            self._banner(f"Backward multiplication {step.number} of {shown.chain_total}:  {text}"
                         f"   (child.grad += local_grad * v.grad)")
        elif shown.kind == ITERATIONS:
            self._show_iterations(shown)
        elif shown.kind == TRAVEL and shown.redraw:
            m = shown.moment
            scene.show_moment(m)
            self._set_marker(m.iteration)
            self._banner(f"Travelling in time: iteration {m.iteration}, "
                         f"{position_text(m.position, len(m.forward), len(m.chain))}. "
                         f"Press Live (or Space to run on) to return.")
        elif shown.kind == LIVE:
            self._set_marker(None)
            if shown.record is not None:
                scene.show_graph(shown.graph)
                scene.set_banner(*explain.update_text(shown.record, self._loss_name()))
            elif shown.graph is not None:
                scene.show_graph(shown.graph, grads_known=False)
            else:
                scene.show_moment(shown.moment)
            self._banner("Back to the latest moment of the run")
        # a learner dragging the iteration slider: the Learn tab and the landscape follow on their
        # beat, as during a fast run (at once for a single move, and the last move always lands)
        drag = shown.kind == TRAVEL and shown.iteration != self._travelled_to
        self._travelled_to = shown.iteration if shown.kind == TRAVEL else None
        self._show_numbers(shown, panels_now=shown.kind in (TRAVEL, LIVE) and shown.redraw
                           and not drag, panels_later=shown.kind == LOADED)
        self._emit_shown(shown)

    def _show_numbers(self, shown: Shown, panels_now: bool = False,
                      panels_later: bool = False) -> None:
        """Everything but the canvas: plots, readout, time travel, panels (``panels_later``: in
        a later event-loop turn, so a new program's graph is painted first)."""
        if shown.records:
            self.plot_beat.request()
        self._show_readout(shown)
        self.sync_timeline()
        if panels_now:
            self.push_moment_to_panels()
        elif panels_later:
            self.panel_beat.later()
        else:
            self.panel_beat.request()

    def _show_iterations(self, shown: Shown) -> None:
        scene, last = self.w.scene, shown.record
        if shown.graph is not None:
            scene.show_graph(shown.graph)
        if len(shown.records) == 1:
            title, text = explain.update_text(last, self._loss_name())
            scene.set_banner(title, text)
            if last.status == RUNNING and shown.graph is not None:  # the update, on the boxes
                scene.show_update({p.name: (p.data, new)
                                   for p, new in zip(last.params, last.next_values)})
            self._banner(f"{title}:  {text}")
        else:
            scene.set_banner(f"Running · iteration {last.iteration}",
                             explain.record_readout(last, self._loss_name()))
            self._banner(f"Running gradient descent: iteration {last.iteration} (Space pauses)")

    def _emit_shown(self, shown: Shown) -> None:
        w = self.w
        if shown.kind == LOADED:
            w.graphShown.emit(shown.graph)
        elif shown.kind == CHAIN:
            w.stepShown.emit(shown.step)
        elif shown.kind == TRAVEL and shown.redraw:
            w.momentShown.emit(shown.moment)
        if shown.records:
            w.iterationsShown.emit(shown.records)

    # --- the smaller views ----------------------------------------------------------------------
    def _banner(self, text: str) -> None:
        self.w.step_label.setText(text)

    def _loss_name(self) -> str:
        program = self.session.program
        return program.loss_name if program else "L"

    def _show_readout(self, shown: Shown) -> None:
        if shown.moment is not None:
            text = explain.moment_readout(shown.moment, self._loss_name())
            values = shown.moment.values
        elif shown.record is not None:
            text = explain.record_readout(shown.record, self._loss_name())
            values = tuple(p.data for p in shown.record.params)
        else:
            return
        accuracy = self.w.data_panel.accuracy_text(values) if self.w.plots_built else ""
        if accuracy:  # a classifier's accuracy, beside its loss
            text = f"{text}   ·   {accuracy}"
        self.w.readout.setText(text)
        self.w.readout.setToolTip(text)

    def sync_timeline(self) -> None:
        shown, history = self.session.shown, self.session.history
        arrays = history.arrays(copy=False)
        self.w.timeline.set_iterations(arrays.iterations, history.decimated)
        if shown is None:
            self.w.timeline.set_moment_position(0, 0, 0, 0, True)
            return
        index = self.session.index_of(shown.iteration)
        self.w.timeline.set_moment_position(index if index is not None else 0, shown.position,
                                            shown.forward_total, shown.chain_total, shown.live,
                                            shown.iteration)

    def push_moment_to_panels(self) -> None:
        """The moment shown, to the Learn tab in sight and the landscape. A panel out of sight
        (a tab not chosen, the Learn dock closed, the window minimised) is not drawn: it is
        given the moment when it comes back (a tab change, the dock reopened, the window
        restored)."""
        if self.w.isMinimized():
            return
        m = self.session.current_moment()
        if m is None:
            return
        if m.pending:  # the engine thread is making its backward records: ask again soon
            self.panel_beat.timer.start(PENDING_MS)
            return
        panel = self.w.teach.currentWidget()
        if panel is not None and hasattr(panel, "set_moment") and not self.w.teach_dock.isHidden():
            panel.set_moment(m)
        self._push_landscape(m)

    def _push_landscape(self, m: Moment) -> None:
        """The loss surface with the iterates up to the moment shown (the panel thins them)."""
        if not self.w.plots_built:
            return  # the panel catches up when it is built
        history = self.session.history
        arrays = history.arrays(copy=False)
        upto = len(arrays.iterations)
        if upto and m.iteration <= int(arrays.iterations[-1]):
            upto = history.index_at(m.iteration) + 1
        landscape = self.w.landscape
        landscape.set_path_array(arrays.values[:upto])
        landscape.set_moment(m)
        landscape.set_lr(self.session.lr if self.session.live else m.lr)
        self.w.data_panel.set_moment(m)  # the data and the model, at the same moment

    # --- the plots, built after the first frame -------------------------------------------------
    def _refresh_plots(self) -> None:
        if self.w.plots_built and not self.w.isMinimized():
            self.w.curves.refresh()

    def back_in_sight(self) -> None:
        """The window was restored (or the Learn dock reopened): draw what was skipped."""
        self._refresh_plots()
        self.push_moment_to_panels()

    def _set_marker(self, iteration: int | None) -> None:
        if self.w.plots_built:
            self.w.curves.set_marker(iteration)

    def plots_built(self) -> None:
        """The window has just built its plots: draw in them what the other views show."""
        w, session, shown = self.w, self.session, self.session.shown
        if shown is None:
            return
        # the history is shared with the Session: it holds the run, which must stay
        w.curves.reset(session.history.param_names, session.targets(), keep_history=True)
        w.curves.set_marker(None if shown.live else shown.iteration)
        w.curves.set_steady(session.state.running)
        w.data_panel.set_program(session.program)
        self._push_landscape_now()

    def _push_landscape_now(self) -> None:
        m = self.session.current_moment()
        if m is not None and not m.pending:  # else the panels' beat pushes it once it is made
            self._push_landscape(m)

    # --- the run's state --------------------------------------------------------------------------
    def _on_run_ended(self, status: str, message: str) -> None:
        w = self.w
        self.plot_beat.now()
        w.status_label.setText(message)
        self._banner(f"{message[:1].upper()}{message[1:]}. Ctrl+R starts again; "
                     f"try another learning rate")
        title = {CONVERGED: "Converged", DIVERGED: "Diverged"}.get(status, "Stopped")
        w.scene.set_banner(f"{title} · the run has ended", message)
        good = {CONVERGED: True, DIVERGED: False}.get(status)
        w.status_label.setStyleSheet(status_style(w.palette(), good))
        w.statusBar().showMessage(message)
        w.runEnded.emit(status, message)

    def _on_state(self, state) -> None:
        paused = self._was_running and not state.running and state.status == RUNNING
        self._was_running = state.running
        shown = self.session.shown
        if paused and self.session.live and not self.session.awaiting_reset and shown is not None:
            self._banner(f"Paused at iteration {shown.iteration} "
                         f"({position_text(shown.position, shown.forward_total, shown.chain_total)})"
                         f". Space runs on, → steps, the sliders below travel back in time.")
        self.w.run_action.setText("&Pause" if state.running else "&Run")
        if self.w.plots_built:
            self.w.curves.set_steady(state.running)

    _was_running = False
    _travelled_to: int | None = None  # the iteration the last TRAVEL showed
    _ghosts_of: str | None = None  # the program whose runs the kept ghosts are

    def _on_failed(self, message: str) -> None:
        self.w.status_label.setText(message)


def _same_shape(a: GraphSnapshot, b: GraphSnapshot) -> bool:
    return len(a.nodes) == len(b.nodes) and all(
        (x.kind, x.op, x.children) == (y.kind, y.op, y.children) for x, y in zip(a.nodes, b.nodes))
