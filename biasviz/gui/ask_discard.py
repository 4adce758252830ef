"""The one question asked before a trained, unsaved model is thrown away."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def ask_before_discarding(parent: QWidget, consequence: str, unsaved: Callable[[], str],
                          save: Callable[[], object] | None, go_on: str = "Discard and change",
                          cancel_keeps: str = "the trained model") -> bool:
    """May the trained model go?  ``consequence`` completes "… would be lost" with what
    happens ("Changing the task starts a new, untrained model"); ``unsaved()`` names the
    progress ("the model trained for 1,240 steps…", "" when nothing would be lost).
    Asks only when something would be lost: Save first (``save()``, a dialog) / Discard /
    Cancel (``go_on`` and ``cancel_keeps`` word the last two); True to go ahead."""
    lost = unsaved()
    if not lost:
        return True
    box = QMessageBox(QMessageBox.Icon.Question, "Discard the trained model?",
                      f"<b>Discard the trained model?</b><br>{consequence}: {lost} would "
                      "be lost.", QMessageBox.StandardButton.NoButton, parent)
    # the question first in bold: some platforms show no window title
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setObjectName("discard_box")
    box.setInformativeText(f"Save the session first to keep it, or cancel to keep "
                           f"{cancel_keeps}.")
    save_button = (box.addButton("Save session first…", QMessageBox.ButtonRole.AcceptRole)
                   if save is not None else None)
    discard = box.addButton(go_on, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    if clicked is discard:
        return True
    if save is not None and clicked is save_button:
        save()
        return not unsaved()  # saved: nothing is lost now (a dialog cancelled: keep)
    return False
