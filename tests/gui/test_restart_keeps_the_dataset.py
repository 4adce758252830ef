"""A restart comes back to the dataset of last time with its task: "2 vs 4" trained on a
Fashion-MNIST folder (Pullover vs Coat) came back as the digits 2 and 4 of the bundled
sample, without a word (a learner's walk-through)."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QSettings

from biasviz.core.datasets import Task
from biasviz.gui.main_window import MainWindow
from tests.gui.test_datasets_gui import error_boxes, make_idx_folder

WAIT = 60_000


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))
    windows: list[MainWindow] = []

    def open_one() -> MainWindow:
        w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(w)
        w.show()
        w.session.load_engine_now()
        windows.append(w)
        return w

    yield open_one
    for w in windows:
        w.session.shutdown()


def quit_after_2_vs_4_on(qtbot, open_window, folder, task=None) -> None:
    """A first window: ``folder`` loaded, the task 2 vs 4 (or ``task``), the settings
    saved, closed."""
    w = open_window()
    with qtbot.waitSignal(w.session.datasetLoadFinished, timeout=WAIT):
        w.session.load_dataset(str(folder))
    assert w.session.set_task(task or Task.pair(2, 4))
    w.save_settings()
    w.session.shutdown()
    w.close()


def test_a_restart_loads_last_times_folder_and_its_task(qtbot, open_window, tmp_path):
    folder = make_idx_folder(tmp_path / "my-clothes")
    quit_after_2_vs_4_on(qtbot, open_window, folder)

    again = open_window()
    s = again.session
    # the window comes up on the sample (no 2 vs 4 digits meanwhile), then last time's
    # folder loads in the background and brings its task
    assert s.dataset.key == "sample" and s.task.classes == (3, 7)
    qtbot.waitUntil(lambda: s.dataset.key == "folder", timeout=WAIT)
    qtbot.waitUntil(lambda: s.task.classes == (2, 4), timeout=WAIT)
    assert s.dataset.source == str(folder)
    assert again.training_panel.first_combo.currentData() == 2
    assert again.training_panel.second_combo.currentData() == 4


def test_a_folder_gone_since_leaves_the_sample_with_the_chapters_task(
        qtbot, open_window, tmp_path):
    folder = make_idx_folder(tmp_path / "gone")
    quit_after_2_vs_4_on(qtbot, open_window, folder)
    shutil.rmtree(folder)

    again = open_window()
    with qtbot.waitSignal(again.session.datasetLoadFinished, timeout=WAIT) as blocker:
        pass
    assert blocker.args == [False]
    s = again.session
    assert s.dataset.key == "sample" and s.task.classes == (3, 7)  # not the digits 2 and 4
    # ...and the learner is told why
    assert any("gone" in box.text() for box in error_boxes(again))


def test_a_ten_class_model_comes_back_with_its_folder(qtbot, open_window, tmp_path):
    # ten outputs do not fit the chapter's two classes the window starts with
    from tests.gui.test_datasets_gui import error_boxes as boxes

    folder = make_idx_folder(tmp_path / "ten")
    quit_after_2_vs_4_on(qtbot, open_window, folder, task=Task.all_ten())
    again = open_window()
    s = again.session
    qtbot.waitUntil(lambda: s.dataset.key == "folder" and s.task == Task.all_ten(),
                    timeout=WAIT)
    assert s.spec.n_outputs == 10 and not boxes(again)
