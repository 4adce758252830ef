"""Quitting: the window closes → the process is gone (issue 10, item 5).

Starts the app in a fresh process the way ``biasviz`` does (:func:`biasviz.gui.app.run_app`),
waits until PyTorch is loaded and the training process is up (optionally trains a few
epochs first), closes the window as the learner does, and times

- close → the event loop returns (``aboutToQuit``: closeEvent has saved the settings and
  stopped the runs and the training process);
- close → the process has exited.

Each run is made twice: with the app's quick exit (:func:`biasviz.gui.app.end_process`)
and with Python's normal teardown (``BIASVIZ_FAST_EXIT=0``), and checks that the
training process is gone and that the settings file was written.

    python benchmarks/bench_quit.py                # offscreen, median of 5
    python benchmarks/bench_quit.py --xvfb         # under a real X server (Xvfb)
    python benchmarks/bench_quit.py --train 3      # train 3 epochs before quitting
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DRIVER = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

train = int(sys.argv[1])

def window():
    return next((w for w in QApplication.topLevelWidgets()
                 if type(w).__name__ == "MainWindow"), None)

def when_ready():
    w = window()
    if w is None or not w.session.engine_ready or w.session._process is None \
            or not w.session._process.alive():
        QTimer.singleShot(50, when_ready)
        return
    print("CHILD", w.session._process.pid(), flush=True)
    QApplication.instance().aboutToQuit.connect(
        lambda: print("ABOUT_TO_QUIT", time.time(), flush=True))
    if train:
        w.training_panel.epochs_spin.setValue(train)
        w.session.trainingEnded.connect(lambda _e: QTimer.singleShot(300, close))
        w.session.start()
    else:
        QTimer.singleShot(300, close)

def close():
    print("CLOSE", time.time(), flush=True)
    window().close()

# run_app makes the QApplication, as biasviz does: wait from the window's construction
import biasviz.gui.main_window as mw
_init = mw.MainWindow.__init__
def _init_then_wait(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    QTimer.singleShot(200, when_ready)
mw.MainWindow.__init__ = _init_then_wait
from biasviz.gui.app import run_app
sys.exit(run_app([]))
"""

# Under xvfb-run the exit is taken when the app's own process ends, not when xvfb-run
# has also shut its X server down.
WRAPPER = ("import subprocess, sys, time; "
           "p = subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2]]); "
           "print('GONE', time.time(), flush=True); sys.exit(p.returncode)")


def one_run(env: dict, train: int, xvfb: bool) -> dict[str, float]:
    cmd = [sys.executable, "-c", WRAPPER, DRIVER, str(train)]
    if xvfb:
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1366x768x24", *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the app and its training process too
        proc.communicate()
        raise SystemExit("the app did not quit within 240 s") from None
    marks: dict[str, float] = {}
    child = None
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        if name == "CHILD":
            child = int(value)
        elif name in ("CLOSE", "ABOUT_TO_QUIT", "GONE"):
            marks[name] = float(value)
    if proc.returncode != 0 or len(marks) != 3:
        raise SystemExit(f"the app did not quit cleanly (exit {proc.returncode}):\n"
                         f"{out}\n{err}")
    if child is not None and os.path.exists(f"/proc/{child}") and "zombie" not in _state(child):
        raise SystemExit(f"the training process {child} outlived the app")
    return {"close → event loop returned": marks["ABOUT_TO_QUIT"] - marks["CLOSE"],
            "close → process gone": marks["GONE"] - marks["CLOSE"]}


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((line for line in f if line.startswith("State:")), "").lower()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--xvfb", action="store_true", help="run under xvfb-run")
    parser.add_argument("--train", type=int, default=0, metavar="EPOCHS")
    options = parser.parse_args()
    if options.xvfb and shutil.which("xvfb-run") is None:
        raise SystemExit("xvfb-run is not installed")
    what = (f"{'Xvfb 1366×768' if options.xvfb else 'offscreen'}, "
            f"{f'after training {options.train} epochs' if options.train else 'idle'}")
    print(f"quitting ({what}; median of {options.repeats}, min–max):")
    for label, fast in (("quick exit (default)", "1"), ("Python's teardown", "0")):
        home = tempfile.mkdtemp(prefix="biasviz-quit-")
        env = dict(os.environ, XDG_CONFIG_HOME=home, HOME=home, BIASVIZ_FAST_EXIT=fast,
                   QT_QPA_PLATFORM="xcb" if options.xvfb else "offscreen")
        runs = [one_run(env, options.train, options.xvfb)
                for _ in range(options.repeats + 1)][1:]  # the first only warms the caches
        written = [p.name for p in Path(home).rglob("*.conf")]
        shutil.rmtree(home, ignore_errors=True)
        print(f"  {label}: settings written: {', '.join(written) or 'NONE'}")
        for key in runs[0]:
            values = [r[key] for r in runs]
            print(f"    {key:30s} {statistics.median(values):6.3f} s  "
                  f"({min(values):.3f}–{max(values):.3f})")


if __name__ == "__main__":
    main()
