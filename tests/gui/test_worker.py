"""The training worker: every step reaches the GUI, in at most ~30 updates a second."""

import time

import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.core.training import Trainer, TrainingControl
from biasviz.gui.worker import TrainingWorker, WorkerThread


@pytest.fixture(scope="module")
def data():
    return make_task_data(load_sample(), Task.pair(3, 7))


def test_updates_are_throttled_and_nothing_is_lost(qtbot, data):
    # batch 8 on 800 images: 100 tiny steps an epoch, far faster than 30 per second
    trainer = Trainer(ModelSpec(), data, TrainConfig(batch_size=8))
    worker = TrainingWorker(trainer, epochs=30, control=TrainingControl(), max_rate=30)
    got_steps: list = []
    epochs: list = []
    snapshots: list = []
    worker.progress.connect(lambda steps, snap: (got_steps.extend(steps), snapshots.append(snap)))
    worker.epochsDone.connect(epochs.extend)
    thread = WorkerThread(worker)
    started = time.monotonic()
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        thread.start()
    elapsed = time.monotonic() - started
    qtbot.wait(50)
    assert [s.step for s in got_steps] == list(range(1, 30 * 100 + 1))
    assert len(epochs) == 30
    # at most 30 a second, plus one flush per epoch end
    assert worker.emitted <= 30 * elapsed + len(epochs) + 2
    assert worker.emitted < len(got_steps) / 5  # steps really were batched together
    # snapshots are copies: the first one differs from the last
    assert snapshots[0].params["weights"] is not snapshots[-1].params["weights"]
    assert (snapshots[0].params["weights"] != snapshots[-1].params["weights"]).any()


def test_stop_ends_the_thread(qtbot, data):
    trainer = Trainer(ModelSpec(), data, TrainConfig())
    control = TrainingControl()
    worker = TrainingWorker(trainer, epochs=100000, control=control)
    ended: list = []
    worker.ended.connect(lambda e, s: ended.append(e))
    thread = WorkerThread(worker)
    thread.start()
    qtbot.waitUntil(lambda: trainer.step > 5, timeout=30_000)
    with qtbot.waitSignal(thread.finished, timeout=30_000):
        control.stop()
    qtbot.waitUntil(lambda: bool(ended), timeout=5_000)
    assert ended[0].reason.value == "stopped"
    assert thread.wait(5000)


def test_stop_then_wait_from_the_gui_thread_does_not_stall(qtbot, data):
    """closeEvent stops the worker and waits without spinning the event loop: the thread
    must end on its own (a queued done→quit would only run after the wait timed out)."""
    trainer = Trainer(ModelSpec(), data, TrainConfig())
    control = TrainingControl()
    thread = WorkerThread(TrainingWorker(trainer, epochs=100000, control=control))
    thread.start()
    qtbot.waitUntil(lambda: trainer.step > 5, timeout=30_000)
    control.stop()
    started = time.monotonic()
    assert thread.wait(8000), "thread did not end while the GUI thread waited"
    # loose: the bug made this take the whole timeout
    assert time.monotonic() - started < 6


def test_epochs_are_throttled_too_when_each_epoch_is_one_batch(qtbot):
    """A tiny dataset (one batch per epoch) makes epochs as fast as steps: they must be
    batched like the steps, or the GUI drowns in epoch updates."""
    from biasviz.core.datasets import TaskData

    full = make_task_data(load_sample(), Task.pair(3, 7))
    tiny = TaskData(full.task, full.class_names, "tiny", "tiny", full.train_x[:40],
                    full.train_y[:40], full.valid_x[:20], full.valid_y[:20])
    trainer = Trainer(ModelSpec(), tiny, TrainConfig())
    worker = TrainingWorker(trainer, epochs=2000, control=TrainingControl(), max_rate=30)
    epochs: list = []
    calls: list = []
    worker.epochsDone.connect(lambda batch: (epochs.extend(batch), calls.append(len(batch))))
    thread = WorkerThread(worker)
    started = time.monotonic()
    with qtbot.waitSignal(thread.finished, timeout=120_000):
        thread.start()
    elapsed = time.monotonic() - started
    qtbot.wait(50)
    assert [e.epoch for e in epochs] == list(range(1, 2001))
    assert len(calls) <= 30 * elapsed + 2
    assert max(calls) > 1, "epochs were not batched"
