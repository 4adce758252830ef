"""The plain PyTorch code behind a run: a script, a notebook, and lines for the code panel.

:func:`generate_code` turns a run's description -- :class:`~biasviz.core.spec.ModelSpec`,
:class:`~biasviz.core.spec.TrainConfig`, :class:`~biasviz.core.datasets.Task` and where
the data comes from (:class:`DatasetRef`) -- into :class:`RunCode`: blocks of code, one
per step of the fastai chapter (data, ``init_params``, the model, the loss,
``batch_accuracy``/``validate_epoch``, the training loop, saving), each with a markdown
explanation in the chapter's terms.  From it come

* :meth:`RunCode.script`: a Python script that needs only torch and numpy (plus
  ``biasviz.data.load_task`` for the bundled sample, or torchvision for a torchvision
  dataset);
* :meth:`RunCode.notebook`: the same code as an nbformat-4 notebook, a markdown cell
  before each code cell;
* :meth:`RunCode.lines`: the script's lines, each tagged with the concepts it shows
  (``"bias"``, ``"lr"``, ``"step"``...) and, where it teaches, the key of a live value
  (the current bias, the step number) that :func:`render_live` writes beside it.

The code reproduces the app's run: the same images in the same order, the same seeded
initialization as :func:`biasviz.core.models.initialize`, the same batch order as
``Trainer.run`` (one ``torch.randperm`` per epoch from a generator seeded with
``config.seed``), the same loss and update, and it evaluates as ``Trainer.evaluate``
does (chunks of 4096, a logit ≥ 0 means the first class).  The arithmetic agrees to
float rounding, not always to the bit (``nn.Linear``'s fused bias, the app's numpy
engine), so the accuracies match to the image or within a few images
(tests/core/test_codegen.py measures it).

Qt-free and torch-free: generating code never imports torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import biasviz
from biasviz.core.datasets import (
    _ALIASES,
    _KINDS,
    DIGIT_NAMES,
    Task,
    _find_idx_files,
    _guess_kind,
    dataset_root,
    installed_copy_in_use,
    is_installed_copy,
)
from biasviz.core.errors import BiasvizError, ConfigError, DatasetError
from biasviz.core.spec import (
    BiasMode,
    BinaryLoss,
    InitKind,
    ModelKind,
    ModelSpec,
    Optimizer,
    TrainConfig,
)

#: What the concept tags of :class:`CodeLine` mean (a code panel can show these as hints).
CONCEPTS: dict[str, str] = {
    "setup": "imports",
    "data": "the images and their targets",
    "init": "the starting values of the parameters",
    "seed": "a seed: the same random numbers every time",
    "weights": "the weights",
    "bias": "the bias",
    "model": "the prediction: the logit of each image",
    "loss": "the loss that training makes smaller",
    "gradient": "the gradients, computed by loss.backward()",
    "metrics": "accuracy on the validation images",
    "lr": "the learning rate",
    "batch": "mini-batches and their order",
    "optimizer": "the optimizer",
    "step": "one update of the parameters",
    "epochs": "epochs: passes over the training images",
    "save": "saving the parameters for biasviz",
}

#: The concept each setting of the app shows in the code (ModelSpec / TrainConfig field
#: names, plus "dataset", "task" and the app's live "bias" and "threshold"): hovering a
#: control highlights its lines, hovering a line highlights :func:`settings_for`.
SETTING_CONCEPTS: dict[str, str] = {
    "dataset": "data",
    "task": "data",
    "kind": "model",
    "hidden": "model",
    "channels": "model",
    "kernel": "model",
    "bias_mode": "bias",
    "bias": "bias",
    "threshold": "bias",  # w·x ≥ t is w·x + (b − t) ≥ 0: the threshold is a bias
    "weights": "weights",
    "init": "init",
    "init_std": "init",
    "seed": "seed",
    "lr": "lr",
    "batch_size": "batch",
    "shuffle": "batch",
    "optimizer": "optimizer",
    "loss": "loss",
    "epochs": "epochs",
}


def settings_for(concept: str) -> tuple[str, ...]:
    """The settings whose controls show ``concept`` (the inverse of SETTING_CONCEPTS)."""
    return tuple(name for name, c in SETTING_CONCEPTS.items() if c == concept)


EVAL_CHUNK = 4096  # Trainer.evaluate's chunk; the same chunks give the same sums
LIVE_MARK = "  # ◀ "  # what render_live puts between a line and its live value
SECTION_MARK = "# -- "  # a section's heading line starts so: "# -- 2. The data --"


# -- where the data comes from ------------------------------------------------------------
@dataclass(frozen=True)
class DatasetRef:
    """Where a run's images come from.

    ``source`` is ``"sample"`` (the bundled 5,000 digits), ``"torchvision"`` (``name`` is
    ``"mnist"``, ``"fashion-mnist"`` or ``"kmnist"``) or ``"folder"`` (``name`` is the
    path of a folder of MNIST-style IDX files).
    """

    source: str = "sample"
    name: str = "sample"

    def __post_init__(self) -> None:
        if self.source not in ("sample", "torchvision", "folder"):
            raise ConfigError(f"unknown dataset source {self.source!r}")
        if self.source == "torchvision" and self.name not in _KINDS:
            raise ConfigError(
                f"unknown torchvision dataset {self.name!r}: choose {', '.join(_KINDS)}"
            )

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        """What ``biasviz train --dataset`` takes: a name or a folder path.

        A folder is checked for its four IDX files (names only; nothing is read).
        """
        raw = str(text).strip()
        key = _ALIASES.get(raw.lower(), raw.lower())
        if key == "sample":
            return cls("sample", "sample")
        if key in _KINDS:
            # where the app would read it: a download in the cache, else a copy a system
            # package installed (its folder: a download offline fails), else a download
            copy = installed_copy_in_use(key)
            return cls("folder", str(copy)) if copy is not None else cls("torchvision", key)
        path = Path(raw).expanduser()
        if raw and path.is_dir():
            _find_idx_files(path)  # DatasetError naming the missing files
            return cls("folder", str(path.resolve()))
        raise DatasetError(
            f"unknown dataset {text!r}: choose one of sample, {', '.join(_KINDS)}, or give "
            "a folder holding MNIST-style IDX files"
        )

    @classmethod
    def of_dataset(cls, key: str, source: str = "") -> DatasetRef:
        """From a loaded :class:`~biasviz.core.datasets.Dataset`'s ``key`` and ``source``."""
        if key == "sample":
            return cls("sample", "sample")
        if key in _KINDS:
            # a copy a system package installed: read where it is (a download offline
            # fails: the learner's notebook could not run what the app had trained on)
            if source and is_installed_copy(source):
                return cls("folder", str(source))
            return cls("torchvision", key)
        if key == "folder" and source:
            return cls("folder", str(source))
        raise ConfigError(f"cannot tell where dataset {key!r} comes from")

    @property
    def class_names(self) -> tuple[str, ...]:
        if self.source == "torchvision":
            return _KINDS[self.name].class_names
        if self.source == "folder":
            kind = _guess_kind(Path(self.name))
            return kind.class_names if kind else DIGIT_NAMES
        return DIGIT_NAMES

    def describe(self) -> str:
        if self.source == "sample":
            return "the bundled MNIST sample"
        if self.source == "torchvision":
            return _KINDS[self.name].name
        return f"the IDX files in {self.name}"

    @property
    def load_task_name(self) -> str:
        """The ``dataset`` argument of :func:`biasviz.data.load_task`."""
        return self.name


