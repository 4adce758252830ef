"""What the model makes of a drawing: preprocess it and run the model with numpy.

Pure and thread-safe, so the draw panel can run it off the GUI thread and tests can run it
without a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biasviz.core.decisions import sigmoid
from biasviz.core.preprocess import OUT_SIDE, preprocess_drawing
from biasviz.core.spec import ModelKind, ModelSpec, effective_bias, numpy_logits


@dataclass(frozen=True, eq=False)
class Prediction:
    """What the model made of one drawing (all numpy, safe to pass between threads).

    Attributes
    ----------
    generation : int
        The request this answers; the panel drops results that are not current.
    image : np.ndarray
        (28, 28) float32 in [0, 1]: the preprocessed image the model receives.
    empty : bool
        No ink: nothing is predicted (``probabilities`` etc. are None).
    has_model : bool
        False when no model was set: only ``image`` is meaningful.
    class_names : tuple[str, ...]
        Two names (the logit is for the first) or ten, in output order.
    probabilities : np.ndarray or None
        (2,) ``[σ(z), 1 − σ(z)]`` for one output, (10,) softmax for ten; sums to 1.
    predicted : int or None
        Index into ``class_names`` of the predicted class: for one output the first
        class when ``z ≥ threshold`` (the rule of the bias and threshold controls), for
        ten the highest logit.
    logits : np.ndarray or None
        (1,) ``[z]`` for one output, (10,) otherwise.
    contribution : np.ndarray or None
        (28, 28) w⊙x of the neuron the map explains (the single neuron, or the linear
        model's predicted class); None for MLP/CNN.
    contribution_sum : float or None
        Σ w⊙x (float64).
    bias_term : float or None
        What is added to Σ w⊙x: b, Σbᵢ (per-pixel bias) or 0 (no bias).
    error : str or None
        Why the model could not be evaluated (wrong parameter shapes and the like).
    threshold : float
        The logit threshold t the single output was compared with (0 for ten outputs:
        an argmax has none).
    """

    generation: int
    image: np.ndarray
    empty: bool
    has_model: bool
    class_names: tuple[str, ...] = ()
    probabilities: np.ndarray | None = None
    predicted: int | None = None
    logits: np.ndarray | None = None
    contribution: np.ndarray | None = None
    contribution_sum: float | None = None
    bias_term: float | None = None
    error: str | None = None
    threshold: float = 0.0

    @property
    def binary(self) -> bool:
        return self.logits is not None and self.logits.size == 1

    @property
    def logit(self) -> float | None:
        """The logit the contribution map explains: z for one output, else the winner's."""
        if self.logits is None or self.predicted is None:
            return None
        if self.binary:
            return float(self.logits[0])
        return float(self.logits[self.predicted])

    @property
    def predicted_name(self) -> str | None:
        return None if self.predicted is None else self.class_names[self.predicted]

    @property
    def confidence(self) -> float | None:
        """The probability the model gives the class it predicts (for one output with a
        threshold t ≠ 0 that may be under 50%: as on the Evaluate tab)."""
        if self.probabilities is None or self.predicted is None:
            return None
        return float(self.probabilities[self.predicted])


def class_names_for(class_names: Sequence[str], n: int) -> tuple[str, ...]:
    names = tuple(str(c) for c in class_names)
    if len(names) == n:
        return names
    if n == 2:
        return ("first class", "second class")
    return tuple(str(i) for i in range(n))


def predict_drawing(
    drawing: np.ndarray,
    params: dict[str, np.ndarray] | None,
    spec: ModelSpec | None,
    class_names: Sequence[str],
    generation: int = 0,
    threshold: float = 0.0,
) -> Prediction:
    """Preprocess a drawing and run the model on it with numpy.  Thread-safe, pure.

    ``threshold``: the logit threshold t of a one-output model, which predicts its first
    class when ``z ≥ t`` (``σ(z) ≥ σ(t)``); ignored for ten outputs (argmax).
    """
    pre = preprocess_drawing(drawing)
    image = pre.image
    if params is None or spec is None:
        return Prediction(generation, image, pre.empty, has_model=False)
    names = class_names_for(class_names, 2 if spec.n_outputs == 1 else spec.n_outputs)
    threshold = float(threshold) if spec.n_outputs == 1 else 0.0
    if not np.isfinite(threshold):
        threshold = 0.0
    if pre.empty:
        return Prediction(generation, image, True, has_model=True, class_names=names)
    x = image.reshape(1, -1).astype(np.float32)
    try:
        raw = np.asarray(numpy_logits(params, spec, x), dtype=np.float64).reshape(-1)
    except Exception as exc:  # noqa: BLE001 - bad parameters must not kill the worker
        return Prediction(
            generation, image, False, True, names, error=f"{type(exc).__name__}: {exc}"
        )
    if not np.all(np.isfinite(raw)):
        return Prediction(
            generation,
            image,
            False,
            True,
            names,
            error="The model's output is not a finite number (are its weights huge or NaN?).",
        )
    if spec.n_outputs == 1:
        z = float(raw[0])
        p = float(sigmoid(z))
        probabilities = np.array([p, 1.0 - p])
        predicted = 0 if z >= threshold else 1  # as the Neuron & bias and Evaluate tabs
        logits = np.array([z])
    else:
        logits = raw
        e = np.exp(logits - logits.max())
        probabilities = e / e.sum()
        predicted = int(np.argmax(logits))
    contribution = contribution_sum = bias_term = None
    pixels = x[0].astype(np.float64)
    if spec.kind is ModelKind.SINGLE:
        w = np.asarray(params["weights"], dtype=np.float64).reshape(-1)
        contribution = (w * pixels).reshape(OUT_SIDE, OUT_SIDE)
        bias_term = effective_bias(params, spec)
    elif spec.kind is ModelKind.LINEAR:
        w = np.asarray(params["weights"], dtype=np.float64)[predicted]
        contribution = (w * pixels).reshape(OUT_SIDE, OUT_SIDE)
        bias_term = float(np.asarray(params["biases"], dtype=np.float64)[predicted])
    if contribution is not None:
        contribution_sum = float(contribution.sum())
    return Prediction(
        generation,
        image,
        False,
        True,
        names,
        probabilities,
        predicted,
        logits,
        contribution,
        contribution_sum,
        bias_term,
        threshold=threshold,
    )

