import numpy as np
import pytest

from biasviz.core.history import BoundedSeries, smooth


def test_bounded_series_keeps_memory_flat_and_covers_the_whole_run():
    s = BoundedSeries(capacity=64)
    for i in range(100_000):
        s.append(i, i * 2.0)
    assert len(s) <= 64
    assert s.total == 100_000
    assert s.x[0] == 0
    assert s.x[-1] >= 100_000 - s.stride  # the recent end is present
    assert np.all(np.diff(s.x) > 0)
    np.testing.assert_array_equal(s.y, s.x * 2.0)
    # evenly spaced: one stride everywhere
    assert len(set(np.diff(s.x))) == 1


def test_small_series_keeps_everything_and_clear_resets():
    s = BoundedSeries(capacity=8)
    s.extend(range(5), range(5))
    np.testing.assert_array_equal(s.x, np.arange(5))
    assert s.last() == (4.0, 4.0)
    s.clear()
    assert len(s) == 0 and s.last() is None and s.stride == 1


def test_capacity_must_be_even():
    with pytest.raises(ValueError):
        BoundedSeries(5)


def test_smooth_starts_at_the_data_and_follows_a_constant():
    y = np.full(50, 3.0)
    np.testing.assert_allclose(smooth(y), y)
    z = smooth(np.array([10.0, 0.0]), alpha=0.5)
    assert z[0] == 10.0 and 0 < z[1] < 10
