"""The "One bias, or one per pixel?" lesson: live curves, the identity, the 784× step,
the preset instability, the blank image, and clean shutdowns."""

import numpy as np
import pytest
from lesson_helpers import FULL_SPEED, run_to_end

from biasviz.core.datasets import Task, make_task_data
from biasviz.core.side_by_side import per_pixel_identity
from biasviz.core.text import num
from biasviz.gui.lessons.base import Lesson
from biasviz.gui.lessons.bias_lesson import (
    INSTABILITY_LR,
    NONE,
    PER_PIXEL,
    SCALAR,
    BiasLesson,
)


@pytest.fixture
def lesson(show_lesson, data):
    return show_lesson(BiasLesson, data)


def npoints(curve) -> int:
    x, _y = curve.getData()
    return 0 if x is None else len(x)



def test_it_is_a_lesson_for_seed_000(lesson):
    assert isinstance(lesson, Lesson)
    assert lesson.seed == "000" and lesson.title
    assert lesson.lr_spin.value() == 1.0 and lesson.std_spin.value() == 1.0
    assert lesson.stop_button.isEnabled() is False


def test_a_short_run_feeds_every_curve_and_readout(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=3)
    steps = 3 * lesson._trainers[0].batches_per_epoch
    for curve in lesson.loss_curves:
        x, _y = curve.getData()
        assert list(x) == list(range(1, steps + 1))
    for curve in lesson.acc_curves:
        x, y = curve.getData()
        assert list(x) == [0, 1, 2, 3] and np.all((y >= 0) & (y <= 100))
    x, _ = lesson.sum_curve.getData()
    assert len(x) == steps + 1  # the start and every step
    assert all(a is not None for a in lesson.accuracies())
    assert lesson.start_button.text() == "Continue"
    assert lesson.table.item(SCALAR, 3).text() == "finished"
    assert lesson.table.item(PER_PIXEL, 1).text() == "1,568"


def test_the_identity_matches_on_real_images(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=2)
    params = lesson.snapshots()[PER_PIXEL].params
    for _ in range(3):
        ident = lesson.identity_values()
        assert ident["lhs"] == pytest.approx(ident["rhs"], abs=1e-3)
        assert ident["bias_sum"] == pytest.approx(float(params["bias"].sum()), abs=1e-3)
        x = lesson._data.valid_x[lesson._image_index] / 255.0
        assert per_pixel_identity(params, x)["lhs"] == pytest.approx(ident["lhs"], abs=1e-9)
        # the text shows the same numbers
        text = lesson.identity_label.text()
        assert num(ident["lhs"], 4) in text
        assert "-" not in text.replace("font-family:sans-serif", "")  # typographic minus only
        before = lesson._image_index
        lesson.next_image_button.click()
        assert lesson._image_index == before + 1


def test_the_bias_sum_moves_hundreds_of_times_as_far_as_b(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=3)
    assert lesson.first_step_ratio() == pytest.approx(784.0, rel=1e-2)
    assert lesson.bias_step_ratio() > 100
    assert "784.0×" in lesson.ratio_label.text()


def test_a_blank_image_is_exactly_50_50_without_a_bias(qtbot, lesson):
    z, p = lesson.blank_outputs()[NONE]
    assert z == 0.0 and p == 0.5  # at the start
    run_to_end(qtbot, lesson, epochs=2)
    z, p = lesson.blank_outputs()[NONE]
    assert z == 0.0 and p == 0.5  # and after training: exactly, not approximately
    zs, _ = lesson.blank_outputs()[SCALAR]
    assert zs == pytest.approx(float(lesson.snapshots()[SCALAR].params["bias"][0]))
    assert "0.5000" in lesson.blank_label.text()


def test_the_instability_preset_sticks_the_per_pixel_neuron_at_50_percent(qtbot, lesson):
    lesson.speed_combo.setCurrentIndex(FULL_SPEED)
    lesson.epochs_spin.setValue(5)
    lesson.start_combo.setCurrentIndex(1)  # the preset restores the measured set-up
    with qtbot.waitSignal(lesson.runner().ended, timeout=20_000):
        lesson.preset_button.click()
    assert lesson.lr_spin.value() == INSTABILITY_LR
    assert lesson.start_combo.currentIndex() == 0
    assert lesson.hint.isVisible() and "What to watch for" in lesson.hint.text()
    acc = lesson.accuracies()
    assert acc[PER_PIXEL] == pytest.approx(0.5)
    assert acc[SCALAR] > 0.9
    assert lesson.table.item(PER_PIXEL, 3).text() == "stuck at 50%"
    # changing the learning rate by hand takes the preset's explanation away
    lesson.lr_spin.setValue(1.0)
    assert not lesson.hint.isVisible()


