"""The plots a frame changes paint one per turn of the event loop (issue 14): Qt paints
the window once per changed plot, back to back in one pass of posted events, so three
plots made one long turn with no timer between them."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from biasviz.gui.paint_pacer import PaintPacer


class _Turns(QObject):
    """Counts the event loop's turns (a 0 ms timer fires once in each) and notes the
    turn in which each watched plot paints."""

    def __init__(self, views) -> None:
        super().__init__()
        self.turn = 0
        self.painted: list[tuple[int, int]] = []  # (view index, turn)
        self._views = [v.viewport() for v in views]
        for vp in self._views:
            vp.installEventFilter(self)
        self.timer = QTimer(self, interval=0)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.turn += 1

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint and obj in self._views:
            self.painted.append((self._views.index(obj), self.turn))
        return False


@pytest.fixture
def three_plots(qtbot):
    box = QWidget()
    box.setObjectName("three_plots")
    layout = QVBoxLayout(box)
    plots = [pg.PlotWidget() for _ in range(3)]
    curves = [p.plot(np.arange(10), np.zeros(10)) for p in plots]
    for p in plots:
        layout.addWidget(p)
    qtbot.addWidget(box)
    box.resize(300, 450)
    box.show()
    qtbot.waitExposed(box)
    qtbot.wait(50)

    def change(k: int) -> None:
        for c in curves:
            c.setData(np.arange(10), np.random.default_rng(k).normal(size=10))

    yield plots, change
    box.close()


def _paint_turns(qtbot, plots, turns: _Turns) -> dict[int, int]:
    qtbot.waitUntil(lambda: {i for i, _ in turns.painted} == {0, 1, 2}, timeout=3000)
    qtbot.wait(30)
    first = {}
    for i, turn in turns.painted:
        first.setdefault(i, turn)
    return first


def test_without_it_qt_paints_every_changed_plot_in_one_turn(qtbot, three_plots):
    """What the pacer is for (and proof that the next test can fail)."""
    plots, change = three_plots
    turns = _Turns(plots)
    change(1)
    first = _paint_turns(qtbot, plots, turns)
    assert len(set(first.values())) == 1, first


def test_the_pacer_paints_one_plot_per_turn_in_order(qtbot, three_plots):
    plots, change = three_plots
    costs: list[float] = []
    pacer = PaintPacer(on_painted=costs.append)
    turns = _Turns(plots)
    change(2)
    pacer.spread(plots)
    assert pacer.held() == plots  # even the first waits for this turn's end
    first = _paint_turns(qtbot, plots, turns)
    assert first[0] < first[1] < first[2], first
    qtbot.waitUntil(lambda: bool(costs), timeout=3000)
    assert not pacer.held() and costs[0] > 0
    assert all(p.updatesEnabled() for p in plots)


def test_hidden_views_are_not_held_and_flush_lets_all_paint(qtbot, three_plots):
    plots, change = three_plots
    plots[2].hide()
    pacer = PaintPacer()
    pacer.spread(plots)
    assert pacer.held() == plots[:2]
    # a second change before they painted: each still paints once, in its turn
    pacer.spread(plots[::-1])
    assert pacer.held() == plots[:2]
    pacer.flush()
    assert not pacer.held() and all(p.updatesEnabled() for p in plots)


def test_a_spread_not_counted_reports_no_cost(qtbot, three_plots):
    """A run's end paints every plot in turns too, but its cost must not make the next
    run's first frame wait (it did: no frame at all in a 0.3 s run)."""
    plots, change = three_plots
    costs: list[float] = []
    pacer = PaintPacer(on_painted=costs.append)
    change(3)
    pacer.spread(plots, counted=False)
    qtbot.waitUntil(lambda: not pacer.held(), timeout=3000)
    qtbot.wait(20)
    assert costs == []
    change(4)
    pacer.spread(plots)
    qtbot.waitUntil(lambda: bool(costs), timeout=3000)
