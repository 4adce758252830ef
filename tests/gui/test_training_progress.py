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
