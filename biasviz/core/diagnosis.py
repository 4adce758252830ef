"""Why is training failing?  Findings that name the cause, show the evidence, and offer
the fixes that work for that cause.

:func:`diagnose` (or a :class:`Diagnoser`, which caches) looks at a model's parameters
on a batch of validation images and at the loss history so far, and returns a list of
:class:`Finding`, most important first.  Each finding has a ``code``, a plain-words
``title``, the ``evidence`` (a number, and ``where`` on screen to look) and ``fixes``:
:class:`Fix` objects that say which :class:`ModelSpec` / :class:`TrainConfig` fields to
set.  A "smaller learning rate" fix is offered only where the learning rate is the cause.

Causes (each checked only where it can happen):

``diverged``
    The loss became infinite/NaN or exploded (rose above ten times where it started).
    Cause: the learning rate (fix: a smaller one) — or, for an MLP/CNN started with
    weights far too large for their number of inputs, the start (fix: standard init;
    a smaller learning rate does not cure that).
``hidden_symmetry``
    Every hidden neuron (MLP) or kernel (CNN) has exactly the same weights: the start had
    them equal (all zeros), and equal neurons get equal gradients.  Fix: a random start.
``saturated_output``
    Two classes with the chapter's ``mnist_loss``: many images are on the wrong side of
    the decision *and* deep in the sigmoid's flat tails (|z| > 5, σ′ < 0.007), so their
    errors send back almost no gradient (see :mod:`biasviz.core.saturation`).  Fixes: a
    smaller start (init std 0.01), binary cross-entropy (its gradient σ(z) − t does not
    vanish on a confident mistake), the standard init.  Never the learning rate: with
    σ′ ≈ 10⁻¹⁰ no learning rate helps.  With cross-entropy (BCE, or softmax on ten
    classes) a confidently wrong image still gets a gradient of about 1, so saturation
    cannot freeze training and is not reported.
``dead_relus``
    Many hidden ReLUs (MLP neurons, CNN kernels) output 0 for every validation image:
    no gradient reaches their weights, they stay dead.  Cause: a start far too large
    for the number of inputs (fix: standard init), or else too large a learning rate
    (fix: a smaller one).  Dead neurons never come back: both fixes start again.
``tiny_steps``
    The learning rate is ten or more times smaller than the recipe's, and the weights
    have barely moved: the steps so far (their number × the learning rate × the size of
    the gradient on the validation images, for the output layer) add up to under 0.1 %
    of the weights' size, while the loss is still within 10 % of where it started.  Fix:
    the recipe's learning rate — going on, or, where going on from this start is known
    to freeze a mnist_loss neuron (see :data:`RECIPE_SAFE_SPREAD`), starting again with
    that learning rate and a small start.  Not reported beside ``saturated_output``,
    whose evidence and first fix already name the learning rate.  Also when the weights
    did move but the loss is still above 60 % of where it started ("training crawls"):
    the same fix.

Symptoms, reported after the causes (with no fixes of their own when a cause is found):

``one_class``
    (Almost) every image gets the same answer ("every" only when it is every one).
``loss_flat``
    The training loss stopped moving while still high, and the model is no better
    than guessing.

Everything is numpy; no torch, no Qt.  Cost: the model's forward pass on at most
``max_images`` images (a CNN on ``max_cnn_images``), once per parameter snapshot (a
:class:`Diagnoser` caches it); ``benchmarks/diagnosis.py`` prints the figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from biasviz.core.decisions import as_float_images
from biasviz.core.recipes import recipe_for_spec
from biasviz.core.saturation import (
    SLOPE_AT_SATURATION,
    Z_SATURATED,
    SaturationStats,
    saturation_stats,
    sigmoid,
    sigmoid_slope,
)
from biasviz.core.spec import (
    N_PIXELS,
    BinaryLoss,
    InitKind,
    ModelKind,
    ModelSpec,
    TrainConfig,
    conv_valid,
    maxpool2,
    numpy_logits,
)
from biasviz.core.text import MINUS, short_sci

# -- codes ---------------------------------------------------------------------------------
DIVERGED = "diverged"
SYMMETRY = "hidden_symmetry"
SATURATED = "saturated_output"
DEAD_RELUS = "dead_relus"
TINY_STEPS = "tiny_steps"
ONE_CLASS = "one_class"
LOSS_FLAT = "loss_flat"

#: Most important first: a cause before its symptoms.  A start that a larger learning
#: rate cannot cure (equal neurons, dead ReLUs, a frozen sigmoid) before the tiny steps.
PRIORITY: tuple[str, ...] = (DIVERGED, SYMMETRY, SATURATED, DEAD_RELUS, TINY_STEPS, ONE_CLASS,
                             LOSS_FLAT)
CAUSES = frozenset({DIVERGED, SYMMETRY, SATURATED, DEAD_RELUS, TINY_STEPS})

# -- thresholds (measured: see tests/core/test_diagnosis*.py) ---------------------------------
#: Saturation freezes training when at least this share of the images is wrong AND flat…
SATURATED_WRONG_SHARE = 0.25
#: …and the wrong images send back less than this share of the gradient they would
#: send from σ's steep middle.  On the chapter's 3 vs 7 (seeds 0–4) it never fell below
#: 0.04 while ≥ 25 % were wrong and flat; on the stuck Fashion pairs it is below 0.003.
ERROR_GRADIENT_FROZEN = 0.01
DEAD_SHARE = 0.3  # a finding when ≥ 30 % of the hidden units never fire
ONE_CLASS_SHARE = 0.98  # ≥ 98 % of the images get the same answer
EXPLODED_FACTOR = 10.0  # the loss rose above 10× its start
FLAT_MIN_WINDOW = 20  # steps compared, at least
FLAT_RELATIVE = 0.01  # < 1 % change between the last two windows
FLAT_STILL_HIGH = 0.5  # …while still above half the starting loss…
FLAT_ABOVE_GUESSING = 0.1  # …and validation accuracy within 10 points of guessing
#: A random start counts as "large" when std·√fan-in exceeds this (the standard init
#: has std·√fan-in = 1/√3 ≈ 0.58; the chapter's std 1 over 784 pixels gives 28).
LARGE_START = 4.0
SMALL_STD = 0.01
#: Tiny steps: the steps taken could have moved the (output) weights by less than this
#: share of their size.  Measured after 2-4 epochs: single neuron at lr 10⁻⁶ (3 vs 7,
#: Fashion pairs) 10⁻⁹-2·10⁻⁶; MLP, CNN at lr 10⁻⁵ 10⁻⁴-6·10⁻⁴; the ten-class linear
#: model at lr 10⁻⁵ 3·10⁻³ (slow, but learning); the estimate is within 3× of the true
#: distance moved.
BARELY_MOVED = 1e-3
#: …while the training loss is still within 10 % of where it started (a model trained
#: at a larger learning rate before it was lowered has moved: its loss fell).
BARELY_LOWER = 0.1
TINY_MIN_STEPS = 20
#: ``tiny_steps`` of a run that moved: its loss is still above this share of where it
#: started (a run at a tenth of the recipe's rate that got somewhere is slow, not stuck)
CRAWL_STILL_HIGH = 0.6
#: The chapter's normal(0, 1) start with mnist_loss is known to work where it puts the
#: typical |w·x| of the images (:func:`~biasviz.core.saturation.start_spread`) at up to
#: this: 3 vs 7 has 9.4 (digit pairs 8.1-10.5) and trains to 95 %.  Fashion-MNIST pairs
#: have 11.2-14.9, and about half of those starts froze at 50 % with lr 1 (seeds 0-3 of
#: Pullover vs Coat, Trouser vs Bag, Shirt vs T-shirt, Bag vs Ankle boot, Sneaker vs Ankle
#: boot …); the same recipe from a normal(0, 0.01) start reached 83-99 % after 5 epochs
#: (Pullover vs Coat, Shirt vs T-shirt, Trouser vs Bag, seeds 0-2).
RECIPE_SAFE_SPREAD = 11.0


# -- fixes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fix:
    """A change that cures a cause: ModelSpec fields (``spec_changes``) and TrainConfig
    fields (``config_changes``) to set.  ``restart``: the model must start again from
    step 0 (always so when the start changes)."""

    code: str
    label: str  # button text
    tooltip: str
    spec_changes: Mapping[str, Any] = field(default_factory=dict)
    config_changes: Mapping[str, Any] = field(default_factory=dict)
    restart: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec_changes", MappingProxyType(dict(self.spec_changes)))
        object.__setattr__(self, "config_changes", MappingProxyType(dict(self.config_changes)))
        if self.spec_changes:
            object.__setattr__(self, "restart", True)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the fields this fix sets (they count as changed by hand)."""
        return tuple(self.spec_changes) + tuple(self.config_changes)

    def apply(self, spec: ModelSpec, config: TrainConfig) -> tuple[ModelSpec, TrainConfig]:
        """``spec`` and ``config`` with this fix's fields set."""
        return replace(spec, **self.spec_changes), replace(config, **self.config_changes)


