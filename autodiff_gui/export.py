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
from engine.graph import GraphSnapshot, backward_steps, format_number, formula
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
    from .canvas.items import Banner, Edge, GroupBox, OpCircle, Overview, ValueBox

    getattr(scene, "settle", lambda: None)()
    theme = getattr(scene, "theme", None)
    if theme is None:
        return None
    items = [item for item in scene.items() if not isinstance(item, Overview)]
    if not all(isinstance(item, (ValueBox, OpCircle, Edge, Banner)) for item in items):
        return None
    stores = [getattr(scene, name, None) for name in ("results", "edges", "boxes", "ops")]
    if all(isinstance(store, dict) for store in stores) and \
            sum(map(len, stores)) == sum(1 for item in items if not isinstance(item, Banner)):
        # the canvas: its items in the order it made them (scene.items() orders them by Qt's
        # index), so a file of the same graph is the same file whichever way it was drawn
        results, edges, boxes, ops = stores
        items = [*results.values(), *edges.values(), *boxes.values(), *ops.values(),
                 *(item for item in items if isinstance(item, Banner))]

    def edge_parts(edge):
        dx, dy = edge.pos().x(), edge.pos().y()
        label = None
        if edge.label:
            r = edge._label_rect().translated(dx, dy)
            label = (r.x(), r.y(), r.width(), r.height())
        return [(p.x() + dx, p.y() + dy) for p in edge.points], edge.role, edge.label, label

    def box_parts(box):
        r = box.rect().translated(box.pos())
        return (r.x(), r.y(), r.width(), r.height(), box.kind, isinstance(box, GroupBox), box.role,
                box.name, box.value_text, box.grad_text)

    def circle_parts(circle):
        r = circle.rect().translated(circle.pos())
        return r.center().x(), r.center().y(), r.width() / 2, circle.symbol, circle.role

    edges = sorted((item for item in items if isinstance(item, Edge)), key=lambda e: e.zValue())
    source = scene.sceneRect()
    return _svg_document(
        (source.x(), source.y(), source.width(), source.height()), theme,
        scene.backgroundBrush().color(), title,
        (edge_parts(e) for e in edges),
        (box_parts(b) for b in items if isinstance(b, ValueBox)),
        (circle_parts(c) for c in items if isinstance(c, OpCircle)),
        [(b.pos().x(), b.pos().y(), b.width, b.title, b.text) for b in items
         if isinstance(b, Banner) and (b.text or b.title) and b.isVisible()])


