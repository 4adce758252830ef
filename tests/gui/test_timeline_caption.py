"""The timeline's caption says which epoch an accuracy is from (walk-through S, issue 10:
"step 19 · epoch 5 · 56.5%" showed epoch 4's figure as if it were epoch 5's)."""

from __future__ import annotations

from biasviz.core.timeline import Evaluation
from biasviz.gui.timeline_bar import TimelineBar, moment_caption


def test_a_moment_inside_an_epoch_names_the_epoch_its_accuracy_is_from():
    text = moment_caption(19, 5, Evaluation(4, 16, 0.565))
    assert text == "step 19 · in epoch 5 · after epoch 4: 56.5%"


def test_an_epoch_end_shows_its_own_accuracy():
    assert moment_caption(16, 4, Evaluation(4, 16, 0.565)) == "step 16 · end of epoch 4: 56.5%"


def test_before_any_evaluation_and_at_the_start():
    assert moment_caption(3, 1, None) == "step 3 · in epoch 1"
    assert moment_caption(0, 0, None) == "step 0 · before training"
    # a bare number (its epoch unknown) is never presented as this epoch's
    assert moment_caption(19, 5, 0.565) == "step 19 · in epoch 5 · last evaluated: 56.5%"


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
