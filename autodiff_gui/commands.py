"""The window's file and export commands: open and save programs, snapshots, plots, history,
recordings; the recent-files list.

Each writer goes through :meth:`Commands._save`: one place that turns an export or OS error into a
sentence in a dialog, and success into a status message. Files are always written whole
(``engine.files.atomic_write``) or not at all.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QProgressDialog

from engine.files import ProgramFileError, atomic_write, describe_os_error, read_program_file
from engine.explain import format_number
from engine.language import ProgramError, parse
from engine.presets import preset


#: recording.ITERATIONS: the exporters (Qt's SVG and PDF writers, the take-home script, the
#: recorder) are imported when a command first needs them, not while the window starts
ITERATIONS = "iterations"
_LAZY = {"ExportError": ".export", "ImageOptions": ".export", "render_image": ".export",
         "write_snapshot": ".export", "RecordDialog": ".export_dialog",
         "SnapshotDialog": ".export_dialog", "export_plot": ".plots.export",
         "recording": ".recording", "records_to_csv": "engine.formats", "takehome": "engine.takehome"}


def __getattr__(name: str):
    """The exporters' names, imported on first use (and then module attributes like any)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name], __package__)
    value = module if name == "takehome" else getattr(module, name)
    globals()[name] = value
    return value


def _lazy(name: str):
    return globals()[name] if name in globals() else __getattr__(name)


if TYPE_CHECKING:
    from .export import ImageOptions
    from .window import MainWindow

MAX_RECENT = 8
COPY_MAX_SIDE = 4096  # pixels: a clipboard image of a big graph stays small and quick


