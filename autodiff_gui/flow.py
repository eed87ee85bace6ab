"""Layouts that wrap instead of widening the window: a flow layout and tabs that wrap.

A row of controls, or a tab bar, laid out in one line sets the window's minimum width to the sum
of its parts; on a 1024-px laptop that pushes the window off the screen. These wrap onto more
rows instead (Qt's own Flow Layout example, with height-for-width), so no minimum width in the
window depends on how many controls or tabs there are.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QLayout, QLayoutItem, QScrollArea,
                               QSizePolicy, QStackedWidget, QToolButton, QVBoxLayout, QWidget)


class FlowLayout(QLayout):
    """Items left to right, wrapping onto the next row when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 8, row_spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._row_spacing = row_spacing

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt's name)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        """As wide as the widest single item: everything else can wrap."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y = area.x(), y + row_height + self._row_spacing
                row_height = 0
            width = min(hint.width(), area.width())
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self._spacing
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + m.bottom()


class WrappingTabs(QWidget):
    """A tab widget whose tabs wrap onto more rows instead of scrolling out of sight.

    It answers the parts of ``QTabWidget``'s API the window uses (``addTab``, ``currentWidget``,
    ``setCurrentWidget``, ``currentChanged``, ``count``, ``widget``, ``tabText``). Each page sits
    in a scroll area, so a page's own minimum width never widens the window: a narrow dock
    scrolls the page instead.
    """

    currentChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bar = QWidget()
        self._bar.setObjectName("tabRow")
        self._flow = FlowLayout(self._bar, spacing=2, row_spacing=2)
        self._flow.setContentsMargins(4, 4, 4, 0)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self._bar.setSizePolicy(policy)
        self._stack = QStackedWidget()
        self._pages: list[QWidget] = []
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self.setCurrentIndex)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self._bar)
        col.addWidget(self._stack, 1)

    def addTab(self, widget: QWidget, text: str) -> int:  # noqa: N802
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(widget)
        index = self._stack.addWidget(scroll)
        self._pages.append(widget)
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setAccessibleName(f"{text} tab")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._group.addButton(button, index)
        self._flow.addWidget(button)
        if index == 0:
            button.setChecked(True)
        return index

    def count(self) -> int:
        return self._stack.count()

    def widget(self, index: int) -> QWidget | None:
        return self._pages[index] if 0 <= index < len(self._pages) else None

    def tabText(self, index: int) -> str:  # noqa: N802
        button = self._group.button(index)
        return button.text() if button is not None else ""

    def tabButton(self, index: int) -> QToolButton | None:  # noqa: N802
        return self._group.button(index)

    def currentIndex(self) -> int:  # noqa: N802
        return self._stack.currentIndex()

    def currentWidget(self) -> QWidget | None:  # noqa: N802
        return self.widget(self._stack.currentIndex())

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802
        if index == self._stack.currentIndex() or not 0 <= index < self.count():
            return
        self._stack.setCurrentIndex(index)
        self._group.button(index).setChecked(True)
        self.currentChanged.emit(index)

    def setCurrentWidget(self, widget: QWidget) -> None:  # noqa: N802
        if widget in self._pages:
            self.setCurrentIndex(self._pages.index(widget))
