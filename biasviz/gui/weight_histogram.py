"""How the weights are spread out, now compared with at initialization.

Two step histograms over the same bins: "at initialization" (grey) and "now" (green).
The bins are symmetric around 0 with an odd count, so a zero initialization shows up as
one spike centred on 0.  Their range shows the bulk of the weights: it spans
``BULK`` of them (a few large weights, a hidden layer's second matrix, would squeeze the
rest into a handful of bins), the others are counted in the end bins, marked "≤" / "≥" on
the axis and counted in the summary.  The range is a "nice" number that only changes when
the bulk outgrows it or shrinks well inside it, so the picture stays steady while training.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from biasviz.core.text import MINUS
from biasviz.gui.plot_style import FINE_STEPS, KeyEntry, PlotKey, make_still, nice_ceiling

INITIAL_COLOR = (140, 140, 140)
NOW_COLOR = (0, 158, 115)  # Okabe–Ito bluish green: not red/blue, which mean a sign here
TITLES = ("How the weights are spread", "The weights", "")
BULK = 0.99  # the share of the weights the range spans (the rest: in the end bins)
SHRINK = 0.4  # the range narrows once the bulk needs less than this share of it
KEY = (KeyEntry("at initialization", "start", INITIAL_COLOR, "╍╍"),
       KeyEntry("now", "now", NOW_COLOR))


def _tick(value: float) -> str:
    return f"{value:.3g}".replace("-", MINUS)


def _finite(weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.zeros(0)
    a = np.asarray(weights, dtype=np.float64).reshape(-1)
    return a[np.isfinite(a)]


class WeightHistogram(QWidget):
    """Distribution of the weights now vs at initialization (shared bins)."""

    def __init__(self, parent: QWidget | None = None, bins: int = 41):
        super().__init__(parent)
        self._bins = int(bins) | 1  # odd: 0 sits in the middle of the central bin
        self._initial: np.ndarray | None = None
        self._current: np.ndarray | None = None
        self._n_initial = self._n_current = 0
        self._half_range = 0.0
        self._edges = np.linspace(-1.0, 1.0, self._bins + 1)
        self._outside = (0, 0)  # weights beyond the range: (at initialization, now)
        self._counts_initial = np.zeros(self._bins)
        self._counts_current = np.zeros(self._bins)

        pal = self.palette()
        fg = pal.color(QPalette.ColorRole.WindowText)
        self._plot = pg.PlotWidget()
        self._plot.setBackground(pal.color(QPalette.ColorRole.Window))
        self._plot.setMinimumSize(200, 140)
        item = make_still(self._plot.getPlotItem(), fg)
        item.setLabel("bottom", "weight value", color=fg.name())
        # the end labels may reach a little past the axis' ends (pyqtgraph hid them)
        item.getAxis("bottom").setStyle(hideOverlappingLabels=24)
        # the ticks are written out: no "(x0.001)" SI scale on the label for a small range
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self._ticks_for = (0.0, False)  # (range, tails marked) the ticks were made for
        self._tick_texts: list[str] = []
        item.setLabel("left", "count", color=fg.name())
        item.showGrid(x=False, y=True, alpha=0.15)
        # the key in the title row, outside the data: a legend in the view box's corner
        # hid the bars of a wide spread (as in the training plots, walk-through S)
        self.key = PlotKey(self._plot, TITLES)
        self.key.set_entries(KEY)

        self._curve_initial = pg.PlotCurveItem(
            x=self._edges,
            y=self._counts_initial,
            stepMode="center",
            fillLevel=0,
            brush=pg.mkBrush(*INITIAL_COLOR, 70),
            pen=pg.mkPen(INITIAL_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
        )
        self._curve_current = pg.PlotCurveItem(
            x=self._edges,
            y=self._counts_current,
            stepMode="center",
            fillLevel=0,
            brush=pg.mkBrush(*NOW_COLOR, 60),
            pen=pg.mkPen(NOW_COLOR, width=2),
        )
        item.addItem(self._curve_initial)
        item.addItem(self._curve_current)
        zero = pg.InfiniteLine(
            pos=0.0, angle=90, pen=pg.mkPen(fg, width=1, style=Qt.PenStyle.DotLine)
        )
        item.addItem(zero, ignoreBounds=True)
        item.setXRange(-1.0, 1.0, padding=0.02)
        item.enableAutoRange(axis="y")
        item.setAutoVisible(y=True)

        self._summary = QLabel("No weights yet.")
        self._summary.setWordWrap(True)
        self._summary.setToolTip(
            "The spread (standard deviation) measures how far the weights typically are from 0."
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._plot, 1)
        layout.addWidget(self._summary)

        # On the plot item: a QGraphicsView shows its items' tooltips, not its own.
        item.setToolTip(
            "How many weights have each value: grey dashed = at initialization, green = "
            "now.\nWhat to look for: does the spread grow (weights becoming more decisive) "
            "or shrink (weight decay, or pixels that don't matter being pushed to 0)?\n"
            "With a zero initialization the grey curve is a single spike at 0, and training "
            "spreads the weights out from there. A random normal initialization starts as a "
            "bell curve."
        )

    # ------------------------------------------------------------------ public API
    def set_initial(self, weights: np.ndarray) -> None:
        """Weights at initialization (any shape; all are counted). Resets the bins."""
        self._initial = _finite(weights)
        self._n_initial = int(np.asarray(weights).size)
        self._half_range = 0.0
        self._update()

    def set_current(self, weights: np.ndarray) -> None:
        """Weights now (any shape)."""
        self._current = _finite(weights)
        self._n_current = int(np.asarray(weights).size)
        self._update()

    def clear(self) -> None:
        self._initial = self._current = None
        self._n_initial = self._n_current = 0
        self._half_range = 0.0
        self._update()

    def edges(self) -> np.ndarray:
        return self._edges.copy()

    def initial_counts(self) -> np.ndarray:
        return self._counts_initial.copy()

    def current_counts(self) -> np.ndarray:
        return self._counts_current.copy()

    def curves(self) -> tuple[pg.PlotCurveItem, pg.PlotCurveItem]:
        """(at initialization, now)."""
        return self._curve_initial, self._curve_current

    def plot_item(self) -> pg.PlotItem:
        return self._plot.getPlotItem()

    def summary_text(self) -> str:
        return self._summary.text()

    # ------------------------------------------------------------------ internals
    def half_range(self) -> float:
        """The bins span [−half_range, half_range]; weights beyond are in the end bins."""
        return self._half_range

    def outside_counts(self) -> tuple[int, int]:
        """How many weights lie beyond the range: (at initialization, now)."""
        return self._outside

    def _update(self) -> None:
        arrays = [a for a in (self._initial, self._current) if a is not None and a.size]
        # the bulk of each set (not its largest |w|: a few big weights hid the rest)
        needed = max((float(np.quantile(np.abs(a), BULK)) for a in arrays), default=0.0)
        if needed <= 0:  # all (or all but a few) zero: show the few that are not
            needed = max((float(np.abs(a).max()) for a in arrays), default=0.0)
        half = self._half_range
        # Change the range only when the bulk outgrows it or shrinks well inside it.
        if half <= 0 or needed > half or needed < SHRINK * half:
            half = nice_ceiling(needed * 1.1, FINE_STEPS) if needed > 0 else 1.0
        if half != self._half_range:
            self._half_range = half
            self._edges = np.linspace(-half, half, self._bins + 1)
            self._plot.getPlotItem().setXRange(-half, half, padding=0.02)
        self._outside = tuple(  # type: ignore[assignment]
            int(np.count_nonzero(np.abs(a) > half)) if a is not None else 0
            for a in (self._initial, self._current))
        self._set_ticks(half, any(self._outside))
        self._counts_initial = self._histogram(self._initial)
        self._counts_current = self._histogram(self._current)
        self._curve_initial.setData(x=self._edges, y=self._counts_initial)
        self._curve_current.setData(x=self._edges, y=self._counts_current)
        self._curve_initial.setVisible(self._initial is not None)
        self._curve_current.setVisible(self._current is not None)
        self._summary.setText(self._describe())

    def _set_ticks(self, half: float, tails: bool) -> None:
        """Ticks at 0, ±half/2 and the ends; with weights beyond the range the end bins
        say so ("≤ −0.1", "≥ 0.1"). Made again only when the range or the tails change."""
        if (half, tails) == self._ticks_for:
            return
        self._ticks_for = (half, tails)
        lo, hi = _tick(-half), _tick(half)
        if tails:
            lo, hi = f"≤\u202f{lo}", f"≥\u202f{hi}"
        end = half * (1 - 1 / self._bins)  # the end bins' centres: the labels name them
        ticks = [(-end, lo), (-half / 2, _tick(-half / 2)), (0.0, "0"),
                 (half / 2, _tick(half / 2)), (end, hi)]
        self._tick_texts = [text for _v, text in ticks]
        self._plot.getPlotItem().getAxis("bottom").setTicks([ticks, []])

    def tick_labels(self) -> list[str]:
        """The weight axis' labels, left to right."""
        return list(self._tick_texts)

    def _histogram(self, a: np.ndarray | None) -> np.ndarray:
        if a is None or a.size == 0:
            return np.zeros(self._bins)
        counts, _ = np.histogram(np.clip(a, self._edges[0], self._edges[-1]), bins=self._edges)
        return counts.astype(np.float64)

    def _describe(self) -> str:
        parts = []
        n = self._n_current or self._n_initial
        if n:
            parts.append(f"{n:,} weights")
        if self._initial is not None and self._initial.size:
            parts.append(f"spread (std) at initialization {self._initial.std():.3g}")
        if self._current is not None and self._current.size:
            parts.append(f"now {self._current.std():.3g}")
        beyond = self._outside[1] if self._current is not None else self._outside[0]
        if beyond:
            parts.append(f"{beyond:,} beyond ±{_tick(self._half_range)} (in the end bins)")
        bad = self._n_current - (self._current.size if self._current is not None else 0)
        if bad > 0:
            parts.append(f"{bad} not finite (not counted)")
        return " · ".join(parts) if parts else "No weights yet."
