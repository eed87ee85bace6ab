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
from xml.sax.saxutils import escape

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from engine.files import atomic_write
from engine.formats import TEXT_FORMATS
from engine.graph import backward_steps, formula
from engine.language import Program, evaluate
from engine.train import Trainer

IMAGE_FORMATS = (".png", ".svg", ".pdf")
MAX_PIXELS = 16384  # the longest side of a PNG
#: Above this many items, SVG is written from the items' state, not through Qt's SVG painter.
DIRECT_SVG_ITEMS = 20000


class ExportError(ValueError):
    """A request that cannot be met (an unknown format, a step that does not exist)."""


@dataclass(frozen=True)
class ImageOptions:
    scale: float = 1.0
    width: int | None = None  # pixels; wins over scale
    transparent: bool = False


def image_size(scene: QGraphicsScene, options: ImageOptions = ImageOptions()) -> tuple[int, int, str]:
    """The PNG's width and height for ``options``, and a sentence when it had to be made smaller.

    A big graph is drawn at a capped resolution rather than refused: its longest side becomes
    :data:`MAX_PIXELS` (the sentence says so and names SVG and PDF, which keep every detail).
    """
    source = scene.sceneRect()
    if options.width:
        scale = options.width / source.width()
    else:
        scale = options.scale
    if not (scale > 0 and math.isfinite(scale)):
        raise ExportError("the scale must be a positive number")
    w, h = round(source.width() * scale), round(source.height() * scale)
    note = ""
    if max(w, h) > MAX_PIXELS:
        capped = MAX_PIXELS / max(source.width(), source.height())
        note = (f"The graph would be {w:,} × {h:,} pixels at scale {scale:g}, more than a PNG "
                f"can hold here ({MAX_PIXELS:,} a side), so it was drawn at scale {capped:.3g}; "
                f"export SVG or PDF to keep every detail.")
        w, h = round(source.width() * capped), round(source.height() * capped)
    return max(w, 1), max(h, 1), note


def render_image(scene: QGraphicsScene, options: ImageOptions = ImageOptions()) -> QImage:
    """The scene as an image, at most :data:`MAX_PIXELS` a side (see :func:`image_size`)."""
    source = scene.sceneRect()
    w, h, _ = image_size(scene, options)
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise ExportError(f"there is not enough memory for a {w:,} × {h:,} image; use a smaller "
                          f"scale, or SVG or PDF")
    image.fill(Qt.GlobalColor.transparent if options.transparent else QColor("white"))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    _render(scene, painter, QRectF(0, 0, w, h), source, options.transparent)
    painter.end()
    return image


def png_bytes(scene: QGraphicsScene, options: ImageOptions = ImageOptions()) -> bytes:
    return _image_bytes(render_image(scene, options))


def svg_bytes(scene: QGraphicsScene, title: str = "Autodiff GUI graph") -> bytes:
    """The scene as SVG. A scene of more than :data:`DIRECT_SVG_ITEMS` items (a graph of a few
    thousand nodes) is written by :func:`_direct_svg` from its items' own state, since Qt's SVG
    painter takes minutes and gigabytes on the 68,000-node perceptron; smaller ones go through
    ``QGraphicsScene.render``."""
    if len(scene.items()) > DIRECT_SVG_ITEMS:
        direct = _direct_svg(scene, title)
        if direct is not None:
            return direct
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


def export_scene(scene: QGraphicsScene, path: str | Path, options: ImageOptions = ImageOptions()) -> str:
    """Write the scene to ``path``; its suffix picks PNG, SVG or PDF. Raises OSError or ExportError.

    Returns a sentence for the learner when the file differs from what was asked (a PNG too big
    for its requested scale is drawn smaller: :func:`image_size`), else "".
    """
    suffix = Path(path).suffix.lower()
    note = ""
    if suffix == ".png":
        note = image_size(scene, options)[2]
        data = png_bytes(scene, options)
    elif suffix == ".svg":
        data = svg_bytes(scene)
    elif suffix == ".pdf":
        data = pdf_bytes(scene)
    else:
        raise ExportError(f"{Path(path).name} has no image extension the app knows; use "
                          f"{', '.join(IMAGE_FORMATS)}")
    atomic_write(path, data)
    return note


