"""How close the training engine runs to this machine's limit (issue 14, item 2).

Two workloads, each timed as several loops run in the same process, interleaved
(round-robin, the order rotating every round), reporting the median of each:

**Single neuron**: the fastai chapter's model (784 weights + one bias, mnist_loss, SGD
lr 1.0, batches of 256, validation after every epoch) on Fashion-MNIST Dress vs Sneaker
(12,000 training / 2,000 validation images; the bundled sample's 3s and 7s tiled to
12,000 when the Fashion folder is missing).

* ``engine``        ``Trainer.run`` as the app uses it (numpy engine, uint8 images)
* ``engine-torch``  the same with ``engine="torch"``: autograd, the engine before
* ``plain``         the chapter's loop exactly as the chapter writes it: float images
                    prepared beforehand, ``xb@weights + bias``, ``mnist_loss``,
                    ``loss.backward()``, ``p.data -= p.grad*lr; p.grad.zero_()``
* ``torch-nograd``  the numpy engine's closed-form step written with torch ops and no
                    autograd: the alternative that was measured and not chosen

Target: engine / plain ≥ 3.

**MLP** 784-64-10, ReLU, cross-entropy, SGD lr 0.1, batches of 32, on the 60,000 Fashion
images, validation on the 10,000 test images after every epoch:

* ``engine``, ``engine-torch`` as above
* ``plain-numpy``   a plain numpy MLP with hand-written backprop, float32 images
                    prepared beforehand (how neural-network-digits, the closest peer app,
                    trains), numpy's BLAS threads left as they are (one per core)
* ``plain-numpy-1t`` the same with one BLAS thread, as the engine runs (see
                    ``engine_numpy.hold_one_blas_thread``): the plain loop at its best here
* ``torch-nograd``  the same closed-form MLP step in torch ops without autograd

Target: engine / plain-numpy ≥ 1.0.

The machine is shared: other programs compete for its cores, so single runs vary a lot;
medians of interleaved runs are reported with the load average before and after.  Run
``python benchmarks/bench_engine.py [--quick] [--threads N]``; with ``OPENBLAS_NUM_THREADS=1``
in the environment numpy's BLAS uses one thread.  Not part of the test run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
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
from biasviz.core.spec import ModelSpec, TrainConfig  # noqa: E402
from biasviz.core.training import Trainer  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")
SEED = 0


# -- data -----------------------------------------------------------------------------------
def load_pair() -> tuple[TaskData, str]:
    task = Task.pair(3, 7)
    if FASHION.is_dir():
        data = make_task_data(load_idx_folder(FASHION), task)
        return data, f"Fashion-MNIST {data.describe()}"
    data = make_task_data(load_sample(), task)
    reps = -(-12_000 // data.n_train)
    data = dataclasses.replace(
        data,
        train_x=np.ascontiguousarray(np.tile(data.train_x, (reps, 1))[:12_000]),
        train_y=np.ascontiguousarray(np.tile(data.train_y, reps)[:12_000]),
    )
    return data, "bundled sample 3 vs 7, tiled to 12,000 (no Fashion-MNIST folder)"


def load_ten() -> tuple[TaskData, str]:
    if FASHION.is_dir():
        data = make_task_data(load_idx_folder(FASHION), Task.all_ten())
        return data, f"Fashion-MNIST, ten classes ({FASHION})"
    data = make_task_data(load_sample(), Task.all_ten())
    return data, "bundled sample, ten classes (no Fashion-MNIST folder: figures not comparable)"


# -- the engine ----------------------------------------------------------------------------
def run_trainer(spec: ModelSpec, data: TaskData, config: TrainConfig, epochs: int,
                engine: str) -> float:
    """Seconds for ``epochs`` epochs of Trainer.run, events consumed as a GUI worker does."""
    trainer = Trainer(spec, data, config, engine=engine)
    start = time.perf_counter()
    last = None
    for event in trainer.run(epochs):
        last = event
    elapsed = time.perf_counter() - start
    assert last is not None and last.reason.value == "finished", last
    return elapsed


# -- the chapter's plain loop ----------------------------------------------------------------
def plain_chapter(data: TaskData, epochs: int, lr: float = 1.0, bs: int = 256) -> float:
    """The chapter's single neuron, written as the chapter writes it."""
    train_x = torch.from_numpy(data.train_x).float() / 255
    train_y = torch.from_numpy(data.train_y).float().unsqueeze(1)
    valid_x = torch.from_numpy(data.valid_x).float() / 255
    valid_y = torch.from_numpy(data.valid_y).float().unsqueeze(1)
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)

    def init_params(size, std=1.0):
        return (torch.randn(size) * std).requires_grad_()

    weights = init_params((28 * 28, 1))
    bias = init_params(1)
    params = weights, bias

    def linear1(xb):
        return xb @ weights + bias

    def mnist_loss(predictions, targets):
        predictions = predictions.sigmoid()
        return torch.where(targets == 1, 1 - predictions, predictions).mean()

    def batch_accuracy(xb, yb):
        correct = (xb.sigmoid() > 0.5) == yb
        return correct.float().mean()

    start = time.perf_counter()
    n = train_x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            xb, yb = train_x[idx], train_y[idx]
            loss = mnist_loss(linear1(xb), yb)
            loss.backward()
            for p in params:
                p.data -= p.grad * lr
                p.grad.zero_()
        accs = [batch_accuracy(linear1(valid_x[i : i + bs]), valid_y[i : i + bs])
                for i in range(0, len(valid_x), bs)]
        round(torch.stack(accs).mean().item(), 4)
    return time.perf_counter() - start


