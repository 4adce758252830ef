"""Lesson: what weight and bias do to an activation (seed 001).

"Weight increases the steepness of the activation function ... bias is used to delay the
triggering of the activation function", and a threshold ``w·x ≥ t`` is a bias in disguise
(``w·x + b ≥ 0`` with ``b = −t``).  Three panels:

1. one input x, one weight w, one bias b: σ, step, ReLU and tanh of ``w·x + b``, with the
   trigger point ``x = −b/w`` marked;
2. the same neuron written with a threshold and with a bias, firing on the same x;
3. the main model's single neuron: its sigmoid σ(z) with every validation image drawn
   at its own ``z = w·x + b``, coloured by class.

The small widgets shared with the chapter lesson (:class:`ValueControl`,
:func:`make_plot`, :class:`RefreshGate`, :func:`num`) live here too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.activation_text import fire_interval, threshold_texts, trigger_text
from biasviz.core.chapter import (
    ACTIVATIONS,
    accuracy_of,
    activation,
    fires_bias,
    fires_threshold,
    midpoint,
)
from biasviz.core.datasets import TaskData
from biasviz.core.decisions import as_float_images, sigmoid
from biasviz.core.spec import MODEL_LABELS, ModelKind, Snapshot, effective_bias
from biasviz.core.text import num
from biasviz.gui.colormaps import FIRST_CLASS_COLOR, SECOND_CLASS_COLOR
from biasviz.gui.lessons.base import (
    Arrangement,
    Cell,
    Lesson,
    ReflowGrid,
    ScrollContent,
    lesson_text,
    stacked,
)
from biasviz.gui.plot_style import make_still

NOTE_STYLE = "color: #8a1c1c; font-style: italic;"

# Okabe–Ito colours (colour-blind safe), kept apart from the two class colours.
CURVE_COLORS: dict[str, tuple[int, int, int]] = {
    "sigmoid": (213, 94, 0),  # vermillion
    "step": (60, 60, 60),  # dark grey
    "relu": (0, 158, 115),  # bluish green
    "tanh": (204, 121, 167),  # reddish purple
}
CURVE_NAMES: dict[str, str] = {
    "sigmoid": "σ(w·x + b)",
    "step": "step(w·x + b)",
    "relu": "ReLU(w·x + b)",
    "tanh": "tanh(w·x + b)",
}
SHORT_NAMES: dict[str, str] = {
    "sigmoid": "σ", "step": "step", "relu": "ReLU (right axis)", "tanh": "tanh"}
#: ReLU has no upper limit: it is drawn against the right axis, 5× the left one, so that
#: σ, step and tanh (between −1 and 1) and a ReLU rising to 5 share one plot.
RELU_AXIS_SCALE = 5.0
Y_LIMIT = 1.15  # the left axis shows −1.15 … 1.15

W_RANGE = (-5.0, 5.0)
B_RANGE = (-10.0, 10.0)
X_HALF_RANGE = 6.0
N_CURVE_POINTS = 1201
JITTER = 0.035  # vertical spread of the dots on the trained neuron's sigmoid
MIN_REFRESH_S = 0.15  # at most ~7 redraws a second from set_model
# below this the threshold box (two plots, formulas) goes under the curves box
THRESHOLD_BOX_MIN_WIDTH = 440


# -- small shared helpers -----------------------------------------------------------------
def css(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color))


def rgba(color: tuple[int, int, int], alpha: int) -> tuple[int, int, int, int]:
    return (int(color[0]), int(color[1]), int(color[2]), int(alpha))


def line_icon(color: tuple[int, int, int], dashed: bool = False, height: int = 16) -> QIcon:
    """A short line in ``color``: the legend sample beside a curve's check box."""
    height = max(int(height), 10)
    pixmap = QPixmap(2 * height, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(*color))
    pen.setWidthF(3.0)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.drawLine(2, height // 2, 2 * height - 2, height // 2)
    painter.end()
    return QIcon(pixmap)


def make_plot() -> pg.PlotWidget:
    """A still plot (no pan, zoom or menu: learners should not lose the view) that
    follows the application palette."""
    plot = pg.PlotWidget()
    palette = plot.palette()
    plot.setBackground(palette.color(QPalette.ColorRole.Base))
    item = make_still(plot.getPlotItem(), palette.color(QPalette.ColorRole.Text),
                      axes=("left", "bottom", "right", "top"))
    item.showGrid(x=True, y=True, alpha=0.12)
    return plot


def style_plot_item(item: pg.PlotItem, palette: QPalette) -> None:
    """Axis colours and a still view for a PlotItem inside a GraphicsLayoutWidget."""
    make_still(item, palette.color(QPalette.ColorRole.Text))
    item.showGrid(x=True, y=True, alpha=0.12)


def label_fill(widget: QWidget, alpha: int = 215) -> QColor:
    fill = QColor(widget.palette().color(QPalette.ColorRole.Base))
    fill.setAlpha(alpha)
    return fill


def note_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE_STYLE)
    return label


