"""Under the side-by-side table, one sentence says why the accuracies do not show what
a bias adds and where it does show (walk-through 13: no bias 95.0%, one bias 94.5%
seemed to undercut the lesson).  It quotes the numbers the table shows."""

from lesson_helpers import run_to_end

from biasviz.gui.lessons.bias_lesson import (
    BLANK_TITLE,
    NONE,
    SCALAR,
    BiasLesson,
    comparison_note,
)


def test_the_note_fits_the_numbers():
    close = comparison_note([0.945, 0.925, 0.950], ("3", "7"))
    assert "hides" in close and "95.0%" in close and "94.5%" in close
    assert f"“{BLANK_TITLE}”" in close and "50/50" in close and "Σbᵢ" in close
    apart = comparison_note([0.970, 0.900, 0.800], ("3", "7"))
    assert "hides" not in apart and "97.0%" in apart and "80.0%" in apart
    assert f"“{BLANK_TITLE}”" in apart and "Σbᵢ" in apart
    assert comparison_note([0.9, None, 0.9], ("3", "7")) == ""


def test_the_note_under_the_table_quotes_the_table(qtbot, show_lesson, data):
    lesson = show_lesson(BiasLesson, data)
    assert lesson.table_note.isHidden()  # nothing trained: nothing to explain yet
    run_to_end(qtbot, lesson, epochs=2)
    note = lesson.table_note.text()
    assert not lesson.table_note.isHidden() and note
    for i in (SCALAR, NONE):
        assert lesson.table.item(i, 2).text() in note  # "94.5%" as the table writes it
    assert lesson.blank_box.title() == BLANK_TITLE  # the box the note sends one to
    assert lesson.table_note.parent() is lesson.table_box  # with the figures it explains
    lesson.reset()
    assert lesson.table_note.isHidden()
