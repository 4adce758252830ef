"""Lesson: the fastai chapter's own moments (04_mnist_basics, the single neuron on 3s vs 7s).

1. *Before any training, pixel similarity.*  The chapter's first classifier averages the
   training 3s and 7s into two "ideal" images and calls an image a 3 when it is closer to
   the ideal 3 (mean absolute difference).  ``mean₃ − mean₇`` drawn as a weight picture
   sits beside the neuron's learned weights, with the validation accuracy of the rule,
   of the same idea as a neuron ``z = x·(mean₃ − mean₇) + b``, and of the learned neuron.
2. *Why accuracy cannot be the loss.*  Multiply one weight by 1.0001: the chapter's
   ``mnist_loss`` moves (in the 6th or 7th decimal), the accuracy does not.  Over a range
   of factors the accuracy is a staircase (zero gradient almost everywhere) and the loss
   a smooth curve.  Everything comes from the cached ``z = x·w``: scaling ``w_j`` by ``f``
   gives ``z + (f − 1)·w_j·x_j``, O(n) per factor.

Ten-class tasks: both moments are about the chapter's two-class neuron, so the lesson
shows a note asking for a two-class task instead of inventing a ten-class version.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGraphicsRectItem,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.chapter import (
    accuracy_loss_curve,
    baseline_linear,
    influential_pixel,
    mean_images,
    nearest_mean_bias,
    per_class_accuracy,
    pixel_column,
    pixel_similarity_predictions,
)
from biasviz.core.datasets import TaskData
from biasviz.core.decisions import as_float_images
from biasviz.core.spec import MODEL_LABELS, BiasMode, ModelKind, Snapshot, effective_bias
from biasviz.core.text import signed_sci
from biasviz.gui.lessons.activation_lesson import (
    GatedLesson,
    RefreshGate,
    install_scrolling,
    make_plot,
    note_label,
    num,
    rich_label,
)
from biasviz.gui.lessons.base import Arrangement, Cell, ReflowGrid, lesson_text, stacked
from biasviz.gui.weights_view import WeightsView

SIDE = 28
DEFAULT_FACTOR = 1.0001
FACTOR_DECIMALS = 6
LOSS_DECIMALS = 10
N_FACTORS = 501
CURVE_REACH = 8.0  # default factor range: (f − 1)·|w_j| up to about this much change of z
ACC_COLOR = (0, 114, 178)
LOSS_COLOR = (213, 94, 0)
MARK_COLOR = (0, 0, 0)
CHAPTER_DATASETS = ("sample", "mnist")
CHAPTER_BADGE_STYLE = (
    "QLabel { background: #e6f4ea; border: 1px solid #9fcfae; border-radius: 4px;"
    " padding: 6px; color: #174d27; }"
)
OTHER_BADGE_STYLE = (
    "QLabel { background: #fdf3e1; border: 1px solid #e6c98f; border-radius: 4px;"
    " padding: 6px; color: #5c3d00; }"
)


def nice_range(w_j: float) -> float:
    """How far from 1 the factor axis reaches: enough to move z by about CURVE_REACH,
    rounded to 1, 2 or 5 × a power of ten, between 0.5 and 100."""
    w = abs(float(w_j))
    if not (w > 0 and math.isfinite(w)):
        return 3.0
    raw = min(max(CURVE_REACH / w, 0.5), 100.0)
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (1.0, 2.0, 5.0, 10.0):
        if raw <= step * power:
            return step * power
    return raw


def percent(fraction: float) -> str:
    return "—" if not math.isfinite(fraction) else f"{100.0 * fraction:.1f}%"


def is_chapter_setup(data: TaskData | None, snapshot: Snapshot | None) -> bool:
    """The chapter's exact model: MNIST 3s vs 7s, one neuron with one bias."""
    return (
        data is not None
        and data.task.classes == (3, 7)
        and data.dataset_key in CHAPTER_DATASETS
        and snapshot is not None
        and snapshot.spec.kind is ModelKind.SINGLE
        and snapshot.spec.bias_mode is BiasMode.SCALAR
    )


