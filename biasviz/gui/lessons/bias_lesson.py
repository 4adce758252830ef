"""Lesson "One bias, or one per pixel?" (seed question 000).

Three single neurons learn the same two-class task side by side, from the same weights,
on the same batches, with the same learning rate.  Only the bias differs:

* one bias:      ``(x*w).sum() + b``     (the chapter's ``xb@weights + bias``)
* one per pixel: ``(x*w + b).sum()``     (784 biases, as the forum question proposed)
* no bias:       ``(x*w).sum()``

What the lesson shows, live:

* loss and validation accuracy of all three;
* the 784 per-pixel biases as a picture, with their sum Σbᵢ next to the scalar b;
* the identity ``(x*w + b).sum() == x·w + Σbᵢ`` with numbers, on a real validation
  image: the per-pixel biases only ever act through their sum;
* Σbᵢ and b against the step: every bᵢ gets the same gradient, so the sum moves 784×
  as far per step as a single bias would -- and measured ratios;
* a preset learning rate at which the per-pixel neuron collapses to 50% while the
  one-bias neuron learns fine (measured on the MNIST sample, 3 vs 7: at lr 10 the
  per-pixel neuron ended at 50% for every seed tried, 0 to 4, and the one-bias one
  between 96% and 97%);
* what no bias cannot do: a blank image always gets z = 0 and σ(z) = 0.5 exactly.

By default the per-pixel neuron starts with bᵢ = b/784, so that Σbᵢ equals the one-bias
neuron's b and both start in the same state: any difference later comes from how the
biases learn, not from where they started.  The alternative start, 784 independent
random numbers as ``init_params(28*28)`` would give, is offered too: their sum is 28×
as spread (√784 = 28) and the per-pixel neuron then starts far off.

A ten-class task is handled by cutting the pair 3 vs 7 out of the same dataset (one
neuron answers one yes/no question); a note says so.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.datasets import TaskData
from biasviz.core.history import BoundedSeries
from biasviz.core.side_by_side import mean_step, per_pixel_identity, sigmoid
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, numpy_logits, total_parameters
from biasviz.core.text import num, signed_sci, unbroken
from biasviz.gui.colormaps import diverging_colormap
from biasviz.gui.lessons import side_by_side_ui as ui
from biasviz.gui.lessons.base import Arrangement, Cell, ReflowGrid, stacked
from biasviz.gui.plot_style import nice_ceiling
from biasviz.gui.weights_view import colorbar_ticks

#: Learning rate of the "Show the instability" preset (see the module docstring).
INSTABILITY_LR = 10.0
DEFAULT_LR = 1.0  # the chapter's
DEFAULT_EPOCHS = 20
DEFAULT_STD = 1.0  # the chapter's init_params: normal(0, 1)
DEFAULT_SEED = 1  # a seed with which all three train at lr 1.0 (see the note in the text)
RATIO_WINDOW = 20  # steps over which the Σbᵢ / b movement ratio is measured

SCALAR, PER_PIXEL, NONE = 0, 1, 2
MODES = (BiasMode.SCALAR, BiasMode.PER_PIXEL, BiasMode.NONE)
NAMES = ("one bias", "one bias per pixel", "no bias")
FORMULAS = ("(x*w).sum() + b", "(x*w + b).sum()", "(x*w).sum()")
# Okabe–Ito blue, vermillion and bluish green; the third is dashed as well.
# what the table's Status column may say (its width is kept for the longest)
TABLE_STATUSES = ("ready", "training", "finished", "stopped", "diverged", "stuck at 50%")
COLORS = ((0, 114, 178), (213, 94, 0), (0, 158, 115))
PENS = ui.pens(COLORS)

START_SAME_SUM = "same_sum"
START_RANDOM = "random"


def _fmt(v: float, digits: int = 4) -> str:
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and abs(v) < 10 ** (-digits):
        return signed_sci(v)
    return num(v, digits, sign=True)


def _html_color(i: int) -> str:
    return ui.html_color(COLORS[i])


def _gray_pixmap(pixels: np.ndarray, scale: int = 4) -> QPixmap:
    buf = np.ascontiguousarray(np.asarray(pixels, dtype=np.uint8).reshape(28, 28))
    image = QImage(buf.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(
        28 * scale, 28 * scale, Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


#: The blank-image box's title; the comparison note sends the learner there by name
#: (not by place: where it is depends on the tab's width).
BLANK_TITLE = "No bias: what it cannot do"
#: No bias within this much of one bias: "accuracy alone hides what a bias adds".
CLOSE = 0.01


def comparison_note(accuracy, pair: tuple[str, str]) -> str:
    """One sentence under the side-by-side table: why its accuracies (no bias about as
    good as one bias, walk-through 13: 95.0% vs 94.5%) do not show what a bias adds, and
    where that does show — the blank image.  Written from the numbers shown; "" while
    one is unknown."""
    if len(accuracy) != 3 or any(a is None for a in accuracy):
        return ""
    one, none = accuracy[SCALAR], accuracy[NONE]
    where = (
        f"for an empty image (“{BLANK_TITLE}”): no bias must say 50/50, and the 784 "
        "per-pixel biases add up to one number, Σbᵢ."
    )
    if none >= one - CLOSE:
        first, second = pair
        return (
            "Accuracy alone hides what a bias adds: a boundary through the blank image "
            f"already splits “{first}” from “{second}” well, hence no bias "
            f"{100 * none:.1f}% vs one bias {100 * one:.1f}%. It shows {where}"
        )
    return (
        f"One bias {100 * one:.1f}% vs no bias {100 * none:.1f}%; accuracy alone does "
        f"not say why. It shows {where}"
    )


def bias_scale(b: np.ndarray) -> tuple[float, list[tuple[float, str]]]:
    """The colour scale of the per-pixel biases: (m, ticks) for levels −m…m around 0
    (white = 0) that include every finite bᵢ, and ticks at every multiple of a nice step
    from −m to m, m itself one of them, so both ends of the bar are labelled.

    With m the largest |bᵢ| and pyqtgraph's own ticks, 784 equal biases of −0.0052 gave
    a bar labelled 0, 0.002, 0.004 only: the negative labels were wider than the axis and
    pyqtgraph dropped them (walk-through 13).  All zero (or none finite): −1…1."""
    b = np.asarray(b, dtype=np.float64)
    finite = b[np.isfinite(b)]
    largest = float(np.abs(finite).max()) if finite.size else 0.0
    if largest < 1e-9:
        largest = 1.0
    step = nice_ceiling(largest / 3)  # two or three steps each side of 0
    m = math.ceil(largest / step - 1e-9) * step
    # written as the main view's colour bars write them (colorbar_ticks picks this same
    # step for ±3 steps)
    ticks = [(v, text) for v, text in colorbar_ticks(-3 * step, 3 * step)
             if abs(v) <= m * (1 + 1e-9)]
    return m, ticks


class _BiasPicture(QWidget):
    """The 784 per-pixel biases laid out as a 28×28 picture, colours centred on 0."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._area = pg.GraphicsLayoutWidget()
        self._area.setBackground("w")
        self._area.setFixedHeight(150)
        self._area.setMinimumWidth(170)
        self._view = self._area.addViewBox(row=0, col=0, lockAspect=True, invertY=True,
                                           enableMenu=False)
        self._view.setMouseEnabled(x=False, y=False)
        cmap = diverging_colormap()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(cmap)
        self.image.setBorder(pg.mkPen((150, 150, 150)))
        self._view.addItem(self.image)
        self._view.setRange(xRange=(0, 28), yRange=(0, 28), padding=0.02)
        self._bar = pg.ColorBarItem(values=(-1, 1), colorMap=cmap, interactive=False,
                                    colorMapMenu=False, width=12)
        axis = self._bar.getAxis("right")
        ui.style_axis(axis)
        axis.setLabel("bᵢ", color="#303030")
        self._area.addItem(self._bar, row=0, col=1)
        self._levels = (-1.0, 1.0)
        self._ticks: list[tuple[float, str]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._area)
        self._area.setToolTip(
            "The 784 per-pixel biases bᵢ, each drawn where its pixel is in the 28×28 "
            "image.\nRed: a positive bᵢ, blue: negative, white: 0 (the scale is "
            "symmetric around 0).\nWhat to look for: training never draws anything here. "
            "Every bᵢ gets the same gradient, so all 784 move by the same amount each "
            "step: the picture only changes colour as a whole. Any pattern you see is "
            "left over from the random start."
        )

    def set_biases(self, b: np.ndarray) -> None:
        b = np.asarray(b, dtype=np.float32).reshape(28, 28)
        m, ticks = bias_scale(b)
        self._levels = (-m, m)
        self.image.setImage(b, levels=self._levels, autoLevels=False)
        self._bar.setLevels(self._levels)
        if ticks != self._ticks:
            self._ticks = ticks
            axis = self._bar.getAxis("right")
            axis.setTicks([ticks, []])
            # wide enough for every label (pyqtgraph drops a label wider than its axis)
            metrics = QFontMetricsF(axis.style["tickFont"] or self.font())
            text_w = max(metrics.horizontalAdvance(text) for _v, text in ticks)
            title_h = axis.label.boundingRect().height()
            axis.setWidth(math.ceil(text_w + title_h + 4))

    def ticks(self) -> list[tuple[float, str]]:
        """The colour bar's labelled values and their texts."""
        return list(self._ticks)

    def levels(self) -> tuple[float, float]:
        return self._levels


