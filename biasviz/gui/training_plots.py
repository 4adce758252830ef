"""Live training curves: loss per step (raw and smoothed), validation loss and accuracy
per epoch.  Plot items are made once; updates call ``setData`` on bounded buffers."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from biasviz.core.history import TrainingHistory, smooth
from biasviz.gui.plot_style import (
    FINE_STEPS,
    KeyEntry,
    PlotKey,
    cache_axes,
    draw_what_fits,
    fit_percent_axis,
    nice_ceiling,
)

# One-pixel lines: Qt draws an antialiased 1 px line directly, and strokes any other width
# into a polygon first; the two plots' curves at width 2 took 10 ms a paint for 9,800
# steps, at width 1 1.1 ms (benchmarks: a frame's paint while training).  The raw batch
# losses are light and the smoothed curve dark (contrast 4.4:1 between them, was 2.8) and
# drawn over them: when the loss is flat (a tiny learning rate, a saturated neuron) the
# batches' zigzag runs along the trend, and a lighter blue sank into the grey band.
RAW_COLOR, SMOOTH_COLOR = (190, 190, 190), (0, 80, 150)
VALID_COLOR, ACC_COLOR, PINNED_COLOR = (213, 94, 0), (0, 150, 110), (120, 120, 120)
RAW_PEN = pg.mkPen(RAW_COLOR, width=1)
SMOOTH_PEN = pg.mkPen(SMOOTH_COLOR, width=1)
VALID_LOSS_PEN = pg.mkPen(VALID_COLOR, width=1)
ACC_PEN = pg.mkPen(ACC_COLOR, width=1)
PINNED_LOSS_PEN = pg.mkPen(PINNED_COLOR, width=1, style=Qt.PenStyle.DashLine)
PINNED_ACC_PEN = pg.mkPen(PINNED_COLOR, width=1, style=Qt.PenStyle.DashLine)
# On a projector (presentation mode) lines are drawn wider, the raw losses half as wide.
_PROJECTOR_WEIGHT = {"raw": 0.5, "smooth": 1.0, "valid": 1.0, "acc": 1.0}
MARKER_LIMIT = 200  # draw a marker per epoch up to this many epochs
LOG_SPREAD = 100.0  # the loss axis goes logarithmic past this × the recent typical loss
# Stacking, bottom to top: the batches, a pinned run's curves (added later, they were
# drawn over the trend where the runs agree), the smoothed trend, the validation points.
RAW_Z, PINNED_Z, SMOOTH_Z, VALID_Z = 0, 1, 2, 3

LOSS_TITLES = ("Training loss per step", "Training loss", "Loss")
RAW_KEY = KeyEntry("each batch", "batch", RAW_COLOR, "──")
SMOOTH_KEY = KeyEntry("smoothed", "smoothed", SMOOTH_COLOR)
VALID_KEY = KeyEntry("validation (per epoch)", "validation", VALID_COLOR, "━●━")
LOSS_KEY = (RAW_KEY, SMOOTH_KEY, VALID_KEY)
PINNED_SAMPLE = "╍╍"


def _acc_titles(last: tuple[float, float] | None) -> tuple[str, ...]:
    """The accuracy plot's title forms, with the last epoch's accuracy when there is one."""
    if last is None:
        return ("Validation accuracy per epoch", "Validation accuracy", "Accuracy")
    epoch, acc = last
    value = f"<b>{100 * acc:.1f}%</b>"
    return (f"Validation accuracy per epoch: {value} after epoch {int(epoch)}",
            f"Validation accuracy: {value} after epoch {int(epoch)}",
            f"Validation accuracy: {value}", f"Accuracy {value}")


def _log_trend(losses: np.ndarray) -> np.ndarray:
    """The smoothed loss for a logarithmic axis: the history's moving average, of the
    logarithm (a geometric mean), so that a spike does not drag the trend for steps."""
    y = np.asarray(losses, dtype=np.float64)
    ok = np.isfinite(y) & (y > 0)
    out = np.full(y.shape, np.nan)
    if ok.any():
        out[ok] = np.exp(smooth(np.log(y[ok]), TrainingHistory.SMOOTHING))
    return out


class TrainingPlots(QWidget):
    def __init__(self, parent: QWidget | None = None, capacity: int = 4096) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.raw_curve = self.loss_plot.plot([], [], pen=RAW_PEN)
        self.smooth_curve = self.loss_plot.plot([], [], pen=SMOOTH_PEN)
        for curve in (self.raw_curve, self.smooth_curve):  # long runs: what fits the pixels
            draw_what_fits(curve)
        self.valid_loss_curve = self.loss_plot.plot(
            [], [], pen=VALID_LOSS_PEN, symbol="o", symbolSize=5, symbolBrush=VALID_COLOR,
        )
        for curve, z in ((self.raw_curve, RAW_Z), (self.smooth_curve, SMOOTH_Z),
                         (self.valid_loss_curve, VALID_Z)):
            curve.setZValue(z)
        # the curves' key in the title row, outside the data: a legend in the view box hid
        # the curves of a short plot (walk-through S)
        self.loss_key = PlotKey(self.loss_plot, LOSS_TITLES)
        self.loss_key.set_entries(LOSS_KEY)
        self.loss_plot.setToolTip(
            "Loss after every batch (grey), a smoothed trend (blue) and the loss on the "
            "validation images after each epoch (orange). Going down = learning. A jumpy "
            "or rising curve means the learning rate is too high."
        )
        self.acc_plot = pg.PlotWidget()
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.setLabel("left", "accuracy (%)")
        self.acc_plot.showGrid(x=True, y=True, alpha=0.2)
        self._fit_accuracy_range()
        self.acc_plot.getPlotItem().vb.sigResized.connect(self._fit_accuracy_range)
        self.acc_curve = self.acc_plot.plot(
            [], [], pen=ACC_PEN, symbol="o", symbolSize=6, symbolBrush=ACC_COLOR
        )
        self.acc_curve.setZValue(VALID_Z)  # over a pinned run's accuracy
        # the latest accuracy is written in the title row: drawn beside the last point it
        # sat on the curve (walk-through S)
        self.acc_key = PlotKey(self.acc_plot, _acc_titles(None))
        self.acc_plot.setToolTip(
            "Share of validation images (never used for training) that the model gets "
            "right, after each epoch. For two balanced classes, 50% is guessing."
        )
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.acc_plot, 2)
        for plot in (self.loss_plot, self.acc_plot):
            plot.setMinimumHeight(150)
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
            cache_axes(plot.getPlotItem())
        self._version = -1
        self._pinned_curves: list = []
        moment_pen = pg.mkPen((120, 120, 120), width=1, style=Qt.PenStyle.DashLine)
        self.loss_moment = pg.InfiniteLine(angle=90, pen=moment_pen)
        self.acc_moment = pg.InfiniteLine(angle=90, pen=moment_pen)
        for plot, line in ((self.loss_plot, self.loss_moment), (self.acc_plot, self.acc_moment)):
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        self._planned = (0.0, 0.0)  # the run's end, step and epoch (plan_run)
        self._raw_dot = False  # the raw loss drawn as a dot (a single point)
        self._moment_epoch: float | None = None  # the timeline's moment (show_moment)
        self._log_loss = False  # the loss axis is logarithmic (_use_log)
        self._ranges: dict = {}
        self._set_empty_ranges()

    def set_line_width(self, width: float | None) -> None:
        """Thicker lines for a projector (None: the normal widths).  Presentation mode
        calls it after scaling the plots' text: the accuracy axis makes room for its
        tick labels' new size here too."""
        self._fit_accuracy_range()
        for curve, pen, name in ((self.smooth_curve, SMOOTH_PEN, "smooth"),
                                 (self.valid_loss_curve, VALID_LOSS_PEN, "valid"),
                                 (self.acc_curve, ACC_PEN, "acc"), (self.raw_curve, RAW_PEN, "raw")):
            new = pg.mkPen(pen)
            if width is not None:  # the thin raw loss stays thinner
                new.setWidthF(max(1.0, width * _PROJECTOR_WEIGHT[name]))
            curve.setPen(new)

    def show_pinned(self, history: dict | None, label_then: str = "",
                    label_now: str = "") -> None:
        """A pinned run's curves (dashed) beside this run's, the key naming what
        differs; None removes them."""
        for curve in self._pinned_curves:
            for plot in (self.loss_plot, self.acc_plot):
                if curve in plot.listDataItems():
                    plot.removeItem(curve)
        self._pinned_curves = []
        if history is None:
            self.loss_key.set_entries(LOSS_KEY)
            self.acc_key.set_entries(())
            return
        x, y = history["smoothed"]
        then = self.loss_plot.plot(x, y, pen=PINNED_LOSS_PEN)
        ax, ay = history["accuracy"]
        acc = self.acc_plot.plot(ax, 100 * ay, pen=PINNED_ACC_PEN)
        self._pinned_curves = [then, acc]
        for curve in self._pinned_curves:
            curve.setZValue(PINNED_Z)
        pinned = KeyEntry(label_then, label_then, PINNED_COLOR, PINNED_SAMPLE)
        self.loss_key.set_entries((
            RAW_KEY, KeyEntry(f"smoothed ({label_now})", label_now, SMOOTH_KEY.color),
            pinned, VALID_KEY))
        self.acc_key.set_entries((KeyEntry(label_now, label_now, ACC_COLOR,
                                           "━●━"), pinned))

    def show_moment(self, step: float | None, epoch: float | None) -> None:
        """A vertical line at the moment the timeline shows (None: hide it), and the
        accuracy in the title that moment's (the last epoch done by then): during a replay
        the title said the run's final accuracy beside views of an earlier step."""
        for line, x in ((self.loss_moment, step), (self.acc_moment, epoch)):
            line.setVisible(x is not None)
            if x is not None:
                line.setValue(x)
        self._moment_epoch = epoch
        self._title_accuracy()

    def _title_accuracy(self) -> None:
        xs, ys = self.acc_curve.getData()
        shown = None
        if xs is not None and len(xs):
            epoch = self._moment_epoch
            i = len(xs) - 1 if epoch is None else int(np.searchsorted(xs, epoch, "right")) - 1
            if i >= 0:
                shown = (float(xs[i]), float(ys[i]) / 100)
        self.acc_key.set_titles(_acc_titles(shown))

    def _set_empty_ranges(self) -> None:
        """Axes that make sense before the first point (not "−400…400, ×0.001")."""
        self._ranges: dict = {}
        self._loss_top = 0.0
        self._epochs_key: tuple | None = None
        self._use_log(False)
        for plot in (self.loss_plot, self.acc_plot):
            plot.disableAutoRange()
        self._set_range(self.loss_plot, "x", 0.0, self._step_span(0.0))  # (a plan: its span)
        self._set_range(self.loss_plot, "y", 0.0, 1.0)
        self._set_range(self.acc_plot, "x", 0.0, self._epoch_span(0.0))
        self._fit_accuracy_range()

    def _fit_accuracy_range(self, *_args) -> None:
        fit_percent_axis(self.acc_plot)

    def clear(self) -> None:
        for curve in (self.raw_curve, self.smooth_curve, self.valid_loss_curve, self.acc_curve):
            curve.setData([], [])
        self.acc_key.set_titles(_acc_titles(None))
        self._moment_epoch = None
        self._version = -1
        self._planned = (0.0, 0.0)
        self._set_empty_ranges()

    def _step_span(self, last: float) -> float:
        """The loss plot's x range: the planned run and a little (its last point is not on
        the edge), or, past the plan or without one, grown in steps past the last point."""
        planned = self._planned[0]
        if planned >= last and planned > 0:
            return max(10.0, planned * 1.01)
        return nice_ceiling(max(10.0, last * 1.02), FINE_STEPS)

    def _epoch_span(self, last: float) -> float:
        """The same for the accuracy plot (half an epoch past the plan: the last marker
        whole; 5 planned epochs drew an axis to 10 when rounded up to a nice number, and 3
        one to 5 when it had to reach 5)."""
        planned = self._planned[1]
        if planned >= last and planned > 0:
            return planned + 0.5
        return nice_ceiling(max(5.0, last * 1.02))

    def plan_run(self, end_step: int, end_epoch: int) -> bool:
        """A run starts that will end at ``end_step`` / ``end_epoch`` (if not stopped):
        the x axes span it from the start, as fastai's ShowGraphCallback's do, and the
        curves grow into them.  Axes that grew with the curves re-laid out their ticks
        at every frame of a short run (11 times in the chapter's 0.2 s).  True when an
        axis changed (the empty plots already span the run Start begins: most often
        none does)."""
        self._planned = (float(end_step), float(end_epoch))
        self._version = -1  # the next history redraws the ranges
        self._epochs_key = None
        loss = self._set_range(self.loss_plot, "x", 0.0, self._step_span(0.0))
        accuracy = self._set_range(self.acc_plot, "x", 0.0, self._epoch_span(0.0))
        return loss or accuracy

    def show_history(self, history) -> None:
        """Draw the app model's training history (only when it changed).

        The axes grow in steps (1, 2, 5 × 10ⁿ), not with every point: an axis whose
        range changes re-lays out its ticks and repaints, which was most of a frame's
        cost while training.  The loss axis only grows within a run, and the x axes
        span the run planned (:meth:`plan_run`)."""
        if history.version == self._version:
            return
        self._version = history.version
        n_loss = len(history.loss)
        alone = n_loss == 1  # a line of one point draws nothing: a dot shows it
        if alone != self._raw_dot:
            self._raw_dot = alone
            self.raw_curve.setSymbol("o" if alone else None)
            self.raw_curve.setSymbolSize(5)
            self.raw_curve.setSymbolBrush(RAW_PEN.color())
            self.raw_curve.setSymbolPen(RAW_PEN.color())
        self.raw_curve.setData(history.loss.x, history.loss.y)
        if n_loss == 0:
            self.smooth_curve.setData(history.smoothed.x, history.smoothed.y)
            self._set_empty_ranges()
        else:
            x_last = float(history.loss.x[-1])
            self._loss_top = max(self._loss_top, float(np.nanmax(history.loss.y)))
            self._set_range(self.loss_plot, "x", 0.0, self._step_span(x_last))
            log = self._use_log(self._wants_log(history.loss.y))
            if log:
                # the trend of the logarithm: a plain average of 5·10⁸ and 42 took 150
                # steps to come down, a slope the run never had
                self.smooth_curve.setData(history.loss.x, _log_trend(history.loss.y))
            else:
                self.smooth_curve.setData(history.smoothed.x, history.smoothed.y)
            if log:
                low = max(self._loss_low(history.loss.y), self._loss_top * 1e-12)
                self._set_range(self.loss_plot, "y", math.floor(math.log10(low)),
                                max(math.floor(math.log10(low)) + 1,
                                    math.ceil(math.log10(self._loss_top * 1.5))))
            else:
                # a little head room: the key is above the data area, not in it
                self._set_range(self.loss_plot, "y", 0.0,
                                nice_ceiling(self._loss_top * 1.05, FINE_STEPS))
        # The per-epoch curves change once an epoch: redrawn (with the accuracy plot)
        # only then, not with every batch.
        epochs_key = (id(history), history.accuracy.total, history.valid_loss.total,
                      history.accuracy.last(), history.valid_loss.last())
        if epochs_key == self._epochs_key:
            return
        self._epochs_key = epochs_key
        n = len(history.accuracy)
        # markers help with a few epochs and only clutter (and slow) thousands
        few = n <= MARKER_LIMIT
        self.valid_loss_curve.setSymbol("o" if few else None)
        self.acc_curve.setSymbol("o" if few else None)
        self.valid_loss_curve.setData(history.valid_loss.x, history.valid_loss.y)
        self.acc_curve.setData(history.accuracy.x, 100 * history.accuracy.y)
        if n:
            epoch, _acc = history.accuracy.last()
            self._set_range(self.acc_plot, "x", 0.0, self._epoch_span(epoch))
        self._title_accuracy()  # the last epoch's, or the moment's the timeline shows

    def _wants_log(self, losses: np.ndarray) -> bool:
        """A loss that shot up (a learning rate far too large: 500 million, then a
        plateau at 42) drawn on a linear axis is a spike and a flat line at 0; past
        :data:`LOG_SPREAD` times its recent typical value the axis goes logarithmic,
        where both show (and stays so until the plot is cleared)."""
        if self._log_loss:
            return True
        finite = losses[np.isfinite(losses) & (losses > 0)]
        if finite.size < 2:
            return False
        typical = float(np.median(finite[-max(20, finite.size // 5):]))
        return typical > 0 and self._loss_top > LOG_SPREAD * typical

    @staticmethod
    def _loss_low(losses: np.ndarray) -> float:
        positive = losses[np.isfinite(losses) & (losses > 0)]
        return float(positive.min()) if positive.size else 1.0

    def _use_log(self, log: bool) -> bool:
        """The loss axis logarithmic (or not), labelled so."""
        if log != self._log_loss:
            self._log_loss = log
            self.loss_plot.setLogMode(x=False, y=log)
            self.loss_plot.setLabel("left", "loss (log scale)" if log else "loss")
            self._ranges.pop((id(self.loss_plot), "y"), None)
        return log

    @property
    def loss_log_scale(self) -> bool:
        return self._log_loss

    def _set_range(self, plot, axis: str, lo: float, hi: float) -> bool:
        """Set a range only when it differs from the one shown (no relayout otherwise);
        True when it did."""
        key = (id(plot), axis)
        if self._ranges.get(key) == (lo, hi):
            return False
        self._ranges[key] = (lo, hi)
        if axis == "x":
            if plot is self.acc_plot:
                # whole epochs on a short run (pyqtgraph put ticks at 0.5, 1.5, 2.5 for 3)
                levels = next((levels for span, levels in ((6, [(1.0, 0.0)]),
                                                           (12, [(2.0, 0.0), (1.0, 0.0)]))
                               if hi - lo <= span), None)
                plot.getPlotItem().getAxis("bottom").setTickSpacing(levels=levels)
            plot.setXRange(lo, hi, padding=0)
        else:
            plot.setYRange(lo, hi, padding=0)
        return True

    @property
    def epochs(self) -> list[tuple[int, int, float, float]]:
        """(epoch, step, validation loss, validation accuracy %) of the epochs shown."""
        xs, ys = self.acc_curve.getData()
        sx, sy = self.valid_loss_curve.getData()
        if xs is None or sx is None:
            return []
        return [
            (int(e), int(st), float(vl), float(va))
            for e, st, vl, va in zip(xs, sx, sy, ys, strict=True)
        ]
