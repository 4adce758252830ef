"""Fixtures shared by the GUI tests."""

import pytest


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown main window with its own settings file and the engine loaded; its
    session (and training process) shut down afterwards."""
    from PySide6.QtCore import QSettings

    from biasviz.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.session.load_engine_now()
    yield w
    w.session.shutdown()
