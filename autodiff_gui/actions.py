"""The window's actions, menus and tool bar: every command a learner can reach, and its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QToolBar, QWidget

if TYPE_CHECKING:
    from .window import MainWindow


def _action(window: MainWindow, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        if isinstance(shortcut, (list, tuple)):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


class _SpaceRuns(QObject):
    """Space runs and pauses from a number box or a slider too (no number holds a space): the
    box lets the shortcut have the key instead of claiming it. Only the editor's text, where a
    space is a space, keeps it."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Space
                and event.modifiers() == Qt.KeyboardModifier.NoModifier):
            event.ignore()  # not claimed: the Space shortcut fires
            return True
        return False


def let_space_run(w: MainWindow, widgets: list[QWidget]) -> None:
    space = _SpaceRuns(w)
    for widget in widgets:
        widget.installEventFilter(space)
        line = widget.lineEdit() if isinstance(widget, QAbstractSpinBox) else None
        if line is not None:
            line.installEventFilter(space)


def build_actions(w: MainWindow) -> None:
    """Create the actions as attributes of the window (``w.run_action``…), its menus and tool bar."""
    std = QKeySequence.StandardKey
    c = w.commands
    w.open_action = _action(w, "&Open…", c.open_file, std.Open, "Open a loss program")
    w.save_action = _action(w, "&Save", c.save_file, std.Save, "Save the program")
    w.save_as_action = _action(w, "Save &As…", c.save_file_as, std.SaveAs)
    w.quit_action = _action(w, "&Quit", w.close, "Ctrl+Q", "Quit Autodiff GUI")
    w.export_action = _action(w, "&Export snapshot…", c.export_snapshot_dialog, "Ctrl+E",
                              "Save what the canvas shows as PNG, SVG, PDF, Mermaid, DOT or JSON")
    w.copy_action = _action(w, "&Copy snapshot", c.copy_snapshot, "Ctrl+Shift+C",
                            "Copy the canvas as an image to the clipboard")
    w.record_action = _action(w, "Record &run…", c.record_dialog, None,
                              "Save every iteration or multiplication as numbered frames and a GIF")
    w.export_plot_action = _action(w, "Export &loss plot…", c.export_plot_dialog, None,
                                   "Save the loss and parameter plots as PNG or SVG")
    w.export_script_action = _action(w, "Export as &Python script…", c.export_script_dialog, None,
                                     "The program, the tutorial's Value class and its training "
                                     "loop in one script that runs with a bare python3")
    w.export_csv_action = _action(w, "Export run &history (CSV)…", c.export_csv_dialog, None,
                                  "Iteration, learning rate, loss, each parameter and its gradient")
    # Space and Right only reach these when the focus is not in a text or number field: those
    # widgets claim the keys first (ShortcutOverride), so typing a space still types a space.
    w.run_action = _action(w, "&Run", w.toggle_run, ["F5", "Space"],
                           "Run gradient descent, or pause it (F5 or Space)")
    w.step_action = _action(w, "&Step", w.step_one, ["F10", "Right"],
                            "One step: a forward operation or one chain-rule multiplication "
                            "(F10 or →)")
    w.iteration_action = _action(w, "One &iteration", w.step_iteration, "Shift+F10",
                                 "Forward, backward and update once (Shift+F10)")
    w.reset_action = _action(w, "R&eset", w.reset, "Ctrl+R",
                             "Back to the program's starting values (Ctrl+R)")
    w.fit_action = _action(w, "&Fit graph", w.view.fit, "Ctrl+0", "Fit the graph to the window")
    w.zoom_in_action = _action(w, "Zoom &in", lambda: w.view.zoom(1.25), std.ZoomIn)
    w.zoom_out_action = _action(w, "Zoom &out", lambda: w.view.zoom(0.8), std.ZoomOut)
    w.expand_action = _action(w, "Open &every group", w.scene.expand_all, None,
                              "Draw every node of the graph (a big one is laid out in the "
                              "background)")
    w.collapse_action = _action(w, "&Close groups", w.scene.collapse_all, None,
                                "Back to the boxes a big graph opens with; double-click a box "
                                "to open it, a node inside an open group to close it")
    w.log_action = _action(w, "&Log scale for the loss",
                           lambda on: w.curves.set_log_scale(on), None,
                           "Plot the loss on a logarithmic axis")
    w.log_action.setCheckable(True)
    w.focus_canvas_action = _action(w, "Focus the &canvas", w.view.setFocus, "Esc")
    w.keep_action = _action(w, "&Keep this run for comparison", c.keep_run, "Ctrl+K",
                            "Keep the loss and parameter curves of this run as a labelled ghost, "
                            "to compare learning rates")
    w.clear_ghosts_action = _action(w, "Clear &kept runs", c.clear_kept_runs, None,
                                    "Remove every kept ghost curve")

    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    file_menu.addActions([w.open_action, w.save_action, w.save_as_action])
    w.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addSeparator()
    file_menu.addActions([w.export_action, w.copy_action, w.record_action, w.export_plot_action,
                          w.export_csv_action, w.export_script_action])
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    run_menu = menu.addMenu("&Run")
    run_menu.addActions([w.run_action, w.step_action, w.iteration_action, w.reset_action])
    run_menu.addSeparator()
    run_menu.addActions([w.keep_action, w.clear_ghosts_action])
    view_menu = menu.addMenu("&View")
    view_menu.addActions([w.fit_action, w.zoom_in_action, w.zoom_out_action, w.expand_action,
                          w.collapse_action, w.log_action, w.focus_canvas_action])
    view_menu.addSeparator()
    view_menu.addAction(w.teach_dock.toggleViewAction())
    help_menu = menu.addMenu("&Help")
    help_menu.addAction(_action(w, "&How to use", w.show_help))

    bar = QToolBar("Run")
    bar.setObjectName("runToolbar")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    bar.addActions([w.run_action, w.step_action, w.iteration_action, w.reset_action])
    bar.addSeparator()
    bar.addActions([w.keep_action, w.fit_action])
    w.addToolBar(bar)
    c.update_recent_menu()
    let_space_run(w, [w.lr_control.spin, w.lr_control.slider, w.speed_control.slider,
                      w.cap_control.spin, w.timeline.iteration_slider, w.timeline.step_slider])
