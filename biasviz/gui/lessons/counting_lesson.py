"""Lesson for seed 001: counting weights and biases, and what weight sharing saves.

Left: the current model's parameters, layer by layer, checked against what torch would
say (``sum(p.numel())``, computed here from the snapshot's numpy arrays so that torch is
never imported on the GUI thread), and the Small CNN's shared kernels.
Right: a convolution calculator with the published first layers of LeNet-5 and AlexNet:
output size, parameters with and without sharing, and the working, line by line.
"""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.counting import (
    ConvCount,
    ConvPreset,
    biasviz_cnn_preset,
    model_table,
    params_size,
    presets,
    side_working,
)
from biasviz.core.errors import ConfigError
from biasviz.core.spec import ModelKind, ModelSpec, Snapshot
from biasviz.core.weight_display import first_layer_names
from biasviz.gui.lessons.base import Lesson, lesson_text
from biasviz.gui.weights_view import WeightsView

CUSTOM = "custom"
ERROR_FG = "#b00020"
OK_FG = "#1b6e2a"
NOTE_FG = "#555555"

INTRO = (
    "<b>Counting.</b> A neuron has <b>one weight per input</b> and <b>one bias</b> "
    "(3 inputs → 3 weights + 1 bias). The table on the left counts every parameter of the "
    "model you are training and checks the total against PyTorch. "
    "<b>Weight sharing.</b> A convolution slides the <i>same</i> small kernel over every "
    "position, so it has <i>filters × (kernel weights + 1 bias)</i> parameters whatever "
    "the image size; without sharing every output position needs weights and a bias of "
    "its own. Compare the two counts for LeNet-5 and AlexNet on the right, then try a "
    "stride that does not fit."
)

# The calculator's inputs: ConvCount field, label, symbol used in the working, range,
# tooltip.
FIELDS: list[tuple[str, str, int, int, str]] = [
    (
        "width",
        "Input width W",
        1,
        4096,
        "W: how many pixels wide the layer's input is (MNIST 28, LeNet-5 32, AlexNet 227).",
    ),
    (
        "height",
        "Input height H",
        1,
        4096,
        "H: how many pixels tall the input is. Computed the same way as the width.",
    ),
    (
        "in_channels",
        "Input channels C",
        1,
        4096,
        "C: numbers per pixel of the input: 1 for a grey image, 3 for red/green/blue, or the "
        "number of filters of the layer before.\nEach filter covers all C channels, so it "
        "has F×F×C weights.",
    ),
    (
        "filters",
        "Filters K",
        1,
        4096,
        "K: how many different kernels the layer learns. Each one gives one output map and "
        "has its own single bias.",
    ),
    (
        "filter_size",
        "Filter size F",
        1,
        512,
        "F: the side of the square patch each kernel looks at (5 means 5×5).",
    ),
    (
        "padding",
        "Padding P",
        0,
        512,
        "P: rings of zeros added around the input on every edge, so the filter can sit over "
        "the border. The input becomes W + 2P wide.",
    ),
    (
        "stride",
        "Stride S",
        1,
        512,
        "S: how many pixels the filter moves between positions. The positions must tile the "
        "input exactly: (W − F + 2P) / S must be a whole number.",
    ),
]


def _tip(widget: QWidget, text: str) -> QWidget:
    widget.setToolTip(text)
    widget.setWhatsThis(text)
    return widget


def _card(title_color: str) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    label.setStyleSheet(
        f"QLabel {{ background: #fbfbfb; color: #202020; border: 1px solid #d0d0d0;"
        f" border-left: 4px solid {title_color}; border-radius: 3px; padding: 6px; }}"
    )
    return label


class _Modest(QWidget):
    """Holds a widget that should grow into spare room but not ask for it.

    Each side of the lesson sits in a scroll area; with word-wrapped labels the scroll area
    makes its page as tall as the layout's preferred height, and pyqtgraph's large
    preferred size would then make the page scroll even when everything fits."""

    def __init__(self, child: QWidget, hint: QSize) -> None:
        super().__init__()
        self._hint = hint
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(child)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return self._hint

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - else the child's wrapped title
        return False  # passes its big preferred height up through the layouts


