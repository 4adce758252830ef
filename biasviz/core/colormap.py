"""A diverging, colour-blind-safe colormap centred on zero (ColorBrewer RdBu, reversed so
that positive is red and negative is blue), shared by the GUI and the PNG export."""

from __future__ import annotations

import numpy as np

# ColorBrewer "RdBu" (11 classes), from negative (blue) through white to positive (red).
RDBU_ANCHORS = np.array(
    [
        (5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43), (103, 0, 31),
    ],
    dtype=np.float64,
)
POSITIONS = np.linspace(0.0, 1.0, len(RDBU_ANCHORS))


def diverging_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 lookup table: index 0 = most negative, n-1 = most positive."""
    t = np.linspace(0.0, 1.0, n)
    lut = np.stack([np.interp(t, POSITIONS, RDBU_ANCHORS[:, c]) for c in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def symmetric_limit(values: np.ndarray) -> float:
    """±limit for a colour scale centred on zero: the largest |value| (1e-12 when all 0)."""
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    return m if m > 0 else 1e-12


def to_rgb(values: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Map values to RGB uint8 (..., 3) with 0 at the white centre and ±limit at the ends."""
    limit = symmetric_limit(values) if limit is None else float(limit)
    lut = diverging_lut(256)
    idx = np.clip(np.round((np.asarray(values) / limit + 1.0) * 127.5), 0, 255).astype(np.int64)
    return lut[idx]


DIVERGING_LUT_SIZE = 257  # odd, so that entry 128 is exactly 0 (the white centre)
DIVERGING_LUT = diverging_lut(DIVERGING_LUT_SIZE)
"""(257, 3) uint8 colours from -limit (index 0) through 0 (index 128) to +limit."""


def diverging_rgb(values: np.ndarray, limit: float) -> np.ndarray:
    """Colours (…, 3) uint8 for ``values`` on the blue-white-red scale from -limit to +limit.

    Values beyond ±limit get the end colours, 0 gets exactly the centre colour; a
    non-positive limit maps everything to the centre.  Used by the PNG export.
    """
    v = np.asarray(values, dtype=np.float64)
    if not limit > 0:
        t = np.zeros_like(v)
    else:
        t = np.clip(np.nan_to_num(v / limit), -1.0, 1.0)
    idx = np.rint((t + 1.0) * ((DIVERGING_LUT_SIZE - 1) / 2)).astype(np.intp)
    return DIVERGING_LUT[idx]
