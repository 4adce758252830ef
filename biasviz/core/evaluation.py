"""How a trained model does on the validation images, without Qt.

:func:`evaluate` makes the predictions (with numpy, one matrix product) and counts them:
per-class accuracy, the confusion matrix and the misclassified images.  :func:`explain`
takes one image apart: for models whose neurons look at the pixels directly (the single
neuron, the linear ten-neuron model) it gives each pixel's contribution ``w⊙x`` and the
logit arithmetic ``Σ w⊙x + b = logit``; :func:`explanation_text` writes it out.

Classes are numbered in *display order*: the task's order for two classes (first, second
— so 0 is the class the single neuron's logit is for, although its target value is 1),
or the ten labels.  Every array here is indexed by that number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from biasviz.core.datasets import TaskData
from biasviz.core.decisions import as_float_images, output_biases, score_chunk, sigmoid
from biasviz.core.errors import ConfigError
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, numpy_logits
from biasviz.core.text import num


class EvaluationCancelled(Exception):
    """An evaluation was asked to stop (``cancel()`` said so) before it finished."""


@dataclass(frozen=True)
class Evaluation:
    """Predictions on the validation images and what they add up to.

    ``logits`` already include the bias actually used (the trained one or the override):
    (n,) — the logit of the first class — for one output, (n, k) for ten.
    """

    class_names: tuple[str, ...]  # display order
    true: np.ndarray  # (n,) int64 display index of each image's true class
    predicted: np.ndarray  # (n,) int64 display index of the class the model called
    logits: np.ndarray  # (n,) or (n, k), float64, with the biases as used
    confidence: np.ndarray  # (n,) probability the model gives the class it called
    biases: np.ndarray  # output biases as used: (1,) or (k,)
    trained_biases: np.ndarray  # the model's own output biases: (1,) or (k,)
    threshold: float  # one output: call the first class when logit ≥ threshold
    confusion: np.ndarray  # (k, k) int64: rows = true class, columns = predicted
    class_counts: np.ndarray  # (k,) images of each true class
    per_class_accuracy: np.ndarray  # (k,) share of each class called right (NaN if absent)
    accuracy: float  # share of all images called right (NaN if there are none)
    misclassified: np.ndarray  # (m,) validation indices of the mistakes, ascending

    @property
    def binary(self) -> bool:
        return self.logits.ndim == 1

    @property
    def n(self) -> int:
        return int(self.true.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def bias_overridden(self) -> bool:
        return not np.array_equal(self.biases, self.trained_biases)

    def mistakes(
        self,
        true: int | None = None,
        predicted: int | None = None,
        limit: int | None = None,
    ) -> np.ndarray:
        """Indices of the mistakes, the most confident first (ties: validation order).

        ``true`` / ``predicted`` keep only one cell of the confusion matrix.
        """
        idx = self.misclassified
        if true is not None:
            idx = idx[self.true[idx] == int(true)]
        if predicted is not None:
            idx = idx[self.predicted[idx] == int(predicted)]
        order = np.argsort(-self.confidence[idx], kind="stable")
        idx = idx[order]
        return idx if limit is None else idx[: max(int(limit), 0)]


def display_targets(data: TaskData) -> np.ndarray:
    """Validation targets in display order (two classes: target 1, the first, becomes 0)."""
    y = np.asarray(data.valid_y, dtype=np.int64)
    return 1 - y if data.task.is_binary else y


def _as_biases(
    bias_override: float | np.ndarray | None, trained: np.ndarray, n_outputs: int
) -> np.ndarray:
    if bias_override is None:
        return trained.copy()
    b = np.asarray(bias_override, dtype=np.float64).ravel()
    if b.shape != (n_outputs,):
        what = "one bias" if n_outputs == 1 else f"{n_outputs} biases (one per output neuron)"
        raise ConfigError(f"this model needs {what} to override, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ConfigError("the bias override must be finite")
    return b


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def model_logits(params: dict[str, np.ndarray], spec: ModelSpec, x: np.ndarray,
                 cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """``numpy_logits`` on uint8 (or float) images, in chunks, as float64.  ``cancel``
    is asked before each chunk; True raises :class:`EvaluationCancelled`."""
    x = np.asarray(x)
    n = x.shape[0]
    shape = (n,) if spec.n_outputs == 1 else (n, spec.n_outputs)
    out = np.empty(shape, dtype=np.float64)
    # (chunks bound a CNN pass's memory; an evaluation asked to stop, because a newer
    # one replaces it, stops within one: ~50 ms for the CNN)
    chunk = score_chunk(spec)
    for start in range(0, n, chunk):
        if cancel is not None and cancel():
            raise EvaluationCancelled
        xs = as_float_images(x[start : start + chunk])
        out[start : start + chunk] = numpy_logits(params, spec, xs)
    return out


def evaluate(
    params: dict[str, np.ndarray],
    spec: ModelSpec,
    data: TaskData,
    bias_override: float | np.ndarray | None = None,
    threshold: float = 0.0,
    cancel: Callable[[], bool] | None = None,
) -> Evaluation:
    """Predict every validation image and count the results.

    One output: the first class is called when ``logit + (override − trained bias) ≥
    threshold``.  Ten outputs: the class with the highest logit (``bias_override`` is then
    ten output biases; ``threshold`` is not used).  ``cancel``: asked between chunks of
    images; when it returns True the evaluation stops with :class:`EvaluationCancelled`
    (the window drops an evaluation that a newer moment has made stale).
    """
    binary = spec.n_outputs == 1
    if binary != data.task.is_binary:
        raise ConfigError(
            f"the model has {spec.n_outputs} output(s) but the task is {data.describe()}"
        )
    names = tuple(data.class_names)
    k = len(names)
    trained = output_biases(params, spec).astype(np.float64)
    biases = _as_biases(bias_override, trained, spec.n_outputs)
    logits = model_logits(params, spec, data.valid_x, cancel)
    true = display_targets(data)
    threshold = float(threshold)
    if binary:
        logits = logits + (biases[0] - trained[0])
        called_first = logits >= threshold
        predicted = np.where(called_first, 0, 1).astype(np.int64)
        p_first = np.asarray(sigmoid(logits), dtype=np.float64).reshape(-1)
        confidence = np.where(called_first, p_first, 1.0 - p_first)
    else:
        logits = logits + (biases - trained)
        predicted = np.argmax(logits, axis=1).astype(np.int64) if logits.size else np.zeros(
            0, dtype=np.int64
        )
        probs = _softmax(logits) if logits.size else np.zeros((0, k))
        confidence = probs[np.arange(probs.shape[0]), predicted]
    confusion = np.bincount(true * k + predicted, minlength=k * k).reshape(k, k)
    counts = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.diag(confusion) / counts
    n = int(true.shape[0])
    accuracy = float(np.trace(confusion) / n) if n else float("nan")
    return Evaluation(
        class_names=names,
        true=true,
        predicted=predicted,
        logits=logits,
        confidence=np.asarray(confidence, dtype=np.float64),
        biases=biases,
        trained_biases=trained,
        threshold=threshold,
        confusion=confusion.astype(np.int64),
        class_counts=counts.astype(np.int64),
        per_class_accuracy=per_class.astype(np.float64),
        accuracy=accuracy,
        misclassified=np.flatnonzero(predicted != true),
    )


# -- one image taken apart ------------------------------------------------------------


def has_pixel_neurons(spec: ModelSpec) -> bool:
    """True when the output neurons look at the pixels directly (single neuron, linear)."""
    return spec.kind in (ModelKind.SINGLE, ModelKind.LINEAR)


@dataclass(frozen=True)
class NeuronBreakdown:
    """One output neuron's logit for one image: ``Σ w⊙x + b``."""

    neuron: int  # output neuron (0 for the single neuron; the class for the linear model)
    class_index: int  # display class this logit is for (the single neuron: the first)
    contributions: np.ndarray  # (784,) w⊙x, float64
    weighted_sum: float  # Σ w⊙x
    bias: float  # as used (the override, if any; Σbᵢ for a per-pixel neuron)
    trained_bias: float

    @property
    def logit(self) -> float:
        return self.weighted_sum + self.bias


