"""The scrubber under the curves: go back to any recorded moment of training, play the
run back, and return to the present.

It shows what the app model's timeline holds (a fixed memory budget: every step of a short
run, an even thinning of a long one) and asks the model to show a moment; every view then
draws that moment.  Keyboard, with the slider focused: ← / → one recorded moment,
Home / End the first / the present.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from biasviz.core.text import percent
from biasviz.core.timeline import Evaluation

#: Playback speeds: (label, recorded moments per second)
SPEEDS = (("½×", 5.0), ("1×", 10.0), ("2×", 20.0), ("4×", 40.0), ("8×", 80.0))
DEFAULT_SPEED = 1
#: The play and pause signs, best first: "⏸" is missing from common fonts (DejaVu Sans
#: drew a box, walk-through X), so the first one the button's font has is used.
PLAY_SIGNS = ("▶", "►", ">")
PAUSE_SIGNS = ("⏸", "❚❚", "▮▮", "||")


def sign_in_font(font: QFont, signs: tuple[str, ...]) -> str:
    """The first of ``signs`` whose characters ``font`` itself has (no missing-glyph box)."""
    metrics = QFontMetrics(font)
    for sign in signs:
        if all(metrics.inFontUcs4(ord(ch)) for ch in sign):
            return sign
    return signs[-1]


class TimelineBar(QWidget):
    scrubbed = Signal(object)  # int step, or None for the present

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.play_button = QPushButton()
        self.play_button.setCheckable(True)
        self._show_play_sign(False)
        self.play_button.setToolTip("Play the run back from the start, every view following "
                                    "(Space pauses training, not this)")
        self.speed_combo = QComboBox()
        for label, _rate in SPEEDS:
            self.speed_combo.addItem(label)
        self.speed_combo.setCurrentIndex(DEFAULT_SPEED)
        self.speed_combo.setToolTip("Playback speed")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(10)
        self.slider.setToolTip(
            "Go back to any recorded moment: the weights, the histogram, the accuracy and "
            "the drawing's prediction all show that moment. ← / → one moment, Home / End."
        )
        self.label = QLabel("")
        self.label.setMinimumWidth(210)
        self.label.setToolTip(
            "The moment shown. Validation accuracy is measured at the end of each epoch: "
            "a moment inside an epoch shows the figure after the last epoch that ended "
            "before it; the decision panel scores this moment's own weights.")
        self.now_button = QPushButton("Now")
        self.now_button.setToolTip("Back to the present (the model as it is now)")
        layout.addWidget(QLabel("Timeline:"))
        layout.addWidget(self.play_button)
        layout.addWidget(self.speed_combo)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.now_button)
        self._steps: list[int] = []
        self._present: int | None = None  # the present's step, when the window says
        self._running = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self.slider.valueChanged.connect(self._on_value)
        self.play_button.toggled.connect(self._on_play)
        self.speed_combo.currentIndexChanged.connect(self._set_rate)
        self.now_button.clicked.connect(lambda: self.slider.setValue(self.slider.maximum()))
        self._set_rate(DEFAULT_SPEED)

    # -- the model's timeline ------------------------------------------------------------
    def set_moments(self, steps: list[int], shown: int | None, present: int | None = None
                    ) -> None:
        """The recorded steps (oldest first), the one on show (None: the present) and the
        present's step when known.

        The slider's last position is the present.  A present later than the last
        recorded moment (a run stopped between two recordings) gets a position of its
        own, so "now" is the model as it is, and the last recorded moment stays a place
        to go back to.
        """
        self._steps = list(steps)
        self._present = None if present is None else int(present)
        if self._present is not None and self._steps and self._present <= self._steps[-1]:
            self._present = self._steps[-1]  # the present is the last recorded moment
        blocked = self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, self._positions() - 1))
        if shown is None or not self._steps:
            self.slider.setValue(self.slider.maximum())
        else:
            self.slider.setValue(self._index_of(shown))
        self.slider.blockSignals(blocked)
        self._show_label(shown)
        self._sync_now_button()

    def set_enabled_for(self, running: bool) -> None:
        """No scrubbing under a running training (the present moves)."""
        self._running = running
        for w in (self.slider, self.play_button, self.speed_combo):
            w.setEnabled(not running and self._positions() > 1)
        if running:
            self.play_button.setChecked(False)
        self._sync_now_button()

    def set_memory(self, moments: int, nbytes: int, budget: int) -> None:
        """How much of its memory budget the timeline holds (it thins itself to stay
        within it: every step of a short run, evenly spaced moments of a long one)."""
        self.slider.setToolTip(
            "Go back to any recorded moment: the weights, the histogram, the accuracy and "
            "the drawing's prediction all show that moment. ← / → one moment, Home / End."
            f"\n\nRecorded: {moments:,} moments in {nbytes / 2**20:.1f} MB of the timeline's "
            f"{budget / 2**20:.0f} MB budget; a longer run keeps evenly spaced moments "
            "(and the latest ones) so that it never uses more.")

    def stop_replay(self) -> None:
        """Stop a replay where it is: the moment on show stays on show."""
        if self.play_button.isChecked():
            self.play_button.setChecked(False)  # (stops the timer)

    def set_caption(self, text: str) -> None:
        self.label.setText(text)

    def shown_step(self) -> int | None:
        if not self._steps or self.slider.value() >= self.slider.maximum():
            return None
        return self._steps[self.slider.value()]

    def at_present(self) -> bool:
        """Is the present on show (the slider at its end)?"""
        return self.slider.value() >= self.slider.maximum()

    # -- internals ---------------------------------------------------------------------------
    def _extra_present(self) -> bool:
        """Does the present come after the last recorded moment (a position of its own)?"""
        return self._present is not None and bool(self._steps) and self._present > self._steps[-1]

    def _positions(self) -> int:
        return len(self._steps) + (1 if self._extra_present() else 0)

    def _sync_now_button(self) -> None:
        # "Now" does something only away from the present
        self.now_button.setEnabled(not self._running and bool(self._steps)
                                   and not self.at_present())
    def _index_of(self, step: int) -> int:
        import bisect

        i = bisect.bisect_left(self._steps, step)
        return min(i, len(self._steps) - 1)

    def _show_label(self, shown: int | None) -> None:
        if not self._steps:
            self.label.setText("")
        elif shown is None:
            # the present's own step when known; else say what the number is
            self.label.setText(f"now: step {self._present:,}" if self._present is not None
                               else f"latest recorded: step {self._steps[-1]:,}")
        else:
            last = self._present if self._present is not None else self._steps[-1]
            self.label.setText(f"step {shown:,} of {last:,}")

    def _on_value(self, index: int) -> None:
        step = None if index >= self.slider.maximum() else self._steps[index]
        self._show_label(step)
        self._sync_now_button()
        self.scrubbed.emit(step)

    def _set_rate(self, index: int) -> None:
        rate = SPEEDS[max(0, min(index, len(SPEEDS) - 1))][1]
        self._timer.setInterval(max(10, int(1000 / rate)))

    def _on_play(self, on: bool) -> None:
        if on:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)
            self._show_play_sign(True)
            self._timer.start()
        else:
            self._timer.stop()
            self._show_play_sign(False)

    def _show_play_sign(self, playing: bool) -> None:
        font = self.play_button.font()
        if playing:
            self.play_button.setText(f"{sign_in_font(font, PAUSE_SIGNS)} Pause")
        else:
            self.play_button.setText(f"{sign_in_font(font, PLAY_SIGNS)} Replay")

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play_button.setChecked(False)
            return
        self.slider.setValue(self.slider.value() + 1)


def moment_caption(step: int, epochs_done: int, accuracy: Evaluation | float | None) -> str:
    """The caption of a past moment: its step and epoch and the last validation accuracy
    known then, saying which epoch that was measured after ("step 19 · in epoch 5 · after
    epoch 4: 56.5%"): accuracy is measured at epoch ends, and "epoch 5 · 56.5%" read as
    epoch 5's figure while the panel showed this step's own (walk-through S).
    ``epochs_done``: the epochs finished at that moment (a snapshot's ``epoch``): the step
    is in the next one, as the progress bar counts (step 1,950 of 4 a batch: "in epoch
    488", where the caption said 487 beside the bar's 488).
    ``accuracy``: from ``Timeline.evaluated_at`` (a bare number: its epoch is unknown)."""
    if step == 0:
        where = "step 0 · before training"
    else:
        where = f"step {step:,} · in epoch {epochs_done + 1:,}"
    if accuracy is None:
        return where
    if not isinstance(accuracy, Evaluation):
        return f"{where} · last evaluated: {percent(float(accuracy))}"
    if accuracy.step == step:
        return f"step {step:,} · end of epoch {accuracy.epoch:,}: {percent(accuracy.accuracy)}"
    return f"{where} · after epoch {accuracy.epoch:,}: {percent(accuracy.accuracy)}"
