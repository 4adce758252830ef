"""The Evaluate tab follows training: while it is shown, each finished epoch (at most once
a second) brings the current parameters' results, the header says which moment they are
of and that training goes on; after the run it shows the final parameters."""

from __future__ import annotations

import threading

import numpy as np
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


def _epochs(n: int) -> str:
    return f"{n:,} epoch{'s' if n != 1 else ''}"


def _record_shown(view, session) -> list:
    """Every result the tab shows, as (moment, parameters, the run's state then)."""
    shown = []
    original = view.show_evaluation

    def recording(evaluation, params, spec, data, moment=""):
        shown.append((moment, params, session.state))
        original(evaluation, params, spec, data, moment)

    view.show_evaluation = recording
    return shown


def _assert_shows(view, session, snap, moment: str) -> None:
    assert view.moment() == moment and moment in view.header.text()
    expected = evaluate(snap.params, snap.spec, session.data, None, session.model.threshold)
    assert view.evaluation().n_correct == expected.n_correct
    assert (view.confusion() == expected.confusion).all()
    np.testing.assert_array_equal(view.per_class_accuracy(), expected.per_class_accuracy)
    np.testing.assert_array_equal(view.misclassified_indices(), expected.misclassified)


def test_after_a_fast_run_it_shows_the_last_parameters(qtbot, window):
    """A run too fast for the once-a-second refresh: when it ends, the tab shows the
    evaluation of the last parameters, its header naming that step and epoch; nothing
    else is shown once the run has ended."""
    w, s = window, window.session
    w.tabs.setCurrentIndex(w.tabs.indexOf(w.evaluation_view))
    view = w.evaluation_view
    qtbot.waitUntil(lambda: view.evaluation() is not None, timeout=WAIT)
    shown = _record_shown(view, s)
    epochs = 12  # 4 batches an epoch on the sample: well under a second in all
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "running", timeout=WAIT)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    snap = s.snapshot
    assert snap.epoch == epochs
    final = f"after step {snap.step:,} ({_epochs(epochs)})"
    qtbot.waitUntil(lambda: view.moment() == final, timeout=WAIT)
    _assert_shows(view, s, snap, final)
    assert all(m == final for m, _p, state in shown if state != "running")

    # Step epoch: paused at the next epoch's end, the tab shows that moment
    s.step_epoch()
    qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)
    snap = s.snapshot
    assert snap.epoch == epochs + 1
    paused = f"after step {snap.step:,} ({_epochs(epochs + 1)})"
    qtbot.waitUntil(lambda: view.moment() == paused, timeout=WAIT)
    _assert_shows(view, s, snap, paused)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)


def test_an_evaluation_of_an_earlier_moment_is_never_shown_after_a_pause(
        qtbot, window, monkeypatch):
    """An evaluation asked for while training ran, still busy when the run pauses (a big
    validation set, a CNN), is of an earlier moment: the tab drops it (it used to show it
    as "after step …", the last parameters' only ~0.3 s + an evaluation later) and
    shows the pause's parameters."""
    import biasviz.core.evaluation as evaluation_module

    w, s = window, window.session
    w.tabs.setCurrentIndex(w.tabs.indexOf(w.evaluation_view))
    view = w.evaluation_view
    qtbot.waitUntil(lambda: view.evaluation() is not None, timeout=WAIT)
    shown = _record_shown(view, s)
    real_evaluate = evaluation_module.evaluate
    busy, release = threading.Event(), threading.Event()

    def held_while_running(*args, cancel=None, **kwargs):
        if s.state == "running" and not busy.is_set():  # the first one asked during the run
            busy.set()
            for _ in range(1000):  # busy until released (or stopped), at most 10 s
                if release.wait(0.01) or (cancel is not None and cancel()):
                    break
        if cancel is not None:
            kwargs["cancel"] = cancel
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(evaluation_module, "evaluate", held_while_running)
    s.set_slow_motion(0.02)
    w.training_panel.epochs_spin.setValue(200)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(busy.is_set, timeout=WAIT)  # an epoch's evaluation is under way
    s.set_slow_motion(0.0)
    qtbot.waitUntil(lambda: s.snapshot.step >= 8, timeout=WAIT)  # the run moves past it
    qtbot.mouseClick(w.training_panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)
    release.set()  # the earlier moment's evaluation finishes now
    snap = s.snapshot
    moment = f"after step {snap.step:,} ({_epochs(snap.epoch)})"
    qtbot.waitUntil(lambda: view.moment() == moment, timeout=WAIT)
    qtbot.wait(400)  # (the window's own debounce: nothing else may come after)
    _assert_shows(view, s, snap, moment)
    after_pause = [(m, p) for m, p, state in shown if state != "running"]
    assert after_pause, "nothing was shown once the run had paused"
    for shown_moment, params in after_pause:
        assert shown_moment == moment
        for name, value in snap.params.items():
            np.testing.assert_array_equal(params[name], value)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)


def test_a_new_model_never_shows_under_the_last_ones_figures(qtbot, window, monkeypatch):
    """Switching to another model with the Evaluate tab shown: the last model's figures
    went on showing, unmarked, while the new one was built (a CNN on 60,000 images:
    ~2 s), as if they were the new model's.  They go at once; the new model's follow."""
    from biasviz.core.datasets import Task

    w, s = window, window.session
    w.tabs.setCurrentIndex(w.tabs.indexOf(w.evaluation_view))
    view = w.evaluation_view
    qtbot.waitUntil(lambda: view.evaluation() is not None, timeout=WAIT)
    seen_while_building: list[tuple] = []
    original = s.model.request_settings

    def building(**change):
        seen_while_building.append((view.evaluation(), view.header.text()))
        return original(**change)

    monkeypatch.setattr(s.model, "request_settings", building)
    w._request(task=Task.all_ten())
    assert seen_while_building and seen_while_building[0][0] is None
    assert "Building the new model" in seen_while_building[0][1]
    qtbot.waitUntil(lambda: view.evaluation() is not None
                    and view.confusion().shape == (10, 10), timeout=WAIT)
