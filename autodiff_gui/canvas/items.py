"""The canvas's items: value boxes, operation circles, edges and the formula banner.

Items only paint what they are told (text, colours, a highlight role); every number they show
is computed by the engine and set on them by :mod:`.scene`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPalette, QPen, QPolygonF)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

# highlight roles
NONE, COMPUTING, UPSTREAM, RECEIVING, SELECTED = "", "computing", "upstream", "receiving", "selected"

#: Levels of detail (scene-to-device scale, as ``levelOfDetailFromTransform`` gives it): below
#: TEXT_DETAIL a box's text is too small to read and is not drawn, nor an edge's label below
#: LABEL_DETAIL; below SHAPE_DETAIL a box is a plain rectangle and an edge has no arrowhead.
TEXT_DETAIL, LABEL_DETAIL, SHAPE_DETAIL = 0.4, 0.45, 0.2


def detail(painter: QPainter) -> float:
    """How many device pixels a scene unit covers where ``painter`` draws now."""
    return QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())


@dataclass(frozen=True)
class Theme:
    """Colours for a light or a dark palette; the roles' colours read on both."""

    background: QColor
    box: QColor
    text: QColor
    muted: QColor
    edge: QColor
    param: QColor
    input: QColor
    const: QColor
    op: QColor
    computing: QColor
    upstream: QColor
    receiving: QColor
    banner: QColor

    @staticmethod
    def from_palette(palette: QPalette) -> Theme:
        dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
        if dark:
            return Theme(QColor("#1e2227"), QColor("#2a2f36"), QColor("#e8eaed"), QColor("#9aa0a6"),
                         QColor("#7d8590"), QColor("#5b9cf5"), QColor("#3fb68b"), QColor("#8b939c"),
                         QColor("#c9a2ff"), QColor("#ffb347"), QColor("#c08cff"),
                         QColor("#4cd08a"), QColor("#30363d"))
        return Theme(QColor("#fbfbfd"), QColor("#ffffff"), QColor("#1f2328"), QColor("#656d76"),
                     QColor("#8c959f"), QColor("#1f6feb"), QColor("#1a7f5a"), QColor("#8c959f"),
                     QColor("#8250df"), QColor("#e07b00"), QColor("#8250df"), QColor("#1a9e55"),
                     QColor("#eef1f6"))

    def kind_color(self, kind: str) -> QColor:
        return {"param": self.param, "input": self.input, "const": self.const}.get(kind, self.op)

    def role_color(self, role: str) -> QColor | None:
        return {COMPUTING: self.computing, UPSTREAM: self.upstream, RECEIVING: self.receiving,
                SELECTED: self.upstream}.get(role)


@lru_cache(maxsize=64)
def _font(size: float, bold: bool = False, mono: bool = False) -> QFont:
    """``size`` in points at 96 dpi, set in pixels: a scene unit is a pixel on every device, so the
    text keeps its size relative to the boxes on a screen, a 300-dpi PDF or an SVG."""
    f = QFont("DejaVu Sans Mono" if mono else "DejaVu Sans")
    f.setPixelSize(max(1, round(size * 96 / 72)))
    f.setBold(bold)
    return f


class _NodeItem(QGraphicsItem):
    """What a value box and an operation circle share: a rectangle, a theme and a highlight role."""

    def __init__(self, rect: QRectF, theme: Theme) -> None:
        super().__init__()
        self._rect = rect
        self.theme = theme
        self.role = NONE
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        # drawn once per zoom level into a pixmap: panning a big graph blits instead of repainting
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_role(self, role: str) -> None:
        if role != self.role:
            self.role = role
            self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-4, -4, 4, 4)

    def rect(self) -> QRectF:
        return QRectF(self._rect)


