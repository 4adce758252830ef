"""A run's start and end cost the window little: the run is under way before the views
redraw for it, and the note that stands in for the bias's status while a run goes on
takes its place without moving anything (a resized plot rebuilds its axes)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, Qt

from biasviz.core import train_process
from biasviz.core.datasets import Task

WAIT = 60_000


class _Resizes(QObject):
    """Counts the resize events of the widgets it watches."""

    def __init__(self, *widgets) -> None:
        super().__init__()
        self.count = 0
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, _obj, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.Resize:
            self.count += 1
        return False


def _start_and_finish(qtbot, w, epochs: int = 3) -> list[bool]:
    """Start a run; whether the runner had started when the views heard of it."""
    seen: list[bool] = []

    def on_state(state: str) -> None:
        if state == "running":
            seen.append(w.session._train_runner.is_running())

    w.session.stateChanged.connect(on_state)
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= epochs,
                    timeout=WAIT)
    w.session.stateChanged.disconnect(on_state)
    return seen


@pytest.mark.parametrize("in_thread", [False, True], ids=["process", "thread"])
def test_the_run_starts_before_the_views_redraw_for_it(qtbot, window, monkeypatch, in_thread):
    if in_thread:
        monkeypatch.setenv(train_process.ENV_SWITCH, "0")
    elif not train_process.wanted():
        pytest.skip("the suite runs with BIASVIZ_TRAIN_PROCESS=0: no training process")
    seen = _start_and_finish(qtbot, window)
    assert seen == [True]
    assert window.session.trains_in_thread is in_thread


def test_a_runs_start_and_end_move_nothing_on_the_neuron_tab(qtbot, window):
    w = window
    qtbot.waitUntil(lambda: w.decision_panel.has_binary_plot(), timeout=WAIT)
    qtbot.wait(50)  # the first layout settled
    panel = w.decision_panel
    plot = panel.plot
    before = plot.size()
    resizes = _Resizes(plot, w.plots.loss_plot, w.plots.acc_plot)
    states: list[tuple[bool, bool]] = []

    def on_state(state: str) -> None:  # the status and the note take turns
        if state == "running":
            qtbot.wait(1)
            states.append((panel.edit_note_label.isVisible(),
                           panel.bias_status_label.isVisible()))

    w.session.stateChanged.connect(on_state)
    _start_and_finish(qtbot, w)
    w.session.stateChanged.disconnect(on_state)
    qtbot.wait(50)
    assert states == [(True, False)]
    assert not panel.edit_note_label.isVisible() and panel.bias_status_label.isVisible()
    assert plot.size() == before
    assert resizes.count == 0


def test_the_ten_biases_note_takes_the_status_place(qtbot, window):
    w = window
    w.session.set_task(Task.all_ten())
    qtbot.waitUntil(lambda: w.decision_panel.has_multiclass_page(), timeout=WAIT)
    qtbot.wait(50)
    panel = w.decision_panel
    confusion = panel.confusion_plot
    qtbot.waitUntil(lambda: confusion.isVisible(), timeout=WAIT)
    before = confusion.size()
    resizes = _Resizes(confusion)
    _start_and_finish(qtbot, w, epochs=2)
    qtbot.wait(50)
    assert panel.mc_edit_note_label.isHidden() and not panel.mc_status_label.isHidden()
    assert confusion.size() == before
    assert resizes.count == 0
