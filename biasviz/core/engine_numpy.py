"""The fast training engine: closed-form gradients in numpy, no autograd.

For the single neuron (one bias, one per pixel, none), the linear ten-neuron model and
the MLP, one training step is a handful of matrix products whose gradients are short to
write by hand.  At these sizes autograd, torch's per-operation dispatch and a float copy
of every batch cost more than the arithmetic (the chapter's neuron does ~0.4 MFLOP a
step), so this module does the forward pass, the gradients and the update itself, in
float32, in preallocated buffers (``benchmarks/bench_engine.py`` measures the choice):

* a batch is gathered from the ``uint8`` images with ``np.take(..., out=)`` and
  converted to float32 in one pass; the 1/255 scale is never applied to the batch but
  folded into the small arrays that meet it (``z = (x @ w) / 255``,
  ``∂L/∂w = (dz / 255) @ x``);
* all parameters live in one flat float32 vector (the named arrays are views of it), and
  so does the update; a step checks that the update keeps every parameter finite before
  applying it in place (one dot product, see :meth:`NumpyModel.step`), so keeping the
  last finite parameters on divergence needs no copy, and the update doubles as the
  "last update" picture;
* SGD folds ``-lr`` into those small arrays too, so the gradient buffer already holds
  the update;
* the MLP's hidden weights are stored transposed, (784, H) row-major, where the forward
  product is fastest (the named array is a transposed view).

The arithmetic is the torch models' (:mod:`biasviz.core.models`) and the losses are the
trainer's: ``mnist_loss``, binary cross-entropy on the logit, cross-entropy over ten
classes; tests check every gradient against torch autograd.  The per-pixel neuron's
``(x*w + b).sum()`` is computed as ``x @ w + Σb`` (the identity the bias lesson shows),
and every bᵢ gets the same gradient ``Σ dz``.

Folding the 1/255 in after the first product can overflow where scaling the images
first would not (weights near float32's limit, e.g. after a divergence); then the step
or the logits are computed again the torch way, so both engines go on alike.

Plain numpy: no torch here.  Callers wrap steps in ``np.errstate(all="ignore")``: a
diverging run overflows on purpose and is caught by the finiteness checks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

import numpy as np

from biasviz.core.errors import ConfigError
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec

SCALE = np.float32(1.0 / 255.0)  # pixels are stored 0..255; the models see [0, 1]
ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
ADAM_EPS = 1e-8

FAST_KINDS = frozenset({ModelKind.SINGLE, ModelKind.LINEAR, ModelKind.MLP})


def supports(spec: ModelSpec) -> bool:
    """Whether this engine trains ``spec`` (everything but the CNN)."""
    return spec.kind in FAST_KINDS


class LossKind(Enum):
    MNIST = "mnist"  # the chapter's mnist_loss (two classes)
    BCE = "bce"  # binary cross-entropy on the logit (two classes)
    CROSS_ENTROPY = "cross_entropy"  # ten classes


class StepResult(Enum):
    OK = "ok"
    LOSS_NOT_FINITE = "loss"
    PARAMS_NOT_FINITE = "params"


# -- losses: the value and dL/dlogits -----------------------------------------------------
def binary_loss_and_grad(
    z: np.ndarray,
    t: np.ndarray,
    kind: LossKind,
    grad_scale: float | None = 1.0,
    s: np.ndarray | None = None,
) -> tuple[float, np.ndarray | None]:
    """Mean loss over the batch and ``grad_scale · dL/dz`` for one logit per image.

    ``t`` holds float32 targets: 1.0 for the first class, 0.0 for the second; ``s`` may
    bring ``1 - 2t`` precomputed (the batches do).  With ``grad_scale=None`` only the
    loss is computed.
    """
    m = z.shape[0]
    # σ as torch computes it and differentiates it: p = 1/(1+e^-z), dσ/dz = p·(1-p)
    q = np.exp(-z)
    p = q + 1.0
    np.reciprocal(p, out=p)
    if kind is LossKind.MNIST:
        # mnist_loss = mean(where(t==1, 1-p, p)) = mean(t + s·p) with s = 1 - 2t
        if s is None:
            s = 1.0 - 2.0 * t
        loss = (float(t.sum()) + float(np.dot(s, p))) / m
        if grad_scale is None:
            return loss, None
        # (1 - p)·p, as torch's sigmoid backward forms it (q·p² would be more precise
        # when saturated, but then Adam's trajectories part from autograd's sooner)
        np.subtract(1.0, p, out=q)
        q *= p
        q *= s
        q *= np.float32(grad_scale / m)
        return loss, q
    # binary cross-entropy on the logit, stable: max(z, 0) - z·t + log(1 + e^-|z|)
    terms = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    loss = float(terms.mean(dtype=np.float64))
    if grad_scale is None:
        return loss, None
    dz = p - t
    dz *= np.float32(grad_scale / m)
    return loss, dz


def cross_entropy_and_grad(
    logits: np.ndarray, y: np.ndarray, grad_scale: float | None = 1.0
) -> tuple[float, np.ndarray | None]:
    """Mean cross-entropy and ``grad_scale · dL/dlogits`` for (m, k) logits and integer
    labels ``y``.  With ``grad_scale=None`` only the loss is computed."""
    m, k = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1)
    # each row's label entry, through the flat index (cheaper than 2-D fancy indexing)
    at_label = np.arange(0, m * k, k) + y
    picked = shifted.take(at_label)
    loss = (float(np.log(total).sum()) - float(picked.sum())) / m
    if grad_scale is None:
        return loss, None
    exp *= (np.float32(grad_scale / m) / total)[:, None]  # softmax, scaled
    exp.put(at_label, exp.take(at_label) - np.float32(grad_scale / m))
    return loss, exp


def loss_value(logits: np.ndarray, y: np.ndarray, kind: LossKind) -> float:
    """The loss of ``logits`` for integer targets ``y``."""
    if kind is LossKind.CROSS_ENTROPY:
        return cross_entropy_and_grad(logits, y, grad_scale=None)[0]
    return binary_loss_and_grad(logits, y.astype(np.float32), kind, grad_scale=None)[0]


def logits(
    params: dict[str, np.ndarray],
    spec: ModelSpec,
    x255: np.ndarray,
    xs: float | np.float32 = SCALE,
) -> np.ndarray:
    """Logits for float32 images ``x255`` (m, 784) with pixel values 0..255: (m,) for one
    output, (m, k) otherwise.  The arithmetic of the torch models, the 1/255 folded in
    after the first product (``xs``; pass images already in [0, 1] with ``xs=1``).

    Folding the scale in after the product can overflow, with weights near float32's
    limit, where scaling the images first would not: :func:`safe_logits` retries then.
    """
    if spec.kind is ModelKind.SINGLE:
        z = x255 @ params["weights"]
        z *= xs
        if spec.bias_mode is not BiasMode.NONE:
            z += params["bias"].sum()
        return z
    if spec.kind is ModelKind.LINEAR:
        z = x255 @ params["weights"].T
        z *= xs
        z += params["biases"]
        return z
    if spec.kind is not ModelKind.MLP:
        raise ConfigError(f"the numpy engine cannot compute {spec.describe()}")
    a = x255 @ params["hidden.weights"].T
    a *= xs
    a += params["hidden.biases"]
    np.maximum(a, 0, out=a)
    z = a @ params["output.weights"].T
    z += params["output.biases"]
    return z[:, 0] if spec.n_outputs == 1 else z


def safe_logits(params: dict[str, np.ndarray], spec: ModelSpec, x255: np.ndarray) -> np.ndarray:
    """:func:`logits`, and where they are not all finite, computed again as torch does,
    images scaled to [0, 1] first (call under ``np.errstate``)."""
    z = logits(params, spec, x255)
    if np.isfinite(z).all():
        return z
    return logits(params, spec, x255 * SCALE, xs=np.float32(1.0))


# Stored transposed: x @ W.T with W (H, 784) row-major is the slow "NT" case of
# OpenBLAS's sgemm at these sizes; a (784, H) row-major copy makes it the plain product.
_TRANSPOSED = frozenset({"hidden.weights"})

# Updates keep every parameter below this (float32's largest is 3.4e38): see step().
_LIMIT = 1e38


def named_views(flat: np.ndarray, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Named arrays (in the shapes given) that are consecutive slices of ``flat``'s last
    axis: of a flat vector, or of each row of a stack of them (then shaped (rows, …))."""
    out, start, lead = {}, 0, flat.shape[:-1]
    for name, shape in shapes.items():
        size = math.prod(shape)
        part = flat[..., start : start + size]
        if name in _TRANSPOSED:
            out[name] = part.reshape(lead + shape[::-1]).swapaxes(-1, -2)
        else:
            out[name] = part.reshape(lead + shape)
        start += size
    return out