# -- the structured code --------------------------------------------------------------------
@dataclass(frozen=True)
class CodeLine:
    """One line of code, the concepts it shows (the first is the main one) and the key
    of the live value that belongs beside it, if any."""

    text: str
    concepts: tuple[str, ...] = ()
    live: str | None = None


@dataclass(frozen=True)
class CodeBlock:
    """One step: a title, its explanation (markdown) and its code."""

    key: str
    title: str
    markdown: str
    lines: tuple[CodeLine, ...]

    @property
    def code(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class RunCode:
    """The code of one run: what it is (``summary``, ``details``) and its blocks."""

    summary: str  # the model and the data
    details: str  # how it trains
    header: tuple[CodeLine, ...]
    blocks: tuple[CodeBlock, ...]
    settings: dict = field(default_factory=dict, compare=False)

    def lines(self) -> list[CodeLine]:
        """Every line of :meth:`script`, in order, with its tags."""
        out = list(self.header)
        for number, block in enumerate(self.blocks, 1):
            out.append(CodeLine(""))
            # (short: a rule of dashes to column 80 wrapped into a row of dashes alone
            # in the code panel beside the controls)
            out.append(CodeLine(f"{SECTION_MARK}{number}. {block.title} --",
                                (block.key,) if block.key in CONCEPTS else ()))
            out.extend(block.lines)
        return out

    def script(self) -> str:
        """The whole run as a Python script."""
        return "\n".join(line.text for line in self.lines()) + "\n"

    def lines_for(self, concept: str) -> list[int]:
        """Indexes (0-based) of the script lines that show ``concept``."""
        return [i for i, line in enumerate(self.lines()) if concept in line.concepts]

    def notebook(self) -> dict:
        """An nbformat 4.5 notebook (a plain dict; ``json.dumps`` writes it)."""
        cells = [_markdown_cell("intro", _intro_markdown(self))]
        for number, block in enumerate(self.blocks, 1):
            cells.append(_markdown_cell(f"{block.key}-md", f"## {number}. {block.title}\n\n"
                                        + block.markdown))
            cells.append(_code_cell(f"{block.key}-code", block.code))
        return {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python",
                               "name": "python3"},
                "language_info": {"name": "python"},
                "biasviz": dict(self.settings),
            },
            "cells": cells,
        }


def _cell_id(text: str) -> str:
    # nbformat 4.5: 1-64 characters of letters, digits, '-' and '_'
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:64]


def _markdown_cell(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": _cell_id(cell_id), "metadata": {},
            "source": text}


def _code_cell(cell_id: str, code: str) -> dict:
    return {"cell_type": "code", "id": _cell_id(cell_id), "metadata": {},
            "execution_count": None, "outputs": [], "source": code}


def _intro_markdown(code: RunCode) -> str:
    return (
        f"# {code.summary}\n\n**{code.details}.**\n\n"
        "This notebook is the plain PyTorch behind a run in biasviz, written the way the "
        "fastai book's chapter 4 (*Under the Hood: Training a Digit Classifier*) writes it. "
        "It loads the same images, starts from the same random numbers, takes the "
        "mini-batches in the same order and makes the same updates, so it ends at the "
        "app's validation accuracy (to the image, or within a few images: PyTorch's "
        "`nn.Linear` rounds the last bits of its sums differently from the app's own "
        "arithmetic).\n\n"
        "It needs only `torch` and `numpy`"
        + (" (and `biasviz`, for its `load_task` data function)"
           if "biasviz.data" in "\n".join(b.code for b in code.blocks) else "")
        + (" (and `torchvision` for the download)" if "torchvision" in
           "\n".join(b.code for b in code.blocks) else "")
        + ". Run the cells from top to bottom."
    )


