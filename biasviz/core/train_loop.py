"""The training loop and the numpy engine's trainer, without torch.

:class:`TrainerCore` holds a model's parameters (in the numpy engine), its data, its
configuration and its position in training, and ``run(epochs, control)`` trains,
yielding events:

* :class:`StepMetrics` after every batch (step, epoch, training loss, the bias),
* :class:`EpochMetrics` after every epoch (training and validation loss, accuracy),
* :class:`Paused` just before it blocks for a pause (so a consumer can flush),
* :class:`TrainingEnded` last (finished, stopped or diverged, with a reason).

Each yield is where the :class:`TrainingControl` is honoured: pause, resume, stop,
single steps, slow motion, and edits queued by another thread (applied between two
batches, never in the middle of one).  Consumers that want fewer updates throttle on
their side; the engine itself never sleeps unless asked to.

:class:`NumpyTrainer` is the trainer of the window, its lessons and the CLI for the single
neuron, the linear model and the MLP: their first parameters and batch orders are
torch's, drawn without torch (:mod:`biasviz.core.torch_init`).
:class:`biasviz.core.training.Trainer` adds torch: it builds and initializes the models
with torch and trains the CNN with autograd (and, with ``engine="torch"``, any model: the
reference the numpy engine is tested against).  :func:`make_trainer` picks one.  This
module needs no torch, so that the window and its training process
(:mod:`biasviz.core.train_process`) start in a fraction of a second and stay small (torch
is ~650 MB and 2 s to import).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from biasviz.core import engine_numpy
from biasviz.core.datasets import TaskData
from biasviz.core.errors import ConfigError
from biasviz.core.spec import (
    BiasMode,
    BinaryLoss,
    ModelKind,
    ModelSpec,
    Optimizer,
    Snapshot,
    TrainConfig,
    validate_params,
)
from biasviz.core.torch_init import TorchCpuGenerator, initial_params

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

    def shows_this_batch(self) -> bool:
        """Will the batch just done be on screen for a while: training pauses after it
        (a single step's last batch, a Pause already asked for) or goes in slow motion?
        Such a step always goes into the timeline.  (Read without the lock: a command
        landing now only decides whether one more step is recorded.)"""
        return self._paused or self._budget == 1 or self.delay > 0

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


# -- the batch order ---------------------------------------------------------------------
class OrderSource(Protocol):
    """Where each epoch's permutation of the training images comes from (and, where it
    can, ``give_back()``: the last order was not used, the next one is that again)."""

    def next_order(self, n: int) -> np.ndarray: ...


class SeededOrder:
    """The batch order drawn as torch's generator seeded with the config's seed draws it
    (``torch.randperm``, reproduced without torch in :mod:`biasviz.core.torch_init`, byte
    for byte, states included), so that a run's batches are the same whichever engine
    trains it, and the code behind a run draws them again with torch.

    Draws may run ahead of the training that uses them (the training process gets its
    orders in advance): :meth:`draw` remembers the generator's state before each draw,
    :meth:`used` says how many of those the training has started, and :meth:`state` and
    :meth:`rewind_unused` give back the state as if only the used draws had been made.
    States are torch's (``Generator.get_state()``, uint8) as numpy arrays.
    """

    def __init__(self, seed: int) -> None:
        self._gen = TorchCpuGenerator(int(seed))
        self._before: list[np.ndarray] = []  # states before the draws not yet used
        self._started: np.ndarray | None = None  # the state before the last used draw
        # Orders drawn ahead by :meth:`prefetch` and not handed out yet: (state before, order)
        self._ready: deque[tuple[np.ndarray, np.ndarray]] = deque()

    def draw(self, n: int) -> np.ndarray:
        if self._ready and len(self._ready[0][1]) == n:
            before, order = self._ready.popleft()
            self._before.append(before)
            return order
        self._drop_ready()
        before, order = self._fresh(n)
        self._before.append(before)
        return order

    def _fresh(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """A new draw from the generator: (its state before, the order)."""
        before = self._gen.get_state()
        return before, self._gen.randperm(n)

    def prefetch(self, count: int, n: int, budget: float | None = None) -> bool:
        """Draw up to ``count`` orders of ``n`` ahead, while nothing waits for them (the
        window between runs): the next run's draws then cost nothing.  The chapter's 245
        epochs took the thread that feeds the training process ~12 ms of draws at the
        run's start, holding the GIL the window needed to show it.  The generator reads
        as if they were not drawn (:meth:`state`); a draw of another ``n``, a rewind or a
        new state forgets them.  With ``budget`` (seconds), it stops once that much time
        has gone (a slice of a frame on the GUI thread); True when ``count`` are ready."""
        if self._ready and len(self._ready[0][1]) != n:
            self._drop_ready()
        end = None if budget is None else time.perf_counter() + budget
        while len(self._ready) < count:
            self._ready.append(self._fresh(n))
            if end is not None and time.perf_counter() > end:
                break
        return len(self._ready) >= count

    def prefetched(self) -> int:
        """How many orders are drawn ahead (:meth:`prefetch`)."""
        return len(self._ready)

    def _drop_ready(self) -> None:
        if self._ready:
            self._gen.set_state(self._ready[0][0])
            self._ready.clear()

    def used(self, count: int) -> None:
        count = min(max(0, int(count)), len(self._before))
        if count:
            self._started = self._before[count - 1]
        del self._before[:count]

    def next_order(self, n: int) -> np.ndarray:
        order = self.draw(n)
        self.used(1)
        return order

    def state(self) -> np.ndarray:
        if self._before:
            return self._before[0].copy()
        return self._ready[0][0].copy() if self._ready else self._gen.get_state()

    def epoch_start_state(self) -> np.ndarray:
        """The state before the draw of the epoch under way: set back to it, the next
        draw is that epoch's order again (a session saved mid-epoch)."""
        return self._started.copy() if self._started is not None else self.state()

    def rewind_epoch(self) -> None:
        """Set back to before the draw of the epoch under way: the next draw is that
        epoch's order again (a run stopped in mid-epoch)."""
        self.set_state(self.epoch_start_state())

    def give_back(self) -> None:
        """The last order handed out was not used (a run stopped before its epoch's
        first batch): the next draw is that order again."""
        self.rewind_epoch()

    def rewind_unused(self) -> None:
        """Forget the draws that were never used: the next draw repeats the first."""
        if self._before:
            self._gen.set_state(self._before[0])
            self._before.clear()
            self._ready.clear()  # drawn after those

    def set_state(self, state: np.ndarray) -> None:
        """Go on from ``state`` (ValueError when it is not a generator's state)."""
        self._gen.set_state(state)
        self._before.clear()
        self._ready.clear()
        self._started = None


