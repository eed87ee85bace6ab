"""The canvas's view: pan by dragging, zoom with the wheel (or Ctrl + / Ctrl -), fit to the window.

The view keeps its framing as the window resizes: fitted after Fit graph (Ctrl+0 or F), at a
readable zoom around the loss for a graph opened too big to read when fitted, and left alone once
the learner zooms or pans, until they fit again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from .items import SHAPE_DETAIL, GroupBox
from .scene import GraphScene

MIN_SCALE, MAX_SCALE = 0.05, 6.0
READABLE_SCALE = 0.75  # below this a value box's numbers are too small to read
READABLE_NODES = 40  # a graph this small is always shown whole, even if its text gets small
FIT, READABLE, MANUAL = "fit", "readable", "manual"


class GraphView(QGraphicsView):
    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene  # a QGraphicsView does not own its scene: keep it alive
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("computational graph")
        self.framing = FIT
        scene.sceneRectChanged.connect(self._scene_changed)
        scene.highlightMoved.connect(self._follow)

    def paintEvent(self, event) -> None:
        """Zoomed out on a big graph, only the overview and the banner show: they are painted
        here directly, since the scene would walk its tens of thousands of hidden items (in C++,
        but sorted and tested one by one) on every frame, which alone kept a 5,000-node graph
        under 30 frames a second."""
        scene = self.graph_scene
        if not scene.overview_shown():
            super().paintEvent(event)
            return
        painter = QPainter(self.viewport())
        painter.fillRect(event.rect(), scene.backgroundBrush())
        painter.setTransform(self.viewportTransform())
        scene.overview.paint(painter, None)
        banner = scene.banner
        if banner.isVisible():
            painter.translate(banner.pos())
            banner.paint(painter, None)
        painter.end()

    def _update_detail(self) -> None:
        """Zoomed out past the boxes' shapes, a big graph is drawn as one overview item."""
        self.graph_scene.set_overview(self.transform().m11() < SHAPE_DETAIL)

    def fit(self) -> None:
        """Show the whole graph, but never blow a small graph up past 1.6× (text stays crisp)."""
        self.framing = FIT
        self._fit()

    def _fit(self) -> None:
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.6:
            self.resetTransform()
            self.scale(1.6, 1.6)
            self.centerOn(rect.center())
        self._update_detail()

    def fit_readable(self) -> None:
        """Fit, unless the whole graph would shrink past reading (a network of hundreds of
        nodes): then show it at a readable size around the loss, where backpropagation starts,
        and let the learner pan (Ctrl+0 still shows everything)."""
        self.framing = READABLE
        self._fit()
        graph = self.graph_scene.graph
        if self.transform().m11() >= READABLE_SCALE or graph is None or len(graph.nodes) <= READABLE_NODES:
            return
        self.resetTransform()
        self.scale(READABLE_SCALE, READABLE_SCALE)
        self._update_detail()
        root = self.graph_scene.root_rect()
        if root is not None:
            self.centerOn(root.center())

    def _follow(self, rect) -> None:
        """Keep the step being shown in sight: scroll (no more than needed) to the boxes it
        lights, unless the whole graph is fitted anyway."""
        if self.framing != FIT:
            self.ensureVisible(rect, 60, 40)

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        self.framing = MANUAL
        self.scale(factor, factor)
        self._update_detail()

    def zoom_level(self) -> float:
        return self.transform().m11()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(1.15 ** steps)
        event.accept()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.framing = MANUAL
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        """On a collapsed group: open it (the box does); on a node of an open group: close the
        innermost open group around it."""
        item = self.itemAt(event.position().toPoint())
        if item is not None and not isinstance(item, GroupBox):
            node = self.graph_scene.node_at_item(item)
            if node is not None:
                self.graph_scene.collapse_around(node)
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        scene = self.graph_scene
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and scene.selected_group() is not None:
            scene.open_group(scene.selected_group())
        elif key == Qt.Key.Key_Backspace and scene.selected_group() is not None:
            parent = scene.graph.groups[scene.selected_group()].parent
            if parent >= 0:
                scene.collapse_group(parent)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom(0.8)
        elif key == Qt.Key.Key_F:
            self.fit()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.framing == FIT:
            self._fit()
        elif self.framing == READABLE:
            self.fit_readable()

    def _scene_changed(self, rect) -> None:
        """A graph of another shape: show it afresh (a learner's zoom holds while it runs). A
        group opened or closed: the whole graph if it still reads when fitted, else the same
        zoom (readable at least) around the group."""
        focus = self.graph_scene.regroup_focus
        if focus is None:
            self.fit_readable()
            return
        before = self.transform().m11()
        self._fit()
        if self.transform().m11() >= READABLE_SCALE:
            self.framing = FIT
            return
        self.framing = MANUAL
        self.resetTransform()
        scale = min(max(before, READABLE_SCALE), 1.6)
        self.scale(scale, scale)
        self._update_detail()
        self.centerOn(focus.center())
