"""Helpers shared by the side-by-side lesson tests (imported as a plain module: pytest
puts this folder on sys.path)."""

FULL_SPEED = 2  # index of "Full speed" in the side-by-side lessons' speed box


def run_to_end(qtbot, lesson, epochs=3):
    """Run a side-by-side lesson at full speed for ``epochs`` and wait for the end."""
    lesson.speed_combo.setCurrentIndex(FULL_SPEED)
    lesson.epochs_spin.setValue(epochs)
    with qtbot.waitSignal(lesson.runner().ended, timeout=20_000):
        lesson.start_button.click()
    qtbot.waitUntil(lambda: not lesson.is_running(), timeout=5_000)