def fix_small_start() -> Fix:
    return Fix(
        "init_std_small", f"Start with init std {SMALL_STD:g}",
        f"Start again with every weight drawn from normal(0, {SMALL_STD:g}) instead of "
        "normal(0, 1): w·x starts near 0, on the steep middle of the sigmoid, where "
        "every image sends back a gradient.",
        spec_changes={"init": InitKind.RANDOM, "init_std": SMALL_STD})


def fix_bce() -> Fix:
    return Fix(
        "loss_bce", "Use binary cross-entropy",
        "Start again, training with binary cross-entropy instead of mnist_loss. Its "
        "gradient is σ(z) − target: about 1 for an image the model gets confidently "
        "wrong, however far out in the flat tail it sits — mnist_loss's is σ′(z) ≈ 0 "
        "there.", config_changes={"loss": BinaryLoss.BCE}, restart=True)


def fix_standard_init() -> Fix:
    return Fix(
        "init_standard", "Use the standard init",
        "Start again with weights drawn uniformly between ±1/√n (n: a neuron's number "
        "of inputs, PyTorch's default): w·x starts near 1 however many inputs a neuron "
        "has, and hidden neurons start different from each other.",
        spec_changes={"init": InitKind.STANDARD})


def fix_learning_rate(lr: float, why: str) -> Fix:
    return Fix(
        "smaller_lr", f"Restart with learning rate {_num(lr)}",
        f"Start again with learning rate {_num(lr)}: {why}",
        config_changes={"lr": lr}, restart=True)


def fix_larger_lr(recipe_lr: float) -> Fix:
    """Go on (no restart) with the recipe's learning rate: steps ten times larger or more."""
    return Fix("larger_lr", f"Go on with learning rate {_num(recipe_lr)}",
               f"Go on with the recipe's learning rate {_num(recipe_lr)}: steps "
               "ten times larger or more.",
               config_changes={"lr": recipe_lr}, restart=False)


