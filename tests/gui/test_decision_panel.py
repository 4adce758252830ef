"""DecisionPanel: the displayed numbers are exactly what the core decisions compute."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from plot_probes import tick_layout
from PySide6.QtGui import QTextDocument

from biasviz.core.decisions import (
    BinaryDecision,
    BinaryResult,
    MulticlassDecision,
    MulticlassResult,
    threshold_from_probability,
)
from biasviz.gui.decision_binary import SATURATED_REACH
from biasviz.gui.decision_common import CORRECT_BG
from biasviz.gui.decision_panel import DecisionPanel, fmt

ACCURACY_RE = re.compile(r"validation accuracy\s+([\d.]+)%\s+\((\d+) / (\d+)\)")
TRAINED_B = 0.4137


def make_binary(seed: int = 0, shift: float = 0.0) -> BinaryDecision:
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.normal(3 + shift, 2, 100), rng.normal(-3 + shift, 2, 100)])
    targets = np.concatenate([np.ones(100, dtype=np.int64), np.zeros(100, dtype=np.int64)])
    return BinaryDecision(z, targets)


def make_multiclass(seed: int = 1, k: int = 10, n: int = 600) -> MulticlassDecision:
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, k, n)
    scores = rng.normal(0, 1, (n, k))
    scores[np.arange(n), targets] += 2.0
    return MulticlassDecision(scores, targets)


def plain(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def displayed_accuracy(text: str) -> tuple[float, int, int]:
    match = ACCURACY_RE.search(text)
    assert match, text
    return float(match.group(1)), int(match.group(2)), int(match.group(3))


def assert_shows(panel: DecisionPanel, expected: BinaryResult) -> None:
    """Label, confusion cells and result() all agree with decision.evaluate."""
    result = panel.result()
    assert isinstance(result, BinaryResult)
    assert result.cut == pytest.approx(expected.cut)
    assert result.accuracy == pytest.approx(expected.accuracy)
    np.testing.assert_array_equal(result.confusion, expected.confusion)
    percent, correct, n = displayed_accuracy(panel.accuracy_label.text())
    assert percent == pytest.approx(round(100 * expected.accuracy, 1))
    assert correct == expected.true_first + expected.true_second
    assert n == int(expected.confusion.sum())
    for i in range(2):
        for j in range(2):
            assert panel.confusion_labels[i][j].text() == str(int(expected.confusion[i, j]))
    assert panel.decision_line.value() == pytest.approx(expected.cut)


@pytest.fixture
def decision() -> BinaryDecision:
    return make_binary()


@pytest.fixture
def panel(qtbot, decision) -> DecisionPanel:
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    widget.resize(520, 650)
    widget.set_binary(decision, TRAINED_B, ("3", "7"))
    return widget


# ---------------------------------------------------------------- binary: display
def test_starts_empty_then_switches_modes(qtbot):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    assert widget.mode() == "empty"
    assert widget.stack.currentWidget() is widget.empty_page
    widget.set_binary(make_binary(), 0.0, ("3", "7"))
    assert widget.mode() == "binary"
    assert widget.stack.currentWidget() is widget.binary_page
    widget.set_multiclass(make_multiclass(), np.zeros(10), [str(i) for i in range(10)])
    assert widget.mode() == "multiclass"
    assert widget.stack.currentWidget() is widget.multiclass_page
    assert isinstance(widget.result(), MulticlassResult)


def test_initial_binary_state_is_the_trained_model(panel, decision):
    assert panel.bias() == TRAINED_B
    assert panel.threshold() == 0.0
    assert panel.probability_threshold() == pytest.approx(0.5)
    assert panel.probability_spin.value() == pytest.approx(0.5)
    assert panel.bias_spin.value() == pytest.approx(round(TRAINED_B, 3))
    assert_shows(panel, decision.evaluate(TRAINED_B, 0.0))
    assert "trained b = +0.414" in plain(panel.bias_status_label.text())
    assert "your b" not in plain(panel.bias_status_label.text())


def test_histograms_are_the_decisions_histograms(panel, decision):
    np.testing.assert_allclose(panel.hist_first_curve.xData, decision.bin_edges)
    np.testing.assert_allclose(panel.hist_first_curve.yData, decision.hist_first)
    np.testing.assert_allclose(panel.hist_second_curve.xData, decision.bin_edges)
    np.testing.assert_allclose(panel.hist_second_curve.yData, decision.hist_second)


def test_class_names_appear_in_labels(panel):
    assert panel.confusion_row_headers[0].text() == "true “3”"
    assert panel.confusion_row_headers[1].text() == "true “7”"
    assert panel.confusion_col_headers[0].text() == "called “3”"
    assert panel.confusion_col_headers[1].text() == "called “7”"
    assert "predict “3” →" in panel.line_label_first.toPlainText()
    assert "← predict “7”" in panel.line_label_second.toPlainText()
    assert "“3”" in plain(panel.legend_label.text()) and "“7”" in plain(panel.legend_label.text())


def test_every_control_has_a_tooltip(panel, qtbot):
    panel.set_multiclass(make_multiclass(), np.zeros(10), [str(i) for i in range(10)])
    controls = [
        panel.bias_slider, panel.bias_spin, panel.reset_button, panel.threshold_slider,
        panel.threshold_spin, panel.probability_spin, panel.plot, panel.accuracy_label,
        panel.mc_reset_button, panel.confusion_plot, *panel.bias_spins,
    ]
    for control in controls:
        assert control.toolTip().strip(), control


# ---------------------------------------------------------------- binary: bias
def test_bias_slider_moves_accuracy_to_what_evaluate_says(panel, decision):
    trained_accuracy = panel.result().accuracy
    seen = set()
    slider = panel.bias_slider
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        position = round(slider.minimum() + fraction * (slider.maximum() - slider.minimum()))
        panel.bias_slider.setValue(position)
        b = panel.bias_slider.float_at(position)
        assert panel.bias() == pytest.approx(b)
        assert panel.bias_spin.value() == pytest.approx(b)
        expected = decision.evaluate(b, 0.0)
        assert_shows(panel, expected)
        seen.add(round(expected.accuracy, 4))
    # the slider really sweeps the line over the histograms: the extremes call everything
    # one class (50 %), the middle is much better
    assert 0.5 in seen and max(seen) >= trained_accuracy - 1e-9 and len(seen) >= 3


def test_bias_spin_moves_accuracy_and_slider(panel, decision):
    panel.bias_spin.setValue(-2.5)
    assert panel.bias() == pytest.approx(-2.5)
    assert panel.bias_slider.float_value() == pytest.approx(-2.5, abs=0.05)
    expected = decision.evaluate(-2.5, 0.0)
    assert_shows(panel, expected)
    assert expected.accuracy != pytest.approx(decision.evaluate(TRAINED_B, 0.0).accuracy)


def test_override_is_visible_and_reset_restores_trained_bias(panel, decision, qtbot):
    panel.set_bias(3.0)
    status = plain(panel.bias_status_label.text())
    assert "your b = +3.000" in status and "trained b = +0.414" in status
    assert panel.bias_overridden()
    assert panel.trained_line.isVisible()  # a dashed line where the trained bias puts it
    assert panel.trained_line.value() == pytest.approx(0.0 - TRAINED_B)
    trained_accuracy = decision.evaluate(TRAINED_B, 0.0).accuracy
    assert f"{100 * trained_accuracy:.1f}%" in panel.compare_label.text()

    with qtbot.waitSignal(panel.biasChanged) as blocker:
        panel.reset_button.click()
    assert blocker.args == [TRAINED_B]
    assert panel.bias() == TRAINED_B
    assert not panel.bias_overridden()
    assert "your b" not in plain(panel.bias_status_label.text())
    assert not panel.trained_line.isVisible()
    assert_shows(panel, decision.evaluate(TRAINED_B, 0.0))


def test_bias_changed_on_user_edit_not_on_set_binary(panel, decision, qtbot):
    with qtbot.waitSignal(panel.biasChanged) as blocker:
        panel.bias_spin.setValue(1.25)
    assert blocker.args == [pytest.approx(1.25)]
    with qtbot.waitSignal(panel.biasChanged):
        panel.bias_slider.setValue(100)
    with qtbot.assertNotEmitted(panel.biasChanged), qtbot.assertNotEmitted(panel.thresholdChanged):
        panel.set_binary(decision, -1.0, ("3", "7"))
    assert panel.bias() == -1.0


def test_result_changed_carries_the_new_result(panel, decision, qtbot):
    with qtbot.waitSignal(panel.resultChanged) as blocker:
        panel.set_bias(-1.0)
    result = blocker.args[0]
    assert isinstance(result, BinaryResult)
    np.testing.assert_array_equal(result.confusion, decision.evaluate(-1.0, 0.0).confusion)
    with qtbot.waitSignal(panel.resultChanged):  # also for programmatic updates
        panel.set_binary(decision, 0.0, ("3", "7"))


def test_dragging_the_line_sets_the_bias(panel, decision, qtbot):
    panel.set_threshold(0.5)
    panel.decision_line.setValue(2.0)  # where the user dropped the line: w·x = t − b
    with qtbot.waitSignal(panel.biasChanged):
        panel.decision_line.sigDragged.emit(panel.decision_line)
    assert panel.bias() == pytest.approx(0.5 - 2.0)
    assert_shows(panel, decision.evaluate(-1.5, 0.5))


def test_shows_the_bias_it_is_given(panel, qtbot):
    new = make_binary(seed=5, shift=0.5)
    # no bias given: the trained one
    panel.set_binary(new, 0.9, ("3", "7"))
    assert panel.bias() == 0.9
    panel.set_bias(-2.0)
    # the model sends the user's bias back with the new trained value
    panel.set_binary(new, 1.1, ("3", "7"), bias=-2.0)
    assert panel.bias() == pytest.approx(-2.0)
    assert panel.trained_bias() == 1.1
    status = plain(panel.bias_status_label.text())
    assert "your b = −2.000" in status and "trained b = +1.100" in status
    assert_shows(panel, new.evaluate(-2.0, 0.0))
    # it keeps no bias of its own: what it is given next is what it shows
    panel.set_binary(new, 1.2, ("3", "7"))
    assert panel.bias() == 1.2
    assert not panel.bias_overridden()


def test_slider_range_covers_histogram_and_trained_bias(qtbot, decision):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    widget.set_binary(decision, 40.0, ("3", "7"))  # a trained bias far outside the data
    lo, hi = widget.bias_slider.float_range()
    assert lo <= -decision.bin_edges[-1] and hi >= -decision.bin_edges[0]
    assert lo <= 40.0 <= hi
    assert widget.bias_slider.float_value() == pytest.approx(40.0, abs=widget.bias_slider.unit())


# ---------------------------------------------------------------- binary: threshold
def test_probability_and_logit_are_linked(panel, qtbot):
    assert panel.threshold() == 0.0 and panel.probability_threshold() == pytest.approx(0.5)
    panel.set_threshold(threshold_from_probability(0.8))
    assert panel.probability_threshold() == pytest.approx(0.8)
    assert panel.probability_spin.value() == pytest.approx(0.8)
    panel.set_probability(0.5)
    assert panel.threshold() == pytest.approx(0.0, abs=1e-12)
    assert panel.threshold_spin.value() == pytest.approx(0.0)
    with qtbot.waitSignal(panel.thresholdChanged) as blocker:
        panel.probability_spin.setValue(0.8)
    assert blocker.args[0] == pytest.approx(math.log(0.8 / 0.2))
    assert panel.threshold() == pytest.approx(math.log(4.0))
    assert panel.threshold_spin.value() == pytest.approx(round(math.log(4.0), 3))
    panel.threshold_spin.setValue(-1.0)
    assert panel.probability_spin.value() == pytest.approx(1 / (1 + math.e), abs=5e-4)
    assert panel.probability_threshold() == pytest.approx(1 / (1 + math.e))


def test_the_threshold_box_takes_what_is_typed(panel, decision, qtbot):
    """The box took only ±6.907 (p 0.001…0.999) and refused the rest without a word: a
    typed −15 became "−1.000", a typed −9 nothing.  It takes any t (the scores reach ±30,
    like the bias box); the slider keeps its span and its handle stops at the end; p
    shows the rounded 0.000 or 1.000; a typed p of 0 or 1 means 0.001 or 0.999."""
    from PySide6.QtCore import Qt

    panel.show()
    qtbot.waitExposed(panel)
    spin = panel.threshold_spin
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "-15")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert panel.threshold() == pytest.approx(-15.0)
    assert spin.value() == pytest.approx(-15.0)
    assert panel.probability_spin.value() == pytest.approx(0.0)
    assert panel.threshold_slider.value() == panel.threshold_slider.minimum()
    assert_shows(panel, decision.evaluate(TRAINED_B, -15.0))
    assert panel.decision_line.value() == pytest.approx(-15.0 - TRAINED_B)
    panel.probability_spin.setValue(1.0)  # p = 1: t = +∞, taken as p = 0.999
    assert panel.threshold() == pytest.approx(threshold_from_probability(0.999))
    assert "Type any value here" in spin.toolTip()


def test_thresholds_move_accuracy_and_line(panel, decision):
    for p in (0.2, 0.8, 0.99):
        panel.probability_spin.setValue(p)
        t = threshold_from_probability(p)
        assert_shows(panel, decision.evaluate(TRAINED_B, t))
        assert panel.decision_line.value() == pytest.approx(t - TRAINED_B)
    panel.threshold_slider.setValue(panel.threshold_slider.maximum())  # the pickiest neuron
    t = panel.threshold_slider.float_value()
    assert panel.threshold() == pytest.approx(t)
    assert_shows(panel, decision.evaluate(TRAINED_B, t))
    panel.set_bias(2.0)
    assert panel.decision_line.value() == pytest.approx(t - 2.0)


def test_threshold_survives_new_parameters(panel, decision):
    panel.set_probability(0.8)
    panel.set_binary(decision, 0.0, ("3", "7"))
    assert panel.probability_threshold() == pytest.approx(0.8)
    assert_shows(panel, decision.evaluate(0.0, threshold_from_probability(0.8)))


def test_equation_shows_the_live_numbers(panel):
    panel.set_bias(1.23)
    panel.set_threshold(0.5)
    text = plain(panel.equation_label.text())
    assert "w·x + (+1.23) ≥ 0.50" in text
    assert "w·x + (+0.73) ≥ 0" in text
    assert "w·x ≥ −0.73" in text
    assert "threshold in disguise" in panel.explain_label.text()


def test_the_equation_breaks_only_between_its_three_forms(panel):
    """At 1280×720 with large numbers it wrapped inside an inequality ("w·x ≥" then
    "−14.36" on the next line; walk-through of session 8)."""
    panel.set_bias(-14.36)
    html = panel.equation_label.text()
    spaces = [i for i, ch in enumerate(html) if ch == " "]
    assert len(spaces) == 2, html  # the only places a line may break
    assert all(html[i - 7:i] == "⇔&nbsp;" for i in spaces), html


def test_the_histogram_title_does_not_call_w_x_z(panel):
    """z is w·x + b everywhere else (the sigmoid's input): the histogram of w·x must not
    say "z = w·x"."""
    text = plain(panel.legend_label.text())
    assert "w·x" in text and "z =" not in text


def test_the_histogram_height_fits_its_tallest_bar(panel, qtbot):
    """A range kept from taller bars (up to 2× the data, with coarse steps: 10 images on
    an axis to 20) left half of a short screen's histogram empty."""
    panel.show()
    qtbot.waitExposed(panel)

    def top_over_tallest() -> float:
        d = panel._decision
        tallest = max(d.hist_first.max(), d.hist_second.max())
        return panel.plot.getPlotItem().vb.viewRange()[1][1] / tallest

    assert 1.2 <= top_over_tallest() <= 1.6 * 1.04
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.normal(3, 0.5, 100), rng.normal(-3, 0.5, 100)])  # taller bars
    targets = np.concatenate([np.ones(100, dtype=np.int64), np.zeros(100, dtype=np.int64)])
    panel.set_binary(BinaryDecision(z, targets), TRAINED_B, ("3", "7"))
    assert 1.2 <= top_over_tallest() <= 1.6 * 1.04
    panel.set_binary(make_binary(), TRAINED_B, ("3", "7"))  # and back to shorter ones
    assert 1.2 <= top_over_tallest() <= 1.6 * 1.04


