"""What the weight image shows, decided without Qt: which neurons, under which labels and
title, and whether it shows the weights w or what training changed, w − w₀."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, first_layer

#: Tiles the weight view draws at most (a 4096-unit hidden layer would be unreadable).
MAX_TILES = 64


@dataclass(frozen=True)
class WeightDisplay:
    weights: np.ndarray  # (k, side*side), k ≤ MAX_TILES
    biases: np.ndarray  # (k,)
    labels: list[str]
    side: int
    title: str
    note: str
    delta: bool  # showing w − w₀
    total: int  # neurons in the layer (k may be fewer)


def first_layer_names(spec: ModelSpec, k: int, class_names: Sequence[str] = ()) -> list[str]:
    """What each of the first layer's ``k`` neurons is called: "3 vs 7" (the single
    neuron), the class it scores ("output i" without names), "hidden i", "kernel i"."""
    if spec.kind is ModelKind.SINGLE:
        return [f"{class_names[0]} vs {class_names[1]}"] if len(class_names) >= 2 else [""]
    if spec.kind is ModelKind.LINEAR:
        labels = [str(c) for c in class_names][:k]
        return labels + [f"output {i}" for i in range(len(labels), k)]
    if spec.kind is ModelKind.MLP:
        return [f"hidden {i}" for i in range(k)]
    return [f"kernel {i}" for i in range(k)]


def weight_display(
    params: dict[str, np.ndarray],
    spec: ModelSpec,
    class_names: Sequence[str],
    initial_params: dict[str, np.ndarray] | None = None,
    delta: bool = False,
    max_tiles: int = MAX_TILES,
) -> WeightDisplay:
    """The first layer's neurons as the weight view should draw them.

    ``delta`` shows w − w₀ (needs ``initial_params``): with the chapter's std-1 start the
    learned template hides under the noise of w₀, and the difference shows it.
    """
    weights, biases = first_layer(params, spec)
    delta = bool(delta and initial_params is not None)
    if delta and initial_params is not None:
        weights = weights - first_layer(initial_params, spec)[0]
    k = weights.shape[0]
    labels = first_layer_names(spec, k, class_names)
    if spec.kind is ModelKind.SINGLE:
        title = "The neuron's 784 weights"
    elif spec.kind is ModelKind.LINEAR:
        title = "Ten neurons, one per class"
    elif spec.kind is ModelKind.MLP:
        title = f"Hidden neurons ({max_tiles} of {k} shown)" if k > max_tiles else "Hidden neurons"
    else:
        title = f"Convolution kernels {spec.kernel}×{spec.kernel} (shared everywhere)"
    if delta:
        title = "Change since initialization: w − w₀"
    side = int(spec.kernel) if spec.kind is ModelKind.CNN else 28
    note = ""
    if spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.PER_PIXEL:
        note = "bias shown is Σbᵢ, the sum of the 784 per-pixel biases"
    elif spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.NONE:
        note = "no bias: a blank image always gets z = 0, σ = 0.5"
    return WeightDisplay(
        weights=np.asarray(weights[:max_tiles]),
        biases=np.asarray(biases[:max_tiles]),
        labels=labels[:max_tiles],
        side=side,
        title=title,
        note=note,
        delta=delta,
        total=k,
    )
