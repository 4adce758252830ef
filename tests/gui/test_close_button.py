"""The window's close button (the window manager's ×: a spontaneous close) asks before a
trained, unsaved model is lost, as File › Quit does: Cancel keeps the window and
everything in it (a paused run stays paused, ready to resume); "Quit without saving"
closes it and ends training; nothing is asked when nothing would be lost.

The close is delivered as a window manager's is: through Qt's window-system interface
(a spontaneous QCloseEvent to the window's QWindow) where the platform library exports
it, else as a QCloseEvent marked spontaneous.  The question is answered by a timer, in
the dialog's own event loop, as a learner would."""

from __future__ import annotations

import ctypes
import os

import pytest
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

WAIT = 30_000
_SYNC_CLOSE = "_ZN22QWindowSystemInterface16handleCloseEventINS_19SynchronousDeliveryEEEbP7QWindow"


def _window_system_close():
    """Qt's own entry for a close request from the window system, or None."""
    import PySide6

    for name in ("libQt6Gui.so.6", "libQt6Gui.so"):
        path = os.path.join(os.path.dirname(PySide6.__file__), "Qt", "lib", name)
        try:
            close = getattr(ctypes.CDLL(path), _SYNC_CLOSE)
        except (OSError, AttributeError):
            continue
        close.restype, close.argtypes = ctypes.c_bool, [ctypes.c_void_p]
        return close
    return None


def press_close_button(window) -> bool:
    """Close ``window`` as its title bar's × does; True when it closed."""
    close = _window_system_close()
    if close is not None and window.windowHandle() is not None:
        return bool(close(shiboken6.getCppPointer(window.windowHandle())[0]))
    event = QCloseEvent()
    event.spontaneous = lambda: True  # what the window manager's close is
    QApplication.sendEvent(window, event)
    if event.isAccepted():
        window.hide()  # what Qt does after an accepted close
    return event.isAccepted()


class Learner:
    """Answers the discard question with ``answer`` once it is shown (a timer polling
    for the modal box, inside its exec loop); records each question."""

    def __init__(self, window, answer: str) -> None:
        self.window, self.answer = window, answer
        self.asked: list[str] = []
        self._tries = 0
        QTimer.singleShot(0, self._poll)

    def _poll(self) -> None:
        boxes = [b for b in self.window.findChildren(QMessageBox)
                 if b.objectName() == "discard_box" and b.isVisible()]
        if not boxes:
            self._tries += 1
            if self._tries < 200:  # ~4 s, then the test fails on what was (not) asked
                QTimer.singleShot(20, self._poll)
            return
        box = boxes[0]
        self.asked.append(box.text())
        next(b for b in box.buttons() if b.text() == self.answer).click()


def test_close_button_asks_cancel_keeps_everything_discard_closes(qtbot, window):
    w, s = window, window.session
    s.step_batches(3)  # a paused run: trained, unsaved
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 3, timeout=WAIT)
    snap, progress = s.snapshot, w.training_panel.progress.text()

    learner = Learner(w, "Cancel")
    assert press_close_button(w) is False
    assert len(learner.asked) == 1
    assert "Quitting closes the model" in learner.asked[0]
    assert "trained for 3 steps" in learner.asked[0]
    # nothing lost: the window, the model and the paused run are all still here
    assert w.isVisible()
    assert s.state == "paused" and s.snapshot is snap and s.training_thread_alive
    assert w.training_panel.progress.text() == progress
    s.step_batches(1)  # and it goes on
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 4, timeout=WAIT)

    learner = Learner(w, "Quit without saving")
    assert press_close_button(w) is True
    assert len(learner.asked) == 1 and "trained for 4 steps" in learner.asked[0]
    assert not w.isVisible()
    qtbot.waitUntil(lambda: not s.training_thread_alive, timeout=WAIT)  # training ended


def test_close_button_saves_first_when_asked(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w, s = window, window.session
    s.step_batches(2)
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 2, timeout=WAIT)
    path = tmp_path / "kept.biasviz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    learner = Learner(w, "Save session first…")
    assert press_close_button(w) is True
    assert len(learner.asked) == 1 and path.exists() and not w.isVisible()


@pytest.mark.parametrize("trained_then_saved", [False, True], ids=["untrained", "saved"])
def test_close_button_asks_nothing_when_nothing_would_be_lost(qtbot, window, tmp_path,
                                                              trained_then_saved):
    w, s = window, window.session
    if trained_then_saved:
        s.step_batches(2)
        qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)
        assert w.save_session_to(str(tmp_path / "run.biasviz"))
    learner = Learner(w, "Cancel")
    assert press_close_button(w) is True
    assert learner.asked == [] and not w.isVisible()


def test_back_to_recipe_asks_before_it_discards_a_trained_model(qtbot, window):
    """Back to the recipe after a fix that changed the start (init std 0.01) starts a new
    model: asked first, and Cancel keeps the trained model and its settings."""
    from dataclasses import replace

    w, s = window, window.session
    s.model.request_settings(spec=replace(s.spec, init_std=0.01))
    s.step_batches(3)
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 3, timeout=WAIT)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    snap = s.snapshot
    learner = Learner(w, "Cancel")
    w.training_panel.recipe_button.click()
    assert len(learner.asked) == 1 and "Back to the recipe" in learner.asked[0]
    assert s.snapshot is snap and s.spec.init_std == 0.01
    learner = Learner(w, "Discard and go back")
    w.training_panel.recipe_button.click()
    assert len(learner.asked) == 1
    assert s.spec.init_std == 1.0 and s.snapshot.step == 0
