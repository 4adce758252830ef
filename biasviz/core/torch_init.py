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
  whose second value is kept in the generator for the next call;
- ``randperm(n)``: Fisher-Yates, swapping item ``i`` with item ``i + draw % (n - i)``
  for ``i`` from 0 to ``n - 2``, one 32-bit draw each (aten's ``randperm_cpu``);
- ``get_state()``: 5,056 bytes (``CPUGeneratorImplState``, little-endian): the seed
  (u64), ``left`` and ``seeded`` (i32), ``next`` (u64), the 624 words of state (u64
  each), then the cached normals (``normal_y`` and its flag are the double one).

With these, the window trains the single neuron, the linear model and the MLP without
importing torch (~650 MB and 2 s): the batch orders, and the state a session file keeps
of them, are torch's own, byte for byte.
"""

from __future__ import annotations

import math
import time

import numpy as np

from biasviz.core.spec import InitKind, ModelSpec

Params = dict[str, np.ndarray]

_UNIT_24 = np.float32(2.0**-24)
_BLOCK = 16


STATE_BYTES = 5056
_N = 624  # mt19937's words of state
_SWAPS_PER_TURN = 1024  # randperm's swaps between two offers of the GIL
_WORDS = slice(24, 24 + 8 * _N)
_NORMAL_Y, _NORMAL_VALID = slice(5024, 5032), slice(5040, 5044)


class TorchCpuGenerator:
    """The draws of ``torch.Generator().manual_seed(seed)`` on the CPU, and its state."""

    def __init__(self, seed: int) -> None:
        self._bits = np.random.MT19937()
        self._seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._bits._legacy_seeding(self._seed & 0xFFFFFFFF)
        self._fresh = True  # nothing drawn since seeding (torch's next is 0, not 624)
        self._next_normal: float | None = None  # the cached second Box-Muller value
        self._tail = np.zeros(STATE_BYTES - _WORDS.stop, np.uint8)  # the cached normals

    def _random32(self, n: int) -> np.ndarray:
        if n:
            self._fresh = False
        return self._bits.random_raw(n).astype(np.uint32)

    def randperm(self, n: int) -> np.ndarray:
        """``torch.randperm(n, generator=gen)`` (int64)."""
        n = int(n)
        if n < 2:
            return np.arange(max(n, 0), dtype=np.int64)
        draws = self._random32(n - 1).astype(np.int64)
        targets = (draws % np.arange(n, 1, -1, dtype=np.int64)
                   + np.arange(n - 1, dtype=np.int64)).tolist()
        order = list(range(n))
        for start in range(0, n - 1, _SWAPS_PER_TURN):
            for i, j in enumerate(targets[start:start + _SWAPS_PER_TURN], start):
                order[i], order[j] = order[j], order[i]  # sequential by nature: ~0.1 µs
            # Let another thread have the GIL: the thread that feeds the training process
            # draws here while the window paints, and a painting GUI thread takes the GIL
            # back many times a frame (each wait was up to the 5 ms switch interval: frames
            # of 50-130 ms while it drew the chapter's 2,450 orders)
            time.sleep(0)
        return np.array(order, dtype=np.int64)

    def get_state(self) -> np.ndarray:
        """``gen.get_state().numpy()``: the generator as torch saves it (uint8)."""
        bits = self._bits.state["state"]
        pos = int(bits["pos"])
        state = np.zeros(STATE_BYTES, np.uint8)
        left, following = (1, 0 if self._fresh else _N) if pos >= _N else (_N + 1 - pos, pos)
        state[0:8] = np.frombuffer(np.uint64(self._seed).tobytes(), np.uint8)
        state[8:16] = np.frombuffer(np.array([left, 1], "<i4").tobytes(), np.uint8)
        state[16:24] = np.frombuffer(np.uint64(following).tobytes(), np.uint8)
        state[_WORDS] = np.frombuffer(
            np.asarray(bits["key"], "<u8").tobytes(), np.uint8)
        state[_WORDS.stop:] = self._tail
        if self._next_normal is not None:
            state[_NORMAL_Y] = np.frombuffer(np.float64(self._next_normal).tobytes(), np.uint8)
            state[_NORMAL_VALID] = np.frombuffer(np.int32(1).tobytes(), np.uint8)
        return state

    def set_state(self, state: np.ndarray) -> None:
        """``gen.set_state(...)``: ValueError when ``state`` is not one torch could save."""
        raw = np.ascontiguousarray(state, dtype=np.uint8).ravel()
        if raw.size != STATE_BYTES:
            raise ValueError(f"{raw.size} bytes where a generator's state has {STATE_BYTES}")
        left, _seeded = (int(v) for v in np.frombuffer(raw[8:16].tobytes(), "<i4"))
        following = int(np.frombuffer(raw[16:24].tobytes(), "<u8")[0])
        words = np.frombuffer(raw[_WORDS].tobytes(), "<u8")
        if not 1 <= left <= _N or following > _N or int(words.max()) > 0xFFFFFFFF:
            raise ValueError("the generator's state is not one torch could have saved")
        if left > 1 and following != _N + 1 - left:
            raise ValueError("the generator's position does not add up")
        pos = _N if left == 1 else following
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": words.astype(np.uint32), "pos": pos}}
        self._seed = int(np.frombuffer(raw[0:8].tobytes(), "<u8")[0])
        self._fresh = left == 1 and following == 0
        valid = int(np.frombuffer(raw[_NORMAL_VALID].tobytes(), "<i4")[0])
        self._next_normal = (float(np.frombuffer(raw[_NORMAL_Y].tobytes(), "<f8")[0])
                             if valid else None)
        self._tail = raw[_WORDS.stop:].copy()
        self._tail[_NORMAL_Y.start - _WORDS.stop:_NORMAL_Y.stop - _WORDS.stop] = 0
        self._tail[_NORMAL_VALID.start - _WORDS.stop:_NORMAL_VALID.stop - _WORDS.stop] = 0

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
