"""Training models in lockstep, and the measures the bias and zero-init lessons show."""

import subprocess
import sys
import threading

import numpy as np
import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.errors import ConfigError
from biasviz.core.side_by_side import (
    AllEnded,
    EpochsTogether,
    ModelEnded,
    StepsTogether,
    hidden_symmetry,
    mean_step,
    per_pixel_identity,
    sigmoid,
    train_together,
    two_class_data,
)
from biasviz.core.spec import ModelSpec, TrainConfig, numpy_logits
from biasviz.core.training import EndReason, Paused, Trainer, TrainingControl


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def data(sample):
    return make_task_data(sample, Task.pair(3, 7))


def bias_trio(data, lr=1.0, seed=1, fair=True):
    """Scalar, per-pixel and no-bias neurons with the same weights and batch order; with
    ``fair`` the per-pixel biases start at b/784 each, so that Σbᵢ = the scalar b."""
    config = TrainConfig(lr=lr, seed=seed)
    trainers = [
        Trainer(ModelSpec(bias_mode=mode, seed=seed), data, config)
        for mode in ("scalar", "per_pixel", "none")
    ]
    if fair:
        b = float(trainers[0].snapshot().params["bias"][0])
        params = trainers[1].snapshot().params
        params["bias"] = np.full(784, b / 784, dtype=np.float32)
        trainers[1].set_params(params)
    return trainers


def test_models_step_in_lockstep_and_all_end(data):
    trainers = bias_trio(data)
    events = list(train_together(trainers, epochs=3))
    rounds = [e for e in events if isinstance(e, StepsTogether)]
    epochs = [e for e in events if isinstance(e, EpochsTogether)]
    per_epoch = trainers[0].batches_per_epoch
    assert len(rounds) == 3 * per_epoch
    for i, r in enumerate(rounds, start=1):
        assert [s.step for s in r.steps] == [i, i, i]
        assert len({(s.epoch, s.batch) for s in r.steps}) == 1
        assert r.step == i
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert all(len(e.epochs) == 3 and None not in e.epochs for e in epochs)
    assert isinstance(events[-1], AllEnded)
    assert [e.reason for e in events[-1].ends] == [EndReason.FINISHED] * 3
    assert all(t.step == 3 * per_epoch for t in trainers)
    # an epoch's metrics come right after its last batch
    assert isinstance(events[per_epoch], EpochsTogether)


def test_identical_models_see_identical_batches(data):
    """Two copies of one model trained together stay bit-for-bit equal: same batches."""
    config = TrainConfig(seed=5)
    a, b = (Trainer(ModelSpec(seed=2), data, config) for _ in range(2))
    losses = [tuple(s.loss for s in e.steps) for e in train_together([a, b], epochs=2)
              if isinstance(e, StepsTogether)]
    assert all(x == y for x, y in losses)
    np.testing.assert_array_equal(a.snapshot().params["weights"],
                                  b.snapshot().params["weights"])


def test_scalar_and_per_pixel_agree_at_step_one_when_the_bias_sums_match(data):
    trainers = bias_trio(data)
    first = next(e for e in train_together(trainers, epochs=1) if isinstance(e, StepsTogether))
    scalar, per_pixel, none = first.steps
    # same weights, Σbᵢ = b and the same first batch: the same loss (before the update)
    assert per_pixel.loss == pytest.approx(scalar.loss, rel=1e-5)
    assert none.loss != pytest.approx(scalar.loss, rel=1e-5)  # the bias did matter


def test_the_bias_sum_moves_784_times_as_far_in_one_sgd_step(data):
    """From the same state (same weights, Σbᵢ = b), one SGD step moves Σbᵢ 784× as far
    as b: each of the 784 biases gets the same gradient as the single b."""
    trainers = bias_trio(data, lr=1.0)[:2]
    b0 = trainers[0].bias_value()
    assert trainers[1].bias_value() == pytest.approx(b0, abs=1e-5)
    first = next(e for e in train_together(trainers, epochs=1) if isinstance(e, StepsTogether))
    d_scalar = first.steps[0].bias - b0
    d_sum = first.steps[1].bias - b0
    assert abs(d_scalar) > 1e-6
    assert d_sum / d_scalar == pytest.approx(784.0, rel=2e-3)
    # and every one of the 784 per-pixel biases moved by the same amount, that of b
    change = trainers[1].snapshot().last_update["bias"]
    assert np.ptp(change) < 1e-6
    assert float(change.mean()) == pytest.approx(d_scalar, rel=2e-3)


def test_shared_control_steps_pauses_and_stops_every_model(data):
    trainers = bias_trio(data)
    control = TrainingControl()
    control.step(3)
    events = []
    run = train_together(trainers, epochs=50, control=control)
    for event in run:
        events.append(event)
        if isinstance(event, Paused):
            break
    assert isinstance(events[-1], Paused) and events[-1].step == 3
    assert all(t.step == 3 for t in trainers)
    # resume from another thread while the generator waits, then stop everything
    threading.Timer(0.05, control.resume).start()
    rounds = 0
    for event in run:
        events.append(event)
        if isinstance(event, StepsTogether):
            rounds += 1
            if rounds == 2:
                control.stop()
    assert isinstance(events[-1], AllEnded)
    assert [e.reason for e in events[-1].ends] == [EndReason.STOPPED] * 3
    assert len({t.step for t in trainers}) == 1
    assert trainers[0].step == 5


def test_edits_submitted_to_the_shared_control_run_between_batches(data):
    trainers = bias_trio(data)
    control = TrainingControl()
    seen = []
    control.submit(lambda: seen.append([t.step for t in trainers]))
    list(train_together(trainers, epochs=1, control=control))
    assert seen == [[0, 0, 0]]


