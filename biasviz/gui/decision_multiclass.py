"""The decision panel's ten-class page: one bias per output neuron, the confusion grid."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.decisions import (
    MulticlassDecision,
)
from biasviz.gui.class_labels import CategoryAxis, ElidedLabel
from biasviz.gui.decision_common import (
    HEAT_COLORS,
    MODE_MULTICLASS,
    MULTI_DECIMALS,
    NOTE_FG,
    OVERRIDE_FG,
    _bold,
    _plot_widget,
    _small,
    _spin,
    accuracy_counts,
    fmt,
    fmt_percent,
    one_place,
    quoted,
    wide_enough,
)

#: The panel's attributes that the ten-class page's building makes: asking the panel for
#: one of them builds the page (it is built on first need, not at start-up).
MULTICLASS_WIDGETS = frozenset({
    "multiclass_page", "mc_accuracy_label", "mc_reset_button", "mc_explain_label",
    "mc_status_label", "mc_edit_note_label", "mc_grid_host", "mc_grid", "bias_spins",
    "mc_name_labels", "mc_trained_labels", "per_class_labels", "mc_plot_title",
    "confusion_plot", "confusion_image", "_heat_lut", "confusion_columns",
    "confusion_numbers", "_mc_accuracy_tip",
})


class MulticlassPage:
    """DecisionPanel methods for ten outputs (a mixin: the panel composes the pages).

    The page is built by :meth:`DecisionPanel.ensure_multiclass_page` when first needed;
    the methods here that touch its widgets run only once it exists."""

    def _build_multiclass_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(6)

        top = QHBoxLayout()
        self.mc_accuracy_label = _bold(QLabel())
        self.mc_accuracy_label.setWordWrap(True)
        self.mc_reset_button = QPushButton("Reset all to trained")
        wide_enough(self.mc_reset_button, [f"Reset all to {which}" for which in ("initial", "trained")])
        top.addWidget(self.mc_accuracy_label, stretch=1)
        top.addWidget(self.mc_reset_button)
        outer.addLayout(top)

        self.mc_explain_label = _small(QLabel())
        self.mc_explain_label.setWordWrap(True)
        outer.addWidget(self.mc_explain_label)
        self.mc_status_label = _small(QLabel())
        self.mc_status_label.setWordWrap(True)
        self.mc_edit_note_label = _small(QLabel())
        self.mc_edit_note_label.setStyleSheet(f"color: {NOTE_FG}; font-style: italic;")
        self.mc_edit_note_label.setWordWrap(True)
        outer.addWidget(one_place(self.mc_status_label, self.mc_edit_note_label))

        self.mc_grid_host = QWidget()
        self.mc_grid = QGridLayout(self.mc_grid_host)
        self.mc_grid.setContentsMargins(0, 0, 0, 0)
        self.mc_grid.setHorizontalSpacing(4)
        self.mc_grid.setVerticalSpacing(4)
        outer.addWidget(self.mc_grid_host)
        self.bias_spins: list[QDoubleSpinBox] = []
        self.mc_name_labels: list[QLabel] = []
        self.mc_trained_labels: list[QLabel] = []
        self.per_class_labels: list[QLabel] = []

        self.mc_plot_title = _small(QLabel())
        self.mc_plot_title.setWordWrap(True)
        outer.addWidget(self.mc_plot_title)
        self.confusion_plot = _plot_widget()
        self.confusion_plot.setMinimumHeight(160)
        item = self.confusion_plot.getPlotItem()
        item.invertY(True)
        item.getViewBox().setDefaultPadding(0.0)
        item.setLabel("left", "true")  # the columns are named in the title above (height)
        for side in ("left", "bottom"):  # tick marks outside: inside they crossed row 9's
            item.getAxis(side).setStyle(tickLength=4)  # and column 0's numbers
        self.confusion_image = pg.ImageItem(axisOrder="row-major")
        heat = pg.ColorMap(np.linspace(0.0, 1.0, len(HEAT_COLORS)), HEAT_COLORS)
        # square-root scale: the few mistakes stay visible next to the big diagonal
        self._heat_lut = heat.map(np.sqrt(np.linspace(0.0, 1.0, 256)), mode="byte")
        self.confusion_image.setLookupTable(self._heat_lut)
        item.addItem(self.confusion_image)
        self.confusion_columns = CategoryAxis(item, "bottom")
        self.confusion_numbers = CellNumbers()
        item.addItem(self.confusion_numbers)
        outer.addWidget(self.confusion_plot, stretch=1)

        self.mc_reset_button.clicked.connect(self.reset_biases)
        return page

    def _set_multiclass_words(self) -> None:
        """Texts that depend on whether the model is trained and on digit vs item."""
        which, noun = self._which(), self._noun
        self.mc_reset_button.setText(f"Reset all to {which}")
        self.mc_reset_button.setToolTip(
            "Put back every output bias that training found." if self._has_trained else
            "Put back every output bias the model starts with (it has not been trained yet)."
        )
        self._mc_accuracy_tip = (
            f"The share of validation images whose highest output is the right {noun}.")
        self.mc_accuracy_label.setToolTip(self._mc_accuracy_tip)
        # short enough for two lines and one line: the confusion grid needs the height
        # "inputs": the pixels for the linear model, the hidden layer's outputs for the MLP
        # and the CNN: the same sentence is true of all three
        article = "an" if noun == "item" else "a"
        full = (f"One bias per output neuron: the highest score (weights · inputs + b) wins, "
                f"so raising {article} {noun}'s bias makes the network answer that {noun} "
                "more often — for better or worse.")
        # On a short screen one line, the whole sentence in its tooltip: three lines left
        # the confusion grid's column names cut off at 1280×720 (session 8's review).
        short = (f"Highest score (w·inputs + b) wins: raise {article} {noun}'s bias, it wins "
                 "more often.")
        self.mc_explain_label.setText(short if self._short_screen else full)
        self.mc_explain_label.setToolTip(full if self._short_screen else "")
        self.mc_plot_title.setText(
            f"Confusion: rows = true {noun}, columns = the answer; darker = more images."
        )
        self.confusion_plot.setToolTip(
            f"Each cell counts validation images: row = what the {noun} really is, column = "
            "what the network answered. The diagonal holds the correct answers. Raise one "
            "bias and watch its column fill up."
        )

    def _apply_multiclass_editable(self) -> None:
        self.mc_reset_button.setEnabled(self._editable)
        for spin in self.bias_spins:
            spin.setEnabled(self._editable)
        self._show_edit_note(self.mc_edit_note_label, self.mc_status_label)
        self._update_mc_status()

    def _rebuild_multiclass_items(self, k: int) -> None:
        """(Re)create the k bias boxes and the k×k count labels: only when k changes."""
        while self.mc_grid.count():
            child = self.mc_grid.takeAt(0)
            if child.widget() is not None:
                child.widget().deleteLater()
        self.bias_spins, self.mc_name_labels = [], []
        self.mc_trained_labels, self.per_class_labels = [], []
        columns = 5 if k > 5 else k
        # Columns of equal width, whatever the names: the name labels have no say in it
        # (Ignored below), so "T-shirt/top" does not take room from "Bag" and every box
        # gets a fifth of the panel (issue 10: the long names were cut in narrow columns).
        for c in range(max(self.mc_grid.columnCount(), columns)):
            self.mc_grid.setColumnStretch(c, 1 if c < columns else 0)
        for i in range(k):
            cell = QFrame()
            cell.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(cell)
            box.setContentsMargins(2, 2, 2, 2)
            box.setSpacing(1)
            name = _bold(_ClassBoxName())
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            name.resized.connect(self._fit_multiclass_names)
            spin = _spin(MULTI_DECIMALS, -999.99, 999.99, 0.1)
            spin.setMinimumWidth(70)
            trained = _small(QLabel())
            trained.setAlignment(Qt.AlignmentFlag.AlignCenter)
            per_class = _small(QLabel())
            per_class.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # as wide from the start as after training ("initial" becomes "trained",
            # "9.0%" "100.0%"): the panel then keeps its width at the first run's end
            # (it grew by 35 px and took that from the weights beside it)
            wide_enough(trained, [f"{which} {fmt(-8.88, MULTI_DECIMALS, sign=True)}"
                                   for which in ("initial", "trained")])
            wide_enough(per_class, [f"{fmt_percent(1.0)} right"])
            for widget in (name, spin, trained, per_class):
                box.addWidget(widget)
            spin.valueChanged.connect(lambda value, index=i: self._on_multi_bias_input(index, value))
            self.mc_grid.addWidget(cell, i // columns, i % columns)
            self.bias_spins.append(spin)
            self.mc_name_labels.append(name)
            self.mc_trained_labels.append(trained)
            self.per_class_labels.append(per_class)

        item = self.confusion_plot.getPlotItem()
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, (font.pointSizeF() if font.pointSizeF() > 0 else 9) - 2))
        self.confusion_numbers.setFont(font)
        self.confusion_numbers.set_cells([[""] * k for _ in range(k)], np.zeros((k, k), bool))
        self.confusion_image.setImage(np.zeros((k, k)), levels=(0.0, 1.0))
        # a little room beside the grid, so the first and last column names fit whole
        item.setXRange(-0.45, k + 0.45, padding=0)
        item.setYRange(0, k, padding=0)
        self._mc_k = k
        self._apply_multiclass_editable()

    # ------------------------------------------------------------------ ten-class API
    def set_multiclass(
        self,
        decision: MulticlassDecision,
        trained_biases: np.ndarray,
        class_names: list[str],
        biases: np.ndarray | None = None,
    ) -> None:
        """Show output-layer biases (one per class): the values they have now
        (``biases``; None: the trained ones) beside ``trained_biases``.  Keeps nothing of
        its own between calls (the app model is their home).  Emits only
        ``resultChanged``."""
        self.ensure_multiclass_page()
        trained = np.asarray(trained_biases, dtype=np.float64).ravel().copy()
        if trained.shape[0] != decision.k:
            raise ValueError(f"{trained.shape[0]} biases for {decision.k} output neurons")
        names = [str(name) for name in class_names]
        if len(names) != decision.k:
            raise ValueError(f"{len(names)} class names for {decision.k} output neurons")
        if decision.k != self._mc_k:
            self._rebuild_multiclass_items(decision.k)
            self._mc_biases = np.zeros(0)
        current = trained if biases is None else np.asarray(biases, dtype=np.float64).ravel()
        if (decision is self._mc_decision and names == self._mc_names
                and np.array_equal(trained, self._mc_trained)
                and np.array_equal(current.astype(np.float32),  # the model keeps float32
                                   self._mc_biases.astype(np.float32))):
            self._show(MODE_MULTICLASS)
            return  # what is on show already (e.g. the edit this panel just made)
        self._mc_decision = decision
        self._mc_trained = trained
        if current.shape != trained.shape:
            raise ValueError(f"{current.shape[0]} biases for {decision.k} output neurons")
        self._mc_biases = current.copy()
        if names != self._mc_names:
            self._set_multiclass_names(names)
        self._set_noun(names)
        self._sync_multi_widgets()
        self._show(MODE_MULTICLASS)
        self._refresh_multiclass()

    def biases(self) -> np.ndarray:
        return self._mc_biases.copy()

    def trained_biases(self) -> np.ndarray:
        return self._mc_trained.copy()

    def set_biases(self, biases: np.ndarray) -> None:
        """Set all output biases as if the user typed them (emits ``biasesChanged``)."""
        if self._mc_decision is None or not self._editable:
            return
        values = np.asarray(biases, dtype=np.float64).ravel()
        if values.shape != self._mc_biases.shape:
            raise ValueError(f"{values.shape[0]} biases for {self._mc_biases.shape[0]} outputs")
        self._mc_biases = values.copy()
        self._sync_multi_widgets()
        self._refresh_multiclass()
        self.biasesChanged.emit(self.biases())

    def reset_biases(self) -> None:
        """Back to the trained output biases (a user action: emits ``biasesChanged``)."""
        if self._mc_decision is None or not self._editable:
            return
        self.set_biases(self._mc_trained)

    # ------------------------------------------------------------------ ten-class internals
    def _mc_overridden(self) -> np.ndarray:
        if self._mc_biases.shape != self._mc_trained.shape:
            return np.zeros(self._mc_biases.shape, dtype=bool)
        return np.abs(self._mc_biases - self._mc_trained) >= 0.5 * 10.0**-MULTI_DECIMALS

    def _set_multiclass_names(self, names: list[str]) -> None:
        self._mc_names = names
        for i, name in enumerate(names):
            tip = (
                f"Bias of the output neuron for {quoted(name)}. Raise it and the network "
                f"answers {quoted(name)} more often (its column in the confusion grid fills "
                "up); lower it and it answers it less."
            )
            self.mc_name_labels[i].tip = tip
            self.mc_name_labels[i].set_full_text(quoted(name), tip)
            self.bias_spins[i].setToolTip(tip)
            self.mc_trained_labels[i].setToolTip(
                "The value training found for this bias (before training: the value the "
                "model starts with)."
            )
            self.per_class_labels[i].setToolTip(
                f"How many of the true {quoted(name)} images the network gets right."
            )
        ticks = [[(i + 0.5, name) for i, name in enumerate(names)], []]
        item = self.confusion_plot.getPlotItem()
        item.getAxis("left").setTicks(ticks)
        self.fit_confusion_axis()
        # column names: whole, staggered over two lines, or shortened with a tooltip
        self.confusion_columns.set_names(names, [i + 0.5 for i in range(len(names))])
        self._fit_multiclass_names()

    def fit_confusion_axis(self) -> None:
        """The confusion grid's row axis as wide as its names, its tick marks and its
        title "true" need in the fonts they are drawn in now; call it again when the plots'
        text is scaled (presentation mode: the names grew in a width measured for the
        normal font, and the title sat on top of the rows 3–6)."""
        if not self.has_multiclass_page() or not self._mc_names:
            return
        left = self.confusion_plot.getPlotItem().getAxis("left")
        metrics = QFontMetricsF(left.style["tickFont"] or left.font())
        names = max(metrics.horizontalAdvance(n) for n in self._mc_names)
        title = 0.0
        if left.label is not None and left.label.isVisible():
            # the title's text box starts 5 px left of the axis (pyqtgraph's nudge) and
            # holds the text between its document margins
            margin = left.label.document().documentMargin()
            title = left.label.boundingRect().height() - margin - 5
        ticks = max(0, left.style["tickLength"]) + left.style["tickTextOffset"][0]
        left.setWidth(math.ceil(names + ticks + title + 4))  # 4 px between title and names

    def confusion_min_height(self) -> int:
        """The confusion grid's height, its axes included, at which its row names stand
        apart in the font they are drawn in now (0 before it has rows).  Presentation
        mode holds the grid at least this high: its larger names ran into each other in
        a grid squeezed to 150 px at 1366×768."""
        if not self.has_multiclass_page() or not self._mc_names:
            return 0
        item = self.confusion_plot.getPlotItem()
        left, bottom = item.getAxis("left"), item.getAxis("bottom")
        rows = QFontMetricsF(left.style["tickFont"] or left.font())
        row = max(rows.tightBoundingRect(name).height() for name in self._mc_names) + 2
        columns = QFontMetricsF(bottom.style["tickFont"] or bottom.font())
        below = max(bottom.height(), columns.lineSpacing() + 16)  # (as CategoryAxis has it)
        return math.ceil(len(self._mc_names) * row + below + 4)

    def _fit_multiclass_names(self) -> None:
        """The boxes' titles: every name in quotes (“3”) when all of them fit so, else all
        without (“T-shirt/top” needs 15 px more than T-shirt/top): alike in every box.  A
        name that does not fit even then is shortened with "…" and a tooltip."""
        labels = self.mc_name_labels
        if not labels or len(labels) != len(self._mc_names):
            return
        if all(label.isVisible() for label in labels):
            room = min(label.contentsRect().width() for label in labels) - 2
            metrics = QFontMetricsF(labels[0].font())
            quote = all(metrics.horizontalAdvance(quoted(n)) <= room for n in self._mc_names)
        else:
            quote = True  # not laid out yet: its width means nothing
        for label, name in zip(labels, self._mc_names, strict=True):
            text = quoted(name) if quote else name
            if label.full_text() != text:
                label.set_full_text(text, label.tip)

    def _sync_multi_widgets(self) -> None:
        overridden = self._mc_overridden()
        for i, spin in enumerate(self.bias_spins):
            blocked = spin.blockSignals(True)
            spin.setValue(float(self._mc_biases[i]))
            spin.blockSignals(blocked)
            changed = bool(overridden[i])
            value = fmt(self._mc_trained[i], MULTI_DECIMALS, sign=True)
            trained_text = f"{self._which()} {value}"
            label = self.mc_trained_labels[i]
            # the number alone where the words do not fit (a bias of −18.87 after a
            # learning rate of 100 read "rained −18.87", cut at both ends); the tooltip
            # says what it is
            room = label.contentsRect().width()
            if room > 0 and label.fontMetrics().horizontalAdvance(trained_text) > room:
                trained_text = value
            if label.text() != trained_text:
                label.setText(trained_text)
            # a style sheet costs ~0.1 ms to set (it re-polishes): only when it changes
            if spin.property("overridden") != changed:
                spin.setProperty("overridden", changed)
                spin.setStyleSheet(
                    f"QDoubleSpinBox {{ color: {OVERRIDE_FG}; font-weight: bold; }}"
                    if changed else "")
                label.setStyleSheet(f"color: {OVERRIDE_FG};" if changed else "")

    def _update_mc_status(self) -> None:
        if self._mc_decision is None:
            return
        overridden = self._mc_overridden()
        count = int(overridden.sum())
        if count:
            key = (id(self._mc_decision), self._mc_trained.tobytes())
            if getattr(self, "_trained_result", (None, None))[0] != key:
                self._trained_result = (key, self._mc_decision.evaluate(self._mc_trained))
            trained = self._trained_result[1]
            self.mc_status_label.setText(
                f"<span style='color:{OVERRIDE_FG}'><b>You changed {count} of "
                f"{len(overridden)} biases</b></span> ({self._which()} value under each "
                f"box). With the {self._which()} biases: {fmt_percent(trained.accuracy)}."
            )
        elif self._editable:
            self.mc_status_label.setText(
                f"All biases are the {self._which()} values. Edit any box."
            )
        else:
            self.mc_status_label.setText(f"All biases are the {self._which()} values.")

    def _on_multi_bias_input(self, index: int, value: float) -> None:
        if self._mc_decision is None or not self._editable:
            self._sync_multi_widgets()
            return
        self._mc_biases[index] = float(value)
        self._sync_multi_widgets()
        self._refresh_multiclass()
        self.biasesChanged.emit(self.biases())

    def _refresh_multiclass(self) -> None:
        assert self._mc_decision is not None
        result = self._mc_decision.evaluate(self._mc_biases)
        self._mc_result = result
        n = int(self._mc_decision.targets.shape[0])
        correct = int(np.trace(result.confusion))
        counts = accuracy_counts(correct, n, self._valid_total)
        if counts.startswith("on "):  # a sample: said in plain weight, to stay on one line
            counts = f"<span style='font-weight:normal'>{counts}</span>"
        self.mc_accuracy_label.setText(
            f"validation accuracy {fmt_percent(result.accuracy)} {counts}"
        )
        self.mc_accuracy_label.setToolTip(self._accuracy_tip(n, self._mc_accuracy_tip))
        self._update_mc_status()
        for i, label in enumerate(self.per_class_labels):
            label.setText(f"{fmt_percent(float(result.per_class_accuracy[i]))} right")

        confusion = result.confusion
        top = max(float(confusion.max(initial=0)), 1.0)
        self.confusion_image.setImage(confusion.astype(np.float64), levels=(0.0, top))
        self.confusion_numbers.set_cells(
            [["" if c == 0 else str(int(c)) for c in row] for row in confusion],
            np.sqrt(confusion / top) > 0.55)  # light text on the dark cells
        self.resultChanged.emit(result)


class _ClassBoxName(ElidedLabel):
    """A class box's title; says when its width changed (the panel then decides whether
    the names fit with their quotes)."""

    resized = Signal()
    tip = ""  # the tooltip under the name (the name's own when it is shortened)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.resized.emit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.resized.emit()


class CellNumbers(pg.GraphicsObject):
    """The counts written in a grid's cells (the confusion matrix), as one item.

    A pyqtgraph TextItem per cell costs ~0.1 ms to update and more to paint (its own
    transform, bounding box and painter state, in Python): a hundred of them were a
    third of a ten-class frame.  This item paints every number in one ``paint`` call,
    at the font's size whatever the zoom.  Cell (i, j) is centred on (j + ½, i + ½).
    """

    DARK = QColor(30, 30, 30)
    LIGHT = QColor(255, 255, 255)

    def __init__(self) -> None:
        super().__init__()
        self._texts: list[list[str]] = []
        self._light = np.zeros((0, 0), bool)
        self._font = QFont()
        self.setZValue(5)

    def setFont(self, font: QFont) -> None:  # noqa: N802 - Qt's naming
        self._font = QFont(font)
        self.update()

    def set_cells(self, texts: list[list[str]], light: np.ndarray) -> None:
        light = np.asarray(light, bool)
        if texts == self._texts and np.array_equal(light, self._light):
            return
        resized = len(texts) != len(self._texts)
        if resized:
            self.prepareGeometryChange()
        self._texts = [list(row) for row in texts]
        self._light = light.copy()
        self.update()

    def text(self, i: int, j: int) -> str:
        return self._texts[i][j]

    def boundingRect(self) -> QRectF:  # noqa: N802
        k = len(self._texts)
        return QRectF(0.0, 0.0, float(max(k, 1)), float(max(k, 1)))

    def paint(self, painter: QPainter, *_args) -> None:
        if not self._texts:
            return
        to_device = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        width = abs(to_device.m11()) or 1.0
        height = abs(to_device.m22()) or 1.0
        for i, row in enumerate(self._texts):
            for j, text in enumerate(row):
                if not text:
                    continue
                centre = to_device.map(QPointF(j + 0.5, i + 0.5))
                painter.setPen(self.LIGHT if self._light[i, j] else self.DARK)
                painter.drawText(QRectF(centre.x() - width / 2, centre.y() - height / 2,
                                        width, height), Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