def _svg_document(source: tuple[float, float, float, float], theme, background: QColor, title: str,
                  edges, boxes, circles, banners) -> bytes:
    """The SVG of a drawing given as plain tuples (scene units), one writer for the canvas's
    items (:func:`_direct_svg`) and for a layout drawn without them (:func:`layout_svg`):

    - ``edges``: (points [(x, y), ...], role, label, label box (x, y, w, h) or None), in the order
      drawn;
    - ``boxes``: (x, y, w, h, kind, whether a collapsed group, role, name, value text, grad text);
    - ``circles``: (centre x, centre y, radius, symbol, role);
    - ``banners``: (x, y, width, title, text).

    Numbers are written with ten significant digits: a graph of 68,000 nodes is two million
    units tall, where ``:g``'s six would move its boxes by up to five units.
    """
    from .canvas.items import RECEIVING, _blend, _elide, _font

    esc = escape
    colours: dict = {}

    def colour(c: QColor) -> str:
        return c.name()

    def role_colour(role: str) -> str | None:
        """The colour a role draws in (None for no role), named once per role."""
        if role not in colours:
            c = theme.role_color(role)
            colours[role] = None if c is None else c.name()
        return colours[role]

    sx, sy, sw, sh = source
    name_font, mono_font = _font(10.5, bold=True), _font(9, mono=True)
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{math.ceil(sw)}" '
        f'height="{math.ceil(sh)}" viewBox="0 0 {sw:.10g} {sh:.10g}">\n',
        f"<title>{esc(title)}</title>\n<desc>A computational graph with values and gradients, made "
        f"by Autodiff GUI</desc>\n",
        f'<rect x="0" y="0" width="{sw:.10g}" height="{sh:.10g}" fill="{colour(background)}"/>\n',
        f'<g transform="translate({-sx:.10g},{-sy:.10g})" font-family="DejaVu Sans" '
        f'xml:space="preserve">\n']
    write = out.append
    edge_colour, bg = colour(theme.edge), colour(theme.background)
    text_colour, muted = colour(theme.text), colour(theme.muted)
    for pts, role, label, label_rect in edges:
        c = role_colour(role) or edge_colour
        d = "M" + " L".join([f"{x:.10g},{y:.10g}" for x, y in pts])
        write(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="{3.2 if role else 1.3}" '
              f'stroke-linecap="round" stroke-linejoin="round"/>\n')
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        length = max(math.hypot(bx - ax, by - ay), 1e-6)
        ux, uy = (bx - ax) / length, (by - ay) / length
        size = 11 if role else 8
        write(f'<polygon points="{bx:.10g},{by:.10g} {bx - ux * size - uy * size * 0.5:.2f},'
              f'{by - uy * size + ux * size * 0.5:.2f} {bx - ux * size + uy * size * 0.5:.2f},'
              f'{by - uy * size - ux * size * 0.5:.2f}" fill="{c}"/>\n')
        if label:
            x, y, w, h = label_rect
            write(f'<rect x="{x:.10g}" y="{y:.10g}" width="{w:.10g}" height="{h:.10g}" '
                  f'rx="4" fill="{bg}" stroke="{c}" '
                  f'stroke-width="{2.0 if role else 1.0}"/>\n'
                  f'<text x="{x + w / 2:.10g}" y="{y + h / 2:.10g}" text-anchor="middle" '
                  f'dominant-baseline="central" font-family="DejaVu Sans Mono" font-size="11" '
                  f'fill="{text_colour if role else muted}">{esc(label)}</text>\n')
    box_colour, op_colour = colour(theme.box), colour(theme.op)
    group_under = colour(_blend(theme.box, theme.op, 0.10))
    lit_fills: dict = {}
    kinds: dict = {}
    receiving = colour(theme.receiving)
    for x, y, w, h, kind, group, role, name, value_text, grad_text in boxes:
        rc = role_colour(role)
        if rc is None:
            fill = box_colour
        else:
            fill = lit_fills.get(role)
            if fill is None:
                fill = lit_fills[role] = colour(_blend(theme.box, theme.role_color(role), 0.14))
        stripe = kinds.get(kind)
        if stripe is None:
            stripe = kinds[kind] = colour(theme.kind_color(kind))
        text_w = w - 16
        if group:  # a collapsed group: the boxes folded inside peek out
            write(f'<rect x="{x + 5:.10g}" y="{y + 5:.10g}" width="{w:.10g}" height="{h:.10g}" rx="7" '
                  f'fill="{group_under}" stroke="{op_colour}" stroke-width="1.2"/>\n')
        write(f'<rect x="{x:.10g}" y="{y:.10g}" width="{w:.10g}" height="{h:.10g}" rx="7" '
              f'fill="{fill}" stroke="{rc or edge_colour}" '
              f'stroke-width="{3.0 if rc is not None else 1.2}"/>\n'
              f'<rect x="{x + 1.5:.10g}" y="{y + 6:.10g}" width="5" height="{h - 12:.10g}" rx="2.5" '
              f'fill="{stripe}"/>\n'
              f'<text x="{x + 12:.10g}" y="{y + 12:.10g}" dominant-baseline="central" font-size="14" '
              f'font-weight="bold" fill="{text_colour}">'
              f'{esc(_elide(name, name_font, text_w))}</text>\n'
              f'<text x="{x + 12:.10g}" y="{y + 29:.10g}" dominant-baseline="central" '
              f'font-family="DejaVu Sans Mono" font-size="12" fill="{text_colour}">'
              f'{esc(_elide(value_text, mono_font, text_w))}</text>\n'
              f'<text x="{x + 12:.10g}" y="{y + 45:.10g}" dominant-baseline="central" '
              f'font-family="DejaVu Sans Mono" font-size="12" '
              f'fill="{receiving if role == RECEIVING else muted}">'
              f'{esc(_elide(grad_text, mono_font, text_w))}</text>\n')
    circle_fills: dict = {}
    for cx, cy, radius, symbol, role in circles:
        rc = role_colour(role)
        fill = circle_fills.get(role)
        if fill is None:
            fill = circle_fills[role] = colour(_blend(theme.box, theme.role_color(role) or theme.op, 0.16))
        size = 12 if len(symbol) <= 2 else 8.5 if len(symbol) <= 4 else 7
        write(f'<circle cx="{cx:.10g}" cy="{cy:.10g}" r="{radius:.10g}" '
              f'fill="{fill}" '
              f'stroke="{rc or op_colour}" stroke-width="{3.0 if rc else 1.6}"/>\n'
              f'<text x="{cx:.10g}" y="{cy:.10g}" text-anchor="middle" '
              f'dominant-baseline="central" font-size="{max(1, round(size * 96 / 72))}" '
              f'font-weight="bold" fill="{text_colour}">{esc(symbol)}</text>\n')
    for x, y, w, banner_title, text in banners:
        write(f'<rect x="{x:.10g}" y="{y:.10g}" width="{w:.10g}" height="54" rx="8" '
              f'fill="{colour(theme.banner)}"/>\n'
              f'<text x="{x + 12:.10g}" y="{y + 13:.10g}" dominant-baseline="central" font-size="12" '
              f'fill="{muted}">{esc(banner_title)}</text>\n'
              f'<text x="{x + 12:.10g}" y="{y + 36:.10g}" dominant-baseline="central" '
              f'font-family="DejaVu Sans Mono" font-size="16" font-weight="bold" '
              f'fill="{text_colour}">'
              f'{esc(_elide(text, _font(12, True, True), w - 24))}</text>\n')
    write("</g>\n</svg>\n")
    return "".join(out).encode()