class ValueBox(_NodeItem):
    """A value node: its name, its value and its gradient, with a stripe for its kind."""

    name_room = 0.0  # room kept free at the right of the name (a group's ⊞)

    def __init__(self, rect: QRectF, theme: Theme, kind: str) -> None:
        super().__init__(rect, theme)
        self.kind = kind
        self.name = ""
        self.value_text = ""
        self.grad_text = ""

    def set_texts(self, name: str, value: str, grad: str) -> None:
        if (name, value, grad) != (self.name, self.value_text, self.grad_text):
            self.name, self.value_text, self.grad_text = name, value, grad
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.theme
        r = self._rect
        lod = detail(painter)
        role_color = t.role_color(self.role)
        border = role_color if role_color is not None else t.edge
        fill = QColor(t.box)
        if role_color is not None:
            fill = _blend(t.box, role_color, 0.14)
        if lod < SHAPE_DETAIL:  # a dot on the overview: its colour says its kind or its role
            painter.fillRect(r, role_color if role_color is not None else t.kind_color(self.kind))
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_frame(painter, border, fill, role_color is not None)
        if lod < TEXT_DETAIL:
            return
        self._paint_texts(painter)

    def _paint_frame(self, painter: QPainter, border: QColor, fill: QColor, lit: bool) -> None:
        painter.setPen(QPen(border, 3.0 if lit else 1.2))
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(self._rect, 7, 7)

    def _paint_texts(self, painter: QPainter) -> None:
        t, r = self.theme, self._rect
        # the kind stripe on the left
        stripe = QRectF(r.left() + 1.5, r.top() + 6, 5, r.height() - 12)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.kind_color(self.kind))
        painter.drawRoundedRect(stripe, 2.5, 2.5)
        # texts
        x = r.left() + 12
        w = r.width() - 16
        painter.setPen(t.text)
        painter.setFont(_font(10.5, bold=True))
        room = w - self.name_room
        painter.drawText(QRectF(x, r.top() + 3, room, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.name, _font(10.5, True), room))
        painter.setFont(_font(9, mono=True))
        painter.drawText(QRectF(x, r.top() + 21, w, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.value_text, _font(9, mono=True), w))
        painter.setPen(t.receiving if self.role == RECEIVING else t.muted)
        painter.drawText(QRectF(x, r.top() + 37, w, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.grad_text, _font(9, mono=True), w))


