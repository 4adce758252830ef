"""The first parameters of a model, as :func:`biasviz.core.models.initialize` draws
them with torch, computed without torch.

The window opens before torch is imported (~2 s, in the background).  With these numbers
it shows the model a learner is about to train at once (its weights, histogram,
accuracy) instead of an empty panel.  The engine's own parameters replace them when it
is ready; the two agree to within a float32 rounding (tests compare them with torch).

torch's CPU generator is a Mersenne Twister (mt19937) seeded like numpy's legacy
``RandomState(seed)``.  From it (aten's ``DistributionsHelper.h`` and
``DistributionTemplates.h``):

- ``rand`` (float32): one 32-bit draw per value, its low 24 bits × 2⁻²⁴;
- ``randn`` of 16 values or more (float32): every value drawn as above, then
  Box-Muller on blocks of 16 (the first 8 paired with the last 8); when the count is
  not a multiple of 16 the last 16 are drawn again and transformed as one block;
- ``randn`` of fewer than 16: a double-precision Box-Muller per pair of 64-bit draws,
  whose second value is kept in the generator for the next call.
"""

from __future__ import annotations

import math

import numpy as np

from biasviz.core.spec import InitKind, ModelSpec

Params = dict[str, np.ndarray]

_UNIT_24 = np.float32(2.0**-24)
_BLOCK = 16


class TorchCpuGenerator:
    """The draws of ``torch.Generator().manual_seed(seed)`` on the CPU."""

    def __init__(self, seed: int) -> None:
        self._bits = np.random.MT19937()
        self._bits._legacy_seeding(int(seed) & 0xFFFFFFFF)
        self._next_normal: float | None = None  # the cached second Box-Muller value

    def _random32(self, n: int) -> np.ndarray:
        return self._bits.random_raw(n).astype(np.uint32)

    def rand(self, n: int) -> np.ndarray:
        """``torch.rand(n, generator=gen)`` (float32 in [0, 1))."""
        return (self._random32(n) & np.uint32(0xFFFFFF)).astype(np.float32) * _UNIT_24

    def randn(self, n: int) -> np.ndarray:
        """``torch.randn(n, generator=gen)`` (float32)."""
        if n >= _BLOCK:
            values = _box_muller_blocks(self.rand(n))
            if n % _BLOCK:
                values[n - _BLOCK:] = _box_muller_blocks(self.rand(_BLOCK))
            return values
        return np.array([self._normal_double() for _ in range(n)], dtype=np.float32)

    def _normal_double(self) -> float:
        if self._next_normal is not None:
            value, self._next_normal = self._next_normal, None
            return value
        u1, u2 = self._uniform_double(), self._uniform_double()
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    def _uniform_double(self) -> float:
        high, low = (int(v) for v in self._random32(2))
        return ((high << 32 | low) & ((1 << 53) - 1)) * 2.0**-53


def _box_muller_blocks(uniform: np.ndarray) -> np.ndarray:
    """Box-Muller in float32 on whole blocks of 16 (a tail shorter than 16 kept as is)."""
    n = len(uniform) // _BLOCK * _BLOCK
    blocks = uniform[:n].reshape(-1, _BLOCK)
    u1 = np.float32(1.0) - blocks[:, :8]
    u2 = blocks[:, 8:]
    radius = np.sqrt(np.float32(-2.0) * np.log(u1))
    theta = np.float32(2.0 * math.pi) * u2
    out = uniform.copy()
    out[:n] = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1).ravel()
    return out


def _fan_in(name: str, shapes: dict[str, tuple[int, ...]]) -> int:
    """As :func:`biasviz.core.models.fan_in`: a layer's inputs per output."""
    layer, _, _ = name.rpartition(".")
    weights = f"{layer}.weights" if layer else "weights"
    shape = shapes.get(weights, shapes[name])
    return int(np.prod(shape[1:])) if len(shape) >= 2 else int(shape[0])


def initial_params(spec: ModelSpec) -> Params:
    """The parameters ``build_model(spec)`` starts with (within float32 rounding)."""
    shapes = spec.param_shapes()
    gen = TorchCpuGenerator(spec.seed)
    params: Params = {}
    for name, shape in shapes.items():
        count = math.prod(shape)
        if spec.init is InitKind.ZEROS:
            values = np.zeros(count, np.float32)
        elif spec.init is InitKind.STANDARD:
            bound = np.float32(1.0 / math.sqrt(_fan_in(name, shapes)))
            values = (gen.rand(count) * np.float32(2.0) - np.float32(1.0)) * bound
        else:
            values = gen.randn(count) * np.float32(spec.init_std)
        params[name] = values.reshape(shape)
    return params
