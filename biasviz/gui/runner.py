"""The one background runner: every long job the app runs (training, lessons' side-by-side
training, dataset loading, importing torch) goes through :class:`Runner`.

A job is a plain function ``work(outbox) -> result`` that runs on a QThread.  It reports
with ``outbox.put(event, urgent=..., state=...)`` into a :class:`~biasviz.core.mailbox.Mailbox`:
events pile up there and the GUI is woken at most once at a time (backpressure: a slow
redraw can never build a queue), with the newest state.  The runner then emits

- ``updated(run_id, events, state)``: everything since the last update, and the newest
  state (or None when the job gave none),
- ``finished(run_id, result)`` once, after the last ``updated``, when ``work`` returned,
- ``failed(run_id, message, traceback)`` instead, when it raised.

Each start gets a new run id; :meth:`Runner.cancel` drops whatever the old run still has
on its way (for Reset, new data, a closed lesson).  Every runner is in a registry, and
:func:`stop_all_runners` stops and awaits them all in one call when the app quits.
"""

from __future__ import annotations

import itertools
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from biasviz.core.mailbox import Mailbox

DEFAULT_MIN_INTERVAL = 1 / 60  # no more wake-ups than a display could show

_run_ids = itertools.count(1)
_registry: weakref.WeakSet[Runner] = weakref.WeakSet()


class Outbox:
    """What a job's ``work`` function gets: report events, see whether to stop."""

    def __init__(self, mailbox: Mailbox, wake: Callable[[], None]) -> None:
        self._mailbox = mailbox
        self._wake = wake
        self._stop = threading.Event()
        self._state: Callable[[], Any] | None = None

    def put(self, event: Any = None, *, urgent: bool = False,
            state: Callable[[], Any] | None = None) -> None:
        if state is not None:
            self._state = state
        if self._mailbox.put(event, urgent=urgent, state=state):
            self._wake()

    def put_all(self, events: list, *, urgent: bool = False,
                state: Callable[[], Any] | None = None) -> None:
        """Several events at once (a batch that came from another process)."""
        if state is not None:
            self._state = state
        if self._mailbox.put_all(events, urgent=urgent, state=state):
            self._wake()

    def flush(self) -> None:
        """The job is over: its newest state goes out with whatever is left."""
        if self._state is not None:
            self._mailbox.put(None, urgent=True, state=self._state)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()


class _Job(QObject):
    """One run: its thread's messages to the GUI thread travel through these signals
    (emitted in the worker thread, queued to the runner)."""

    wake = Signal()
    done = Signal()

    def __init__(self, run_id: int, min_interval: float,
                 on_stop: Callable[[], None] | None) -> None:
        super().__init__()
        self.run_id = run_id
        self.mailbox = Mailbox(min_interval)
        self.outbox = Outbox(self.mailbox, self.wake.emit)
        self.on_stop = on_stop
        self.result: Any = None
        self.error: tuple[str, str] | None = None
        self.delivered = False


