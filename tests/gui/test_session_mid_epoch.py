"""A session saved while training is paused in the middle of an epoch opens as it was
saved: the progress bar says the same epoch, batch and step, "Step epoch" offers the rest
of that epoch, and training goes on from its next batch (not from batch 0 of a new
epoch)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from biasviz.gui.main_window import MainWindow

WAIT = 30_000


def test_a_session_saved_mid_epoch_reopens_with_its_progress(qtbot, window, tmp_path):
    w, s = window, window.session
    per_epoch = s.trainer.batches_per_epoch
    stop_at = per_epoch + 2  # two batches into the second epoch
    s.step_batches(stop_at)
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == stop_at, timeout=WAIT)
    progress = w.training_panel.progress.text()
    assert progress == f"epoch 2 · batch 2/{per_epoch} · step {stop_at}"
    assert w.training_panel.epoch_button.text() == f"Finish epoch ({per_epoch - 2} left)"
    path = tmp_path / "paused.biasviz"
    assert w.save_session_to(str(path))

    other = MainWindow(settings=QSettings(str(tmp_path / "other.ini"),
                                          QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    other.show()
    try:
        other.session.load_engine_now()
        other.open_file(str(path))
        qtbot.waitUntil(lambda: other.session.snapshot.step == stop_at, timeout=WAIT)
        panel = other.training_panel
        assert panel.progress.text() == progress
        assert panel.progress.value() == 2 and panel.progress.maximum() == per_epoch
        assert panel.epoch_button.text() == f"Finish epoch ({per_epoch - 2} left)"
        # one more step: the epoch's third batch, as in the window it was saved from
        other.session.step_batches(1)
        qtbot.waitUntil(lambda: other.session.state == "paused"
                        and other.session.snapshot.step == stop_at + 1, timeout=WAIT)
        assert panel.progress.text() == f"epoch 2 · batch 3/{per_epoch} · step {stop_at + 1}"
        s.step_batches(1)
        qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == stop_at + 1,
                        timeout=WAIT)
        assert w.training_panel.progress.text() == panel.progress.text()
        assert (other.session.snapshot.params["weights"]
                == s.snapshot.params["weights"]).all()
        assert other.session.history.loss.y[-1] == s.history.loss.y[-1]
    finally:
        other.session.shutdown()
        other.close()
