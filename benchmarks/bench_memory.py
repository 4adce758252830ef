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

``--peak`` measures something else (issue 14, item 3): the **peak** resident set of the
window with the 60,000-image Fashion-MNIST folder loaded and an MLP (784-64-10, batch 32,
lr 0.1: bench_window's ``mlp60k`` run) training in it; target ≤ 900 MB.  Each repeat is a
fresh process (VmHWM is a high-water mark over a process's whole life: a run measured
after another one in the same process reports the larger of the two), and prints where
the memory goes: the peak of each phase (Python and Qt, the window, the engine's
``import torch``, the dataset, the task and model, training, after training), what
``import torch`` alone costs in a bare process, the anonymous / file-backed split
(/proc/self/smaps_rollup) and the largest mapped files, and the sizes of the big arrays
the session holds.  If training runs in child processes, their VmHWM is sampled while
they live and added: the figure is then the window process **plus** its children.  The
training process is started at start-up, as the app does (``--no-child-at-start``: at the
first Start).  Beside the sum of VmHWM it prints the RSS and the Pss of window + children
read at one moment (the largest such sum), and that Pss with libraries' pages counted
whole (Pss of file-backed pages depends on other programs mapping the same libraries).
``--child-log`` has the child log its memory at each stage (with tracemalloc);
``--trace`` runs tracemalloc in the window (both slower: for finding where memory goes).

    python benchmarks/bench_memory.py                  # 100,000 steps headless, 200 epochs GUI
    python benchmarks/bench_memory.py --steps 1000000 --model mlp
    python benchmarks/bench_memory.py --only gui --gui-epochs 1000
    python benchmarks/bench_memory.py --json           # one JSON object per run on stdout
    python benchmarks/bench_memory.py --peak --repeats 3             # the 60k peak, 1 epoch
    python benchmarks/bench_memory.py --peak --peak-epochs 4 --cycle-tabs   # a longer session
    python benchmarks/bench_memory.py --peak --repeats 1 --child-log --trace  # where it goes
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


# -- the peak with 60k images and an MLP training in the window (--peak) -------------------
FASHION = Path("/usr/share/datasets/fashion-mnist")
TARGET_MB = 900  # issue 14: ≤ 900 MB (decimal megabytes; 858 MiB)


def _status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM and RssFile of a process in KiB (empty if it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:", "RssFile:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux /proc/PID/task/TID/children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def _cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return None


class PeakSampler:
    """Samples VmRSS of this process and of its children every ``interval`` seconds
    (a daemon thread), keeping the highest value seen in each phase, and each child's
    last VmHWM (a child's high-water mark is lost when it exits)."""

    def __init__(self, interval: float = 0.005) -> None:
        import threading

        self.phase = "start"
        self.order: list[str] = ["start"]
        self.peak_kib: dict[str, int] = {}
        self.children_peak_kib: dict[str, int] = {}
        self.children_hwm_kib: dict[int, int] = {}
        self.children_cmd: dict[int, str] = {}
        self._interval = interval
        self._me = os.getpid()
        self._cmd = _cmdline(self._me)
        self._n = 0
        self.together_rss_kib = 0
        self.traces: list | None = None
        if os.environ.get("BENCH_TRACEMALLOC"):
            import tracemalloc

            tracemalloc.start()
            self.traces = []
        self.together_pss_kib = 0
        self.together_alone_kib = 0
        threading.Thread(target=self._run, daemon=True).start()

    def mark(self, phase: str) -> None:
        self.sample()
        if self.traces is not None:  # --trace: what Python allocated in the phase ending
            import tracemalloc

            current, peak = tracemalloc.get_traced_memory()
            top = tracemalloc.take_snapshot().statistics("lineno")[:4]
            self.traces.append((self.phase, current / 2**20, peak / 2**20,
                                [(f"{Path(str(t.traceback[0].filename)).name}:"
                                  f"{t.traceback[0].lineno}", t.size / 2**20) for t in top]))
            tracemalloc.reset_peak()
        self.phase = phase
        self.order.append(phase)

    def sample(self) -> None:
        phase = self.phase
        rss = _status().get("VmRSS", 0)
        self.peak_kib[phase] = max(self.peak_kib.get(phase, 0), rss)
        self._n += 1
        if self._n % 4:  # children: every 4th sample (listing them costs more)
            return
        kids = 0
        for pid in _descendants(self._me):
            cmd = _cmdline(pid)
            if cmd is None or cmd == self._cmd:
                # gone, or forked and not yet running its own program: it still shares
                # this process's pages (a subprocess between fork and exec), which would
                # be counted twice
                continue
            self.children_cmd.setdefault(pid, cmd.replace("\0", " ").strip()[:80])
            st = _status(pid)
            kids += st.get("VmRSS", 0)
            if "VmHWM" in st:
                self.children_hwm_kib[pid] = max(self.children_hwm_kib.get(pid, 0),
                                                 st["VmHWM"])
        self.children_peak_kib[phase] = max(self.children_peak_kib.get(phase, 0), kids)
        if self._n % 16 == 0:  # every 16th (~0.1 s): Pss, which costs a page-table walk
            self.sample_together()

    def sample_together(self) -> None:
        """RSS and Pss of this process and its children read at one moment: the most the
        machine held at once (the sum of VmHWM adds peaks reached at different times)."""
        pids = ["self"] + [pid for pid in _descendants(self._me)
                           if _cmdline(pid) not in (None, self._cmd)]
        rollups = [_rollup(pid) for pid in pids]
        rss = sum(r.get("Rss", 0) for r in rollups)
        pss = sum(r.get("Pss", 0) for r in rollups)
        # Pss of file-backed pages (libraries' code) depends on what else runs: torch's
        # libraries mapped by another Python on the machine halve them here.  This
        # bound counts them whole in each process (as if no other program shared them),
        # anonymous and shared-memory pages as Pss (shared between these processes).
        alone = sum(r.get("Pss_Anon", 0) + r.get("Pss_Shmem", 0)
                    + _status(pid).get("RssFile", 0) for r, pid in zip(rollups, pids, strict=True))
        self.together_rss_kib = max(self.together_rss_kib, rss)
        self.together_pss_kib = max(self.together_pss_kib, pss)
        self.together_alone_kib = max(self.together_alone_kib, alone)

    def _run(self) -> None:
        while True:
            self.sample()
            time.sleep(self._interval)


def _rollup(pid: int | str = "self") -> dict[str, int]:
    """/proc/PID/smaps_rollup in KiB: Rss (shared pages counted whole in every process
    that maps them), Pss (shared pages divided among those processes), Anonymous..."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        pass
    return out


def _smaps_split(pid: int | str = "self") -> dict[str, float]:
    """Resident MiB that is anonymous (heaps, arrays) vs file-backed (code of libraries)."""
    r = _rollup(pid)
    return {k: r[k] / 1024 for k in ("Rss", "Pss", "Anonymous", "Pss_Anon", "Pss_File",
                                     "Pss_Shmem", "Private_Clean", "Shared_Clean") if k in r}


def _largest_mappings(n: int = 6) -> list[tuple[str, float]]:
    """The ``n`` mapped files (or [heap]/[anon]) holding the most resident memory."""
    per: dict[str, int] = {}
    name = "[anon]"
    try:
        with open("/proc/self/smaps", encoding="ascii", errors="replace") as fh:
            for line in fh:
                head = line.split(None, 6)
                if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    name = head[5].strip() if len(head) > 5 else "[anon]"
                elif head[0] == "Rss:":
                    per[name] = per.get(name, 0) + int(head[1])
    except OSError:
        return []
    top = sorted(per.items(), key=lambda kv: -kv[1])[:n]
    return [(Path(k).name if k.startswith("/") else k, v / 1024) for k, v in top]


def import_torch_alone() -> dict[str, float]:
    """VmHWM of a bare Python process after ``import numpy`` and then ``import torch``."""
    code = ("import re\n"
            "def h():\n"
            "    t = open('/proc/self/status').read()\n"
            "    return int(re.search(r'VmHWM:\\s+(\\d+)', t).group(1)) / 1024\n"
            "import numpy\n"
            "a = h()\n"
            "import torch\n"
            "print(a, h(), torch.__version__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return {"numpy_mib": float(out[0]), "numpy_torch_mib": float(out[1]),
            "torch_mib": float(out[1]) - float(out[0]), "torch_version": out[2]}


def run_peak(epochs: int, cycle_tabs: bool, child_at_start: bool = True) -> dict:
    """One measurement (call it in a fresh process): the window, the 60k folder, the
    MLP training for ``epochs``; the peak per phase and where the memory is."""
    sampler = PeakSampler()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sampler.mark("Python, Qt, pyqtgraph")
    import importlib
    import tempfile

    # biasviz.gui first, as in the app: numpy, then PySide6 (and its import hook), then
    # pyqtgraph
    importlib.import_module("biasviz.gui")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from biasviz.core.datasets import Task
    from biasviz.core.spec import ModelKind, ModelSpec, TrainConfig
    from biasviz.gui.main_window import MainWindow

    def spin_until(cond, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there in time")
            time.sleep(0.001)

    sampler.mark("window shown")
    # as bench_window's laptop_window: a laptop-sized window with fresh settings
    settings_file = Path(tempfile.mkdtemp()) / "bench-peak.ini"
    w = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    w.resize(1366, 740)
    w.show()
    for _ in range(10):
        app.processEvents()
    sampler.mark("engine loaded")
    s = w.session
    s.load_engine_now()
    for _ in range(10):
        app.processEvents()
    if child_at_start:
        # as the app does in the background at start-up: the child starts with the
        # bundled sample, and each new task's images travel to it as they come
        sampler.mark("training process started")
        s.start_training_process()
    sampler.mark("60k folder loaded")
    s.load_dataset(str(FASHION))
    spin_until(lambda: not s.loading_dataset, 120)
    for _ in range(10):
        app.processEvents()
    sampler.mark("task + MLP set")
    s.set_task(Task.all_ten())
    s.set_spec(ModelSpec(kind=ModelKind.MLP, n_outputs=10, hidden=64, init="standard"))
    s.set_config(TrainConfig(epochs=epochs, lr=0.1, batch_size=32))
    w._on_settings_changed()
    for _ in range(20):
        app.processEvents()
    # the images' journey to the child (a background job) ends before training starts
    spin_until(lambda: not s._preload_runner.is_running(), 60)
    sampler.mark("training")
    cycler = QTimer()
    if cycle_tabs:  # every view draws at least once while training
        cycler.timeout.connect(
            lambda: w.tabs.setCurrentIndex((w.tabs.currentIndex() + 1) % w.tabs.count()))
        cycler.start(700)
    started = time.perf_counter()
    s.start()
    spin_until(lambda: s.state == "running", 30)
    spin_until(lambda: s.state == "ready", 1200)
    seconds = time.perf_counter() - started
    cycler.stop()
    sampler.mark("after training")
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    sampler.mark("end")
    sampler.sample()
    own_hwm = _status().get("VmHWM", 0) / 1024
    kids_hwm = sum(sampler.children_hwm_kib.values()) / 1024
    child_pid = s._process.pid() if s._process is not None else None
    child_smaps = _smaps_split(child_pid) if child_pid else {}

    model = getattr(s, "model", None)
    arrays: dict[str, float] = {}
    dataset = getattr(model, "dataset", None)
    if dataset is not None:
        arrays["dataset uint8 (train + valid)"] = sum(
            a.nbytes for part in (dataset.train, dataset.valid)
            for a in (part.images, part.labels)) / 2**20
    data = getattr(model, "data", None)
    if data is not None:  # task arrays that are copies, not views of the dataset
        arrays["task data (copies only)"] = sum(
            a.nbytes for a in (data.train_x, data.train_y, data.valid_x, data.valid_y)
            if a.base is None) / 2**20
    valid_xf = getattr(model, "_valid_xf", None)
    arrays["validation images as float32"] = 0.0 if valid_xf is None else valid_xf.nbytes / 2**20
    timeline = getattr(model, "timeline", None)
    if timeline is not None:
        arrays["timeline (budget 64 MB)"] = timeline.nbytes / 2**20
    result = {
        "run": "peak",
        "epochs": epochs,
        "cycle_tabs": cycle_tabs,
        "seconds_training": round(seconds, 2),
        "engine": getattr(getattr(s, "trainer", None), "engine", "?"),
        "vm_hwm_mib": round(own_hwm, 1),
        "children_vm_hwm_mib": round(kids_hwm, 1),
        "children": len(sampler.children_hwm_kib),
        "children_commands": sorted(set(sampler.children_cmd.values())),
        "total_mib": round(own_hwm + kids_hwm, 1),
        "child_at_start": child_at_start,
        "together_rss_mib": round(sampler.together_rss_kib / 1024, 1),
        "together_pss_mib": round(sampler.together_pss_kib / 1024, 1),
        "together_pss_alone_mib": round(sampler.together_alone_kib / 1024, 1),
        "child_smaps_mib": {k: round(v, 1) for k, v in child_smaps.items()},
        "traces": sampler.traces or [],
        "phases": [(p, round(sampler.peak_kib.get(p, 0) / 1024, 1),
                    round(sampler.children_peak_kib.get(p, 0) / 1024, 1))
                   for p in sampler.order[1:]],
        "smaps_mib": {k: round(v, 1) for k, v in _smaps_split().items()},
        "largest_mappings_mib": [(k, round(v, 1)) for k, v in _largest_mappings()],
        "arrays_mib": {k: round(v, 1) for k, v in arrays.items()},
    }
    w.close()
    return result


def print_peak(r: dict) -> None:
    total_mb = r["total_mib"] * 2**20 / 1e6
    who = "the window process" if not r["children"] else (
        f"the window process + its {r['children']} child process(es), sum of VmHWM")
    print(f"peak: {r['total_mib']:.0f} MiB = {total_mb:.0f} MB ({who}; target ≤ {TARGET_MB} MB)"
          f"  [engine {r['engine']}, {r['epochs']} epoch(s) in {r['seconds_training']:.1f} s"
          f"{', tabs cycled' if r['cycle_tabs'] else ''}]")
    if r["children"]:
        print("  child processes: " + "; ".join(r["children_commands"]))
    print(f"  {'phase':32s} {'peak RSS MiB':>12s} {'+ children':>11s}")
    for phase, mib, kids in r["phases"]:
        print(f"  {phase:32s} {mib:12.0f} {kids:11.0f}")
    print(f"  at one moment (sampled every ~0.1 s), window + child: RSS at most "
          f"{r['together_rss_mib']:.0f} MiB, Pss at most {r['together_pss_mib']:.0f} MiB "
          "(Pss divides shared pages among the processes that map them, other programs "
          f"too), {r['together_pss_alone_mib']:.0f} MiB with libraries counted whole")
    for who, sm in (("window", r["smaps_mib"]), ("child", r.get("child_smaps_mib") or {})):
        if sm:
            print(f"  {who} at the end: RSS {sm.get('Rss', 0):.0f} MiB = anonymous "
                  f"{sm.get('Anonymous', 0):.0f} + file-backed or shared "
                  f"{sm.get('Rss', 0) - sm.get('Anonymous', 0):.0f}; Pss "
                  f"{sm.get('Pss', 0):.0f} (anon {sm.get('Pss_Anon', 0):.0f}, file "
                  f"{sm.get('Pss_File', 0):.0f}, shmem {sm.get('Pss_Shmem', 0):.0f})")
    for phase, current, peak, top in r.get("traces", []):
        print(f"  traced {phase:30s} now {current:6.1f} MiB, phase peak {peak:6.1f}: "
              + ", ".join(f"{where} {mib:.1f}" for where, mib in top))
    for line in r.get("child_log", []):
        top = ", ".join(f"{where} {kib / 1024:.1f}" for where, kib in line["traced_top"][:3])
        print(f"  child {line['stage']:14s} VmRSS {line.get('VmRSS_kib', 0) / 1024:5.0f} "
              f"VmHWM {line.get('VmHWM_kib', 0) / 1024:5.0f} anon "
              f"{line.get('Anonymous_kib', 0) / 1024:5.0f} MiB; Python objects "
              f"{line['traced_kib'] / 1024:.1f} MiB (peak since last "
              f"{line['traced_peak_kib'] / 1024:.1f}): {top}")
    print("  largest mappings: " + ", ".join(f"{k} {v:.0f}" for k, v in r["largest_mappings_mib"]))
    print("  arrays the session holds (MiB): " + ", ".join(
        f"{k} {v:.1f}" for k, v in r["arrays_mib"].items()))


def main_peak(repeats: int, epochs: int, cycle_tabs: bool, as_json: bool,
              extra: tuple[str, ...] = ()) -> int:
    if not FASHION.is_dir():
        print(f"skipping --peak: {FASHION} missing (apt-get install dataset-fashion-mnist)")
        return 0
    torch_alone = import_torch_alone()
    results = []
    for _ in range(repeats):  # a fresh process each: VmHWM never goes down
        cmd = [sys.executable, __file__, "--only", "peak", "--peak-epochs", str(epochs),
               "--json", *extra] + (["--cycle-tabs"] if cycle_tabs else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    totals = sorted(r["total_mib"] for r in results)
    pss = sorted(r["together_pss_mib"] for r in results)
    alone = sorted(r["together_pss_alone_mib"] for r in results)
    summary_ = {"repeats": repeats, "epochs": epochs, "cycle_tabs": cycle_tabs,
                "peak_mib_min": totals[0], "peak_mib_median": totals[len(totals) // 2],
                "peak_mib_max": totals[-1], "target_mb": TARGET_MB,
                "pss_together_mib_min": pss[0], "pss_together_mib_max": pss[-1],
                "pss_alone_together_mib_min": alone[0],
                "pss_alone_together_mib_max": alone[-1],
                "import_torch_alone": torch_alone, "runs": results}
    if as_json:
        print(json.dumps(summary_))
        return 0
    print(f"import torch alone ({torch_alone['torch_version']}): "
          f"{torch_alone['torch_mib']:.0f} MiB on top of Python + numpy "
          f"({torch_alone['numpy_mib']:.0f} MiB)")
    for r in results:
        print_peak(r)
    print(f"peak over {repeats} fresh process(es), sum of VmHWM (window + child): min "
          f"{totals[0]:.0f}, median {totals[len(totals) // 2]:.0f}, max {totals[-1]:.0f} MiB "
          f"(max {totals[-1] * 2**20 / 1e6:.0f} MB; target ≤ {TARGET_MB} MB)")
    print(f"  most Pss held at one moment (window + child): min {pss[0]:.0f}, max "
          f"{pss[-1]:.0f} MiB (max {pss[-1] * 2**20 / 1e6:.0f} MB); with libraries "
          f"counted whole (no other program sharing them): min {alone[0]:.0f}, max "
          f"{alone[-1]:.0f} MiB (max {alone[-1] * 2**20 / 1e6:.0f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="headless steps")
    parser.add_argument("--gui-epochs", type=int, default=200, help="GUI epochs (100 steps each)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--model", choices=("single", "mlp", "cnn"), default="single")
    parser.add_argument("--only", choices=("headless", "gui", "peak"))
    parser.add_argument("--json", action="store_true", help="print only JSON results")
    parser.add_argument("--peak", action="store_true",
                        help="peak RSS with the 60k Fashion folder and an MLP training")
    parser.add_argument("--repeats", type=int, default=3, help="--peak: fresh processes")
    parser.add_argument("--peak-epochs", type=int, default=1, help="--peak: epochs trained")
    parser.add_argument("--cycle-tabs", action="store_true",
                        help="--peak: switch tabs while training (every view draws)")
    parser.add_argument("--no-child-at-start", action="store_true",
                        help="--peak: start the training process at the first Start, not "
                             "at start-up as the app does")
    parser.add_argument("--trace", action="store_true",
                        help="--peak: tracemalloc in the window (slower; diagnosis only)")
    parser.add_argument("--child-log", action="store_true",
                        help="--peak: the child logs its memory at each stage, with "
                             "tracemalloc (slower, and tracing costs memory: diagnosis only)")
    ns = parser.parse_args(argv)
    if ns.peak:
        extra = tuple(flag for flag, on in (("--no-child-at-start", ns.no_child_at_start),
                                            ("--child-log", ns.child_log),
                                            ("--trace", ns.trace)) if on)
        return main_peak(ns.repeats, ns.peak_epochs, ns.cycle_tabs, ns.json, extra)
    if ns.only == "peak":
        log = None
        if ns.child_log:
            import tempfile

            from biasviz.core.train_process import ENV_MEMLOG

            log = Path(tempfile.mkdtemp()) / "child-memory.jsonl"
            os.environ[ENV_MEMLOG] = str(log)
        if ns.trace:
            os.environ["BENCH_TRACEMALLOC"] = "1"
        result = run_peak(ns.peak_epochs, ns.cycle_tabs, not ns.no_child_at_start)
        if log is not None and log.exists():
            result["child_log"] = [json.loads(x) for x in log.read_text().splitlines()]
        print(json.dumps(result) if ns.json else result)
        return 0
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