class BiasLesson(ui.SideBySideLesson):
    """Three single neurons -- one bias, 784 per-pixel biases, no bias -- side by side."""

    title = "One bias, or one per pixel?"
    seed = "000"
    ready_text = "Ready: press Start. All three start from the same 784 weights."
    ten_class_note = (
        "The main window's task has all ten classes, but one neuron answers one "
        "yes/no question, so this lesson uses “{first}” vs “{second}” from {dataset}."
    )

    def __init__(self, data: TaskData | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._status = ["", "", ""]
        self._image_index = 0
        self._instability_mode = False
        self._recent: deque[tuple[int, float, float]] = deque(maxlen=RATIO_WINDOW + 1)
        self._first_ratio: float | None = None
        self._start_biases: tuple[float, float] = (0.0, 0.0)
        self._start_spread = 0.0
        self._last_ratio = float("nan")
        self._identity: dict[str, float] = {}
        self._blank: list[tuple[float, float]] = []
        self._build_ui()
        self._open(data)

    # ------------------------------------------------------------------ building
    def _build_ui(self) -> None:
        self._make_top()

        # controls --------------------------------------------------------------------
        self.lr_spin = ui.lr_spin(
            DEFAULT_LR, 10000.0,
            "Learning rate, the same for all three neurons: each step moves every "
            "parameter by −lr × its gradient (plain SGD, as in the chapter).\n"
            "1.0 is the chapter's value. Try the preset button to see what a bigger one "
            "does to the per-pixel neuron. Takes effect at the next Start."
        )
        self.epochs_spin = ui.int_spin(
            1, 1000, DEFAULT_EPOCHS,
            "How many epochs (passes over the training images) each Start trains."
        )
        self.std_spin = ui.decimal_spin(
            2, 0.0, 10.0, 0.1, DEFAULT_STD,
            "The spread of the random starting weights (and bias): normal(0, std), the "
            "chapter's init_params uses 1.0.\nAll three neurons start from the very same "
            "784 weights. Changing it starts again from step 0."
        )
        self.seed_spin = ui.int_spin(
            0, 9999, DEFAULT_SEED,
            "Seed of the random start and of the batch order (shared by all three "
            "neurons).\nOther seeds give other starts: at the chapter's lr 1.0 the "
            "per-pixel neuron trains with some seeds and gets stuck with others; at the "
            "preset's lr it gets stuck with all of them. Changing it starts again."
        )
        self.start_combo = QComboBox()
        self.start_combo.addItem("bᵢ = b/784, so Σbᵢ = b", START_SAME_SUM)
        self.start_combo.addItem("784 random bᵢ (init_params(28*28))", START_RANDOM)
        self.start_combo.setToolTip(
            "Where the per-pixel biases start.\n"
            "• bᵢ = b/784: each is the one-bias neuron's b divided by 784, so Σbᵢ = b and "
            "both neurons start in exactly the same state; any difference later comes "
            "from how the biases learn.\n"
            "• 784 random bᵢ: what init_params(28*28) gives. Their sum is √784 = 28 "
            "times as spread as one random number, so the neuron starts with a huge "
            "bias, far outside the range where σ has a slope. Changing it starts again."
        )
        self.speed_combo = ui.speed_combo(
            "How fast training runs. Slower is easier to watch; the training itself is "
            "the same. Can be changed while it runs."
        )
        self.start_button, self.stop_button, self.reset_button = ui.run_buttons(
            "Train the three neurons side by side for the chosen number of epochs "
            "(continues from where they are)."
        )
        self.preset_button = QPushButton(f"Show the instability (lr = {INSTABILITY_LR:g})")
        self.preset_button.setToolTip(
            f"Start again with learning rate {INSTABILITY_LR:g} (biases starting equal, "
            "init std 1): the one-bias neuron learns fine, the per-pixel one gets stuck "
            "at 50%. Measured on the MNIST sample, 3 vs 7, with seeds 0 to 4."
        )
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.hint.setFrameShape(QFrame.Shape.StyledPanel)
        self.hint.setStyleSheet(
            "QLabel { background: #fff6e0; border: 1px solid #e8c77a; border-radius: 4px;"
            " padding: 5px; }"
        )
        self.hint.hide()
        self.status_label = ui.status_label("What the three neurons are doing now.")
        self._settings = (self.lr_spin, self.epochs_spin, self.std_spin, self.seed_spin,
                          self.start_combo)

        row1 = ui.settings_row((("Learning rate", self.lr_spin), ("Epochs", self.epochs_spin),
                                ("Init std", self.std_spin), ("Seed", self.seed_spin),
                                ("Per-pixel biases start as", self.start_combo)))
        row2 = ui.button_row(
            (self.start_button, self.stop_button, self.reset_button, self.preset_button),
            (("Speed", self.speed_combo),), self.status_label,
        )

        # plots -----------------------------------------------------------------------------
        self.loss_plot = ui.make_plot(
            "Training loss (each batch)", "step", "loss",
            "The loss of each batch before the step, for the three neurons (lower is "
            "better). They all see the same batches in the same order.\nA per-pixel "
            "neuron that is stuck sits at 0.5: it gives every image the same answer.",
        )
        self.loss_plot.setYRange(0, 0.6)
        self.loss_curves = [
            self.loss_plot.plot([], [], pen=PENS[i], name=NAMES[i]) for i in range(3)
        ]
        self.acc_plot, self.acc_curves = ui.accuracy_plot(
            "The share of validation images (never trained on) each neuron gets right, "
            "after each epoch. Epoch 0 is the start.\nFor two balanced classes 50% "
            "(dotted line) is what always giving the same answer scores.",
            COLORS, NAMES,
        )
        self.bias_plot = ui.make_plot(
            f"The bias that acts: <span style='color:{_html_color(1)}'>Σbᵢ</span> and "
            f"<span style='color:{_html_color(0)}'>b</span>",
            "step", "bias",
            "Orange: the per-pixel neuron's Σbᵢ, the sum of its 784 biases (the only way "
            "they act). Blue: the one-bias neuron's b.\nEvery bᵢ gets the same gradient "
            "that the single b would get, so their sum moves 784 times as far per step: "
            "the orange line jumps while the blue one barely moves.",
        )
        self.bias_plot.addItem(pg.InfiniteLine(
            0, angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DotLine)))
        self.sum_curve = self.bias_plot.plot([], [], pen=PENS[PER_PIXEL],
                                             name="Σbᵢ (784 per-pixel biases)")
        self.b_curve = self.bias_plot.plot([], [], pen=PENS[SCALAR], name="b (one bias)")
        self._step_plots = (self.loss_plot, self.bias_plot)
        self._epoch_plots = (self.acc_plot,)
        self.ratio_label = ui.note()
        self.ratio_label.setToolTip(
            "How far the two biases move per step. The per-pixel neuron's 784 biases each "
            "take the step a single bias would take, so their sum takes 784 of them.\n"
            "The measured ratio drifts away from 784 once the two neurons are no longer "
            "in the same state (their gradients then differ)."
        )

        # the per-pixel biases --------------------------------------------------------------
        self.key_label = ui.key_label(
            # a formula never wraps inside ("(x*w +" then "b).sum()" at 1280×720)
            ui.key_html(COLORS, NAMES, tuple(f" <code>{unbroken(f)}</code>" for f in FORMULAS)),
            "The three neurons keep these colours in every plot and table of this lesson.",
        )
        self.bias_picture = _BiasPicture()
        self.bias_numbers = ui.note()
        self.bias_numbers.setToolTip(
            "Σbᵢ is the per-pixel neuron's sum of its 784 biases; b is the one-bias "
            "neuron's bias. The spread is the largest bᵢ minus the smallest: training "
            "never changes it, because all 784 move together."
        )

        # the identity -----------------------------------------------------------------------
        self.image_label = QLabel()
        self.image_label.setFixedSize(28 * 3 + 4, 28 * 3 + 4)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setStyleSheet("QLabel { border: 1px solid #b0b0b0; background: black; }")
        self.image_label.setToolTip(
            "A real validation image x (784 pixel values between 0 and 1)."
        )
        self.next_image_button = QPushButton("Next image")
        self.next_image_button.setToolTip("Check the identity on another validation image.")
        self.identity_label = ui.note()
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.identity_label.setFont(mono)
        self.identity_label.setToolTip(
            "First line: what the per-pixel neuron computes, adding a bias to every "
            "pixel's x×w and then summing.\nSecond line: the dot product plus the sum of "
            "the biases. "
            "They are equal for every image, because a sum of (xᵢwᵢ + bᵢ) is Σxᵢwᵢ + Σbᵢ."
            "\nSo the 784 biases act only through their sum: one bias b = Σbᵢ would give "
            "exactly the same outputs."
        )

        # no bias ----------------------------------------------------------------------------
        self.blank_label = ui.note()
        self.blank_label.setToolTip(
            "A blank image has every pixel 0, so x·w = 0 whatever the weights: without a "
            "bias its output is z = 0 and σ(0) = 0.5 — exactly undecided, forever.\n"
            "The bias is what lets a neuron move its threshold away from the origin."
        )

        # the scoreboard ----------------------------------------------------------------------
        self.table_note = ui.note()
        self.table_note.setToolTip(
            "Why the accuracies alone do not show what a bias does, and where to see it."
        )
        self.table_note.hide()
        self.table = QTableWidget(3, 4)
        self.table.setHorizontalHeaderLabels(
            ["Model", "Parameters", "Valid. accuracy", "Status"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        for c in (0, 1, 2):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setToolTip(
            "The three neurons side by side: what they compute, how many numbers they "
            "learn (784 weights plus their biases) and their accuracy on the validation "
            "images after the last epoch."
        )
        for i in range(3):
            item = QTableWidgetItem(NAMES[i])
            item.setToolTip(f"{NAMES[i]}: {FORMULAS[i]}")
            item.setForeground(pg.mkColor(COLORS[i]))
            f = item.font()
            f.setBold(True)
            item.setFont(f)
            self.table.setItem(i, 0, item)
            for c in (1, 2, 3):
                cell = QTableWidgetItem("")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, c, cell)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + sum(
            self.table.rowHeight(r) for r in range(3)) + 4
        self.table.setFixedHeight(height)
        ui.fit_table_width(self.table, TABLE_STATUSES)

        # layout ---------------------------------------------------------------------------
        picture_row = QHBoxLayout()
        picture_row.addWidget(self.bias_picture, 2)
        picture_row.addWidget(self.bias_numbers, 1)
        identity_row = QHBoxLayout()
        image_col = QVBoxLayout()
        image_col.addWidget(self.image_label, 0, Qt.AlignmentFlag.AlignHCenter)
        image_col.addWidget(self.next_image_button)
        image_col.addStretch(1)
        identity_row.addLayout(image_col)
        identity_row.addWidget(self.identity_label, 1)

        self.picture_box = ui.group(
            "The 784 per-pixel biases bᵢ: training shifts them all alike", picture_row)
        self.identity_box = ui.group("The identity, on a real image", identity_row)
        self.blank_box = ui.group(BLANK_TITLE, self.blank_label)
        self.table_box = ui.group("Side by side", self.table, self.table_note)

        # Three columns when the tab is wide; two and the biases' boxes below them on a
        # laptop (the boxes side by side when they fit); one column when narrower.
        below = ui.panel(self.ratio_label, self.table_box)
        boxes = (self.picture_box, self.identity_box, self.blank_box)
        self.boxes_grid = ReflowGrid([
            Arrangement(tuple(Cell(b, 0, i) for i, b in enumerate(boxes))),
            Arrangement((Cell(boxes[0], 0, 0), Cell(boxes[1], 0, 1),
                         Cell(boxes[2], 1, 0, 1, 2))),
            stacked(*boxes),
        ])
        right = ui.panel(self.boxes_grid)
        plots = (self.loss_plot, self.acc_plot, self.bias_plot)
        scroll, self.panels = ui.scroll_panels(self.key_label, [
            Arrangement((Cell(plots[0], 0, 0), Cell(plots[1], 1, 0), Cell(plots[2], 0, 1),
                         Cell(below, 1, 1), Cell(right, 0, 2, 2, 1)), (5, 5, 4), (1, 1)),
            Arrangement((Cell(plots[0], 0, 0), Cell(plots[2], 0, 1), Cell(plots[1], 1, 0),
                         Cell(below, 1, 1), Cell(right, 2, 0, 1, 2)), (1, 1), (1, 1)),
            stacked(plots[0], plots[1], plots[2], below, right),
        ])
        self._lay_out(row1, row2, self.hint, scroll=scroll)

        # wiring -----------------------------------------------------------------------------
        self.preset_button.clicked.connect(self.show_instability)
        self.next_image_button.clicked.connect(self.next_image)
        self.std_spin.valueChanged.connect(self._on_start_changed)
        self.seed_spin.valueChanged.connect(self._on_start_changed)
        self.start_combo.currentIndexChanged.connect(self._on_start_changed)
        self.lr_spin.valueChanged.connect(self._on_lr_changed)

    # ------------------------------------------------------------------ Lesson contract
    def set_data(self, data: TaskData) -> None:
        """New dataset or task: start again on it (ten classes: the pair 3 vs 7)."""
        if not self._take_data(data):
            return
        self._image_index = 0
        self._update_intro()
        self.reset()

    # ------------------------------------------------------------------ commands
    def _before_run(self) -> None:
        for i in range(3):
            if self._status[i] in ("", "finished", "stopped"):
                self._status[i] = "training"
        self._update_table()

    def show_instability(self) -> None:
        """The preset: start again at a learning rate the per-pixel neuron cannot take."""
        if self._closed:
            return
        self._runner.cancel()
        # The measured set-up: biases starting equal (Σbᵢ = b) and the chapter's init.
        for widget, set_value in ((self.lr_spin, lambda: self.lr_spin.setValue(INSTABILITY_LR)),
                                  (self.std_spin, lambda: self.std_spin.setValue(DEFAULT_STD)),
                                  (self.start_combo, lambda: self.start_combo.setCurrentIndex(0))):
            widget.blockSignals(True)
            set_value()
            widget.blockSignals(False)
        self._instability_mode = True
        self._update_hint()
        self.reset()
        self.start()

    def next_image(self) -> None:
        """Check the identity on the next validation image."""
        self._image_index = (self._image_index + 1) % max(self._data.n_valid, 1)
        self._show_image()
        self._update_identity()

    # ------------------------------------------------------------------ read-outs for tests
    def identity_values(self) -> dict[str, float]:
        """The last identity shown: lhs, rhs, difference, bias_sum, weighted_sum."""
        return dict(self._identity)

    def blank_outputs(self) -> list[tuple[float, float]]:
        """(z, σ(z)) of each neuron for a blank image, in the order of NAMES."""
        return list(self._blank)

    def bias_step_ratio(self) -> float:
        """Measured mean |ΔΣbᵢ| / mean |Δb| over the last steps (NaN before any)."""
        return self._last_ratio

    def first_step_ratio(self) -> float | None:
        """ΔΣbᵢ / Δb of step 1 (from the same state when the biases start equal)."""
        return self._first_ratio

    # ------------------------------------------------------------------ internals
    def _make_trainers(self) -> None:
        from biasviz.core.train_loop import NumpyTrainer

        seed, std = self.seed_spin.value(), float(self.std_spin.value())
        self._specs = tuple(
            ModelSpec(kind=ModelKind.SINGLE, bias_mode=m, init_std=std, seed=seed) for m in MODES
        )
        config = self._config()
        self._trainers = [NumpyTrainer(spec, self._data, config) for spec in self._specs]
        if self.start_combo.currentData() == START_SAME_SUM:
            b = float(self._trainers[SCALAR].snapshot().params["bias"][0])
            params = self._trainers[PER_PIXEL].snapshot().params
            params["bias"] = np.full(784, b / 784, dtype=np.float32)
            self._trainers[PER_PIXEL].set_params(params)
        self._snapshots = tuple(t.snapshot() for t in self._trainers)
        self._start_biases = (
            float(self._snapshots[SCALAR].params["bias"][0]),
            float(np.sum(self._snapshots[PER_PIXEL].params["bias"], dtype=np.float64)),
        )
        self._start_spread = float(np.ptp(self._snapshots[PER_PIXEL].params["bias"]))
        self._accuracy = [t.evaluate()[1] for t in self._trainers]

    def _clear_history(self) -> None:
        self._losses = [BoundedSeries(4096) for _ in range(3)]
        self._sum_series = BoundedSeries(4096)
        self._b_series = BoundedSeries(4096)
        self._recent.clear()
        self._first_ratio = None
        self._last_ratio = float("nan")
        self._status = ["", "", ""]
        self._sum_series.append(0, self._start_biases[1])
        self._b_series.append(0, self._start_biases[0])
        self._recent.append((0, self._start_biases[0], self._start_biases[1]))
        for c in self.loss_curves:
            c.setData([], [])
        self._clear_accuracy()
        self._redraw_biases()
        self._show_image()
        self._show_snapshots(self._snapshots)
        self._update_ratio_text(None)
        self._update_table()

    def _update_intro(self) -> None:
        first, second = self._data.class_names
        self.intro.setText(
            f"<b>One bias, or one per pixel?</b> Three single neurons learn “{first}” vs "
            f"“{second}” side by side — same starting weights, same batches, same learning "
            "rate. Only the bias differs. Look at <b>the identity</b>: 784 per-pixel biases "
            "act only through their sum Σbᵢ, so they are one bias in disguise. Look at "
            "<b>the bias plot</b>: every bᵢ gets the same gradient, so Σbᵢ takes a step "
            "784× as big — too big at higher learning rates. And look at <b>the blank "
            "image</b>: with no bias it is always exactly 50/50."
        )

    def _on_start_changed(self, *_args) -> None:
        if not self._runner.is_running():
            self._instability_mode = False
            self._update_hint()
            self.reset()

    def _on_lr_changed(self, *_args) -> None:
        if self._instability_mode and self.lr_spin.value() != INSTABILITY_LR:
            self._instability_mode = False
            self._update_hint()

    def _update_hint(self) -> None:
        """The yellow box: what to watch for in the preset, or why the random start of
        the per-pixel biases is a bad one."""
        if self._instability_mode:
            text = (
                f"<b>What to watch for (lr = {INSTABILITY_LR:g}):</b> on the bias plot the "
                "orange Σbᵢ leaps by tens or hundreds in a single step, while the blue b "
                "moves by hundredths. Once |Σbᵢ| is large, σ(z) is nearly 1 (or 0) for "
                "<i>every</i> image: the sigmoid is flat there, its gradient is almost 0, "
                "and the per-pixel neuron is stuck giving everyone the same answer — 50% "
                "accuracy, loss 0.5. The one-bias neuron, with the same learning rate and "
                "the same batches, learns to well over 90%. Same maths, same gradient per "
                "bias; only the 784-fold step of the sum differs."
            )
        elif self.start_combo.currentData() == START_RANDOM:
            text = (
                "<b>784 random biases:</b> each bᵢ is drawn from normal(0, std), like "
                "<code>init_params(28*28)</code>. Their sum spreads √784 = 28 times as "
                "much as one random number, so the per-pixel neuron usually starts with a "
                "|Σbᵢ| far bigger than anything x·w adds: σ(z) is flat (nearly 0 or 1) "
                "for every image, and it learns little or nothing at any learning rate: its "
                "biases start in a range far too wide for σ. The picture now "
                "shows the random start, and training never changes its pattern."
            )
        else:
            self.hint.hide()
            return
        self.hint.setText(text)
        self.hint.show()

    # -- runner events ------------------------------------------------------------------
    def _on_progress(self, rounds: list, snapshots: tuple) -> None:
        for r in rounds:
            for i, s in enumerate(r.steps):
                if s is not None and math.isfinite(s.loss):
                    self._losses[i].append(s.step, s.loss)
            sc, pp = r.steps[SCALAR], r.steps[PER_PIXEL]
            if sc is not None:
                self._b_series.append(sc.step, sc.bias)
            if pp is not None:
                self._sum_series.append(pp.step, pp.bias)
            if sc is not None and pp is not None:
                prev = self._recent[-1] if self._recent else None
                if r.step == 1 and prev is not None and prev[0] == 0:
                    d_b, d_sum = sc.bias - prev[1], pp.bias - prev[2]
                    self._first_ratio = d_sum / d_b if d_b != 0 else None
                self._recent.append((r.step, sc.bias, pp.bias))
        for i, curve in enumerate(self.loss_curves):
            ui.set_curve(curve, self._losses[i].x, self._losses[i].y, COLORS[i])
        self._grow_axes(rounds[-1].step, 0)
        self._redraw_biases()
        self._show_snapshots(snapshots)
        self._update_ratio_text(snapshots)
        last = rounds[-1]
        self._show_step(last.steps[SCALAR] or last.steps[PER_PIXEL] or last.steps[NONE])

    def _on_epoch(self, epochs, snapshots: tuple) -> None:
        self._record_epoch(epochs)
        self._show_snapshots(snapshots)
        self._update_table()

    def _on_model_ended(self, index: int, ended) -> None:
        self._status[index] = "diverged"
        self._update_table()
        self.status_label.setText(f"The {NAMES[index]} neuron: {ended.message}")

    def _on_ended(self, ends, snapshots: tuple) -> None:
        for i, e in enumerate(ends.ends):
            if self._status[i] != "diverged":
                self._status[i] = e.reason.value
        self._show_snapshots(snapshots)
        self._update_ratio_text(snapshots)
        self._update_table()
        self._set_running(False)
        reason = ends.ends[0].reason.value if ends.ends else "finished"
        step = max((e.step for e in ends.ends), default=0)
        self._show_ended(reason == "stopped", step)

    # -- drawing -----------------------------------------------------------------------
    def _redraw_biases(self) -> None:
        ui.set_curve(self.sum_curve, self._sum_series.x, self._sum_series.y, COLORS[PER_PIXEL])
        ui.set_curve(self.b_curve, self._b_series.x, self._b_series.y, COLORS[SCALAR])

    def _show_image(self) -> None:
        pixels = self._data.valid_x[self._image_index]
        self.image_label.setPixmap(_gray_pixmap(pixels, scale=3))
        names = self._data.target_names()
        label = names[int(self._data.valid_y[self._image_index])]
        self.image_label.setToolTip(
            f"Validation image {self._image_index + 1} of {self._data.n_valid} "
            f"(a “{label}”): the x in the identity, 784 pixel values between 0 and 1."
        )

    def _show_snapshots(self, snapshots: tuple | None) -> None:
        if not snapshots:
            return
        self._snapshots = snapshots
        scalar_b = float(snapshots[SCALAR].params["bias"][0])
        biases = snapshots[PER_PIXEL].params["bias"]
        total = float(np.sum(biases, dtype=np.float64))
        self.bias_picture.set_biases(biases)
        spread = float(np.ptp(biases))
        self.bias_numbers.setText(
            f"<span style='color:{_html_color(1)}'><b>Σbᵢ = {_fmt(total)}</b></span><br>"
            f"the sum of the 784 biases in the picture<br><br>"
            f"<span style='color:{_html_color(0)}'><b>b = {_fmt(scalar_b)}</b></span><br>"
            f"the one-bias neuron's bias<br><br>"
            f"Each bᵢ on average: {_fmt(total / 784, 5)}<br>"
            f"Spread of the 784 bᵢ<br>(largest − smallest):<br>"
            f"at the start {num(self._start_spread, 4)},<br>now {num(spread, 4)}"
        )
        self._update_identity()
        self._update_blank()

    def _update_identity(self) -> None:
        if not self._snapshots:
            return
        params = self._snapshots[PER_PIXEL].params
        x = self._data.valid_x[self._image_index].astype(np.float64) / 255.0
        ident = per_pixel_identity(params, x)
        self._identity = ident
        p = sigmoid(ident["lhs"])
        first, second = self._data.class_names
        answer = first if ident["lhs"] >= 0 else second
        self.identity_label.setText(
            "<table cellspacing=0 cellpadding=1>"
            f"<tr><td>{unbroken(FORMULAS[1])}</td><td>= </td>"
            f"<td align=right><b>{num(ident['lhs'], 4)}"
            "</b></td></tr>"
            f"<tr><td>x·w + Σbᵢ</td><td>= </td><td align=right><b>{num(ident['rhs'], 4)}</b>"
            "</td></tr>"
            f"<tr><td colspan=3 style='font-family:sans-serif'>&nbsp;&nbsp;= "
            f"{num(ident['weighted_sum'], 4)} + ({num(ident['bias_sum'], 4)})</td></tr>"
            f"<tr><td>difference</td><td>= </td><td align=right>{unbroken(signed_sci(ident['difference']))}"
            "</td></tr></table>"
            "<p style='font-family:sans-serif'>Equal, for every image: the 784 biases act "
            f"only through their sum.<br>Here σ(z) = {p:.3f} → “{answer}”.</p>"
        )

    def _update_blank(self) -> None:
        if not self._snapshots:
            return
        blank = np.zeros((1, 784), dtype=np.float32)
        self._blank = []
        for spec, snap in zip(self._specs, self._snapshots, strict=True):
            z = float(numpy_logits(snap.params, spec, blank)[0])
            self._blank.append((z, sigmoid(z)))
        (zs, ps), (zp, pp), (zn, pn) = self._blank
        c = _html_color
        self.blank_label.setText(
            "A blank image (every pixel 0) has x·w = 0, so<br>"
            f"<span style='color:{c(2)}'><b>no bias:</b></span> z = {num(zn, 4)} → "
            f"σ(z) = <b>{pn:.4f}</b>, exactly 50/50, always<br>"
            f"<span style='color:{c(0)}'>one bias:</span> z = b = {num(zs, 4)} → σ = {ps:.4f}<br>"
            f"<span style='color:{c(1)}'>per pixel:</span> z = Σbᵢ = {num(zp, 4)} → σ = {pp:.4f}"
            "<br>Without a bias the boundary x·w = 0 passes through the blank image: the "
            "threshold cannot move, and stronger or fainter ink (x → 2x) never changes "
            "the answer."
        )

    def _update_ratio_text(self, snapshots: tuple | None) -> None:
        lines = []
        if self._first_ratio is not None and self.start_combo.currentData() == START_SAME_SUM:
            lines.append(
                f"<b>Step 1</b>, from the very same state: Σbᵢ moved "
                f"<b>{self._first_ratio:.1f}×</b> as far as b."
            )
        if len(self._recent) >= 2:
            m_b = mean_step([r[1] for r in self._recent], RATIO_WINDOW)
            m_sum = mean_step([r[2] for r in self._recent], RATIO_WINDOW)
            ratio = m_sum / m_b if m_b > 0 else float("nan")
            self._last_ratio = ratio
            n = len(self._recent) - 1
            text = (
                f"<b>Last {n} step{'s' if n != 1 else ''}</b>: Σbᵢ moved {m_sum:.3f} per step "
                f"on average, b {m_b:.4f}"
            )
            if math.isfinite(ratio) and m_sum < 1e-6:
                text += (": Σbᵢ has stopped moving. The per-pixel neuron is stuck: its σ(z) "
                         "is flat at 0 or 1 for every image, so its gradient is about 0")
            elif math.isfinite(ratio):
                text += f": <b>{ratio:.0f}×</b> as far"
                if abs(ratio / 784 - 1) > 0.1:
                    text += " (not exactly 784× now: the two neurons have drifted apart, so " \
                        "their gradients differ)"
            lines.append(text + ".")
        if snapshots is not None:
            up_pp = snapshots[PER_PIXEL].last_update
            up_sc = snapshots[SCALAR].last_update
            if up_pp is not None and up_sc is not None:
                d = up_pp["bias"].astype(np.float64)
                each, spread = float(d.mean()), float(np.ptp(d))
                same = "all 784 exactly the same" if spread == 0 else \
                    f"all 784 the same up to float rounding, ±{spread:.0e}"
                lines.append(
                    f"<b>Last step</b>: every bᵢ moved {_fmt(each, 5)} ({same}), so Σbᵢ moved "
                    f"784 × that = {_fmt(784 * each, 3)}; b moved "
                    f"{_fmt(float(up_sc['bias'][0]), 5)}."
                )
        if not lines:
            lines.append(
                "Press Start. At each step every one of the 784 bᵢ gets the same gradient "
                "that a single b would get, so their sum moves 784 times as far."
            )
        self.ratio_label.setText("<br>".join(lines))

    def _update_table(self) -> None:
        for i in range(3):
            params = total_parameters(self._specs[i]) if self._specs else 0
            acc = self._accuracy[i]
            status = self._status[i] or "ready"
            if acc is not None and status in ("finished", "stopped") and acc <= 0.5 + 1e-9:
                status = "stuck at 50%"
            self.table.item(i, 1).setText(f"{params:,}")
            self.table.item(i, 2).setText("—" if acc is None else f"{100 * acc:.1f}%")
            self.table.item(i, 3).setText(status)
        ui.fit_table_width(self.table, TABLE_STATUSES)
        trained = any(len(points) > 1 for points in self._acc_points)  # an epoch or more
        note = comparison_note(self._accuracy, self._data.class_names) if trained else ""
        self.table_note.setText(note)
        self.table_note.setVisible(bool(note))