class GroupBox(ValueBox):
    """A collapsed group: a stack of boxes, named as the program names the piece
    (``hidden[2][4]``, ``sum(w1[0]·xs[1])``), with its result's value and gradient. A
    double-click (or Enter when it is selected) opens it in place."""

    def __init__(self, rect: QRectF, theme: Theme, group: int, kind: str = "group") -> None:
        super().__init__(rect, theme, kind)
        self.group = group
        self.name_room = 18.0
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-4, -4, 9, 9)

    def _paint_frame(self, painter: QPainter, border: QColor, fill: QColor, lit: bool) -> None:
        t, r = self.theme, self._rect
        # the boxes folded inside, peeking out below and to the right
        painter.setPen(QPen(t.op, 1.2))
        painter.setBrush(QBrush(_blend(t.box, t.op, 0.10)))
        painter.drawRoundedRect(r.translated(5, 5), 7, 7)
        selected = self.isSelected() and not lit
        painter.setPen(QPen(t.upstream if selected else (border if lit else t.op),
                            3.0 if lit or selected else 1.6))
        painter.setBrush(QBrush(fill if lit else _blend(t.box, t.op, 0.05)))
        painter.drawRoundedRect(r, 7, 7)
        # a ⊞ at the top right: there is more inside
        s = 11.0
        sign = QRectF(r.right() - s - 6, r.top() + 6, s, s)
        painter.setPen(QPen(t.op, 1.3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(sign)
        c = sign.center()
        painter.drawLine(QPointF(sign.left() + 2.5, c.y()), QPointF(sign.right() - 2.5, c.y()))
        painter.drawLine(QPointF(c.x(), sign.top() + 2.5), QPointF(c.x(), sign.bottom() - 2.5))

    def mouseDoubleClickEvent(self, event) -> None:
        scene = self.scene()
        if scene is not None and hasattr(scene, "open_group"):
            scene.open_group(self.group)
        event.accept()


class OpCircle(_NodeItem):
    """An operation: ×, +, x², exp, tanh … in a circle; a collapsed group's is dashed."""

    def __init__(self, rect: QRectF, theme: Theme, symbol: str, grouped: bool = False) -> None:
        super().__init__(rect, theme)
        self.symbol = symbol
        self.grouped = grouped

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.theme
        role_color = t.role_color(self.role)
        lod = detail(painter)
        if lod < SHAPE_DETAIL:
            painter.fillRect(self._rect, role_color or t.op)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(role_color or t.op, 3.0 if role_color else 1.6)
        if self.grouped and not role_color:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(_blend(t.box, role_color or t.op, 0.16))
        painter.drawEllipse(self._rect)
        if lod < TEXT_DETAIL:
            return
        painter.setPen(t.text)
        size = 12 if len(self.symbol) <= 2 else 8.5 if len(self.symbol) <= 4 else 7
        painter.setFont(_font(size, bold=True))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.symbol)

    def center(self) -> QPointF:
        return self._rect.center()


class Edge(QGraphicsItem):
    """An arrow along a polyline; an input edge carries its local gradient as a label."""

    def __init__(self, points: list[QPointF], theme: Theme, label: str = "",
                 label_at: float = 0.5) -> None:
        super().__init__()
        self.points = points
        self.theme = theme
        self.label = label
        self.label_at = label_at  # where along the last segment the label sits (0: its start)
        self.role = NONE
        self._path = QPainterPath(points[0])
        for p in points[1:]:
            self._path.lineTo(p)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)

    def set_label(self, label: str) -> None:
        if label != self.label:
            self.prepareGeometryChange()
            self.label = label
            self.update()

    def set_role(self, role: str) -> None:
        if role != self.role:
            self.role = role
            self.setZValue(1.5 if role else 1)
            self.update()

    def _label_rect(self) -> QRectF:
        if not self.label:
            return QRectF()
        a, b = self.points[-2], self.points[-1]
        return QRectF(*label_box(a.x(), a.y(), b.x(), b.y(), self.label_at, self.label))

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-8, -8, 8, 8).united(self._label_rect().adjusted(-2, -2, 2, 2))

    def shape(self) -> QPainterPath:
        from PySide6.QtGui import QPainterPathStroker
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        s = stroker.createStroke(self._path)
        if self.label:
            s.addRect(self._label_rect())
        return s

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.theme
        lod = detail(painter)
        color = t.role_color(self.role) or t.edge
        width = 3.2 if self.role else 1.3
        if lod < SHAPE_DETAIL and not self.role:  # the overview: a hairline, no arrowhead
            painter.setPen(QPen(color, 0))
            painter.drawPolyline(QPolygonF(self.points))
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        # arrowhead at the end
        a, b = self.points[-2], self.points[-1]
        d = b - a
        length = max((d.x() ** 2 + d.y() ** 2) ** 0.5, 1e-6)
        ux, uy = d.x() / length, d.y() / length
        size = 8 if not self.role else 11
        tip = b
        left = QPointF(tip.x() - ux * size - uy * size * 0.5, tip.y() - uy * size + ux * size * 0.5)
        right = QPointF(tip.x() - ux * size + uy * size * 0.5, tip.y() - uy * size - ux * size * 0.5)
        painter.setBrush(color)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(QPolygonF([tip, left, right]))
        if self.label and lod >= LABEL_DETAIL:
            r = self._label_rect()
            painter.setBrush(t.background)
            painter.setPen(QPen(color, 1.0 if not self.role else 2.0))
            painter.drawRoundedRect(r, 4, 4)
            painter.setPen(t.text if self.role else t.muted)
            painter.setFont(_font(8.5, mono=True))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, self.label)


def label_box(ax: float, ay: float, bx: float, by: float, at: float,
              label: str) -> tuple[float, float, float, float]:
    """Where an edge's label sits (x, y, width, height): on its last segment, from (ax, ay) to
    (bx, by), ``at`` of the way along (what :class:`Edge` paints and the SVG writers write)."""
    mx, my = ax + (bx - ax) * at, ay + (by - ay) * at
    w = _label_width(label) + 8
    return mx - w / 2, my - 9, w, 16


_LABEL_WIDTHS: dict[str, float] = {}


def _label_width(label: str) -> float:
    width = _LABEL_WIDTHS.get(label)
    if width is None:
        if len(_LABEL_WIDTHS) > 50_000:
            _LABEL_WIDTHS.clear()
        width = _LABEL_WIDTHS[label] = _metrics(_font(8.5, mono=True)).horizontalAdvance(label)
    return width


