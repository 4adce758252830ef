"""Fixtures shared by the GUI tests."""

import pytest


def _shown_window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from biasviz.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown main window with its own settings file and the engine loaded; its
    session (and training process) shut down afterwards."""
    w = _shown_window(qtbot, tmp_path)
    w.session.load_engine_now()
    yield w
    w.session.shutdown()


@pytest.fixture
def window_loading(qtbot, tmp_path):
    """A shown main window as it is before torch is loaded (the engine not imported)."""
    w = _shown_window(qtbot, tmp_path)
    qtbot.waitExposed(w)
    yield w
    w.session.shutdown()


@pytest.fixture
def run_in_xvfb(tmp_path):
    """``run_in_xvfb(script, "1366x768", scale="2")``: run a Qt ``script`` (Python source;
    its argv[1] is a settings file in tmp_path) in a fresh process on a fresh Xvfb screen
    of that size (xcb), and return the JSON object its last line of output prints.
    Skips when no X display can be started here."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb")

    def free_display() -> int:
        for n in range(70, 130):
            if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
                return n
        pytest.skip("no free X display number")

    def run(script: str, size: str, scale: str | None = None) -> dict:
        display = free_display()
        xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{size}x24",
                                 "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not Path(f"/tmp/.X11-unix/X{display}").exists():
                if time.monotonic() > deadline or xvfb.poll() is not None:
                    pytest.skip("Xvfb did not start")
                time.sleep(0.05)
            env = dict(os.environ, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb",
                       QT_SCALE_FACTOR=scale or "1")
            done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.ini")],
                                  capture_output=True, text=True, timeout=120, env=env)
            if done.returncode != 0 and "could not connect to display" in done.stderr.lower():
                pytest.skip("Qt's xcb platform cannot start here")
            assert done.returncode == 0, done.stderr[-3000:]
            return json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            xvfb.terminate()
            xvfb.wait(5)

    return run


@pytest.fixture
def first_window_report(tmp_path):
    """``first_window_report(expr)``: build and show the first window in a fresh
    offscreen process (nothing imported before, as at start-up) and return the JSON value
    of the Python expression ``expr`` there (``w`` is the window, ``sys`` imported)."""
    import json
    import os
    import subprocess
    import sys
    import textwrap

    def run(expr: str):
        code = f"""
            import json, sys
            from PySide6.QtCore import QSettings
            from PySide6.QtWidgets import QApplication
            app = QApplication([])
            from biasviz.gui.main_window import MainWindow
            w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r},
                                              QSettings.Format.IniFormat))
            w.show()
            app.processEvents()
            print(json.dumps({expr}))
            w.session.shutdown()
        """
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    return run


@pytest.fixture(params=["process", "thread"])
def in_thread(request, monkeypatch):
    """Run the test once with training in the training process and once in a thread of
    the window (the CNN's way, or where no process can start); True for the thread."""
    from biasviz.core import train_process

    if request.param == "thread":
        monkeypatch.setenv(train_process.ENV_SWITCH, "0")
    elif not train_process.wanted():
        pytest.skip("the suite runs with BIASVIZ_TRAIN_PROCESS=0: no training process")
    return request.param == "thread"


@pytest.fixture
def draw_panel(qtbot):
    """A shown Draw panel; at the end its prediction jobs are all done."""
    from biasviz.gui.draw_panel import DrawPanel

    p = DrawPanel()
    qtbot.addWidget(p)
    p.resize(1000, 600)
    p.show()
    qtbot.waitExposed(p)
    yield p
    assert p.shutdown(5000)
    assert p._pool.activeThreadCount() == 0  # no job left running