# -- the model ----------------------------------------------------------------------------
class NumpyModel:
    """Parameters, forward pass, gradients and updates for one spec.

    ``params`` are the current parameters (float32 views of one flat vector, named and
    shaped as in :meth:`ModelSpec.param_shapes`); ``last_update`` the change the last
    kept step made to them.  Not thread-safe: the caller serialises access (the
    trainer's lock).
    """

    def __init__(self, spec: ModelSpec, params: dict[str, np.ndarray]) -> None:
        if not supports(spec):
            raise ConfigError(f"the numpy engine cannot train {spec.describe()}")
        self.spec = spec
        shapes = spec.param_shapes()
        self.names = tuple(shapes)
        size = sum(math.prod(s) for s in shapes.values())
        self._flat = np.zeros(size, np.float32)
        self.params = named_views(self._flat, shapes)
        # the gradient, then (once checked) the update applied to the parameters
        self._delta = np.zeros(size, np.float32)
        self.last_update = named_views(self._delta, shapes)
        self._adam: tuple[np.ndarray, np.ndarray] | None = None
        self._adam_t = 0
        self._bound = 0.0  # ≥ max |parameter|
        self.load(params)

    # -- state ---------------------------------------------------------------------------
    def load(self, params: dict[str, np.ndarray]) -> None:
        """Copy ``params`` (already validated: names, shapes, finite) into the model."""
        for name, view in self.params.items():
            np.copyto(view, params[name], casting="same_kind")
        self._bound = float(np.abs(self._flat).max(initial=0.0))

    def effective_bias(self) -> float | None:
        """The single neuron's b, or Σbᵢ for one bias per pixel; None without bias."""
        bias = self.params.get("bias")
        if bias is None:
            return None
        return float(bias[0]) if bias.shape[0] == 1 else float(bias.sum())

    def copy_params(self) -> dict[str, np.ndarray]:
        """Copies of the parameters (row-major, as in the spec)."""
        return {name: view.copy() for name, view in self.params.items()}

    def copy_flat_into(self, params: np.ndarray, update: np.ndarray | None = None) -> None:
        """Copy the parameters (and the last update), as one flat vector each, into the
        given float32 arrays (as many elements as the spec has parameters)."""
        np.copyto(params, self._flat)
        if update is not None:
            np.copyto(update, self._delta)

    def reset_optimizer(self, adam: bool) -> None:
        """SGD (no state), or Adam with zero moments."""
        self._adam = (np.zeros_like(self._flat), np.zeros_like(self._flat)) if adam else None
        self._adam_t = 0

    def optimizer_state(self) -> tuple[np.ndarray, np.ndarray, int] | None:
        """Adam's moments and step count (copies), or None for SGD."""
        if self._adam is None:
            return None
        m, v = self._adam
        return m.copy(), v.copy(), self._adam_t

    def load_optimizer_state(self, state: tuple[np.ndarray, np.ndarray, int] | None) -> None:
        """Put back what :meth:`optimizer_state` gave (the same spec's model)."""
        if state is None:
            self.reset_optimizer(False)
            return
        m, v, t = state
        self._adam = (np.array(m, np.float32).reshape(self._flat.shape),
                      np.array(v, np.float32).reshape(self._flat.shape))
        self._adam_t = int(t)

    def load_last_update(self, update: dict[str, np.ndarray]) -> None:
        """Set the last update (the Δw picture) to ``update``."""
        for name, view in self.last_update.items():
            np.copyto(view, update[name], casting="same_kind")

    # -- one training step ---------------------------------------------------------------
    def step(
        self,
        x255: np.ndarray,
        y: np.ndarray,
        t: np.ndarray | None,
        kind: LossKind,
        lr: float,
        s: np.ndarray | None = None,
    ) -> tuple[float, StepResult]:
        """One step on the batch ``x255`` (float32, 0..255), integer targets ``y`` and,
        for two classes, float targets ``t`` (and optionally ``s = 1 - 2t``).

        Returns the batch's loss (before the update) and whether the step was kept: when
        the loss or a new parameter would not be finite, the parameters stay as they
        were (the last finite ones).
        """
        sgd = self._adam is None
        # SGD: the gradient buffer receives -lr·∇, the update itself (folded into small
        # arrays, so no pass over the big ones)
        scale = -float(lr) if sgd else 1.0
        grads = self._mlp_grads if self.spec.kind is ModelKind.MLP else self._linear_grads
        loss = grads(x255, y, t, s, kind, scale, SCALE)
        if not math.isfinite(loss):
            # The 1/255 folded in after the first product can overflow with weights near
            # float32's limit where torch's x/255 first would not: do it torch's way.
            loss = grads(x255 * SCALE, y, t, s, kind, scale, np.float32(1.0))
        if not math.isfinite(loss):
            return loss, StepResult.LOSS_NOT_FINITE
        if not sgd:
            self._adam_update(float(lr))
        # Will params + update be finite?  It is when the update is finite and
        # max|params| + max|update| stays below float32's range.  ‖update‖₂ bounds
        # max|update| and its square, one BLAS pass, is finite only when every value
        # is; _bound tracks max|params| from above.  So the check is one dot product,
        # and the update can be applied in place.
        delta = self._delta
        square = float(np.dot(delta, delta))
        if math.isfinite(square):
            size = math.sqrt(square)
        elif np.isfinite(delta).all():  # huge but finite
            size = float(np.abs(delta).max())
        else:
            return loss, StepResult.PARAMS_NOT_FINITE
        if self._bound + size >= _LIMIT:
            self._bound = float(np.abs(self._flat).max())  # tighten the bound
            if self._bound + size >= _LIMIT:  # really that large: check exactly
                new = self._flat + delta
                if not np.isfinite(new).all():
                    return loss, StepResult.PARAMS_NOT_FINITE
                np.copyto(self._flat, new)
                self._bound = float(np.abs(new).max())
                return loss, StepResult.OK
        self._flat += delta
        self._bound += size
        return loss, StepResult.OK

    def _adam_update(self, lr: float) -> None:
        """torch.optim.Adam's update (no weight decay, no amsgrad): turns the gradient in
        ``_delta`` into the update."""
        assert self._adam is not None
        m, v = self._adam
        g = self._delta
        b1, b2 = ADAM_BETAS
        self._adam_t += 1
        m += (1.0 - b1) * (g - m)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        v *= b2
        v += (1.0 - b2) * (g * g)
        step_size = lr / (1.0 - b1**self._adam_t)
        np.sqrt(v, out=g)
        g /= math.sqrt(1.0 - b2**self._adam_t)
        g += ADAM_EPS
        np.divide(m, g, out=g)
        g *= np.float32(-step_size)

    def _loss_grad(self, z, y, t, s, kind, scale):
        if kind is LossKind.CROSS_ENTROPY:
            return cross_entropy_and_grad(z, y, scale)
        return binary_loss_and_grad(z, t, kind, scale, s)

    def _linear_grads(self, x255, y, t, s, kind, scale, xs) -> float:
        """Single neuron and linear model: z = x·wᵀ/255 + b."""
        spec, g = self.spec, self.last_update
        z = logits(self.params, spec, x255, xs)
        # dz comes scaled by 1/255 too: ∂L/∂w = dzᵀ·x/255 touches the batch once, and
        # the biases' Σdz takes the 255 back on a handful of numbers
        loss, dz = self._loss_grad(z, y, t, s, kind, scale * float(xs))
        if not math.isfinite(loss):
            return loss
        if spec.kind is ModelKind.SINGLE:
            np.dot(dz, x255, out=g["weights"])
            if spec.bias_mode is not BiasMode.NONE:
                # one bias gets Σdz; 784 biases each get that same Σdz
                g["bias"].fill(dz.sum() * np.float32(255.0))
        else:
            np.matmul(dz.T, x255, out=g["weights"])
            dz.sum(axis=0, out=g["biases"])
            g["biases"] *= np.float32(255.0)
        return loss

    def _mlp_grads(self, x255, y, t, s, kind, scale, xs) -> float:
        """784 → hidden (ReLU) → outputs, backpropagated by hand."""
        p, g, spec = self.params, self.last_update, self.spec
        a = x255 @ p["hidden.weights"].T  # (784, H) row-major in memory
        a *= xs
        a += p["hidden.biases"]
        h = np.maximum(a, 0)
        z = h @ p["output.weights"].T
        z += p["output.biases"]
        binary = spec.n_outputs == 1
        loss, dz = self._loss_grad(z[:, 0] if binary else z, y, t, s, kind, scale)
        if not math.isfinite(loss):
            return loss
        if binary:
            dz = dz[:, None]
        np.matmul(dz.T, h, out=g["output.weights"])
        dz.sum(axis=0, out=g["output.biases"])
        dh = dz @ p["output.weights"]
        dh *= a > 0  # ReLU passes the gradient only where it was active (as torch: a > 0)
        dh.sum(axis=0, out=g["hidden.biases"])
        dh *= xs
        np.matmul(x255.T, dh, out=g["hidden.weights"].T)  # written as (784, H)
        return loss


