"""Start-up does not wait for torch; closing during training exits cleanly (code 0, no
"QThread: Destroyed while thread is still running", no hang)."""

import os
import subprocess
import sys
import textwrap

import pytest

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def run_script(code: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def test_first_window_does_not_import_torch(tmp_path):
    out = run_script(f"""
        import sys
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from biasviz.gui.main_window import MainWindow
        w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))
        w.show()
        app.processEvents()
        print("torch loaded:", "torch" in sys.modules)
        print("window visible:", w.isVisible())
    """)
    assert out.returncode == 0, out.stderr
    assert "torch loaded: False" in out.stdout
    assert "window visible: True" in out.stdout



def test_a_first_run_imports_nothing(tmp_path):
    """What a run imports lazily (numpy.ma for np.median) is imported with the engine, in
    the background at start-up: imported during the first run, in the frame's
    lowered-priority thread, it held the import lock and the GIL while the GUI waited."""
    out = run_script(f"""
        import sys, time
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from biasviz.gui.main_window import MainWindow
        from biasviz.core.spec import TrainConfig
        w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))
        w.show()
        w.session.load_engine_now()
        w.session.start_training_process()
        w.session.set_config(TrainConfig(epochs=30))
        for _ in range(20):
            app.processEvents()
        before = set(sys.modules)
        w.session.start()
        deadline = time.monotonic() + 120
        while w.session.state != "ready" and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.002)
        for _ in range(20):
            app.processEvents()
        print("imported:", sorted(set(sys.modules) - before))
        w.session.shutdown()
    """)
    assert out.returncode == 0, out.stderr
    assert "imported: []" in out.stdout, out.stdout

CLOSE_DURING_TRAINING = """
    import sys
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from biasviz.gui.main_window import MainWindow
    w = MainWindow(settings=QSettings(sys.argv[1] if len(sys.argv) > 1 else {settings!r},
                                      QSettings.Format.IniFormat))
    app.aboutToQuit.connect(w.session.shutdown)
    w.show()
    w.session.load_engine_now()
    w.training_panel.epochs_spin.setValue(100000)
    w.session.start()
    def close_when_running():
        if w.session.state == "running" and w.session.snapshot.step > {steps}:
            w.close()
        else:
            QTimer.singleShot(5, close_when_running)
    QTimer.singleShot(0, close_when_running)
    code = app.exec()
    print("thread alive:", w.session.training_thread_alive)
    sys.exit(code)
"""


@pytest.mark.parametrize("steps", [0, 20])
def test_close_during_training_exits_cleanly(tmp_path, steps):
    out = run_script(CLOSE_DURING_TRAINING.format(settings=str(tmp_path / "s.ini"), steps=steps))
    assert out.returncode == 0, out.stderr
    assert "QThread: Destroyed" not in out.stderr
    assert "thread alive: False" in out.stdout
    assert "Traceback" not in out.stderr


def test_run_app_shows_the_window_and_quits(tmp_path):
    shot = tmp_path / "shot.png"
    out = run_script(f"""
        import sys
        from biasviz.gui.app import run_app
        sys.exit(run_app(["--screenshot", {str(shot)!r}, "--report-startup"]))
    """)
    assert out.returncode == 0, out.stderr
    assert "window shown" in out.stdout and "after the process started" in out.stdout
    assert shot.exists() and shot.stat().st_size > 10_000
