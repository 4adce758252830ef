"""Draw a digit and watch the model decide: the canvas plus live prediction views.

What the panel shows, left to right:

* the drawing canvas with its controls (brush width, Clear, Undo, Open image…);
* the prediction in words ("Prediction: 3 (97%)"), and for two classes the logit z and
  σ(z) written out.  One output neuron calls its first class when z ≥ t, the threshold t
  of the Neuron & bias tab (:meth:`DrawPanel.set_threshold`; 0 by default), as the other
  tabs do; ten outputs take the highest logit, with no threshold;
* "what the model sees": the 28×28 image the model really receives (the drawing cropped,
  scaled and centred like MNIST), enlarged without smoothing so every pixel shows;
* the contribution map w⊙x (each pixel's weight times its ink) on a diverging colormap
  centred on 0, and its sum: Σ w⊙x + b = the logit — for models whose output neurons
  look at pixels directly (single neuron, linear);
* the class probabilities as bars, the predicted class highlighted.

A CNN's prediction runs off the GUI thread on a private one-thread ``QThreadPool``.
Each request bumps a generation number; a result whose generation is no longer current
is dropped.  At most one job is in flight: changes that arrive meanwhile are coalesced
into one more job, run with the latest drawing when the current one finishes.  The other
models' predictions cost under a millisecond (the preprocessing most of it) and run on
the GUI thread, before the stroke is painted: handing them to a worker made the answer
wait for the paint (and for the GIL) and reach the screen a frame later.

Widgets never import torch: the forward pass is :func:`~biasviz.core.spec.numpy_logits`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QEvent,
    QObject,
    QPointF,
    QRectF,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.colormap import RDBU_ANCHORS
from biasviz.core.decisions import sigmoid
from biasviz.core.drawing import Prediction, class_names_for, predict_drawing
from biasviz.core.preprocess import OUT_SIDE
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec
from biasviz.core.text import num, rough_percent, unbroken
from biasviz.gui import file_dirs
from biasviz.gui.canvas import DEFAULT_BRUSH, MAX_BRUSH, MIN_BRUSH, DrawingCanvas
from biasviz.gui.class_labels import CategoryAxis, class_noun, with_article
from biasviz.gui.colormaps import (
    FIRST_CLASS_COLOR,
    SECOND_CLASS_COLOR,
    diverging_colormap,
    gray_colormap,
    symmetric_levels,
)
from biasviz.gui.plot_style import make_still

IMAGE_FILTER = (
    "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.pgm *.ppm);;All files (*)"
)
_RED = QColor(*(int(c) for c in RDBU_ANCHORS[-2])).name()
_BLUE = QColor(*(int(c) for c in RDBU_ANCHORS[1])).name()
_OTHER_BAR = (170, 170, 170)
_PICKED_BAR = SECOND_CLASS_COLOR


# --------------------------------------------------------------------------- results



# --------------------------------------------------------------------------- worker


class _JobSignals(QObject):
    finished = Signal(object)


class _PredictJob(QRunnable):
    def __init__(
        self, signals: _JobSignals, compute: Callable[[], Prediction], generation: int
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the panel holds the reference until it reports back
        self._signals = signals
        self._compute = compute
        self._generation = generation

    def run(self) -> None:
        try:
            result = self._compute()
        except Exception as exc:  # noqa: BLE001 - report it, never crash the thread
            result = Prediction(
                self._generation,
                np.zeros((OUT_SIDE, OUT_SIDE), np.float32),
                False,
                True,
                error=f"{type(exc).__name__}: {exc}",
            )
        self._signals.finished.emit(result)


# --------------------------------------------------------------------------- formatting


def how_text(spec: ModelSpec | None, noun: str = "digit") -> str:
    """How the model reads a drawing, in words true for ``spec``'s kind of model (the
    weighted sum plus one bias is the single neuron's story, not an MLP's or a CNN's)."""
    recipe = ("the way the MNIST digits were made." if noun == "digit" else
              f"MNIST's recipe, used for every dataset (the {noun}s the model learned from "
              "may fill more of the square: draw large).")
    intro = ("How the model reads your drawing: the ink is cropped, shrunk to fit 20×20 "
             f"pixels and centred in a 28×28 image, {recipe}  Those 784 numbers (0 = black, "
             "1 = white) are the input x")
    if spec is None:
        return intro + "."
    outputs = ("that sum is the logit" if spec.n_outputs == 1
               else "one such sum, a logit, per class")
    if spec.kind is ModelKind.SINGLE:
        if spec.bias_mode is BiasMode.PER_PIXEL:
            how = ("; each is multiplied by its weight and gets its own bias added, and "
                   "all of it is added up: that sum is the logit (the 784 biases act only "
                   "through their sum).")
        elif spec.bias_mode is BiasMode.NONE:
            how = ("; each is multiplied by its weight and the products are added up: "
                   "that sum is the logit (this neuron has no bias).")
        else:
            how = ("; each is multiplied by its weight, the products are added up, and "
                   "the bias is added: that sum is the logit.")
    elif spec.kind is ModelKind.LINEAR:
        how = ("; each of the ten output neurons multiplies them by its own 784 weights, "
               "adds the products up and adds its bias: one such sum, a logit, per class.")
    elif spec.kind is ModelKind.MLP:
        h = int(spec.hidden)
        who = "the output neuron" if spec.n_outputs == 1 else "each output neuron"
        how = (f"; each of the {h} hidden neurons multiplies them by its own 784 weights, "
               "adds them up and adds its bias, and ReLU turns a negative sum into 0.  "
               f"Then {who} does the same with those {h} hidden values: {outputs}.")
    else:
        c, k, p = int(spec.channels), int(spec.kernel), spec.pooled_side
        who = "the output neuron" if spec.n_outputs == 1 else "each output neuron"
        how = (f".  Each of the {c} kernels ({k}×{k} weights) slides over the image: at every "
               f"place it multiplies the {k}×{k} patch under it by its weights, adds them "
               "up and adds its bias; ReLU turns negatives into 0 and 2×2 max-pooling keeps "
               f"the largest of every four.  Then {who} multiplies those {c}×{p}×{p} "
               f"values by its weights, adds them up and adds its bias: {outputs}.")
    return intro + how