# -- threads ------------------------------------------------------------------------------
_blas_lock = threading.Lock()
_blas_holders = 0
_blas_limiter = None
_blas_controller = None
_blas_pinned = False  # the process was started with one BLAS thread (environment)


def pin_one_blas_thread() -> None:
    """This process's BLAS was started with one thread (``OPENBLAS_NUM_THREADS=1`` and
    the like, as the training process is): holds are then not needed, and threadpoolctl's
    look through the loaded libraries (~12 ms at a fresh process's first run) is skipped."""
    global _blas_pinned
    _blas_pinned = True


def blas_controls() -> Any:
    """threadpoolctl's controller of the loaded thread pools, made once (it looks through
    every loaded library: ~15 ms with torch loaded); None without threadpoolctl."""
    global _blas_controller
    with _blas_lock:
        if _blas_controller is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # pragma: no cover - a declared dependency
                return None
            _blas_controller = ThreadpoolController()
        return _blas_controller


def _free_blas_control() -> None:
    """Let the next thread that sets OpenBLAS's thread count be obeyed.

    threadpoolctl (3.8 on) makes the first thread that sets a pthreads OpenBLAS's
    count its only setter while that thread lives, and silently ignores the others; a
    QThread is a Python "dummy" thread, alive for ever.  Once a lesson's or a run's
    QThread had taken a hold, the window's later hold was ignored (two BLAS threads
    beside the training process), and a hold released by another thread than the one
    that took it left one thread for good.  The holds here are serialised by
    ``_blas_lock`` and counted across threads, so any thread may make the change: the
    right is handed back before and after each one.  Called with ``_blas_lock`` held.
    """
    from threadpoolctl import OpenBLASController  # loaded: blas_controls() made one

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:  # threadpoolctl before 3.8 had no such gate
        clear(force=True)


