"""The canvas' fast path gives exactly what the general preprocessing gives."""

from __future__ import annotations

import numpy as np
import pytest

from biasviz.core.preprocess import preprocess, preprocess_drawing


def strokes(rng: np.random.Generator, side: int = 280, n: int = 4, width: int = 14,
            margin: int = 8) -> np.ndarray:
    """A canvas with a few thick random strokes, anti-aliased at their edges."""
    img = np.zeros((side, side), np.float32)
    yy, xx = np.mgrid[0:side, 0:side]
    for _ in range(n):
        (y0, x0), (y1, x1) = rng.integers(margin + width, side - margin - width, (2, 2))
        for t in np.linspace(0, 1, 40):
            cy, cx = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
            d = np.hypot(yy - cy, xx - cx)
            img = np.maximum(img, np.clip(1.0 - (d - width / 2) / 2, 0, 1))
    return (img * 255).round().astype(np.uint8)


def same(a, b) -> None:
    np.testing.assert_array_equal(a.image, b.image)
    assert (a.empty, a.inverted, a.bbox) == (b.empty, b.inverted, b.bbox)


@pytest.mark.parametrize("seed", range(12))
def test_drawings_give_what_the_general_path_gives(seed):
    rng = np.random.default_rng(seed)
    drawing = strokes(rng, n=int(rng.integers(1, 6)), width=int(rng.integers(2, 30)))
    same(preprocess_drawing(drawing), preprocess(drawing))


@pytest.mark.parametrize("case", ["empty", "faint", "dot", "touches border", "mostly ink",
                                  "small canvas", "float image"])
def test_edge_cases_too(case):
    drawing = np.zeros((280, 280), np.uint8)
    if case == "faint":
        drawing[100:150, 100:150] = 5  # below the contrast that counts as ink
    elif case == "dot":
        drawing[140, 140] = 255
    elif case == "touches border":
        drawing[0:100, 120:140] = 255
    elif case == "mostly ink":
        drawing[8:272, 8:272] = 255
        drawing[100:120, 100:180] = 0
    elif case == "small canvas":
        drawing = np.zeros((20, 20), np.uint8)
        drawing[5:15, 8:11] = 200
    elif case == "float image":
        drawing = np.zeros((280, 280), np.float32)
        drawing[50:200, 120:150] = 1.0
    same(preprocess_drawing(drawing), preprocess(drawing))
