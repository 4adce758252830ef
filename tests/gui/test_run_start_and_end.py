"""A run's start and end cost the window little: the run is under way before the views
redraw for it, and the note that stands in for the bias's status while a run goes on
takes its place without moving anything (a resized plot rebuilds its axes)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QWidget

from biasviz.core.datasets import Task

WAIT = 60_000


class _Moves(QObject):
    """Records the widgets inside ``page`` that move or change size (an application-wide
    event filter while it lives)."""

    def __init__(self, page) -> None:
        super().__init__()
        self.page = page
        self.seen: list[str] = []
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Move) \
                and isinstance(obj, QWidget) and obj.isVisible() \
                and self.page.isAncestorOf(obj):
            self.seen.append(f"{event.type().name} {type(obj).__name__}")
        return False

    def stop(self) -> list[str]:
        QApplication.instance().removeEventFilter(self)
        return self.seen


def _start_and_finish(qtbot, w, epochs: int = 3) -> list[bool]:
    """Start a run; whether the runner had started when the views heard of it."""
    seen: list[bool] = []

    def on_state(state: str) -> None:
        if state == "running":  # started (a 3-epoch run in a thread may be over already)
            thread = w.session._train_runner.thread_object()
            seen.append(thread is not None and (thread.isRunning() or thread.isFinished()))

    w.session.stateChanged.connect(on_state)
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= epochs,
                    timeout=WAIT)
    w.session.stateChanged.disconnect(on_state)
    return seen


def test_the_run_starts_before_the_views_redraw_for_it(qtbot, window, in_thread):
    seen = _start_and_finish(qtbot, window)
    assert seen == [True]
    assert window.session.trains_in_thread is in_thread


def test_the_training_process_has_the_run_before_the_views_redraw_for_it(qtbot, window,
                                                                          in_thread):
    """The window sends the run to the training process itself (the child holds the
    images; the orders are drawn ahead): sent from the relaying thread, it went ~5 ms
    into the chapter's 0.08 s run, once the thread got the GIL the views' redraw held."""
    s = window.session
    if in_thread:
        pytest.skip("a run in a thread of the window has no training process")
    s.start_training_process()  # as the app does at start-up, in the background
    qtbot.waitUntil(lambda: s.trainer is not None and s.trainer.order.prefetched() > 0,
                    timeout=WAIT)
    sent: list[bool] = []

    def on_state(state: str) -> None:
        if state == "running":
            sent.append(s._control is not None and s._control._live)

    s.stateChanged.connect(on_state)
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    s.stateChanged.disconnect(on_state)
    assert sent == [True]


def test_no_frame_is_drawn_when_the_run_is_about_to_end(qtbot, window):
    """A frame drawn just before a run's end is on screen for as long, then replaced by
    the final views; its painting competed with the run for the cores (the chapter's
    0.08 s run took ~1.5× longer with its one frame): none when the run, at its pace so
    far, ends within END_SOON_SECONDS; frames before that."""
    from dataclasses import replace

    from biasviz.gui.main_window import END_SOON_SECONDS

    w, s = window, window.session
    s.start_training_process()
    s.set_config(replace(s.config, epochs=3000))  # ~1 s
    frames: list[tuple[float | None, bool]] = []  # (seconds left by the pace, drawn)
    original = w._refresh_frame

    def frame() -> None:
        snap = s.model.shown_snapshot()
        left = w._run_pace.seconds_left(snap.step) if snap is not None else None
        drawn, preparing = w.frames_drawn, w._prep_runner.is_running()
        original()
        frames.append((left, w.frames_drawn != drawn
                       or (w._prep_runner.is_running() and not preparing)))

    w._frame_timer.timeout.disconnect()
    w._frame_timer.timeout.connect(frame)
    heard: list[int] = []  # the pace hears each report's newest step (RunPace.heard)
    pace_heard = w._run_pace.heard
    w._run_pace.heard = lambda step: (heard.append(step), pace_heard(step))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    assert heard and heard == sorted(heard) and heard[-1] <= s.history.last_step.step
    assert any(drawn for _left, drawn in frames)
    near_end = [drawn for left, drawn in frames
                if left is not None and left <= END_SOON_SECONDS]
    assert not any(near_end), frames


def test_a_runs_start_and_end_move_nothing_on_the_neuron_tab(qtbot, window):
    """Nothing on the Neuron tab moves or changes size while a run starts, trains and
    ends: each move had Qt relayout and repaint the widgets around it (a plot's resize
    rebuilds its axes).  Seen: the note replacing the bias status, the bias box's range
    growing with the scores, "Reset to initial b" becoming "Reset to trained b"."""
    w = window
    qtbot.waitUntil(lambda: w.decision_panel.has_binary_plot(), timeout=WAIT)
    qtbot.wait(50)  # the first layout settled
    panel = w.decision_panel
    moves = _Moves(w.tabs.widget(0))
    states: list[tuple[bool, bool]] = []

    def on_state(state: str) -> None:  # the status and the note take turns
        if state == "running":
            states.append((panel.edit_note_label.isVisibleTo(panel),
                           panel.bias_status_label.isVisibleTo(panel)))

    w.session.stateChanged.connect(on_state)
    _start_and_finish(qtbot, w)
    w.session.stateChanged.disconnect(on_state)
    qtbot.wait(50)
    assert moves.stop() == []
    assert states == [(True, False)]
    assert not panel.edit_note_label.isVisible() and panel.bias_status_label.isVisible()
    assert panel.reset_button.text() == "Reset to trained b"


def test_a_ten_class_run_moves_nothing_either(qtbot, window):
    w = window
    w.session.set_task(Task.all_ten())
    qtbot.waitUntil(lambda: w.decision_panel.has_multiclass_page()
                    and w.decision_panel.confusion_plot.isVisible(), timeout=WAIT)
    qtbot.wait(50)
    panel = w.decision_panel
    moves = _Moves(w.tabs.widget(0))
    _start_and_finish(qtbot, w, epochs=2)
    qtbot.wait(50)
    assert moves.stop() == []
    assert panel.mc_edit_note_label.isHidden() and not panel.mc_status_label.isHidden()
    assert panel.mc_reset_button.text() == "Reset all to trained"


def test_frames_repaint_what_changed_not_the_whole_tab(qtbot, window):
    """A label's new text went up the layouts to the tab widget, which repaints itself
    whole at each layout request: the tab bar (outside every view) was repainted at
    nearly every frame."""
    w = window
    qtbot.waitUntil(lambda: w.decision_panel.has_binary_plot(), timeout=WAIT)
    qtbot.wait(50)
    bar = w.tabs.tabBar()
    painted: list[int] = []

    class _Paints(QObject):
        def eventFilter(self, _obj, event) -> bool:  # noqa: N802 (Qt naming)
            if event.type() == QEvent.Type.Paint:
                painted.append(1)
            return False

    probe = _Paints()
    bar.installEventFilter(probe)
    frames = w.frames_drawn
    dropped = w._layout_guard.dropped
    w.session.set_slow_motion(0.01)  # ~0.5 s: frames on any machine
    _start_and_finish(qtbot, w, epochs=12)
    bar.removeEventFilter(probe)
    assert w.frames_drawn > frames  # frames were drawn...
    assert painted == []  # ...and the tab bar was left alone...
    assert w._layout_guard.dropped > dropped  # ...though their labels asked for layouts


def test_between_runs_the_next_runs_batch_orders_are_drawn_ahead(qtbot, window):
    """While the window is idle the next run's batch orders are drawn (the thread that
    feeds the training process then hands them out at the start instead of drawing them
    there), and the run they feed is the run without them."""
    from dataclasses import replace

    import numpy as np

    from biasviz.core.train_loop import make_trainer

    s = window.session
    s.set_config(replace(s.config, epochs=5))
    qtbot.waitUntil(lambda: s.trainer.order.prefetched() == 5, timeout=5_000)
    headless = make_trainer(s.spec, s.data, s.config)
    expected = [e.loss for e in headless.run() if hasattr(e, "loss")]
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    assert list(s.history.loss.y) == expected
    for name, value in headless.snapshot().params.items():
        np.testing.assert_array_equal(s.snapshot.params[name], value)
    # and again for the run after it, once the window has been idle a moment
    qtbot.waitUntil(lambda: s.trainer.order.prefetched() == 5, timeout=5_000)


def test_a_run_started_the_moment_a_stopped_one_ends_is_the_run_that_follows_it(qtbot,
                                                                                 window):
    """Start pressed in the very handler of a stopped run's "ready", while that run's
    thread may still be handing back the batch orders it did not use: the two runs are
    the run that was never stopped (the orders are not drawn twice, nor skipped)."""
    from dataclasses import replace

    import numpy as np

    from biasviz.core.train_loop import make_trainer

    s = window.session
    s.start_training_process()
    s.set_config(replace(s.config, epochs=300))
    qtbot.waitUntil(lambda: s.trainer.order.prefetched() > 0, timeout=5_000)
    stopped, restarted = [False], [False]

    def on_update(*_args) -> None:
        if not stopped[0] and s.state == "running" and s.trainer is not None:
            stopped[0] = True
            s.stop()

    def on_state(state: str) -> None:
        if state == "ready" and stopped[0] and not restarted[0]:
            restarted[0] = True
            s.set_config(replace(s.config, epochs=3))
            s.start()

    s._train_runner.updated.connect(on_update)
    s.stateChanged.connect(on_state)
    s.start()
    qtbot.waitUntil(lambda: restarted[0] and s.state == "ready", timeout=WAIT)
    s.stateChanged.disconnect(on_state)
    s._train_runner.updated.disconnect(on_update)
    assert 0 < s.trainer.epoch < 300
    straight = make_trainer(s.spec, s.data, replace(s.config, epochs=s.trainer.epoch))
    expected = [e.loss for e in straight.run() if hasattr(e, "loss")]
    assert list(s.history.loss.y) == expected
    for name, value in straight.snapshot().params.items():
        np.testing.assert_array_equal(s.snapshot.params[name], value)


def test_a_runs_start_repaints_the_curves_only_when_their_axes_change(qtbot, window):
    """A plot let go by the paint pacer repaints whole: the start spreads the curves only
    when the run's plan moved an axis (the first run's empty plots already span it; a
    second run reaches further)."""
    w, s = window, window.session
    s.start_training_process()
    spread_at_start: list[bool] = []
    calls: list[int] = []
    original = w._pacer.spread

    def spread(views, counted=True):
        calls.append(1)
        return original(views, counted)

    def on_state(state: str) -> None:  # (after the window's own handler)
        if state == "running":
            spread_at_start.append(bool(calls))

    w._pacer.spread = spread
    s.stateChanged.connect(on_state)
    for _ in range(2):
        calls.clear()
        s.start()
        qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    s.stateChanged.disconnect(on_state)
    assert spread_at_start == [False, True]
