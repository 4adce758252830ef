"""Every fix a finding proposes is a button: the findings under Details have theirs too
(the tester found "Fixes: Go on with learning rate 1" there as plain italic text)."""

import pytest

from biasviz.core import diagnosis as dg
from biasviz.core.diagnosis import Finding
from biasviz.gui.diagnosis_notice import DiagnosisNotice

LEAD = Finding(dg.TINY_STEPS, "Learning rate 10⁻⁶ is too small: the weights have barely moved",
               "in 141 steps the weights moved less than 0.001% of their size — see the "
               "loss curve.", "loss curve", 1e-8,
               (dg.fix_larger_lr_small_start(1.0, 15.0),))
SAME = Finding(dg.ONE_CLASS, "Almost every image (999 of 1,000) gets the same answer: “Pullover”",
               "over 99% of the 1,000 validation images are called “Pullover” — see the "
               "confusion counts.", "confusion counts", 0.999)
FLAT = Finding(dg.LOSS_FLAT, "The loss stopped moving",
               "over the last 56 steps the training loss stayed at 0.498 — see the loss curve.",
               "loss curve", 0.498, (dg.fix_larger_lr(1.0), dg.fix_bce()))


@pytest.fixture
def notice(qtbot):
    widget = DiagnosisNotice()
    qtbot.addWidget(widget)
    widget.resize(900, 240)
    return widget


def test_the_details_fixes_are_buttons_that_emit_their_fix(qtbot, notice):
    notice.set_findings([LEAD, SAME, FLAT])
    assert [b.text() for b in notice.fix_buttons()] == [LEAD.fixes[0].label]
    buttons = notice.detail_fix_buttons()
    assert [b.text() for b in buttons] == [f.label for f in FLAT.fixes]
    assert all(b.toolTip() for b in buttons)
    assert "Fixes:" not in notice.details_label.text()  # no longer plain text
    assert SAME.title in notice.details_label.text() and FLAT.title in notice.details_label.text()
    notice.details_button.click()
    assert all(b.isVisible() for b in buttons)
    with qtbot.waitSignal(notice.fixRequested, timeout=1000) as blocker:
        buttons[0].click()
    assert blocker.args[0] is FLAT.fixes[0]
    assert blocker.args[0].config_changes["lr"] == 1.0


def test_live_evidence_keeps_the_details_buttons(notice):
    """While training the evidence changes every refresh: the buttons under the mouse
    stay (a rebuilt one would lose the click); new fixes get new buttons."""
    from dataclasses import replace

    notice.set_findings([LEAD, SAME, FLAT])
    buttons = notice.detail_fix_buttons()
    notice.set_findings([LEAD, SAME, replace(FLAT, evidence="stayed at 0.499 — see the loss curve")])
    assert notice.detail_fix_buttons() == buttons
    assert "0.499" in notice.details_label.text()
    notice.set_findings([LEAD, replace(FLAT, fixes=(dg.fix_bce(),))])
    assert [b.text() for b in notice.detail_fix_buttons()] == [dg.fix_bce().label]
    notice.set_findings([LEAD])
    assert notice.detail_fix_buttons() == [] and not notice.details_button.isVisible()
