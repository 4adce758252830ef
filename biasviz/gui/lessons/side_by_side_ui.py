"""What the side-by-side lessons (bias, zero initialization) have in common.

Both train three models in lockstep with a :class:`SideBySideRunner` and share the same
frame: an intro and a task note, a row of settings, a row of Start/Continue, Stop and
Reset with the speed and a status line, a colour key, and a scrollable grid of plots and
pictures.  :class:`SideBySideLesson` holds the behaviour (runner wiring, Start, Stop,
Reset, status texts, shutdown); the functions build the widgets.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QCloseEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGroupBox,
    QLabel,
    QLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.datasets import Task, TaskData, load_sample, make_task_data
from biasviz.core.side_by_side import two_class_data
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.gui.lessons.base import (
    Arrangement,
    ElidedLabel,
    FlowLayout,
    Lesson,
    ReflowGrid,
    ScrollContent,
    labelled,
    lesson_text,
)
from biasviz.gui.lessons.runner import DEFAULT_SPEED, SPEEDS, SideBySideRunner
from biasviz.gui.plot_style import fit_percent_axis, make_still

Color = tuple[int, int, int]


# -- small pieces ---------------------------------------------------------------------------
def html_color(color: Color) -> str:
    r, g, b = color
    return f"#{r:02x}{g:02x}{b:02x}"


def pens(colors: tuple[Color, Color, Color]) -> tuple[QPen, QPen, QPen]:
    """One pen a model, 2 px wide; the third is dashed as well."""
    return (
        pg.mkPen(colors[0], width=2),
        pg.mkPen(colors[1], width=2),
        pg.mkPen(colors[2], width=2, style=Qt.PenStyle.DashLine),
    )


def key_html(colors, names, extras=("", "", "")) -> str:
    """The colour key shared by every plot of a lesson (the third line dashed), each
    name followed by its ``extras`` html."""
    parts = []
    for i in range(3):
        line = "╌╌╌" if i == 2 else "━━━"
        parts.append(
            f"<span style='color:{html_color(colors[i])}'><b>{line} {names[i]}</b></span>"
            + extras[i]
        )
    return "Key: " + " &nbsp;&nbsp; ".join(parts)


def key_label(text: str, tooltip: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)  # in a narrow tab the key takes two lines, not the width
    label.setToolTip(tooltip)
    return label


def note(text: str = "") -> QLabel:
    """A wrapped rich-text label."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def style_axis(axis: pg.AxisItem) -> None:
    """Dark axis lines and numbers, never an SI prefix."""
    axis.enableAutoSIPrefix(False)
    axis.setPen(pg.mkPen((60, 60, 60)))
    axis.setTextPen(pg.mkPen((40, 40, 40)))


def make_plot(title: str, x_label: str, y_label: str, tooltip: str) -> pg.PlotWidget:
    """A white plot with dark axes, a grid, a plain-words tooltip, and no pan, zoom,
    context menu or auto-range button, as the main window's: the mouse wheel over it
    scrolls the lesson's page (it zoomed the plot, and the learner lost the view)."""
    plot = pg.PlotWidget()
    make_still(plot.getPlotItem(), "#282828", axes=())  # (its axes: style_axis below)
    plot.setTitle(title, color="#202020", size="10pt")
    plot.setBackground("w")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    for name in ("left", "bottom"):
        style_axis(plot.getAxis(name))
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumSize(240, 160)
    plot.setToolTip(tooltip)
    return plot


def plan_x(plot: pg.PlotWidget, end: float) -> None:
    """The x axis from 0 to ``end`` (the planned run's last step or epoch), with a
    little room either side so that a marker at 0 or at the end is drawn whole.  Set
    before the first point: an empty or one-point plot otherwise spans −0.4…0.4."""
    plot.disableAutoRange(axis=pg.ViewBox.XAxis)
    plot.setXRange(0.0, max(float(end), 1.0), padding=0.02)


