"""Tabs whose view is built the first time it is needed, not at start-up.

The window's hidden tabs (Watch learning, Draw, Evaluate) cost a third of the time to
the first window to build, and most sessions open one of them later or never.  Each
starts as a :class:`PendingPage`: an empty page standing in the tab and in the window's
attribute (``window.draw_panel``).  The real view is built, and swapped into the tab at
the same index and into the attribute, when the first of these happens:

- its tab becomes the current one (built before any other handler of the tab change
  runs, so the window's own handler already finds the real view there);
- code asks the stand-in for anything a view has and a plain page does not
  (``window.draw_panel.canvas``, ``window.learning_view.reset(...)``): it is built and
  the request goes to it.

A few calls need not build a view nobody has looked at yet: *deferred* calls are
remembered (the last one of each name) and made on the view once it exists, in the
order they came; *skipped* calls return a fixed value (``shutdown`` of a panel that
never ran anything)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from PySide6.QtWidgets import QAbstractButton, QTabBar, QTabWidget, QWidget

from biasviz.gui.wheel_guard import guard_wheel


class PendingPage(QWidget):
    """Stands in a tab (and in ``owner.<attribute>``) for a view built on first need.

    ``factory`` builds the view (import its module inside it, so that the import waits
    too).  ``deferred`` names methods whose calls are remembered instead of building the
    view (only the last call of each name matters: setters and resets); ``skipped``
    maps method names to the value they return while the view does not exist."""

    def __init__(self, owner: object, attribute: str, factory: Callable[[], QWidget],
                 deferred: Iterable[str] = (), skipped: Mapping[str, Any] | None = None
                 ) -> None:
        super().__init__()
        self._owner = owner
        self._attribute = attribute
        self._factory = factory
        self._deferred = frozenset(deferred)
        self._skipped = dict(skipped or {})
        self._calls: dict[str, tuple[tuple, dict]] = {}  # insertion order = call order
        self._view: QWidget | None = None

    @property
    def built_view(self) -> QWidget | None:
        """The real view, once built (None before)."""
        return self._view

    def build(self) -> QWidget:
        """Build the view (once), put it in this page's place and hand it the calls that
        waited for it."""
        if self._view is not None:
            return self._view
        view = self._factory()
        guard_wheel(view)  # as the window's other controls (see wheel_guard)
        self._view = view
        tabs = self._tab_widget()
        if tabs is not None:
            _swap_tab(tabs, self, view)
        if getattr(self._owner, self._attribute, None) is self:
            setattr(self._owner, self._attribute, view)
        calls, self._calls = self._calls, {}
        for name, (args, kwargs) in calls.items():
            getattr(view, name)(*args, **kwargs)
        return view

    def _tab_widget(self) -> QTabWidget | None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QTabWidget):
            parent = parent.parentWidget()
        return parent

    def __getattr__(self, name: str) -> Any:
        # Only called for names a plain page does not have: the view's own API.
        if name.startswith("__") or name in _OWN_NAMES:
            raise AttributeError(name)
        if self._view is None:
            if name in self._deferred:
                return lambda *args, **kwargs: self._remember(name, args, kwargs)
            if name in self._skipped:
                value = self._skipped[name]
                return lambda *_args, **_kwargs: value
        return getattr(self.build(), name)

    def _remember(self, name: str, args: tuple, kwargs: dict) -> None:
        if self._view is not None:  # built meanwhile: straight to the view
            getattr(self._view, name)(*args, **kwargs)
            return
        self._calls.pop(name, None)  # the latest call goes last
        self._calls[name] = (args, kwargs)


# attributes PendingPage sets itself: looked up before __init__ has set them, they must
# fail plainly instead of building the view
_OWN_NAMES = frozenset({"_owner", "_attribute", "_factory", "_deferred", "_skipped",
                        "_calls", "_view"})


def _swap_tab(tabs: QTabWidget, old: QWidget, new: QWidget) -> None:
    """Put ``new`` in the tab holding ``old``: same index, text, icon, tips, close button
    (or its absence), and still current if it was, without the tab widget signalling a
    change (the tab shown is the same one)."""
    index = tabs.indexOf(old)
    if index < 0:
        return
    bar = tabs.tabBar()
    side = QTabBar.ButtonPosition.RightSide
    old_button = bar.tabButton(index, side)
    was_current = tabs.currentIndex() == index
    blocked = tabs.blockSignals(True)
    try:
        tabs.insertTab(index, new, tabs.tabIcon(index), tabs.tabText(index))
        # the old page is now at index + 1
        tabs.setTabToolTip(index, tabs.tabToolTip(index + 1))
        tabs.setTabWhatsThis(index, tabs.tabWhatsThis(index + 1))
        tabs.setTabEnabled(index, tabs.isTabEnabled(index + 1))
        if old_button is not None and not isinstance(old_button, QAbstractButton):
            # a fixed tab: the same kind of slot instead of a close button
            slot = QWidget()
            slot.setFixedSize(old_button.size())
            bar.setTabButton(index, side, slot)
        if was_current:
            tabs.setCurrentIndex(index)  # before the old page goes: no other tab shows
        tabs.removeTab(index + 1)
    finally:
        tabs.blockSignals(blocked)
    old.setParent(None)  # gone from the window; kept alive only by whoever holds it


def build_pending_on_show(tabs: QTabWidget) -> None:
    """Build a pending page as soon as its tab becomes current.  Connect this before any
    other handler of ``tabs.currentChanged``: Qt calls handlers in the order they were
    connected, so theirs find the real view in the tab."""

    def on_current(index: int) -> None:
        page = tabs.widget(index)
        if isinstance(page, PendingPage):
            page.build()

    tabs.currentChanged.connect(on_current)


# The window's pending views.  Each imports its module when called: the import waits too.
def new_learning_view() -> QWidget:
    from biasviz.gui.learning_view import LearningView

    return LearningView()


def new_draw_panel() -> QWidget:
    from biasviz.gui.draw_panel import DrawPanel

    return DrawPanel()


def new_evaluation_view() -> QWidget:
    from biasviz.gui.evaluation_view import EvaluationView

    return EvaluationView()