class ChapterLesson(GatedLesson):
    """The pixel-similarity baseline next to the learned neuron, and why the chapter
    trains on mnist_loss rather than on accuracy."""

    title = "The fastai chapter's own moments"
    seed = "chapter"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data: TaskData | None = None
        self._snapshot: Snapshot | None = None
        self._start: dict[str, np.ndarray] | None = None  # the model's first parameters
        self._valid_x: np.ndarray | None = None  # float images of a two-class task
        self._train_ink = np.zeros(SIDE * SIDE, dtype=bool)
        self._valid_ink = np.zeros(SIDE * SIDE, dtype=np.int64)
        self._baseline: dict | None = None
        # the current single neuron, cached per snapshot
        self._weights: np.ndarray | None = None
        self._bias = 0.0
        self._z0 = np.zeros(0)  # x·w without the bias
        self._pixel: int | None = None
        self._result: dict = {}
        # the staircase costs a few ms per 1,000 images: a few redraws a second are plenty
        self._gate = RefreshGate(self, self._refresh_model, min_interval=0.3)

        intro = lesson_text(
            "<b>Two moments from fastai's chapter 4 (04_mnist_basics).</b> "
            "First, the chapter beats chance <i>without any training</i>: average the 3s "
            "and the 7s into two ideal images and ask which one a digit is closer to. "
            "Second, it explains why SGD needs a <i>loss</i> (mnist_loss) and cannot "
            "follow accuracy: nudge one weight and see which of the two notices."
        )
        self.badge = QLabel()
        self.badge.setWordWrap(True)
        self.badge.setTextFormat(Qt.TextFormat.RichText)

        self.stack = QStackedWidget()
        self.note_page = QWidget()
        note_layout = QVBoxLayout(self.note_page)
        self.page_note = QLabel()
        self.page_note.setWordWrap(True)
        self.page_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.page_note.setTextFormat(Qt.TextFormat.RichText)
        note_layout.addStretch(1)
        note_layout.addWidget(self.page_note)
        note_layout.addStretch(2)
        self.content_page = QWidget()
        content = QVBoxLayout(self.content_page)
        content.setContentsMargins(0, 0, 0, 0)
        # the two moments side by side when the tab is wide, one below the other on a
        # laptop (each then wide enough for its pictures and plots)
        baseline, scale = self._build_baseline_box(), self._build_scale_box()
        self.panels = ReflowGrid([Arrangement((Cell(baseline, 0, 0), Cell(scale, 0, 1))),
                                  stacked(baseline, scale)], column_floor=480)
        content.addWidget(self.panels)
        self.stack.addWidget(self.note_page)
        self.stack.addWidget(self.content_page)

        install_scrolling(self, [intro, self.badge, self.stack], stretch_last=True)
        self._update_page()
        self._update_badge()

    # ------------------------------------------------------------------ building
    def _build_baseline_box(self) -> QGroupBox:
        box = QGroupBox("1 · Before any training: pixel similarity")
        v = QVBoxLayout(box)
        v.setSpacing(6)
        views = QHBoxLayout()
        views.setSpacing(8)
        self.baseline_view = WeightsView()
        self.baseline_view.set_help(
            "The mean training image of the first class minus the mean of the second, "
            "drawn as weights: red where the first class usually has ink and the second "
            "does not, blue the other way round. Nothing was trained: it is two averages."
        )
        views.addWidget(self.baseline_view, 1, Qt.AlignmentFlag.AlignTop)
        self.learned_stack = QStackedWidget()
        self.learned_view = WeightsView()
        self.learned_note = note_label()
        self.learned_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.learned_stack.addWidget(self.learned_view)
        self.learned_stack.addWidget(self.learned_note)
        views.addWidget(self.learned_stack, 1, Qt.AlignmentFlag.AlignTop)
        # the learned neuron as the main window shows it after training: what SGD added
        # (raw w after a normal(0, 1) start is mostly that start's noise, and beside the
        # two averages it read as "SGD learned nothing")
        self.learned_show = QComboBox()
        self.learned_show.addItem("what training changed: w − w₀", "delta")
        self.learned_show.addItem("the weights w", "weights")
        self.learned_show.setToolTip(
            "w − w₀: what training added to each weight since the random start; the "
            "template appears there. w: the weights themselves, the start's noise "
            "included. The experiment below uses a pixel's weight w either way.")
        self.learned_show.currentIndexChanged.connect(lambda *_: self._gate.request())
        show_row = QHBoxLayout()
        show_row.addStretch(1)
        show_row.addWidget(QLabel("The learned neuron shows:"))
        show_row.addWidget(self.learned_show)
        v.addLayout(show_row)
        v.addLayout(views)
        for view in (self.baseline_view, self.learned_stack):
            view.setMinimumHeight(260)  # the picture itself ≥ 150 px under its labels
            view.setMaximumHeight(340)

        # the chosen pixel of the scale demo, outlined on the learned weights
        self.pixel_marker = QGraphicsRectItem(QRectF(0, 0, 1, 1))
        self.pixel_marker.setPen(pg.mkPen((20, 160, 60), width=2.5))
        self.pixel_marker.setZValue(30)
        self.pixel_marker.hide()
        self.learned_view.view_box().addItem(self.pixel_marker, ignoreBounds=True)
        self.learned_view.plot_widget().scene().sigMouseClicked.connect(self._on_weights_clicked)

        self.baseline_label = rich_label()
        self.baseline_label.setToolTip(
            "Validation images only: none of them was used to compute the mean images, "
            "to pick the bias, or to train the neuron."
        )
        v.addWidget(self.baseline_label)
        self.connection_label = rich_label()
        v.addWidget(self.connection_label)
        v.addStretch(1)
        return box

    def _build_scale_box(self) -> QGroupBox:
        box = QGroupBox("2 · Why accuracy cannot be the loss")
        outer = QVBoxLayout(box)
        outer.setSpacing(6)
        self.scale_stack = QStackedWidget()
        self.scale_note = note_label()
        self.scale_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(6)
        self.scale_stack.addWidget(page)
        self.scale_stack.addWidget(self.scale_note)
        outer.addWidget(self.scale_stack)

        controls = QGridLayout()
        controls.setHorizontalSpacing(6)
        controls.setVerticalSpacing(4)
        self.row_spin = QSpinBox()
        self.col_spin = QSpinBox()
        for spin, name in ((self.row_spin, "row "), (self.col_spin, "column ")):
            spin.setRange(0, SIDE - 1)
            spin.setPrefix(name)
            spin.setKeyboardTracking(False)
            spin.setToolTip("Which pixel's weight to change (0 = top / left). You can also "
                            "click a pixel of the learned weights.")
        self.influential_button = QPushButton("Most influential pixel")
        self.influential_button.setToolTip(
            "The pixel whose weight moves the outputs most: the largest mean |w·x| over the "
            "validation images.")
        self.largest_button = QPushButton("Largest |w|")
        self.largest_button.setToolTip(
            "The pixel with the biggest weight. Careful: if no image has ink there, the "
            "weight multiplies 0 and changing it changes nothing.")
        self.factor_spin = QDoubleSpinBox()
        self.factor_spin.setDecimals(FACTOR_DECIMALS)
        self.factor_spin.setRange(-100.0, 100.0)
        self.factor_spin.setSingleStep(0.0001)
        self.factor_spin.setValue(DEFAULT_FACTOR)
        self.factor_spin.setKeyboardTracking(False)
        self.factor_spin.setPrefix("× ")
        self.factor_spin.setToolTip("Multiply the chosen weight by this factor (1 = unchanged).")
        controls.addWidget(QLabel("Weight of pixel"), 0, 0)
        controls.addWidget(self.row_spin, 0, 1)
        controls.addWidget(self.col_spin, 0, 2)
        controls.addWidget(self.influential_button, 0, 3)
        controls.addWidget(self.largest_button, 0, 4)
        controls.addWidget(QLabel("multiplied by"), 1, 0)
        controls.addWidget(self.factor_spin, 1, 1, 1, 2)
        controls.setColumnStretch(5, 1)
        v.addLayout(controls)
        self.pixel_label = rich_label()
        v.addWidget(self.pixel_label)
        self.numbers_label = rich_label()
        v.addWidget(self.numbers_label)
        self.why_label = rich_label(
            "<b>Accuracy only changes when a prediction flips, so its gradient is zero "
            "almost everywhere — SGD needs a loss that changes smoothly.</b> mnist_loss "
            "averages σ(z) (how sure the neuron is), which moves a little for every image "
            "whenever any weight moves."
        )
        v.addWidget(self.why_label)

        plots = QHBoxLayout()
        plots.setSpacing(6)
        self.acc_plot = make_plot()
        self.loss_plot = make_plot()
        self.acc_curve = pg.PlotDataItem([0.0], [0.0], pen=pg.mkPen(ACC_COLOR, width=2))
        self.loss_curve = pg.PlotDataItem([0.0], [0.0], pen=pg.mkPen(LOSS_COLOR, width=2))
        self.factor_lines: list[pg.InfiniteLine] = []
        self.trained_lines: list[pg.InfiniteLine] = []
        text_color = self.palette().color(QPalette.ColorRole.Text)
        for plot, curve, title, ylabel in (
            (self.acc_plot, self.acc_curve, "accuracy: a staircase", "accuracy (%)"),
            (self.loss_plot, self.loss_curve, "mnist_loss: smooth", "mnist_loss"),
        ):
            item = plot.getPlotItem()
            item.setTitle(title, color=text_color.name(), size="10pt")
            item.setLabel("left", ylabel)
            item.setLabel("bottom", "factor")
            item.getAxis("left").enableAutoSIPrefix(False)
            item.addItem(curve)
            trained = pg.InfiniteLine(pos=1.0, angle=90, pen=pg.mkPen(
                text_color, width=1, style=Qt.PenStyle.DotLine))
            item.addItem(trained, ignoreBounds=True)
            line = pg.InfiniteLine(pos=DEFAULT_FACTOR, angle=90, pen=pg.mkPen(
                (20, 160, 60), width=1.5))
            item.addItem(line, ignoreBounds=True)
            self.trained_lines.append(trained)
            self.factor_lines.append(line)
            plot.setMinimumHeight(150)
            plots.addWidget(plot, 1)
        v.addLayout(plots, 1)
        range_row = QHBoxLayout()
        self.range_spin = QDoubleSpinBox()
        self.range_spin.setDecimals(3)
        self.range_spin.setRange(0.001, 1000.0)
        self.range_spin.setValue(3.0)
        self.range_spin.setKeyboardTracking(False)
        self.range_spin.setPrefix("1 ± ")
        self.range_spin.setToolTip(
            "The factors on the horizontal axis. Set automatically when you pick a pixel, "
            "so that the change reaches a few images' decisions.")
        self.range_caption = QLabel()
        self.range_caption.setWordWrap(True)
        range_row.addWidget(QLabel("Factors plotted:"))
        range_row.addWidget(self.range_spin)
        range_row.addWidget(self.range_caption, 1)
        v.addLayout(range_row)

        self.row_spin.valueChanged.connect(self._on_pixel_spin)
        self.col_spin.valueChanged.connect(self._on_pixel_spin)
        self.influential_button.clicked.connect(self.choose_influential_pixel)
        self.largest_button.clicked.connect(self.choose_largest_weight)
        self.factor_spin.valueChanged.connect(lambda _v: self._update_scale_demo())
        self.range_spin.valueChanged.connect(lambda _v: self._update_scale_demo())
        return box

    # ------------------------------------------------------------------ contract
    def set_data(self, data: TaskData) -> None:
        self._data = data
        self._pixel = None
        self._baseline = None
        # the cached z belong to the old images: drop them until the next refresh
        self._weights = None
        self._z0 = np.zeros(0)
        self._result = {}
        if data.task.is_binary:
            self._valid_x = as_float_images(data.valid_x)
            self._valid_ink = np.count_nonzero(data.valid_x, axis=0)
            self._train_ink = np.count_nonzero(data.train_x, axis=0) > 0
            self._compute_baseline()
        else:
            self._valid_x = None
        self._update_page()
        self._update_badge()
        self._show_baseline()
        self._gate.request()

    def set_start(self, params: dict[str, np.ndarray] | None) -> None:
        if params is not self._start:
            self._start = params
            self._gate.request()

    def set_model(self, snapshot: Snapshot | None) -> None:
        old = self._snapshot
        self._snapshot = snapshot
        if snapshot is None or old is None or snapshot.spec != old.spec or snapshot.step < old.step:
            self._pixel = None  # a new model: choose its most influential pixel again
        self._update_badge()
        self._gate.request()

    # ------------------------------------------------------------------ pages and badge
    def _update_page(self) -> None:
        data = self._data
        if data is None:
            self.page_note.setText("Load a dataset to see the chapter's moments.")
            self.stack.setCurrentWidget(self.note_page)
        elif not data.task.is_binary:
            self.page_note.setText(
                "<b>These moments are about the chapter's two-class neuron.</b><br>"
                "The pixel-similarity baseline compares <i>two</i> mean images, and "
                "mnist_loss scores <i>one</i> sigmoid output. You are on all ten classes: "
                "pick a two-class task (the chapter's is 3 vs 7) and the single neuron in "
                "the training panel to see them."
            )
            self.stack.setCurrentWidget(self.note_page)
        else:
            self.stack.setCurrentWidget(self.content_page)

    def _update_badge(self) -> None:
        data, snap = self._data, self._snapshot
        if is_chapter_setup(data, snap):
            self.badge.setStyleSheet(CHAPTER_BADGE_STYLE)
            self.badge.setText(
                "✔ <b>This is the fastai chapter 04_mnist_basics model</b>: one neuron, "
                "784 weights + 1 bias, telling 3s (target 1) from 7s (target 0), trained "
                "with SGD on mnist_loss.")
            return
        self.badge.setStyleSheet(OTHER_BADGE_STYLE)
        if (data is not None and data.task.is_binary and snap is not None
                and snap.spec.kind is ModelKind.SINGLE):
            self.badge.setText(
                f"The same kind of model as the fastai chapter 04_mnist_basics (one neuron), "
                f"here on {data.describe()}. The chapter's own model is the single neuron "
                "with one bias on MNIST 3s vs 7s.")
        else:
            self.badge.setText(
                "The fastai chapter 04_mnist_basics model is <b>the single neuron on MNIST 3s "
                "vs 7s</b> (784 weights + 1 bias). Choose it in the training panel to follow "
                "the chapter step by step.")

    # ------------------------------------------------------------------ section 1
    def _compute_baseline(self) -> None:
        data = self._data
        assert data is not None
        first_mean, second_mean = mean_images(data)
        predicted = pixel_similarity_predictions(data)
        weights, best_bias, linear_acc = baseline_linear(data)
        nm_bias = nearest_mean_bias(first_mean, second_mean)
        assert self._valid_x is not None
        z = self._valid_x.astype(np.float64) @ weights
        nm_acc = float(np.mean((z + nm_bias >= 0) == (data.valid_y == 1)))
        self._baseline = {
            "similarity": float(np.mean(predicted == data.valid_y)),
            "per_class": per_class_accuracy(predicted, data.valid_y),
            "weights": weights,
            "best_bias": best_bias,
            "linear": linear_acc,
            "nearest_bias": nm_bias,
            "nearest": nm_acc,
        }

    def baseline_numbers(self) -> dict:
        """The baseline's figures (accuracies as fractions), for tests and read-outs."""
        return dict(self._baseline or {})

    def _show_baseline(self) -> None:
        data, base = self._data, self._baseline
        if data is None or base is None:
            return
        first, second = data.class_names
        self.baseline_view.set_neurons(
            base["weights"][None, :], np.array([base["best_bias"]]),
            [f"mean {first} − mean {second}"],
            title=f"mean {first} − mean {second} (no training)")
        self.baseline_view.set_class_names(first, second)
        self.baseline_view.set_note("Two averages of the training images, subtracted.")
        self._update_results()
        self.connection_label.setText(
            f"<b>Why the middle row is a neuron:</b> asking “is x closer to mean {first} "
            f"than to mean {second}?” with <i>squared</i> distances is exactly "
            f"x·(mean {first} − mean {second}) + b ≥ 0 with "
            f"b = −(|mean {first}|² − |mean {second}|²)/2 = {num(base['nearest_bias'])} "
            f"({percent(base['nearest'])} here): a single neuron whose weights are a "
            "difference of averages instead of being learned by SGD. (The middle row "
            f"uses the same weights with another bias, b = {num(base['best_bias'])}: the "
            "one that does best on the training images; the bias alone moves the "
            "line.)"
        )

    def _update_results(self) -> None:
        data, base = self._data, self._baseline
        if data is None or base is None:
            return
        first, second = data.class_names
        acc_first, acc_second = base["per_class"]
        learned = self._result.get("acc_before")
        snap = self._snapshot
        if learned is not None and snap is not None:
            learned_text = f"<b>{percent(learned)}</b>"
            done = f"{snap.epoch:,} epoch{'' if snap.epoch == 1 else 's'} done"
            learned_name = (f"Your learned neuron (SGD, step {snap.step:,}, {done}): "
                            "z = x·w + b") if snap.step > 0 else \
                "Your neuron, not trained here yet (step 0): z = x·w + b"
        else:
            learned_text = "—"
            learned_name = "Your learned neuron (train the single neuron to fill this in)"
        rows = [
            (
                f"Pixel similarity, the chapter's rule: an image is a {first} if its mean "
                f"|difference| to the ideal {first} is smaller than to the ideal {second}",
                f"<b>{percent(base['similarity'])}</b><br><small>{first}s "
                f"{percent(acc_first)}, {second}s {percent(acc_second)}</small>",
            ),
            (
                f"The same idea as one neuron: z = x·(mean {first} − mean {second}) + b, "
                f"b = {num(base['best_bias'])} (the best bias on the training images)",
                f"<b>{percent(base['linear'])}</b>",
            ),
            (learned_name, learned_text),
        ]
        behind = ""
        if learned is not None and learned < base["linear"] and snap is not None \
                and snap.step == 0:
            behind = (
                "<br><i>Here the two averages beat your neuron: it has not been trained "
                "here yet. Train it and it catches up.</i>")
        elif learned is not None and learned < base["linear"]:
            behind = (
                "<br><i>Here the two averages still beat the learned neuron: SGD started "
                "from random weights and is not done yet. Train longer and it catches up.</i>")
        cells = "".join(
            f"<tr><td style='padding:2px 8px 2px 0'>{name}</td>"
            f"<td align='right' style='padding:2px 0 2px 8px'>{value}</td></tr>"
            for name, value in rows
        )
        self.baseline_label.setText(
            f"Validation accuracy on the {data.n_valid:,} images of {data.describe()} "
            "(the chapter reports about 95% for pixel similarity on full MNIST):"
            f"<table width='100%' cellspacing='0'>{cells}</table>{behind}"
        )

    # ------------------------------------------------------------------ the model
    def _model_problem(self) -> str:
        data, snap = self._data, self._snapshot
        if data is None or not data.task.is_binary:
            return ""  # the whole page is a note then
        if snap is None:
            return ("Train the single neuron (press Start) to compare its weights with the "
                    "baseline and to try the 1.0001 experiment.")
        if snap.spec.kind is not ModelKind.SINGLE:
            return (f"The main model is “{MODEL_LABELS[snap.spec.kind]}”. These "
                    "moments are about the chapter's single neuron: switch to the single "
                    "neuron to see its weights and the 1.0001 experiment.")
        return ""

    def _refresh_model(self) -> None:
        problem = self._model_problem()
        data, snap = self._data, self._snapshot
        if problem or data is None or snap is None or self._valid_x is None:
            self._weights = None
            self._z0 = np.zeros(0)
            self._result = {}
            self.learned_note.setText(problem)
            self.scale_note.setText(problem)
            self.learned_stack.setCurrentWidget(self.learned_note)
            self.scale_stack.setCurrentWidget(self.scale_note)
            self.pixel_marker.hide()
            self._update_results()
            return
        self.learned_stack.setCurrentWidget(self.learned_view)
        self.scale_stack.setCurrentIndex(0)
        self._weights = np.asarray(snap.params["weights"], dtype=np.float64).ravel()
        self._bias = effective_bias(snap.params, snap.spec)
        with np.errstate(over="ignore", invalid="ignore"):
            self._z0 = self._valid_x.astype(np.float64) @ self._weights
        first, second = data.class_names
        start = (self._start or {}).get("weights")
        delta = (self.learned_show.currentData() == "delta" and start is not None
                 and np.size(start) == self._weights.size and snap.step > 0)
        self.learned_show.setEnabled(start is not None and snap.step > 0)
        shown = self._weights - np.asarray(start, np.float64).ravel() if delta else self._weights
        self.learned_view.set_value_name("w − w₀" if delta else "weight")
        self.learned_view.set_neurons(
            shown[None, :], np.array([self._bias]), ["learned"],
            title=("What SGD on mnist_loss changed: w − w₀" if delta
                   else "Learned weights (SGD on mnist_loss)"))
        self.learned_view.set_class_names(first, second)
        self.learned_view.set_note("Click a pixel to use its weight in the experiment →")
        if self._pixel is None:
            self._set_pixel(influential_pixel(self._weights, data.valid_x), auto_range=True)
        else:
            self._update_scale_demo()

    # ------------------------------------------------------------------ section 2
    def pixel(self) -> int | None:
        return self._pixel

    def choose_influential_pixel(self) -> None:
        if self._weights is not None and self._data is not None:
            self._set_pixel(influential_pixel(self._weights, self._data.valid_x), True)

    def choose_largest_weight(self) -> None:
        if self._weights is not None:
            self._set_pixel(int(np.argmax(np.abs(self._weights))), True)

    def set_pixel(self, row: int, col: int) -> None:
        """Use the weight of pixel (row, col) in the experiment."""
        self._set_pixel(int(row) * SIDE + int(col), auto_range=True)

    def _on_pixel_spin(self, _value: int) -> None:
        self._set_pixel(self.row_spin.value() * SIDE + self.col_spin.value(), auto_range=True)

    def _on_weights_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._weights is None:
            return
        p = self.learned_view.view_box().mapSceneToView(event.scenePos())
        hit = self.learned_view.locate(p.x(), p.y())
        if hit is not None:
            _tile, row, col = hit
            self.set_pixel(row, col)

    def _set_pixel(self, pixel: int, auto_range: bool) -> None:
        pixel = int(min(max(pixel, 0), SIDE * SIDE - 1))
        changed = pixel != self._pixel
        self._pixel = pixel
        row, col = divmod(pixel, SIDE)
        for spin, value in ((self.row_spin, row), (self.col_spin, col)):
            blocked = spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(blocked)
        if auto_range and changed and self._weights is not None:
            blocked = self.range_spin.blockSignals(True)
            self.range_spin.setValue(nice_range(self._weights[pixel]))
            self.range_spin.blockSignals(blocked)
        self._update_scale_demo()

    def scale_result(self) -> dict:
        """The experiment's numbers: losses, accuracies (fractions), flips, curves."""
        return dict(self._result)

    def _update_scale_demo(self) -> None:
        data, weights, pixel = self._data, self._weights, self._pixel
        if data is None or weights is None or pixel is None or self._z0.size == 0:
            return
        factor = float(self.factor_spin.value())
        w_j = float(weights[pixel])
        x_j = pixel_column(data.valid_x, pixel)
        targets = data.valid_y
        (acc_b, acc_a), (loss_b, loss_a) = accuracy_loss_curve(
            self._z0, w_j, x_j, targets, self._bias, np.array([1.0, factor]))
        z = self._z0 + self._bias
        z_after = z + (factor - 1.0) * w_j * x_j
        flips = int(np.sum((z >= 0) != (z_after >= 0)))
        reach = float(self.range_spin.value())
        lo = min(1.0 - reach, factor - 0.1 * reach)  # the chosen factor never sits on
        hi = max(1.0 + reach, factor + 0.1 * reach)  # the edge of the plot
        factors = np.unique(np.concatenate([np.linspace(lo, hi, N_FACTORS), [1.0, factor]]))
        accs, losses = accuracy_loss_curve(self._z0, w_j, x_j, targets, self._bias, factors)
        self._result = {
            "pixel": pixel, "factor": factor, "w_j": w_j,
            "loss_before": float(loss_b), "loss_after": float(loss_a),
            "acc_before": float(acc_b), "acc_after": float(acc_a), "flips": flips,
            "factors": factors, "accuracies": accs, "losses": losses,
        }
        self.acc_curve.setData(factors, 100.0 * accs)
        self.loss_curve.setData(factors, losses)
        for line in self.factor_lines:
            line.setPos(factor)
        for plot in (self.acc_plot, self.loss_plot):
            plot.getPlotItem().setXRange(lo, hi, padding=0.02)
            plot.getPlotItem().setLabel("bottom", f"factor on w[{pixel // SIDE}, {pixel % SIDE}]")
        n_steps = int(np.count_nonzero(np.diff(accs)))
        snap = self._snapshot
        as_is = "as trained" if snap is not None and snap.step > 0 else \
            "the weight as it is now (not trained here yet)"
        legend = f"Green line: your factor; dotted: 1 = {as_is}."
        if self._valid_ink[pixel] == 0:
            caption = f"Both flat: no validation image has ink at this pixel. {legend}"
        elif n_steps == 0:
            caption = f"No image changes side over these factors: widen the range. {legend}"
        else:
            caption = (f"{n_steps} jump{'s' if n_steps != 1 else ''} in accuracy, where "
                       f"images' z cross 0; perfectly flat in between. {legend}")
        self.range_caption.setText(caption)
        self._show_marker(pixel)
        self._show_pixel_info(pixel, w_j, x_j, factor)
        self._show_numbers()
        self._update_results()

    def _show_marker(self, pixel: int) -> None:
        ox, oy = self.learned_view.tile_origin(0) if self.learned_view.tile_count() else (0, 0)
        row, col = divmod(pixel, SIDE)
        self.pixel_marker.setRect(QRectF(ox + col, oy + row, 1, 1))
        self.pixel_marker.show()

    def _show_pixel_info(self, pixel: int, w_j: float, x_j: np.ndarray, factor: float) -> None:
        data = self._data
        assert data is not None
        row, col = divmod(pixel, SIDE)
        inked = int(self._valid_ink[pixel])
        text = (f"Pixel (row {row}, column {col}): w = {num(w_j, 4)}; "
                f"{inked:,} of {data.n_valid:,} validation images have ink there. ")
        if inked == 0:
            if not self._train_ink[pixel]:
                text += (
                    "<span style='color:#8a1c1c'>No image, training or validation, has ink "
                    "here: its gradient was always 0, so training never changed this weight "
                    "(it is still its random starting value) and changing it changes "
                    "nothing. Pick a pixel with ink.</span>")
            else:
                text += ("<span style='color:#8a1c1c'>No validation image has ink here, so "
                         "this weight changes no validation output. Pick a pixel with "
                         "ink.</span>")
        else:
            biggest = abs((factor - 1.0) * w_j) * float(np.max(x_j))
            text += f"Each of their z moves by at most {num(biggest, 7)}."
        self.pixel_label.setText(text)

    def _show_numbers(self) -> None:
        r, data = self._result, self._data
        assert data is not None
        n = data.n_valid
        loss_diff = r["loss_after"] - r["loss_before"]
        acc_diff = r["acc_after"] - r["acc_before"]
        right_b, right_a = round(r["acc_before"] * n), round(r["acc_after"] * n)
        if r["flips"] == 0:
            acc_change = "<b>0</b> — no prediction flipped"
        else:
            acc_change = (f"<b>{num(100 * acc_diff, 1, sign=True)} points</b> — "
                          f"{r['flips']} prediction{'s' if r['flips'] != 1 else ''} flipped")
        if loss_diff == 0:
            loss_change = "<b>0</b> (no image has ink there)"
        else:
            loss_change = f"<b>{num(loss_diff, LOSS_DECIMALS, sign=True)}</b> ({signed_sci(loss_diff)})"
        factor = num(r["factor"], FACTOR_DECIMALS).rstrip("0").rstrip(".")
        pixel = r["pixel"]
        head = "style='padding:1px 10px 1px 0'"
        self.numbers_label.setText(
            "<table cellspacing='0'>"
            f"<tr><th {head}></th><th {head} align='right'>before</th>"
            f"<th {head} align='right'>w[{pixel // SIDE}, {pixel % SIDE}] × {factor}</th>"
            f"<th {head} align='left'>change</th></tr>"
            f"<tr><td {head}><b>mnist_loss</b></td>"
            f"<td {head} align='right'>{num(r['loss_before'], LOSS_DECIMALS)}</td>"
            f"<td {head} align='right'>{num(r['loss_after'], LOSS_DECIMALS)}</td>"
            f"<td {head}>{loss_change}</td></tr>"
            f"<tr><td {head}><b>accuracy</b></td>"
            f"<td {head} align='right'>{percent(r['acc_before'])} ({right_b:,}/{n:,})</td>"
            f"<td {head} align='right'>{percent(r['acc_after'])} ({right_a:,}/{n:,})</td>"
            f"<td {head}>{acc_change}</td></tr>"
            "</table>"
        )
