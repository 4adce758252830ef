"""The counting lesson: the current model's parameter table, the convolution calculator
and the Small CNN's shared kernels (seed 001)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QSpinBox, QTableWidget

from biasviz.core.models import build_model, snapshot_params
from biasviz.core.spec import ModelSpec, Snapshot
from biasviz.gui.lessons.base import Lesson
from biasviz.gui.lessons.counting_lesson import CUSTOM, ERROR_FG, CountingLesson

ROOT = Path(__file__).resolve().parents[3]


def snapshot(**kw) -> Snapshot:
    spec = ModelSpec(**kw)
    return Snapshot(spec, snapshot_params(build_model(spec)))


@pytest.fixture
def lesson(qtbot):
    w = CountingLesson()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_lesson_opens_with_the_default_model(lesson):
    assert isinstance(lesson, Lesson)
    assert lesson.seed == "001"
    assert "one weight per input" in lesson.intro_label.text()
    rows = lesson.table_rows()
    assert rows[-1][:4] == ["Total", "784", "1", "785"]  # the default single neuron
    assert "785" in lesson.torch_label.text() and "✓" in lesson.torch_label.text()
    assert lesson.kernels_stack.currentWidget() is lesson.kernels_note
    assert "Small CNN" in lesson.kernels_note.text()
    # the calculator starts on LeNet-5 C1 with the paper's figures
    assert lesson.preset_combo.currentData() == "lenet5_c1"
    text = lesson.calculator_text()
    assert "156" in text and "122,304" in text and "28 × 28 × 6" in text
    lesson.shutdown()


def test_alexnet_preset_shows_the_published_counts(lesson):
    lesson.preset_combo.setCurrentIndex(lesson.preset_combo.findData("alexnet_conv1"))
    assert lesson.spins["width"].value() == 227 and lesson.spins["stride"].value() == 4
    text = lesson.calculator_text()
    assert "34,944" in text and "105,705,600" in text
    assert "55 × 55 × 96" in text and "290,400" in text
    assert "3,025 times more" in lesson.ratio_label.text()
    assert "105,705,600" in lesson.unshared_label.text()
    assert "34,944" in lesson.shared_label.text()
    assert not lesson.error_label.isVisible()
    assert lesson.current_count().shared_total == 34_944


def test_a_stride_that_does_not_tile_shows_an_inline_error(lesson):
    lesson.select_preset("alexnet_conv1")
    lesson.spins["stride"].setValue(5)  # (227 - 11)/5 + 1 = 44.2
    assert lesson.error_label.isVisible()
    assert ERROR_FG in lesson.error_label.styleSheet()
    assert "not a whole number" in lesson.error_label.text()
    assert "216/5 + 1 = 44.2" in lesson.error_label.text()
    assert lesson.current_count() is None
    assert "34,944" not in lesson.shared_label.text()
    assert "✗ not a whole number" in lesson.working_text.toPlainText()
    assert lesson.preset_combo.currentData() == CUSTOM
    # back to a stride that fits: the error goes and the preset is recognised again
    lesson.spins["stride"].setValue(4)
    assert not lesson.error_label.isVisible()
    assert lesson.preset_combo.currentData() == "alexnet_conv1"
    assert "105,705,600" in lesson.calculator_text()


def test_the_papers_224_input_is_flagged(lesson):
    lesson.select_preset("alexnet_conv1")
    assert "224" in lesson.source_label.text()
    lesson.spins["width"].setValue(224)
    assert lesson.error_label.isVisible()
    assert "227" in lesson.error_text()
    lesson.spins["width"].setValue(227)
    assert lesson.error_text() == ""


def test_a_filter_bigger_than_the_input_is_an_inline_error(lesson):
    lesson.select_preset("lenet5_c1")
    lesson.spins["filter_size"].setValue(40)
    assert lesson.error_label.isVisible()
    assert "does not fit" in lesson.error_text()
    lesson.spins["padding"].setValue(4)  # 32 + 8 = 40: one position
    assert not lesson.error_label.isVisible()
    assert lesson.current_count().out_width == 1
    assert "the same number" in lesson.ratio_label.text()


def test_mlp_snapshot_updates_the_table(lesson):
    snap = snapshot(kind="mlp", n_outputs=10, hidden=32)
    lesson.set_model(snap)
    rows = lesson.table_rows()
    assert [r[0] for r in rows] == ["Hidden layer", "Output layer", "Total"]
    assert rows[0][1:4] == ["25,088", "32", "25,120"]
    assert rows[1][1:4] == ["320", "10", "330"]
    expected = sum(a.size for a in snap.params.values())
    assert rows[-1][3] == f"{expected:,}"
    assert int(rows[-1][3].replace(",", "")) == expected
    assert f"{expected:,}" in lesson.torch_label.text() and "✓" in lesson.torch_label.text()
    assert "784 inputs" in rows[0][4] and "one per neuron" in rows[0][4]
    assert "MLP" in lesson.model_box.title()
    assert lesson.kernels_stack.currentWidget() is lesson.kernels_note


def test_cnn_snapshot_shows_its_kernels(lesson):
    snap = snapshot(kind="cnn", n_outputs=10, channels=6, kernel=3)
    lesson.set_model(snap)
    assert lesson.kernels_stack.currentIndex() == 0
    assert lesson.kernels_view.tile_count() == 6
    np.testing.assert_allclose(
        lesson.kernels_view.current_weights(), snap.params["conv.weights"].reshape(6, 9)
    )
    assert "6 shared 3×3 kernels" in lesson.kernels_box.title()
    assert "60" in lesson.kernel_counts_label.text()  # 6 × (9 + 1)
    rows = lesson.table_rows()
    assert rows[0][1:4] == ["54", "6", "60"]
    assert int(rows[-1][3].replace(",", "")) == sum(a.size for a in snap.params.values())
    # the biasviz preset follows the current CNN
    lesson.select_preset("biasviz_cnn")
    assert lesson.spins["filters"].value() == 6 and lesson.spins["filter_size"].value() == 3
    assert "26 × 26 × 6" in lesson.output_label.text()


def test_training_updates_only_the_kernels(lesson):
    first = snapshot(kind="cnn", n_outputs=10)
    lesson.set_model(first)
    table_item = lesson.table.item(0, 1)
    params = {k: v + 1.0 for k, v in first.params.items()}
    lesson.set_model(Snapshot(first.spec, params, step=5))
    assert lesson.table.item(0, 1) is table_item  # the table was not rebuilt
    np.testing.assert_allclose(
        lesson.kernels_view.current_weights(), params["conv.weights"].reshape(8, 25)
    )
    lesson.set_model(None)  # no model: the table stays, counted from the shapes
    assert lesson.table_rows()[-1][3] == f"{sum(a.size for a in params.values()):,}"
    assert "shapes" in lesson.torch_label.text()
    lesson.set_model(snapshot(kind="linear", n_outputs=10))
    assert lesson.table_rows()[-1][1:4] == ["7,840", "10", "7,850"]
    assert lesson.kernels_stack.currentWidget() is lesson.kernels_note


def test_every_control_has_a_tooltip(lesson):
    widgets = lesson.findChildren(QSpinBox) + lesson.findChildren(QComboBox)
    widgets += lesson.findChildren(QTableWidget) + lesson.findChildren(QPlainTextEdit)
    widgets += [
        lesson.torch_label,
        lesson.shared_label,
        lesson.unshared_label,
        lesson.ratio_label,
        lesson.output_label,
        lesson.error_label,
        lesson.source_label,
        lesson.kernels_note,
        lesson.kernel_counts_label,
    ]
    assert len(widgets) >= 16
    for w in widgets:
        assert w.toolTip().strip(), w


def test_lesson_module_does_not_import_torch():
    code = "import sys\nimport biasviz.gui.lessons.counting_lesson\nprint('torch' in sys.modules)"
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert out.stdout.strip() == "False"


def test_the_working_wraps_instead_of_scrolling_sideways(lesson, qtbot):
    """Walk-through V (2× scale, 2560×1600): the working needed sideways scrolling and
    its right edge was cut; in a narrow box its lines wrap."""
    box = lesson.working_text
    text = box.toPlainText()
    longest = max(box.fontMetrics().horizontalAdvance(line) for line in text.splitlines())
    box.setFixedWidth(longest // 2)  # narrower than its longest line
    qtbot.waitUntil(lambda: box.viewport().width() < longest)
    bar = box.horizontalScrollBar()
    assert not bar.isVisible() and bar.maximum() == 0
    assert box.toPlainText() == text  # wrapped on screen, not changed
    # every line's text fits inside the box: wrapped lines are more blocks' lines
    lines = sum(box.document().findBlockByNumber(i).layout().lineCount()
                for i in range(box.document().blockCount()))
    assert lines > box.document().blockCount()
