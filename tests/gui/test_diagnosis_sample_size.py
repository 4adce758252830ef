"""The diagnosis judges a part of the validation images (the first 2,000, a CNN's first
32): its evidence says so ("the first 2,000 of the 10,000 validation images"), so that its
percentages are not read as the accuracy over all of them beside it; over all of them
it says "the N validation images"."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from biasviz.core import diagnosis as dg
from biasviz.core.datasets import Task, load_sample, make_task_data, to_float
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.gui.diagnosis_notice import DiagnosisNotice
from biasviz.gui.main_window import MainWindow

ONES = {"weights": np.ones(784, np.float32), "bias": np.zeros(1, np.float32)}


@pytest.fixture(scope="module")
def data():
    return make_task_data(load_sample(), Task.pair(3, 7))


def test_a_part_is_named_as_a_part(qtbot, data):
    n = len(data.valid_y)
    part = dg.Diagnoser(max_images=50).diagnose(
        ModelSpec(), TrainConfig(), ONES, to_float(data.valid_x), data.valid_y,
        target_names=data.target_names(), n_total=n)
    whole = dg.diagnose(ModelSpec(), TrainConfig(), ONES, to_float(data.valid_x),
                        data.valid_y, target_names=data.target_names(), n_total=n)
    assert [f.code for f in part] == [dg.SATURATED, dg.ONE_CLASS]
    for finding in part:
        assert f"the first 50 of the {n:,} validation images" in finding.evidence
    for finding in whole:
        assert f"the {n:,} validation images" in finding.evidence
        assert "first" not in finding.evidence
    notice = DiagnosisNotice()
    qtbot.addWidget(notice)
    notice.resize(900, 200)
    notice.set_findings(part)
    assert f"the first 50 of the {n:,} validation images" in notice.evidence_label.text()


def test_the_window_s_diagnosis_counts_the_images_it_judged(qtbot, tmp_path):
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    s = w.session
    s.load_engine_now()
    qtbot.mouseClick(w.training_panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.state == "paused", timeout=30_000)
    s.stop()
    qtbot.waitUntil(lambda: s.state == "ready", timeout=30_000)
    assert s.set_weights(ONES["weights"])
    # as if training had ended there (the diagnosis judges training's parameters, not
    # weights painted since)
    s.model.trained_params = {k: v.copy() for k, v in s.snapshot.params.items()}
    n = len(s.data.valid_y)
    evidence = " ".join(f.evidence for f in s.model.findings(max_images=40))
    assert f"the first 40 of the {n:,} validation images" in evidence
    evidence = " ".join(f.evidence for f in s.model.findings())
    assert f"the {n:,} validation images" in evidence  # the sample: all of them
    s.shutdown()
    w.close()
