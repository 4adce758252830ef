"""The timeline of a training run: parameter snapshots ("moments") in a fixed memory budget.

A :class:`Timeline` is fed from the training thread, once per step, and read by the GUI
(scrubber, every view at a past moment), by the animation export and by session files.

Thinning schedule
-----------------
Every step is kept at first.  Each recorded moment gets a *level*:

* a step ``s`` has level ``v2(s)``, the number of times 2 divides ``s`` (step 12 → 2,
  step 16 → 4): "keep every 2^k-th step" is "keep the levels ≥ k";
* an epoch end gets at least ``v2(epoch) + ceil(log2(steps in that epoch))``, so that at
  any threshold epoch ends are kept about as densely as the step grid (all of them while
  the grid is finer than an epoch, every 2nd, 4th... epoch after) -- they matter more
  than a mid-epoch step because they carry the validation accuracy;
* the first moment of the timeline (step 0: the initial parameters, w₀) is never dropped.

When the kept arrays exceed the budget the threshold ``k`` goes up by one and every
kept moment below it is dropped: about half of them.  From then on a new moment below
the threshold is not archived at all.  So the archive always covers the whole run
evenly (a grid of stride 2^k plus the epoch ends), whatever its length, and each
compaction is paid for by the moments recorded since the last one: O(1) amortised.

On top of the archive, the most recent ``recent`` moments (default up to 32, at most an
eighth of the budget) are kept at full density, so "step back" right after a pause and
the latest moment are always exact.  A moment leaving that window is archived if its
level reaches the threshold, else dropped.

Memory: :attr:`Timeline.nbytes` counts the bytes of every array kept (parameters and,
when given, the last update) plus an estimate of the per-moment Python overhead; it
stays ≤ ``budget_bytes`` except that the first and the latest moment are kept whatever
the budget (a budget smaller than two snapshots cannot be honoured).

Thread safety: one writer (the training thread) and any number of readers.  Moments are
immutable (frozen dataclasses holding read-only arrays), and the lists that index them
are swapped under a lock, so a reader never sees a half-updated timeline and may keep a
moment as long as it likes.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from biasviz.core.errors import ConfigError, ParamFileError

DEFAULT_BUDGET_BYTES = 64 * 2**20
RECENT_MOMENTS = 32  # full-density tail: "step back" after a pause is exact
FORMAT = "biasviz-timeline"
FORMAT_VERSION = 1
MAX_MOMENTS = 10_000_000  # a session file claiming more is damaged or hostile
# Python objects around the arrays of one moment (the dataclass, two dicts, array headers),
# measured with tracemalloc in benchmarks/bench_timeline.py; counted so that the budget
# holds for real for small models, where the overhead is not negligible.
OVERHEAD_PER_MOMENT = 600
OVERHEAD_PER_ARRAY = 120
_PROTECTED = 1 << 30  # level of the first moment: never dropped


def _v2(n: int) -> int:
    """How many times 2 divides n (n > 0); 0 is divisible forever."""
    if n <= 0:
        return _PROTECTED if n == 0 else 0
    return (n & -n).bit_length() - 1


class Evaluation(NamedTuple):
    """A validation accuracy and the epoch end (epoch, step) it was measured at."""

    epoch: int
    step: int
    accuracy: float


@dataclass(frozen=True, eq=False)  # compared by identity: arrays have no single truth value
class Moment:
    """One recorded moment of training: the parameters after ``step`` updates.

    ``loss`` is the training loss of that step's batch (NaN for step 0 or when unknown);
    ``accuracy`` and ``valid_loss`` are the validation figures, known at epoch ends only.
    The arrays are read-only; copy them to change them.
    """

    step: int
    epoch: int
    loss: float
    accuracy: float | None
    valid_loss: float | None
    epoch_end: bool
    params: Mapping[str, np.ndarray]
    last_update: Mapping[str, np.ndarray] | None = None

    array_nbytes: int = field(init=False, repr=False, compare=False)
    nbytes: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: the budget arithmetic reads them on every record.
        arrays = [*self.params.values(), *(self.last_update or {}).values()]
        array_nbytes = sum(a.nbytes for a in arrays)
        object.__setattr__(self, "array_nbytes", array_nbytes)
        # what this moment costs the budget: its arrays plus the Python objects around them
        object.__setattr__(
            self, "nbytes", array_nbytes + OVERHEAD_PER_MOMENT + OVERHEAD_PER_ARRAY * len(arrays)
        )


def _frozen_arrays(arrays: Mapping[str, np.ndarray], copy: bool) -> Mapping[str, np.ndarray]:
    out = {}
    for name, a in arrays.items():
        a = np.array(a, copy=True) if copy else np.asarray(a)
        a.flags.writeable = False
        out[str(name)] = a
    return MappingProxyType(out)


class Timeline:
    """Parameter snapshots of one run, thinned to stay within ``budget_bytes``.

    Parameters
    ----------
    budget_bytes
        Memory the kept moments may use (default 64 MB).
    recent
        How many of the latest moments are kept at full density (capped at an eighth of
        the budget once the size of a moment is known).
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES, recent: int = RECENT_MOMENTS):
        budget_bytes = int(budget_bytes)
        if budget_bytes <= 0:
            raise ConfigError(f"the timeline's memory budget must be positive, got {budget_bytes}")
        if int(recent) < 1:
            raise ConfigError(f"the timeline keeps at least the latest moment, got recent={recent}")
        self._budget = budget_bytes
        self._recent_wanted = int(recent)
        self._lock = threading.Lock()
        self._clear_state()

    def _clear_state(self) -> None:
        # archive: parallel lists, sorted by step
        self._steps: list[int] = []
        self._moments: list[Moment] = []
        self._levels: list[int] = []
        # full-density tail: (moment, level), oldest first
        self._recent: deque[tuple[Moment, int]] = deque()
        self._recent_cap: int | None = None  # fixed at the first record
        self._threshold = 0
        self._nbytes = 0
        self._last_epoch_end_step: int | None = None
        self._first_done = False
        self._shapes: dict[str, tuple[int, ...]] | None = None  # of every moment's arrays
        self._version = 0

    # -- writing (training thread) --------------------------------------------------------
    def record(
        self,
        step: int,
        epoch: int,
        params: Mapping[str, np.ndarray],
        loss: float | None = None,
        accuracy: float | None = None,
        last_update: Mapping[str, np.ndarray] | None = None,
        *,
        epoch_end: bool = False,
        valid_loss: float | None = None,
        copy: bool = True,
    ) -> None:
        """Record the parameters after ``step`` updates.

        Steps must increase (call :meth:`truncate_after` to go back).  ``copy=False``
        hands the arrays over (e.g. the fresh copies of ``Trainer.snapshot()``): they are
        made read-only and kept as they are.  An epoch end can also be marked afterwards
        with :meth:`mark_epoch_end`, when the validation figures arrive.
        """
        step, epoch = int(step), int(epoch)
        moment = Moment(
            step=step,
            epoch=epoch,
            loss=math.nan if loss is None else float(loss),
            accuracy=None if accuracy is None else float(accuracy),
            valid_loss=None if valid_loss is None else float(valid_loss),
            epoch_end=bool(epoch_end),
            params=_frozen_arrays(params, copy),
            last_update=None if last_update is None else _frozen_arrays(last_update, copy),
        )
        shapes = {name: a.shape for name, a in moment.params.items()}
        if self._shapes is None:
            self._shapes = shapes
        elif shapes != self._shapes:
            raise ConfigError(
                "timeline: these parameters do not match the earlier moments' (the model "
                "changed); clear the timeline first"
            )
        latest = self._latest_step()
        if latest is not None and step <= latest:
            raise ConfigError(
                f"timeline: step {step} recorded after step {latest}; truncate the later "
                "history first"
            )
        if not self._first_done:
            level = _PROTECTED
            self._first_done = True
            if self._last_epoch_end_step is None:
                self._last_epoch_end_step = step
        else:
            level = _v2(step)
        if moment.epoch_end:
            level = max(level, self._epoch_end_level(step, epoch))
        if self._recent_cap is None:
            # an eighth of the budget for the full-density tail, at least the latest moment
            self._recent_cap = max(1, min(self._recent_wanted, self._budget // (8 * moment.nbytes)))
        evicted: tuple[Moment, int] | None = None
        with self._lock:
            self._recent.append((moment, level))
            self._nbytes += moment.nbytes
            if len(self._recent) > self._recent_cap:
                evicted = self._recent.popleft()
                self._archive(*evicted)
            self._version += 1
        if self._nbytes > self._budget:
            self._thin()

    def mark_epoch_end(
        self, step: int, accuracy: float | None = None, valid_loss: float | None = None
    ) -> bool:
        """Mark the moment of ``step`` as an epoch end carrying the validation figures.

        Returns False when that moment is no longer in the full-density tail (it was
        recorded too long ago) or was never recorded.
        """
        step = int(step)
        with self._lock:
            for i in range(len(self._recent) - 1, -1, -1):
                moment, level = self._recent[i]
                if moment.step == step:
                    break
                if moment.step < step:
                    return False
            else:
                return False
            updated = replace(
                moment,
                epoch_end=True,
                accuracy=moment.accuracy if accuracy is None else float(accuracy),
                valid_loss=moment.valid_loss if valid_loss is None else float(valid_loss),
            )
            self._recent[i] = (updated, max(level, self._epoch_end_level(step, moment.epoch)))
            self._version += 1
        return True

    def _epoch_end_level(self, step: int, epoch: int) -> int:
        previous = self._last_epoch_end_step
        per_epoch = step - previous if previous is not None and step > previous else 1
        self._last_epoch_end_step = step
        return _v2(max(1, epoch)) + max(0, (per_epoch - 1).bit_length())

    def _archive(self, moment: Moment, level: int) -> None:
        """Called with the lock held: keep a moment leaving the tail, or drop it."""
        if level >= self._threshold:
            self._steps.append(moment.step)
            self._moments.append(moment)
            self._levels.append(level)
        else:
            self._nbytes -= moment.nbytes

    def _thin(self) -> None:
        """Raise the threshold until the kept moments fit the budget."""
        while self._nbytes > self._budget:
            if len(self._moments) > 1 or (self._moments and self._levels[0] < _PROTECTED):
                self._threshold += 1
                keep = [i for i, lv in enumerate(self._levels) if lv >= self._threshold]
                if len(keep) == len(self._levels):
                    continue  # nothing at this level; try the next one
                # built outside the lock (this thread is the only writer), swapped inside
                steps = [self._steps[i] for i in keep]
                moments = [self._moments[i] for i in keep]
                levels = [self._levels[i] for i in keep]
                archive_bytes = sum(m.nbytes for m in self._moments)
                with self._lock:
                    self._steps, self._moments, self._levels = steps, moments, levels
                    self._nbytes -= archive_bytes - sum(m.nbytes for m in moments)
                    self._version += 1
            elif len(self._recent) > 1:
                # the archive is down to the first moment: shrink the full-density tail
                with self._lock:
                    self._recent_cap = max(1, len(self._recent) - 1)
                    self._archive(*self._recent.popleft())
                    self._version += 1
            else:
                break  # the first and the latest moment alone exceed the budget

    def truncate_after(self, step: int) -> int:
        """Forget every moment after ``step`` ("train from a past moment").  Returns how
        many moments were dropped."""
        step = int(step)
        with self._lock:
            cut = bisect.bisect_right(self._steps, step)
            dropped = self._moments[cut:]
            self._steps, self._moments = self._steps[:cut], self._moments[:cut]
            self._levels = self._levels[:cut]
            kept_recent = deque((m, lv) for m, lv in self._recent if m.step <= step)
            dropped_recent = len(self._recent) - len(kept_recent)
            dropped_bytes = sum(m.nbytes for m in dropped)
            dropped_bytes += sum(m.nbytes for m, _ in self._recent if m.step > step)
            self._recent = kept_recent
            self._nbytes -= dropped_bytes
            # New history starts dense again; older moments all have levels ≥ the old
            # threshold, so a later compaction drops new moments before old ones.
            self._threshold = 0
            ends = [m.step for m in self._all_unlocked() if m.epoch_end]
            first = self._first_unlocked()
            self._last_epoch_end_step = ends[-1] if ends else (first.step if first else None)
            if first is None:
                self._first_done = False
                self._shapes = None
            self._version += 1
        return len(dropped) + dropped_recent

    def clear(self) -> None:
        """Forget everything (a reset of the model)."""
        with self._lock:
            version = self._version
            self._clear_state()
            self._version = version + 1

    @property
    def budget_bytes(self) -> int:
        return self._budget

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        value = int(value)
        if value <= 0:
            raise ConfigError(f"the timeline's memory budget must be positive, got {value}")
        self._budget = value
        if self._nbytes > self._budget:
            self._thin()

    # -- reading (any thread) ------------------------------------------------------------
    def _all_unlocked(self) -> list[Moment]:
        return self._moments + [m for m, _ in self._recent]

    def _first_unlocked(self) -> Moment | None:
        if self._moments:
            return self._moments[0]
        return self._recent[0][0] if self._recent else None

    def _latest_step(self) -> int | None:
        if self._recent:
            return self._recent[-1][0].step
        return self._steps[-1] if self._steps else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._moments) + len(self._recent)

    @property
    def version(self) -> int:
        """Changes whenever the timeline does (views redraw only when it moved)."""
        return self._version

    @property
    def nbytes(self) -> int:
        """Bytes of the kept moments (arrays plus estimated per-moment overhead)."""
        return self._nbytes

    @property
    def threshold(self) -> int:
        """The current thinning level: archived steps are multiples of 2**threshold (plus
        epoch ends, the first moment and the recent tail)."""
        return self._threshold

    def moments(self) -> list[int]:
        """The steps of the recorded moments, increasing."""
        with self._lock:
            return self._steps + [m.step for m, _ in self._recent]

    def all(self) -> list[Moment]:
        """Every kept moment, oldest first (the moments themselves are immutable)."""
        with self._lock:
            return self._all_unlocked()

    def at(self, index: int) -> Moment:
        """The ``index``-th kept moment (negative counts from the end)."""
        with self._lock:
            n_archive = len(self._moments)
            n = n_archive + len(self._recent)
            i = int(index)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError(f"timeline index {index} out of range ({n} moments)")
            return self._moments[i] if i < n_archive else self._recent[i - n_archive][0]

    def index_of(self, step: int) -> int:
        """Index of the moment nearest to ``step`` (the earlier one on a tie)."""
        steps = self.moments()
        if not steps:
            raise IndexError("the timeline is empty")
        i = bisect.bisect_left(steps, int(step))
        if i == len(steps):
            return i - 1
        if i > 0 and step - steps[i - 1] <= steps[i] - step:
            return i - 1
        return i

    def nearest(self, step: int) -> Moment:
        """The recorded moment nearest to ``step``."""
        with self._lock:
            moments = self._all_unlocked()
        if not moments:
            raise IndexError("the timeline is empty")
        steps = [m.step for m in moments]
        i = bisect.bisect_left(steps, int(step))
        if i == len(steps) or (i > 0 and step - steps[i - 1] <= steps[i] - step):
            i -= 1
        return moments[i]

    def first(self) -> Moment | None:
        """The first moment (normally step 0: the initial parameters w₀)."""
        with self._lock:
            return self._first_unlocked()

    def latest(self) -> Moment | None:
        with self._lock:
            if self._recent:
                return self._recent[-1][0]
            return self._moments[-1] if self._moments else None

    def evaluated_at(self, step: int) -> Evaluation | None:
        """The newest validation accuracy known at ``step``, with the epoch (and step) it
        was measured at: a moment in epoch 5 shows epoch 4's figure, and a caption must
        say so (walk-through S)."""
        best = None
        for m in self.all():
            if m.step > step:
                break
            if m.accuracy is not None:
                best = Evaluation(m.epoch, m.step, m.accuracy)
        return best

    def accuracy_at(self, step: int) -> float | None:
        """The newest validation accuracy known at ``step`` (from the kept epoch ends)."""
        best = None
        for m in self.all():
            if m.step > step:
                break
            if m.accuracy is not None:
                best = m.accuracy
        return best

    # -- session files -------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The timeline as named numpy arrays plus a JSON-able dict (no pickle needed).

        Arrays: ``steps``, ``epochs``, ``levels`` (int64), ``losses``, ``accuracies``,
        ``valid_losses`` (float64, NaN = unknown), ``epoch_end`` (bool), one stacked
        ``params/NAME`` (moments, *shape) per parameter and, when any moment has one,
        ``last_update/NAME`` with ``has_last_update`` (bool).
        """
        with self._lock:
            entries = list(zip(self._moments, self._levels, strict=True)) + list(self._recent)
            meta: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "budget_bytes": self._budget,
                "threshold": self._threshold,
                "recent": self._recent_wanted,
                "recent_capacity": self._recent_cap,
                "recent_count": len(self._recent),
                "last_epoch_end_step": self._last_epoch_end_step,
            }
        moments = [m for m, _ in entries]
        names = list(moments[0].params) if moments else []
        meta["param_names"] = names
        arrays: dict[str, np.ndarray] = {
            "steps": np.array([m.step for m in moments], dtype=np.int64),
            "epochs": np.array([m.epoch for m in moments], dtype=np.int64),
            "levels": np.array([lv for _, lv in entries], dtype=np.int64),
            "losses": np.array([m.loss for m in moments], dtype=np.float64),
            "accuracies": np.array(
                [math.nan if m.accuracy is None else m.accuracy for m in moments], np.float64
            ),
            "valid_losses": np.array(
                [math.nan if m.valid_loss is None else m.valid_loss for m in moments],
                np.float64,
            ),
            "epoch_end": np.array([m.epoch_end for m in moments], dtype=bool),
        }
        for name in names:
            arrays[f"params/{name}"] = np.stack([m.params[name] for m in moments])
        has_update = np.array([m.last_update is not None for m in moments], dtype=bool)
        if has_update.any():
            arrays["has_last_update"] = has_update
            for name in names:
                template = moments[0].params[name]
                arrays[f"last_update/{name}"] = np.stack(
                    [
                        m.last_update[name] if m.last_update is not None
                        else np.zeros_like(template)
                        for m in moments
                    ]
                )
        return arrays, meta

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        meta: Mapping[str, Any],
        budget_bytes: int | None = None,
    ) -> Timeline:
        """Rebuild a timeline written by :meth:`to_arrays`.

        Everything is checked (names, lengths, shapes, dtypes, increasing steps, finite
        parameters): a damaged or hostile file raises :class:`ParamFileError` naming the
        problem.
        """

        def bad(why: str) -> ParamFileError:
            return ParamFileError(f"the session's timeline is damaged: {why}")

        if not isinstance(meta, Mapping) or meta.get("format") != FORMAT:
            raise bad("it is not a biasviz timeline")
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise bad(f"unsupported timeline version {version!r} (this biasviz reads "
                      f"{FORMAT_VERSION})")
        names = meta.get("param_names")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise bad("no list of parameter names")
        if len(set(names)) != len(names):
            raise bad("a parameter name appears twice")

        def get(key: str, kinds: str) -> np.ndarray:
            if key not in arrays:
                raise bad(f"the array {key!r} is missing")
            a = np.asarray(arrays[key])
            if a.dtype.kind not in kinds:
                raise bad(f"{key!r} has the wrong type ({a.dtype})")
            return a

        steps = get("steps", "iu")
        n = steps.shape[0] if steps.ndim == 1 else -1
        if n < 0:
            raise bad("'steps' is not a list")
        if n > MAX_MOMENTS:
            raise bad(f"{n:,} moments is more than the {MAX_MOMENTS:,} allowed")
        columns = {}
        for key, kinds in (("epochs", "iu"), ("levels", "iu"), ("losses", "fiu"),
                           ("accuracies", "fiu"), ("valid_losses", "fiu"), ("epoch_end", "b")):
            a = get(key, kinds)
            if a.shape != (n,):
                raise bad(f"{key!r} has shape {a.shape}, expected ({n},)")
            columns[key] = a
        if n and (steps.min() < 0 or np.any(np.diff(steps) <= 0)):
            raise bad("the steps are not increasing")
        if n and columns["epochs"].min() < 0:
            raise bad("a negative epoch")
        if n and (columns["levels"].min() < 0 or columns["levels"].max() > _PROTECTED):
            raise bad("a thinning level out of range")
        accuracies = columns["accuracies"]
        if np.any((accuracies < 0) | (accuracies > 1)):  # NaN compares false: unknown is fine
            raise bad("an accuracy outside [0, 1]")
        if n == 0 and names:
            raise bad("parameter names but no moments")
        params = {}
        for name in names:
            a = get(f"params/{name}", "f")
            if a.ndim < 1 or a.shape[0] != n:
                raise bad(f"'params/{name}' does not hold one array per moment")
            if not np.all(np.isfinite(a)):
                raise bad(f"'params/{name}' contains NaN or infinite values")
            params[name] = a
        extra = [k for k in arrays if k.startswith("params/") and k[7:] not in params]
        if extra:
            raise bad(f"unexpected array {extra[0]!r}")
        updates: dict[str, np.ndarray] | None = None
        has_update = None
        if "has_last_update" in arrays:
            has_update = get("has_last_update", "b")
            if has_update.shape != (n,):
                raise bad("'has_last_update' does not hold one flag per moment")
            updates = {}
            for name in names:
                a = get(f"last_update/{name}", "f")
                if a.shape != params[name].shape:
                    raise bad(f"'last_update/{name}' does not match its parameter's shape")
                if not np.all(np.isfinite(a)):
                    raise bad(f"'last_update/{name}' contains NaN or infinite values")
                updates[name] = a
        recent_count = meta.get("recent_count", 0)
        if not isinstance(recent_count, int) or not 0 <= recent_count <= n:
            raise bad("the count of recent moments is out of range")
        budget = meta.get("budget_bytes") if budget_bytes is None else budget_bytes
        if not isinstance(budget, int) or budget <= 0:
            raise bad("no valid memory budget")
        recent = meta.get("recent", RECENT_MOMENTS)
        if not isinstance(recent, int) or recent < 1:
            recent = RECENT_MOMENTS
        threshold = meta.get("threshold", 0)
        if not isinstance(threshold, int) or not 0 <= threshold <= 64:
            raise bad("the thinning level is out of range")

        timeline = cls(budget, recent=recent)
        moments: list[tuple[Moment, int]] = []
        for i in range(n):
            acc = float(columns["accuracies"][i])
            vloss = float(columns["valid_losses"][i])
            last = None
            if updates is not None and has_update is not None and has_update[i]:
                last = _frozen_arrays({k: v[i] for k, v in updates.items()}, copy=True)
            moments.append((
                Moment(
                    step=int(steps[i]),
                    epoch=int(columns["epochs"][i]),
                    loss=float(columns["losses"][i]),
                    accuracy=None if math.isnan(acc) else acc,
                    valid_loss=None if math.isnan(vloss) else vloss,
                    epoch_end=bool(columns["epoch_end"][i]),
                    params=_frozen_arrays({k: v[i] for k, v in params.items()}, copy=True),
                    last_update=last,
                ),
                int(columns["levels"][i]),
            ))
        if moments:
            moments[0] = (moments[0][0], _PROTECTED)  # w₀ is never thinned away
        split = n - recent_count
        timeline._steps = [m.step for m, _ in moments[:split]]
        timeline._moments = [m for m, _ in moments[:split]]
        timeline._levels = [lv for _, lv in moments[:split]]
        timeline._recent = deque(moments[split:])
        timeline._nbytes = sum(m.nbytes for m, _ in moments)
        timeline._threshold = threshold
        timeline._first_done = n > 0
        if n:
            timeline._shapes = {k: a.shape for k, a in moments[0][0].params.items()}
        if n:
            per = moments[0][0].nbytes
            timeline._recent_cap = max(1, min(recent, budget // (8 * per)), recent_count)
            ends = [m.step for m, _ in moments if m.epoch_end]
            timeline._last_epoch_end_step = ends[-1] if ends else moments[0][0].step
        if timeline._nbytes > timeline._budget:
            timeline._thin()
        return timeline