def fix_larger_lr_small_start(recipe_lr: float, spread: float) -> Fix:
    """Start again with the recipe's learning rate from a small start: going on with it
    from a large start whose typical |w·x| is ``spread`` is a coin toss (it may freeze)."""
    return Fix(
        "larger_lr_small_start",
        f"Restart with learning rate {_num(recipe_lr)} and init std {SMALL_STD:g}",
        f"Start again with the recipe's learning rate {_num(recipe_lr)} and every weight "
        f"drawn from normal(0, {SMALL_STD:g}). The weights have hardly left their start, "
        f"and that start puts w·x of these images at about {spread:.0f}, deep in the "
        f"sigmoid's flat tails: going on from it with learning rate {_num(recipe_lr)} froze "
        "about half such starts at 50% (Fashion-MNIST pairs). A small start begins on the "
        "steep middle of the sigmoid.",
        spec_changes={"init": InitKind.RANDOM, "init_std": SMALL_STD},
        config_changes={"lr": recipe_lr}, restart=True)


def fix_with_lr(fix: Fix, lr: float) -> Fix:
    """``fix`` that also sets learning rate ``lr`` (a restart at a far too small learning
    rate would only take tiny steps again)."""
    return replace(fix, label=f"{fix.label} at learning rate {_num(lr)}",
                   tooltip=f"{fix.tooltip} With learning rate {_num(lr)} (the recipe's): "
                   "at the current one the new start would barely move.",
                   config_changes={**fix.config_changes, "lr": lr})


def fix_recipe(spec: ModelSpec, config: TrainConfig) -> Fix | None:
    """Back to the model's recipe (None when already on it)."""
    recipe = recipe_for_spec(spec)
    if not recipe.differences(spec, config):
        return None
    spec_changes = dict(recipe.spec_fields)
    if spec_changes.get("init") is not InitKind.RANDOM:
        spec_changes.pop("init_std", None)
    label = recipe.label if recipe.label.startswith("the ") else f"the {recipe.label} recipe"
    return Fix(
        "recipe", f"Back to {label}", f"Start again with {label}: {recipe.summary()}.",
        spec_changes=spec_changes, config_changes=dict(recipe.config_fields), restart=True)


def fix_recipe_small_start(spec: ModelSpec, config: TrainConfig, spread: float) -> Fix | None:
    """The chapter's recipe with a normal(0, 0.01) start, for images where its own
    normal(0, 1) start (``spread``: their typical |w·x| from it) is known to freeze."""
    recipe = recipe_for_spec(spec)
    spec_changes = {**recipe.spec_fields, "init": InitKind.RANDOM, "init_std": SMALL_STD}
    fix_spec, fix_config = replace(spec, **spec_changes), replace(config, **recipe.config_fields)
    if (fix_spec, fix_config) == (spec, config):
        return None
    label = recipe.label if recipe.label.startswith("the ") else f"the {recipe.label} recipe"
    return Fix(
        "recipe_small_start", f"Back to {label}, with init std {SMALL_STD:g}",
        f"Start again with {label} ({recipe.summary()}), except that every weight starts "
        f"from normal(0, {SMALL_STD:g}). Its normal(0, 1) start puts w·x of these images at "
        f"about {spread:.0f} (the chapter's 3 vs 7: about 9), deep in the sigmoid's flat "
        "tails, where about half such starts froze at 50% (Fashion-MNIST pairs); a small "
        "start begins on the steep middle.",
        spec_changes=spec_changes, config_changes=dict(recipe.config_fields), restart=True)


# -- findings -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One thing that is wrong, the number that shows it, where to look, and what cures it.

    ``saturated_ranges`` (single neuron, saturated output): the z-intervals of the
    flat tails that hold images, for shading the decision histogram; ``z_limit`` the
    |z| where "flat" begins.
    """

    code: str
    title: str
    evidence: str
    where: str
    value: float
    fixes: tuple[Fix, ...] = ()
    saturated_ranges: tuple[tuple[float, float], ...] = ()
    z_limit: float | None = None

    @property
    def is_cause(self) -> bool:
        return self.code in CAUSES

    def text(self) -> str:
        """Title, evidence and fixes as plain text (logs, the CLI)."""
        lines = [self.title, self.evidence]
        if self.fixes:
            lines.append("Fixes: " + "; ".join(f.label for f in self.fixes))
        return "\n".join(lines)


# -- helpers ---------------------------------------------------------------------------------------
def _num(x: float) -> str:
    """A learning rate or a count as a sentence writes it: 0.1, 1e-6 as 10⁻⁶, 12,000."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 1e-3:
        return short_sci(x)
    return f"{x:.3g}".replace("-", MINUS)


def _pct(x: float) -> str:
    p = 100.0 * x
    if 99.5 <= p < 100.0:
        return "over 99%"
    if 0 < p < 1:
        return "under 1%"
    return f"{p:.0f}%"


def _first_layer_fan_in(spec: ModelSpec) -> int:
    return int(spec.kernel) ** 2 if spec.kind is ModelKind.CNN else N_PIXELS


def large_start(spec: ModelSpec) -> bool:
    """True for a random start far larger than the number of inputs calls for."""
    return (spec.init is InitKind.RANDOM
            and spec.init_std * math.sqrt(_first_layer_fan_in(spec)) > LARGE_START)


def _recipe_lr(spec: ModelSpec, config: TrainConfig) -> float:
    return float(recipe_for_spec(spec).config_fields.get("lr", config.lr))


def _smaller_lr(spec: ModelSpec, config: TrainConfig) -> float:
    """A tenth of the current learning rate, and no more than the recipe's."""
    lr = float(config.lr) / 10.0
    recipe_lr = _recipe_lr(spec, config)
    if recipe_lr < float(config.lr):
        lr = min(lr, recipe_lr)
    return float(f"{lr:.3g}")