def test_a_diagonal_count_of_zero_is_not_green(panel):
    """Green marks the correct answers there are: "true Coat, called Coat: 0" in green
    read as a good result (a neuron stuck on one class, session 8's review)."""
    def green(i: int) -> bool:
        return CORRECT_BG in panel.confusion_labels[i][i].styleSheet()

    assert green(0) and green(1)
    panel.set_bias(1e6)  # everything is called the first class
    assert panel.confusion_labels[1][1].text() == "0"
    assert green(0) and not green(1)
    panel.set_bias(TRAINED_B)
    assert green(0) and green(1)


def test_a_flat_tail_is_shaded_to_the_plots_edge_in_grey(panel):
    """The diagnosis' ranges end at the last training image; validation images beyond it
    were left unshaded, and the orange shade read as the first class' colour."""
    panel.set_saturated([(-40.0, -5.0), (5.0, 30.0)])
    (x_lo, x_hi), _ = panel.plot.getPlotItem().vb.viewRange()
    (low_lo, low_hi), (up_lo, up_hi) = (r.getRegion() for r in panel._saturated_items)
    b = panel.bias()
    assert low_hi == pytest.approx(-5.0 - b) and up_lo == pytest.approx(5.0 - b)
    assert low_lo < x_lo and up_hi > x_hi  # to the edges, whatever the data
    brush = panel._saturated_items[0].brush.color()
    assert brush.red() == brush.green() == brush.blue()  # grey, no class' hue


