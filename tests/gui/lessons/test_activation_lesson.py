"""The activation lesson (seed 001): w sets the steepness, b moves the trigger point to
−b/w, the threshold form and the bias form fire on the same x, and the trained single
neuron's validation images sit on its sigmoid."""

from __future__ import annotations

import numpy as np
import pytest

from biasviz.core.chapter import midpoint
from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.models import build_model, snapshot_params
from biasviz.core.spec import ModelKind, ModelSpec, Snapshot
from biasviz.core.training import Trainer
from biasviz.gui.lessons.activation_lesson import (
    RELU_AXIS_SCALE,
    ActivationLesson,
    ValueControl,
    num,
)
from biasviz.gui.lessons.base import Lesson


@pytest.fixture(scope="module")
def trained(data):
    trainer = Trainer(ModelSpec(), data)
    list(trainer.run(10))
    return trainer.snapshot()


@pytest.fixture
def lesson(show_lesson):
    return show_lesson(ActivationLesson)


def slope_at(lesson: ActivationLesson, kind: str, x0: float) -> float:
    """The drawn curve's slope at x0 (central difference on its own samples)."""
    x, y = lesson.curve_data(kind)
    i = int(np.argmin(np.abs(x - x0)))
    return float((y[i + 1] - y[i - 1]) / (x[i + 1] - x[i - 1]))


def test_lesson_opens_with_all_four_curves(lesson):
    assert isinstance(lesson, Lesson)
    assert lesson.seed == "001"
    assert set(lesson.curves) == {"sigmoid", "step", "relu", "tanh"}
    assert all(c.isVisible() for c in lesson.curves.values())
    assert lesson.w_control.value() == 1.0 and lesson.b_control.value() == 0.0
    x, y = lesson.curve_data("sigmoid")
    assert x[0] == pytest.approx(-6.0) and x[-1] == pytest.approx(6.0)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)))
    assert lesson.midpoint_line.isVisible() and lesson.midpoint_line.value() == 0.0
    # the trained-neuron panel explains what it needs
    assert "Load a dataset" in lesson.neuron_note.text()


def test_moving_w_makes_the_rise_proportionally_steeper(lesson):
    lesson.b_control.setValue(-1.0)
    lesson.w_control.setValue(1.0)
    slope1 = slope_at(lesson, "sigmoid", midpoint(1.0, -1.0))
    lesson.w_control.setValue(2.0)
    slope2 = slope_at(lesson, "sigmoid", midpoint(2.0, -1.0))
    lesson.w_control.setValue(3.0)
    slope3 = slope_at(lesson, "sigmoid", midpoint(3.0, -1.0))
    assert slope1 == pytest.approx(0.25, rel=1e-3)
    assert slope2 / slope1 == pytest.approx(2.0, rel=1e-3)
    assert slope3 / slope1 == pytest.approx(3.0, rel=1e-3)
    assert slope_at(lesson, "tanh", midpoint(3.0, -1.0)) == pytest.approx(3.0, rel=1e-3)
    assert "rise 3× as fast" in lesson.trigger_label.text()
    assert "w/4 = 0.750" in lesson.trigger_label.text()


def test_moving_b_moves_the_midpoint_line_to_minus_b_over_w(lesson):
    lesson.w_control.setValue(2.0)
    lesson.b_control.setValue(-3.0)
    assert lesson.midpoint_line.value() == pytest.approx(1.5)
    assert lesson.midpoint_line.isVisible()
    assert "1.50" in lesson.midpoint_label.format
    text = lesson.trigger_label.text()
    assert "w = 2.00" in text and "rise 2× as fast" in text
    assert "b = −3.00" in text and "x = −b/w = <b>1.50</b>" in text
    # σ crosses one half exactly at the line, where the step jumps and ReLU bends
    x, y = lesson.curve_data("sigmoid")
    assert np.interp(1.5, x, y) == pytest.approx(0.5)
    xs, ys = lesson.curve_data("step")
    np.testing.assert_allclose(xs, [-6.0, 1.5, 1.5, 6.0])
    np.testing.assert_array_equal(ys, [0.0, 0.0, 1.0, 1.0])
    lesson.b_control.setValue(4.0)
    assert lesson.midpoint_line.value() == pytest.approx(-2.0)


