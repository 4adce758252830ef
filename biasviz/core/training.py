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
import warnings
from collections.abc import Callable

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
from biasviz.core.train_loop import (  # noqa: F401 - re-exported for callers
    NUMPY_EVAL_CACHE_BYTES,
    NUMPY_EVAL_CHUNK,
    EndReason,
    EpochMetrics,
    Event,
    Paused,
    SeededOrder,
    StepMetrics,
    TrainerCore,
    TrainingControl,
    TrainingEnded,
    check_fits,
)

EVAL_CHUNK = 4096


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


class Trainer(TrainerCore):
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
        check_fits(spec, data)
        if engine not in ("auto", "torch", "numpy"):
            raise ConfigError(f"unknown engine {engine!r}: choose auto, torch or numpy")
        if engine == "numpy" and not engine_numpy.supports(spec):
            raise ConfigError(f"the numpy engine cannot train {spec.describe()}")
        config = config or TrainConfig()
        model = build_model(spec)
        fast = engine == "numpy" or (engine == "auto" and engine_numpy.supports(spec))
        super().__init__(spec, data, config, snapshot_params(model) if fast else None,
                         order=None)
        self._model = model
        if self._fast is None:
            self._train_x, self._train_y, self._valid_x, self._valid_y = (
                _shared_tensor(a)
                for a in (data.train_x, data.train_y, data.valid_x, data.valid_y)
            )
            self._params = [p for _, p in self._model.named_parameters()]
            self._names = [n for n, _ in self._model.named_parameters()]
            self._backup = [p.detach().clone() for p in self._params]
        self.reset()

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
        self._restart_position()

    def _make_optimizer(self) -> None:
        if self._fast is not None:
            super()._make_optimizer()
            return
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
        if (config.batch_size, config.shuffle) != (old.batch_size, old.shuffle):
            self._drop_resume()  # other batches: a reopened session's epoch starts anew
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

    def snapshot(self) -> Snapshot:
        """Copies of the parameters and of the last update."""
        if self._fast is not None:
            return super().snapshot()
        with self._lock:
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
        if self._fast is not None:
            super().set_params(params)
            return
        with self._lock:
            load_params(self._model, self.spec, params)
            for b, p in zip(self._backup, self._params, strict=True):
                b.copy_(p.detach())
            self._has_update = False

    def bias_value(self) -> float | None:
        """The single neuron's effective bias (b or Σbᵢ), else None."""
        if self._fast is not None:
            return super().bias_value()
        if self.spec.kind is not ModelKind.SINGLE or self.spec.bias_mode is BiasMode.NONE:
            return None
        bias = self._model.bias
        assert isinstance(bias, torch.Tensor)
        return float(bias.detach().sum())

    # -- maths -------------------------------------------------------------------------
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
            return super().evaluate()
        return self._evaluate_torch()

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
    def _stepper(self, lr: float, bs: int) -> tuple[Callable, Callable]:
        if self._fast is not None:
            return super()._stepper(lr, bs)
        return self._torch_stepper(lr, bs)

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
