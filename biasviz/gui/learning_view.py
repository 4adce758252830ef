"""Seeing learning happen: the last update Δw as an image, the bias's path over the
steps, and the distribution of the weights now against at initialization."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from biasviz.core.history import BoundedSeries
from biasviz.core.spec import ModelKind, ModelSpec, Snapshot, first_layer
from biasviz.core.weight_display import first_layer_names
from biasviz.gui.weight_histogram import WeightHistogram
from biasviz.gui.weights_view import WeightsView, format_value


def update_names(spec: ModelSpec, k: int) -> list[str]:
    """What each Δw tile is: the same names the Neuron tab gives the first layer."""
    return [f"Δ {name}" for name in first_layer_names(spec, k)]


def update_note(spec: ModelSpec) -> str:
    """The caption under the Δw view: which layer it shows (nothing for the neuron)."""
    if spec.kind is ModelKind.SINGLE:
        return ""
    if spec.kind is ModelKind.CNN:
        what = (f"the convolution kernels: each tile is the change of one {spec.kernel}×"
                f"{spec.kernel} kernel's weights, Δb the change of its bias")
    elif spec.kind is ModelKind.MLP:
        what = ("the hidden neurons: each tile is the change of one hidden neuron's 784 "
                "weights, Δb the change of its bias")
    else:
        what = ("the ten output neurons: each tile is the change of one neuron's 784 "
                "weights, Δb the change of its bias")
    return f"Δw is shown for {what}. The bias path is drawn for the single neuron only."


def update_tooltip(spec: ModelSpec) -> str:
    if spec.kind is ModelKind.CNN:
        return ("The last update of the convolution kernels: Δw = −learning rate × "
                f"gradient, each kernel as a {spec.kernel}×{spec.kernel} image. Red "
                "weights were just pushed up, blue ones down.")
    return ("The last update of the weights: Δw = −learning rate × gradient, as a 28×28 "
            "image. Red pixels were just pushed up, blue ones down. Use 'Step 1 batch' to "
            "see single updates: early on they look like the images in the batch.")


class LearningView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        self.update_view = WeightsView()
        self.update_view.set_bias_name("its bias moved by Δb")
        self.update_view.set_value_name("Δw")  # the colour bar and hover show Δw, not w
        self._explain_update(ModelSpec())
        self.bias_plot = pg.PlotWidget(title="Bias over the steps")
        self.bias_plot.setLabel("bottom", "step")
        self.bias_plot.setLabel("left", "bias b (or Σbᵢ)")
        self.bias_plot.getAxis("left").enableAutoSIPrefix(False)
        self.bias_plot.showGrid(x=True, y=True, alpha=0.2)
        self.bias_curve = self.bias_plot.plot([], [], pen=pg.mkPen((213, 94, 0), width=2))
        self.bias_plot.setToolTip(
            "The neuron's bias after every step. It shifts where the neuron fires. With "
            "one bias per pixel this shows their sum Σbᵢ: each bᵢ gets the same gradient, "
            "so the sum moves 784 times as far per step as a single bias would."
        )
        self.histogram = WeightHistogram()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        grid.addWidget(self.update_view, 0, 0)
        grid.addWidget(self.bias_plot, 0, 1)
        grid.addWidget(self.histogram, 1, 0, 1, 2)
        grid.addWidget(self.note, 2, 0, 1, 2)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        self._spec = None
        self._shown_bias = np.empty(0)
        self._bias_total = 0

    def reset(self, snapshot: Snapshot, initial_params: dict[str, np.ndarray]) -> None:
        self._spec = snapshot.spec
        self._shown_bias = np.empty(0)
        self._bias_total = 0
        self.bias_curve.setData([], [])
        weights, _ = first_layer(initial_params, snapshot.spec)
        self.histogram.set_initial(weights.ravel())
        self.histogram.set_current(weights.ravel())
        single = snapshot.spec.kind is ModelKind.SINGLE
        self.bias_plot.setVisible(single)
        self.note.setText(update_note(snapshot.spec))
        self._explain_update(snapshot.spec)
        self._show_update(snapshot)

    def _explain_update(self, spec: ModelSpec) -> None:
        """The Δw picture's tooltip, over the picture too (the weights picture's text
        showed there: the picture's own tooltip comes before the widget's)."""
        text = update_tooltip(spec)
        self.update_view.setToolTip(text)
        self.update_view.set_help(text)

    def show_bias_path(self, series: BoundedSeries) -> None:
        """The bias after every step, from the app model's history."""
        if len(series) != len(self._shown_bias) or series.total != self._bias_total:
            self._bias_total = series.total
            self.bias_curve.setData(series.x, series.y)
            self._shown_bias = series.x

    def set_snapshot(self, snapshot: Snapshot) -> None:
        weights, _ = first_layer(snapshot.params, snapshot.spec)
        self.histogram.set_current(weights.ravel())
        self._show_update(snapshot)

    def update_text(self) -> str:
        """What the Δw picture says about itself: its title, bias read-out and note."""
        view = self.update_view
        return " | ".join(t for t in (view.title_text(), view.bias_text(), view.note_text()) if t)

    def _show_update(self, snapshot: Snapshot) -> None:
        spec = snapshot.spec
        side = int(spec.kernel) if spec.kind is ModelKind.CNN else 28
        missing = snapshot.last_update is None
        if missing:
            # No update to show: a blank picture and words that say why, never a
            # "Δb = 0.000" that reads as "the bias did not move".
            weights, biases = first_layer(snapshot.params, spec)
            delta, delta_b = np.zeros_like(weights), np.zeros_like(biases)
            if snapshot.step == 0:
                note = ("No update yet: the model has not been trained. Press 'Step 1 "
                        "batch' (or Start) and the change each step makes appears here.")
            else:
                note = (f"The update that led to step {snapshot.step:,} is not available "
                        "for this moment. 'Step 1 batch' shows the next one.")
            self.update_view.set_note(note)
        else:
            self.update_view.set_note("")
            # first_layer of the update arrays: Δ of each first-layer neuron (Σ of a
            # per-pixel Δb, which is how the bias acts).
            delta, delta_b = first_layer({**snapshot.params, **snapshot.last_update}, spec)
        if spec.kind is ModelKind.SINGLE and spec.bias_mode.value == "none":
            delta_b = None
        no_delta_b = "Δb: no update yet" if snapshot.step == 0 else "Δb: not available"
        self.update_view.set_bias_text(no_delta_b if missing and delta_b is not None else None)
        k = delta.shape[0]
        if k == 1:
            labels = ["Δw (last update)"]
        else:
            # The tiles say what they are (kernels, hidden neurons, output neurons) and
            # carry their Δb in the label: the view would write a bias as "b=", and this
            # is the change of one, not its value.
            names = update_names(spec, k)
            if delta_b is None or missing:
                labels = names
            else:
                labels = [f"{name}  Δb={format_value(v)}"
                          for name, v in zip(names, delta_b, strict=True)]
            delta_b = None
        self.update_view.set_neurons(
            delta[:64], None if delta_b is None else delta_b[:64], labels[:64], side=side,
            title="Last update Δw: none yet" if missing else "Last update Δw = −lr · gradient",
        )
