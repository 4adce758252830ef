"""A change of dataset, task or model (or opening a session, importing parameters)
discards a trained model: the window asks first
(Save session first… / Discard and change / Cancel) when the learner makes the change and
trained, unsaved progress would be lost; Cancel puts the control back and changes
nothing; nothing is asked when nothing would be lost, nor for settings set by code."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from biasviz.core.spec import ModelKind

WAIT = 30_000


class Answers:
    """Stands in for the learner at the question: records each box, clicks ``answer``."""

    def __init__(self, monkeypatch, answer: str) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []
        monkeypatch.setattr(QMessageBox, "exec", lambda box: self._exec(box))

    def _exec(self, box: QMessageBox) -> int:
        self.asked.append((box.windowTitle(), box.text()))
        button = next(b for b in box.buttons() if b.text() == self.answer)
        button.click()
        return 0


def train_one_epoch(qtbot, w) -> None:
    w.training_panel.epochs_spin.setValue(1)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= 1,
                    timeout=WAIT)


def test_cancel_keeps_the_trained_model_and_puts_the_control_back(qtbot, window, monkeypatch):
    w, s, p = window, window.session, window.training_panel
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Cancel")
    snap, spec, task, step = s.snapshot, s.spec, s.task, s.snapshot.step
    settings_sent = []
    p.specChanged.connect(settings_sent.append)
    p.taskChanged.connect(settings_sent.append)
    p.configChanged.connect(settings_sent.append)

    qtbot.keyClick(p.model_combo, Qt.Key.Key_Down)  # the learner picks another model
    assert len(answers.asked) == 1
    title, text = answers.asked[0]
    assert title == "Discard the trained model?"
    assert f"trained for {step:,} step" in text and "the model" in text
    assert p.model_combo.currentData() == ModelKind.SINGLE.value  # put back
    assert s.spec == spec and s.snapshot is snap and s.trainer.step == step
    assert settings_sent == []  # nothing was sent: no side effects

    # a typed value (committed with Enter) asks too; Cancel puts the box back
    p.seed_spin.setFocus()
    p.seed_spin.lineEdit().selectAll()
    qtbot.keyClicks(p.seed_spin, "5")
    qtbot.keyClick(p.seed_spin, Qt.Key.Key_Return)
    assert len(answers.asked) == 2 and "the seed" in answers.asked[1][1]
    assert p.seed_spin.value() == spec.seed and s.spec == spec and s.snapshot is snap

    # the second class, by the wheel-less keyboard route
    qtbot.keyClick(p.second_combo, Qt.Key.Key_Up)
    assert len(answers.asked) == 3 and "the classes" in answers.asked[2][1]
    assert p.second_combo.currentData() == 7 and s.task == task
    assert settings_sent == [] and s.snapshot is snap


def test_discard_goes_ahead(qtbot, window, monkeypatch):
    w, s, p = window, window.session, window.training_panel
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Discard and change")
    p.task_combo.setFocus()
    qtbot.keyClick(p.task_combo, Qt.Key.Key_Down)  # all ten classes
    assert len(answers.asked) == 1 and "Changing the task" in answers.asked[0][1]
    assert s.task.n_outputs == 10 and s.snapshot.step == 0


def test_no_question_when_nothing_would_be_lost(qtbot, window, monkeypatch, tmp_path):
    w, s, p = window, window.session, window.training_panel
    answers = Answers(monkeypatch, "Cancel")
    # untrained: the change just happens
    qtbot.keyClick(p.bias_combo, Qt.Key.Key_Down)
    assert answers.asked == [] and s.spec.bias_mode.value == p.bias_combo.currentData()
    qtbot.keyClick(p.bias_combo, Qt.Key.Key_Up)
    train_one_epoch(qtbot, w)
    # just saved: nothing is lost either
    assert w.save_session_to(str(tmp_path / "run.biasviz"))
    qtbot.keyClick(p.bias_combo, Qt.Key.Key_Down)
    assert answers.asked == [] and s.snapshot.step == 0


def test_saved_while_paused_then_stopped_loses_nothing(qtbot, window, monkeypatch, tmp_path):
    """Stopping after a save hands back the same model (an equal snapshot, not the same
    object): nothing is asked; a step after the save is unsaved again."""
    w, s, p = window, window.session, window.training_panel
    answers = Answers(monkeypatch, "Cancel")
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)  # Step 1 batch: paused
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 1, timeout=WAIT)
    assert w.save_session_to(str(tmp_path / "paused.biasviz"))
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    assert s.unsaved_progress() == ""
    qtbot.keyClick(p.bias_combo, Qt.Key.Key_Down)
    assert answers.asked == [] and s.snapshot.step == 0
    qtbot.keyClick(p.bias_combo, Qt.Key.Key_Up)
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 1, timeout=WAIT)
    assert w.save_session_to(str(tmp_path / "paused.biasviz"))
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)  # one step more
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 2, timeout=WAIT)
    assert "2 steps" in s.unsaved_progress()


def test_settings_set_by_code_never_ask(qtbot, window, monkeypatch):
    w, s, p = window, window.session, window.training_panel
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Cancel")
    p.hidden_spin.setValue(3)  # not the MLP: no new model, but no question either
    p.model_combo.setCurrentIndex(p.model_combo.findData(ModelKind.MLP.value))
    assert answers.asked == []
    assert s.spec.kind is ModelKind.MLP and s.snapshot.step == 0
    # the single neuron picked with ten classes: the task follows (two classes), no error
    p.task_combo.setCurrentIndex(1)
    p.model_combo.setCurrentIndex(p.model_combo.findData(ModelKind.LINEAR.value))
    assert s.task.n_outputs == 10 and s.spec.kind is ModelKind.LINEAR
    p.model_combo.setCurrentIndex(p.model_combo.findData(ModelKind.SINGLE.value))
    assert s.task.is_binary and s.spec.kind is ModelKind.SINGLE
    assert answers.asked == []


def test_save_first_saves_then_changes(qtbot, window, monkeypatch, tmp_path):
    w, s, p = window, window.session, window.training_panel
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Save session first…")
    path = tmp_path / "kept.biasviz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    qtbot.keyClick(p.init_combo, Qt.Key.Key_Down)
    assert len(answers.asked) == 1 and path.exists()
    assert s.spec.init.value == p.init_combo.currentData() and s.snapshot.step == 0
    # a save dialog cancelled: the model stays, the control goes back
    train_one_epoch(qtbot, w)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    spec, snap = s.spec, s.snapshot
    qtbot.keyClick(p.init_combo, Qt.Key.Key_Up)
    assert len(answers.asked) == 2
    assert s.spec == spec and s.snapshot is snap and p.init_combo.currentData() == spec.init.value


def test_a_new_dataset_asks_and_cancel_keeps_the_loaded_one(qtbot, window, monkeypatch):
    w, s, p = window, window.session, window.training_panel
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Cancel")
    loads = []
    s.datasetLoading.connect(loads.append)
    qtbot.keyClick(p.dataset_combo, Qt.Key.Key_Down)  # "MNIST, full (download)"
    assert len(answers.asked) == 1 and "Changing the dataset" in answers.asked[0][1]
    assert loads == [] and not s.loading_dataset
    assert p.dataset_combo.currentData() == "sample" and s.snapshot.step > 0


def test_opening_a_session_or_importing_asks_too_and_cancel_opens_nothing(
        qtbot, window, monkeypatch):
    w, s = window, window.session
    dialogs = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (dialogs.append(a[1]), ("", ""))[1])
    # untrained: nothing to lose, straight to the file dialog
    w.open_session_dialog()
    assert dialogs == ["Open session"]
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Cancel")
    for open_it in (w.open_session_dialog, w.import_dialog):
        open_it()
    assert len(answers.asked) == 2 and dialogs == ["Open session"]  # cancelled: no dialog
    assert "replaces the model" in answers.asked[0][1]
    answers.answer = "Discard and open"
    w.import_dialog()
    assert dialogs[-1] == "Import parameters" and len(answers.asked) == 3
    assert s.snapshot.step > 0  # the dialog was cancelled: the trained model is still here


def test_quit_and_reset_ask_when_a_trained_model_would_be_lost(qtbot, window, monkeypatch):
    w, s = window, window.session
    closed = []
    monkeypatch.setattr(type(w), "close", lambda self: closed.append(1) or True)
    w.quit_asking()  # untrained: nothing to lose, no question
    assert closed == [1]
    train_one_epoch(qtbot, w)
    answers = Answers(monkeypatch, "Cancel")
    w.quit_asking()
    assert len(answers.asked) == 1 and closed == [1]  # cancelled: still open
    step = s.snapshot.step
    w.training_panel.reset_button.click()  # Reset, cancelled: the model stays
    assert len(answers.asked) == 2 and s.snapshot.step == step > 0
    answers.answer = "Quit without saving"
    w.quit_asking()
    assert closed == [1, 1] and len(answers.asked) == 3


def test_training_holds_still_while_quit_asks_and_goes_on_after_cancel(qtbot, window,
                                                                        monkeypatch):
    """Quit while training: the run pauses while the question is up (what Save first
    would save is what the question says), and goes on after Cancel (walk-through S:
    the progress bar moved on behind the box)."""
    w, s = window, window.session
    seen = []

    def answer(box):
        qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)  # as a person reads
        step = s.snapshot.step
        qtbot.wait(200)
        seen.append((s.state, step, s.snapshot.step))
        next(b for b in box.buttons() if b.text() == "Cancel").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    w.training_panel.epochs_spin.setValue(2000)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "running" and s.snapshot.step > 50, timeout=WAIT)
    w.quit_asking()
    assert seen and seen[0][0] == "paused" and seen[0][1] == seen[0][2]  # held still
    qtbot.waitUntil(lambda: s.state == "running", timeout=WAIT)  # and goes on
    moving_from = s.snapshot.step
    qtbot.waitUntil(lambda: s.snapshot.step > moving_from, timeout=WAIT)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)


def test_reset_layout_and_settings_asks_before_it_replaces_a_trained_model(qtbot, window,
                                                                           monkeypatch):
    """View › Reset layout and settings put the chapter's task and model back and threw a
    trained ten-class model away without a word (the only way that did not ask)."""
    from dataclasses import replace

    from biasviz.core.datasets import Task

    w, s = window, window.session
    s.set_task(Task.all_ten())
    s.set_config(replace(s.config, epochs=1))
    train_one_epoch(qtbot, w)
    snap = s.snapshot
    answers = Answers(monkeypatch, "Cancel")
    w.reset_settings()
    assert len(answers.asked) == 1 and "Resetting the settings" in answers.asked[0][1]
    assert s.task == Task.all_ten() and s.snapshot is snap  # kept, nothing reset
    answers.answer = "Discard and reset"
    w.reset_settings()
    assert len(answers.asked) == 2
    assert s.task == Task.pair(3, 7) and s.snapshot.step == 0
    w.reset_settings()  # the chapter's own model, untrained: nothing to ask
    assert len(answers.asked) == 2
    # the chapter's own model, trained: kept as it is, nothing to ask (it went back to
    # step 0 without a word)
    train_one_epoch(qtbot, w)
    trained = s.snapshot
    assert trained.step > 0
    w.reset_settings()
    assert len(answers.asked) == 2 and s.snapshot is trained and s.history.loss.total > 0