def torch_nograd_neuron(data: TaskData, epochs: int, lr: float = 1.0, bs: int = 256) -> float:
    """The numpy engine's single-neuron step, in torch ops without autograd."""
    x = torch.from_numpy(data.train_x)
    t = torch.from_numpy(data.train_y).float()
    gen = torch.Generator().manual_seed(SEED)
    w = torch.randn(784, generator=gen)
    b = torch.randn(1, generator=gen)
    xb_u8 = torch.empty((bs, 784), dtype=torch.uint8)
    xb_f = torch.empty((bs, 784))
    scale = 1.0 / 255.0
    start = time.perf_counter()
    n = x.shape[0]
    with torch.no_grad():
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            for i in range(0, n, bs):
                idx = order[i : i + bs]
                m = len(idx)
                torch.index_select(x, 0, idx, out=xb_u8[:m])
                xf = xb_f[:m]
                xf.copy_(xb_u8[:m])
                z = torch.mv(xf, w).mul_(scale).add_(b)
                p = z.sigmoid()
                tb = t[idx]
                s = 1 - 2 * tb
                float((tb.sum() + s.dot(p)) / m)  # the loss, as the engine reports it
                dz = (1 - p).mul_(p).mul_(s).mul_(-lr / m)
                w.add_(torch.mv(xf.T, dz), alpha=scale)
                b.add_(dz.sum())
                bool(torch.isfinite(w).all())
            vx = torch.from_numpy(data.valid_x).float()
            ((torch.mv(vx, w) * scale + b >= 0).long() == torch.from_numpy(data.valid_y)).float().mean()
    return time.perf_counter() - start


# -- the plain numpy MLP ---------------------------------------------------------------------
def plain_numpy_mlp(data: TaskData, epochs: int, hidden: int = 64, lr: float = 0.1,
                    bs: int = 32) -> float:
    """A plain numpy MLP with hand-written backprop, float32, images prepared beforehand."""
    rng = np.random.default_rng(SEED)
    x = data.train_x.astype(np.float32) / 255
    y = data.train_y
    vx = data.valid_x.astype(np.float32) / 255
    w1 = (rng.standard_normal((784, hidden)) * 0.1).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    w2 = (rng.standard_normal((hidden, 10)) * 0.1).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    n = len(y)
    start = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            xb, yb = x[idx], y[idx]
            m = len(idx)
            a = xb @ w1 + b1
            h = np.maximum(a, 0)
            z = h @ w2 + b2
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            probs = e / e.sum(axis=1, keepdims=True)
            float(-np.log(probs[np.arange(m), yb]).mean())  # the loss, reported per batch
            dz = probs
            dz[np.arange(m), yb] -= 1
            dz /= m
            dw2 = h.T @ dz
            db2 = dz.sum(axis=0)
            dh = dz @ w2.T
            dh[a <= 0] = 0
            dw1 = xb.T @ dh
            db1 = dh.sum(axis=0)
            w1 -= lr * dw1
            b1 -= lr * db1
            w2 -= lr * dw2
            b2 -= lr * db2
        va = np.maximum(vx @ w1 + b1, 0) @ w2 + b2
        float(np.mean(va.argmax(axis=1) == data.valid_y))
    return time.perf_counter() - start


