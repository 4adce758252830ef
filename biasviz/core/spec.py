"""What a model is, without torch: its description, parameter names and counts, and a
numpy forward pass.

The GUI, the parameter files and the decision helpers work on plain numpy arrays
("parameter snapshots") described by a :class:`ModelSpec`; only training needs torch.
Keeping this module torch-free lets the first window appear before torch is imported.

Parameter names (the keys of a snapshot):

============  ==========================================================
single        ``weights`` (784,), ``bias`` (1,) | (784,) | absent
linear        ``weights`` (10, 784), ``biases`` (10,)
mlp           ``hidden.weights`` (H, 784), ``hidden.biases`` (H,),
              ``output.weights`` (O, H), ``output.biases`` (O,)
cnn           ``conv.weights`` (C, 1, K, K), ``conv.biases`` (C,),
              ``output.weights`` (O, C*P*P), ``output.biases`` (O,)
============  ==========================================================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from biasviz.core.errors import ConfigError

N_PIXELS = 784


class BiasMode(StrEnum):
    """How a single neuron's bias is shaped (seed 000's question)."""

    SCALAR = "scalar"  # (x*w).sum() + b   -- the chapter's xb@weights + bias
    PER_PIXEL = "per_pixel"  # (x*w + b).sum()  -- 784 biases, acting only through their sum
    NONE = "none"  # x@w               -- the decision boundary must pass through the origin


class ModelKind(StrEnum):
    SINGLE = "single"  # one neuron: 784 weights + a bias (two-class tasks)
    LINEAR = "linear"  # ten neurons, each 784 weights + 1 bias
    MLP = "mlp"  # one hidden layer of H neurons, ReLU, then the output layer
    CNN = "cnn"  # a convolution with shared kernels, ReLU, 2x2 max-pool, then linear


class InitKind(StrEnum):
    RANDOM = "random"  # normal(0, std), the chapter's init_params
    ZEROS = "zeros"  # every parameter 0: fine for one neuron, breaks a hidden layer
    # uniform(±1/√fan_in) for weights and biases: PyTorch's own default for nn.Linear and
    # nn.Conv2d.  Scaling to fan-in keeps w·x of order 1 however many inputs a neuron has.
    STANDARD = "standard"


MODEL_LABELS = {
    ModelKind.SINGLE: "Single neuron",
    ModelKind.LINEAR: "Linear (ten neurons)",
    ModelKind.MLP: "MLP (one hidden layer)",
    ModelKind.CNN: "Small CNN (shared kernels)",
}

BIAS_LABELS = {
    BiasMode.SCALAR: "one bias: (x·w).sum() + b",
    BiasMode.PER_PIXEL: "one bias per pixel: (x·w + b).sum()",
    BiasMode.NONE: "no bias: x·w",
}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build a model and read its parameters.

    ``n_outputs`` is 1 for a two-class task (one logit, for the first class) and 10 for
    ten classes.  ``seed`` fixes the initialization.
    """

    kind: ModelKind = ModelKind.SINGLE
    bias_mode: BiasMode = BiasMode.SCALAR
    n_outputs: int = 1
    hidden: int = 32
    channels: int = 8
    kernel: int = 5
    init: InitKind = InitKind.RANDOM
    init_std: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        # Accept plain strings (from the CLI, JSON files, QSettings).
        for name, enum in (("kind", ModelKind), ("bias_mode", BiasMode), ("init", InitKind)):
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(str(value).lower().replace("-", "_")))
                except ValueError:
                    choices = ", ".join(e.value for e in enum)
                    raise ConfigError(f"unknown {name} {value!r}: choose {choices}") from None
        if self.n_outputs not in (1, 10):
            raise ConfigError(f"n_outputs must be 1 (two classes) or 10, got {self.n_outputs}")
        if self.kind is ModelKind.SINGLE and self.n_outputs != 1:
            raise ConfigError(
                "a single neuron answers one yes/no question: pick a two-class task, "
                "or the linear model for ten classes"
            )
        if self.kind is ModelKind.LINEAR and self.n_outputs != 10:
            raise ConfigError(
                "the linear ten-neuron model is for ten classes; for two classes use the "
                "single neuron"
            )
        if not 1 <= int(self.hidden) <= 4096:
            raise ConfigError(f"hidden size must be between 1 and 4096, got {self.hidden}")
        if not 1 <= int(self.channels) <= 64:
            raise ConfigError(f"channels must be between 1 and 64, got {self.channels}")
        if int(self.kernel) not in (3, 5, 7):
            raise ConfigError(f"kernel size must be 3, 5 or 7, got {self.kernel}")
        if not (np.isfinite(self.init_std) and self.init_std >= 0):
            raise ConfigError(f"init std must be a finite number ≥ 0, got {self.init_std}")

    # -- descriptions ---------------------------------------------------------------
    def describe(self) -> str:
        if self.kind is ModelKind.SINGLE:
            return f"Single neuron, {BIAS_LABELS[self.bias_mode]}"
        if self.kind is ModelKind.MLP:
            return f"MLP: 784 → {self.hidden} (ReLU) → {self.n_outputs}"
        if self.kind is ModelKind.CNN:
            return (
                f"CNN: {self.channels} kernels {self.kernel}×{self.kernel} → ReLU → "
                f"max-pool 2 → {self.n_outputs}"
            )
        return "Linear: 784 → 10"

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("kind", "bias_mode", "init"):
            d[k] = d[k].value
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        try:
            for k in ("n_outputs", "hidden", "channels", "kernel", "seed"):
                if k in known:
                    known[k] = int(known[k])
            if "init_std" in known:
                known["init_std"] = float(known["init_std"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bad model description: {exc}") from None
        return cls(**known)

    # -- shapes -----------------------------------------------------------------------
    @property
    def conv_out_side(self) -> int:
        """Side of the conv output (valid padding, stride 1) before pooling."""
        return 28 - self.kernel + 1

    @property
    def pooled_side(self) -> int:
        return self.conv_out_side // 2

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of every parameter, in a fixed order."""
        if self.kind is ModelKind.SINGLE:
            shapes: dict[str, tuple[int, ...]] = {"weights": (N_PIXELS,)}
            if self.bias_mode is BiasMode.SCALAR:
                shapes["bias"] = (1,)
            elif self.bias_mode is BiasMode.PER_PIXEL:
                shapes["bias"] = (N_PIXELS,)
            return shapes
        if self.kind is ModelKind.LINEAR:
            return {"weights": (10, N_PIXELS), "biases": (10,)}
        if self.kind is ModelKind.MLP:
            h, o = int(self.hidden), self.n_outputs
            return {
                "hidden.weights": (h, N_PIXELS),
                "hidden.biases": (h,),
                "output.weights": (o, h),
                "output.biases": (o,),
            }
        c, k, p, o = int(self.channels), int(self.kernel), self.pooled_side, self.n_outputs
        return {
            "conv.weights": (c, 1, k, k),
            "conv.biases": (c,),
            "output.weights": (o, c * p * p),
            "output.biases": (o,),
        }

    def layer_counts(self) -> list[LayerCount]:
        """Weights and biases of each layer, counted from the shapes."""
        shapes = self.param_shapes()
        layers: dict[str, list[int]] = {}
        for name, shape in shapes.items():
            layer, _, kind = name.rpartition(".")
            if not layer:  # top-level names: the single neuron, or the linear layer
                layer = "neuron" if self.kind is ModelKind.SINGLE else "output"
            n = int(np.prod(shape))
            entry = layers.setdefault(layer, [0, 0])
            entry[0 if kind.startswith("weight") else 1] += n
        return [LayerCount(name, w, b) for name, (w, b) in layers.items()]


@dataclass(frozen=True)
class LayerCount:
    layer: str
    weights: int
    biases: int

    @property
    def total(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class Snapshot:
    """Copies of a model's parameters at one moment, safe to hand to another thread."""

    spec: ModelSpec
    params: dict[str, np.ndarray]
    step: int = 0
    epoch: int = 0
    last_update: dict[str, np.ndarray] | None = None  # change made by the last step


def total_parameters(spec: ModelSpec) -> int:
    return sum(c.total for c in spec.layer_counts())


# -- numpy forward pass ---------------------------------------------------------------
def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


def conv_valid(x: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Cross-correlation (what torch calls conv2d), stride 1, no padding.

    x: (n, 28, 28); kernels: (c, 1, k, k) → (n, c, s, s) with s = 28 - k + 1.
    """
    k = kernels.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # n,s,s,k,k
    return np.einsum("nijab,cab->ncij", windows, kernels[:, 0], optimize=True)


def maxpool2(a: np.ndarray) -> np.ndarray:
    """2×2 max-pooling, stride 2 (an odd last row or column is dropped, as in torch).

    The maximum of four strided views: numpy's reduction over two small interleaved axes
    (a reshape to (n, c, p, 2, p, 2) and ``max(axis=(3, 5))``) took 9× as long, most of a
    CNN's scoring time."""
    s = a.shape[-1]
    p = s // 2
    a = a[:, :, : 2 * p, : 2 * p]
    return np.maximum(np.maximum(a[:, :, 0::2, 0::2], a[:, :, 0::2, 1::2]),
                      np.maximum(a[:, :, 1::2, 0::2], a[:, :, 1::2, 1::2]))


def hidden_activations(params: dict[str, np.ndarray], spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Activations that feed the output layer (MLP hidden ReLUs, CNN pooled features)."""
    x = np.asarray(x, dtype=np.float32).reshape(-1, N_PIXELS)
    if spec.kind is ModelKind.MLP:
        return _relu(x @ params["hidden.weights"].T + params["hidden.biases"])
    if spec.kind is ModelKind.CNN:
        conv = conv_valid(x.reshape(-1, 28, 28), params["conv.weights"])
        conv = conv + params["conv.biases"][None, :, None, None]
        return maxpool2(_relu(conv)).reshape(x.shape[0], -1)
    raise ConfigError(f"{spec.kind.value} has no hidden layer")


def numpy_logits(params: dict[str, np.ndarray], spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """The model's logits for float images ``x`` (n, 784) in [0, 1], computed with numpy.

    Returns (n,) for one output (the logit of the first class) and (n, 10) otherwise.
    The same arithmetic as the torch models; used by the GUI (canvas, decisions) so that
    it never needs torch to make a prediction.
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1, N_PIXELS)
    if spec.kind is ModelKind.SINGLE:
        z = x @ params["weights"]
        if spec.bias_mode is not BiasMode.NONE:
            z = z + float(np.sum(params["bias"], dtype=np.float64))
        return z
    if spec.kind is ModelKind.LINEAR:
        return x @ params["weights"].T + params["biases"]
    h = hidden_activations(params, spec, x)
    out = h @ params["output.weights"].T + params["output.biases"]
    return out[:, 0] if spec.n_outputs == 1 else out


def effective_bias(params: dict[str, np.ndarray], spec: ModelSpec) -> float:
    """A single neuron's bias as it acts on the logit: b, Σbᵢ (per pixel) or 0 (none)."""
    if spec.kind is not ModelKind.SINGLE:
        raise ConfigError("effective_bias is for the single neuron")
    if spec.bias_mode is BiasMode.NONE:
        return 0.0
    return float(np.sum(params["bias"], dtype=np.float64))


def first_layer(params: dict[str, np.ndarray], spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """The neurons that look at pixels: weights (k, 784) and one bias per neuron (k,).

    For CNN kernels the weights are (c, K*K).  A per-pixel single neuron reports Σbᵢ.
    """
    if spec.kind is ModelKind.SINGLE:
        w = params["weights"].reshape(1, N_PIXELS)
        return w, np.array([effective_bias(params, spec)], dtype=np.float32)
    if spec.kind is ModelKind.LINEAR:
        return params["weights"], params["biases"]
    if spec.kind is ModelKind.MLP:
        return params["hidden.weights"], params["hidden.biases"]
    c = params["conv.weights"].shape[0]
    return params["conv.weights"].reshape(c, -1), params["conv.biases"]


def validate_params(params: dict[str, np.ndarray], spec: ModelSpec) -> dict[str, np.ndarray]:
    """Check names, shapes and finiteness; return float32 copies in the spec's order.

    Raises :class:`ConfigError` naming the first problem.
    """
    shapes = spec.param_shapes()
    missing = [n for n in shapes if n not in params]
    extra = [n for n in params if n not in shapes]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unexpected " + ", ".join(extra))
        raise ConfigError(f"parameters do not match {spec.describe()}: " + "; ".join(parts))
    out = {}
    for name, shape in shapes.items():
        a = np.asarray(params[name])
        if a.dtype.kind not in "fiu":
            raise ConfigError(f"parameter {name} has non-numeric dtype {a.dtype}")
        if tuple(a.shape) != shape:
            raise ConfigError(f"parameter {name} has shape {tuple(a.shape)}, expected {shape}")
        a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise ConfigError(f"parameter {name} contains NaN or infinite values")
        out[name] = a
    return out


# -- how to train (torch-free so the GUI can hold it before torch is loaded) ----------
class Optimizer(StrEnum):
    SGD = "sgd"  # the chapter's p -= lr * p.grad
    ADAM = "adam"


class BinaryLoss(StrEnum):
    MNIST = "mnist"  # the chapter's mnist_loss: sigmoid, then where(t==1, 1-p, p).mean()
    BCE = "bce"  # binary cross-entropy on the logit


@dataclass(frozen=True)
class TrainConfig:
    """How to train.  Defaults are the fastai chapter's: SGD, lr 1.0, batch 256."""

    epochs: int = 20
    lr: float = 1.0
    batch_size: int = 256
    optimizer: Optimizer = Optimizer.SGD
    loss: BinaryLoss = BinaryLoss.MNIST
    shuffle: bool = True
    seed: int = 0  # order of the batches

    def __post_init__(self) -> None:
        for name, enum in (("optimizer", Optimizer), ("loss", BinaryLoss)):
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(str(value).lower()))
                except ValueError:
                    choices = ", ".join(e.value for e in enum)
                    raise ConfigError(f"unknown {name} {value!r}: choose {choices}") from None
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")
        if not 1 <= int(self.batch_size) <= 65536:
            raise ConfigError(f"batch size must be between 1 and 65536, got {self.batch_size}")
        if not 0 <= int(self.epochs) <= 100000:
            raise ConfigError(f"epochs must be between 0 and 100000, got {self.epochs}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["optimizer"] = self.optimizer.value
        d["loss"] = self.loss.value
        return d
