"""The training process holds one task's images at a time (issue 14, item 3: the window
and its child within 900 MB with 60,000 images).  Linux only: read from /proc."""

from __future__ import annotations

import os
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


def test_images_read_from_idx_files_are_mapped_not_copied(process, tmp_path):
    """Images loaded from IDX files lie in shared memory: the child maps them (its own
    anonymous memory does not grow by their size) and trains on them exactly as a run in
    this process does."""
    from biasviz.core.datasets import load_idx_folder, make_task_data
    from biasviz.core.idx import write_idx
    from biasviz.core.shared_images import shared_handle
    from biasviz.core.spec import ModelKind

    rng = np.random.default_rng(5)
    for prefix, n in (("train", 20_000), ("t10k", 2_000)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte",
                  rng.integers(0, 10, n, dtype=np.uint8))
    if not hasattr(os, "memfd_create"):
        pytest.skip("no shared memory here (memfd_create)")
    data = make_task_data(load_idx_folder(tmp_path), Task.all_ten())
    assert shared_handle(data.train_x) is not None and shared_handle(data.valid_x) is not None
    spec = ModelSpec(kind=ModelKind.MLP, n_outputs=10, hidden=8, init="standard")
    config = TrainConfig(epochs=1, lr=0.1, batch_size=64)
    process.start()
    pid = process.pid()
    anon_before = status_kib(pid, "RssAnon")
    here, there = Trainer(spec, data, config), Trainer(spec, data, config)
    expected = [e.loss for e in here.run() if hasattr(e, "loss")]
    got = [e.loss for r in process.run(there, 1, process.control())
           for e in r.events if hasattr(e, "loss")]
    assert got == expected
    for name, a in here.snapshot().params.items():
        np.testing.assert_array_equal(a, there.snapshot().params[name])
    images_kib = (data.train_x.nbytes + data.valid_x.nbytes) // 1024
    assert status_kib(pid, "RssShmem") > 0.9 * images_kib  # it read them, mapped
    assert status_kib(pid, "RssAnon") - anon_before < 0.5 * images_kib  # not copied
