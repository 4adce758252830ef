"""The saturation lesson: σ and σ′ with each neuron's images at their z, the flat tails
shaded; on Pullover vs Coat the std-1 neuron freezes at 50 % while std 0.01 and BCE learn."""

import numpy as np
import pytest
from lesson_helpers import run_to_end

from biasviz.core.saturation import Z_SATURATED, sigmoid, sigmoid_slope
from biasviz.gui.lessons.base import Lesson
from biasviz.gui.lessons.saturation_lesson import (
    BCE,
    BIG,
    DATA_CURRENT,
    DATA_FASHION,
    FASHION_FOLDER,
    HIST_HEIGHT,
    SMALL,
    SaturationLesson,
    fashion_available,
)


@pytest.fixture
def lesson(show_lesson, data, tmp_path):
    """On the sample's 3 vs 7 (no Fashion folder offered: fast)."""
    return show_lesson(SaturationLesson, data, None, tmp_path)


def test_it_is_a_lesson_on_the_current_task(lesson, data):
    assert isinstance(lesson, Lesson) and lesson.seed == "001" and lesson.title
    assert lesson.data_combo.count() == 1 and lesson.data_combo.currentData() == DATA_CURRENT
    assert lesson.data().class_names == data.class_names
    assert "3" in lesson.intro.text() and "flat" in lesson.intro.text()


def test_sigmoid_slope_and_flat_tails_are_drawn(lesson):
    x, y = lesson.sigma_curve.getData()
    np.testing.assert_allclose(y, sigmoid(x))
    x, y = lesson.slope_curve.getData()
    np.testing.assert_allclose(y, 4 * sigmoid_slope(x))
    left, right = (r.getRegion() for r in lesson.flat_regions)
    assert left[1] == pytest.approx(-Z_SATURATED) and right[0] == pytest.approx(Z_SATURATED)
    assert left[0] < -Z_SATURATED and right[1] > Z_SATURATED


def test_the_std_1_start_puts_images_in_the_flat_tails_and_std_001_does_not(lesson):
    stats = lesson.stats()
    assert stats[BIG].share_saturated > 0.5  # std 1 over ~100 inked pixels
    assert stats[BCE].share_saturated == stats[BIG].share_saturated  # the same start
    assert stats[SMALL].share_saturated == 0.0
    for i in (BIG, SMALL, BCE):
        assert lesson.hist_heights(i).max() == pytest.approx(HIST_HEIGHT)
    # the pictures show each neuron's weights
    snaps = lesson.snapshots()
    for i in (BIG, SMALL, BCE):
        np.testing.assert_allclose(lesson.pictures.weights(i).ravel(),
                                   snaps[i].params["weights"], rtol=1e-6)
    assert "flat" in lesson.why_label.text() and "Seed 001" in lesson.why_label.text()


def test_the_right_neuron_trains_with_bce_and_a_new_std_starts_again(qtbot, lesson):
    lesson.small_spin.setValue(0.05)
    assert lesson.snapshots()[SMALL].spec.init_std == pytest.approx(0.05)
    run_to_end(qtbot, lesson, epochs=2)
    losses = [t.config.loss.value for t in lesson._trainers]
    assert losses == ["mnist", "mnist", "bce"]
    assert all(t.step > 0 for t in lesson._trainers)
    acc = lesson.accuracies()
    assert acc[SMALL] > 0.8 and acc[BCE] > 0.8  # both learn 3 vs 7 in 8 steps
    lesson.big_spin.setValue(2.0)  # starts again
    assert all(t.step == 0 for t in lesson._trainers)
    assert lesson.snapshots()[BIG].spec.init_std == pytest.approx(2.0)


@pytest.mark.skipif(not fashion_available(), reason="Debian's Fashion-MNIST is not installed")
def test_pullover_vs_coat_freezes_the_std_1_neuron_only(qtbot, show_lesson, data):
    lesson = show_lesson(SaturationLesson, data, None, FASHION_FOLDER)
    assert lesson.data_combo.currentData() == DATA_FASHION
    assert lesson.data().class_names == ("Pullover", "Coat")
    run_to_end(qtbot, lesson, epochs=3)
    acc = lesson.accuracies()
    assert acc[BIG] == pytest.approx(0.5, abs=0.01)  # frozen: every image one answer
    assert acc[SMALL] > 0.75
    assert acc[BCE] > 0.6
    stats = lesson.stats()
    assert stats[BIG].share_wrong_saturated > 0.4 and stats[BIG].error_gradient < 0.01
    assert stats[SMALL].share_wrong_saturated < 0.1
    x, y = lesson.flat_curves[BIG].getData()
    assert len(x) >= 2 and np.all(y > 40)
    # the main window's task can be chosen instead
    lesson.data_combo.setCurrentIndex(lesson.data_combo.findData(DATA_CURRENT))
    assert lesson.data().class_names == data.class_names


def test_a_ten_class_task_is_cut_to_a_pair(lesson, sample):
    from biasviz.core.datasets import Task, make_task_data

    lesson.set_data(make_task_data(sample, Task.all_ten()))
    assert lesson.data().task.is_binary and lesson.data().class_names == ("3", "7")
    assert lesson.task_note.isVisibleTo(lesson) and "3" in lesson.task_note.text()
    assert all(t.step == 0 for t in lesson._trainers)
