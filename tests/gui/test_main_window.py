"""The main window end to end: training runs in the background and every view follows;
bias and threshold controls show exactly the core's numbers; export and import through
the actions; errors reach the user and change nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from biasviz.core.decisions import BinaryDecision
from biasviz.core.spec import TrainConfig
from biasviz.gui.main_window import MainWindow

WAIT = 30_000


def run_to_end(qtbot, w, epochs: int):
    w.training_panel.epochs_spin.setValue(epochs)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.state == "running" or len(w.plots.epochs) >= epochs,
                    timeout=WAIT)
    qtbot.waitUntil(lambda: w.session.state == "ready" and len(w.plots.epochs) >= epochs,
                    timeout=WAIT)


def error_boxes(w):
    return [b for b in w.findChildren(QMessageBox) if b.objectName() == "error_box"]


def test_defaults_are_the_chapters_lesson(window):
    s = window.session
    assert s.task.classes == (3, 7)
    assert s.spec.kind.value == "single" and s.spec.bias_mode.value == "scalar"
    assert s.config.lr == 1.0 and s.config.batch_size == 256
    assert s.dataset.key == "sample"
    assert window.chapter_label.isVisibleTo(window)
    assert window.training_panel.start_button.isEnabled()


def test_short_run_feeds_every_view(qtbot, window):
    w = window
    before = w.weights_view.tile_values(0).copy()
    run_to_end(qtbot, w, 3)
    per_epoch = w.session.trainer.batches_per_epoch
    assert w.session.history.loss.total == 3 * per_epoch
    assert [e[0] for e in w.plots.epochs] == [1, 2, 3]
    assert w.plots.acc_curve.getData()[1] is not None and len(w.plots.acc_curve.getData()[1]) == 3
    after = w.weights_view.tile_values(0)
    assert not np.allclose(before, after), "the weight image did not change"
    # a random start: after training the view shows what training added, w − w₀
    assert w.show_combo.currentData() == "delta"
    np.testing.assert_allclose(
        w.weights_view.current_weights().ravel(),
        w.session.snapshot.params["weights"] - w.session.initial_params["weights"], rtol=1e-5,
        atol=1e-6,
    )
    assert f"step {3 * per_epoch}" in w.training_panel.progress.text()
    assert len(w.session.history.bias) == 3 * per_epoch


def test_pause_resume_stop_reset(qtbot, window, monkeypatch):
    w, s = window, window.session
    s.set_slow_motion(0.005)
    w.training_panel.epochs_spin.setValue(1000)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.snapshot is not None and s.snapshot.step > 3, timeout=WAIT)
    assert not w.decision_panel.is_editable(), "bias must not be editable while running"
    assert not w.training_panel.model_combo.isEnabled()
    qtbot.mouseClick(w.training_panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)
    step = s.trainer.step
    qtbot.wait(200)
    assert s.trainer.step == step
    assert w.decision_panel.is_editable()
    assert w.training_panel.start_button.text() == "Resume"
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.trainer.step > step + 2, timeout=WAIT)
    qtbot.mouseClick(w.training_panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    assert s.trainer.step > step
    initial = s.initial_params["weights"].copy()
    asked = []

    def answer(box) -> int:  # the learner reads the question and discards
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == "Discard and reset").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    qtbot.mouseClick(w.training_panel.reset_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "Reset" in asked[0]  # trained and unsaved: asked first
    assert s.trainer.step == 0
    assert len(w.session.history.loss) == 0 and w.plots.epochs == []
    np.testing.assert_array_equal(s.snapshot.params["weights"], initial)


def test_single_step_then_paused(qtbot, window):
    w, s = window, window.session
    qtbot.mouseClick(w.training_panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=WAIT)
    assert s.trainer.step == 1
    snap = s.snapshot
    assert snap.last_update is not None and np.abs(snap.last_update["weights"]).max() > 0
    qtbot.mouseClick(w.training_panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.trainer.step == 2 and s.state == "paused", timeout=WAIT)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)


def test_bias_and_threshold_show_exactly_the_core_numbers(qtbot, window):
    w, s = window, window.session
    run_to_end(qtbot, w, 5)
    params = s.snapshot.params
    z = (s.data.valid_x.astype(np.float32) / 255) @ params["weights"]
    y = s.data.valid_y
    decision = BinaryDecision(z, y)
    for bias, threshold in [(3.0, 0.0), (-4.5, 1.5), (0.25, -2.0)]:
        w.decision_panel.set_bias(bias)
        w.decision_panel.set_threshold(threshold)
        expected = decision.evaluate(w.decision_panel.bias(), w.decision_panel.threshold())
        brute = np.mean(((z + w.decision_panel.bias()) >= w.decision_panel.threshold()) == (y == 1))
        shown = w.decision_panel.result()
        assert shown.accuracy == pytest.approx(expected.accuracy)
        assert shown.accuracy == pytest.approx(brute)
        np.testing.assert_array_equal(shown.confusion, expected.confusion)
        assert f"{100 * brute:.1f}%" in w.decision_panel.accuracy_label.text()
        # the user's bias is applied to the model itself (exports and the canvas see it)
        assert float(s.snapshot.params["bias"][0]) == pytest.approx(w.decision_panel.bias(), abs=1e-5)


def test_export_through_the_action_and_import_back(qtbot, window, tmp_path, monkeypatch):
    w, s = window, window.session
    run_to_end(qtbot, w, 2)
    trained = s.current_params()
    target = tmp_path / "model.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "NumPy arrays (*.npz)")))
    w.export_action.trigger()
    assert target.exists()
    assert "Exported" in w.statusBar().currentMessage()
    w.session.reset()
    assert not np.array_equal(s.snapshot.params["weights"], trained["weights"])
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    w.import_action.trigger()  # reads the file in the background
    qtbot.waitUntil(lambda: np.array_equal(s.snapshot.params["weights"], trained["weights"]),
                    timeout=WAIT)
    np.testing.assert_array_equal(w.weights_view.current_weights().ravel(), trained["weights"])
    assert not error_boxes(w)


def test_import_of_a_corrupt_file_shows_an_error_and_changes_nothing(qtbot, window, tmp_path):
    w, s = window, window.session
    before = s.current_params()
    spec = s.spec
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    assert not w.import_from(str(bad))
    boxes = error_boxes(w)
    assert boxes and "broken.npz" in boxes[-1].text()
    assert s.spec == spec
    for k, v in before.items():
        np.testing.assert_array_equal(s.snapshot.params[k], v)


def test_export_to_a_bad_place_shows_an_error(qtbot, window, tmp_path):
    assert not window.export_to(str(tmp_path))  # a directory
    assert error_boxes(window)


def test_ten_classes_show_ten_tiles_and_editable_biases(qtbot, window):
    w, s = window, window.session
    w.training_panel.task_combo.setCurrentIndex(1)  # all ten
    assert s.task.n_outputs == 10 and s.spec.kind.value == "linear"
    assert w.weights_view.tile_count() == 10
    run_to_end(qtbot, w, 2)
    assert w.decision_panel.mode() == "multiclass"
    biases = w.decision_panel.biases().copy()
    biases[0] += 50.0
    w.decision_panel.set_biases(biases)
    np.testing.assert_allclose(s.snapshot.params["biases"], biases, rtol=1e-6)
    result = w.decision_panel.result()
    assert result.confusion[:, 0].sum() > 0.5 * result.confusion.sum()


def test_choosing_a_model_that_needs_the_other_task_changes_both(qtbot, window):
    """Single neuron from ten classes with an MLP: two classes and a single neuron (the
    task changed alone kept the MLP); the linear model from two classes: ten classes."""
    w, s, panel = window, window.session, window.training_panel

    def choose(combo, data) -> None:
        combo.setCurrentIndex(combo.findData(data))

    panel.task_combo.setCurrentIndex(1)  # all ten
    choose(panel.model_combo, "mlp")
    assert s.task.n_outputs == 10 and s.spec.kind.value == "mlp"
    choose(panel.model_combo, "single")
    assert s.task.is_binary and s.spec.kind.value == "single" and s.spec.n_outputs == 1
    assert panel.model_combo.currentData() == "single" and panel.task_combo.currentIndex() == 0
    assert w.weights_view.tile_count() == 1
    choose(panel.model_combo, "linear")
    assert s.task.n_outputs == 10 and s.spec.kind.value == "linear"
    assert panel.model_combo.currentData() == "linear" and panel.task_combo.currentIndex() == 1


def test_divergence_is_shown_and_the_app_recovers(qtbot, window):
    w, s = window, window.session
    s.set_config(TrainConfig(lr=1e38, loss="bce", epochs=2))
    w._on_settings_changed()
    s.start()
    qtbot.waitUntil(lambda: bool(error_boxes(w)), timeout=WAIT)
    assert "diverged" in error_boxes(w)[-1].text()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    assert all(np.isfinite(a).all() for a in s.snapshot.params.values())
    s.set_config(TrainConfig(epochs=1))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch >= 1, timeout=WAIT)


def test_an_exception_in_the_training_thread_reaches_the_user_and_start_works_again(
        qtbot, window, monkeypatch):
    monkeypatch.setenv("BIASVIZ_TRAIN_PROCESS", "0")  # train in a thread of this process
    w, s = window, window.session
    original = type(s.trainer).run

    def broken(self, epochs=None, control=None):
        it = original(self, epochs, control)
        yield next(it)
        raise RuntimeError("injected failure mid-epoch")

    monkeypatch.setattr(type(s.trainer), "run", broken)
    s.start()
    qtbot.waitUntil(lambda: bool(error_boxes(w)), timeout=WAIT)
    assert "injected failure" in error_boxes(w)[-1].text()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    monkeypatch.setattr(type(s.trainer), "run", original)
    s.set_config(TrainConfig(epochs=1))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch >= 1, timeout=WAIT)


def test_a_training_process_that_dies_is_reported_nothing_is_lost_and_start_works_again(
        qtbot, window):
    w, s = window, window.session
    s.set_slow_motion(0.02)
    s.start()
    qtbot.waitUntil(lambda: s.snapshot is not None and s.snapshot.step >= 5, timeout=WAIT)
    s._process._proc.kill()  # as if the system killed it
    qtbot.waitUntil(lambda: bool(error_boxes(w)), timeout=WAIT)
    text = error_boxes(w)[-1].text()
    assert "training process ended unexpectedly" in text and "Nothing is lost" in text
    assert "Error" not in text  # no exception type names for a learner
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    # what the window last showed is what training goes on from
    shown = s.snapshot
    assert s.trainer.step == shown.step > 0
    assert np.array_equal(s.trainer.snapshot().params["weights"], shown.params["weights"])
    s.set_slow_motion(0.0)
    s.set_config(TrainConfig(epochs=1))
    epoch = s.trainer.epoch
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch == epoch + 1, timeout=WAIT)
    assert s.history.last_accuracy is not None


def test_without_a_training_process_the_window_trains_in_a_thread(qtbot, window,
                                                                  monkeypatch):
    from biasviz.core import train_process

    def refuse(*_args, **_kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(train_process.subprocess, "Popen", refuse)
    w, s = window, window.session
    s.set_config(TrainConfig(epochs=1))
    s.start()
    qtbot.waitUntil(lambda: bool(error_boxes(w)), timeout=WAIT)
    text = error_boxes(w)[-1].text()
    assert "could not start the training process" in text.lower()
    assert "in the window's own" in text
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch == 1, timeout=WAIT)
    assert s.history.last_accuracy is not None


def test_the_window_uses_one_blas_thread_while_the_training_process_runs(qtbot, window):
    """The child has a core of its own: the window's products keep off it meanwhile
    (OpenBLAS's second thread spun between products, ~20% of a core)."""
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    s = window.session
    s.set_slow_motion(0.02)
    s.start()
    qtbot.waitUntil(lambda: s.snapshot is not None and s.snapshot.step >= 3, timeout=WAIT)
    assert s._process is not None and s._process.alive()  # trained in the child
    assert blas_threads() == {1}
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    qtbot.waitUntil(lambda: blas_threads() == before, timeout=WAIT)


def test_new_task_data_reaches_the_training_process_before_start(qtbot, window):
    """The child gets the images when the task changes, not when Start is pressed."""
    from biasviz.core.datasets import Task

    s = window.session
    assert s.start_training_process() is not None
    process = s._process
    assert process.holds(s.model.data)
    s.set_task(Task.pair(2, 4))
    qtbot.waitUntil(lambda: process.holds(s.model.data), timeout=WAIT)
    assert s.model.data.task.classes == (2, 4)


def test_settings_are_remembered_and_can_be_reset(qtbot, tmp_path):
    path = str(tmp_path / "remember.ini")
    first = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.training_panel.lr_spin.setValue(0.5)
    first.training_panel.first_combo.setCurrentIndex(1)
    first.close()
    second = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert second.session.config.lr == 0.5
    assert second.session.task.classes == (1, 7)
    assert second.training_panel.lr_spin.value() == 0.5
    second.reset_settings()
    assert second.session.config.lr == 1.0 and second.session.task.classes == (3, 7)
    second.close()


def test_show_change_since_initialization(qtbot, window):
    """With a random start the template hides under w₀'s noise: after training the view
    switches to w − w₀ by itself; painting works on either view."""
    w, s = window, window.session
    assert w.show_combo.currentData() == "weights"  # before training: the weights
    run_to_end(qtbot, w, 2)
    assert w.show_combo.currentData() == "delta"
    expected = s.snapshot.params["weights"] - s.initial_params["weights"]
    np.testing.assert_allclose(w.weights_view.current_weights().ravel(), expected, atol=1e-6)
    assert w.paint_combo.isEnabled()
    # painting on w − w₀ paints what training added: w = w₀ + painted
    painted = expected.copy()
    painted[:100] += 2.0
    w.weights_view.weightsPainted.emit(painted)
    np.testing.assert_allclose(s.snapshot.params["weights"],
                               s.initial_params["weights"] + painted, atol=1e-5)
    # a view picked by hand stays
    w.show_combo.setCurrentIndex(0)
    np.testing.assert_allclose(w.weights_view.current_weights().ravel(), s.snapshot.params["weights"])
    run_to_end(qtbot, w, 1)
    assert w.show_combo.currentData() == "weights"


def test_painting_changes_the_model_and_restore_undoes_it(qtbot, window):
    w, s = window, window.session
    run_to_end(qtbot, w, 2)
    w.show_combo.setCurrentIndex(w.show_combo.findData("weights"))
    trained = s.snapshot.params["weights"].copy()
    acc_before = w.decision_panel.result().accuracy
    w.paint_combo.setCurrentIndex(1)  # add
    painted = trained.copy()
    painted[:392] += 5.0  # as a brush stroke would: the view emits the new weights
    w.weights_view.weightsPainted.emit(painted)
    np.testing.assert_allclose(s.snapshot.params["weights"], painted)
    assert w.decision_panel.result().accuracy != acc_before
    qtbot.mouseClick(w.restore_weights_button, Qt.MouseButton.LeftButton)
    np.testing.assert_allclose(s.snapshot.params["weights"], trained)


def test_a_model_that_learns_nothing_is_called_out(qtbot, window):
    """Not a divergence, but the learner should hear it: an MLP from all zeros never
    leaves chance level (its hidden layer gets no gradient)."""
    w, s = window, window.session
    s.set_spec(s.spec.__class__(kind="mlp", hidden=4, init="zeros"))
    run_to_end(qtbot, w, 3)
    assert s.last_accuracy == pytest.approx(s.chance_accuracy(), abs=0.01)
    # a persistent notice names the true cause (one line in the tab bar's corner, the
    # evidence and the fixes a click away), with a fix that works for it
    chip = w.notice_chip
    assert chip.isVisible() and not w.notice.isVisible()
    assert w.notice.current().code == "hidden_symmetry"
    assert chip.title_label.full_text() == w.notice.current().title
    assert "smaller learning rate" not in w.notice.current().text().lower()
    chip.open_button.click()
    qtbot.waitUntil(w.notice.isVisible, timeout=5000)
    assert chip.is_open()
    buttons = w.notice.fix_buttons()
    assert buttons
    buttons[0].click()
    assert not w.notice.isVisible()  # the fix is applied: the popup goes
    assert s.spec.init.value != "zeros"
    assert s.snapshot.step == 0  # the fix starts again
    run_to_end(qtbot, w, 3)
    assert s.last_accuracy > s.chance_accuracy() + 0.2
    assert w.notice.current() is None or w.notice.current().code != "hidden_symmetry"


def test_no_false_alarm_on_the_chapters_run(qtbot, window):
    w = window
    run_to_end(qtbot, w, 20)
    assert w.notice.current() is None and not w.notice.isVisible()
    assert not w.notice_chip.isVisible()
    assert w.decision_panel.saturated() == []


def test_code_tab_follows_the_settings_and_links_to_the_controls(qtbot, window, tmp_path):
    import json

    from PySide6.QtCore import QEvent

    w, s = window, window.session
    assert "lr = 1.0" in w.code_panel.code().script()
    w.training_panel.lr_spin.setValue(0.25)
    qtbot.waitUntil(lambda: s.config.lr == 0.25, timeout=WAIT)
    assert "0.25" in w.code_panel.code().script()
    # hovering the learning-rate box lights the lr lines in the code...
    QApplication.sendEvent(w.training_panel.lr_spin, QEvent(QEvent.Type.Enter))
    assert w.code_panel.highlighted_lines()["concept"]
    QApplication.sendEvent(w.training_panel.lr_spin, QEvent(QEvent.Type.Leave))
    assert not w.code_panel.highlighted_lines()["concept"]
    # ...and hovering the bias in the code lights the bias controls
    w.code_panel.conceptHovered.emit("bias")
    assert w.decision_panel.bias_slider.graphicsEffect() is not None
    w.code_panel.conceptHovered.emit("")
    assert w.decision_panel.bias_slider.graphicsEffect() is None
    # File › Export as notebook writes a valid notebook
    path = tmp_path / "run.ipynb"
    assert w.export_code_to(str(path))
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4 and any("0.25" in "".join(c["source"]) for c in nb["cells"])


def test_open_file_imports_in_the_background_and_drop_opens_too(qtbot, window, tmp_path):
    import numpy as np
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    w, s = window, window.session
    # what a notebook saves: the chapter's raw tensors as numpy arrays
    weights = np.random.default_rng(0).normal(size=(784, 1)).astype(np.float32)
    path = tmp_path / "notebook.npz"
    np.savez(path, weights=weights, bias=np.array([0.5], np.float32))
    w.open_file(str(path))
    qtbot.waitUntil(lambda: s.effective_bias() == 0.5, timeout=WAIT)
    np.testing.assert_allclose(s.snapshot.params["weights"], weights.ravel())
    assert not w._busy.isVisible()
    # a damaged file: an error box, nothing changed
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    w.open_file(str(bad))
    qtbot.waitUntil(lambda: bool(error_boxes(w)), timeout=WAIT)
    assert s.effective_bias() == 0.5
    for box in error_boxes(w):
        box.close()
    # dropping a file opens it
    np.savez(path, weights=weights, bias=np.array([-1.25], np.float32))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    qtbot.waitUntil(lambda: s.effective_bias() == -1.25, timeout=WAIT)


def test_every_view_of_a_frame_shows_the_same_moment(qtbot, window):
    """While training at full speed, each refresh feeds the weights, the histogram, the
    accuracy text and the confusion counts from one snapshot of the model."""
    w, s = window, window.session
    checked = []
    original = w._on_frame_prepared

    def checking_frame(run_id, result):
        original(run_id, result)
        if s.state != "running":
            return  # the end redraws everything from the last snapshot
        snap = result[0]  # the moment this frame shows (training may be past it by now)
        decision = s.model.decision_for(snap.params, live=True)
        expected = decision.evaluate(float(snap.params["bias"][0]), s.model.threshold)
        shown = w.decision_panel.result()
        np.testing.assert_array_equal(shown.confusion, expected.confusion)
        assert f"{100 * expected.accuracy:.1f}%" in w.decision_panel.accuracy_label.text()
        xs, ys = w.decision_panel.hist_first_curve.getData()
        np.testing.assert_array_equal(ys, decision.hist_first)
        # the weights are of this very moment too (their paint waits a turn: the
        # histogram's and theirs in one turn were the longest gap)
        shown = snap.params["weights"]
        if w.show_combo.currentData() == "delta":
            shown = shown - s.initial_params["weights"]
        np.testing.assert_array_equal(w.weights_view.current_weights().ravel(), shown)
        assert w.weights_view._plot in w._pacer.held()
        checked.append(snap.step)

    w._prep_runner.finished.disconnect()
    w._prep_runner.finished.connect(checking_frame)
    run_to_end(qtbot, w, 3000)  # ~1 s: several frames (600 epochs drew 1-2)
    assert len(checked) >= 2, "no frame was drawn while training"
    assert len(set(checked)) >= 2, "frames did not follow the training"


def test_the_progress_bar_and_the_curves_show_the_same_step(qtbot, window):
    """At every frame that draws the curves, the progress bar says the step they end at
    (updated four times a second, it lagged the curves by up to 0.25 s: 'batch 772' beside
    a loss curve at step 1,150, the MLP on 60,000 images)."""
    w, s = window, window.session
    checked = []
    original = w._refresh_history

    def checking():
        progressed = original()
        last = s.history.last_step
        if s.state == "running" and w.tabs.currentIndex() == 0 and last is not None:
            assert f"step {last.step:,}" in w.training_panel.progress.format()
            checked.append(last.step)
        return progressed

    w._refresh_history = checking
    run_to_end(qtbot, w, 3000)  # ~1 s: several frames (600 epochs, ~0.25 s, drew 0-2)
    assert len(set(checked)) >= 2, "no frame drew the curves while training"


def test_session_save_open_scrub_and_branch(qtbot, window, tmp_path, monkeypatch):
    """A saved session reopens in a new window as it was (weights, curves, threshold, the
    tab); scrubbing moves every view to the recorded moment; training from a past
    moment asks first and cuts the later history."""
    w, s = window, window.session
    run_to_end(qtbot, w, 3)
    s.set_threshold(0.5)
    w.show_combo.setCurrentIndex(w.show_combo.findData("delta"))
    w.tabs.setCurrentIndex(0)
    path = tmp_path / "lesson.biasviz"
    assert w.save_session_to(str(path))
    assert w.recent_sessions()[0] == str(path)

    other = MainWindow(settings=QSettings(str(tmp_path / "other.ini"),
                                          QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    other.show()
    other.session.load_engine_now()
    other.open_file(str(path))
    qtbot.waitUntil(lambda: other.session.snapshot.step == s.snapshot.step, timeout=WAIT)
    np.testing.assert_array_equal(other.session.snapshot.params["weights"],
                                  s.snapshot.params["weights"])
    assert other.session.model.threshold == 0.5
    assert other.show_combo.currentData() == "delta"
    np.testing.assert_array_equal(other.session.history.loss.y, s.history.loss.y)
    xs, ys = other.plots.acc_curve.getData()
    np.testing.assert_array_equal(ys, 100 * s.history.accuracy.y)
    other.close()

    # scrub to a recorded step: every view shows that moment
    steps = s.model.timeline.moments()
    k = steps[len(steps) // 2]
    bar = w.timeline_bar
    bar.slider.setValue(steps.index(k))
    moment = s.model.timeline.nearest(k)
    assert s.model.scrub_step == k
    np.testing.assert_array_equal(w.weights_view.current_weights().ravel(),
                                  moment.params["weights"] - s.initial_params["weights"])
    decision = s.model.decision_for(dict(moment.params))
    bias = float(moment.params["bias"][0])
    np.testing.assert_array_equal(w.decision_panel.result().confusion,
                                  decision.evaluate(bias, 0.5).confusion)
    assert not w.decision_panel.is_editable()
    # the code panel's values beside its lines are that moment's too, named by its step
    live = w.code_panel._live
    assert live["moment"] == k and live["step"] == k
    assert live["bias"] == pytest.approx(bias)
    # Start from there: asked, then the later history goes
    monkeypatch.setattr(QMessageBox, "exec", lambda box: box.button(
        QMessageBox.StandardButton.Cancel).click() if False else
        [b for b in box.buttons() if b.text() == "Train from here"][0].click())
    w.training_panel.epochs_spin.setValue(1)
    w.start_training()
    qtbot.waitUntil(lambda: s.state == "ready" and s.snapshot.step > k, timeout=WAIT)
    assert s.model.timeline.moments()[0] == 0
    assert all(m <= k or m > k for m in s.model.timeline.moments())
    assert s.snapshot.step == k + s.trainer.batches_per_epoch


def test_train_as_long_as_the_chapter_reaches_its_numbers(qtbot, window):
    """On the 800-image sample an epoch is 4 steps: the button trains the chapter's 980
    steps (245 epochs), which end at ≥ 96 % on the default seed."""
    w, s = window, window.session
    assert w.chapter_steps_button.isVisible()
    w.chapter_steps_button.click()
    assert s.config.epochs == 245
    qtbot.waitUntil(lambda: s.state == "ready" and s.snapshot.step >= 980, timeout=120_000)
    assert s.snapshot.step == 980
    assert s.last_accuracy >= 0.96
    # the chapter note is for the chapter's digits only, not Dress vs Sneaker
    s.set_task(s.task.__class__((1, 2)))
    assert not w.chapter_label.isVisible()


def test_presentation_mode_enters_and_restores_the_layout_exactly(qtbot, window, monkeypatch):
    w, s = window, window.session
    w.code_dock.show()  # shown before: hidden while presenting, back after

    def layout():
        return (w.geometry().getRect(), w.controls_dock.geometry().getRect(),
                w.tabs.geometry().getRect(), w.controls_dock.isVisible(),
                w.help_dock.isVisible(), w.toolbar.isVisible(), w.menuBar().isVisible(),
                w.code_dock.isVisible())

    qtbot.wait(50)  # the shown dock settles into the window
    before = layout()
    font = QApplication.font().pointSizeF()
    w.present_action.trigger()
    assert w.presenter.active and w.isFullScreen()
    assert not w.controls_dock.isVisible()
    assert not w.code_dock.isVisible()
    assert QApplication.font().pointSizeF() > font
    assert w.presenter.caption.isVisible() and "Press Space" in w.presenter.caption.text()
    # → steps, ← goes back a recorded moment
    w.present_step()
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 1, timeout=WAIT)
    w.present_step()
    qtbot.waitUntil(lambda: s.state == "paused" and s.snapshot.step == 2, timeout=WAIT)
    w.present_back()
    assert s.model.scrub_step == 1 and "step 1" in w.presenter.caption.text()
    # looking back, → moves forward through the moments and trains nothing
    w.present_step()
    assert s.model.scrub_step is None and s.snapshot.step == 2
    assert "→ one batch" in w.presenter.caption.text()
    w.present_first()  # Home
    assert s.model.scrub_step == 0 and "Home for the start" in w.presenter.caption.text()
    w.present_now()  # End
    assert s.model.scrub_step is None and s.state == "paused" and s.snapshot.step == 2
    # Space on a past moment asks first, and its default answer keeps the history
    asked = []

    def answer_with_default(box):
        asked.append(box.text())
        box.defaultButton().click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer_with_default)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=WAIT)
    w.present_back()
    assert s.model.scrub_step == 1
    w.start_action.trigger()  # Space
    assert asked and "forgets" in asked[0]
    qtbot.wait(50)
    assert s.state == "ready" and s.snapshot.step == 2 and s.model.scrub_step == 1
    w.present_now()
    w.present_slower()
    assert s.model.slow_delay > 0
    w.present_faster()
    assert s.model.slow_delay == 0
    w.present_action.trigger()
    qtbot.wait(50)
    assert not w.presenter.active and not w.isFullScreen()
    assert QApplication.font().pointSizeF() == font
    assert w.code_dock.isVisible()
    assert layout() == before


def test_compare_two_runs_overlays_curves_and_names_the_difference(qtbot, window):
    w, s = window, window.session
    run_to_end(qtbot, w, 5)
    w.pin_action.trigger()
    assert w.pinned is not None
    w.training_panel.lr_spin.setValue(0.1)
    qtbot.waitUntil(lambda: s.config.lr == 0.1, timeout=WAIT)
    s.reset()
    run_to_end(qtbot, w, 5)
    names = w.plots.loss_key.names  # the key in the loss plot's title row
    assert any("pinned: lr 1" in n for n in names), names
    assert any("lr 0.1" in n for n in names), names
    assert w.weights_view.tile_count() == 2  # now and pinned side by side
    # the accuracy and counts under two weight images say whose they are
    assert w.decision_panel.accuracy_label.text().startswith("validation accuracy (now)\n")
    w.unpin_action.trigger()
    assert w.weights_view.tile_count() == 1
    assert w.decision_panel.accuracy_label.text().startswith("validation accuracy\n")


def test_export_animation_and_pictures(qtbot, window, tmp_path):
    from PIL import Image

    from biasviz.core.animation import AnimationOptions

    w = window
    run_to_end(qtbot, w, 10)
    gif = tmp_path / "run.gif"
    w.export_animation_to(str(gif), AnimationOptions(width=320, height=240, frames=8,
                                                     fps=5, class_names=("3", "7")))
    qtbot.waitUntil(lambda: gif.exists() and not w._busy.isVisible(), timeout=60_000)
    with Image.open(gif) as im:
        assert im.n_frames >= 8 and im.size == (320, 240)
        im.seek(0)
        first = np.asarray(im.convert("RGB"))
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert not np.array_equal(first, last)
    png, svg = tmp_path / "w.png", tmp_path / "loss.svg"
    assert w.export_picture("weights_view", str(png), scale=2.0)
    with Image.open(png) as im:
        assert im.size[0] >= 2 * w.weights_view.width() - 2
    assert w.export_picture("plots.loss_plot", str(svg))
    assert svg.read_text().lstrip().startswith("<?xml") or "<svg" in svg.read_text()[:500]


def test_an_assumed_activation_is_said_in_the_window(qtbot, window, tmp_path):
    """A state_dict of Sequential(Linear, ?, Linear) cannot say its activation: the
    import assumes ReLU and the window says so."""
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 10))
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    w = window
    w.open_file(str(path))
    qtbot.waitUntil(lambda: w.session.spec.kind.value == "mlp", timeout=WAIT)
    qtbot.waitUntil(lambda: getattr(w, "_last_note_box", None) is not None, timeout=WAIT)
    assert "ReLU" in w._last_note_box.text()
    w._last_note_box.close()


