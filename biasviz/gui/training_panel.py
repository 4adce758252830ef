"""Training controls: data, task, model, initialization, optimizer, and the run buttons.

The panel only describes what the user wants; it emits requests and the session decides.
Controls that cannot change mid-run are disabled while training runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import PurePath

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.datasets import DIGIT_NAMES, Task
from biasviz.core.spec import (
    BIAS_LABELS,
    MODEL_LABELS,
    BiasMode,
    BinaryLoss,
    InitKind,
    ModelKind,
    ModelSpec,
    Optimizer,
    TrainConfig,
)
from biasviz.gui import file_dirs
from biasviz.gui.ask_discard import ask_before_discarding
from biasviz.gui.class_labels import ElidedLabel, ElidingComboBox

DATASETS = [
    ("sample", "Bundled MNIST sample (5,000 digits)"),
    ("mnist", "MNIST, full (download)"),
    ("fashion-mnist", "Fashion-MNIST (download)"),
    ("kmnist", "Kuzushiji-MNIST (download)"),
    ("folder", "Local folder of IDX files…"),
]
DOWNLOADABLE = ("mnist", "fashion-mnist", "kmnist")
LOADED_FOLDER = "loaded-folder"  # the combo entry naming the folder that is loaded
# Between the rows of each group (the style's 6 px made the panel 44 px taller than a
# 1280x720 screen leaves it: the progress bar was below the fold).
ROW_SPACING = 3


def folder_label(source: str) -> str:
    """How a loaded folder is named in the Dataset box: its last path component."""
    name = PurePath(str(source).rstrip("/\\")).name or str(source)
    return f"Folder “{name}”"


def _tip(widget: QWidget, text: str) -> QWidget:
    widget.setWhatsThis(text)
    if isinstance(widget, ElidingComboBox):
        widget.set_help(text)  # the tooltip starts with the full current entry
    else:
        widget.setToolTip(text)
    return widget


# ------------------------------------------------------------------ learning rate
LR_MIN, LR_MAX = 1e-10, 1e10
_LR_LADDER = (1.0, 2.0, 5.0)  # arrows walk 1 → 2 → 5 → 10: a factor ~2–2.5 a step


def format_lr(value: float) -> str:
    """A learning rate as a learner writes it: 1, 0.5, 0.001, 1e-06 → "1e-6", 100."""
    text = f"{value:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def lr_ladder_step(value: float, steps: int) -> float:
    """``value`` moved ``steps`` rungs along 1, 2, 5, 10, 20, 50… (down for negative
    ``steps``); a value between rungs goes to the next rung in that direction."""
    value = max(LR_MIN, float(value))
    for _ in range(abs(steps)):
        decade = math.floor(math.log10(value))
        rungs = [m * 10.0 ** e for e in (decade - 1, decade, decade + 1) for m in _LR_LADDER]
        if steps > 0:
            value = min(r for r in rungs if r > value * (1 + 1e-9))
        else:
            value = max(r for r in rungs if r < value * (1 - 1e-9))
    return float(f"{value:.12g}")  # 0.1 * 2 is 0.2, not 0.20000000000000004


class LearningRateSpinBox(QDoubleSpinBox):
    """The learning rate over twenty decades: shows significant digits ("1e-6", "0.003",
    "100"), takes what is typed in either notation, and its arrows (and the wheel) walk
    1 → 2 → 5 → 10 up or down, so a 'silly' rate is a few clicks away in either direction
    (a fixed step of 0.1 could not go below 0.1 or reach 1000)."""

    _NUMBER = re.compile(r"^\s*(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
    _PARTIAL = re.compile(r"^\s*(\d*\.?\d*)([eE][-+]?\d*)?\s*$")

    #: Why a typed rate was not taken ("Learning rate must be between …"); the box
    #: keeps its previous value.  Qt reverts such a text without a word otherwise.
    refused = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # enough decimals that the box keeps any value exactly (its value is rounded
        # to them); the text is made by textFromValue, not from the decimals
        self.setDecimals(30)
        self.setRange(LR_MIN, LR_MAX)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return format_lr(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        if self._NUMBER.match(text):
            value = float(text)
            state = (QValidator.State.Acceptable if self.minimum() <= value <= self.maximum()
                     else QValidator.State.Intermediate)
            return state, text, pos
        if self._PARTIAL.match(text):
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Invalid, text, pos

    def fixup(self, text: str) -> str:
        return format_lr(self.value())

    def refusal(self, text: str) -> str | None:
        """Why ``text``, typed and confirmed, would not be taken (None: it would be, or
        it is the value shown already)."""
        text = text.strip()
        if not text or text == format_lr(self.value()):
            return None
        kept = f"kept {format_lr(self.value())}"
        between = (f"Learning rate must be between {format_lr(self.minimum())} and "
                   f"{format_lr(self.maximum())}")
        if not self._NUMBER.match(text):
            return f"{between}: “{text}” is not a number; {kept}."
        value = float(text)
        if value < self.minimum():
            return f"{between}: {text} is too small; {kept}."
        if value > self.maximum():
            return f"{between}: {text} is too large; {kept}."
        return None

    def _check_typed(self) -> None:
        message = self.refusal(self.lineEdit().text())
        if message:
            self.refused.emit(message)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._check_typed()  # before Qt puts the previous value back
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._check_typed()
        super().focusOutEvent(event)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        value = lr_ladder_step(self.value(), steps)
        self.setValue(min(self.maximum(), max(self.minimum(), value)))
        self.selectAll()

    def show_value(self, value: float) -> None:
        """Show ``value`` exactly, widening the range for a rate set elsewhere (a session
        file, the command line) beyond the box's usual limits."""
        value = float(value)
        if value < self.minimum():
            self.setMinimum(value)
        if value > self.maximum():
            self.setMaximum(value)
        self.setValue(value)