# ---------------------------------------------------------------- editable
def test_set_editable_disables_bias_controls_with_reason(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_editable(False, "Pause training to edit the bias")
    for control in (panel.bias_slider, panel.bias_spin, panel.reset_button):
        assert not control.isEnabled()
    assert not panel.decision_line.movable
    assert panel.edit_note_label.isVisible()
    assert panel.edit_note_label.text() == "Pause training to edit the bias"
    assert panel.threshold_spin.isEnabled()  # t is not a trained parameter
    with qtbot.assertNotEmitted(panel.biasChanged):
        panel.set_bias(2.0)
    assert panel.bias() == TRAINED_B
    panel.set_editable(True)
    assert panel.bias_spin.isEnabled() and panel.decision_line.movable
    assert not panel.edit_note_label.isVisible()
    panel.set_bias(2.0)
    assert panel.bias() == 2.0


def test_editable_state_applies_to_multiclass(panel, qtbot):
    panel.set_multiclass(make_multiclass(), np.zeros(10), [str(i) for i in range(10)])
    panel.set_editable(False, "Pause training first")
    assert not any(spin.isEnabled() for spin in panel.bias_spins)
    assert not panel.mc_reset_button.isEnabled()
    assert panel.mc_edit_note_label.text() == "Pause training first"
    assert not panel.mc_edit_note_label.isHidden()
    assert "Edit any box" not in panel.mc_status_label.text()
    panel.bias_spins[2].setValue(3.0)  # ignored while locked
    np.testing.assert_array_equal(panel.biases(), np.zeros(10))
    assert panel.bias_spins[2].value() == 0.0
    panel.set_editable(True)
    assert all(spin.isEnabled() for spin in panel.bias_spins)
    assert panel.mc_edit_note_label.isHidden()


# ---------------------------------------------------------------- ten classes
@pytest.fixture
def mc_panel(qtbot):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    widget.resize(520, 650)
    decision = make_multiclass()
    trained = np.linspace(-0.3, 0.3, 10)
    widget.set_multiclass(decision, trained, [str(i) for i in range(10)])
    return widget, decision, trained


def assert_multiclass_shows(widget: DecisionPanel, decision: MulticlassDecision) -> None:
    expected = decision.evaluate(widget.biases())
    result = widget.result()
    assert isinstance(result, MulticlassResult)
    np.testing.assert_array_equal(result.confusion, expected.confusion)
    np.testing.assert_array_equal(widget.confusion_image.image, expected.confusion)
    percent, correct, n = displayed_accuracy(widget.mc_accuracy_label.text())
    assert percent == pytest.approx(round(100 * expected.accuracy, 1))
    assert correct == int(np.trace(expected.confusion)) and n == decision.targets.shape[0]
    for i, label in enumerate(widget.per_class_labels):
        assert label.text() == f"{100 * expected.per_class_accuracy[i]:.1f}% right"
    for i in range(decision.k):
        for j in range(decision.k):
            count = int(expected.confusion[i, j])
            assert widget.confusion_numbers.text(i, j) == ("" if count == 0 else str(count))


def test_multiclass_initial_state(mc_panel):
    widget, decision, trained = mc_panel
    np.testing.assert_array_equal(widget.biases(), trained)
    assert_multiclass_shows(widget, decision)
    assert widget.mc_trained_labels[0].text() == "trained −0.30"
    assert widget.mc_name_labels[3].text() == "“3”"


def test_editing_one_bias_changes_accuracy_and_confusion(mc_panel, qtbot):
    widget, decision, trained = mc_panel
    before = widget.result().confusion.copy()
    with qtbot.waitSignal(widget.biasesChanged) as blocker:
        widget.bias_spins[3].setValue(2.0)
    assert widget.biases()[3] == pytest.approx(2.0)
    np.testing.assert_array_equal(np.delete(widget.biases(), 3), np.delete(trained, 3))
    np.testing.assert_allclose(blocker.args[0], widget.biases())
    assert_multiclass_shows(widget, decision)
    # a big bias for "3" pulls answers into column 3
    assert widget.result().confusion[:, 3].sum() > before[:, 3].sum()
    assert "You changed 1 of 10" in plain(widget.mc_status_label.text())


def test_multiclass_reset_and_signals(mc_panel, qtbot):
    widget, decision, trained = mc_panel
    edited = trained.copy()
    edited[[0, 7]] += 1.5
    widget.set_biases(edited)
    np.testing.assert_allclose(widget.biases(), edited)
    assert_multiclass_shows(widget, decision)
    with qtbot.waitSignal(widget.biasesChanged):
        widget.mc_reset_button.click()
    np.testing.assert_array_equal(widget.biases(), trained)
    assert_multiclass_shows(widget, decision)
    with qtbot.assertNotEmitted(widget.biasesChanged):
        widget.set_multiclass(decision, trained + 0.1, [str(i) for i in range(10)])


def test_multiclass_shows_the_biases_it_is_given(mc_panel):
    widget, decision, trained = mc_panel
    widget.bias_spins[5].setValue(-1.0)
    edited = widget.biases()
    widget.set_multiclass(decision, trained + 0.2, [str(i) for i in range(10)], biases=edited)
    assert widget.biases()[5] == pytest.approx(-1.0)
    np.testing.assert_allclose(widget.trained_biases(), trained + 0.2)
    assert_multiclass_shows(widget, decision)
    widget.set_multiclass(decision, trained, [str(i) for i in range(10)])
    np.testing.assert_array_equal(widget.biases(), trained)


def test_multiclass_rejects_mismatched_biases(mc_panel):
    widget, decision, _ = mc_panel
    with pytest.raises(ValueError):
        widget.set_multiclass(decision, np.zeros(9), [str(i) for i in range(10)])


# ---------------------------------------------------------------- the ten-class page on first need
def test_the_ten_class_page_is_built_the_first_time_ten_classes_show(qtbot):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    widget.set_binary(make_binary(), 0.0, ("3", "7"))
    widget.set_has_trained(False)
    widget.set_editable(False, "Pause training first")
    widget.set_bias(0.5)  # ignored while locked, but goes through the whole panel
    assert not widget.has_multiclass_page()
    assert widget.stack.count() == 2
    widget.set_multiclass(make_multiclass(), np.zeros(10), [str(i) for i in range(10)])
    assert widget.has_multiclass_page() and widget.stack.count() == 3
    assert widget.stack.currentWidget() is widget.multiclass_page
    # built late, it shows the state the panel was put in before
    assert widget.mc_reset_button.text() == "Reset all to initial"
    assert widget.mc_trained_labels[0].text() == "initial +0.00"
    assert not any(spin.isEnabled() for spin in widget.bias_spins)
    assert widget.mc_edit_note_label.text() == "Pause training first"
    widget.set_editable(True)
    widget.set_has_trained(True)
    assert all(spin.isEnabled() for spin in widget.bias_spins)
    assert widget.mc_reset_button.text() == "Reset all to trained"


def test_asking_for_a_ten_class_widget_builds_the_page(qtbot):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    with pytest.raises(AttributeError):
        widget.no_such_widget  # noqa: B018 - other names never build it
    assert not widget.has_multiclass_page()
    spins = widget.bias_spins
    assert widget.has_multiclass_page() and spins == []
    assert widget.mode() == "empty"  # built, not shown
    assert widget.stack.currentWidget() is widget.empty_page


def test_the_lists_of_late_widgets_are_what_their_building_makes(qtbot):
    from biasviz.gui.decision_binary import BINARY_PLOT_ITEMS
    from biasviz.gui.decision_multiclass import MULTICLASS_WIDGETS

    widget = DecisionPanel()
    qtbot.addWidget(widget)
    for names, build in ((MULTICLASS_WIDGETS, widget.ensure_multiclass_page),
                         (BINARY_PLOT_ITEMS, widget.ensure_binary_plot)):
        before = set(widget.__dict__)
        assert not names & before
        build()
        assert set(widget.__dict__) - before == names


def test_the_histogram_plot_is_made_when_the_first_neuron_shows(qtbot):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    widget.resize(500, 650)
    widget.show()
    page = widget.binary_page
    slot = page.layout().indexOf(widget._plot_stand_in)
    widget.set_has_trained(False)
    widget.set_editable(False, "Pause training first")
    widget.set_saturated([(4.0, 9.0)])
    widget.set_bias(1.0)
    widget.set_threshold(0.5)
    assert not widget.has_binary_plot()
    widget.set_editable(True)
    widget.set_binary(make_binary(), 0.25, ("Pullover", "Sneaker"))
    assert widget.has_binary_plot()
    # in the stand-in's place, with what was set before it existed
    assert page.layout().indexOf(widget.plot) == slot and widget.plot.parentWidget() is page
    assert page.layout().stretch(slot) == 1
    assert widget.decision_line.movable
    assert widget.trained_line_label.format == "initial"
    # z − b, the tail shaded all the way out
    assert [(r.getRegion()) for r in widget._saturated_items] == [(3.75, SATURATED_REACH - 0.25)]
    assert "“Pullover”" in widget.plot.toolTip()
    assert widget.line_label_first.toolTip() == "predict “Pullover” →"
    assert widget.decision_line.value() == pytest.approx(0.5 - 0.25)  # t − b
    assert widget.hist_first_curve.getData()[0] is not None


def test_the_plots_stand_in_asks_the_layout_for_what_the_plot_asks(qtbot):
    # the splitters share the window out by size hints: a page without its plot's hint
    # got a narrower panel
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    stand_in = widget._plot_stand_in
    asked = (stand_in.sizeHint(), stand_in.minimumSizeHint(), stand_in.minimumSize(),
             stand_in.sizePolicy(), widget.binary_page.sizeHint())
    widget.ensure_binary_plot()
    plot = widget.plot
    assert asked == (plot.sizeHint(), plot.minimumSizeHint(), plot.minimumSize(),
                     plot.sizePolicy(), widget.binary_page.sizeHint())


def test_asking_for_the_plot_makes_it(qtbot):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    assert not widget.has_binary_plot()
    assert widget.plot.parentWidget() is widget.binary_page
    assert widget.has_binary_plot() and widget.mode() == "empty"


def test_the_first_window_leaves_the_ten_class_page_for_later(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from biasviz.core.decisions import output_biases
    from biasviz.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    panel = window.decision_panel
    try:
        assert not panel.has_multiclass_page()
        window.session.load_engine_now()
        qtbot.waitUntil(lambda: panel.mode() == "binary", timeout=10_000)
        assert not panel.has_multiclass_page()
        combo = window.training_panel.task_combo
        combo.setCurrentIndex(combo.findData("all"))  # the user picks "All ten classes"
        qtbot.waitUntil(lambda: panel.mode() == "multiclass", timeout=10_000)
        assert panel.has_multiclass_page() and panel.multiclass_page.isVisible()
        assert len(panel.bias_spins) == 10
        assert [label.full_text() for label in panel.mc_name_labels] == [
            f"“{i}”" for i in range(10)]
        session = window.session
        with qtbot.waitSignal(panel.biasesChanged):
            panel.bias_spins[4].setValue(panel.bias_spins[4].value() + 3.0)
        # the edit reaches the session's model, and the panel shows what it computes
        def model_bias() -> float:
            snap = session.model.shown_snapshot()
            return float(output_biases(snap.params, snap.spec)[4])

        qtbot.waitUntil(lambda: model_bias() == pytest.approx(panel.biases()[4], abs=1e-4))
        assert model_bias() != pytest.approx(panel.trained_biases()[4], abs=1.0)
        assert "You changed 1 of 10" in plain(panel.mc_status_label.text())
    finally:
        window.session.shutdown()


# ---------------------------------------------------------------- ten class names fit
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]


@pytest.mark.parametrize("width", [448, 492])  # the panel's width at 1280×720, 1366×768
def test_every_fashion_name_fits_its_box(qtbot, width):
    widget = DecisionPanel()
    qtbot.addWidget(widget)
    widget.resize(width, 650)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_multiclass(make_multiclass(), np.zeros(10), FASHION)
    qtbot.waitUntil(lambda: widget.mc_name_labels[0].width() < width / 4)
    widths = {label.width() for label in widget.mc_name_labels}
    assert max(widths) - min(widths) <= 2  # the boxes share the width alike
    assert [label.text() for label in widget.mc_name_labels] == FASHION  # whole, no "…"
    assert not any(label.is_elided() for label in widget.mc_name_labels)
    assert "Raise it" in widget.mc_name_labels[0].toolTip()
    # digits keep their quotes: “3” is a name, not a number
    widget.set_multiclass(make_multiclass(), np.zeros(10), [str(i) for i in range(10)])
    assert [label.text() for label in widget.mc_name_labels] == [f"“{i}”" for i in range(10)]


# ---------------------------------------------------------------- helpers
def test_escape_html_is_the_standard_escape():
    import html

    from biasviz.core.text import escape_html

    for text in ("T-shirt/top", "<b>3</b> & 'seven' \"x\"", "&amp;", ""):
        assert escape_html(text) == html.escape(text)


def test_fmt_never_shows_negative_zero():
    assert fmt(-0.001) == "0.00"
    assert fmt(-0.001, sign=True) == "+0.00"
    assert fmt(-1.234, sign=True) == "−1.23"
    assert fmt(float("nan")) == "—"


def test_the_histogram_range_covers_the_scores_and_the_line_and_stays_while_they_drift(panel):
    item = panel.plot.getPlotItem()
    (x_lo, x_hi), (y_lo, y_hi) = item.viewRange()
    d = panel._decision
    assert x_lo <= d.bin_edges[0] and d.bin_edges[-1] <= x_hi
    b_lo, b_hi = panel.bias_slider.float_range()
    t = panel.threshold()
    assert x_lo <= t - b_hi and t - b_lo <= x_hi  # every line position the slider reaches
    top = max(int(d.hist_first.max()), int(d.hist_second.max()))
    assert y_lo == 0 and y_hi >= 1.25 * top
    # training moves the scores a little each frame: the axes stay (no new ticks)
    panel.set_binary(make_binary(shift=0.3), TRAINED_B, ("3", "7"))
    assert item.viewRange()[0] == [x_lo, x_hi]
    # far moved scores get a new range that holds them
    panel.set_binary(make_binary(shift=40.0), TRAINED_B, ("3", "7"))
    (x_lo2, x_hi2), _ = item.viewRange()
    assert x_hi2 > x_hi and x_hi2 >= panel._decision.bin_edges[-1]


def test_only_the_page_shown_counts_for_the_panels_minimum_height(qtbot, panel):
    from PySide6.QtWidgets import QApplication

    panel.show()
    qtbot.waitExposed(panel)
    QApplication.processEvents()
    binary_only = panel.minimumSizeHint().height()
    panel.set_multiclass(make_multiclass(), np.zeros(10), [str(d) for d in range(10)])
    QApplication.processEvents()
    assert panel.mode() == "multiclass"
    assert panel.minimumSizeHint().height() > binary_only  # ten classes need more room
    panel.set_binary(make_binary(), TRAINED_B, ("3", "7"))
    QApplication.processEvents()
    # ten classes were shown once: the two-class panel must not keep their height (on a
    # 720 px screen the window grew past the bottom)
    assert panel.minimumSizeHint().height() == binary_only


@pytest.mark.parametrize("width", [300, 380, 520])
def test_the_reason_editing_is_off_is_never_cut_without_a_tooltip(panel, qtbot, width):
    """Walk-through S: "Showing a past moment … press Now to edit the" was cut to two
    lines with no way to read the rest."""
    reason = "Showing a past moment of training: press Now to edit the bias."
    panel.resize(width, 650)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_editable(False, reason)
    qtbot.wait(10)
    note = panel.edit_note_label
    assert note.text() == reason
    fm = note.fontMetrics()
    lines = note.shown_text().split("\n")
    room = note.contentsRect()
    assert len(lines) * fm.lineSpacing() <= room.height() + 1, (lines, room)  # every line shows
    assert all(fm.horizontalAdvance(line) <= room.width() for line in lines), lines
    words = " ".join(lines).split()
    if note.is_elided():
        assert note.toolTip() == reason and words[-1].endswith("…")
    else:
        assert " ".join(words) == reason


def test_an_accuracy_on_a_sample_says_so(panel):
    """Walk-through S: while training the panel counted "(1737 / 2000)", at the end
    "(… / 10000)", with no word why the denominator jumped."""
    n = panel.result().confusion.sum()  # 200 images in the fixture's decision
    panel.set_validation_size(n)  # the decision holds them all: the counts as before
    displayed_accuracy(panel.accuracy_label.text())
    panel.set_validation_size(2038)  # a live frame's sample of 2,038 images
    assert f"on {n:,} of 2,038" in panel.accuracy_label.text()
    assert "sample" in panel.accuracy_label.toolTip()
    panel.set_multiclass(make_multiclass(n=600), np.zeros(10), [str(i) for i in range(10)])
    panel.set_validation_size(10_000)
    assert "on 600 of 10,000" in panel.mc_accuracy_label.text()
    assert "600 of the 10,000" in panel.mc_accuracy_label.toolTip()
    panel.set_validation_size(None)  # all of them again (a pause, the end)
    displayed_accuracy(panel.mc_accuracy_label.text())
    assert "sample" not in panel.mc_accuracy_label.toolTip()


def test_the_confusion_grids_tick_marks_stay_outside_its_cells(panel, qtbot):
    """Walk-through S: the bottom axis's inward ticks crossed row 9's numbers (CNN)."""
    panel.set_multiclass(make_multiclass(), np.zeros(10), [str(i) for i in range(10)])
    panel.show()
    qtbot.waitExposed(panel)
    item = panel.confusion_plot.getPlotItem()
    cells = item.getViewBox().sceneBoundingRect().adjusted(1, 1, -1, -1)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        _line, ticks, _texts = tick_layout(axis)
        assert ticks
        for _pen, p1, p2 in ticks:
            for p in (p1, p2):
                assert not cells.contains(axis.mapToScene(p)), (side, p)


def shown_panel(qtbot) -> DecisionPanel:
    """A decision panel on screen, 700×500."""
    panel = DecisionPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_near_an_edge_the_line_labels_go_both_on_the_side_with_room(qtbot):
    """The decision line near the plot's edge: the side without room for its label has
    it on the other side, a row lower (it showed nothing, the text only in a tooltip),
    in words naming its side ("← predict “Coat”" right of the line read as if the right
    predicted Coat); both read whole, inside the plot, apart; back in the middle each is
    on its side."""
    panel = shown_panel(qtbot)
    names = ("T-shirt/top", "Ankle boot")
    first, second = panel.line_label_first, panel.line_label_second
    whole = ("predict “T-shirt/top” →", "← predict “Ankle boot”")

    def placed(bias: float) -> list[tuple[str, bool, float]]:
        panel.set_binary(make_binary(), bias, names, bias=bias)
        qtbot.wait(20)
        view = panel.plot.getPlotItem().getViewBox().sceneBoundingRect()
        rects = [label.sceneBoundingRect() for label in (first, second)]
        assert all(label.isVisible() for label in (first, second))
        assert not rects[0].intersects(rects[1])
        assert all(view.left() <= r.left() and r.right() <= view.right() for r in rects)
        line_x = panel.decision_line.sceneBoundingRect().center().x()
        return [(label.toPlainText(), r.center().x() > line_x, round(r.top()))
                for label, r in zip((first, second), rects, strict=True)]

    middle = placed(0.0)
    assert [(text, right) for text, right, _ in middle] == [(whole[0], True), (whole[1], False)]
    assert middle[0][2] == middle[1][2]  # one row
    across = {False: ("right of the line: predict “T-shirt/top”", whole[1]),
              True: (whole[0], "left of the line: predict “Ankle boot”")}
    for bias, side in ((-11.0, False), (11.0, True)):  # the line near the right, the left
        got = placed(bias)
        assert [text for text, _, _ in got] == list(across[side]), got
        assert [right for _, right, _ in got] == [side, side]
        moved = got[0] if not side else got[1]
        assert "←" not in moved[0] and "→" not in moved[0]  # no arrow across the line
    assert placed(0.0) == middle


def test_frames_that_keep_the_line_labels_text_do_not_lay_them_out_again(qtbot):
    """A training frame moves the line a little; the labels beside it are re-laid out
    (pyqtgraph's setFormat: ~0.2 ms in Python each) only when their text changes."""
    panel = shown_panel(qtbot)
    names = ("3", "7")
    panel.set_binary(make_binary(), 0.4, names)
    calls: list[str] = []
    for label in (panel.line_label_first, panel.line_label_second):
        original = label.setFormat
        label.setFormat = lambda text, original=original: (calls.append(text), original(text))
    for k in range(5):  # the same names, room enough: the same texts
        panel.set_binary(make_binary(), 0.4 + 0.01 * k, names, bias=0.4 + 0.01 * k)
    assert calls == []
    assert "predict" in panel.line_label_first.format
    panel.set_binary(make_binary(), 0.4, ("3", "8"))  # a new name: laid out anew
    assert any("8" in text for text in calls)


def test_a_two_class_mlp_is_described_as_its_output_neuron_over_hidden_outputs(qtbot, window):
    """The chapter's neuron weighs the pixels (w·x); a two-class MLP's output neuron weighs
    the hidden layer's outputs (w·h): the rule, the equation and the axis say which, and
    the axis carries no "(x0.001)" prefix."""
    from biasviz.core.spec import ModelKind

    s, panel = window.session, window.decision_panel
    qtbot.waitUntil(lambda: panel.has_binary_plot(), timeout=10_000)
    assert "w·x + b ≥ t" in panel.rule_label.text() and "w·h" not in panel.equation_label.text()
    s.model.request_settings(spec=s.spec.__class__(kind=ModelKind.MLP, hidden=8))
    qtbot.waitUntil(lambda: "w·h" in panel.rule_label.text(), timeout=10_000)
    assert panel.rule_label.text().startswith("The output neuron says")
    assert "w·h" in panel.equation_label.text() and "w·x" not in panel.equation_label.text()
    axis = panel.plot.getPlotItem().getAxis("bottom")
    assert "w·h" in axis.labelText and not axis.autoSIPrefix


def test_an_imported_model_s_values_are_called_imported_not_initial(qtbot, window, tmp_path):
    """A model that came from a file compares an edit with the file's values: the panel
    calls them "imported" (it said "initial"), and "trained" once trained here."""
    import numpy as np

    from biasviz.core.paramfiles import export_params
    from biasviz.core.paramfiles.model_file import ModelFile

    s, panel = window.session, window.decision_panel
    params = {"weights": np.full(784, 0.01, np.float32), "bias": np.array([-1.5], np.float32)}
    path = tmp_path / "neuron.npz"
    export_params(path, ModelFile(s.spec, params, {}))
    s.import_file(str(path))
    qtbot.waitUntil(lambda: panel.reset_button.text() == "Reset to imported b", timeout=10_000)
    assert s.model.reference_word == "imported"
    s.step_batches(1)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=30_000)
    s.stop()
    qtbot.waitUntil(lambda: panel.reset_button.text() == "Reset to trained b", timeout=30_000)