def hold_one_blas_thread() -> Callable[[], None]:
    """Make numpy's BLAS use one thread until the returned function is called.

    At these sizes a second BLAS thread buys little (a 32×784×64 product) or nothing
    (the single neuron's 256×784 products), and between two products OpenBLAS's idle
    threads spin for a while: on two cores they take the core the GUI thread needs, and
    the small numpy operations in between run slower (``benchmarks/bench_engine.py``
    measures it).  Holds nest and may end in any order (several trainers, several
    threads); the last one out restores the previous setting.  Without threadpoolctl
    this does nothing.
    """
    global _blas_holders, _blas_limiter
    if _blas_pinned:
        return lambda: None
    controls = blas_controls()
    with _blas_lock:
        if _blas_holders == 0 and controls is not None:
            _free_blas_control()
            _blas_limiter = controls.limit(limits=1, user_api="blas")
            _free_blas_control()
        _blas_holders += 1
    released = False

    def release() -> None:
        global _blas_holders, _blas_limiter
        nonlocal released
        with _blas_lock:
            if released:
                return
            released = True
            _blas_holders -= 1
            if _blas_holders == 0 and _blas_limiter is not None:
                _free_blas_control()
                _blas_limiter.restore_original_limits()
                _free_blas_control()
                _blas_limiter = None

    return release