class TrainingPanel(QWidget):
    datasetRequested = Signal(str)  # "sample", "mnist", ..., or a folder path
    cancelDownloadRequested = Signal()
    taskChanged = Signal(object)  # Task
    specChanged = Signal(object)  # ModelSpec
    # a model kind that needs the other kind of task (single neuron ↔ ten classes): both
    # at once, so that neither is applied with the other's old value
    taskAndSpecChanged = Signal(object, object)  # Task, ModelSpec
    configChanged = Signal(object)  # TrainConfig
    startRequested = Signal()
    pauseRequested = Signal()
    stopRequested = Signal()
    resetRequested = Signal()
    stepBatchRequested = Signal()
    stepEpochRequested = Signal()
    slowMotionChanged = Signal(float)  # seconds per batch
    recipeRequested = Signal()  # back to the model's recipe
    statusMessage = Signal(str)  # for the status bar (e.g. why a typed rate was refused)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self._class_names: tuple[str, ...] = DIGIT_NAMES
        self._state = "loading"
        self._dataset_key = "sample"
        self._dataset_source = ""
        # Asking before a change discards a trained model (set_discard_guard): only for
        # what the learner does with the mouse, keyboard or wheel, never for settings
        # set by code (a restored session, tests, benchmarks) — see _watch_user_input.
        self._unsaved: Callable[[], str] | None = None
        self._save: Callable[[], object] | None = None
        self._user_input = False
        self._typed: set[int] = set()  # spin boxes with typing not yet committed
        self._build()
        self._sync_visibility()
        self._shown = (self.task(), self.spec(), self.config())

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)

        # data ---------------------------------------------------------------
        data_box = QGroupBox("Data")
        form = QFormLayout(data_box)
        form.setVerticalSpacing(ROW_SPACING)
        self.dataset_combo = ElidingComboBox()
        for key, label in DATASETS:
            self.dataset_combo.addItem(label, key)
        _tip(self.dataset_combo, "Which images to learn from. The bundled sample works offline; "
             "the full datasets are downloaded once into your cache folder. A local folder "
             "needs the four MNIST-format IDX files (train-images-idx3-ubyte[.gz] …).")
        form.addRow("Dataset", self.dataset_combo)
        # a dataset a system package installed says so before it is chosen (looked up
        # when the list opens: nothing of it at start-up)
        self.dataset_combo.popupAboutToShow.connect(self._name_installed_copies)
        # While a dataset loads: what is happening, a bar (busy, or the download's
        # progress) and, for a download only, a way to cancel it.
        self.loading_label = ElidedLabel()
        self.loading_label.setVisible(False)
        self.download_bar = QProgressBar()
        self.download_bar.setVisible(False)
        self.cancel_download_button = QPushButton("Cancel download")
        self.cancel_download_button.setVisible(False)
        form.addRow(self.loading_label)
        form.addRow(self.download_bar)
        form.addRow(self.cancel_download_button)

        self.task_combo = QComboBox()
        self.task_combo.addItem("Two classes (one neuron says yes/no)", "pair")
        self.task_combo.addItem("All ten classes", "all")
        _tip(self.task_combo, "Two classes: the fastai chapter's question, e.g. 'is this a 3 "
             "or a 7?'. All ten: one output neuron per class; the largest wins.")
        form.addRow("Task", self.task_combo)
        pair_row = QHBoxLayout()
        self.first_combo, self.second_combo = ElidingComboBox(), ElidingComboBox()
        for combo in (self.first_combo, self.second_combo):
            for i, name in enumerate(DIGIT_NAMES):
                combo.addItem(name, i)
        self.first_combo.setCurrentIndex(3)
        self.second_combo.setCurrentIndex(7)
        _tip(self.first_combo, "The first class: the neuron's output 1 (it fires for these).")
        _tip(self.second_combo, "The second class: the neuron's output 0.")
        # the two boxes share the row equally; "vs" takes only its own width
        pair_row.addWidget(self.first_combo, 1)
        pair_row.addWidget(QLabel("vs"), 0)
        pair_row.addWidget(self.second_combo, 1)
        self.pair_widget = QWidget()
        self.pair_widget.setLayout(pair_row)
        pair_row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Classes", self.pair_widget)
        layout.addWidget(data_box)

        # model -------------------------------------------------------------
        model_box = QGroupBox("Model")
        mform = QFormLayout(model_box)
        mform.setVerticalSpacing(ROW_SPACING)
        self.model_combo = QComboBox()
        for kind in ModelKind:
            self.model_combo.addItem(MODEL_LABELS[kind], kind.value)
        # (offered beside a two-class task too: said before it is chosen, not after)
        self.model_combo.setItemData(
            self.model_combo.findData(ModelKind.LINEAR.value),
            "One neuron per class: choosing it sets the task to all ten classes.",
            Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setItemData(
            self.model_combo.findData(ModelKind.SINGLE.value),
            "One neuron says yes or no: choosing it with ten classes sets the task to two.",
            Qt.ItemDataRole.ToolTipRole)
        _tip(self.model_combo, "Single neuron: 784 weights and a bias, the chapter's model. "
             "Linear: ten such neurons. MLP: a hidden layer of neurons with ReLU, then the "
             "outputs. CNN: small kernels shared across the image (weight sharing).")
        mform.addRow("Kind", self.model_combo)
        self.bias_combo = QComboBox()
        for mode in BiasMode:
            self.bias_combo.addItem(BIAS_LABELS[mode], mode.value)
        _tip(self.bias_combo, "One bias for the whole image (the chapter), one bias per "
             "pixel (the forum question: they act only through their sum), or none (training "
             "cannot move the decision line off w·x = 0; only the threshold t can).")
        mform.addRow("Bias", self.bias_combo)
        self.hidden_spin = QSpinBox()
        self.hidden_spin.setRange(1, 512)
        self.hidden_spin.setValue(32)
        self.hidden_spin.setSuffix(" neurons")
        _tip(self.hidden_spin, "Neurons in the hidden layer; each has 784 weights and 1 bias.")
        # (short row labels: a long one widened the whole panel when the MLP was chosen)
        mform.addRow("Hidden", self.hidden_spin)
        self.channels_spin = QSpinBox()
        self.channels_spin.setRange(1, 32)
        self.channels_spin.setValue(8)
        _tip(self.channels_spin, "Number of convolution kernels (filters). Each kernel is "
             "shared by every position of the image.")
        self.kernel_combo = QComboBox()
        for k in (3, 5, 7):
            self.kernel_combo.addItem(f"{k}×{k}", k)
        self.kernel_combo.setCurrentIndex(1)
        _tip(self.kernel_combo, "Each kernel's size in pixels: the patch of the image it "
             "looks at, at every position.")
        self.kernels_row = QWidget()  # "Kernels: 8 of size 5×5", one row
        kernels = QHBoxLayout(self.kernels_row)
        kernels.setContentsMargins(0, 0, 0, 0)
        kernels.addWidget(self.channels_spin)
        kernels.addWidget(QLabel("of size"))
        kernels.addWidget(self.kernel_combo)
        kernels.addStretch(1)
        mform.addRow("Kernels", self.kernels_row)
        init_row = QHBoxLayout()
        self.init_combo = QComboBox()
        self.init_combo.addItem("random normal", InitKind.RANDOM.value)
        self.init_combo.addItem("standard (±1/√inputs)", InitKind.STANDARD.value)
        self.init_combo.addItem("all zeros", InitKind.ZEROS.value)
        _tip(self.init_combo, "Random normal with the given standard deviation (the "
             "chapter's init_params uses 1.0); standard: uniform within ±1/√(inputs of "
             "the neuron), PyTorch's own default, so that every neuron starts where its "
             "activation still has a slope; or every weight and bias zero. Zeros work "
             "for one neuron but make hidden neurons all learn the same thing.")
        self.std_spin = QDoubleSpinBox()
        # a value counts when typed out (Enter, leaving the box), not at every keystroke:
        # "0.01" typed key by key was 0 (a new model), then 0.0…, and the box was
        # rewritten under the cursor
        self.std_spin.setKeyboardTracking(False)
        self.std_spin.setDecimals(3)
        self.std_spin.setRange(0.0, 10.0)
        self.std_spin.setSingleStep(0.1)
        self.std_spin.setValue(1.0)
        self.std_spin.setPrefix("std ")
        _tip(self.std_spin, "Standard deviation of the random initial weights and biases.")
        init_row.addWidget(self.init_combo)
        init_row.addWidget(self.std_spin)
        init_row.setContentsMargins(0, 0, 0, 0)
        init_widget = QWidget()
        init_widget.setLayout(init_row)
        mform.addRow("Init", init_widget)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        _tip(self.seed_spin, "Random seed for the initial weights and the order of the "
             "batches: the same seed gives the same run. Reset re-initializes with it.")
        mform.addRow("Seed", self.seed_spin)
        layout.addWidget(model_box)

        # optimizer ---------------------------------------------------------
        opt_box = QGroupBox("Training")
        oform = QFormLayout(opt_box)
        oform.setVerticalSpacing(ROW_SPACING)
        recipe_row = QHBoxLayout()
        recipe_row.setContentsMargins(0, 0, 0, 0)
        # one line (the whole text in its tooltip when shortened): wrapped to two once
        # "changed: …" appeared, it pushed the progress bar under the panel's fold at 768 px
        self.recipe_label = ElidedLabel("recipe: the chapter's")
        self.recipe_button = QPushButton("Back to recipe")
        self.recipe_button.setToolTip(
            "Every model starts from a recipe that learns: the chapter's own for the single "
            "neuron (std 1.0, SGD, lr 1.0, batches of 256, mnist_loss), a standard one for "
            "the others (PyTorch's start, lr 0.1, batches of 32). Values you set by hand "
            "stay when you switch model; this button undoes them."
        )
        self.recipe_button.clicked.connect(self.recipeRequested)
        recipe_row.addWidget(self.recipe_label, 1)
        recipe_row.addWidget(self.recipe_button)
        recipe_widget = QWidget()
        recipe_widget.setLayout(recipe_row)
        # as tall with the button as without: it comes and goes as settings depart from
        # the recipe and return, and moved every control below it by 8 px
        recipe_widget.setMinimumHeight(self.recipe_button.sizeHint().height())
        oform.addRow(recipe_widget)
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.addItem("SGD (p -= lr · grad)", Optimizer.SGD.value)
        self.optimizer_combo.addItem("Adam", Optimizer.ADAM.value)
        _tip(self.optimizer_combo, "SGD is the chapter's step: every parameter moves against "
             "its gradient, scaled by the learning rate. Adam adapts the step per parameter.")
        oform.addRow("Optimizer", self.optimizer_combo)
        self.loss_combo = QComboBox()
        self.loss_combo.addItem("mnist_loss (chapter)", BinaryLoss.MNIST.value)
        self.loss_combo.addItem("binary cross-entropy", BinaryLoss.BCE.value)
        _tip(self.loss_combo, "For two classes: the chapter's mnist_loss (how far σ(z) is "
             "from the right answer) or binary cross-entropy. Ten classes use cross-entropy.")
        oform.addRow("Loss", self.loss_combo)
        self.lr_spin = LearningRateSpinBox()
        self.lr_spin.setValue(1.0)
        _tip(self.lr_spin, "Learning rate: how big each step is. The chapter uses 1.0. "
             f"Type a number from {format_lr(LR_MIN)} to {format_lr(LR_MAX)} (1e-6 and "
             "100 both work); the arrows and the wheel go 1 → 2 → 5 → 10 up, or down.")
        self.lr_spin.refused.connect(self._show_lr_refused)
        oform.addRow("Learning rate", self.lr_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 8192)
        self.batch_spin.setValue(256)
        _tip(self.batch_spin, "Images per step: the gradient is averaged over a batch.")
        oform.addRow("Batch size", self.batch_spin)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10000)
        self.epochs_spin.setValue(20)
        _tip(self.epochs_spin, "Passes over the training images per Start. Start again to "
             "continue from where training stopped.")
        oform.addRow("Epochs", self.epochs_spin)
        layout.addWidget(opt_box)

        # run ---------------------------------------------------------------
        run_box = QGroupBox("Run")
        grid = QGridLayout(run_box)
        grid.setVerticalSpacing(ROW_SPACING)
        grid.setColumnStretch(0, 1)  # two equal columns of buttons
        grid.setColumnStretch(1, 1)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.reset_button = QPushButton("Reset")
        self.step_button = QPushButton("Step 1 batch")
        self.epoch_button = QPushButton("Step 1 epoch")
        _tip(self.start_button, "Train for the chosen number of epochs (Space).")
        _tip(self.pause_button, "Pause or resume training (Space).")
        _tip(self.stop_button, "Stop training; the parameters learned so far stay. Stopped in "
             "mid-epoch, the next Start (or Finish epoch) finishes that epoch first.")
        _tip(self.reset_button, "Re-initialize the model with the same seed and clear the plots.")
        _tip(self.step_button, "Do exactly one update on one batch, then pause: watch a "
             "single step of gradient descent.")
        _tip(self.epoch_button, "Train to the end of the current epoch, then pause.")
        for i, b in enumerate((self.start_button, self.pause_button, self.stop_button,
                               self.reset_button, self.step_button, self.epoch_button)):
            grid.addWidget(b, i // 2, i % 2)
        self.slow_slider = QSlider(Qt.Orientation.Horizontal)
        self.slow_slider.setRange(0, 1000)
        self.slow_label = QLabel("Slow motion: off")
        _tip(self.slow_slider, "Slow motion: wait this long after each batch, so you can "
             "watch every update of the weights and the bias.")
        _tip(self.slow_label, "Slow motion: how long training waits after each batch.")
        # the label and its slider on one row (a 768 px screen has no row to spare)
        grid.addWidget(self.slow_label, 3, 0)
        grid.addWidget(self.slow_slider, 3, 1)
        # the bar's length is the epoch's progress, its text where training is: one row
        # (two were one too many for a 768 px screen once the settings grew a line)
        self.progress = QProgressBar()
        self.progress.setFormat("epoch 0 · step 0")
        _tip(self.progress, "How far the run Start began is, and where training is: "
             "the epoch, the batch in it, and the steps taken since the start.")
        grid.addWidget(self.progress, 5, 0, 1, 2)
        layout.addWidget(run_box)
        layout.addStretch(1)

        # wiring ------------------------------------------------------------
        self.dataset_combo.activated.connect(self._on_dataset_activated)
        self.cancel_download_button.clicked.connect(self.cancelDownloadRequested)
        for combo in (self.task_combo, self.first_combo, self.second_combo):
            combo.currentIndexChanged.connect(self._emit_task)
        for w in (self.model_combo, self.bias_combo, self.init_combo, self.kernel_combo):
            w.currentIndexChanged.connect(self._emit_spec)
        for w in (self.hidden_spin, self.channels_spin, self.seed_spin):
            w.valueChanged.connect(self._emit_spec)
        self.std_spin.valueChanged.connect(self._emit_spec)
        for w in (self.optimizer_combo, self.loss_combo):
            w.currentIndexChanged.connect(self._emit_config)
        for w in (self.lr_spin, self.batch_spin, self.epochs_spin, self.seed_spin):
            w.valueChanged.connect(self._emit_config)
        self.start_button.clicked.connect(self.startRequested)
        self.pause_button.clicked.connect(self.pauseRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        self.reset_button.clicked.connect(self._on_reset_clicked)
        self.step_button.clicked.connect(self.stepBatchRequested)
        self.epoch_button.clicked.connect(self.stepEpochRequested)
        self.slow_slider.valueChanged.connect(self._on_slow)
        # a typed number counts when typed out (Enter, leaving the box), as for the std:
        # "48" key by key built a model of 4 neurons first (and asked twice)
        for spin in (self.hidden_spin, self.channels_spin, self.seed_spin):
            spin.setKeyboardTracking(False)
        self._watch_user_input()

    # ------------------------------------------------------------------ asking first
    def _structural_controls(self) -> dict[QWidget, str]:
        """The controls whose change makes a new model, with what each changes."""
        return {self.dataset_combo: "the dataset", self.task_combo: "the task",
                self.first_combo: "the classes", self.second_combo: "the classes",
                self.model_combo: "the model", self.bias_combo: "the bias",
                self.hidden_spin: "the hidden neurons", self.channels_spin: "the kernels",
                self.kernel_combo: "the kernel size", self.init_combo: "the initialization",
                self.std_spin: "the initial std", self.seed_spin: "the seed"}

    def _watch_user_input(self) -> None:
        """Note the learner's own input on the controls that make a new model (and on
        a combo's open list), so that a change it causes can be told from one set by
        code.  The note lasts until the event loop is back."""
        for control in self._structural_controls():
            control.installEventFilter(self)
            if isinstance(control, QComboBox):
                control.view().installEventFilter(self)
                control.view().viewport().installEventFilter(self)

    _INPUT = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
              QEvent.Type.KeyPress, QEvent.Type.Wheel)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind in self._INPUT:
            if kind is QEvent.Type.KeyPress and isinstance(watched, QAbstractSpinBox):
                self._typed.add(id(watched))
            self._note_user_input()
        elif kind is QEvent.Type.FocusOut and id(watched) in self._typed:
            # a typed value counts when the box is left (keyboard tracking is off)
            self._typed.discard(id(watched))
            self._note_user_input()
        return False

    def _note_user_input(self) -> None:
        if not self._user_input:
            self._user_input = True
            QTimer.singleShot(0, self._end_user_input)

    def _end_user_input(self) -> None:
        self._user_input = False

    def set_discard_guard(self, unsaved: Callable[[], str] | None,
                          save: Callable[[], object] | None = None) -> None:
        """Ask before a change of dataset, task or model discards a trained model.

        ``unsaved()`` says what would be lost ("the model trained for 1,240 steps…"), or
        "" when nothing would be (untrained, or saved since); ``save()`` saves the
        session (a dialog), offered as "Save session first…".  Only the learner's own
        changes ask; settings set by code never do."""
        self._unsaved, self._save = unsaved, save

    def _go_ahead(self, what: str) -> bool:
        """May a change of ``what`` discard the model?  Asks the learner when their own
        input made the change and trained, unsaved progress would be lost."""
        if not self._user_input or self._unsaved is None or not self._unsaved():
            return True
        self._user_input = False  # answered once per change, whatever made the box
        return ask_before_discarding(
            self, f"Changing {what} starts a new, untrained model", self._unsaved, self._save,
            cancel_keeps="the trained model and the setting as it was")

    def _on_reset_clicked(self) -> None:
        """Reset throws the trained model away: asked first when that loses work."""
        if self._unsaved is not None and not ask_before_discarding(
                self, "Reset starts the model again from its initial weights", self._unsaved,
                self._save, go_on="Discard and reset"):
            return
        self.resetRequested.emit()

    def _put_back(self) -> None:
        """Cancelled: every control shows the settings as they were, and nothing is
        sent."""
        task, spec, config = self._shown
        self.set_settings(task, spec, config)

    # ------------------------------------------------------------------ reading
    def task(self) -> Task:
        if self.task_combo.currentData() == "all":
            return Task.all_ten()
        first, second = self.first_combo.currentData(), self.second_combo.currentData()
        if first == second:
            second = (first + 1) % 10
        return Task.pair(first, second)

    def spec(self) -> ModelSpec:
        task = self.task()
        return ModelSpec(
            kind=self.model_combo.currentData(),
            bias_mode=self.bias_combo.currentData(),
            n_outputs=task.n_outputs,
            hidden=self.hidden_spin.value(),
            channels=self.channels_spin.value(),
            kernel=self.kernel_combo.currentData(),
            init=self.init_combo.currentData(),
            init_std=self.std_spin.value(),
            seed=self.seed_spin.value(),
        )

    def config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs_spin.value(),
            lr=self.lr_spin.value(),
            batch_size=self.batch_spin.value(),
            optimizer=self.optimizer_combo.currentData(),
            loss=self.loss_combo.currentData(),
            seed=self.seed_spin.value(),
        )

    # ------------------------------------------------------------------ emitting
    def _on_dataset_activated(self, index: int) -> None:
        key = self.dataset_combo.itemData(index)
        if key == LOADED_FOLDER or (key == self._dataset_key and key != "folder"):
            return  # the dataset that is loaded already: nothing to read again
        user = self._user_input  # the folder dialog's own events come in between
        if key == "folder":
            folder = QFileDialog.getExistingDirectory(self, "Folder with MNIST-format IDX files",
                                                      file_dirs.start_in(kind=file_dirs.DATA))
            file_dirs.remember(folder, kind=file_dirs.DATA)
            if not folder:
                self.set_dataset(self._dataset_key, self._dataset_source)
                return
            request = folder
        else:
            request = key
        self._user_input = user
        if not self._go_ahead("the dataset"):
            self.set_dataset(self._dataset_key, self._dataset_source)
            return
        self.datasetRequested.emit(request)

    def _emit_task(self) -> None:
        self._sync_visibility()
        if self._updating:
            return
        if not self._go_ahead(self._structural_controls().get(self.sender(), "the task")):
            self._put_back()
            return
        task = self.task()
        # keep the model combo consistent with the task
        self._updating = True
        try:
            kind = ModelKind(self.model_combo.currentData())
            if task.is_binary and kind is ModelKind.LINEAR:
                self._select(self.model_combo, ModelKind.SINGLE.value)
            elif not task.is_binary and kind is ModelKind.SINGLE:
                self._select(self.model_combo, ModelKind.LINEAR.value)
        finally:
            self._updating = False
        self._sync_visibility()
        # the config is sent on its own (_emit_config): the seed belongs to both
        self._shown = (task, self.spec(), self._shown[2])
        self.taskChanged.emit(task)

    def _emit_spec(self) -> None:
        self._sync_visibility()
        if self._updating:
            return
        if not self._go_ahead(self._structural_controls().get(self.sender(), "the model")):
            self._put_back()
            return
        kind = ModelKind(self.model_combo.currentData())
        task = self.task()
        wrong_task = ((kind is ModelKind.SINGLE and not task.is_binary)
                      or (kind is ModelKind.LINEAR and task.is_binary))
        if wrong_task:  # one output is two classes, ten outputs ten
            self._updating = True
            self.task_combo.setCurrentIndex(0 if kind is ModelKind.SINGLE else 1)
            self._updating = False
            self._sync_visibility()
            self._shown = (self.task(), self.spec(), self._shown[2])
            self.taskAndSpecChanged.emit(*self._shown[:2])
            return
        # the window answers with set_settings (the model's view of it) in any case
        self._shown = (task, self.spec(), self._shown[2])
        self.specChanged.emit(self._shown[1])

    def _emit_config(self) -> None:
        if self._updating:
            return
        config = self.config()
        if config == self._shown[2]:
            return  # nothing new (the seed's change was cancelled, and put back)
        self._shown = (self._shown[0], self._shown[1], config)
        self.configChanged.emit(config)

    def _on_slow(self, value: int) -> None:
        seconds = value / 1000.0
        self.slow_label.setText("Slow motion: off" if value == 0
                                else f"Slow motion: {value} ms")
        self.slowMotionChanged.emit(seconds)

    # ------------------------------------------------------------------ showing
    @staticmethod
    def _select(combo: QComboBox, data: object) -> None:
        i = combo.findData(data)
        if i >= 0:
            combo.setCurrentIndex(i)

    def _sync_visibility(self) -> None:
        self.std_spin.setEnabled(self.init_combo.currentData() == InitKind.RANDOM.value
                                 and self._state in ("ready", "loading"))
        kind = ModelKind(self.model_combo.currentData())
        binary = self.task_combo.currentData() != "all"
        form: QFormLayout = self.bias_combo.parentWidget().layout()  # type: ignore[assignment]
        for widget, visible in (
            (self.bias_combo, kind is ModelKind.SINGLE),
            (self.hidden_spin, kind is ModelKind.MLP),
            (self.kernels_row, kind is ModelKind.CNN),
        ):
            form.setRowVisible(widget, visible)
        data_form: QFormLayout = self.pair_widget.parentWidget().layout()  # type: ignore[assignment]
        data_form.setRowVisible(self.pair_widget, binary)
        opt_form: QFormLayout = self.loss_combo.parentWidget().layout()  # type: ignore[assignment]
        opt_form.setRowVisible(self.loss_combo, binary)

    def set_class_names(self, names: tuple[str, ...]) -> None:
        self._class_names = names
        self._updating = True
        try:
            for combo in (self.first_combo, self.second_combo):
                for i, name in enumerate(names):
                    combo.setItemText(i, f"{i}: {name}" if name != str(i) else name)
        finally:
            self._updating = False

    def set_dataset_key(self, key: str) -> None:
        """Select the dataset ``key`` in the Dataset box (a folder keeps its name when
        it is the one loaded; use :meth:`set_dataset` to name a new folder)."""
        self.set_dataset(key, self._dataset_source if key == "folder" else "")

    def set_dataset(self, key: str, source: str = "") -> None:
        """Show the dataset that is loaded: ``key`` ("sample", "mnist", …, "folder") and,
        for a folder, its path ``source``: the box then names the folder (“Folder
        “fashion-mnist””, the full path in the tooltip)."""
        self._dataset_key, self._dataset_source = str(key), str(source)
        self._updating = True
        try:
            combo = self.dataset_combo
            i = combo.findData(LOADED_FOLDER)
            if key == "folder" and source:
                if i < 0:
                    combo.insertItem(combo.findData("folder"), "", LOADED_FOLDER)
                    i = combo.findData(LOADED_FOLDER)
                combo.setItemText(i, folder_label(source))
                combo.setItemData(i, source, Qt.ItemDataRole.ToolTipRole)
                combo.setCurrentIndex(i)
            else:
                if i >= 0:
                    combo.removeItem(i)
                self._select(combo, key)
                if key in DOWNLOADABLE:  # read from a system package's copy, or not
                    from biasviz.core.datasets.download import is_installed_copy

                    self._name_dataset_entry(key, source if is_installed_copy(source) else None)
        finally:
            self._updating = False

    def _name_installed_copies(self) -> None:
        """"Fashion-MNIST (installed copy)" where the app would read a system package's
        copy (no download in the cache), with the folder in the entry's tooltip."""
        from biasviz.core.datasets.download import installed_copy_in_use

        for key in DOWNLOADABLE:
            copy = installed_copy_in_use(key)
            self._name_dataset_entry(key, None if copy is None else str(copy))

    def _name_dataset_entry(self, key: str, installed: str | None) -> None:
        """The Dataset box's entry for ``key``: "… (installed copy)" with the folder
        ``installed`` in its tooltip, or "… (download)"."""
        combo = self.dataset_combo
        j = combo.findData(key)
        label = dict(DATASETS)[key]
        combo.setItemText(j, label if installed is None
                          else label.replace("(download)", "(installed copy)"))
        combo.setItemData(j, installed, Qt.ItemDataRole.ToolTipRole)

    def dataset_text(self) -> str:
        """What the Dataset box says."""
        return self.dataset_combo.currentText()

    def set_settings(self, task: Task, spec: ModelSpec, config: TrainConfig) -> None:
        """Show settings chosen elsewhere (restored from QSettings, or an import)."""
        self._updating = True
        try:
            self.task_combo.setCurrentIndex(0 if task.is_binary else 1)
            if task.is_binary:
                self.first_combo.setCurrentIndex(task.classes[0])
                self.second_combo.setCurrentIndex(task.classes[1])
            self._select(self.model_combo, spec.kind.value)
            self._select(self.bias_combo, spec.bias_mode.value)
            self.hidden_spin.setValue(int(spec.hidden))
            self.channels_spin.setValue(int(spec.channels))
            self._select(self.kernel_combo, int(spec.kernel))
            self._select(self.init_combo, spec.init.value)
            self.std_spin.setValue(float(spec.init_std))
            self.seed_spin.setValue(int(spec.seed))
            self._select(self.optimizer_combo, config.optimizer.value)
            self._select(self.loss_combo, config.loss.value)
            self.lr_spin.show_value(float(config.lr))
            self.batch_spin.setValue(int(config.batch_size))
            self.epochs_spin.setValue(int(config.epochs))
        finally:
            self._updating = False
        self._sync_visibility()
        self._shown = (self.task(), self.spec(), self.config())

    def set_recipe(self, label: str, follows: bool) -> None:
        """Which recipe the settings follow ("recipe: standard, changed: learning rate")."""
        self.recipe_label.set_full_text(label)
        self.recipe_button.setVisible(not follows)

    def _show_lr_refused(self, message: str) -> None:
        """Say next to the box why the typed rate was not taken (and in the status bar)."""
        box = self.lr_spin
        QToolTip.showText(box.mapToGlobal(QPoint(0, box.height())), message, box, QRect(), 8000)
        self.statusMessage.emit(message)

    def set_state(self, state: str) -> None:
        """loading / ready / running / paused: enable what makes sense."""
        self._state = state
        idle = state in ("ready", "loading")
        running = state == "running"
        for w in (self.dataset_combo, self.task_combo, self.first_combo, self.second_combo,
                  self.model_combo, self.bias_combo, self.hidden_spin, self.channels_spin,
                  self.kernel_combo, self.init_combo, self.std_spin, self.seed_spin,
                  self.optimizer_combo, self.loss_combo, self.batch_spin, self.epochs_spin,
                  self.lr_spin):
            w.setEnabled(idle)
            tip = w.whatsThis() + ("" if idle else "\n\n(Stop training to change this.)")
            if isinstance(w, ElidingComboBox):
                w.set_help(tip)
            else:
                w.setToolTip(tip)
        self.start_button.setEnabled(state in ("ready", "loading", "paused"))
        self.start_button.setText("Resume" if state == "paused" else "Start")
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(not idle)
        self.reset_button.setEnabled(state != "loading")
        self.step_button.setEnabled(state in ("ready", "paused", "loading"))
        self.epoch_button.setEnabled(state in ("ready", "paused", "loading"))
        self.recipe_button.setEnabled(idle)
        self._sync_visibility()

    def set_download_visible(self, visible: bool) -> None:
        """Show or hide the download bar and its cancel button (see
        :meth:`show_dataset_loading`, which also tells a download from a local read)."""
        if visible:
            self.show_dataset_loading("")
        else:
            self.hide_dataset_loading()

    def show_dataset_loading(self, spec: str) -> None:
        """A dataset is loading: ``spec`` is what was asked for ("mnist", … or a folder's
        path; "" when unknown).  A download shows its progress and "Cancel download"; a
        local read (a folder) only a busy bar saying what is read — there is nothing to
        cancel."""
        spec = str(spec)
        download = spec in DOWNLOADABLE or not spec
        if spec in DOWNLOADABLE:
            # a download already in the cache, or a system package's copy: read, not
            # fetched ("Downloading Fashion-MNIST…" and a Cancel while a copy was read)
            from biasviz.core.datasets.download import find_cached, installed_copy

            download = not find_cached(spec) and installed_copy(spec) is None
        name = dict(DATASETS).get(spec, "the dataset").replace(" (download)", "")
        if spec in DOWNLOADABLE and not download:
            text = f"Reading {name}…"
        elif download:
            text = f"Downloading {name}…" if spec else "Downloading…"
        else:
            text = f"Reading {folder_label(spec).replace('Folder', 'folder', 1)}…"
        self.loading_label.set_full_text(text, spec if not download else "")
        self.loading_label.setVisible(True)
        self.download_bar.setRange(0, 0)  # busy until a download reports its size
        self.download_bar.setFormat("")
        self.download_bar.setVisible(True)
        self.cancel_download_button.setVisible(download)
        self.dataset_combo.setEnabled(False)

    def hide_dataset_loading(self) -> None:
        for w in (self.loading_label, self.download_bar, self.cancel_download_button):
            w.setVisible(False)
        self.dataset_combo.setEnabled(self._state in ("ready", "loading"))

    def is_dataset_loading(self) -> bool:
        return not self.download_bar.isHidden()

    def set_download_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.download_bar.setRange(0, 1000)
            self.download_bar.setValue(int(1000 * min(done, total) / total))
            self.download_bar.setFormat(f"{done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            self.download_bar.setRange(0, 0)
            self.download_bar.setFormat(f"{done / 1e6:.1f} MB")

    def show_progress(self, step: int, epoch: int, batch: int, per_epoch: int,
                      run: tuple[int, int] | None = None) -> None:
        """The text says where training is; the bar fills with the run (``run``: the
        steps it started and will end at), or else with the epoch.  (With the epoch only,
        a run of 3,000 four-batch epochs flickered between 25, 50, 75 and 100 % and never
        said how far it had got: walk-through.)"""
        bar = self.progress
        # QProgressBar.setValue repaints at once (it and the group box behind it, up to
        # 5 ms at a run's end); with updates off it only marks itself for the window's
        # next paint, with everything else that changed.
        bar.setUpdatesEnabled(False)
        try:
            if run is not None and run[1] > run[0]:
                bar.setRange(0, run[1] - run[0])
                bar.setValue(min(max(step - run[0], 0), run[1] - run[0]))
            else:
                bar.setRange(0, per_epoch)
                bar.setValue(batch)
            bar.setFormat(f"epoch {epoch} · batch {batch}/{per_epoch} · step {step:,}")
        finally:
            bar.setUpdatesEnabled(True)  # ...which schedules that paint (update())

    def reset_progress(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("epoch 0 · step 0")
