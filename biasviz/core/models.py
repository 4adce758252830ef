"""The torch models, with parameters named as in :mod:`biasviz.core.spec`.

Every model maps float images (batch, 784) in [0, 1] to logits: (batch,) for a
two-class task (the logit of the first class), (batch, 10) for ten classes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from biasviz.core.spec import N_PIXELS, BiasMode, InitKind, ModelKind, ModelSpec, validate_params


class SingleNeuron(nn.Module):
    """One neuron: 784 weights and a bias shaped by :class:`BiasMode`.

    The per-pixel mode is computed literally as the seed question wrote it,
    ``(x*w + b).sum()``, not rewritten as ``x@w + b.sum()`` -- the lesson shows they agree.
    """

    def __init__(self, bias_mode: BiasMode = BiasMode.SCALAR) -> None:
        super().__init__()
        self.bias_mode = BiasMode(bias_mode)
        self.weights = nn.Parameter(torch.zeros(N_PIXELS))
        if self.bias_mode is BiasMode.SCALAR:
            self.bias = nn.Parameter(torch.zeros(1))
        elif self.bias_mode is BiasMode.PER_PIXEL:
            self.bias = nn.Parameter(torch.zeros(N_PIXELS))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias_mode is BiasMode.PER_PIXEL:
            return (x * self.weights + self.bias).sum(dim=1)
        z = x @ self.weights
        if self.bias is not None:
            z = z + self.bias
        return z


class LinearClassifier(nn.Module):
    """Ten neurons side by side: ``weights`` (10, 784) and ``biases`` (10,)."""

    def __init__(self, n_outputs: int = 10) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n_outputs, N_PIXELS))
        self.biases = nn.Parameter(torch.zeros(n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weights.T + self.biases


class Dense(nn.Module):
    """A layer of neurons: ``weights`` (out, in), ``biases`` (out,)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n_out, n_in))
        self.biases = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weights.T + self.biases


class MLP(nn.Module):
    """784 → hidden (ReLU) → outputs."""

    def __init__(self, hidden: int, n_outputs: int) -> None:
        super().__init__()
        self.hidden = Dense(N_PIXELS, hidden)
        self.output = Dense(hidden, n_outputs)
        self.n_outputs = n_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.output(torch.relu(self.hidden(x)))
        return out[:, 0] if self.n_outputs == 1 else out


class Conv(nn.Module):
    """A convolution whose kernels are shared across all positions of the image."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(channels, 1, kernel, kernel))
        self.biases = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(x, self.weights, self.biases)


class SmallCNN(nn.Module):
    """conv (shared K×K kernels) → ReLU → 2×2 max-pool → linear outputs."""

    def __init__(self, channels: int, kernel: int, n_outputs: int) -> None:
        super().__init__()
        self.conv = Conv(channels, kernel)
        pooled = (28 - kernel + 1) // 2
        self.output = Dense(channels * pooled * pooled, n_outputs)
        self.n_outputs = n_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x.reshape(-1, 1, 28, 28)))
        h = torch.nn.functional.max_pool2d(h, 2).flatten(1)
        out = self.output(h)
        return out[:, 0] if self.n_outputs == 1 else out


def build_model(spec: ModelSpec) -> nn.Module:
    """A freshly initialized model for ``spec`` (deterministic for ``spec.seed``)."""
    if spec.kind is ModelKind.SINGLE:
        model: nn.Module = SingleNeuron(spec.bias_mode)
    elif spec.kind is ModelKind.LINEAR:
        model = LinearClassifier(spec.n_outputs)
    elif spec.kind is ModelKind.MLP:
        model = MLP(int(spec.hidden), spec.n_outputs)
    else:
        model = SmallCNN(int(spec.channels), int(spec.kernel), spec.n_outputs)
    initialize(model, spec)
    return model


def fan_in(name: str, shapes: dict[str, tuple[int, ...]]) -> int:
    """How many inputs feed each neuron of the layer that parameter ``name`` belongs to.

    A weight tensor (out, in...) has ``prod(in...)`` inputs per neuron; a single neuron's
    (784,) weights have 784; biases belong to their layer's weights.
    """
    layer, _, _ = name.rpartition(".")
    weights = f"{layer}.weights" if layer else "weights"
    shape = shapes.get(weights, shapes[name])
    return int(np.prod(shape[1:])) if len(shape) >= 2 else int(shape[0])


def initialize(model: nn.Module, spec: ModelSpec) -> None:
    """Set every parameter by ``spec.init``:

    - ``random``: normal(0, std), the chapter's ``init_params``;
    - ``zeros``: every parameter 0;
    - ``standard``: uniform(−1/√fan_in, 1/√fan_in), PyTorch's default for ``nn.Linear``
      and ``nn.Conv2d`` (weights and biases alike).

    Parameters are drawn in a fixed order from one generator seeded with ``spec.seed``,
    so the same spec always gives the same numbers.
    """
    gen = torch.Generator().manual_seed(int(spec.seed))
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if spec.init is InitKind.ZEROS:
                p.zero_()
            elif spec.init is InitKind.STANDARD:
                bound = 1.0 / math.sqrt(fan_in(name, shapes))
                p.copy_((torch.rand(p.shape, generator=gen) * 2.0 - 1.0) * bound)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * float(spec.init_std))


def snapshot_params(model: nn.Module) -> dict[str, np.ndarray]:
    """Copies of the parameters as numpy arrays: safe to hand to another thread."""
    return {name: p.detach().cpu().numpy().copy() for name, p in model.named_parameters()}


def load_params(model: nn.Module, spec: ModelSpec, params: dict[str, np.ndarray]) -> None:
    """Copy ``params`` (checked against ``spec``) into ``model``."""
    checked = validate_params(params, spec)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(checked[name]))


def count_parameters(model: nn.Module) -> int:
    """What torch says: ``sum(p.numel())``."""
    return sum(p.numel() for p in model.parameters())
