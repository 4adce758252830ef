"""The training timeline: memory budget, thinning schedule, lookups, truncation, files."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from biasviz.core.errors import ConfigError, ParamFileError
from biasviz.core.timeline import Moment, Timeline

NEURON_SHAPES = {"weights": (784,), "bias": (1,)}


def _params(step: int, shapes=NEURON_SHAPES) -> dict[str, np.ndarray]:
    """Parameters whose values say which step they belong to."""
    return {k: np.full(s, float(step), dtype=np.float32) for k, s in shapes.items()}


def _simulate(timeline: Timeline, steps: int, per_epoch: int, start: int = 0,
              shapes=NEURON_SHAPES) -> None:
    """What a consumer of ``Trainer.run`` does: step 0, then every step, epoch ends marked."""
    if start == 0:
        timeline.record(0, 0, _params(0, shapes), None)
    for s in range(start + 1, steps + 1):
        timeline.record(s, (s - 1) // per_epoch + 1, _params(s, shapes), 1.0 / s)
        if s % per_epoch == 0:
            assert timeline.mark_epoch_end(s, accuracy=min(1.0, s / steps), valid_loss=0.5)


def test_every_step_is_kept_while_the_budget_allows():
    tl = Timeline()
    _simulate(tl, 980, 4)
    assert tl.moments() == list(range(981))
    assert tl.threshold == 0
    assert tl.nbytes <= tl.budget_bytes


def test_budget_holds_over_a_100000_step_run_and_moments_stay_spread():
    budget = 4 * 2**20  # small, so the test is quick; the 64 MB default is benchmarked
    tl = Timeline(budget)
    high_water = 0
    steps = 100_000
    tl.record(0, 0, _params(0), None)
    for s in range(1, steps + 1):
        tl.record(s, (s - 1) // 4 + 1, _params(s), 0.1)
        if s % 4 == 0:
            tl.mark_epoch_end(s, accuracy=0.9)
        high_water = max(high_water, tl.nbytes)
    assert high_water <= budget
    # The arrays alone are within budget too (nbytes also counts Python overhead).
    assert sum(m.array_nbytes for m in tl.all()) <= budget
    # Memory is used, not wasted: after a compaction at least a third of the budget is kept.
    assert tl.nbytes > budget / 3
    moments = tl.moments()
    assert moments[0] == 0 and moments[-1] == steps
    assert moments == sorted(set(moments))
    # Spread over the whole run: no gap wider than the grid's stride.
    assert max(np.diff(moments)) <= 2**tl.threshold
    assert tl.threshold >= 4  # thinning did happen
    # The latest moments are kept at full density ("step back" after a pause is exact).
    assert moments[-8:] == list(range(steps - 7, steps + 1))


def test_mlp_sized_moments_stay_in_budget():
    shapes = {"hidden.weights": (32, 784), "hidden.biases": (32,),
              "output.weights": (1, 32), "output.biases": (1,)}
    budget = 2 * 2**20  # ~20 moments of 100 KB
    tl = Timeline(budget)
    _simulate(tl, 5_000, 4, shapes=shapes)
    assert tl.nbytes <= budget
    moments = tl.moments()
    assert moments[0] == 0 and moments[-1] == 5_000
    assert 8 <= len(moments) <= 21
    # covers the run: something in every quarter of it
    quarters = {min(3, s * 4 // 5_000) for s in moments}
    assert quarters == {0, 1, 2, 3}


def test_epoch_ends_survive_thinning_before_mid_epoch_steps():
    # 49 steps per epoch (the chapter's full MNIST): epoch ends are not multiples of 2^k.
    budget = 400 * 4_000  # room for ~400 moments of the single neuron
    tl = Timeline(budget, recent=4)
    _simulate(tl, 49 * 200, 49)
    kept = tl.all()
    assert tl.threshold >= 3
    ends = [m.step for m in kept if m.epoch_end]
    # every epoch end is kept while the grid (2^threshold) is finer than an epoch
    assert ends == [49 * e for e in range(1, 201)]
    assert all(m.accuracy is not None for m in kept if m.epoch_end)
    mid = [m.step for m in kept if not m.epoch_end and m.step > 0]
    assert all(s % 2**tl.threshold == 0 for s in mid[:-4])  # the tail is dense


def test_short_epochs_are_thinned_too_but_evenly():
    tl = Timeline(1_000 * 4_000, recent=4)  # ~1000 moments for 25,000 epoch ends
    _simulate(tl, 100_000, 4)
    ends = [m.step for m in tl.all() if m.epoch_end]
    assert len(ends) < 25_000
    gaps = np.diff(ends)
    assert gaps.max() <= 2**tl.threshold


def test_first_moment_is_kept_whatever_the_budget():
    tl = Timeline(budget_bytes=1)  # smaller than one moment
    _simulate(tl, 100, 4)
    assert tl.moments() == [0, 100]
    np.testing.assert_array_equal(tl.first().params["weights"], 0.0)
    np.testing.assert_array_equal(tl.latest().params["weights"], 100.0)


def test_at_nearest_and_index_of():
    tl = Timeline(recent=2)
    tl.record(0, 0, _params(0))
    for s in (10, 20, 40):
        tl.record(s, 1, _params(s), 0.5)
    assert tl.moments() == [0, 10, 20, 40]
    assert len(tl) == 4
    assert tl.at(0).step == 0 and tl.at(-1).step == 40 and tl.at(2).step == 20
    with pytest.raises(IndexError):
        tl.at(4)
    assert tl.nearest(14).step == 10
    assert tl.nearest(15).step == 10  # tie: the earlier moment
    assert tl.nearest(16).step == 20
    assert tl.nearest(-5).step == 0
    assert tl.nearest(1000).step == 40
    assert tl.index_of(31) == 3 and tl.index_of(29) == 2
    moment = tl.nearest(20)
    np.testing.assert_array_equal(moment.params["weights"], 20.0)
    assert np.isnan(tl.first().loss) and moment.loss == 0.5


def test_moments_are_immutable_copies():
    tl = Timeline()
    p = _params(0)
    tl.record(0, 0, p)
    p["weights"][:] = 7.0  # the caller changes its array afterwards
    moment = tl.at(0)
    np.testing.assert_array_equal(moment.params["weights"], 0.0)
    with pytest.raises(ValueError):
        moment.params["weights"][0] = 1.0
    with pytest.raises(TypeError):
        moment.params["weights"] = np.zeros(784)  # type: ignore[index]
    with pytest.raises(AttributeError):
        moment.step = 5  # type: ignore[misc]


def test_steps_must_increase_and_the_model_stay_the_same():
    tl = Timeline()
    tl.record(5, 1, _params(5))
    with pytest.raises(ConfigError, match="truncate"):
        tl.record(5, 1, _params(5))
    with pytest.raises(ConfigError, match="model changed"):
        tl.record(6, 1, {"weights": np.zeros(784, np.float32)})
    assert tl.moments() == [5]
    with pytest.raises(ConfigError):
        Timeline(budget_bytes=0)


def test_mark_epoch_end_and_accuracy_at():
    tl = Timeline()
    _simulate(tl, 12, 4)
    ends = [m for m in tl.all() if m.epoch_end]
    assert [m.step for m in ends] == [4, 8, 12]
    assert ends[0].accuracy == pytest.approx(4 / 12)
    assert tl.accuracy_at(3) is None
    assert tl.accuracy_at(7) == pytest.approx(4 / 12)
    assert tl.accuracy_at(8) == pytest.approx(8 / 12)
    assert not tl.mark_epoch_end(99)  # never recorded


def test_evaluated_at_says_which_epoch_the_accuracy_is_from():
    tl = Timeline()
    _simulate(tl, 20, 4)  # epochs end at steps 4, 8, ...; step 19 is in epoch 5
    assert tl.evaluated_at(3) is None
    ev = tl.evaluated_at(19)
    assert (ev.epoch, ev.step) == (4, 16) and ev.accuracy == pytest.approx(16 / 20)
    assert ev.accuracy == tl.accuracy_at(19)
    assert tl.evaluated_at(20)[:2] == (5, 20)  # at an epoch's end: that epoch's figure


def test_truncate_after_then_train_again():
    tl = Timeline(300 * 4_000, recent=4)
    _simulate(tl, 2_000, 4)
    assert tl.threshold > 0
    dropped = tl.truncate_after(1_000)
    assert dropped > 0
    moments = tl.moments()
    assert moments[-1] <= 1_000 and moments[0] == 0
    before = tl.nbytes
    assert before == sum(m.nbytes for m in tl.all())
    # new history from the nearest moment onwards: recorded densely again
    _simulate(tl, 1_200, 4, start=moments[-1])
    after = tl.moments()
    assert after[-1] == 1_200
    old = [s for s in after if 800 < s <= 1_000]
    new = [s for s in after if 1_000 < s <= 1_200]
    assert len(new) >= 2 * len(old)  # the new history starts dense, then thins as usual
    assert tl.nbytes <= tl.budget_bytes
    tl.truncate_after(-1)
    assert len(tl) == 0 and tl.nbytes == 0
    tl.record(3, 1, _params(3))  # a fresh start is allowed, and is the new first moment
    assert tl.first().step == 3


def test_round_trip_through_arrays():
    tl = Timeline(200 * 4_000, recent=8)
    tl.record(0, 0, _params(0))
    for s in range(1, 1_001):
        tl.record(s, (s - 1) // 4 + 1, _params(s), 1.0 / s,
                  last_update={"weights": np.full(784, 0.5, np.float32),
                               "bias": np.zeros(1, np.float32)} if s % 3 == 0 else None)
        if s % 4 == 0:
            tl.mark_epoch_end(s, accuracy=0.5 + s / 4_000, valid_loss=0.3)
    arrays, meta = tl.to_arrays()
    import json

    meta = json.loads(json.dumps(meta))  # what a session file stores must be JSON
    again = Timeline.from_arrays(arrays, meta)
    assert again.moments() == tl.moments()
    assert again.nbytes == tl.nbytes and again.threshold == tl.threshold
    for a, b in zip(tl.all(), again.all(), strict=True):
        assert (a.step, a.epoch, a.epoch_end) == (b.step, b.epoch, b.epoch_end)
        assert a.accuracy == b.accuracy and a.valid_loss == b.valid_loss
        assert (np.isnan(a.loss) and np.isnan(b.loss)) or a.loss == b.loss
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])
        assert (a.last_update is None) == (b.last_update is None)
        if a.last_update is not None:
            np.testing.assert_array_equal(a.last_update["weights"], b.last_update["weights"])
    # Recording goes on as if nothing happened.
    for t in (tl, again):
        _simulate(t, 1_500, 4, start=1_000)
    assert again.moments() == tl.moments()


def test_an_empty_timeline_round_trips():
    arrays, meta = Timeline().to_arrays()
    assert len(Timeline.from_arrays(arrays, meta)) == 0


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda a, m: m.update(format="something else"), "not a biasviz timeline"),
        (lambda a, m: m.update(format_version=99), "version"),
        (lambda a, m: a.pop("losses"), "'losses' is missing"),
        (lambda a, m: a.update(steps=a["steps"][::-1].copy()), "not increasing"),
        (lambda a, m: a.update(epochs=a["epochs"][:-1]), "shape"),
        (lambda a, m: a["params/weights"].__setitem__((1, 3), np.nan), "NaN"),
        (lambda a, m: a.update({"params/weights": a["params/weights"][:-1]}), "one array"),
        (lambda a, m: a.update({"params/weights": a["params/weights"].astype(object)}), "type"),
        (lambda a, m: a.update(accuracies=a["accuracies"] + 5), "accuracy"),
        (lambda a, m: m.update(recent_count=10**9), "recent"),
        (lambda a, m: m.update(param_names="weights"), "names"),
        (lambda a, m: a.update({"params/evil": a["params/weights"]}), "unexpected"),
    ],
)
def test_damaged_arrays_are_refused_with_a_message(damage, message):
    tl = Timeline()
    _simulate(tl, 8, 4)
    arrays, meta = tl.to_arrays()
    arrays = {k: v.copy() for k, v in arrays.items()}
    damage(arrays, meta)
    with pytest.raises(ParamFileError, match=message):
        Timeline.from_arrays(arrays, meta)


def test_a_smaller_budget_on_load_thins_the_timeline():
    tl = Timeline()
    _simulate(tl, 1_000, 4)
    arrays, meta = tl.to_arrays()
    small = Timeline.from_arrays(arrays, meta, budget_bytes=100 * 4_000)
    assert small.nbytes <= 100 * 4_000
    assert small.moments()[0] == 0 and small.moments()[-1] == 1_000


def test_reading_while_the_training_thread_records():
    tl = Timeline(300 * 4_000, recent=4)
    tl.record(0, 0, _params(0))
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                steps = tl.moments()
                assert steps == sorted(steps)
                if steps:
                    m = tl.nearest(steps[len(steps) // 2])
                    assert isinstance(m, Moment)
                    assert float(m.params["weights"][0]) == m.step  # a consistent record
                    tl.at(-1)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for s in range(1, 20_001):
            tl.record(s, 1, _params(s), 0.1)
    finally:
        done.set()
        thread.join()
    assert not errors, errors[0]
    assert tl.nbytes <= tl.budget_bytes


def test_records_a_real_training_run():
    from biasviz.core.datasets import Task, load_sample, make_task_data
    from biasviz.core.spec import ModelSpec
    from biasviz.core.training import EpochMetrics, StepMetrics, TrainConfig, Trainer

    data = make_task_data(load_sample(), Task.parse("3,7"))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=3))
    w0 = trainer.snapshot().params["weights"].copy()
    tl = Timeline()
    tl.record(0, 0, trainer.snapshot().params, copy=False)
    for event in trainer.run():
        if isinstance(event, StepMetrics):
            snap = trainer.snapshot()
            tl.record(event.step, event.epoch, snap.params, event.loss,
                      last_update=snap.last_update, copy=False)
        elif isinstance(event, EpochMetrics):
            tl.mark_epoch_end(event.step, event.valid_accuracy, event.valid_loss)
    assert tl.moments() == list(range(trainer.step + 1))
    np.testing.assert_array_equal(tl.first().params["weights"], w0)
    final = trainer.snapshot().params
    np.testing.assert_array_equal(tl.latest().params["weights"], final["weights"])
    ends = [m for m in tl.all() if m.epoch_end]
    assert [m.epoch for m in ends] == [1, 2, 3]
    # each moment's last update is the difference to the moment before it
    a, b = tl.at(5), tl.at(6)
    np.testing.assert_allclose(
        b.last_update["weights"], b.params["weights"] - a.params["weights"], atol=1e-6
    )
