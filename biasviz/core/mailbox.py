"""Backpressure between a worker thread and a display, without Qt.

A worker produces events far faster than a window can draw them (the chapter's neuron
runs thousands of steps a second).  Pushing every event, or pushing at a fixed rate,
builds a queue as soon as one redraw costs more than the push interval.  Instead:

* the worker :meth:`Mailbox.put`\\ s every event into a :class:`Mailbox`; events pile up
  there (nothing is dropped: the plots want every step), and the newest state replaces
  the previous one (newest wins);
* a wake-up is sent only when the mailbox goes from "taken" to "has news": at most one
  is ever in flight, whatever the two sides' speeds;
* the display :meth:`Mailbox.take`\\ s everything at once when it gets to it.

:class:`FrameBudget` decides when the display should draw again so that painting stays a
minority of the GUI thread's time (the GUI thread holds the GIL while it paints, and the
worker needs it too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class Mailbox:
    """Thread-safe: one producer (the worker), one consumer (the GUI thread)."""

    def __init__(self, min_interval: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._events: list[Any] = []
        self._state: Any = None
        self._has_state = False
        self._awaiting_take = False  # a wake-up was sent and not yet answered by take()
        self._last_publish = -float("inf")
        self.min_interval = float(min_interval)
        self._clock = clock
        self.wakeups = 0  # wake-ups asked for (tests and benchmarks)

    def put(
        self, event: Any = None, *, urgent: bool = False, state: Callable[[], Any] | None = None
    ) -> bool:
        """Add ``event`` (if not None).  Returns True when the caller must wake the
        consumer: only when none is pending, and (unless ``urgent``) no sooner than
        ``min_interval`` after the last wake-up.

        ``state`` is called (in the producer's thread) only when a wake-up goes out, so
        that an expensive snapshot is made at most once per frame, not once per event.
        """
        return self.put_all(() if event is None else (event,), urgent=urgent, state=state)

    def put_all(self, events: Any, *, urgent: bool = False,
                state: Callable[[], Any] | None = None) -> bool:
        """:meth:`put` for several events at once (one lock, one decision)."""
        with self._lock:
            self._events.extend(events)
            if self._awaiting_take:
                # The consumer has not taken the last batch yet: keep piling up, but
                # refresh the state on urgent events so that it is the newest when taken.
                if urgent and state is not None:
                    self._state, self._has_state = state(), True
                return False
            now = self._clock()
            if not urgent and now - self._last_publish < self.min_interval:
                return False
            if not self._events and not urgent:
                return False
            if state is not None:
                self._state, self._has_state = state(), True
            self._awaiting_take = True
            self._last_publish = now
            self.wakeups += 1
            return True

    def take(self) -> tuple[list[Any], Any]:
        """Everything since the last take, and the newest state (None if none)."""
        with self._lock:
            events, self._events = self._events, []
            state = self._state if self._has_state else None
            self._state, self._has_state = None, False
            self._awaiting_take = False
            return events, state

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._events)


def rest_for_share(cost: float, share: float) -> float:
    """How long to rest after work that took ``cost`` seconds, for the work to take
    ``share`` of the time: ``cost * (1 - share) / share``."""
    return max(0.0, float(cost)) * (1.0 - share) / share


class FrameBudget:
    """When to draw next so that drawing takes at most ``max_share`` of the time.

    After a refresh that cost ``c`` seconds, the next one waits at least
    ``c * (1 - share) / share`` (40 ms of painting at share 0.5 → wait 40 ms), and never
    less than ``min_interval`` (the display's frame period).
    """

    def __init__(self, min_interval: float = 1 / 30, max_share: float = 0.5,
                 max_interval: float = 1.0) -> None:
        if not 0 < max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        self.min_interval = float(min_interval)
        self.max_share = float(max_share)
        self.max_interval = float(max_interval)
        self.last_cost = 0.0

    def next_interval(self, cost: float) -> float:
        """Seconds to wait before the next refresh, given the last one's cost."""
        self.last_cost = max(0.0, float(cost))
        rest = rest_for_share(self.last_cost, self.max_share)
        return min(self.max_interval, max(self.min_interval, rest))


class RunPace:
    """When a run will end, at its pace so far: a frame drawn just before the end is
    replaced by the run's final views at once, and drawing it takes the cores the run
    needs (the chapter's whole run is ~0.08 s: its one frame, 20-70 ms of painting,
    made it ~1.5× longer in the window).  Skips stop after ``patience`` seconds, in case
    the pace was wrong (a run that stalls still gets its frames)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 patience: float = 0.25, settle: float = 0.03) -> None:
        self._clock = clock
        self.patience = float(patience)
        # no pace before this much of the run (its first step came before any slow
        # motion's first wait: 1 step in 5 ms said "the 8 steps end in 35 ms")
        self.settle = float(settle)
        self._start: tuple[float, int] | None = None
        self._end_step: int | None = None
        self._skipping_since: float | None = None
        self._heard: tuple[float, int] | None = None  # the newest step and when

    def started(self, step: int, end_step: int | None) -> None:
        """A run (or its resumption) starts at ``step``, to end at ``end_step``."""
        self._start = (self._clock(), int(step))
        self._end_step = None if end_step is None else int(end_step)
        self._skipping_since = None
        self._heard = None

    def heard(self, step: int) -> None:
        """The run reported ``step`` just now.  The pace is the one up to the newest
        report, and the time since then counts as done: a frame drawn 40 ms after a
        report, reading that report's step, took "400 steps in 92 ms" for the pace
        (they were done in 47) and drew a frame 25 ms before the end."""
        newest = self._heard[1] if self._heard is not None else None
        if self._start is not None and int(step) > (newest or self._start[1]):
            self._heard = (self._clock(), int(step))

    def seconds_left(self, step: int) -> float | None:
        """Seconds until the end step, at the pace from the start to the newest step
        heard (or ``step``, when newer); None before any step is done, in the run's
        first ``settle`` seconds, or without an end."""
        if self._start is None or self._end_step is None:
            return None
        t0, step0 = self._start
        now = self._clock()
        at, last = self._heard if self._heard is not None and self._heard[1] >= int(step) \
            else (now, int(step))
        done, elapsed = last - step0, at - t0
        if done <= 0 or elapsed < max(self.settle, 1e-9):
            return None
        return max(0.0, max(0, self._end_step - last) * elapsed / done - (now - at))

    def skip_frame(self, step: int, within: float) -> bool:
        """Skip a frame at ``step``: the run ends within ``within`` seconds (and frames
        have not been skipped for ``patience`` already)."""
        left = self.seconds_left(step)
        now = self._clock()
        if left is None or left > within:
            self._skipping_since = None
            return False
        if self._skipping_since is None:
            self._skipping_since = now
        return now - self._skipping_since <= self.patience
