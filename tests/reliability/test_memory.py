"""Long runs keep memory flat: plot buffers are bounded, snapshots are not kept.

RSS is read from /proc/self/status (Linux; skipped elsewhere).  The bounds are loose on
purpose (150 MiB of growth after warm-up): they catch a leak that grows with the number
of steps (a list of every loss, every snapshot kept), not the allocator's noise.
benchmarks/bench_memory.py prints the same measurements over time.

Default: 200 epochs on the sample's 3s and 7s with batches of 8 (20,000 steps) headless,
and 100 epochs (10,000 steps) through the window; BIASVIZ_LONG_TESTS=1 runs 120,000 and
40,000 steps.
"""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from reliability_helpers import budget, record, rss_mb

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.history import BoundedSeries
from biasviz.core.spec import ModelKind, ModelSpec, TrainConfig

pytestmark = pytest.mark.skipif(rss_mb() is None, reason="needs /proc/self/status (Linux)")

GROWTH_LIMIT_MB = 150
CAPACITY = 4096


def _three_seven():
    return make_task_data(load_sample(), Task.pair(3, 7))


def _flat(samples: list[tuple[int, float]], warmup_fraction: float = 0.2) -> tuple[float, float]:
    """(RSS at the end of warm-up, largest growth above it afterwards)."""
    start = samples[max(0, int(len(samples) * warmup_fraction) - 1)][1]
    after = [r for _, r in samples[int(len(samples) * warmup_fraction) :]]
    return start, max(after) - start


@pytest.mark.parametrize("kind", ["single", "mlp"])
def test_headless_long_run_keeps_memory_flat(kind):
    from biasviz.core.training import EpochMetrics, StepMetrics, Trainer

    data = _three_seven()
    if kind == "single":
        spec, epochs = ModelSpec(), budget(200, 1200)  # 100 batches of 8 per epoch
    else:
        spec, epochs = ModelSpec(kind=ModelKind.MLP, hidden=64, n_outputs=1), budget(40, 400)
    trainer = Trainer(spec, data, TrainConfig(epochs=epochs, batch_size=8, lr=0.05))
    per_epoch = trainer.batches_per_epoch
    losses, smoothed, biases = (BoundedSeries(CAPACITY) for _ in range(3))
    epochs_seen: list[float] = []
    samples: list[tuple[int, float]] = []
    last_snapshot = None
    snapshots = 0
    gc.collect()
    for event in trainer.run():
        if isinstance(event, StepMetrics):
            losses.append(event.step, event.loss)
            smoothed.append(event.step, event.loss)
            if event.bias is not None:
                biases.append(event.step, event.bias)
            # what the GUI worker does, but at every step: a leak would show at once
            last_snapshot = trainer.snapshot()
            snapshots += 1
            if event.step % 1000 == 0:
                samples.append((event.step, rss_mb()))
        elif isinstance(event, EpochMetrics):
            epochs_seen.append(event.valid_accuracy)
    steps = epochs * per_epoch
    assert trainer.step == steps and len(epochs_seen) == epochs
    assert last_snapshot is not None and last_snapshot.step == steps
    for series in (losses, smoothed, biases):
        assert len(series) <= CAPACITY
    assert losses.total == steps
    start, growth = _flat(samples)
    print(f"headless {kind}: {steps:,} steps, {snapshots:,} snapshots; RSS {samples[0][1]:.0f} "
          f"-> {samples[-1][1]:.0f} MiB; after warm-up ({start:.0f} MiB) at most "
          f"+{growth:.1f} MiB")
    assert growth < GROWTH_LIMIT_MB, samples
    record(f"memory: headless steps ({kind})", steps)


@pytest.mark.timeout(900)
def test_gui_long_run_keeps_memory_flat(qtbot, tmp_path):
    from biasviz.gui.main_window import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    s = w.session
    s.load_engine_now()
    epochs = budget(100, 400)
    s.set_config(TrainConfig(epochs=epochs, batch_size=8, lr=0.05))
    w._on_settings_changed()
    per_epoch = s.trainer.batches_per_epoch
    samples: list[tuple[int, float]] = []
    s.start()
    started = time.monotonic()
    tab = 0
    while s.state != "ready" or s.trainer.epoch < epochs:
        qtbot.wait(250)
        step = s.snapshot.step if s.snapshot is not None else 0
        samples.append((step, rss_mb()))
        if len(samples) % 8 == 0:  # every view gets its turn while training
            tab = (tab + 1) % w.tabs.count()
            w.tabs.setCurrentIndex(tab)
        assert time.monotonic() - started < 800, "the run did not finish"
    steps = epochs * per_epoch
    assert s.trainer.step == steps
    assert w.session.history.loss.total == steps
    for series in (w.session.history.loss, w.session.history.smoothed, w.session.history.bias):
        assert len(series) <= series.capacity
    assert len(w.plots.epochs) == epochs
    worker_updates = steps / max(1, len(samples))
    start, growth = _flat(samples)
    print(f"GUI single neuron: {steps:,} steps in {time.monotonic() - started:.0f} s "
          f"({worker_updates:.0f} steps per sample); RSS {samples[0][1]:.0f} -> "
          f"{samples[-1][1]:.0f} MiB; after warm-up ({start:.0f} MiB) at most +{growth:.1f} MiB; "
          f"plot buffers {len(w.session.history.loss)}/{w.session.history.loss.capacity} points "
          f"(stride {w.session.history.loss.stride})")
    assert growth < GROWTH_LIMIT_MB, samples
    record("memory: GUI steps with the window updating", steps)
    w.close()


def test_bounded_series_stays_within_capacity_for_a_million_points():
    s = BoundedSeries(CAPACITY)
    for i in range(1_000_000):
        s.append(i, np.sin(i))
    assert len(s) <= CAPACITY and s.total == 1_000_000
    assert s.x[0] == 0 and s.x[-1] > 1_000_000 - 2 * s.stride
    record("memory: plot buffer points appended", 1_000_000)
