"""Decisions from cached pre-activations: what the bias and threshold controls compute.

A neuron fires for the first class when ``w·x + b ≥ t``, which is the same as
``w·x + (b − t) ≥ 0`` (seed 000) and, on probabilities, ``σ(w·x + b) ≥ p`` with
``t = logit(p)``.  Moving ``b`` or ``t`` never changes ``z = w·x``: we compute it once per
parameter change, sort it per class, and every slider move is then a couple of binary
searches (no matrix product, no pass over the images).

Multi-class models work the same way on the output layer: ``scores = logits − biases``
is cached, and an edit of one output bias is an ``argmax`` over ``scores + biases``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, hidden_activations

HIST_BINS = 60


def sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    """σ(z) = 1 / (1 + e^−z), computed without overflow warnings."""
    if np.isscalar(z):
        z = float(z)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def threshold_from_probability(p: float) -> float:
    """The logit threshold t with σ(z) ≥ p ⇔ z ≥ t (p in (0, 1))."""
    p = min(max(float(p), 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def probability_from_threshold(t: float) -> float:
    return float(sigmoid(float(t)))


@dataclass(frozen=True)
class BinaryResult:
    bias: float
    threshold: float
    cut: float  # decision line on the z = w·x axis: predict the first class when z ≥ cut
    accuracy: float
    # confusion counts: rows = true class (first, second), columns = predicted (first, second)
    confusion: np.ndarray

    @property
    def true_first(self) -> int:
        return int(self.confusion[0, 0])

    @property
    def false_second(self) -> int:  # a first-class image called second
        return int(self.confusion[0, 1])

    @property
    def false_first(self) -> int:  # a second-class image called first
        return int(self.confusion[1, 0])

    @property
    def true_second(self) -> int:
        return int(self.confusion[1, 1])


class BinaryDecision:
    """Accuracy and confusion of one neuron for any bias and threshold.

    Parameters
    ----------
    z : (n,) pre-activations ``w·x`` of the validation images, without the bias.
    targets : (n,) 1 for the first class, 0 for the second.
    """

    def __init__(self, z: np.ndarray, targets: np.ndarray, bins: int = HIST_BINS) -> None:
        z = np.asarray(z, dtype=np.float64).ravel()
        targets = np.asarray(targets).ravel()
        if z.shape != targets.shape:
            raise ValueError(f"{z.shape[0]} pre-activations but {targets.shape[0]} targets")
        # Absurd parameters (after a divergence) can overflow to ±inf or NaN: a NaN never
        # fires (−inf); ±inf still compare correctly, the histogram just omits them.
        z = np.where(np.isnan(z), -np.inf, z)
        self.z = z
        self.targets = targets
        self.z_first = np.sort(z[targets == 1])
        self.z_second = np.sort(z[targets == 0])
        self.n = z.shape[0]
        finite = z[np.isfinite(z)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        if not hi > lo or not np.isfinite(hi - lo):
            lo, hi = lo - 1.0, hi + 1.0
        pad = 0.05 * (hi - lo)
        self.bin_edges = np.linspace(lo - pad, hi + pad, bins + 1)
        # The histograms do not depend on b or t: only the line moves.
        self.hist_first = np.histogram(self.z_first, self.bin_edges)[0]
        self.hist_second = np.histogram(self.z_second, self.bin_edges)[0]

    def evaluate(self, bias: float, threshold: float = 0.0) -> BinaryResult:
        """Predict the first class when ``z + bias ≥ threshold``."""
        cut = float(threshold) - float(bias)
        n1, n2 = len(self.z_first), len(self.z_second)
        # number of values ≥ cut = n − (number < cut)
        first_called_first = n1 - int(np.searchsorted(self.z_first, cut, side="left"))
        second_called_first = n2 - int(np.searchsorted(self.z_second, cut, side="left"))
        confusion = np.array(
            [
                [first_called_first, n1 - first_called_first],
                [second_called_first, n2 - second_called_first],
            ],
            dtype=np.int64,
        )
        correct = first_called_first + (n2 - second_called_first)
        accuracy = correct / self.n if self.n else float("nan")
        return BinaryResult(float(bias), float(threshold), cut, accuracy, confusion)

    def evaluate_probability(self, bias: float, p: float) -> BinaryResult:
        """Predict the first class when ``σ(z + bias) ≥ p``."""
        return self.evaluate(bias, threshold_from_probability(p))

    def best_bias(self, threshold: float = 0.0) -> float:
        """The bias that maximises validation accuracy for ``threshold`` (midpoint rule)."""
        candidates = np.unique(self.z[np.isfinite(self.z)])
        if candidates.size == 0:
            return 0.0
        mids = np.concatenate(([candidates[0] - 1], (candidates[:-1] + candidates[1:]) / 2,
                               [candidates[-1] + 1]))
        n1 = len(self.z_first)
        ge_first = n1 - np.searchsorted(self.z_first, mids, side="left")
        ge_second = len(self.z_second) - np.searchsorted(self.z_second, mids, side="left")
        correct = ge_first + (len(self.z_second) - ge_second)
        best_cut = float(mids[int(np.argmax(correct))])
        return float(threshold) - best_cut


@dataclass(frozen=True)
class MulticlassResult:
    biases: np.ndarray
    accuracy: float
    confusion: np.ndarray  # (10, 10): rows = true class, columns = predicted
    per_class_accuracy: np.ndarray  # (10,) recall of each class (NaN where absent)


class MulticlassDecision:
    """Accuracy and confusion for edited output biases, from cached ``scores = logits − b``."""

    def __init__(self, scores: np.ndarray, targets: np.ndarray) -> None:
        self.scores = np.asarray(scores, dtype=np.float64)
        self.targets = np.asarray(targets, dtype=np.int64).ravel()
        if self.scores.ndim != 2 or self.scores.shape[0] != self.targets.shape[0]:
            raise ValueError(f"scores {self.scores.shape} do not match {self.targets.shape[0]} targets")
        self.k = self.scores.shape[1]
        self.class_counts = np.bincount(self.targets, minlength=self.k)

    def evaluate(self, biases: np.ndarray) -> MulticlassResult:
        biases = np.asarray(biases, dtype=np.float64).ravel()
        predicted = np.argmax(self.scores + biases, axis=1)
        confusion = np.bincount(
            self.targets * self.k + predicted, minlength=self.k * self.k
        ).reshape(self.k, self.k)
        n = self.targets.shape[0]
        accuracy = float(np.trace(confusion) / n) if n else float("nan")
        with np.errstate(invalid="ignore", divide="ignore"):
            per_class = np.diag(confusion) / self.class_counts
        return MulticlassResult(biases.copy(), accuracy, confusion, per_class)


#: Rows of uint8 images converted to float at a time by :func:`output_scores`
#: (2,048 x 784 float32 = 6.4 MB): the whole validation set as float32 is never held.
SCORE_CHUNK = 2048
#: A CNN's chunk: its feature maps are 18 KB an image (1,000 images at a time: 150 ms,
#: in 256-image chunks 64 ms: they stay in the cache).
CNN_SCORE_CHUNK = 256


def score_chunk(spec: ModelSpec) -> int:
    """How many images one forward pass takes at a time for ``spec`` (the scores here,
    and the Evaluate tab's logits)."""
    return CNN_SCORE_CHUNK if spec.kind is ModelKind.CNN else SCORE_CHUNK


def as_float_images(x: np.ndarray) -> np.ndarray:
    """(n, 784) float32 in [0, 1] from uint8 pixels (÷255) or floats already in [0, 1]."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        # Divided in place: one float32 array, not a second one for the quotient
        # (the same float32 division as ``astype(float32) / 255.0``, bit for bit).
        out = x.reshape(-1, 784).astype(np.float32)
        np.divide(out, np.float32(255.0), out=out)
        return out
    return x.reshape(-1, 784).astype(np.float32, copy=False)


def _scores(params: dict[str, np.ndarray], spec: ModelSpec, xf: np.ndarray) -> np.ndarray:
    # After a divergence the numbers may overflow float32; BinaryDecision copes with inf.
    with np.errstate(over="ignore", invalid="ignore"):
        if spec.kind is ModelKind.SINGLE:
            return xf @ params["weights"]
        if spec.kind is ModelKind.LINEAR:
            return xf @ params["weights"].T
        h = hidden_activations(params, spec, xf)
        out = h @ params["output.weights"].T
    return out[:, 0] if spec.n_outputs == 1 else out


def output_scores(params: dict[str, np.ndarray], spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """What reaches the output neurons before their bias: ``x·w`` (single neuron),
    ``x @ W.T`` (linear) or ``h @ W_out.T`` (MLP, CNN).

    ``x``: uint8 pixels or floats in [0, 1], (n, 784) or (n, 28, 28).  Float images go
    through in one matrix product; uint8 images are converted :data:`SCORE_CHUNK` rows
    at a time, so passing the stored uint8 images costs no float copy of them all.
    """
    x = np.asarray(x)
    chunk = score_chunk(spec)
    if x.shape[0] <= chunk or (x.dtype != np.uint8 and spec.kind is not ModelKind.CNN):
        return _scores(params, spec, as_float_images(x))
    x = x.reshape(x.shape[0], -1)
    parts = [_scores(params, spec, as_float_images(x[start : start + chunk]))
             for start in range(0, x.shape[0], chunk)]
    return np.concatenate(parts)


def output_biases(params: dict[str, np.ndarray], spec: ModelSpec) -> np.ndarray:
    """The output neurons' biases as they act on the logits (Σbᵢ for per-pixel)."""
    if spec.kind is ModelKind.SINGLE:
        if spec.bias_mode is BiasMode.NONE:
            return np.zeros(1)
        return np.array([float(np.sum(params["bias"], dtype=np.float64))])
    if spec.kind is ModelKind.LINEAR:
        return params["biases"].astype(np.float64)
    return params["output.biases"].astype(np.float64)
