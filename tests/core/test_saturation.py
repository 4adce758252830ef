"""The saturation maths the diagnosis and the lesson share."""

import numpy as np
import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data, to_float
from biasviz.core.saturation import (
    SLOPE_AT_SATURATION,
    Z_SATURATED,
    saturation_stats,
    sigmoid,
    sigmoid_slope,
    start_spread,
)


def test_sigmoid_and_its_slope_without_overflow():
    z = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, d = sigmoid(z), sigmoid_slope(z)
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(5)), 0.5, 1 / (1 + np.exp(-5)), 1.0])
    np.testing.assert_allclose(d, s * (1 - s), atol=1e-15)
    assert d[2] == 0.25
    assert SLOPE_AT_SATURATION < 0.007 and Z_SATURATED == 5.0


def test_stats_count_wrong_images_in_the_flat_tails():
    z = np.array([10.0, 10.0, -10.0, 0.5, -0.5, 6.0, -20.0, 1.0])
    t = np.array([1, 0, 1, 0, 0, 1, 0, 1])  # wrong: z=10 (t 0), z=-10 (t 1), z=0.5 (t 0)
    s = saturation_stats(z, t)
    assert s.n == 8
    assert s.share_wrong == pytest.approx(3 / 8)
    assert s.share_wrong_saturated == pytest.approx(2 / 8)
    assert s.share_saturated == pytest.approx(5 / 8)
    expected = (sigmoid_slope(10.0) * 2 + sigmoid_slope(0.5)) / (8 * 0.25)
    assert s.error_gradient == pytest.approx(float(expected))
    assert s.saturated_ranges == ((-20.0, -5.0), (5.0, 10.0))
    calm = saturation_stats(np.array([1.0, -2.0]), np.array([1, 0]))
    assert calm.saturated_ranges == () and calm.share_wrong_saturated == 0
    with pytest.raises(ValueError):
        saturation_stats(np.zeros(3), np.zeros(2))


def test_the_spread_of_a_random_start_matches_a_real_draw():
    data = make_task_data(load_sample(), Task.pair(3, 7))
    x = to_float(data.train_x)
    rng = np.random.default_rng(0)
    for std in (1.0, 0.01):
        draws = [x @ rng.normal(0, std, 784) + rng.normal(0, std) for _ in range(200)]
        z = np.concatenate(draws)
        assert np.sqrt(np.mean(z**2)) == pytest.approx(start_spread(x, std), rel=0.05)
    # std 1 over ~100 inked pixels: |z| typically beyond the flat limit; std 0.01: near 0
    assert start_spread(x, 1.0) > Z_SATURATED  # digits: ~9; Fashion pullovers: ~15
    assert start_spread(x, 0.01) < 0.1 * Z_SATURATED


def test_histogram_shares_and_ink():
    from biasviz.core.saturation import mean_ink, z_histogram

    edges, shares = z_histogram(np.array([-100.0, 0.1, 0.2, 3.0, np.inf]), reach=4, bins=8)
    assert edges[0] == -4 and edges[-1] == 4 and len(shares) == 8
    assert shares.sum() == pytest.approx(1.0) and shares[0] == pytest.approx(0.25)
    x = np.zeros((2, 784), np.float32)
    x[0, :10] = 1.0
    x[1, :30] = 0.9
    assert mean_ink(x) == 20.0
