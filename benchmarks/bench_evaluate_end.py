"""How soon the Evaluate tab shows the last parameters once a run ends.

    python benchmarks/bench_evaluate_end.py            # offscreen
    python benchmarks/bench_evaluate_end.py --repeats 5

With the Evaluate tab shown, the window trains a fast run; the figure is the time from
the run's end (the window's state leaving "running") to the tab showing the evaluation
of the final parameters (its header "after step N (E epochs)").  Runs:

* ``sample``: the chapter's neuron on the bundled sample, 3 vs 7, 30 epochs
  (2,000 validation images);
* ``cnn10k``: the small CNN, ten classes of the Fashion-MNIST folder
  (/usr/share/datasets/fashion-mnist: 10,000 validation images, ~0.5 s an evaluation in
  numpy), one epoch of 60,000 images in batches of 64.

Target (issue 10): ≤ ~0.5 s after the end.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FASHION = Path("/usr/share/datasets/fashion-mnist")


def one_run(name: str) -> float:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from biasviz.core.datasets import Task, load_dataset
    from biasviz.core.spec import ModelKind, ModelSpec, TrainConfig
    from biasviz.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    settings = QSettings(f"/tmp/bench_evaluate_end_{os.getpid()}.ini",
                         QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    w.show()
    s = w.session
    s.load_engine_now()
    if name == "cnn10k":
        s.model.set_dataset(load_dataset(str(FASHION)))
        s.set_task(Task.all_ten())
        s.set_spec(ModelSpec(kind=ModelKind.CNN, n_outputs=10, init="standard"))
        s.set_config(TrainConfig(epochs=1, lr=0.1, batch_size=64))
    else:
        s.set_config(TrainConfig(epochs=30))
    w.tabs.setCurrentIndex(w.tabs.indexOf(w.evaluation_view))
    view = w.evaluation_view

    def pump_until(condition, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            app.processEvents()
            time.sleep(0.001)
            if time.monotonic() > deadline:
                raise TimeoutError(name)

    pump_until(lambda: view.evaluation() is not None)
    s.start()
    pump_until(lambda: s.state == "running")
    pump_until(lambda: s.state != "running")
    ended = time.monotonic()
    snap = s.snapshot
    want = f"after step {snap.step:,} ({snap.epoch:,} epoch{'s' if snap.epoch != 1 else ''})"
    pump_until(lambda: view.moment() == want)
    latency = time.monotonic() - ended
    s.shutdown()
    w.close()
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", choices=("sample", "cnn10k", "all"), default="all")
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args()
    runs = ["sample", "cnn10k"] if ns.run == "all" else [ns.run]
    for name in runs:
        if name == "cnn10k" and not FASHION.is_dir():
            print(f"skipping cnn10k: {FASHION} missing (apt-get install dataset-fashion-mnist)")
            continue
        figures = [one_run(name) for _ in range(ns.repeats)]
        print(f"{name:8s} end → final evaluation shown: median {statistics.median(figures):.3f} s"
              f" (runs: {', '.join(f'{f:.3f}' for f in figures)})")


if __name__ == "__main__":
    main()
