"""Lesson: why the chapter's std-1 start can freeze a neuron (seed 001, issue 9).

Three single neurons learn the same two classes side by side, on the same batches:

* started like the chapter, weights and bias from normal(0, **1**), trained with the
  chapter's ``mnist_loss``;
* started from normal(0, **0.01**), same loss;
* started from normal(0, 1) again, but trained with **binary cross-entropy**.

The large plot is the sigmoid σ(z) and its slope σ′(z), with the flat tails (|z| > 5,
σ′ < 0.007) shaded and each neuron's training images drawn as a histogram of their own
z = w·x + b.  With std 1 a neuron's z is a sum of ~100–400 weights of size 1: most images
land in the flat tails, and ``mnist_loss`` gets its gradient only through σ′ — the images
the neuron gets wrong send back (almost) nothing.  On Fashion-MNIST's Pullover vs Coat
it stays at 50 %; the std-0.01 start and the BCE loss both learn.

Seed 001 says "the weight decides the steepness": large weights make σ(w·x) a step
function of the image, and a step has no slope to learn from.  The maths is in
:mod:`biasviz.core.saturation` (no Qt).

Measured (Pullover vs Coat, seed 0, lr 1.0, batch 256, 5 epochs): std 1 → 50.0 %
(every image called "Pullover"), std 0.01 → 83.5 %, std 1 + BCE → 76.3 % (BCE climbs
to about 82 % by epoch 20).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QWidget

from biasviz.core.datasets import Task, TaskData, load_idx_folder, make_task_data, to_float
from biasviz.core.errors import BiasvizError
from biasviz.core.history import BoundedSeries
from biasviz.core.saturation import (
    SLOPE_AT_SATURATION,
    Z_SATURATED,
    SaturationStats,
    mean_ink,
    saturation_stats,
    sigmoid,
    sigmoid_slope,
    start_spread,
    z_histogram,
)
from biasviz.core.spec import BinaryLoss, InitKind, ModelKind, ModelSpec, TrainConfig
from biasviz.gui.colormaps import diverging_colormap, symmetric_levels
from biasviz.gui.lessons import side_by_side_ui as ui
from biasviz.gui.lessons.base import Arrangement, Cell, stacked

FASHION_PAIR = (2, 4)  # Pullover vs Coat: stuck at exactly 50 % with the chapter's recipe
DATA_FASHION = "fashion"
DATA_CURRENT = "current"

BIG, SMALL, BCE = 0, 1, 2
DEFAULT_BIG = 1.0
DEFAULT_SMALL = 0.01
DEFAULT_LR = 1.0
DEFAULT_EPOCHS = 5
DEFAULT_SEED = 0
N_PROBE = 2000  # training images whose z is drawn (a fixed subset: same cost any dataset)
BINS = 90
HIST_HEIGHT = 0.9  # the tallest bar of each histogram reaches this height
COLORS = ((213, 94, 0), (0, 114, 178), (0, 158, 115))
PENS = ui.pens(COLORS)

_fashion_cache: dict[Path, TaskData | None] = {}

#: The largest error signal |∂loss/∂z| one image can send back: σ′(0) = 0.25 for the
#: chapter's mnist_loss (its signal is σ′(z)), 1 for binary cross-entropy (σ(z) − t).
FULL_SIGNAL = {BinaryLoss.MNIST: 0.25, BinaryLoss.BCE: 1.0}


def error_signal_share(z: np.ndarray, targets: np.ndarray, loss: BinaryLoss) -> float:
    """What a neuron's wrongly classified images send back to its weights, as a share of
    the most they could: Σ_wrong |∂L/∂z| / (n · FULL_SIGNAL[loss]).

    ∂L/∂w = ∂L/∂z · x, so this is the part of the weights' gradient that could pull the
    mistakes back.  With mnist_loss |∂L/∂z| = σ′(z): a mistake deep in a flat tail sends
    (almost) nothing.  With BCE it is |σ(z) − t|, which σ′ does not multiply: a
    confident mistake sends back nearly the full 1 (the measure of
    :func:`saturation_stats` uses σ′ and fits mnist_loss only)."""
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    t = np.asarray(targets).reshape(-1) == 1
    n = z.size
    if n == 0:
        return 0.0
    z = np.nan_to_num(z, nan=0.0, posinf=1e30, neginf=-1e30)
    wrong = (z >= 0) != t
    if loss is BinaryLoss.BCE:
        signal = np.abs(sigmoid(z) - t)
    else:
        signal = sigmoid_slope(z)
    return float(signal[wrong].sum() / (n * FULL_SIGNAL[loss]))


def fashion_folder() -> Path | None:
    """Where Fashion-MNIST is on this machine (downloaded before, or installed), if it is."""
    from biasviz.core.datasets.download import local_copy

    return local_copy("fashion-mnist")


def fashion_pair(folder: Path) -> TaskData | None:
    """Pullover vs Coat from a Fashion-MNIST folder (loaded once), or None."""
    folder = Path(folder)
    if folder not in _fashion_cache:
        try:
            dataset = load_idx_folder(folder)
            _fashion_cache[folder] = make_task_data(dataset, Task.pair(*FASHION_PAIR))
        except (BiasvizError, OSError):
            _fashion_cache[folder] = None
    return _fashion_cache[folder]


def fashion_available(folder: Path | None) -> bool:
    return folder is not None and (
        (Path(folder) / "train-images-idx3-ubyte.gz").is_file()
        or (Path(folder) / "train-images-idx3-ubyte").is_file())


class NeuronPictures(pg.GraphicsLayoutWidget):
    """A row of single neurons' weights as 28×28 pictures, each with its own symmetric
    colour scale (white = 0) and a title."""

    def __init__(self, n: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(300, 150)
        lut = diverging_colormap().getLookupTable(nPts=257)
        self.titles: list[pg.LabelItem] = []
        self.images: list[pg.ImageItem] = []
        for i in range(n):
            title = self.addLabel("", row=0, col=i, size="9pt", color="#202020")
            box = self.addViewBox(row=1, col=i, lockAspect=True, enableMouse=False,
                                  invertY=True, enableMenu=False)
            image = pg.ImageItem()
            image.setLookupTable(lut)
            box.addItem(image)
            box.setRange(xRange=(0, 28), yRange=(0, 28), padding=0.02)
            self.titles.append(title)
            self.images.append(image)

    def set_weights(self, i: int, weights: np.ndarray, title: str) -> None:
        w = np.asarray(weights, dtype=np.float32).reshape(28, 28)
        lo, hi = symmetric_levels(w)
        # pyqtgraph's default axis order is column-major: x is the first index
        row_major = pg.getConfigOption("imageAxisOrder") == "row-major"
        self.images[i].setImage(w if row_major else w.T, levels=(lo, hi))
        self.titles[i].setText(f"{title}<br>scale ±{hi:.2g}")

    def weights(self, i: int) -> np.ndarray:
        """The (28, 28) weights drawn in picture ``i`` (for tests)."""
        img = np.asarray(self.images[i].image)
        return img if pg.getConfigOption("imageAxisOrder") == "row-major" else img.T


class SaturationLesson(ui.SideBySideLesson):
    """σ and σ′ with each neuron's images on them; std 1 vs std 0.01 vs std 1 + BCE."""

    title = "Why a std-1 start can freeze a neuron"
    seed = "001"
    ten_class_note = (
        "The main window's task has all ten classes; this lesson's single neurons learn "
        "“{first}” vs “{second}” from {dataset} (one neuron answers one yes/no question)."
    )

    def __init__(self, data: TaskData | None = None, parent: QWidget | None = None,
                 fashion: Path | str | None = None) -> None:
        """``fashion``: the Fashion-MNIST folder (default: :func:`fashion_folder`)."""
        super().__init__(parent)
        self._fashion_folder = Path(fashion) if fashion is not None else fashion_folder()
        self._current: TaskData | None = None
        self._stats: list[SaturationStats | None] = [None, None, None]
        self._signals: list[float | None] = [None, None, None]
        self._start_stats: list[SaturationStats | None] = [None, None, None]
        self._build_ui()
        self._open(data)

    # ------------------------------------------------------------------ building
    def _build_ui(self) -> None:
        self._make_top()
        self.data_combo = QComboBox()
        if fashion_available(self._fashion_folder):
            self.data_combo.addItem("Fashion-MNIST: Pullover vs Coat", DATA_FASHION)
        self.data_combo.addItem("the main window's task", DATA_CURRENT)
        where = (f"read from {self._fashion_folder}" if self.data_combo.count() > 1 else
                 "offered once Fashion-MNIST is on this machine: choose it in the main "
                 "window's Dataset box to download it")
        self.data_combo.setToolTip(
            f"What the three neurons learn. Pullover vs Coat (Fashion-MNIST, {where}) is "
            "where the chapter's recipe freezes at exactly 50 %: clothes have several "
            "hundred bright pixels, so w·x is a sum of hundreds of weights. The main "
            "window's task: the two classes you picked there.")
        self.big_spin = ui.decimal_spin(
            3, 0.05, 10.0, 0.25, DEFAULT_BIG,
            "Spread of the large start (the left and right neurons): every weight and "
            "the bias drawn from normal(0, std). The chapter's init_params uses 1.0. "
            "Changing it starts again.")
        self.small_spin = ui.decimal_spin(
            4, 0.0001, 1.0, 0.005, DEFAULT_SMALL,
            "Spread of the small start (the middle neuron). Changing it starts again.")
        self.lr_spin = ui.lr_spin(DEFAULT_LR, 100.0,
                                  "Learning rate, the same for all three (plain SGD, the "
                                  "chapter's 1.0). Try 0.1 or 10: the frozen neuron stays "
                                  "frozen — no learning rate fixes a slope of 0.")
        self.epochs_spin = ui.int_spin(1, 1000, DEFAULT_EPOCHS,
                                       "How many epochs each Start trains.")
        self.seed_spin = ui.int_spin(
            0, 9999, DEFAULT_SEED,
            "Seed of the random starts and of the batch order. Changing it starts again.")
        self.speed_combo = ui.speed_combo(
            "How fast training runs; slower is easier to watch. Can be changed while it runs.")
        self.start_button, self.stop_button, self.reset_button = ui.run_buttons(
            "Train all three side by side, on the same batches (continues from where "
            "they are).")
        self.status_label = ui.status_label("What the three neurons are doing now.")
        self._settings = (self.data_combo, self.big_spin, self.small_spin, self.lr_spin,
                          self.epochs_spin, self.seed_spin)
        row1 = ui.settings_row((("Data", self.data_combo),
                                ("Large start: std", self.big_spin),
                                ("Small start: std", self.small_spin),
                                ("Learning rate", self.lr_spin), ("Epochs", self.epochs_spin),
                                ("Seed", self.seed_spin)))
        row2 = ui.button_row((self.start_button, self.stop_button, self.reset_button),
                             (("Speed", self.speed_combo),), self.status_label)

        # the sigmoid, its slope, the flat tails and each neuron's images -----------------
        self.sigmoid_plot = ui.make_plot(
            "σ(z) and its slope σ′(z), with each neuron's training images at their own z",
            "z = w·x + b", "σ(z), 4·σ′(z); bars: images",
            "The sigmoid σ(z) (black) and its slope σ′(z) (grey dashes, drawn 4× taller so "
            "its peak 0.25 reaches 1). Shaded: the flat tails |z| > 5, where σ′ < 0.007.\n"
            "The bars are each neuron's training images, placed at their own z = w·x + b "
            "(each neuron's bars scaled so its tallest reaches 0.9).\nWhat to look for: "
            "with std 1 the images sit in the flat tails, where mnist_loss sends back "
            "(almost) no gradient; with std 0.01 they sit on the steep middle.")
        item = self.sigmoid_plot.getPlotItem()
        item.setYRange(-0.02, 1.05, padding=0)
        brush = pg.mkBrush(120, 120, 120, 45)
        self.flat_regions = [pg.LinearRegionItem((-60.0, -Z_SATURATED), movable=False,
                                                 brush=brush, pen=pg.mkPen(None)),
                             pg.LinearRegionItem((Z_SATURATED, 60.0), movable=False,
                                                 brush=brush, pen=pg.mkPen(None))]
        for region in self.flat_regions:
            region.setZValue(-10)
            item.addItem(region)
        self.flat_text = pg.TextItem(f"flat: σ′ < {SLOPE_AT_SATURATION:.3f}",
                                     color=(70, 70, 70), anchor=(0, 0))
        item.addItem(self.flat_text)
        self.hist_curves = []
        for i in (BIG, SMALL, BCE):
            r, g, b = COLORS[i]
            curve = pg.PlotDataItem([0.0, 1.0], [0.0], stepMode="center",
                                    fillLevel=0.0, brush=pg.mkBrush(r, g, b, 60),
                                    pen=PENS[i])
            item.addItem(curve)
            self.hist_curves.append(curve)
        self.sigma_curve = item.plot([], [], pen=pg.mkPen((20, 20, 20), width=2.5))
        self.slope_curve = item.plot([], [], pen=pg.mkPen((110, 110, 110), width=2,
                                                          style=Qt.PenStyle.DashLine))
        self.sigmoid_plot.setMinimumHeight(250)
        self.stats_label = ui.note()
        # the grid does not ask wrapped labels for their height: reserve four lines
        self.stats_label.setMinimumHeight(4 * self.stats_label.fontMetrics().lineSpacing() + 6)
        self.stats_label.setToolTip(
            "For each neuron, now: the share of its training images in the flat tails, "
            "the share that are wrong AND flat (those it cannot pull back), what gradient "
            "its errors send back to the weights (∂loss/∂z of the wrongly classified "
            "images, as a share of the most they could send: 0.25 each for mnist_loss, "
            "whose signal is σ′(z), 1 each for BCE, whose signal is σ(z) − target), and "
            "its validation accuracy.")

        # pictures, share in the tails over time, accuracy, why -----------------------------
        self.pictures = NeuronPictures(3)
        self.pictures.setToolTip(
            "Each neuron's 784 weights as an image (red: positive, blue: negative, white: "
            "0), each with its own colour scale: a std-0.01 template is a hundred times "
            "fainter than std-1 noise.\nWhat to look for: the neuron that froze is still "
            "the noise it started as; the others have turned into a template of the two "
            "classes.")
        self.flat_plot = ui.make_plot(
            "Images the neuron gets wrong, deep in a flat tail", "step",
            "images (%)",
            "For each neuron: the share of its training images that are on the wrong side "
            "AND beyond |z| = 5. mnist_loss cannot pull these back (their σ′ ≈ 0); "
            "BCE can (its gradient is σ(z) − target ≈ ±1 there).")
        self.flat_plot.setYRange(0, 100)
        self.flat_curves = [self.flat_plot.plot([], [], pen=PENS[i]) for i in range(3)]
        self.acc_plot, self.acc_curves = ui.accuracy_plot(
            "The share of validation images each neuron gets right, after each epoch; "
            "epoch 0 is the start. 50 % (dotted): one answer for everything.", COLORS)
        self._step_plots = (self.flat_plot,)
        self._epoch_plots = (self.acc_plot,)
        self.key_label = ui.key_label("", "Each neuron keeps its colour in every plot.")
        self.why_label = ui.note()
        self.why_label.setToolTip("Why each neuron behaves as it does, with its numbers now.")

        self.pictures_box = ui.group("Weights now (each picture its own colour scale)",
                                     self.pictures)
        self.why_box = ui.group("Why?", self.why_label)
        # The sigmoid wide with the pictures beside it when the tab is wide; the pictures
        # and the reasons below the plots on a laptop; one column when narrower.
        sig, stats, pics = self.sigmoid_plot, self.stats_label, self.pictures_box
        flat, acc, why = self.flat_plot, self.acc_plot, self.why_box
        scroll, self.panels = ui.scroll_panels(self.key_label, [
            Arrangement((Cell(sig, 0, 0, 1, 2), Cell(pics, 0, 2), Cell(stats, 1, 0, 1, 2),
                         Cell(why, 1, 2, 2, 1), Cell(flat, 2, 0), Cell(acc, 2, 1)),
                        (5, 5, 4), (6, 0, 4)),
            Arrangement((Cell(sig, 0, 0, 1, 2), Cell(stats, 1, 0, 1, 2), Cell(flat, 2, 0),
                         Cell(acc, 2, 1), Cell(pics, 3, 0), Cell(why, 3, 1)),
                        (1, 1), (6, 0, 4, 4)),
            stacked(sig, stats, pics, flat, acc, why, row_stretch=(6, 0, 4, 4, 4, 1)),
        ], column_floor=340)
        self._lay_out(row1, row2, scroll=scroll)

        for signal in (self.big_spin.valueChanged, self.small_spin.valueChanged,
                       self.seed_spin.valueChanged):
            signal.connect(self._on_start_changed)
        self.data_combo.currentIndexChanged.connect(self._on_data_choice)

    # ------------------------------------------------------------------ Lesson contract
    def set_data(self, data: TaskData) -> None:
        """The main window's task changed: used when "the main window's task" is chosen."""
        if self._closed:
            return
        self._current = data
        if self.data_combo.currentData() == DATA_CURRENT or self._trainers is None:
            self._load_choice()

    def _on_data_choice(self, *_args) -> None:
        if not self._runner.is_running():
            self._load_choice()

    def _load_choice(self) -> None:
        data = None
        if self.data_combo.currentData() == DATA_FASHION:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                data = fashion_pair(self._fashion_folder)
            finally:
                QApplication.restoreOverrideCursor()
            if data is None:  # unreadable: fall back on the main window's task
                self.data_combo.setCurrentIndex(self.data_combo.findData(DATA_CURRENT))
                return
        if data is None:
            data = self._current
        if data is None or not self._take_data(data):
            return
        x = to_float(self._data.train_x[:N_PROBE])
        self._probe_x, self._probe_y = x, self._data.train_y[:N_PROBE]
        self._ink = mean_ink(x)
        first, second = self._data.class_names
        self.intro.setText(
            f"<b>Why a std-1 start can freeze a neuron.</b> Three single neurons learn "
            f"“{first}” vs “{second}” side by side. The chapter starts every weight from "
            "normal(0, 1). But z = w·x + b adds up one weight per bright pixel — about "
            f"<b>{self._ink:.0f}</b> of them here — so z lands far out where the sigmoid "
            "is <b>flat</b>. mnist_loss learns only through the slope σ′(z): an image in a "
            "flat tail sends back almost nothing, <i>even when it is wrong</i>. Watch the "
            "big plot: each neuron's images are drawn at their own z on σ. The weight sets the "
            "steepness: large weights make the neuron a step, and a step has no slope to "
            "learn from."
        )
        self.reset()

    # ------------------------------------------------------------------ read-outs for tests
    def stats(self) -> list[SaturationStats | None]:
        """Each neuron's saturation now, on the probe images (order BIG, SMALL, BCE)."""
        return list(self._stats)

    def error_signals(self) -> list[float | None]:
        """Each neuron's :func:`error_signal_share` now, for its own loss (the number
        the lesson shows)."""
        return list(self._signals)

    def losses(self) -> tuple[BinaryLoss, BinaryLoss, BinaryLoss]:
        """Each neuron's loss (order BIG, SMALL, BCE)."""
        return tuple(c.loss for c in self._configs(self._config()))

    def data(self) -> TaskData | None:
        return getattr(self, "_data", None)

    # ------------------------------------------------------------------ models
    def _names(self) -> tuple[str, str, str]:
        big, small = self.big_spin.value(), self.small_spin.value()
        return (f"std {big:g}, mnist_loss", f"std {small:g}, mnist_loss",
                f"std {big:g}, binary cross-entropy")

    def _make_trainers(self) -> None:
        from biasviz.core.train_loop import NumpyTrainer

        seed = self.seed_spin.value()
        big, small = float(self.big_spin.value()), float(self.small_spin.value())

        def neuron(std: float) -> ModelSpec:
            return ModelSpec(kind=ModelKind.SINGLE, init=InitKind.RANDOM, init_std=std,
                             seed=seed)

        self._specs = (neuron(big), neuron(small), neuron(big))
        config = self._config()
        self._trainers = [NumpyTrainer(spec, self._data, c) for spec, c in
                          zip(self._specs, self._configs(config), strict=True)]
        self._snapshots = tuple(t.snapshot() for t in self._trainers)
        self._start = self._snapshots
        self._accuracy = [t.evaluate()[1] for t in self._trainers]
        self._start_stats = [self._saturation(s) for s in self._snapshots]

    def _configs(self, config: TrainConfig) -> tuple[TrainConfig, TrainConfig, TrainConfig]:
        mnist = TrainConfig(**{**config.to_dict(), "loss": BinaryLoss.MNIST})
        bce = TrainConfig(**{**config.to_dict(), "loss": BinaryLoss.BCE})
        return mnist, mnist, bce

    def _before_run(self) -> None:
        # start() gave every trainer the same config: the right one keeps its BCE loss
        for trainer, config in zip(self._trainers, self._configs(self._config()), strict=True):
            trainer.set_config(config)

    def _clear_history(self) -> None:
        self._flat_series = [BoundedSeries(4096) for _ in range(3)]
        self._clear_accuracy()
        self._show_snapshots(self._snapshots, step=0)

    def _saturation(self, snapshot) -> SaturationStats:
        w = np.asarray(snapshot.params["weights"], dtype=np.float32)
        b = float(np.sum(snapshot.params["bias"], dtype=np.float64))
        with np.errstate(over="ignore", invalid="ignore"):
            z = self._probe_x @ w + b
        self._last_z = z
        return saturation_stats(z, self._probe_y)

    # -- runner events ------------------------------------------------------------------
    def _model_name(self, index: int) -> str:
        return f"The neuron with {self._names()[index]}"

    # -- drawing -----------------------------------------------------------------------
    def _show_snapshots(self, snapshots: tuple | None, step: int) -> None:
        if not snapshots:
            return
        self._snapshots = snapshots
        zs = []
        losses = self.losses()
        for i, snap in enumerate(snapshots):
            self._stats[i] = self._saturation(snap)
            zs.append(self._last_z)
            self._signals[i] = error_signal_share(self._last_z, self._probe_y, losses[i])
            series = self._flat_series[i]
            if len(series) == 0 or series.x[-1] < step:
                series.append(step, 100.0 * self._stats[i].share_wrong_saturated)
            ui.set_curve(self.flat_curves[i], series.x, series.y, COLORS[i])
        self._grow_axes(step, 0)
        self._draw_sigmoid(zs)
        big, small = self.big_spin.value(), self.small_spin.value()
        short = (f"std {big:g}", f"std {small:g}", f"std {big:g} + BCE")
        for i, (snap, name) in enumerate(zip(snapshots, short, strict=True)):
            self.pictures.set_weights(i, snap.params["weights"], name)
        self._update_texts()

    def _draw_sigmoid(self, zs: list[np.ndarray]) -> None:
        finite = [np.abs(z[np.isfinite(z)]) for z in zs]
        reach = max((float(np.percentile(a, 99.5)) for a in finite if a.size), default=8.0)
        reach = float(min(max(reach * 1.1, 8.0), 80.0))
        grid = np.linspace(-reach, reach, 801)
        self.sigma_curve.setData(grid, sigmoid(grid))
        self.slope_curve.setData(grid, 4.0 * sigmoid_slope(grid))
        self.flat_regions[0].setRegion((-reach, -Z_SATURATED))
        self.flat_regions[1].setRegion((Z_SATURATED, reach))
        self.flat_text.setPos(Z_SATURATED + 0.12 * reach, 0.98)
        for curve, z in zip(self.hist_curves, zs, strict=True):
            edges, shares = z_histogram(z, reach, BINS)
            top = float(shares.max()) if shares.size else 0.0
            heights = shares * (HIST_HEIGHT / top) if top > 0 else shares
            curve.setData(edges, heights)
        self.sigmoid_plot.getPlotItem().setXRange(-reach, reach, padding=0.01)

    def hist_heights(self, i: int) -> np.ndarray:
        """The bar heights drawn for neuron ``i`` (for tests)."""
        return np.asarray(self.hist_curves[i].getData()[1])

    def _update_texts(self) -> None:
        if not self._snapshots or any(s is None for s in self._stats):
            return
        names = self._names()
        c = ui.html_color

        def acc(i: int) -> str:
            a = self._accuracy[i]
            return "—" if a is None else f"{100 * a:.1f}%"

        self.key_label.setText(ui.key_html(COLORS, names))
        parts = []
        losses = self.losses()
        at_start = all(t.step == 0 for t in self._trainers or [])
        for i in range(3):
            s = self._stats[i]
            same = " (the same start as the first: its bars hide those)" \
                if i == BCE and at_start else ""
            # what the errors send back depends on the loss: σ′(z) for mnist_loss,
            # σ(z) − target for BCE (σ′ cancels: a confident mistake still sends ≈ 1)
            if losses[i] is BinaryLoss.BCE:
                why = " (BCE's error signal σ(z) − target is ≈ ±1 on a confident mistake)"
            elif s.share_wrong_saturated > 0:
                why = " (mnist_loss's error signal σ′(z) is ≈ 0 in the flat tails)"
            else:
                why = ""
            parts.append(
                f"<span style='color:{c(COLORS[i])}'><b>{names[i]}</b></span>{same}: "
                f"{100 * s.share_saturated:.0f}% of the training images in the flat "
                f"tails, <b>{100 * s.share_wrong_saturated:.0f}% wrong and flat</b>; its "
                f"errors send back {_share(self._signals[i])} of the most they could"
                f"{why}; {acc(i)} of the validation images right.")
        self.stats_label.setText("<br>".join(parts))
        big, small = self.big_spin.value(), self.small_spin.value()
        x = self._probe_x
        spread_big, spread_small = start_spread(x, big), start_spread(x, small)
        start = self._start_stats[BIG]
        flat_big = start.share_saturated if start is not None else float("nan")
        sb = self._stats[BIG]
        self.why_label.setText(
            f"<span style='color:{c(COLORS[BIG])}'><b>std {big:g}:</b></span> z sums "
            f"about {self._ink:.0f} weights of size {big:g}, so at the start |z| is "
            f"typically {spread_big:.0f} — and the images move together (they share "
            f"much of their ink): with this seed {100 * flat_big:.0f}% of them began in a "
            f"flat tail. mnist_loss's gradient for an image is σ′(z)·x, and σ′(20) ≈ "
            f"{float(sigmoid_slope(20.0)):.0e}: now {100 * sb.share_wrong_saturated:.0f}% "
            "are wrong and flat, and nothing pulls them back. A larger or smaller learning "
            "rate only multiplies that almost-0.<br><br>"
            f"<span style='color:{c(COLORS[SMALL])}'><b>std {small:g}:</b></span> |z| is "
            f"about {spread_small:.2g} at the start, on σ's steep middle (σ′ ≈ 0.25): every "
            "image sends back a gradient and the weights become a template.<br><br>"
            f"<span style='color:{c(COLORS[BCE])}'><b>std {big:g} + BCE:</b></span> the same "
            "flat start, but binary cross-entropy's gradient is (σ(z) − target)·x: about "
            "1·x for a confidently wrong image. It climbs out of the tails.<br><br>"
            "<b>The weight sets the steepness</b> of the activation function: large "
            "weights make σ(w·x) a step function of the image — and a step is flat "
            "everywhere but at one point: there is no slope to learn from."
        )


def _share(x: float) -> str:
    p = 100.0 * x
    if p == 0:
        return "0%"
    if p < 0.01:
        return "under 0.01%"
    return f"{p:.2g}%"
