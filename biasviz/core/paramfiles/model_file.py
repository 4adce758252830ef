"""A model as it travels in a file: spec, parameters and metadata."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

import biasviz
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec

if TYPE_CHECKING:  # pragma: no cover - only for annotations
    from biasviz.core.datasets import TaskData
    from biasviz.core.spec import Snapshot, TrainConfig
    from biasviz.core.training import Trainer

_SURROGATES = re.compile("[\ud800-\udfff]")

FORMAT = "biasviz-params"
FORMAT_VERSION = 1


@dataclass
class ModelFile:
    """A model's description, its parameters and what is known about its training.

    ``metadata`` keys written by :func:`make_metadata`: ``dataset``, ``dataset_key``,
    ``task`` (``"3,7"`` or ``"all"``), ``class_names`` (target order: for two classes the
    first name is the class whose target is 1, i.e. a logit ≥ 0), ``model``,
    ``bias_mode``, ``epochs``, ``step``, ``valid_accuracy``, ``lr``, ``optimizer``,
    ``batch_size``, ``loss``, ``biasviz_version``, ``created``, ``format``,
    ``format_version``.  Unknown keys are kept.

    Files from notebooks (see :mod:`biasviz.core.paramfiles.notebook`) add ``source``
    (what the file held, e.g. ``"nn.Sequential state_dict"``), ``notes`` (a list of
    sentences saying what was assumed) and, for a hidden layer whose activation the
    file does not record, ``activation`` with ``activation_assumed`` True.
    """

    spec: ModelSpec
    params: dict[str, np.ndarray]
    metadata: dict = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """What the import assumed, in sentences for the user (empty for biasviz's own)."""
        notes = self.metadata.get("notes") if isinstance(self.metadata, dict) else None
        return [str(n) for n in notes] if isinstance(notes, list) else []

    @property
    def activation_assumed(self) -> bool:
        """True when the hidden layer's activation was not in the file (ReLU assumed)."""
        return bool(isinstance(self.metadata, dict) and self.metadata.get("activation_assumed"))


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def bias_mode_of(spec: ModelSpec) -> str:
    # Only the single neuron has a choice; every other neuron has one bias.
    return spec.bias_mode.value if spec.kind is ModelKind.SINGLE else BiasMode.SCALAR.value


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: lone surrogates (undecodable bytes of a file name,
    kept by Python as surrogate escapes) become U+FFFD, so UTF-8 can always encode it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)


def jsonable(obj: Any, depth: int = 0) -> Any:
    """``obj`` with numpy scalars, tuples, enums and paths turned into JSON types."""
    if depth > 32:
        return None  # metadata is flat; a cycle or a crafted depth stops here
    if isinstance(obj, Mapping):
        return {clean_text(str(k)): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v, depth + 1) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), depth + 1) if obj.size <= 10_000 else None
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), depth + 1)
    if isinstance(obj, Enum):
        return jsonable(obj.value, depth + 1)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None  # JSON has no NaN
    if isinstance(obj, str):
        return clean_text(obj)
    if obj is None or isinstance(obj, bool | int):
        return obj
    if isinstance(obj, PurePath):
        return clean_text(str(obj))
    return clean_text(str(obj))


def make_metadata(
    spec: ModelSpec,
    *,
    dataset: str | None = None,
    dataset_key: str | None = None,
    task: str | None = None,
    class_names: tuple[str, ...] | list[str] | None = None,
    epochs: int | None = None,
    step: int | None = None,
    valid_accuracy: float | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    **extra: Any,
) -> dict:
    """A complete metadata dict for a model file (``extra`` keys are added as given)."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "biasviz_version": biasviz.__version__,
        "created": _now(),
        "dataset": dataset,
        "dataset_key": dataset_key,
        "task": task,
        "class_names": list(class_names) if class_names is not None else None,
        "model": spec.describe(),
        "bias_mode": bias_mode_of(spec),
        "epochs": None if epochs is None else int(epochs),
        "step": None if step is None else int(step),
        "valid_accuracy": None if valid_accuracy is None else float(valid_accuracy),
        "lr": None if lr is None else float(lr),
        "optimizer": optimizer,
    }
    meta.update(extra)
    return jsonable(meta)


def model_file_from_snapshot(
    snap: Snapshot, data: TaskData, config: TrainConfig, valid_accuracy: float | None = None
) -> ModelFile:
    """A snapshot's parameters with metadata from the data and config it was trained with."""
    meta = make_metadata(
        snap.spec,
        dataset=data.dataset_name,
        dataset_key=data.dataset_key,
        task=data.task.to_text(),
        class_names=data.class_names,
        epochs=snap.epoch,
        step=snap.step,
        valid_accuracy=valid_accuracy,
        lr=config.lr,
        optimizer=config.optimizer.value,
        batch_size=int(config.batch_size),
        loss=config.loss.value if data.task.is_binary else "cross_entropy",
    )
    return ModelFile(snap.spec, snap.params, meta)


def model_file_from_trainer(trainer: Trainer, valid_accuracy: float | None = None) -> ModelFile:
    """The trainer's current parameters with metadata from its data and config.

    ``valid_accuracy`` is recorded as given (e.g. the last epoch's); it is not computed
    here because evaluating would touch the model while another thread may train it.
    """
    return model_file_from_snapshot(trainer.snapshot(), trainer.data, trainer.config,
                                    valid_accuracy)


def complete_metadata(model_file: ModelFile) -> dict:
    """The metadata as written: given keys kept, format and model fields made true."""
    meta = jsonable(dict(model_file.metadata or {}))
    meta.pop("spec", None)  # the spec is stored on its own, from model_file.spec
    meta.setdefault("created", _now())
    meta.setdefault("biasviz_version", biasviz.__version__)
    meta["format"] = FORMAT
    meta["format_version"] = FORMAT_VERSION
    # These describe the parameters in the file, so they must follow the spec.
    meta["model"] = model_file.spec.describe()
    meta["bias_mode"] = bias_mode_of(model_file.spec)
    return meta


def inferred_metadata(spec: ModelSpec, note: str) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": spec.describe(),
        "bias_mode": bias_mode_of(spec),
        "note": note,
    }
