"""Recipes: how each model starts and trains when the learner has not said otherwise.

Two recipes, picked by model kind and task (:func:`recipe_for`):

* **the chapter's recipe** for the single neuron: every weight and the bias drawn from
  normal(0, 1) (the chapter's ``init_params``), plain SGD at learning rate 1.0, batches
  of 256 and the chapter's ``mnist_loss``.  Fidelity to fastai's 04_mnist_basics is the
  point there, so nothing is tuned.
* **standard** for every other model (linear, MLP, CNN): PyTorch's own default start for
  ``nn.Linear``/``nn.Conv2d`` (uniform ±1/√fan_in, :attr:`InitKind.STANDARD`), plain SGD
  at learning rate 0.1 with batches of 32, and binary cross-entropy on two-class tasks.

The standard numbers were measured (figures in ``tests/core/test_recipes.py``): on the
bundled sample's ten classes, 20 epochs give linear ≈ 91 %, MLP ≈ 92 %, CNN ≈ 96 %; one
epoch of full Fashion-MNIST gives linear ≈ 82 %, MLP ≈ 83 %, CNN ≈ 86 %.  With the
chapter's std-1 start these models fail (CNN 10 %, MLP 70 % on the sample's ten classes):
a neuron with hundreds of inputs and weights of size 1 starts with w·x in the tens.

A recipe sets only some fields of :class:`ModelSpec` (the start) and :class:`TrainConfig`
(how to train); their names are in :data:`SPEC_FIELDS` and :data:`CONFIG_FIELDS`.
:func:`apply_recipe` switches to a recipe but keeps what the learner changed by hand;
:meth:`Recipe.differences` says which fields no longer follow the recipe (for a
"recipe: standard · back to recipe" line).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from biasviz.core.spec import (
    BinaryLoss,
    InitKind,
    ModelKind,
    ModelSpec,
    Optimizer,
    TrainConfig,
)

#: ModelSpec fields a recipe may set (the start; architecture stays the learner's).
SPEC_FIELDS: tuple[str, ...] = ("init", "init_std")
#: TrainConfig fields a recipe may set.
CONFIG_FIELDS: tuple[str, ...] = ("lr", "batch_size", "optimizer", "loss", "epochs")
#: Every field a recipe may set; names are unique across the two dataclasses.
RECIPE_FIELDS: tuple[str, ...] = SPEC_FIELDS + CONFIG_FIELDS

CHAPTER = "chapter"
STANDARD = "standard"

#: The chapter's training length: 12,396 threes and sevens in batches of 256 are 49
#: steps an epoch, times 20 epochs.
CHAPTER_STEPS = 980

STANDARD_LR = 0.1
STANDARD_BATCH = 32
DEFAULT_EPOCHS = 20

FIELD_LABELS: dict[str, str] = {
    "init": "initialization",
    "init_std": "init std",
    "lr": "learning rate",
    "batch_size": "batch size",
    "optimizer": "optimizer",
    "loss": "loss",
    "epochs": "epochs",
}


def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Recipe:
    """A named set of values for the start (``spec_fields``) and for training
    (``config_fields``), with a paragraph saying why (``tooltip``)."""

    name: str  # CHAPTER or STANDARD
    label: str  # for people: "the chapter's recipe", "standard"
    spec_fields: Mapping[str, Any] = field(default_factory=dict)
    config_fields: Mapping[str, Any] = field(default_factory=dict)
    tooltip: str = ""

    def __post_init__(self) -> None:
        unknown = [k for k in self.spec_fields if k not in SPEC_FIELDS]
        unknown += [k for k in self.config_fields if k not in CONFIG_FIELDS]
        if unknown:
            raise ValueError(f"a recipe cannot set {', '.join(unknown)}")
        object.__setattr__(self, "spec_fields", _frozen(self.spec_fields))
        object.__setattr__(self, "config_fields", _frozen(self.config_fields))

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of every field this recipe sets."""
        return tuple(self.spec_fields) + tuple(self.config_fields)

    def value(self, name: str) -> Any:
        if name in self.spec_fields:
            return self.spec_fields[name]
        return self.config_fields[name]

    def apply(self, spec: ModelSpec, config: TrainConfig) -> tuple[ModelSpec, TrainConfig]:
        """``spec`` and ``config`` with every field of the recipe set."""
        return apply_recipe(spec, config, self, ())

    def differences(self, spec: ModelSpec, config: TrainConfig) -> list[str]:
        """Fields (in :data:`RECIPE_FIELDS` order) whose current value is not the
        recipe's.  ``init_std`` only counts while the start is random (it means nothing
        for zeros or the standard init)."""
        out = []
        for name in RECIPE_FIELDS:
            if name not in self.fields:
                continue
            if name == "init_std" and spec.init is not InitKind.RANDOM:
                continue
            current = getattr(spec if name in SPEC_FIELDS else config, name)
            if not _same(current, self.value(name)):
                out.append(name)
        return out

    def matches(self, spec: ModelSpec, config: TrainConfig) -> bool:
        """True while ``spec`` and ``config`` still follow this recipe."""
        return not self.differences(spec, config)

    def summary(self) -> str:
        """One line: "normal(0, 1) start, SGD, lr 1, batch 256, mnist_loss"."""
        parts = []
        init = self.spec_fields.get("init")
        if init is InitKind.RANDOM:
            parts.append(f"normal(0, {self.spec_fields.get('init_std', 1.0):g}) start")
        elif init is InitKind.STANDARD:
            parts.append("standard start (uniform ±1/√fan-in)")
        elif init is InitKind.ZEROS:
            parts.append("all-zero start")
        c = self.config_fields
        if "optimizer" in c:
            parts.append(c["optimizer"].value.upper() if c["optimizer"] is Optimizer.SGD
                         else "Adam")
        if "lr" in c:
            parts.append(f"lr {c['lr']:g}")
        if "batch_size" in c:
            parts.append(f"batch {c['batch_size']}")
        if "loss" in c:
            parts.append("mnist_loss" if c["loss"] is BinaryLoss.MNIST else
                         "binary cross-entropy")
        if "epochs" in c:
            parts.append(f"{c['epochs']} epochs")
        return ", ".join(parts)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