class Banner(QGraphicsObject):
    """The formula of the current step, above the graph: ``dL/dz = dL/de · de/dz = … = -4``."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.theme = theme
        self.title = ""
        self.text = ""
        self.width = 400.0
        self.setZValue(3)

    def set_text(self, title: str, text: str) -> None:
        if (title, text) != (self.title, self.text):
            self.prepareGeometryChange()
            self.title, self.text = title, text
            self.update()

    def set_width(self, width: float) -> None:
        if width != self.width:
            self.prepareGeometryChange()
            self.width = width

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.width, 54)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not self.text and not self.title:
            return
        t = self.theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.banner)
        painter.drawRoundedRect(self.boundingRect(), 8, 8)
        painter.setPen(t.muted)
        painter.setFont(_font(9))
        painter.drawText(QRectF(12, 4, self.width - 24, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self.title)
        painter.setPen(t.text)
        painter.setFont(_font(12, bold=True, mono=True))
        painter.drawText(QRectF(12, 22, self.width - 24, 28),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.text, _font(12, True, True), self.width - 24))


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() * (1 - t) + b.red() * t), round(a.green() * (1 - t) + b.green() * t),
                  round(a.blue() * (1 - t) + b.blue() * t))


_METRICS: dict[str, QFontMetricsF] = {}
_ELIDED: dict[tuple[str, str, float], str] = {}


def _metrics(font: QFont) -> QFontMetricsF:
    key = _font_key(font)
    metrics = _METRICS.get(key)
    if metrics is None:
        metrics = _METRICS[key] = QFontMetricsF(font)
    return metrics


_FONT_KEYS: dict[int, tuple[QFont, str]] = {}  # id → (the font, kept alive so its id stays its own; its key)


def _font_key(font: QFont) -> str:
    known = _FONT_KEYS.get(id(font))
    if known is None or known[0] is not font:
        if len(_FONT_KEYS) > 256:
            _FONT_KEYS.clear()
        known = _FONT_KEYS[id(font)] = (font, font.key())
    return known[1]


def _elide(text: str, font: QFont, width: float) -> str:
    """``text`` cut to ``width`` with an ellipsis; remembered (a big graph repaints thousands)."""
    key = (text, _font_key(font), width)
    done = _ELIDED.get(key)
    if done is None:
        metrics = _metrics(font)
        if len(_ELIDED) > 50_000:
            _ELIDED.clear()
        done = _ELIDED[key] = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
    return done


class Overview(QGraphicsItem):
    """A big graph seen whole: every edge in one path and the boxes as rectangles in a few
    batches by colour, drawn in a handful of calls instead of one per item (tens of thousands
    on a 5,000-node graph). What the current step lights is drawn on top."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.theme = theme
        self.edges = QPainterPath()
        self.rects: dict[str, list[QRectF]] = {}  # colour name → boxes and circles
        self.lit: list[tuple[str, object]] = []  # (role, QRectF or QPainterPath)
        self._bounds = QRectF()
        self.setZValue(1)

    def set_contents(self, edges: QPainterPath, rects: dict[str, list[QRectF]]) -> None:
        self.prepareGeometryChange()
        self.edges, self.rects = edges, rects
        bounds = edges.boundingRect()
        for group in rects.values():
            for r in group:
                bounds = bounds.united(r)
        self._bounds = bounds.adjusted(-4, -4, 4, 4)
        self.update()

    def set_lit(self, lit: list[tuple[str, object]]) -> None:
        self.lit = lit
        if self.isVisible():
            self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(t.edge, 0)  # a hairline at any zoom
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.edges)
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, rects in self.rects.items():
            painter.setBrush(QColor(colour))
            painter.drawRects(rects)
        for role, shape in self.lit:
            color = t.role_color(role) or t.upstream
            if isinstance(shape, QPainterPath):
                lit_pen = QPen(color, 3.0)
                lit_pen.setCosmetic(True)
                painter.setPen(lit_pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(shape)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(color)
                painter.drawRect(shape.adjusted(-20, -20, 20, 20))  # seen from far away