# -- live values --------------------------------------------------------------------------
def format_live(key: str, value: object) -> str:
    """How a live value reads beside its line (``"b = -0.1234"``, ``"step 12"``)."""
    try:
        if key == "bias":
            return f"now b = {float(value):.4g}"  # type: ignore[arg-type]
        if key == "bias_sum":
            return f"now Σbᵢ = {float(value):.4g}"  # type: ignore[arg-type]
        if key == "lr":
            return f"now lr = {float(value):g}"  # type: ignore[arg-type]
        if key == "step":
            return f"step {int(value):,}"  # type: ignore[call-overload]
        if key == "epoch":  # a snapshot's epochs done ("epoch 487" beside a bar's 488)
            n = int(value)  # type: ignore[call-overload]
            return f"{n:,} epoch{'' if n == 1 else 's'} done"
        if key == "loss":
            return f"last loss {float(value):.4f}"  # type: ignore[arg-type]
        if key == "accuracy":
            return f"last {float(value):.2%}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return f"{key} = {value}"


def render_live(line: CodeLine, values: dict) -> str:
    """``line.text`` with its live value appended as a comment, if ``values`` has it.
    With a ``moment`` (a past step shown), the values are that step's, and say so."""
    if line.live is None or values.get(line.live) is None:
        return line.text
    shown = format_live(line.live, values[line.live])
    moment = values.get("moment")
    if shown and moment is not None:
        shown = shown.removeprefix("now ").removeprefix("last ")
        if line.live in ("bias", "bias_sum", "loss", "accuracy"):  # (lr: the setting's)
            shown = f"step {int(moment):,}: {shown}"
    loop = re.search(r"range\((\d+)\)", line.text) if line.live == "epoch" else None
    if shown and loop is not None and int(values["epoch"]) > int(loop.group(1)):
        # more than this loop trains: Start was pressed again, or epochs were added
        shown += " (over several Starts)"
    return line.text + LIVE_MARK + shown if shown else line.text


# -- building the code ----------------------------------------------------------------------
class _Block:
    def __init__(self, key: str, title: str, markdown: str) -> None:
        self.key, self.title, self.markdown = key, title, markdown
        self.lines: list[CodeLine] = []

    def add(self, text: str = "", *concepts: str, live: str | None = None) -> None:
        self.lines.append(CodeLine(text, tuple(concepts), live))

    def done(self) -> CodeBlock:
        while self.lines and not self.lines[-1].text:
            self.lines.pop()
        return CodeBlock(self.key, self.title, self.markdown.strip(), tuple(self.lines))


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _num(x: float) -> str:
    """A float as Python source that reads back as the same float."""
    text = repr(float(x))
    return text


def _q(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)


class _Context:
    """Everything the block writers need, computed once."""

    def __init__(self, spec: ModelSpec, config: TrainConfig, task: Task, ref: DatasetRef,
                 params_path: str, start_path: str | None = None) -> None:
        if spec.n_outputs != task.n_outputs:
            raise ConfigError(
                f"{spec.describe()} has {spec.n_outputs} output(s) but the task "
                f"{task.describe()} needs {task.n_outputs}"
            )
        self.spec, self.config, self.task, self.ref = spec, config, task, ref
        self.params_path = params_path
        self.start_path = start_path
        self.single = spec.kind is ModelKind.SINGLE
        self.binary = task.is_binary
        names = ref.class_names
        self.class_names = task.names(names)
        if self.binary:
            self.first, self.second = self.class_names
        self.adam = config.optimizer is Optimizer.ADAM
        self.loss_name = (
            ("bce_loss" if config.loss is BinaryLoss.BCE else "mnist_loss")
            if self.binary else "F.cross_entropy"
        )


def _reproduces(epochs: int, trained_epochs: int | None) -> str:
    """The header's claim, true of the app's model: a model trained over several Starts
    has more epochs than the script's loop (an exported script said "It reproduces the
    app's run" with range(20) beside a model of 3,026 epochs)."""
    if trained_epochs is not None and int(trained_epochs) > int(epochs):
        return (f"# It reproduces the first {int(epochs):,} of the {int(trained_epochs):,} "
                "epochs the app's model trained over several Starts: the same data, seed, "
                "batch order and updates.")
    return "# It reproduces the app's run: the same data, seed, batch order and updates."


def generate_code(
    spec: ModelSpec,
    config: TrainConfig,
    task: Task,
    dataset: DatasetRef | str = "sample",
    params_path: str = "biasviz-run.npz",
    trained_epochs: int | None = None,
    start_path: str | None = None,
) -> RunCode:
    """The plain PyTorch code of the run ``spec`` × ``config`` on ``task`` of ``dataset``.

    ``params_path`` is where the code saves the trained parameters (an .npz that biasviz
    opens).  ``trained_epochs``: how many epochs the app's model has trained; more than
    the script's (several Starts), and the header says the script trains the first of
    them.  ``start_path``: the model did not start from its initialization but from
    numbers that came from a file (an import): the code loads them from this .npz
    (biasviz's names) after initializing, as the app did.  Raises :class:`ConfigError`
    for settings it cannot write (a model that does not fit the task, an initialization
    it does not know).
    """
    ref = dataset if isinstance(dataset, DatasetRef) else DatasetRef.parse(dataset)
    if not str(params_path).lower().endswith(".npz"):
        raise ConfigError(f"the code saves an .npz file, not {params_path!r}")
    if start_path is not None and not str(start_path).lower().endswith(".npz"):
        raise ConfigError(f"the code loads its start from an .npz file, not {start_path!r}")
    ctx = _Context(spec, config, task, ref, str(params_path), start_path)
    summary = _summary(ctx)
    header = (
        CodeLine(f"# {summary}", ("setup",)),
        CodeLine(f"# {_training_summary(ctx)}", ("setup",)),
        CodeLine(f"# Written by biasviz {biasviz.__version__}, in the style of the fastai "
                 "book's chapter 4.", ("setup",)),
        CodeLine(_reproduces(config.epochs, trained_epochs), ("setup",)),
    )
    # The chapter sets up the neuron's parameters, then writes the function that uses
    # them; a torch module is built first and its parameters are set afterwards.
    first = (_init(ctx), _model(ctx)) if ctx.single else (_model(ctx), _init(ctx))
    blocks = (
        _imports(ctx),
        _data(ctx),
        *first,
        _loss(ctx),
        _metrics(ctx),
        _training(ctx),
        _run(ctx),
        _save(ctx),
    )
    settings = {
        "spec": spec.to_dict(),
        "config": config.to_dict(),
        "task": task.to_text(),
        "dataset": {"source": ref.source, "name": ref.name},
    }
    return RunCode(summary, _training_summary(ctx), header, blocks, settings)