def test_the_histogram_legend_is_not_covered_once_the_plot_is_made(qtbot, window):
    """The plot's stand-in, replaced when the first decision comes, is hidden at once: it
    stayed on top of the legend ("how the validation images score…"), blank, until a
    deferred delete that a processEvents() loop never reached."""
    from PySide6.QtWidgets import QApplication

    from biasviz.gui.decision_binary import _PlotStandIn

    panel = window.decision_panel
    qtbot.waitUntil(panel.has_binary_plot, timeout=10_000)
    QApplication.processEvents()
    legend = panel.legend_label.geometry()
    covering = [c for c in panel.legend_label.parentWidget().findChildren(_PlotStandIn)
                if c.isVisible() and c.geometry().intersects(legend)]
    assert covering == [] and panel.legend_label.isVisible()


def test_the_reference_line_is_named_for_the_model_it_compares_with(qtbot):
    """Moving b away from the model's shows a dashed line where the model's b puts the
    line: named "initial" before any training, "trained" after (it said "trained" on a
    model never trained: its label ignored the word while the line was hidden)."""
    panel = shown_panel(qtbot)
    panel.set_has_trained(False)
    panel.set_binary(make_binary(), 0.25, ("Pullover", "Coat"))
    panel.set_has_trained(True)
    panel.set_has_trained(False)  # the word changes while the line is hidden
    panel.set_bias(3.0)  # overridden: the line shows
    qtbot.wait(20)
    assert panel.trained_line.isVisible()
    assert panel.trained_line_label.toPlainText() == "initial"
    panel.set_bias(0.25)
    panel.set_has_trained(True)
    panel.set_bias(-2.0)
    qtbot.wait(20)
    assert panel.trained_line_label.toPlainText() == "trained"


