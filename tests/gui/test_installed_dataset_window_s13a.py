"""An installed dataset (/usr/share/datasets/fashion-mnist) from the window: the Local
folder dialog opens where the system keeps datasets (it opened in the working directory),
the Fashion-MNIST choice reads the installed copy and says so, and a session saved on
it reopens on the same images."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from biasviz.core.datasets import download as dl
from biasviz.core.idx import write_idx
from biasviz.gui import file_dirs

WAIT = 60_000


def write_idx_folder(folder, n_train=200, n_valid=100, seed=0):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_valid)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))

    def no_network(*_a, **_k):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_the_folder_dialog_opens_where_datasets_are_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(file_dirs, "_last", {})
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    system = tmp_path / "datasets"
    system.mkdir()
    monkeypatch.setattr(dl, "SYSTEM_DATASET_DIRS", (tmp_path / "absent", system))
    assert file_dirs.start_in(kind=file_dirs.DATA) == str(home)  # no dataset installed
    (system / "fashion-mnist").mkdir()
    assert file_dirs.start_in(kind=file_dirs.DATA) == str(system)
    # the learner's own choice wins from then on; files dialogs keep the working directory
    chosen = tmp_path / "my-digits"
    chosen.mkdir()
    file_dirs.remember(str(chosen), kind=file_dirs.DATA)
    assert file_dirs.start_in(kind=file_dirs.DATA) == str(chosen)
    assert file_dirs.start_in() == os.getcwd()


def test_local_folder_in_the_dataset_box_opens_there(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(file_dirs, "_last", {})
    system = tmp_path / "datasets"
    (system / "fashion-mnist").mkdir(parents=True)
    monkeypatch.setattr(dl, "SYSTEM_DATASET_DIRS", (system,))
    asked: list[str] = []

    def choose(_parent, _title, start="", *a, **k):
        asked.append(start)
        return ""  # cancelled

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    combo = window.training_panel.dataset_combo
    window.training_panel._on_dataset_activated(combo.findData("folder"))
    assert asked == [str(system)]


def test_fashion_mnist_reads_the_installed_copy_and_a_session_reopens_on_it(
        qtbot, window, tmp_path, monkeypatch, offline):
    from biasviz.core.app_model import dataset_fingerprint
    from biasviz.core.sessionfile import write_session
    from biasviz.gui.window_files import _read_session_and_data

    system = tmp_path / "datasets"
    folder = write_idx_folder(system / "fashion-mnist")
    monkeypatch.setattr(dl, "SYSTEM_DATASET_DIRS", (system,))
    with qtbot.waitSignal(window.session.datasetLoadFinished, timeout=WAIT) as blocker:
        window.session.load_dataset("fashion-mnist")
    assert blocker.args == [True]
    s = window.session
    assert s.dataset.key == "fashion-mnist" and s.dataset.source == str(folder)
    assert len(s.dataset.train) == 200
    assert f"Fashion-MNIST (installed copy in {folder})" in window.statusBar().currentMessage()

    path = tmp_path / "run.biasviz"
    write_session(path, *s.model.session_state())
    meta, _arrays, dataset, note, stand_in = _read_session_and_data(str(path))
    assert meta["dataset"]["key"] == "fashion-mnist"
    assert meta["dataset"]["source"] == str(folder)
    assert not stand_in and note == ""
    assert dataset.source == str(folder)
    assert dataset_fingerprint(dataset) == dataset_fingerprint(s.dataset)
