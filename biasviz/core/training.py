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
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
import torch.nn.functional as F

from biasviz.core import engine_numpy
from biasviz.core.datasets import TaskData
from biasviz.core.errors import ConfigError
from biasviz.core.models import build_model, initialize, load_params, snapshot_params
from biasviz.core.spec import (  # noqa: F401 - re-exported for callers
    BiasMode,
    BinaryLoss,
    ModelKind,
    ModelSpec,
    Optimizer,
    Snapshot,
    TrainConfig,
    validate_params,
)

EVAL_CHUNK = 4096
# The numpy engine converts validation images to float in chunks this size, into a
# buffer kept for the trainer's life (0.8 MB: converted and read while in cache).
NUMPY_EVAL_CHUNK = 256
# ...unless the whole validation set as float32 is at most this big: then it is
# converted once and kept (e.g. 2,000 images of a two-class task: 6.3 MB).
NUMPY_EVAL_CACHE_BYTES = 16 * 2**20


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

    Every command may be called from any thread; the training thread reacts at its next
    batch boundary.  A training loop (``Trainer.run``, ``train_together``) calls, in
    its own thread: :meth:`apply_edits` before each batch, :meth:`after_batch` after
    each batch's event, :meth:`after_epoch` after each epoch's evaluation event, and,
    when either returns True, yields its ``Paused`` event and calls
    :meth:`wait_while_paused`.

    At an epoch's end the pause comes after the epoch is evaluated, whatever asked for
    it (Pause, a single step, Step epoch): the finished epoch's validation point is
    there while training waits.
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
        """Run to the end of the current epoch, evaluate it, then pause."""
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

    # batch boundaries: called by the training loop, in the training thread ---------
    def apply_edits(self) -> None:
        """Run the queued edits now (between two batches, never during one)."""
        if not self._edits:  # no lock when nothing is queued: this runs every batch
            return
        with self._cond:
            edits, self._edits = self._edits, []
        for edit in edits:
            edit()

    def after_batch(self, end_of_epoch: bool = False) -> bool:
        """A batch is done and its event yielded: count it for single steps, wait the
        slow-motion delay, and say whether to pause now.

        After an epoch's last batch (``end_of_epoch``) this never asks to pause: the
        loop evaluates the epoch first and :meth:`after_epoch` asks instead.
        """
        # Fast path, no lock: nothing to count down.  A step command that lands right now
        # is seen at the next batch boundary.
        if self._budget is not None:
            with self._cond:
                if self._budget is not None:
                    self._budget -= 1
                    if self._budget <= 0:
                        self._budget = None
                        self._paused = True
        if self.delay > 0:
            with self._cond:
                self._cond.wait_for(lambda: self._stopped, timeout=self.delay)
        return not end_of_epoch and self._paused and not self._stopped

    def after_epoch(self, last: bool = False) -> bool:
        """An epoch is done and evaluated: say whether to pause now.

        ``last``: it was the run's last epoch, which ends the run anyway; a pending
        pause or Step epoch is used up by that end instead of waiting for Resume.
        """
        if self._pause_at_epoch_end or last:
            with self._cond:
                if self._pause_at_epoch_end:
                    self._pause_at_epoch_end = False
                    self._paused = True
                if last:
                    self._paused = False
                    self._budget = None
        return self._paused and not self._stopped

    def wait_while_paused(self) -> None:
        """Block while paused (and not stopped), running edits as they are submitted."""
        with self._cond:
            while self._paused and not self._stopped:
                if self._edits:
                    edits, self._edits = self._edits, []
                    self._cond.release()
                    try:
                        for edit in edits:
                            edit()
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

    ``engine`` chooses how a step is computed: ``"auto"`` (default) uses the numpy
    engine with closed-form gradients (:mod:`biasviz.core.engine_numpy`) for the single
    neuron, the linear model and the MLP, and torch autograd for the CNN; ``"torch"``
    forces autograd (the reference the numpy engine is tested against).  Both give the
    same events, losses and parameter trajectories up to float32 rounding.
    """

    def __init__(
        self,
        spec: ModelSpec,
        data: TaskData,
        config: TrainConfig | None = None,
        *,
        engine: str = "auto",
    ):
        if spec.n_outputs != data.task.n_outputs:
            raise ConfigError(
                f"{spec.describe()} has {spec.n_outputs} output(s) but the task "
                f"{data.describe()} needs {data.task.n_outputs}"
            )
        if engine not in ("auto", "torch", "numpy"):
            raise ConfigError(f"unknown engine {engine!r}: choose auto, torch or numpy")
        if engine == "numpy" and not engine_numpy.supports(spec):
            raise ConfigError(f"the numpy engine cannot train {spec.describe()}")
        self.spec = spec
        self.data = data
        self.config = config or TrainConfig()
        self._lock = threading.Lock()  # guards parameters between a step and a snapshot
        self._model = build_model(spec)
        self._fast: engine_numpy.NumpyModel | None = None
        self._eval_buffer: np.ndarray | None = None
        self._eval_lock = threading.Lock()
        if engine == "numpy" or (engine == "auto" and engine_numpy.supports(spec)):
            self._fast = engine_numpy.NumpyModel(spec, snapshot_params(self._model))
        else:
            self._train_x, self._train_y, self._valid_x, self._valid_y = (
                _shared_tensor(a)
                for a in (data.train_x, data.train_y, data.valid_x, data.valid_y)
            )
            self._params = [p for _, p in self._model.named_parameters()]
            self._names = [n for n, _ in self._model.named_parameters()]
            self._backup = [p.detach().clone() for p in self._params]
        self._has_update = False
        self._epoch_position = 0  # batches done in the epoch a paused run is in
        self._run_per_epoch: int | None = None
        self.reset()

    @property
    def engine(self) -> str:
        """``"numpy"`` or ``"torch"``: what computes the training steps."""
        return "torch" if self._fast is None else "numpy"

    @property
    def model(self) -> torch.nn.Module:
        """The torch module with the current parameters (e.g. for ``state_dict()``).

        With the numpy engine this is a copy brought up to date on each access: changes
        made to it do not reach training (use :meth:`set_params`)."""
        if self._fast is not None:
            with self._lock, torch.no_grad():
                for name, p in self._model.named_parameters():
                    p.copy_(torch.from_numpy(self._fast.params[name]))
        return self._model

    # -- state -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the initial parameters (same seed), step 0, fresh optimizer."""
        with self._lock:
            initialize(self._model, self.spec)
            if self._fast is not None:
                self._fast.load(snapshot_params(self._model))
            else:
                for b, p in zip(self._backup, self._params, strict=True):
                    b.copy_(p.detach())
            self._has_update = False
        self.step = 0
        self.epoch = 0
        self._epoch_position = 0
        self._order = torch.Generator().manual_seed(int(self.config.seed))
        self._make_optimizer()

    def _make_optimizer(self) -> None:
        adam = self.config.optimizer is Optimizer.ADAM
        if self._fast is not None:
            self._fast.reset_optimizer(adam)
            return
        if adam:
            self._adam: torch.optim.Optimizer | None = torch.optim.Adam(
                self._params, lr=self.config.lr
            )
        else:
            self._adam = None

    def set_config(self, config: TrainConfig) -> None:
        """Change how training goes on (lr, batch size, optimizer...) keeping parameters."""
        old = self.config
        self.config = config
        if self._fast is not None:
            # the numpy Adam takes the learning rate at each step
            if config.optimizer is not old.optimizer:
                self._make_optimizer()
            return
        if config.optimizer is not old.optimizer or self._adam is None:
            self._make_optimizer()
        elif self._adam is not None:
            for group in self._adam.param_groups:
                group["lr"] = config.lr

    @property
    def batches_per_epoch(self) -> int:
        return max(1, math.ceil(self.data.n_train / int(self.config.batch_size)))

    def batches_left_in_epoch(self) -> int:
        """How many batches "Step epoch" will run from here: the rest of the epoch a
        paused run is in, or a whole epoch when no run is under way (a new run starts a
        new epoch)."""
        per_epoch = self._run_per_epoch or self.batches_per_epoch
        return per_epoch - self._epoch_position

    def snapshot(self) -> Snapshot:
        """Copies of the parameters and of the last update."""
        with self._lock:
            if self._fast is not None:
                params = self._fast.copy_params()
                last = None
                if self._has_update:
                    last = {n: a.copy() for n, a in self._fast.last_update.items()}
            else:
                params = snapshot_params(self._model)
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
            if self._fast is not None:
                self._fast.load(validate_params(params, self.spec))
            else:
                load_params(self._model, self.spec, params)
                for b, p in zip(self._backup, self._params, strict=True):
                    b.copy_(p.detach())
            self._has_update = False

    # -- position in training (session files, "train from a past moment") -----------------
    def position_state(self) -> dict:
        """Where training stands, JSON-able (the batch order's state is
        :meth:`order_state`)."""
        return {"step": int(self.step), "epoch": int(self.epoch),
                "optimizer": self.config.optimizer.value}

    def order_state(self) -> np.ndarray:
        """The batch-order generator's state (uint8): restored, the next epochs draw the
        same batches as they would have."""
        return self._order.get_state().numpy().copy()

    def restore_position(self, step: int, epoch: int, state: dict | None = None,
                         order_state: np.ndarray | None = None) -> None:
        """Continue from a saved position (a session file).  Adam's running averages are
        not saved: they start afresh (SGD, the chapter's optimizer, has none)."""
        self.step, self.epoch = int(step), int(epoch)
        if order_state is not None:
            try:
                self._order.set_state(torch.from_numpy(
                    np.ascontiguousarray(order_state, dtype=np.uint8).copy()))
            except (RuntimeError, ValueError, TypeError) as exc:
                raise ConfigError(f"the saved batch order is damaged ({exc})") from None
        self._make_optimizer()

    def rewind(self, step: int, epoch: int) -> None:
        """Go back to an earlier step (its parameters set with :meth:`set_params`); the
        batch order goes on from where it is, so the new branch sees new batches."""
        self.step, self.epoch = int(step), int(epoch)
        self._make_optimizer()

    def bias_value(self) -> float | None:
        """The single neuron's effective bias (b or Σbᵢ), else None."""
        if self.spec.kind is not ModelKind.SINGLE or self.spec.bias_mode is BiasMode.NONE:
            return None
        if self._fast is not None:
            return self._fast.effective_bias()
        bias = self._model.bias
        assert isinstance(bias, torch.Tensor)
        return float(bias.detach().sum())

    # -- maths -------------------------------------------------------------------------
    def _loss_kind(self) -> engine_numpy.LossKind:
        if not self.data.task.is_binary:
            return engine_numpy.LossKind.CROSS_ENTROPY
        if self.config.loss is BinaryLoss.BCE:
            return engine_numpy.LossKind.BCE
        return engine_numpy.LossKind.MNIST

    def loss_fn(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training loss in torch (the autograd engine's, and the reference)."""
        if self.data.task.is_binary:
            if self.config.loss is BinaryLoss.BCE:
                return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
            return mnist_loss(logits, targets)
        return F.cross_entropy(logits, targets)

    def evaluate(self) -> tuple[float, float]:
        """Validation (loss, accuracy).  Two classes: predict the first when logit ≥ 0."""
        if self._fast is not None:
            return self._evaluate_numpy()
        return self._evaluate_torch()

    def _evaluate_numpy(self) -> tuple[float, float]:
        assert self._fast is not None
        with self._lock:  # a consistent copy: another thread may be training
            # order="K" keeps the engine's fast memory layout for the products below
            params = {n: a.copy(order="K") for n, a in self._fast.params.items()}
        kind = self._loss_kind()
        total_loss, correct, n = 0.0, 0, self.data.n_valid
        # the buffer is shared: one evaluation at a time (another thread may call this)
        with self._eval_lock, np.errstate(all="ignore"):
            if self._eval_buffer is None:
                valid_x = self.data.valid_x
                if valid_x.size * 4 <= NUMPY_EVAL_CACHE_BYTES:
                    self._eval_buffer = valid_x.astype(np.float32)
                else:
                    rows = min(n, NUMPY_EVAL_CHUNK)
                    self._eval_buffer = np.empty((rows, valid_x.shape[1]), np.float32)
            if len(self._eval_buffer) == n:  # the whole set, converted once
                chunks = iter([(0, self._eval_buffer)])
            else:
                chunks = engine_numpy.chunks_as_float(self.data.valid_x, self._eval_buffer)
            for start, xb in chunks:
                yb = self.data.valid_y[start : start + len(xb)]
                logits = engine_numpy.safe_logits(params, self.spec, xb)
                total_loss += engine_numpy.loss_value(logits, yb, kind) * len(yb)
                if self.data.task.is_binary:
                    pred = logits >= 0
                    correct += int(np.count_nonzero(pred == (yb == 1)))
                else:
                    correct += int(np.count_nonzero(logits.argmax(axis=1) == yb))
        return total_loss / n, correct / n

    @torch.no_grad()
    def _evaluate_torch(self) -> tuple[float, float]:
        total_loss, correct, n = 0.0, 0, self.data.n_valid
        for start in range(0, n, EVAL_CHUNK):
            xb = self._valid_x[start : start + EVAL_CHUNK].float().div_(255.0)
            yb = self._valid_y[start : start + EVAL_CHUNK]
            logits = self._model(xb)
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

    # -- one step ------------------------------------------------------------------------
    # A stepper is a pair: start_epoch(order) takes the epoch's permutation of the
    # training images, step(b) trains on batch b of it and returns (loss, None), or
    # (loss, what became non-finite) after putting the last finite parameters back.
    def _torch_stepper(self, lr: float, bs: int) -> tuple[Callable, Callable]:
        """The autograd engine (the CNN; the reference for the numpy engine)."""
        order = torch.arange(0)

        def start_epoch(new_order: np.ndarray) -> None:
            nonlocal order
            order = torch.from_numpy(new_order)

        def step(b: int) -> tuple[float, str | None]:
            idx = order[b * bs : (b + 1) * bs]
            # index_select is much cheaper than fancy indexing on a uint8 tensor
            # (uint8 × python float promotes to float32: the conversion and the /255
            # are one operation)
            xb = torch.index_select(self._train_x, 0, idx).mul(1.0 / 255.0)
            yb = torch.index_select(self._train_y, 0, idx)
            with self._lock:
                for bk, p in zip(self._backup, self._params, strict=True):
                    bk.copy_(p.detach())
                loss = self.loss_fn(self._model(xb), yb)
                loss.backward()
                if self._adam is not None:
                    try:
                        self._adam.step()
                    except RuntimeError:  # a step size beyond float32 (lr ≳ 1e37)
                        self._adam.zero_grad(set_to_none=True)
                        self._restore_backup()
                        return float(loss.detach()), "a parameter"
                    self._adam.zero_grad(set_to_none=True)
                else:
                    with torch.no_grad():
                        for p in self._params:
                            assert p.grad is not None
                            p.sub_(lr * p.grad)  # the chapter's p -= lr * p.grad
                            p.grad = None
                loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    self._restore_backup()
                    return loss_value, "the loss"
                if not self._params_finite():
                    self._restore_backup()
                    return loss_value, "a parameter"
                self._has_update = True
            return loss_value, None

        return start_epoch, step

    def _numpy_stepper(self, lr: float, bs: int) -> tuple[Callable, Callable]:
        """The numpy engine: closed-form gradients (see engine_numpy)."""
        fast = self._fast
        assert fast is not None
        kind = self._loss_kind()
        source = engine_numpy.BatchSource(
            self.data.train_x, self.data.train_y, self.data.task.is_binary, bs
        )
        ok, bad_loss = engine_numpy.StepResult.OK, engine_numpy.StepResult.LOSS_NOT_FINITE
        lock, errstate = self._lock, np.errstate

        def step(b: int) -> tuple[float, str | None]:
            xb, yb, tb = source.gather(b)
            # errstate: a diverging step overflows on purpose; the result says so
            with lock, errstate(all="ignore"):
                loss_value, result = fast.step(xb, yb, tb, kind, lr, source.signs(b))
                # a step not kept leaves the last finite parameters, and no last update
                self._has_update = result is ok
            if result is ok:
                return loss_value, None
            return loss_value, "the loss" if result is bad_loss else "a parameter"

        return source.start_epoch, step

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
        stepper = self._numpy_stepper if self._fast is not None else self._torch_stepper
        start_epoch, step = stepper(lr, bs)

        self._run_per_epoch = per_epoch
        self._epoch_position = 0
        # numpy engine: one BLAS thread while this run lives (see hold_one_blas_thread)
        release_blas = engine_numpy.hold_one_blas_thread() if self._fast is not None else None
        try:
            target_epoch = self.epoch + epochs
            while self.epoch < target_epoch:
                if self.config.shuffle:
                    order = torch.randperm(n, generator=self._order).numpy()
                else:
                    order = np.arange(n, dtype=np.int64)
                start_epoch(order)
                losses = []
                epoch_no = self.epoch + 1
                for b in range(per_epoch):
                    control.apply_edits()
                    if control.stopped:
                        yield self._end(EndReason.STOPPED, "stopped")
                        return
                    loss_value, broken = step(b)
                    if broken is not None:
                        self._make_optimizer()  # its state saw the non-finite step
                        yield self._end(
                            EndReason.DIVERGED,
                            f"training diverged at step {self.step + 1} (epoch {epoch_no}): "
                            f"{broken} became infinite or NaN with learning rate {lr:g}. The "
                            "last finite parameters are kept; try a smaller learning rate.",
                        )
                        return
                    self.step += 1
                    self._epoch_position = b + 1
                    losses.append(loss_value)
                    bias = self.bias_value() if is_single else None
                    yield StepMetrics(self.step, epoch_no, b + 1, per_epoch, loss_value, bias)
                    if control.after_batch(end_of_epoch=b + 1 == per_epoch):
                        paused_time += yield from self._pause(control)
                self.epoch += 1
                self._epoch_position = 0
                valid_loss, valid_acc = self.evaluate()
                yield EpochMetrics(
                    self.epoch,
                    self.step,
                    float(np.mean(losses)),
                    valid_loss,
                    valid_acc,
                    time.perf_counter() - started - paused_time,
                )
                if control.after_epoch(last=self.epoch >= target_epoch):
                    paused_time += yield from self._pause(control)
            yield self._end(EndReason.FINISHED, f"finished {epochs} epoch(s)")
        finally:
            # a new run starts a new epoch, whatever this one stopped in
            self._epoch_position = 0
            self._run_per_epoch = None
            if release_blas is not None:
                release_blas()

    def _pause(self, control: TrainingControl) -> Generator[Event, None, float]:
        """Yield Paused, then wait for Resume/Step/Stop; returns the seconds waited."""
        t0 = time.perf_counter()
        yield Paused(self.step, self.epoch)
        control.wait_while_paused()
        return time.perf_counter() - t0

    def _end(self, reason: EndReason, message: str) -> TrainingEnded:
        return TrainingEnded(reason, message, self.step, self.epoch)
