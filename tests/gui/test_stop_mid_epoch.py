"""Stop in mid-epoch keeps the position, as Pause does: the window says so, Step epoch
offers to finish the epoch, and the next Start finishes it first, so that no epoch's
number is used twice (it started a whole new epoch of the same number: two points at
one epoch on the curves)."""

from __future__ import annotations

from PySide6.QtCore import Qt

WAIT = 60_000


def test_start_after_stop_finishes_the_stopped_epoch(qtbot, window, in_thread):
    w, s, p = window, window.session, window.training_panel
    per_epoch = s.trainer.batches_per_epoch
    for k in (1, 2):
        qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda k=k: s.state == "paused" and s.snapshot.step == k,
                        timeout=WAIT)
    qtbot.mouseClick(p.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    assert s.trains_in_thread is in_thread
    text = w.statusBar().currentMessage()
    assert f"Epoch 1 stopped after batch 2 of {per_epoch}" in text
    assert p.epoch_button.text() == f"Finish epoch ({per_epoch - 2} left)"
    # the accuracy read-out is of this moment, not of an epoch's end like the curves'
    # (the final views come in the turn after the state)
    label = w.decision_panel.accuracy_label
    qtbot.waitUntil(lambda: s.snapshot.step == 2 and w.decision_panel.result() is not None)
    qtbot.wait(50)
    assert label.text().startswith("validation accuracy (now)\n")

    p.epochs_spin.setValue(2)
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready" and len(w.plots.epochs) >= 2, timeout=WAIT)
    assert list(s.history.accuracy.x) == [1, 2]  # one point an epoch
    assert list(s.history.valid_loss.x) == [per_epoch, 2 * per_epoch]
    assert list(s.history.loss.x) == list(range(1, 2 * per_epoch + 1))
    assert s.trainer.step == 2 * per_epoch and s.trainer.epoch == 2
    assert p.epoch_button.text().startswith("Step 1 epoch")
    qtbot.waitUntil(lambda: label.text().startswith("validation accuracy\n"), timeout=2_000)
    # the run's end says the first of its epochs was the stopped one, finished
    assert (f"finished 2 epochs (epoch 1 from its batch 3 of {per_epoch}, where it had "
            "stopped)") in w.statusBar().currentMessage()


def test_how_a_run_ended_stays_in_the_status_bar(qtbot, window):
    """"Training finished 3 epochs; validation accuracy …" stays until something else is
    said (it went after 8 s: a learner coming back to the window saw nothing of the
    end)."""
    w, s = window, window.session
    bar = w.statusBar()
    shown: list[tuple[str, int]] = []
    original = bar.showMessage

    def recording(text, timeout=0):
        shown.append((text, timeout))
        original(text, timeout)

    bar.showMessage = recording
    w.training_panel.epochs_spin.setValue(3)
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    qtbot.waitUntil(lambda: any(t.startswith("Training finished") for t, _ in shown),
                    timeout=WAIT)
    text, timeout = next((t, ms) for t, ms in shown if t.startswith("Training finished"))
    assert timeout == 0 and "validation accuracy" in text
    assert bar.currentMessage() == text
    # ...but not past its model: after a switch to ten classes it still spoke of the pair's
    from biasviz.core.datasets import Task

    s.set_task(Task.all_ten())
    qtbot.waitUntil(lambda: s.task == Task.all_ten(), timeout=WAIT)
    assert not bar.currentMessage().startswith("Training finished")
