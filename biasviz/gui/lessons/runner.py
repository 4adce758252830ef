"""Runs :func:`train_together` on a QThread and feeds a lesson at a bounded rate.

A lesson hands a :class:`SideBySideRunner` its trainers; the runner trains them in
lockstep off the GUI thread and sends what happened as plain Python objects:

- ``progress(list[StepsTogether], tuple[Snapshot, ...])`` at most ``max_rate`` times a
  second (about 20), and never while the previous update is still being drawn
  (backpressure): every round since the last update, and each model's parameters now,
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

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from biasviz.gui.runner import Outbox, Runner

DEFAULT_RATE = 20.0  # updates a second

#: Paces a lesson offers: (label, seconds to wait after each batch).  The sample's
#: tasks train in a blink at full speed, too fast to watch, so lessons start slow.
SPEEDS: tuple[tuple[str, float], ...] = (
    ("Slow (5 steps/s)", 0.2),
    ("Medium (20 steps/s)", 0.05),
    ("Full speed", 0.0),
)
DEFAULT_SPEED = 1  # index into SPEEDS


class SideBySideRunner(QObject):
    """Starts, stops and reports lockstep runs for a lesson (one run at a time), on the
    app's one background :class:`~biasviz.gui.runner.Runner`."""

    progress = Signal(object, object)
    epochDone = Signal(object, object)
    modelEnded = Signal(int, object)
    ended = Signal(object, object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None, max_rate: float = DEFAULT_RATE):
        super().__init__(parent)
        self.max_rate = float(max_rate)
        self._runner = Runner(self, "biasviz-lesson")
        self._runner.updated.connect(self._on_updated)
        self._runner.finished.connect(lambda _rid, _r: self.finished.emit())
        self._runner.failed.connect(self._on_failed)
        self._control: Any = None

    # -- state ---------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._runner.is_running()

    def thread_object(self) -> QThread | None:
        """The QThread of the latest run (None before the first): for tests."""
        return self._runner.thread_object()

    def updates_sent(self) -> int:
        """Progress updates sent by the latest run (for tests of the throttle)."""
        return self._runner.wakeups()

    # -- commands --------------------------------------------------------------------------
    def start(self, trainers: Sequence[Any], epochs: int, delay: float = 0.0) -> None:
        """Train ``trainers`` together for ``epochs`` more epochs, waiting ``delay``
        seconds after each batch (slow motion).  Cancels a previous run first."""
        from biasviz.core.train_loop import TrainingControl

        self.cancel()
        control = TrainingControl()
        control.set_delay(delay)
        trainers = list(trainers)
        epochs = int(epochs)

        def snapshots() -> tuple:
            return tuple(t.snapshot() for t in trainers)

        def work(out: Outbox) -> None:
            # Imported here: lessons must be importable before torch is loaded.
            from biasviz.core.side_by_side import StepsTogether, train_together

            for event in train_together(trainers, epochs, control):
                out.put(event, urgent=not isinstance(event, StepsTogether), state=snapshots)

        self._control = control
        self._runner.start(work, on_stop=control.stop, min_interval=1.0 / self.max_rate)

    def set_delay(self, seconds: float) -> None:
        """Change the slow-motion pause between batches of the current run."""
        if self._control is not None:
            self._control.set_delay(seconds)

    def request_stop(self) -> None:
        """Ask the run to stop at the next batch boundary, without waiting.  Its last
        updates and ``ended`` (reason "stopped") still arrive."""
        self._runner.request_stop()

    def stop(self, wait_ms: int = 10_000) -> bool:
        """Ask the run to stop and wait for its thread; True when no thread is left
        running.  What the run had left is delivered.  Idempotent."""
        return self._runner.stop(wait_ms)

    def cancel(self, wait_ms: int = 10_000) -> bool:
        """Stop and wait like :meth:`stop`, and drop every update of that run that has
        not been delivered yet (for Reset, a new task, closing the lesson)."""
        return self._runner.cancel(wait_ms)

    # -- delivery (GUI thread) ---------------------------------------------------------------
    def _on_updated(self, _rid: int, events: list, snapshots: Any) -> None:
        """Split what piled up into the lesson's signals, in order: the rounds since the
        previous epoch/end event go out as one ``progress``."""
        from biasviz.core.side_by_side import AllEnded, EpochsTogether, ModelEnded, StepsTogether

        rounds: list = []
        for event in events:
            if isinstance(event, StepsTogether):
                rounds.append(event)
                continue
            if rounds:
                self.progress.emit(rounds, snapshots)
                rounds = []
            if isinstance(event, EpochsTogether):
                self.epochDone.emit(event, snapshots)
            elif isinstance(event, ModelEnded):
                self.modelEnded.emit(event.index, event.ended)
            elif isinstance(event, AllEnded):
                self.ended.emit(event, snapshots)
        if rounds:
            self.progress.emit(rounds, snapshots)

    def _on_failed(self, _rid: int, message: str, details: str) -> None:
        self.failed.emit(message, details)
