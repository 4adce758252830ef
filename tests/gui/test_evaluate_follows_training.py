"""The Evaluate tab follows training: while it is shown, each finished epoch (at most once
a second) brings the current parameters' results, the header says which moment they are
of and that training goes on; after the run it shows the final parameters."""

from __future__ import annotations

from PySide6.QtCore import Qt

from biasviz.core.evaluation import evaluate

WAIT = 30_000


def test_evaluate_tab_refreshes_while_training_and_after(qtbot, window):
    w, s = window, window.session
    w.tabs.setCurrentIndex(w.tabs.indexOf(w.evaluation_view))
    view = w.evaluation_view
    qtbot.waitUntil(lambda: view.evaluation() is not None, timeout=WAIT)
    assert view.moment() == "the untrained model (step 0)"
    assert "the untrained model" in view.header.text()

    s.set_slow_motion(0.05)  # 4 batches an epoch on the sample: ~0.2 s an epoch
    w.training_panel.epochs_spin.setValue(200)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    # while it runs: results of a trained moment, saying that training goes on
    qtbot.waitUntil(lambda: s.state == "running" and view.moment().startswith("at step"),
                    timeout=WAIT)
    assert "training goes on" in view.header.text()
    first = view.moment()
    qtbot.waitUntil(lambda: view.moment() != first, timeout=WAIT)  # and it keeps up
    assert s.state == "running"

    qtbot.mouseClick(w.training_panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    snap = s.snapshot
    qtbot.waitUntil(lambda: view.moment() == f"after step {snap.step:,} ({snap.epoch:,} "
                    f"epoch{'s' if snap.epoch != 1 else ''})", timeout=WAIT)
    expected = evaluate(snap.params, snap.spec, s.data, None, s.model.threshold)
    assert view.evaluation().n_correct == expected.n_correct
    assert (view.confusion() == expected.confusion).all()
