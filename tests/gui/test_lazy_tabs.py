"""Tabs built on first need (start-up, issue 14): the stand-in page takes the view's place
in the tab and in its owner's attribute without the tab widget noticing, calls reach the
view, and the window's hidden tabs show the current state the first time they open."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QTabBar, QTabWidget, QWidget

from biasviz.core.spec import first_layer
from biasviz.gui.lazy_tabs import PendingPage, build_pending_on_show

WAIT = 30_000


class _View(QLabel):
    """A view with some API of its own, counting what reached it."""

    def __init__(self) -> None:
        super().__init__("real view")
        self.calls: list[tuple] = []
        self.answer = 42

    def reset(self, value: int, scale: int = 1) -> None:
        self.calls.append(("reset", value, scale))

    def show_thing(self, value: int) -> None:
        self.calls.append(("show_thing", value))

    def shutdown(self) -> bool:
        self.calls.append(("shutdown",))
        return False


class _Owner:
    pass


@pytest.fixture
def tabs(qtbot):
    """A fixed first tab, the pending one (fixed: a slot instead of a close button), a
    closable last one; the owner holds the pending page as ``owner.view``."""
    widget = QTabWidget()
    qtbot.addWidget(widget)
    owner = _Owner()
    built: list[_View] = []

    def factory() -> _View:
        built.append(_View())
        return built[-1]

    owner.view = PendingPage(owner, "view", factory, deferred=("reset", "show_thing"),
                             skipped={"shutdown": True})
    widget.addTab(QWidget(), "first")
    widget.addTab(owner.view, "pending")
    widget.setTabToolTip(1, "the pending tab's tip")
    widget.addTab(QWidget(), "last")
    widget.setTabsClosable(True)
    slot = QWidget()
    slot.setFixedSize(1, 17)
    for i in (0, 1):
        widget.tabBar().setTabButton(i, QTabBar.ButtonPosition.RightSide, slot if i else QWidget())
    build_pending_on_show(widget)
    widget.show()
    return widget, owner, built


def test_a_pending_tab_is_built_when_it_opens_and_later_handlers_see_the_view(tabs):
    widget, owner, built = tabs
    pending = owner.view
    seen = []
    widget.currentChanged.connect(lambda i: seen.append((i, widget.currentWidget())))
    assert built == []  # nothing built while the tab is not open
    widget.setCurrentIndex(1)
    assert len(built) == 1
    view = built[0]
    assert seen == [(1, view)]  # one change signal, and it already finds the view
    assert owner.view is view and widget.widget(1) is view and widget.currentWidget() is view
    assert widget.count() == 3 and widget.indexOf(pending) == -1
    assert widget.tabText(1) == "pending" and widget.tabToolTip(1) == "the pending tab's tip"
    button = widget.tabBar().tabButton(1, QTabBar.ButtonPosition.RightSide)
    assert not isinstance(button, QAbstractButton) and button.size().height() == 17
    assert isinstance(widget.tabBar().tabButton(2, QTabBar.ButtonPosition.RightSide),
                      QAbstractButton)  # the closable tab keeps its close button
    widget.setCurrentIndex(0)
    widget.setCurrentIndex(1)
    assert len(built) == 1  # built once


def test_asking_the_stand_in_for_the_views_api_builds_it_in_place(tabs):
    widget, owner, built = tabs
    assert owner.view.answer == 42
    assert len(built) == 1 and owner.view is built[0]
    assert widget.widget(1) is built[0] and widget.currentIndex() == 0  # still hidden


def test_deferred_calls_wait_for_the_view_the_last_of_each_kind_in_order(tabs):
    widget, owner, built = tabs
    pending = owner.view
    pending.show_thing(1)
    pending.reset(5)
    pending.show_thing(2)
    pending.reset(7, scale=3)
    assert pending.shutdown() is True  # skipped: nothing to shut down
    assert built == []
    widget.setCurrentIndex(1)
    assert built[0].calls == [("show_thing", 2), ("reset", 7, 3)]
    pending.reset(9)  # a stale reference still reaches the view
    assert owner.view.shutdown() is False
    assert built[0].calls[-2:] == [("reset", 9, 1), ("shutdown",)]


def test_a_pending_page_outside_a_tab_widget_still_builds(qtbot):
    owner = _Owner()
    owner.view = PendingPage(owner, "view", _View)
    qtbot.addWidget(owner.view)
    with pytest.raises(AttributeError):
        owner.view.__missing_dunder__  # noqa: B018 - dunders never build
    assert owner.view.answer == 42 and isinstance(owner.view, _View)
    qtbot.addWidget(owner.view)


# -- the window ----------------------------------------------------------------------


@pytest.fixture
def window(window_loading):
    return window_loading


def test_the_window_starts_with_its_hidden_tabs_pending(window):
    assert window.tabs.currentIndex() == 0
    for name in ("learning_view", "draw_panel", "evaluation_view"):
        assert isinstance(getattr(window, name), PendingPage), name
    window.close()  # closing shuts the draw panel down without building it
    assert isinstance(window.draw_panel, PendingPage)


def test_hidden_tabs_show_the_current_state_the_first_time_they_open(qtbot, window):
    w, s = window, window.session
    s.load_engine_now()
    s.reset()  # the learning view's reset waits for it
    w.training_panel.epochs_spin.setValue(2)
    s.start()
    qtbot.waitUntil(lambda: s.state == "ready" and s.trainer.epoch >= 2, timeout=WAIT)
    assert s.set_bias(0.75)
    snap = s.model.shown_snapshot()
    assert isinstance(w.learning_view, PendingPage)

    w.tabs.setCurrentIndex(1)  # Watch learning
    view = w.learning_view
    assert w.tabs.currentWidget() is view and not isinstance(view, PendingPage)
    initial, _ = first_layer(s.initial_params, snap.spec)
    now, _ = first_layer(snap.params, snap.spec)
    edges = view.histogram.edges()

    def counts(weights: np.ndarray) -> np.ndarray:
        return np.histogram(np.clip(weights.ravel(), edges[0], edges[-1]), bins=edges)[0]

    assert not np.array_equal(counts(initial), counts(now))  # training moved them
    assert np.array_equal(view.histogram.initial_counts(), counts(initial))
    assert np.array_equal(view.histogram.current_counts(), counts(now))
    assert view.bias_curve.getData()[0] is not None
    assert len(view.bias_curve.getData()[0]) == len(s.history.bias)

    w.tabs.setCurrentIndex(2)  # Draw: the model as it is now, bias included
    panel = w.draw_panel
    assert w.tabs.currentWidget() is panel
    assert panel._spec == snap.spec
    assert float(np.ravel(panel._params["bias"])[0]) == pytest.approx(0.75)

    w.tabs.setCurrentIndex(3)  # Evaluate: evaluates the current model
    evaluation = w.evaluation_view
    assert w.tabs.currentWidget() is evaluation
    qtbot.waitUntil(lambda: evaluation._evaluation is not None, timeout=WAIT)
    assert evaluation._spec == snap.spec


# -- the code panel: hidden at start, its code made when shown or asked for -------------


def test_a_deferring_code_panel_makes_its_code_when_shown_or_asked(qtbot):
    from biasviz.core.datasets import Task
    from biasviz.core.spec import ModelSpec, TrainConfig
    from biasviz.gui.code_panel import CodePanel

    panel = CodePanel(defer_while_hidden=True)
    qtbot.addWidget(panel)
    panel.set_run(ModelSpec(), TrainConfig(lr=0.5), Task((3, 7)))
    assert panel.editor.toPlainText() == ""  # nothing made while hidden
    panel.set_run(ModelSpec(), TrainConfig(lr=0.25), Task((3, 7)))
    panel.show()
    qtbot.waitExposed(panel)
    text = panel.editor.toPlainText()
    assert "lr = 0.25" in text and "lr = 0.5" not in text  # the latest run
    assert not panel.highlighted_lines()["flash"]
    panel.set_run(ModelSpec(), TrainConfig(lr=2.0), Task((3, 7)))  # shown: at once, glowing
    assert "lr = 2.0" in panel.editor.toPlainText()
    assert panel.highlighted_lines()["flash"]
    panel.hide()
    panel.set_run(ModelSpec(), TrainConfig(lr=3.0), Task((3, 7)))
    assert "lr = 3.0" in panel.code().script()  # asked while hidden: made then


def test_the_window_code_follows_settings_changed_while_it_was_hidden(qtbot, window):
    w, s = window, window.session
    assert not w.code_dock.isVisible()
    w.training_panel.lr_spin.setValue(0.125)
    qtbot.waitUntil(lambda: s.config.lr == 0.125, timeout=WAIT)
    w.code_dock.show()
    qtbot.waitUntil(lambda: "lr = 0.125" in w.code_panel.editor.toPlainText(), timeout=WAIT)


def test_the_first_window_imports_nothing_it_does_not_show(first_window_report):
    late = ("torch", "biasviz.core.codegen", "biasviz.core.paramfiles",
            "biasviz.gui.learning_view", "biasviz.gui.draw_panel",
            "biasviz.gui.evaluation_view", "biasviz.gui.export_dialogs", "PIL", "numpy.ma")
    assert first_window_report(f"sorted(m for m in {late!r} if m in sys.modules)") == []


def test_a_picture_of_a_view_not_built_yet_is_the_views(window, tmp_path):
    assert isinstance(window.learning_view, PendingPage)
    png = tmp_path / "learning.png"
    assert window.export_picture("learning_view", str(png), scale=1.0)
    assert not isinstance(window.learning_view, PendingPage)
    assert png.stat().st_size > 1000
