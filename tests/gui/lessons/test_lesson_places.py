"""Texts that name a lesson's panels by where they are ("left", "middle", "right",
"upper", "lower") take the words from the arrangement on screen (walk-through 13: the
zero-init lesson's “Why?” said “Middle, random” on a laptop, where the random network
is on the right and nothing is in the middle)."""

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from biasviz.gui.lessons.base import Arrangement, Cell, places, stacked
from biasviz.gui.lessons.zero_init_lesson import ZeroInitLesson


def _seen_place(panel, other, grid) -> str:
    """Where ``panel`` is, read off the geometry on screen: among the panels of its row
    (same top) when there are several, else above or below ``other``."""
    row = sorted((w for w in grid.arrangement().widgets()
                  if w.isVisible() and w.geometry().top() == panel.geometry().top()),
                 key=lambda w: w.geometry().left())
    if len(row) > 1:
        rank = row.index(panel)
        return "left" if rank == 0 else "right" if rank == len(row) - 1 else "middle"
    return "upper" if panel.geometry().top() < other.geometry().top() else "lower"


@pytest.fixture
def lesson(show_lesson, data):
    return show_lesson(ZeroInitLesson, data)


def test_zero_init_texts_name_the_networks_where_they_are(lesson):
    grid = lesson.panels
    seen = set()
    for width in (3000, 1400, 1100, 900, 700, 500):
        lesson.resize(width, 800)
        for _ in range(3):
            QApplication.processEvents()
        seen.add(grid.arrangement_index())
        zero = _seen_place(lesson.zero_box, lesson.random_box, grid)
        rnd = _seen_place(lesson.random_box, lesson.zero_box, grid)
        assert lesson.network_places() == (zero, rnd), width
        why = lesson.why_label.text()
        assert f"<b>{zero.capitalize()}, all zeros:</b>" in why, (width, why)
        assert f"<b>{rnd.capitalize()}, random:</b>" in why, (width, why)
        assert lesson.start_name.text() == f"{zero.capitalize()} network starts with"
        assert lesson.std_name.text() == f"{rnd.capitalize()} network: random, std"
        assert f"How the {zero} network starts" in lesson.start_combo.toolTip()
    assert seen == {0, 1, 2}  # every arrangement was looked at
    # the equal-values start says it too
    lesson.start_combo.setCurrentIndex(1)
    zero, _rnd = lesson.network_places()
    assert f"<b>{zero.capitalize()}, every parameter" in lesson.why_label.text()


def test_places_reads_rows_and_columns(qtbot):
    a, b, c, d = (QWidget() for _ in range(4))
    for w in (a, b, c, d):
        qtbot.addWidget(w)
    wide = Arrangement((Cell(a, 0, 0), Cell(b, 0, 1), Cell(c, 0, 2), Cell(d, 1, 0)))
    assert places(wide, a, b, c) == ("left", "middle", "right")
    two = Arrangement((Cell(a, 0, 0), Cell(b, 0, 1), Cell(c, 1, 0), Cell(d, 1, 1)))
    assert places(two, a, b) == ("left", "right")
    assert places(stacked(a, b, c, d), a, b) == ("upper", "lower")
    assert places(stacked(a, c, b, d), b, a) == ("lower", "upper")


def test_bias_identity_tooltip_names_its_lines(show_lesson, data):
    """The identity is written as two lines, the per-pixel sum first; its tooltip said
    "Left: … Right: …" (of an equation no longer written side by side)."""
    from biasviz.gui.lessons.bias_lesson import FORMULAS, PER_PIXEL, BiasLesson

    lesson = show_lesson(BiasLesson, data)
    text, tip = lesson.identity_label.text(), lesson.identity_label.toolTip()
    first = text.index("<tr>")
    assert text.index(FORMULAS[PER_PIXEL].split()[0]) > first
    assert text.index(FORMULAS[PER_PIXEL].split()[0]) < text.index("x·w + Σbᵢ")
    assert "Left:" not in tip and "Right:" not in tip
    assert tip.index("First line: what the per-pixel neuron computes") < tip.index(
        "Second line: the dot product")
