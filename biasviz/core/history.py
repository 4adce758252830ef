"""Bounded histories for live plots: memory stays flat however long training runs.

A :class:`BoundedSeries` keeps (x, y) points in preallocated arrays.  When it is full it
halves its resolution (keeps every second point) and from then on keeps only every
second new point, and so on: a 100,000-step run costs the same memory as a 4,000-step one,
and the curve still covers the whole run evenly.
"""

from __future__ import annotations

import numpy as np


class BoundedSeries:
    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number ≥ 4")
        self.capacity = capacity
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self._stride = 1  # keep one point in every `stride` appended
        self._skipped = 0
        self.total = 0  # points ever appended

    def __len__(self) -> int:
        return self._n

    @property
    def stride(self) -> int:
        return self._stride

    def clear(self) -> None:
        self._n = 0
        self._stride = 1
        self._skipped = 0
        self.total = 0

    def append(self, x: float, y: float) -> None:
        self.total += 1
        if self._skipped + 1 < self._stride:
            self._skipped += 1
            return
        self._skipped = 0
        if self._n == self.capacity:
            half = self.capacity // 2
            self._x[:half] = self._x[0::2]
            self._y[:half] = self._y[0::2]
            self._n = half
            self._stride *= 2
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def extend(self, xs, ys) -> None:
        for x, y in zip(xs, ys, strict=True):
            self.append(x, y)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def last(self) -> tuple[float, float] | None:
        return (float(self._x[self._n - 1]), float(self._y[self._n - 1])) if self._n else None


def smooth(y: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Exponential moving average, debiased like Adam's (so it starts at the data)."""
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    avg = 0.0
    for i, v in enumerate(y):
        avg = (1 - alpha) * avg + alpha * v
        out[i] = avg / (1 - (1 - alpha) ** (i + 1))
    return out