def test_a_diverging_model_drops_out_and_the_others_go_on(data):
    config_ok = TrainConfig(lr=1.0)
    config_bad = TrainConfig(lr=1e30, loss="bce")
    spec = ModelSpec(kind="mlp", hidden=8, init_std=1.0)
    ok, bad = Trainer(spec, data, config_ok), Trainer(spec, data, config_bad)
    events = list(train_together([ok, bad], epochs=2))
    ended = [e for e in events if isinstance(e, ModelEnded)]
    assert len(ended) == 1 and ended[0].index == 1
    assert ended[0].ended.reason is EndReason.DIVERGED
    rounds = [e for e in events if isinstance(e, StepsTogether)]
    assert len(rounds) == 2 * ok.batches_per_epoch
    gone = ended[0].ended.step + 1  # the round in which it failed: no step from it
    assert all(r.steps[0] is not None for r in rounds)
    assert all(r.steps[1] is not None for r in rounds[: gone - 1])
    assert all(r.steps[1] is None for r in rounds[gone - 1 :])
    # it reports its end before the round it could not complete
    assert events.index(ended[0]) < events.index(rounds[gone - 1])
    assert all(e.epochs[1] is None for e in events if isinstance(e, EpochsTogether))
    assert [e.reason for e in events[-1].ends] == [EndReason.FINISHED, EndReason.DIVERGED]


def test_trainers_that_cannot_go_in_lockstep_are_refused(data):
    a = Trainer(ModelSpec(), data, TrainConfig(seed=0))
    with pytest.raises(ConfigError, match="batch order"):
        next(train_together([a, Trainer(ModelSpec(), data, TrainConfig(seed=1))]))
    with pytest.raises(ConfigError, match="batch size"):
        next(train_together([a, Trainer(ModelSpec(), data, TrainConfig(batch_size=64))]))
    moved = Trainer(ModelSpec(), data, TrainConfig(seed=0))
    list(moved.run(1))
    with pytest.raises(ConfigError, match="reset"):
        next(train_together([a, moved]))
    with pytest.raises(ConfigError):
        next(train_together([]))


# -- measures ----------------------------------------------------------------------------
def test_hidden_symmetry_is_the_largest_difference_between_two_neurons():
    w = np.array([[0.0, 1.0], [3.0, -1.0], [1.0, 0.0]], dtype=np.float32)
    assert hidden_symmetry({"hidden.weights": w}) == pytest.approx(3.0)
    assert hidden_symmetry({"hidden.weights": np.tile(w[:1], (5, 1))}) == 0.0
    assert hidden_symmetry({"hidden.weights": w[:1]}) == 0.0
    with pytest.raises(ConfigError):
        hidden_symmetry({"weights": w[0]})


def test_zero_init_keeps_hidden_neurons_identical_and_random_init_does_not(data):
    config = TrainConfig(lr=1.0)
    zero = Trainer(ModelSpec(kind="mlp", hidden=8, init="zeros"), data, config)
    rand = Trainer(ModelSpec(kind="mlp", hidden=8, init_std=0.1), data, config)
    list(train_together([zero, rand], epochs=2))
    zp, rp = zero.snapshot().params, rand.snapshot().params
    assert hidden_symmetry(zp) == 0.0
    assert not np.any(zp["hidden.weights"])  # not only identical: still all zero
    assert hidden_symmetry(rp) > 0.1


def test_per_pixel_identity_holds_on_a_real_image(data):
    rng = np.random.default_rng(0)
    params = {"weights": rng.normal(size=784).astype(np.float32),
              "bias": rng.normal(size=784).astype(np.float32)}
    x = data.valid_x[0].astype(np.float32) / 255.0
    out = per_pixel_identity(params, x)
    assert out["lhs"] == pytest.approx(out["rhs"], abs=1e-9)
    assert abs(out["difference"]) < 1e-9
    assert out["bias_sum"] == pytest.approx(float(params["bias"].astype(np.float64).sum()))
    assert out["weighted_sum"] == pytest.approx(float(x.astype(np.float64) @ params["weights"]))
    spec = ModelSpec(bias_mode="per_pixel")
    assert float(numpy_logits(params, spec, x[None])[0]) == pytest.approx(out["lhs"], abs=1e-3)
    with pytest.raises(ConfigError):
        per_pixel_identity(params, x[:100])


def test_mean_step_and_sigmoid():
    assert mean_step([0.0, 1.0, 3.0, 2.0]) == pytest.approx((1 + 2 + 1) / 3)
    assert mean_step([0.0, 1.0, 3.0, 2.0], last=1) == pytest.approx(1.0)
    assert np.isnan(mean_step([1.0]))
    assert sigmoid(0.0) == 0.5
    assert sigmoid(1000.0) == 1.0 and sigmoid(-1000.0) == 0.0


def test_two_class_data_cuts_a_pair_out_of_ten_classes(sample, data):
    ten = make_task_data(sample, Task.all_ten())
    pair = two_class_data(ten)
    assert pair.task == Task.pair(3, 7)
    assert pair.class_names == ("3", "7")
    np.testing.assert_array_equal(pair.train_x, data.train_x)
    np.testing.assert_array_equal(pair.valid_y, data.valid_y)
    assert two_class_data(data) is data


def test_measures_need_neither_torch_nor_qt():
    code = (
        "import sys, biasviz.core.side_by_side\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    loaded = set(out.stdout.split())
    assert "biasviz" in loaded
    assert not loaded & {"torch", "PySide6", "pyqtgraph", "shiboken6"}
