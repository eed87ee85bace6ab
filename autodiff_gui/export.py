"""Snapshots of the canvas as PNG, SVG and PDF: one renderer for the window and the command line.

Everything renders the *scene* (``QGraphicsScene.render``), never a screen grab, so it works
offscreen and at any size, and the file shows exactly what the canvas shows. Every file is
rendered into memory first and then written with :func:`engine.files.atomic_write`: a failed
export leaves no partial file and never replaces a good one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsScene

from engine.files import atomic_write
from engine.formats import TEXT_FORMATS
from engine.graph import backward_steps, formula
from engine.language import Program, evaluate
from engine.train import Trainer

IMAGE_FORMATS = (".png", ".svg", ".pdf")
MAX_PIXELS = 16384  # the longest side of a PNG


class ExportError(ValueError):
    """A request that cannot be met (an unknown format, a step that does not exist)."""


@dataclass(frozen=True)
class ImageOptions:
    scale: float = 1.0
    width: int | None = None  # pixels; wins over scale
    transparent: bool = False


def render_image(scene: QGraphicsScene, options: ImageOptions = ImageOptions()) -> QImage:
    source = scene.sceneRect()
    if options.width:
        scale = options.width / source.width()
    else:
        scale = options.scale
    if not (scale > 0 and math.isfinite(scale)):
        raise ExportError("the scale must be a positive number")
    w, h = round(source.width() * scale), round(source.height() * scale)
    if max(w, h) > MAX_PIXELS or min(w, h) < 1:
        raise ExportError(f"a {w}×{h} image is outside what can be written (at most "
                          f"{MAX_PIXELS} pixels a side)")
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent if options.transparent else QColor("white"))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    _render(scene, painter, QRectF(0, 0, w, h), source, options.transparent)
    painter.end()
    return image


def png_bytes(scene: QGraphicsScene, options: ImageOptions = ImageOptions()) -> bytes:
    return _image_bytes(render_image(scene, options))


def svg_bytes(scene: QGraphicsScene, title: str = "Autodiff GUI graph") -> bytes:
    source = scene.sceneRect()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(math.ceil(source.width()), math.ceil(source.height())))
    gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
    gen.setResolution(96)
    gen.setTitle(title)
    gen.setDescription("A computational graph with values and gradients, made by Autodiff GUI")
    painter = QPainter(gen)
    _render(scene, painter, QRectF(0, 0, source.width(), source.height()), source, False)
    painter.end()
    buf.close()
    return bytes(data.data())


def pdf_bytes(scene: QGraphicsScene, title: str = "Autodiff GUI graph") -> bytes:
    source = scene.sceneRect()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setTitle(title)
    writer.setCreator("Autodiff GUI")
    writer.setResolution(300)
    # one page of the graph's own proportions, cropped to it (the scene rect holds the margin;
    # in points: 72 per inch, scene units as 96 dpi)
    page = QSizeF(source.width() * 72 / 96, source.height() * 72 / 96)
    writer.setPageSize(QPageSize(page, QPageSize.Unit.Point, "graph"))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    painter = QPainter(writer)
    target = QRectF(0, 0, writer.width(), writer.height())
    _render(scene, painter, target, source, False)
    painter.end()
    buf.close()
    return bytes(data.data())


def export_scene(scene: QGraphicsScene, path: str | Path, options: ImageOptions = ImageOptions()) -> None:
    """Write the scene to ``path``; its suffix picks PNG, SVG or PDF. Raises OSError or ExportError."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        data = png_bytes(scene, options)
    elif suffix == ".svg":
        data = svg_bytes(scene)
    elif suffix == ".pdf":
        data = pdf_bytes(scene)
    else:
        raise ExportError(f"{Path(path).name} has no image extension the app knows; use "
                          f"{', '.join(IMAGE_FORMATS)}")
    atomic_write(path, data)


def write_snapshot(scene: QGraphicsScene, path: str | Path, options: ImageOptions = ImageOptions()) -> str:
    """The one export dispatcher of the canvas: the suffix of ``path`` picks a text form of the
    graph shown (``.mmd``, ``.dot``, ``.json``) or an image of the scene (``.png``, ``.svg``,
    ``.pdf``). Raises OSError or ExportError; returns a status sentence."""
    suffix = Path(path).suffix.lower()
    if suffix in TEXT_FORMATS:
        graph = scene.displayed_graph()
        if graph is None:
            raise ExportError("there is no graph to export yet")
        atomic_write(path, TEXT_FORMATS[suffix](graph))
    else:
        export_scene(scene, path, options)
    return f"Exported {path}"


def _render(scene: QGraphicsScene, painter: QPainter, target: QRectF, source: QRectF,
            transparent: bool) -> None:
    brush = scene.backgroundBrush()
    if transparent:
        scene.setBackgroundBrush(Qt.BrushStyle.NoBrush)
    try:
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        if transparent:
            scene.setBackgroundBrush(brush)


def _image_bytes(image: QImage, fmt: str = "PNG") -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, fmt):
        raise ExportError(f"could not encode the image as {fmt}")
    buf.close()
    return bytes(data.data())


# --- a scene without a window (the command line) ------------------------------------------------------
def headless_scene(program: Program, steps: int = 0, lr: float = 0.1,
                   backward_step: int | None = None):
    """The canvas as the window would show it: after ``steps`` training steps, a fresh forward and
    backward pass; with ``backward_step`` K, frozen at the K-th chain-rule multiplication of that
    backward pass (0 is the seed dL/dL = 1), with its highlight and formula banner."""
    from .canvas.scene import GraphScene

    trainer = Trainer(program, lr=lr)
    trainer.run(steps)
    ev = evaluate(program, trainer.values)
    scene = GraphScene()
    if backward_step is None:
        ev.loss.backward()
        scene.show_graph(ev.snapshot())
        scene.set_banner(f"After {steps} training step{'s' if steps != 1 else ''}"
                         if steps else "One forward and backward pass",
                         f"{program.loss_name} = {_fmt(ev.loss.data)}; gradients "
                         f"{', '.join(f'd{program.loss_name}/d{n} = {_fmt(v.grad)}' for n, v in ev.params[:3])}")
        return scene
    before = ev.snapshot()
    chain = list(backward_steps(ev.loss))
    if not 0 <= backward_step <= len(chain):
        raise ExportError(f"--backward-step {backward_step} is past the last multiplication: this "
                          f"backward pass has {len(chain)} (numbered 1 to {len(chain)}; 0 is the seed)")
    after = ev.snapshot()
    scene.show_graph(before, grads_known=False)
    scene.begin_backward()
    if backward_step == 0:
        scene.show_seed()
        return scene
    for step in chain[:backward_step]:
        scene.show_chain_rule_step(step, formula(after, step), len(chain))
    return scene


def _fmt(x: float) -> str:
    from engine.graph import format_number
    return format_number(x)
