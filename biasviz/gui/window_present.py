"""The main window's classroom commands: presentation-mode keys, comparing two runs, and
training from a past moment of the timeline."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QMessageBox,
)

from biasviz.gui.presentation import SLOW_STEPS
from biasviz.gui.session import PAUSED, RUNNING


class PresentCompareMixin:
    """MainWindow methods for presenting, comparing runs and branching from the past."""

    # ------------------------------------------------------------------ presentation
    def set_line_width(self, width: float | None) -> None:
        """Thicker curves for a projector (None: the normal widths)."""
        self.plots.set_line_width(width)

    def present_step(self) -> None:
        """→: looking back, one recorded moment forward (the last one is the present);
        at the present, one more batch of training."""
        model = self.session.model
        if model.scrub_step is not None:
            later = [st for st in model.timeline.moments() if st > model.scrub_step]
            model.scrub_to(later[0] if later else None)
            return
        if self.session.state in ("ready", PAUSED):
            self.session.step_batches(1)

    def present_back(self) -> None:
        """One recorded moment back (a scrub; the present is not changed)."""
        model = self.session.model
        if self.session.state == RUNNING:
            self.session.pause()
            return
        steps = model.timeline.moments()
        if len(steps) < 2:
            return
        current = model.scrub_step if model.scrub_step is not None else steps[-1]
        earlier = [st for st in steps if st < current]
        if earlier:
            model.scrub_to(earlier[-1])

    def present_first(self) -> None:
        """Home: the first recorded moment (a scrub; the present is not changed)."""
        model = self.session.model
        steps = model.timeline.moments()
        if self.session.state != RUNNING and len(steps) >= 2:
            model.scrub_to(steps[0])

    def present_now(self) -> None:
        """End: back to the present."""
        self.session.model.scrub_to(None)

    def _slow_index(self) -> int:
        delay = self.session.model.slow_delay
        return min(range(len(SLOW_STEPS)), key=lambda i: abs(SLOW_STEPS[i] - delay))

    def present_faster(self) -> None:
        self._set_slow(SLOW_STEPS[max(0, self._slow_index() - 1)])

    def present_slower(self) -> None:
        self._set_slow(SLOW_STEPS[min(len(SLOW_STEPS) - 1, self._slow_index() + 1)])

    def _set_slow(self, seconds: float) -> None:
        self.training_panel.slow_slider.setValue(int(round(seconds * 1000)))
        self.session.set_slow_motion(seconds)
        speed = "full speed" if seconds == 0 else f"{seconds * 1000:.0f} ms per step"
        self.statusBar().showMessage(f"Speed: {speed}", 3000)

    # ------------------------------------------------------------------ compare two runs
    def pin_run(self) -> None:
        """Keep this run (curves, weights, settings) to compare the next one with."""
        from biasviz.core.compare import pin

        model = self.session.model
        if model.snapshot is None or not model.has_trained:
            self.statusBar().showMessage("Train first: there is no run to pin yet", 6000)
            return
        self.pinned = pin(model)
        self._refresh_pinned()
        first = "Stop, then change" if self.session.state in (RUNNING, PAUSED) else "Change"
        self.statusBar().showMessage(
            f"Run pinned: {first} a setting (learning rate, init, loss, bias…), press Reset "
            "and Start, and both runs show together", 10000)

    def unpin_run(self) -> None:
        self.pinned = None
        self._refresh_pinned()

    def _refresh_pinned(self) -> None:
        from biasviz.core.compare import difference

        pinned = getattr(self, "pinned", None)
        if pinned is None:
            self.plots.show_pinned(None)
        else:
            model = self.session.model
            label_then, label_now = difference(pinned, model.spec, model.config, model.task)
            self.plots.show_pinned(pinned.history, f"pinned: {label_then}", f"now: {label_now}")
        snap = self.session.model.shown_snapshot()
        if snap is not None:
            # two weight images side by side: the accuracy and counts under them are now's
            self.decision_panel.set_accuracy_caption(self._accuracy_caption(snap))
            self._show_weights(snap)

    # ------------------------------------------------------------------ start from the past
    def _confirm_branch(self) -> bool:
        """Training from a past moment: its later history goes (one line of history, not
        branches: simple to read on a slide, and the timeline's memory stays bounded).

        A replay stops first: the question is about the moment on show, and a replay
        going on behind the dialog would change that moment before the answer (training
        went on from step 80 after a question about step 12)."""
        self.timeline_bar.stop_replay()
        model = self.session.model
        if model.scrub_step is None:
            return True
        shown = model.scrub_step
        moments = model.timeline.moments()
        latest = model.snapshot.step if model.snapshot is not None else moments[-1]
        box = QMessageBox(
            QMessageBox.Icon.Question, "Train from this moment?",
            f"You are looking at step {shown:,}. Training from here forgets what "
            f"came after it (steps {shown + 1:,}–{latest:,}): the weights go back "
            "to this moment and the curves are cut here. The batches drawn from here on "
            f"are new ones.\n\nOr train on from the latest step ({latest:,}) and keep "
            "everything.",
            QMessageBox.StandardButton.Cancel, self,
        )
        box.setObjectName("branch_box")
        go = box.addButton("Train from here", QMessageBox.ButtonRole.AcceptRole)
        latest_button = box.addButton(f"Train on from step {latest:,}",
                                      QMessageBox.ButtonRole.AcceptRole)
        # Enter or a second Space (a reflex to pause) keeps the history: forgetting it
        # takes a click on the button that says so
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        if clicked is latest_button:
            model.scrub_to(None)
            return True
        if clicked is not go:
            return False
        model.scrub_to(shown)  # the moment the question named, whatever moved meanwhile
        model.branch_from_scrub()
        return True

    def start_training(self) -> None:
        if self.session.state == "ready" and not self._confirm_branch():
            return
        self.session.start()

    def toggle_training(self) -> None:
        if self.session.state == "ready" and not self._confirm_branch():
            return
        self.session.toggle_pause()
