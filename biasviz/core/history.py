"""Bounded histories for live plots: memory stays flat however long training runs.

A :class:`BoundedSeries` keeps (x, y) points in preallocated arrays.  When it is full it
halves its resolution (keeps every second point) and from then on keeps only every
second new point, and so on: a 100,000-step run costs the same memory as a 4,000-step one,
and the curve still covers the whole run evenly.
"""

from __future__ import annotations

from typing import Any

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

    def _halve(self) -> None:
        """Full: keep every other point, and from now on one in twice as many."""
        half = self.capacity // 2
        self._x[:half] = self._x[0::2]
        self._y[:half] = self._y[0::2]
        self._n = half
        self._stride *= 2

    def append(self, x: float, y: float) -> None:
        self.total += 1
        if self._skipped + 1 < self._stride:
            self._skipped += 1
            return
        self._skipped = 0
        if self._n == self.capacity:
            self._halve()
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def extend(self, xs, ys) -> None:
        """:meth:`append` each pair, in slices (the same points kept): a report of a
        few hundred steps was ~7 µs a step on the GUI thread, point by point."""
        xs = np.asarray(xs, dtype=np.float64).ravel()
        ys = np.asarray(ys, dtype=np.float64).ravel()
        if xs.shape != ys.shape:
            raise ValueError("xs and ys differ in length")
        m = xs.size
        self.total += m
        i = 0
        while i < m:
            first = i + self._stride - 1 - self._skipped  # the next point kept
            if first >= m:
                self._skipped += m - i
                return
            if self._n == self.capacity:
                self._halve()  # (the point at `first` is kept, then one in each new stride)
            kept = np.arange(first, m, self._stride)[: self.capacity - self._n]
            self._x[self._n: self._n + kept.size] = xs[kept]
            self._y[self._n: self._n + kept.size] = ys[kept]
            self._n += kept.size
            self._skipped = 0
            i = int(kept[-1]) + 1

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def last(self) -> tuple[float, float] | None:
        return (float(self._x[self._n - 1]), float(self._y[self._n - 1])) if self._n else None

    def truncate_after(self, x: float) -> None:
        """Drop the points after ``x`` (going back to an earlier moment)."""
        keep = int(np.searchsorted(self.x, x, side="right"))
        dropped = self._n - keep
        self._n = keep
        self.total = max(self._n, self.total - dropped * self._stride)

    def state(self) -> tuple[dict, np.ndarray, np.ndarray]:
        """What a session file keeps: the counters, and the points kept."""
        return ({"stride": self._stride, "skipped": self._skipped, "total": self.total},
                self.x.copy(), self.y.copy())

    def restore(self, counters: dict, x: np.ndarray, y: np.ndarray) -> None:
        """The inverse of :meth:`state` (raises ValueError on inconsistent input)."""
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.shape != y.shape or x.size > self.capacity:
            raise ValueError("history points do not fit")
        stride, skipped, total = (int(counters[k]) for k in ("stride", "skipped", "total"))
        if stride < 1 or not 0 <= skipped < stride or total < x.size:
            raise ValueError("history counters are inconsistent")
        self._n = x.size
        self._x[: self._n], self._y[: self._n] = x, y
        self._stride, self._skipped, self.total = stride, skipped, total


def running_average(y: np.ndarray, alpha: float, avg: float = 0.0,
                    count: int = 0) -> tuple[np.ndarray, float, int]:
    """Exponential moving average of ``y``, debiased like Adam's (so it starts at the
    data), going on from a running ``avg`` over ``count`` values before; returns the
    averages and the running state after ``y``."""
    out, avgs = running_states(y, alpha, avg, count)
    return out, (float(avgs[-1]) if avgs.size else avg), count + out.size


