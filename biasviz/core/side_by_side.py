"""Train several models in lockstep, and measures the lessons show about them.

:func:`train_together` advances several :class:`Trainer` runs one batch at a time, all
together: batch 1 for every model, then batch 2 for every model, and so on.  Trainers
built on the same data with the same :class:`TrainConfig` seed and batch size shuffle
identically, so at every step each model learns from exactly the same images; what
differs between them is only the model (its bias shape, its initialization...).

It yields, per round:

* :class:`StepsTogether` -- each model's :class:`StepMetrics` for this batch (``None`` for
  a model that has already ended, e.g. diverged),
* :class:`EpochsTogether` -- each model's :class:`EpochMetrics` at an epoch's end,
* :class:`ModelEnded` -- one model's run ended early (it diverged) while others go on,
* :class:`Paused` -- the shared control paused the whole group,
* :class:`AllEnded` -- last, with every model's :class:`TrainingEnded`.

One :class:`TrainingControl` drives the group: pause, resume, stop, single steps, slow
motion and queued edits act on all models at the same batch boundary.  (Each trainer's
own run gets a private control that only ever hears "stop" from here.)

The measures (:func:`hidden_symmetry`, :func:`per_pixel_identity`, :func:`mean_step`)
are plain numpy and need neither torch nor Qt; :func:`train_together` imports the training
engine (and so torch) only when called.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from biasviz.core.datasets import Task, TaskData
from biasviz.core.errors import ConfigError
from biasviz.core.train_loop import (
    EndReason,
    EpochMetrics,
    Paused,
    StepMetrics,
    TrainerCore,
    TrainingControl,
    TrainingEnded,
)


# -- events ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StepsTogether:
    """One batch, done by every model still running (``None`` for one that ended)."""

    steps: tuple[StepMetrics | None, ...]

    @property
    def step(self) -> int:
        """The step number of this round (the same for every model still running)."""
        return max((s.step for s in self.steps if s is not None), default=0)

    @property
    def epoch(self) -> int:
        return max((s.epoch for s in self.steps if s is not None), default=0)


@dataclass(frozen=True)
class EpochsTogether:
    """The end of an epoch: every running model's validation loss and accuracy."""

    epochs: tuple[EpochMetrics | None, ...]

    @property
    def epoch(self) -> int:
        return max((e.epoch for e in self.epochs if e is not None), default=0)


@dataclass(frozen=True)
class ModelEnded:
    """Model ``index`` stopped early (it diverged); the others carry on."""

    index: int
    ended: TrainingEnded


@dataclass(frozen=True)
class AllEnded:
    """Every model's end, in the order the trainers were given."""

    ends: tuple[TrainingEnded, ...]


def _check_lockstep(trainers: Sequence[TrainerCore]) -> None:
    if not trainers:
        raise ConfigError("train_together needs at least one trainer")
    first = trainers[0]
    for t in trainers[1:]:
        if t.data.n_train != first.data.n_train or t.batches_per_epoch != first.batches_per_epoch:
            raise ConfigError(
                "models trained together need the same training images and batch size "
                f"({t.data.n_train} images in {t.batches_per_epoch} batches vs "
                f"{first.data.n_train} in {first.batches_per_epoch})"
            )
        if (t.config.seed, t.config.shuffle) != (first.config.seed, first.config.shuffle):
            raise ConfigError(
                "models trained together need the same batch order: give them the same "
                "TrainConfig seed and shuffle setting"
            )
        if (t.step, t.epoch) != (first.step, first.epoch):
            raise ConfigError(
                "models trained together must be at the same point of training "
                f"(step {t.step} vs {first.step}): reset them first"
            )


def train_together(
    trainers: Sequence[TrainerCore],
    epochs: int | None = None,
    control: TrainingControl | None = None,
) -> Iterator[StepsTogether | EpochsTogether | ModelEnded | Paused | AllEnded]:
    """Train ``trainers`` for ``epochs`` more epochs, one batch each in turn.

    ``epochs`` defaults to the first trainer's config.  Raises :class:`ConfigError`
    (before training anything) when the trainers cannot go in lockstep: different
    data sizes or batch sizes, different batch-order seeds, or different positions.
    """
    trainers = list(trainers)
    _check_lockstep(trainers)
    control = control or TrainingControl()
    epochs = trainers[0].config.epochs if epochs is None else int(epochs)
    own = [TrainingControl() for _ in trainers]  # never paused: the group pauses here
    runs = [t.run(epochs, c) for t, c in zip(trainers, own, strict=True)]
    ends: list[TrainingEnded | None] = [None] * len(trainers)
    per_epoch = trainers[0].batches_per_epoch
    last_epoch = trainers[0].epoch + epochs
    stop_sent = False

    while True:
        control.apply_edits()
        if control.stopped and not stop_sent:
            for c in own:
                c.stop()
            stop_sent = True
        round_events: list = []
        for i, run in enumerate(runs):
            if ends[i] is not None:
                round_events.append(None)
                continue
            event = next(run, None)
            if event is None:  # pragma: no cover - a run always ends with TrainingEnded
                event = TrainingEnded(EndReason.FINISHED, "finished", trainers[i].step,
                                      trainers[i].epoch)
            if isinstance(event, TrainingEnded):
                ends[i] = event
                round_events.append(None)
                if event.reason is EndReason.DIVERGED:
                    yield ModelEnded(i, event)
                continue
            round_events.append(event)

        live = [e for e in round_events if e is not None]
        if not live:
            yield AllEnded(tuple(e for e in ends if e is not None))
            return
        if all(isinstance(e, StepMetrics) for e in live):
            steps = StepsTogether(tuple(round_events))
            yield steps
            if control.after_batch(end_of_epoch=live[0].batch == per_epoch):
                yield Paused(steps.step, steps.epoch - 1)  # epochs completed, as Trainer
                control.wait_while_paused()
        elif all(isinstance(e, EpochMetrics) for e in live):
            together = EpochsTogether(tuple(round_events))
            yield together
            # the pause at an epoch's end comes after its evaluation, as in Trainer.run
            if control.after_epoch(last=together.epoch >= last_epoch):
                yield Paused(live[0].step, together.epoch)
                control.wait_while_paused()
        else:  # pragma: no cover - identical batch schedules make this impossible
            raise RuntimeError(f"models fell out of step: {round_events}")