def _summary(ctx: _Context) -> str:
    what = ctx.task.describe(ctx.ref.class_names)
    return f"{ctx.spec.describe()}; {what}, {ctx.ref.describe()}"


def _training_summary(ctx: _Context) -> str:
    config = ctx.config
    loss = (
        {"mnist": "mnist_loss", "bce": "binary cross-entropy"}[config.loss.value]
        if ctx.binary else "cross-entropy"
    )
    return (
        f"{'Adam' if ctx.adam else 'SGD'}, lr {config.lr:g}, batches of "
        f"{int(config.batch_size)}, {_epochs(int(config.epochs))}, {loss}, seed "
        f"{int(config.seed)}"
    )


# -- 1. imports ---------------------------------------------------------------------------------
def _imports(ctx: _Context) -> CodeBlock:
    b = _Block("setup", "Imports", (
        "Only PyTorch and NumPy. `torch` holds the tensors and computes the gradients; "
        "NumPy is used once at the end, to save the parameters in a file biasviz opens."
    ))
    folder = ctx.ref.source == "folder"
    standard = ctx.spec.init is InitKind.STANDARD
    for module, wanted in (("gzip", folder), ("json", True), ("math", standard),
                           ("struct", folder)):
        if wanted:
            b.add(f"import {module}", "setup", *(("data",) if module in ("gzip", "struct")
                                                  else ()))
    b.add()
    b.add("import numpy as np", "setup")
    b.add("import torch", "setup")
    if not ctx.binary or ctx.config.loss is BinaryLoss.BCE:
        b.add("import torch.nn.functional as F", "setup")
    if not ctx.single:
        b.add("from torch import nn", "setup")
    if ctx.ref.source == "torchvision":
        b.add("from torchvision import datasets", "setup", "data")
    if ctx.ref.source == "sample":
        b.add()
        b.add("from biasviz.data import load_task  # the app's images, as numpy arrays",
              "setup", "data")
    return b.done()


# -- 2. data ------------------------------------------------------------------------------------
def _data(ctx: _Context) -> CodeBlock:
    ref, task = ctx.ref, ctx.task
    if ctx.binary:
        targets = (
            f"Each image gets a target: **1 for a {ctx.first}, 0 for a {ctx.second}**, as the "
            "chapter makes threes 1 and sevens 0. The model's output will be one number "
            f"per image, and a large one will mean \"{ctx.first}\"."
        )
    else:
        targets = ("The target of each image is its label, 0 to 9: one output per class, "
                   "and the largest output is the prediction.")
    md = (
        f"The images of {task.describe(ref.class_names)} from {ref.describe()}, each a "
        "28×28 picture flattened into a row of 28*28 = 784 pixels. " + targets + "\n\n"
        "The chapter divides the pixels by 255 so they lie between 0 (black) and 1 "
        "(white). Here the training pixels are multiplied by 1/255 instead: the same "
        "numbers to the last bit as the app uses, so the run reproduces exactly."
    )
    b = _Block("data", "The data", md)
    if ref.source == "sample":
        b.add("train_x, train_y, valid_x, valid_y = map(", "data")
        b.add(f"    torch.from_numpy, load_task({_q(ref.load_task_name)}, "
              f"{_q(task.to_text())}))", "data")
    elif ref.source == "torchvision":
        kind = _KINDS[ref.name]
        root = str(dataset_root(ref.name))
        b.add(f"root = {_q(root)}  # where the app keeps it; any folder works", "data")
        b.add(f"train_set = datasets.{kind.torchvision_class}(root, train=True, "
              "download=True)", "data")
        b.add(f"valid_set = datasets.{kind.torchvision_class}(root, train=False, "
              "download=True)", "data")
        b.add()
        _select_lines(b, ctx)
        b.add("train_x, train_y = select(train_set.data, train_set.targets)", "data")
        b.add("valid_x, valid_y = select(valid_set.data, valid_set.targets)", "data")
    else:
        files = _find_idx_files(Path(ref.name))
        b.add("def read_idx(path):", "data")
        b.add('    """An IDX file (MNIST\'s format): a magic number whose last byte is the '
              'number', "data")
        b.add('    of dimensions, the sizes (big-endian), then the uint8 values."""', "data")
        b.add('    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:',
              "data")
        b.add("        raw = bytearray(f.read())", "data")
        b.add("    ndim = raw[3]", "data")
        b.add('    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])', "data")
        b.add("    return torch.frombuffer(raw, dtype=torch.uint8, offset=4 + 4 * ndim)"
              ".reshape(shape)", "data")
        b.add()
        _select_lines(b, ctx)
        for role, split in (("train", "train"), ("valid", "t10k")):
            b.add(f"{role}_x, {role}_y = select(", "data")
            b.add(f"    read_idx({_q(str(files[(split, 'images')]))}),", "data")
            b.add(f"    read_idx({_q(str(files[(split, 'labels')]))}))", "data")
    b.add()
    b.add("# pixels 0..255 → 0..1 (× 1/255 for training, / 255 for validation: as the app)",
          "data")
    b.add("train_x = train_x.float() * (1 / 255)", "data")
    b.add("valid_x = valid_x.float() / 255", "data")
    if ctx.binary:
        b.add(f"# targets: 1 = {ctx.first!r}, 0 = {ctx.second!r}", "data")
    b.add('print(f"{len(train_x):,} training and {len(valid_x):,} validation images")',
          "data")
    return b.done()