def batches_in_epoch(n_train: int, batch_size: int) -> int:
    """Batches in an epoch of ``n_train`` images (the last one may be short)."""
    return max(1, math.ceil(int(n_train) / int(batch_size)))


# -- the trainer ---------------------------------------------------------------------------
class TrainerCore:
    """A model in the numpy engine, its data, an optimizer, and the position in training.

    ``run`` continues from where the last run ended.  The batch order comes from
    ``order`` (torch's generator in :class:`~biasviz.core.training.Trainer`, the parent
    process's draws in the training process).  Subclasses that train another way (torch
    autograd) override the ``_engine_*`` hooks and :meth:`_stepper`.
    """

    def __init__(self, spec: ModelSpec, data: TaskData, config: TrainConfig,
                 params: dict[str, np.ndarray] | None, order: OrderSource | None) -> None:
        self.spec = spec
        self.data = data
        self.config = config
        self._lock = threading.Lock()  # guards parameters between a step and a snapshot
        self._fast: engine_numpy.NumpyModel | None = (
            engine_numpy.NumpyModel(spec, params) if params is not None else None
        )
        self._eval_buffer: np.ndarray | None = None
        self._eval_lock = threading.Lock()
        self._order_source = order
        self._has_update = False
        self._epoch_position = 0  # batches done in the epoch a paused run is in
        self._epoch_losses: list[float] = []  # ...and their losses (its train_loss)
        self._run_per_epoch: int | None = None
        # An epoch a saved session stopped in (File › Save session while paused): the
        # next run finishes it first, from the same batch, instead of a new epoch.
        self._resume_position = 0
        self._resume_losses: list[float] = []
        self.step = 0
        self.epoch = 0

    @property
    def engine(self) -> str:
        """``"numpy"`` or ``"torch"``: what computes the training steps."""
        return "torch" if self._fast is None else "numpy"

    # -- state -------------------------------------------------------------------------
    def _make_optimizer(self) -> None:
        assert self._fast is not None
        self._fast.reset_optimizer(self.config.optimizer is Optimizer.ADAM)

    @property
    def batches_per_epoch(self) -> int:
        return batches_in_epoch(self.data.n_train, self.config.batch_size)

    def batches_left_in_epoch(self) -> int:
        """How many batches "Step epoch" will run from here: the rest of the epoch a
        paused run is in (or a reopened session stopped in), or a whole epoch when no run
        is under way (a new run starts a new epoch)."""
        position, _losses, per_epoch = self.epoch_in_progress()
        return per_epoch - position

    def epoch_in_progress(self) -> tuple[int, list[float], int]:
        """The unfinished epoch training stands in: (batches done, their losses, batches
        per epoch).  A paused run's, or the one a reopened session goes on with; (0, [],
        batches per epoch) at an epoch's boundary."""
        if self._run_per_epoch is not None:
            return self._epoch_position, list(self._epoch_losses), self._run_per_epoch
        return self._resume_position, list(self._resume_losses), self.batches_per_epoch

    def resume_epoch_at(self, position: int, losses: list[float]) -> None:
        """The next run first finishes the current epoch from batch ``position`` (0-based;
        ``losses``: the batches before it, for the epoch's mean training loss).  The
        caller sets the batch order to where it stood before this epoch's draw."""
        position = int(position)
        if not 0 <= position < self.batches_per_epoch or len(losses) != position:
            raise ValueError(f"cannot resume at batch {position} of an epoch of "
                             f"{self.batches_per_epoch} with {len(losses)} losses")
        self._resume_position, self._resume_losses = position, [float(v) for v in losses]

    def _drop_resume(self) -> None:
        self._resume_position, self._resume_losses = 0, []

    def _keep_unfinished_epoch(self) -> None:
        """A run stopped in mid-epoch: the next one finishes that epoch, from its next
        batch and with its order drawn again (as after a pause), so that an epoch's
        number is never used twice.  Where the order comes from the training process'
        parent, the parent sets it back (the child only knows the draws it was sent)."""
        position, per_epoch = self._epoch_position, self._run_per_epoch or 0
        if 0 < position < per_epoch:
            self._resume_position, self._resume_losses = position, list(self._epoch_losses)
            rewind = getattr(self._order_source, "rewind_epoch", None)
            if rewind is not None:
                rewind()
        elif position == 0 and self.config.shuffle and self._order_source is not None:
            # Stopped between two epochs, once the next one's order was drawn: it goes
            # back, and the next run's first epoch is that one (it was the one after:
            # a run stopped on an epoch's last batch went on differently from one never
            # stopped).
            give_back = getattr(self._order_source, "give_back", None)
            if give_back is not None:
                give_back()

    # -- position in training (session files, "train from a past moment") -----------------
    @property
    def order(self) -> SeededOrder:
        """The batch order's generator (the training process draws from it ahead)."""
        assert isinstance(self._order_source, SeededOrder)
        return self._order_source

    def _restart_position(self) -> None:
        """Step 0 of a new training: the batch order starts again from the seed."""
        self.step = 0
        self.epoch = 0
        self._epoch_position = 0
        self._drop_resume()
        self._order_source = SeededOrder(self.config.seed)
        self._make_optimizer()

    def position_state(self) -> dict:
        """Where training stands, JSON-able (the batch order's state is
        :meth:`order_state`; the losses of an unfinished epoch's batches are
        :meth:`epoch_in_progress`'s).  Saved while a run is paused mid-epoch, it says
        which batch of the epoch comes next."""
        position, _losses, per_epoch = self.epoch_in_progress()
        return {"step": int(self.step), "epoch": int(self.epoch),
                "optimizer": self.config.optimizer.value,
                "epoch_position": int(position), "batches_per_epoch": int(per_epoch)}

    def order_state(self) -> np.ndarray:
        """The batch-order generator's state (uint8, torch's): restored, the next epochs
        draw the same batches as they would have.  In an unfinished epoch, the state
        before its draw: the epoch's order is drawn again and goes on from its next
        batch."""
        if self.epoch_in_progress()[0] > 0:
            return self.order.epoch_start_state()
        return self.order.state()

    def restore_position(self, step: int, epoch: int, state: dict | None = None,
                         order_state: np.ndarray | None = None,
                         epoch_losses: np.ndarray | None = None) -> None:
        """Continue from a saved position (a session file), in the middle of an epoch
        when it was saved there (``state["epoch_position"]``, ``epoch_losses``).  Adam's
        running averages are not saved: they start afresh (SGD, the chapter's
        optimizer, has none)."""
        state = state or {}
        position = int(state.get("epoch_position", 0))
        saved_per_epoch = int(state.get("batches_per_epoch", self.batches_per_epoch))
        losses = [] if epoch_losses is None else [float(v) for v in np.ravel(epoch_losses)]
        if not 0 <= position < max(1, saved_per_epoch) or len(losses) != position:
            raise ConfigError(f"its position in the epoch (batch {position} of "
                              f"{saved_per_epoch}) is damaged")
        self.step, self.epoch = int(step), int(epoch)
        if order_state is not None:
            try:
                self.order.set_state(np.asarray(order_state))
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"the saved batch order is damaged ({exc})") from None
        self._drop_resume()
        # (other data, e.g. a stand-in for a missing dataset: a new epoch instead)
        if position and saved_per_epoch == self.batches_per_epoch:
            self.resume_epoch_at(position, losses)
        self._make_optimizer()

    def rewind(self, step: int, epoch: int) -> None:
        """Go back to an earlier step (its parameters set with :meth:`set_params`); the
        batch order goes on from where it is, so the new branch sees new batches."""
        self.step, self.epoch = int(step), int(epoch)
        self._drop_resume()
        self._make_optimizer()

    def snapshot(self) -> Snapshot:
        """Copies of the parameters and of the last update."""
        fast = self._fast
        assert fast is not None
        with self._lock:
            params = fast.copy_params()
            last = None
            if self._has_update:
                last = {n: a.copy() for n, a in fast.last_update.items()}
        return Snapshot(self.spec, params, self.step, self.epoch, last)

    def copy_into(self, params: np.ndarray, update: np.ndarray) -> bool:
        """Copy the parameters, flat (as :meth:`ModelSpec.param_shapes` orders them), into
        ``params`` and the last update into ``update``; False (``update`` untouched) when
        there is no last update.  :meth:`snapshot` without its allocations, for recording
        many steps in a row (:class:`~biasviz.core.train_process.RecordedStack`)."""
        fast = self._fast
        assert fast is not None
        with self._lock:
            fast.copy_flat_into(params, update if self._has_update else None)
            return self._has_update

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace the parameters (import, bias edits, painting).  Call from the training
        thread, or through ``control.submit`` while a run is going."""
        assert self._fast is not None
        with self._lock:
            self._fast.load(validate_params(params, self.spec))
            self._has_update = False

    def engine_state(self) -> dict[str, Any]:
        """Everything the numpy engine's training goes on from (parameters, optimizer,
        last update, position), for handing a trainer between processes."""
        fast = self._fast
        assert fast is not None
        with self._lock:
            return {
                "params": fast.copy_params(),
                "optimizer": fast.optimizer_state(),
                "last_update": ({n: a.copy() for n, a in fast.last_update.items()}
                                if self._has_update else None),
                "step": self.step, "epoch": self.epoch,
                "epoch_position": self._epoch_position,
                "epoch_losses": list(self._epoch_losses),
                "run_per_epoch": self._run_per_epoch,
                "resume_position": self._resume_position,
                "resume_losses": list(self._resume_losses),
            }

    def load_engine_state(self, state: dict[str, Any]) -> None:
        """Take over what :meth:`engine_state` gave (the same spec, data and config)."""
        fast = self._fast
        assert fast is not None
        with self._lock:
            fast.load(validate_params(state["params"], self.spec))
            fast.load_optimizer_state(state["optimizer"])
            self._has_update = state["last_update"] is not None
            if self._has_update:
                fast.load_last_update(state["last_update"])
            self.step, self.epoch = int(state["step"]), int(state["epoch"])
            self._epoch_position = int(state["epoch_position"])
            self._epoch_losses = list(state.get("epoch_losses", ()))
            self._run_per_epoch = state["run_per_epoch"]
            self._resume_position = int(state.get("resume_position", 0))
            self._resume_losses = list(state.get("resume_losses", ()))

    def bias_value(self) -> float | None:
        """The single neuron's effective bias (b or Σbᵢ), else None."""
        if self.spec.kind is not ModelKind.SINGLE or self.spec.bias_mode is BiasMode.NONE:
            return None
        assert self._fast is not None
        return self._fast.effective_bias()

    # -- maths -------------------------------------------------------------------------
    def _loss_kind(self) -> engine_numpy.LossKind:
        if not self.data.task.is_binary:
            return engine_numpy.LossKind.CROSS_ENTROPY
        if self.config.loss is BinaryLoss.BCE:
            return engine_numpy.LossKind.BCE
        return engine_numpy.LossKind.MNIST

    def evaluate(self) -> tuple[float, float]:
        """Validation (loss, accuracy).  Two classes: predict the first when logit ≥ 0."""
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

    # -- one step ------------------------------------------------------------------------
    # A stepper is a pair: start_epoch(order) takes the epoch's permutation of the
    # training images, step(b) trains on batch b of it and returns (loss, None), or
    # (loss, what became non-finite) after putting the last finite parameters back.
    def _stepper(self, lr: float, bs: int) -> tuple[Callable, Callable]:
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

    def _next_order(self, n: int) -> np.ndarray:
        if not self.config.shuffle:
            return np.arange(n, dtype=np.int64)
        assert self._order_source is not None
        return self._order_source.next_order(n)

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
        start_epoch, step = self._stepper(lr, bs)

        self._run_per_epoch = per_epoch
        self._epoch_position, self._epoch_losses = 0, []
        # numpy engine: one BLAS thread while this run lives (see hold_one_blas_thread)
        release_blas = engine_numpy.hold_one_blas_thread() if self._fast is not None else None
        try:
            target_epoch = self.epoch + epochs
            # an unfinished epoch (a Stop, a reopened session) is the first of these epochs
            resumed_at = self._resume_position if 0 < self._resume_position < per_epoch else 0
            while self.epoch < target_epoch:
                start_epoch(self._next_order(n))
                # a reopened session's unfinished epoch goes on from its next batch (its
                # order is drawn again from the generator's state before that epoch)
                first = self._resume_position if self._resume_position < per_epoch else 0
                losses = self._resume_losses[:first]
                self._drop_resume()
                self._epoch_position, self._epoch_losses = first, losses
                epoch_no = self.epoch + 1
                for b in range(first, per_epoch):
                    control.apply_edits()
                    if control.stopped:
                        self._keep_unfinished_epoch()
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
                self._epoch_position, self._epoch_losses = 0, []
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
            plural = "s" if epochs != 1 else ""
            resumed = (f" (epoch {target_epoch - epochs + 1} from its batch {resumed_at + 1} of "
                       f"{per_epoch}, where it had stopped)" if resumed_at else "")
            yield self._end(EndReason.FINISHED, f"finished {epochs:,} epoch{plural}{resumed}")
        finally:
            # (the position goes on only through _keep_unfinished_epoch)
            self._epoch_position, self._epoch_losses = 0, []
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


