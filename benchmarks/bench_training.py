"""Training speed of biasviz's engine next to the fastai chapter's plain loop.

The workload is chapter 04's single neuron (784 weights + one bias, ``xb@weights + bias``,
``mnist_loss``, SGD with lr 1.0, batches of 256, validation after every epoch) on a
12,000-image two-class task:

* Fashion-MNIST classes 3 (Dress) and 7 (Sneaker) from ``/usr/share/datasets/fashion-mnist``
  (exactly 12,000 training and 2,000 validation images) when that folder exists,
* else the bundled sample's 3s and 7s, tiled to 12,000 training images.

Two loops are timed in the same process, alternately, several times each, and the
median is reported:

``engine``  ``biasviz.core.training.Trainer.run`` with every event consumed the way a
            GUI worker does (keep the last one); uint8 images converted per batch.
``plain``   the chapter's loop written out below: float tensors prepared beforehand,
            shuffled index batches, ``p.data -= p.grad*lr; p.grad.zero_()``, and
            ``validate_epoch`` after each epoch.

Also measured: the cost of one ``Trainer.snapshot()`` (what the GUI takes to draw the
weights) and the process's peak resident memory.

Run ``make benchmark`` or ``python benchmarks/bench_training.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biasviz.core.datasets import (  # noqa: E402
    Task,
    TaskData,
    load_idx_folder,
    load_sample,
    make_task_data,
)
from biasviz.core.spec import ModelSpec  # noqa: E402
from biasviz.core.training import TrainConfig, Trainer  # noqa: E402

FASHION_FOLDER = Path("/usr/share/datasets/fashion-mnist")
N_TRAIN = 12_000
LR = 1.0
BATCH = 256
SEED = 0


# -- data ---------------------------------------------------------------------------------
def load_task() -> tuple[TaskData, str]:
    """12,000 training images of two classes, and where they came from."""
    task = Task.pair(3, 7)
    if FASHION_FOLDER.is_dir():
        data = make_task_data(load_idx_folder(FASHION_FOLDER), task)
        source = f"Fashion-MNIST {data.describe()} ({FASHION_FOLDER})"
    else:
        data = make_task_data(load_sample(), task)
        source = f"bundled MNIST sample, 3 vs 7, {data.n_train} images tiled"
    if data.n_train != N_TRAIN:
        reps = int(np.ceil(N_TRAIN / data.n_train))
        data = dataclasses.replace(
            data,
            train_x=np.ascontiguousarray(np.tile(data.train_x, (reps, 1))[:N_TRAIN]),
            train_y=np.ascontiguousarray(np.tile(data.train_y, reps)[:N_TRAIN]),
        )
    return data, source


# -- the engine -----------------------------------------------------------------------------
def chapter_spec() -> ModelSpec:
    return ModelSpec(kind="single", bias_mode="scalar", n_outputs=1, seed=SEED)


def chapter_config(epochs: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, lr=LR, batch_size=BATCH, optimizer="sgd",
                       loss="mnist", seed=SEED)


def run_engine(data: TaskData, epochs: int) -> tuple[float, float]:
    """Seconds for ``epochs`` epochs of Trainer.run, and the last validation accuracy."""
    trainer = Trainer(chapter_spec(), data, chapter_config(epochs))
    last = None
    accuracy = float("nan")
    start = time.perf_counter()
    for event in trainer.run(epochs):
        last = event  # a GUI worker keeps the newest event and drops the rest
        if hasattr(event, "valid_accuracy"):
            accuracy = event.valid_accuracy
    elapsed = time.perf_counter() - start
    assert last is not None and last.reason.value == "finished", last
    return elapsed, accuracy


# -- the chapter's plain loop ------------------------------------------------------------------
class PlainChapter:
    """The chapter's hand-written training loop for one neuron, in plain torch."""

    def __init__(self, data: TaskData) -> None:
        self.train_x = torch.from_numpy(data.train_x).float() / 255
        self.train_y = torch.from_numpy(data.train_y).float().unsqueeze(1)
        self.valid_x = torch.from_numpy(data.valid_x).float() / 255
        self.valid_y = torch.from_numpy(data.valid_y).float().unsqueeze(1)
        self.generator = torch.Generator().manual_seed(SEED)
        torch.manual_seed(SEED)
        self.weights = self.init_params((784, 1))
        self.bias = self.init_params(1)
        self.params = (self.weights, self.bias)

    @staticmethod
    def init_params(size, std: float = 1.0) -> torch.Tensor:
        return (torch.randn(size) * std).requires_grad_()

    def linear1(self, xb: torch.Tensor) -> torch.Tensor:
        return xb @ self.weights + self.bias

    @staticmethod
    def mnist_loss(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        preds = preds.sigmoid()
        return torch.where(targets == 1, 1 - preds, preds).mean()

    def batches(self):
        n = self.train_x.shape[0]
        order = torch.randperm(n, generator=self.generator)
        for start in range(0, n, BATCH):
            idx = order[start : start + BATCH]
            yield self.train_x[idx], self.train_y[idx]

    def valid_batches(self):
        for start in range(0, self.valid_x.shape[0], BATCH):
            yield self.valid_x[start : start + BATCH], self.valid_y[start : start + BATCH]

    def train_epoch(self, lr: float) -> None:
        for xb, yb in self.batches():
            preds = self.linear1(xb)
            loss = self.mnist_loss(preds, yb)
            loss.backward()
            for p in self.params:
                p.data -= p.grad * lr
                p.grad.zero_()

    @staticmethod
    def batch_accuracy(preds: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        correct = (preds.sigmoid() > 0.5) == yb
        return correct.float().mean()

    def validate_epoch(self) -> float:
        accs = [self.batch_accuracy(self.linear1(xb), yb) for xb, yb in self.valid_batches()]
        return round(torch.stack(accs).mean().item(), 4)


def run_plain(data: TaskData, epochs: int) -> tuple[float, float]:
    chapter = PlainChapter(data)
    accuracy = float("nan")
    start = time.perf_counter()
    for _ in range(epochs):
        chapter.train_epoch(LR)
        accuracy = chapter.validate_epoch()
    return time.perf_counter() - start, accuracy


# -- other measurements ------------------------------------------------------------------------
def snapshot_cost(data: TaskData, calls: int) -> float:
    """Median seconds of one Trainer.snapshot() after a training step (with last update)."""
    trainer = Trainer(chapter_spec(), data, chapter_config(1))
    run = trainer.run(1)
    next(run)  # one step, so the snapshot includes the last update
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        trainer.snapshot()
        times.append(time.perf_counter() - t0)
    run.close()
    return statistics.median(times)


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20  # KiB on Linux


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": "CUDA available" if torch.cuda.is_available() else "none (CPU only)",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "os": platform.platform(),
    }


# -- main --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs and repeats (a smoke run, noisier figures)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per measurement")
    parser.add_argument("--repeats", type=int, default=None, help="measurements per loop")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's, one per core)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    epochs = args.epochs or (2 if args.quick else 5)
    repeats = args.repeats or (3 if args.quick else 11)

    data, source = load_task()
    samples = data.n_train * epochs
    info = machine()
    print(f"data: {source}: {data.n_train:,} train / {data.n_valid:,} valid images")
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
          f"({info['torch_threads']} threads), GPU: {info['gpu']}")
    print(f"workload: single neuron, scalar bias, SGD lr {LR}, batch {BATCH}, mnist_loss; "
          f"{epochs} epoch(s) per measurement, {repeats} measurements per loop, alternating")

    run_engine(data, 1)  # warm-up: first-call costs (allocator, dispatch caches)
    run_plain(data, 1)
    engine_times, plain_times = [], []
    engine_acc = plain_acc = float("nan")
    for i in range(repeats):
        loops = (("engine", run_engine), ("plain", run_plain))
        for name, fn in loops if i % 2 == 0 else loops[::-1]:
            seconds, acc = fn(data, epochs)
            (engine_times if name == "engine" else plain_times).append(seconds)
            if name == "engine":
                engine_acc = acc
            else:
                plain_acc = acc
    engine_sps = samples / statistics.median(engine_times)
    plain_sps = samples / statistics.median(plain_times)
    snap = snapshot_cost(data, 50 if args.quick else 500)
    rss = peak_rss_mib()

    def best(times: list[float]) -> float:
        return samples / min(times)

    engine_best, plain_best = best(engine_times), best(plain_times)
    print()
    print(f"{'loop':<8} {'samples/s median':>17} {'best':>10} {'µs/batch':>9} {'valid acc':>10}")
    batches = epochs * -(-data.n_train // BATCH)
    for name, sps, top, acc, times in (
        ("engine", engine_sps, engine_best, engine_acc, engine_times),
        ("plain", plain_sps, plain_best, plain_acc, plain_times),
    ):
        per_batch = statistics.median(times) / batches * 1e6
        print(f"{name:<8} {sps:>17,.0f} {top:>10,.0f} {per_batch:>9.0f} {acc:>10.4f}")
    print(f"ratio engine/plain: {engine_sps / plain_sps:.2f} (median), "
          f"{engine_best / plain_best:.2f} (best)")
    print(f"Trainer.snapshot(): {snap * 1e6:.0f} µs (median)")
    print(f"peak RSS: {rss:.0f} MiB")
    load_after = os.getloadavg()[0]
    print(f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after "
          f"(above ~0.5 other programs competed for the {info['cores']} cores: noisy figures)")
    if args.json:
        print(json.dumps({
            "date": datetime.date.today().isoformat(),
            "data": source,
            "epochs": epochs,
            "repeats": repeats,
            "engine_samples_per_s": engine_sps,
            "plain_samples_per_s": plain_sps,
            "engine_times_s": engine_times,
            "plain_times_s": plain_times,
            "ratio": engine_sps / plain_sps,
            "engine_best_samples_per_s": engine_best,
            "plain_best_samples_per_s": plain_best,
            "ratio_best": engine_best / plain_best,
            "engine_valid_accuracy": engine_acc,
            "plain_valid_accuracy": plain_acc,
            "snapshot_us": snap * 1e6,
            "peak_rss_mib": rss,
            "load_average": [load_before, load_after],
            "machine": info,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