def drawn_items(graph: GraphSnapshot) -> int:
    """How many items the canvas draws ``graph`` with, every group open: a box per node, a
    circle and a result edge per operation, an edge per input, the banner and the overview."""
    return len(graph.nodes) + sum(2 + len(n.children) for n in graph.nodes if n.children) + 2


def layout_svg(graph: GraphSnapshot, layout, theme, banner: tuple[str, str],
               title: str = "Autodiff GUI graph") -> bytes:
    """The SVG the canvas would write for ``graph`` (every group open, values and gradients
    known, nothing lit) laid out as ``layout``, written from the layout itself: no item is made.

    The same file, byte for byte, as :func:`svg_bytes` of a :class:`~.canvas.scene.GraphScene`
    showing the graph (``tests/gui/test_export_big.py`` checks it), in a fraction of the time: on
    the 67,938-node perceptron the canvas's 321,834 items took 15 s to make and 25 s to free.
    """
    from engine.explain import op_symbol

    from .canvas.items import label_box
    from .canvas.scene import BANNER_GAP

    fmt = format_number
    nodes = graph.nodes
    boxes, ops, spans = layout.boxes, layout.ops, layout.edge_points
    results, edges, box_parts, circle_parts = [], [], [], []
    for n in nodes:
        p = boxes[n.id]
        box_parts.append((p.x, p.y, p.w, p.h, n.kind, False, "", n.name, f"value {fmt(n.data)}",
                          f"grad  {fmt(n.grad)}"))
        if not n.children:
            continue
        q = ops[n.id]
        circle_parts.append((q.x + q.w / 2, q.y + q.h / 2, q.w / 2, op_symbol(n.op), ""))
        results.append(([(q.x + q.w, q.y + q.h / 2), (p.x, p.y + p.h / 2)], "", "", None))
    for n in nodes:
        children = n.children
        for i, (c, local) in enumerate(zip(children, n.local_grads)):
            pts = spans.get((c, n.id, i))
            if not pts:
                a, q = boxes[c], ops[n.id]
                pts = [(a.x + a.w, a.y + a.h / 2), (q.x, q.y + q.h / 2)]
            label = fmt(local, 4)
            at = 0.25 if children.count(c) > 1 else 0.5
            (ax, ay), (bx, by) = pts[-2], pts[-1]
            edges.append((pts, "", label, label_box(ax, ay, bx, by, at, label) if label else None))
    width = max(layout.width, 560.0)
    source = (-24.0, -BANNER_GAP - 16, width + 48, layout.height + BANNER_GAP + 40)
    banners = [(0.0, -BANNER_GAP, min(width, 1000.0), *banner)] if any(banner) else []
    return _svg_document(source, theme, theme.background, title, [*results, *edges], box_parts,
                         circle_parts, banners)


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
                   backward_step: int | None = None, evaluation=None):
    """The canvas as the window would show it: after ``steps`` training steps, a fresh forward and
    backward pass; with ``backward_step`` K, frozen at the K-th chain-rule multiplication of that
    backward pass (0 is the seed dL/dL = 1), with its highlight and formula banner.
    ``evaluation``, if given, is that fresh forward pass (its backward pass not yet run), made
    by the caller that trained already."""
    from .canvas.scene import GraphScene

    ev = evaluation if evaluation is not None else _trained(program, steps, lr)
    if backward_step is None:
        ev.loss.backward()
        return _scene_of(ev.snapshot(), _banner(program, ev, steps))
    scene = GraphScene(grouping=False)  # a file from the command line holds every node
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