def test_a_large_trained_bias_reads_whole_under_its_box(qtbot):
    """After a silly learning rate the ten biases are large ("trained −18.87"): where
    the words do not fit the box, the number alone shows (it read "rained −18.87", cut
    at both ends), the words in its tooltip."""
    from biasviz.core.datasets import FASHION_NAMES

    panel = shown_panel(qtbot)
    panel.resize(420, 500)
    trained = np.array([-18.87, 18.69, -123.45, 2.05, 1.91, -0.79, 1.96, -1.85, 1.24, -3.08])
    panel.set_has_trained(True)
    panel.set_multiclass(make_multiclass(), trained, list(FASHION_NAMES))
    qtbot.wait(50)
    panel.set_multiclass(make_multiclass(), trained, list(FASHION_NAMES))  # laid out now
    for label, value in zip(panel.mc_trained_labels, trained, strict=True):
        text = label.text()
        assert text.endswith(f"{abs(value):.2f}"), text
        assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width()
    assert panel.mc_trained_labels[3].text() == "trained +2.05"  # room: the words too


def test_the_histograms_key_never_breaks_a_class_name(qtbot):
    """A wrapping key keeps each name whole ("“Ankle" ended a line, "boot”" began the
    next, at 1366 px)."""
    panel = shown_panel(qtbot)
    panel.set_binary(make_binary(), 0.25, ("T-shirt/top", "Ankle boot"))
    text = panel.legend_label.text()
    assert "“Ankle&nbsp;boot”" in text and "Ankle boot" not in text
