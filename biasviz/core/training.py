"""The training engine: a generator of metrics, driven by a test, the CLI or a QThread.

``Trainer.run(epochs, control)`` trains and yields events:

* :class:`StepMetrics` after every batch (step, epoch, training loss, the bias),
* :class:`EpochMetrics` after every epoch (training and validation loss, accuracy),
* :class:`Paused` just before it blocks for a pause (so a consumer can flush),
* :class:`TrainingEnded` last (finished, stopped or diverged, with a reason).

Each yield is where the :class:`TrainingControl` is honoured: pause, resume, stop,
single steps, slow motion, and edits queued by another thread (applied between two
batches, never in the middle of one).  Consumers that want fewer updates throttle on
their side; the engine itself never sleeps unless asked to.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
import torch.nn.functional as F

from biasviz.core.datasets import TaskData
from biasviz.core.errors import ConfigError
from biasviz.core.models import build_model, initialize, load_params, snapshot_params
from biasviz.core.spec import (  # noqa: F401 - re-exported for callers
    BinaryLoss,
    ModelKind,
    ModelSpec,
    Optimizer,
    Snapshot,
    TrainConfig,
)

EVAL_CHUNK = 4096


# -- events ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StepMetrics:
    step: int  # batches done so far, over all runs since the last reset
    epoch: int  # the epoch this batch belongs to (1-based)
    batch: int  # 1-based position of the batch in its epoch
    batches_per_epoch: int
    loss: float  # training loss of this batch, before the update
    bias: float | None = None  # single neuron: b, or Σbᵢ for per-pixel biases, after the update


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int  # epochs completed since the last reset
    step: int
    train_loss: float  # mean of the epoch's batch losses
    valid_loss: float
    valid_accuracy: float
    elapsed: float  # seconds of training in this run so far


@dataclass(frozen=True)
class Paused:
    step: int
    epoch: int


class EndReason(StrEnum):
    FINISHED = "finished"
    STOPPED = "stopped"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class TrainingEnded:
    reason: EndReason
    message: str
    step: int
    epoch: int


Event = StepMetrics | EpochMetrics | Paused | TrainingEnded


class TrainingControl:
    """Thread-safe commands for a running :meth:`Trainer.run`.

    Every method may be called from any thread; the training thread reacts at its next
    batch boundary.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False
        self._budget: int | None = None  # batches left before pausing (single steps)
        self._pause_at_epoch_end = False
        self.delay = 0.0  # seconds to wait after each batch (slow motion)
        self._edits: list[Callable[[], None]] = []

    # commands --------------------------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._budget = None
            self._pause_at_epoch_end = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def step(self, batches: int = 1) -> None:
        """Run ``batches`` more batches, then pause."""
        with self._cond:
            self._budget = max(1, int(batches))
            self._pause_at_epoch_end = False
            self._paused = False
            self._cond.notify_all()

    def step_epoch(self) -> None:
        """Run to the end of the current epoch, then pause."""
        with self._cond:
            self._budget = None
            self._pause_at_epoch_end = True
            self._paused = False
            self._cond.notify_all()

    def set_delay(self, seconds: float) -> None:
        with self._cond:
            self.delay = max(0.0, float(seconds))
            self._cond.notify_all()

    def submit(self, edit: Callable[[], None]) -> None:
        """Queue ``edit`` to run in the training thread between two batches."""
        with self._cond:
            self._edits.append(edit)
            self._cond.notify_all()

    # state -----------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    # used by the training loop ------------------------------------------------------
    def _take_edits(self) -> list[Callable[[], None]]:
        with self._cond:
            edits, self._edits = self._edits, []
        return edits

    def _after_batch(self, end_of_epoch: bool) -> None:
        # Fast path, no lock: nothing to count down.  A step command that lands right now
        # is seen at the next batch boundary.
        if self._budget is None and not self._pause_at_epoch_end:
            return
        with self._cond:
            if self._budget is not None:
                self._budget -= 1
                if self._budget <= 0:
                    self._budget = None
                    self._paused = True
            if end_of_epoch and self._pause_at_epoch_end:
                self._pause_at_epoch_end = False
                self._paused = True

    def _wait_delay(self) -> None:
        if self.delay > 0:
            with self._cond:
                self._cond.wait_for(lambda: self._stopped, timeout=self.delay)

    def _wait_while_paused(self, apply_edits: Callable[[], None]) -> None:
        with self._cond:
            while self._paused and not self._stopped:
                if self._edits:
                    self._cond.release()
                    try:
                        apply_edits()
                    finally:
                        self._cond.acquire()
                    continue
                self._cond.wait(timeout=0.5)