def torch_nograd_mlp(data: TaskData, epochs: int, hidden: int = 64, lr: float = 0.1,
                     bs: int = 32) -> float:
    """The numpy engine's MLP step in torch ops without autograd (uint8 images)."""
    gen = torch.Generator().manual_seed(SEED)
    x = torch.from_numpy(data.train_x)
    y = torch.from_numpy(data.train_y)
    w1 = torch.randn((hidden, 784), generator=gen) * 0.1
    b1 = torch.zeros(hidden)
    w2 = torch.randn((10, hidden), generator=gen) * 0.1
    b2 = torch.zeros(10)
    scale = 1.0 / 255.0
    n = len(y)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            for i in range(0, n, bs):
                idx = order[i : i + bs]
                m = len(idx)
                xb = torch.index_select(x, 0, idx).to(torch.float32)
                yb = y[idx]
                a = torch.addmm(b1, xb, w1.T, alpha=scale)
                h = a.clamp_min(0)
                z = torch.addmm(b2, h, w2.T)
                logp = torch.log_softmax(z, dim=1)
                float(-logp[torch.arange(m), yb].mean())
                dz = logp.exp_()
                dz[torch.arange(m), yb] -= 1
                dz.mul_(-lr / m)
                dh = (dz @ w2).mul_(a > 0)
                w2.add_(dz.T @ h)
                b2.add_(dz.sum(0))
                w1.add_(dh.T @ xb, alpha=scale)
                b1.add_(dh.sum(0))
            vx = torch.from_numpy(data.valid_x).float() / 255
            (torch.relu(vx @ w1.T + b1) @ w2.T + b2).argmax(1)
    return time.perf_counter() - start


def one_blas_thread(fn: Callable[..., float], *args) -> float:
    """``fn(*args)`` with numpy's BLAS limited to one thread, as the engine runs."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return fn(*args)


# -- timing -----------------------------------------------------------------------------------
def interleave(loops: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run every loop once per round, rotating the order each round; seconds per run."""
    names = list(loops)
    for name in names:  # warm-up: first-call costs (allocator, dispatch caches, BLAS)
        loops[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            times[name].append(loops[name]())
    return times


def report(title: str, times: dict[str, list[float]], samples: int, reference: str,
           target: float) -> dict[str, float]:
    print(f"\n{title}")
    print(f"{'loop':<14} {'samples/s (median)':>19} {'best':>11} {'vs ' + reference:>16}")
    medians = {name: samples / statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:<14} {medians[name]:>19,.0f} {samples / min(t):>11,.0f} "
              f"{medians[name] / medians[reference]:>15.2f}×")
    ratio = medians["engine"] / medians[reference]
    verdict = "meets" if ratio >= target else "misses"
    print(f"engine / {reference}: {ratio:.2f}× (median; target ≥ {target:g}×: {verdict})")
    return medians


def blas_info() -> str:
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        name = f"{blas['name']} {blas.get('version', '')}".strip()
    except (AttributeError, KeyError):
        name = "unknown BLAS"
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return f"{name}, threads: {threads or 'default (one per core)'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--only", choices=("neuron", "mlp"), default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 9)
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); numpy {np.__version__} ({blas_info()})")
    print(f"load average before: {load_before[0]:.2f} (1 min), {load_before[1]:.2f} (5 min) "
          "-- the machine is shared: other programs compete for its cores")

    if args.only in (None, "neuron"):
        data, source = load_pair()
        epochs = 5
        spec = ModelSpec(kind="single", bias_mode="scalar", n_outputs=1, seed=SEED)
        config = TrainConfig(epochs=epochs, lr=1.0, batch_size=256, loss="mnist", seed=SEED)
        times = interleave({
            "engine": lambda: run_trainer(spec, data, config, epochs, "auto"),
            "engine-torch": lambda: run_trainer(spec, data, config, epochs, "torch"),
            "plain": lambda: plain_chapter(data, epochs),
            "torch-nograd": lambda: torch_nograd_neuron(data, epochs),
        }, repeats)
        report(f"Single neuron, {source}: {data.n_train:,} images × {epochs} epochs, "
               f"{repeats} interleaved runs", times, data.n_train * epochs, "plain", 3.0)

    if args.only in (None, "mlp"):
        data, source = load_ten()
        epochs = 1
        spec = ModelSpec(kind="mlp", hidden=64, n_outputs=10, init_std=0.1, seed=SEED)
        config = TrainConfig(epochs=epochs, lr=0.1, batch_size=32, seed=SEED)
        mlp_repeats = max(3, repeats // 2)
        times = interleave({
            "engine": lambda: run_trainer(spec, data, config, epochs, "auto"),
            "engine-torch": lambda: run_trainer(spec, data, config, epochs, "torch"),
            "plain-numpy": lambda: plain_numpy_mlp(data, epochs),
            "plain-numpy-1t": lambda: one_blas_thread(plain_numpy_mlp, data, epochs),
            "torch-nograd": lambda: torch_nograd_mlp(data, epochs),
        }, mlp_repeats)
        report(f"MLP 784-64-10, batch 32, {source}: {data.n_train:,} images × {epochs} epoch, "
               f"{mlp_repeats} interleaved runs", times, data.n_train * epochs,
               "plain-numpy", 1.0)

    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} (1 min); above ~0.5 the figures are "
          "noisy (other programs took cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
