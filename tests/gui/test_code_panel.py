"""CodePanel: the plain PyTorch of the current settings, live (issue 13)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from biasviz.core.codegen import LIVE_MARK
from biasviz.core.datasets import Task
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.gui.code_panel import FLASH_MS, CodePanel

PAIR = Task((3, 7))


@pytest.fixture
def panel(qtbot):
    p = CodePanel()
    qtbot.addWidget(p)
    p.resize(700, 500)
    p.set_run(ModelSpec(), TrainConfig(), PAIR)
    return p


def shown(qtbot, w):
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()
    return w


def doc_lines(panel: CodePanel) -> list[str]:
    return panel.editor.toPlainText().split("\n")


def line_of(panel: CodePanel, start: str) -> int:
    return next(i for i, t in enumerate(doc_lines(panel)) if t.startswith(start))


def test_shows_the_script_of_the_run(panel):
    code = panel.code()
    assert code is not None
    assert panel.editor.toPlainText() + "\n" == code.script()
    assert panel.editor.isReadOnly()
    assert "Single neuron" in panel.title.text() and "lr 1" in panel.title.text()
    assert not panel.highlighted_lines()["flash"]  # the first code is not a change


def test_a_changed_setting_makes_its_lines_glow_briefly(qtbot, panel):
    panel.set_run(ModelSpec(), TrainConfig(lr=0.25), PAIR)
    flashed = panel.highlighted_lines()["flash"]
    assert [doc_lines(panel)[i] for i in flashed if "lr" in doc_lines(panel)[i]]
    assert line_of(panel, "lr = 0.25") in flashed
    assert line_of(panel, "def mnist_loss") not in flashed
    assert any(s.format.background().color().alpha() > 0
               for s in panel.editor.extraSelections())
    qtbot.waitUntil(lambda: not panel.highlighted_lines()["flash"], timeout=FLASH_MS + 2000)
    assert panel.editor.extraSelections() == []


def test_switching_model_rewrites_the_code(panel):
    panel.set_run(ModelSpec(kind="mlp", n_outputs=10, hidden=20), TrainConfig(), Task.all_ten())
    text = panel.editor.toPlainText()
    assert "nn.Linear(28*28, 20)" in text and "F.cross_entropy" in text
    assert line_of(panel, "    nn.Linear(28*28, 20)") in panel.highlighted_lines()["flash"]


def test_impossible_settings_say_so_and_keep_the_old_code(panel):
    before = panel.editor.toPlainText()
    panel.set_run(ModelSpec(kind="mlp", n_outputs=1), TrainConfig(), Task.all_ten())
    assert "No code for these settings" in panel.title.text()
    assert panel.editor.toPlainText() == before


def test_live_values_appear_beside_their_lines_only(qtbot, panel):
    shown(qtbot, panel)
    changes = []
    panel.editor.document().contentsChange.connect(lambda *a: changes.append(a))
    panel.set_live({"bias": 0.375, "step": 42, "epoch": 3})
    lines = doc_lines(panel)
    assert lines[line_of(panel, "bias = init_params(1)")].endswith(LIVE_MARK + "now b = 0.375")
    assert lines[line_of(panel, "            p.data -= p.grad*lr")].endswith("step 42")
    assert lines[line_of(panel, "for epoch in range(20):")].endswith("3 epochs done")
    assert len(changes) == 3
    panel.set_live({"bias": 0.375})  # nothing new: the document is not touched
    assert len(changes) == 3
    panel.set_live({"bias": None})
    assert doc_lines(panel)[line_of(panel, "bias = init_params(1)")] == \
        "bias = init_params(1)  # one bias"
    # live values survive a change of settings
    panel.set_run(ModelSpec(), TrainConfig(lr=2.0), PAIR)
    assert doc_lines(panel)[line_of(panel, "for epoch")].endswith("3 epochs done")
    assert not panel.editor.document().isUndoAvailable()


def test_a_hidden_panel_shows_live_values_when_shown(qtbot, panel):
    panel.set_live({"step": 5})
    assert "step 5" not in panel.editor.toPlainText()  # hidden: no document edits
    shown(qtbot, panel)
    assert doc_lines(panel)[line_of(panel, "            p.data -= p.grad*lr")].endswith(
        "step 5")


def test_highlight_concept_marks_exactly_its_lines(panel):
    panel.highlight_concept("bias")
    code = panel.code()
    assert panel.highlighted_lines()["concept"] == code.lines_for("bias")
    doc = panel.editor.document()  # (a selection spans its line: it starts there)
    marked = sorted(doc.findBlock(s.cursor.selectionStart()).blockNumber()
                    for s in panel.editor.extraSelections())
    assert marked == code.lines_for("bias")
    texts = [doc_lines(panel)[i] for i in marked]
    assert any("xb@weights + bias" in t for t in texts)
    panel.highlight_concept("")
    assert panel.editor.extraSelections() == []


def test_highlighting_scrolls_the_lines_into_view(qtbot, panel):
    shown(qtbot, panel)
    panel.resize(600, 200)
    QApplication.processEvents()
    panel.highlight_concept("save")
    first = panel.code().lines_for("save")[0]
    top = panel.editor.firstVisibleBlock().blockNumber()
    assert top <= first < top + 12


def _move(panel: CodePanel, line: int, column_text: str | None = None) -> None:
    block = panel.editor.document().findBlockByNumber(line)
    rect = panel.editor.blockBoundingGeometry(block).translated(panel.editor.contentOffset())
    x = 4.0
    if column_text is not None:
        x = panel.editor.fontMetrics().horizontalAdvance(
            block.text()[: block.text().index(column_text) + 1]) + 4.0
    pos = QPointF(x, rect.center().y())
    event = QMouseEvent(QMouseEvent.Type.MouseMove, pos, panel.editor.viewport().mapToGlobal(
        pos), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel.editor.viewport(), event)


def test_hovering_a_line_names_its_concept(qtbot, panel):
    shown(qtbot, panel)
    seen = []
    panel.conceptHovered.connect(seen.append)
    lr_line = line_of(panel, "lr = 1.0")
    panel.editor.verticalScrollBar().setValue(lr_line - 2)
    QApplication.processEvents()
    _move(panel, lr_line)
    assert seen == ["lr"]
    assert lr_line in panel.highlighted_lines()["hover"]
    _move(panel, lr_line)  # same line: no new signal
    assert seen == ["lr"]
    step = line_of(panel, "            p.data -= p.grad*lr")
    _move(panel, step)
    assert seen[-1] == "step"
    _move(panel, step, "lr  #")  # the word under the mouse, when it is a concept
    assert seen[-1] == "lr"
    QApplication.sendEvent(panel.editor.viewport(), QMouseEvent(
        QMouseEvent.Type.Leave, QPointF(0, 0), QPointF(0, 0), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    assert seen[-1] == ""


def test_hovering_the_formula_word_bias_names_bias(qtbot, panel):
    shown(qtbot, panel)
    seen = []
    panel.conceptHovered.connect(seen.append)
    formula = line_of(panel, "    return xb@weights + bias")
    panel.editor.verticalScrollBar().setValue(formula - 2)
    QApplication.processEvents()
    _move(panel, formula, "bias  #")
    assert seen == ["bias"]


def test_syntax_is_highlighted(panel):
    doc = panel.editor.document()
    block = doc.findBlockByNumber(line_of(panel, "def mnist_loss"))
    formats = block.layout().formats()
    assert any(f.start == 0 and f.length == 3 and f.format.fontWeight() > 400 for f in formats)
    comment = doc.findBlockByNumber(line_of(panel, "bias = init_params(1)"))
    assert any(f.format.fontItalic() for f in comment.layout().formats())


def test_export_writes_a_script_that_saves_beside_itself(tmp_path, panel):
    panel.export_code(tmp_path / "run.py")
    text = (tmp_path / "run.py").read_text()
    assert 'np.savez("run.npz"' in text and LIVE_MARK not in text
    panel.export_code(tmp_path / "run.ipynb")
    assert '"nbformat": 4' in (tmp_path / "run.ipynb").read_text()


def test_an_export_after_several_starts_says_what_it_reproduces(tmp_path, panel):
    """The header said "It reproduces the app's run" with range(245) beside a model of
    3,026 epochs: it says which epochs now."""
    epochs = TrainConfig().epochs
    panel.set_live({"epoch": epochs})
    panel.export_code(tmp_path / "one.py")
    assert "# It reproduces the app's run:" in (tmp_path / "one.py").read_text()
    panel.set_live({"epoch": 3026})
    panel.export_code(tmp_path / "more.py")
    text = (tmp_path / "more.py").read_text()
    assert "It reproduces the app's run" not in text
    assert f"the first {epochs} of the 3,026 epochs the app's model trained over several " \
        "Starts" in text
    assert f"for epoch in range({epochs})" in text


def test_screenshot_of_the_panel_is_not_blank(qtbot, panel, tmp_path):
    shown(qtbot, panel)
    panel.set_live({"bias": -1.25, "step": 80})
    image = panel.grab().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 5


def test_in_a_laptop_column_long_lines_wrap_and_say_so(qtbot, panel):
    """On a laptop the panel shares the controls' column (~440 px): a line's end and its
    live value needed sideways scrolling.  Long lines wrap, each further row marked ↪ in
    the strip on the left; the text itself (to copy) is the script, unchanged."""
    shown(qtbot, panel)
    panel.resize(440, 400)
    panel.set_live({"bias": -0.334})
    QApplication.processEvents()
    editor = panel.editor
    assert editor.horizontalScrollBar().maximum() == 0
    bias_line = line_of(panel, "bias = init_params(1)")
    longest = max(range(len(doc_lines(panel))), key=lambda i: len(doc_lines(panel)[i]))
    editor.verticalScrollBar().setValue(
        editor.document().findBlockByNumber(longest).firstLineNumber())
    QApplication.processEvents()
    rows = editor.wrapped_rows()
    assert (longest, 1) in rows
    assert all(row >= 1 for _line, row in rows)
    assert editor.gutter.isVisible() and editor.gutter.width() > 0
    assert editor.viewportMargins().left() == editor.gutter.width()
    assert LIVE_MARK in doc_lines(panel)[bias_line]
    panel.resize(1400, 400)  # wide enough: nothing wraps, no marks
    QApplication.processEvents()
    assert editor.wrapped_rows() == []


def test_highlighting_scrolls_a_wrapped_line_into_view(qtbot, panel):
    """The scroll bar counts rows, every row of a wrapped line: the line lands in view."""
    shown(qtbot, panel)
    panel.resize(330, 200)
    QApplication.processEvents()
    for concept in ("save", "data", "loss", "save"):
        panel.highlight_concept(concept)
        QApplication.processEvents()
        number = panel.code().lines_for(concept)[0]
        block = panel.editor.document().findBlockByNumber(number)
        rect = panel.editor.blockBoundingGeometry(block).translated(
            panel.editor.contentOffset())
        assert 0 <= rect.top() and rect.top() < panel.editor.viewport().height(), concept


def test_a_changed_setting_keeps_the_reader_in_place(qtbot, panel):
    """Every setting changes the header's summary comment: the panel jumped to the top,
    away from the training loop being read.  Now it scrolls only to a changed line of the
    code itself, and not at all while one is in view."""
    shown(qtbot, panel)
    panel.resize(600, 260)
    QApplication.processEvents()
    loop = line_of(panel, "for epoch in range(")
    bar = panel.editor.verticalScrollBar()
    bar.setValue(panel.editor.document().findBlockByNumber(loop - 2).firstLineNumber())
    QApplication.processEvents()
    where = panel.editor.firstVisibleBlock().blockNumber()
    panel.set_run(ModelSpec(), TrainConfig(epochs=7), PAIR)
    QApplication.processEvents()
    assert line_of(panel, "for epoch in range(7)") in panel.highlighted_lines()["flash"]
    # the changed loop line was in view: the same line on top (the header above may wrap
    # into another number of rows now)
    assert panel.editor.firstVisibleBlock().blockNumber() == where
    bar.setValue(0)  # at the top, a change far below: shown
    panel.set_run(ModelSpec(), TrainConfig(epochs=9), PAIR)
    QApplication.processEvents()
    top = panel.editor.firstVisibleBlock().blockNumber()
    assert top > 0 and top <= line_of(panel, "for epoch in range(9)")


def test_a_live_value_never_breaks_across_rows(qtbot, panel):
    """A wrapped line split "# ◀ step" from "80": the live value's spaces do not break on
    screen, and copied they are plain spaces again."""
    from biasviz.core.codegen import render_live

    shown(qtbot, panel)
    panel.resize(330, 400)
    panel.set_live({"bias": -0.334, "step": 80, "moment": 80})
    QApplication.processEvents()
    number = line_of(panel, "bias = init_params(1)")
    block = panel.editor.document().findBlockByNumber(number)
    text = block.text()
    comment = text[text.rindex("  #") + 2:]  # "# ◀ step 80: b = −0.334"
    # no-break spaces on screen, the mark's too ("# ◀" ended a row, "last loss 0.69"
    # began the next): the comment moves to a row of its own, whole
    assert comment.startswith("#\u00a0◀\u00a0") and " " not in comment
    # ...and it is still coloured as a live value, never as code
    live_color = panel.highlighter.live_format.foreground().color()
    at = text.rindex("  #") + 2
    assert any(r.start <= at < r.start + r.length and r.format.foreground().color() == live_color
               for r in block.layout().formats())
    assert doc_lines(panel)[number] == render_live(panel.code().lines()[number],
                                                   {"bias": -0.334, "step": 80, "moment": 80})
