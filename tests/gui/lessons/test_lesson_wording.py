"""What a learner reads in a lesson never names our sources by their internal names
(walk-through 13: “In seed 001's words, …” read as a random seed; “the forum's …”
named a forum the learner never saw)."""

import re

import pyqtgraph as pg
import pytest
from lesson_helpers import run_to_end
from PySide6.QtWidgets import QAbstractButton, QComboBox, QGroupBox, QLabel, QWidget

from biasviz.gui.lessons.activation_lesson import ActivationLesson
from biasviz.gui.lessons.bias_lesson import START_RANDOM, BiasLesson
from biasviz.gui.lessons.chapter_lesson import ChapterLesson
from biasviz.gui.lessons.counting_lesson import CountingLesson
from biasviz.gui.lessons.saturation_lesson import SaturationLesson
from biasviz.gui.lessons.zero_init_lesson import ZeroInitLesson

INTERNAL = re.compile(r"seed (question |text )?0\d\d|seed 0\d\d's|\bforum\b", re.IGNORECASE)


def shown_texts(lesson: QWidget) -> list[str]:
    """Every text of the lesson a learner can read: labels, buttons, box titles, combo
    items, tooltips, plot titles and axis labels."""
    texts = []
    for w in [lesson, *lesson.findChildren(QWidget)]:
        texts.append(w.toolTip())
        if isinstance(w, QLabel):
            texts.append(w.text())
        elif isinstance(w, QAbstractButton):
            texts.append(w.text())
        elif isinstance(w, QGroupBox):
            texts.append(w.title())
        elif isinstance(w, QComboBox):
            texts += [w.itemText(i) for i in range(w.count())]
            texts += [str(w.itemData(i, 3) or "") for i in range(w.count())]  # tooltips
        if isinstance(w, pg.PlotWidget):
            item = w.getPlotItem()
            texts.append(item.titleLabel.text)
            texts += [item.getAxis(a).labelText for a in ("left", "bottom")]
    return [t for t in texts if t]


def _internal(lesson):
    return [t for t in shown_texts(lesson) if INTERNAL.search(t)]


@pytest.mark.parametrize("cls", [ActivationLesson, ChapterLesson, CountingLesson])
def test_lessons_name_no_internal_sources(show_lesson, cls):
    lesson = show_lesson(cls)
    assert len(shown_texts(lesson)) > 20
    assert _internal(lesson) == []


@pytest.mark.parametrize("cls", [BiasLesson, ZeroInitLesson, SaturationLesson])
def test_side_by_side_lessons_name_no_internal_sources(qtbot, show_lesson, data, tmp_path,
                                                       cls):
    args = (data, None, tmp_path) if cls is SaturationLesson else (data,)
    lesson = show_lesson(cls, *args)
    assert _internal(lesson) == []
    run_to_end(qtbot, lesson, epochs=1)  # the texts written from the trained models
    assert _internal(lesson) == []
    if cls is BiasLesson:  # the hint of the random per-pixel start
        lesson.start_combo.setCurrentIndex(lesson.start_combo.findData(START_RANDOM))
        assert not lesson.hint.isHidden()
        assert _internal(lesson) == []