def _select_lines(b: _Block, ctx: _Context) -> None:
    if ctx.binary:
        first, second = ctx.task.classes
        b.add("def select(images, labels):", "data")
        b.add(f"    keep = (labels == {first}) | (labels == {second})  # "
              f"{ctx.first!r} and {ctx.second!r} only", "data")
        b.add(f"    return images[keep].reshape(-1, 28*28), (labels[keep] == {first}).long()",
              "data")
    else:
        b.add("def select(images, labels):", "data")
        b.add("    return images.reshape(-1, 28*28), labels.long()", "data")
    b.add()


# -- 3. initialization --------------------------------------------------------------------------
def _init(ctx: _Context) -> CodeBlock:
    spec = ctx.spec
    init = spec.init
    if init not in (InitKind.RANDOM, InitKind.ZEROS, InitKind.STANDARD):
        raise ConfigError(f"code export does not know the {init.value!r} initialization")
    if init is InitKind.RANDOM:
        how = (
            f"The chapter's `init_params`: random numbers from a normal distribution, mean 0 "
            f"and standard deviation {spec.init_std:g}. "
            "A generator seeded with the app's seed makes them the app's numbers."
        )
    elif init is InitKind.ZEROS:
        how = (
            "Every parameter starts at 0. For one neuron that is fine: the gradient is "
            "the same either way. In a hidden layer it is not: every hidden neuron starts "
            "equal, gets the same gradient and stays equal to the others."
        )
    else:
        how = (
            "The *standard* start: uniform between −1/√fan_in and +1/√fan_in, where fan_in "
            "is the number of inputs of each neuron. That is PyTorch's own default for "
            "`nn.Linear` and `nn.Conv2d`; scaling to the number of inputs keeps w·x of "
            "order 1 however many pixels feed a neuron."
        )
    if ctx.single:
        bias_md = {
            BiasMode.SCALAR: "784 weights, one per pixel, and **one bias** for the whole image.",
            BiasMode.PER_PIXEL: (
                "784 weights and **784 biases**, one per pixel (the fastai forum's question: "
                "why not `(x*w + b).sum()`?): "
                "they only ever act through their sum."
            ),
            BiasMode.NONE: "784 weights and **no bias**.",
        }[spec.bias_mode]
    else:
        bias_md = "Every neuron has its weights (one per input) and one bias."
    b = _Block("init", "The parameters and their start", how + "\n\n" + bias_md)
    if init is not InitKind.ZEROS:
        b.add(f"gen = torch.Generator().manual_seed({int(spec.seed)})  # the seed: the app's "
              "start", "init", "seed")
        b.add()
    if ctx.single:
        _single_init(b, ctx)
    else:
        _layers_init(b, ctx)
    if ctx.start_path is not None:
        _imported_start(b, ctx)
    return b.done()


def _imported_start(b: _Block, ctx: _Context) -> None:
    """The app's model started from a file's numbers (an import), not from the start above:
    the same numbers, loaded (the code panel said "manual_seed(0)" beside an import)."""
    path = ctx.start_path
    b.markdown += (
        f"\n\nThe app's model did not start from this initialization: its parameters came "
        f"from a file (File › Import parameters). `{path}` holds those numbers under "
        "biasviz's names; the code starts from them, as the app did."
    )
    b.add()
    b.add("# the app's model started from imported numbers: start from the same ones",
          "init", "weights", "bias")
    b.add(f"start = np.load({_q(str(path))})", "init", "weights", "bias")
    b.add("with torch.no_grad():", "init", "weights", "bias")
    if ctx.single:
        b.add('    weights.copy_(torch.from_numpy(start["weights"]))', "init", "weights")
        if ctx.spec.bias_mode is not BiasMode.NONE:
            b.add('    bias.copy_(torch.from_numpy(start["bias"]))', "init", "bias")
    else:
        names = list(ctx.spec.param_shapes())
        b.add(f"    for name, p in zip({_py_literal(names)}, model.parameters()):",
              "init", "weights", "bias")
        b.add("        p.copy_(torch.from_numpy(start[name]))", "init", "weights", "bias")


def _single_init(b: _Block, ctx: _Context) -> None:
    spec = ctx.spec
    if spec.init is InitKind.RANDOM:
        b.add(f"def init_params(size, std={_num(spec.init_std)}):", "init")
        b.add("    return (torch.randn(size, generator=gen) * std).requires_grad_()", "init")
    elif spec.init is InitKind.STANDARD:
        b.add("def init_params(size, fan_in=28*28):", "init")
        b.add("    bound = 1 / math.sqrt(fan_in)  # PyTorch's default: uniform(−bound, bound)",
              "init")
        b.add("    return ((torch.rand(size, generator=gen) * 2 - 1) * bound)"
              ".requires_grad_()", "init")
    else:
        b.add("def init_params(size):", "init")
        b.add("    return torch.zeros(size).requires_grad_()", "init")
    b.add()
    b.add("weights = init_params(28*28)  # a weight per pixel; the chapter's (28*28,1) "
          "has the same numbers", "weights", "init")
    if spec.bias_mode is BiasMode.SCALAR:
        b.add("bias = init_params(1)  # one bias", "bias", "init", live="bias")
        b.add("params = weights, bias", "weights", "bias")
    elif spec.bias_mode is BiasMode.PER_PIXEL:
        b.add("bias = init_params(28*28)  # one bias per pixel", "bias", "init",
              live="bias_sum")
        b.add("params = weights, bias", "weights", "bias")
    else:
        b.add("params = (weights,)  # no bias", "weights", "bias")


