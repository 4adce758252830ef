"""The timeline's caption says which epoch an accuracy is from (walk-through S, issue 10:
"step 19 · epoch 5 · 56.5%" showed epoch 4's figure as if it were epoch 5's)."""

from __future__ import annotations

from biasviz.core.timeline import Evaluation
from biasviz.gui.presentation import caption_for
from biasviz.gui.timeline_bar import TimelineBar, moment_caption


def test_a_moment_inside_an_epoch_names_the_epoch_its_accuracy_is_from():
    text = moment_caption(19, 4, Evaluation(4, 16, 0.565))
    assert text == "step 19 · in epoch 5 · after epoch 4: 56.5%"


def test_an_epoch_end_shows_its_own_accuracy():
    assert moment_caption(16, 4, Evaluation(4, 16, 0.565)) == "step 16 · end of epoch 4: 56.5%"


def test_before_any_evaluation_and_at_the_start():
    assert moment_caption(3, 0, None) == "step 3 · in epoch 1"
    assert moment_caption(0, 0, None) == "step 0 · before training"
    # a bare number (its epoch unknown) is never presented as this epoch's
    assert moment_caption(19, 4, 0.565) == "step 19 · in epoch 5 · last evaluated: 56.5%"


def test_the_caption_fits_the_bar_at_a_small_screens_width(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    bar.resize(980, 40)  # the timeline row at 1280x720
    bar.show()
    qtbot.waitExposed(bar)
    text = moment_caption(14_100, 300, Evaluation(299, 14_053, 0.5))
    bar.set_caption(text)
    qtbot.wait(10)
    assert bar.label.fontMetrics().horizontalAdvance(text) <= bar.label.contentsRect().width()
    assert "after epoch" in bar.label.toolTip() or "epoch" in bar.label.toolTip()


def test_the_window_captions_a_scrubbed_moment_with_its_epoch(qtbot, window):
    """Scrubbed to a step inside an epoch, the caption names the epoch its accuracy was
    measured after (the window passes Timeline.evaluated_at)."""
    from PySide6.QtCore import Qt

    w, s = window, window.session
    p = w.training_panel
    qtbot.mouseClick(p.epoch_button, Qt.MouseButton.LeftButton)  # epoch 1, evaluated
    qtbot.waitUntil(lambda: s.state == "paused" and len(w.plots.epochs) >= 1, timeout=60_000)
    # Present mode's caption counts epochs as the progress bar does
    epoch1 = s.history.last_epoch
    assert f"· end of epoch 1 · validation accuracy {100 * epoch1.valid_accuracy:.1f}%" \
        in caption_for(s.model)
    for _ in range(2):  # two single steps into epoch 2 (each one a recorded moment)
        step = s.snapshot.step
        qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda step=step: s.state == "paused" and s.snapshot.step == step + 1,
                        timeout=60_000)
    # mid-epoch: the accuracy is epoch 1's, and says so (the panel shows this step's)
    assert f"· in epoch 2 · after epoch 1: {100 * epoch1.valid_accuracy:.1f}%" \
        in caption_for(s.model) and "epoch 2" in w.training_panel.progress.format()
    per_epoch = s.trainer.batches_per_epoch
    inside = [k for k in s.model.timeline.moments() if per_epoch < k < 2 * per_epoch]
    assert len(inside) == 2
    s.model.scrub_to(inside[0])
    qtbot.waitUntil(lambda: s.model.scrub_step == inside[0], timeout=5_000)
    first = s.model.timeline.evaluated_at(inside[0])
    assert first is not None and first.epoch == 1
    assert f"after epoch 1: {100 * first.accuracy:.1f}%" in w.timeline_bar.label.text()
    # in the epoch the progress bar counts it in (the snapshot holds the epochs done: 1)
    assert f"step {inside[0]:,} · in epoch 2 ·" in w.timeline_bar.label.text()
    assert f"Looking back at step {inside[0]:,} · in epoch 2 ·" in caption_for(s.model)


def test_the_caption_of_an_imported_model_does_not_call_it_noise(window):
    """Present mode on an imported model that scores 91.5% said "the weights begin as
    random noise"."""
    s = window.session
    assert "begin as random noise" in caption_for(s.model)  # a fresh random start
    s.model.imported = True  # (as a parameter file's import leaves it)
    text = caption_for(s.model)
    assert "random noise" not in text and "imported weights" in text
