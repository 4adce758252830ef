"""The training engine: the chapter's numbers, events, control from another thread,
divergence, snapshots, and symmetry under zero initialization."""

import threading
import time

import numpy as np
import pytest

from biasviz.core.datasets import Task, TaskData, load_sample, make_task_data
from biasviz.core.errors import ConfigError
from biasviz.core.spec import InitKind, ModelKind, ModelSpec
from biasviz.core.training import (
    EndReason,
    EpochMetrics,
    Paused,
    StepMetrics,
    TrainConfig,
    Trainer,
    TrainingControl,
    TrainingEnded,
)

# The chapter trains 20 epochs over 12,396 threes and sevens in batches of 256:
# 20 * ceil(12396 / 256) = 980 SGD steps.  The bundled sample has 800 training threes
# and sevens, 4 batches an epoch, so the same number of steps is 245 epochs.
CHAPTER_STEPS = 20 * -(-12396 // 256)


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def threes_sevens(sample):
    return make_task_data(sample, Task.pair(3, 7))


def epochs(events):
    return [e for e in events if isinstance(e, EpochMetrics)]


def test_chapter_single_neuron_reaches_96_percent(threes_sevens):
    """The chapter's model and settings: one neuron, scalar bias, 3 vs 7, SGD lr 1.0,
    batch 256, std-1 init, mnist_loss -- trained for the chapter's number of steps."""
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig())
    n_epochs = -(-CHAPTER_STEPS // trainer.batches_per_epoch)
    history = epochs(trainer.run(n_epochs))
    assert trainer.step >= CHAPTER_STEPS
    best = max(e.valid_accuracy for e in history)
    assert best >= 0.96, f"best validation accuracy {best:.3f}"
    assert history[-1].valid_accuracy >= 0.95
    # and it learns: after 20 epochs it is far better than chance and than at epoch 1
    assert history[19].valid_accuracy > history[0].valid_accuracy
    assert history[19].valid_accuracy > 0.8


def test_ten_class_linear_reaches_80_percent(sample):
    data = make_task_data(sample, Task.all_ten())
    trainer = Trainer(ModelSpec(kind="linear", n_outputs=10), data, TrainConfig(epochs=20))
    history = epochs(trainer.run())
    assert history[-1].valid_accuracy >= 0.80, history[-1]


def test_event_stream_shape(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(batch_size=256))
    events = list(trainer.run(3))
    steps = [e for e in events if isinstance(e, StepMetrics)]
    per_epoch = -(-threes_sevens.n_train // 256)
    assert [s.step for s in steps] == list(range(1, 3 * per_epoch + 1))
    assert {s.batches_per_epoch for s in steps} == {per_epoch}
    assert [e.epoch for e in epochs(events)] == [1, 2, 3]
    assert isinstance(events[-1], TrainingEnded) and events[-1].reason is EndReason.FINISHED
    # epoch train loss is the mean of its batch losses
    first = [s.loss for s in steps if s.epoch == 1]
    assert epochs(events)[0].train_loss == pytest.approx(np.mean(first))
    # the bias reported per step is the model's bias
    assert steps[-1].bias == pytest.approx(float(trainer.model.bias.detach()))
    # runs continue where they left off
    more = list(trainer.run(1))
    assert epochs(more)[0].epoch == 4


def test_validation_accuracy_is_logit_at_least_zero(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens)
    list(trainer.run(2))
    snap = trainer.snapshot()
    x = threes_sevens.valid_x.astype(np.float32) / 255
    z = x @ snap.params["weights"] + snap.params["bias"][0]
    expected = np.mean((z >= 0).astype(int) == threes_sevens.valid_y)
    assert trainer.evaluate()[1] == pytest.approx(expected)


def test_reset_reproduces_the_same_run(threes_sevens):
    trainer = Trainer(ModelSpec(seed=7), threes_sevens, TrainConfig(seed=7))
    first = [e.loss for e in trainer.run(2) if isinstance(e, StepMetrics)]
    after = trainer.snapshot().params["weights"]
    trainer.reset()
    assert trainer.step == 0 and trainer.epoch == 0
    second = [e.loss for e in trainer.run(2) if isinstance(e, StepMetrics)]
    assert first == second
    np.testing.assert_array_equal(after, trainer.snapshot().params["weights"])


def test_snapshots_are_copies(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens)
    snap = trainer.snapshot()
    before = snap.params["weights"].copy()
    list(trainer.run(1))
    np.testing.assert_array_equal(snap.params["weights"], before)
    snap.params["weights"][:] = 123.0
    assert not np.any(trainer.snapshot().params["weights"] == 123.0)


def test_last_update_is_minus_lr_times_gradient_under_sgd(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(lr=0.5))
    before = trainer.snapshot().params
    it = trainer.run(1)
    next(it)  # one step
    snap = trainer.snapshot()
    np.testing.assert_allclose(
        snap.last_update["weights"], snap.params["weights"] - before["weights"], atol=1e-6
    )
    assert np.abs(snap.last_update["weights"]).max() > 0
    it.close()


def test_pause_resume_and_stop_from_another_thread(threes_sevens):
    control = TrainingControl()
    trainer = Trainer(ModelSpec(), threes_sevens)
    events: list = []
    worker = threading.Thread(target=lambda: events.extend(trainer.run(100000, control)))
    worker.start()
    try:
        deadline = time.time() + 10
        while trainer.step < 5 and time.time() < deadline:
            time.sleep(0.01)
        control.pause()
        deadline = time.time() + 10
        while not any(isinstance(e, Paused) for e in list(events)) and time.time() < deadline:
            time.sleep(0.01)
        step_at_pause = trainer.step
        time.sleep(0.2)
        assert trainer.step == step_at_pause, "training went on while paused"
        control.resume()
        deadline = time.time() + 10
        while trainer.step < step_at_pause + 3 and time.time() < deadline:
            time.sleep(0.01)
        assert trainer.step >= step_at_pause + 3
        control.stop()
        worker.join(timeout=10)
        assert not worker.is_alive()
    finally:
        control.stop()
        worker.join(timeout=10)
    assert isinstance(events[-1], TrainingEnded)
    assert events[-1].reason is EndReason.STOPPED


def test_stop_while_paused_ends_promptly(threes_sevens):
    control = TrainingControl()
    control.step(1)
    trainer = Trainer(ModelSpec(), threes_sevens)
    events: list = []
    worker = threading.Thread(target=lambda: events.extend(trainer.run(10, control)))
    worker.start()
    time.sleep(0.1)
    control.stop()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert events[-1].reason is EndReason.STOPPED


def test_single_steps(threes_sevens):
    control = TrainingControl()
    control.step(3)
    trainer = Trainer(ModelSpec(), threes_sevens)
    it = trainer.run(10, control)
    seen = []
    for event in it:
        seen.append(event)
        if isinstance(event, Paused):
            break
    assert [e.step for e in seen if isinstance(e, StepMetrics)] == [1, 2, 3]
    control.step_epoch()
    for event in it:
        seen.append(event)
        if isinstance(event, Paused):
            break
    # ran to the end of epoch 1, validated it, then paused
    assert trainer.step == trainer.batches_per_epoch
    assert isinstance(seen[-2], EpochMetrics) and seen[-2].epoch == 1
    assert seen[-1] == Paused(trainer.batches_per_epoch, 1)
    control.stop()
    assert list(it)[-1].reason is EndReason.STOPPED


def test_edits_are_applied_between_batches(threes_sevens):
    control = TrainingControl()
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(lr=1e-9))
    it = trainer.run(5, control)
    next(it)
    params = trainer.snapshot().params
    params["bias"] = np.array([42.0], dtype=np.float32)
    control.submit(lambda: trainer.set_params(params))
    event = next(it)
    assert isinstance(event, StepMetrics)
    assert event.bias == pytest.approx(42.0, abs=1e-3)
    it.close()


def test_divergence_stops_with_a_reason_and_keeps_finite_parameters(threes_sevens):
    # Sigmoid and cross-entropy are computed stably, so plain large rates (even 1000)
    # do not produce non-finite numbers; this one overflows float32 at once.
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(lr=1e38, loss="bce"))
    before = trainer.snapshot().params
    events = list(trainer.run(5))
    end = events[-1]
    assert end.reason is EndReason.DIVERGED
    assert "diverged" in end.message and "learning rate" in end.message
    params = trainer.snapshot().params
    assert all(np.isfinite(a).all() for a in params.values())
    # the kept parameters are the last finite ones (here: the ones before the bad step)
    if end.step == 0:
        np.testing.assert_array_equal(params["weights"], before["weights"])