def test_reset_and_init_controls_start_again(qtbot, lesson):
    run_to_end(qtbot, lesson, epochs=1)
    lesson.reset_button.click()
    assert all(t.step == 0 for t in lesson._trainers)
    assert all(npoints(c) == 0 for c in lesson.loss_curves)
    assert lesson.start_button.text() == "Start"
    run_to_end(qtbot, lesson, epochs=1)
    lesson.seed_spin.setValue(lesson.seed_spin.value() + 1)  # a new start
    assert all(t.step == 0 for t in lesson._trainers)


def test_the_per_pixel_start_options(qtbot, lesson):
    snaps = lesson.snapshots()
    b = float(snaps[SCALAR].params["bias"][0])
    assert float(snaps[PER_PIXEL].params["bias"].sum()) == pytest.approx(b, abs=1e-5)
    assert np.ptp(snaps[PER_PIXEL].params["bias"]) == 0.0
    lesson.start_combo.setCurrentIndex(1)  # 784 random biases
    snaps = lesson.snapshots()
    assert np.ptp(snaps[PER_PIXEL].params["bias"]) > 1.0
    # all three still share their 784 weights
    np.testing.assert_array_equal(snaps[SCALAR].params["weights"],
                                  snaps[PER_PIXEL].params["weights"])
    np.testing.assert_array_equal(snaps[SCALAR].params["weights"],
                                  snaps[NONE].params["weights"])


def test_ten_classes_use_three_versus_seven_with_a_note(lesson, sample):
    lesson.set_data(make_task_data(sample, Task.all_ten()))
    assert lesson._data.task == Task.pair(3, 7)
    assert not lesson.task_note.isHidden() and "ten classes" in lesson.task_note.text()
    lesson.set_data(make_task_data(sample, Task.pair(1, 8)))
    assert lesson.task_note.isHidden()
    assert "“1” vs “8”" in lesson.intro.text()


def test_every_view_explains_itself(lesson):
    for w in (lesson.loss_plot, lesson.acc_plot, lesson.bias_plot, lesson.table,
              lesson.identity_label, lesson.blank_label, lesson.ratio_label, lesson.lr_spin,
              lesson.epochs_spin, lesson.std_spin, lesson.seed_spin, lesson.start_combo,
              lesson.speed_combo, lesson.start_button, lesson.stop_button,
              lesson.reset_button, lesson.preset_button, lesson.next_image_button,
              lesson.bias_numbers, lesson.image_label):
        assert w.toolTip(), w
    assert lesson.bias_picture._area.toolTip()


def test_shutdown_mid_run_leaves_no_thread(qtbot, lesson):
    lesson.speed_combo.setCurrentIndex(0)  # slow: it is surely still running
    lesson.epochs_spin.setValue(500)
    lesson.start_button.click()
    qtbot.waitUntil(lambda: lesson._trainers[0].step >= 2, timeout=10_000)
    assert lesson.is_running()
    lesson.shutdown()
    assert not lesson.runner().thread_object().isRunning()
    lesson.shutdown()  # idempotent
    lesson.start_button.click()  # a closed lesson does not start again
    assert not lesson.is_running()


def test_closing_mid_run_is_clean(qtbot, sample):
    w = BiasLesson(make_task_data(sample, Task.pair(3, 7)))
    qtbot.addWidget(w)
    w.show()
    w.speed_combo.setCurrentIndex(1)
    w.epochs_spin.setValue(500)
    w.start()
    qtbot.waitUntil(lambda: w._trainers[0].step >= 3, timeout=10_000)
    w.close()
    assert not w.runner().thread_object().isRunning()
    qtbot.wait(50)  # nothing queued from the run arrives afterwards and breaks


def test_updates_are_throttled(qtbot, lesson):
    lesson.speed_combo.setCurrentIndex(FULL_SPEED)
    lesson.epochs_spin.setValue(60)  # 240 tiny steps, far faster than 20 a second
    with qtbot.waitSignal(lesson.runner().ended, timeout=20_000):
        lesson.start_button.click()
    steps = 60 * lesson._trainers[0].batches_per_epoch
    assert len(lesson.loss_curves[0].getData()[0]) == steps  # no step lost
    assert lesson.runner().updates_sent() < steps / 2  # but sent in batches


def test_the_formulas_never_wrap_inside(lesson):
    """At 1280×720 the key read "(x*w +" then "b).sum()" (session 8's review): a formula's
    spaces are non-breaking."""
    import re

    codes = re.findall(r"<code>(.*?)</code>", lesson.key_label.text())
    assert len(codes) == 3 and all(" " not in code for code in codes), codes