def headless_export(program: Program, path: str | Path, steps: int = 0, lr: float = 0.1,
                    backward_step: int | None = None, options: ImageOptions = ImageOptions(),
                    evaluation=None) -> str:
    """``autodiff export`` of an image: the file :func:`write_snapshot` writes of
    :func:`headless_scene`. A big graph's SVG (more than :data:`DIRECT_SVG_ITEMS` items) is the
    same file written from its layout (:func:`layout_svg`), without making the canvas's items.
    Raises OSError or ExportError; returns a sentence when the file differs from what was asked.
    ``evaluation`` is as for :func:`headless_scene`."""
    if Path(path).suffix.lower() == ".svg" and backward_step is None:
        ev = evaluation if evaluation is not None else _trained(program, steps, lr)
        ev.loss.backward()
        graph = ev.snapshot()
        if drawn_items(graph) > DIRECT_SVG_ITEMS:
            from PySide6.QtGui import QPalette

            from .canvas.items import Theme
            from .canvas.layout import layered_layout
            from .canvas.scene import LAYOUT_OPTIONS

            layout = layered_layout(graph, **LAYOUT_OPTIONS)
            data = layout_svg(graph, layout, Theme.from_palette(QPalette()), _banner(program, ev, steps))
            atomic_write(path, data)
            return ""
        return write_snapshot(_scene_of(graph, _banner(program, ev, steps)), path, options)
    return write_snapshot(headless_scene(program, steps, lr, backward_step, evaluation), path, options)


def _scene_of(graph: GraphSnapshot, banner: tuple[str, str]):
    """The canvas showing every node of ``graph`` after its backward pass, with ``banner``."""
    from .canvas.scene import GraphScene

    scene = GraphScene(grouping=False)  # a file from the command line holds every node
    scene.show_graph(graph)
    scene.set_banner(*banner)
    return scene


def _trained(program: Program, steps: int, lr: float):
    """A fresh forward pass (not yet backward) at the parameters after ``steps`` training steps."""
    trainer = Trainer(program, lr=lr)
    trainer.run(steps)
    return evaluate(program, trainer.values)


def _banner(program: Program, ev, steps: int) -> tuple[str, str]:
    return (f"After {steps} training step{'s' if steps != 1 else ''}" if steps
            else "One forward and backward pass",
            f"{program.loss_name} = {_fmt(ev.loss.data)}; gradients "
            f"{', '.join(f'd{program.loss_name}/d{n} = {_fmt(v.grad)}' for n, v in ev.params[:3])}")


def _fmt(x: float) -> str:
    from engine.graph import format_number
    return format_number(x)
