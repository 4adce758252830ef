"""pyqtgraph colormaps built from the core's diverging LUT (blue < 0 < red, white at 0)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from biasviz.core.colormap import RDBU_ANCHORS, symmetric_limit


def diverging_colormap() -> pg.ColorMap:
    """ColorBrewer RdBu (colour-blind safe): negative blue, zero white, positive red."""
    positions = np.linspace(0.0, 1.0, len(RDBU_ANCHORS))
    return pg.ColorMap(positions, RDBU_ANCHORS.astype(np.uint8))


def gray_colormap() -> pg.ColorMap:
    """Black (0) to white (1), for images as the model sees them."""
    return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])


def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """Colour levels (−m, +m) centred on zero, so white always means exactly 0."""
    m = symmetric_limit(values)
    return (-m, m)


# Two class colours that stay distinct for colour-blind viewers (Okabe–Ito orange / blue).
FIRST_CLASS_COLOR = (230, 159, 0)
SECOND_CLASS_COLOR = (0, 114, 178)
