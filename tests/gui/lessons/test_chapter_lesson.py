"""The chapter lesson: the pixel-similarity baseline beside the learned weights, and the
1.0001 experiment (the loss moves, the accuracy does not)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from biasviz.core.chapter import (
    baseline_linear,
    influential_pixel,
    pixel_similarity_accuracy,
    scale_weight_effect,
)
from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.models import build_model, snapshot_params
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, Snapshot
from biasviz.core.text import num
from biasviz.core.training import Trainer
from biasviz.gui.lessons.base import Lesson
from biasviz.gui.lessons.chapter_lesson import (
    DEFAULT_FACTOR,
    ChapterLesson,
    is_chapter_setup,
    nice_range,
    signed_sci,
)


@pytest.fixture(scope="module")
def trained(data):
    trainer = Trainer(ModelSpec(), data)
    list(trainer.run(30))
    return trainer.snapshot()


@pytest.fixture
def lesson(show_lesson):
    return show_lesson(ChapterLesson)


@pytest.fixture
def ready(lesson, data, trained):
    lesson.set_data(data)
    lesson.set_model(trained)
    lesson.flush()
    return lesson


def test_lesson_opens_and_asks_for_data(lesson):
    assert isinstance(lesson, Lesson)
    assert lesson.seed == "chapter"
    assert lesson.stack.currentWidget() is lesson.note_page
    assert "Load a dataset" in lesson.page_note.text()


def test_baseline_numbers_match_the_core(ready, data):
    base = ready.baseline_numbers()
    assert base["similarity"] == pixel_similarity_accuracy(data)
    weights, bias, accuracy = baseline_linear(data)
    assert base["linear"] == accuracy and base["best_bias"] == bias
    np.testing.assert_allclose(ready.baseline_view.current_weights()[0], weights, rtol=1e-6)
    text = ready.baseline_label.text()
    assert "92.5%" in text and "96.5%" in text  # measured on the bundled sample
    assert "3s 85.0%, 7s 100.0%" in text
    assert "mean |difference|" in text
    assert "squared" in ready.connection_label.text()
    # two biases for the same weights: the text says which is which (a learner saw
    # "b = −5.73 (the best bias…)" and "= −6.58 (96.5% here)" with no word on why)
    connection = ready.connection_label.text()
    assert num(base["nearest_bias"]) in connection and num(base["best_bias"]) in connection
    assert "another bias" in connection


def test_learned_weights_and_accuracy_are_shown(ready, trained):
    assert ready.learned_stack.currentWidget() is ready.learned_view
    np.testing.assert_allclose(ready.learned_view.current_weights()[0],
                               trained.params["weights"])
    result = ready.scale_result()
    assert f"{100 * result['acc_before']:.1f}%" in ready.baseline_label.text()
    assert f"step {trained.step:,}" in ready.baseline_label.text()


def test_the_learned_neuron_shows_what_training_changed_given_its_start(ready, trained):
    """Beside the mean-3 − mean-7 template the raw w of a normal(0, 1) start looked like
    noise, as if SGD had learned nothing (a learner walk): with w₀ known the lesson shows
    w − w₀ as the main window does, and w on request; the experiment keeps using w."""
    start = snapshot_params(build_model(ModelSpec()))
    ready.set_start(start)
    ready.flush()
    assert ready.learned_show.isEnabled() and ready.learned_show.currentData() == "delta"
    assert ready.learned_view.colorbar_label() == "w − w₀"
    np.testing.assert_allclose(ready.learned_view.current_weights()[0],
                               trained.params["weights"] - start["weights"], rtol=1e-5,
                               atol=1e-6)
    ready.learned_show.setCurrentIndex(ready.learned_show.findData("weights"))
    ready.flush()
    np.testing.assert_allclose(ready.learned_view.current_weights()[0],
                               trained.params["weights"])
    # the untrained start: nothing changed yet, w shown
    ready.learned_show.setCurrentIndex(ready.learned_show.findData("delta"))
    ready.set_model(Snapshot(ModelSpec(), start, 0, 0))
    ready.flush()
    assert not ready.learned_show.isEnabled()
    np.testing.assert_allclose(ready.learned_view.current_weights()[0], start["weights"])


def test_chapter_model_is_marked(ready):
    assert "This is the fastai chapter 04_mnist_basics model" in ready.badge.text()


def test_other_setups_are_not_called_the_chapter_model(lesson, data):
    lesson.set_data(make_task_data(load_sample(), Task.pair(4, 9)))
    lesson.set_model(Snapshot(ModelSpec(), snapshot_params(build_model(ModelSpec()))))
    assert "This is the fastai" not in lesson.badge.text()
    assert "4 vs 9" in lesson.badge.text()
    spec = ModelSpec(bias_mode=BiasMode.PER_PIXEL)
    assert not is_chapter_setup(data, Snapshot(spec, snapshot_params(build_model(spec))))
    assert is_chapter_setup(data, Snapshot(ModelSpec(), {}))


def test_scaling_by_1_0001_moves_the_loss_not_the_accuracy(ready, data, trained):
    result = ready.scale_result()
    assert result["factor"] == pytest.approx(DEFAULT_FACTOR)
    assert result["pixel"] == influential_pixel(trained.params["weights"], data.valid_x)
    assert result["acc_after"] == result["acc_before"]
    assert result["flips"] == 0
    assert result["loss_after"] != result["loss_before"]
    assert abs(result["loss_after"] - result["loss_before"]) < 1e-4
    # the same numbers as the core's direct computation
    expected = scale_weight_effect(trained.params, data.valid_x, data.valid_y,
                                   result["pixel"], DEFAULT_FACTOR)
    got = (result["loss_before"], result["loss_after"], result["acc_before"],
           result["acc_after"])
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    text = ready.numbers_label.text()
    assert f"{result['loss_before']:.10f}" in text and f"{result['loss_after']:.10f}" in text
    assert "no prediction flipped" in text
    assert "× 10⁻" in text  # the difference, readable
    assert "gradient is zero almost everywhere" in ready.why_label.text()


def test_accuracy_is_a_staircase_and_the_loss_is_smooth(ready):
    result = ready.scale_result()
    factors, accs, losses = result["factors"], result["accuracies"], result["losses"]
    assert 1.0 in factors and DEFAULT_FACTOR in factors
    assert np.count_nonzero(np.diff(accs)) < len(factors) / 5
    assert len(np.unique(losses)) == len(losses)
    x, y = ready.acc_curve.getData()
    np.testing.assert_allclose(y, 100 * accs)
    assert ready.factor_lines[0].value() == pytest.approx(DEFAULT_FACTOR)
    assert "jumps in accuracy" in ready.range_caption.text()


def test_a_big_factor_flips_predictions(ready):
    ready.factor_spin.setValue(ready.scale_result()["factor"] + 4 * ready.range_spin.value())
    result = ready.scale_result()
    assert result["flips"] > 0
    assert result["acc_after"] != result["acc_before"]
    assert "flipped" in ready.numbers_label.text()
    assert ready.factor_lines[1].value() == pytest.approx(result["factor"])


def test_choosing_pixels(ready, data, trained):
    ready.set_pixel(14, 9)
    assert ready.pixel() == 14 * 28 + 9
    assert (ready.row_spin.value(), ready.col_spin.value()) == (14, 9)
    rect = ready.pixel_marker.rect()
    assert (rect.x(), rect.y()) == (9.0, 14.0)
    assert ready.scale_result()["pixel"] == 14 * 28 + 9
    ready.col_spin.setValue(10)
    assert ready.pixel() == 14 * 28 + 10
    ready.choose_largest_weight()
    assert ready.pixel() == int(np.argmax(np.abs(trained.params["weights"])))
    ready.choose_influential_pixel()
    assert ready.pixel() == influential_pixel(trained.params["weights"], data.valid_x)


def test_a_pixel_without_ink_changes_nothing_and_says_why(ready, data):
    ready.set_pixel(0, 0)
    result = ready.scale_result()
    assert result["loss_after"] == result["loss_before"]
    assert "training never changed this weight" in ready.pixel_label.text()
    assert "no image has ink there" in ready.numbers_label.text()


def test_clicking_the_learned_weights_picks_a_pixel(ready, qtbot):
    view = ready.learned_view
    ox, oy = view.tile_origin(0)
    scene_pos = view.view_box().mapViewToScene(QPointF(ox + 5.5, oy + 20.5))
    viewport_pos = view.plot_widget().mapFromScene(scene_pos)
    qtbot.mouseClick(view.plot_widget().viewport(), Qt.MouseButton.LeftButton,
                     pos=viewport_pos)
    qtbot.waitUntil(lambda: ready.pixel() == 20 * 28 + 5, timeout=2000)


def test_ten_classes_show_a_note(lesson):
    lesson.set_data(make_task_data(load_sample(), Task.all_ten()))
    spec = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    lesson.set_model(Snapshot(spec, snapshot_params(build_model(spec))))
    lesson.flush()
    assert lesson.stack.currentWidget() is lesson.note_page
    assert "two-class neuron" in lesson.page_note.text()


def test_other_models_on_two_classes(lesson, data):
    lesson.set_data(data)
    spec = ModelSpec(kind=ModelKind.MLP, n_outputs=1, hidden=8)
    lesson.set_model(Snapshot(spec, snapshot_params(build_model(spec))))
    lesson.flush()
    assert lesson.stack.currentWidget() is lesson.content_page
    assert lesson.baseline_numbers()["similarity"] > 0.9  # the baseline needs no model
    assert lesson.scale_stack.currentWidget() is lesson.scale_note
    assert "switch to the single" in lesson.scale_note.text()
    assert lesson.learned_stack.currentWidget() is lesson.learned_note
    lesson.set_model(None)
    lesson.flush()
    assert "press Start" in lesson.scale_note.text()


def test_helpers():
    assert nice_range(2.55) == 5.0
    assert nice_range(80.0) == 0.5
    assert nice_range(0.0) == 3.0
    assert signed_sci(-4.924e-7) == "−4.9 × 10⁻⁷"
    assert signed_sci(1.2e-6) == "+1.2 × 10⁻⁶"


def test_new_data_drops_the_old_images_outputs(ready, trained):
    ready.set_data(make_task_data(load_sample(), Task.pair(1, 0)))
    assert ready.scale_result() == {}
    ready.factor_spin.setValue(2.0)  # must not mix the old images' z with the new targets
    ready.flush()
    result = ready.scale_result()
    assert result["factors"].shape == result["accuracies"].shape
    assert "1 vs 0" in ready.badge.text()


def test_nothing_is_called_trained_at_step_0(lesson, data, trained):
    """Walk-through V: "dotted: 1 = as trained" and "Your learned neuron" at step 0."""
    lesson.set_data(data)
    untrained = Snapshot(ModelSpec(), snapshot_params(build_model(ModelSpec())))
    lesson.set_model(untrained)
    lesson.flush()
    caption, table = lesson.range_caption.text(), lesson.baseline_label.text()
    assert "as trained" not in caption and "not trained here yet" in caption
    assert "learned neuron" not in table and "not trained here yet" in table
    lesson.set_model(trained)
    lesson.flush()
    assert "as trained" in lesson.range_caption.text()
    assert f"Your learned neuron (SGD, step {trained.step:,}" in lesson.baseline_label.text()
