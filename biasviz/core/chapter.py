"""The numbers behind two lessons, without Qt or torch.

*What weight and bias do to an activation* (seed 001): :func:`activation` evaluates
σ, step, ReLU and tanh of ``w·x + b`` and :func:`midpoint` says where it triggers
(``x = −b/w``).  The weight sets how steep the rise is, the bias shifts it.

*The fastai chapter's own moments* (04_mnist_basics, 3s vs 7s):

- the pixel-similarity baseline: the mean ("ideal") image of each class, and the
  chapter's rule "an image is a 3 if its mean absolute difference to the ideal 3 is
  smaller than to the ideal 7" (:func:`mean_images`, :func:`pixel_similarity_accuracy`);
- the same idea as a single neuron: ``z = x·(mean₃ − mean₇) + b``
  (:func:`baseline_linear`).  Comparing *squared* distances to the two means is exactly
  such a neuron with ``b = −(|mean₃|² − |mean₇|²)/2`` (:func:`nearest_mean_bias`);
- why accuracy cannot be the loss: nudging one weight by a factor 1.0001 moves the
  chapter's ``mnist_loss`` a little but leaves the accuracy where it was
  (:func:`scale_weight_effect`); over a range of factors the accuracy is a staircase and
  the loss a smooth curve (:func:`accuracy_loss_curve`).

Two-class conventions are the app's (and the chapter's): target 1 = the first class; the
neuron says "first class" when its logit ``z ≥ 0`` (i.e. ``σ(z) ≥ 0.5``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from biasviz.core.datasets import TaskData
from biasviz.core.decisions import BinaryDecision, as_float_images, sigmoid
from biasviz.core.errors import ConfigError

#: Activation functions the activation lesson draws, in legend order.
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "step", "relu", "tanh")

_CHUNK = 4096  # images per block when a float copy is needed (bounded memory)


# -- seed 001: one input, one weight, one bias ----------------------------------------------
def activation(kind: str, w: float, x: np.ndarray | float, b: float) -> np.ndarray:
    """``f(w·x + b)`` for ``kind`` in :data:`ACTIVATIONS`.

    The step fires when ``w·x + b ≥ 0`` (``step(0) = 1``), the same convention as the
    neuron's decision ``z ≥ 0``.  Returns float64 with the shape of ``x``.
    """
    z = float(w) * np.asarray(x, dtype=np.float64) + float(b)
    kind = str(kind).lower()
    if kind == "sigmoid":
        return np.asarray(sigmoid(z), dtype=np.float64).reshape(z.shape)
    if kind == "step":
        return (z >= 0).astype(np.float64)
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "tanh":
        return np.tanh(z)
    raise ValueError(f"unknown activation {kind!r}: choose {', '.join(ACTIVATIONS)}")


def midpoint(w: float, b: float) -> float | None:
    """Where ``w·x + b`` crosses 0: ``x = −b/w`` (σ = 0.5, the step jumps, ReLU bends).

    None when ``w == 0``: the output is then the constant ``f(b)`` whatever ``x`` is.
    """
    w, b = float(w), float(b)
    if w == 0.0:
        return None
    x = -b / w
    return 0.0 if x == 0 else x  # no "−0.0"


def slope_at_midpoint(kind: str, w: float) -> float:
    """Slope d f(w·x + b)/dx where ``w·x + b = 0``: ``w/4`` for σ, ``w`` for tanh,
    ``w`` for ReLU (just right of the kink), infinite for the step (it jumps)."""
    w = float(w)
    kind = str(kind).lower()
    if kind == "sigmoid":
        return w / 4.0
    if kind in ("tanh", "relu"):
        return w
    if kind == "step":
        return math.inf if w != 0 else 0.0
    raise ValueError(f"unknown activation {kind!r}: choose {', '.join(ACTIVATIONS)}")


def fires_threshold(w: float, x: np.ndarray, t: float) -> np.ndarray:
    """The neuron written with a threshold: fires where ``w·x ≥ t``."""
    return float(w) * np.asarray(x, dtype=np.float64) >= float(t)


def fires_bias(w: float, x: np.ndarray, b: float) -> np.ndarray:
    """The neuron written with a bias: fires where ``w·x + b ≥ 0`` (take ``b = −t``)."""
    return float(w) * np.asarray(x, dtype=np.float64) + float(b) >= 0


# -- the chapter: pixel similarity ----------------------------------------------------------
def _require_two_classes(data: TaskData) -> None:
    if not data.task.is_binary:
        raise ConfigError(
            "the chapter's baseline compares two classes (3s vs 7s): pick a two-class task"
        )


def mean_images(data: TaskData) -> tuple[np.ndarray, np.ndarray]:
    """The "ideal" first-class and second-class images: the pixel-wise means of the
    training images, as float64 (784,) in [0, 1] (the chapter's ``mean3``, ``mean7``)."""
    _require_two_classes(data)
    out = []
    for target in (1, 0):
        members = data.train_x[data.train_y == target]
        if members.shape[0] == 0:
            raise ConfigError(f"no training images of {data.target_names()[target]!r}")
        mean = members.mean(axis=0, dtype=np.float64)
        out.append(mean / 255.0 if data.train_x.dtype == np.uint8 else mean)
    return out[0], out[1]


def _mean_abs_distances(x: np.ndarray, means: tuple[np.ndarray, ...]) -> np.ndarray:
    """(n, len(means)): mean |x − m| over the pixels, the chapter's ``mnist_distance``."""
    n = x.shape[0]
    dist = np.empty((n, len(means)), dtype=np.float64)
    for start in range(0, n, _CHUNK):
        xf = as_float_images(x[start : start + _CHUNK]).astype(np.float64)
        for k, m in enumerate(means):
            dist[start : start + _CHUNK, k] = np.abs(xf - m).mean(axis=1)
    return dist


def pixel_similarity_predictions(data: TaskData) -> np.ndarray:
    """For each validation image: 1 when it is closer (mean absolute difference) to the
    ideal first-class image than to the ideal second-class image, else 0."""
    first, second = mean_images(data)
    dist = _mean_abs_distances(data.valid_x, (first, second))
    return (dist[:, 0] < dist[:, 1]).astype(np.int64)


def pixel_similarity_accuracy(data: TaskData) -> float:
    """Validation accuracy of the chapter's pixel-similarity rule (no training at all):
    an image is the first class if its mean absolute difference to the ideal first image
    is smaller than to the ideal second image."""
    predicted = pixel_similarity_predictions(data)
    return float(np.mean(predicted == data.valid_y))


def per_class_accuracy(predicted: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """(accuracy on first-class images, accuracy on second-class images), as the chapter
    reports ``accuracy_3s`` and ``accuracy_7s``; NaN for a class with no images."""
    predicted, targets = np.asarray(predicted), np.asarray(targets)
    out = []
    for target in (1, 0):
        mask = targets == target
        out.append(float(np.mean(predicted[mask] == target)) if mask.any() else math.nan)
    return out[0], out[1]


def _dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x·w`` for every image, float64 (uint8 pixels are divided by 255)."""
    w = np.asarray(w, dtype=np.float64).ravel()
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        out[start : start + _CHUNK] = as_float_images(x[start : start + _CHUNK]) @ w
    return out


def nearest_mean_bias(first_mean: np.ndarray, second_mean: np.ndarray) -> float:
    """The bias that makes ``x·(m₁ − m₂) + b ≥ 0`` the same as "x is closer to m₁ than
    to m₂ in squared (Euclidean) distance": ``b = −(|m₁|² − |m₂|²)/2``."""
    m1 = np.asarray(first_mean, dtype=np.float64)
    m2 = np.asarray(second_mean, dtype=np.float64)
    return float(-(m1 @ m1 - m2 @ m2) / 2.0)


def accuracy_of(z: np.ndarray, targets: np.ndarray) -> float:
    """Share of images on the right side of ``z = 0`` (first class when z ≥ 0)."""
    z = np.asarray(z)
    return float(np.mean((z >= 0) == (np.asarray(targets) == 1))) if z.size else math.nan


def baseline_linear(data: TaskData) -> tuple[np.ndarray, float, float]:
    """The pixel-similarity idea as one neuron: ``z = x·(mean₁ − mean₂) + b``.

    Returns ``(weights, best_bias, accuracy)``: the weights are the difference of the two
    mean training images (784,), ``best_bias`` is the bias with the best accuracy on the
    *training* images (so it is not tuned on the images it is scored on), and
    ``accuracy`` is the validation accuracy of ``z ≥ 0``.
    """
    first, second = mean_images(data)
    weights = first - second
    z_train = _dot(data.train_x, weights)
    best_bias = BinaryDecision(z_train, data.train_y).best_bias(0.0)
    accuracy = accuracy_of(_dot(data.valid_x, weights) + best_bias, data.valid_y)
    return weights, float(best_bias), accuracy


# -- the chapter: why accuracy cannot be the loss ------------------------------------------
def mnist_loss_np(z: np.ndarray, targets: np.ndarray) -> float:
    """The chapter's ``mnist_loss`` in numpy (float64): ``p = σ(z)``, then the mean of
    ``1 − p`` on first-class images and ``p`` on second-class images."""
    p = np.asarray(sigmoid(np.asarray(z, dtype=np.float64)), dtype=np.float64)
    t = np.asarray(targets)
    if p.size == 0:
        return math.nan
    return float(np.where(t == 1, 1.0 - p, p).mean())


def single_neuron_bias(params: Mapping[str, np.ndarray]) -> float:
    """The bias as it acts on the logit: ``b``, ``Σbᵢ`` for per-pixel biases, 0 if none."""
    bias = params.get("bias")
    return 0.0 if bias is None else float(np.sum(bias, dtype=np.float64))


def scale_weight_effect(
    params: Mapping[str, np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    pixel: int,
    factor: float,
) -> tuple[float, float, float, float]:
    """Multiply one weight ``w[pixel]`` by ``factor`` and measure the damage.

    ``params`` are a single neuron's (``weights`` (784,), optional ``bias``); ``x`` the
    images (uint8 or float in [0, 1]), ``targets`` 1 for the first class.  Returns
    ``(loss_before, loss_after, accuracy_before, accuracy_after)`` with the chapter's
    ``mnist_loss``, in float64 so that changes in the 6th decimal are real.
    """
    weights = np.asarray(params["weights"], dtype=np.float64).ravel()
    pixel = int(pixel)
    if not 0 <= pixel < weights.shape[0]:
        raise ValueError(f"pixel must be between 0 and {weights.shape[0] - 1}, got {pixel}")
    z = _dot(x, weights) + single_neuron_bias(params)
    x_j = pixel_column(x, pixel)
    z_after = z + (float(factor) - 1.0) * weights[pixel] * x_j
    return (
        mnist_loss_np(z, targets),
        mnist_loss_np(z_after, targets),
        accuracy_of(z, targets),
        accuracy_of(z_after, targets),
    )


def pixel_column(x: np.ndarray, pixel: int) -> np.ndarray:
    """Pixel ``pixel`` of every image, float64 in [0, 1]."""
    column = np.asarray(x)[:, int(pixel)]
    return column / 255.0 if column.dtype == np.uint8 else column.astype(np.float64)


def accuracy_loss_curve(
    z: np.ndarray,
    w_j: float,
    x_j: np.ndarray,
    targets: np.ndarray,
    bias: float,
    factors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and ``mnist_loss`` when weight ``j`` is multiplied by each factor.

    ``z`` is the cached ``x·w`` *without* the bias; scaling ``w_j`` by ``f`` changes it
    to ``z + (f − 1)·w_j·x_j``, so each factor costs O(n) and needs no matrix product.
    Returns ``(accuracies, losses)``, one value per factor.
    """
    z = np.asarray(z, dtype=np.float64).ravel() + float(bias)
    x_j = np.asarray(x_j, dtype=np.float64).ravel()
    targets = np.asarray(targets).ravel()
    factors = np.asarray(factors, dtype=np.float64).ravel()
    if z.shape != x_j.shape or z.shape != targets.shape:
        raise ValueError(f"z {z.shape}, x_j {x_j.shape} and targets {targets.shape} differ")
    first = targets == 1
    accuracies = np.empty(factors.shape[0])
    losses = np.empty(factors.shape[0])
    step = max(1, 2_000_000 // max(z.shape[0], 1))  # bound the (factors × images) block
    for start in range(0, factors.shape[0], step):
        f = factors[start : start + step, None]
        zz = z[None, :] + (f - 1.0) * float(w_j) * x_j[None, :]
        accuracies[start : start + step] = np.mean((zz >= 0) == first[None, :], axis=1)
        p = np.asarray(sigmoid(zz), dtype=np.float64).reshape(zz.shape)
        losses[start : start + step] = np.where(first[None, :], 1.0 - p, p).mean(axis=1)
    return accuracies, losses


def influential_pixel(weights: np.ndarray, x: np.ndarray) -> int:
    """The pixel whose weight moves the logits most: the largest mean ``|w_j·x_j|`` over
    the images (the largest ``|w|`` may sit where no image has ink, and then changing it
    changes nothing)."""
    weights = np.asarray(weights, dtype=np.float64).ravel()
    n = x.shape[0]
    if n == 0:
        return int(np.argmax(np.abs(weights)))
    ink = np.zeros(weights.shape[0])
    for start in range(0, n, _CHUNK):
        ink += as_float_images(x[start : start + _CHUNK]).sum(axis=0, dtype=np.float64)
    return int(np.argmax(np.abs(weights) * ink / n))
