"""One way to make a pyqtgraph plot still and readable, shared by every view."""

from __future__ import annotations

import math

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


#: Finer steps, for axes that should not stand half empty (a run of 2,600 steps on an
#: axis to 3,000, not 5,000).
FINE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(value: float, steps: tuple[float, ...] = (1.0, 2.0, 2.5, 5.0, 10.0)) -> float:
    """The smallest of ``steps`` × 10ⁿ (1, 2, 2.5, 5 × 10ⁿ) that is ≥ ``value`` (axes that
    grow in steps); 1 for a value that is not a positive finite number."""
    if not (value > 0 and math.isfinite(value)):
        return 1.0
    exp = math.floor(math.log10(value))
    for m in steps:
        if m * 10.0**exp >= value * (1 - 1e-12):
            return m * 10.0**exp
    return 10.0 ** (exp + 1)


def steady_range(shown: tuple[float, float] | None, lo: float, hi: float,
                 slack: float = 1.6) -> tuple[float, float]:
    """A range for content spanning [lo, hi] that changes seldom: the one ``shown`` while
    the content fits in it and fills more than 1/``slack`` of it, else [lo, hi] widened to
    a grid of nice steps (a tenth of the span or so).  An axis whose range changes draws
    its ticks anew (~2 ms a frame in a live plot); content that drifts a little every
    frame then moves under still axes."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return shown if shown is not None else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    if shown is not None and shown[0] <= lo and hi <= shown[1]:
        if shown[1] - shown[0] <= slack * (hi - lo):
            return shown
    step = nice_ceiling((hi - lo) / 10)
    return math.floor(lo / step - 0.5) * step, math.ceil(hi / step + 0.5) * step