def rich_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def install_scrolling(owner: QWidget, widgets: list[QWidget], stretch_last: bool) -> None:
    """Lay ``widgets`` out top to bottom inside a frameless scroll area that fills
    ``owner``: in a small window the lesson scrolls instead of squeezing its plots and
    controls on top of each other."""
    content = ScrollContent()
    layout = QVBoxLayout(content)
    layout.setContentsMargins(8, 8, 8, 8)
    layout.setSpacing(6)
    for i, widget in enumerate(widgets):
        last = i == len(widgets) - 1
        layout.addWidget(widget, 1 if (last and stretch_last) else 0)
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    outer = QVBoxLayout(owner)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)



def neuron_box_title(snapshot: Snapshot | None) -> str:
    """The third section's title, saying what the neuron is: trained only once a step
    has been taken (the app model's ``has_trained``), at step 0 "not trained here yet"."""
    if snapshot is None:
        who = "Your neuron"
    elif snapshot.step > 0:
        who = f"Your trained neuron (step {snapshot.step:,})"
    else:
        # step 0 may also be an imported model, trained elsewhere: "here"
        who = "Your neuron (step 0: not trained here yet)"
    return f"3 · {who}: every validation image on its sigmoid"

class ValueControl(QWidget):
    """A named number with a slider (coarse) and a spin box (exact), kept in step.

    ``valueChanged(float)`` fires whenever the value changes, from either widget or from
    :meth:`setValue`.
    """

    valueChanged = Signal(float)

    def __init__(
        self,
        name: str,
        lo: float,
        hi: float,
        step: float,
        decimals: int,
        value: float,
        tooltip: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._lo, self._hi, self._step, self._decimals = float(lo), float(hi), float(step), decimals
        self._value = float("nan")
        self.name_label = QLabel(name)
        self.name_label.setTextFormat(Qt.TextFormat.RichText)
        self.name_label.setMinimumWidth(24)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(round((self._hi - self._lo) / self._step)))
        self.slider.setPageStep(max(1, self.slider.maximum() // 20))
        self.slider.setMinimumWidth(120)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(decimals)
        self.spin.setRange(self._lo, self._hi)
        self.spin.setSingleStep(self._step)
        self.spin.setKeyboardTracking(False)  # act when the number is complete
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setMinimumWidth(78)
        if tooltip:
            for w in (self.name_label, self.slider, self.spin):
                w.setToolTip(tooltip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.name_label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self.setValue)
        self.setValue(value)

    def value(self) -> float:
        return self._value

    def setValue(self, value: float) -> None:  # noqa: N802 - Qt naming, like QSlider
        value = round(min(max(float(value), self._lo), self._hi), self._decimals)
        if value == 0:
            value = 0.0
        if value == self._value:
            return
        self._value = value
        for widget, v in (
            (self.slider, int(round((value - self._lo) / self._step))),
            (self.spin, value),
        ):
            blocked = widget.blockSignals(True)
            widget.setValue(v)
            widget.blockSignals(blocked)
        self.valueChanged.emit(value)

    def _on_slider(self, position: int) -> None:
        self.setValue(self._lo + position * self._step)


class RefreshGate:
    """Runs ``refresh`` for a widget at most every ``min_interval`` seconds, and only
    while it is visible: a hidden lesson tab costs nothing, and catches up when shown
    (call :meth:`shown` from ``showEvent``)."""

    def __init__(self, widget: QWidget, refresh: Callable[[], None],
                 min_interval: float = MIN_REFRESH_S) -> None:
        self._widget = widget
        self._refresh = refresh
        self._interval = float(min_interval)
        self._last = -math.inf
        self._dirty = False
        self._timer = QTimer(widget)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run)

    def request(self) -> None:
        self._dirty = True
        if not self._widget.isVisible() or self._timer.isActive():
            return
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self._run()
        else:
            self._timer.start(int(math.ceil(wait * 1000)))

    def shown(self) -> None:
        if self._dirty and not self._timer.isActive():
            self._run()

    def flush(self) -> None:
        """Run now if anything is pending (tests, or before a screenshot)."""
        self._timer.stop()
        if self._dirty:
            self._run()

    def stop(self) -> None:
        self._timer.stop()

    def _run(self) -> None:
        self._dirty = False
        self._last = time.monotonic()
        self._refresh()


# -- the lesson -----------------------------------------------------------------------------
class GatedLesson(Lesson):
    """A lesson that redraws model updates through a :class:`RefreshGate` in
    ``self._gate``: only while visible, at a bounded rate, stopped on shutdown."""

    _gate: RefreshGate

    def shutdown(self) -> None:
        self._gate.stop()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._gate.shown()

    def flush(self) -> None:
        """Draw pending model updates now (tests, screenshots)."""
        self._gate.flush()


class ActivationLesson(GatedLesson):
    """σ, step, ReLU and tanh of ``w·x + b`` under the learner's hands, the threshold
    form beside the bias form, and the trained neuron's images on its sigmoid."""

    title = "What weight and bias do to an activation"
    seed = "001"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data: TaskData | None = None
        self._valid_x: np.ndarray | None = None  # float images of a two-class task
        self._snapshot: Snapshot | None = None
        self._jitter = np.zeros(0)
        self._z = np.zeros(0)
        self._gate = RefreshGate(self, self._refresh_neuron)

        intro = lesson_text(
            "<b>One input x, one weight w, one bias b.</b> A neuron computes "
            "<b>z = w·x + b</b> and passes it through an activation. "
            "<b>The weight sets how steeply the activation rises</b>; "
            "<b>the bias shifts where it triggers</b> (it fires once w·x + b ≥ 0, i.e. at "
            "x = −b/w). Move the sliders and watch the curves, then see the same sigmoid "
            "sorting your own neuron's validation images."
        )
        # the curves and the threshold form side by side in a wide tab, one below the
        # other on a laptop (the threshold's two plots and formulas need the width)
        curves, threshold = self._build_curves_box(), self._build_threshold_box()
        self.panels = top = ReflowGrid(
            [Arrangement((Cell(curves, 0, 0), Cell(threshold, 0, 1)), (3, 2)),
             stacked(curves, threshold)], column_floor=THRESHOLD_BOX_MIN_WIDTH)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self._build_neuron_box())
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([500, 300])
        install_scrolling(self, [intro, self.splitter], stretch_last=True)

        self.w_control.valueChanged.connect(self._on_w)
        self.b_control.valueChanged.connect(self._on_b)
        self.t_control.valueChanged.connect(self._on_t)
        self.range_spin.valueChanged.connect(lambda _v: self._update_curves())
        self.jitter_check.toggled.connect(lambda _on: self._draw_points())
        self._update_curves()
        self._refresh_neuron()

    # ------------------------------------------------------------------ building
    def _build_curves_box(self) -> QGroupBox:
        box = QGroupBox("1 · One neuron, one input: f(w·x + b)")
        v = QVBoxLayout(box)
        v.setSpacing(4)

        self.curve_plot = make_plot()
        self.curve_plot.setMinimumHeight(200)
        item = self.curve_plot.getPlotItem()
        item.setLabel("bottom", "x (the input)")
        item.setLabel("left", "σ, step, tanh")
        item.showAxis("right")
        right = item.getAxis("right")
        right.setScale(RELU_AXIS_SCALE)  # ticks read ReLU values: the data are ReLU / 5
        right.setLabel("ReLU", color=css(CURVE_COLORS["relu"]))
        right.setTextPen(pg.mkPen(CURVE_COLORS["relu"]))
        right.setToolTip(
            "ReLU(w·x + b) = max(0, w·x + b) has no upper limit. It is read on this right "
            f"axis, which is {RELU_AXIS_SCALE:g}× the left one, so it fits beside σ and "
            "tanh; it keeps rising off the top of the plot."
        )
        item.setYRange(-Y_LIMIT, Y_LIMIT, padding=0)
        item.getViewBox().setLimits(yMin=-Y_LIMIT, yMax=Y_LIMIT)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for kind in ACTIVATIONS:
            pen = pg.mkPen(CURVE_COLORS[kind], width=3 if kind == "sigmoid" else 2)
            if kind == "relu":
                pen.setStyle(Qt.PenStyle.DashLine)
            curve = pg.PlotDataItem([0.0], [0.0], pen=pen)
            curve.setZValue({"sigmoid": 4, "step": 3, "tanh": 2, "relu": 1}[kind])
            item.addItem(curve)
            self.curves[kind] = curve
        text_color = self.palette().color(QPalette.ColorRole.Text)
        self.half_line = pg.InfiniteLine(
            pos=0.5, angle=0, pen=pg.mkPen(CURVE_COLORS["sigmoid"], width=1,
                                           style=Qt.PenStyle.DotLine))
        item.addItem(self.half_line, ignoreBounds=True)
        self.midpoint_line = pg.InfiniteLine(
            pos=0.0, angle=90, pen=pg.mkPen(text_color, width=1.5, style=Qt.PenStyle.DashLine))
        self.midpoint_label = pg.InfLineLabel(
            self.midpoint_line, text="", position=0.12, anchors=[(0, 1), (0, 1)],
            color=text_color, fill=pg.mkBrush(label_fill(self)))
        item.addItem(self.midpoint_line, ignoreBounds=True)
        self.midpoint_dot = pg.ScatterPlotItem(
            size=9, brush=pg.mkBrush(CURVE_COLORS["sigmoid"]), pen=pg.mkPen(text_color))
        self.midpoint_dot.setZValue(10)
        item.addItem(self.midpoint_dot)
        v.addWidget(self.curve_plot, 1)

        checks = QHBoxLayout()
        checks.setSpacing(10)
        self.curve_checks: dict[str, QCheckBox] = {}
        # The legend: one box per curve, with a sample of its line; untick to hide it.
        for kind in ACTIVATIONS:
            check = QCheckBox(SHORT_NAMES[kind])
            check.setIcon(line_icon(CURVE_COLORS[kind], dashed=kind == "relu",
                                    height=self.fontMetrics().height()))
            check.setChecked(True)
            check.setStyleSheet(f"QCheckBox {{ color: {css(CURVE_COLORS[kind])}; font-weight: bold; }}")
            check.setToolTip(f"Show or hide {CURVE_NAMES[kind]}.")
            check.toggled.connect(lambda on, k=kind: self._set_curve_visible(k, on))
            checks.addWidget(check)
            self.curve_checks[kind] = check
        checks.addStretch(1)
        range_label = QLabel("x from −R to R:")
        self.range_spin = QDoubleSpinBox()
        self.range_spin.setRange(1.0, 50.0)
        self.range_spin.setDecimals(1)
        self.range_spin.setSingleStep(1.0)
        self.range_spin.setValue(X_HALF_RANGE)
        self.range_spin.setPrefix("R = ")
        self.range_spin.setKeyboardTracking(False)
        self.range_spin.setToolTip("How much of the x axis to show.")
        checks.addWidget(range_label)
        checks.addWidget(self.range_spin)
        v.addLayout(checks)

        self.w_control = ValueControl(
            "<b>w</b>", *W_RANGE, 0.1, 2, 1.0,
            "The weight multiplies the input: bigger |w|, steeper rise; negative w mirrors "
            "the curve.")
        self.b_control = ValueControl(
            "<b>b</b>", *B_RANGE, 0.1, 2, 0.0,
            "The bias is added after the weight: it slides the curve along x, moving the "
            "trigger point to x = −b/w.")
        v.addWidget(self.w_control)
        v.addWidget(self.b_control)
        self.trigger_label = rich_label()
        self.trigger_label.setMinimumHeight(2 * self.fontMetrics().height() + 4)
        v.addWidget(self.trigger_label)
        self.range_note = note_label()
        self.range_note.hide()
        v.addWidget(self.range_note)
        return box

    def _build_threshold_box(self) -> QGroupBox:
        box = QGroupBox("2 · Threshold or bias? The same neuron")
        v = QVBoxLayout(box)
        v.setSpacing(4)
        explain = QLabel(
            "Firing when w·x ≥ t (a threshold t) is firing when w·x + b ≥ 0 with b = −t. "
            "Shaded: the x where the neuron fires, the same in both forms."
        )
        explain.setWordWrap(True)
        v.addWidget(explain)

        self.threshold_plot = pg.GraphicsLayoutWidget()
        palette = self.threshold_plot.palette()
        self.threshold_plot.setBackground(palette.color(QPalette.ColorRole.Base))
        self.threshold_plot.setMinimumHeight(200)
        text_color = palette.color(QPalette.ColorRole.Text)
        fire_brush = pg.mkBrush(rgba(CURVE_COLORS["sigmoid"], 55))
        self.form_plots: list[pg.PlotItem] = []
        self.form_lines: list[pg.PlotDataItem] = []
        self.form_levels: list[pg.InfiniteLine] = []
        self.form_regions: list[pg.LinearRegionItem] = []
        self.form_level_labels: list[pg.InfLineLabel] = []
        for row, (ylabel, name) in enumerate((("w·x", "w·x"), ("w·x + b", "w·x + b"))):
            item = self.threshold_plot.addPlot(row=row, col=0)
            style_plot_item(item, palette)
            item.setLabel("left", ylabel)
            if row == 1:
                item.setLabel("bottom", "x (the input)")
                item.setXLink(self.form_plots[0])
            region = pg.LinearRegionItem(values=(0, 1), movable=False, brush=fire_brush,
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            item.addItem(region, ignoreBounds=True)
            line = pg.PlotDataItem([0.0], [0.0], pen=pg.mkPen(text_color, width=2), name=name)
            item.addItem(line)
            level = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(
                CURVE_COLORS["sigmoid"], width=2, style=Qt.PenStyle.DashLine))
            item.addItem(level, ignoreBounds=True)
            level_label = pg.InfLineLabel(level, text="", position=0.04, anchors=[(0, 1), (0, 1)],
                                          color=CURVE_COLORS["sigmoid"],
                                          fill=pg.mkBrush(label_fill(self)))
            self.form_plots.append(item)
            self.form_lines.append(line)
            self.form_levels.append(level)
            self.form_regions.append(region)
            self.form_level_labels.append(level_label)
        v.addWidget(self.threshold_plot, 1)

        self.t_control = ValueControl(
            "<b>t</b> = −b", -B_RANGE[1], -B_RANGE[0], 0.1, 2, 0.0,
            "The threshold: the neuron fires when w·x ≥ t. It is tied to the bias above "
            "(b = −t): moving one moves the other.")
        v.addWidget(self.t_control)
        self.threshold_form_label = rich_label()
        self.bias_form_label = rich_label()
        self.same_label = rich_label()
        for label in (self.threshold_form_label, self.bias_form_label, self.same_label):
            v.addWidget(label)
        return box

    def _build_neuron_box(self) -> QGroupBox:
        box = QGroupBox(neuron_box_title(None))
        self.neuron_box = box
        h = QHBoxLayout(box)
        h.setSpacing(8)
        self.neuron_plot = make_plot()
        self.neuron_plot.setMinimumHeight(170)
        item = self.neuron_plot.getPlotItem()
        item.setLabel("bottom", "z = w·x + b  (the neuron's output before σ, for one image)")
        item.setLabel("left", "σ(z)")
        item.setYRange(-0.1, 1.1, padding=0)
        self.neuron_legend = item.addLegend(
            offset=(8, 8), brush=pg.mkBrush(label_fill(self, 225)),
            labelTextColor=self.palette().color(QPalette.ColorRole.Text))
        text_color = self.palette().color(QPalette.ColorRole.Text)
        self.neuron_curve = pg.PlotDataItem([0.0], [0.0], pen=pg.mkPen(
            CURVE_COLORS["sigmoid"], width=2.5), name="σ(z)")
        item.addItem(self.neuron_curve)
        self.scatter_first = pg.ScatterPlotItem(
            size=6, pen=pg.mkPen(None), brush=pg.mkBrush(rgba(FIRST_CLASS_COLOR, 170)),
            name="first class")
        self.scatter_second = pg.ScatterPlotItem(
            size=6, pen=pg.mkPen(None), brush=pg.mkBrush(rgba(SECOND_CLASS_COLOR, 170)),
            name="second class")
        for s in (self.scatter_second, self.scatter_first):
            s.setZValue(5)
            item.addItem(s)
        self._rename_scatter("first class", "second class")  # legend order: first, second
        self.decision_line = pg.InfiniteLine(
            pos=0.0, angle=90, pen=pg.mkPen(text_color, width=1.5, style=Qt.PenStyle.DashLine))
        self.decision_label = pg.InfLineLabel(
            self.decision_line, text="z = 0, σ = 0.5: the decision", position=0.5,
            anchors=[(0, 0.5), (0, 0.5)], color=text_color, fill=pg.mkBrush(label_fill(self)))
        item.addItem(self.decision_line, ignoreBounds=True)
        h.addWidget(self.neuron_plot, 3)

        side = QVBoxLayout()
        side.setSpacing(6)
        self.neuron_note = note_label()
        self.neuron_text = rich_label()
        self.jitter_check = QCheckBox("Spread the dots a little up and down (jitter)")
        self.jitter_check.setChecked(True)
        self.jitter_check.setToolTip(
            "Many images share almost the same σ(z); a small random vertical offset keeps "
            "them from hiding each other. Their z (left–right position) is exact.")
        side.addWidget(self.neuron_note)
        side.addWidget(self.neuron_text)
        side.addWidget(self.jitter_check)
        side.addStretch(1)
        h.addLayout(side, 2)
        return box

    # ------------------------------------------------------------------ the curves
    def x_range(self) -> tuple[float, float]:
        r = float(self.range_spin.value())
        return -r, r

    def _on_w(self, _w: float) -> None:
        self._update_curves()

    def _on_b(self, b: float) -> None:
        self.t_control.setValue(-b)  # no-op when already equal
        self._update_curves()

    def _on_t(self, t: float) -> None:
        self.b_control.setValue(-t)

    def _set_curve_visible(self, kind: str, on: bool) -> None:
        self.curves[kind].setVisible(on)
        if kind == "relu":
            self.curve_plot.getPlotItem().showAxis("right", on)
        if kind == "sigmoid":
            self.half_line.setVisible(on)
            self._update_curves()

    def curve_data(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, f(w·x + b)) as drawn (ReLU in its own units, not divided by the scale)."""
        x, y = self.curves[kind].getData()
        x, y = np.asarray(x), np.asarray(y)
        return (x, y * RELU_AXIS_SCALE) if kind == "relu" else (x, y)

    def _update_curves(self) -> None:
        w, b = self.w_control.value(), self.b_control.value()
        lo, hi = self.x_range()
        x = np.linspace(lo, hi, N_CURVE_POINTS)
        m = midpoint(w, b)
        if m is not None and lo < m < hi:
            x = np.unique(np.concatenate([x, [m]]))  # the midpoint is always a sample
        for kind in ("sigmoid", "tanh"):
            self.curves[kind].setData(x, activation(kind, w, x, b))
        relu = activation("relu", w, x, b) / RELU_AXIS_SCALE
        self.curves["relu"].setData(x, relu)
        self.curves["step"].setData(*self._step_points(w, b, lo, hi))
        item = self.curve_plot.getPlotItem()
        item.setXRange(lo, hi, padding=0.01)

        if m is None:
            self.midpoint_line.hide()
            self.midpoint_dot.setData([], [])
            self.range_note.hide()
        elif lo <= m <= hi:
            self.midpoint_line.setPos(m)
            self.midpoint_line.show()
            self.midpoint_label.setFormat(f"midpoint x = −b/w = {num(m)}")
            sig_on = self.curve_checks["sigmoid"].isChecked()
            self.midpoint_dot.setData([m] if sig_on else [], [0.5] if sig_on else [])
            self.range_note.hide()
        else:
            self.midpoint_line.hide()
            self.midpoint_dot.setData([], [])
            self.range_note.setText(
                f"The midpoint x = −b/w = {num(m)} is off the plot: widen the x range (R) "
                "to see where it triggers.")
            self.range_note.show()
        self.trigger_label.setText(trigger_text(w, b))
        self._update_threshold_view()

    @staticmethod
    def _step_points(w: float, b: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        """The step drawn with an exactly vertical jump at the midpoint."""
        m = midpoint(w, b)
        f_lo, f_hi = (float(activation("step", w, v, b)) for v in (lo, hi))
        if m is None or not lo < m < hi:
            return np.array([lo, hi]), np.array([f_lo, f_hi])
        return np.array([lo, m, m, hi]), np.array([f_lo, f_lo, f_hi, f_hi])

    # ------------------------------------------------------------------ threshold view
    def threshold_sets(self, x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Which x fire as ``w·x ≥ t`` and as ``w·x + b ≥ 0`` (b = −t), on a grid."""
        if x is None:
            x = np.linspace(*self.x_range(), 241)
        w, t = self.w_control.value(), self.t_control.value()
        return fires_threshold(w, x, t), fires_bias(w, x, -t)

    def fire_regions(self) -> list[tuple[float, float] | None]:
        """The shaded x interval of each form (None where nothing is shaded)."""
        return [tuple(r.getRegion()) if r.isVisible() else None for r in self.form_regions]

    def _update_threshold_view(self) -> None:
        w, t = self.w_control.value(), self.t_control.value()
        b = -t
        lo, hi = self.x_range()
        x = np.array([lo, hi])
        self.form_lines[0].setData(x, w * x)
        self.form_lines[1].setData(x, w * x + b)
        self.form_levels[0].setPos(t)
        self.form_levels[1].setPos(0.0)
        self.form_level_labels[0].setFormat(f"t = {num(t)} (fires above)")
        self.form_level_labels[1].setFormat("0 (fires above)")
        interval = fire_interval(w, t, lo, hi)
        for region in self.form_regions:
            if interval is None:
                region.hide()
            else:
                region.setRegion(interval)
                region.show()
        for item, offset in zip(self.form_plots, (0.0, b), strict=True):
            ys = [w * lo + offset, w * hi + offset, 0.0, t if offset == 0.0 else 0.0]
            y_lo, y_hi = min(ys), max(ys)
            pad = max(0.08 * (y_hi - y_lo), 0.5)
            item.setYRange(y_lo - pad, y_hi + pad, padding=0)
            item.setXRange(lo, hi, padding=0.01)
        first, second, same = threshold_texts(w, t)
        self.threshold_form_label.setText(first)
        self.bias_form_label.setText(second)
        self.same_label.setText(same)

    # ------------------------------------------------------------------ trained neuron
    def set_data(self, data: TaskData) -> None:
        self._data = data
        if data.task.is_binary:
            self._valid_x = as_float_images(data.valid_x)
            rng = np.random.default_rng(0)
            self._jitter = rng.uniform(-JITTER, JITTER, data.n_valid)
            first, second = data.class_names
            self._rename_scatter(
                f"{first} (first class, target 1)", f"{second} (second class, target 0)")
        else:
            self._valid_x = None
            self._jitter = np.zeros(0)
        self._gate.request()

    def set_model(self, snapshot: Snapshot | None) -> None:
        self._snapshot = snapshot
        self._gate.request()

    def _rename_scatter(self, first: str, second: str) -> None:
        for scatter, name in ((self.scatter_first, first), (self.scatter_second, second)):
            scatter.opts["name"] = name
            self.neuron_legend.removeItem(scatter)
        self.neuron_legend.addItem(self.scatter_first, first)
        self.neuron_legend.addItem(self.scatter_second, second)

    def _neuron_problem(self) -> str:
        """Why the trained-neuron panel is empty, or "" when it can draw."""
        data, snap = self._data, self._snapshot
        if data is None:
            return "Load a dataset to see the trained neuron's validation images."
        if not data.task.is_binary:
            return (
                "This panel needs a two-class task (one neuron answering one yes/no "
                "question). Pick two classes, e.g. 3 vs 7, and the single neuron."
            )
        if snap is None:
            return "Train the single neuron (press Start) to see its validation images here."
        if snap.spec.kind is not ModelKind.SINGLE:
            return (
                f"The main model is “{MODEL_LABELS[snap.spec.kind]}”, not a single "
                "neuron: switch to the single neuron to see its validation images on its "
                "sigmoid."
            )
        return ""

    def _show_neuron_note(self) -> None:
        problem = self._neuron_problem()
        self.neuron_note.setText(problem)
        self.neuron_note.setVisible(bool(problem))

    def _refresh_neuron(self) -> None:
        problem = self._neuron_problem()
        self._show_neuron_note()
        self.neuron_box.setTitle(neuron_box_title(None if problem else self._snapshot))
        if problem:
            self._z = np.zeros(0)
            self.scatter_first.setData([], [])
            self.scatter_second.setData([], [])
            self.neuron_text.setText(
                "Each dot will be one validation image, placed at its own z = w·x + b and "
                "lifted onto the sigmoid: σ(z) is how sure the neuron is of the first class.")
            self._draw_curve(-8.0, 8.0)
            return
        snap, data = self._snapshot, self._data
        assert snap is not None and data is not None and self._valid_x is not None
        weights = np.asarray(snap.params["weights"], dtype=np.float32).ravel()
        bias = effective_bias(snap.params, snap.spec)
        with np.errstate(over="ignore", invalid="ignore"):
            z = self._valid_x @ weights + bias
        self._z = np.asarray(z, dtype=np.float64)
        finite = self._z[np.isfinite(self._z)]
        reach = float(np.max(np.abs(finite))) if finite.size else 8.0
        reach = min(max(reach * 1.05, 6.0), 60.0)
        self._draw_curve(-reach, reach)
        self._draw_points()

        targets = data.valid_y
        acc = accuracy_of(self._z, targets)
        first, second = data.class_names
        first_missed = int(np.sum((targets == 1) & ~(self._z >= 0)))
        second_missed = int(np.sum((targets == 0) & (self._z >= 0)))
        self.neuron_text.setText(
            f"Each dot is one of the <b>{data.n_valid:,}</b> validation images, at its own "
            f"z = w·x + b (this neuron's bias b = {num(bias, 3)}), lifted onto the curve σ(z)."
            f"<br>Right of z = 0 the neuron says <b>{first}</b>, left of it <b>{second}</b>: "
            f"<b>{100 * acc:.1f}%</b> are on the correct side."
            f"<br>{first_missed} {first}s sit left of the line and {second_missed} {second}s "
            "right of it: those are its mistakes."
            "<br>The bias moves every dot left or right by the same amount; the weights "
            "spread them apart."
        )

    def _draw_curve(self, lo: float, hi: float) -> None:
        z = np.linspace(lo, hi, 801)
        self.neuron_curve.setData(z, np.asarray(sigmoid(z)))
        self.neuron_plot.getPlotItem().setXRange(lo, hi, padding=0.01)

    def _draw_points(self) -> None:
        if self._data is None or self._z.size == 0 or self._z.shape[0] != self._data.n_valid:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.asarray(sigmoid(self._z), dtype=np.float64)
        if self.jitter_check.isChecked() and self._jitter.shape == p.shape:
            p = p + self._jitter
        targets = self._data.valid_y
        z = np.where(np.isfinite(self._z), self._z, np.sign(np.nan_to_num(self._z)) * 1e6)
        self.scatter_first.setData(z[targets == 1], p[targets == 1])
        self.scatter_second.setData(z[targets == 0], p[targets == 0])

    def points_count(self) -> int:
        """How many validation images are drawn on the sigmoid."""
        return len(self.scatter_first.data) + len(self.scatter_second.data)