@dataclass(frozen=True)
class Explanation:
    """Why the model called one validation image what it did."""

    index: int
    true: int  # display class
    predicted: int
    confidence: float
    logits: np.ndarray  # () for one output, (k,) for ten; biases as used
    breakdowns: tuple[NeuronBreakdown, ...]  # empty unless the neurons look at pixels
    second: int | None  # ten classes, right answer: the runner-up class shown beside it

    @property
    def correct(self) -> bool:
        return self.true == self.predicted


def neuron_breakdown(
    params: dict[str, np.ndarray],
    spec: ModelSpec,
    x: np.ndarray,
    neuron: int,
    bias: float,
    trained_bias: float,
    class_index: int,
) -> NeuronBreakdown:
    """``w⊙x`` of one image (uint8 or float, 784 pixels) for one pixel-looking neuron."""
    xf = as_float_images(np.asarray(x).reshape(1, -1))[0].astype(np.float64)
    if spec.kind is ModelKind.SINGLE:
        w = params["weights"].reshape(-1)
    elif spec.kind is ModelKind.LINEAR:
        w = params["weights"][int(neuron)]
    else:
        raise ConfigError(f"{spec.kind.value}: its output neurons do not look at pixels")
    contributions = w.astype(np.float64) * xf
    return NeuronBreakdown(
        neuron=int(neuron),
        class_index=int(class_index),
        contributions=contributions,
        weighted_sum=float(contributions.sum()),
        bias=float(bias),
        trained_bias=float(trained_bias),
    )


