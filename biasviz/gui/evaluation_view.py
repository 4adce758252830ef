"""How the trained model does on the validation images, and why it gets some wrong.

Four panels, each with a plain-words tooltip:

* **Accuracy per class** — a bar per class (share of its images called right), the
  overall accuracy in the title and as a dashed line;
* **Confusion matrix** — rows are the true class, columns what the model called it;
  counts in the cells, right answers on the green diagonal, mistakes in vermillion.
  Clicking a cell shows only those mistakes in the gallery;
* **Mistakes** — up to :data:`GALLERY_LIMIT` misclassified images, the most confident
  mistakes first, each captioned "true 3 → called 7" with the model's confidence;
* **Why?** — the clicked image large, its contribution map ``w⊙x`` (red pushes the logit
  up, blue down, blank pixels add nothing) and the logit arithmetic written out.  For the
  linear ten-class model the called class's neuron and the true class's neuron are shown
  side by side.  MLP and CNN output neurons look at hidden features, not pixels, so for
  them only the image and the logits are shown.

The numbers come from :mod:`biasviz.core.evaluation` (numpy, no Qt); this module only
draws them.  ``set_evaluation`` is meant to be called after an epoch or when the tab is
opened, not after every batch: it runs one forward pass over the validation set.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QIcon,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.colormap import diverging_lut, to_rgb
from biasviz.core.datasets import TaskData
from biasviz.core.evaluation import (
    Evaluation,
    Explanation,
    evaluate,
    explain,
    explanation_text,
    fmt,
    has_pixel_neurons,
    percent_sure,
)
from biasviz.core.spec import ModelSpec
from biasviz.gui.class_labels import CategoryAxis
from biasviz.gui.colormaps import FIRST_CLASS_COLOR, SECOND_CLASS_COLOR
from biasviz.gui.evaluation_parts import (
    SIDE,
    PixelView,
    _blend,
    _gray_qimage,
    _map_limit,
    _Panel,
    _percent,
    _rgb_qimage,
    _style_plot,
)

#: At most this many mistakes are shown as thumbnails.
GALLERY_LIMIT = 48
THUMB_SCALE = 2  # 28 px → 56 px thumbnails

# Okabe–Ito colours (colour-blind safe): right answers and mistakes.
RIGHT_COLOR = (0, 158, 115)
WRONG_COLOR = (213, 94, 0)
TEN_CLASS_BAR_COLOR = (86, 180, 233)
TEXT_DARK = (30, 30, 30)

NOTE_NOT_PIXELS = (
    "No contribution map for this model: a map of w⊙x only makes sense for models whose "
    "neurons look at the pixels directly (the single neuron and the linear ten-neuron "
    "model). The output neurons of an MLP or CNN look at hidden features, so one pixel's "
    "effect is not a single number here."
)

TIP_ACCURACY = (
    "Accuracy per class: of all validation images of a class, the share the model called "
    "right.\nThe dashed line is the overall accuracy. Look for classes well below the "
    "line: those are the ones the model finds hard.\nHover over a bar for its counts."
)
TIP_CONFUSION = (
    "Confusion matrix: each row is the true class, each column what the model called it; "
    "the numbers count validation images.\nThe green diagonal holds the right answers; "
    "every orange cell is a kind of mistake, the darker the more often it happens.\n"
    "Click a cell to show only those mistakes below; hover over a cell for details."
)
TIP_GALLERY = (
    "Validation images the model got wrong, the most confidently wrong first.\nEach "
    "caption says the true class, what the model called it, and how sure it was.\n"
    "Click one to see why the model called it that."
)
TIP_IMAGE = "The image as the model sees it: 28×28 pixels, 0 = black, 1 = white ink."
TIP_MAP = (
    "Contribution map w⊙x: each pixel's value times its weight — how much that pixel adds "
    "to this neuron's logit.\nRed pushes the logit up, blue pulls it down, white adds "
    "nothing. Blank pixels (x = 0) always add 0, whatever their weight.\nThe few strongest "
    "pixels all show at full colour. All the red and "
    "blue added up is Σ w⊙x; add the bias b and you have the logit."
)
TIP_ARITHMETIC = (
    "The model's arithmetic for this image, step by step: sum of w⊙x over all pixels, "
    "plus the bias, gives the logit;\nσ (the sigmoid) turns a logit into a probability. "
    "The printed logit is the sum of the printed numbers."
)


def moment_text(step: int, epochs: int, running: bool) -> str:
    """Which moment the results are of, for the header: "after step 1,240 (5 epochs)";
    while training runs, that they follow it (each finished epoch) and are already a
    little behind."""
    if step == 0:
        return "the untrained model (step 0)"
    when = f"step {step:,} ({epochs:,} epoch{'s' if epochs != 1 else ''})"
    if running:
        return f"at {when}; training goes on: refreshed as epochs end (at most once a second)"
    return f"after {when}"


class EvaluationView(QWidget):
    """Validation results of a model: accuracy, confusion, mistakes and why they happen.

    Call :meth:`set_evaluation` with a parameter snapshot; click a mistake (or call
    :meth:`select_sample`) to see its detail.  ``sampleSelected`` carries the validation
    index of the image shown in the detail.
    """

    sampleSelected = Signal(int)  # noqa: N815 (Qt naming)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params: dict[str, np.ndarray] | None = None
        self._spec: ModelSpec | None = None
        self._data: TaskData | None = None
        self._evaluation: Evaluation | None = None
        self._explanation: Explanation | None = None
        self._selected: int | None = None
        self._filter: tuple[int, int] | None = None
        self._gallery: list[int] = []
        self._bar_texts: list[pg.TextItem] = []
        self._cell_texts: list[pg.TextItem] = []
        self._hover_bar: int | None = None
        self._hover_cell: tuple[int, int] | None = None
        self._moment = ""  # which moment of training the results are of
        self._build()
        self._show_empty()

    # -- construction ------------------------------------------------------------------
    def _build(self) -> None:
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setToolTip(
            "How the model does on the validation images: pictures it never trained on."
        )

        # accuracy per class
        self.accuracy_panel = _Panel("Accuracy per class", TIP_ACCURACY)
        self.bar_plot = pg.PlotWidget(background="w")
        bar_item = _style_plot(self.bar_plot)
        bar_item.setToolTip(TIP_ACCURACY)
        bar_item.setLabel("left", "called right", units="%", color="#3c3c3c")
        bar_item.getAxis("left").enableAutoSIPrefix(False)
        bar_item.setYRange(0, 112, padding=0)
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.7, brush=(200, 200, 200),
                                    pen=pg.mkPen(None))
        bar_item.addItem(self.bars)
        self.overall_line = pg.InfiniteLine(
            pos=0, angle=0, pen=pg.mkPen((90, 90, 90), width=1.5, style=Qt.PenStyle.DashLine)
        )
        bar_item.addItem(self.overall_line)
        self.bar_plot.scene().sigMouseMoved.connect(self._on_bar_hover)
        self.accuracy_panel.layout_.addWidget(self.bar_plot)

        # confusion matrix
        self.confusion_panel = _Panel("Confusion matrix", TIP_CONFUSION)
        self.confusion_plot = pg.PlotWidget(background="w")
        conf_item = _style_plot(self.confusion_plot)
        conf_item.setToolTip(TIP_CONFUSION)
        conf_item.setLabel("left", "true class", color="#3c3c3c")
        conf_item.setLabel("bottom", "called (predicted) class", color="#3c3c3c")
        conf_item.invertY(True)
        conf_item.setAspectLocked(True)
        self.confusion_image = pg.ImageItem(axisOrder="row-major")
        conf_item.addItem(self.confusion_image)
        self.confusion_plot.scene().sigMouseMoved.connect(self._on_confusion_hover)
        self.confusion_plot.scene().sigMouseClicked.connect(self._on_confusion_click)
        self.confusion_panel.layout_.addWidget(self.confusion_plot)

        self._placeholders = []
        for plot, pos, text in (
            (self.bar_plot, (0.5, 56), "No model yet:\nthe bars appear after training."),
            (self.confusion_plot, (0.5, 0.5), "No model yet:\nthe counts appear after training."),
        ):
            placeholder = pg.TextItem(text, color=(120, 120, 120), anchor=(0.5, 0.5))
            placeholder.setPos(*pos)
            plot.getPlotItem().addItem(placeholder)
            self._placeholders.append(placeholder)
        for side in ("bottom", "left"):
            conf_item.getAxis(side).enableAutoSIPrefix(False)
        bar_item.getAxis("bottom").enableAutoSIPrefix(False)
        # class names under the bars and the matrix's columns: whole, staggered over two
        # lines, or shortened with "…" and listed in the axis's tooltip
        self.bar_columns = CategoryAxis(bar_item, "bottom", max_lines=3)
        self.confusion_columns = CategoryAxis(conf_item, "bottom", max_lines=3)
        self._bar_names: tuple[str, ...] = ()
        # the first and last names need room beside their bars (they were "T-shirt/t…",
        # "Ankle b…", walk-through S): the range's margins follow the plot's width
        bar_item.getViewBox().sigResized.connect(self._fit_bar_range)

        # gallery of mistakes
        self.gallery_panel = _Panel("Mistakes", TIP_GALLERY)
        top = QHBoxLayout()
        self.gallery_label = QLabel()
        self.gallery_label.setWordWrap(True)
        self.gallery_label.setToolTip(TIP_GALLERY)
        self.show_all_button = QPushButton("Show all mistakes")
        self.show_all_button.setToolTip(
            "Go back to all the mistakes after clicking a cell of the confusion matrix."
        )
        self.show_all_button.clicked.connect(lambda: self.filter_mistakes(None))
        top.addWidget(self.gallery_label, 1)
        top.addWidget(self.show_all_button)
        self.gallery_panel.layout_.addLayout(top)
        self.gallery_list = QListWidget()
        self.gallery_list.setViewMode(QListView.ViewMode.IconMode)
        self.gallery_list.setMovement(QListView.Movement.Static)
        self.gallery_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery_list.setWrapping(True)
        self.gallery_list.setUniformItemSizes(True)
        self.gallery_list.setWordWrap(True)
        self.gallery_list.setSpacing(2)
        self.gallery_list.setIconSize(QSize(SIDE * THUMB_SCALE, SIDE * THUMB_SCALE))
        self.gallery_list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.gallery_list.setToolTip(TIP_GALLERY)
        self.gallery_list.currentItemChanged.connect(self._on_gallery_current)
        self.gallery_list.itemClicked.connect(self._on_gallery_clicked)
        self.gallery_panel.layout_.addWidget(self.gallery_list)

        # detail
        self.detail_panel = _Panel("Why this answer?", "")
        self.detail_panel.setToolTip(
            "One validation image taken apart: what the model saw, which pixels pushed "
            "its decision which way, and the arithmetic that led to its answer."
        )
        pictures = QHBoxLayout()
        pictures.setSpacing(12)
        self.image_view = PixelView()
        self.image_view.setToolTip(TIP_IMAGE)
        self.map_views = [PixelView(), PixelView()]
        for view in self.map_views:
            view.setToolTip(TIP_MAP)
        self.detail_placeholder = QLabel()
        self.detail_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail_placeholder.setWordWrap(True)
        self.detail_placeholder.setStyleSheet("color: #777;")
        pictures.addStretch(1)
        pictures.addWidget(self.detail_placeholder, 8)
        for view in (self.image_view, *self.map_views):
            pictures.addWidget(view, 4)
        pictures.addStretch(1)
        self.detail_panel.layout_.addLayout(pictures, 1)

        legend_row = QHBoxLayout()
        legend_row.setSpacing(6)
        self.legend_low = QLabel()
        self.legend_bar = QLabel()
        self.legend_bar.setPixmap(self._legend_pixmap(120, 10))
        self.legend_high = QLabel()
        self.legend_note = QLabel()
        self.legend_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.legend_note.setWordWrap(True)
        self.legend_note.setStyleSheet("color: #555;")
        legend_row.addStretch(1)
        for w in (self.legend_low, self.legend_bar, self.legend_high):
            legend_row.addWidget(w)
        legend_row.addStretch(1)
        self.legend = QWidget()
        legend = QVBoxLayout(self.legend)
        legend.setContentsMargins(0, 0, 0, 0)
        legend.setSpacing(1)
        legend.addLayout(legend_row)
        legend.addWidget(self.legend_note)
        for w in (self.legend, self.legend_low, self.legend_bar, self.legend_high, self.legend_note):
            w.setToolTip(TIP_MAP)
        self.detail_panel.layout_.addWidget(self.legend)

        self.arithmetic = QLabel()
        self.arithmetic.setWordWrap(True)
        self.arithmetic.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.arithmetic.setToolTip(TIP_ARITHMETIC)
        self.arithmetic.setStyleSheet(
            "QLabel { background: #f4f4f2; border: 1px solid #dddddd; border-radius: 4px;"
            " padding: 5px; color: #1e1e1e; }"
        )
        font = self.arithmetic.font()
        font.setPointSizeF(font.pointSizeF() * 1.08)
        self.arithmetic.setFont(font)
        self.note = QLabel(NOTE_NOT_PIXELS)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555; font-style: italic;")
        self.note.setToolTip(NOTE_NOT_PIXELS)
        self.detail_panel.layout_.addWidget(self.arithmetic)
        self.detail_panel.layout_.addWidget(self.note)

        # layout: charts on the left, mistakes and their detail on the right
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.accuracy_panel)
        left.addWidget(self.confusion_panel)
        left.setStretchFactor(0, 4)
        left.setStretchFactor(1, 5)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.gallery_panel)
        right.addWidget(self.detail_panel)
        right.setStretchFactor(0, 4)
        right.setStretchFactor(1, 5)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setStretchFactor(0, 2)
        main.setStretchFactor(1, 3)
        for s in (left, right, main):
            s.setChildrenCollapsible(False)
        self.splitter = main
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.header)
        outer.addWidget(main, 1)

    @staticmethod
    def _legend_pixmap(width: int, height: int) -> QPixmap:
        lut = diverging_lut(width)
        rgb = np.repeat(lut[None, :, :], height, axis=0)
        return QPixmap.fromImage(_rgb_qimage(rgb))

    # -- public API --------------------------------------------------------------------
    def set_evaluation(
        self,
        params: dict[str, np.ndarray],
        spec: ModelSpec,
        data: TaskData,
        bias_override: float | np.ndarray | None = None,
        threshold: float = 0.0,
    ) -> None:
        """Predict every validation image and show the results.

        One output: the first class is called when ``logit + (override − trained bias)
        ≥ threshold``.  Ten outputs: the highest logit wins; ``bias_override`` is then
        ten output biases and ``threshold`` is not used.  The selected image (if any)
        stays selected when the data are the same, so moving a bias shows its effect.

        Raises :class:`~biasviz.core.errors.ConfigError` when the model and the task
        disagree (one output for ten classes) or the override has the wrong shape.
        """
        self.show_evaluation(evaluate(params, spec, data, bias_override, threshold),
                             params, spec, data)

    def show_evaluation(
        self, evaluation: Evaluation, params: dict[str, np.ndarray], spec: ModelSpec,
        data: TaskData, moment: str = "",
    ) -> None:
        """Show an evaluation computed elsewhere (the window computes it off the GUI
        thread with :func:`~biasviz.core.evaluation.evaluate`).  ``moment`` says which
        moment of training it is of (:func:`moment_text`), shown in the header."""
        same_data = data is self._data
        self._params, self._spec, self._data = params, spec, data
        self._evaluation = evaluation
        self._moment = moment
        if not same_data:
            self._selected = None
            self._filter = None
        for placeholder in self._placeholders:
            placeholder.hide()
        self._update_header()
        self._update_bars()
        self._update_confusion()
        self._update_gallery()
        if self._selected is not None and self._selected < evaluation.n:
            self._show_detail(self._selected)
            self._sync_gallery_selection()
        else:
            self._selected = None
            self._show_detail(None)

    def clear(self, message: str | None = None) -> None:
        """Forget the model and show the empty state (``message`` in its header: what
        comes next, e.g. a new model being built)."""
        self._params = self._spec = self._data = None
        self._evaluation = None
        self._moment = ""
        self._explanation = None
        self._selected = None
        self._filter = None
        self._show_empty()
        if message:
            self.header.setText(message)

    def select_sample(self, index: int) -> None:
        """Show validation image ``index`` (right or wrong) in the detail panel."""
        if self._evaluation is None:
            raise RuntimeError("set_evaluation() has not been called")
        index = int(index)
        if not 0 <= index < self._evaluation.n:
            raise IndexError(f"validation index {index} out of range 0..{self._evaluation.n - 1}")
        self._selected = index
        self._show_detail(index)
        self._sync_gallery_selection()
        self.sampleSelected.emit(index)

    def filter_mistakes(self, cell: tuple[int, int] | None) -> None:
        """Show only the mistakes of one confusion cell (true, called), or all (None)."""
        if cell is not None:
            cell = (int(cell[0]), int(cell[1]))
        self._filter = cell
        if self._evaluation is not None:
            self._update_gallery()
            self._update_confusion()

    # accessors (also for tests)
    def evaluation(self) -> Evaluation | None:
        return self._evaluation

    def per_class_accuracy(self) -> np.ndarray:
        """(k,) share of each class called right, in display order (NaN if absent)."""
        return self._require().per_class_accuracy.copy()

    def confusion(self) -> np.ndarray:
        """(k, k) counts: rows = true class, columns = called class, display order."""
        return self._require().confusion.copy()

    def misclassified_indices(self) -> np.ndarray:
        """All validation indices the model gets wrong, ascending."""
        return self._require().misclassified.copy()

    def gallery_indices(self) -> list[int]:
        """Validation indices of the thumbnails, in the order shown."""
        return list(self._gallery)

    def selected_index(self) -> int | None:
        return self._selected

    def explanation(self) -> Explanation | None:
        return self._explanation

    def has_contribution_map(self) -> bool:
        """True when the detail shows a w⊙x map (single neuron, linear model)."""
        return self._explanation is not None and bool(self._explanation.breakdowns)

    def detail_text(self) -> str:
        """The detail's words: the arithmetic, plus the note when there is no map (or,
        with nothing selected, the hint to click a mistake)."""
        if self._explanation is None:
            return self.detail_placeholder.text()
        parts = [self.arithmetic.text()]
        if not self.note.isHidden():
            parts.append(self.note.text())
        return "\n".join(p for p in parts if p)

    def _require(self) -> Evaluation:
        if self._evaluation is None:
            raise RuntimeError("set_evaluation() has not been called")
        return self._evaluation

    # -- drawing -----------------------------------------------------------------------
    def _show_empty(self) -> None:
        self.header.setText(
            "Train a model (or load one) to see how it does on the validation images."
        )
        self.bars.setOpts(x=[], height=[], brushes=[])
        self.overall_line.hide()
        self.bar_plot.getPlotItem().setTitle(None)
        for t in self._bar_texts + self._cell_texts:
            t.hide()
        self.confusion_image.clear()
        self._bar_names = ()
        self.bar_columns.set_names([])
        self.bar_plot.getPlotItem().setXRange(0, 1, padding=0)
        conf_item = self.confusion_plot.getPlotItem()
        conf_item.getAxis("left").setTicks([[], []])
        self.confusion_columns.set_names([])
        conf_item.setXRange(0, 1, padding=0)
        conf_item.setYRange(0, 1, padding=0)
        for placeholder in self._placeholders:
            placeholder.show()
        self.gallery_list.clear()
        self._gallery = []
        self.gallery_label.setText("No model yet.")
        self.show_all_button.hide()
        self._show_detail(None)

    def _update_header(self) -> None:
        ev, data = self._evaluation, self._data
        assert ev is not None and data is not None
        what = data.describe()
        text = (
            f"<b>Validation set</b> ({data.dataset_name}, {what}): {ev.n:,} images the model "
            f"never trained on · <b>{ev.n_correct:,} right ({_percent(ev.accuracy)})</b> · "
            f"{len(ev.misclassified):,} mistakes"
        )
        extras = []
        if ev.bias_overridden:
            if ev.binary:
                extras.append(
                    f"bias set to {fmt(float(ev.biases[0]))} "
                    f"(trained {fmt(float(ev.trained_biases[0]))})"
                )
            else:
                extras.append("output biases set by you, not the trained ones")
        if ev.binary and ev.threshold != 0:
            extras.append(f"threshold {fmt(ev.threshold)}")
        if extras:
            text += " · <i>" + "; ".join(extras) + "</i>"
        if self._moment:
            text += f" · <span style='color:#555'>{html.escape(self._moment)}</span>"
        self.header.setText(text)

    def moment(self) -> str:
        """Which moment of training the results shown are of ("" when not said)."""
        return self._moment

    def _text_item(
        self, pool: list[pg.TextItem], i: int, plot: pg.PlotWidget, fill=None
    ) -> pg.TextItem:
        """Text item ``i`` of a pool that grows on demand and is reused on every update."""
        while len(pool) <= i:
            item = pg.TextItem(anchor=(0.5, 0.5), color=TEXT_DARK, fill=fill)
            item.setZValue(10)
            plot.getPlotItem().addItem(item)
            pool.append(item)
        return pool[i]

    def _update_bars(self) -> None:
        ev = self._evaluation
        assert ev is not None
        k = ev.n_classes
        acc = ev.per_class_accuracy
        heights = np.where(np.isfinite(acc), 100 * acc, 0.0)
        if k == 2:
            colors = [FIRST_CLASS_COLOR, SECOND_CLASS_COLOR]
        else:
            colors = [TEN_CLASS_BAR_COLOR] * k
        self.bars.setOpts(
            x=np.arange(k), height=heights, width=0.7,
            brushes=[pg.mkBrush(*c) for c in colors], pens=[pg.mkPen(None)] * k,
        )
        item = self.bar_plot.getPlotItem()
        self._set_class_axis(self.bar_plot, "bottom", ev.class_names, 0.0)
        item.getAxis("left").setTicks(None)
        self._bar_names = tuple(ev.class_names)
        self._fit_bar_range()
        item.setYRange(0, 112, padding=0)
        # The count is in the header above; a long title would make the plot wider than
        # its pane at 1280×720 and cut the bars off at the right.
        item.setTitle(
            f"<span style='color:#222'>Overall accuracy <b>{_percent(ev.accuracy)}</b></span>",
            size="11pt",
        )
        item.titleLabel.setToolTip(f"{ev.n_correct:,} of {ev.n:,} validation images called right")
        if np.isfinite(ev.accuracy):
            self.overall_line.setPos(100 * ev.accuracy)
            self.overall_line.show()
        else:
            self.overall_line.hide()
        font = QFont()
        font.setPointSize(8 if k > 2 else 10)
        for i in range(k):
            t = self._text_item(self._bar_texts, i, self.bar_plot, fill=(255, 255, 255, 210))
            t.setAnchor((0.5, 1.0))
            t.setFont(font)
            value = acc[i]
            t.setText("–" if not np.isfinite(value) else f"{100 * value:.0f}%")
            t.setPos(i, heights[i] + 1)
            t.show()
        for t in self._bar_texts[k:]:
            t.hide()
        self.bars.setToolTip("")
        self._hover_bar = None

    def _fit_bar_range(self, *_args) -> None:
        """The bars' x range, with margins wide enough for the first and last class names
        to show whole under their bars (centred on them), at most 2 bars wide."""
        names = self._bar_names
        if not names:
            return
        k = len(names)
        item = self.bar_plot.getPlotItem()
        pad = 0.9 if self._long_names(names) else 0.6
        width = item.getViewBox().width()
        if width > 0:
            metrics = QFontMetricsF(self._class_font(names))
            # half the wider end name, and a few pixels: px per bar is width / (k-1+2·pad)
            half = (max(metrics.horizontalAdvance(names[0]),
                        metrics.horizontalAdvance(names[-1])) + 8) / 2
            if width > 2 * half + 1:
                pad = max(pad, half * (k - 1) / (width - 2 * half))
            pad = min(pad, 2.0)
        key = (-pad, k - 1 + pad)
        (x0, x1), _ = item.viewRange()
        if abs(x0 - key[0]) > 1e-3 or abs(x1 - key[1]) > 1e-3:
            item.setXRange(*key, padding=0)

    def _class_font(self, names: tuple[str, ...]) -> QFont:
        font = QFont(self.font())
        if self._long_names(names):
            font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
        return font

    @staticmethod
    def _long_names(names: tuple[str, ...]) -> bool:
        return len(names) > 2 and max(len(n) for n in names) > 3

    def _set_class_axis(
        self, plot: pg.PlotWidget, side: str, names: tuple[str, ...], offset: float
    ) -> None:
        """Class names as the ticks of one axis, at ``i + offset``.

        A bottom axis fits them to its width (:class:`CategoryAxis`: whole, staggered
        over two lines, or shortened with a tooltip); a left axis is made wide enough
        for the longest name.
        """
        axis = plot.getPlotItem().getAxis(side)
        font = self._class_font(names)
        positions = [i + offset for i in range(len(names))]
        if side == "bottom":
            columns = self.confusion_columns if plot is self.confusion_plot else self.bar_columns
            columns.set_names(names, positions, font=font)
            return
        axis.setTickFont(font)
        axis.setTicks([list(zip(positions, names, strict=True)), []])
        fm = QFontMetrics(font)
        axis.setWidth(max(fm.horizontalAdvance(n) for n in names) + 18)

    def _confusion_rgb(self, ev: Evaluation) -> np.ndarray:
        k = ev.n_classes
        conf = ev.confusion.astype(np.float64)
        off = conf.copy()
        np.fill_diagonal(off, 0)
        max_off = off.max() if off.size else 0.0
        rgb = np.full((k, k, 3), 255, dtype=np.uint8)
        for i in range(k):
            row = conf[i].sum()
            for j in range(k):
                if i == j:
                    share = conf[i, i] / row if row else 0.0
                    rgb[i, j] = _blend(RIGHT_COLOR, 0.15 + 0.65 * share)
                elif conf[i, j] > 0 and max_off > 0:
                    rgb[i, j] = _blend(WRONG_COLOR, 0.15 + 0.85 * conf[i, j] / max_off)
        if self._filter is not None:
            # dim everything but the chosen cell
            fi, fj = self._filter
            dim = np.ones((k, k), dtype=bool)
            if 0 <= fi < k and 0 <= fj < k:
                dim[fi, fj] = False
            rgb[dim] = (0.45 * rgb[dim] + 0.55 * 235).astype(np.uint8)
        return rgb

    def _update_confusion(self) -> None:
        ev = self._evaluation
        assert ev is not None
        k = ev.n_classes
        rgb = self._confusion_rgb(ev)
        self.confusion_image.setImage(rgb, autoLevels=False, levels=(0, 255))
        self.confusion_image.setRect(QRectF(0, 0, k, k))
        item = self.confusion_plot.getPlotItem()
        self._set_class_axis(self.confusion_plot, "bottom", ev.class_names, 0.5)
        self._set_class_axis(self.confusion_plot, "left", ev.class_names, 0.5)
        item.setXRange(0, k, padding=0.02)
        item.setYRange(0, k, padding=0.02)
        font = QFont()
        font.setPointSize(8 if k > 2 else 14)
        if k == 2:
            font.setBold(True)
        n = 0
        for i in range(k):
            for j in range(k):
                t = self._text_item(self._cell_texts, n, self.confusion_plot)
                n += 1
                count = int(ev.confusion[i, j])
                r, g, b = (int(v) for v in rgb[i, j])
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 140
                if count == 0 and i != j:
                    color = (185, 185, 185)
                else:
                    color = (255, 255, 255) if dark else TEXT_DARK
                t.setColor(color)
                t.setFont(font)
                t.setText(f"{count:,}")
                t.setPos(j + 0.5, i + 0.5)
                t.show()
        for t in self._cell_texts[n:]:
            t.hide()
        self.confusion_image.setToolTip("")
        self._hover_cell = None

    def _update_gallery(self) -> None:
        ev = self._evaluation
        assert ev is not None
        names = ev.class_names
        if self._filter is None:
            chosen = ev.mistakes(limit=GALLERY_LIMIT)
            total = len(ev.misclassified)
        else:
            fi, fj = self._filter
            cell = ev.mistakes(true=fi, predicted=fj)
            chosen = cell[:GALLERY_LIMIT]
            total = len(cell)
        self._gallery = [int(i) for i in chosen]

        # caption width from the longest names, so captions wrap at most once
        fm = QFontMetrics(self.gallery_list.font())
        longest = max((fm.horizontalAdvance(f"true {a} → called {b}")
                       for a in names for b in names if a != b), default=100)
        width = int(min(max(longest + 12, SIDE * THUMB_SCALE + 16), 150))
        lines = 2 if longest + 12 <= width else 3
        self.gallery_list.setGridSize(QSize(width, SIDE * THUMB_SCALE + 8 + lines * fm.height()))

        data = self._data
        assert data is not None
        lst = self.gallery_list
        lst.blockSignals(True)
        lst.setUpdatesEnabled(False)
        lst.clear()
        scale = SIDE * THUMB_SCALE
        for idx in self._gallery:
            image = _gray_qimage(data.valid_x[idx]).scaled(
                scale, scale, Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
            t, p = names[int(ev.true[idx])], names[int(ev.predicted[idx])]
            sure = percent_sure(float(ev.confidence[idx]))
            pixmap = QPixmap.fromImage(image)
            icon = QIcon(pixmap)
            icon.addPixmap(pixmap, QIcon.Mode.Selected)  # no tint: the image stays as it is
            it = QListWidgetItem(icon, f"true {t} → called {p}\n{sure} sure")
            it.setData(Qt.ItemDataRole.UserRole, idx)
            it.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            it.setToolTip(
                f"Validation image #{idx}: a {t}, but the model called it {p} "
                f"({sure} sure).\nClick to see why."
            )
            lst.addItem(it)
        lst.setUpdatesEnabled(True)
        lst.blockSignals(False)
        self._sync_gallery_selection()

        shown = len(self._gallery)
        if self._filter is None:
            if total == 0:
                msg = "No mistakes: the model gets every validation image right."
            elif shown < total:
                msg = f"The {shown} most confident of {total:,} mistakes, most confident first."
            else:
                msg = f"All {total:,} mistakes, most confident first."
            self.show_all_button.hide()
        else:
            fi, fj = self._filter
            what = f"true {names[fi]} → called {names[fj]}"
            if total == 0:
                msg = f"No mistakes of the kind {what}."
            elif shown < total:
                msg = f"{shown} of {total:,} mistakes of the kind {what}."
            else:
                msg = f"{total:,} mistake{'s' if total != 1 else ''} of the kind {what}."
            self.show_all_button.show()
        self.gallery_label.setText(msg + (" Click one to see why." if shown else ""))

    def _sync_gallery_selection(self) -> None:
        lst = self.gallery_list
        lst.blockSignals(True)
        row = self._gallery.index(self._selected) if self._selected in self._gallery else -1
        lst.setCurrentRow(row)
        if row < 0:
            lst.clearSelection()
        else:
            lst.scrollToItem(lst.item(row))
        lst.blockSignals(False)

    def _show_detail(self, index: int | None) -> None:
        ev = self._evaluation
        if index is None or ev is None or self._data is None or self._spec is None:
            self._explanation = None
            for view in (self.image_view, *self.map_views):
                view.set_image(None)
                view.set_texts("")
                view.hide()
            self.legend.hide()
            self.note.hide()
            self.arithmetic.setText("")
            self.arithmetic.hide()
            self.detail_placeholder.setText(
                "Click a mistake above to see why the model called it what it did:\n"
                "which pixels pushed its answer which way, and the arithmetic behind it."
                if ev is not None
                else "Nothing to explain yet: train a model first."
            )
            self.detail_placeholder.show()
            return
        assert self._params is not None
        ex = explain(self._params, self._spec, self._data, ev, index)
        self._explanation = ex
        names = ev.class_names
        self.image_view.show()
        self.image_view.set_image(_gray_qimage(self._data.valid_x[index]))
        mark = "right ✓" if ex.correct else "wrong ✗"
        self.image_view.set_texts(
            f"Validation image #{index}\n(as the model sees it)",
            f"true {names[ex.true]} · called {names[ex.predicted]} · {mark}",
        )
        self.detail_placeholder.hide()
        self.arithmetic.setText(explanation_text(ex, ev, self._spec))
        self.arithmetic.show()

        pixel = has_pixel_neurons(self._spec)
        self.note.setVisible(not pixel)
        self.legend.setVisible(pixel)
        shown = len(ex.breakdowns)
        limit = _map_limit([b.contributions for b in ex.breakdowns]) if shown else 1.0
        for k, view in enumerate(self.map_views):
            if k >= shown:
                view.hide()
                view.set_image(None)
                continue
            b = ex.breakdowns[k]
            view.set_image(_rgb_qimage(to_rgb(b.contributions.reshape(SIDE, SIDE), limit)))
            if ev.binary:
                caption = f"Contribution map w⊙x\n(the neuron's logit for {names[0]})"
            else:
                role = "called" if b.class_index == ex.predicted else (
                    "true class" if b.class_index == ex.true else "runner-up"
                )
                caption = f"w⊙x for neuron {names[b.class_index]}\n({role})"
            view.set_texts(caption, f"Σ w⊙x = {fmt(b.weighted_sum)}")
            view.show()
        self.legend_note.setText(
            f"white: no effect · blank pixels always add 0 · full colour at ±{fmt(limit, 3)}"
            " per pixel or more"
        )
        if pixel and ev.binary:
            self.legend_low.setText(f"blue: toward {names[1]}")
            self.legend_high.setText(f"red: toward {names[0]}")
        elif pixel:
            self.legend_low.setText("blue: pulls the logit down")
            self.legend_high.setText("red: pushes it up")

    # -- interaction -------------------------------------------------------------------
    def _on_gallery_current(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.select_sample(int(current.data(Qt.ItemDataRole.UserRole)))

    def _on_gallery_clicked(self, item: QListWidgetItem) -> None:
        idx = int(item.data(Qt.ItemDataRole.UserRole))
        if idx != self._selected:
            self.select_sample(idx)

    def _cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        ev = self._evaluation
        if ev is None:
            return None
        vb = self.confusion_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        i, j = int(np.floor(p.y())), int(np.floor(p.x()))
        if 0 <= i < ev.n_classes and 0 <= j < ev.n_classes:
            return i, j
        return None

    def _on_confusion_hover(self, scene_pos: QPointF) -> None:
        cell = self._cell_at(scene_pos)
        if cell == self._hover_cell:
            return
        self._hover_cell = cell
        ev = self._evaluation
        if cell is None or ev is None:
            self.confusion_image.setToolTip("")
            return
        i, j = cell
        names = ev.class_names
        count = int(ev.confusion[i, j])
        row = int(ev.class_counts[i])
        share = f" ({100 * count / row:.1f}% of the {names[i]}s)" if row else ""
        if i == j:
            text = f"{count:,} images of {names[i]} called {names[i]}: right{share}."
        else:
            text = (
                f"{count:,} images of {names[i]} called {names[j]}: mistakes{share}.\n"
                "Click to show only these in the gallery."
            )
        self.confusion_image.setToolTip(text)

    def _on_confusion_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self._cell_at(event.scenePos())
        if cell is None:
            return
        i, j = cell
        if i == j or self._filter == cell:
            self.filter_mistakes(None)
        else:
            self.filter_mistakes(cell)

    def _on_bar_hover(self, scene_pos: QPointF) -> None:
        ev = self._evaluation
        if ev is None:
            return
        vb = self.bar_plot.getPlotItem().getViewBox()
        p = vb.mapSceneToView(scene_pos)
        i = int(round(p.x()))
        bar = i if 0 <= i < ev.n_classes and abs(p.x() - i) <= 0.35 else None
        if bar == self._hover_bar:
            return
        self._hover_bar = bar
        if bar is None:
            self.bars.setToolTip("")
            return
        right = int(ev.confusion[bar, bar])
        total = int(ev.class_counts[bar])
        name = ev.class_names[bar]
        self.bars.setToolTip(
            f"{name}: {right:,} of {total:,} validation images of {name} called right "
            f"({_percent(ev.per_class_accuracy[bar])})."
        )
