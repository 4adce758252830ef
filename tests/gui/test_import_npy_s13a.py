"""File › Import offers .npy files (np.save of the chapter's weights) and a weights-only
one comes in as a neuron without bias, said in the status line and the note."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from biasviz.core.spec import BiasMode

WAIT = 60_000


def test_the_import_dialog_lists_npy_files(window, monkeypatch):
    filters: list[str] = []

    def open_(_parent, _title, _start="", file_filter="", *a, **k):
        filters.append(file_filter)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_))
    window.import_dialog()
    first = filters[0].split(";;")[0]
    assert first.startswith("Parameter files (") and "*.npy" in first.split()


def test_a_weights_only_npy_imports_as_a_neuron_without_bias(qtbot, window, tmp_path):
    weights = np.random.default_rng(1).normal(0, 0.1, (784, 1)).astype(np.float32)
    path = tmp_path / "weights.npy"
    np.save(path, weights)
    window.open_file(str(path))
    qtbot.waitUntil(lambda: window.session.model.spec.bias_mode is BiasMode.NONE, timeout=WAIT)
    np.testing.assert_array_equal(window.session.model.snapshot.params["weights"],
                                  weights.reshape(784))
    status = window.statusBar().currentMessage()
    assert "Imported Single neuron, no bias" in status and "weights.npy" in status
    boxes = [b for b in window.findChildren(QMessageBox)
             if b.objectName() == "import_note_box"]
    assert boxes and "single NumPy array (np.save)" in boxes[-1].text()
    for box in boxes:
        box.close()
