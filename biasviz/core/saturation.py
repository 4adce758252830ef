"""The maths of a saturated sigmoid: why the chapter's std-1 start can freeze a neuron.

The neuron's output is σ(z) with z = w·x + b.  Its slope σ′(z) = σ(z)(1 − σ(z)) is
0.25 at z = 0 and falls like e^−|z| beyond: σ′(5) ≈ 0.0066, σ′(10) ≈ 0.000045.  The
chapter's ``mnist_loss`` is ``1 − σ(z)`` for a first-class image and ``σ(z)`` for a
second-class one, so its gradient with respect to z is ∓σ′(z): an image far out in a
flat tail sends back almost nothing — *even when it is on the wrong side*.  That is the
freeze: when most wrongly classified images sit beyond |z| = 5, nothing can pull them
back, and the loss stays at 0.5 (half the images wrong with σ ≈ 1 or 0).

Why the start lands there: with weights drawn from normal(0, std), z = w·x is normal
with spread std·‖x‖.  A Fashion-MNIST pullover has about 400 bright pixels, ‖x‖ ≈ 15, so
std 1 gives |z| in the tens; std 0.01 gives |z| ≈ 0.15, on the steep middle of σ.  In
seed 001's words, the weight decides the steepness: σ(w·x) seen along an image is
σ(s·t) with s = ‖w‖·‖x‖ — large weights make the neuron a step function, and a step has
no slope to learn from.

Everything here is numpy only (no torch, no Qt).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Beyond |z| = 5 the sigmoid's slope is below 0.007 (σ′(5) ≈ 0.0066): 2.7 % of its
#: slope at z = 0.  The diagnosis and the lesson call that region "flat".
Z_SATURATED = 5.0
MAX_SLOPE = 0.25  # σ′(0)


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """σ(z) in float64, without overflow warnings for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_slope(z: np.ndarray | float) -> np.ndarray:
    """σ′(z) = σ(z)(1 − σ(z)), computed as e^−|z| / (1 + e^−|z|)² (exact, no overflow)."""
    e = np.exp(-np.abs(np.asarray(z, dtype=np.float64)))
    return e / (1.0 + e) ** 2


SLOPE_AT_SATURATION = float(sigmoid_slope(Z_SATURATED))


@dataclass(frozen=True)
class SaturationStats:
    """How much of a two-class neuron's output sits in the sigmoid's flat tails.

    ``z`` are the logits of ``n`` images, ``targets`` 1 for the first class.
    """

    n: int
    z_limit: float  # |z| beyond which σ′ counts as flat
    share_saturated: float  # images with |z| > z_limit, right or wrong
    share_wrong: float  # images on the wrong side of z = 0
    share_wrong_saturated: float  # wrong AND in a flat tail: they cannot be pulled back
    error_gradient: float  # Σ_wrong σ′(z) / (n · 0.25): what the errors send back, as a
    #                        share of what they would send from the middle of σ
    z_min: float
    z_max: float

    @property
    def saturated_ranges(self) -> tuple[tuple[float, float], ...]:
        """The flat regions that hold images, as (lo, hi) z-intervals: where a histogram
        of z should be shaded.  Empty when no image is in a flat tail."""
        out = []
        if self.z_min < -self.z_limit:
            out.append((self.z_min, -self.z_limit))
        if self.z_max > self.z_limit:
            out.append((self.z_limit, self.z_max))
        return tuple(out)


def saturation_stats(
    z: np.ndarray, targets: np.ndarray, z_limit: float = Z_SATURATED
) -> SaturationStats:
    """:class:`SaturationStats` of logits ``z`` (n,) for ``targets`` (n,), 1 = first
    class; the neuron says "first class" when z ≥ 0.  Non-finite z count as saturated."""
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    t = np.asarray(targets).reshape(-1) == 1
    if z.shape != t.shape:
        raise ValueError(f"{z.size} logits but {t.size} targets")
    n = int(z.size)
    if n == 0:
        return SaturationStats(0, float(z_limit), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    finite = np.isfinite(z)
    zf = np.where(finite, z, np.sign(np.nan_to_num(z, nan=1.0)) * 1e30)
    wrong = (zf >= 0) != t
    flat = np.abs(zf) > z_limit
    slope = sigmoid_slope(zf)
    zz = zf[finite] if finite.any() else np.zeros(1)
    return SaturationStats(
        n=n,
        z_limit=float(z_limit),
        share_saturated=float(flat.mean()),
        share_wrong=float(wrong.mean()),
        share_wrong_saturated=float((wrong & flat).mean()),
        error_gradient=float(slope[wrong].sum() / (n * MAX_SLOPE)),
        z_min=float(zz.min()),
        z_max=float(zz.max()),
    )


def start_spread(images: np.ndarray, std: float) -> float:
    """The typical |z| = |w·x| of a neuron whose weights (and bias) are drawn from
    normal(0, std): std·√(‖x‖² + 1), averaged over ``images`` (n, 784) in [0, 1]."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    sq = np.einsum("ij,ij->i", x, x) + 1.0  # the +1: the bias's own normal(0, std)
    return float(std * np.sqrt(sq.mean()))


def z_histogram(z: np.ndarray, reach: float, bins: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Share of ``z`` in each of ``bins`` equal bins over [−reach, reach] (values
    beyond are counted in the end bins): (edges (bins+1,), shares (bins,))."""
    reach = max(float(reach), 1e-6)
    edges = np.linspace(-reach, reach, int(bins) + 1)
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    z = np.clip(z[np.isfinite(z)], -reach, reach)
    counts, _ = np.histogram(z, bins=edges)
    return edges, counts / max(z.size, 1)


def mean_ink(images: np.ndarray, level: float = 0.5) -> float:
    """Average number of pixels brighter than ``level`` per image: how many weights
    a typical image's z sums over."""
    x = np.asarray(images).reshape(len(images), -1)
    return float(np.mean(np.sum(x > level, axis=1)))
