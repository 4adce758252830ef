"""One way to make a pyqtgraph plot still and readable, shared by every view."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor


def make_still(
    item: pg.PlotItem, axis_color: QColor | str | tuple, axes: tuple[str, ...] = ("left", "bottom")
) -> pg.PlotItem:
    """No pan, zoom, context menu or auto-range button (learners should not lose the
    view), and the given axes drawn in ``axis_color``.  Returns ``item``."""
    item.setMouseEnabled(x=False, y=False)
    item.setMenuEnabled(False)
    item.hideButtons()
    for name in axes:
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(axis_color))
        axis.setTextPen(pg.mkPen(axis_color))
    return item