@dataclass
class _Forward:
    """What one parameter snapshot does on the images (cached per snapshot)."""

    logits: np.ndarray
    n_images: int
    dead_share: float | None = None
    n_units: int = 0
    symmetric: bool = False
    sat: SaturationStats | None = None
    n_total: int = 0  # the validation images there are (the findings judge n_images)
    #: What feeds the output layer: the images (as given, converted when needed) for a
    #: single neuron or the linear model, the hidden features for an MLP or CNN; and the
    #: size ‖W‖ of the output layer's weights.  For the tiny-steps check.
    inputs: np.ndarray | None = None
    pixels: bool = True  # inputs are the images (else hidden features)
    out_weight_norm: float = 0.0
    step_ratio: float | None = None  # cached: ‖∂L/∂W‖ / ‖W‖ (see _step_ratio)
    x_rms: float | None = None  # cached: √mean(‖x‖² + 1) of the images

    def output_inputs(self) -> np.ndarray:
        """What the output layer sees, as floats: (n, 784) pixels or (n, features)."""
        x = np.asarray(self.inputs)
        if not self.pixels:
            return x
        return (as_float_images(x) if x.dtype == np.uint8
                else x.astype(np.float32, copy=False).reshape(-1, N_PIXELS))

    def images(self) -> str:
        """The images judged, as the evidence names them: "the 400 validation images",
        or "the first 2,000 of the 10,000 validation images" when they are a part (the
        window's accuracy counts them all: the two figures must not look alike)."""
        if self.n_total > self.n_images:
            return f"the first {self.n_images:,} of the {self.n_total:,} validation images"
        return f"the {self.n_images:,} validation images"


def _forward(spec: ModelSpec, params: Mapping[str, np.ndarray], images: np.ndarray,
             max_images: int, max_cnn_images: int) -> _Forward:
    limit = max_cnn_images if spec.kind is ModelKind.CNN else max_images
    head = np.asarray(images[:limit])
    # uint8 pixels (the stored images: no float copy of the whole set is needed) are
    # scaled to [0, 1] here, for the images used only; floats are taken as they are.
    x = (as_float_images(head) if head.dtype == np.uint8
         else head.astype(np.float32, copy=False).reshape(-1, N_PIXELS))
    p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    with np.errstate(over="ignore", invalid="ignore"):
        if spec.kind not in (ModelKind.MLP, ModelKind.CNN):
            logits = np.asarray(numpy_logits(p, spec, x), dtype=np.float64)
            # the images as given (a view: no float copy kept), converted if needed
            return _Forward(logits=logits, n_images=int(x.shape[0]), inputs=head,
                            out_weight_norm=_norm(p["weights"]))
        # The hidden layer's pre-activations once: its dead units, and the logits from it.
        if spec.kind is ModelKind.MLP:
            w = p["hidden.weights"]
            pre = x @ w.T + p["hidden.biases"]  # (n, H)
            alive = (pre > 0).any(axis=0)
            features = np.maximum(pre, 0.0)
        else:
            w = p["conv.weights"].reshape(int(spec.channels), -1)
            pre = conv_valid(x.reshape(-1, 28, 28), p["conv.weights"])
            pre += p["conv.biases"][None, :, None, None]  # (n, C, s, s)
            alive = (pre > 0).any(axis=(0, 2, 3))
            features = maxpool2(np.maximum(pre, 0.0)).reshape(x.shape[0], -1)
        out = features @ p["output.weights"].T + p["output.biases"]
        logits = np.asarray(out[:, 0] if spec.n_outputs == 1 else out, dtype=np.float64)
    n_units = int(w.shape[0])
    return _Forward(
        logits=logits, n_images=int(x.shape[0]), dead_share=float(1.0 - alive.mean()),
        n_units=n_units,
        symmetric=n_units >= 2 and bool(np.all(w.max(axis=0) == w.min(axis=0))),
        inputs=features, pixels=False, out_weight_norm=_norm(p["output.weights"]),
    )


def _norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64)))


def _step_ratio(spec: ModelSpec, config: TrainConfig, fwd: _Forward,
                labels: np.ndarray) -> float:
    """‖∂L/∂W‖ / ‖W‖ for the output layer's weights W on the judged images: how far one
    step of learning rate 1 moves them, as a share of their size (inf when W = 0 or the
    logits are not finite; cached per snapshot)."""
    if fwd.step_ratio is not None:
        return fwd.step_ratio
    z = fwd.logits
    ratio = math.inf
    if (fwd.inputs is not None and z.size and fwd.out_weight_norm > 0
            and np.all(np.isfinite(z)) and labels.size == z.shape[0]):
        if spec.n_outputs == 1:
            if config.loss is BinaryLoss.BCE:
                dz = sigmoid(z) - (labels == 1)
            else:  # mnist_loss: 1 − σ(z) for the first class, σ(z) for the second
                dz = np.where(labels == 1, -1.0, 1.0) * sigmoid_slope(z)
            grad = dz @ fwd.output_inputs().astype(np.float64) / z.shape[0]
        else:  # cross-entropy on the softmax
            e = np.exp(z - z.max(axis=1, keepdims=True))
            dz = e / e.sum(axis=1, keepdims=True)
            dz[np.arange(z.shape[0]), labels.astype(np.int64)] -= 1.0
            grad = dz.T @ fwd.output_inputs().astype(np.float64) / z.shape[0]
        ratio = float(np.linalg.norm(grad)) / fwd.out_weight_norm
    fwd.step_ratio = ratio
    return ratio


def _start_spread(fwd: _Forward, std: float) -> float:
    """The typical |w·x| of a normal(0, ``std``) start on the judged images
    (:func:`~biasviz.core.saturation.start_spread`; cached per snapshot)."""
    if fwd.x_rms is None:
        x = fwd.output_inputs()
        fwd.x_rms = float(np.sqrt(np.mean(np.einsum("ij,ij->i", x, x, dtype=np.float64)) + 1.0))
    return float(std) * fwd.x_rms