def test_a_window_grown_past_the_screen_by_its_content_comes_back(qtbot, window):
    """Qt grows a window to its layout's minimum and never shrinks it back: once the
    content allows, the window fits the screen again."""
    from PySide6.QtWidgets import QApplication

    w = window
    area = w.screen().availableGeometry()
    w.move(area.left(), area.top())
    w.resize(min(1000, area.width()), area.height() - 40)
    QApplication.processEvents()
    normal_min = w.minimumSizeHint().height()
    assert normal_min < area.height() - 40
    w.plots.setMinimumHeight(area.height() + 150)  # content that needs more, briefly
    qtbot.waitUntil(lambda: w.frameGeometry().bottom() > area.bottom(), timeout=5000)
    w.plots.setMinimumHeight(150)
    qtbot.waitUntil(lambda: w.frameGeometry().bottom() <= area.bottom(), timeout=5000)
    assert w.height() >= normal_min


def test_the_training_panel_keeps_its_width_when_the_model_kind_changes(qtbot, window):
    """Its rows change with the kind (hidden neurons, kernels): the panel stays as wide,
    so the views beside it do not reflow with every switch."""
    from PySide6.QtWidgets import QApplication

    panel = window.training_panel
    widths = []
    for kind in ("mlp", "cnn", "linear", "single", "mlp"):
        if kind in ("linear", "mlp", "cnn"):
            panel.task_combo.setCurrentIndex(1)
        panel.model_combo.setCurrentIndex(panel.model_combo.findData(kind))
        for _ in range(5):
            QApplication.processEvents()
        widths.append(window.controls_dock.width())
    # never narrower again: back to a kind seen before, the same width
    assert widths == sorted(widths) and widths[-1] == widths[-2], widths


