"""The diagnosis notice: shows the first finding with its evidence and fix buttons, lists
the others under Details, hides when empty or dismissed, and emits the chosen fix."""

import numpy as np
import pytest

from biasviz.core import diagnosis as dg
from biasviz.core.datasets import Task, load_sample, make_task_data, to_float
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.gui.diagnosis_notice import DiagnosisNotice


@pytest.fixture(scope="module")
def saturated_findings():
    """A real diagnosis: a neuron whose every weight is 1 calls every digit a 3 with
    z in the tens — wrong and flat for every 7."""
    data = make_task_data(load_sample(), Task.pair(3, 7))
    params = {"weights": np.ones(784, np.float32), "bias": np.zeros(1, np.float32)}
    findings = dg.diagnose(ModelSpec(), TrainConfig(), params, to_float(data.valid_x),
                           data.valid_y, target_names=data.target_names())
    assert [f.code for f in findings] == [dg.SATURATED, dg.ONE_CLASS]
    return findings


@pytest.fixture
def notice(qtbot):
    widget = DiagnosisNotice()
    qtbot.addWidget(widget)
    widget.resize(900, 160)
    return widget


def test_hidden_until_there_is_something_to_say(notice):
    notice.show()
    notice.set_findings([])
    assert not notice.isVisible()


def test_shows_the_first_finding_with_evidence_and_fix_buttons(qtbot, notice, saturated_findings):
    notice.set_findings(saturated_findings)
    assert notice.isVisible()
    first = saturated_findings[0]
    assert notice.title_label.text() == first.title
    assert "validation images" in notice.evidence_label.text()
    assert "histogram" in notice.evidence_label.text()
    labels = [b.text() for b in notice.fix_buttons()]
    assert labels == [f.label for f in first.fixes]
    assert all(b.toolTip() for b in notice.fix_buttons())
    # the other finding is behind Details
    assert notice.details_button.isVisible() and "1 more" in notice.details_button.text()
    assert not notice.details_label.isVisible()
    notice.details_button.click()
    assert notice.details_label.isVisible()
    assert saturated_findings[1].title in notice.details_label.text()


def test_a_fix_button_emits_its_fix(qtbot, notice, saturated_findings):
    notice.set_findings(saturated_findings)
    button = notice.fix_buttons()[1]
    with qtbot.waitSignal(notice.fixRequested, timeout=1000) as blocker:
        button.click()
    fix = blocker.args[0]
    assert fix is saturated_findings[0].fixes[1]
    spec, config = fix.apply(ModelSpec(), TrainConfig())
    assert config.loss.value == "bce"


def test_same_findings_do_not_rebuild_and_dismiss_lasts_until_they_change(
        notice, saturated_findings):
    notice.set_findings(saturated_findings)
    buttons = notice.fix_buttons()
    notice.set_findings(list(saturated_findings))  # an equal list: nothing rebuilt
    assert notice.fix_buttons() == buttons
    notice.close_button.click()
    assert not notice.isVisible()
    notice.set_findings(saturated_findings)
    assert not notice.isVisible()  # still dismissed: nothing new
    notice.set_findings(saturated_findings[1:])
    assert notice.isVisible() and notice.title_label.text() == saturated_findings[1].title
    assert not notice.details_button.isVisible()  # nothing more to show
    notice.clear()
    assert not notice.isVisible() and notice.current() is None


def test_a_finding_without_fixes_shows_no_fix_row(notice):
    finding = dg.Finding(dg.LOSS_FLAT, "The loss stopped moving",
                         "over the last 40 steps it stayed at 2.3 — see the loss curve.",
                         "loss curve", 2.3)
    notice.set_findings([finding])
    assert notice.fix_buttons() == [] and not notice.fix_label.isVisible()
    assert notice.evidence_label.text().startswith("Over the last 40 steps")


def test_live_evidence_updates_keep_the_fix_buttons(notice, saturated_findings):
    """While training, the evidence's numbers change every refresh; the buttons under
    the learner's mouse must not be rebuilt (a click would be lost)."""
    from dataclasses import replace

    notice.set_findings(saturated_findings)
    buttons = notice.fix_buttons()
    changed = replace(saturated_findings[0], evidence="51% of the images … — see the histogram")
    notice.set_findings([changed, *saturated_findings[1:]])
    assert notice.fix_buttons() == buttons
    assert notice.evidence_label.text().startswith("51%")


def test_the_chip_is_one_line_and_opens_the_whole_notice_as_a_popup(qtbot, saturated_findings):
    from PySide6.QtWidgets import QWidget

    from biasviz.gui.diagnosis_notice import NoticeChip

    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 500)
    notice = DiagnosisNotice()
    chip = NoticeChip(notice, host)
    host.show()
    qtbot.waitExposed(host)
    assert not chip.isVisible()  # nothing to say
    notice.set_findings(saturated_findings)
    assert chip.isVisible() and not notice.isVisible()  # the popup waits to be asked
    assert chip.title_label.full_text() == saturated_findings[0].title
    assert chip.height() < 2.2 * chip.fontMetrics().height()  # one line
    chip.open_button.click()
    qtbot.waitUntil(notice.isVisible, timeout=3000)
    closed_height = notice.height()
    # as tall as its text at its width (not its text wrapped at a label's minimum width)
    assert closed_height == notice.heightForWidth(notice.width())
    notice.details_button.click()  # the other findings: the popup grows to hold them
    qtbot.waitUntil(lambda: notice.height() > closed_height, timeout=3000)
    chosen = []
    notice.fixRequested.connect(chosen.append)
    notice.fix_buttons()[0].click()
    assert chosen and not notice.isVisible()  # a fix applied: the popup goes
    chip.close_button.click()  # dismissed until the findings change
    assert not chip.isVisible()
    notice.set_findings(saturated_findings[1:])
    assert chip.isVisible()


def test_the_details_button_says_what_it_does(notice, saturated_findings):
    """Closed it offers the details (how many more); open it offers to hide them."""
    notice.set_findings(saturated_findings)
    more = len(saturated_findings) - 1
    assert more >= 1 and notice.details_button.text() == f"▸ Details ({more} more)"
    notice.details_button.setChecked(True)
    assert notice.details_button.text() == "▾ Hide details"
    assert not notice.details_label.isHidden()
    notice.details_button.setChecked(False)
    assert notice.details_button.text() == f"▸ Details ({more} more)"