# -- batches ------------------------------------------------------------------------------
class BatchSource:
    """Gathers training batches from the stored images into reused buffers.

    Images stay as stored (normally uint8, 0..255): a batch is gathered with
    ``np.take(..., out=)`` and converted to float32 in one pass, still 0..255 (the model
    folds the 1/255 into smaller arrays).  Targets are gathered once per epoch.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, binary: bool, batch_size: int) -> None:
        self.x = x
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        self.t = self.y.astype(np.float32) if binary else None
        self.s = None if self.t is None else 1.0 - 2.0 * self.t  # mnist_loss's sign
        self.batch_size = bs = max(1, min(int(batch_size), len(self.y)))
        self._raw = np.empty((bs, x.shape[1]), dtype=x.dtype)
        self._x = np.empty((bs, x.shape[1]), dtype=np.float32)
        self._order = np.arange(len(self.y))
        self._y, self._t, self._s = self.y, self.t, self.s

    def start_epoch(self, order: np.ndarray) -> None:
        """Use ``order`` (a permutation of the training images) for the next batches."""
        self._order = order
        self._y = self.y[order]
        if self.t is not None and self.s is not None:
            self._t, self._s = self.t[order], self.s[order]

    def gather(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Batch ``b`` of the epoch: float32 images (0..255), labels, float targets.
        (:meth:`signs` has the batch's ``1 - 2t``.)"""
        bs = self.batch_size
        sl = slice(b * bs, (b + 1) * bs)
        idx = self._order[sl]
        m = len(idx)
        # mode="clip" skips np.take's buffered copy (the indices are a permutation)
        if self.x.dtype == np.float32:
            xb = np.take(self.x, idx, axis=0, out=self._x[:m], mode="clip")
        else:
            np.take(self.x, idx, axis=0, out=self._raw[:m], mode="clip")
            xb = self._x[:m]
            np.copyto(xb, self._raw[:m], casting="unsafe")
        return xb, self._y[sl], None if self._t is None else self._t[sl]

    def signs(self, b: int) -> np.ndarray | None:
        """``1 - 2t`` for batch ``b`` (two classes), precomputed for mnist_loss."""
        if self._s is None:
            return None
        bs = self.batch_size
        return self._s[b * bs : (b + 1) * bs]


def chunks_as_float(x: np.ndarray, buffer: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(start, float32 0..255 chunk) over ``x``, converted into ``buffer`` (reused: a
    fresh one each time would cost page faults comparable to the conversion)."""
    chunk = buffer.shape[0]
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk]
        view = buffer[: len(part)]
        np.copyto(view, part, casting="unsafe")
        yield start, view
