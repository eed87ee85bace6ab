"""The canvas's items: value boxes, operation circles, edges and the formula banner.

Items only paint what they are told (text, colours, a highlight role); every number they show
is computed by the engine and set on them by :mod:`.scene`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPalette, QPen, QPolygonF)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

# highlight roles
NONE, COMPUTING, UPSTREAM, RECEIVING, SELECTED = "", "computing", "upstream", "receiving", "selected"


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
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        role_color = t.role_color(self.role)
        border = role_color if role_color is not None else t.edge
        painter.setPen(QPen(border, 3.0 if role_color is not None else 1.2))
        fill = QColor(t.box)
        if role_color is not None:
            fill = _blend(t.box, role_color, 0.14)
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(r, 7, 7)
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
        painter.drawText(QRectF(x, r.top() + 3, w, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.name, _font(10.5, True), w))
        painter.setFont(_font(9, mono=True))
        painter.drawText(QRectF(x, r.top() + 21, w, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.value_text, _font(9, mono=True), w))
        painter.setPen(t.receiving if self.role == RECEIVING else t.muted)
        painter.drawText(QRectF(x, r.top() + 37, w, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(self.grad_text, _font(9, mono=True), w))


class OpCircle(_NodeItem):
    """An operation: ×, +, x², exp, tanh … in a circle."""

    def __init__(self, rect: QRectF, theme: Theme, symbol: str) -> None:
        super().__init__(rect, theme)
        self.symbol = symbol

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        role_color = t.role_color(self.role)
        painter.setPen(QPen(role_color or t.op, 3.0 if role_color else 1.6))
        painter.setBrush(_blend(t.box, role_color or t.op, 0.16))
        painter.drawEllipse(self._rect)
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
        t = self.label_at
        mid = QPointF(a.x() + (b.x() - a.x()) * t, a.y() + (b.y() - a.y()) * t)
        fm = QFontMetricsF(_font(8.5, mono=True))
        w = fm.horizontalAdvance(self.label) + 8
        return QRectF(mid.x() - w / 2, mid.y() - 9, w, 16)

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
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = t.role_color(self.role) or t.edge
        width = 3.2 if self.role else 1.3
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
        if self.label:
            r = self._label_rect()
            painter.setBrush(t.background)
            painter.setPen(QPen(color, 1.0 if not self.role else 2.0))
            painter.drawRoundedRect(r, 4, 4)
            painter.setPen(t.text if self.role else t.muted)
            painter.setFont(_font(8.5, mono=True))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, self.label)


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


def _elide(text: str, font: QFont, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)
