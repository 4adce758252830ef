"""The learning-rate box takes a 'silly' rate either way (1e-6, 100, 1e4), shows it in
significant digits, steps 1 → 2 → 5 → 10 on its arrows, and shows exactly the rate that
recipes, session files and the command line set."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from biasviz.core.spec import TrainConfig
from biasviz.gui.main_window import MainWindow
from biasviz.gui.training_panel import TrainingPanel, format_lr, lr_ladder_step


@pytest.fixture
def panel(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.show()
    return p


def type_into(qtbot, box, text: str) -> None:
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def test_typed_rates_far_below_and_above_the_old_limits(qtbot, panel):
    sent = []
    panel.configChanged.connect(lambda c: sent.append(c.lr))
    for typed, value, shown in (("1e-6", 1e-6, "1e-6"), ("100", 100.0, "100"),
                                ("0.00003", 3e-5, "3e-5"), ("2.5E-8", 2.5e-8, "2.5e-8"),
                                ("10000", 1e4, "10000")):
        type_into(qtbot, panel.lr_spin, typed)
        assert panel.config().lr == pytest.approx(value, rel=1e-12)
        assert sent[-1] == pytest.approx(value, rel=1e-12)
        assert panel.lr_spin.text() == shown
    assert len(sent) == 5  # one change per typed value, not per keystroke


def test_arrows_walk_one_two_five(qtbot, panel):
    box = panel.lr_spin
    assert box.value() == 1.0
    seen = []
    for key in (Qt.Key.Key_Up, Qt.Key.Key_Up, Qt.Key.Key_Up):
        qtbot.keyClick(box, key)
        seen.append(box.text())
    for _ in range(6):
        qtbot.keyClick(box, Qt.Key.Key_Down)
        seen.append(box.text())
    assert seen == ["2", "5", "10", "5", "2", "1", "0.5", "0.2", "0.1"]
    box.setValue(0.3)  # between rungs: the next rung in the arrow's direction
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.value() == 0.5
    box.setValue(0.3)
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert box.value() == 0.2
    assert lr_ladder_step(1e-6, -3) == pytest.approx(1e-7)
    assert format_lr(1e-06) == "1e-6" and format_lr(0.001) == "0.001"


def test_rates_set_elsewhere_are_shown_exactly(panel):
    task, spec = panel.task(), panel.spec()
    for lr in (0.003, 1e-7, 0.123456789, 3e-13, 5e11):  # a session file, the CLI
        panel.set_settings(task, spec, TrainConfig(lr=lr))
        assert panel.config().lr == lr  # not rounded, not clamped
    panel.set_settings(task, spec, TrainConfig(lr=1e-6))
    assert panel.lr_spin.text() == "1e-6"


def test_the_window_trains_with_the_typed_rate(qtbot, tmp_path):
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    type_into(qtbot, w.training_panel.lr_spin, "1e-6")
    assert w.session.config.lr == pytest.approx(1e-6)
    assert "learning rate" in w.training_panel.recipe_label.toolTip() + \
        w.training_panel.recipe_label.text()
    w.session.model.set_config(TrainConfig(lr=100.0))  # a fix button, a session
    assert w.training_panel.lr_spin.text() == "100"
    w.close()
