"""At a pause the status bar says where training stopped and, after Step 1 epoch, the
epoch that just ended (it said the epoch before: only a running window announced
epochs, and the one that arrived with the pause was never said)."""

from __future__ import annotations

from PySide6.QtCore import Qt

WAIT = 60_000


def test_step_epoch_says_the_epoch_it_finished(qtbot, window):
    w, s, p = window, window.session, window.training_panel
    for k in (1, 2):
        qtbot.mouseClick(p.epoch_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda k=k: s.state == "paused" and len(w.plots.epochs) >= k,
                        timeout=WAIT)
        epoch = s.history.last_epoch
        text = w.statusBar().currentMessage()
        assert text.startswith(f"Paused at step {epoch.step:,}")
        assert f"epoch {epoch.epoch}: validation accuracy {epoch.valid_accuracy:.1%}" in text
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)  # mid-epoch: no epoch
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == epoch.step + 1,
                    timeout=WAIT)
    text = w.statusBar().currentMessage()
    assert text.startswith(f"Paused at step {epoch.step + 1:,}") and "validation" not in text


def test_resuming_says_so_at_once(qtbot, window):
    """After Resume the pause's "Resume, step, or edit the bias now" goes at once (it
    stayed beside a running training until the next epoch's end: a step a second in
    slow motion, a few seconds)."""
    w, s, p = window, window.session, window.training_panel
    s.set_slow_motion(0.2)
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)
    assert w.statusBar().currentMessage().startswith("Paused at step 1")
    states: list[str] = []
    s.stateChanged.connect(lambda state: states.append(
        f"{state}: {w.statusBar().currentMessage()}"))
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)  # Resume
    qtbot.waitUntil(lambda: bool(states), timeout=WAIT)
    assert states[0] == "running: Training on from step 1"
    p.stop_button.click()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
