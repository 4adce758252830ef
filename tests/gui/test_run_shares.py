"""While a run trains in a thread of the window's process (the CNN's torch engine), the
window's frames and the numbers behind them take at most a tenth of the time each; while
the training process trains, a quarter (it has a core of its own)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from biasviz.core import train_process
from biasviz.gui.main_window import PROCESS_RUN_SHARE, THREAD_RUN_SHARE

WAIT = 60_000


def _run(qtbot, w, epochs: int = 2) -> None:
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= epochs,
                    timeout=WAIT)


def _due_after(w, since: float, cost: float) -> bool:
    """Would the next moment's numbers be due ``since`` s after the last, which took
    ``cost`` s?"""
    w._prep_cost, w._prep_done_at = cost, time.perf_counter() - since
    return w._moment_due()


def test_a_run_in_a_thread_leaves_the_gil_to_training(qtbot, window, monkeypatch):
    w = window
    monkeypatch.setenv(train_process.ENV_SWITCH, "0")  # no training process: a thread
    _run(qtbot, w)
    assert w.session.trains_in_thread
    assert w._side_share() == THREAD_RUN_SHARE < PROCESS_RUN_SHARE
    # numbers that took 10 ms: due again after 90 ms, not after 50
    assert not _due_after(w, 0.05, 0.01)
    assert _due_after(w, 0.12, 0.01)
    w._frame_painted(time.perf_counter() - 0.01)  # a 10 ms frame: the next in ≥ 90 ms
    assert w._next_frame >= 0.09 - 1e-3


def test_a_run_in_the_training_process_draws_more_often(qtbot, window):
    w = window
    if not train_process.wanted():
        pytest.skip("the suite runs with BIASVIZ_TRAIN_PROCESS=0: no training process")
    _run(qtbot, w)
    assert not w.session.trains_in_thread
    assert w._side_share() == PROCESS_RUN_SHARE
    assert _due_after(w, 0.05, 0.01)  # 10 ms of numbers: due again after 30 ms
    w._frame_painted(time.perf_counter() - 0.01)
    assert w._next_frame < 0.09 - 1e-3