_HEADLINE_TIP = (
    "The class with the highest probability, and how sure the model is of it.  "
    "It changes live while you draw."
)


def _binary_headline_tip(t: float, names: Sequence[str]) -> str:
    first, second = names
    return (
        f"The class the threshold picks: “{first}” when the logit z ≥ t = {num(t)} "
        f"(σ(z) ≥ {_sigma(t)}), otherwise “{second}”; and the probability σ gives that "
        "class, which may be under 50%.  It changes live while you draw."
    )


def _finite(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _sigma(t: float) -> str:
    """σ(t), the probability threshold p of a logit threshold t, with three decimals as
    σ(z) beside it, more when three would round it to 0 or 1 (p = 0.9999)."""
    from biasviz.core.evaluation import sigma_bound

    return sigma_bound(float(sigmoid(t)), 3)


def _digits(z: float, t: float) -> int:
    """Decimals for z beside t: near the threshold, two could show the wrong side of it."""
    return 2 if t == 0 or abs(z - t) >= 0.005 else 4


def _swatch(color: str) -> str:
    return f'<span style="color:{color}; font-size:large">■</span>'


# --------------------------------------------------------------------------- views


class _PixelView(pg.GraphicsView):
    """A 28×28 image, square, enlarged with nearest-neighbour pixels, no mouse zoom."""

    def __init__(self, colormap: pg.ColorMap, background: QColor | None, border: QColor) -> None:
        super().__init__(background=background)  # None: see-through, like a label
        if background is None:
            self.setStyleSheet("background: transparent")
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.setCentralItem(self.view)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setColorMap(colormap)
        self.item.setBorder(pg.mkPen(border, width=1))
        self.view.addItem(self.item)
        self.view.setRange(QRectF(0, 0, OUT_SIDE, OUT_SIDE), padding=0.02)
        self.setMinimumSize(130, 130)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.hovered: Callable[[int, int] | None, None] | None = None
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def show_image(self, image: np.ndarray, levels: tuple[float, float]) -> None:
        self.item.setImage(np.asarray(image, dtype=np.float32), levels=levels, autoLevels=False)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self.hovered is None:
            return
        p = self.item.mapFromScene(scene_pos)
        row, col = math.floor(p.y()), math.floor(p.x())
        inside = 0 <= row < OUT_SIDE and 0 <= col < OUT_SIDE
        self.hovered((row, col) if inside else None)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.hovered is not None:
            self.hovered(None)
        super().leaveEvent(event)


class DrawPanel(QWidget):
    """The drawing canvas, its controls, and live views of what the model makes of it.

    Call :meth:`set_model` whenever the model changes.  ``predicted(Prediction)`` is
    emitted after each accepted (current) result.
    """

    predicted = Signal(object)
    _start_soon = Signal()  # queued to _start_if_idle: see __init__

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params: dict[str, np.ndarray] | None = None
        self._spec: ModelSpec | None = None
        self._class_names: tuple[str, ...] = ()
        self._threshold = 0.0  # the logit threshold t of a one-output model
        self._noun = "digit"  # "item" for classes that are not the digits 0–9
        self._generation = 0
        self._job: _PredictJob | None = None
        self._pending = False
        # Requests made in one turn of the event loop (a stroke's press, moves and release
        # delivered together) start one job, with the drawing as it is by then: not one
        # job per request for drawings already out of date.  The start is a queued call,
        # not a 0-ms timer: a posted call runs before the turn's repaint (Qt posts update
        # requests at low priority, and timers come after posted events), so the
        # prediction is computed while the canvas paints instead of after (−4 ms).
        self._start_posted = False
        self._start_soon.connect(self._start_if_idle, Qt.ConnectionType.QueuedConnection)
        self._closing = False
        self._last: Prediction | None = None
        self._untrained = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        # Parentless on purpose: a job still holding it never touches a deleted object.
        self._signals = _JobSignals()
        self._signals.finished.connect(self._on_job_finished)

        palette = self.palette()
        self._bg = palette.color(QPalette.ColorRole.Base)
        self._fg = palette.color(QPalette.ColorRole.Text)
        self._build_ui()
        self._apply_words()
        self.canvas.changed.connect(self.request_prediction)
        self.canvas.changed.connect(self._message.clear)
        self.canvas.loadFailed.connect(self._show_load_error)
        self.canvas.undoAvailable.connect(self._undo_button.setEnabled)
        self._show(Prediction(0, np.zeros((OUT_SIDE, OUT_SIDE), np.float32), True, has_model=False))

    # -- building ------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.canvas = DrawingCanvas()

        brush_label = QLabel("Brush")
        self._brush_slider = QSlider(Qt.Orientation.Horizontal)
        self._brush_slider.setRange(MIN_BRUSH, MAX_BRUSH)
        self._brush_slider.setValue(DEFAULT_BRUSH)
        self._brush_value = QLabel(f"{DEFAULT_BRUSH} px")
        self._brush_value.setMinimumWidth(
            self._brush_value.fontMetrics().horizontalAdvance("00 px")
        )
        self._brush_widgets = (brush_label, self._brush_slider, self._brush_value)
        self._brush_slider.valueChanged.connect(self._on_brush_changed)

        self._clear_button = QPushButton("Clear")
        self._clear_button.setToolTip("Wipe the canvas (Undo brings it back).")
        self._clear_button.clicked.connect(self.canvas.clear)
        self._undo_button = QPushButton("Undo")
        self._undo_button.setToolTip("Take back the last stroke, clear or loaded picture (Ctrl+Z).")
        self._undo_button.setEnabled(False)
        self._undo_button.clicked.connect(self.canvas.undo)
        self._open_button = QPushButton("Open image…")
        self._open_button.clicked.connect(self._open_image)
        shortcut = QShortcut(QKeySequence.StandardKey.Undo, self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.canvas.undo)

        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setStyleSheet("color: #b2182b;")

        brush_row = QHBoxLayout()
        brush_row.addWidget(brush_label)
        brush_row.addWidget(self._brush_slider, 1)
        brush_row.addWidget(self._brush_value)
        button_row = QHBoxLayout()
        button_row.addWidget(self._clear_button)
        button_row.addWidget(self._undo_button)
        button_row.addWidget(self._open_button)

        draw_box = QGroupBox("Your drawing")
        draw_box.setToolTip(self.canvas.toolTip())
        left = QVBoxLayout(draw_box)
        left.addWidget(self.canvas, 100)
        left.addLayout(brush_row)
        left.addLayout(button_row)
        left.addWidget(self._message)
        how = self._how = QLabel(how_text(None, "digit"))
        how.setWordWrap(True)
        how.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        muted = how.palette()
        muted.setColor(
            QPalette.ColorRole.WindowText, self.palette().color(QPalette.ColorRole.PlaceholderText)
        )
        how.setPalette(muted)
        left.addWidget(how)
        left.addStretch(1)
        # Keep the square canvas at the top with its controls right under it: it may
        # grow as wide as the column allows, but never taller than it is wide.
        self.canvas.installEventFilter(self)

        # -- the verdict
        self._headline = QLabel()
        font = QFont(self._headline.font())
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self._headline.setFont(font)
        self._headline.setToolTip(_HEADLINE_TIP)
        self._detail = QLabel()
        self._detail.setWordWrap(True)
        self._detail.setTextFormat(Qt.TextFormat.RichText)
        self._detail.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # room for two lines, so the views below don't jump when the text wraps
        self._detail.setMinimumHeight(2 * self._detail.fontMetrics().lineSpacing() + 2)

        # -- what the model sees
        border = self.palette().color(QPalette.ColorRole.Mid)
        self._preview = _PixelView(gray_colormap(), None, border)
        self._preview.hovered = self._on_pixel_hovered
        preview_box = self._preview_box = QGroupBox("What the model sees")
        pv = QVBoxLayout(preview_box)
        pv.addWidget(self._preview, 1)
        pv.addWidget(QLabel("28×28 pixels, one input each", alignment=Qt.AlignmentFlag.AlignCenter))

        # -- contribution map
        self._contribution = _PixelView(diverging_colormap(), None, border)
        self._contribution.hovered = self._on_pixel_hovered
        self._legend = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self._legend.setTextFormat(Qt.TextFormat.RichText)
        map_page = QWidget()
        mp = QVBoxLayout(map_page)
        mp.setContentsMargins(0, 0, 0, 0)
        mp.addWidget(self._contribution, 1)
        mp.addWidget(self._legend)
        self._map_note = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self._map_note.setWordWrap(True)
        self._map_note.setMargin(8)
        self._map_stack = QStackedWidget()
        self._map_stack.addWidget(map_page)
        self._map_stack.addWidget(self._map_note)
        self._map_box = QGroupBox("Contribution map  w⊙x")
        cv = QVBoxLayout(self._map_box)
        cv.addWidget(self._map_stack, 1)

        self._readout = QLabel(" ")
        self._readout.setToolTip("Point at a pixel of either 28×28 image to read its numbers.")
        self._sum = QLabel()
        self._sum.setTextFormat(Qt.TextFormat.RichText)
        self._sum.setWordWrap(True)
        self._sum.setMinimumHeight(2 * self._sum.fontMetrics().lineSpacing() + 2)
        self._sum.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._sum.setToolTip(
            "The contribution map added up, plus the bias, is the logit: the very number "
            "the model computes.  That is all a neuron does — multiply each pixel by its "
            "weight, add them up, add the bias."
        )

        # -- probabilities
        self._bars_plot = pg.PlotWidget(background=self._bg)
        plot = make_still(self._bars_plot.getPlotItem(), self._fg)
        plot.showGrid(x=False, y=True, alpha=0.2)
        plot.setYRange(0, 1.18, padding=0)
        plot.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)], []])
        plot.getAxis("left").setWidth(44)
        self._bars = pg.BarGraphItem(x=np.arange(2), height=np.zeros(2), width=0.62)
        plot.addItem(self._bars)
        self._bar_axis = CategoryAxis(plot, "bottom")  # long names fit, or shorten with a tip
        self._bar_text = pg.TextItem(anchor=(0.5, 1.0), color=self._fg)
        bar_font = QFont(self.font())
        bar_font.setBold(True)
        self._bar_text.setFont(bar_font)
        plot.addItem(self._bar_text)
        self._bars_plot.setMinimumHeight(140)
        self._bars_box = QGroupBox("Class probabilities")
        bv = QVBoxLayout(self._bars_box)
        bv.addWidget(self._bars_plot)

        images = QHBoxLayout()
        images.addWidget(preview_box, 1)
        images.addWidget(self._map_box, 1)

        right = QVBoxLayout()
        right.addWidget(self._headline)
        right.addWidget(self._detail)
        right.addLayout(images, 3)
        right.addWidget(self._readout)
        right.addWidget(self._sum)
        right.addWidget(self._bars_box, 2)

        outer = QGridLayout(self)
        outer.addWidget(draw_box, 0, 0)
        outer.addLayout(right, 0, 1)
        outer.setColumnStretch(0, 2)
        outer.setColumnStretch(1, 3)

    # -- public API ----------------------------------------------------------------------
    def set_model(
        self,
        params: dict[str, np.ndarray] | None,
        spec: ModelSpec | None,
        class_names: Sequence[str] = (),
        threshold: float | None = None,
        untrained: bool = False,
    ) -> None:
        """Use this model from now on (None: no model) and re-predict the drawing.
        ``untrained``: its weights are still the random start (the prediction says that
        its answer is a guess: "Prediction: 4 (56%)" read as a verdict).

        ``class_names``: ten names in output order for ten classes; for two classes
        ``(first, second)`` where the single logit is for the first.  ``threshold``: the
        logit threshold t (see :meth:`set_threshold`); None keeps the current one.
        """
        if threshold is not None:
            self._threshold = _finite(threshold)
        self._untrained = bool(untrained)
        if params is None or spec is None:
            self._params, self._spec, self._class_names = None, None, ()
        else:
            self._params = dict(params)
            self._spec = spec
            self._class_names = tuple(str(c) for c in class_names)
        self._noun = class_noun(self._class_names) if self._class_names else "digit"
        self._apply_words()
        self.request_prediction()

    def set_threshold(self, threshold: float) -> None:
        """The logit threshold t: a one-output model calls its first class when z ≥ t
        (the rule of the Neuron & bias tab; σ(z) ≥ p is t = logit(p)).  Re-predicts the
        drawing when t changes; ten-output models have no threshold and ignore it."""
        threshold = _finite(threshold)
        if threshold != self._threshold:
            self._threshold = threshold
            self.request_prediction()

    def threshold(self) -> float:
        return self._threshold

    def noun(self) -> str:
        """"digit" or "item": what the panel asks the learner to draw."""
        return self._noun

    def how_text(self) -> str:
        """The note under the canvas: how the model reads the drawing."""
        return self._how.text()

    def _apply_words(self) -> None:
        """Texts that name what is drawn ("digit" for MNIST, "item" for clothes) and
        what the model does with it (true for the model shown, not only the neuron)."""
        noun, a_noun = self._noun, self._a_noun()
        self.canvas.set_noun(noun)
        self._how.setText(how_text(self._spec, noun))
        brush_tip = (
            f"Width of the pen, in canvas pixels.  The canvas is 280×280; {a_noun} is "
            "shrunk to fit 20×20 pixels for the model, so a thin pen gives a faint, thin "
            f"{noun}.  MNIST digits are written with a fairly thick pen: 14–24 px works well."
        )
        for w in self._brush_widgets:
            w.setToolTip(brush_tip)
        self._open_button.setToolTip(
            f"Load a picture of {a_noun} (a photo or scan works: dark ink on light paper "
            "is inverted).  You can also drop an image file onto the canvas."
        )
        self._preview_box.setToolTip(
            "Exactly the input the model gets: your drawing cropped to its ink, shrunk to "
            "fit 20×20 pixels and centred in a 28×28 image, MNIST's recipe.  Each square "
            f"is one of the 784 inputs x (black 0, white 1).  If the {noun} looks odd "
            "here, the prediction will be odd too."
        )

    def headline_text(self) -> str:
        return self._headline.text()

    def _a_noun(self) -> str:
        return with_article(self._noun)

    def _only_two(self) -> str:
        """"This model knows only “3” and “7”" for a one-output model, else "" (a 0 drawn
        for the chapter's neuron read "Prediction: 7 (86%)" as if it knew better)."""
        if self._spec is None or self._spec.n_outputs != 1 or len(self._class_names) != 2:
            return ""
        first, second = (escape(n) for n in self._class_names)
        return f"This model knows only “{first}” and “{second}”"

    def last_prediction(self) -> Prediction | None:
        """The last accepted result (None before the first one)."""
        return self._last

    @property
    def generation(self) -> int:
        return self._generation

    def is_busy(self) -> bool:
        """True while a prediction job is running or waiting to report back."""
        return self._job is not None or self._start_posted

    @Slot()
    def request_prediction(self) -> None:
        """Schedule a prediction of the current drawing with the current model."""
        if self._closing:
            return
        self._generation += 1
        if self._job is None:
            if not self._start_posted:
                self._start_posted = True
                self._start_soon.emit()
        else:
            self._pending = True  # coalesced: one more run when the current one reports

    def handle_result(self, result: Prediction) -> bool:
        """Show a result if it answers the current request; returns whether it did."""
        if not isinstance(result, Prediction) or result.generation != self._generation:
            return False
        self._last = result
        self._show(result)
        self.predicted.emit(result)
        return True

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop scheduling predictions and wait for a running one to finish."""
        self._closing = True
        self._pending = False
        return self._pool.waitForDone(timeout_ms)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            height = max(self.canvas.minimumHeight(), self.canvas.width())
            if self.canvas.maximumHeight() != height:
                self.canvas.setMaximumHeight(height)
        return super().eventFilter(watched, event)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._pool.waitForDone(5000)
        super().closeEvent(event)

    # -- the job machinery -----------------------------------------------------------------
    def _start_if_idle(self) -> None:
        self._start_posted = False
        if self._job is None and not self._closing:
            self._start_job()

    def _start_job(self) -> None:
        self._pending = False
        drawing = self.canvas.image_array()
        params, spec, names, gen = self._params, self._spec, self._class_names, self._generation
        threshold = self._threshold

        def compute() -> Prediction:
            return predict_drawing(drawing, params, spec, names, gen, threshold=threshold)

        if self._runs_inline(spec):
            self.handle_result(compute())
            return
        self._job = _PredictJob(self._signals, compute, gen)
        self._pool.start(self._job)

    @staticmethod
    def _runs_inline(spec: ModelSpec | None) -> bool:
        """Predict on the GUI thread: every model but the CNN (sub-millisecond; see the
        module's docstring)."""
        return spec is None or spec.kind is not ModelKind.CNN

    @Slot(object)
    def _on_job_finished(self, result: object) -> None:
        self._job = None
        self.handle_result(result)
        if self._pending and not self._closing:
            self._start_job()

    # -- showing -------------------------------------------------------------------------
    def _show(self, r: Prediction) -> None:
        self._preview.show_image(r.image, (0.0, 1.0))
        self._show_verdict(r)
        self._show_contribution(r)
        self._show_bars(r)
        self._readout.setText(" ")

    def _show_verdict(self, r: Prediction) -> None:
        self._headline.setToolTip(_HEADLINE_TIP)
        if not r.has_model:
            self._headline.setText("Train or import a model first")
            self._detail.setText(
                "You can draw already: “what the model sees” shows the 28×28 input any "
                "model would get."
            )
        elif r.error is not None:
            self._headline.setText("Cannot predict with this model")
            self._detail.setText(escape(r.error))
        elif r.empty:
            self._headline.setText(f"Draw {self._a_noun()}")
            only = self._only_two()
            self._detail.setText((only + ". " if only else "")
                                 + "The prediction updates while you draw.")
        else:
            assert r.probabilities is not None and r.logits is not None
            name = r.predicted_name
            self._headline.setText(f"Prediction: {name} ({rough_percent(r.confidence or 0.0)})")
            if r.binary:
                z, t = float(r.logits[0]), r.threshold
                first, second = (escape(n) for n in r.class_names)
                rule = "z ≥ 0 means"
                if t != 0:
                    rule = f"z ≥ t = <b>{num(t)}</b> (σ(z) ≥ {_sigma(t)}) means"
                    self._headline.setToolTip(_binary_headline_tip(t, r.class_names))
                self._detail.setText(
                    f"logit z = <b>{num(z, _digits(z, t))}</b> &nbsp;→&nbsp; σ(z) = "
                    f"<b>{r.probabilities[0]:.3f}</b>"
                    f" = P(“{first}”), &nbsp; P(“{second}”) = 1 − σ(z) = "
                    f"{r.probabilities[1]:.3f}.&nbsp; {rule} “{first}”."
                    f"<br><i>{self._only_two()}: anything else you draw is still called "
                    "one of the two.</i>"
                )
            else:
                self._detail.setText(
                    f"Highest logit: z = <b>{num(float(r.logits[r.predicted]))}</b> "
                    f"for “{escape(name or '')}”.&nbsp; Softmax turns the ten logits "
                    "into probabilities that add up to 100%."
                )
        if r.has_model and r.error is None and not r.empty and self._untrained:
            self._detail.setText(
                "<i>An untrained model (its random start): this answer is a guess. Press "
                "Start, then draw again.</i><br>" + self._detail.text())
        tip = (
            "σ(z) = 1 / (1 + e^−z) squashes the logit into a probability between 0 and 1."
            if r.binary
            else "Softmax: exp of each logit, divided by the sum of all ten."
        )
        self._detail.setToolTip(tip)

    def _show_contribution(self, r: Prediction) -> None:
        spec = self._spec if r.has_model else None
        pixel_model = spec is not None and spec.kind in (ModelKind.SINGLE, ModelKind.LINEAR)
        if spec is None:
            self._map_note.setText(
                "Train or import a model to see which pixels push the prediction which way."
            )
            self._map_stack.setCurrentIndex(1)
            self._map_box.setToolTip("")
            self._sum.setText("")
            return
        if not pixel_model:
            self._map_note.setText(
                "The contribution map is for models whose output neurons look at pixels "
                "directly (single neuron, linear).  In an MLP or CNN they look at hidden "
                "features instead, so no single map adds up to the logit."
            )
            self._map_stack.setCurrentIndex(1)
            self._map_box.setToolTip("")
            self._sum.setText("")
            return
        self._map_stack.setCurrentIndex(0)
        names = class_names_for(self._class_names, 2 if spec.n_outputs == 1 else 10)
        if spec.n_outputs == 1:
            toward, away = escape(names[0]), escape(names[1])
            self._legend.setText(
                f"{_swatch(_RED)} toward “{toward}” &nbsp; {_swatch(_BLUE)} toward “{away}”"
            )
            self._map_box.setToolTip(
                "Each pixel's weight times its ink, w⊙x.  Red pixels push the logit up, "
                f"toward “{names[0]}”; blue pixels push it down, toward “{names[1]}”; "
                "white ones do nothing (no ink there, or a weight near 0).\n"
                "Add them all up, add the bias, and you get the logit."
            )
        else:
            picked = escape(r.predicted_name) if r.predicted_name is not None else "its class"
            self._legend.setText(
                f"{_swatch(_RED)} for “{picked}” &nbsp; {_swatch(_BLUE)} against it"
            )
            self._map_box.setToolTip(
                "Each pixel's weight times its ink, w⊙x, for the output neuron of the "
                "predicted class (ten neurons, one per class).  Red pixels raise that "
                "neuron's logit, blue ones lower it, white ones do nothing.\n"
                "Add them all up, add that neuron's bias, and you get its logit."
            )
        if r.contribution is None or r.empty or r.error is not None:
            self._contribution.show_image(np.zeros((OUT_SIDE, OUT_SIDE)), (-1.0, 1.0))
            self._sum.setText(f"Σ w⊙x + b = logit: &nbsp;draw {self._a_noun()} to see the sum.")
            return
        self._contribution.show_image(r.contribution, symmetric_levels(r.contribution))
        self._sum.setText(self._sum_text(r, spec))

    @staticmethod
    def _sum_text(r: Prediction, spec: ModelSpec) -> str:
        s, b, z = r.contribution_sum, r.bias_term, r.logit
        assert s is not None and b is not None and z is not None
        if spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.PER_PIXEL:
            bias = f"+ Σbᵢ = {num(b)}"
        elif spec.kind is ModelKind.SINGLE and spec.bias_mode is BiasMode.NONE:
            bias = "+ 0 (no bias)"
        else:
            bias = f"+ b = {num(b)}"
        ok = abs(s + b - z) <= 1e-3 * max(1.0, abs(z))
        if ok:
            # Show Σ as (rounded logit − rounded bias), within 0.01 of the exact sum, so
            # the three numbers on screen add up exactly as a learner checks them.
            s = round(z, 2) - round(b, 2)
        check = (
            '<span style="color:#1a9850">✓ equals the model\'s logit</span>'
            if ok
            else f'<span style="color:#b2182b">✗ the model computed {num(z)}</span>'
        )
        who = "" if r.binary else f"For “{escape(r.predicted_name or '')}”: &nbsp;"
        gap = "&nbsp;&nbsp;&nbsp;"
        text = (
            f"{who}<b>Σ w⊙x = {num(s)}</b>{gap}<b>{bias}</b>{gap}"
            f"<b>= logit {num(z if ok else s + b)}</b>{gap}{check}"
        )
        if r.binary and r.threshold != 0:
            # what the threshold is compared with: this logit z (bias included)
            t = r.threshold
            digits = _digits(z, t)
            sign = "≥" if z >= t else "&lt;"
            text += (
                f"{gap}{unbroken(f'compared with t: {num(z, digits)} {sign} {num(t, digits)}')}"
                f" → “{escape(r.predicted_name or '')}”"
            )
        return text

    def _show_bars(self, r: Prediction) -> None:
        plot = self._bars_plot.getPlotItem()
        if not r.has_model or r.error is not None:
            n = 2
            names: tuple[str, ...] = ("", "")
        else:
            names = r.class_names
            n = len(names)
        x = np.arange(n, dtype=float)
        probs = r.probabilities if r.probabilities is not None else np.zeros(n)
        if n == 2 and r.has_model:
            base = [FIRST_CLASS_COLOR, SECOND_CLASS_COLOR]
        else:
            base = [_OTHER_BAR] * n
        brushes, pens = [], []
        for i in range(n):
            color = base[i] if n == 2 else (_PICKED_BAR if i == r.predicted else base[i])
            picked = i == r.predicted
            alpha = 255 if picked or r.predicted is None else 110
            brushes.append(pg.mkBrush(*color, alpha))
            pens.append(pg.mkPen(self._fg, width=2) if picked else pg.mkPen(None))
        self._bars.setOpts(x=x, height=probs, width=0.62, brushes=brushes, pens=pens)
        # long names (Fashion-MNIST) need room at the ends to show whole under the bars
        pad = 0.9 if n > 2 and max(len(name) for name in names) > 3 else 0.6
        plot.setXRange(-pad, n - 1 + pad, padding=0)
        shown = list(names) if r.has_model else []
        if shown != self._bar_axis.names():
            self._bar_axis.set_names(shown)
        if r.predicted is not None and r.probabilities is not None:
            p = float(r.probabilities[r.predicted])
            self._bar_text.setText(rough_percent(p))
            self._bar_text.setPos(float(r.predicted), p + 0.01)
            self._bar_text.setVisible(True)
        elif not r.has_model:
            self._bar_text.setText("no model yet")
            self._bar_text.setPos(0.5, 0.6)
            self._bar_text.setVisible(True)
        else:
            self._bar_text.setVisible(False)
        if n == 2 and r.has_model:
            first, second = names
            t = r.threshold
            which = ("The taller bar is the prediction." if t == 0 else
                     f"With the threshold t = {num(t)} the model calls “{first}” only when "
                     f"σ(z) ≥ {_sigma(t)}, so the outlined bar, the prediction, need not be "
                     "the taller one.")
            self._bars_box.setToolTip(
                f"The neuron outputs one number, the logit z.  σ(z) turns it into the "
                f"probability of “{first}”; the probability of “{second}” is what is "
                f"left, 1 − σ(z).  {which}"
            )
        else:
            self._bars_box.setToolTip(
                "One bar per class: the model's probability for it.  The ten output "
                "logits go through softmax, so the bars add up to 100%.  The highlighted, "
                "tallest bar is the prediction."
            )

    # -- small handlers ----------------------------------------------------------------------
    def _on_pixel_hovered(self, pixel: tuple[int, int] | None) -> None:
        r = self._last
        if pixel is None or r is None:
            self._readout.setText(" ")
            return
        row, col = pixel
        x = float(r.image[row, col])
        text = f"Pixel row {row}, column {col}:  ink x = {x:.2f}"
        params, spec = self._params, self._spec
        if r.contribution is not None and r.predicted is not None and params and spec:
            weights = np.asarray(params["weights"])
            index = row * OUT_SIDE + col
            if spec.kind is ModelKind.SINGLE:
                w = float(weights.reshape(-1)[index])
            else:
                w = float(weights[r.predicted, index])
            c = float(r.contribution[row, col])
            text += f"  ·  weight w = {num(w, sign=True)}  →  w·x = {num(c, sign=True)}"
        self._readout.setText(text)

    def _on_brush_changed(self, value: int) -> None:
        self.canvas.set_brush_width(value)
        self._brush_value.setText(f"{value} px")

    def _show_load_error(self, message: str) -> None:
        self._message.setText(message)

    def _open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, f"Open a picture of {self._a_noun()}", file_dirs.start_in(), IMAGE_FILTER
        )
        file_dirs.remember(path)
        if path:
            self.canvas.load_image(path)