# -- recording the timeline -----------------------------------------------------------------
class RecordingPace:
    """Which steps go into the timeline, so that recording never slows training much.

    Every step is recorded while a recording costs little next to a step (the chapter's
    neuron: 784 weights); when it costs more than ``MAX_SHARE`` of a step (a large MLP
    in batches of 32), or when recording every step would copy more than
    ``max_bytes_per_second`` of parameters, only every 2nd, 4th… step is, and always the
    last step of each epoch (its validation figures go with it).  The caller asks
    :meth:`due` for every step and reports each recording's seconds and size with
    :meth:`recorded`.

    The byte rate matters most when recordings travel between processes: the MLP's
    200 KB snapshots at every 16th of ~5,000 steps a second are 64 MB/s to pickle, pipe
    and unpickle, for a timeline that keeps 64 MB in all.
    """

    MAX_SHARE = 0.05

    def __init__(self, max_bytes_per_second: float = float("inf")) -> None:
        self.stride = 1
        self.max_bytes_per_second = float(max_bytes_per_second)
        self._step_time = 0.0  # smoothed seconds per training step
        self._record_time = 0.0  # smoothed seconds per recording
        self._record_bytes = 0.0  # size of the last recording
        self._last = time.perf_counter()

    def due(self, event: StepMetrics, shown: bool = False) -> bool:
        """Record this step?  ``shown``: the user will see it (training pauses after
        it, or goes in slow motion: :meth:`TrainingControl.shows_this_batch`)."""
        now = time.perf_counter()
        self._step_time = 0.9 * self._step_time + 0.1 * (now - self._last)
        self._last = now
        # A step the user sees is always recorded: they may want to go back to it.
        return shown or event.batch == event.batches_per_epoch or event.step % self.stride == 0

    def take(self, event: StepMetrics, trainer: TrainerCore,
             keep: Callable[[Snapshot], None] | None = None,
             shown: bool = False) -> Snapshot | None:
        """The trainer's snapshot of this step when it is due (None when not), its cost
        counted; ``keep`` stores it (its time counts as recording time too).  ``shown``:
        see :meth:`due`."""
        if not self.due(event, shown):
            return None
        t0 = time.perf_counter()
        snap = trainer.snapshot()
        if keep is not None:
            keep(snap)
        nbytes = sum(a.nbytes for a in snap.params.values())
        if snap.last_update is not None:
            nbytes += sum(a.nbytes for a in snap.last_update.values())
        self.recorded(time.perf_counter() - t0, nbytes)
        return snap

    def recorded(self, seconds: float, nbytes: int = 0) -> None:
        self._record_time = 0.9 * self._record_time + 0.1 * seconds
        self._record_bytes = float(nbytes)
        self._last += seconds  # the recording is not part of the step's time
        self._adapt()

    def charge(self, seconds: float, recordings: int) -> None:
        """The latest ``recordings`` cost ``seconds`` more later (sent to another
        process): count it as recording time, not as the steps'."""
        self._record_time += 0.1 * seconds / max(1, recordings)
        self._last += seconds
        self._adapt()

    def _too_much(self, stride: float) -> bool:
        span = stride * self._step_time  # seconds of training per recording
        return (self._record_time > self.MAX_SHARE * span
                or self._record_bytes > self.max_bytes_per_second * span)

    def _adapt(self) -> None:
        # Thinner or denser recording, by powers of two, to keep both bounded (with room
        # to spare before getting denser again, so that it does not flip back and forth).
        if self._too_much(self.stride):
            self.stride = min(self.stride * 2, 1 << 16)
        elif self.stride > 1 and not self._too_much(self.stride / 4):
            self.stride //= 2