def test_the_timeline_cannot_replay_from_the_moment_a_run_starts(qtbot, window):
    """Its buttons follow the state, not the run's first curves frame: a moment frame
    drawn first left Replay clickable beside a running training (walk-through)."""
    w, s = window, window.session
    run_to_end(qtbot, w, 3)
    assert w.timeline_bar.play_button.isEnabled()  # a finished run can be replayed
    at_start: list[bool] = []
    s.stateChanged.connect(lambda state: at_start.append(
        w.timeline_bar.play_button.isEnabled()) if state == "running" else None)
    run_to_end(qtbot, w, 300)
    assert at_start and not any(at_start)


def test_a_notice_in_the_tab_bars_corner_leaves_the_tabs_their_room(qtbot, window):
    """The notice's line takes what the tabs leave (at most 520 px): at 520 always, the
    tabs of a 1366-px window scrolled behind arrows while a notice was up ("Ev")."""
    from biasviz.gui.main_window import LESSONS

    w, s = window, window.session
    w.resize(1366, 740)
    s.set_spec(s.spec.__class__(kind="mlp", hidden=4, init="zeros"))
    run_to_end(qtbot, w, 3)
    qtbot.waitUntil(w.notice_chip.isVisible, timeout=5000)
    w.open_lesson(LESSONS[0][0])
    w.tabs.setCurrentIndex(0)
    bar = w.tabs.tabBar()
    qtbot.waitUntil(lambda: bar.width() >= bar.sizeHint().width(), timeout=2000)
    assert w.notice_chip.width() >= w.notice_chip.minimumSizeHint().width()
    assert not bar.geometry().intersects(w.notice_chip.geometry())