def explain(
    params: dict[str, np.ndarray],
    spec: ModelSpec,
    data: TaskData,
    evaluation: Evaluation,
    index: int,
) -> Explanation:
    """Take validation image ``index`` apart (any image, right or wrong)."""
    index = int(index)
    if not 0 <= index < evaluation.n:
        raise IndexError(f"validation index {index} out of range 0..{evaluation.n - 1}")
    true = int(evaluation.true[index])
    predicted = int(evaluation.predicted[index])
    logits = np.asarray(evaluation.logits[index], dtype=np.float64)
    x = data.valid_x[index]
    breakdowns: list[NeuronBreakdown] = []
    second: int | None = None
    if not evaluation.binary and predicted == true:
        order = np.argsort(-logits, kind="stable")
        second = int(order[1]) if order.size > 1 else None
    if has_pixel_neurons(spec):
        if evaluation.binary:
            breakdowns.append(
                neuron_breakdown(
                    params, spec, x, 0,
                    float(evaluation.biases[0]), float(evaluation.trained_biases[0]), 0,
                )
            )
        else:
            other = true if predicted != true else second
            for c in (predicted, other):
                if c is None:
                    continue
                breakdowns.append(
                    neuron_breakdown(
                        params, spec, x, c,
                        float(evaluation.biases[c]), float(evaluation.trained_biases[c]), c,
                    )
                )
    return Explanation(
        index=index,
        true=true,
        predicted=predicted,
        confidence=float(evaluation.confidence[index]),
        logits=logits,
        breakdowns=tuple(breakdowns),
        second=second,
    )


# -- the arithmetic written out ---------------------------------------------------------


def fmt(value: float, digits: int = 2) -> str:
    """A number with a real minus sign and no "−0.00"."""
    return num(value, digits)


def sigma_text(p: float) -> str:
    """``σ = 0.95``; very sure values keep a digit that is not 0 or 1 (``σ = 0.004``)."""
    p = float(p)
    if 0.01 <= p <= 0.99:
        return f"σ = {p:.2f}"
    if p < 0.001:
        return "σ < 0.001"
    if p > 0.999:
        return "σ > 0.999"
    return f"σ = {p:.3f}"


