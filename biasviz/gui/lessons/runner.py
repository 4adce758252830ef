"""Runs :func:`train_together` on a QThread and feeds a lesson at a bounded rate.

A lesson hands a :class:`SideBySideRunner` its trainers; the runner trains them in
lockstep off the GUI thread and sends what happened as plain Python objects:

- ``progress(list[StepsTogether], tuple[Snapshot, ...])`` at most ``max_rate`` times a
  second (about 20): every round since the last update, and each model's parameters now,
- ``epochDone(EpochsTogether, tuple[Snapshot, ...])`` at once, after each epoch,
- ``modelEnded(int, TrainingEnded)`` at once, when one model diverges,
- ``ended(AllEnded, tuple[Snapshot, ...])`` when the run is over (finished or stopped),
- ``failed(str, str)`` if an exception escaped (message, traceback),
- ``finished()`` once the thread has stopped.

Steps are never dropped, only batched: the lesson sees every round.  Snapshots are
copies, safe to keep.  :meth:`SideBySideRunner.stop` asks the run to stop and waits for
the thread; :meth:`SideBySideRunner.cancel` also drops the updates still on their way
(for Reset and new data).  Both are safe to call any number of times, running or not.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

DEFAULT_RATE = 20.0  # updates a second

#: Paces a lesson offers: (label, seconds to wait after each batch).  The sample's
#: tasks train in a blink at full speed, too fast to watch, so lessons start slow.
SPEEDS: tuple[tuple[str, float], ...] = (
    ("Slow (5 steps/s)", 0.2),
    ("Medium (20 steps/s)", 0.05),
    ("Full speed", 0.0),
)
DEFAULT_SPEED = 1  # index into SPEEDS


class _LockstepWorker(QObject):
    """Iterates ``train_together``; its ``run`` is called by a :class:`_LockstepThread`.

    Its signals are emitted from that thread and so are queued to receivers living in
    the GUI thread.
    """

    progress = Signal(object, object)
    epochDone = Signal(object, object)
    modelEnded = Signal(int, object)
    ended = Signal(object, object)
    failed = Signal(str, str)

    def __init__(self, trainers: Sequence[Any], epochs: int, control: Any, max_rate: float):
        super().__init__()
        self.trainers = list(trainers)
        self.epochs = int(epochs)
        self.control = control
        self.min_interval = 1.0 / max(float(max_rate), 1e-3)
        self.emitted = 0

    def _snapshots(self) -> tuple:
        return tuple(t.snapshot() for t in self.trainers)

    def _flush(self, pending: list) -> None:
        if pending:
            self.emitted += 1
            self.progress.emit(list(pending), self._snapshots())
            pending.clear()

    def run(self) -> None:
        # Imported here: lessons must be importable before torch is loaded.
        from biasviz.core.side_by_side import (
            AllEnded,
            EpochsTogether,
            ModelEnded,
            StepsTogether,
            train_together,
        )
        from biasviz.core.training import Paused

        pending: list = []
        last = 0.0
        try:
            for event in train_together(self.trainers, self.epochs, self.control):
                if isinstance(event, StepsTogether):
                    pending.append(event)
                    now = time.monotonic()
                    if now - last >= self.min_interval:
                        self._flush(pending)
                        last = now
                elif isinstance(event, EpochsTogether):
                    self._flush(pending)
                    self.epochDone.emit(event, self._snapshots())
                elif isinstance(event, ModelEnded):
                    self._flush(pending)
                    self.modelEnded.emit(event.index, event.ended)
                elif isinstance(event, Paused):
                    self._flush(pending)
                elif isinstance(event, AllEnded):
                    self._flush(pending)
                    self.ended.emit(event, self._snapshots())
        except Exception as exc:  # noqa: BLE001 - must reach the user, not kill the thread
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())


class _LockstepThread(QThread):
    """Runs one worker in ``run`` itself, with no event loop: the thread ends as soon
    as the work does, so ``wait()`` from the GUI thread never depends on a queued
    ``quit`` that the blocked GUI thread could not deliver."""

    def __init__(self, worker: _LockstepWorker):
        super().__init__()
        self.worker = worker

    def run(self) -> None:
        self.worker.run()


class SideBySideRunner(QObject):
    """Starts, stops and reports lockstep runs for a lesson (one run at a time)."""

    progress = Signal(object, object)
    epochDone = Signal(object, object)
    modelEnded = Signal(int, object)
    ended = Signal(object, object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None, max_rate: float = DEFAULT_RATE):
        super().__init__(parent)
        self.max_rate = float(max_rate)
        self._thread: _LockstepThread | None = None
        self._worker: _LockstepWorker | None = None
        self._control: Any = None
        self._live: _LockstepWorker | None = None  # the run whose updates are delivered
        self._orphans: list[tuple[_LockstepThread, _LockstepWorker | None]] = []

    # -- state ---------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def thread_object(self) -> _LockstepThread | None:
        """The QThread of the latest run (None before the first): for tests."""
        return self._thread

    def updates_sent(self) -> int:
        """Progress updates sent by the latest run (for tests of the throttle)."""
        return self._worker.emitted if self._worker is not None else 0

    # -- commands --------------------------------------------------------------------------
    def start(self, trainers: Sequence[Any], epochs: int, delay: float = 0.0) -> None:
        """Train ``trainers`` together for ``epochs`` more epochs, waiting ``delay``
        seconds after each batch (slow motion).  Cancels a previous run first."""
        from biasviz.core.training import TrainingControl

        self.cancel()
        control = TrainingControl()
        control.set_delay(delay)
        worker = _LockstepWorker(trainers, epochs, control, self.max_rate)
        thread = _LockstepThread(worker)
        # Queued into this (GUI) thread, in order; the slots drop what a cancelled run
        # still had in the queue.
        worker.progress.connect(self._on_progress)
        worker.epochDone.connect(self._on_epoch)
        worker.modelEnded.connect(self._on_model_ended)
        worker.ended.connect(self._on_ended)
        worker.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._control, self._worker, self._thread = control, worker, thread
        self._live = worker
        thread.start()

    def set_delay(self, seconds: float) -> None:
        """Change the slow-motion pause between batches of the current run."""
        if self._control is not None:
            self._control.set_delay(seconds)

    def request_stop(self) -> None:
        """Ask the run to stop at the next batch boundary, without waiting.  Its last
        updates and ``ended`` (reason "stopped") still arrive."""
        if self._control is not None:
            self._control.stop()

    def stop(self, wait_ms: int = 10_000) -> bool:
        """Ask the run to stop and wait for its thread; True when no thread is left
        running.  Updates already queued still arrive.  Idempotent."""
        self.request_stop()
        thread = self._thread
        if thread is None:
            return True
        if thread.isRunning():
            thread.wait(wait_ms)
        if thread.isRunning():  # never drop a running QThread: keep it until it ends
            self._orphans.append((thread, self._worker))
        return not thread.isRunning()

    def cancel(self, wait_ms: int = 10_000) -> bool:
        """Stop and wait like :meth:`stop`, and drop every update of that run that has
        not been delivered yet (for Reset, a new task, closing the lesson)."""
        self._live = None
        return self.stop(wait_ms)

    # -- delivery (GUI thread) ---------------------------------------------------------------
    def _current(self) -> bool:
        return self._live is not None and self.sender() is self._live

    @Slot(object, object)
    def _on_progress(self, rounds, snapshots) -> None:
        if self._current():
            self.progress.emit(rounds, snapshots)

    @Slot(object, object)
    def _on_epoch(self, epochs, snapshots) -> None:
        if self._current():
            self.epochDone.emit(epochs, snapshots)

    @Slot(int, object)
    def _on_model_ended(self, index, ended) -> None:
        if self._current():
            self.modelEnded.emit(index, ended)

    @Slot(object, object)
    def _on_ended(self, ends, snapshots) -> None:
        if self._current():
            self.ended.emit(ends, snapshots)

    @Slot(str, str)
    def _on_failed(self, message, details) -> None:
        if self._current():
            self.failed.emit(message, details)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._orphans = [(t, w) for t, w in self._orphans if t.isRunning()]
        if self.sender() is self._thread:
            self.finished.emit()
