"""The decision panel's two-class page: one neuron's histogram of w·x, its bias and
threshold, the decision line, accuracy and confusion counts."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.decisions import (
    BinaryDecision,
    BinaryResult,
    MulticlassResult,
    probability_from_threshold,
    threshold_from_probability,
)
from biasviz.core.text import escape_html, num, unbroken
from biasviz.gui.class_labels import ElidedLabel, class_noun
from biasviz.gui.colormaps import FIRST_CLASS_COLOR, SECOND_CLASS_COLOR
from biasviz.gui.decision_common import (
    BIAS_DECIMALS,
    CORRECT_BG,
    CORRECT_FG,
    FINE_KEYS_TIP,
    MODE_BINARY,
    MODE_MULTICLASS,
    NOTE_FG,
    OVERRIDE_FG,
    P_MAX,
    P_MIN,
    PROBABILITY_DECIMALS,
    RANGE_SLACK,
    SAMPLE_TIP,
    T_BOX,
    T_LIMIT,
    THRESHOLD_DECIMALS,
    WRONG_BG,
    WRONG_FG,
    FloatSlider,
    NoteLabel,
    _bold,
    _css,
    _plot_widget,
    _rgba,
    _small,
    _spin,
    accuracy_counts,
    fmt,
    fmt_percent,
    one_place,
    quoted,
    wide_enough,
)
from biasviz.gui.plot_style import FINE_STEPS, nice_ceiling, steady_range

PLOT_MIN_HEIGHT = 96  # what a short screen leaves the histogram (1280×800 at 2×)

#: The panel's attributes that making the histogram plot makes: asking the panel for one
#: of them makes the plot (it is made on first need, not at start-up).
BINARY_PLOT_ITEMS = frozenset({
    "plot", "hist_first_curve", "hist_second_curve", "decision_line", "line_label_first",
    "line_label_second", "trained_line", "trained_line_label",
})


#: How far out a flat tail's shading reaches (beyond any z the plot can show).
SATURATED_REACH = 1e7


def _style_cell(cell: QLabel, correct: bool) -> None:
    """A confusion count's look: green for correct answers, grey otherwise (restyled only
    when it changes: a style sheet is re-parsed at each set)."""
    if getattr(cell, "_biasviz_correct", None) is correct:
        return
    cell._biasviz_correct = correct  # type: ignore[attr-defined]
    bg, fg = (CORRECT_BG, CORRECT_FG) if correct else (WRONG_BG, WRONG_FG)
    cell.setStyleSheet(f"background: {bg}; color: {fg}; border: 1px solid #c8c8c8; "
                       "padding: 2px 6px;")


def _unbroken(name: str) -> str:
    """``name`` as html that a wrapping label never breaks inside."""
    return escape_html(name).replace(" ", "&nbsp;")


class _PlotStandIn(QGraphicsView):
    """Holds the histogram plot's place until the plot is made, asking the layout for
    what the plot asks: the splitters share the window out by their parts' size hints,
    and a page without its plot's hint got a narrower decision panel (307 instead of
    448 px at 1280×720).  The plot is a graphics view too; this one is empty, with the
    same frame, scroll bars and scene (its own size until it is laid out), and costs
    0.2 ms instead of ~12."""

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setScene(QGraphicsScene(self))
        self.setSceneRect(QRectF(self.rect()))
        self.setMinimumHeight(PLOT_MIN_HEIGHT)


class BinaryPage:
    """DecisionPanel methods for one output (a mixin: the panel composes the pages)."""

    def _build_binary_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(6)

        # --- the histograms of z = w·x, with the decision line
        self.legend_label = QLabel()
        self.legend_label.setWordWrap(True)
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.legend_label)

        # The histogram plot is made when the first decision comes (``set_binary``) or
        # when it is asked for: the first window shows no model yet, and a plot with its
        # items is ~12 ms of start-up (issue 14).  Until then a stand-in holds its place.
        self._plot_stand_in = _PlotStandIn()
        self._plot_ranges: tuple = (None, None)  # (x range, y top) shown
        self._line_texts = ("", "")  # the labels' full texts; shown shortened to fit
        outer.addWidget(self._plot_stand_in, stretch=1)

        # --- the equivalence, written out live
        eq_frame = QFrame()
        eq_frame.setFrameShape(QFrame.Shape.StyledPanel)
        eq_layout = QVBoxLayout(eq_frame)
        eq_layout.setContentsMargins(8, 4, 8, 4)
        eq_layout.setSpacing(2)
        self.rule_label = QLabel()
        self.rule_label.setWordWrap(True)
        self.equation_label = QLabel()
        self.equation_label.setTextFormat(Qt.TextFormat.RichText)
        self.equation_label.setWordWrap(True)
        _small(self.equation_label, +1.0)
        self.equation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explain_label = _small(QLabel(
            # one line at a laptop's width (two lines took the histogram's room at 1280×720)
            "The bias is a threshold in disguise: b\u00a0+\u00a01 does what t\u00a0−\u00a01 does."
        ))
        self.explain_label.setWordWrap(True)
        eq_layout.addWidget(self.rule_label)
        eq_layout.addWidget(self.equation_label)
        eq_layout.addWidget(self.explain_label)
        outer.addWidget(eq_frame)

        # --- controls
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        grid.setColumnStretch(1, 1)

        self.bias_name_label = _bold(QLabel("bias b"))
        self.bias_slider = FloatSlider(BIAS_DECIMALS)
        self.bias_spin = _spin(BIAS_DECIMALS, -1000.0, 1000.0, 0.01)  # PageUp: 0.1
        self.bias_spin.setMinimumWidth(88)
        self.bias_status_label = QLabel()
        self.bias_status_label.setWordWrap(True)
        self.reset_button = QPushButton("Reset to trained b")
        wide_enough(self.reset_button, [f"Reset to {which} b" for which in ("initial", "trained")])
        # two lines at most (the row's height), the rest elided into the tooltip
        self.edit_note_label = _small(NoteLabel(max_lines=2))
        self.edit_note_label.setStyleSheet(f"color: {NOTE_FG}; font-style: italic;")
        grid.addWidget(self.bias_name_label, 0, 0)
        grid.addWidget(self.bias_slider, 0, 1)
        grid.addWidget(self.bias_spin, 0, 2)
        # the note in the status' place while editing is off: the panel keeps its height
        # when a run starts (a line more would grow the window past a 1280×720 screen)
        grid.addWidget(one_place(self.bias_status_label, self.edit_note_label), 1, 0, 1, 2)
        grid.addWidget(self.reset_button, 1, 2)

        self.threshold_name_label = _bold(QLabel("threshold t"))
        self.threshold_slider = FloatSlider(THRESHOLD_DECIMALS)
        self.threshold_slider.set_float_range(-T_LIMIT, T_LIMIT)
        self.threshold_spin = _spin(THRESHOLD_DECIMALS, -T_BOX, T_BOX, 0.01)
        self.threshold_spin.setMinimumWidth(88)
        self.probability_name_label = QLabel()
        self.probability_name_label.setWordWrap(True)
        # (0…1: a threshold past ±6.907 shows as 1.000 or 0.000, rounded, not as a
        # p of 0.999 beside a t of 15; a typed 0 or 1 is taken as 0.001 or 0.999)
        self.probability_spin = _spin(PROBABILITY_DECIMALS, 0.0, 1.0, 0.01)
        self.probability_spin.setPrefix("p = ")
        self.probability_spin.setMinimumWidth(88)
        grid.addWidget(self.threshold_name_label, 3, 0)
        grid.addWidget(self.threshold_slider, 3, 1)
        grid.addWidget(self.threshold_spin, 3, 2)
        grid.addWidget(self.probability_name_label, 4, 0, 1, 2)
        grid.addWidget(self.probability_spin, 4, 2)
        outer.addLayout(grid)

        # --- results: accuracy and the 2×2 confusion counts (a box of their own: on a
        # short screen the window puts it under the weights, ``use_short_screen``)
        self.results_box = QWidget()
        results = QHBoxLayout(self.results_box)
        results.setContentsMargins(0, 0, 0, 0)
        results.setSpacing(10)
        left = QVBoxLayout()
        left.setSpacing(2)
        # Two short lines on purpose ("validation accuracy", then "99.9% (1997 / 2000)"):
        # one line would wrap at an arbitrary place, and the confusion table needs the width.
        self.accuracy_label = _bold(QLabel())
        self.accuracy_label.setWordWrap(False)
        self.accuracy_label.setToolTip(self._ACCURACY_TIP)
        self.compare_label = _small(ElidedLabel())
        left.addWidget(self.accuracy_label)
        left.addWidget(self.compare_label)
        left.addStretch(1)
        results.addLayout(left, stretch=0)

        confusion_box = QGridLayout()
        confusion_box.setSpacing(2)
        # long class names ("Ankle boot") shorten with "…" and a tooltip
        self.confusion_col_headers = [_small(ElidedLabel(wrap_once=True)),
                                      _small(ElidedLabel(wrap_once=True))]
        self.confusion_row_headers = [_small(ElidedLabel(wrap_once=True)),
                                      _small(ElidedLabel(wrap_once=True))]
        self.confusion_labels: list[list[QLabel]] = [[QLabel(), QLabel()], [QLabel(), QLabel()]]
        for j, header in enumerate(self.confusion_col_headers):
            header.setAlignment(Qt.AlignmentFlag.AlignCenter)
            confusion_box.addWidget(header, 0, j + 1)
        for i, header in enumerate(self.confusion_row_headers):
            header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            confusion_box.addWidget(header, i + 1, 0)
            for j in range(2):
                cell = self.confusion_labels[i][j]
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setMinimumWidth(48)
                _style_cell(cell, correct=i == j)
                _bold(cell)
                confusion_box.addWidget(cell, i + 1, j + 1)
        # no stretch factors: each column gets what its names need, shortened (with a
        # tooltip) only when the panel is too narrow for all of them
        results.addLayout(confusion_box, stretch=1)
        outer.addWidget(self.results_box)

        self.bias_slider.floatChanged.connect(self._on_bias_input)
        self.bias_spin.valueChanged.connect(self._on_bias_input)
        self.reset_button.clicked.connect(self.reset_bias)
        self.threshold_slider.floatChanged.connect(self._on_threshold_input)
        self.threshold_spin.valueChanged.connect(self._on_threshold_input)
        self.probability_spin.valueChanged.connect(self._on_probability_input)
        self._set_binary_names(self._class_names)
        return page

    def set_accuracy_caption(self, caption: str) -> None:
        """The accuracy's first line ("validation accuracy"; with a pinned run beside this
        one, "validation accuracy (now)": the counts are this run's only)."""
        if caption != self._accuracy_caption:
            self._accuracy_caption = caption
            if self._decision is not None:
                self._refresh_binary()

    def has_binary_plot(self) -> bool:
        """Whether the histogram plot has been made (it is, the first time it is needed)."""
        return "plot" in self.__dict__

    def ensure_binary_plot(self) -> None:
        """Make the histogram plot, in its stand-in's place, if it was not made yet."""
        if self.has_binary_plot():
            return
        self._plot_building = True  # its own attribute look-ups must not build it again
        try:
            self._build_binary_plot()
        finally:
            self._plot_building = False
        stand_in = self._plot_stand_in
        layout = stand_in.parentWidget().layout()
        layout.replaceWidget(stand_in, self.plot)  # same place, same stretch
        # hidden at once: until its deferred delete (which a processEvents() loop, as in
        # scripts and tests, may never reach) it stayed on top of the legend, blank
        stand_in.hide()
        stand_in.deleteLater()
        self._plot_stand_in = None
        self._set_plot_names()
        self.trained_line_label.setFormat(self._which())
        self.decision_line.setMovable(self._editable)
        if self.saturated():
            self.set_saturated(self.saturated())

    def _build_binary_plot(self) -> None:
        self.plot = _plot_widget()
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT)
        item = self.plot.getPlotItem()
        item.setLabel("bottom", self._axis_words())
        item.getAxis("bottom").enableAutoSIPrefix(False)  # "(x0.001)" said nothing to a learner
        item.setLabel("left", "images")
        item.getViewBox().setDefaultPadding(0.0)
        self.hist_second_curve = pg.PlotDataItem(
            x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0,
            pen=pg.mkPen(SECOND_CLASS_COLOR, width=2),
            brush=pg.mkBrush(_rgba(SECOND_CLASS_COLOR, 80)),
        )
        self.hist_first_curve = pg.PlotDataItem(
            x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0,
            pen=pg.mkPen(FIRST_CLASS_COLOR, width=2),
            brush=pg.mkBrush(_rgba(FIRST_CLASS_COLOR, 80)),
        )
        item.addItem(self.hist_second_curve)
        item.addItem(self.hist_first_curve)
        text_color = self.plot.palette().color(QPalette.ColorRole.Text)
        label_fill = QColor(self.plot.palette().color(QPalette.ColorRole.Base))
        label_fill.setAlpha(210)
        self.decision_line = pg.InfiniteLine(
            pos=0.0, angle=90, movable=True,
            pen=pg.mkPen(text_color, width=2),
            hoverPen=pg.mkPen(OVERRIDE_FG, width=3),
        )
        self.decision_line.setZValue(10)
        item.addItem(self.decision_line)
        # one label on each side of the line, near the top
        self.line_label_first = pg.InfLineLabel(
            self.decision_line, text="", position=0.93, anchors=[(0, 0.5), (0, 0.5)],
            color=text_color, fill=pg.mkBrush(label_fill),
        )
        self.line_label_second = pg.InfLineLabel(
            self.decision_line, text="", position=0.93, anchors=[(1, 0.5), (1, 0.5)],
            color=text_color, fill=pg.mkBrush(label_fill),
        )
        self.decision_line.sigDragged.connect(self._on_line_dragged)
        item.getViewBox().sigResized.connect(self._fit_line_labels)
        # where the trained bias puts the line: shown only while the user overrides it
        self.trained_line = pg.InfiniteLine(
            pos=0.0, angle=90, movable=False,
            pen=pg.mkPen(OVERRIDE_FG, width=1, style=Qt.PenStyle.DashLine),
        )
        self.trained_line.setZValue(9)
        self.trained_line_label = pg.InfLineLabel(
            self.trained_line, text="trained", position=0.06, anchors=[(0, 1), (0, 1)],
            color=OVERRIDE_FG, fill=pg.mkBrush(label_fill),
        )
        self.trained_line.setVisible(False)
        item.addItem(self.trained_line)

    # ------------------------------------------------------------------ binary API
    def set_binary(
        self,
        decision: BinaryDecision,
        trained_bias: float,
        class_names: tuple[str, str],
        bias: float | None = None,
        threshold: float | None = None,
    ) -> None:
        """Show a neuron: its decision (the scores z = w·x of the validation images), the
        bias it has now (``bias``; None: the trained one) and the trained bias, and the
        threshold t (None: keep the current one).

        The panel keeps no bias of its own between calls: the app model is the bias's one
        home, and the window calls this after every change.  Emits only
        ``resultChanged`` (never ``biasChanged``).
        """
        had_decision = self._decision is not None and self._mode == MODE_BINARY
        old_bias = self._bias
        self._decision = decision
        self._trained_bias = float(trained_bias)
        self._bias = self._trained_bias if bias is None else float(bias)
        same_bias = had_decision and abs(self._bias - old_bias) < 0.5 * 10.0**-BIAS_DECIMALS
        self._bias_overridden = (
            abs(self._bias - self._trained_bias) >= 0.5 * 10.0**-BIAS_DECIMALS
        )
        if threshold is not None and np.isfinite(threshold):
            self._threshold = float(threshold)
        names = (str(class_names[0]), str(class_names[1]))
        if names != self._class_names:
            self._set_binary_names(names)
        self._set_noun(names)

        self.ensure_binary_plot()  # the first neuron: the plot is made now, at this b
        edges = decision.bin_edges
        self.hist_first_curve.setData(x=edges, y=decision.hist_first.astype(np.float64))
        self.hist_second_curve.setData(x=edges, y=decision.hist_second.astype(np.float64))
        self._update_bias_range(keep_handle=same_bias)
        self._update_plot_range()
        self._sync_bias_widgets()
        self._sync_threshold_widgets()
        self._show(MODE_BINARY)
        self._refresh_binary()

    def set_saturated(self, ranges: list[tuple[float, float]]) -> None:
        """Shade the z-ranges (pre-activation w·x + b) where the sigmoid is flat and the
        images there learn nothing (the diagnosis of a saturated neuron).  The histogram's
        axis is w·x, so the shading sits at z − b."""
        self._saturated = list(ranges)
        if not self.has_binary_plot():
            return  # shaded when the plot is made
        item = self.plot.getPlotItem()
        for region in getattr(self, "_saturated_items", []):
            item.removeItem(region)
        self._saturated_items = []
        for lo, hi in self._saturated:
            # A tail is flat all the way out: shaded to the plot's edge, not to the last
            # training image (validation images beyond it were left unshaded); grey, not
            # the first class' orange, which it was read as.
            if hi <= 0:
                lo = -SATURATED_REACH
            if lo >= 0:
                hi = SATURATED_REACH
            region = pg.LinearRegionItem(
                values=(lo - self._bias, hi - self._bias), movable=False,
                brush=pg.mkBrush(110, 110, 110, 45), pen=pg.mkPen(None),
            )
            region.setZValue(-10)
            region.setToolTip("Flat part of the sigmoid: σ′(z) ≈ 0 here, so these images "
                              "give (almost) no gradient — the neuron cannot learn from "
                              "them.")
            item.addItem(region, ignoreBounds=True)
            self._saturated_items.append(region)

    def saturated(self) -> list[tuple[float, float]]:
        return list(getattr(self, "_saturated", []))

    def bias(self) -> float:
        return self._bias

    def trained_bias(self) -> float:
        return self._trained_bias

    def bias_overridden(self) -> bool:
        return self._bias_overridden

    def threshold(self) -> float:
        return self._threshold

    def probability_threshold(self) -> float:
        return probability_from_threshold(self._threshold)

    def result(self) -> BinaryResult | MulticlassResult | None:
        """The last result of the current mode (a BinaryResult in binary mode)."""
        return self._mc_result if self._mode == MODE_MULTICLASS else self._result

    def mode(self) -> str:
        """"empty", "binary" or "multiclass"."""
        return self._mode

    def set_bias(self, value: float) -> None:
        """Set the bias as if the user typed it (emits ``biasChanged``)."""
        self._user_bias(float(value))

    def set_threshold(self, t: float) -> None:
        """Set the logit threshold as if the user typed it (emits ``thresholdChanged``)."""
        self._user_threshold(float(t))

    def set_probability(self, p: float) -> None:
        """Set the threshold as a probability p (t = logit p), as if the user typed it."""
        p = min(max(float(p), P_MIN), P_MAX)
        self._user_threshold(threshold_from_probability(p))

    def reset_bias(self) -> None:
        """Back to the trained bias (a user action: emits ``biasChanged``)."""
        if self._decision is None or not self._editable:
            return
        self._bias = self._trained_bias
        self._bias_overridden = False
        self._sync_bias_widgets()
        self._refresh_binary()
        self.biasChanged.emit(self._bias)

    def set_editable(self, enabled: bool, reason: str = "") -> None:
        """Enable or disable editing of the bias(es), showing ``reason`` when disabled.
        The threshold stays editable: it is not a parameter the training touches."""
        self._editable = bool(enabled)
        self._edit_reason = "" if enabled else str(reason)
        self._apply_editable()

    _valid_total: int | None = None
    _ACCURACY_TIP = ("The share of validation images (not used for training) that land "
                     "on the correct side of the decision line.")

    def set_validation_size(self, total: int | None) -> None:
        """How many validation images the data set has (None: the decisions given hold
        them all).  A decision on fewer, as while training, says it is a sample of them."""
        total = None if total is None else int(total)
        if total == self._valid_total:
            return
        self._valid_total = total
        if self._mode == MODE_BINARY and self._decision is not None:
            self._refresh_binary()
        elif self._mode == MODE_MULTICLASS and self._mc_decision is not None:
            self._refresh_multiclass()

    def validation_size(self) -> int | None:
        return self._valid_total

    def _accuracy_tip(self, n: int, tip: str = "") -> str:
        total = self._valid_total
        tip = tip or self._ACCURACY_TIP
        if total is not None and total > n:
            return tip + SAMPLE_TIP.format(n=n, total=total)
        return tip

    def is_editable(self) -> bool:
        return self._editable

    def set_has_trained(self, trained: bool, word: str | None = None) -> None:
        """Whether the model has been trained yet (default True).  Before any training
        the values the panel compares with are the initial ones: it says "initial b",
        "Reset to initial b", "All biases are the initial values" — or ``word`` for them
        ("imported": a model that came with its parameters)."""
        trained = bool(trained)
        word = word or ("trained" if trained else "initial")
        if trained == self._has_trained and word == self._reference:
            return
        self._has_trained, self._reference = trained, word
        self._set_words()
        if self._mode == MODE_BINARY and self._decision is not None:
            self._refresh_binary()
        elif self._mode == MODE_MULTICLASS and self._mc_decision is not None:
            self._sync_multi_widgets()
            self._update_mc_status()

    def has_trained(self) -> bool:
        return self._has_trained

    def noun(self) -> str:
        """"digit" or "item": what the panel calls one class's images."""
        return self._noun

    def _which(self) -> str:
        """The word for the reference values: "trained", "initial" before training, or
        "imported" (see set_has_trained)."""
        return self._reference

    def _set_words(self) -> None:
        """Texts that depend on whether the model is trained and on digit vs item."""
        which = self._which()
        self.reset_button.setText(f"Reset to {which} b")
        self.reset_button.setToolTip(
            "Put back the bias that training found (the decision line jumps back)."
            if self._has_trained else
            "Put back the bias the model starts with: it has not been trained yet "
            "(the decision line jumps back)."
        )
        if self.has_binary_plot():  # else it is given the word when it is made
            self.trained_line_label.setFormat(which)
        self.bias_status_label.setToolTip(
            ("The bias training found, and yours if you moved it." if self._has_trained
             else "The bias the model starts with (no training yet), and yours if you "
             "moved it.")
            + " Your value is only for exploring: it does not change the model."
        )
        self.compare_label.set_full_text(
            self.compare_label.full_text(),
            f"Where the decision line sits, or, once you moved the bias, how the {which} "
            "bias scores for comparison.",
        )
        if self.has_multiclass_page():  # else it gets its words when it is built
            self._set_multiclass_words()

    def _fit_line_labels(self, *_args) -> None:
        """The two labels beside the decision line, each on its own side of it, shortened
        to the room there (a label cut off by the plot's edge tells nothing); a side too
        narrow for its label (the line near an edge) has it on the other side, a row
        lower, in words that name its side ("left of the line: “Coat”": an arrow there,
        "← predict “Coat”" right of the line, read as if the right predicted Coat).  The
        full texts are in their tooltips."""
        if self._decision is None:
            return
        vb = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = vb.viewRange()
        width = vb.width()
        if not (width > 0 and x1 > x0):
            return
        at = (float(self.decision_line.value()) - x0) / (x1 - x0) * width
        rooms = (width - at - 10, at - 10)  # first class right of the line, second left
        first, second = (quoted(n) for n in self._class_names)
        # (no bare arrow, no bare or cut name: beside the other label "←" read as part of
        # it — "← predict “Pullover” →" — and "“C…" as a stray mark)
        candidates = (
            (f"predict {first} →", f"{first} →"),
            (f"← predict {second}", f"← {second}"),
        )
        across = (  # the same, on the other side of the line
            (f"right of the line: predict {first}", f"right: {first}"),
            (f"left of the line: predict {second}", f"left: {second}"),
        )
        labels = (self.line_label_first, self.line_label_second)
        for own, (label, options) in enumerate(zip(labels, candidates, strict=True)):
            metrics = QFontMetricsF(label.textItem.font())
            # the text item draws a margin around its text
            margin = 2 * label.textItem.document().documentMargin() + 2

            def fitting(room: float, options=options, metrics=metrics,
                        margin=margin) -> str:
                return next((o for o in options
                             if metrics.horizontalAdvance(o) <= room - margin), "")

            side, text = own, fitting(rooms[own])
            if not text:  # too narrow here: the other side, if it has room
                side, text = 1 - own, fitting(rooms[1 - own], across[own])
            anchor = (0, 0.5) if side == 0 else (1, 0.5)  # right of the line, or left
            position = 0.93 if side == own else 0.80
            fmt_text = text.replace("{", "{{").replace("}", "}}")
            if (label.format == fmt_text and label.toolTip() == options[0]
                    and label.isVisibleTo(self.decision_line) == bool(text)
                    and label.anchors[0] == anchor and label.orthoPos == position):
                continue  # as it is (each setFormat re-lays the label out: ~0.2 ms)
            label.setVisible(bool(text))  # first: a hidden label ignores new text
            label.anchors = [anchor, anchor]
            label.setFormat(fmt_text)
            label.setToolTip(options[0])
            label.setPosition(position)  # (places it anew, with its anchor)

    # ------------------------------------------------------------------ binary internals
    def _set_noun(self, names) -> None:
        noun = class_noun(names)
        if noun != self._noun:
            self._noun = noun
            self._set_words()

    def set_hidden_features(self, hidden: bool) -> None:
        """The output neuron weighs a hidden layer's outputs h (an MLP, a CNN), not the
        pixels x: the texts say w·h and "the output neuron" (they said the chapter's
        neuron's w·x, the pixels' weighted sum, for every model)."""
        if hidden != self._hidden:
            self._hidden = hidden
            self._set_binary_names(self._class_names)
            if self.has_binary_plot():
                self.plot.getPlotItem().setLabel("bottom", self._axis_words())
            if self._decision is not None and self._mode == MODE_BINARY:
                self._refresh_binary()

    def _wx(self) -> str:
        return "w·h" if self._hidden else "w·x"

    def _who(self) -> str:
        return "the output neuron" if self._hidden else "the neuron"

    def _axis_words(self) -> str:
        if self._hidden:
            return "w·h (the output's pre-activation, without its bias)"
        return "w·x (pre-activation, without bias)"

    def _set_binary_names(self, names: tuple[str, str]) -> None:
        self._class_names = names
        first, second = quoted(names[0]), quoted(names[1])
        wx, who = self._wx(), self._who()
        c1, c2 = _css(FIRST_CLASS_COLOR), _css(SECOND_CLASS_COLOR)
        self.equation_label.setToolTip(
            "Three ways of writing the same rule with the current numbers. Moving the bias b "
            f"or the threshold t changes only the number that {wx} is compared with."
        )
        self.probability_name_label.setText(f"or as a probability:  σ({wx} + b) ≥ p")
        self.legend_label.setText(
            # (not "z = w·x": everywhere else z is w·x + b, what the sigmoid takes)
            f"How the validation images score on {wx}"
            + (" (h: what the hidden layer outputs)" if wx == "w·h" else "") + ": "
            # (a name never wraps inside: "“Ankle" ended one line, "boot”" began the next)
            f"<span style='color:{c1}'>■</span>&nbsp;{_unbroken(first)}&nbsp;&nbsp; "
            f"<span style='color:{c2}'>■</span>&nbsp;{_unbroken(second)}"
        )
        if self.has_binary_plot():  # else it is named when it is made
            self._set_plot_names()
        self.rule_label.setText(f"{who[0].upper() + who[1:]} says {first} when {wx} + b ≥ t:")
        for j, name in enumerate(names):
            self.confusion_col_headers[j].set_full_text(f"called {quoted(name)}")
            self.confusion_row_headers[j].set_full_text(f"true {quoted(name)}")
        for i in range(2):
            for j in range(2):
                verdict = "correct" if i == j else "mistakes"
                self.confusion_labels[i][j].setToolTip(
                    f"Validation images that are really {quoted(names[i])} and that "
                    f"{who} called {quoted(names[j])} ({verdict})."
                )
        bias_tip = (
            f"The bias b of {who}, added to {wx} before the threshold test. A bigger b "
            f"moves the decision line left, so more images are called {first}."
        )
        self.bias_slider.setToolTip(bias_tip + FINE_KEYS_TIP)
        self.bias_spin.setToolTip(bias_tip + " Type an exact value here.")
        self.bias_name_label.setToolTip(bias_tip)
        t_tip = (
            f"The firing threshold t on {who}'s output (the logit {wx} + b): it says "
            f"{first} when {wx} + b ≥ t. The usual choice is t = 0. A bigger t moves the line "
            f"right: {who} gets pickier."
        )
        self.threshold_slider.setToolTip(t_tip + FINE_KEYS_TIP)
        self.threshold_spin.setToolTip(
            t_tip + f" Type any value here: the slider spans t = {num(-T_LIMIT, 2)} … "
            f"{num(T_LIMIT, 2)}, p = {P_MIN} … {P_MAX}.")
        self.threshold_name_label.setToolTip(t_tip)
        p_tip = (
            f"The same threshold as a probability: say {first} when σ({wx} + b) ≥ p. "
            "p = 0.5 is t = 0; p = 0.8 is t = logit(0.8) = ln(0.8 / 0.2) ≈ 1.39. "
            "Change p or t: the other follows."
        )
        self.probability_spin.setToolTip(p_tip)
        self.probability_name_label.setToolTip(p_tip)


    def _set_plot_names(self) -> None:
        """The class names on and about the histogram plot."""
        first, second = (quoted(n) for n in self._class_names)
        wx, who = self._wx(), self._who()
        self.line_label_first.setFormat(f"predict {first} →")
        self.line_label_second.setFormat(f"← predict {second}")
        self.plot.setToolTip(
            f"Histograms of z = {wx} for the validation images of {first} and {second}. "
            "The bias is not included, so the bars never move when you change b or t: "
            f"only the line at {wx} = t − b moves. Images right of the line are called {first}.\n"
            "Drag the line to change the bias."
        )
        self.decision_line.setToolTip(
            f"The decision line at {wx} = t − b. Right of it {who} says {first}, left of "
            f"it {second}. Drag it to change the bias b."
        )
    def _update_bias_range(self, keep_handle: bool = False) -> None:
        """Slider span from the data: every bias that puts the line somewhere over the
        histograms (at the current t), plus the trained and current bias.

        ``keep_handle`` (b did not change, only the histograms did, e.g. while painting
        the weights): the span stays as it is while it still covers what is needed and
        is not much wider; otherwise it grows or shrinks around b so that b keeps its
        place on the slider and the handle does not jump."""
        assert self._decision is not None
        edges = self._decision.bin_edges
        lo = self._threshold - float(edges[-1])
        hi = self._threshold - float(edges[0])
        lo = min(lo, self._trained_bias, self._bias)
        hi = max(hi, self._trained_bias, self._bias)
        pad = 0.02 * (hi - lo) if hi > lo else 1.0
        lo, hi = lo - pad, hi + pad
        old_lo, old_hi = self.bias_slider.float_range()
        b = self._bias
        if keep_handle and old_hi > old_lo and old_lo < b < old_hi:
            need = hi - lo
            if old_lo <= lo and hi <= old_hi and old_hi - old_lo <= RANGE_SLACK * need:
                lo, hi = old_lo, old_hi  # still fits: nothing moves
            else:
                f = (b - old_lo) / (old_hi - old_lo)  # b's place on the slider, kept
                span = max((b - lo) / f, (hi - b) / (1.0 - f))
                if span <= RANGE_SLACK * need:
                    lo, hi = b - f * span, b + (1.0 - f) * span
        self.bias_slider.set_float_range(lo, hi)
        # a power of ten: the box's width follows its range's text, and a range that
        # changed with every frame moved the slider and the button beside it (a relayout
        # and their repaint, several times in the chapter's 0.15 s run)
        limit = 10.0 ** math.ceil(math.log10(max(1000.0, 10.0 * max(abs(lo), abs(hi)))))
        blocked = self.bias_spin.blockSignals(True)
        self.bias_spin.setRange(-limit, limit)
        self.bias_spin.blockSignals(blocked)

    def _update_plot_range(self) -> None:
        assert self._decision is not None
        d = self._decision
        edges = d.bin_edges
        # the x range covers every line position the bias slider can reach at this t
        b_lo, b_hi = self.bias_slider.float_range()
        x_lo = min(float(edges[0]), self._threshold - b_hi)
        x_hi = max(float(edges[-1]), self._threshold - b_lo)
        margin = 0.01 * (x_hi - x_lo)  # so the line stays visible at the slider's ends
        x_lo, x_hi = x_lo - margin, x_hi + margin
        top = max(int(d.hist_first.max(initial=0)), int(d.hist_second.max(initial=0)), 1)
        # Ranges that stay while the scores drift within them (training moves them every
        # frame): the axes then keep their ticks and are drawn from their cache.
        x_range = steady_range(self._plot_ranges[0], x_lo, x_hi)
        y_top = self._plot_ranges[1]
        # (fine steps, and kept only while within 1.6× the tallest bar: 10 images had an
        # axis to 20, half the plot empty, on a short screen where height is scarce)
        if y_top is None or not top * 1.25 <= y_top <= top * 1.6:
            y_top = nice_ceiling(top * 1.25, FINE_STEPS)  # head room for the line labels
        item = self.plot.getPlotItem()
        if (x_range, y_top) != self._plot_ranges:
            self._plot_ranges = (x_range, y_top)
            item.setXRange(*x_range, padding=0.0)
            item.setYRange(0.0, y_top * 1.04, padding=0.0)  # the top tick's label whole

    def _sync_bias_widgets(self) -> None:
        blocked = self.bias_spin.blockSignals(True)
        self.bias_spin.setValue(self._bias)
        self.bias_spin.blockSignals(blocked)
        self.bias_slider.set_float_value(self._bias)

    def _sync_threshold_widgets(self) -> None:
        blocked = self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(self._threshold)
        self.threshold_spin.blockSignals(blocked)
        self.threshold_slider.set_float_value(self._threshold)
        blocked = self.probability_spin.blockSignals(True)
        self.probability_spin.setValue(self.probability_threshold())
        self.probability_spin.blockSignals(blocked)

    def _on_bias_input(self, value: float) -> None:
        self._user_bias(float(value))

    def _on_line_dragged(self, line: pg.InfiniteLine) -> None:
        if self._decision is None or not self._editable:
            self.decision_line.setValue(self._threshold - self._bias)
            return
        self._user_bias(round(self._threshold - float(line.value()), BIAS_DECIMALS))

    def _on_threshold_input(self, value: float) -> None:
        self._user_threshold(float(value))

    def _on_probability_input(self, value: float) -> None:
        self._user_threshold(threshold_from_probability(min(max(float(value), P_MIN), P_MAX)))

    def _user_bias(self, value: float) -> None:
        if self._decision is None or not self._editable:
            self._sync_bias_widgets()
            return
        self._bias = value
        self._bias_overridden = abs(value - self._trained_bias) >= 0.5 * 10.0**-BIAS_DECIMALS
        self._sync_bias_widgets()
        self._refresh_binary()
        self.biasChanged.emit(self._bias)

    def _user_threshold(self, t: float) -> None:
        self._threshold = min(max(t, -T_BOX), T_BOX)
        self._sync_threshold_widgets()
        if self._decision is None:
            return
        self._refresh_binary()
        self.thresholdChanged.emit(self._threshold)

    def _compare_tip(self) -> str:
        return (
            "Where the decision line sits, or, once you moved the bias, how the "
            f"{self._which()} bias scores for comparison."
        )

    def _refresh_binary(self) -> None:
        """O(log n): evaluate, move the line, rewrite the labels."""
        assert self._decision is not None
        result = self._decision.evaluate(self._bias, self._threshold)
        self._result = result
        self.decision_line.setValue(result.cut)
        self.trained_line.setValue(self._threshold - self._trained_bias)
        if self._bias_overridden and not self.trained_line.isVisible():
            self.trained_line.setVisible(True)
            # (its label ignored the word it was given while hidden: "trained" beside
            # "initial b = +0.411" on a model never trained)
            self.trained_line_label.valueChanged()
        self.trained_line.setVisible(self._bias_overridden)
        b, t, wx = self._bias, self._threshold, self._wx()
        forms = (f"{wx} + (<b>{fmt(b, sign=True)}</b>) ≥ <b>{fmt(t)}</b>",
                 f"{wx} + (<b>{fmt(b - t, sign=True)}</b>) ≥ 0",
                 f"{wx} ≥ <b>{fmt(t - b)}</b>")
        # a line may break only after a "⇔", never inside an inequality ("w·x ≥" then
        # "−14.36" on the next line, at 1280×720 with large numbers)
        self.equation_label.setText("&nbsp;&nbsp;⇔&nbsp; ".join(
            unbroken(form) for form in forms))
        n = self._decision.n
        correct = int(result.confusion[0, 0] + result.confusion[1, 1])
        total = self._valid_total
        self.accuracy_label.setText(
            f"{self._accuracy_caption}\n{fmt_percent(result.accuracy)} "
            f"{accuracy_counts(correct, n, total)}"
        )
        self.accuracy_label.setToolTip(self._accuracy_tip(n))
        # As wide as the widest it has been, and as "(now)" (a run's first frame and its
        # end switch the caption): a label that narrows and widens moved the confusion
        # table and relaid the panel out (~10 ms, and the window repainted around it).
        label = self.accuracy_label
        widest = max(label.minimumWidth(), label.sizeHint().width(),
                     label.fontMetrics().horizontalAdvance("validation accuracy (now)"))
        if widest != label.minimumWidth():
            label.setMinimumWidth(widest)
        for i in range(2):
            for j in range(2):
                count = int(result.confusion[i, j])
                self.confusion_labels[i][j].setText(str(count))
                if i == j:  # green for the correct answers there are: a green 0 read as good
                    _style_cell(self.confusion_labels[i][j], correct=count > 0)
        trained_text = fmt(self._trained_bias, BIAS_DECIMALS, sign=True)
        which = self._which()
        if self._bias_overridden:
            self.bias_status_label.setText(
                f"<span style='color:{OVERRIDE_FG}'><b>your b = "
                f"{fmt(b, BIAS_DECIMALS, sign=True)}</b></span> ({which} b = {trained_text})"
            )
            trained = self._decision.evaluate(self._trained_bias, t)
            self.compare_label.set_full_text(
                f"{which} b gives {fmt_percent(trained.accuracy)}", self._compare_tip()
            )
        else:
            untrained = "" if self._has_trained else " (no training yet)"
            self.bias_status_label.setText(f"{which} b = {trained_text}{untrained}")
            self.compare_label.set_full_text(
                "line at t − b = " + fmt(result.cut), self._compare_tip()
            )
        self._fit_line_labels()
        self.resultChanged.emit(result)