def _layers_init(b: _Block, ctx: _Context) -> None:
    spec = ctx.spec
    if spec.init is InitKind.RANDOM:
        b.add(f"def init_params(size, std={_num(spec.init_std)}):", "init")
        b.add("    return torch.randn(size, generator=gen) * std", "init")
        b.add()
        b.add("with torch.no_grad():  # weights, then biases, layer after layer", "init")
        b.add("    for p in model.parameters():", "init")
        b.add("        p.copy_(init_params(p.shape))", "init", "weights", "bias")
    elif spec.init is InitKind.STANDARD:
        b.add("def init_params(size, fan_in):", "init")
        b.add("    bound = 1 / math.sqrt(fan_in)  # PyTorch's default: uniform(−bound, bound)",
              "init")
        b.add("    return (torch.rand(size, generator=gen) * 2 - 1) * bound", "init")
        b.add()
        b.add("with torch.no_grad():  # weights, then biases, layer after layer", "init")
        b.add("    for layer in model:", "init")
        b.add("        if hasattr(layer, \"weight\"):", "init")
        b.add("            fan_in = layer.weight[0].numel()  # inputs of each neuron", "init")
        b.add("            for p in (layer.weight, layer.bias):", "init")
        b.add("                p.copy_(init_params(p.shape, fan_in))", "init", "weights",
              "bias")
    else:
        b.add("with torch.no_grad():", "init")
        b.add("    for p in model.parameters():", "init")
        b.add("        p.zero_()  # every weight and bias starts at 0", "init", "weights",
              "bias")
    b.add("params = list(model.parameters())", "weights", "bias")


def _layers(b: _Block, ctx: _Context) -> None:
    spec = ctx.spec
    o = spec.n_outputs
    one = "  # one output: the logit of " + repr(ctx.first) if ctx.binary else ""
    b.add("model = nn.Sequential(", "model")
    if spec.kind is ModelKind.LINEAR:
        b.add("    nn.Linear(28*28, 10),  # ten neurons, each 784 weights + 1 bias", "model",
              "weights", "bias")
    elif spec.kind is ModelKind.MLP:
        h = int(spec.hidden)
        b.add(f"    nn.Linear(28*28, {h}),  # hidden layer: {h} neurons, 784 weights + "
              "1 bias each", "model", "weights", "bias")
        b.add("    nn.ReLU(),  # max(0, z): the non-linearity", "model")
        b.add(f"    nn.Linear({h}, {o}),{one or '  # output layer: one neuron per class'}",
              "model", "weights", "bias")
    else:
        c, k, p = int(spec.channels), int(spec.kernel), spec.pooled_side
        s = spec.conv_out_side
        b.add("    nn.Unflatten(1, (1, 28, 28)),  # a row of 784 pixels → a 1×28×28 picture",
              "model")
        b.add(f"    nn.Conv2d(1, {c}, {k}),  # {c} kernels of {k}×{k} weights + 1 bias, "
              "shared by every position", "model", "weights", "bias")
        b.add("    nn.ReLU(),", "model")
        b.add(f"    nn.MaxPool2d(2),  # {s}×{s} → {p}×{p}", "model")
        b.add(f"    nn.Flatten(),  # {c}×{p}×{p} = {c * p * p} features", "model")
        b.add(f"    nn.Linear({c * p * p}, {o}),{one or '  # one neuron per class'}", "model",
              "weights", "bias")
    if ctx.binary:
        b.add("    nn.Flatten(0),  # (n, 1) → (n,): one logit per image", "model")
    b.add(")", "model")


# -- 4. the model -------------------------------------------------------------------------------
def _model(ctx: _Context) -> CodeBlock:
    spec = ctx.spec
    if ctx.single:
        md = {
            BiasMode.SCALAR: (
                "The chapter's `linear1`: `xb@weights + bias`. The matrix product multiplies "
                "every pixel by its weight and adds them up, one sum per image; the bias is "
                "then added once. The result is the **logit**: above 0 the neuron says "
                f"\"{ctx.first}\", below 0 \"{ctx.second}\". The bias moves that threshold: "
                "`w·x + b ≥ 0` is `w·x ≥ −b`."
            ),
            BiasMode.PER_PIXEL: (
                "Seed 000's variant: `(xb*weights + bias).sum(1)` adds a bias to every "
                "pixel's product and then sums. Since the sum of `bias` is added to every "
                "image alike, this is `xb@weights + bias.sum()`: 784 biases that act as one, "
                "and every one of them gets the same gradient."
            ),
            BiasMode.NONE: (
                "`xb@weights` with no bias: a blank image always gives the logit 0 "
                "(probability 0.5), and the decision line must pass through the origin."
            ),
        }[spec.bias_mode]
        b = _Block("model", "The model: one neuron", md)
        b.add("def linear1(xb):", "model")
        formula = {
            BiasMode.SCALAR: "    return xb@weights + bias  # the logit of each image",
            BiasMode.PER_PIXEL: "    return (xb*weights + bias).sum(1)  # = xb@weights + "
                                "bias.sum()",
            BiasMode.NONE: "    return xb@weights  # no bias",
        }[spec.bias_mode]
        concepts = ("model", "weights") if spec.bias_mode is BiasMode.NONE else (
            "model", "weights", "bias")
        b.add(formula, *concepts)
        b.add()
        b.add("model = linear1", "model")
        return b.done()
    if spec.kind is ModelKind.LINEAR:
        md = ("`nn.Linear(28*28, 10)` is ten of the chapter's neurons side by side: each has "
              "784 weights and a bias, and computes `xb@weights.T + bias`.")
    elif spec.kind is ModelKind.MLP:
        md = ("The chapter's `simple_net`: a layer of neurons, the ReLU `max(0, z)`, then "
              "another layer of neurons that reads the first layer's outputs.")
    else:
        md = ("A small convolutional network: each kernel is a neuron whose weights are "
              "shared by every position of the picture, so it has far fewer weights than a "
              "layer looking at all 784 pixels.")
    if ctx.binary:
        md += f" One output, the logit: above 0 means \"{ctx.first}\"."
    b = _Block("model", "The model", md)
    _layers(b, ctx)
    b.add('print(sum(p.numel() for p in model.parameters()), "parameters")', "model")
    return b.done()