def set_curve(curve: pg.PlotDataItem, x, y, color: Color) -> None:
    """``curve.setData(x, y)``, with a marker while it has a single point (a line of one
    point draws nothing: the start would be invisible)."""
    single = len(x) == 1
    if single:
        curve.setSymbol("o")
        curve.setSymbolSize(6)
        curve.setSymbolBrush(pg.mkBrush(color))
        curve.setSymbolPen(None)
    elif curve.opts.get("symbol") is not None:
        curve.setSymbol(None)
    curve.setData(x, y)


def accuracy_plot(tooltip: str, colors, names=None) -> tuple[pg.PlotWidget, list]:
    """Validation accuracy of the three models against the epoch, 0–100% with a dotted
    50% line; returns the plot and its three curves (``names``: the curves' names)."""
    plot = make_plot("Validation accuracy (each epoch)", "epoch", "accuracy (%)", tooltip)
    plot.disableAutoRange(axis=pg.ViewBox.YAxis)
    # 0–100 with the end labels shown and the main window's ticks
    fit_percent_axis(plot)
    plot.getPlotItem().vb.sigResized.connect(lambda *_a: fit_percent_axis(plot))
    plot.addItem(pg.InfiniteLine(
        50, angle=0, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DotLine)))
    curve_pens = pens(colors)
    curves = [
        plot.plot([], [], pen=curve_pens[i], symbol="o", symbolSize=5, symbolBrush=colors[i],
                  symbolPen=None, name=names[i] if names else None)
        for i in range(3)
    ]
    return plot, curves


