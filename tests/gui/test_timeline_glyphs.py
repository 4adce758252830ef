"""The timeline's buttons draw only characters their font has: "⏸" showed as a
missing-glyph box ("▯ Pause") in the default font (walk-through X)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics

from biasviz.gui.timeline_bar import PAUSE_SIGNS, TimelineBar, sign_in_font


def _missing(widget_font: QFont, text: str) -> list[str]:
    metrics = QFontMetrics(widget_font)
    return [ch for ch in text if not ch.isspace() and not metrics.inFontUcs4(ord(ch))]


def test_play_and_pause_texts_use_glyphs_of_the_buttons_font(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    button = bar.play_button
    assert "Replay" in button.text() and not _missing(button.font(), button.text())
    button.setChecked(True)  # playing: the button offers to pause
    assert "Pause" in button.text() and not _missing(button.font(), button.text())
    button.setChecked(False)
    assert "Replay" in button.text()
    for i in range(bar.speed_combo.count()):
        assert not _missing(bar.speed_combo.font(), bar.speed_combo.itemText(i))


def test_a_sign_the_font_lacks_is_skipped_for_one_it_has(qapp):
    font = QFont()
    metrics = QFontMetrics(font)
    sign = sign_in_font(font, ("\U000F0000",) + PAUSE_SIGNS)  # a private-use point: no font has it
    assert sign != "\U000F0000" and all(metrics.inFontUcs4(ord(ch)) for ch in sign)