CHAPTER_RECIPE = Recipe(
    name=CHAPTER,
    label="the chapter's recipe",
    spec_fields={"init": InitKind.RANDOM, "init_std": 1.0},
    config_fields={"lr": 1.0, "batch_size": 256, "optimizer": Optimizer.SGD,
                   "loss": BinaryLoss.MNIST, "epochs": DEFAULT_EPOCHS},
    tooltip=(
        "The fastai chapter's recipe (04_mnist_basics), kept as the chapter wrote it: "
        "every weight and the bias start as random numbers from normal(0, 1) "
        "(init_params), plain SGD (p -= lr * p.grad) with learning rate 1.0, batches of "
        "256, and the chapter's mnist_loss (how far the sigmoid is from the right answer). "
        "It works for 3s vs 7s; on other data (Fashion-MNIST pairs) the std-1 start can "
        "put every image deep in the sigmoid's flat tails, where no gradient flows — the "
        "app then says so and offers a smaller start or another loss."
    ),
)

_STANDARD_TOOLTIP = (
    "The standard recipe: every layer starts with weights and biases drawn uniformly "
    "between −1/√n and +1/√n, where n is how many inputs each neuron has (PyTorch's own "
    "default for nn.Linear and nn.Conv2d). Scaling to the number of inputs keeps w·x "
    "near 1 whether a neuron sees 25 pixels or 784 — a normal(0, 1) start would put it "
    "in the tens, where ReLUs die and sigmoids go flat. Then plain SGD with learning "
    "rate 0.1 on batches of 32."
)


def _standard(binary: bool) -> Recipe:
    config: dict[str, Any] = {"lr": STANDARD_LR, "batch_size": STANDARD_BATCH,
                              "optimizer": Optimizer.SGD, "epochs": DEFAULT_EPOCHS}
    tooltip = _STANDARD_TOOLTIP
    if binary:
        # mnist_loss's gradient vanishes for images the sigmoid is sure about, right or
        # wrong; cross-entropy's does not, so a bad start cannot freeze the output.
        config["loss"] = BinaryLoss.BCE
        tooltip += (" Two classes use binary cross-entropy, whose gradient stays large for "
                    "an image the model gets confidently wrong.")
    else:
        tooltip += " Ten classes use cross-entropy."
    return Recipe(name=STANDARD, label="standard",
                  spec_fields={"init": InitKind.STANDARD}, config_fields=config,
                  tooltip=tooltip)


STANDARD_BINARY_RECIPE = _standard(True)
STANDARD_TEN_RECIPE = _standard(False)


def recipe_for(kind: ModelKind | str, task_is_binary: bool) -> Recipe:
    """The recipe for a model kind on a two-class (``task_is_binary``) or ten-class task:
    the chapter's for the single neuron, standard for every other model."""
    kind = ModelKind(str(kind).lower()) if not isinstance(kind, ModelKind) else kind
    if kind is ModelKind.SINGLE:
        return CHAPTER_RECIPE
    return STANDARD_BINARY_RECIPE if task_is_binary else STANDARD_TEN_RECIPE


def recipe_for_spec(spec: ModelSpec) -> Recipe:
    """The recipe for ``spec``'s model and task (one output = two classes)."""
    return recipe_for(spec.kind, spec.n_outputs == 1)


