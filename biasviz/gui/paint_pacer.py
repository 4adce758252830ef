"""Paint several changed plots one per turn of the event loop, not all in one.

Qt paints a changed plot from its scene's queued processing, and that processing
paints the whole window at once (``QGraphicsScene`` dispatches the window's pending
update request itself).  A frame that changes three plots therefore paints three times
back to back in one pass of posted events, with no timer in between: 40-60 ms in which
the window answers nothing (the longest gaps measured while training, issue 14).

:class:`PaintPacer` holds the changed plots with ``setUpdatesEnabled(False)`` (their data
is already set: only the painting waits) and lets one paint at each turn, so that the
event loop runs its timers, input and the next report between two plots.  A held plot
shows its previous picture for a turn (~5-20 ms).

Each plot is also settled first (:func:`settle`): pyqtgraph computes the view's range,
its text items' transforms and its lines' extents as it paints, and those changes asked
for a second paint (and often a third) right after the first, in the same pass."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QGraphicsView, QWidget


class PaintPacer(QObject):
    """Lets the plots of one change paint one per turn.

    ``spread(views)`` with the changed views in the order they should paint, each in a
    turn of its own: the first once the turn that changed them has ended (under X, the
    handler's turn and the first plot's paint made one 40-60 ms stretch), each of the
    others a turn later than the one before (while views are still held, a changed view
    waits behind them).  ``on_painted(seconds)``, if given, hears what the held plots'
    painting cost (from the first release to the turn after the last), for a frame
    budget."""

    def __init__(self, parent: QObject | None = None,
                 on_painted: Callable[[float], None] | None = None) -> None:
        super().__init__(parent)
        self._held: list[QWidget] = []
        self._on_painted = on_painted
        self._started = 0.0
        self._counted = False  # a spread to count in on_painted is among the held
        # A timer, not a posted call: it fires after the turn's posted events (the paint
        # of the plot before), and lets the other timers (and input) run beside it.
        self._timer = QTimer(self, singleShot=True, interval=1)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._release_next)

    def held(self) -> list[QWidget]:
        """The views still waiting to paint (tests)."""
        return list(self._held)

    def spread(self, views: Iterable[QWidget], counted: bool = True) -> None:
        """``counted``: report what this painting cost to ``on_painted`` (a frame
        budget's; not a run's end, whose cost would delay the next run's first frame)."""
        shown = [v for v in views if v is not None and v.isVisible()]
        for view in shown:
            settle(view)
        for view in shown:
            if view in self._held:
                continue
            if view.updatesEnabled():
                view.setUpdatesEnabled(False)
                self._held.append(view)
        if self._held and not self._timer.isActive():
            self._started, self._counted = 0.0, False
            self._timer.start()
        self._counted = self._counted or (counted and bool(self._held))

    def flush(self) -> None:
        """Let every held view paint now (the window closes, a test looks at pixels)."""
        self._timer.stop()
        held, self._held = self._held, []
        for view in held:
            _release(view)

    def _release_next(self) -> None:
        now = time.perf_counter()
        if not self._started:
            self._started = now
        if not self._held:  # the turn after the last one's paint: what it all cost
            if self._on_painted is not None and self._counted:
                self._on_painted(now - self._started)
            return
        _release(self._held.pop(0))
        self._timer.start()  # the next, after this one's paint


def settle(view: QWidget) -> None:
    """Do now, for a pyqtgraph view whose items changed, what its first paint would do
    and then paint again for: the view boxes' range and matrix and the text items'
    transforms (``GraphicsScene.prepareForPaint``), and the extents of items that
    compute them when first asked (an ``InfiniteLine``'s bounding rect follows the view
    and changes its geometry inside the paint)."""
    scene = view.scene() if isinstance(view, QGraphicsView) else None
    prepare = getattr(scene, "prepareForPaint", None)
    if prepare is None:
        return
    prepare()
    for item in scene.items():
        item.boundingRect()


def _release(view: QWidget) -> None:
    try:
        view.setUpdatesEnabled(True)  # and repaints it whole: its changes were held
    except RuntimeError:
        pass  # deleted meanwhile (a model switch rebuilt the panel)
