"""One way to make a pyqtgraph plot still and readable, shared by every view."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem


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


def cache_axes(item: pg.PlotItem, axes: tuple[str, ...] = ("left", "bottom")) -> None:
    """Keep each axis (its ticks, labels and grid lines) as a pixmap between changes.

    A plot whose curve changes repaints everything under the curve, axes included; an
    axis replays its recorded drawing (every tick label's text, every grid line) at ~0.8 ms
    each time, a third of a live plot's frame.  Cached, it costs a blit until its range
    or style changes (pyqtgraph then calls ``update``, which renews the pixmap)."""
    for name in axes:
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def draw_what_fits(curve: pg.PlotDataItem) -> None:
    """Draw a long curve at about one sample per pixel (peaks kept) and only its visible
    part: thousands of anti-aliased segments were the largest part of a plot's frame."""
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    # pyqtgraph's default draws ~5 samples per pixel; it has no setter for the factor
    curve.opts["autoDownsampleFactor"] = 1.0
