"""Save a widget (a plot, the whole curves panel, the canvas) as SVG or PNG, whole or not at all.

Why not pyqtgraph's exporters: pyqtgraph 0.14.0's SVGExporter raises "ValueError: not enough
values to unpack" on PySide6 6.11 and 6.12 (pyqtgraph issue 3495). Rendering the widget with
``QWidget.render`` into a ``QSvgGenerator`` works for any widget, plots included, keeps text as
text and lines as vectors, and needs no pyqtgraph internals.

Both functions render into memory first and then write with
:func:`engine.files.atomic_write`, so a failed save (a missing folder, no permission, a full
disk) raises OSError and leaves no partial file, and an earlier file of that name untouched.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from engine.files import atomic_write

__all__ = ["export_plot_png", "export_plot_svg", "render_png", "render_svg"]


def render_svg(widget: QWidget, title: str = "") -> bytes:
    """The widget as an SVG document, at its current size in logical pixels."""
    size = _size_of(widget)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    # The widget's own DPI, so that fonts given in points come out at the size seen on screen.
    generator.setResolution(int(widget.logicalDpiX()))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(title or widget.windowTitle() or "Autodiff GUI plot")
    generator.setDescription("Exported from Autodiff GUI")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError("cannot render the SVG: the painter did not start")
    try:
        _render(widget, painter)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def render_png(widget: QWidget, scale: float = 2) -> bytes:
    """The widget as a PNG image of ``scale`` times its logical size (2 gives a crisp print).

    The widget is re-rendered at that scale (not a screenshot scaled up), so text and lines are
    sharp; the image records the scale as its device pixel ratio.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale}")
    size = _size_of(widget)
    image = QImage(
        max(1, round(size.width() * scale)),
        max(1, round(size.height() * scale)),
        QImage.Format.Format_ARGB32_Premultiplied,
    )
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().color(QPalette.ColorRole.Window))
    painter = QPainter()
    if not painter.begin(image):
        raise OSError("cannot render the PNG: the painter did not start")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        _render(widget, painter)
    finally:
        painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")
    buffer.close()
    if not ok:
        raise OSError("cannot encode the PNG image")
    return bytes(data.data())


def export_plot_svg(widget: QWidget, path: str | os.PathLike[str]) -> None:
    """Save ``widget`` as an SVG file at ``path`` (OSError if it cannot be written)."""
    atomic_write(path, render_svg(widget, title=os.path.basename(os.fspath(path))))


def export_plot_png(widget: QWidget, path: str | os.PathLike[str], scale: float = 2) -> None:
    """Save ``widget`` as a PNG file at ``path``, ``scale`` times its size (OSError if it cannot)."""
    atomic_write(path, render_png(widget, scale))


def export_plot(widget: QWidget, path: str | os.PathLike[str]) -> str:
    """Save the plots as the suffix of ``path`` says (.png or .svg); ExportError for another."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".svg":
        export_plot_svg(widget, path)
    elif suffix == ".png":
        export_plot_png(widget, path)
    else:
        from ..export import ExportError
        raise ExportError(f"{os.path.basename(os.fspath(path))}: use .png or .svg for the plots")
    return f"Exported {path}"


def _size_of(widget: QWidget) -> QSize:
    """The widget's size, with its layout settled, so a widget not yet shown renders whole."""
    if not widget.isVisible():
        widget.ensurePolished()
        layout = widget.layout()
        if layout is not None:
            layout.activate()
        if widget.size().isEmpty():
            widget.resize(widget.sizeHint().expandedTo(QSize(1, 1)))
    size = widget.size()
    if size.isEmpty():
        raise ValueError("cannot export a widget of zero size")
    return size


def _render(widget: QWidget, painter: QPainter) -> None:
    """Paint ``widget`` and its children with ``painter``, at the painter's origin.

    ``QWidget.render`` is called unbound on purpose: ``QGraphicsView`` (and so a bare pyqtgraph
    ``PlotWidget``) overloads ``render`` with a scene-rendering signature that would draw only the
    scene, without the view's frame, and takes different arguments.
    """
    QWidget.render(widget, painter, QPoint(0, 0))
