"""``autodiff-gui [PROGRAM] [--lr LR] [--screenshot FILE [--run-steps N]]``: open the window.

With no PROGRAM the window opens on the tutorial's three-step loss. ``--screenshot`` runs N
iterations, saves a PNG of the whole window and exits (the README's picture is made this way).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodiff-gui",
                                     description="Watch autodiff and backpropagation happen.")
    parser.add_argument("program", nargs="?", help="a program file or a preset name "
                                                   "(default: the tutorial's three-step loss)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the preset's or the last used)")
    parser.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window and exit")
    parser.add_argument("--run-steps", type=int, default=0, metavar="N",
                        help="with --screenshot: run N iterations first")
    parser.add_argument("--backward-step", type=int, metavar="K",
                        help="with --screenshot: after the run, show the K-th chain-rule "
                             "multiplication of the first backward pass (the tutorial's)")
    parser.add_argument("--speed", type=int, help=argparse.SUPPRESS)
    return parser


def configure_interpreter() -> None:
    """Once per process, before the window: with the engine busy in its thread, the GUI thread
    waits for Python's GIL each time it comes back from Qt, up to the interpreter's switch
    interval (5 ms by default): a frame that crosses into Qt a hundred times would take half a
    second. 1 ms keeps frames short."""
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.lr is not None and not (0 < args.lr <= 2):
        print("autodiff-gui: the learning rate must be in (0, 2]", file=sys.stderr)
        return 2
    if args.screenshot and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication

    from engine.presets import preset

    from .window import MainWindow

    configure_interpreter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Autodiff GUI")
    app.setOrganizationName("autodiff-gui")
    app.setApplicationDisplayName("Autodiff GUI")

    window = MainWindow(lr=args.lr)
    if args.program is None:
        window.load_default()
    elif Path(args.program).is_file():
        if not window.load_file(args.program):
            window.load_default()
    else:
        try:
            preset(args.program)
        except KeyError as exc:
            print(f"autodiff-gui: {exc.args[0]}", file=sys.stderr)
            window.shutdown()
            return 2
        window.load_preset(args.program)
    if args.lr is not None:
        window.lr_control.set_lr(args.lr)
    if args.screenshot:
        window.persist_settings = False  # a scripted run must not change the learner's settings
        window.keep_on_screen = False  # the same picture whatever the screen or the memory
        window.fit_to_screen(QRect(0, 0, 1600, 1000))
    window.show()

    if args.screenshot:
        window.resize(1600, 1000)
        _screenshot(app, window, Path(args.screenshot), args.run_steps, args.speed,
                    args.backward_step)
        return 0
    return app.exec()


def _screenshot(app, window, path: Path, steps: int, speed: int | None,
                backward_step: int | None = None) -> None:
    """Run ``steps`` iterations at full speed, grab the window, write the PNG, quit."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QTimer

    from engine.files import atomic_write

    from .worker import SPEEDS

    def save() -> None:
        if backward_step is not None and window.curves.history.count:
            window.travel_to_iteration(0)
            window.teach.setCurrentWidget(window.ledger)
            window.travel_to_position(window.moment.seed_position + backward_step)
        window._push_moment_to_panels()
        window.landscape.finish_sampling()
        app.processEvents()
        image = window.grab()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        buf.close()
        atomic_write(path, bytes(data.data()))
        window.close()
        app.quit()

    def start() -> None:
        if steps <= 0:
            QTimer.singleShot(300, save)
            return
        window.speed_control.set_speed(len(SPEEDS) - 1 if speed is None else speed)
        window.cap_control.spin.setValue(steps)

        def check(*_):
            if len(window.records) >= steps or window.status_label.text():
                window.iterationsShown.disconnect(check)
                QTimer.singleShot(300, save)
        window.iterationsShown.connect(check)
        window.runEnded.connect(lambda *_: QTimer.singleShot(300, save))
        window.engine.runRequested.emit()

    QTimer.singleShot(400, start)
    app.exec()


if __name__ == "__main__":
    sys.exit(main())
