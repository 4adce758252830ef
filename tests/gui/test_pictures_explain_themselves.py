"""Each picture explains itself: the Δw picture's tooltip spoke of the weights (the
weights picture's text: "This picture is the neuron's 784 weights…"), and so did its
colour bar and read-out; the Neuron tab's w − w₀ picture did the same."""

from __future__ import annotations

import numpy as np

from biasviz.core.spec import ModelSpec, Snapshot
from biasviz.gui.learning_view import LearningView, update_tooltip
from biasviz.gui.weights_view import WeightsView


def _params(spec: ModelSpec) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.normal(0, 0.1, shape).astype(np.float32)
            for name, shape in spec.param_shapes().items()}


def _tips(view: WeightsView) -> tuple[str, str, str]:
    """What the picture, its colour bar and its read-out line say when pointed at."""
    return (view.view_box().toolTip(), view.color_bar().toolTip(),
            view._hover_label.toolTip())


def test_the_last_update_picture_explains_the_update_not_the_weights(qtbot):
    weights = WeightsView()
    qtbot.addWidget(weights)
    weights.set_neurons(np.zeros((1, 784)), np.zeros(1), ["w"])
    view = LearningView()
    qtbot.addWidget(view)
    spec = ModelSpec()
    params = _params(spec)
    update = {k: np.full(v.shape, 0.01, np.float32) for k, v in params.items()}
    view.reset(Snapshot(spec, params, step=0), params)
    view.set_snapshot(Snapshot(spec, params, step=1, last_update=update))
    picture, bar, readout = _tips(view.update_view)
    assert picture == update_tooltip(spec)
    for text in (picture, bar, readout):
        assert "Δw" in text, text
    # none of it is the weights picture's own text
    for mine, theirs in zip((picture, bar, readout), _tips(weights), strict=True):
        assert mine != theirs
    assert "white means a weight of exactly 0" not in bar


def test_the_change_since_initialization_picture_says_so(qtbot):
    view = WeightsView()
    qtbot.addWidget(view)
    view.set_neurons(np.zeros((1, 784)), np.zeros(1), ["w"])
    weights_tips = _tips(view)
    view.set_value_name("w − w₀")
    picture, bar, readout = _tips(view)
    for text, before in zip((picture, bar, readout), weights_tips, strict=True):
        assert "w − w₀" in text and text != before
    view.set_value_name("weight")  # and back
    assert _tips(view) == weights_tips


def test_the_window_explains_the_change_picture(qtbot, window):
    w = window
    w.show_combo.setCurrentIndex(w.show_combo.findData("delta"))
    qtbot.waitUntil(lambda: w.weights_view.value_name() == "w − w₀", timeout=10_000)
    assert "w − w₀" in w.weights_view.view_box().toolTip()
