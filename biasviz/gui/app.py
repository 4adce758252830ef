"""Start the desktop app: the window first, torch afterwards (in the background)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, NoReturn

T0 = time.perf_counter()



def collect_on_gui_thread() -> object:
    """Turn Python's automatic cyclic garbage collection off and collect on the GUI
    thread once a second instead (pyqtgraph's helper; keep the returned object alive).
    Automatic collections run in whichever thread allocates: in the training or a
    frame's thread they could run Qt destructors there, and a generation-2 collection
    there held the GIL ~80 ms while the window waited (a 10 ms QTimer saw 80-90 ms gaps
    in a benchmark without this, 37-48 ms with it)."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=1.0)

def seconds_since_process_start() -> float:
    """Wall time since this process started (Linux: from /proc, 10 ms resolution);
    elsewhere since this module was imported."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5), counted after "comm)"
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - T0


def _parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="biasviz gui", description="Open the biasviz window.")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save a screenshot of the window after start-up and quit")
    parser.add_argument("--train-epochs", type=int, default=0, metavar="N",
                        help="with --screenshot: train N epochs before taking it")
    parser.add_argument("--tab", type=int, default=0, help="with --screenshot: which tab")
    parser.add_argument("--show-change", action="store_true",
                        help="with --screenshot: show w − w₀ instead of the weights")
    parser.add_argument("--report-startup", action="store_true",
                        help="print how long the first window took to appear")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="quit as soon as the window is shown (start-up benchmarks)")
    return parser.parse_args(args)


OPEN_PATH: str | None = None
"""The file given as ``biasviz FILE`` (or ``python -m biasviz FILE``), for the window to
open once it is up; None when there was none.  Set by :func:`run_app`."""


def run_app(args: list[str] | None = None, open_path: str | None = None) -> int:
    global OPEN_PATH
    OPEN_PATH = open_path  # the integrator's window reads this and imports the file
    options = _parse(list(args or []))
    # where start-up goes (--report-startup): Python, Qt, numpy and pyqtgraph are
    # imported before this runs (``biasviz.gui`` imports pyqtgraph)
    marks = [("Python, Qt and pyqtgraph", seconds_since_process_start())]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    owns_app = QApplication.instance() is None  # the process is the app's (not a test's)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("biasviz")
    app.setOrganizationName("biasviz")
    app.setApplicationDisplayName("biasviz")
    app.setDesktopFileName("io.github.biasviz.Biasviz")

    # Python's cyclic garbage collector runs in whichever thread happens to allocate; if
    # that is the training thread and the garbage holds Qt objects, their destructors
    # run there and can deadlock with the GUI thread (seen: a closed dialog's QObject
    # collected by the training thread).  Collect on the GUI thread only, on a timer
    # (pyqtgraph's helper, made for exactly this).  Started before the window's modules
    # are imported and the window is built: no automatic collections during start-up
    # either (they found nothing to free and cost ~20 ms).
    collector = collect_on_gui_thread()
    marks.append(("the application", seconds_since_process_start()))
    from biasviz.gui.main_window import MainWindow

    marks.append(("the window's modules", seconds_since_process_start()))
    window = MainWindow()
    marks.append(("building the window", seconds_since_process_start()))
    window._garbage_collector = collector
    app.setWindowIcon(window.windowIcon())
    app.aboutToQuit.connect(window.session.shutdown)
    window.show()

    def first_paint() -> None:
        if options.report_startup:
            shown = seconds_since_process_start()
            marks.append(("showing it", shown))
            steps = "; ".join(f"{name} {end - start:.2f}" for (name, end), (_n, start)
                              in zip(marks, [("", 0.0), *marks[:-1]], strict=True))
            # CPU time of the whole process (all its threads): what start-up costs,
            # whatever else the machine is doing
            print(f"window shown {shown:.2f} s after the process started ({steps}), "
                  f"CPU time {time.process_time():.2f} s", flush=True)
        if options.quit_after_show:
            window.close()
            return
        window.session.load_engine_in_background()
        if open_path:
            window.open_file(open_path)

    QTimer.singleShot(0, first_paint)
    if options.screenshot:
        _schedule_screenshot(window, options)
    code = int(app.exec())
    if owns_app and os.environ.get("BIASVIZ_FAST_EXIT", "1") != "0":
        end_process(window, code)
    return code


def end_process(window: Any, code: int) -> NoReturn:
    """End the process now that the window is closed, without Python's slow teardown.

    With torch imported, the interpreter's finalization takes 0.6 s on a quiet 2-core
    machine (0.9–2.4 s under load, Xvfb) after the window has gone: the window looked
    closed, the process lingered (benchmarks/bench_quit.py).  Everything that must
    happen on quitting has happened or happens here first: the window's closeEvent has
    saved the settings (synced again here) and stopped the runs, every worker thread
    and the training process; the atexit handlers run (PySide destroys the
    QApplication there: the clipboard goes to the clipboard manager, the display
    connection closes; coverage and logging write out); the standard streams are
    flushed.  Only then ``os._exit``.  ``BIASVIZ_FAST_EXIT=0`` keeps the normal exit
    (leak checkers, debugging)."""
    import atexit

    if window.isVisible():  # quit without a close (cannot happen through the UI)
        window.close()
    window.session.shutdown()  # idempotent: nothing left to stop after closeEvent
    window.settings.sync()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


def _schedule_screenshot(window, options: argparse.Namespace) -> None:
    """Wait for the engine, optionally train, then grab the window and quit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    session = window.session

    def when_ready() -> None:
        if not session.engine_ready:
            QTimer.singleShot(100, when_ready)
            return
        if options.train_epochs:
            window.training_panel.epochs_spin.setValue(options.train_epochs)
            session.trainingEnded.connect(lambda _e: QTimer.singleShot(800, grab))
            session.start()
        else:
            QTimer.singleShot(500, grab)

    def grab() -> None:
        window.tabs.setCurrentIndex(options.tab)
        if options.show_change:
            window.show_combo.setCurrentIndex(1)
        QApplication.processEvents()
        QTimer.singleShot(400, lambda: (window.grab().save(options.screenshot), window.close()))

    QTimer.singleShot(200, when_ready)
