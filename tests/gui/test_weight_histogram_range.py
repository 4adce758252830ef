"""The weight histogram's range shows the bulk of the weights: an MLP's first layer
(PyTorch's start, |w| < 1/28) sat in ~6 of 41 bins of a range set by a few large weights
(walk-through X).  The tails are counted in the end bins, which the axis marks."""

from __future__ import annotations

import numpy as np
import pytest

from biasviz.gui.weight_histogram import WeightHistogram


@pytest.fixture
def hist(qtbot):
    h = WeightHistogram()
    qtbot.addWidget(h)
    return h


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _mlp_weights(rng, spread: float = 1.0, big: int = 20) -> np.ndarray:
    """784→64→10 as PyTorch starts it (uniform ±1/√fan_in), ``spread`` times wider, and
    ``big`` weights that training drove to about ±1."""
    first = rng.uniform(-1, 1, 784 * 64) / np.sqrt(784) * spread
    second = rng.uniform(-1, 1, 64 * 10) / np.sqrt(64) * spread
    out = np.concatenate([first, second])
    out[rng.choice(out.size, big, replace=False)] = rng.choice([-1.0, 1.0], big)
    return out


def test_the_bulk_of_an_mlps_weights_fills_the_bins(hist, rng):
    start = _mlp_weights(rng, big=0)
    now = _mlp_weights(rng)
    hist.set_initial(start)
    hist.set_current(now)
    counts = hist.current_counts()
    assert counts.sum() == now.size  # every weight counted, the tails in the end bins
    # most bins hold part of the first layer's bulk, not a handful
    assert np.count_nonzero(counts > 0.002 * now.size) >= 25
    half = hist.half_range()
    assert 1 / 28 <= half <= 0.1
    beyond = int(np.count_nonzero(np.abs(now) > half))
    assert beyond > 0 and hist.outside_counts()[1] == beyond
    assert counts[0] + counts[-1] >= beyond
    labels = hist.tick_labels()
    assert labels[0].startswith("≤") and labels[-1].startswith("≥")
    assert f"{beyond:,} beyond" in hist.summary_text()
    # the ticks say the values: no SI scale "(x0.001)" added to the axis title
    assert "x0" not in hist.plot_item().getAxis("bottom").labelString()


def test_the_range_holds_still_while_training_drifts_and_moves_in_steps(hist, rng):
    hist.set_initial(_mlp_weights(rng, big=0))
    ranges = []
    for spread in np.linspace(1.0, 1.3, 30):  # training widens the bulk a little each frame
        hist.set_current(_mlp_weights(rng, spread))
        ranges.append(hist.half_range())
    assert len(set(ranges)) <= 2  # one step at most, never a jump per frame
    # a much wider spread: the range follows it once, then holds again
    for _ in range(3):
        hist.set_current(_mlp_weights(rng, 6.0))
    wide = hist.half_range()
    assert wide > ranges[-1] and hist.set_current(_mlp_weights(rng, 6.2)) is None
    assert hist.half_range() == wide


def test_without_tails_the_ends_are_plain_numbers(hist, rng):
    hist.set_initial(rng.uniform(-0.5, 0.5, 784))
    hist.set_current(rng.uniform(-0.5, 0.5, 784))
    assert hist.outside_counts() == (0, 0)
    assert not any(t.startswith(("≤", "≥")) for t in hist.tick_labels())
    assert "beyond" not in hist.summary_text()