# -- 5. the loss --------------------------------------------------------------------------------
def _loss(ctx: _Context) -> CodeBlock:
    if not ctx.binary:
        b = _Block("loss", "The loss", (
            "Ten classes: cross-entropy, the chapter's next step after `mnist_loss`. Softmax "
            "turns the ten outputs into probabilities; the loss is −log of the probability "
            "given to the right class."
        ))
        b.add("loss_func = F.cross_entropy", "loss")
        return b.done()
    if ctx.config.loss is BinaryLoss.BCE:
        b = _Block("loss", "The loss", (
            "Binary cross-entropy on the logit: −log σ(logit) for a "
            f"{ctx.first}, −log(1 − σ(logit)) for a {ctx.second}. Unlike `mnist_loss` it "
            "keeps a useful gradient when the sigmoid is far on the wrong side."
        ))
        b.add("def bce_loss(logits, targets):", "loss")
        b.add("    return F.binary_cross_entropy_with_logits(logits, targets.float())", "loss")
        b.add()
        b.add("loss_func = bce_loss", "loss")
        return b.done()
    b = _Block("loss", "The loss", (
        "The chapter's `mnist_loss`: squash each logit into 0..1 with the sigmoid, then "
        f"measure how far it is from the right answer (1 − p for a {ctx.first}, p for a "
        f"{ctx.second}) and average. Accuracy cannot be the loss: a tiny change of a weight "
        "rarely changes any prediction, so its gradient is zero almost everywhere."
    ))
    b.add("def mnist_loss(predictions, targets):", "loss")
    b.add("    predictions = predictions.sigmoid()", "loss")
    b.add("    return torch.where(targets==1, 1-predictions, predictions).mean()", "loss")
    b.add()
    b.add("loss_func = mnist_loss", "loss")
    return b.done()


# -- 6. metrics ---------------------------------------------------------------------------------
def _metrics(ctx: _Context) -> CodeBlock:
    if ctx.binary:
        rule = (f"An image counts as a \"{ctx.first}\" when σ(logit) ≥ 0.5, that is when the "
                "logit is ≥ 0.")
    else:
        rule = "The prediction is the class with the largest output."
    b = _Block("metrics", "Accuracy", (
        "The chapter's `batch_accuracy` and `validate_epoch`: the share of validation "
        "images the model gets right. " + rule + " The validation images are never trained "
        "on, so this measures what the model learned, not what it memorised."
    ))
    b.add("def batch_accuracy(logits, yb):", "metrics")
    if ctx.binary:
        b.add("    preds = (logits >= 0).long()  # σ(logit) ≥ 0.5", "metrics")
    else:
        b.add("    preds = logits.argmax(dim=1)", "metrics")
    b.add("    return (preds == yb).float().mean()", "metrics")
    b.add()
    b.add("def validate_epoch(model):", "metrics")
    b.add("    with torch.no_grad():", "metrics")
    b.add(f"        logits = torch.cat([model(valid_x[i : i + {EVAL_CHUNK}])", "metrics")
    b.add(f"                            for i in range(0, len(valid_x), {EVAL_CHUNK})])",
          "metrics")
    b.add("    return round(batch_accuracy(logits, valid_y).item(), 4)", "metrics")
    b.add()
    b.add('print("before training:", validate_epoch(model))', "metrics")
    return b.done()


# -- 7. training --------------------------------------------------------------------------------
def _training(ctx: _Context) -> CodeBlock:
    config = ctx.config
    if ctx.adam:
        step_md = (
            "Adam instead of the chapter's plain step: it keeps running averages of each "
            "parameter's gradient and of its square, and moves each parameter by about "
            "`lr` in the direction those averages point."
        )
    else:
        step_md = (
            "The chapter's SGD step: `p.data -= p.grad*lr` moves every parameter a little "
            "against its gradient, then the gradient is set back to zero (PyTorch adds new "
            "gradients to old ones)."
        )
    order_md = (
        f"Each epoch shuffles the training images with a generator seeded with {int(config.seed)} — the same order as the app — "
        f"and cuts them into mini-batches of {int(config.batch_size)}."
        if config.shuffle else
        f"The training images are taken in their stored order, in mini-batches of "
        f"{int(config.batch_size)}."
    )
    b = _Block("train", "Training: mini-batches, gradients, steps", (
        "The chapter's loop: for each mini-batch, compute the predictions and the loss, "
        "let `loss.backward()` compute the gradient of the loss for every parameter, and "
        "take a step. " + order_md + "\n\n" + step_md
    ))
    b.add(f"lr = {_num(config.lr)}", "lr", live="lr")
    b.add(f"batch_size = {int(config.batch_size)}", "batch")
    if config.shuffle:
        b.add(f"batch_order = torch.Generator().manual_seed({int(config.seed)})  # the app's "
              "batch order", "batch", "seed")
    if ctx.adam:
        b.add("opt = torch.optim.Adam(params, lr=lr)", "optimizer", "lr")
    b.add()
    b.add("def calc_grad(xb, yb, model):", "gradient")
    b.add("    loss = loss_func(model(xb), yb)", "loss", "gradient", live="loss")
    b.add("    loss.backward()", "gradient")
    b.add()
    if ctx.adam:
        b.add("def train_epoch(model):", "epochs")
    else:
        b.add("def train_epoch(model, lr, params):", "epochs")
    if config.shuffle:
        b.add("    order = torch.randperm(len(train_x), generator=batch_order)  # a new "
              "shuffle", "batch")
    else:
        b.add("    order = torch.arange(len(train_x))", "batch")
    b.add("    for i in range(0, len(train_x), batch_size):", "batch")
    b.add("        idx = order[i : i + batch_size]", "batch")
    b.add("        calc_grad(train_x[idx], train_y[idx], model)", "batch", "gradient")
    if ctx.adam:
        b.add("        opt.step()  # Adam's step", "step", "optimizer", live="step")
        b.add("        opt.zero_grad()", "step", "optimizer")
    else:
        b.add("        for p in params:", "step")
        b.add("            p.data -= p.grad*lr  # the SGD step", "step", "lr", "optimizer",
              live="step")
        b.add("            p.grad.zero_()", "step")
    return b.done()


