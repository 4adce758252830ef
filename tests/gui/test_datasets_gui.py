"""Datasets from the GUI: a local IDX folder loads; an offline download fails with a
message that says what to do and leaves the app usable; a download can be cancelled."""

import io
import urllib.error
import urllib.request
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from biasviz.core.idx import write_idx
from biasviz.gui.main_window import MainWindow

WAIT = 60_000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.session.load_engine_now()
    yield w
    w.session.shutdown()


def error_boxes(w):
    return [b for b in w.findChildren(QMessageBox) if b.objectName() == "error_box"]


def make_idx_folder(folder, n_train=300, n_valid=100, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for prefix, n in (("train", n_train), ("t10k", n_valid)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):  # a class-dependent bright bar, learnable
            images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 250
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def test_local_folder_loads_and_trains(qtbot, window, tmp_path):
    folder = make_idx_folder(tmp_path / "my-digits")
    with qtbot.waitSignal(window.session.datasetLoadFinished, timeout=WAIT) as blocker:
        window.session.load_dataset(str(folder))
    assert blocker.args == [True]
    s = window.session
    assert s.dataset.key == "folder"
    assert len(s.dataset.train) == 300 and len(s.dataset.valid) == 100
    assert s.data.n_train == 60  # threes and sevens of 300
    s.set_spec(replace(s.spec, init_std=0.01))
    s.set_config(s.config.__class__(epochs=30))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch == 30, timeout=WAIT)
    assert s.last_accuracy is not None and s.last_accuracy > 0.9
    assert "my-digits" in window.windowTitle() or "folder" in window.windowTitle().lower() \
        or s.dataset.name in window.windowTitle()


def test_offline_download_fails_clearly_and_the_app_stays_usable(qtbot, window, monkeypatch):
    def offline(*_a, **_k):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    before = window.session.dataset
    with qtbot.waitSignal(window.session.datasetLoadFinished, timeout=WAIT) as blocker:
        window.session.load_dataset("fashion-mnist")
    assert blocker.args == [False]
    boxes = error_boxes(window)
    assert boxes
    text = boxes[-1].text().lower()
    assert "sample" in text and "folder" in text
    assert window.session.dataset is before
    assert window.training_panel.dataset_combo.currentData() == "sample"
    assert not window.training_panel.download_bar.isVisible()
    s = window.session
    s.set_config(s.config.__class__(epochs=1))
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch == 1, timeout=WAIT)


class _SlowResponse(io.RawIOBase):
    """Serves zeros slowly forever, like a big download."""

    headers = {"Content-Length": str(10_000_000)}

    def read(self, n=-1):
        import time

        time.sleep(0.01)
        return b"\0" * 4096

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_can_be_cancelled(qtbot, window, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _SlowResponse())
    progress = []
    window.session.downloadProgress.connect(lambda d, t: progress.append((d, t)))
    window.session.load_dataset("kmnist")
    qtbot.waitUntil(lambda: window.training_panel.cancel_download_button.isVisible(),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: len(progress) > 3, timeout=WAIT)
    with qtbot.waitSignal(window.session.datasetLoadFinished, timeout=WAIT) as blocker:
        window.training_panel.cancel_download_button.click()
    assert blocker.args == [False]
    assert not error_boxes(window), "a cancel is not an error"
    assert "cancelled" in window.statusBar().currentMessage().lower()
    assert window.session.dataset.key == "sample"
    assert progress[-1][0] > progress[0][0]
