"""The per-pixel biases' colour bar spans the values shown, symmetric around 0, and
labels both halves up to both ends — also for 784 equal biases and for all zeros
(walk-through 13: 784 biases of −0.00522, a solid dark-blue picture, and a bar labelled
0, 0.002, 0.004 only)."""

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from biasviz.gui.lessons.bias_lesson import BiasLesson, bias_scale


def drawn_labels(picture) -> list[tuple[float, str]]:
    """The colour bar's tick labels pyqtgraph draws (it drops those that do not fit)."""
    axis = picture._bar.getAxis("right")
    image = QImage(400, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    by_text = dict((text, v) for v, text in picture.ticks())
    return [(by_text[t[2]], t[2]) for t in texts]


@pytest.mark.parametrize("values", [
    np.full(784, -0.00522),  # the walk-through's: all equal, negative
    np.full(784, 0.0031),
    np.zeros(784),
    np.full(784, -250.0),
    np.full(784, 3e-7),
    np.random.default_rng(0).normal(0, 1, 784),
    np.r_[np.full(783, 0.2), np.nan],
])
def test_the_bar_spans_the_values_and_labels_both_ends(qtbot, show_lesson, data, values):
    lesson = show_lesson(BiasLesson, data)
    picture = lesson.bias_picture
    picture.set_biases(values)
    qtbot.wait(10)
    lo, hi = picture.levels()
    assert lo == -hi and hi > 0  # diverging: white is 0
    finite = values[np.isfinite(values)]
    assert lo <= finite.min() and finite.max() <= hi  # every value shown is on the bar
    labels = drawn_labels(picture)
    shown = [v for v, _t in labels]
    assert min(shown) == pytest.approx(lo) and max(shown) == pytest.approx(hi)
    assert 0.0 in shown
    assert 5 <= len(labels) <= 7
    negative = [t for v, t in labels if v < 0]
    assert negative and all(t.startswith("−") for t in negative)


def test_bias_scale_needs_few_labels():
    for largest in np.geomspace(1e-6, 1e4, 301):
        m, ticks = bias_scale(np.array([largest, -largest / 3]))
        assert largest <= m <= 1.5 * largest + 1e-12  # the colours stay strong
        assert ticks[0][0] == pytest.approx(-m) and ticks[-1][0] == pytest.approx(m)
        assert 5 <= len(ticks) <= 7
