"""Probes of what pyqtgraph's axes lay out, shared by the GUI tests.

An axis lays out its ticks in ``AxisItem.generateDrawSpecs(painter)``: the axis line,
each tick mark (pen, start, end, in the axis's coordinates) and each tick text (rect,
flags, text) it would draw; a text that would run past the axis is already dropped.
The painter is only asked for font metrics, so a throw-away image's will do.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QImage, QPainter


def tick_layout(axis: pg.AxisItem) -> tuple[Any, list, list]:
    """``(axis line spec, tick specs, text specs)`` as ``axis`` would paint them now."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        return axis.generateDrawSpecs(painter)
    finally:
        painter.end()


def drawn_tick_texts(axis: pg.AxisItem) -> set[str]:
    """The tick texts pyqtgraph really draws (it drops one that runs past the axis),
    each without its line breaks at the ends."""
    _axis_spec, _ticks, texts = tick_layout(axis)
    return {text.strip("\n") for _rect, _flags, text in texts}


def count_tick_layouts(axis: pg.AxisItem) -> list[int]:
    """Watch ``axis`` lay out its ticks: the returned list grows by one at each layout
    (an axis painted from its cache, or from its recorded picture, does none)."""
    laid_out: list[int] = []
    generate = axis.generateDrawSpecs

    def counted(*args: Any) -> Any:
        laid_out.append(1)
        return generate(*args)

    axis.generateDrawSpecs = counted
    return laid_out
