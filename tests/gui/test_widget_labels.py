"""Issue 10, the widgets: labels that fit the situation (item vs digit, "initial" before
training, the loaded folder's name, no cancel for a local read), long class names that
are shown whole or shortened with a tooltip (never cut without one), the bias slider for
fine work, and a Δw view that says when there is no update yet."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from plot_probes import drawn_tick_texts, tick_layout
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QMouseEvent
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyleOptionSlider,
    QVBoxLayout,
    QWidget,
)

from biasviz.core.datasets import DIGIT_NAMES, FASHION_NAMES, KMNIST_NAMES
from biasviz.core.decisions import BinaryDecision, MulticlassDecision
from biasviz.core.spec import ModelSpec, Snapshot
from biasviz.gui.class_labels import (
    CategoryAxis,
    ElidedLabel,
    ElidingComboBox,
    class_noun,
    fit_category_ticks,
)
from biasviz.gui.decision_panel import DecisionPanel
from biasviz.gui.learning_view import LearningView
from biasviz.gui.training_panel import TrainingPanel
from biasviz.gui.weights_view import WeightsView

FASHION_FOLDER = "/usr/share/datasets/fashion-mnist"


def binary_decision(seed: int = 0, spread: float = 1.0) -> BinaryDecision:
    rng = np.random.default_rng(seed)
    z = spread * np.concatenate([rng.normal(3, 2, 300), rng.normal(-3, 2, 300)])
    targets = np.concatenate([np.ones(300, dtype=np.int64), np.zeros(300, dtype=np.int64)])
    return BinaryDecision(z, targets)


def multiclass_decision(seed: int = 1) -> MulticlassDecision:
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 10, 500)
    scores = rng.normal(0, 1, (500, 10))
    scores[np.arange(500), targets] += 2.0
    return MulticlassDecision(scores, targets)


def shown(qtbot, widget: QWidget, width: int, height: int) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()
    return widget


# ---------------------------------------------------------------- item vs digit
def test_class_noun_tells_digits_from_items():
    assert class_noun(DIGIT_NAMES) == "digit"
    assert class_noun(("3", "7")) == "digit"
    assert class_noun(FASHION_NAMES) == "item"
    assert class_noun(("Pullover", "Sneaker")) == "item"
    assert class_noun(KMNIST_NAMES) == "item"


def test_ten_class_panel_says_item_for_clothes_and_digit_for_digits(qtbot):
    panel = DecisionPanel()
    qtbot.addWidget(panel)
    panel.set_multiclass(multiclass_decision(), np.zeros(10), list(FASHION_NAMES))
    texts = " ".join(
        w.text() for w in (panel.mc_explain_label, panel.mc_plot_title)
    ) + panel.confusion_plot.toolTip() + panel.mc_accuracy_label.toolTip()
    assert "item" in texts and "digit" not in texts
    panel.set_multiclass(multiclass_decision(), np.zeros(10), list(DIGIT_NAMES))
    texts = panel.mc_explain_label.text() + panel.mc_plot_title.text()
    assert "digit" in texts and "item" not in texts
    assert panel.noun() == "digit"


# ---------------------------------------------------------------- initial vs trained
def test_before_training_the_panel_speaks_of_the_initial_bias(qtbot):
    panel = DecisionPanel()
    qtbot.addWidget(panel)
    panel.set_binary(binary_decision(), 0.411, ("Pullover", "Sneaker"))
    assert panel.bias_status_label.text().startswith("trained b = +0.411")  # the default
    panel.set_has_trained(False)
    assert panel.bias_status_label.text().startswith("initial b = +0.411")
    assert "trained" not in panel.bias_status_label.text()
    assert panel.reset_button.text() == "Reset to initial b"
    panel.set_bias(1.5)  # an override compares with the initial bias too
    assert "(initial b = +0.411)" in panel.bias_status_label.text()
    assert panel.compare_label.full_text().startswith("initial b gives ")
    panel.set_has_trained(True)
    assert "(trained b = +0.411)" in panel.bias_status_label.text()
    assert panel.reset_button.text() == "Reset to trained b"


def test_before_training_all_output_biases_are_the_initial_values(qtbot):
    panel = DecisionPanel()
    qtbot.addWidget(panel)
    panel.set_has_trained(False)
    biases = np.linspace(-1, 1, 10)
    panel.set_multiclass(multiclass_decision(), biases, list(FASHION_NAMES))
    assert panel.mc_status_label.text() == "All biases are the initial values. Edit any box."
    assert panel.mc_trained_labels[0].text() == "initial −1.00"
    assert panel.mc_reset_button.text() == "Reset all to initial"
    panel.set_has_trained(True)
    assert panel.mc_status_label.text() == "All biases are the trained values. Edit any box."
    assert panel.mc_trained_labels[0].text() == "trained −1.00"


# ---------------------------------------------------------------- long names
def test_elided_label_shortens_with_a_tooltip_only_when_needed(qtbot):
    host = QWidget()
    layout = QVBoxLayout(host)
    label = ElidedLabel("true “T-shirt/top” and some more words")
    layout.addWidget(label)
    shown(qtbot, host, 90, 40)
    assert label.is_elided()
    assert label.text().endswith("…") and len(label.text()) < len(label.full_text())
    assert label.full_text() in label.toolTip()
    host.resize(600, 40)
    QApplication.processEvents()
    assert label.text() == label.full_text() and label.toolTip() == ""


def test_class_boxes_show_pullover_and_sneaker_whole_at_the_panel_width(qtbot):
    panel = TrainingPanel()
    panel.set_class_names(FASHION_NAMES)
    panel.first_combo.setCurrentIndex(2)
    panel.second_combo.setCurrentIndex(7)
    shown(qtbot, panel, 330, 900)  # the Training panel's default width
    for combo, text in ((panel.first_combo, "2: Pullover"), (panel.second_combo, "7: Sneaker")):
        assert combo.currentText() == text
        assert combo.shown_text() == text, combo.width()
        assert text in combo.toolTip()


def test_a_narrow_combo_box_elides_with_the_full_text_in_its_tooltip(qtbot):
    combo = ElidingComboBox()
    for name in FASHION_NAMES:
        combo.addItem(name)
    combo.set_help("Pick a class.")
    combo.setCurrentIndex(0)
    combo.setFixedWidth(70)
    shown(qtbot, combo, 70, 30)
    assert combo.shown_text().endswith("…")
    assert combo.toolTip().startswith("T-shirt/top") and "Pick a class." in combo.toolTip()
    combo.showPopup()  # the list is sized when it opens, for the entries it has then
    assert combo.view().minimumWidth() > QFontMetricsF(combo.font()).horizontalAdvance(
        "T-shirt/top"
    )
    combo.hidePopup()


def _spans(labels: list[str], positions, view_range, width, font):
    """(line, left, right) in pixels of every label as pyqtgraph centres it."""
    metrics = QFontMetricsF(font)
    lo, hi = view_range
    px = width / (hi - lo)
    out = []
    for label, p in zip(labels, positions, strict=True):
        line = len(label) - len(label.lstrip("\n"))
        w = metrics.horizontalAdvance(label.lstrip("\n"))
        centre = (p - lo) * px
        out.append((line, centre - w / 2, centre + w / 2))
    return out


@pytest.mark.parametrize("width", [900, 420, 300, 240])
def test_class_ticks_never_overlap_or_run_off_the_axis(qapp, width):
    font = QFont()
    positions = [i + 0.5 for i in range(10)]
    view = (-0.45, 10.45)  # the decision panel's confusion grid, with room at the ends
    labels, shortened = fit_category_ticks(FASHION_NAMES, positions, view, width, font,
                                           max_lines=3)
    spans = _spans(labels, positions, view, width, font)
    for line in {s[0] for s in spans}:
        row = sorted((s[1], s[2]) for s in spans if s[0] == line)
        for (_l0, r0), (l1, _r1) in zip(row, row[1:], strict=False):
            assert r0 <= l1, (width, labels)
    assert all(s[1] >= -0.5 and s[2] <= width + 0.5 for s in spans), labels
    assert all(label.strip("\n") for label in labels)  # never an empty label
    whole = [label.strip("\n") for label in labels]
    if width >= 420:
        assert whole == list(FASHION_NAMES) and not shortened
    if shortened:
        assert any(text.endswith("…") for text in whole)


def test_ten_class_confusion_grid_names_every_column_whole(qtbot):
    panel = shown(qtbot, DecisionPanel(), 500, 650)  # the panel's width at 1366×768
    panel.set_multiclass(multiclass_decision(), np.zeros(10), list(FASHION_NAMES))
    QApplication.processEvents()
    drawn = drawn_tick_texts(panel.confusion_plot.getPlotItem().getAxis("bottom"))
    assert {"T-shirt/top", "Ankle boot"} <= drawn
    assert drawn == set(FASHION_NAMES)


def test_the_first_column_name_may_reach_under_the_row_names(qtbot):
    """At 1280×720 the grid read "T-shirt/t…" though the corner under the row names was
    empty: the first name may use it (and is drawn there, not dropped)."""
    panel = shown(qtbot, DecisionPanel(), 440, 650)
    panel.set_multiclass(multiclass_decision(), np.zeros(10), list(FASHION_NAMES))
    QApplication.processEvents()
    axis = panel.confusion_plot.getPlotItem().getAxis("bottom")
    assert "T-shirt/top" in drawn_tick_texts(axis)
    (rect, _flags, text), = [t for t in tick_layout(axis)[2] if "T-shirt" in t[2]]
    grid = panel.confusion_plot.getPlotItem().getViewBox()
    assert axis.mapRectToScene(rect).left() < grid.sceneBoundingRect().left()
    whole = [label.strip("\n") for label in panel.confusion_columns.shown]
    assert all(name in axis.toolTip() for name in FASHION_NAMES) or whole == list(FASHION_NAMES)


def test_a_narrow_axis_shortens_names_and_lists_them_in_its_tooltip(qtbot):
    plot = pg.PlotWidget()
    item = plot.getPlotItem()
    item.setXRange(0, 10, padding=0)
    columns = CategoryAxis(item, "bottom", max_lines=2)
    columns.set_names(FASHION_NAMES, [i + 0.5 for i in range(10)])
    shown(qtbot, plot, 260, 200)
    drawn = drawn_tick_texts(item.getAxis("bottom"))
    assert len(drawn) == 10  # none dropped
    assert columns.shortened and any(text.endswith("…") for text in drawn)
    assert all(name in item.getAxis("bottom").toolTip() for name in FASHION_NAMES)


def test_decision_line_labels_stay_inside_the_plot(qtbot):
    panel = shown(qtbot, DecisionPanel(), 500, 650)
    decision = binary_decision()
    panel.set_binary(decision, 0.0, ("Pullover", "Sneaker"))
    QApplication.processEvents()
    lo, hi = panel.bias_slider.float_range()
    for b in (hi, 0.0, lo):  # the line at the left edge, in the middle, at the right edge
        panel.set_bias(b)
        QApplication.processEvents()
        vb_rect = panel.plot.getPlotItem().getViewBox().sceneBoundingRect()
        for label in (panel.line_label_first, panel.line_label_second):
            assert label.toolTip()  # the full text, whatever is shown
            if label.isVisible() and label.toPlainText():
                rect = label.sceneBoundingRect()
                assert rect.left() >= vb_rect.left() - 1 and rect.right() <= vb_rect.right() + 1
                # never a bare arrow: beside the other label it read as part of it
                assert label.toPlainText().strip("←→ ") != "", label.toPlainText()
    panel.set_bias(0.0)
    QApplication.processEvents()
    assert panel.line_label_first.toPlainText() == "predict “Pullover” →"
    assert panel.line_label_second.toPlainText() == "← predict “Sneaker”"


def test_accuracy_count_never_wraps_into_the_confusion_table(qtbot):
    panel = shown(qtbot, DecisionPanel(), 430, 650)
    panel.set_binary(binary_decision(), 0.0, ("T-shirt/top", "Ankle boot"))
    QApplication.processEvents()
    assert not panel.accuracy_label.wordWrap()
    assert panel.accuracy_label.text().count("\n") == 1  # two lines, broken on purpose
    acc = panel.accuracy_label.geometry()
    table_left = min(h.geometry().left() for h in panel.confusion_row_headers)
    assert acc.right() < table_left
    for header in (*panel.confusion_col_headers, *panel.confusion_row_headers):
        if header.is_elided():
            assert header.full_text() in header.toolTip()


# ---------------------------------------------------------------- the bias slider
def test_bias_slider_keyboard_steps_are_fine(qtbot):
    panel = shown(qtbot, DecisionPanel(), 500, 650)
    panel.set_binary(binary_decision(spread=10.0), 0.5, ("3", "7"))  # z spans about ±80
    slider = panel.bias_slider
    slider.setFocus()
    panel.set_bias(0.5)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert panel.bias() == pytest.approx(0.51, abs=1e-9)
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert panel.bias() == pytest.approx(0.61, abs=1e-9)
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert panel.bias() == pytest.approx(0.60, abs=1e-9)
    # the spin box steps the same way: arrow 0.01, PageUp 0.1
    assert panel.bias_spin.singleStep() == pytest.approx(0.01)


def _drag(slider, dx: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    handle = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider
    ).center()
    left = Qt.MouseButton.LeftButton

    def send(kind, pos: QPoint, buttons) -> None:
        event = QMouseEvent(kind, QPointF(pos), QPointF(slider.mapToGlobal(pos)),
                            left, buttons, modifiers)
        QApplication.sendEvent(slider, event)

    send(QEvent.Type.MouseButtonPress, handle, left)
    for step in range(1, 6):
        send(QEvent.Type.MouseMove, handle + QPoint(round(dx * step / 5), 0), left)
    send(QEvent.Type.MouseButtonRelease, handle + QPoint(dx, 0), Qt.MouseButton.NoButton)


def test_shift_drag_moves_the_bias_ten_times_slower(qtbot):
    panel = shown(qtbot, DecisionPanel(), 500, 650)
    panel.set_binary(binary_decision(spread=10.0), 0.0, ("3", "7"))
    slider = panel.bias_slider
    start = panel.bias()
    _drag(slider, 40)
    coarse = panel.bias() - start
    assert coarse > 0.5  # 40 px of a ~160-wide range: several whole units
    panel.set_bias(start)
    _drag(slider, 40, Qt.KeyboardModifier.ShiftModifier)
    fine = panel.bias() - start
    assert fine == pytest.approx(coarse / 10, rel=0.05, abs=0.002)


def test_handle_does_not_jump_when_only_the_histograms_change(qtbot):
    panel = shown(qtbot, DecisionPanel(), 500, 650)
    panel.set_binary(binary_decision(), 1.25, ("3", "7"))
    slider = panel.bias_slider

    def place() -> float:
        return (slider.value() - slider.minimum()) / (slider.maximum() - slider.minimum())

    before = place()
    # painting: the histograms grow to twice the width, b stays 1.25
    wider = binary_decision(spread=2.0)
    panel.set_binary(wider, 1.25, ("3", "7"))
    assert slider.float_value() == pytest.approx(1.25, abs=slider.unit())
    assert place() == pytest.approx(before, abs=0.002)
    lo, hi = slider.float_range()
    assert lo <= -wider.bin_edges[-1] and hi >= -wider.bin_edges[0]  # still covers the data
    # painting that shrinks them a little: nothing moves at all
    panel.set_binary(binary_decision(spread=1.8), 1.25, ("3", "7"))
    assert place() == pytest.approx(before, abs=0.002)
    # a new bias (a training step) may re-fit the range freely
    panel.set_binary(binary_decision(spread=0.5), -3.0, ("3", "7"))
    lo, hi = slider.float_range()
    assert lo <= -3.0 <= hi and hi - lo < 20


# ---------------------------------------------------------------- training panel
def test_dataset_box_names_the_loaded_folder(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_dataset("folder", FASHION_FOLDER)
    assert panel.dataset_text() == "Folder “fashion-mnist”"
    index = panel.dataset_combo.currentIndex()
    assert panel.dataset_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == FASHION_FOLDER
    # choosing the loaded folder again reads nothing
    with qtbot.assertNotEmitted(panel.datasetRequested):
        panel.dataset_combo.activated.emit(index)
    # another folder can still be chosen
    assert panel.dataset_combo.findData("folder") >= 0
    panel.set_dataset_key("folder")  # a failed load elsewhere keeps the folder named
    assert panel.dataset_text() == "Folder “fashion-mnist”"
    panel.set_dataset("sample")
    assert panel.dataset_combo.currentData() == "sample"
    assert all("Folder “" not in panel.dataset_combo.itemText(i)
               for i in range(panel.dataset_combo.count()))


def test_the_model_box_says_which_kinds_change_the_task(qtbot):
    # "Linear (ten neurons)" beside a two-class task switched it to ten classes unsaid
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    combo = panel.model_combo
    linear = combo.itemData(combo.findData("linear"), Qt.ItemDataRole.ToolTipRole)
    single = combo.itemData(combo.findData("single"), Qt.ItemDataRole.ToolTipRole)
    assert "all ten classes" in linear and "two" in single


def test_a_local_read_shows_a_busy_bar_and_no_cancel_button(qtbot):
    panel = shown(qtbot, TrainingPanel(), 330, 900)
    panel.show_dataset_loading(FASHION_FOLDER)
    assert panel.download_bar.isVisible() and panel.download_bar.maximum() == 0  # busy
    assert not panel.cancel_download_button.isVisible()
    assert panel.loading_label.full_text() == "Reading folder “fashion-mnist”…"
    assert not panel.dataset_combo.isEnabled()
    panel.hide_dataset_loading()
    assert not panel.download_bar.isVisible() and not panel.loading_label.isVisible()
    panel.show_dataset_loading("fashion-mnist")
    assert panel.cancel_download_button.isVisible()
    assert panel.loading_label.full_text() == "Downloading Fashion-MNIST…"
    panel.set_download_progress(5_000_000, 10_000_000)
    assert panel.download_bar.maximum() == 1000 and panel.download_bar.value() == 500
    panel.set_download_visible(False)
    assert not panel.cancel_download_button.isVisible()


def test_an_installed_copy_is_named_and_read_not_downloaded(qtbot, tmp_path, monkeypatch):
    # Debian's dataset-fashion-mnist: the box said "Fashion-MNIST (download)" and the
    # read showed "Downloading Fashion-MNIST…" with a Cancel button
    from biasviz.core.datasets import download

    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "share" / "fashion-mnist"
    copy.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (copy / name).write_bytes(b"")
    monkeypatch.setattr(download, "SYSTEM_DATASET_DIRS", (copy.parent,))
    panel = shown(qtbot, TrainingPanel(), 330, 900)
    panel.show_dataset_loading("fashion-mnist")
    assert panel.loading_label.full_text() == "Reading Fashion-MNIST…"
    assert not panel.cancel_download_button.isVisible()
    panel.hide_dataset_loading()
    panel.set_dataset("fashion-mnist", str(copy))
    assert panel.dataset_text() == "Fashion-MNIST (installed copy)"
    index = panel.dataset_combo.currentIndex()
    assert panel.dataset_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == str(copy)
    panel.set_dataset("sample")  # the copy is still there: choosing it reads it
    item = panel.dataset_combo.findData("fashion-mnist")
    assert panel.dataset_combo.itemText(item) == "Fashion-MNIST (installed copy)"
    # a fresh panel says so when its list opens, before the copy is ever chosen
    fresh = shown(qtbot, TrainingPanel(), 330, 900)
    item = fresh.dataset_combo.findData("fashion-mnist")
    assert fresh.dataset_combo.itemText(item) == "Fashion-MNIST (download)"
    fresh.dataset_combo.showPopup()
    assert fresh.dataset_combo.itemText(item) == "Fashion-MNIST (installed copy)"
    fresh.dataset_combo.hidePopup()
    panel.set_dataset("fashion-mnist", str(tmp_path / "cache" / "FashionMNIST"))
    assert panel.dataset_text() == "Fashion-MNIST (download)"


# ---------------------------------------------------------------- Δw
def _single(bias: float = 0.4) -> tuple[ModelSpec, dict[str, np.ndarray]]:
    spec = ModelSpec()
    rng = np.random.default_rng(0)
    params = {"weights": rng.normal(size=784).astype(np.float32),
              "bias": np.array([bias], dtype=np.float32)}
    return spec, params


def test_update_view_says_when_there_is_no_update_yet(qtbot):
    view = LearningView()
    qtbot.addWidget(view)
    spec, params = _single()
    view.reset(Snapshot(spec, params, step=0), params)
    text = view.update_text()
    assert "no update yet" in text and "Δb = 0.000" not in text
    assert view.update_view.colorbar_label() == "Δw"
    # a real update: its numbers, and the note is gone
    update = {"weights": np.full(784, 1e-3, np.float32), "bias": np.array([-0.02], np.float32)}
    view.set_snapshot(Snapshot(spec, params, step=1, last_update=update))
    text = view.update_text()
    assert "Δb = −0.020" in text and "no update" not in text
    assert "Last update Δw = −lr · gradient" in text
    # "Δb = 0.000" only when the bias really did not move
    still = {"weights": np.full(784, 1e-3, np.float32), "bias": np.zeros(1, np.float32)}
    view.set_snapshot(Snapshot(spec, params, step=2, last_update=still))
    assert "Δb = 0.000" in view.update_text()
    # a later moment whose update is not kept says so
    view.set_snapshot(Snapshot(spec, params, step=7))
    assert "not available" in view.update_text() and "Δb = 0.000" not in view.update_text()


def test_weights_view_names_what_its_values_are(qtbot):
    view = WeightsView()
    qtbot.addWidget(view)
    view.set_neurons(np.linspace(-1, 1, 784), np.array([0.1]), ["w"])
    assert view.colorbar_label() == "weight"
    view.set_value_name("w − w₀")
    assert view.colorbar_label() == "w − w₀"
    assert view.hover_at(3.5, 2.5).startswith("(row 2, column 3): w − w₀ = ")


def test_the_training_panel_keeps_its_width_whatever_the_model(qtbot):
    """Its rows' labels are short ('Hidden', 'Kernels: 8 of size 5×5'): 'Hidden neurons'
    made the panel 53 px wider when the MLP was chosen, taken from the views beside it
    (walk-through S)."""
    from biasviz.core.spec import ModelKind
    from biasviz.gui.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    widths = {}
    for kind in ModelKind:
        panel.model_combo.setCurrentIndex(panel.model_combo.findData(kind.value))
        qtbot.wait(10)
        widths[kind.value] = panel.minimumSizeHint().width()
    assert max(widths.values()) - min(widths.values()) <= 4, widths


def test_plot_axes_write_the_typographic_minus(qtbot):
    """Tick labels like every other number in the app: "−30", not "-30"."""
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    axis = plot.getPlotItem().getAxis("bottom")
    texts = axis.tickStrings([-30.0, 0.0, 2.5, -0.25], 1.0, 0.25)
    assert texts[0].startswith("\u2212") and texts[3].startswith("\u2212"), texts
    assert not any("-" in t for t in texts), texts


def test_large_ticks_read_in_thousands_or_millions(qtbot):
    """A run of 3,000 epochs on 60,000 images: the step axis read "1e+06 … 5e+06"."""
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    axis = plot.getPlotItem().getAxis("bottom")
    assert axis.tickStrings([0.0, 1e6, 2.5e6, 5e6], 1.0, 5e5) == ["0", "1M", "2.5M", "5M"]
    assert axis.tickStrings([0.0, 5000.0, 10_000.0, 15_000.0], 1.0, 5000.0) == \
        ["0", "5k", "10k", "15k"]
    assert axis.tickStrings([-20_000.0, 0.0], 1.0, 20_000.0) == ["\u221220k", "0"]
    assert axis.tickStrings([0.0, 250.0, 500.0], 1.0, 250.0) == ["0", "250", "500"]


def test_a_short_axis_in_large_type_labels_fewer_values_never_piled_up(qtbot):
    # present mode at 1280×720: the histogram's 0-10 images read "0 2 4 6 8 10" one on
    # another at ~105 px with 1.4× type (a walk-through)
    from PySide6.QtGui import QFont

    from biasviz.gui import sparser_interval

    assert [sparser_interval(v) for v in (1, 2, 5, 0.2, 20)] == [2, 5, 10, 0.5, 50]
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    axis = plot.getPlotItem().getAxis("left")
    font = QFont()
    font.setPointSizeF(font.pointSizeF() * 1.4)
    axis.setStyle(tickFont=font)
    plot.setYRange(0, 10, padding=0)
    plot.resize(400, 100)  # an axis of ~80 px: "0 2 4 6 8 10" overlapped there
    plot.show()
    qtbot.waitExposed(plot)
    _axis_line, _ticks, texts = tick_layout(axis)
    tops = sorted(rect.top() for rect, _flags, _text in texts)
    height = texts[0][0].height()
    assert len(texts) >= 2
    assert all(b - a >= height for a, b in zip(tops, tops[1:], strict=False)), \
        [t for _r, _f, t in texts]
    # never down to one label: present mode's short loss axis (0.3-0.7) read "0.5" alone
    plot.resize(400, 90)  # an axis of ~68 px
    for low, high in ((0.02, 0.62), (0.01, 0.7), (0.3, 0.7), (0.25, 0.65), (0.62, 0.71)):
        plot.setYRange(low, high, padding=0)
        qtbot.waitUntil(lambda: len(tick_layout(axis)[2]) >= 2, timeout=1000)
        tops = sorted(rect.top() for rect, _flags, _text in tick_layout(axis)[2])
        assert all(b - a >= height for a, b in zip(tops, tops[1:], strict=False)), \
            (low, high, [t for _r, _f, t in tick_layout(axis)[2]])
    # a tall axis keeps pyqtgraph's own spacing
    plot.setYRange(0, 10, padding=0)
    plot.resize(400, 600)
    qtbot.waitUntil(lambda: axis.height() > 500)
    assert {"0", "2", "4", "6", "8", "10"} <= drawn_tick_texts(axis)


def test_a_header_too_narrow_for_one_line_takes_two_before_any_ellipsis(qtbot):
    """The confusion table's headers: "called “Pullover”" on one line where it fits, on
    two ("called" over "“Pullover”") where it does not (it read "called “Pullo…" at
    1366 px), and shortened with "…" (the whole in the tooltip) only below that."""
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from biasviz.gui.class_labels import ElidedLabel

    holder = QWidget()
    qtbot.addWidget(holder)
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    label = ElidedLabel(wrap_once=True)
    row.addWidget(label)
    label.set_full_text("called “Pullover”")
    holder.show()
    qtbot.waitExposed(holder)
    metrics = label.fontMetrics()
    for width, expected in ((metrics.horizontalAdvance("called “Pullover”") + 20,
                             "called “Pullover”"),
                            (metrics.horizontalAdvance("“Pullover”") + 12,
                             "called\n“Pullover”")):
        label.setFixedWidth(width)
        qtbot.waitUntil(lambda expected=expected: label.text() == expected, timeout=1000)
        assert not label.is_elided()
    label.setFixedWidth(metrics.horizontalAdvance("“Pul") + 6)
    qtbot.waitUntil(lambda: "…" in label.text(), timeout=1000)
    assert label.is_elided() and label.text().count("\n") == 1
    assert "called “Pullover”" in label.toolTip()