# -- measures ----------------------------------------------------------------------------
def hidden_symmetry(params: dict[str, np.ndarray]) -> float:
    """How different the hidden neurons are: the largest absolute difference between
    the weight vectors (rows of ``hidden.weights``) of any two hidden neurons.

    0 means every hidden neuron has exactly the same weights (they are copies of one
    neuron); one neuron alone also gives 0.
    """
    if "hidden.weights" not in params:
        raise ConfigError("hidden_symmetry needs a model with a hidden layer (hidden.weights)")
    w = np.asarray(params["hidden.weights"], dtype=np.float64)
    if w.ndim != 2 or w.shape[0] < 2:
        return 0.0
    # max over pairs (a, b) and pixels j of |w[a, j] - w[b, j]| = max_j (max_a - min_a)
    return float(np.max(w.max(axis=0) - w.min(axis=0)))


def per_pixel_identity(params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, float]:
    """Both sides of ``(x*w + b).sum() == x·w + Σbᵢ`` for one image, in float64.

    ``params`` has ``weights`` (784,) and ``bias`` (784,) (a per-pixel single neuron;
    a scalar bias works too); ``x`` is one image of 784 floats in [0, 1].

    Returns ``lhs`` = (x*w + b).sum() as the per-pixel model computes it, ``rhs`` =
    x·w + Σbᵢ, their ``difference``, ``bias_sum`` = Σbᵢ and ``weighted_sum`` = x·w.
    """
    w = np.asarray(params["weights"], dtype=np.float64).reshape(-1)
    b = np.asarray(params["bias"], dtype=np.float64).reshape(-1)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape != w.shape:
        raise ConfigError(f"image has {x.size} pixels but the neuron has {w.size} weights")
    lhs = float(np.sum(x * w + b)) if b.size == w.size else float(np.sum(x * w) + b.sum())
    weighted = float(np.dot(x, w))
    bias_sum = float(np.sum(b))
    rhs = weighted + bias_sum
    return {
        "lhs": lhs,
        "rhs": rhs,
        "difference": lhs - rhs,
        "bias_sum": bias_sum,
        "weighted_sum": weighted,
    }


def mean_step(values: Sequence[float] | np.ndarray, last: int = 20) -> float:
    """Average size of the change between consecutive values over the last ``last``
    changes (|v[t] - v[t-1]|); NaN when there are fewer than two finite values."""
    v = np.asarray(values, dtype=np.float64)[-(int(last) + 1):]
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan")
    return float(np.mean(np.abs(np.diff(v))))


def sigmoid(z: float) -> float:
    """σ(z) = 1 / (1 + e^(−z)), without overflow for large |z|."""
    z = float(z)
    if z >= 0:
        return 1.0 / (1.0 + float(np.exp(-z)))
    e = float(np.exp(z))
    return e / (1.0 + e)


# -- tasks -------------------------------------------------------------------------------
#: The pair the fastai chapter uses, and the lessons fall back on for ten-class data.
DEFAULT_PAIR = (3, 7)


def two_class_data(data: TaskData, pair: tuple[int, int] = DEFAULT_PAIR) -> TaskData:
    """``data`` itself for a two-class task; for a ten-class one, the images of ``pair``
    (first class = target 1, as in the chapter), cut from the same dataset."""
    if data.task.is_binary:
        return data
    first, second = (int(c) for c in pair)
    task = Task.pair(first, second)

    def select(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = (labels == first) | (labels == second)
        return np.ascontiguousarray(x[keep]), (labels[keep] == first).astype(np.int64)

    train_x, train_y = select(data.train_x, data.train_y)
    valid_x, valid_y = select(data.valid_x, data.valid_y)
    if len(train_y) == 0 or len(valid_y) == 0:
        raise ConfigError(f"{data.dataset_name} has no images of classes {first} and {second}")
    return TaskData(
        task=task,
        class_names=(data.class_names[first], data.class_names[second]),
        dataset_name=data.dataset_name,
        dataset_key=data.dataset_key,
        train_x=train_x,
        train_y=train_y,
        valid_x=valid_x,
        valid_y=valid_y,
    )
