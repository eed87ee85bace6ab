"""Record a run as numbered PNG frames, and as an animated GIF when Pillow is installed.

Two kinds of recording: every iteration of gradient descent (the graph with its values and
gradients, iteration by iteration), or every chain-rule multiplication of one backward pass.
Frames are rendered by the same scene renderer as a snapshot, from a headless trainer of their
own, so recording never disturbs the run on screen.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.files import atomic_write
from engine.graph import backward_steps, format_number, formula
from engine.language import Program, evaluate
from engine.train import RUNNING, Trainer

from .canvas.scene import GraphScene
from .export import ImageOptions, png_bytes

ITERATIONS, BACKWARD = "iterations", "backward"
MAX_FRAMES = 2000


class RecordingCancelled(Exception):
    pass


def frames(program: Program, mode: str, lr: float, count: int,
           options: ImageOptions = ImageOptions()) -> Iterator[bytes]:
    """PNG bytes of each frame, rendered one at a time (so a caller can show progress)."""
    scene = GraphScene()
    if mode == BACKWARD:
        ev = evaluate(program)
        before = ev.snapshot()
        chain = list(backward_steps(ev.loss))
        after = ev.snapshot()
        total = len(chain) + 1
        scene.show_graph(before, grads_known=False)
        scene.begin_backward()
        root = after.nodes[after.root].name
        scene.set_banner(f"Backward pass · frame 1 of {total}: the seed", f"d{root}/d{root} = 1")
        yield png_bytes(scene, options)
        for k, step in enumerate(chain, start=2):
            scene.show_chain_rule_step(step, formula(after, step), len(chain))
            scene.set_banner(f"Backward pass · frame {k} of {total}, multiplication {step.number}",
                             formula(after, step))
            yield png_bytes(scene, options)
        return
    trainer = Trainer(program, lr=lr)
    count = max(1, min(count, MAX_FRAMES))
    for k in range(count):
        if trainer.status != RUNNING:
            break
        record = trainer.step()
        scene.show_graph(trainer.snapshot())
        params = ", ".join(f"{p.name} = {format_number(p.data)}" for p in record.params[:3])
        scene.set_banner(f"Iteration {record.iteration} · frame {k + 1} of {count} · α = "
                         f"{format_number(record.lr)}",
                         f"{program.loss_name} = {format_number(record.loss)},  {params}")
        yield png_bytes(scene, options)


def recording(program: Program, folder: str | Path, mode: str = ITERATIONS, lr: float = 0.1,
              count: int = 30, options: ImageOptions = ImageOptions(), gif: bool = True,
              frame_ms: int = 500, written: list[Path] | None = None) -> Iterator[tuple[int, int]]:
    """Write ``frame_0001.png`` … into ``folder`` (and ``run.gif`` if Pillow is there), one
    frame per step of the generator, which yields ``(done, total)``; the paths go into
    ``written``. A window drives it from its event loop a frame at a time (never re-entering
    the loop); a script drains it with :func:`record`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    total = count if mode == ITERATIONS else len(list(backward_steps(evaluate(program).loss))) + 1
    written = written if written is not None else []
    images: list[bytes] = []
    for i, data in enumerate(frames(program, mode, lr, count, options), start=1):
        path = folder / f"frame_{i:04d}.png"
        atomic_write(path, data)
        written.append(path)
        if gif:
            images.append(data)
        yield i, total
    if gif and images and gif_available():
        path = folder / "run.gif"
        atomic_write(path, gif_bytes(images, frame_ms))
        written.append(path)


def record(program: Program, folder: str | Path, mode: str = ITERATIONS, lr: float = 0.1,
           count: int = 30, options: ImageOptions = ImageOptions(), gif: bool = True,
           frame_ms: int = 500, progress: Callable[[int, int], bool] | None = None) -> list[Path]:
    """All of a :func:`recording` at once; returns the paths written.

    ``progress(done, total)`` is called after each frame; returning False cancels, and the frames
    written so far stay.
    """
    written: list[Path] = []
    for done, total in recording(program, folder, mode, lr, count, options, gif, frame_ms, written):
        if progress is not None and progress(done, total) is False:
            raise RecordingCancelled(f"cancelled after {done} frames")
    return written


def gif_available() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def gif_bytes(pngs: list[bytes], frame_ms: int = 500) -> bytes:
    """An animated GIF, one frame per PNG, looping forever.

    Pillow merges identical consecutive frames into one longer frame; each frame here carries its
    own number in the banner, so frames of different steps always stay separate.
    """
    from PIL import Image

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:],
                   duration=frame_ms, loop=0, disposal=1, optimize=False)
    return out.getvalue()