def test_negative_w_mirrors_the_curve(lesson):
    lesson.w_control.setValue(-2.0)
    lesson.b_control.setValue(1.0)
    x, y = lesson.curve_data("sigmoid")
    assert y[0] > 0.99 and y[-1] < 0.01
    assert lesson.midpoint_line.value() == pytest.approx(0.5)
    assert "falls" in lesson.trigger_label.text()


def test_w_zero_has_no_midpoint(lesson):
    lesson.b_control.setValue(-3.0)
    lesson.w_control.setValue(0.0)
    assert not lesson.midpoint_line.isVisible()
    x, y = lesson.curve_data("sigmoid")
    np.testing.assert_allclose(y, 1 / (1 + np.exp(3.0)))
    text = lesson.trigger_label.text()
    assert "no midpoint" in text and "σ(b) = σ(−3.00) = 0.047" in text


def test_midpoint_off_the_plot_is_explained(lesson):
    lesson.w_control.setValue(0.5)
    lesson.b_control.setValue(-5.0)  # midpoint at x = 10
    assert not lesson.midpoint_line.isVisible()
    assert lesson.range_note.isVisible() and "10.00" in lesson.range_note.text()
    lesson.range_spin.setValue(12.0)
    assert lesson.midpoint_line.isVisible() and not lesson.range_note.isVisible()
    x, _ = lesson.curve_data("sigmoid")
    assert x[0] == pytest.approx(-12.0) and x[-1] == pytest.approx(12.0)


def test_relu_is_drawn_against_its_own_axis(lesson):
    lesson.w_control.setValue(2.0)
    lesson.b_control.setValue(-1.0)
    x, y = lesson.curve_data("relu")
    np.testing.assert_allclose(y, np.maximum(2 * x - 1, 0))
    _, raw = lesson.curves["relu"].getData()
    np.testing.assert_allclose(raw, y / RELU_AXIS_SCALE)
    right = lesson.curve_plot.getPlotItem().getAxis("right")
    assert right.scale == RELU_AXIS_SCALE and right.isVisible()


def test_checkboxes_hide_and_show_curves(lesson):
    lesson.curve_checks["relu"].setChecked(False)
    assert not lesson.curves["relu"].isVisible()
    assert not lesson.curve_plot.getPlotItem().getAxis("right").isVisible()
    lesson.curve_checks["sigmoid"].setChecked(False)
    assert not lesson.curves["sigmoid"].isVisible()
    assert len(lesson.midpoint_dot.data) == 0
    lesson.curve_checks["sigmoid"].setChecked(True)
    assert lesson.curves["sigmoid"].isVisible() and len(lesson.midpoint_dot.data) == 1
    assert lesson.curves["step"].isVisible() and lesson.curves["tanh"].isVisible()


@pytest.mark.parametrize("w,t", [(2.0, 3.0), (-1.5, 2.0), (0.5, -1.0), (0.0, -1.0), (0.0, 2.0)])
def test_threshold_and_bias_forms_select_the_same_x(lesson, w, t):
    lesson.w_control.setValue(w)
    lesson.t_control.setValue(t)
    assert lesson.b_control.value() == pytest.approx(-t)  # tied: b = −t
    by_threshold, by_bias = lesson.threshold_sets()
    np.testing.assert_array_equal(by_threshold, by_bias)
    regions = lesson.fire_regions()
    assert regions[0] == regions[1]
    x = np.linspace(-6, 6, 241)
    if by_threshold.any():
        lo, hi = regions[0]
        inside = (x >= lo - 1e-9) & (x <= hi + 1e-9)
        np.testing.assert_array_equal(inside, by_threshold)
    else:
        assert regions == [None, None]
    first = lesson.threshold_form_label.text()
    second = lesson.bias_form_label.text()
    assert first.startswith("w·x ≥ t") and second.startswith("w·x + b ≥ 0")
    assert num(-t) in second
    if w != 0:
        cut = num(t / w)
        assert cut in first and cut in second
        assert ("≥ " + cut) in first if w > 0 else ("≤ " + cut) in first


def test_b_slider_moves_t(lesson):
    lesson.b_control.setValue(2.5)
    assert lesson.t_control.value() == -2.5
    assert lesson.form_levels[0].value() == pytest.approx(-2.5)
    assert lesson.form_levels[1].value() == 0.0


