"""The Training panel's progress bar: its text says where training is, and a progress
update is painted with the window's next paint, never on the spot (QProgressBar.setValue
repaints at once: it and the group box behind it, up to 5 ms a call while training)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from biasviz.gui.training_panel import TrainingPanel


class _PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, _obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def test_progress_is_painted_later_with_the_right_text(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    QApplication.processEvents()
    counter = _PaintCounter()
    panel.progress.installEventFilter(counter)
    for batch in range(1, 6):
        panel.show_progress(step=1_000 + batch, epoch=3, batch=batch * 9, per_epoch=47)
        assert counter.paints == 0  # not painted inside the call
    assert panel.progress.text() == "epoch 3 · batch 45/47 · step 1,005"
    assert panel.progress.value() == 45 and panel.progress.maximum() == 47
    assert panel.progress.updatesEnabled()
    qtbot.waitUntil(lambda: counter.paints >= 1, timeout=2_000)  # ...but painted soon after
    panel.progress.removeEventFilter(counter)


def test_the_progress_bar_and_the_timeline_say_the_same_step(qtbot, window):
    """While training at full speed, each frame's progress bar and the timeline's "now"
    name one step (walk-through S saw 23,339 beside "now: step 23,757": the progress bar
    was refreshed at most 4 times a second, the timeline every frame)."""
    import re

    from PySide6.QtCore import Qt

    w, s = window, window.session
    seen: list[tuple[str, str]] = []
    original = w._refresh_frame

    def checking():
        original()
        if s.state == "running":
            seen.append((w.training_panel.progress.text(), w.timeline_bar.label.text()))

    w._frame_timer.timeout.disconnect()
    w._frame_timer.timeout.connect(checking)
    w.training_panel.epochs_spin.setValue(1500)  # ~0.6 s: a few progress updates
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready" and len(w.plots.epochs) >= 1500, timeout=60_000)

    def step_of(text: str) -> str | None:
        found = re.search(r"step ([\d,]+)", text)
        return found.group(1) if found else None

    pairs = [(step_of(p), step_of(t)) for p, t in seen if step_of(p) and step_of(t)]
    assert len({a for a, _b in pairs} - {"0"}) >= 1, "frames were drawn while training"
    assert all(a == b for a, b in pairs), pairs


def test_the_weights_show_what_training_changed_while_it_runs(qtbot, window):
    """With a random start the weights view shows w − w₀ from the run's first frames (it
    switched only at the run's end: a learner watching saw unchanging noise)."""
    from PySide6.QtCore import Qt

    w, s = window, window.session
    assert w.show_combo.currentData() == "weights"  # untrained: the weights themselves
    shown: list[str] = []
    original = w._on_frame_prepared

    def checking(run_id, result):
        original(run_id, result)
        if s.state == "running":
            shown.append(w.show_combo.currentData())

    w._prep_runner.finished.disconnect()
    w._prep_runner.finished.connect(checking)
    w.training_panel.epochs_spin.setValue(400)
    qtbot.mouseClick(w.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=60_000)
    assert shown and set(shown) == {"delta"}


def test_the_plots_span_the_run_from_its_start(qtbot, window):
    """Start: the x axes span the whole run at once (as fastai's ShowGraphCallback) and
    stay put while it trains (they grew with the curves and re-laid out their ticks at
    every frame); a single step keeps the span of the run it begins (resumed, it goes on
    there), its one point drawn as a dot."""
    from PySide6.QtCore import Qt

    w, s, p = window, window.session, window.training_panel
    p.epochs_spin.setValue(3)
    qtbot.waitUntil(lambda: s.config.epochs == 3)

    def spans() -> tuple[float, float]:
        return w.plots.loss_plot.viewRange()[0][1], w.plots.acc_plot.viewRange()[0][1]

    planned = spans()
    assert planned[1] == 3.5  # three epochs and half of one (not 5: a minimum it had)
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=60_000)
    assert spans() == planned
    assert w.plots.raw_curve.opts["symbol"] == "o"  # a line of one point draws nothing
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)  # Resume
    qtbot.waitUntil(lambda: s.state == "ready", timeout=60_000)
    assert spans() == planned and s.trainer.epoch == 3
    # (the run's final views come in the turn after the state: a run this short may
    # have drawn no frame before)
    qtbot.waitUntil(lambda: w.plots.raw_curve.opts["symbol"] is None, timeout=1_000)
    assert spans() == planned
    p.epochs_spin.setValue(3000)  # ~1 s: frames before its last tenth of a second
    per_epoch = s.trainer.batches_per_epoch
    start, start_epoch = s.trainer.step, s.trainer.epoch
    ranges: list[tuple[float, float]] = []
    original = w._refresh_frame

    def checking():
        original()
        if s.state == "running":
            ranges.append((w.plots.loss_plot.viewRange()[0][1],
                           w.plots.acc_plot.viewRange()[0][1]))

    w._frame_timer.timeout.disconnect()
    w._frame_timer.timeout.connect(checking)
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=60_000)
    end_step = start + 3000 * per_epoch
    assert ranges and len(set(ranges)) == 1, ranges
    loss_x, acc_x = ranges[0]
    assert end_step <= loss_x <= 1.05 * end_step and acc_x == start_epoch + 3000.5  # and a little


