"""How long the live diagnosis takes per new parameter snapshot (and per cached call).

Run: ``.venv/bin/python benchmarks/diagnosis.py``.  Prints the median of 30 calls for
each model kind on 2,000 validation images (a CNN looks at 32 of them).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from biasviz.core.datasets import Task, load_sample, make_task_data, to_float
from biasviz.core.diagnosis import Diagnoser
from biasviz.core.spec import ModelSpec, TrainConfig


def _params(spec: ModelSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {name: rng.normal(0.0, 0.05, shape).astype(np.float32)
            for name, shape in spec.param_shapes().items()}


def main() -> None:
    sample = load_sample()
    rng = np.random.default_rng(0)
    for kind, task in (("single", Task.pair(3, 7)), ("linear", Task.all_ten()),
                       ("mlp", Task.all_ten()), ("cnn", Task.all_ten())):
        data = make_task_data(sample, task)
        # the sample has 1,000 validation images: repeat them to 2,000
        x = np.concatenate([to_float(data.valid_x)] * 2)[:2000]
        y = np.concatenate([data.valid_y] * 2)[:2000]
        spec = ModelSpec(kind=kind, n_outputs=task.n_outputs)
        config = TrainConfig()
        losses = rng.random(5000)
        new, cached = [], []
        diagnoser = Diagnoser()
        for _ in range(30):
            params = _params(spec, rng)  # a new snapshot: a forward pass
            t0 = time.perf_counter()
            diagnoser.diagnose(spec, config, params, x, y, losses)
            t1 = time.perf_counter()
            diagnoser.diagnose(spec, config, params, x, y, losses)  # same snapshot
            t2 = time.perf_counter()
            new.append(t1 - t0)
            cached.append(t2 - t1)
        print(f"{kind:7s} new snapshot {1000 * statistics.median(new):6.2f} ms   "
              f"same snapshot {1000 * statistics.median(cached):5.2f} ms")


if __name__ == "__main__":
    main()
