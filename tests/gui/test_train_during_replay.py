"""Start pressed while the timeline replays a past run: the replay stops first, the
question names the moment then on show, and training goes on from exactly that moment
(the replay went on behind the dialog, and training continued from a later step)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

WAIT = 30_000


def _trained(qtbot, w, epochs: int) -> None:
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= epochs,
                    timeout=WAIT)


def _replaying(qtbot, w) -> int:
    """Replay the run at top speed until it is part way; returns the step on show."""
    bar = w.timeline_bar
    bar.speed_combo.setCurrentIndex(bar.speed_combo.count() - 1)
    bar.play_button.click()
    moments = w.session.model.timeline.moments()
    qtbot.waitUntil(lambda: w.session.model.scrub_step is not None
                    and w.session.model.scrub_step >= moments[3], timeout=WAIT)
    assert bar.play_button.isChecked()
    return w.session.model.scrub_step


def _answer(qtbot, asked: list, button_text: str):
    """A user who reads the question for a while (the event loop turning, as it does
    under a modal dialog), then clicks the button with ``button_text``."""
    def exec_(box):
        asked.append(box.text())
        for _ in range(30):  # ~0.3 s: 8× replay would go ~24 moments on
            qtbot.wait(10)
            QApplication.processEvents()
        [b for b in box.buttons() if button_text in b.text()][0].click()
        return 0
    return exec_


def test_start_during_a_replay_trains_from_the_moment_on_show(qtbot, window, monkeypatch):
    w, s = window, window.session
    _trained(qtbot, w, 20)
    shown = _replaying(qtbot, w)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", _answer(qtbot, asked, "Train from here"))
    w.training_panel.epochs_spin.setValue(1)
    w.start_training()
    assert not w.timeline_bar.play_button.isChecked()  # the replay stopped
    assert asked and f"step {shown:,}" in asked[0]
    qtbot.waitUntil(lambda: s.state == "ready" and s.snapshot.step > shown, timeout=WAIT)
    # trained from the moment on show: one epoch after it, nothing recorded in between
    assert s.snapshot.step == shown + s.trainer.batches_per_epoch
    # the history after it was forgotten: the curve goes on from that step
    later = [int(x) for x in s.history.loss.x if x > shown]
    assert later == list(range(shown + 1, s.snapshot.step + 1))


def test_the_space_key_during_a_replay_also_freezes_the_moment(qtbot, window, monkeypatch):
    w, s = window, window.session
    _trained(qtbot, w, 20)
    shown = _replaying(qtbot, w)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", _answer(qtbot, asked, "Cancel"))
    w.start_action.trigger()  # Space
    assert not w.timeline_bar.play_button.isChecked()
    assert asked and f"step {shown:,}" in asked[0]
    qtbot.wait(100)
    # cancelled: nothing trained, still looking at that moment
    assert s.state == "ready" and s.model.scrub_step == shown


def test_start_during_a_replay_can_train_on_from_the_latest_step(qtbot, window, monkeypatch):
    w, s = window, window.session
    _trained(qtbot, w, 20)
    latest = s.snapshot.step
    shown = _replaying(qtbot, w)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", _answer(qtbot, asked, f"step {latest:,}"))
    w.training_panel.epochs_spin.setValue(1)
    w.start_training()
    assert asked and f"step {shown:,}" in asked[0]
    qtbot.waitUntil(lambda: s.state == "ready" and s.snapshot.step > latest, timeout=WAIT)
    # nothing forgotten: the run went on from its latest step
    assert s.snapshot.step == latest + s.trainer.batches_per_epoch
    assert shown + 1 in [int(x) for x in s.history.loss.x]
    assert s.model.scrub_step is None
