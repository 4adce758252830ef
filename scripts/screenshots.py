"""Screenshots of the app in the situations the docs show, taken in a real X server.

    python scripts/screenshots.py OUT_DIR [scenario ...]     (needs Xvfb)

Each scenario runs in its own process on its own Xvfb screen (size per scenario) and
saves OUT_DIR/<scenario>.png.  Scenarios: main, main-720 (1280×720), ten-720, fashion-pair-720 (Sneaker vs Ankle
boot), fashion-ten-720, mlp-lr100, saturation, cnn, lesson, present,
present-small, compare, code, scale2.  The README's screenshot is ``main``.
Every lesson of the Lessons menu, after a short training run: lesson-chapter,
lesson-bias, lesson-activation, lesson-saturation, lesson-zero-init, lesson-counting
(1366×768), lesson-bias-720 (1280×720) and lesson-bias-scale2 (2× on 2560×1600); each
also saves <scenario>-scrolled.png with the lesson's panels scrolled to the bottom.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

FASHION = "/usr/share/datasets/fashion-mnist"
SCREENS = {"present": "1920x1080", "scale2": "2560x1600", "lesson-bias-720": "1280x720",
           "main-720": "1280x720", "ten-720": "1280x720", "fashion-pair-720": "1280x720",
           "fashion-ten-720": "1280x720",
           "lesson-bias-scale2": "2560x1600"}
# the lesson scenarios: scenario name → lesson module
LESSONS = {"lesson-chapter": "chapter_lesson", "lesson-bias": "bias_lesson",
           "lesson-activation": "activation_lesson", "lesson-saturation": "saturation_lesson",
           "lesson-zero-init": "zero_init_lesson", "lesson-counting": "counting_lesson",
           "lesson-bias-720": "bias_lesson", "lesson-bias-scale2": "bias_lesson"}
DEFAULT_SCREEN = "1366x768"


def scenario(name: str, out: Path) -> None:
    """Runs inside the Xvfb process: set the window up, train, grab, quit."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from biasviz.core.datasets import Task
    from biasviz.core.spec import ModelSpec, TrainConfig
    from biasviz.gui.main_window import MainWindow

    settings = QSettings(str(out.with_suffix(".ini")), QSettings.Format.IniFormat)
    settings.clear()
    w = MainWindow(settings=settings)
    w.show()
    s = w.session
    s.load_engine_now()

    def spin(cond, timeout=300.0):
        end = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            time.sleep(0.005)
            if time.monotonic() > end:
                raise TimeoutError(name)

    def train(epochs: int) -> None:
        w.training_panel.epochs_spin.setValue(epochs)
        s.start()
        spin(lambda: s.state == "running")
        spin(lambda: s.state == "ready")

    if name in ("main", "main-720", "present", "present-small", "scale2", "code"):
        w.chapter_steps_button.click()
        spin(lambda: s.state == "running")
        spin(lambda: s.state == "ready")
    elif name == "saturation":
        s.load_dataset(FASHION)
        spin(lambda: not s.loading_dataset)
        s.set_task(Task.pair(2, 4))
        train(20)
    elif name == "cnn":
        w._request(task=Task.all_ten())
        w._request(spec=s.spec.__class__(kind="cnn", n_outputs=10,
                                         init=s.spec.init, init_std=s.spec.init_std))
        train(5)
    elif name == "mlp":  # 64 hidden neurons: a grid of labelled tiles
        w._request(task=Task.all_ten())
        w._request(spec=s.spec.__class__(kind="mlp", n_outputs=10, hidden=64,
                                         init="standard", init_std=s.spec.init_std))
        train(3)
    elif name in ("fashion-pair-720", "fashion-ten-720"):  # long class names, short screen
        s.load_dataset(FASHION)
        spin(lambda: not s.loading_dataset)
        w._request(task=Task.pair(7, 9) if name == "fashion-pair-720" else Task.all_ten())
        train(2)
    elif name == "mlp-lr100":  # a silly learning rate: the loss shoots up, log axis
        w._request(task=Task.all_ten())
        w._request(spec=s.spec.__class__(kind="mlp", n_outputs=10, hidden=32,
                                         init="standard", init_std=s.spec.init_std))
        w._request(config=TrainConfig(lr=100.0, epochs=3, batch_size=32))
        train(3)
    elif name == "ten-720":  # the ten-neuron linear model on a short screen
        w._request(task=Task.all_ten())
        train(3)
    elif name == "lesson":
        train(20)
        w.open_lesson("saturation_lesson")
    elif name in LESSONS:
        train(20)
        lesson = w.open_lesson(LESSONS[name])
        for _ in range(60):
            app.processEvents()
            time.sleep(0.01)
        if hasattr(lesson, "flush"):
            lesson.flush()
    elif name == "compare":
        train(20)
        w.pin_run()
        w._request(config=TrainConfig(lr=0.1, epochs=20))
        s.reset()
        train(20)
    if name == "code":
        w.code_dock.show()
    if name in ("present", "present-small"):
        w.presenter.enter()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)

    def grab() -> None:
        w.grab().save(str(out))
        if name in LESSONS:  # and once more with every scroll area of the lesson at its end
            from PySide6.QtWidgets import QScrollArea

            lesson = w.lessons[LESSONS[name]]
            for area in [lesson.parentWidget().parentWidget(),
                         *lesson.findChildren(QScrollArea)]:
                if isinstance(area, QScrollArea):
                    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
            for _ in range(20):
                app.processEvents()
            w.grab().save(str(out.with_name(out.stem + "-scrolled.png")))
        app.quit()

    QTimer.singleShot(600, grab)
    app.exec()
    _ = ModelSpec  # imported for scenarios that build specs


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--inside":
        scenario(argv[1], Path(argv[2]))
        return 0
    out_dir = Path(argv[0] if argv else "docs/screenshots")
    out_dir.mkdir(parents=True, exist_ok=True)
    names = argv[1:] or ["main", "saturation", "cnn", "lesson", "present", "present-small",
                         "compare", "code", "scale2"]
    for i, name in enumerate(names):
        screen = SCREENS.get(name, DEFAULT_SCREEN)
        display = f":{180 + i}"
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{screen}x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        if name in ("scale2", "lesson-bias-scale2"):
            env["QT_SCALE_FACTOR"] = "2"
        try:
            target = (out_dir / f"{name}.png").resolve()
            run = subprocess.run([sys.executable, __file__, "--inside", name, str(target)],
                                 env=env, timeout=600, capture_output=True, text=True)
            ok = run.returncode == 0 and target.exists()
            print(f"{name:14s} {screen:10s} {'ok' if ok else 'FAILED'} {target}")
            if not ok:
                print(run.stderr[-2000:])
        finally:
            xvfb.terminate()
            xvfb.wait(5)
            ini = out_dir / f"{name}.ini"
            if ini.exists():
                ini.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