class Commands(QObject):
    #: a recording has ended: the paths it wrote, or None if it was cancelled or failed
    recordingDone = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.file_path: Path | None = None
        self._recording = None  # (frames, progress dialog, timer) while one is being written

    # --- the one way to write a file from the window ----------------------------------------------
    def _save(self, title: str, path: Path, write: Callable[[Path], str | None]) -> bool:
        ExportError = _lazy("ExportError")  # noqa: N806
        """Run ``write(path)``; a failure becomes a dialog naming the file, success a status
        message (``write`` may return its own)."""
        try:
            done = write(path)
        except ExportError as exc:
            self.error_dialog(title, str(exc))
            return False
        except OSError as exc:
            self.error_dialog(title, describe_os_error(path, exc))
            return False
        self.w.statusBar().showMessage(done or f"Exported {path}", 4000)
        return True

    def error_dialog(self, title: str, text: str) -> None:
        self.w.statusBar().showMessage(text)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self.w)
        box.setObjectName("errorDialog")
        box.open()

    # --- programs -------------------------------------------------------------------------------
    def load_preset(self, name: str, apply_settings: bool = True) -> None:
        p = preset(name)
        self.file_path = None
        if apply_settings:
            self.w.apply_settings_comment(p.program())
        self.w.editor.set_source(p.source(), name)
        self.update_title()

    def preset_chosen(self, name: str) -> None:
        self.file_path = None
        try:
            self.w.apply_settings_comment(preset(name).program())
        except (KeyError, ProgramError):
            pass
        self.update_title()

    def load_file(self, path: str | Path) -> bool:
        path = Path(path)
        try:  # a folder, a FIFO or a device is refused at once, never read forever
            text = read_program_file(path)
        except ProgramFileError as exc:
            self.error_dialog("Cannot open the program", str(exc))
            return False
        self.file_path = path
        try:
            self.w.apply_settings_comment(parse(text, str(path)))
        except ProgramError:
            pass
        self.w.editor.set_source(text, str(path))
        self.add_recent(path)
        self.update_title()
        return True

    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Open a loss program", str(self.last_dir()),
                                              "Loss programs (*.py *.txt);;All files (*)")
        if path:
            self.load_file(path)

    def save_file(self) -> bool:
        if self.file_path is None:
            return self.save_file_as()
        return self._write_program(self.file_path)

    def save_file_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.w, "Save the loss program", str(self.last_dir()),
                                              "Loss programs (*.py)")
        if not path:
            return False
        if not Path(path).suffix:
            path += ".py"
        return self._write_program(Path(path))

    def _write_program(self, path: Path) -> bool:
        def write(p: Path) -> str:
            atomic_write(p, self.w.editor.source())
            return f"Saved {p}"

        if not self._save("Cannot save the program", path, write):
            return False
        self.file_path = path
        self.add_recent(path)
        self.update_title()
        return True

    # --- exports --------------------------------------------------------------------------------
    def export_snapshot(self, path: str | Path, options: ImageOptions | None = None) -> bool:
        if options is None:
            options = _lazy("ImageOptions")()
        write_snapshot = _lazy("write_snapshot")
        """Write the canvas as it is now. The scene only changes in this (the GUI) thread, so the
        picture is always of one moment, even while the engine thread runs."""
        def write(p: Path) -> str:
            note = write_snapshot(self.w.scene, p, options)
            return f"Exported {p}" + (f": {note}" if note else "")

        done = self._save("Cannot export the snapshot", Path(path), write)
        if done:  # the next export starts in this folder, in this format
            self.w.settings.setValue("export/last_snapshot", str(Path(path).resolve()))
        return done

    def last_snapshot_path(self) -> Path:
        value = self.w.settings.value("export/last_snapshot", "")
        last = Path(value) if isinstance(value, str) and value else None
        if last is not None and last.parent.is_dir():
            return last
        return self.last_dir() / "graph.png"

    def export_snapshot_dialog(self) -> None:
        dialog = _lazy("SnapshotDialog")(str(self.last_snapshot_path()), self.w)
        if dialog.exec() and dialog.path():
            self.export_snapshot(dialog.path(), dialog.options())

    def copy_snapshot(self) -> None:
        """The canvas at twice its size, but never past COPY_MAX_SIDE pixels a side: a big graph
        at 2x is hundreds of MB and seconds of a frozen window (or past what an image can be)."""
        rect = self.w.scene.sceneRect()
        scale = min(2.0, COPY_MAX_SIDE / max(1.0, rect.width(), rect.height()))
        try:
            image = _lazy("render_image")(self.w.scene, _lazy("ImageOptions")(scale=scale))
        except _lazy("ExportError") as exc:
            self.error_dialog("Cannot copy the snapshot", str(exc))
            return
        QApplication.clipboard().setImage(image)
        self.w.statusBar().showMessage("Copied the canvas to the clipboard", 3000)

    def export_csv(self, path: str | Path) -> bool:
        def write(p: Path) -> str:
            records = self.w.records
            atomic_write(p, _lazy("records_to_csv")(records))
            return f"Exported {len(records)} iterations to {p}"

        return self._save("Cannot export the run history", Path(path), write)

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export run history",
                                              str(self.last_dir() / "run.csv"), "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_plot(self, path: str | Path) -> bool:
        return self._save("Cannot export the plot", Path(path),
                          lambda p: _lazy("export_plot")(self.w.curves, p))

    def export_plot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export the plots",
                                              str(self.last_dir() / "loss.png"),
                                              "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self.export_plot(path)

    def export_script(self, path: str | Path) -> bool:
        """The program as a standalone script (or notebook, by the suffix) in the tutorial's own
        code, trained at the rate in the window."""
        program = self.w.session.program
        if program is None:
            return False

        takehome, ExportError = _lazy("takehome"), _lazy("ExportError")  # noqa: N806

        def write(p: Path) -> str:
            try:
                takehome.write(program, p, lr=self.w.lr_control.lr())
            except (ProgramError, takehome.TakeHomeError) as exc:
                raise ExportError(str(exc)) from None
            return f"Wrote {p}: run it with python3 {p.name}" if p.suffix == ".py" else f"Wrote {p}"

        return self._save("Cannot export the program", Path(path), write)

    def export_script_dialog(self) -> None:
        name = Path(self.w.editor.current_name()).stem or "loss"
        path, _ = QFileDialog.getSaveFileName(self.w, "Export as a Python script",
                                              str(self.last_dir() / f"{name}.py"),
                                              "Python script (*.py);;Jupyter notebook (*.ipynb)")
        if path:
            self.export_script(path)

    def record_run(self, folder: str | Path, mode: str = ITERATIONS, count: int = 30,
                   gif: bool = True) -> bool:
        """Frames from a headless run of the current program at the current rate, a frame per
        turn of the event loop behind a window-modal progress dialog with Cancel (the loop is
        never re-entered); the run on screen is not disturbed. ``recordingDone`` says when it
        ends, with the paths written (None if cancelled or failed). False if none started."""
        program = self.w.session.program
        if program is None or self._recording is not None:
            if self._recording is not None:
                self.w.statusBar().showMessage("A recording is already being written", 3000)
            return False
        paths: list[Path] = []
        frames = _lazy("recording")(program, folder, mode, self.w.lr_control.lr(), count, gif=gif,
                           written=paths)
        progress = QProgressDialog("Writing frames…", "Cancel", 0, count, self.w)
        progress.setWindowTitle("Record a run")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        timer = QTimer(self)
        self._recording = (frames, progress, timer)

        def end(result: list[Path] | None, message: str) -> None:
            timer.stop()
            progress.close()
            self._recording = None
            self.w.statusBar().showMessage(message, 4000)
            self.recordingDone.emit(result)

        def next_frame() -> None:
            if progress.wasCanceled():
                end(None, f"Recording cancelled after {len(paths)} frames")
                return
            try:
                done, total = next(frames)
            except StopIteration:
                end(paths, f"Wrote {len(paths)} files to {folder}")
                return
            except OSError as exc:
                end(None, describe_os_error(Path(folder), exc))
                self.error_dialog("Cannot record the run", describe_os_error(Path(folder), exc))
                return
            progress.setMaximum(total)
            progress.setValue(done)

        timer.timeout.connect(next_frame)
        timer.start(0)
        return True

    def record_dialog(self) -> None:
        dialog = _lazy("RecordDialog")(str(self.last_dir() / "frames"), self.w)
        if dialog.exec() and dialog.folder_row.path():
            self.record_run(dialog.folder_row.path(), dialog.mode(), dialog.count.value(),
                            dialog.gif.isChecked())

    # --- comparing runs, and the settings ----------------------------------------------------
    def keep_run(self) -> None:
        history = self.w.session.history
        if not len(history):
            self.w.statusBar().showMessage("Run first: there is nothing to keep yet", 3000)
            return
        lrs = {float(x) for x in history.arrays(copy=False).lr}
        label = f"α = {format_number(next(iter(lrs)))}" if len(lrs) == 1 else "α varied"
        self.w.curves.keep_ghost(label)
        self.w.statusBar().showMessage(f"Kept the run with {label} as a ghost curve", 3000)

    def clear_kept_runs(self) -> None:
        self.w.curves.clear_ghosts()

    def check_settings_can_be_saved(self) -> None:
        """Write the settings read at start back (cleaned: a bad value is now its default), which
        also finds out early whether they can be saved at all: a read-only home or settings
        folder opens the app anyway, and the status bar says what will not be remembered."""
        if not self.w.persist_settings:
            return
        self.w.settings.setValue("lr", self.w._saved_lr)
        self.w.settings.setValue("speed", self.w._saved_speed)
        self.w.settings.sync()
        if self.w.settings.status() != QSettings.Status.NoError:
            self.w.settings_error = (f"Cannot save settings to {self.w.settings.fileName()}: the "
                                   f"learning rate, speed, window size and recent files will not "
                                   f"be remembered")
            self.w.statusBar().showMessage(self.w.settings_error)

    # --- recent files and the title ------------------------------------------------------------
    def last_dir(self) -> Path:
        recent = self.recent_files()
        return Path(recent[0]).parent if recent else Path.home()

    def recent_files(self) -> list[str]:
        """The remembered programs, newest first; what is no path, or is now a folder, a FIFO or
        a device (a hand-edited or stale settings file), is left out."""
        value = self.w.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return []
        return [v for v in value if isinstance(v, str) and _may_be_a_program(v)]

    def add_recent(self, path: Path) -> None:
        resolved = str(path.resolve())
        items = [resolved] + [p for p in self.recent_files() if p != resolved]
        self.w.settings.setValue("recent", items[:MAX_RECENT])
        self.update_recent_menu()

    def update_recent_menu(self) -> None:
        menu = self.w.recent_menu
        menu.clear()
        files = self.recent_files()
        for f in files:
            action = menu.addAction(f)
            action.triggered.connect(lambda checked=False, f=f: self.load_file(f))
        menu.setEnabled(bool(files))

    def update_title(self) -> None:
        name = self.file_path.name if self.file_path else self.w.editor.current_name()
        # the desktop appends the application's name (" — Autodiff GUI") itself
        self.w.setWindowTitle(f"{name} — Autodiff and backprop, step by step")


def _may_be_a_program(path: str) -> bool:
    """An absolute path (the list holds resolved ones) to a regular file, or to one that is gone
    for now (a drive not mounted); never a folder, a FIFO or a device (stat opens nothing, so a
    FIFO cannot block)."""
    if not os.path.isabs(path):
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):  # no access, a name too long, a NUL byte
        return False

