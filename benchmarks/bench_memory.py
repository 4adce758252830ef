"""Memory over a long training run: does the resident set stay flat?

Two runs, each in a fresh process so that one does not inherit the other's memory:

``headless``  ``Trainer.run`` on the bundled sample's 3s and 7s (batches of 8: 100 steps per
              epoch) consumed the way the GUI does: every step goes into bounded plot
              buffers (``BoundedSeries``), a parameter snapshot is taken at the GUI's rate
              (30 per second) and the previous one dropped.
``gui``       the real main window (offscreen unless a display is set) training the same
              task, every view receiving its updates; the tabs are cycled so each view
              draws.

Both print the resident set size (VmRSS, Linux) over time and a summary: RSS after a
warm-up (the first 20% of the run), the largest growth above it, and the plot buffers'
fill.  ``tests/reliability/test_memory.py`` asserts a loose bound on the same numbers.

    python benchmarks/bench_memory.py                  # 100,000 steps headless, 200 epochs GUI
    python benchmarks/bench_memory.py --steps 1000000 --model mlp
    python benchmarks/bench_memory.py --only gui --gui-epochs 1000
    python benchmarks/bench_memory.py --json           # one JSON object per run on stdout
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WARMUP = 0.2
CAPACITY = 4096


def rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not Linux: peak RSS is the best there is (KiB on Linux, B on macOS)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 1024)


def summary(samples: list[tuple[float, int, float]]) -> dict:
    k = max(1, int(len(samples) * WARMUP))
    base = samples[k - 1][2]
    after = [r for _, _, r in samples[k:]] or [base]
    return {
        "rss_start_mb": round(samples[0][2], 1),
        "rss_after_warmup_mb": round(base, 1),
        "rss_end_mb": round(samples[-1][2], 1),
        "max_growth_after_warmup_mb": round(max(after) - base, 1),
    }


def spec_for(model: str):
    from biasviz.core.spec import ModelKind, ModelSpec

    if model == "mlp":
        return ModelSpec(kind=ModelKind.MLP, hidden=64, n_outputs=1)
    if model == "cnn":
        return ModelSpec(kind=ModelKind.CNN, channels=4, kernel=5, n_outputs=1)
    return ModelSpec()


def run_headless(steps: int, model: str, batch: int, quiet: bool) -> dict:
    from biasviz.core.datasets import Task, load_sample, make_task_data
    from biasviz.core.history import BoundedSeries
    from biasviz.core.training import StepMetrics, TrainConfig, Trainer

    data = make_task_data(load_sample(), Task.pair(3, 7))
    trainer = Trainer(spec_for(model), data, TrainConfig(batch_size=batch, lr=0.05))
    epochs = -(-steps // trainer.batches_per_epoch)
    series = [BoundedSeries(CAPACITY) for _ in range(3)]
    samples: list[tuple[float, int, float]] = []
    every = max(1, steps // 40)
    snapshots = 0
    last_snap = 0.0
    started = time.perf_counter()
    if not quiet:
        print(f"headless {model}, batch {batch}: {steps:,} steps ({epochs} epochs)")
        print(f"{'seconds':>8} {'step':>10} {'RSS MiB':>9}")
    for event in trainer.run(epochs):
        if not isinstance(event, StepMetrics):
            continue
        series[0].append(event.step, event.loss)
        series[1].append(event.step, event.loss)
        if event.bias is not None:
            series[2].append(event.step, event.bias)
        now = time.perf_counter()
        if now - last_snap >= 1 / 30:
            trainer.snapshot()
            snapshots += 1
            last_snap = now
        if event.step % every == 0:
            samples.append((now - started, event.step, rss_mb()))
            if not quiet:
                print(f"{now - started:8.1f} {event.step:10,} {samples[-1][2]:9.1f}")
        if event.step >= steps:
            break
    result = {
        "run": "headless",
        "model": model,
        "batch": batch,
        "steps": trainer.step,
        "seconds": round(time.perf_counter() - started, 1),
        "snapshots": snapshots,
        "plot_points": len(series[0]),
        "plot_capacity": CAPACITY,
        **summary(samples),
    }
    return result


def run_gui(epochs: int, model: str, batch: int, quiet: bool) -> dict:
    if "DISPLAY" not in os.environ and "WAYLAND_DISPLAY" not in os.environ:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from biasviz.core.spec import TrainConfig
    from biasviz.gui.main_window import MainWindow

    settings_file = Path(tempfile.mkdtemp()) / "bench.ini"
    w = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    w.show()
    s = w.session
    s.load_engine_now()
    s.set_spec(spec_for(model))
    s.set_config(TrainConfig(epochs=epochs, batch_size=batch, lr=0.05))
    w._on_settings_changed()
    steps = epochs * s.trainer.batches_per_epoch
    samples: list[tuple[float, int, float]] = []
    started = time.perf_counter()
    if not quiet:
        print(f"GUI {model}, batch {batch}: {epochs} epochs = {steps:,} steps")
        print(f"{'seconds':>8} {'step':>10} {'RSS MiB':>9} {'plot pts':>9}")

    def sample() -> None:
        step = s.snapshot.step if s.snapshot is not None else 0
        samples.append((time.perf_counter() - started, step, rss_mb()))
        if not quiet:
            print(f"{samples[-1][0]:8.1f} {step:10,} {samples[-1][2]:9.1f} "
                  f"{len(w.plots.steps):9,}")
        if len(samples) % 4 == 0:
            w.tabs.setCurrentIndex((w.tabs.currentIndex() + 1) % w.tabs.count())
        if s.state == "ready" and s.trainer.epoch >= epochs:
            timer.stop()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(500)
    s.start()
    app.exec()
    result = {
        "run": "gui",
        "model": model,
        "batch": batch,
        "steps": s.trainer.step,
        "seconds": round(time.perf_counter() - started, 1),
        "plot_points": len(w.plots.steps),
        "plot_capacity": w.plots.steps.capacity,
        "plot_stride": w.plots.steps.stride,
        "bias_points": len(w.learning_view.bias),
        "epochs_listed": len(w.plots.epochs),
        **summary(samples),
    }
    w.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="headless steps")
    parser.add_argument("--gui-epochs", type=int, default=200, help="GUI epochs (100 steps each)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--model", choices=("single", "mlp", "cnn"), default="single")
    parser.add_argument("--only", choices=("headless", "gui"))
    parser.add_argument("--json", action="store_true", help="print only JSON results")
    ns = parser.parse_args(argv)
    if ns.only is None:  # each run in its own process
        results = []
        for run in ("headless", "gui"):
            cmd = [sys.executable, __file__, "--only", run, "--steps", str(ns.steps),
                   "--gui-epochs", str(ns.gui_epochs), "--batch", str(ns.batch),
                   "--model", ns.model] + (["--json"] if ns.json else [])
            out = subprocess.run(cmd, capture_output=ns.json, text=True, check=True)
            if ns.json:
                results.append(out.stdout.strip().splitlines()[-1])
        if ns.json:
            print("\n".join(results))
        return 0
    if ns.only == "headless":
        result = run_headless(ns.steps, ns.model, ns.batch, ns.json)
    else:
        result = run_gui(ns.gui_epochs, ns.model, ns.batch, ns.json)
    if ns.json:
        print(json.dumps(result))
    else:
        print("summary: " + ", ".join(f"{k} {v}" for k, v in result.items()))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
