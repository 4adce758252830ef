"""The "Zero initialization" lesson: zero-started hidden neurons stay identical (and 0),
random ones differ, one neuron learns from zeros; clean shutdowns."""

import numpy as np
import pytest
from lesson_helpers import run_to_end

from biasviz.core.datasets import Task, make_task_data
from biasviz.gui.lessons.base import Lesson
from biasviz.gui.lessons.zero_init_lesson import (
    FLOOR,
    RANDOM,
    SAME_VALUE,
    SINGLE,
    ZERO,
    ZeroInitLesson,
)


@pytest.fixture
def lesson(show_lesson, data):
    return show_lesson(ZeroInitLesson, data)



def test_it_is_a_lesson_for_seed_001(lesson):
    assert isinstance(lesson, Lesson)
    assert lesson.seed == "001" and lesson.title
    assert lesson.hidden_spin.value() == 8
    assert lesson.zero_view.tile_count() == 8 and lesson.random_view.tile_count() == 8


def test_zero_start_stays_symmetric_and_random_does_not(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=3)
    zero_sym, random_sym = lesson.symmetry()
    assert zero_sym == 0.0  # exactly
    assert random_sym > 0
    zp = lesson.snapshots()[ZERO].params
    # not only identical: nothing reached them at all
    assert not np.any(zp["hidden.weights"]) and not np.any(zp["output.weights"])
    assert zp["output.biases"][0] != 0  # the one parameter that does learn
    acc = lesson.accuracies()
    assert acc[ZERO] == pytest.approx(0.5)
    assert acc[RANDOM] > 0.9
    assert acc[SINGLE] > 0.9  # one neuron from zeros learns
    assert np.ptp(lesson.snapshots()[SINGLE].params["weights"]) > 0
    # the symmetry plot has a point per update, the exact 0 drawn on the floor
    # (the plot is in log mode: getData gives log10 of the values)
    x, y = lesson.sym_curves[0].getData()
    assert len(x) >= 2 and np.allclose(y, np.log10(FLOOR))
    x, y = lesson.sym_curves[1].getData()
    assert np.all(y > np.log10(FLOOR))
    for curve in lesson.acc_curves:
        assert list(curve.getData()[0]) == [0, 1, 2, 3]
    assert "exactly 0" in lesson.zero_view._note_label.text()


def test_the_same_value_start_moves_but_stays_symmetric(qtbot, lesson):
    lesson.start_combo.setCurrentIndex(1)
    zp = lesson.snapshots()[ZERO].params
    assert np.all(zp["hidden.weights"] == np.float32(SAME_VALUE))
    run_to_end(qtbot, lesson, epochs=3)
    zp = lesson.snapshots()[ZERO].params
    assert lesson.symmetry()[ZERO] == 0.0
    assert np.any(zp["hidden.weights"] != np.float32(SAME_VALUE))  # it did learn
    assert "copies" in lesson.why_label.text()
    # where the copies do as well as different neurons, the lesson says why (a learner
    # could read it as "symmetry does not matter")
    copies, different = lesson._accuracy[ZERO], lesson._accuracy[RANDOM]
    said = "one neuron already separates this pair" in lesson.why_label.text()
    assert said == (copies >= different - 0.02), (copies, different)


def test_pictures_can_show_the_change_since_the_start(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=2)
    lesson.show_combo.setCurrentIndex(1)
    snaps = lesson.snapshots()
    start = lesson._start[RANDOM].params["hidden.weights"]
    np.testing.assert_allclose(lesson.random_view.current_weights(),
                               snaps[RANDOM].params["hidden.weights"] - start, atol=1e-6)
    lesson.show_combo.setCurrentIndex(0)
    np.testing.assert_allclose(lesson.random_view.current_weights(),
                               snaps[RANDOM].params["hidden.weights"], atol=1e-6)


def test_hidden_size_and_reset_start_again(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=1)
    lesson.hidden_spin.setValue(5)
    assert lesson.zero_view.tile_count() == 5
    assert all(t.step == 0 for t in lesson._trainers)
    run_to_end(qtbot, lesson, epochs=1)
    lesson.reset_button.click()
    assert all(t.step == 0 for t in lesson._trainers)
    assert lesson.start_button.text() == "Start"


def test_ten_classes_use_three_versus_seven_with_a_note(lesson, sample):
    lesson.set_data(make_task_data(sample, Task.all_ten()))
    assert lesson._data.task == Task.pair(3, 7)
    assert not lesson.task_note.isHidden()


def test_every_view_explains_itself(lesson):
    for w in (lesson.sym_plot, lesson.acc_plot, lesson.why_label, lesson.single_label,
              lesson.hidden_spin, lesson.std_spin, lesson.lr_spin, lesson.epochs_spin,
              lesson.seed_spin, lesson.start_combo, lesson.speed_combo, lesson.show_combo,
              lesson.start_button, lesson.stop_button, lesson.reset_button, lesson.key_label):
        assert w.toolTip(), w
    for view in (lesson.zero_view, lesson.random_view, lesson.single_view):
        assert view._view.toolTip()


def test_shutdown_mid_run_leaves_no_thread(qtbot, lesson):
    lesson.speed_combo.setCurrentIndex(0)
    lesson.epochs_spin.setValue(500)
    lesson.start_button.click()
    qtbot.waitUntil(lambda: lesson._trainers[0].step >= 2, timeout=10_000)
    assert lesson.is_running()
    lesson.shutdown()
    assert not lesson.runner().thread_object().isRunning()
    lesson.shutdown()


def test_closing_mid_run_is_clean(qtbot, sample):
    w = ZeroInitLesson(make_task_data(sample, Task.pair(3, 7)))
    qtbot.addWidget(w)
    w.show()
    w.speed_combo.setCurrentIndex(1)
    w.epochs_spin.setValue(500)
    w.start()
    qtbot.waitUntil(lambda: w._trainers[0].step >= 3, timeout=10_000)
    w.close()
    assert not w.runner().thread_object().isRunning()
    qtbot.wait(50)


def test_the_intro_follows_the_chosen_start(lesson):
    """Walk-through V: after choosing "every parameter 0.01" the intro still said every
    weight stays 0 — the neurons do move there, as identical copies."""
    zeros = lesson.intro.text()
    assert "every weight 0" in zeros and "stay 0" in zeros
    lesson.start_combo.setCurrentIndex(1)
    same = lesson.intro.text()
    assert f"every parameter {SAME_VALUE:g}" in same
    assert "stay 0" not in same and "every weight 0" not in same
    assert "identical" in same and "same template" in same
    lesson.start_combo.setCurrentIndex(0)
    assert lesson.intro.text() == zeros