def test_nan_in_data_diverges_cleanly(threes_sevens):
    bad = TaskData(
        threes_sevens.task, threes_sevens.class_names, "bad", "bad",
        threes_sevens.train_x.astype(np.float32) * np.nan, threes_sevens.train_y,
        threes_sevens.valid_x, threes_sevens.valid_y,
    )
    trainer = Trainer(ModelSpec(), bad)
    events = list(trainer.run(1))
    assert events[-1].reason is EndReason.DIVERGED
    assert all(np.isfinite(a).all() for a in trainer.snapshot().params.values())


@pytest.mark.parametrize("optimizer,loss", [("adam", "mnist"), ("sgd", "bce"), ("adam", "bce")])
def test_other_optimizers_and_losses_learn(threes_sevens, optimizer, loss):
    lr = 0.01 if optimizer == "adam" else 0.1
    trainer = Trainer(ModelSpec(init_std=0.01), threes_sevens, TrainConfig(optimizer=optimizer, loss=loss, lr=lr))
    history = epochs(trainer.run(10))
    assert history[-1].valid_accuracy > 0.9


def _hidden_spread(trainer):
    w = trainer.snapshot().params["hidden.weights"]
    return float(np.abs(w[:, None, :] - w[None, :, :]).max())


def test_zero_init_hidden_neurons_stay_identical(threes_sevens):
    zero = Trainer(ModelSpec(kind="mlp", hidden=8, init=InitKind.ZEROS), threes_sevens)
    rand = Trainer(ModelSpec(kind="mlp", hidden=8, init_std=0.1), threes_sevens)
    list(zero.run(10))
    list(rand.run(10))
    assert _hidden_spread(zero) == 0.0
    assert _hidden_spread(rand) > 0.1
    # and the random network did learn
    assert rand.evaluate()[1] > 0.9


