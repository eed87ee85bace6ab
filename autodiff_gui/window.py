"""The main window: editor, live graph canvas, loss curves, run controls; wired one way.

Editor text → program → engine thread → records → the canvas, plots and readouts. Nothing
flows back into the engine but commands (load, run, pause, step, reset, a learning rate).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QFrame, QHBoxLayout,
                               QLabel, QMainWindow, QMessageBox, QProgressDialog, QSplitter,
                               QTabWidget, QToolBar, QVBoxLayout, QWidget)

from engine.files import atomic_write, describe_os_error
from engine.formats import TEXT_FORMATS, records_to_csv
from engine.graph import GraphSnapshot, format_number, formula
from engine.language import Program, ProgramError, evaluate
from engine.presets import DEFAULT, preset
from engine.records import ChainRuleStep, ForwardStep, IterationRecord, RecordBatch
from engine.replay import Moment, replay
from engine.train import CONVERGED, DIVERGED, RUNNING, IterationStart, quadratic_minimum

from .canvas.scene import GraphScene
from .canvas.view import GraphView
from .controls import CapControl, LearningRateControl, SpeedControl
from .editor.panel import EditorPanel
from .export import ExportError, ImageOptions, export_scene, render_image
from .export_dialog import RecordDialog, SnapshotDialog
from .plots.export import export_plot_png, export_plot_svg
from .recording import ITERATIONS, RecordingCancelled, record
from .plots.curves import CurvesPanel
from .panels.check import GradientCheckPanel
from .panels.landscape import LandscapePanel
from .panels.ledger import LedgerPanel
from .panels.mistakes import MistakesPanel
from .panels.quiz import QuizPanel
from .panels.tour import TourPanel
from .panels.source import SourcePanel
from .panels.sweep import SweepPanel
from .timeline import Timeline, position_text
from .worker import DEFAULT_CAP, DEFAULT_SPEED, EngineThread, RunState

APP_NAME = "Autodiff GUI"
MAX_RECENT = 8
# A fast run is drawn at most ~20 times a second: each frame repaints the canvas and two plots,
# and more frames would leave the event loop too little time between them to answer the learner.
MIN_FRAME_MS = 50
PLOT_FRAME_MS = 200  # the loss and parameter plots during a fast run
PANEL_FRAME_MS = 250  # the Learn panels and the landscape during a fast run


class MainWindow(QMainWindow):
    #: emitted after the canvas has drawn a chain-rule step (tests wait on it)
    stepShown = Signal(object)
    #: emitted after a batch of iterations reached the views
    iterationsShown = Signal(object)
    runEnded = Signal(str, str)
    #: emitted after a freshly loaded or reset graph is on the canvas
    graphShown = Signal(object)
    #: emitted after time travel put the window at a moment
    momentShown = Signal(object)

    def __init__(self, settings: QSettings | None = None, lr: float | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("autodiff-gui", "Autodiff GUI")
        self.setObjectName("MainWindow")
        self.file_path: Path | None = None
        self.program: Program | None = None
        self.graph: GraphSnapshot | None = None
        self.moment: Moment | None = None  # what the canvas and the panels show
        self._pending_record: IterationRecord | None = None  # a moment to rebuild lazily
        self.live = True  # False while the learner travels back in time
        self._live_moment: Moment | None = None  # the engine's step-by-step iteration, if any
        self._canvas_live = True  # the canvas shows the engine's latest moment, not a travel
        # After a load or reset, records still queued from the run before it must be dropped;
        # the worker's graphReset marks where the new run's records begin.
        self._awaiting_reset = False
        self.state = RunState(False, "idle", 0, False)
        self._forward_total = 0
        self._backward_total = 0
        self._closing = False
        self._frozen = False
        self.persist_settings = True  # False for a scripted window (--screenshot)

        saved_lr = float(self.settings.value("lr", 0.1))
        self.engine = EngineThread(self)
        w = self.engine.worker
        w.graphReset.connect(self._on_graph_reset)
        w.iterationStarted.connect(self._on_iteration_started)
        w.forwardStep.connect(self._on_forward_step)
        w.chainRuleStep.connect(self._on_chain_rule_step)
        w.iterationsDone.connect(self._on_iterations_done)
        w.runFinished.connect(self._on_run_finished)
        w.stateChanged.connect(self._on_state)
        w.failed.connect(self._on_failed)

        self._build_widgets(lr if lr is not None else saved_lr)
        self._build_actions()
        self._restore()
        self.editor.programChanged.connect(self._on_program)
        self.editor.programInvalid.connect(self._on_program_invalid)
        self.editor.presetChosen.connect(self._on_preset_chosen)

    # --- building -----------------------------------------------------------------------------------
    def _build_widgets(self, lr: float) -> None:
        self.setWindowTitle(f"{APP_NAME} — Autodiff and backprop, step by step")
        self.scene = GraphScene(self.palette(), self)
        self.view = GraphView(self.scene)
        self.editor = EditorPanel()
        self.editor.setMinimumWidth(300)
        self.curves = CurvesPanel()
        self.timeline = Timeline()
        self.ledger = LedgerPanel()
        self.source_panel = SourcePanel()
        self.teach = QTabWidget()
        self.teach.setObjectName("teachTabs")
        self.teach.setDocumentMode(True)
        self.tour = TourPanel()
        self.quiz = QuizPanel()
        self.check_panel = GradientCheckPanel()
        self.mistakes = MistakesPanel()
        self.teach.addTab(self.tour, "Tour")
        self.teach.addTab(self.ledger, "Ledger")
        self.teach.addTab(self.source_panel, "Code")
        self.teach.addTab(self.quiz, "Quiz")
        self.teach.addTab(self.check_panel, "Check")
        self.teach.addTab(self.mistakes, "Mistakes")
        self.sweep = SweepPanel()
        self.teach.addTab(self.sweep, "Sweep")
        for panel in (self.tour, self.quiz):
            panel.positionRequested.connect(self.travel_to_position)
        self.mistakes.presetRequested.connect(self._load_preset_from_panel)
        self.teach_dock = QDockWidget("Learn", self)
        self.teach_dock.setObjectName("learnDock")
        self.teach_dock.setWidget(self.teach)
        self.teach_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                    | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.teach_dock)
        self.landscape = LandscapePanel()
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self.bottom.addWidget(self.curves)
        self.bottom.addWidget(self.landscape)
        self.bottom.setStretchFactor(0, 2)
        self.bottom.setStretchFactor(1, 1)
        self.bottom.setSizes([640, 380])

        self.lr_control = LearningRateControl(lr)
        self.speed_control = SpeedControl(int(self.settings.value("speed", DEFAULT_SPEED)))
        self.cap_control = CapControl(DEFAULT_CAP)
        self.lr_control.lrChanged.connect(self._on_lr)
        self.lr_control.lrChanged.connect(self.landscape.set_lr)
        self.sweep.lrChosen.connect(self.lr_control.set_lr)
        self.speed_control.speedChanged.connect(self.engine.speedChanged)
        self.cap_control.capChanged.connect(self.engine.capChanged)
        self.engine.speedChanged.emit(self.speed_control.speed())
        self.engine.lrChanged.emit(self.lr_control.lr())

        controls = QWidget()
        row = QHBoxLayout(controls)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.lr_control, 3)
        row.addSpacing(16)
        row.addWidget(self.speed_control, 2)
        row.addSpacing(16)
        row.addWidget(self.cap_control)

        self.step_label = QLabel()
        self.step_label.setObjectName("stepLabel")
        self.step_label.setTextFormat(Qt.TextFormat.PlainText)
        self.step_label.setWordWrap(True)
        font = self.step_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.step_label.setFont(font)
        self.readout = QLabel()
        self.readout.setObjectName("readout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel()
        self.status_label.setObjectName("statusMessage")
        self.status_label.setWordWrap(True)

        centre = QWidget()
        col = QVBoxLayout(centre)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(controls)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        col.addWidget(line)
        col.addWidget(self.step_label)
        col.addWidget(self.view, 1)
        col.addWidget(self.timeline)
        col.addWidget(self.readout)
        col.addWidget(self.status_label)
        for lbl in (self.step_label, self.readout, self.status_label):
            lbl.setContentsMargins(10, 2, 10, 2)

        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.addWidget(centre)
        self.right.addWidget(self.bottom)
        self.right.setStretchFactor(0, 3)
        self.right.setStretchFactor(1, 1)
        self.right.setSizes([560, 340])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.editor)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setSizes([330, 900])
        self.setCentralWidget(self.splitter)
        self.resizeDocks([self.teach_dock], [440], Qt.Orientation.Horizontal)
        self.statusBar().showMessage("Ready")
        self.resize(1560, 960)
        self.timeline.iterationChosen.connect(self.travel_to_iteration)
        self.timeline.positionChosen.connect(self.travel_to_position)
        self.timeline.liveRequested.connect(self.back_to_live)
        self.ledger.positionRequested.connect(self.travel_to_position)
        self.teach.currentChanged.connect(lambda _: self._push_moment_to_panels())
        # panels and plots follow a fast run on their own slower beats: at once when their last
        # update is a beat old, else at the end of the beat (a leading- and trailing-edge throttle)
        self._panel_beat = Beat(self, PANEL_FRAME_MS, self._push_moment_to_panels)
        self._incoming: list[Sequence[IterationRecord]] = []  # batches waiting for a frame
        self._incoming_graph: GraphSnapshot | None = None
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(16)
        self._render_timer.timeout.connect(self._flush_incoming)
        self._plot_beat = Beat(self, PLOT_FRAME_MS, self.curves.refresh)

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.open_action = self._action("&Open…", self.open_file, std.Open, "Open a loss program")
        self.save_action = self._action("&Save", self.save_file, std.Save, "Save the program")
        self.save_as_action = self._action("Save &As…", self.save_file_as, std.SaveAs)
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "Quit Autodiff GUI")
        self.export_action = self._action("&Export snapshot…", self.export_snapshot_dialog, "Ctrl+E",
                                          "Save what the canvas shows as PNG, SVG, PDF, Mermaid, "
                                          "DOT or JSON")
        self.copy_action = self._action("&Copy snapshot", self.copy_snapshot, "Ctrl+Shift+C",
                                        "Copy the canvas as an image to the clipboard")
        self.record_action = self._action("Record &run…", self.record_dialog, None,
                                          "Save every iteration or multiplication as numbered "
                                          "frames and a GIF")
        self.export_plot_action = self._action("Export &loss plot…", self.export_plot_dialog, None,
                                               "Save the loss and parameter plots as PNG or SVG")
        self.export_csv_action = self._action("Export run &history (CSV)…", self.export_csv_dialog,
                                              None, "Iteration, learning rate, loss, each "
                                              "parameter and its gradient")
        # Space and Right only reach these when the focus is not in a text or number field: those
        # widgets claim the keys first (ShortcutOverride), so typing a space still types a space.
        self.run_action = self._action("&Run", self.toggle_run, ["F5", "Space"],
                                       "Run gradient descent, or pause it (F5 or Space)")
        self.step_action = self._action("&Step", self.step_one, ["F10", "Right"],
                                        "One step: a forward operation or one chain-rule "
                                        "multiplication (F10 or →)")
        self.iteration_action = self._action("One &iteration", self.step_iteration, "Shift+F10",
                                             "Forward, backward and update once (Shift+F10)")
        self.reset_action = self._action("R&eset", self.reset, "Ctrl+R",
                                         "Back to the program's starting values (Ctrl+R)")
        self.fit_action = self._action("&Fit graph", self.view.fit, "Ctrl+0", "Fit the graph to the window")
        self.zoom_in_action = self._action("Zoom &in", lambda: self.view.zoom(1.25), std.ZoomIn)
        self.zoom_out_action = self._action("Zoom &out", lambda: self.view.zoom(0.8), std.ZoomOut)
        self.log_action = self._action("&Log scale for the loss", self._toggle_log, None,
                                       "Plot the loss on a logarithmic axis")
        self.log_action.setCheckable(True)
        self.focus_canvas_action = self._action("Focus the &canvas", self.view.setFocus, "Esc")
        self.keep_action = self._action("&Keep this run for comparison", self.keep_run, "Ctrl+K",
                                        "Keep the loss and parameter curves of this run as a "
                                        "labelled ghost, to compare learning rates")
        self.clear_ghosts_action = self._action("Clear &kept runs", self.clear_kept_runs, None,
                                                "Remove every kept ghost curve")

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open_action, self.save_action, self.save_as_action])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addActions([self.export_action, self.copy_action, self.record_action,
                              self.export_plot_action, self.export_csv_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = menu.addMenu("&Run")
        run_menu.addActions([self.run_action, self.step_action, self.iteration_action,
                             self.reset_action])
        run_menu.addSeparator()
        run_menu.addActions([self.keep_action, self.clear_ghosts_action])
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.fit_action, self.zoom_in_action, self.zoom_out_action,
                              self.log_action, self.focus_canvas_action])
        view_menu.addSeparator()
        view_menu.addAction(self.teach_dock.toggleViewAction())
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("&How to use", self._show_help))

        bar = QToolBar("Run")
        bar.setObjectName("runToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addActions([self.run_action, self.step_action, self.iteration_action, self.reset_action])
        bar.addSeparator()
        bar.addActions([self.keep_action, self.fit_action])
        self.addToolBar(bar)
        self._update_recent_menu()

    # --- loading ------------------------------------------------------------------------------------
    def load_default(self) -> None:
        """The tutorial's loss, at the remembered learning rate."""
        self.load_preset(DEFAULT, apply_settings=False)

    def load_preset(self, name: str, apply_settings: bool = True) -> None:
        p = preset(name)
        self.file_path = None
        if apply_settings:
            self._apply_settings_comment(p.program())
        self.editor.set_source(p.source(), name)
        self._update_title()

    def load_file(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._error_dialog("Cannot open the program",
                               f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
            return False
        self.file_path = path
        try:
            from engine.language import parse
            self._apply_settings_comment(parse(text, str(path)))
        except ProgramError:
            pass
        self.editor.set_source(text, str(path))
        self._add_recent(path)
        self._update_title()
        return True

    def _apply_settings_comment(self, program: Program) -> None:
        if "lr" in program.settings:
            self.lr_control.set_lr(program.settings["lr"])

    def _load_preset_from_panel(self, name: str) -> None:
        self.editor.select_preset(name)

    def _on_preset_chosen(self, name: str) -> None:
        self.file_path = None
        try:
            self._apply_settings_comment(preset(name).program())
        except (KeyError, ProgramError):
            pass
        self._update_title()

    def _on_program(self, program: Program) -> None:
        self._awaiting_reset = True
        self.program = program
        self.sweep.set_program(program)
        self.engine.pauseRequested.emit()
        self.engine.loadRequested.emit(program, self.lr_control.lr())
        self.statusBar().showMessage(f"Loaded {program.name}: {len(program.bindings)} names; "
                                     f"loss is {program.loss_name}", 4000)

    def _on_program_invalid(self, error: ProgramError) -> None:
        self.statusBar().showMessage(f"Line {error.line}, column {error.column}: {error.message} "
                                     f"(the graph shows the last valid program)")

    # --- commands -----------------------------------------------------------------------------------
    def toggle_run(self) -> None:
        self.live = True
        if not self.state.running:
            # a run begins: stagger the slower beats, so the first frames do not all come at once
            self._plot_beat.hold(0)
            self._panel_beat.hold(PANEL_FRAME_MS // 2)
        if self.state.running:
            self.engine.pauseRequested.emit()
            self.statusBar().showMessage("Paused")
        else:
            self.engine.runRequested.emit()
            self.statusBar().showMessage("Running gradient descent…")

    def step_one(self) -> None:
        self.live = True
        self.engine.stepRequested.emit()

    def step_iteration(self) -> None:
        self.live = True
        self.engine.iterationRequested.emit()

    def reset(self) -> None:
        self._awaiting_reset = True
        self.engine.resetRequested.emit()
        self.statusBar().showMessage("Reset to the starting values", 3000)

    def _on_lr(self, lr: float) -> None:
        self.engine.lrChanged.emit(lr)
        self.statusBar().showMessage(f"Learning rate α = {format_number(lr)} (takes effect at the "
                                     f"next iteration)", 3000)

    def _toggle_log(self, on: bool) -> None:
        self.curves.set_log_scale(on)

    @property
    def records(self) -> list[IterationRecord]:
        """The run so far; the plots' History is the one store (bounded on long runs)."""
        return list(self.curves.history.records())

    # --- records in ---------------------------------------------------------------------------------
    def _on_graph_reset(self, graph: GraphSnapshot | None) -> None:
        self._incoming, self._incoming_graph = [], None  # records of the run that was reset
        self._awaiting_reset = False
        self._live_moment = None
        self._canvas_live = True
        if graph is None:
            return
        self.graph = graph
        self.scene.show_graph(graph, grads_known=False)
        self._forward_total = sum(1 for n in graph.nodes if n.children)
        self._backward_total = sum(len(n.children) for n in graph.nodes)
        names = [n.name for n in graph.nodes if n.kind == "param"]
        self.curves.reset(self._param_names(), self._targets())
        hint = ("Press Space to run gradient descent, or → to step through it one forward "
                "operation or chain-rule multiplication at a time")
        self.scene.set_banner("Forward pass done: every value is known; gradients are not yet",
                              hint if names else "This program has no Value(...) parameter to train")
        self.step_label.setText(hint)
        self.status_label.setText("")
        self._show_readout(None)
        self.live = True
        if self.program is not None:
            try:
                m = replay(self.program, None, 0, self.lr_control.lr())
                self._set_moment(m.at(len(m.forward)))
            except ProgramError:
                pass
        self._sync_timeline()
        self.graphShown.emit(graph)

    def _param_names(self) -> list[str]:
        if self.program is None:
            return []
        try:
            return [name for name, _ in evaluate(self.program).params]
        except ProgramError:
            return []

    def _targets(self) -> dict[str, float]:
        if self.program is None:
            return {}
        try:
            ev = evaluate(self.program)
        except ProgramError:
            return {}
        target = quadratic_minimum(self.program, ev.param_values())
        if target is None:
            return {}
        # round away the finite-difference noise (b* = 5.9e-12 is b* = 0)
        return {name: round(float(f"{v:.9g}"), 9) for (name, _), v in zip(ev.params, target)}

    def _on_iteration_started(self, start: IterationStart) -> None:
        if self._awaiting_reset or self.program is None:
            return
        self._flush_incoming()
        try:
            self._live_moment = replay(self.program, start.values, start.iteration, start.lr, 0)
        except ProgramError:
            self._live_moment = None
            return
        if not self.live:
            return
        self._set_moment(self._live_moment)
        self.graph = start.graph
        self.scene.begin_iteration(start.graph)
        self._canvas_live = True
        self.step_label.setText(f"Iteration {start.iteration}, step 1 · forward pass: compute each "
                                f"node from its inputs, and the local gradients along the way")

    def _advance_live_moment(self, position: int) -> bool:
        """Move the engine's moment on; True if the canvas should draw the step (it is live and
        already showing that iteration; after time travel it is redrawn whole instead)."""
        if self._awaiting_reset or self._live_moment is None:
            return False
        self._live_moment = self._live_moment.at(position)
        if not self.live:
            return False
        self._set_moment(self._live_moment)
        if not self._canvas_live:
            self.scene.show_moment(self._live_moment)
            self.curves.set_marker(None)
            self._canvas_live = True
            return False
        return True

    def _on_forward_step(self, step: ForwardStep) -> None:
        self._flush_incoming()
        if not self._advance_live_moment(step.number):
            return
        self.scene.show_forward_step(step, self._forward_total)
        self.step_label.setText(f"Forward step {step.number} of {self._forward_total}:  "
                                f"{self.scene.banner.text}")

    def _on_chain_rule_step(self, step: ChainRuleStep) -> None:
        self._flush_incoming()
        forward = len(self._live_moment.forward) if self._live_moment is not None else 0
        if not self._advance_live_moment(forward + step.number):
            if self.live and not self._awaiting_reset:
                self.stepShown.emit(step)
            return
        graph = self.scene.graph
        text = formula(graph, step)
        self.scene.show_chain_rule_step(step, text, self._backward_total)
        self.step_label.setText(f"Backward multiplication {step.number} of {self._backward_total}:"
                                f"  {text}   (child.grad += local_grad * v.grad)")
        self.stepShown.emit(step)

    def _on_iterations_done(self, records: list[IterationRecord], graph: GraphSnapshot | None) -> None:
        """Records arrive from the engine thread; they are drawn at most once per cooldown.

        A rare batch is drawn at once; a flood (full speed) is gathered and drawn when the cooldown
        ends, and the cooldown grows with the cost of drawing (a long loss curve costs more), so
        the event loop never falls behind and the window keeps answering.
        """
        if not records or self._awaiting_reset:
            return
        self._incoming.append(records)
        self._incoming_graph = graph
        if not self._render_timer.isActive():
            self._flush_incoming()

    def _flush_incoming(self) -> None:
        if not self._incoming:
            return
        batches, graph = self._incoming, self._incoming_graph
        self._incoming, self._incoming_graph = [], None
        if len(batches) == 1:
            records = batches[0]
        elif all(isinstance(b, RecordBatch) for b in batches):
            records = RecordBatch.concat(batches)
        else:
            records = [r for b in batches for r in b]
        started = time.perf_counter()
        self._draw_iterations(records, graph)
        cost_ms = (time.perf_counter() - started) * 1000
        self._render_timer.setInterval(max(MIN_FRAME_MS, min(500, int(cost_ms * 3))))
        self._render_timer.start()

    def _draw_iterations(self, records: list[IterationRecord], graph: GraphSnapshot | None) -> None:
        self.curves.history.extend(records)
        self._live_moment = None  # the iteration is complete
        # The plots cost most of a frame: in a fast run they are redrawn a few times a second, in
        # event-loop turns of their own, so no single turn keeps the window from answering.
        self._plot_beat.request()
        last = records[-1]
        if not self.live:  # the learner is travelling: the run is recorded, the canvas stays put
            self._sync_timeline()
            self.iterationsShown.emit(records)
            return
        if graph is not None:
            self.graph = graph
            self.scene.show_graph(graph)
        self._canvas_live = True
        self._pending_record = last
        self._panel_beat.request()
        self._sync_timeline()
        self._show_readout(last)
        if len(records) == 1:
            title, text = update_text(last)
            self.scene.set_banner(title, text)
            self.step_label.setText(f"{title}:  {text}")
        else:
            self.scene.set_banner(f"Running · iteration {last.iteration}", self.readout.text())
            self.step_label.setText(f"Running gradient descent: iteration {last.iteration} "
                                    f"(Space pauses)")
        self.iterationsShown.emit(records)

    # --- moments and time travel ----------------------------------------------------------------
    def _set_moment(self, moment: Moment) -> None:
        self.moment = moment
        self._pending_record = None
        self._show_readout_moment(moment)
        self._sync_timeline()
        self._panel_beat.request()

    def _moment_from_record(self, record: IterationRecord) -> Moment | None:
        if self.program is None:
            return None
        try:
            return replay(self.program, [p.data for p in record.params], record.iteration, record.lr)
        except ProgramError:
            return None

    def current_moment(self) -> Moment | None:
        """The moment shown, rebuilt from the last record if a fast run left it pending."""
        if self._pending_record is not None:
            m = self._moment_from_record(self._pending_record)
            self._pending_record = None
            if m is not None:
                self.moment = m
        return self.moment

    def _push_moment_to_panels(self) -> None:
        m = self.current_moment()
        if m is None:
            return
        panel = self.teach.currentWidget()
        if panel is not None and hasattr(panel, "set_moment"):
            panel.set_moment(m)
        self._push_landscape(m)
        self._sync_timeline()

    def _push_landscape(self, m: Moment) -> None:
        """The loss surface with the iterates up to the moment shown (the panel thins them)."""
        arrays = self.curves.history.arrays(copy=False)
        upto = len(arrays.iterations)
        if len(arrays.iterations) and m.iteration <= int(arrays.iterations[-1]):
            upto = self.curves.history.index_at(m.iteration) + 1
        path = [tuple(float(x) for x in row) for row in arrays.values[:upto][-2000:]]
        self.landscape.set_path(path)
        self.landscape.set_moment(m)
        self.landscape.set_lr(self.lr_control.lr() if self.live else m.lr)

    def _sync_timeline(self) -> None:
        history = self.curves.history
        arrays = history.arrays(copy=False)
        self.timeline.set_iterations(arrays.iterations, history.decimated)
        m = self.moment
        if self._pending_record is not None or m is None:
            n = len(arrays.iterations)
            self.timeline.set_moment_position(n - 1, 0, 0, 0, self.live)
            return
        index = history.index_at(m.iteration) if len(arrays.iterations) else 0
        self.timeline.set_moment_position(index if index is not None else 0, m.position,
                                          len(m.forward), len(m.chain), self.live)

    def show_moment(self, moment: Moment) -> None:
        """Put the canvas, the panels, the plots' marker and the numbers at ``moment``."""
        self._canvas_live = False
        self.moment = moment
        self._pending_record = None
        self.scene.show_moment(moment)
        self.curves.set_marker(moment.iteration)
        self.step_label.setText(f"Travelling in time: iteration {moment.iteration}, "
                                f"{position_text(moment.position, len(moment.forward), len(moment.chain))}"
                                f". Press Live (or Space to run on) to return.")
        self._show_readout_moment(moment)
        self._sync_timeline()
        self._push_moment_to_panels()
        self.momentShown.emit(moment)

    def _travel(self) -> None:
        if self.state.running:
            self.engine.pauseRequested.emit()
        self.live = False

    def travel_to_iteration(self, index: int) -> None:
        history = self.curves.history
        if not 0 <= index < len(history) or self.program is None:
            return
        self._travel()
        record = history.record_at(index)
        m = self._moment_from_record(record)
        if m is not None:
            self.show_moment(m)

    def travel_to_position(self, position: int) -> None:
        m = self.current_moment()
        if m is None:
            return
        self._travel()
        self.show_moment(m.at(position))

    def back_to_live(self) -> None:
        self.live = True
        self.curves.set_marker(None)
        history = self.curves.history
        if self._live_moment is not None:  # the engine is part-way through an iteration
            self.moment = self._live_moment
            self.scene.show_moment(self._live_moment)
            self._show_readout_moment(self._live_moment)
        elif len(history):
            last = history.last()
            m = self._moment_from_record(last)
            if m is not None:
                self.moment = m
                self.scene.show_graph(m.after)
                title, text = update_text(last)
                self.scene.set_banner(title, text)
                self._show_readout(last)
        elif self.moment is not None:
            self.scene.show_graph(self.moment.before, grads_known=False)
        self._canvas_live = True
        self.step_label.setText("Back to the latest moment of the run")
        self._sync_timeline()
        self._push_moment_to_panels()

    def _show_readout_moment(self, m: Moment) -> None:
        """The numbers known at this moment: the loss once the forward pass has computed it, the
        gradients once the backward pass has (never ahead of the canvas, nor of the quiz)."""
        loss_name = self.program.loss_name if self.program else "L"
        loss = format_number(m.loss) if m.position >= len(m.forward) else "…"
        parts = [f"iteration {m.iteration}", f"{loss_name} = {loss}"]
        done = m.position >= m.complete
        for name, v, g in list(zip(m.param_names, m.values, m.grads))[:3]:
            parts += [f"{name} = {format_number(v)}",
                      f"d{loss_name}/d{name} = {format_number(g) if done else '?'}"]
        parts.append(f"α = {format_number(m.lr)}")
        self.readout.setText("   ·   ".join(parts))

    # --- comparing runs ------------------------------------------------------------------------
    def keep_run(self) -> None:
        history = self.curves.history
        if not len(history):
            self.statusBar().showMessage("Run first: there is nothing to keep yet", 3000)
            return
        lrs = {float(x) for x in history.arrays(copy=False).lr}
        label = f"α = {format_number(next(iter(lrs)))}" if len(lrs) == 1 else "α varied"
        self.curves.keep_ghost(label)
        self.statusBar().showMessage(f"Kept the run with {label} as a ghost curve", 3000)

    def clear_kept_runs(self) -> None:
        self.curves.clear_ghosts()

    def _show_readout(self, record: IterationRecord | None) -> None:
        if record is None:
            self.readout.setText("iteration —")
            return
        loss_name = self.program.loss_name if self.program else "L"
        parts = [f"iteration {record.iteration}", f"{loss_name} = {format_number(record.loss)}"]
        for p in record.params[:3]:
            parts.append(f"{p.name} = {format_number(p.data)}")
            parts.append(f"d{loss_name}/d{p.name} = {format_number(p.grad)}")
        if len(record.params) > 3:
            parts.append(f"… {len(record.params) - 3} more parameters")
        parts.append(f"α = {format_number(record.lr)}")
        self.readout.setText("   ·   ".join(parts))

    def _on_run_finished(self, status: str, message: str) -> None:
        if self._awaiting_reset:
            return
        self._flush_incoming()
        self._plot_beat.now()
        self.status_label.setText(message)
        self.step_label.setText(f"{message[:1].upper()}{message[1:]}. Ctrl+R starts again; "
                                f"try another learning rate")
        title = {CONVERGED: "Converged", DIVERGED: "Diverged"}.get(status, "Stopped")
        self.scene.set_banner(f"{title} · the run has ended", message)
        color = {CONVERGED: "#1a9e55", DIVERGED: "#d1242f"}.get(status, "")
        self.status_label.setStyleSheet(f"color: {color}; font-weight: bold;" if color else "")
        self.statusBar().showMessage(message)
        self.runEnded.emit(status, message)

    def _on_state(self, state: RunState) -> None:
        paused = self.state.running and not state.running and state.status == RUNNING
        self.state = state
        if paused and self.live and not self._awaiting_reset:
            self.step_label.setText(f"Paused at iteration {state.iteration}. Space runs on, → steps, "
                                    f"the sliders below travel back in time.")
        self.run_action.setText("&Pause" if state.running else "&Run")

    def _on_failed(self, message: str) -> None:
        self._awaiting_reset = False
        self.status_label.setText(message)

    # --- files --------------------------------------------------------------------------------------
    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a loss program", str(self._last_dir()),
                                              "Loss programs (*.py *.txt);;All files (*)")
        if path:
            self.load_file(path)

    def save_file(self) -> bool:
        if self.file_path is None:
            return self.save_file_as()
        return self._write(self.file_path)

    def save_file_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save the loss program", str(self._last_dir()),
                                              "Loss programs (*.py)")
        if not path:
            return False
        if not Path(path).suffix:
            path += ".py"
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        try:
            atomic_write(path, self.editor.source())
        except OSError as exc:
            self._error_dialog("Cannot save the program", describe_os_error(path, exc))
            return False
        self.file_path = path
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 3000)
        return True

    # --- exports -----------------------------------------------------------------------------------
    def export_snapshot(self, path: str | Path, options: ImageOptions = ImageOptions()) -> bool:
        """Write the canvas as it is now. The scene only changes in this (the GUI) thread, so the
        picture is always of one moment, even while the engine thread runs."""
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix in TEXT_FORMATS:
                graph = self.scene.displayed_graph()
                if graph is None:
                    raise ExportError("there is no graph to export yet")
                atomic_write(path, TEXT_FORMATS[suffix](graph))
            else:
                export_scene(self.scene, path, options)
        except ExportError as exc:
            self._error_dialog("Cannot export the snapshot", str(exc))
            return False
        except OSError as exc:
            self._error_dialog("Cannot export the snapshot", describe_os_error(path, exc))
            return False
        self.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def export_snapshot_dialog(self) -> None:
        dialog = SnapshotDialog(str(self._last_dir() / "graph.png"), self)
        if dialog.exec() and dialog.path():
            self.export_snapshot(dialog.path(), dialog.options())

    def copy_snapshot(self) -> None:
        image = render_image(self.scene, ImageOptions(scale=2.0))
        QApplication.clipboard().setImage(image)
        self.statusBar().showMessage("Copied the canvas to the clipboard", 3000)

    def export_csv(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            atomic_write(path, records_to_csv(self.records))
        except OSError as exc:
            self._error_dialog("Cannot export the run history", describe_os_error(path, exc))
            return False
        self.statusBar().showMessage(f"Exported {len(self.records)} iterations to {path}", 4000)
        return True

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export run history", str(self._last_dir() / "run.csv"),
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_plot(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            if path.suffix.lower() == ".svg":
                export_plot_svg(self.curves, path)
            elif path.suffix.lower() == ".png":
                export_plot_png(self.curves, path)
            else:
                raise ExportError(f"{path.name}: use .png or .svg for the plots")
        except ExportError as exc:
            self._error_dialog("Cannot export the plot", str(exc))
            return False
        except OSError as exc:
            self._error_dialog("Cannot export the plot", describe_os_error(path, exc))
            return False
        self.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def export_plot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plots", str(self._last_dir() / "loss.png"),
                                              "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self.export_plot(path)

    def record_run(self, folder: str | Path, mode: str = ITERATIONS, count: int = 30,
                   gif: bool = True) -> list[Path]:
        """Frames from a headless run of the current program at the current rate, with a
        cancellable progress dialog; the run on screen is not disturbed."""
        if self.program is None:
            return []
        progress = QProgressDialog("Writing frames…", "Cancel", 0, count, self)
        progress.setWindowTitle("Record a run")
        progress.setMinimumDuration(300)

        def on_progress(done: int, total: int) -> bool:
            progress.setMaximum(total)
            progress.setValue(done)
            QApplication.processEvents()
            return not progress.wasCanceled()

        try:
            paths = record(self.program, folder, mode, self.lr_control.lr(), count, gif=gif,
                           progress=on_progress)
        except RecordingCancelled as exc:
            self.statusBar().showMessage(f"Recording {exc}", 4000)
            return []
        except OSError as exc:
            self._error_dialog("Cannot record the run", describe_os_error(folder, exc))
            return []
        finally:
            progress.close()
        self.statusBar().showMessage(f"Wrote {len(paths)} files to {folder}", 4000)
        return paths

    def record_dialog(self) -> None:
        dialog = RecordDialog(str(self._last_dir() / "frames"), self)
        if dialog.exec() and dialog.folder_row.path():
            self.record_run(dialog.folder_row.path(), dialog.mode(), dialog.count.value(),
                            dialog.gif.isChecked())

    def _last_dir(self) -> Path:
        recent = self.recent_files()
        return Path(recent[0]).parent if recent else Path.home()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [p for p in self.recent_files() if p != str(path.resolve())]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            action = self.recent_menu.addAction(f)
            action.triggered.connect(lambda checked=False, f=f: self.load_file(f))
        self.recent_menu.setEnabled(bool(files))

    def _update_title(self) -> None:
        name = self.file_path.name if self.file_path else self.editor.current_name()
        self.setWindowTitle(f"{name} — {APP_NAME} (Autodiff and backprop, step by step)")

    def _error_dialog(self, title: str, text: str) -> None:
        self.statusBar().showMessage(text)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.open()

    def _show_help(self) -> None:
        QMessageBox.information(self, "How to use Autodiff GUI", HELP_TEXT)

    # --- window life --------------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)

    def changeEvent(self, event) -> None:
        """Follow the system's light or dark palette when it changes."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.scene.set_palette(self.palette())
        super().changeEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._frozen:
            self.resizeDocks([self.teach_dock], [440], Qt.Orientation.Horizontal)
            # Everything built so far (Qt wrappers, plots, modules) lives as long as the window:
            # move it out of the cyclic collector's sight, so a full collection during a fast run
            # walks only what the run creates instead of pausing the window for tens of ms.
            gc.collect()
            gc.freeze()
            self._frozen = True
        QTimer.singleShot(0, self._focus_canvas)  # a learner's first Space runs it

    def _focus_canvas(self) -> None:
        self.activateWindow()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        if self.persist_settings:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("lr", self.lr_control.lr())
            self.settings.setValue("speed", self.speed_control.speed())
            self.settings.sync()
        self.sweep.shutdown()
        self.engine.stop()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the engine and sweep threads (the window's close does it too)."""
        self.sweep.shutdown()
        self.engine.stop()


class Beat:
    """Call ``action`` when asked, at most once per ``ms``: at once if the last call is a beat
    old, otherwise once at the end of the beat (however often it was asked meanwhile)."""

    def __init__(self, parent, ms: int, action) -> None:
        self.action = action
        self.ms = ms
        self.last = -1e9
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.now)

    def request(self) -> None:
        if self.timer.isActive():
            return
        wait = self.ms - (time.monotonic() - self.last) * 1000
        if wait <= 0:
            self.now()
        else:
            self.timer.start(int(wait) + 1)

    def now(self) -> None:
        self.timer.stop()
        self.last = time.monotonic()
        self.action()

    def hold(self, extra_ms: int) -> None:
        """Count as just called (plus ``extra_ms``): the next request waits for the beat's end."""
        self.last = time.monotonic() + extra_ms / 1000


def update_text(record: IterationRecord) -> tuple[str, str]:
    """The banner after an iteration: step 3, the weight update, with its numbers."""
    if record.status == CONVERGED:
        return (f"Iteration {record.iteration}: converged",
                f"every |gradient| ≤ tolerance, so no update: {_params_text(record)}")
    if record.status == DIVERGED:
        return f"Iteration {record.iteration}: diverged", "the loss ran away; lower the learning rate"
    if record.status != RUNNING:
        return f"Iteration {record.iteration}", _params_text(record)
    lr = format_number(record.lr)
    after = record.next_values
    if len(record.params) == 1:
        p = record.params[0]
        return (f"Step 3 · weight update (iteration {record.iteration})",
                f"{p.name} ← {p.name} − α·dL/d{p.name} = {format_number(p.data)} − {lr}·"
                f"({format_number(p.grad)}) = {format_number(after[0])}")
    moves = ", ".join(f"{p.name}: {format_number(p.data)} → {format_number(v)}"
                      for p, v in zip(record.params[:3], after))
    more = f", … {len(record.params) - 3} more" if len(record.params) > 3 else ""
    return (f"Step 3 · weight update (iteration {record.iteration})",
            f"each θ ← θ − {lr}·dL/dθ   ({moves}{more})")


def _params_text(record: IterationRecord) -> str:
    return ", ".join(f"{p.name} = {format_number(p.data)}" for p in record.params[:4])


HELP_TEXT = """\
Autodiff GUI shows backpropagation as the tutorial teaches it.

• The editor on the left holds the loss program, e.g. z = w*x; e = z - y; L = e**2.
  Value(0.0) is a parameter that gradient descent trains; x = 1 is an input.
• The canvas draws the computational graph: boxes hold a value and its gradient,
  circles are operations, and each input edge is labelled with its local gradient.
• Space (or F5) runs and pauses. → (or F10) takes one step: one forward operation
  or one chain-rule multiplication  child.grad += local_grad * v.grad.
  Shift+F10 does one whole iteration, Ctrl+R resets.
• The learning rate α may be changed while it runs: below 0.5 the tutorial's loss
  converges smoothly to w = 2, between 0.5 and 1 it oscillates, above 1 it diverges.
"""
