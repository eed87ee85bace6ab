"""The main window: it assembles the editor, the canvas, the plots, the run controls and the Learn
dock, and wires them one way.

Editor text → program → :class:`~autodiff_gui.session.Session` (the engine thread, the run's
History, the one moment shown) → :class:`~autodiff_gui.presenter.Presenter` → every view.
Nothing flows back into the engine but commands (load, run, pause, step, reset, a learning rate).
The window's actions are built in :mod:`.actions`, its file and export commands live in
:mod:`.commands`.
"""

from __future__ import annotations

import gc
import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QDockWidget, QFrame, QLabel, QMainWindow, QMessageBox, QSplitter,
                               QVBoxLayout, QWidget)

from engine.graph import GraphSnapshot, format_number
from engine.language import Program, ProgramError
from engine.presets import DEFAULT
from engine.records import IterationRecord
from engine.replay import Moment

from .actions import build_actions
from .canvas.scene import GraphScene
from .canvas.view import GraphView
from .commands import ITERATIONS, Commands
from .controls import LR_MAX, LR_MIN, CapControl, LearningRateControl, SpeedControl
from .editor.panel import EditorPanel
from .flow import FlowLayout, WrappingTabs
from .panels.check import GradientCheckPanel
from .panels.ledger import LedgerPanel
from .panels.mistakes import MistakesPanel
from .panels.quiz import QuizPanel
from .panels.source import SourcePanel
from .panels.tour import TourPanel
from .presenter import Presenter
from .screen_fit import HELP_TEXT, fit_window, read_setting
from .theme import follow_palette
from .session import Session
from .timeline import Timeline
from .worker import DEFAULT_CAP, DEFAULT_SPEED, SPEEDS, RunState

if TYPE_CHECKING:  # built after the first frame (see MainWindow.ensure_plots)
    from .export import ImageOptions
    from .panels.landscape import LandscapePanel
    from .panels.sweep import SweepPanel
    from .plots.curves import CurvesPanel
    from .plots.data import DataPanel

APP_NAME = "Autodiff GUI"
DEFAULT_LR = 0.1
#: The longest the plots wait for a loading program's graph to be shown before they are built
PLOTS_WAIT_MS = 15000
PLOTS_POLL_MS = 40  # how often the plots waiting for a loading program look whether they may come


