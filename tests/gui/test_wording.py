"""Labels, shortcuts and small lies a learner found (issue 10): each test fails without
its fix."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication, QKeySequence


def shown_title(title: str, display_name: str) -> str:
    """The title as Qt puts it on the window frame: the application display name is
    appended (" — name") unless the title already ends with it."""
    if not display_name or title.endswith(display_name):
        return title or display_name
    return f"{title} \N{EM DASH} {display_name}" if title else display_name


def test_the_window_title_names_the_app_once(qtbot, window):
    old = QGuiApplication.applicationDisplayName()
    QGuiApplication.setApplicationDisplayName("biasviz")  # as biasviz.gui.app sets it
    try:
        for title in (window.windowTitle(),):
            assert shown_title(title, "biasviz").lower().count("biasviz") == 1, title
        window._on_data(window.session.data)  # the title that names the data
        title = window.windowTitle()
        assert window.session.data.dataset_name in title
        assert shown_title(title, "biasviz").lower().count("biasviz") == 1, title
    finally:
        QGuiApplication.setApplicationDisplayName(old)


def test_ctrl_s_saves_the_session_and_parameters_have_their_own_keys(window):
    save = QKeySequence(QKeySequence.StandardKey.Save)
    open_ = QKeySequence(QKeySequence.StandardKey.Open)
    assert window.save_session_action.shortcut() == save
    assert window.open_session_action.shortcut() == open_
    assert window.export_action.shortcut() == QKeySequence("Ctrl+E")
    assert window.import_action.shortcut() == QKeySequence("Ctrl+I")
    # no two actions of the window share a key
    keys = [a.shortcut().toString() for a in window.findChildren(type(window.quit_action))
            if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), sorted(keys)


def test_restore_trained_weights_is_enabled_only_when_weights_were_painted(qtbot, window):
    from PySide6.QtCore import Qt

    w, s = window, window.session
    button = w.restore_weights_button
    assert not button.isEnabled()  # an untrained model: nothing painted, nothing to restore
    s.step_batches(1)  # one training step: still nothing painted
    qtbot.waitUntil(lambda: s.state != "running" and s.snapshot.step == 1, timeout=20_000)
    assert not button.isEnabled()
    w.show_combo.setCurrentIndex(w.show_combo.findData("weights"))
    w.paint_combo.setCurrentIndex(1)  # add
    painted = s.snapshot.params["weights"].copy()
    painted[:50] += 2.0
    w.weights_view.weightsPainted.emit(painted)  # as a brush stroke does
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not button.isEnabled()  # restored: nothing left to restore


def test_timeline_now_is_the_present_step_and_now_is_off_at_the_present(qtbot):
    from PySide6.QtCore import Qt

    from biasviz.gui.timeline_bar import TimelineBar

    bar = TimelineBar()
    qtbot.addWidget(bar)
    bar.show()
    scrubbed = []
    bar.scrubbed.connect(scrubbed.append)
    # a run stopped at step 250; the last recorded moment is step 200
    bar.set_moments([0, 100, 200], None, present=250)
    bar.set_enabled_for(False)
    assert bar.label.text() == "now: step 250"
    assert not bar.now_button.isEnabled()  # already at the present: nothing to do
    bar.slider.setValue(bar.slider.maximum() - 1)  # the last recorded moment, not "now"
    assert scrubbed[-1] == 200
    assert bar.label.text() == "step 200 of 250"
    assert bar.now_button.isEnabled()
    qtbot.mouseClick(bar.now_button, Qt.MouseButton.LeftButton)
    assert scrubbed[-1] is None and bar.label.text() == "now: step 250"
    assert not bar.now_button.isEnabled()
    # the present is the last recorded moment: no extra position
    bar.set_moments([0, 100, 200], None, present=200)
    assert bar.slider.maximum() == 2 and bar.label.text() == "now: step 200"
    # not told the present: the label says what the number is
    bar.set_moments([0, 100, 200], None)
    assert bar.label.text() == "latest recorded: step 200"


# the tooltip is raised above the window: the offscreen platform has nothing to raise it in
@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_a_refused_learning_rate_says_why_and_keeps_the_previous_value(qtbot, window):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolTip

    box = window.training_panel.lr_spin
    box.setValue(0.5)
    for typed, why in (("1e-11", "too small"), ("2e10", "too large"), ("0", "too small")):
        box.setFocus()
        box.lineEdit().selectAll()
        qtbot.keyClicks(box, typed)
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert box.value() == 0.5 and box.text() == "0.5"  # the previous value, not 0.1
        message = window.statusBar().currentMessage()
        assert "Learning rate must be between 1e-10 and 1e10" in message, message
        assert typed in message and why in message and "kept 0.5" in message
        assert QToolTip.text() == message  # said next to the box too
    window.statusBar().clearMessage()
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "0.2")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == 0.2 and window.statusBar().currentMessage() == ""  # taken silently


def _zero_params(spec):
    import numpy as np

    return {name: np.zeros(shape, np.float32) for name, shape in spec.param_shapes().items()}


def test_draw_tab_names_the_datasets_noun_and_says_what_the_model_does(qtbot):
    from biasviz.core.spec import ModelSpec
    from biasviz.gui.draw_panel import DrawPanel

    panel = DrawPanel()
    qtbot.addWidget(panel)
    panel.show()
    try:
        single = ModelSpec()
        panel.set_model(_zero_params(single), single, ("Dress", "Sneaker"))
        assert panel.canvas.hint_text().startswith("Draw an item here")
        assert "digit" not in panel.canvas.hint_text() + panel.canvas.toolTip()
        assert "the way the MNIST digits were made" not in panel.how_text()
        assert "the bias is added: that sum is the logit" in panel.how_text()

        panel.set_model(_zero_params(single), single, ("3", "7"))
        assert panel.canvas.hint_text().startswith("Draw a digit here")
        assert "the way the MNIST digits were made" in panel.how_text()

        for spec, words in ((ModelSpec(kind="cnn", n_outputs=10), "kernels"),
                            (ModelSpec(kind="mlp", n_outputs=10, hidden=16), "16 hidden")):
            panel.set_model(_zero_params(spec), spec, [str(i) for i in range(10)])
            text = panel.how_text()
            assert "each is multiplied by its weight" not in text, text  # the neuron's story
            assert words in text and "ReLU" in text and "per class" in text
        pixels = ModelSpec(bias_mode="none")
        panel.set_model(_zero_params(pixels), pixels, ("3", "7"))
        assert "the bias is added" not in panel.how_text()
        assert "no bias" in panel.how_text()
    finally:
        assert panel.shutdown()


def test_watch_learning_names_kernels_and_hidden_neurons_and_their_delta_b(qtbot):
    import numpy as np

    from biasviz.core.spec import ModelSpec, Snapshot
    from biasviz.gui.learning_view import LearningView

    view = LearningView()
    qtbot.addWidget(view)
    view.show()
    for spec, name in ((ModelSpec(kind="cnn", n_outputs=10, channels=4), "kernel"),
                       (ModelSpec(kind="mlp", n_outputs=10, hidden=4), "hidden")):
        params = _zero_params(spec)
        update = {k: np.full(v.shape, 0.01, np.float32) for k, v in params.items()}
        view.reset(Snapshot(spec, params, step=0), params)
        assert not view.update_view.tile_label(0).startswith("Δ neuron")
        view.set_snapshot(Snapshot(spec, params, step=1, last_update=update))
        labels = [view.update_view.tile_label(i) for i in range(4)]
        assert labels[0] == f"Δ {name} 0  Δb=+0.010", labels
        assert all(" b=" not in label for label in labels)  # a change, not the bias
        note = view.note.text()
        assert "first layer's neurons" not in note and name in note
    cnn = ModelSpec(kind="cnn", n_outputs=10, kernel=5)
    view.reset(Snapshot(cnn, _zero_params(cnn), step=0), _zero_params(cnn))
    assert "5×5" in view.update_view.toolTip() and "28×28" not in view.update_view.toolTip()
