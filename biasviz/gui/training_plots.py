"""Live training curves: loss per step (raw and smoothed), validation loss and accuracy
per epoch.  Plot items are made once; updates call ``setData`` on bounded buffers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from biasviz.core.history import BoundedSeries

RAW_PEN = pg.mkPen((150, 150, 150), width=1)
SMOOTH_PEN = pg.mkPen((0, 114, 178), width=2)
VALID_LOSS_PEN = pg.mkPen((213, 94, 0), width=2)
ACC_PEN = pg.mkPen((0, 158, 115), width=2)
MARKER_LIMIT = 200  # draw a marker per epoch up to this many epochs


class TrainingPlots(QWidget):
    def __init__(self, parent: QWidget | None = None, capacity: int = 4096) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="Training loss per step")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.getAxis("left").enableAutoSIPrefix(False)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss_plot.addLegend(offset=(-10, 10))
        self.raw_curve = self.loss_plot.plot([], [], pen=RAW_PEN, name="each batch")
        self.smooth_curve = self.loss_plot.plot([], [], pen=SMOOTH_PEN, name="smoothed")
        self.valid_loss_curve = self.loss_plot.plot(
            [], [], pen=VALID_LOSS_PEN, symbol="o", symbolSize=5, symbolBrush=(213, 94, 0),
            name="validation (per epoch)",
        )
        self.loss_plot.setToolTip(
            "Loss after every batch (grey), a smoothed trend (blue) and the loss on the "
            "validation images after each epoch (orange). Going down = learning. A jumpy "
            "or rising curve means the learning rate is too high."
        )
        self.acc_plot = pg.PlotWidget(title="Validation accuracy per epoch")
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.setLabel("left", "accuracy (%)")
        self.acc_plot.showGrid(x=True, y=True, alpha=0.2)
        self.acc_plot.setYRange(0, 108, padding=0)
        self.acc_curve = self.acc_plot.plot(
            [], [], pen=ACC_PEN, symbol="o", symbolSize=6, symbolBrush=(0, 158, 115)
        )
        self.acc_text = pg.TextItem("", color=(0, 100, 70), anchor=(1, 1))
        self.acc_plot.addItem(self.acc_text)
        self.acc_plot.setToolTip(
            "Share of validation images (never used for training) that the model gets "
            "right, after each epoch. For two balanced classes, 50% is guessing."
        )
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.acc_plot, 2)
        self.steps = BoundedSeries(capacity)
        self.smoothed = BoundedSeries(capacity)
        self._avg = 0.0
        self._n_avg = 0
        # per epoch, kept in lockstep (same length, same decimation)
        self.valid_loss = BoundedSeries(capacity)  # x = step
        self.accuracy = BoundedSeries(capacity)  # x = epoch, y = %

    def clear(self) -> None:
        self.steps.clear()
        self.smoothed.clear()
        self._avg, self._n_avg = 0.0, 0
        self.valid_loss.clear()
        self.accuracy.clear()
        for curve in (self.raw_curve, self.smooth_curve, self.valid_loss_curve, self.acc_curve):
            curve.setData([], [])
        self.acc_text.setText("")

    def add_steps(self, steps: list) -> None:
        alpha = 0.1  # ~10-step memory: short runs on the sample are only 80-240 steps
        for s in steps:
            if not np.isfinite(s.loss):
                continue
            self.steps.append(s.step, s.loss)
            self._n_avg += 1
            self._avg = (1 - alpha) * self._avg + alpha * s.loss
            self.smoothed.append(s.step, self._avg / (1 - (1 - alpha) ** self._n_avg))
        self.raw_curve.setData(self.steps.x, self.steps.y)
        self.smooth_curve.setData(self.smoothed.x, self.smoothed.y)

    @property
    def epochs(self) -> list[tuple[int, int, float, float]]:
        """(epoch, step, validation loss, validation accuracy) of the epochs kept."""
        return [
            (int(e), int(st), float(vl), float(va))
            for e, st, vl, va in zip(
                self.accuracy.x, self.valid_loss.x, self.valid_loss.y, self.accuracy.y,
                strict=True,
            )
        ]

    def add_epochs(self, epochs: list) -> None:
        for m in epochs:
            self.valid_loss.append(m.step, m.valid_loss)
            self.accuracy.append(m.epoch, 100 * m.valid_accuracy)
        # markers help with a few epochs and only clutter (and slow) thousands
        few = len(self.accuracy) <= MARKER_LIMIT
        self.valid_loss_curve.setSymbol("o" if few else None)
        self.acc_curve.setSymbol("o" if few else None)
        self.valid_loss_curve.setData(self.valid_loss.x, self.valid_loss.y)
        self.acc_curve.setData(self.accuracy.x, self.accuracy.y)
        last = epochs[-1]
        self.acc_text.setText(f"{100 * last.valid_accuracy:.1f}%")
        self.acc_text.setPos(last.epoch, 100 * last.valid_accuracy)