def apply_recipe(
    spec: ModelSpec, config: TrainConfig, recipe: Recipe, user_changed: Iterable[str] = ()
) -> tuple[ModelSpec, TrainConfig]:
    """``spec`` and ``config`` switched to ``recipe``, except the fields named in
    ``user_changed`` (values the learner set by hand), which keep their current values.

    Fields the recipe does not set are left alone; architecture (kind, hidden size,
    bias mode...) and seeds are never touched.
    """
    keep = set(user_changed)
    spec_kw = {k: v for k, v in recipe.spec_fields.items() if k not in keep}
    config_kw = {k: v for k, v in recipe.config_fields.items() if k not in keep}
    if spec_kw.get("init", spec.init) is not InitKind.RANDOM:
        spec_kw.pop("init_std", None)  # meaningless without a random start: keep as is
    return replace(spec, **spec_kw), replace(config, **config_kw)


def defaults_for(
    kind: ModelKind | str, n_outputs: int, **spec_fields: Any
) -> tuple[ModelSpec, TrainConfig]:
    """A fresh ModelSpec and TrainConfig for ``kind`` following its recipe (other spec
    fields from ``spec_fields``): what the CLI and a new session start from."""
    spec = ModelSpec(kind=ModelKind(kind), n_outputs=n_outputs, **spec_fields)
    return recipe_for_spec(spec).apply(spec, TrainConfig())


def epochs_for_steps(steps: int, n_train: int, batch_size: int) -> int:
    """Epochs needed for at least ``steps`` SGD steps on ``n_train`` images (an epoch
    is ⌈n_train / batch_size⌉ steps).  The bundled sample's 800 threes and sevens in
    batches of 256 are 4 steps an epoch: the chapter's 980 steps are 245 epochs."""
    per_epoch = max(1, math.ceil(int(n_train) / max(1, int(batch_size))))
    return max(1, math.ceil(int(steps) / per_epoch))


def describe_state(spec: ModelSpec, config: TrainConfig) -> str:
    """For the status line: "recipe: standard" or "recipe: standard, changed: learning
    rate, batch size"."""
    recipe = recipe_for_spec(spec)
    changed = recipe.differences(spec, config)
    if not changed:
        return f"recipe: {recipe.label}"
    return f"recipe: {recipe.label}, changed: " + ", ".join(FIELD_LABELS[c] for c in changed)


def _field(spec: ModelSpec, config: TrainConfig, name: str) -> Any:
    return getattr(spec if name in SPEC_FIELDS else config, name)


class RecipeTracker:
    """Which recipe fields the learner set by hand, and what follows from it.

    Hand the tracker every change of the settings with :meth:`update` (old and new spec
    and config, from the training panel, a fix button, a loaded session):

    - a changed recipe field counts as *changed by hand*, unless its new value is the
      recipe's own (the learner set it back);
    - a new model kind or task (``kind`` or ``n_outputs`` changed) switches to that
      model's recipe, keeping the fields changed by hand.

    :meth:`back_to_recipe` is the "back to recipe" button; :meth:`label` the status text.
    Qt-free, so the app model can own it (and save ``user_changed`` with a session).
    """

    def __init__(self, user_changed: Iterable[str] = ()) -> None:
        self.user_changed: set[str] = {f for f in user_changed if f in RECIPE_FIELDS}

    def update(
        self, before_spec: ModelSpec, before_config: TrainConfig,
        spec: ModelSpec, config: TrainConfig,
    ) -> tuple[ModelSpec, TrainConfig]:
        """Record the learner's change from (before_spec, before_config) to (spec,
        config); return the settings to use (the new model's recipe after a switch)."""
        recipe = recipe_for_spec(spec)
        for name in RECIPE_FIELDS:
            new = _field(spec, config, name)
            if _same(_field(before_spec, before_config, name), new):
                continue
            if name in recipe.fields and _same(new, recipe.value(name)):
                self.user_changed.discard(name)
            else:
                self.user_changed.add(name)
        if (spec.kind, spec.n_outputs) != (before_spec.kind, before_spec.n_outputs):
            return apply_recipe(spec, config, recipe, self.user_changed)
        return spec, config

    def back_to_recipe(self, spec: ModelSpec, config: TrainConfig
                       ) -> tuple[ModelSpec, TrainConfig]:
        """Forget the changes made by hand and return the whole recipe."""
        self.user_changed.clear()
        return recipe_for_spec(spec).apply(spec, config)

    @staticmethod
    def label(spec: ModelSpec, config: TrainConfig) -> str:
        """"recipe: standard" or "recipe: standard, changed: learning rate"."""
        return describe_state(spec, config)

    @staticmethod
    def follows_recipe(spec: ModelSpec, config: TrainConfig) -> bool:
        """False when a "back to recipe" button has something to do."""
        return recipe_for_spec(spec).matches(spec, config)