def _start_may_freeze(spec: ModelSpec, init: InitKind, std: float, loss: BinaryLoss,
                      fwd: _Forward) -> float | None:
    """The typical |w·x| of a neuron on the pixels started from normal(0, ``std``) with
    mnist_loss, when it is beyond what the chapter's recipe is known to survive
    (:data:`RECIPE_SAFE_SPREAD`); else None."""
    if (spec.n_outputs != 1 or spec.kind not in (ModelKind.SINGLE, ModelKind.LINEAR)
            or init is not InitKind.RANDOM or loss is not BinaryLoss.MNIST
            or fwd.inputs is None or not fwd.pixels or fwd.n_images == 0):
        return None
    spread = _start_spread(fwd, std)
    return spread if spread > RECIPE_SAFE_SPREAD else None


def _faster_fix(spec: ModelSpec, config: TrainConfig, fwd: _Forward) -> Fix:
    """The recipe's (larger) learning rate: going on, or — where the weights sit at a
    start known to freeze with that learning rate — starting again from a small start."""
    recipe_lr = _recipe_lr(spec, config)
    spread = _start_may_freeze(spec, spec.init, spec.init_std, config.loss, fwd)
    if spread is not None:
        return fix_larger_lr_small_start(recipe_lr, spread)
    return fix_larger_lr(recipe_lr)


def _recipe_fix(spec: ModelSpec, config: TrainConfig, fwd: _Forward) -> Fix | None:
    """Back to the recipe — with a small start where the recipe's own start is known to
    freeze on these images (the chapter's on Fashion-MNIST pairs)."""
    recipe = recipe_for_spec(spec)
    spread = _start_may_freeze(
        spec, recipe.spec_fields.get("init", spec.init),
        recipe.spec_fields.get("init_std", spec.init_std),
        recipe.config_fields.get("loss", config.loss), fwd)
    if spread is not None:
        return fix_recipe_small_start(spec, config, spread)
    return fix_recipe(spec, config)


class Diagnoser:
    """Runs the diagnosis with the model's forward pass cached per parameter snapshot
    (the arrays' identities): call it on every GUI refresh; only a new snapshot costs a
    forward pass.  Snapshots must not be changed in place."""

    def __init__(self, max_images: int = 2000, max_cnn_images: int = 32) -> None:
        self.max_images = int(max_images)
        self.max_cnn_images = int(max_cnn_images)
        self._key: tuple | None = None
        self._keep: tuple = ()
        self._forward: _Forward | None = None

    def diagnose(
        self,
        spec: ModelSpec,
        config: TrainConfig,
        params: Mapping[str, np.ndarray],
        images: np.ndarray,
        labels: np.ndarray,
        losses: Sequence[float] | np.ndarray = (),
        accuracies: Sequence[float] | np.ndarray = (),
        diverged: bool = False,
        target_names: Sequence[str] | None = None,
        steps: Sequence[float] | np.ndarray | None = None,
        n_total: int | None = None,
    ) -> list[Finding]:
        """Findings for ``params`` of ``spec`` trained with ``config``, most important
        first (empty: nothing wrong).

        ``images``: validation images, uint8 pixels (n, 784) or float32 in [0, 1] (only
        the first ``max_images`` are used, and converted); ``labels``: their
        targets (two classes: 1 = the first class; ten: the label).  ``losses``: the
        training loss of every step so far (a thinned series is fine); ``accuracies``:
        validation accuracy after each epoch; ``diverged``: the trainer stopped on a
        non-finite loss.  ``target_names[t]`` names target t (``TaskData.target_names()``).
        ``steps``: the step of each of ``losses`` (a thinned series skips steps), so that
        the evidence names real steps; without it, the i-th loss is step i + 1.
        ``n_total``: how many validation images there are when ``images`` is a part of
        them (the evidence then says "the first 2,000 of the 10,000").
        """
        fwd = self._forward_for(spec, params, images)
        fwd.n_total = int(n_total or 0)
        labels = np.asarray(labels).reshape(-1)[: fwd.n_images]
        losses = np.asarray(losses, dtype=np.float64).reshape(-1)
        step_of = _StepOf(losses, steps)
        return _findings(spec, config, fwd, labels, losses,
                         np.asarray(accuracies, dtype=np.float64).reshape(-1),
                         bool(diverged), target_names, step_of)

    def _forward_for(self, spec: ModelSpec, params: Mapping[str, np.ndarray],
                     images: np.ndarray) -> _Forward:
        arrays = tuple(params[k] for k in sorted(params))
        # The images by where their data is, not by the array object: callers pass a new
        # slice of the same images each time (``valid_x[:2000]``), so an id() key never
        # matched and every frame ran the forward pass again (6-16 ms of a run's last
        # redraw with Fashion-MNIST's MLP).  The kept images keep that memory in use.
        view = np.asarray(images)
        where = (view.__array_interface__["data"][0], view.shape, view.strides, view.dtype.str)
        key = (spec, where, tuple(id(a) for a in arrays))
        if key == self._key and self._forward is not None:
            return self._forward
        fwd = _forward(spec, params, images, self.max_images, self.max_cnn_images)
        # Keeping the arrays alive keeps their ids from being reused by new arrays.
        self._key, self._keep, self._forward = key, (images, arrays), fwd
        return fwd