def test_zero_init_single_neuron_learns(threes_sevens):
    trainer = Trainer(ModelSpec(init=InitKind.ZEROS), threes_sevens)
    list(trainer.run(10))
    assert trainer.evaluate()[1] > 0.9


def test_mismatched_model_and_task_is_refused(threes_sevens):
    with pytest.raises(ConfigError, match="output"):
        Trainer(ModelSpec(kind="linear", n_outputs=10), threes_sevens)


def test_bad_configs_are_refused():
    with pytest.raises(ConfigError, match="learning rate"):
        TrainConfig(lr=-1)
    with pytest.raises(ConfigError, match="batch"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")


# -- Step epoch, single steps and the batch-boundary API -----------------------------------
def _until_paused(it):
    seen = []
    for event in it:
        seen.append(event)
        if isinstance(event, Paused | TrainingEnded):
            break
    return seen


def test_step_epoch_from_mid_epoch_runs_the_rest_then_evaluates_then_pauses(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(batch_size=100))
    per_epoch = trainer.batches_per_epoch
    assert per_epoch == 8
    assert trainer.batches_left_in_epoch() == per_epoch  # nothing under way
    control = TrainingControl()
    control.step(3)
    it = trainer.run(5, control)
    assert [type(e) for e in _until_paused(it)] == [StepMetrics] * 3 + [Paused]
    assert trainer.batches_left_in_epoch() == per_epoch - 3  # what "Step epoch" will run
    control.step_epoch()
    seen = _until_paused(it)
    steps = [e for e in seen if isinstance(e, StepMetrics)]
    assert len(steps) == per_epoch - 3
    assert [type(e) for e in seen[-2:]] == [EpochMetrics, Paused]
    assert seen[-2].epoch == 1 and seen[-2].step == per_epoch
    assert seen[-1] == Paused(per_epoch, 1)
    # while paused at the epoch boundary, the next Step epoch is a whole epoch
    assert trainer.batches_left_in_epoch() == per_epoch
    control.step_epoch()
    seen = _until_paused(it)
    assert len([e for e in seen if isinstance(e, StepMetrics)]) == per_epoch
    assert seen[-2].epoch == 2 and seen[-1] == Paused(2 * per_epoch, 2)
    control.stop()
    assert list(it)[-1].reason is EndReason.STOPPED


def test_a_single_step_that_ends_an_epoch_pauses_after_its_evaluation(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(batch_size=200))
    per_epoch = trainer.batches_per_epoch
    control = TrainingControl()
    control.step(per_epoch)
    it = trainer.run(3, control)
    seen = _until_paused(it)
    assert [type(e) for e in seen] == [StepMetrics] * per_epoch + [EpochMetrics, Paused]
    # a step budget that crosses an epoch's end does not stop there
    control.step(2)
    seen = _until_paused(it)
    assert [type(e) for e in seen] == [StepMetrics] * 2 + [Paused]
    assert seen[-1] == Paused(per_epoch + 2, 1)
    it.close()


def test_pause_pressed_in_an_epochs_last_batch_waits_for_the_evaluation(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens, TrainConfig(batch_size=400))
    control = TrainingControl()
    it = trainer.run(3, control)
    first = next(it)
    assert isinstance(first, StepMetrics) and first.batch == 1
    second = next(it)
    assert second.batch == 2 == trainer.batches_per_epoch
    control.pause()  # lands while the epoch's last batch is being reported
    assert [type(e) for e in _until_paused(it)] == [EpochMetrics, Paused]
    control.resume()
    assert isinstance(next(it), StepMetrics)
    it.close()


def test_step_epoch_in_the_runs_last_epoch_just_finishes(threes_sevens):
    trainer = Trainer(ModelSpec(), threes_sevens)
    control = TrainingControl()
    control.step_epoch()
    events = list(trainer.run(1, control))
    assert [type(e) for e in events[-2:]] == [EpochMetrics, TrainingEnded]
    assert not any(isinstance(e, Paused) for e in events)
    assert events[-1].reason is EndReason.FINISHED


def test_a_run_stopped_in_mid_epoch_leaves_its_rest_to_the_next(threes_sevens):
    """Stop keeps the position, as a pause does: the next run finishes the epoch (its
    number is not used twice) and trains as if never stopped."""
    config = TrainConfig(batch_size=100)
    trainer = Trainer(ModelSpec(), threes_sevens, config)
    control = TrainingControl()
    control.step(2)
    it = trainer.run(2, control)
    _until_paused(it)
    assert trainer.batches_left_in_epoch() == 6
    control.stop()
    assert list(it)[-1].reason is EndReason.STOPPED
    assert trainer.batches_left_in_epoch() == 6
    events = list(trainer.run(2))
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert [(e.epoch, e.batch) for e in steps[:2]] == [(1, 3), (1, 4)]
    assert [e.epoch for e in events if isinstance(e, EpochMetrics)] == [1, 2]
    straight = Trainer(ModelSpec(), threes_sevens, config)
    list(straight.run(2))
    assert (trainer.step, trainer.epoch) == (straight.step, straight.epoch) == (16, 2)
    for name, value in straight.snapshot().params.items():
        np.testing.assert_array_equal(trainer.snapshot().params[name], value)
    # stopped again in mid-epoch, then another batch size: a whole new epoch
    control = TrainingControl()
    control.step(3)
    it = trainer.run(1, control)
    _until_paused(it)
    control.stop()
    list(it)
    assert trainer.batches_left_in_epoch() == 5
    trainer.set_config(TrainConfig(batch_size=400))
    assert trainer.batches_left_in_epoch() == 2


def test_batch_boundary_api():
    """The calls a training loop makes between batches, on their own."""
    control = TrainingControl()
    assert control.after_batch() is False and control.after_epoch() is False
    done = []
    control.submit(lambda: done.append(1))
    control.apply_edits()
    assert done == [1]
    control.apply_edits()  # each edit runs once
    assert done == [1]
    control.step(2)
    assert control.after_batch() is False
    assert control.after_batch() is True and control.paused
    control.step(1)
    assert control.after_batch(end_of_epoch=True) is False  # the epoch is evaluated first
    assert control.after_epoch() is True
    control.step_epoch()
    assert control.after_batch(end_of_epoch=True) is False
    assert control.after_epoch(last=True) is False  # the run ends anyway
    assert not control.paused
    control.pause()
    control.stop()
    assert control.after_batch() is False  # stopped: nothing to wait for


def test_edits_submitted_while_paused_are_applied_while_waiting(threes_sevens):
    control = TrainingControl()
    control.pause()
    applied = threading.Event()
    control.submit(applied.set)
    waiter = threading.Thread(target=control.wait_while_paused)
    waiter.start()
    assert applied.wait(5)
    assert waiter.is_alive()  # still paused after applying the edit
    control.resume()
    waiter.join(5)
    assert not waiter.is_alive()


def test_train_together_step_epoch_pauses_after_the_epochs_evaluation(threes_sevens):
    from biasviz.core.side_by_side import EpochsTogether, StepsTogether, train_together

    config = TrainConfig(batch_size=200, seed=3)
    trainers = [Trainer(ModelSpec(bias_mode=m, seed=3), threes_sevens, config)
                for m in ("scalar", "none")]
    per_epoch = trainers[0].batches_per_epoch
    control = TrainingControl()
    control.step(1)
    it = train_together(trainers, epochs=3, control=control)
    assert [type(e) for e in _until_paused(it)] == [StepsTogether, Paused]
    control.step_epoch()
    seen = _until_paused(it)
    assert [type(e) for e in seen] == [StepsTogether] * (per_epoch - 1) + [EpochsTogether, Paused]
    assert seen[-1] == Paused(per_epoch, 1)
    control.stop()
    list(it)


@pytest.mark.parametrize("spec, task", [
    (ModelSpec(), Task.pair(3, 7)),
    (ModelSpec(kind=ModelKind.MLP, hidden=16, n_outputs=10), Task.all_ten()),
], ids=["chapter", "mlp"])
def test_the_windows_torch_free_trainer_trains_as_torchs_does(sample, spec, task):
    """NumpyTrainer (the window's: no torch) against Trainer (torch's first parameters
    and generator): the same batches, the same losses and parameters within float32
    rounding, and each goes on from the other's saved position with the same batches."""
    from biasviz.core.train_loop import NumpyTrainer

    data = make_task_data(sample, task)
    config = TrainConfig(epochs=3, batch_size=64, lr=0.5)
    ours, theirs = NumpyTrainer(spec, data, config), Trainer(spec, data, config)
    assert ours.engine == theirs.engine == "numpy"
    for name, value in theirs.snapshot().params.items():
        np.testing.assert_allclose(ours.snapshot().params[name], value, atol=1e-6)
    np.testing.assert_array_equal(ours.order_state(), theirs.order_state())
    a, b = list(ours.run()), list(theirs.run())
    losses = [[e.loss for e in events if isinstance(e, StepMetrics)] for events in (a, b)]
    assert len(losses[0]) == len(losses[1]) == 3 * ours.batches_per_epoch
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4, atol=1e-6)
    for name, value in theirs.snapshot().params.items():
        np.testing.assert_allclose(ours.snapshot().params[name], value, atol=1e-4)
    np.testing.assert_array_equal(ours.order_state(), theirs.order_state())
    # a session saved by one and opened by the other draws the same next batches
    other = NumpyTrainer(spec, data, config)
    other.restore_position(theirs.step, theirs.epoch, theirs.position_state(),
                           theirs.order_state())
    np.testing.assert_array_equal(other.order.next_order(data.n_train),
                                  theirs.order.next_order(data.n_train))
    # ...and reset gives the first parameters and the first batch order back
    ours.reset()
    np.testing.assert_array_equal(ours.order_state(), NumpyTrainer(spec, data, config)
                                  .order_state())
    assert ours.step == 0 and ours.snapshot().last_update is None


def test_the_torch_free_trainer_refuses_what_it_cannot_train(threes_sevens):
    from biasviz.core.train_loop import NumpyTrainer, make_trainer

    with pytest.raises(ConfigError, match="cannot train"):
        NumpyTrainer(ModelSpec(kind=ModelKind.CNN, n_outputs=1), threes_sevens)
    with pytest.raises(ConfigError, match="output"):
        NumpyTrainer(ModelSpec(kind=ModelKind.LINEAR, n_outputs=10), threes_sevens)
    assert make_trainer(ModelSpec(kind=ModelKind.CNN, n_outputs=1), threes_sevens).engine == "torch"
