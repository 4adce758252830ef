"""The activation lesson's sentences, without a display."""

from biasviz.core.activation_text import fire_interval, threshold_texts, trigger_text
from biasviz.core.text import num


def test_text_helpers():
    assert "no midpoint" in trigger_text(0.0, 1.0)
    assert "leaves the trigger point at x = 0" in trigger_text(1.0, 0.0)
    assert "0.5× as fast" in trigger_text(0.5, 0.0)
    assert "falls" in trigger_text(-2.0, 1.0) and "−b/w" in trigger_text(2.0, 1.0)
    first, second, same = threshold_texts(2.0, 3.0)
    assert "x ≥ 1.50" in first and "x ≥ 1.50" in second and "x ≥ 1.50" in same
    first, second, same = threshold_texts(-2.0, 3.0)
    assert "x ≤ −1.50" in first and "flips" in first
    assert "every x" in threshold_texts(0.0, -1.0)[2]
    assert fire_interval(2.0, 3.0, -6, 6) == (1.5, 6)
    assert fire_interval(-2.0, 3.0, -6, 6) == (-6, -1.5)
    assert fire_interval(1.0, 10.0, -6, 6) is None
    assert fire_interval(0.0, 0.0, -6, 6) == (-6, 6)
    assert num(-0.0001) == "0.00" and num(-1.5) == "−1.50"