# -- controls -------------------------------------------------------------------------------
def lr_spin(value: float, maximum: float, tooltip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(3)
    spin.setRange(0.001, maximum)
    spin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
    spin.setValue(value)
    spin.setToolTip(tooltip)
    return spin


def decimal_spin(decimals: int, lo: float, hi: float, step: float, value: float,
                 tooltip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tooltip)
    return spin


def int_spin(lo: int, hi: int, value: int, tooltip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setValue(value)
    spin.setToolTip(tooltip)
    return spin


def speed_combo(tooltip: str) -> QComboBox:
    combo = QComboBox()
    for label, delay in SPEEDS:
        combo.addItem(label, delay)
    combo.setCurrentIndex(DEFAULT_SPEED)
    combo.setToolTip(tooltip)
    return combo


def run_buttons(start_tooltip: str) -> tuple[QPushButton, QPushButton, QPushButton]:
    """Start (it becomes Continue), Stop and Reset."""
    start = QPushButton("Start")
    start.setToolTip(start_tooltip)
    stop = QPushButton("Stop")
    stop.setToolTip("Stop after the current batch; Start continues.")
    reset = QPushButton("Reset")
    reset.setToolTip("Back to the starting parameters (step 0).")
    return start, stop, reset


def status_label(tooltip: str) -> ElidedLabel:
    """The status line: long messages never widen the lesson; cut short, they end in
    “…” and the tooltip has them whole."""
    label = ElidedLabel(tooltip=tooltip)
    label.setMinimumWidth(STATUS_MIN_WIDTH)
    return label


#: Below this width the status line goes onto a line of its own.
STATUS_MIN_WIDTH = 260


def settings_row(pairs) -> FlowLayout:
    """Labelled settings, left to right, wrapping onto more lines in a narrow tab."""
    row = FlowLayout(spacing=12)
    for text, widget in pairs:
        row.addWidget(labelled(text, widget))
    return row


def button_row(buttons, pairs, status: QLabel) -> FlowLayout:
    """The buttons, the labelled combo boxes, and the status line taking the rest of
    its line (a line of its own when little is left); wraps in a narrow tab."""
    row = FlowLayout(spacing=8)
    for b in buttons:
        row.addWidget(b)
    for text, widget in pairs:
        row.addWidget(labelled(text, widget))
    row.addWidget(status, fill=True)
    return row


def fit_table_width(table: QTableWidget, extra_texts: tuple[str, ...] = ()) -> None:
    """Give ``table`` (scroll bars off) the minimum width that shows every column whole:
    each column's header and cells, and ``extra_texts`` (texts the last column will show
    later) — so a reflowing lesson places it where it fits instead of cutting it."""
    header = table.horizontalHeader()
    n = table.columnCount()
    widths = [max(header.sectionSizeHint(c), table.sizeHintForColumn(c)) for c in range(n)]
    if extra_texts and n:
        pad = 2 * table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
        widths[-1] = max(widths[-1], *(table.fontMetrics().horizontalAdvance(t) + pad
                                       for t in extra_texts))
    vertical = table.verticalHeader().width() if table.verticalHeader().isVisible() else 0
    table.setMinimumWidth(sum(widths) + vertical + 2 * table.frameWidth())


# -- layout ---------------------------------------------------------------------------------
class ScrollBody(ScrollContent):
    """The scrollable part of a side-by-side lesson (see :class:`ScrollContent`)."""


def group(title: str, *items: QWidget | QLayout, tooltip: str = "") -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(6, 6, 6, 6)
    for w in items:
        if isinstance(w, QWidget):
            lay.addWidget(w)
        else:
            lay.addLayout(w)
    if tooltip:
        box.setToolTip(tooltip)
    return box


def panel(*items: QWidget | QLayout, stretch_end: bool = True) -> QWidget:
    """Widgets and layouts one below the other in a widget of their own (a cell of a
    :class:`ReflowGrid`), with the spare height at the bottom."""
    widget = QWidget()
    lay = QVBoxLayout(widget)
    lay.setContentsMargins(0, 0, 0, 0)
    for w in items:
        if isinstance(w, QWidget):
            lay.addWidget(w)
        else:
            lay.addLayout(w)
    if stretch_end:
        lay.addStretch(1)
    return widget


#: The narrowest a column of plots gets before the panels stack instead.
COLUMN_FLOOR = 260


class _PanelScroll(QScrollArea):
    """The scroll area of a lesson's panels.  It asks for little height, so that the
    lesson's intro and controls never push the tab into scrolling as a whole: the panels
    take the rest of the height and scroll (vertically) inside it."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(super().sizeHint().width(), 200)


def scroll_panels(key: QLabel, arrangements: list[Arrangement],
                  column_floor: int = COLUMN_FLOOR) -> tuple[QScrollArea, ReflowGrid]:
    """The key above the lesson's panels, placed by the widest of ``arrangements`` that
    fits with columns at least ``column_floor`` wide (see :class:`ReflowGrid`), in a
    frameless scroll area that scrolls vertically when the panels need more height than
    the tab has; returns the area and the grid."""
    body = ScrollBody()
    outer = QVBoxLayout(body)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.setSpacing(4)
    outer.addWidget(key)
    grid = ReflowGrid(arrangements, column_floor=column_floor)
    outer.addWidget(grid, 1)
    scroll = _PanelScroll()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(body)
    return scroll, grid


# -- the lesson -----------------------------------------------------------------------------
class SideBySideLesson(Lesson):
    """Three models trained in lockstep off the GUI thread, with Start/Continue, Stop,
    Reset and a speed.  A subclass builds ``lr_spin``, ``epochs_spin``, ``seed_spin``,
    ``speed_combo``, the buttons, ``status_label``, ``acc_curves`` and ``_settings`` (the
    widgets locked while training), and provides ``_make_trainers`` and
    ``_clear_history`` (what Reset empties, after new trainers are made)."""

    #: Status text after Reset.
    ready_text = "Ready: press Start."
    #: The task note for a ten-class task, formatted with first, second and dataset.
    ten_class_note = ""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._closed = False
        self._runner = SideBySideRunner(self)
        self._runner.progress.connect(self._on_progress)
        self._runner.epochDone.connect(self._on_epoch)
        self._runner.modelEnded.connect(self._on_model_ended)
        self._runner.ended.connect(self._on_ended)
        self._runner.failed.connect(self._on_failed)
        self._trainers: list | None = None
        self._specs: tuple[ModelSpec, ...] = ()
        self._snapshots: tuple | None = None
        self._accuracy: list[float | None] = [None, None, None]
        self._settings: tuple[QWidget, ...] = ()
        # plots whose x axis is the step / the epoch: they span the run Start begins
        self._step_plots: tuple[pg.PlotWidget, ...] = ()
        self._epoch_plots: tuple[pg.PlotWidget, ...] = ()
        self._planned = (0, 0)

    def _open(self, data: TaskData | None) -> None:
        """Start on ``data``, or on 3 vs 7 of the bundled sample."""
        if data is None:
            data = make_task_data(load_sample(), Task.pair(3, 7))
        self.set_data(data)

    def _make_top(self) -> None:
        """The intro box and the (hidden) note on a ten-class task."""
        self.intro = lesson_text("")
        self.intro.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.task_note = QLabel()
        self.task_note.setWordWrap(True)
        self.task_note.setStyleSheet("QLabel { color: #8a4b00; }")
        self.task_note.hide()

    def _lay_out(self, *rows: QWidget | QLayout, scroll: QScrollArea) -> None:
        """Intro, task note and ``rows`` above the scroll area, which takes the rest;
        and the buttons and the speed wired up."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        for item in (self.intro, self.task_note, *rows):
            if isinstance(item, QWidget):
                layout.addWidget(item)
            else:
                layout.addLayout(item)
        layout.addWidget(scroll, 1)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset)
        self.speed_combo.currentIndexChanged.connect(self._on_speed_changed)
        self.epochs_spin.valueChanged.connect(self._on_epochs_changed)

    # ------------------------------------------------------------------ Lesson contract
    def _take_data(self, data: TaskData) -> bool:
        """Stop, keep the two-class version of ``data`` and say if it was cut out of a
        ten-class task; False once the lesson is closed."""
        if self._closed:
            return False
        self._runner.cancel()
        self._data = two_class_data(data)
        if not data.task.is_binary:
            first, second = self._data.class_names
            self.task_note.setText(self.ten_class_note.format(
                first=first, second=second, dataset=data.dataset_name))
            self.task_note.show()
        else:
            self.task_note.hide()
        return True

    def shutdown(self) -> None:
        """Stop training and wait for the thread; safe to call more than once."""
        self._runner.cancel()
        self._closed = True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------------ commands
    def start(self) -> None:
        """Train all three for the chosen number of epochs, from where they are."""
        if self._closed or self._runner.is_running():
            return
        if self._trainers is None or len({t.step for t in self._trainers}) > 1:
            self.reset()  # a model diverged earlier: they can no longer go in step
        config = self._config()
        for t in self._trainers:
            t.set_config(config)
        self._before_run()
        self._plan_axes()
        self._runner.start(self._trainers, self.epochs_spin.value(), self._delay())
        self._set_running(True)
        self.status_label.setText(f"Training at learning rate {self.lr_spin.value():g}…")

    def _before_run(self) -> None:
        """Called by :meth:`start` just before the run begins."""

    def stop(self) -> None:
        """Stop after the current batch (Start continues)."""
        self._runner.request_stop()

    def reset(self) -> None:
        """Back to step 0 with the current settings."""
        if self._closed:
            return
        self._runner.cancel()
        self._make_trainers()
        self._plan_axes()
        self._clear_history()
        self._set_running(False)
        self.status_label.setText(self.ready_text)

    # ------------------------------------------------------------------ read-outs for tests
    def runner(self) -> SideBySideRunner:
        return self._runner

    def is_running(self) -> bool:
        return self._runner.is_running()

    def accuracies(self) -> list[float | None]:
        """Each model's latest validation accuracy, in the order of NAMES."""
        return list(self._accuracy)

    def snapshots(self) -> tuple | None:
        """The parameters shown now, one Snapshot per model."""
        return self._snapshots

    # ------------------------------------------------------------------ internals
    def _config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs_spin.value(), lr=float(self.lr_spin.value()),
                           seed=self.seed_spin.value())

    def _delay(self) -> float:
        return float(self.speed_combo.currentData())

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for w in self._settings:
            w.setEnabled(not running)
        at_start = self._trainers is None or all(t.step == 0 for t in self._trainers)
        self.start_button.setText("Start" if at_start else "Continue")

    def _on_start_changed(self, *_args) -> None:
        if not self._runner.is_running():
            self.reset()

    def _on_epochs_changed(self, *_args) -> None:
        if not self._runner.is_running():
            self._plan_axes()  # the run Start would begin is longer or shorter now

    def planned_end(self) -> tuple[int, int]:
        """(step, epoch) where the run Start begins would end: the models' step and
        epoch now plus the chosen epochs."""
        if not self._trainers:
            return 0, 0
        t = self._trainers[0]
        epochs = self.epochs_spin.value()
        return t.step + epochs * t.batches_per_epoch, t.epoch + epochs

    def _plan_axes(self, at_least: tuple[int, int] = (0, 0)) -> None:
        """The step and epoch plots span 0 to the planned run's end (or ``at_least``)."""
        end_step, end_epoch = self.planned_end()
        self._planned = (max(end_step, at_least[0]), max(end_epoch, at_least[1]))
        for plot in self._step_plots:
            plan_x(plot, self._planned[0])
        for plot in self._epoch_plots:
            plan_x(plot, self._planned[1])

    def _grow_axes(self, step: int, epoch: int) -> None:
        """A run went past the plan (a resumed epoch counts whole): grow the axes."""
        if step > self._planned[0] or epoch > self._planned[1]:
            self._plan_axes((step, epoch))

    def _on_speed_changed(self, *_args) -> None:
        self._runner.set_delay(self._delay())

    # -- runner events ------------------------------------------------------------------
    def _show_step(self, s) -> None:
        """Say where training is (``s``: one model's latest step; None: say nothing)."""
        if s is not None:
            self.status_label.setText(
                f"Training at learning rate {self.lr_spin.value():g}: epoch {s.epoch}, "
                f"batch {s.batch} of {s.batches_per_epoch} (step {s.step})"
            )

    def _record_epoch(self, epochs) -> None:
        """Keep and draw each model's validation accuracy after an epoch."""
        for i, e in enumerate(epochs.epochs):
            if e is not None:
                self._accuracy[i] = e.valid_accuracy
                self._acc_points[i].append((e.epoch, 100 * e.valid_accuracy))
        self._redraw_accuracy()

    def _show_ended(self, stopped: bool, step: int) -> None:
        more = self.epochs_spin.value()
        self.status_label.setText(
            f"{'Stopped' if stopped else 'Finished'} at step {step:,}. Continue: "
            f"{more} more epoch{'s' if more != 1 else ''}. Reset: back to step 0."
        )

    # Run events, the same for every side-by-side lesson; a lesson names its models
    # (``_model_name``) and draws its snapshots (``_show_snapshots``).
    def _model_name(self, index: int) -> str:
        return f"model {index + 1}"

    def _on_progress(self, rounds: list, snapshots: tuple) -> None:
        last = rounds[-1]
        self._show_snapshots(snapshots, step=last.step)
        self._show_step(next((x for x in last.steps if x is not None), None))

    def _on_epoch(self, epochs, snapshots: tuple) -> None:
        self._record_epoch(epochs)
        self._update_texts()

    def _on_model_ended(self, index: int, ended) -> None:
        self.status_label.setText(f"{self._model_name(index)}: {ended.message}")

    def _on_ended(self, ends, snapshots: tuple) -> None:
        step = max((e.step for e in ends.ends), default=0)
        self._show_snapshots(snapshots, step=step)
        self._set_running(False)
        self._show_ended(any(e.reason.value == "stopped" for e in ends.ends), step)

    def _on_failed(self, message: str, _details: str) -> None:
        self._set_running(False)
        self.status_label.setText(f"Training failed: {message}")

    # -- drawing -----------------------------------------------------------------------
    def _clear_accuracy(self) -> None:
        """Back to each model's accuracy at the start (epoch 0)."""
        self._acc_points: list[list[tuple[int, float]]] = [
            [(0, 100 * a)] if a is not None else [] for a in self._accuracy
        ]
        self._redraw_accuracy()

    def _redraw_accuracy(self) -> None:
        last = 0
        for i, curve in enumerate(self.acc_curves):
            pts = np.array(self._acc_points[i], dtype=np.float64).reshape(-1, 2)
            curve.setData(pts[:, 0], pts[:, 1])
            if len(pts):
                last = max(last, int(pts[-1, 0]))
        self._grow_axes(0, last)