class MainWindow(QMainWindow):
    APP_NAME = APP_NAME
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
        self.settings = settings if settings is not None else QSettings("autodiff-gui", APP_NAME)
        self.setObjectName("MainWindow")
        self._frozen = False  # what lives as long as the window is out of the collector's sight
        self._shown = False
        self._closing = False
        self._dock_width = 440
        self.persist_settings = True  # False for a scripted window (--screenshot)
        self.keep_on_screen = True  # False for a scripted window: its size is the script's
        self.session = Session(self)
        self.engine = self.session.engine
        self.commands = Commands(self)
        self._saved_lr = read_setting(self.settings, "lr", DEFAULT_LR, float,
                                      lambda v: math.isfinite(v) and LR_MIN <= v <= LR_MAX)
        self._saved_speed = read_setting(self.settings, "speed", DEFAULT_SPEED, int,
                                         lambda v: 0 <= v < len(SPEEDS))
        self.settings_error: str | None = None  # why the settings cannot be saved, if they cannot
        self._build_widgets(lr if lr is not None else self._saved_lr)
        self.presenter = Presenter(self, self.session)
        follow_palette(self, lambda: self.scene.set_palette(self.palette()))
        build_actions(self)
        self._restore()
        self.editor.programChanged.connect(self._on_program)
        self.editor.programInvalid.connect(self._on_program_invalid)
        self.editor.presetChosen.connect(self.commands.preset_chosen)
        self.commands.update_title()
        QTimer.singleShot(0, self.commands.check_settings_can_be_saved)

    # --- building -----------------------------------------------------------------------------------
    def _build_widgets(self, lr: float) -> None:
        self.scene = GraphScene(self.palette(), self)
        self.view = GraphView(self.scene)
        self.editor = EditorPanel()
        self.timeline = Timeline()
        self.ledger = LedgerPanel()
        self.source_panel = SourcePanel()
        self.teach = WrappingTabs()
        self.teach.setObjectName("teachTabs")
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
        self._sweep_page = _place()  # the sweep goes in when its tab is first shown
        self._sweep: SweepPanel | None = None
        self.teach.addTab(self._sweep_page, "Sweep")
        for panel in (self.tour, self.quiz):
            panel.positionRequested.connect(self.travel_to_position)
        self.mistakes.presetRequested.connect(self.editor.select_preset)
        self.teach_dock = QDockWidget("Learn", self)
        self.teach_dock.setObjectName("learnDock")
        self.teach_dock.setWidget(self.teach)
        self.teach_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                    | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.teach_dock)
        self.teach_dock.visibilityChanged.connect(
            lambda shown: shown and hasattr(self, "presenter") and self.presenter.back_in_sight())
        # The plots (pyqtgraph and numpy, half of the start-up) are built just after the first
        # frame, which shows the editor and the canvas, or, while a program loads, just after its
        # graph is shown: until then empty places keep their room (the loss curves, the Data
        # panel, the landscape).
        self._plots: tuple[CurvesPanel, LandscapePanel, DataPanel] | None = None
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self._plot_places = (_place(), _place(), _place())
        for place in self._plot_places:
            self.bottom.addWidget(place)
        self.bottom.setStretchFactor(0, 2)
        self.bottom.setStretchFactor(1, 1)
        self.bottom.setStretchFactor(2, 1)
        self.bottom.setSizes([560, 320, 340])

        self.lr_control = LearningRateControl(lr)
        self.speed_control = SpeedControl(self._saved_speed)
        self.cap_control = CapControl(DEFAULT_CAP)
        self.lr_control.lrChanged.connect(self._on_lr)
        self.speed_control.speedChanged.connect(self.engine.speedChanged)
        self.cap_control.capChanged.connect(self.engine.capChanged)
        self.engine.speedChanged.emit(self.speed_control.speed())
        self.session.set_lr(self.lr_control.lr())

        controls = QWidget()
        controls.setObjectName("runControls")
        row = FlowLayout(controls, spacing=20)  # wraps onto two rows on a narrow window
        row.setContentsMargins(8, 4, 8, 4)
        for control in (self.lr_control, self.speed_control, self.cap_control):
            row.addWidget(control)
        policy = controls.sizePolicy()
        policy.setHeightForWidth(True)
        controls.setSizePolicy(policy)
        self.lr_control.committed.connect(self._focus_canvas)

        self.step_label = QLabel()
        self.step_label.setObjectName("stepLabel")
        self.step_label.setTextFormat(Qt.TextFormat.PlainText)
        self.step_label.setWordWrap(True)
        font = self.step_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.step_label.setFont(font)
        self.readout = QLabel()
        self.readout.setObjectName("readout")
        self.readout.setWordWrap(True)  # a long readout wraps: it never widens the window
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
        self.statusBar().showMessage("Ready")
        self.timeline.iterationChosen.connect(self.travel_to_iteration)
        self.timeline.positionChosen.connect(self.travel_to_position)
        self.timeline.liveRequested.connect(self.back_to_live)
        self.ledger.positionRequested.connect(self.travel_to_position)
        self.teach.currentChanged.connect(self._on_teach_tab)

    # --- the plots, built after the first frame ------------------------------------------------
    @property
    def curves(self) -> CurvesPanel:
        return self.ensure_plots()[0]

    @property
    def landscape(self) -> LandscapePanel:
        return self.ensure_plots()[1]

    @property
    def sweep(self) -> SweepPanel:
        """The learning-rate sweep, built when its tab is first shown (or asked for): a window
        whose sweep is never looked at never builds its plot nor predicts its boundaries."""
        if self._sweep is None:
            from .panels.sweep import SweepPanel

            sweep = self._sweep = SweepPanel()
            self._sweep_page.layout().addWidget(sweep)
            sweep.show()
            sweep.lrChosen.connect(self.lr_control.set_lr)
            if self.session.program is not None:
                sweep.set_program(self.session.program)
        return self._sweep

    @property
    def data_panel(self) -> DataPanel:
        return self.ensure_plots()[2]

    def _on_teach_tab(self, index: int) -> None:
        if self.teach.widget(index) is self._sweep_page:
            self.sweep  # noqa: B018 (built on first sight)
        self._push_moment_to_panels()

    @property
    def plots_built(self) -> bool:
        return self._plots is not None

    def ensure_plots(self) -> tuple[CurvesPanel, LandscapePanel, DataPanel]:
        """The loss and parameter plots, the landscape and the data view, built now if they are
        not yet. The window builds them just after its first frame (they import pyqtgraph and
        numpy, which the editor and the canvas do not need), or after the graph of a program
        loading then is shown (micrograd's demo network: the canvas first, a second earlier);
        anything that asks for them earlier gets them at once. Once built they catch up with the
        moment shown. (The sweep, in a tab, waits until its tab is shown: ``sweep``.)"""
        if self._plots is not None:
            return self._plots
        from .panels.landscape import LandscapePanel
        from .plots.curves import CurvesPanel
        from .plots.data import DataPanel

        curves = CurvesPanel(history=self.session.history)
        landscape = LandscapePanel()
        data = DataPanel()
        self._plots = (curves, landscape, data)
        for place, widget in zip(self._plot_places, (curves, data, landscape)):
            place.layout().addWidget(widget)
            widget.show()  # at once, not in the next turn (a shown place's new child waits)
        self.lr_control.lrChanged.connect(landscape.set_lr)
        presenter = getattr(self, "presenter", None)
        if presenter is not None:
            presenter.plots_built()
        if self._frozen:  # as at the first run: what lives as long as the window leaves the
            gc.freeze()  # collector (no collection: what was made since is all this freezes)
        return self._plots

    def _build_plots_after_first_frame(self) -> None:
        if self._plots is not None or self._closing:
            return
        if self.session.awaiting_reset and not self._plots_waited:
            # a program is loading (micrograd's demo network takes seconds): its graph on the
            # canvas comes first, the plots in the event-loop turn after it is shown (or after
            # the engine says it cannot start it; should neither come, after PLOTS_WAIT_MS)
            self._plots_waited = True
            self.graphShown.connect(self._plots_after_graph)
            self.session.failed.connect(self._plots_after_graph)
            QTimer.singleShot(PLOTS_WAIT_MS, self, self._build_plots_after_first_frame)
            return
        if not self._plots_imported:  # the modules (pyqtgraph: most of it) in a turn of their own
            self._plots_imported = True
            _import_plot_modules()
            QTimer.singleShot(0, self, self._build_plots_after_first_frame)
            return
        self.ensure_plots()

    _plots_waited = False
    _plots_imported = False

    def _plots_after_graph(self, *_) -> None:
        if self._plots is not None:
            return
        moment = self.session.moment
        if moment is not None and moment.pending:
            # the engine thread is making the new moment's backward records (a second on
            # micrograd's network): the plots after them, not sharing the interpreter lock
            QTimer.singleShot(PLOTS_POLL_MS, self, self._plots_after_graph)
            return
        QTimer.singleShot(0, self, self._build_plots_after_first_frame)

    # --- the state, read from the Session ------------------------------------------------------
    @property
    def program(self) -> Program | None:
        return self.session.program

    @property
    def graph(self) -> GraphSnapshot | None:
        return self.session.graph

    @property
    def state(self) -> RunState:
        return self.session.state

    @property
    def live(self) -> bool:
        return self.session.live

    @property
    def moment(self) -> Moment | None:
        return self.session.moment

    @property
    def records(self) -> list[IterationRecord]:
        """The run so far; the Session's History is the one store (bounded on long runs)."""
        return self.session.records

    def current_moment(self) -> Moment | None:
        return self.session.current_moment()

    # --- programs -------------------------------------------------------------------------------
    def load_default(self) -> None:
        """The tutorial's loss, at the remembered learning rate."""
        self.commands.load_preset(DEFAULT, apply_settings=False)

    def load_preset(self, name: str, apply_settings: bool = True) -> None:
        self.commands.load_preset(name, apply_settings)

    def load_file(self, path: str | Path) -> bool:
        return self.commands.load_file(path)

    def apply_settings_comment(self, program: Program) -> None:
        if "lr" in program.settings:
            self.lr_control.set_lr(program.settings["lr"])

    def _on_program(self, program: Program) -> None:
        if self._sweep is not None:
            self._sweep.set_program(program)
        self.session.load(program)
        names = len(program.bindings)
        self.statusBar().showMessage(f"Loaded {program.name}: {names} name{'s' * (names != 1)}; "
                                     f"loss is {program.loss_name}", 4000)

    def _on_program_invalid(self, error: ProgramError) -> None:
        self.statusBar().showMessage(f"Line {error.line}, column {error.column}: {error.message} "
                                     f"(the graph shows the last valid program)")

    # --- commands -------------------------------------------------------------------------------
    def _refuse_a_broken_program(self) -> bool:
        """With an error in the editor, nothing runs: a run of the last valid program, while the
        text says something else, would teach the wrong thing. True if refused."""
        error = self.editor.error_message()
        if not error or self.state.running:
            return False
        text = f"Fix the program first: {error}. The canvas shows the last valid program."
        self.step_label.setText(text)
        self.statusBar().showMessage(text, 6000)
        return True

    def toggle_run(self) -> None:
        if self._refuse_a_broken_program():
            return
        if self.state.running:
            self.session.pause()
            self.statusBar().showMessage("Paused")
        else:
            self._freeze_what_lives_on()
            self.presenter.run_starting()
            self.session.run()
            self.statusBar().showMessage("Running gradient descent…")

    def _freeze_what_lives_on(self) -> None:
        """At the first run: everything built so far (Qt wrappers, plots, modules) lives as long
        as the window, so move it out of the cyclic collector's sight, and a full collection
        during a fast run walks only what the run creates instead of pausing the window for tens
        of ms. A collection first, so no garbage is frozen with it (in a process that opens
        window after window, the last one's would live until this one closes). Done at the first
        run, not at show: a window that never runs never pays for the collection (10-50 ms)."""
        if not self._frozen:
            gc.collect()
            gc.freeze()
            self._frozen = True

    def step_one(self) -> None:
        if not self._refuse_a_broken_program():
            self.session.step()

    def step_iteration(self) -> None:
        if not self._refuse_a_broken_program():
            self.session.step_iteration()

    def reset(self) -> None:
        self.session.reset()
        self.statusBar().showMessage("Reset to the starting values", 3000)

    def _on_lr(self, lr: float) -> None:
        self.session.set_lr(lr)
        self.statusBar().showMessage(f"Learning rate α = {format_number(lr)} (takes effect at the "
                                     f"next iteration)", 3000)

    def travel_to_iteration(self, index: int) -> None:
        self.session.travel_to_iteration(index)

    def travel_to_position(self, position: int) -> None:
        self.session.travel_to_position(position)

    def back_to_live(self) -> None:
        self.session.back_to_live()

    def _push_moment_to_panels(self) -> None:
        self.presenter.push_moment_to_panels()

    # --- files and exports (see commands.py) -------------------------------------------------
    @property
    def file_path(self) -> Path | None:
        return self.commands.file_path

    def export_snapshot(self, path: str | Path, options: ImageOptions | None = None) -> bool:
        return self.commands.export_snapshot(path, options)

    def export_csv(self, path: str | Path) -> bool:
        return self.commands.export_csv(path)

    def export_plot(self, path: str | Path) -> bool:
        return self.commands.export_plot(path)

    def record_run(self, folder: str | Path, mode: str = ITERATIONS, count: int = 30,
                   gif: bool = True) -> bool:
        return self.commands.record_run(folder, mode, count, gif)

    def recent_files(self) -> list[str]:
        return self.commands.recent_files()

    def show_help(self) -> None:
        QMessageBox.information(self, "How to use Autodiff GUI", HELP_TEXT)

    # --- window life ----------------------------------------------------------------------------
    def _restore(self) -> None:
        """The remembered geometry if it fits the screen the window opens on, else a fitted one."""
        geometry = self.settings.value("geometry")
        if (isinstance(geometry, QByteArray) and not geometry.isEmpty()
                and self.restoreGeometry(geometry)
                and self._available().contains(self.frameGeometry())):
            return
        self.fit_to_screen()

    def _available(self) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def fit_to_screen(self, available: QRect | None = None) -> None:
        """Open at the default size, shrunk to fit ``available`` (the screen's free area) and
        centred on it, with the editor and the Learn dock in proportion."""
        area = available if available is not None else self._available()
        frame = self.frameGeometry().size() - self.geometry().size()  # 0 until first shown
        fit = fit_window(area, frame)
        self.resize(fit.window.size())
        self.move(fit.window.topLeft())
        self._dock_width = fit.dock
        self.resizeDocks([self.teach_dock], [fit.dock], Qt.Orientation.Horizontal)
        self.splitter.setSizes([fit.editor, fit.centre])
        self.right.setSizes([fit.canvas, fit.plots])

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self.resizeDocks([self.teach_dock], [self._dock_width], Qt.Orientation.Horizontal)
            if self.keep_on_screen and not self._available().contains(self.frameGeometry()):
                QTimer.singleShot(0, self.fit_to_screen)  # the frame is known once shown
            # the plots are built in the event-loop turn after the canvas's first paint
            self._first_paint = _FirstPaint(self.view.viewport(), self._build_plots_after_first_frame)
        QTimer.singleShot(0, self._focus_canvas)  # a learner's first Space runs it

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if (event.type() == QEvent.Type.WindowStateChange and not self.isMinimized()
                and hasattr(self, "presenter")):
            self.presenter.back_in_sight()  # the plots and panels skipped while minimised

    def _focus_canvas(self) -> None:
        self.activateWindow()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.persist_settings:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("lr", self.lr_control.lr())
            self.settings.setValue("speed", self.speed_control.speed())
            self.settings.sync()
        self.shutdown()
        if self._frozen:  # what the first run froze becomes collectable again: else a closed
            gc.unfreeze()  # window's cycles (its plots' menus, its widgets) would live for ever
            self._frozen = False
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the engine and sweep threads (the window's close does it too)."""
        self._closing = True
        if self._sweep is not None:
            self._sweep.shutdown()
        self.presenter.layout.shutdown()
        self.session.stop()


def _import_plot_modules() -> None:
    """What :meth:`MainWindow.ensure_plots` imports, imported now."""
    from .panels import landscape  # noqa: F401
    from .plots import curves, data  # noqa: F401


def _place() -> QWidget:
    """An empty place for a panel built later, of the panel's size once it is in."""
    place = QWidget()
    QVBoxLayout(place).setContentsMargins(0, 0, 0, 0)
    return place


class _FirstPaint(QObject):
    """Calls ``action`` in the event-loop turn after ``widget`` first paints (or after a second
    if it never does, say a window opened minimised)."""

    def __init__(self, widget: QWidget, action) -> None:
        super().__init__(widget)
        self._widget = widget
        self._action = action
        widget.installEventFilter(self)
        QTimer.singleShot(1000, self, self._fire)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._widget.removeEventFilter(self)
            QTimer.singleShot(0, self, self._fire)
        return False

    def _fire(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            self._widget.removeEventFilter(self)
            action()
