"""A busy bar and a Cancel button in the status bar, for GUI work that takes a while."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)


class BusyIndicator(QWidget):
    """A busy bar and a Cancel button in the status bar, for GUI work that takes a while
    (reading a file, evaluating 10,000 images): shown after 200 ms, so quick work never
    flickers."""

    def __init__(self, status_bar) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # indeterminate
        self.bar.setMaximumWidth(120)
        self.bar.setMaximumHeight(14)
        self.cancel_button = QPushButton("Cancel")
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        status_bar.addPermanentWidget(self)
        self.hide()
        self._timer = QTimer(self, singleShot=True, interval=200)
        self._timer.timeout.connect(self.show)
        self._cancel = None
        self.cancel_button.clicked.connect(self._on_cancel)

    def show_busy(self, text: str, cancel=None) -> None:
        self.label.setText(text)
        self._cancel = cancel
        self.cancel_button.setVisible(cancel is not None)
        self._timer.start()

    def done(self) -> None:
        self._timer.stop()
        self._cancel = None
        self.hide()

    def _on_cancel(self) -> None:
        cancel, self._cancel = self._cancel, None
        self.done()
        if cancel is not None:
            cancel()
