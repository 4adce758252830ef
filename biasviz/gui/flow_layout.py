"""A layout that wraps its widgets onto the next line when the width runs out, like words
(the lessons' control rows, the diagnosis notice's fix buttons)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Controls left to right, wrapping onto the next line when the width runs out, like
    words.  An item added with ``fill=True`` (a status line) takes the rest of its line,
    or a line of its own when less than its minimum width is left."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._fill: set[int] = set()  # ids of the items that fill their line
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addWidget(self, widget: QWidget, fill: bool = False) -> None:  # noqa: N802
        super().addWidget(widget)
        if fill:
            self._fill.add(id(self._items[-1]))

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt naming)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt naming)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 (Qt naming)
        if 0 <= index < len(self._items):
            item = self._items.pop(index)
            self._fill.discard(id(item))
            return item
        return None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt naming)
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt naming)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt naming)
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 (Qt naming)
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt naming)
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        # as narrow as the widest control: the lesson never asks for more width than that
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.sizeHint())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Lay the items out in ``rect`` (only measure unless ``move``); the height used."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        lines: list[list[tuple[QLayoutItem, int]]] = [[]]
        x = 0
        for item in self._items:
            if item.isEmpty():
                continue
            fill = id(item) in self._fill
            want = min(item.minimumSize().width() if fill else item.sizeHint().width(),
                       area.width())
            if lines[-1] and x + want > area.width():
                lines.append([])
                x = 0
            if fill:
                want = max(want, area.width() - x)
            lines[-1].append((item, want))
            x += want + self._spacing
        y = area.y()
        for line in lines:
            if not line:
                continue
            height = max(item.sizeHint().height() for item, _ in line)
            if move:
                x = area.x()
                for item, width in line:
                    h = min(height, max(item.sizeHint().height(), item.minimumSize().height()))
                    item.setGeometry(QRect(x, y + (height - h) // 2, width, h))
                    x += width + self._spacing
            y += height + self._spacing
        return y - self._spacing - area.y() + m.top() + m.bottom()
