"""The training process holds one task's images at a time (issue 14, item 3: the window
and its child within 900 MB with 60,000 images).  Linux only: read from /proc."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from biasviz.core.datasets import Task, TaskData
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.core.train_process import TrainingProcess
from biasviz.core.training import Trainer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

N_TRAIN, N_VALID = 60_000, 5_000  # a full-size training set: its images are 47 MB


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def task_data(seed: int) -> TaskData:
    """Two classes of random images (what they show does not matter here)."""
    rng = np.random.default_rng(seed)
    return TaskData(
        task=Task.pair(3, 7), class_names=("3", "7"), dataset_name=f"random {seed}",
        dataset_key="folder",
        train_x=rng.integers(0, 256, (N_TRAIN, 784), dtype=np.uint8),
        train_y=rng.integers(0, 2, N_TRAIN).astype(np.int64),
        valid_x=rng.integers(0, 256, (N_VALID, 784), dtype=np.uint8),
        valid_y=rng.integers(0, 2, N_VALID).astype(np.int64),
    )


@pytest.fixture
def process():
    proc = TrainingProcess()
    yield proc
    proc.close()


def test_new_images_replace_the_old_ones_in_the_child(process):
    """A run on one task's images, then another task's images, then a run on them: the
    child's peak grows by one set of images, not two (it held the old ones, through
    its serving loop and the finished run's trainer, while the new ones arrived)."""
    process.start()
    pid = process.pid()
    before = status_kib(pid, "VmRSS")
    first, second = task_data(1), task_data(2)
    size_kib = (first.train_x.nbytes + first.valid_x.nbytes) // 1024
    config = TrainConfig(epochs=1, batch_size=256)
    list(process.run(Trainer(ModelSpec(), first, config), 1, process.control()))
    process.preload(second)
    list(process.run(Trainer(ModelSpec(), second, config), 1, process.control()))
    grown = status_kib(pid, "VmHWM") - before
    # one set of images (51 MiB) plus what training needs (a few MiB), far below two
    assert size_kib < grown < 1.5 * size_kib, (grown, size_kib)
