"""Compare two runs: pin one (its curves, weights and settings), train another, and name
what differs between them ("lr 1 → 0.1, init std 1 → 0.01")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from biasviz.core.datasets import Task
from biasviz.core.spec import ModelSpec, TrainConfig, first_layer

#: Settings worth naming, in the order a learner thinks of them, with short labels.
FIELDS: tuple[tuple[str, str], ...] = (
    ("kind", "model"), ("bias_mode", "bias"), ("hidden", "hidden"), ("channels", "kernels"),
    ("init", "init"), ("init_std", "init std"), ("seed", "seed"), ("optimizer", "optimizer"),
    ("loss", "loss"), ("lr", "lr"), ("batch_size", "batch"),
)


@dataclass(frozen=True)
class PinnedRun:
    spec: ModelSpec
    config: TrainConfig
    task: Task
    steps: int
    accuracy: float | None
    history: dict[str, tuple[np.ndarray, np.ndarray]]  # series name → (x, y) copies
    first_layer: np.ndarray  # (k, side*side) weights of the first layer, as pinned
    first_biases: np.ndarray  # (k,)
    first_layer_delta: np.ndarray  # the same minus the initial weights: w − w₀


def pin(model: Any) -> PinnedRun:
    """Copies of what a run looks like now (an AppModel)."""
    h = model.history
    series = {name: (getattr(h, name).x.copy(), getattr(h, name).y.copy())
              for name in ("loss", "smoothed", "valid_loss", "accuracy")}
    weights, biases = first_layer(model.snapshot.params, model.spec)
    initial = model.initial_params or model.snapshot.params
    w0, _ = first_layer(initial, model.spec)
    return PinnedRun(model.spec, model.config, model.task, model.snapshot.step,
                     model.last_accuracy, series, np.array(weights, dtype=np.float32),
                     np.array(biases, dtype=np.float32),
                     np.array(weights - w0, dtype=np.float32))


def _value(spec: ModelSpec, config: TrainConfig, name: str) -> Any:
    value = getattr(spec, name) if hasattr(spec, name) else getattr(config, name)
    return getattr(value, "value", value)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")


def difference(pinned: PinnedRun, spec: ModelSpec, config: TrainConfig,
               task: Task) -> tuple[str, str]:
    """Labels for the legend: what the pinned run had and what the current one has, for
    the settings that differ ("lr 1", "lr 0.1"); "same settings" when none do."""
    then, now = [], []
    if pinned.task != task:
        then.append(f"task {pinned.task.to_text()}")
        now.append(f"task {task.to_text()}")
    for name, label in FIELDS:
        a, b = _value(pinned.spec, pinned.config, name), _value(spec, config, name)
        if a != b:
            then.append(f"{label} {_fmt(a)}")
            now.append(f"{label} {_fmt(b)}")
    if not then:
        return "same settings", "same settings"
    return ", ".join(then), ", ".join(now)
