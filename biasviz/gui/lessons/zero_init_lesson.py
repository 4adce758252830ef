"""Lesson "Zero initialization" (seed question 001).

The same one-hidden-layer network (784 → H ReLU neurons → 1) is trained twice, side by
side, on the same batches with the same learning rate:

* started with **every parameter 0** (or, as an option, every parameter the same small
  value), and
* started **random**, normal(0, std).

A third, small run trains **one neuron** (784 weights and a bias, no hidden layer) from
all zeros, to show that zero initialization is fine when there is nothing to break.

What the lesson shows, live: each network's hidden neurons as weight pictures, how
different the hidden neurons are (the largest difference between two of them, against
the step, on a log scale), and the validation accuracy of all three.

Why the all-zero network never learns (said in the lesson, and checked by the tests):
every hidden neuron computes ReLU(0·x + 0) = 0 for every image.  A hidden weight's
gradient is (error) × (its neuron's output weight, 0) × (ReLU's slope at 0, which PyTorch
takes as 0) × (pixel) = 0; an output weight's gradient is (error) × (its hidden
activation, 0) = 0.  Only the output bias moves, so every image gets the same answer.
And were they to move, identical neurons get identical gradients and stay identical --
the "same value" start shows exactly that: the neurons change, but remain copies.

Measured on the MNIST sample, 3 vs 7, 8 hidden neurons, SGD lr 1.0, the chapter's
mnist_loss, 10 epochs: random std 0.1 → 97–98.5% (seeds 0–2); all zeros → 50% (every
weight still exactly 0); every parameter 0.01 → about 97% with all 8 neurons identical
(8 copies of one neuron); one neuron from zeros → 97%.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from biasviz.core.datasets import TaskData
from biasviz.core.history import BoundedSeries
from biasviz.core.side_by_side import hidden_symmetry
from biasviz.core.spec import BiasMode, InitKind, ModelKind, ModelSpec
from biasviz.core.text import num
from biasviz.core.weight_display import first_layer_names
from biasviz.gui.lessons import side_by_side_ui as ui
from biasviz.gui.lessons.base import Arrangement, Cell, places, stacked
from biasviz.gui.weights_view import WeightsView

DEFAULT_HIDDEN = 8
DEFAULT_STD = 0.1
DEFAULT_LR = 1.0
DEFAULT_EPOCHS = 10
DEFAULT_SEED = 0
SAME_VALUE = 0.01  # the "every parameter the same" start
#: Where the symmetry plot draws an exact 0 (a log scale has no 0).
FLOOR = 1e-6

ZERO, RANDOM, SINGLE = 0, 1, 2
START_ZEROS = "zeros"
START_SAME = "same"
NAMES = ("network from zeros", "network from random", "one neuron from zeros")
COLORS = ((213, 94, 0), (0, 114, 178), (0, 158, 115))
PENS = ui.pens(COLORS)


def _html_color(i: int) -> str:
    return ui.html_color(COLORS[i])


class ZeroInitLesson(ui.SideBySideLesson):
    """A hidden layer started from zeros next to one started random, and one neuron."""

    title = "Zero initialization"
    seed = "001"
    ten_class_note = (
        "The main window's task has all ten classes; this lesson compares its "
        "networks on “{first}” vs “{second}” from {dataset}, so that "
        "the single neuron can take part (one neuron answers one yes/no question)."
    )

    def __init__(self, data: TaskData | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._symmetry = [float("nan"), float("nan")]
        self._start_spread = 0.0
        self._build_ui()
        self._open(data)

    # ------------------------------------------------------------------ building
    def _build_ui(self) -> None:
        self._make_top()

        # controls ----------------------------------------------------------------------
        self.hidden_spin = ui.int_spin(
            2, 64, DEFAULT_HIDDEN,
            "How many neurons the hidden layer has (both networks). Each is a picture "
            "below. Changing it starts again."
        )
        self.std_spin = ui.decimal_spin(
            3, 0.001, 5.0, 0.05, DEFAULT_STD,
            "Spread of the random start: every weight and bias of the random network is "
            "drawn from normal(0, std). 0.1 trains well here. Changing it starts again."
        )
        self.lr_spin = ui.lr_spin(
            DEFAULT_LR, 1000.0,
            "Learning rate, the same for all three (plain SGD, the chapter's 1.0). Takes "
            "effect at the next Start."
        )
        self.epochs_spin = ui.int_spin(1, 1000, DEFAULT_EPOCHS,
                                       "How many epochs each Start trains.")
        self.seed_spin = ui.int_spin(
            0, 9999, DEFAULT_SEED,
            "Seed of the random start and of the batch order (all three models see the "
            "same batches). Changing it starts again."
        )
        self.start_combo = QComboBox()
        self.start_combo.addItem("every parameter 0", START_ZEROS)
        self.start_combo.addItem(f"every parameter {SAME_VALUE:g}", START_SAME)
        self._start_tip = (
            "How the {place} network starts (the orange one).\n"
            "• every parameter 0: nothing can ever move except the output bias (see "
            "“Why?”).\n"
            f"• every parameter {SAME_VALUE:g}: not zero, but all equal. Now gradients do "
            "flow, yet every hidden neuron gets the same gradient as the others: they all "
            "change, and stay exact copies of each other. Changing it starts again."
        )
        self.start_combo.setToolTip(self._start_tip.format(place="left"))
        self.speed_combo = ui.speed_combo(
            "How fast training runs; slower is easier to watch. Can be changed while it runs."
        )
        self.show_combo = QComboBox()
        self.show_combo.addItem("weights now", "now")
        self.show_combo.addItem("change since the start", "change")
        self.show_combo.setToolTip(
            "What the pictures show.\n• weights now: the start plus everything learned.\n"
            "• change since the start: now minus the start, so the random start's noise "
            "is taken away and only what each neuron learned is left. For the random "
            "network each neuron learned something different (in pattern, strength or "
            "sign); for the zero-started network nothing changed at all."
        )
        self.start_button, self.stop_button, self.reset_button = ui.run_buttons(
            "Train all three side by side, on the same batches, for the chosen epochs "
            "(continues from where they are)."
        )
        self.status_label = ui.status_label("What the three models are doing now.")
        self._settings = (self.hidden_spin, self.std_spin, self.lr_spin, self.epochs_spin,
                          self.seed_spin, self.start_combo)

        # the two networks' settings are named by where their pictures are (_name_places)
        row1 = ui.settings_row((("Hidden neurons", self.hidden_spin),
                                ("Left network starts with", self.start_combo),
                                ("Right network: random, std", self.std_spin),
                                ("Learning rate", self.lr_spin), ("Epochs", self.epochs_spin),
                                ("Seed", self.seed_spin)))
        row2 = ui.button_row((self.start_button, self.stop_button, self.reset_button),
                             (("Speed", self.speed_combo), ("Pictures show", self.show_combo)),
                             self.status_label)

        # pictures -----------------------------------------------------------------------
        self.zero_view = WeightsView()
        self.random_view = WeightsView()
        self.single_view = WeightsView()
        self.zero_view.set_help(
            "The hidden neurons of the network that started from zeros: each tile is one "
            "neuron's 784 weights, laid out like the image (red: positive, blue: "
            "negative, white: 0).\nWhat to look for: every tile is the same picture — "
            "all white (every weight still exactly 0) when it started from zeros, or one "
            "shared pattern when every parameter started equal."
        )
        self.random_view.set_help(
            "The hidden neurons of the network that started random: each tile is one "
            "neuron's 784 weights (red: positive, blue: negative, white: 0).\nWhat to "
            "look for: they start as different noise, get different gradients, and turn "
            "into different detectors."
        )
        self.single_view.set_help(
            "One neuron (no hidden layer) that started with every weight 0.\nIts weights "
            "still become a picture: each weight's gradient is error × its own pixel, and "
            "pixels differ. Red: ink there pushes towards the first class; blue: towards "
            "the second. Pixels that never have ink stay white (0)."
        )
        for view in (self.zero_view, self.random_view, self.single_view):
            view.setMinimumHeight(230)  # the picture itself ≥ 150 px under its labels

        # plots ----------------------------------------------------------------------------
        # No y-axis titles on this lesson's two plots: on a laptop the plots sit half
        # below the fold, and a title turned up the axis showed as "st difference" and
        # "curacy" (walk-through 13).  What the y axis measures is in the plot's title.
        self.sym_plot = ui.make_plot(
            "Largest difference between two hidden neurons", "step",
            "largest difference",
            "For each network: the largest difference between the weights of any two of "
            "its hidden neurons (0 = all neurons identical).\nThe scale is logarithmic, "
            "which has no 0: an exact 0 is drawn on the dotted floor line.\nWhat to look "
            "for: the random network's neurons start different and stay different; the "
            "zero-started network stays on the floor — its neurons are exact copies.",
        )
        self.sym_plot.getAxis("left").showLabel(False)
        self.sym_plot.setLogMode(x=False, y=True)
        self.sym_plot.setMinimumHeight(190)  # its four decades legible (walk-through V)
        self.sym_plot.setYRange(math.log10(FLOOR) - 0.5, 1.0)
        self.floor_line = self.sym_plot.plot(
            [0, 1], [FLOOR, FLOOR], pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DotLine))
        self.floor_text = pg.TextItem("exactly 0", color=(90, 90, 90), anchor=(0, 1))
        self.sym_plot.addItem(self.floor_text)
        self.floor_text.setPos(0, math.log10(FLOOR))
        self.sym_curves = [
            self.sym_plot.plot([], [], pen=PENS[i]) for i in (ZERO, RANDOM)
        ]
        self.acc_plot, self.acc_curves = ui.accuracy_plot(
            "The share of validation images (never trained on) each model gets right, "
            "after each epoch; epoch 0 is the start.\n50% (dotted) is what giving every "
            "image the same answer scores on two balanced classes.",
            COLORS,
        )
        self.acc_plot.setTitle("Validation accuracy in % (each epoch)", color="#202020",
                               size="10pt")
        self.acc_plot.getAxis("left").showLabel(False)
        self._step_plots = (self.sym_plot,)
        self._epoch_plots = (self.acc_plot,)
        self.key_label = ui.key_label(
            "", "Each model keeps its colour in every plot of this lesson.")

        self.why_label = ui.note()
        self.why_label.setAlignment(Qt.AlignmentFlag.AlignTop)  # not afloat in its box
        self.why_label.setToolTip(
            "Why each model behaves as it does, with numbers from the models as they are "
            "now."
        )
        self.single_label = ui.note()
        self.single_label.setToolTip(
            "One neuron started from zeros: nothing to break, so it learns."
        )

        # layout -----------------------------------------------------------------------------
        self.zero_box = ui.group("", self.zero_view)
        self.random_box = ui.group("", self.random_view)
        self.single_box = ui.group("One neuron, started from zeros", self.single_view,
                                   self.single_label)
        self.why_box = ui.group("Why?", self.why_label)

        # The three pictures above their plots when the tab is wide; the two networks
        # side by side and the single neuron below on a laptop; one column when narrower.
        zero, rnd, single = self.zero_box, self.random_box, self.single_box
        scroll, self.panels = ui.scroll_panels(self.key_label, [
            Arrangement((Cell(zero, 0, 0), Cell(rnd, 0, 1), Cell(single, 0, 2),
                         Cell(self.sym_plot, 1, 0), Cell(self.acc_plot, 1, 1),
                         Cell(self.why_box, 1, 2)), (5, 5, 4), (5, 4)),
            Arrangement((Cell(zero, 0, 0), Cell(rnd, 0, 1), Cell(self.sym_plot, 1, 0),
                         Cell(self.acc_plot, 1, 1), Cell(single, 2, 0),
                         Cell(self.why_box, 2, 1)), (1, 1), (5, 4, 5)),
            stacked(zero, rnd, self.sym_plot, self.acc_plot, single, self.why_box),
        ], column_floor=330)
        self._lay_out(row1, row2, scroll=scroll)
        self.start_name, self.std_name = (
            next(label for label in self.findChildren(QLabel) if label.buddy() is widget)
            for widget in (self.start_combo, self.std_spin))
        self.panels.arranged.connect(self._name_places)
        self._name_places()

        # wiring -----------------------------------------------------------------------------
        for signal in (self.hidden_spin.valueChanged, self.std_spin.valueChanged,
                       self.seed_spin.valueChanged, self.start_combo.currentIndexChanged):
            signal.connect(self._on_start_changed)
        self.show_combo.currentIndexChanged.connect(self._redraw_pictures)

    # ------------------------------------------------------------------ Lesson contract
    def set_data(self, data: TaskData) -> None:
        """New dataset or task: start again on it (ten classes: the pair 3 vs 7)."""
        if not self._take_data(data):
            return
        first, second = self._data.class_names
        self.single_view.set_class_names(first, second)
        self.reset()

    def network_places(self) -> tuple[str, str]:
        """Where the zero-started and the random network's pictures are now: "left",
        "middle", "right", or "upper" / "lower" in one column (the texts use these)."""
        zero, rnd = places(self.panels.arrangement(), self.zero_box, self.random_box)
        return zero, rnd

    def _name_places(self, *_args) -> None:
        """Name the two networks in the settings and in “Why?” by where their pictures
        are in the arrangement on screen (the Why text said “Middle” on a laptop, where
        the random network is on the right)."""
        zero, rnd = self.network_places()
        self.start_name.setText(f"{zero.capitalize()} network starts with")
        self.std_name.setText(f"{rnd.capitalize()} network: random, std")
        self.start_combo.setToolTip(self._start_tip.format(place=zero))
        self.start_name.setToolTip(self.start_combo.toolTip())
        self._update_texts()

    def _update_intro(self) -> None:
        """The intro, for the zero-started network's chosen start: from zeros nothing reaches the
        hidden weights; from equal values they move, but as copies of each other."""
        first, second = self._data.class_names
        if self.start_combo.currentData() == START_SAME:
            start = f"with every parameter {SAME_VALUE:g}"
            left = (
                "from equal values they all change, but stay identical — every hidden "
                "neuron gets the same gradient, so they learn one and the same template, "
                f"{self.hidden_spin.value()} copies of one neuron")
        else:
            start = "with every weight 0"
            left = ("from zeros they all stay identical (in fact they stay 0 — nothing "
                    "reaches them)")
        self.intro.setText(
            f"<b>Zero initialization.</b> The same network (784 pixels → "
            f"hidden ReLU neurons → 1 output) learns “{first}” vs “{second}” twice, side "
            f"by side on the same batches: once started {start}, once started "
            f"random. Look at the <b>hidden neurons' pictures</b>: {left}; from random they "
            "become different detectors. The <b>log plot</b> measures how different they "
            "are. And <b>one neuron</b> on its own learns fine from zeros: symmetry is only "
            "a problem when several neurons could be copies of each other."
        )

    # ------------------------------------------------------------------ read-outs for tests
    def symmetry(self) -> list[float]:
        """Latest hidden_symmetry of the zero-started and the random network."""
        return list(self._symmetry)

    # ------------------------------------------------------------------ internals
    def _make_trainers(self) -> None:
        from biasviz.core.train_loop import NumpyTrainer

        hidden, seed = self.hidden_spin.value(), self.seed_spin.value()
        self._specs = (
            ModelSpec(kind=ModelKind.MLP, hidden=hidden, init=InitKind.ZEROS, seed=seed),
            ModelSpec(kind=ModelKind.MLP, hidden=hidden, init=InitKind.RANDOM,
                      init_std=float(self.std_spin.value()), seed=seed),
            ModelSpec(kind=ModelKind.SINGLE, bias_mode=BiasMode.SCALAR, init=InitKind.ZEROS,
                      seed=seed),
        )
        config = self._config()
        self._trainers = [NumpyTrainer(spec, self._data, config) for spec in self._specs]
        if self.start_combo.currentData() == START_SAME:
            left = self._trainers[ZERO]
            params = {k: np.full_like(v, SAME_VALUE) for k, v in left.snapshot().params.items()}
            left.set_params(params)
        self._snapshots = tuple(t.snapshot() for t in self._trainers)
        self._start = self._snapshots
        self._accuracy = [t.evaluate()[1] for t in self._trainers]

    def _clear_history(self) -> None:
        self._sym_series = [BoundedSeries(4096), BoundedSeries(4096)]
        self._clear_accuracy()
        self._show_snapshots(self._snapshots, step=0)

    # -- runner events ------------------------------------------------------------------
    def _model_name(self, index: int) -> str:
        return f"The {NAMES[index]}"

    # -- drawing -----------------------------------------------------------------------
    def _show_snapshots(self, snapshots: tuple | None, step: int) -> None:
        if not snapshots:
            return
        self._snapshots = snapshots
        for i in (ZERO, RANDOM):
            sym = hidden_symmetry(snapshots[i].params)
            self._symmetry[i] = sym
            series = self._sym_series[i]
            if len(series) == 0 or series.x[-1] < step:
                series.append(step, max(sym, FLOOR))
            ui.set_curve(self.sym_curves[i], series.x, series.y, COLORS[i])
        self._grow_axes(step, 0)
        # the floor line across the whole planned run
        right = max(float(self._sym_series[RANDOM].x[-1]), float(self._planned[0]), 1.0)
        self.floor_line.setData([0, right], [FLOOR, FLOOR])
        self._redraw_pictures()
        self._update_texts()

    def _redraw_pictures(self, *_args) -> None:
        snaps = self._snapshots
        if not snaps:
            return
        change = self.show_combo.currentData() == "change"

        def shown(i: int, name: str) -> np.ndarray:
            now = snaps[i].params[name]
            return now - self._start[i].params[name] if change else now

        # numbered as the main view numbers hidden neurons ("hidden 0" …), from 0
        names = first_layer_names(self._specs[RANDOM], self.hidden_spin.value())
        labels = [name.removeprefix("hidden ") for name in names]
        title = "change since the start" if change else ""
        for i, view in ((ZERO, self.zero_view), (RANDOM, self.random_view)):
            view.set_neurons(shown(i, "hidden.weights"), shown(i, "hidden.biases"), labels,
                             title=title)
        self.single_view.set_neurons(shown(SINGLE, "weights").reshape(1, -1),
                                     shown(SINGLE, "bias"), [""], title=title)

    def _update_texts(self) -> None:
        snaps = self._snapshots
        if not snaps:
            return
        self._update_intro()
        c = _html_color
        h = self.hidden_spin.value()
        same_start = self.start_combo.currentData() == START_SAME
        zp, rp, sp = (s.params for s in snaps)
        zero_place, random_place = (p.capitalize() for p in self.network_places())

        def acc(i: int) -> str:
            a = self._accuracy[i]
            return "—" if a is None else f"{100 * a:.1f}%"

        left = f"every parameter {SAME_VALUE:g}" if same_start else "all zeros"
        self.zero_box.setTitle(f"Hidden neurons, started from {left}")
        self.random_box.setTitle(
            f"Hidden neurons, started random (std {self.std_spin.value():g})")
        left_name = "network from equal values" if same_start else NAMES[ZERO]
        self.key_label.setText(ui.key_html(COLORS, (left_name, NAMES[1], NAMES[2])))
        sym_z, sym_r = self._symmetry
        all_zero = not np.any(zp["hidden.weights"]) and not np.any(zp["output.weights"])
        if sym_z == 0.0:
            same = f"All {h} neurons are identical (largest difference: exactly 0)"
            same += ", and every weight is still exactly 0." if all_zero else "."
        else:
            same = f"Largest difference between two neurons: {sym_z:.3g}."
        self.zero_view.set_note(f"{same} Accuracy: {acc(ZERO)}.")
        self.random_view.set_note(
            f"Largest difference between two neurons: {sym_r:.3g}. Accuracy: {acc(RANDOM)}."
        )
        w = sp["weights"]
        spread = float(np.ptp(w))
        self.single_label.setText(
            f"Accuracy <b>{acc(SINGLE)}</b>. Its 784 weights started all 0; now they range "
            f"over {spread:.3g}. Nothing to break: each weight's gradient is error × its "
            "own pixel, and pixels differ, so the weights differ after one step."
        )
        out_b = float(zp["output.biases"][0])
        if same_start:
            why_left = (
                f"<span style='color:{c(0)}'><b>{zero_place}, every parameter {SAME_VALUE:g}:</b></span> "
                "all hidden neurons compute the same thing for every image, so they get the "
                "same gradient and take the same step. They change, but stay exact copies "
                f"— {h} neurons doing the work of one."
            )
            copies, different = self._accuracy[ZERO], self._accuracy[RANDOM]
            if copies is not None and different is not None and copies >= different - 0.02:
                # a pair one neuron separates: the copies lose nothing here, which a
                # learner could read as "symmetry does not matter"
                why_left += (
                    " Here that costs nothing: one neuron already separates this pair, so "
                    f"{h} copies of it do as well as {h} different neurons. The cost shows "
                    "where one neuron is not enough: choose a harder pair or all ten classes "
                    "in the Training panel and train both again."
                )
        else:
            why_left = (
                f"<span style='color:{c(0)}'><b>{zero_place}, all zeros:</b></span> every hidden "
                "neuron outputs ReLU(0·x + 0) = 0 for every image. A hidden weight's "
                "gradient is error × its output weight (0) × ReLU's slope at 0 (0) × pixel "
                "= 0, and an output weight's gradient is error × its neuron's output (0) = "
                f"0. Only the output bias moves (now {num(out_b, 3, sign=True)}), so every "
                "image gets the same answer: 50%. Even if the neurons could move, identical neurons get "
                "identical gradients and would stay copies."
            )
        self.why_label.setText(
            why_left + "<br><br>"
            f"<span style='color:{c(1)}'><b>{random_place}, random:</b></span> each neuron starts "
            "different, sees each image differently, gets its own gradient and becomes its "
            "own detector.<br><br>"
            f"<span style='color:{c(2)}'><b>One neuron from zeros:</b></span> there is no "
            "second neuron to be a copy of, so zeros are a fine start."
        )
