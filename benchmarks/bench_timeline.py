"""The training timeline over long runs: does it stay in its memory budget, and what does
recording cost the training thread?

For each model (the chapter's single neuron, 3 vs 7 on the bundled sample with the
chapter's recipe; an MLP with 32 hidden neurons on the same task) a run of ``--steps``
steps is recorded the way the CLI and the app do it: ``trainer.snapshot()`` at every
``StepMetrics``, ``Timeline.record(..., copy=False)``, ``mark_epoch_end`` at every
``EpochMetrics``.  By default the neuron really trains and the MLP's steps are simulated
(fresh float32 arrays of the MLP's shapes, a random walk, 4 steps an epoch: what the
timeline sees is the same, and 100,000 real MLP steps take long on a busy 2-core
machine); ``--simulate none`` trains both, ``--simulate all`` neither.  Printed per run:

* the timeline's accounted bytes (largest ever and at the end) against the budget, and
  the bytes Python really holds for it (tracemalloc, measured on a replay of the kept
  moments' shapes: it would slow the timed run down);
* moments kept, the thinning threshold, the widest gap between kept steps, and how
  many epoch ends survived;
* the cost per ``record`` call (mean and 99th percentile) next to the cost of a training
  step and of the snapshot, i.e. how much of the training thread recording takes.

    python benchmarks/bench_timeline.py                   # 100,000 steps each, 64 MB
    python benchmarks/bench_timeline.py --steps 20000 --budget 16
    python benchmarks/bench_timeline.py --only neuron --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from biasviz.core.datasets import Task, load_sample, make_task_data  # noqa: E402
from biasviz.core.spec import ModelSpec  # noqa: E402
from biasviz.core.timeline import Timeline  # noqa: E402
from biasviz.core.training import EpochMetrics, StepMetrics, TrainConfig, Trainer  # noqa: E402

MODELS = {
    # the chapter: SGD, lr 1, batches of 256, mnist_loss (4 steps per epoch on the sample)
    "neuron": (ModelSpec(), TrainConfig()),
    "mlp": (ModelSpec(kind="mlp", hidden=32), TrainConfig(lr=0.1)),
}


class _Simulated:
    """Stands in for a Trainer: the same events and snapshots, no arithmetic."""

    batches_per_epoch = 4

    def __init__(self, spec: ModelSpec) -> None:
        from biasviz.core.spec import Snapshot

        self._snapshot = Snapshot
        self.spec = spec
        rng = np.random.default_rng(0)
        self.params = {k: rng.standard_normal(s).astype(np.float32)
                       for k, s in spec.param_shapes().items()}
        self.rng = rng
        self.step = 0

    def snapshot(self):
        return self._snapshot(self.spec, {k: v.copy() for k, v in self.params.items()},
                              self.step, self.step // 4)

    def run(self, epochs: int):
        for epoch in range(1, epochs + 1):
            for batch in range(1, 5):
                for v in self.params.values():
                    v += np.float32(0.01)  # a cheap stand-in for an update
                self.step += 1
                yield StepMetrics(self.step, epoch, batch, 4, 0.1)
            yield EpochMetrics(epoch, self.step, 0.1, 0.1, 0.9, 0.0)


def run(name: str, steps: int, budget_mb: float, simulate: bool) -> dict:
    spec, config = MODELS[name]
    if simulate:
        trainer = _Simulated(spec)
    else:
        data = make_task_data(load_sample(), Task.parse("3,7"))
        trainer = Trainer(spec, data, config)
    epochs = -(-steps // trainer.batches_per_epoch)
    timeline = Timeline(int(budget_mb * 2**20))
    snap = trainer.snapshot()
    timeline.record(0, 0, snap.params, copy=False)

    record_s: list[float] = []
    snapshot_s = 0.0
    largest = 0
    started = time.perf_counter()
    for event in trainer.run(epochs):
        if isinstance(event, StepMetrics):
            t0 = time.perf_counter()
            snap = trainer.snapshot()
            t1 = time.perf_counter()
            timeline.record(event.step, event.epoch, snap.params, event.loss, copy=False)
            t2 = time.perf_counter()
            snapshot_s += t1 - t0
            record_s.append(t2 - t1)
            largest = max(largest, timeline.nbytes)
            if event.step >= steps:
                break
        elif isinstance(event, EpochMetrics):
            t1 = time.perf_counter()
            timeline.mark_epoch_end(event.step, event.valid_accuracy, event.valid_loss)
            record_s[-1] += time.perf_counter() - t1
    wall = time.perf_counter() - started
    n = len(record_s)
    recs = np.asarray(record_s)
    training_s = wall - snapshot_s - recs.sum()
    step_s = training_s / n
    if simulate:
        # what a real step of this model costs, so the share below means something
        data = make_task_data(load_sample(), Task.parse("3,7"))
        real = Trainer(spec, data, config)
        t0 = time.perf_counter()
        real_steps = sum(isinstance(e, StepMetrics) for e in real.run(50))
        step_s = (time.perf_counter() - t0) / real_steps

    kept = timeline.all()
    moments = [m.step for m in kept]
    per_epoch = trainer.batches_per_epoch
    ends_kept = sum(1 for m in kept if m.epoch_end)

    # What Python really holds for those moments: replay their shapes under tracemalloc.
    template = {k: np.asarray(v) for k, v in kept[0].params.items()}
    tracemalloc.start()
    replay = Timeline(int(budget_mb * 2**20))
    replay.record(0, 0, template)
    for s in range(1, n + 1):
        replay.record(s, (s - 1) // per_epoch + 1, template, 0.1)
        if s % per_epoch == 0:
            replay.mark_epoch_end(s, 0.9, 0.1)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    return {
        "model": name,
        "describe": spec.describe() + (" (simulated steps)" if simulate else ""),
        "steps": n,
        "budget_mb": budget_mb,
        "bytes_per_moment": kept[0].nbytes,
        "largest_accounted_mb": round(largest / 2**20, 2),
        "final_accounted_mb": round(timeline.nbytes / 2**20, 2),
        "python_holds_mb": round(held / 2**20, 2),
        "moments_kept": len(moments),
        "threshold": timeline.threshold,
        "widest_gap_steps": int(max(np.diff(moments))) if len(moments) > 1 else 0,
        "epoch_ends_kept": ends_kept,
        "epochs": n // per_epoch,
        "record_us_median": round(float(np.median(recs)) * 1e6, 2),
        "record_us_mean": round(float(recs.mean()) * 1e6, 2),
        "record_us_p99": round(float(np.percentile(recs, 99)) * 1e6, 2),
        "record_us_max": round(float(recs.max()) * 1e6, 1),
        "snapshot_us_mean": round(snapshot_s / n * 1e6, 2),
        "train_step_us_mean": round(step_s * 1e6, 2),
        # of a training thread that trains, snapshots and records every step
        "record_share_of_step": round(float(recs.mean()) / (step_s + snapshot_s / n
                                                           + float(recs.mean())), 4),
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--budget", type=float, default=64.0, help="MB (default 64)")
    parser.add_argument("--only", choices=sorted(MODELS), default=None)
    parser.add_argument("--simulate", choices=("none", "mlp", "all"), default="mlp")
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args()
    for name in [ns.only] if ns.only else list(MODELS):
        simulate = ns.simulate == "all" or (ns.simulate == "mlp" and name == "mlp")
        result = run(name, ns.steps, ns.budget, simulate)
        if ns.json:
            print(json.dumps(result))
            continue
        r = result
        print(f"{r['describe']}: {r['steps']:,} steps ({r['epochs']:,} epochs), "
              f"{r['wall_s']} s")
        print(f"  memory: budget {r['budget_mb']:g} MB; accounted at most "
              f"{r['largest_accounted_mb']} MB, at the end {r['final_accounted_mb']} MB; "
              f"Python holds {r['python_holds_mb']} MB ({r['bytes_per_moment']:,} B a moment)")
        print(f"  kept: {r['moments_kept']:,} moments, threshold {r['threshold']} "
              f"(every {2 ** r['threshold']}th step), widest gap {r['widest_gap_steps']} "
              f"steps, {r['epoch_ends_kept']:,} of {r['epochs']:,} epoch ends")
        print(f"  cost: record {r['record_us_median']} us median, {r['record_us_mean']} us "
              f"mean, {r['record_us_p99']} us p99, "
              f"{r['record_us_max']} us max; snapshot {r['snapshot_us_mean']} us; "
              f"training step {r['train_step_us_mean']} us"
              f"{' (200 real steps)' if 'simulated' in r['describe'] else ''}; recording = "
              f"{100 * r['record_share_of_step']:.1f}% of the training thread")


if __name__ == "__main__":
    main()