def test_before_the_first_step_the_plots_span_the_run_start_would_begin(qtbot, window):
    """The empty plots already span the run Start would begin (its length shows before it
    runs), follow the epochs and batch size set, and Start then changes no axis (an axis
    that changes lays out its ticks again, in the frame that shows the start)."""
    from PySide6.QtCore import Qt

    w, s, p = window, window.session, window.training_panel

    def spans() -> tuple[float, float]:
        return w.plots.loss_plot.viewRange()[0][1], w.plots.acc_plot.viewRange()[0][1]

    p.epochs_spin.setValue(40)
    qtbot.waitUntil(lambda: s.config.epochs == 40)
    per_epoch = -(-s.data.n_train // s.config.batch_size)
    loss_x, acc_x = spans()
    assert 40 * per_epoch <= loss_x <= 1.05 * 40 * per_epoch and acc_x == 40.5
    p.batch_spin.setValue(s.config.batch_size * 2)  # fewer batches per epoch: a new span
    qtbot.waitUntil(lambda: spans()[0] < loss_x)
    per_epoch = -(-s.data.n_train // s.config.batch_size)
    assert 40 * per_epoch <= spans()[0] <= 1.05 * 40 * per_epoch
    planned = spans()
    seen: list[tuple[float, float]] = []
    s.stateChanged.connect(lambda state: seen.append(spans()) if state == "running" else None)
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=60_000)
    assert seen == [planned] and spans() == planned
    assert s.trainer.step == 40 * per_epoch  # the span was the run's own
    p.epochs_spin.setValue(3)  # trained: the plots show the history, no plan for later
    qtbot.waitUntil(lambda: s.config.epochs == 3)
    assert spans() == planned


def test_step_epoch_says_the_batches_of_the_batch_size_set(qtbot, window):
    """"Step 1 epoch (n batches)" follows the batch size as it is set, not at the next run."""
    s, p = window.session, window.training_panel
    for batch in (100, 50):
        p.batch_spin.setValue(batch)
        qtbot.waitUntil(lambda b=batch: s.config.batch_size == b)
        n = -(-s.data.n_train // batch)
        assert p.epoch_button.text() == f"Step 1 epoch ({n} batches)"


def test_the_back_to_recipe_button_moves_nothing_when_it_comes_and_goes(qtbot, window):
    """Settings off the recipe show "Back to recipe"; back on it, it goes: the Start button
    below stays where it was (it moved 8 px)."""
    from PySide6.QtWidgets import QApplication

    p = window.training_panel
    QApplication.processEvents()
    where = p.start_button.mapTo(window, p.start_button.rect().topLeft())
    assert not p.recipe_button.isVisible()
    p.lr_spin.setValue(0.5)
    qtbot.waitUntil(lambda: p.recipe_button.isVisible())
    QApplication.processEvents()
    assert p.start_button.mapTo(window, p.start_button.rect().topLeft()) == where


def test_slow_motion_shows_every_step_in_every_view(qtbot, window):
    """In slow motion a report comes once a step: the frame it brings draws either the
    moment (weights, histogram) or the curves and progress bar, and the other kind now
    follows without waiting for the next report (each kind showed every second step)."""
    import re
    from dataclasses import replace

    w, s = window, window.session
    s.start_training_process()
    s.set_config(replace(s.config, epochs=2))
    per_epoch = s.trainer.batches_per_epoch
    s.set_slow_motion(0.12)
    moments: set[int] = set()
    bars: set[str] = set()
    prepared = w._on_frame_prepared

    def on_prepared(run_id, result):
        prepared(run_id, result)
        if s.state == "running":
            moments.add(result[0].step)

    w._prep_runner.finished.disconnect()
    w._prep_runner.finished.connect(on_prepared)
    original = w._refresh_frame

    def frame():
        original()
        if s.state == "running":
            found = re.search(r"step ([\d,]+)", w.training_panel.progress.text())
            if found:
                bars.add(found.group(1))

    w._frame_timer.timeout.disconnect()
    w._frame_timer.timeout.connect(frame)
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=60_000)
    steps = set(range(1, 2 * per_epoch))  # (the last one: the run's end shows it)
    assert steps <= moments, sorted(moments)
    assert {str(n) for n in steps} <= bars, sorted(bars, key=int)


def test_the_progress_bar_fills_with_the_run(qtbot, window):
    """The bar fills with the run Start began (with the epoch, a run of 3,000 four-batch
    epochs flickered between 25 and 100 % and never said how far it had got); its text
    still says the epoch, the batch and the step."""
    from dataclasses import replace

    from PySide6.QtCore import Qt

    s, p = window.session, window.training_panel
    s.set_config(replace(s.config, epochs=3))
    per_epoch = s.trainer.batches_per_epoch
    bar = p.progress
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "ready", timeout=60_000)
    assert (bar.value(), bar.maximum()) == (3 * per_epoch, 3 * per_epoch)
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)  # a new run, one step of it
    qtbot.waitUntil(lambda: s.state == "paused", timeout=60_000)
    assert (bar.value(), bar.maximum()) == (1, 3 * per_epoch)
    assert bar.text() == f"epoch 4 · batch 1/{per_epoch} · step {3 * per_epoch + 1:,}"


def test_the_run_span_is_where_the_run_began_however_late_the_window_hears(qtbot, window,
                                                                          monkeypatch):
    """The bar's span is read before the run is told to go: the trainer's own step, read
    in the state's handlers, could already be the run's first report's (under load the
    Step button's bar read 0 of 11, not 1 of 12).  Here the window hears of the start
    only once the training process has made the step."""
    import time
    from dataclasses import replace

    from PySide6.QtCore import Qt

    s, p = window.session, window.training_panel
    s.set_config(replace(s.config, epochs=3))
    per_epoch = s.trainer.batches_per_epoch
    started = s.model.training_started

    def late(prepared: bool = False) -> None:
        deadline = time.monotonic() + 10
        while s.model.trainer.step == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the relay's thread takes the step meanwhile
        assert s.model.trainer.step == 1
        started(prepared)

    monkeypatch.setattr(s.model, "training_started", late)
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=60_000)
    assert (p.progress.value(), p.progress.maximum()) == (1, 3 * per_epoch)
