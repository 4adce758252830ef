"""Runs the core's training generator on a QThread and feeds the GUI at a bounded rate.

The worker iterates ``Trainer.run`` and batches what it sees: per-step metrics are
collected and sent together with a parameter snapshot at most ``max_rate`` times a
second, whatever the training speed; epoch ends, pauses and the end of training are
always sent at once.  Everything sent is a copy (numpy arrays, frozen dataclasses), never
a tensor that training mutates.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot


class TrainingWorker(QObject):
    """Iterates a trainer's run; lives in its own QThread.

    Signals carry plain Python objects:

    - ``progress(list[StepMetrics], Snapshot)``: the steps since the last update and the
      parameters now,
    - ``epochDone(EpochMetrics)``,
    - ``paused(Snapshot)``: training is waiting for Resume/Step,
    - ``ended(TrainingEnded, Snapshot)``,
    - ``failed(str, str)``: an exception escaped the loop (message, traceback text).
    """

    progress = Signal(object, object)
    epochDone = Signal(object)
    paused = Signal(object)
    ended = Signal(object, object)
    failed = Signal(str, str)
    done = Signal()

    def __init__(self, trainer: Any, epochs: int, control: Any, max_rate: float = 30.0):
        super().__init__()
        self.trainer = trainer
        self.epochs = epochs
        self.control = control
        self.min_interval = 1.0 / max_rate
        self.emitted = 0  # number of progress updates sent (for tests and benchmarks)

    @Slot()
    def run(self) -> None:
        # Imported here: this module must stay importable before torch is loaded.
        from biasviz.core.training import EpochMetrics, Paused, StepMetrics, TrainingEnded

        pending: list = []
        last_emit = 0.0
        try:
            for event in self.trainer.run(self.epochs, self.control):
                if isinstance(event, StepMetrics):
                    pending.append(event)
                    now = time.monotonic()
                    if now - last_emit >= self.min_interval:
                        self._flush(pending)
                        pending = []
                        last_emit = now
                elif isinstance(event, EpochMetrics):
                    if pending:
                        self._flush(pending)
                        pending = []
                        last_emit = time.monotonic()
                    self.epochDone.emit(event)
                elif isinstance(event, Paused):
                    if pending:
                        self._flush(pending)
                        pending = []
                    self.paused.emit(self.trainer.snapshot())
                elif isinstance(event, TrainingEnded):
                    if pending:
                        self._flush(pending)
                        pending = []
                    self.ended.emit(event, self.trainer.snapshot())
        except Exception as exc:  # noqa: BLE001 - anything must reach the user, not kill the app
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            self.done.emit()

    def _flush(self, steps: list) -> None:
        self.emitted += 1
        self.progress.emit(steps, self.trainer.snapshot())


class WorkerThread(QThread):
    """A QThread that runs one worker and reports when it is gone."""

    def __init__(self, worker: QObject, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        worker.moveToThread(self)
        self.started.connect(worker.run)
        # Direct: quit() is thread-safe, and a queued call would need the GUI thread
        # to spin its event loop -- which it does not do while it waits for us.
        worker.done.connect(self.quit, Qt.ConnectionType.DirectConnection)