class CountingLesson(Lesson):
    """Counting weights and biases; weight sharing (seed 001)."""

    title = "Counting weights and biases"
    seed = "001"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec = ModelSpec()
        self._params: dict[str, np.ndarray] | None = None
        self._presets: list[ConvPreset] = presets()
        self._count: ConvCount | None = None
        self._error = ""
        self._applying = False
        self._build()
        self._show_model()
        self.select_preset(self._presets[0].key)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        self.intro_label = lesson_text(INTRO)
        layout.addWidget(self.intro_label)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        # Each side scrolls rather than squeezing its widgets on top of each other when the
        # tab is small.
        for side in (self._build_model_side(), self._build_calculator()):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(side)
            splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([540, 660])  # the calculator's working needs the width
        self.splitter = splitter
        layout.addWidget(splitter, 1)

    def _build_model_side(self) -> QWidget:
        side = QWidget()
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 4, 0)

        self.model_box = QGroupBox("Your model")
        _tip(
            self.model_box,
            "The model chosen in the Training panel; change it there and "
            "this table follows. Each row is one layer of neurons.",
        )
        box = QVBoxLayout(self.model_box)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["Layer", "Weights", "Biases", "Total", "How it's counted"]
        )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        for col_i in range(4):
            header.setSectionResizeMode(col_i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        # the explanations wrap: refit the rows when the column's width changes
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_table_height)
        header.sectionResized.connect(lambda *_: self._fit_timer.start())
        _tip(
            self.table,
            "Every layer's weights and biases. A layer of N neurons, each "
            "looking at M inputs, has N×M weights and N biases.\nPoint at a "
            "number to see where it comes from.",
        )
        box.addWidget(self.table)

        self.torch_label = QLabel()
        self.torch_label.setTextFormat(Qt.TextFormat.RichText)
        self.torch_label.setWordWrap(True)
        _tip(
            self.torch_label,
            "PyTorch counts a model's parameters with "
            "sum(p.numel() for p in model.parameters()): the number of "
            "entries of every weight and bias tensor.\nHere it is "
            "computed from the same arrays (numpy's a.size), and must "
            "equal the table's total.",
        )
        box.addWidget(self.torch_label)

        self.rules_label = QLabel(
            "• One neuron: one weight per input + one bias (3 inputs → 3 weights + 1 bias).<br>"
            "• A layer of N neurons with M inputs each: N × M weights + N biases.<br>"
            "• A conv kernel is a neuron on a K×K patch: K·K weights + 1 bias, used everywhere."
        )
        self.rules_label.setTextFormat(Qt.TextFormat.RichText)
        self.rules_label.setWordWrap(True)
        _tip(self.rules_label, "The three counting rules behind every number in the table.")
        box.addWidget(self.rules_label)
        col.addWidget(self.model_box)

        self.kernels_box = QGroupBox("Shared kernels")
        kbox = QVBoxLayout(self.kernels_box)
        self.kernels_stack = QStackedWidget()
        kernels_page = QWidget()
        kpage = QVBoxLayout(kernels_page)
        kpage.setContentsMargins(0, 0, 0, 0)
        self.kernels_view = WeightsView()
        self.kernels_view.setMinimumHeight(130)
        kpage.addWidget(_Modest(self.kernels_view, QSize(400, 200)), 1)
        self.kernel_counts_label = QLabel()
        self.kernel_counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.kernel_counts_label.setWordWrap(True)
        _tip(
            self.kernel_counts_label,
            "The Small CNN's convolution counted both ways: the "
            "kernels above are all it has to learn.",
        )
        kpage.addWidget(self.kernel_counts_label)
        self.kernels_stack.addWidget(kernels_page)

        self.kernels_note = QLabel(
            "Choose the <b>Small CNN</b> model in the Training panel to see shared "
            "kernels.<br><br>Its convolution layer learns a handful of small kernels "
            "(5×5 by default). Each one is applied at every position of the 28×28 image, "
            "so the layer has only kernels × (25 + 1) parameters."
        )
        self.kernels_note.setTextFormat(Qt.TextFormat.RichText)
        self.kernels_note.setWordWrap(True)
        self.kernels_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.kernels_note.setStyleSheet(f"color: {NOTE_FG}; padding: 12px;")
        _tip(self.kernels_note, "Model → Small CNN (shared kernels) in the Training panel.")
        self.kernels_stack.addWidget(self.kernels_note)
        kbox.addWidget(self.kernels_stack)
        col.addWidget(self.kernels_box, 1)
        return side

    def _build_calculator(self) -> QWidget:
        self.calc_box = QGroupBox("Convolution calculator: weights with and without sharing")
        col = QVBoxLayout(self.calc_box)

        row = QHBoxLayout()
        preset_label = QLabel("Preset:")
        row.addWidget(preset_label)
        self.preset_combo = QComboBox()
        for p in self._presets:
            self.preset_combo.addItem(p.label, p.key)
        self.preset_combo.addItem("Custom (your own numbers)", CUSTOM)
        _tip(
            self.preset_combo,
            "Fill in the first convolution layer of a famous network "
            "(with its published parameter counts), or of this app's "
            "Small CNN.\nChange any number below and it becomes Custom.",
        )
        preset_label.setBuddy(self.preset_combo)
        row.addWidget(self.preset_combo, 1)
        col.addLayout(row)

        self.source_label = QLabel()
        self.source_label.setWordWrap(True)
        self.source_label.setStyleSheet(f"color: {NOTE_FG};")
        _tip(self.source_label, "Where the preset's numbers come from.")
        col.addWidget(self.source_label)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.spins: dict[str, QSpinBox] = {}
        for i, (name, text, lo, hi, tip) in enumerate(FIELDS):
            spin = QSpinBox()
            spin.setRange(lo, hi)
            spin.setKeyboardTracking(False)  # recompute on Enter, not on every keystroke
            spin.setAccelerated(True)
            _tip(spin, tip)
            label = QLabel(text)
            label.setBuddy(spin)
            _tip(label, tip)
            r, c = (i, 0) if i < 3 else (i - 3, 2)
            grid.addWidget(label, r, c)
            grid.addWidget(spin, r, c + 1)
            spin.valueChanged.connect(self._on_spin_changed)
            self.spins[name] = spin
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        col.addLayout(grid)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(
            f"QLabel {{ color: {ERROR_FG}; background: #fdecee; border: 1px solid #f0b7bf;"
            " border-radius: 3px; padding: 6px; }"
        )
        _tip(
            self.error_label,
            "These numbers do not make a valid convolution layer; the "
            "message says why and what would fit.",
        )
        self.error_label.hide()
        col.addWidget(self.error_label)

        self.output_label = QLabel()
        self.output_label.setTextFormat(Qt.TextFormat.RichText)
        self.output_label.setWordWrap(True)
        _tip(
            self.output_label,
            "Output side = (W − F + 2P) / S + 1, for the width and the "
            "height; one output map per filter.",
        )
        col.addWidget(self.output_label)

        cards = QHBoxLayout()
        self.shared_label = _card("#2e7d32")
        _tip(
            self.shared_label,
            "With weight sharing each filter has one kernel (F×F×C "
            "weights) and one bias, used at every position.\nThis is "
            "what a convolution layer in PyTorch or Keras really has.",
        )
        self.unshared_label = _card("#c62828")
        _tip(
            self.unshared_label,
            "Without sharing (a “locally connected” layer) every "
            "output number has its own F×F×C weights and its own "
            "bias.\nThe count grows with the size of the image.",
        )
        cards.addWidget(self.shared_label, 1)
        cards.addWidget(self.unshared_label, 1)
        col.addLayout(cards)

        self.ratio_label = QLabel()
        self.ratio_label.setTextFormat(Qt.TextFormat.RichText)
        self.ratio_label.setWordWrap(True)
        _tip(
            self.ratio_label,
            "Without sharing each filter's parameters are repeated at "
            "every position, so the ratio is exactly the number of "
            "positions, out width × out height.",
        )
        col.addWidget(self.ratio_label)

        working_title = QLabel("The working, step by step:")
        f = working_title.font()
        f.setBold(True)
        working_title.setFont(f)
        col.addWidget(working_title)
        self.working_text = QPlainTextEdit()
        self.working_text.setReadOnly(True)
        # long lines wrap at the box's width: at 2× scale on a laptop the calculator's
        # column is narrower than the working's longest line (walk-through V: it needed
        # sideways scrolling, its right edge cut)
        self.working_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.working_text.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.working_text.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.working_text.setFont(mono)
        self.working_text.setFrameShape(QFrame.Shape.StyledPanel)
        _tip(
            self.working_text,
            "Every step of the arithmetic, so you can check it by hand (and copy it).",
        )
        working_title.setBuddy(self.working_text)
        col.addWidget(self.working_text, 1)

        self.preset_combo.currentIndexChanged.connect(self._on_preset_chosen)
        return self.calc_box

    # ------------------------------------------------------------------ Lesson contract
    def set_model(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            self._params = None
            self._show_model()
            return
        spec_changed = snapshot.spec != self._spec or self._params is None
        self._spec, self._params = snapshot.spec, snapshot.params
        if spec_changed:
            self._show_model()
        else:  # same model, new numbers (training): only the kernels change
            self._show_kernels()

    # ------------------------------------------------------------------ public helpers
    def select_preset(self, key: str) -> None:
        """Fill the calculator with a preset ("lenet5_c1", "alexnet_conv1",
        "biasviz_cnn")."""
        i = self.preset_combo.findData(key)
        if i < 0:
            raise ValueError(f"unknown preset {key!r}")
        if i == self.preset_combo.currentIndex():
            self._on_preset_chosen(i)
        else:
            self.preset_combo.setCurrentIndex(i)

    def current_count(self) -> ConvCount | None:
        """The calculator's result, or None when its numbers are invalid."""
        return self._count

    def error_text(self) -> str:
        return self._error

    def calculator_text(self) -> str:
        """Everything the calculator shows as plain text (for tests and copying)."""
        parts = [
            self.error_label.text() if self._error else "",
            self.output_label.text(),
            self.shared_label.text(),
            self.unshared_label.text(),
            self.ratio_label.text(),
            self.working_text.toPlainText(),
        ]
        return "\n".join(p for p in parts if p)

    def table_rows(self) -> list[list[str]]:
        """The parameter table's cells as text."""
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    # ------------------------------------------------------------------ the model side
    def _show_model(self) -> None:
        spec = self._spec
        self.model_box.setTitle(f"Your model: {spec.describe()}")
        rows = model_table(spec)
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            is_total = row.layer == "total"
            cells = [
                (row.label.capitalize(), f"{row.label}"),
                (f"{row.weights:,}", f"{row.weights:,} weights: {row.weights_how}"),
                (f"{row.biases:,}", f"{row.biases:,} biases: {row.biases_how}"),
                (f"{row.total:,}", f"{row.weights:,} weights + {row.biases:,} biases"),
                (
                    f"{row.weights_how}; biases: {row.biases_how}"
                    if not is_total
                    else "every layer's weights and biases, added up",
                    "",
                ),
            ]
            for c, (text, tip) in enumerate(cells):
                item = QTableWidgetItem(text)
                if 1 <= c <= 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                item.setToolTip(tip or text)
                if is_total and c < 4:
                    item.setFont(bold)
                self.table.setItem(r, c, item)
        self._fit_table_height()

        total = rows[-1].total
        if self._params is not None:
            torch_total = params_size(self._params)
            source = "sum of the parameter arrays' sizes"
        else:  # no model yet: the sizes the arrays will have
            torch_total = int(sum(int(np.prod(s)) for s in spec.param_shapes().values()))
            source = "from the parameter shapes, before the model is built"
        if torch_total == total:
            verdict = f"<span style='color:{OK_FG}'>✓ same as the table's total</span>"
        else:
            verdict = (
                f"<span style='color:{ERROR_FG}'>✗ differs from the table's total {total:,}</span>"
            )
        self.torch_label.setText(
            f"<b>torch says</b> <code>sum(p.numel() for p in model.parameters())</code> = "
            f"<b>{torch_total:,}</b> {verdict} <span style='color:{NOTE_FG}'>"
            f"({escape(source)})</span>"
        )
        self._show_kernels()
        if spec.kind is ModelKind.CNN:
            self._refresh_cnn_preset()

    def _fit_table_height(self) -> None:
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        if self.table.horizontalScrollBar().isVisible():
            height += self.table.horizontalScrollBar().height()
        self.table.setFixedHeight(height + 2)

    def _show_kernels(self) -> None:
        spec = self._spec
        if spec.kind is not ModelKind.CNN:
            self.kernels_stack.setCurrentWidget(self.kernels_note)
            self.kernels_box.setTitle("Shared kernels")
            return
        c, k = int(spec.channels), int(spec.kernel)
        if self._params is not None:
            weights = np.asarray(self._params["conv.weights"]).reshape(c, k * k)
            biases = np.asarray(self._params["conv.biases"]).reshape(c)
        else:  # the spec is known but no parameters yet: blank kernels
            weights = np.zeros((c, k * k), dtype=np.float32)
            biases = np.zeros(c, dtype=np.float32)
        count = ConvCount(28, 28, 1, c, k)
        self.kernels_box.setTitle(f"The {c} shared {k}×{k} kernels of your Small CNN")
        self.kernels_view.set_neurons(
            weights,
            biases,
            # named as the main view names them ("kernel 0" …): the same kernel, the
            # same name (the lesson said "kernel 1" for the main view's "kernel 0")
            first_layer_names(spec, c),
            side=k,
            title=(
                f"Each kernel is used at all {count.out_width}×{count.out_height} "
                "positions of the image"
            ),
        )
        self.kernel_counts_label.setText(
            f"With sharing: {c} kernels × ({k}×{k} + 1) = <b>{count.shared_total:,}</b> "
            f"parameters. Without sharing the same layer would need "
            f"{count.n_outputs:,} outputs × ({k * k} + 1) = "
            f"<b>{count.unshared_total:,}</b>, {count.positions:,} times more."
        )
        self.kernels_stack.setCurrentIndex(0)

    # ------------------------------------------------------------------ the calculator
    def _refresh_cnn_preset(self) -> None:
        """Keep the "biasviz Small CNN" preset in step with the current CNN."""
        new = biasviz_cnn_preset(self._spec)
        self._presets = [new if p.key == new.key else p for p in self._presets]
        if self.preset_combo.currentData() == new.key:
            self._apply_values(new.values())

    def _on_preset_chosen(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        preset = next((p for p in self._presets if p.key == key), None)
        if preset is None:  # "Custom": keep the numbers
            self._recompute()
            return
        self._apply_values(preset.values())

    def _apply_values(self, values: dict[str, int]) -> None:
        self._applying = True
        try:
            for name, value in values.items():
                self.spins[name].setValue(value)
        finally:
            self._applying = False
        self._recompute()

    def _on_spin_changed(self, _value: int) -> None:
        if self._applying:
            return
        values = self._values()
        match = next((p for p in self._presets if p.values() == values), None)
        key = match.key if match else CUSTOM
        if self.preset_combo.currentData() != key:
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(key))
            self.preset_combo.blockSignals(False)
        self._recompute()

    def _values(self) -> dict[str, int]:
        return {name: spin.value() for name, spin in self.spins.items()}

    def _recompute(self) -> None:
        key = self.preset_combo.currentData()
        preset = next((p for p in self._presets if p.key == key), None)
        self.source_label.setText(
            preset.source
            if preset
            else "Your own numbers. Pick a preset to see a published network's first layer."
        )
        try:
            count = ConvCount(**self._values())
        except ConfigError as exc:
            self._show_error(str(exc))
            return
        self._count, self._error = count, ""
        self.error_label.hide()
        kw = count.kernel_weights
        self.output_label.setText(
            f"Output: <b>{count.out_width} × {count.out_height} × {count.filters}</b> = "
            f"{count.n_outputs:,} numbers ({count.positions:,} positions × "
            f"{count.filters} filters)"
        )
        self.shared_label.setText(
            f"<b style='color:#2e7d32'>With weight sharing</b><br>"
            f"<span style='font-size:large'><b>{count.shared_total:,}</b></span> "
            f"parameters = {count.filters} filters × ({kw:,} weights + 1 bias)"
        )
        self.unshared_label.setText(
            f"<b style='color:#c62828'>Without sharing</b><br>"
            f"<span style='font-size:large'><b>{count.unshared_total:,}</b></span> "
            f"parameters = {count.n_outputs:,} outputs × ({kw:,} weights + 1 bias)"
        )
        times = "the same number" if count.positions == 1 else f"{count.positions:,} times more"
        self.ratio_label.setText(
            f"Without sharing needs <b>{times}</b>: {count.unshared_total:,} / "
            f"{count.shared_total:,} = {count.positions:,} = {count.out_width} × "
            f"{count.out_height}, one copy of every kernel for each position it visits."
        )
        self.working_text.setPlainText("\n".join(count.working()))

    def _show_error(self, message: str) -> None:
        self._count, self._error = None, message
        text = message[:1].upper() + message[1:]
        self.error_label.setText(f"⚠ {text}")
        self.error_label.show()
        dash = "—"
        self.output_label.setText(f"Output: {dash}")
        self.shared_label.setText(f"<b style='color:#2e7d32'>With weight sharing</b><br>{dash}")
        self.unshared_label.setText(f"<b style='color:#c62828'>Without sharing</b><br>{dash}")
        self.ratio_label.setText("")
        v = self._values()
        f, p, s = v["filter_size"], v["padding"], v["stride"]
        self.working_text.setPlainText(
            "\n".join(
                [
                    "Output size: (W − F + 2P) / S + 1",
                    f"  width   = {side_working(v['width'], f, p, s)}",
                    f"  height  = {side_working(v['height'], f, p, s)}",
                    "",
                    "Both must be whole numbers of at least 1, or the filter's",
                    "positions don't tile the input: there is no layer to count.",
                    "Change the stride, the padding or the input size (see the",
                    "message above).",
                ]
            )
        )