# -- losses ----------------------------------------------------------------------------
def mnist_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The chapter's loss: how far the sigmoid is from the right answer, averaged."""
    predictions = logits.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


def _shared_tensor(a: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``a``'s memory (no copy of the uint8 images), even when ``a`` is
    read-only: training only ever reads these, so torch's warning does not apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


class Trainer:
    """A model, its data, an optimizer, and the position in training.

    ``run`` continues from where the last run ended; ``reset`` re-initializes the model
    with the spec's seed and restarts the batch order.
    """

    def __init__(self, spec: ModelSpec, data: TaskData, config: TrainConfig | None = None):
        if spec.n_outputs != data.task.n_outputs:
            raise ConfigError(
                f"{spec.describe()} has {spec.n_outputs} output(s) but the task "
                f"{data.describe()} needs {data.task.n_outputs}"
            )
        self.spec = spec
        self.data = data
        self.config = config or TrainConfig()
        self._train_x, self._train_y, self._valid_x, self._valid_y = (
            _shared_tensor(a) for a in (data.train_x, data.train_y, data.valid_x, data.valid_y)
        )
        self.model = build_model(spec)
        self._params = [p for _, p in self.model.named_parameters()]
        self._names = [n for n, _ in self.model.named_parameters()]
        self._backup = [p.detach().clone() for p in self._params]
        self._has_update = False
        self._lock = threading.Lock()  # guards parameters between a step and a snapshot
        self.reset()

    # -- state -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the initial parameters (same seed), step 0, fresh optimizer."""
        with self._lock:
            initialize(self.model, self.spec)
            for b, p in zip(self._backup, self._params, strict=True):
                b.copy_(p.detach())
            self._has_update = False
        self.step = 0
        self.epoch = 0
        self._order = torch.Generator().manual_seed(int(self.config.seed))
        self._make_optimizer()

    def _make_optimizer(self) -> None:
        if self.config.optimizer is Optimizer.ADAM:
            self._adam: torch.optim.Optimizer | None = torch.optim.Adam(
                self._params, lr=self.config.lr
            )
        else:
            self._adam = None

    def set_config(self, config: TrainConfig) -> None:
        """Change how training goes on (lr, batch size, optimizer...) keeping parameters."""
        old = self.config
        self.config = config
        if config.optimizer is not old.optimizer or self._adam is None:
            self._make_optimizer()
        elif self._adam is not None:
            for group in self._adam.param_groups:
                group["lr"] = config.lr

    @property
    def batches_per_epoch(self) -> int:
        return max(1, math.ceil(self.data.n_train / int(self.config.batch_size)))

    def snapshot(self) -> Snapshot:
        """Copies of the parameters and of the last update."""
        with self._lock:
            params = snapshot_params(self.model)
            last = None
            if self._has_update:
                last = {
                    n: (p.detach() - b).numpy().copy()
                    for n, p, b in zip(self._names, self._params, self._backup, strict=True)
                }
        return Snapshot(self.spec, params, self.step, self.epoch, last)

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace the parameters (import, bias edits, painting).  Call from the training
        thread, or through ``control.submit`` while a run is going."""
        with self._lock:
            load_params(self.model, self.spec, params)
            for b, p in zip(self._backup, self._params, strict=True):
                b.copy_(p.detach())
            self._has_update = False

    def bias_value(self) -> float | None:
        """The single neuron's effective bias (b or Σbᵢ), else None."""
        if self.spec.kind is not ModelKind.SINGLE or getattr(self.model, "bias", None) is None:
            return None
        return float(self.model.bias.detach().sum())

    # -- maths -------------------------------------------------------------------------
    def loss_fn(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.data.task.is_binary:
            if self.config.loss is BinaryLoss.BCE:
                return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
            return mnist_loss(logits, targets)
        return F.cross_entropy(logits, targets)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Validation (loss, accuracy).  Two classes: predict the first when logit ≥ 0."""
        total_loss, correct, n = 0.0, 0, self.data.n_valid
        for start in range(0, n, EVAL_CHUNK):
            xb = self._valid_x[start : start + EVAL_CHUNK].float().div_(255.0)
            yb = self._valid_y[start : start + EVAL_CHUNK]
            logits = self.model(xb)
            total_loss += float(self.loss_fn(logits, yb)) * len(yb)
            if self.data.task.is_binary:
                pred = (logits >= 0).long()
            else:
                pred = logits.argmax(dim=1)
            correct += int((pred == yb).sum())
        return total_loss / n, correct / n

    def _params_finite(self) -> bool:
        # One float64 sum per tensor: NaN or ±inf anywhere makes it non-finite (and float64
        # cannot overflow from float32 values); cheaper than isfinite(p).all().
        return all(math.isfinite(float(p.detach().sum(dtype=torch.float64))) for p in self._params)

    def _restore_backup(self) -> None:
        with torch.no_grad():
            for b, p in zip(self._backup, self._params, strict=True):
                p.copy_(b)
        self._has_update = False

    # -- the loop ------------------------------------------------------------------------
    def run(
        self, epochs: int | None = None, control: TrainingControl | None = None
    ) -> Iterator[Event]:
        """Train ``epochs`` more epochs (default: the config's), yielding events."""
        control = control or TrainingControl()
        epochs = self.config.epochs if epochs is None else int(epochs)
        bs = int(self.config.batch_size)
        lr = float(self.config.lr)
        n = self.data.n_train
        per_epoch = self.batches_per_epoch
        is_single = self.spec.kind is ModelKind.SINGLE
        started = time.perf_counter()
        paused_time = 0.0

        def apply_edits() -> None:
            for edit in control._take_edits():
                edit()

        target_epoch = self.epoch + epochs
        while self.epoch < target_epoch:
            if self.config.shuffle:
                order = torch.randperm(n, generator=self._order)
            else:
                order = torch.arange(n)
            losses = []
            epoch_no = self.epoch + 1
            for b in range(per_epoch):
                if control._edits:
                    apply_edits()
                if control.stopped:
                    yield self._end(EndReason.STOPPED, "stopped")
                    return
                idx = order[b * bs : (b + 1) * bs]
                # index_select is much cheaper than fancy indexing on a uint8 tensor
                # (uint8 × python float promotes to float32: the conversion and the /255
                # are one operation)
                xb = torch.index_select(self._train_x, 0, idx).mul(1.0 / 255.0)
                yb = torch.index_select(self._train_y, 0, idx)
                with self._lock:
                    for bk, p in zip(self._backup, self._params, strict=True):
                        bk.copy_(p.detach())
                    loss = self.loss_fn(self.model(xb), yb)
                    loss.backward()
                    if self._adam is not None:
                        self._adam.step()
                        self._adam.zero_grad(set_to_none=True)
                    else:
                        with torch.no_grad():
                            for p in self._params:
                                p -= lr * p.grad
                                p.grad = None
                    loss_value = float(loss.detach())
                    finite = math.isfinite(loss_value) and self._params_finite()
                    if not finite:
                        self._restore_backup()
                    else:
                        self._has_update = True
                if not finite:
                    yield self._end(
                        EndReason.DIVERGED,
                        f"training diverged at step {self.step + 1} (epoch {epoch_no}): "
                        + ("the loss" if not math.isfinite(loss_value) else "a parameter")
                        + f" became infinite or NaN with learning rate {lr:g}. The last "
                        "finite parameters are kept; try a smaller learning rate.",
                    )
                    return
                self.step += 1
                losses.append(loss_value)
                bias = self.bias_value() if is_single else None
                yield StepMetrics(self.step, epoch_no, b + 1, per_epoch, loss_value, bias)
                control._after_batch(end_of_epoch=b + 1 == per_epoch)
                control._wait_delay()
                if control.paused and not control.stopped:
                    t0 = time.perf_counter()
                    yield Paused(self.step, self.epoch)
                    control._wait_while_paused(apply_edits)
                    paused_time += time.perf_counter() - t0
            self.epoch += 1
            valid_loss, valid_acc = self.evaluate()
            yield EpochMetrics(
                self.epoch,
                self.step,
                float(np.mean(losses)),
                valid_loss,
                valid_acc,
                time.perf_counter() - started - paused_time,
            )
        yield self._end(EndReason.FINISHED, f"finished {epochs} epoch(s)")

    def _end(self, reason: EndReason, message: str) -> TrainingEnded:
        return TrainingEnded(reason, message, self.step, self.epoch)
