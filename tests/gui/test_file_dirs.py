"""The file dialogs open where the last one chose a file (they opened in the working
directory every time), and the window's settings keep that folder for the next start."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from biasviz.gui import file_dirs


def test_dialogs_open_where_the_last_one_chose_and_the_settings_keep_it(
        qtbot, window, tmp_path, monkeypatch):
    from biasviz.gui.main_window import MainWindow

    monkeypatch.setattr(file_dirs, "_last", {})
    asked: list[str] = []
    target = tmp_path / "exports"
    target.mkdir()

    def save(_parent, _title, start, _filter="", *a, **k):
        asked.append(start)
        return str(target / "model.npz"), ""

    def open_(_parent, _title, start, _filter="", *a, **k):
        asked.append(start)
        return "", ""  # cancelled: nothing remembered

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_))
    window.export_dialog()
    assert asked[0] == os.path.join(os.getcwd(), "biasviz-model.npz")
    assert (target / "model.npz").exists()
    # a folder of images read since is not where exports go (it was /usr/share/datasets/…)
    data = tmp_path / "images"
    data.mkdir()
    file_dirs.remember(str(data), kind=file_dirs.DATA)
    window.import_dialog()
    window.open_session_dialog()
    assert asked[1:] == [str(target), str(target)]
    assert file_dirs.start_in(kind=file_dirs.DATA) == str(data)
    window.save_settings()
    monkeypatch.setattr(file_dirs, "_last", {})
    other = MainWindow(settings=QSettings(window.settings.fileName(),
                                          QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    assert file_dirs.last_folder() == str(target)
    assert file_dirs.last_folder(file_dirs.DATA) == str(data)
    other.session.shutdown()