def test_lesson_tabs_share_the_bar_and_the_main_tabs_stay_in_view(qtbot, window):
    """With three lessons open the tab bar scrolled the main tabs out of view: now the
    lessons' tabs share what the main tabs leave, their titles shortened with "…" (whole
    in their tooltips), and they grow back as lessons close."""
    from biasviz.gui.main_window import LESSON_MODULES

    w = window
    w.resize(1366, 740)
    w.show()
    qtbot.waitExposed(w)
    bar = w.tabs.tabBar()
    main = [bar.tabText(i) for i in range(w._fixed_tabs)]
    lessons = [w.open_lesson(m) for m in LESSON_MODULES]
    qtbot.wait(20)
    assert [bar.tabText(i) for i in range(w._fixed_tabs)] == main
    assert bar.tabRect(0).left() >= 0
    assert bar.tabRect(bar.count() - 1).right() <= bar.width()
    titles = [lesson.title for lesson in lessons]
    assert [bar.tabToolTip(w.lesson_tab_index(lesson)) for lesson in lessons] == titles
    shortened = [bar.tabText(w.lesson_tab_index(lesson)) for lesson in lessons]
    assert any(text.endswith("…") for text in shortened)
    for lesson in lessons[1:]:
        w.close_tab(w.lesson_tab_index(lesson))
    qtbot.wait(20)
    assert bar.tabText(w.lesson_tab_index(lessons[0])) == lessons[0].title  # room again
