"""Every lesson opens from the Lessons menu as a tab, follows the main model, and closes
cleanly (its background work stopped)."""

import pytest
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QGraphicsView

from biasviz.gui.lessons.base import Lesson
from biasviz.gui.main_window import LESSON_MODULES, MainWindow, lesson_class


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.session.load_engine_now()
    yield w
    w.close()


def test_every_lesson_is_in_the_menu_under_its_own_title(window):
    assert set(window.lesson_actions) == set(LESSON_MODULES)
    for module in LESSON_MODULES:
        cls = lesson_class(module)
        assert issubclass(cls, Lesson)
        assert window.lesson_actions[module].text() == cls.title


@pytest.mark.parametrize("module", LESSON_MODULES)
def test_lesson_opens_as_a_tab_and_closes_cleanly(qtbot, window, module):
    w = window
    tabs_before = w.tabs.count()
    w.lesson_actions[module].trigger()
    lesson = w.current_lesson()
    assert isinstance(lesson, Lesson)
    assert w.tabs.count() == tabs_before + 1
    assert w.tabs.tabText(w.tabs.currentIndex()) == lesson.title
    # its plots hold still, as the main window's: the mouse wheel scrolls the page (the
    # side-by-side lessons' plots zoomed under it and the learner lost the view)
    for view in lesson.findChildren(QGraphicsView):
        if hasattr(view, "getPlotItem"):
            assert view.getPlotItem().vb.state["mouseEnabled"] == [False, False], module
    # opening again focuses the same tab rather than adding another
    w.lesson_actions[module].trigger()
    assert w.tabs.count() == tabs_before + 1
    # it follows the main model: a training run reaches it without errors
    w.session.set_config(w.session.config.__class__(epochs=1))
    w.session.start()
    qtbot.waitUntil(lambda: w.session.state == "ready" and w.session.trainer.epoch == 1,
                    timeout=30_000)
    w._refresh_slow_views()
    w.close_tab(w.lesson_tab_index(lesson))
    assert w.tabs.count() == tabs_before
    assert module not in w.lessons
    running = [t for t in lesson.findChildren(QThread) if t.isRunning()]
    assert not running, f"{module} left threads running: {running}"