# -- the window's trainer ------------------------------------------------------------------
class NumpyTrainer(TrainerCore):
    """The numpy engine's trainer without torch: the single neuron, the linear model and
    the MLP, as :class:`biasviz.core.training.Trainer` trains them, from the same first
    parameters (:func:`~biasviz.core.torch_init.initial_params`: torch's draws, equal
    within a float32 rounding) and the same batch orders (torch's, byte for byte).  The
    window, its lessons and sessions use it: torch (~650 MB, 2 s to import) is loaded only
    for the CNN and ``.pt`` files.

    ``run`` continues from where the last run ended; ``reset`` re-initializes the model
    with the spec's seed and restarts the batch order.
    """

    def __init__(self, spec: ModelSpec, data: TaskData,
                 config: TrainConfig | None = None) -> None:
        check_fits(spec, data)
        if not engine_numpy.supports(spec):
            raise ConfigError(f"the numpy engine cannot train {spec.describe()}")
        self._first = initial_params(spec)
        super().__init__(spec, data, config or TrainConfig(), self._first, order=None)
        self.reset()

    def reset(self) -> None:
        """Back to the initial parameters (same seed), step 0, fresh optimizer."""
        fast = self._fast
        assert fast is not None
        with self._lock:
            fast.load(self._first)
            self._has_update = False
        self._restart_position()

    def set_config(self, config: TrainConfig) -> None:
        """Change how training goes on (lr, batch size, optimizer...) keeping parameters."""
        old = self.config
        self.config = config
        if (config.batch_size, config.shuffle) != (old.batch_size, old.shuffle):
            self._drop_resume()  # other batches: a reopened session's epoch starts anew
        if config.optimizer is not old.optimizer:  # (Adam takes the lr at each step)
            self._make_optimizer()


def check_fits(spec: ModelSpec, data: TaskData) -> None:
    """ConfigError unless the model's outputs are what the task needs."""
    if spec.n_outputs != data.task.n_outputs:
        raise ConfigError(
            f"{spec.describe()} has {spec.n_outputs} output(s) but the task "
            f"{data.describe()} needs {data.task.n_outputs}"
        )


def needs_torch(spec: ModelSpec) -> bool:
    """Does training ``spec`` take torch (the CNN, trained with autograd)?"""
    return not engine_numpy.supports(spec)


def torch_loaded() -> bool:
    """Is torch's trainer imported already (so that building one is quick)?"""
    return "biasviz.core.training" in sys.modules


def make_trainer(spec: ModelSpec, data: TaskData, config: TrainConfig | None = None) -> Any:
    """The trainer the app uses for ``spec``: :class:`NumpyTrainer` where the numpy engine
    trains it, else torch's :class:`~biasviz.core.training.Trainer` (imports torch)."""
    if not needs_torch(spec):
        return NumpyTrainer(spec, data, config)
    from biasviz.core.training import Trainer

    return Trainer(spec, data, config)