def diagnose(
    spec: ModelSpec,
    config: TrainConfig,
    params: Mapping[str, np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    losses: Sequence[float] | np.ndarray = (),
    accuracies: Sequence[float] | np.ndarray = (),
    diverged: bool = False,
    target_names: Sequence[str] | None = None,
    steps: Sequence[float] | np.ndarray | None = None,
    n_total: int | None = None,
) -> list[Finding]:
    """:meth:`Diagnoser.diagnose` without a cache (tests, the CLI)."""
    return Diagnoser().diagnose(spec, config, params, images, labels, losses, accuracies,
                                diverged, target_names, steps, n_total)


# -- the checks ------------------------------------------------------------------------------------
class _StepOf:
    """The step number of the i-th finite loss (the loss history may be thinned)."""

    def __init__(self, losses: np.ndarray, steps: Sequence[float] | np.ndarray | None) -> None:
        self._finite = np.flatnonzero(np.isfinite(losses))
        steps_array = None if steps is None else np.asarray(steps, dtype=np.float64).reshape(-1)
        self._steps = steps_array if steps_array is not None and (
            steps_array.size == losses.size) else None

    def __call__(self, i: int) -> int:
        i = int(i) % max(1, self._finite.size)
        if self._steps is None or not self._finite.size:
            return i + 1
        return int(self._steps[self._finite[i]])


def _findings(spec: ModelSpec, config: TrainConfig, fwd: _Forward, labels: np.ndarray,
              losses: np.ndarray, accuracies: np.ndarray, diverged: bool,
              target_names: Sequence[str] | None,
              step_of: _StepOf | None = None) -> list[Finding]:
    step_of = step_of or _StepOf(losses, None)
    out: list[Finding] = []
    finding = _check_diverged(spec, config, fwd, labels, losses, diverged, step_of)
    if finding is not None:
        out.append(finding)
    for check in (_check_symmetry, _check_saturated, _check_dead):
        finding = check(spec, config, fwd, labels, losses, diverged)
        if finding is not None:
            out.append(finding)
    if any(f.code == SYMMETRY for f in out):  # equal neurons die together: one cause
        out = [f for f in out if f.code != DEAD_RELUS]
    if not any(f.code in (DIVERGED, SATURATED) for f in out):  # they name the lr already
        finding = (_check_tiny_steps(spec, config, fwd, labels, losses, step_of)
                   or _check_crawling(spec, config, fwd, losses, accuracies, step_of))
        if finding is not None:
            out.append(finding)
    causes = bool(out)
    for symptom in (_check_one_class(spec, config, fwd, labels, target_names, causes),
                    _check_flat(spec, config, fwd, labels, losses, accuracies, causes,
                                step_of)):
        if symptom is not None:
            out.append(symptom)
    out.sort(key=lambda f: PRIORITY.index(f.code))
    return out


def _check_diverged(spec, config, fwd, labels, losses, diverged,
                    step_of: _StepOf) -> Finding | None:
    finite = losses[np.isfinite(losses)]
    nonfinite = diverged or finite.size < losses.size or not np.all(np.isfinite(fwd.logits))
    exploded, start, peak, peak_at = False, 0.0, 0.0, 0
    if finite.size >= 2:
        start = float(np.median(finite[:5]))
        peak_at = int(np.argmax(finite))
        peak = float(finite[peak_at])
        exploded = peak > max(EXPLODED_FACTOR * start, start + 10.0)
    if not (nonfinite or exploded):
        return None
    ratio = peak / start if start > 0 else math.inf
    if exploded and not nonfinite and large_start(spec) and spec.kind is not ModelKind.SINGLE:
        # The first gradients are huge because the start is: a smaller learning rate
        # does not cure that (measured: CNN, std 1, lr 0.01 → 13 %), a smaller start does.
        return Finding(
            DIVERGED, "Training blew up: the start is far too large",
            f"the training loss jumped from {_num(start)} to {_num(peak)} at step "
            f"{step_of(peak_at):,}: a normal(0, {_num(spec.init_std)}) start over "
            f"{_first_layer_fan_in(spec)} inputs makes w·x, and so the first gradients, "
            "huge — see the loss curve.",
            "loss curve", ratio, (fix_standard_init(),))
    if nonfinite:
        evidence = (f"the loss or a parameter became infinite (NaN) at learning rate "
                    f"{_num(config.lr)}: each step overshot more than the one before — "
                    "see the loss curve.")
        value = math.inf
    else:
        evidence = (f"the training loss jumped from {_num(start)} to {_num(peak)} at step "
                    f"{step_of(peak_at):,} (learning rate {_num(config.lr)}): the steps overshoot "
                    "— see the loss curve.")
        value = ratio
    return Finding(
        DIVERGED, "Training blew up: the learning rate is too large", evidence,
        "loss curve", value,
        (fix_learning_rate(_smaller_lr(spec, config),
                           "each step then moves the weights a tenth as far, and no "
                           "longer jumps past the bottom of the loss."),))


def _check_symmetry(spec, config, fwd, labels, losses, diverged) -> Finding | None:
    if not fwd.symmetric:
        return None
    what = "hidden neurons" if spec.kind is ModelKind.MLP else "kernels"
    return Finding(
        SYMMETRY, f"All {fwd.n_units} {what} are identical copies",
        f"the {fwd.n_units} {what} have exactly the same weights (largest difference "
        "between two: 0) — see the weight pictures. They started equal (all zero), and "
        "equal neurons get equal gradients, so they can never become different.",
        "weight pictures", 0.0, (fix_standard_init(),))


def _check_saturated(spec, config, fwd, labels, losses, diverged) -> Finding | None:
    if spec.n_outputs != 1 or config.loss is not BinaryLoss.MNIST or fwd.logits.size == 0:
        return None
    if fwd.sat is None:
        fwd.sat = saturation_stats(fwd.logits, labels, Z_SATURATED)
    s = fwd.sat
    if not (s.share_wrong_saturated >= SATURATED_WRONG_SHARE
            and s.error_gradient < ERROR_GRADIENT_FROZEN):
        return None
    single = spec.kind is ModelKind.SINGLE
    z = "w·x + b" if single else "the output logit z"
    where = "decision histogram (the shaded tails)" if single else "decision histogram"
    evidence = (
        f"{_pct(s.share_wrong_saturated)} of {fwd.images()} are on the "
        f"wrong side with |{z}| > {Z_SATURATED:g}, where σ′ < {SLOPE_AT_SATURATION:.3f}: "
        f"their errors send back {_pct(s.error_gradient)} of the gradient they would "
        f"from the middle of the sigmoid — see the {where}."
    )
    fixes = [fix_small_start(), fix_bce(), fix_standard_init()] if single else \
        [fix_standard_init(), fix_bce()]
    if spec.init is InitKind.STANDARD:
        fixes = [f for f in fixes if f.code != "init_standard"]
    # The learning rate: far from the recipe's, it is part of the cause (a learner's lr 100
    # threw w·x into the tails; at 1e-6 nothing moved at all), and near it, a larger one
    # only makes up for part of a slope that is almost 0.  (Shirt vs T-shirt from the same
    # std-1 start reaches 81 % at lr 1 and 84 % at lr 10: "no learning rate helps" was false.)
    lr, recipe_lr = float(config.lr), _recipe_lr(spec, config)
    if lr * 10 <= recipe_lr:
        evidence += (f" And learning rate {_num(lr)} takes tiny steps on top: the recipe's "
                     f"{_num(recipe_lr)} moves the weights {_num(recipe_lr / lr)}× as far.")
        # a new start at this learning rate would barely move either
        fixes = [fix_with_lr(f, recipe_lr) for f in fixes]
        faster = _faster_fix(spec, config, fwd)
        if faster.code == "larger_lr_small_start":  # going on froze again (lr 1, 2 of 2
            # Pullover vs Coat seeds): the small start at the recipe's lr leads, once
            fixes = [f for f in fixes if f.code != "init_std_small"]
        fixes.insert(0, faster)
    elif lr >= 10 * recipe_lr:
        evidence += (f" Learning rate {_num(lr)} is {_num(lr / recipe_lr)}× the recipe's: "
                     f"steps that large throw {z} far into the tails.")
        fixes.insert(0, fix_learning_rate(
            _smaller_lr(spec, config),
            f"smaller steps no longer throw {z} into the sigmoid's flat tails."))
    else:
        evidence += (" A larger learning rate makes up for only part of a slope this close "
                     "to 0; a smaller start, or BCE, removes the cause.")
    title = ("The neuron is stuck in the sigmoid's flat tails" if single
             else "The output is stuck in the sigmoid's flat tails")
    return Finding(
        SATURATED, title, evidence, where, s.share_wrong_saturated, tuple(fixes),
        saturated_ranges=s.saturated_ranges if single else (), z_limit=Z_SATURATED)


def _check_dead(spec, config, fwd, labels, losses, diverged) -> Finding | None:
    if fwd.dead_share is None or fwd.dead_share < DEAD_SHARE:
        return None
    what = "hidden neurons" if spec.kind is ModelKind.MLP else "kernels"
    n_dead = int(round(fwd.dead_share * fwd.n_units))
    evidence = (
        f"{n_dead} of the {fwd.n_units} {what} ({_pct(fwd.dead_share)}) output 0 for "
        f"every one of {fwd.images()} — see the weight pictures. "
        "ReLU's slope is 0 there, so no gradient reaches their weights: they stay dead."
    )
    if large_start(spec):
        evidence += (f" The start is large: normal(0, {_num(spec.init_std)}) over "
                     f"{_first_layer_fan_in(spec)} inputs puts w·x in the tens, and the "
                     "first, huge updates pushed the neurons below 0.")
        fixes: tuple[Fix, ...] = (fix_standard_init(),)
    elif config.lr > 1.5 * _recipe_lr(spec, config):
        evidence += (f" Learning rate {_num(config.lr)} takes steps so large that one bad "
                     "batch pushes a neuron's bias far below 0.")
        fixes = (fix_learning_rate(_smaller_lr(spec, config),
                                   "smaller steps no longer throw neurons into the region "
                                   "where ReLU is 0 for every image."),)
    else:
        fixes = tuple(f for f in (_recipe_fix(spec, config, fwd),) if f is not None)
    return Finding(DEAD_RELUS, f"Many {what} are dead (ReLU is 0 for every image)",
                   evidence, "weight pictures", fwd.dead_share, fixes)


def _check_tiny_steps(spec, config, fwd, labels, losses,
                      step_of: _StepOf) -> Finding | None:
    """The learning rate is far below the recipe's and the weights have barely moved
    from their start (measured: see :data:`BARELY_MOVED`)."""
    lr, recipe_lr = float(config.lr), _recipe_lr(spec, config)
    finite = losses[np.isfinite(losses)]
    if not (lr > 0 and lr * 10 <= recipe_lr) or finite.size < 2:
        return None
    steps = step_of(finite.size - 1)
    if steps < TINY_MIN_STEPS:
        return None  # too early to tell slow from stuck
    start = float(np.median(finite[:5]))
    last = float(finite[-max(5, finite.size // 5):].mean())
    if start <= 0 or last < (1.0 - BARELY_LOWER) * start:
        return None  # the loss fell: the model has learned something
    moved = steps * lr * _step_ratio(spec, config, fwd, labels)
    if not moved < BARELY_MOVED:
        return None
    what = "weights" if fwd.pixels else "output layer's weights"
    evidence = (
        f"in {steps:,} steps at learning rate {_num(lr)} the {what} moved "
        f"{_small_pct(moved)} of their size, and the training loss is {_num(last)} "
        f"(it started at {_num(start)}) — see the loss curve. The model still answers "
        f"almost as it did at the start. The recipe's learning rate {_num(recipe_lr)} takes "
        f"steps {_num(recipe_lr / lr)}× as large.")
    return Finding(
        TINY_STEPS, f"Learning rate {_num(lr)} is too small: the weights have barely moved",
        evidence, "loss curve", moved, (_faster_fix(spec, config, fwd),))


def _check_crawling(spec, config, fwd, losses, accuracies,
                    step_of: _StepOf) -> Finding | None:
    """The learning rate is far below the recipe's, and the loss is still high: the
    weights have moved (not ``tiny_steps``' "barely moved") but the run got nowhere.  A
    learner's MLP at lr 10⁻⁵ on Fashion-MNIST crept to 32 % in 37,500 steps (the
    recipe's lr: 84 %) with no notice, while too large a rate had one."""
    lr, recipe_lr = float(config.lr), _recipe_lr(spec, config)
    finite = losses[np.isfinite(losses)]
    if not (lr > 0 and lr * 10 <= recipe_lr) or finite.size < 2 * FLAT_MIN_WINDOW:
        return None
    steps = step_of(finite.size - 1)
    if steps < TINY_MIN_STEPS:
        return None
    start = float(np.median(finite[:5]))
    last = float(finite[-max(FLAT_MIN_WINDOW, finite.size // 5):].mean())
    if start <= 0 or last < CRAWL_STILL_HIGH * start:
        return None  # it got somewhere: slower than the recipe, but not stuck
    evidence = (f"in {steps:,} steps at learning rate {_num(lr)} the training loss went "
                f"only from {_num(start)} to {_num(last)}")
    if accuracies.size and np.isfinite(accuracies[-1]):
        evidence += f", validation accuracy {100 * accuracies[-1]:.1f}%"
    evidence += (f" — see the loss curve. The recipe's learning rate {_num(recipe_lr)} takes "
                 f"steps {_num(recipe_lr / lr)}× as large.")
    return Finding(
        TINY_STEPS, f"Learning rate {_num(lr)} is too small: training crawls",
        evidence, "loss curve", last, (_faster_fix(spec, config, fwd),))


def _small_pct(share: float) -> str:
    """A small share as a bound, without exponents: "at most 0.003%", "less than
    0.001%"."""
    p = 100.0 * share
    if p < 0.001:
        return "less than 0.001%"
    return f"at most {p:.1g}%"


def _check_one_class(spec, config, fwd, labels, target_names, causes) -> Finding | None:
    logits = fwd.logits
    if logits.size == 0 or not np.all(np.isfinite(logits)):
        return None
    binary = spec.n_outputs == 1
    pred = (logits >= 0).astype(np.int64) if binary else np.argmax(logits, axis=1)
    counts = np.bincount(pred, minlength=2 if binary else 10)
    top = int(np.argmax(counts))
    n_top, n = int(counts[top]), int(pred.size)
    share = n_top / n
    label_share = float(np.mean(labels == top)) if labels.size else 0.0
    if share < ONE_CLASS_SHARE or label_share > 0.9:
        return None
    name = str(target_names[top]) if target_names is not None and top < len(target_names) \
        else str(top)
    evidence = (f"{_pct(share)} of {fwd.images()} are called “{name}”, though only "
                f"{_pct(label_share)} of them are — see the confusion counts.")
    fixes: tuple[Fix, ...] = ()
    if causes:
        evidence += " This follows from the cause above."
    else:
        recipe = _recipe_fix(spec, config, fwd)
        fixes = (recipe,) if recipe is not None else ()
    return Finding(ONE_CLASS, f"{same_answer_title(n_top, n)}: “{name}”", evidence,
                   "confusion counts", share, fixes)


def same_answer_title(n_top: int, n: int) -> str:
    """"Every image gets the same answer" only when every one does; else "Almost every
    image (999 of 1,000) gets the same answer"."""
    if n_top >= n:
        return "Every image gets the same answer"
    return f"Almost every image ({n_top:,} of {n:,}) gets the same answer"


def _check_flat(spec, config, fwd, labels, losses, accuracies, causes,
                step_of: _StepOf) -> Finding | None:
    finite = losses[np.isfinite(losses)]
    window = max(FLAT_MIN_WINDOW, finite.size // 5)
    if finite.size < 2 * window:
        return None
    if accuracies.size and np.isfinite(accuracies[-1]) and labels.size:
        # A plateau is a problem only while the model is no better than guessing: a hard
        # pair (Pullover vs Coat) levels off at 85 %, and that is the model's limit.
        guessing = float(np.bincount(labels.astype(np.int64)).max() / labels.size)
        if accuracies[-1] > guessing + FLAT_ABOVE_GUESSING:
            return None
    start = float(np.median(finite[:5]))
    last = float(finite[-window:].mean())
    before = float(finite[-2 * window:-window].mean())
    if (before <= 0 or abs(last - before) > FLAT_RELATIVE * before
            or last < FLAT_STILL_HIGH * start):
        return None
    span = step_of(finite.size - 1) - step_of(finite.size - 2 * window) + 1
    # the first step's loss, not the median of the first few: a run that blew up at
    # once said "(it started at 39.9)" of a ten-class loss that starts near 2.3
    evidence = (f"over the last {span:,} steps the training loss stayed at "
                f"{_num(last)} (its first step's was {_num(float(finite[0]))})")
    if accuracies.size and np.isfinite(accuracies[-1]):
        evidence += f", validation accuracy {100 * accuracies[-1]:.1f}%"
    evidence += " — see the loss curve."
    fixes: tuple[Fix, ...] = ()
    if causes:
        evidence += " This follows from the cause above."
    else:
        recipe_lr = _recipe_lr(spec, config)
        if config.lr * 10 <= recipe_lr:
            evidence += f" Learning rate {_num(config.lr)} takes very small steps."
            fixes = (_faster_fix(spec, config, fwd),)
        else:
            recipe = _recipe_fix(spec, config, fwd)
            fixes = (recipe,) if recipe is not None else ()
    return Finding(LOSS_FLAT, "The loss stopped moving", evidence, "loss curve", last, fixes)