def sigma_bound(p: float, digits: int = 2) -> str:
    """A probability threshold with ``digits`` decimals, or the more it needs not to read
    as 0 or 1 ("0.999", "0.9999997"; at t = 6.91 it read "σ ≥ 1.00", which no σ
    reaches).  Two decimals only between 0.01 and 0.99."""
    p = float(p)
    for places in range(digits, 10):
        text = f"{p:.{places}f}"
        if 0.0 < float(text) < 1.0 and (places > 2 or 0.01 <= p <= 0.99):
            return text
    return f"{p:.10f}"


def percent_sure(confidence: float) -> str:
    """``"92%"``; above 99% ``">99%"`` (a model is never exactly 100% sure)."""
    c = 100 * float(confidence)
    return ">99%" if c > 99 else f"{c:.0f}%"


def _rounded_sum(parts: list[float], digits: int) -> float:
    """The sum of the numbers as shown, so the written arithmetic adds up exactly."""
    return round(sum(round(p, digits) for p in parts), digits)


def _bias_label(spec: ModelSpec) -> str:
    if spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.PER_PIXEL:
        return "Σbᵢ"
    return "b"


def _neuron_line(b: NeuronBreakdown, spec: ModelSpec, digits: int) -> str:
    shown = _rounded_sum([b.weighted_sum, b.bias], digits)
    return (
        f"Σ w⊙x = {fmt(b.weighted_sum, digits)}, + {_bias_label(spec)} = {fmt(b.bias, digits)}"
        f" → logit {fmt(shown, digits)}"
    )


def explanation_text(
    explanation: Explanation, evaluation: Evaluation, spec: ModelSpec
) -> str:
    """The logit arithmetic in words, e.g.

    ``Σ w⊙x = 4.21, + b = −1.30 → logit 2.91 → σ = 0.95 → called 3 (true 7)``.
    Shown numbers add up: the logit printed is the sum of the printed parts.
    """
    e, ev = explanation, evaluation
    names = ev.class_names
    called, true = names[e.predicted], names[e.true]
    verdict = f"called {called} (true {true})" + (" ✓" if e.correct else "")
    lines: list[str] = []
    if ev.binary:
        logit = float(e.logits)
        # near the threshold, two decimals could show the wrong side of it
        digits = 2 if abs(logit - ev.threshold) >= 0.005 else 4
        p = float(sigmoid(logit))
        if e.breakdowns:
            b = e.breakdowns[0]
            lines.append(f"{_neuron_line(b, spec, digits)} → {sigma_text(p)} → {verdict}")
        else:
            lines.append(f"logit {fmt(logit, digits)} → {sigma_text(p)} → {verdict}")
        t = ev.threshold
        who = "The neuron" if spec.kind is ModelKind.SINGLE else "The model"
        lines.append(
            f"{who} calls {names[0]} when its logit is ≥ {fmt(t)} "
            f"(σ ≥ {sigma_bound(float(sigmoid(t)))}), otherwise {names[1]}."
        )
        if ev.bias_overridden:
            lines.append(
                f"The bias is the one you set; training had left it at "
                f"{fmt(float(ev.trained_biases[0]))}."
            )
        elif spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.NONE:
            lines.append("This neuron has no bias, so b is always 0.")
        return "\n".join(lines)

    # ten classes
    digits = 2
    if e.breakdowns:
        for b in e.breakdowns:
            role = "called" if b.class_index == e.predicted else (
                "true" if b.class_index == e.true else "runner-up"
            )
            lines.append(f"Neuron {names[b.class_index]} ({role}): {_neuron_line(b, spec, digits)}")
    else:
        other = e.true if not e.correct else e.second
        parts = [f"logit of {called} (called) = {fmt(float(e.logits[e.predicted]))}"]
        if other is not None:
            role = "true" if not e.correct else "runner-up"
            parts.append(f"logit of {names[other]} ({role}) = {fmt(float(e.logits[other]))}")
        lines.append(", ".join(parts))
    lines.append(
        f"The highest of the {ev.n_classes} logits wins → {verdict}, "
        f"softmax gives it {percent_sure(e.confidence)}."
    )
    if ev.bias_overridden:
        lines.append("The output biases are the ones you set, not the trained ones.")
    return "\n".join(lines)