def write_snapshot(scene: QGraphicsScene, path: str | Path, options: ImageOptions = ImageOptions()) -> str:
    """The one export dispatcher of the canvas: the suffix of ``path`` picks a text form of the
    graph shown (``.mmd``, ``.dot``, ``.json``) or an image of the scene (``.png``, ``.svg``,
    ``.pdf``), for the window, its dialog and ``autodiff export`` alike. Raises OSError or
    ExportError; returns a sentence when the file differs from what was asked, else ""."""
    suffix = Path(path).suffix.lower()
    if suffix in TEXT_FORMATS:
        graph = scene.displayed_graph()
        if graph is None:
            raise ExportError("there is no graph to export yet")
        atomic_write(path, TEXT_FORMATS[suffix](graph))
        return ""
    return export_scene(scene, path, options)


def _render(scene: QGraphicsScene, painter: QPainter, target: QRectF, source: QRectF,
            transparent: bool) -> None:
    getattr(scene, "settle", lambda: None)()  # a canvas moving to a new layout: its end
    brush = scene.backgroundBrush()
    if transparent:
        scene.setBackgroundBrush(Qt.BrushStyle.NoBrush)
    # the canvas caches its items as pixmaps for panning; a file gets them painted afresh, as
    # shapes and text (an SVG or PDF of pixmaps would lose its text), at the file's own scale
    # (and every item, not the overview a zoomed-out canvas draws instead)
    cached = [item for item in scene.items() if item.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    modes = [item.cacheMode() for item in cached]
    for item in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    overview = getattr(scene, "overview_shown", lambda: False)()
    if overview:
        scene.set_overview(False)
    try:
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        if overview:
            scene.set_overview(True)
        for item, mode in zip(cached, modes):
            item.setCacheMode(mode)
        if transparent:
            scene.setBackgroundBrush(brush)


def _direct_svg(scene: QGraphicsScene, title: str) -> bytes | None:
    """The canvas's boxes, circles, edges and banner written straight to SVG, drawn as their
    ``paint`` methods draw them (same shapes, colours, fonts and elided texts).

    Measured on the 67,938-node perceptron: seconds and tens of megabytes, where Qt's SVG painter
    (a ``<g>`` with the full style for every state change) did not finish in minutes and grew to
    6 GB. Returns None, so the caller uses Qt's renderer, if the scene holds any other kind of
    item, which this writer would leave out.
    """
    from .canvas.items import (RECEIVING, Banner, Edge, GroupBox, OpCircle, Overview, ValueBox, _blend,
                               _elide, _font)

    getattr(scene, "settle", lambda: None)()
    items = [item for item in scene.items() if not isinstance(item, Overview)]
    if not all(isinstance(item, (ValueBox, OpCircle, Edge, Banner)) for item in items):
        return None
    source = scene.sceneRect()
    theme = getattr(scene, "theme", None)
    if theme is None:
        return None
    esc = escape

    def colour(c: QColor) -> str:
        return c.name()

    name_font, mono_font = _font(10.5, bold=True), _font(9, mono=True)
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{math.ceil(source.width())}" '
        f'height="{math.ceil(source.height())}" viewBox="0 0 {source.width():g} {source.height():g}">\n',
        f"<title>{esc(title)}</title>\n<desc>A computational graph with values and gradients, made "
        f"by Autodiff GUI</desc>\n",
        f'<rect x="0" y="0" width="{source.width():g}" height="{source.height():g}" '
        f'fill="{colour(scene.backgroundBrush().color())}"/>\n',
        f'<g transform="translate({-source.x():g},{-source.y():g})" font-family="DejaVu Sans" '
        f'xml:space="preserve">\n']
    write = out.append
    edges = sorted((item for item in items if isinstance(item, Edge)), key=lambda e: e.zValue())
    for edge in edges:
        c = colour(theme.role_color(edge.role) or theme.edge)
        dx, dy = edge.pos().x(), edge.pos().y()
        pts = [(p.x() + dx, p.y() + dy) for p in edge.points]
        d = "M" + " L".join(f"{x:g},{y:g}" for x, y in pts)
        write(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="{3.2 if edge.role else 1.3}" '
              f'stroke-linecap="round" stroke-linejoin="round"/>\n')
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        length = max(math.hypot(bx - ax, by - ay), 1e-6)
        ux, uy = (bx - ax) / length, (by - ay) / length
        size = 11 if edge.role else 8
        write(f'<polygon points="{bx:g},{by:g} {bx - ux * size - uy * size * 0.5:.2f},'
              f'{by - uy * size + ux * size * 0.5:.2f} {bx - ux * size + uy * size * 0.5:.2f},'
              f'{by - uy * size - ux * size * 0.5:.2f}" fill="{c}"/>\n')
        if edge.label:
            r = edge._label_rect().translated(dx, dy)
            write(f'<rect x="{r.x():g}" y="{r.y():g}" width="{r.width():g}" height="{r.height():g}" '
                  f'rx="4" fill="{colour(theme.background)}" stroke="{c}" '
                  f'stroke-width="{2.0 if edge.role else 1.0}"/>\n'
                  f'<text x="{r.center().x():g}" y="{r.center().y():g}" text-anchor="middle" '
                  f'dominant-baseline="central" font-family="DejaVu Sans Mono" font-size="11" '
                  f'fill="{colour(theme.text if edge.role else theme.muted)}">{esc(edge.label)}</text>\n')
    for item in items:
        if isinstance(item, ValueBox):
            r = item.rect().translated(item.pos())
            role = theme.role_color(item.role)
            fill = _blend(theme.box, role, 0.14) if role is not None else theme.box
            x, y, w, h = r.x(), r.y(), r.width(), r.height()
            text_w = w - 16
            if isinstance(item, GroupBox):  # a collapsed group: the boxes folded inside peek out
                write(f'<rect x="{x + 5:g}" y="{y + 5:g}" width="{w:g}" height="{h:g}" rx="7" '
                      f'fill="{colour(_blend(theme.box, theme.op, 0.10))}" '
                      f'stroke="{colour(theme.op)}" stroke-width="1.2"/>\n')
            write(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="7" '
                  f'fill="{colour(fill)}" stroke="{colour(role or theme.edge)}" '
                  f'stroke-width="{3.0 if role is not None else 1.2}"/>\n'
                  f'<rect x="{x + 1.5:g}" y="{y + 6:g}" width="5" height="{h - 12:g}" rx="2.5" '
                  f'fill="{colour(theme.kind_color(item.kind))}"/>\n'
                  f'<text x="{x + 12:g}" y="{y + 12:g}" dominant-baseline="central" font-size="14" '
                  f'font-weight="bold" fill="{colour(theme.text)}">'
                  f'{esc(_elide(item.name, name_font, text_w))}</text>\n'
                  f'<text x="{x + 12:g}" y="{y + 29:g}" dominant-baseline="central" '
                  f'font-family="DejaVu Sans Mono" font-size="12" fill="{colour(theme.text)}">'
                  f'{esc(_elide(item.value_text, mono_font, text_w))}</text>\n'
                  f'<text x="{x + 12:g}" y="{y + 45:g}" dominant-baseline="central" '
                  f'font-family="DejaVu Sans Mono" font-size="12" '
                  f'fill="{colour(theme.receiving if item.role == RECEIVING else theme.muted)}">'
                  f'{esc(_elide(item.grad_text, mono_font, text_w))}</text>\n')
        elif isinstance(item, OpCircle):
            r = item.rect().translated(item.pos())
            role = theme.role_color(item.role)
            size = 12 if len(item.symbol) <= 2 else 8.5 if len(item.symbol) <= 4 else 7
            write(f'<circle cx="{r.center().x():g}" cy="{r.center().y():g}" r="{r.width() / 2:g}" '
                  f'fill="{colour(_blend(theme.box, role or theme.op, 0.16))}" '
                  f'stroke="{colour(role or theme.op)}" stroke-width="{3.0 if role else 1.6}"/>\n'
                  f'<text x="{r.center().x():g}" y="{r.center().y():g}" text-anchor="middle" '
                  f'dominant-baseline="central" font-size="{max(1, round(size * 96 / 72))}" '
                  f'font-weight="bold" fill="{colour(theme.text)}">{esc(item.symbol)}</text>\n')
    for item in items:
        if isinstance(item, Banner) and (item.text or item.title) and item.isVisible():
            x, y, w = item.pos().x(), item.pos().y(), item.width
            write(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="54" rx="8" '
                  f'fill="{colour(theme.banner)}"/>\n'
                  f'<text x="{x + 12:g}" y="{y + 13:g}" dominant-baseline="central" font-size="12" '
                  f'fill="{colour(theme.muted)}">{esc(item.title)}</text>\n'
                  f'<text x="{x + 12:g}" y="{y + 36:g}" dominant-baseline="central" '
                  f'font-family="DejaVu Sans Mono" font-size="16" font-weight="bold" '
                  f'fill="{colour(theme.text)}">'
                  f'{esc(_elide(item.text, _font(12, True, True), w - 24))}</text>\n')
    write("</g>\n</svg>\n")
    return "".join(out).encode()


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
    scene = GraphScene(grouping=False)  # a file from the command line holds every node
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