def running_states(y: np.ndarray, alpha: float, avg: float = 0.0,
                   count: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`running_average`'s averages, and its running (not debiased) average after
    each value: the state to go on from there."""
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    avgs = np.empty_like(y)
    for i, v in enumerate(y.tolist()):
        count += 1
        avg = (1 - alpha) * avg + alpha * v
        avgs[i] = avg
        out[i] = avg / (1 - (1 - alpha) ** count)
    return out, avgs


def smooth(y: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Exponential moving average, debiased like Adam's (so it starts at the data)."""
    return running_average(y, alpha)[0]


class TrainingHistory:
    """Everything the curves show, for the whole run, in bounded memory: the loss of every
    step (raw and smoothed), the single neuron's bias after every step, and the
    validation loss and accuracy after every epoch.

    The app model owns one; views read it when they redraw (``version`` tells them whether
    anything changed since they last looked).
    """

    SMOOTHING = 0.1  # ~10-step memory: short runs on the sample are only 80-240 steps

    def __init__(self, capacity: int = 4096) -> None:
        self.loss = BoundedSeries(capacity)  # x = step
        self.smoothed = BoundedSeries(capacity)  # x = step
        self.bias = BoundedSeries(capacity)  # x = step, y = b (or Σbᵢ)
        self.valid_loss = BoundedSeries(capacity)  # x = step
        self.accuracy = BoundedSeries(capacity)  # x = epoch, y = fraction
        self._avg = 0.0
        self._n_avg = 0
        # The smoothing's running state after each point of ``smoothed`` (the same steps,
        # thinned alike): going back to a step takes the state it had there
        self._avg_at = BoundedSeries(capacity)
        self._n_avg_at = BoundedSeries(capacity)
        self.last_step: Any = None  # the newest StepMetrics
        self.last_epoch: Any = None  # the newest EpochMetrics
        self.version = 0

    def clear(self) -> None:
        for series in (self.loss, self.smoothed, self.bias, self.valid_loss, self.accuracy,
                       self._avg_at, self._n_avg_at):
            series.clear()
        self._avg, self._n_avg = 0.0, 0
        self.last_step = self.last_epoch = None
        self.version += 1

    @property
    def n_epochs(self) -> int:
        return self.accuracy.total

    def add_steps(self, steps) -> None:
        if not steps:
            return
        n = len(steps)
        x = np.fromiter((s.step for s in steps), np.float64, n)
        bias = np.fromiter((np.nan if s.bias is None else s.bias for s in steps), np.float64, n)
        loss = np.fromiter((s.loss for s in steps), np.float64, n)
        has_bias = np.isfinite(bias)
        self.bias.extend(x[has_bias], bias[has_bias])
        finite = np.isfinite(loss)
        x, loss = x[finite], loss[finite]
        self.loss.extend(x, loss)
        smoothed, avgs = running_states(loss, self.SMOOTHING, self._avg, self._n_avg)
        self.smoothed.extend(x, smoothed)
        self._avg_at.extend(x, avgs)
        self._n_avg_at.extend(x, np.arange(self._n_avg + 1, self._n_avg + x.size + 1,
                                           dtype=np.float64))
        if x.size:
            self._avg, self._n_avg = float(avgs[-1]), self._n_avg + x.size
        self.last_step = steps[-1]
        self.version += 1

    def add_epochs(self, epochs) -> None:
        for m in epochs:
            self.valid_loss.append(m.step, m.valid_loss)
            self.accuracy.append(m.epoch, m.valid_accuracy)
        if epochs:
            self.last_epoch = epochs[-1]
            self.version += 1

    @property
    def last_accuracy(self) -> float | None:
        return None if self.last_epoch is None else float(self.last_epoch.valid_accuracy)

    def truncate_after(self, step: int) -> None:
        """Forget what happened after ``step`` (training goes on from an earlier moment)."""
        for name in ("loss", "smoothed", "bias", "valid_loss", "_avg_at", "_n_avg_at"):
            getattr(self, name).truncate_after(step)
        # the smoothing goes on from its state at the last step kept (a fake drop or jump
        # otherwise: the average of the forgotten steps went on into the new ones)
        kept = self._avg_at.last()
        counted = self._n_avg_at.last()
        if kept is None or counted is None:
            self._avg, self._n_avg = 0.0, 0
        else:
            self._avg, self._n_avg = kept[1], int(round(counted[1]))
        epochs_kept = len(self.valid_loss)
        if len(self.accuracy) > epochs_kept:
            self.accuracy.truncate_after(self.accuracy.x[epochs_kept - 1] if epochs_kept else -1)
        if self.last_step is not None and self.last_step.step > step:
            self.last_step = None
        if self.last_epoch is not None and self.last_epoch.step > step:
            self.last_epoch = None
        self.version += 1

    _SERIES = ("loss", "smoothed", "bias", "valid_loss", "accuracy")
    _STEP_FIELDS = ("step", "epoch", "batch", "batches_per_epoch", "loss")
    _EPOCH_FIELDS = ("epoch", "step", "train_loss", "valid_loss", "valid_accuracy", "elapsed")

    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta: dict = {"avg": self._avg, "n_avg": self._n_avg, "series": {}}
        arrays: dict[str, np.ndarray] = {}
        for name in self._SERIES:
            counters, x, y = getattr(self, name).state()
            meta["series"][name] = counters
            arrays[f"{name}_x"], arrays[f"{name}_y"] = x, y
        for name, series in (("smoothing_avg", self._avg_at),
                             ("smoothing_count", self._n_avg_at)):
            arrays[f"{name}_x"], arrays[f"{name}_y"] = series.x.copy(), series.y.copy()
        if self.last_step is not None:
            meta["last_step"] = {k: getattr(self.last_step, k) for k in self._STEP_FIELDS}
        if self.last_epoch is not None:
            meta["last_epoch"] = {k: getattr(self.last_epoch, k) for k in self._EPOCH_FIELDS}
        return meta, arrays

    def restore(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """The inverse of :meth:`to_arrays`; raises ValueError/KeyError/TypeError on a
        damaged description (the caller turns them into one clear message)."""
        from types import SimpleNamespace

        for name in self._SERIES:
            getattr(self, name).restore(meta["series"][name], arrays[f"{name}_x"],
                                        arrays[f"{name}_y"])
        self._avg, self._n_avg = float(meta["avg"]), int(meta["n_avg"])
        if "smoothing_avg_x" in arrays and "smoothing_count_x" in arrays:
            self._avg_at.restore(meta["series"]["smoothed"], arrays["smoothing_avg_x"],
                                 arrays["smoothing_avg_y"])
            self._n_avg_at.restore(meta["series"]["smoothed"], arrays["smoothing_count_x"],
                                   arrays["smoothing_count_y"])
        else:  # a file saved before they were kept: derived from the smoothed curve
            self._restore_smoothing_state()
        step, epoch = meta.get("last_step"), meta.get("last_epoch")
        self.last_step = None if step is None else SimpleNamespace(
            **_numbers(step, self._STEP_FIELDS, ints=("step", "epoch", "batch",
                                                      "batches_per_epoch")))
        self.last_epoch = None if epoch is None else SimpleNamespace(
            **_numbers(epoch, self._EPOCH_FIELDS, ints=("epoch", "step")))
        self.version += 1


    def _restore_smoothing_state(self) -> None:
        """The smoothing's state at each point of a session saved without it: point i of a
        series thinned to one in ``stride`` is the (i·stride + 1)-th value appended (the
        losses were finite; a run that diverged stops there), and the debiased average
        there gives the running one."""
        x, y = self.smoothed.x, self.smoothed.y
        counts = np.arange(x.size, dtype=np.float64) * self.smoothed.stride + 1
        counters = self.smoothed.state()[0]
        self._avg_at.restore(counters, x, y * (1 - (1 - self.SMOOTHING) ** counts))
        self._n_avg_at.restore(counters, x, counts)


def _numbers(record: Any, fields: tuple[str, ...], ints: tuple[str, ...]) -> dict[str, Any]:
    """A saved step/epoch record, checked: every field a number (ValueError otherwise)."""
    if not isinstance(record, dict):
        raise ValueError("a history record is not a mapping")
    out: dict[str, Any] = {}
    for k in fields:
        v = record[k]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"history field {k!r} is not a number")
        out[k] = int(v) if k in ints else float(v)
    return out
