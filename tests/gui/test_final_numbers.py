"""A run's end with more validation images than a live frame scores: the full set's
scores (and the diagnosis) are computed off the GUI thread, and then every view shows
the run's last moment together: the weights, the decision's counts, the accuracy text."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

WAIT = 60_000


def _final_views_agree(w) -> bool:
    s = w.session
    snap = s.model.snapshot
    decision = s.model.decision_for(snap.params, live=False)
    expected = decision.evaluate(float(snap.params["bias"][0]), s.model.threshold)
    weights = snap.params["weights"]
    if w.show_combo.currentData() == "delta":
        weights = weights - s.initial_params["weights"]
    return (np.array_equal(w.decision_panel.result().confusion, expected.confusion)
            and np.array_equal(w.weights_view.current_weights().ravel(), weights))


def _train(qtbot, w, epochs: int, at_end) -> None:
    """Train ``epochs`` with the Start button; ``at_end()`` is called in the GUI thread
    as the state becomes "ready", right after the window's own handler of that change."""
    w.session.stateChanged.connect(lambda state: at_end() if state == "ready" else None)
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= epochs,
                    timeout=WAIT)


def test_the_end_of_a_run_scores_every_image_off_the_gui_thread(qtbot, window, monkeypatch):
    w, s = window, window.session
    model = s.model
    n_valid = len(model.data.valid_y)
    monkeypatch.setattr(model, "LIVE_IMAGES", n_valid // 4)  # live frames score a sample
    assert model.live_frames_sample()
    full_scored_in: list[tuple[str, str]] = []
    original = model.decision_for

    checking = [False]  # the test's own check scores too: not the window's

    def recording(params, live=False):
        own_check = checking[0] and threading.current_thread() is threading.main_thread()
        if not live and not own_check:  # (the state: the worker's call can come before
            # the test's own "ready" handler, which runs after the window's, has run)
            full_scored_in.append((threading.current_thread().name, s.state))
        return original(params, live=live)

    def views_agree() -> bool:
        checking[0] = True
        try:
            return _final_views_agree(w)
        finally:
            checking[0] = False

    monkeypatch.setattr(model, "decision_for", recording)
    live_texts: list[str] = []  # the accuracy as live frames show it
    frame = w._on_frame_prepared

    def watching(run_id, result):
        frame(run_id, result)
        if s.state == "running":
            live_texts.append(w.decision_panel.accuracy_label.text())

    w._prep_runner.finished.disconnect()
    w._prep_runner.finished.connect(watching)
    bar_at_end: list[str] = []

    def at_end() -> None:
        bar_at_end.append(w.training_panel.progress.format())

    started_at: list[list] = []
    s.stateChanged.connect(
        lambda state: started_at.append(list(full_scored_in)) if state == "running" else None)
    _train(qtbot, w, 600, at_end)
    # the progress bar says the run's last step with the state, not after the numbers
    # (the status said "finished" beside a bar 1,300 steps short of the end)
    assert f"step {s.history.last_step.step:,}" in bar_at_end[0]
    qtbot.waitUntil(views_agree, timeout=WAIT)
    # the first full-set scoring after the end ran in the worker, not in the GUI thread
    # (the check above, polling in the GUI thread while the worker was slow to start
    # under load, was once counted as the window's)
    after_end = [name for name, state in full_scored_in[len(started_at[0]):]
                 if state == "ready"]
    assert after_end and after_end[0] != threading.main_thread().name, full_scored_in
    assert f"{100 * w.decision_panel.result().accuracy:.1f}%" in \
        w.decision_panel.accuracy_label.text()
    assert w.decision_panel.result().confusion.sum() == n_valid  # every image, not a sample
    # while training, the panel said its figure was on a sample of the images
    assert live_texts and all(f"of {n_valid:,}" in t for t in live_texts), live_texts


def test_a_small_validation_set_is_refreshed_at_once(qtbot, window, monkeypatch):
    """The chapter's pair on the sample: no background step; the views are final in the
    turn after the run's end (the end's own turn changes only the widgets that say the
    state: under X, that turn and the final views' painting made one 35-45 ms stretch)."""
    w, s = window, window.session
    assert not s.model.live_frames_sample()
    in_background: list = []
    monkeypatch.setattr(w._final_runner, "start", lambda *a, **k: in_background.append(a))
    at_end: list[bool] = []
    _train(qtbot, w, 2, lambda: at_end.append(_final_views_agree(w)))
    qtbot.waitUntil(lambda: _final_views_agree(w), timeout=2_000)
    assert at_end and not in_background
