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
    - ``epochsDone(list[EpochMetrics])``: the epochs finished since the last update,
    - ``paused(Snapshot)``: training is waiting for Resume/Step,
    - ``ended(TrainingEnded, Snapshot)``,
    - ``failed(str, str)``: an exception escaped the loop (message, traceback text).
    """

    progress = Signal(object, object)
    epochsDone = Signal(object)
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

        steps: list = []
        epochs: list = []
        last_emit = 0.0
        try:
            for event in self.trainer.run(self.epochs, self.control):
                if isinstance(event, StepMetrics):
                    steps.append(event)
                elif isinstance(event, EpochMetrics):
                    # Batched like the steps: with one batch per epoch (a tiny dataset)
                    # epochs come as fast as steps.
                    epochs.append(event)
                elif isinstance(event, Paused):
                    self._flush(steps, epochs)
                    steps, epochs = [], []
                    self.paused.emit(self.trainer.snapshot())
                    continue
                elif isinstance(event, TrainingEnded):
                    self._flush(steps, epochs)
                    steps, epochs = [], []
                    self.ended.emit(event, self.trainer.snapshot())
                    continue
                now = time.monotonic()
                if now - last_emit >= self.min_interval:
                    self._flush(steps, epochs)
                    steps, epochs = [], []
                    last_emit = now
        except Exception as exc:  # noqa: BLE001 - anything must reach the user, not kill the app
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            self.done.emit()

    def _flush(self, steps: list, epochs: list) -> None:
        """One GUI update: the steps and epochs since the last one, and the parameters."""
        if not steps and not epochs:
            return
        self.emitted += 1
        if steps:
            self.progress.emit(steps, self.trainer.snapshot())
        if epochs:
            self.epochsDone.emit(epochs)


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
