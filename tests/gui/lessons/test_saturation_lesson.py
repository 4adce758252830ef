"""The saturation lesson: σ and σ′ with each neuron's images at their z, the flat tails
shaded; on Pullover vs Coat the std-1 neuron freezes at 50 % while std 0.01 and BCE learn."""

from pathlib import Path

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
    HIST_HEIGHT,
    SMALL,
    SaturationLesson,
    _share,
    fashion_available,
)


@pytest.fixture
def lesson(show_lesson, data, tmp_path):
    """On the sample's 3 vs 7 (no Fashion folder offered: fast)."""
    return show_lesson(SaturationLesson, data, None, tmp_path)


def test_it_is_a_lesson_on_the_current_task(lesson, data):
    assert isinstance(lesson, Lesson) and lesson.seed == "001" and lesson.title
    assert lesson.data_combo.count() == 1 and lesson.data_combo.currentData() == DATA_CURRENT
    assert "Dataset box to download it" in lesson.data_combo.toolTip()
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
    assert "flat" in lesson.why_label.text() and "sets the steepness" in lesson.why_label.text()


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


FASHION_FOLDER = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


@pytest.mark.skipif(not fashion_available(FASHION_FOLDER),
                    reason="Debian's Fashion-MNIST is not installed")
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
    assert f"read from {FASHION_FOLDER}" in lesson.data_combo.toolTip()
    # the main window's task can be chosen instead
    lesson.data_combo.setCurrentIndex(lesson.data_combo.findData(DATA_CURRENT))
    assert lesson.data().class_names == data.class_names


def test_a_ten_class_task_is_cut_to_a_pair(lesson, sample):
    from biasviz.core.datasets import Task, make_task_data

    lesson.set_data(make_task_data(sample, Task.all_ten()))
    assert lesson.data().task.is_binary and lesson.data().class_names == ("3", "7")
    assert lesson.task_note.isVisibleTo(lesson) and "3" in lesson.task_note.text()
    assert all(t.step == 0 for t in lesson._trainers)


def _autograd_share(lesson, i):
    """What neuron ``i``'s wrongly classified probe images send back to its weights under
    its own loss, by torch autograd: Σ_wrong |∂L/∂z| over n images, as a share of the
    most each could send (the largest |∂L/∂z| the loss allows, found on a grid of z)."""
    import torch
    import torch.nn.functional as F

    from biasviz.core.spec import BinaryLoss
    from biasviz.core.training import mnist_loss

    def per_image_loss(z, t):
        if lesson.losses()[i] is BinaryLoss.BCE:
            return F.binary_cross_entropy_with_logits(z, t, reduction="sum")
        return mnist_loss(z, t) * len(z)  # the chapter's mean, undone

    params = lesson.snapshots()[i].params
    x = torch.tensor(lesson._probe_x, dtype=torch.float64)
    t = torch.tensor(lesson._probe_y, dtype=torch.float64)
    w = torch.tensor(params["weights"], dtype=torch.float64)
    z = (x @ w + float(params["bias"].sum())).requires_grad_()
    per_image_loss(z, t).backward()
    wrong = (z.detach() >= 0) != (t == 1)
    grid = torch.linspace(-30, 30, 6001, dtype=torch.float64, requires_grad=True)
    per_image_loss(grid, torch.zeros_like(grid)).backward()
    full = float(grid.grad.abs().max())
    return float(z.grad.abs()[wrong].sum()) / (len(z) * full), float(wrong.double().mean())


def test_what_the_errors_send_back_is_true_for_each_loss(lesson):
    """With BCE the σ′ factor cancels: confident mistakes still send back their error
    (walk-through V: the lesson said BCE's errors sent back under 0.01 %)."""
    shown = lesson.error_signals()
    text = lesson.stats_label.text()
    for i in (BIG, SMALL, BCE):
        expected, wrong = _autograd_share(lesson, i)
        assert shown[i] == pytest.approx(expected, rel=1e-3, abs=1e-12)
        assert f"send back {_share(shown[i])}" in text.split("<br>")[i]
    # the same frozen start: mnist_loss gets nothing back, BCE nearly all it could
    assert lesson.stats()[BIG].share_wrong_saturated > 0.3
    assert shown[BIG] < 0.1 * shown[BCE]
    assert 0.9 * lesson.stats()[BCE].share_wrong_saturated < shown[BCE] <= wrong
    assert "under 0.01%" not in text.split("<br>")[BCE]


@pytest.mark.skipif(not fashion_available(FASHION_FOLDER),
                    reason="Debian's Fashion-MNIST is not installed")
def test_the_lesson_finds_an_installed_fashion_mnist_itself(show_lesson, data, monkeypatch):
    """Not only at /usr/share/datasets: where the app's own Dataset box finds it."""
    from biasviz.core.datasets import download

    monkeypatch.setattr(download, "SYSTEM_DATASET_DIRS", (FASHION_FOLDER.parent,))
    lesson = show_lesson(SaturationLesson, data)
    assert lesson.data_combo.findData(DATA_FASHION) >= 0
    assert str(FASHION_FOLDER) in lesson.data_combo.toolTip()