class _JobThread(QThread):
    """Runs ``work`` in ``run`` itself, with no event loop: the thread ends as soon as the
    work does, so ``wait()`` from the GUI thread never needs the GUI's event loop."""

    def __init__(self, job: _Job, work: Callable[[Outbox], Any], name: str) -> None:
        super().__init__()
        self.job = job
        self.work = work
        self.setObjectName(name)

    def run(self) -> None:
        job = self.job
        try:
            job.result = self.work(job.outbox)
            job.outbox.flush()
        except Exception as exc:  # noqa: BLE001 - anything must reach the user
            job.error = (f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            job.done.emit()


class Runner(QObject):
    """Runs one job at a time for its owner (a session, a lesson, a loader)."""

    updated = Signal(int, object, object)
    finished = Signal(int, object)
    failed = Signal(int, str, str)

    def __init__(self, parent: QObject | None = None, name: str = "biasviz-job") -> None:
        super().__init__(parent)
        self.name = name
        self._job: _Job | None = None
        self._thread: _JobThread | None = None
        self._live_id: int | None = None  # the run whose messages are delivered
        self._orphans: list[tuple[_JobThread, _Job]] = []  # threads that outlived a wait
        _registry.add(self)

    # -- state ---------------------------------------------------------------------------
    @property
    def run_id(self) -> int | None:
        """The id of the run being delivered (None when idle or cancelled)."""
        return self._live_id

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def thread_object(self) -> QThread | None:
        """The QThread of the latest run (for tests)."""
        return self._thread

    def wakeups(self) -> int:
        """Wake-ups of the latest run so far (for tests of the backpressure)."""
        return self._job.mailbox.wakeups if self._job is not None else 0

    # -- commands --------------------------------------------------------------------------
    def start(self, work: Callable[[Outbox], Any], *, on_stop: Callable[[], None] | None = None,
              min_interval: float = DEFAULT_MIN_INTERVAL) -> int:
        """Run ``work(outbox)`` on a new thread; cancels the previous run first.

        ``on_stop`` is called (from the GUI thread) when the run is asked to stop, for jobs
        that block somewhere the outbox cannot see (a paused training loop).

        The thread keeps the GUI thread's priority.  Jobs that relayed the training
        process' reports and computed a frame's numbers once ran at nice 10, to give way
        to the training: but such a thread takes the GIL, and preempted while it held it
        (two cores, the training process and the X server wanting both), it kept the GUI
        thread waiting 25-40 ms in a turn that needed 1 ms (priority inversion).  At the
        same priority, the chapter's run in a fresh window under Xvfb: longest GUI turn
        17-28 ms against 17-42, run 0.22-0.36 s against 0.25-0.44 s (6 runs each).
        """
        self.cancel()
        run_id = next(_run_ids)
        job = _Job(run_id, min_interval, on_stop)
        thread = _JobThread(job, work, self.name)
        job.wake.connect(self._on_wake)
        job.done.connect(self._on_done)
        self._job, self._thread, self._live_id = job, thread, run_id
        thread.start()
        return run_id

    def request_stop(self) -> None:
        """Ask the run to stop at its next chance, without waiting."""
        job = self._job
        if job is not None:
            job.outbox.request_stop()
            if job.on_stop is not None:
                job.on_stop()

    def stop(self, wait_ms: int = 10_000) -> bool:
        """Ask the run to stop and wait for its thread; then deliver what it had left.
        True when no thread is left running.  Idempotent."""
        self.request_stop()
        thread, job = self._thread, self._job
        if thread is None or job is None:
            return True
        if thread.isRunning():
            thread.wait(wait_ms)
        if thread.isRunning():  # never drop a running QThread: keep it until it ends
            self._orphans.append((thread, job))
            return False
        self._deliver_end(job)
        return True

    def cancel(self, wait_ms: int = 10_000) -> bool:
        """Stop and wait like :meth:`stop`, dropping every message of that run that has
        not been delivered yet."""
        self._live_id = None
        return self.stop(wait_ms)

    # -- delivery (GUI thread) ---------------------------------------------------------------
    def _deliver_updates(self, job: _Job) -> None:
        events, state = job.mailbox.take()
        if job.run_id == self._live_id and (events or state is not None):
            self.updated.emit(job.run_id, events, state)

    def _deliver_end(self, job: _Job) -> None:
        if job.delivered:
            return
        job.delivered = True
        self._deliver_updates(job)
        if job.run_id != self._live_id:
            return
        if job.error is not None:
            self.failed.emit(job.run_id, *job.error)
        else:
            self.finished.emit(job.run_id, job.result)

    @Slot()
    def _on_wake(self) -> None:
        job = self.sender()
        if isinstance(job, _Job) and not job.delivered:
            self._deliver_updates(job)

    @Slot()
    def _on_done(self) -> None:
        job = self.sender()
        self._orphans = [(t, j) for t, j in self._orphans if t.isRunning()]
        if isinstance(job, _Job):
            if self._thread is not None and self._thread.job is job:
                self._thread.wait(1000)  # `done` is its last act: ends at once
            self._deliver_end(job)


def stop_all_runners(wait_ms: int = 10_000) -> bool:
    """Stop every runner's job and wait for them (the app is quitting).  True when every
    thread is gone."""
    runners = list(_registry)
    for runner in runners:
        runner._live_id = None
        runner.request_stop()
    return all(runner.stop(wait_ms) for runner in runners)