def _run(ctx: _Context) -> CodeBlock:
    epochs = int(ctx.config.epochs)
    b = _Block("run", "Train and watch the accuracy", (
        f"{_epochs(epochs)}, printing the validation accuracy after each, as the chapter "
        "does. The app's run ends at the same final accuracy."
    ))
    b.add(f"for epoch in range({epochs}):", "epochs", live="epoch")
    if ctx.adam:
        b.add("    train_epoch(model)", "epochs")
    else:
        b.add("    train_epoch(model, lr, params)", "epochs")
    b.add('    print(f"epoch {epoch + 1}: validation accuracy {validate_epoch(model):.4f}")',
          "metrics", live="accuracy")
    b.add('print(f"final validation accuracy: {validate_epoch(model):.4f}")', "metrics")
    return b.done()


# -- 9. save --------------------------------------------------------------------------------------
def _save(ctx: _Context) -> CodeBlock:
    spec, config = ctx.spec, ctx.config
    b = _Block("save", "Save the parameters for biasviz", (
        f"`np.savez` writes the parameters to `{ctx.params_path}` under the names biasviz "
        "reads (`weights`, `bias`...), with a small JSON description of the run. Open it "
        "in the app (File › Import parameters) to see the weights as pictures, drag the "
        "bias, or draw a digit."
    ))
    meta = {
        "format": "biasviz-params",
        "format_version": 1,
        "spec": spec.to_dict(),
        "dataset": ctx.ref.describe(),
        "dataset_key": "folder" if ctx.ref.source == "folder" else ctx.ref.name,
        "task": ctx.task.to_text(),
        "class_names": list(ctx.class_names),
        "epochs": int(config.epochs),
        "lr": float(config.lr),
        "optimizer": config.optimizer.value,
        "batch_size": int(config.batch_size),
        "loss": config.loss.value if ctx.binary else "cross_entropy",
        "note": "trained by code exported from biasviz",
    }
    if ctx.single:
        pairs = [("weights", "weights")]
        if spec.bias_mode is not BiasMode.NONE:
            pairs.append(("bias", "bias"))
        b.add("arrays = {", "save")
        for name, var in pairs:
            b.add(f"    {_q(name)}: {var}.detach().numpy(),", "save")
        b.add("}", "save")
    else:
        names = list(spec.param_shapes())
        b.add("# biasviz's names for the parameters, in the order of model.parameters()",
              "save")
        b.add(f"names = {_py_literal(names)}", "save")
        b.add("arrays = {name: p.detach().numpy() for name, p in zip(names, "
              "model.parameters())}", "save")
    b.add("description = {", "save")
    for key, value in meta.items():
        if isinstance(value, dict):  # the model's description, a few items a line
            b.add(f"    {_q(key)}: {{", "save")
            items = [f"{_q(k)}: {_py_literal(v)}," for k, v in value.items()]
            for start in range(0, len(items), 4):
                b.add("        " + " ".join(items[start : start + 4]), "save")
            b.add("    },", "save")
        else:
            b.add(f"    {_q(key)}: {_py_literal(value)},", "save")
    b.add("}", "save")
    b.add('description["valid_accuracy"] = validate_epoch(model)', "save", "metrics")
    b.add(f"np.savez({_q(ctx.params_path)}, **arrays, metadata=np.array(json.dumps("
          "description)))", "save")
    b.add(f'print("saved {ctx.params_path}")', "save")
    return b.done()


def _py_literal(value: object) -> str:
    """A JSON-able value as Python source (True/None, not true/null)."""
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, list):
        return "[" + ", ".join(_py_literal(v) for v in value) + "]"
    return repr(value)


# -- writing files ----------------------------------------------------------------------------
CODE_SUFFIXES = (".py", ".ipynb")


def notebook_text(code: RunCode) -> str:
    """The notebook as the text of an .ipynb file."""
    return json.dumps(code.notebook(), ensure_ascii=False, indent=1) + "\n"


def write_code(path: str | os.PathLike[str], code: RunCode) -> None:
    """Write ``code`` as a script (``.py``) or a notebook (``.ipynb``).

    The file appears whole or not at all: it is written under a temporary name beside
    the target, then renamed over it.  Raises :class:`ConfigError` for another extension
    and :class:`~biasviz.core.errors.BiasvizError` when the file cannot be written.
    """
    target = Path(os.fspath(path)).expanduser()
    suffix = target.suffix.lower()
    if suffix not in CODE_SUFFIXES:
        raise ConfigError(
            f"{target.name}: code is written as .py (a script) or .ipynb (a notebook), "
            f"not {suffix or '(no extension)'!r}"
        )
    text = code.script() if suffix == ".py" else notebook_text(code)
    tmp: str | None = None
    try:
        if target.is_dir():
            raise BiasvizError(f"cannot write {target}: it is a folder")
        if not target.parent.is_dir():
            raise BiasvizError(
                f"cannot write {target.name}: the folder {target.parent} does not exist"
            )
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise BiasvizError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def default_params_path(code_path: str | os.PathLike[str]) -> str:
    """Where the exported code saves its parameters: beside it, ``<name>.npz``."""
    return Path(os.fspath(code_path)).with_suffix(".npz").name


def default_start_path(code_path: str | os.PathLike[str]) -> str:
    """Where the exported code of an imported model finds its start: ``<name>-start.npz``
    beside it."""
    path = Path(os.fspath(code_path))
    return f"{path.stem}-start.npz"
