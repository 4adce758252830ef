"""Layout requests that change nothing are not passed on to a tab widget or a splitter.

A label whose text changes (the accuracy, the step, a frame's numbers) asks its layout to
lay out again, and each layout that did asks its parent, up to the window: Qt cannot know
that the label's size hint stayed the same.  Most containers then find nothing to move.
Two do work anyway: ``QTabWidget`` lays out its tab bar and page and repaints itself whole
on every request (``setUpLayout`` ends in ``update()``), and ``QSplitter`` recomputes its
panes.  While training, that was the whole Neuron tab repainted at nearly every frame
(981×659 px, ~5 ms offscreen, more under an X server that copies it), for a label or two.

:class:`LayoutRequestGuard` lets a request through when what the container's own layout
depends on changed — its size, or any child's visibility, size hints, size limits or size
policy — and drops it otherwise.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


def _layout_key(container: QWidget) -> tuple:
    """What ``container``'s own placement of its children depends on."""
    children = tuple(
        (type(child).__name__, child.isHidden(), child.minimumSizeHint().toTuple(),
         child.sizeHint().toTuple(), child.minimumSize().toTuple(),
         child.maximumSize().toTuple(), child.sizePolicy())
        for child in container.children()
        if isinstance(child, QWidget) and not child.isWindow()
    )
    return container.size().toTuple(), children


class LayoutRequestGuard(QObject):
    """An event filter for containers (tab widgets, splitters): drops a layout request
    when nothing it could act on changed since the last one it let through."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._keys: dict[int, tuple] = {}
        self.dropped = 0  # (tests, benchmarks)

    def guard(self, *containers: QWidget) -> None:
        for container in containers:
            container.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if event.type() != QEvent.Type.LayoutRequest or not isinstance(obj, QWidget):
            return False
        key = _layout_key(obj)
        if self._keys.get(id(obj)) == key:
            self.dropped += 1
            return True  # the same hints, the same size: it would place all as it is
        self._keys[id(obj)] = key
        return False


__all__ = ["LayoutRequestGuard"]
