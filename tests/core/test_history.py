import numpy as np
import pytest

from biasviz.core.history import BoundedSeries, TrainingHistory, smooth
from biasviz.core.train_loop import StepMetrics


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


@pytest.mark.parametrize("seed", range(6))
def test_extend_keeps_the_points_append_keeps(seed):
    """Extending in slices of any length keeps exactly what point-by-point appends keep,
    through several halvings of a small capacity."""
    rng = np.random.default_rng(seed)
    by_point, by_slice = BoundedSeries(8), BoundedSeries(8)
    x = np.arange(1, 301, dtype=np.float64)
    y = rng.normal(size=x.size)
    i = 0
    while i < x.size:
        size = int(rng.integers(0, 40))
        by_slice.extend(x[i:i + size], y[i:i + size])
        for a, b in zip(x[i:i + size], y[i:i + size], strict=True):
            by_point.append(a, b)
        i += size
        np.testing.assert_array_equal(by_slice.x, by_point.x)
        np.testing.assert_array_equal(by_slice.y, by_point.y)
        assert by_slice.state()[0] == by_point.state()[0]
    assert by_slice.stride > 8  # it did halve, several times


def test_add_steps_in_reports_of_any_size_gives_the_same_curves():
    """The history takes a run's steps in reports of any size: the same raw, smoothed and
    bias curves as one step at a time (the running average carries across reports);
    non-finite losses and missing biases are left out."""
    rng = np.random.default_rng(3)
    steps = [StepMetrics(k, 1 + k // 10, k % 10 + 1, 10,
                         float("nan") if k % 37 == 0 else float(rng.random()),
                         None if k % 5 == 0 else float(rng.normal()))
             for k in range(1, 500)]
    one_by_one, in_reports = TrainingHistory(64), TrainingHistory(64)
    for s in steps:
        one_by_one.add_steps([s])
    i = 0
    while i < len(steps):
        size = int(rng.integers(1, 60))
        in_reports.add_steps(steps[i:i + size])
        i += size
    for name in ("loss", "smoothed", "bias"):
        a, b = getattr(one_by_one, name), getattr(in_reports, name)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_allclose(a.y, b.y, rtol=1e-12)
    # the smoothed curve is the debiased running average of the finite losses
    finite = [s.loss for s in steps if np.isfinite(s.loss)]
    avg, expected = 0.0, []
    for k, v in enumerate(finite, 1):
        avg = 0.9 * avg + 0.1 * v
        expected.append(avg / (1 - 0.9 ** k))
    full = TrainingHistory(4096)
    full.add_steps(steps)
    np.testing.assert_allclose(full.smoothed.y, expected, rtol=1e-12)
    assert in_reports.last_step is steps[-1]


def _steps(losses, first: int = 1):
    return [StepMetrics(k, 1, 1, 10, float(v), None) for k, v in enumerate(losses, first)]


@pytest.mark.parametrize("capacity", [4096, 16])
def test_training_on_from_an_earlier_step_smooths_as_if_the_later_steps_never_were(
        capacity):
    """After truncate_after (Train from here) the smoothing goes on from its state at that
    step: the forgotten steps' low losses made a fake drop at the branch point."""
    rng = np.random.default_rng(7)
    losses = np.linspace(2.0, 0.05, 300) + 0.01 * rng.random(300)
    branched = TrainingHistory(capacity)
    branched.add_steps(_steps(losses))
    k = int(branched.smoothed.x[len(branched.smoothed) // 3])  # a step the curve keeps
    branched.truncate_after(k)
    new = 1.0 + 0.01 * rng.random(50)  # what training from step k gives this time
    branched.add_steps(_steps(new, k + 1))
    # as if the run had been these steps all along
    straight = smooth(np.concatenate([losses[:k], new]), TrainingHistory.SMOOTHING)
    after = branched.smoothed.x > k
    assert after.any()
    np.testing.assert_allclose(branched.smoothed.y[after],
                               straight[branched.smoothed.x[after].astype(int) - 1],
                               rtol=1e-12)


def test_truncating_to_before_the_first_step_starts_the_smoothing_afresh():
    h = TrainingHistory()
    h.add_steps(_steps([5.0, 4.0, 3.0]))
    h.truncate_after(0)
    h.add_steps(_steps([1.0]))
    assert h.smoothed.y.tolist() == smooth(np.array([1.0]), TrainingHistory.SMOOTHING).tolist()


def test_a_reopened_session_still_smooths_from_the_right_state_after_a_branch():
    """The state per step is saved with the session; a file saved before it was has it
    derived from the smoothed curve."""
    losses = np.linspace(2.0, 0.1, 120)
    h = TrainingHistory()
    h.add_steps(_steps(losses))
    meta, arrays = h.to_arrays()
    old_file = {k: v for k, v in arrays.items() if not k.startswith("smoothing_")}
    for saved in (arrays, old_file):
        back = TrainingHistory()
        back.restore(meta, saved)
        back.truncate_after(40)
        back.add_steps(_steps([1.0], 41))
        expected = smooth(np.concatenate([losses[:40], [1.0]]), TrainingHistory.SMOOTHING)
        np.testing.assert_allclose(back.smoothed.y, expected, rtol=1e-12)