def test_value_control_keeps_slider_and_spin_in_step(qtbot):
    control = ValueControl("w", -5, 5, 0.1, 2, 1.0)
    qtbot.addWidget(control)
    seen = []
    control.valueChanged.connect(seen.append)
    control.slider.setValue(control.slider.value() + 10)
    assert control.value() == 2.0 and control.spin.value() == 2.0 and seen == [2.0]
    control.spin.setValue(-1.23)
    assert control.value() == -1.23 and seen[-1] == -1.23
    assert control.slider.value() == round((-1.23 + 5) / 0.1)
    control.setValue(99)
    assert control.value() == 5.0


def test_trained_neuron_images_sit_on_its_sigmoid(lesson, data, trained):
    lesson.set_data(data)
    lesson.set_model(trained)
    lesson.flush()
    assert lesson.points_count() == data.n_valid
    n_first = int((data.valid_y == 1).sum())
    assert len(lesson.scatter_first.data) == n_first
    assert len(lesson.scatter_second.data) == data.n_valid - n_first
    # every dot is at its own z = w·x + b, at height σ(z) (give or take the jitter)
    w, b = trained.params["weights"], float(trained.params["bias"][0])
    z = data.valid_x.astype(np.float64) / 255 @ w + b
    xs, ys = lesson.scatter_first.getData()
    np.testing.assert_allclose(np.sort(xs), np.sort(z[data.valid_y == 1]), rtol=1e-5, atol=1e-5)
    lesson.jitter_check.setChecked(False)
    xs, ys = lesson.scatter_first.getData()
    np.testing.assert_allclose(ys, 1 / (1 + np.exp(-xs)), atol=1e-9)
    assert not lesson.neuron_note.isVisible()
    text = lesson.neuron_text.text()
    assert f"{data.n_valid:,}" in text and "correct side" in text
    # the legend names the classes
    names = [label.text for _sample, label in lesson.neuron_legend.items]
    assert any(n.startswith("3 (first class") for n in names)
    assert any(n.startswith("7 (second class") for n in names)


def test_other_models_get_a_note(lesson, data):
    lesson.set_data(data)
    spec = ModelSpec(kind=ModelKind.MLP, n_outputs=1, hidden=8)
    lesson.set_model(Snapshot(spec, snapshot_params(build_model(spec))))
    lesson.flush()
    assert lesson.points_count() == 0
    assert lesson.neuron_note.isVisible()
    assert "switch to the single neuron" in lesson.neuron_note.text()
    lesson.set_model(None)
    lesson.flush()
    assert "press Start" in lesson.neuron_note.text()


def test_ten_classes_get_a_note(lesson):
    lesson.set_data(make_task_data(load_sample(), Task.all_ten()))
    spec = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    lesson.set_model(Snapshot(spec, snapshot_params(build_model(spec))))
    lesson.flush()
    assert lesson.points_count() == 0
    assert "two-class task" in lesson.neuron_note.text()


def test_updates_are_throttled_and_wait_while_hidden(qtbot, data, trained):
    lesson = ActivationLesson()
    qtbot.addWidget(lesson)
    lesson.set_data(data)
    lesson.set_model(trained)
    assert lesson.points_count() == 0  # hidden: nothing computed yet
    lesson.show()
    qtbot.waitExposed(lesson)
    assert lesson.points_count() == data.n_valid  # caught up when shown
    lesson.set_model(None)  # right after a refresh: deferred, not dropped
    assert lesson.points_count() == data.n_valid
    qtbot.waitUntil(lambda: lesson.points_count() == 0, timeout=2000)
    lesson.shutdown()


def test_the_neuron_is_called_trained_only_after_a_step(lesson, data, trained):
    """Walk-through V: "Your trained neuron" at step 0."""
    lesson.set_data(data)
    untrained = Snapshot(ModelSpec(), snapshot_params(build_model(ModelSpec())))
    assert untrained.step == 0
    lesson.set_model(untrained)
    lesson.flush()
    title = lesson.neuron_box.title()
    assert "trained" not in title.replace("not trained here yet", "")
    assert "not trained here yet" in title and lesson.points_count() == data.n_valid
    lesson.set_model(trained)
    lesson.flush()
    assert trained.step > 0
    assert f"trained neuron (step {trained.step:,})" in lesson.neuron_box.title()
