"""What a user feels while the window trains: missed frames, training speed in the window
next to the same run headless, peak memory, and start-up time.

    python benchmarks/bench_window.py                 # all runs, offscreen
    DISPLAY=:55 QT_QPA_PLATFORM=xcb python benchmarks/bench_window.py   # a real X server
    python benchmarks/bench_window.py --run chapter --repeats 3

Runs (issue 14's):

* ``chapter``: the fastai chapter's neuron on the bundled sample, 3 vs 7, 245 epochs
  (the chapter's 980 steps), full speed: it lasts ~0.15 s headless, so the run's start
  (the order to the training process, its first report) and its end (the last redraw)
  weigh on its rate;
* ``chapter10x``: the same for 2,450 epochs (~1.5 s): the rate once training goes;
* ``ten20``: issue 10's example, ten classes on the sample (the ten-neuron linear model,
  its standard recipe), 20 epochs;
* ``mlp60k``: MLP 784-64-10, ReLU, cross-entropy, SGD lr 0.1, batch 32, one epoch of the
  60,000-image Fashion-MNIST folder (/usr/share/datasets/fashion-mnist).

For each: a 10 ms QTimer on the GUI thread records the gaps between its ticks while the
window trains and for 0.4 s after (the last redraw, which with many validation images
comes from the background after the end; a gap over 33 ms is a missed frame at 30 fps);
throughput = training
images per second of wall time from Start to the end of the run ("ready"; the final views
follow in the next turn, or from the background with many validation images: "final
views … after the end" says when), in the window and for
the same run iterated headless in this process (ratio = window / headless; the runs
alternate); "steal" is the share of the machine's CPU time its hypervisor gave to other
guests during the window's run (/proc/stat), which no code here can win back; "training
loop alone" uses the engine's own clock (EpochMetrics.elapsed: the time inside the
training loop, without the start and the end of the run), which shows
what the window's drawing costs the training thread while it runs.  Peak RSS is the window process's VmHWM (each repeat runs in a fresh process), and the
training process' beside it.  Start-up: process start → window shown,
``biasviz --report-startup``, median of 5.

Not part of the test suite: figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FASHION = Path("/usr/share/datasets/fashion-mnist")
RUNS = ("chapter", "chapter10x", "ten20", "mlp60k")
TAIL_MS = 400  # the 10 ms timer's watch goes on this long after a run's end


def vm_hwm_mib(status: str = "/proc/self/status") -> float:
    text = Path(status).read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024


def cpu_times() -> list[int]:
    """The machine's CPU time counters (/proc/stat's first line: user … steal), in ticks;
    [] where there is none."""
    try:
        with open("/proc/stat") as f:
            return [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return []


def steal_share(before: list[int], after: list[int]) -> float | None:
    """The share of the machine's CPU time the hypervisor gave to other guests between
    two :func:`cpu_times` (a virtual machine's "steal"): a GUI turn that needs 13 ms of
    CPU can take 35-45 ms while the vCPU waits; None where it is not counted."""
    if len(before) < 8 or len(after) < 8:
        return None
    total = sum(after) - sum(before)
    return (after[7] - before[7]) / total if total > 0 else None


def thread_cpu(pid: int | str = "self") -> dict[str, float]:
    """CPU seconds (user + system) used so far by each thread of process ``pid``, by the
    thread's name (threads of one name summed); {} where /proc cannot tell."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_shares(before: dict[str, float], after: dict[str, float], wall: float) -> dict:
    """Each thread's CPU time between two :func:`thread_cpu` readings, as a share of the
    wall time ``wall`` (1.0 = a whole core), the busiest first; threads under 2 % left out."""
    shares = {name: (after[name] - before.get(name, 0.0)) / wall for name in after}
    return dict(sorted(((n, v) for n, v in shares.items() if v >= 0.02),
                       key=lambda item: -item[1]))


def run_settings(name: str):
    from biasviz.core.datasets import Task
    from biasviz.core.spec import ModelKind, ModelSpec, TrainConfig

    if name == "chapter":
        return "sample", Task.pair(3, 7), ModelSpec(), TrainConfig(epochs=245)
    if name == "chapter10x":  # the same, ten times as long: ~1.4 s, a rate more than a start
        return "sample", Task.pair(3, 7), ModelSpec(), TrainConfig(epochs=2450)
    if name == "ten20":  # issue 10's own example: ten classes on the sample, 20 epochs,
        # the ten-neuron linear model with its standard recipe (what the window sets up)
        from biasviz.core.recipes import STANDARD_TEN_RECIPE, apply_recipe

        spec, config = apply_recipe(ModelSpec(kind=ModelKind.LINEAR, n_outputs=10),
                                    TrainConfig(), STANDARD_TEN_RECIPE)
        return "sample", Task.all_ten(), spec, replace(config, epochs=20)
    spec = ModelSpec(kind=ModelKind.MLP, n_outputs=10, hidden=64, init="standard")
    return str(FASHION), Task.all_ten(), spec, TrainConfig(epochs=1, lr=0.1, batch_size=32)


def headless(name: str) -> dict:
    from biasviz.core.datasets import load_dataset, load_sample, make_task_data
    from biasviz.core.train_loop import make_trainer

    source, task, spec, config = run_settings(name)
    dataset = load_sample() if source == "sample" else load_dataset(source)
    data = make_task_data(dataset, task)
    trainer = make_trainer(spec, data, config)  # the window's trainer
    started = time.perf_counter()
    last = None
    train_s = None
    for event in trainer.run():
        last = event
        if hasattr(event, "elapsed"):
            train_s = event.elapsed
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "samples_per_s": data.n_train * config.epochs / elapsed,
            "train_samples_per_s": data.n_train * config.epochs / train_s,
            "end": str(getattr(last, "message", ""))}


def laptop_window(tag: str):
    """A main window at a laptop's size, with fresh settings and the engine loaded."""
    from PySide6.QtCore import QSettings

    from biasviz.gui.main_window import MainWindow

    settings = QSettings(f"/tmp/bench-{tag}-{os.getpid()}.ini", QSettings.Format.IniFormat)
    settings.clear()
    w = MainWindow(settings=settings)
    # as the app does (biasviz.gui.app): without it, automatic collections ran in the
    # window's worker threads and one held the GIL ~80 ms (a gap the app never has)
    from biasviz.gui.app import collect_on_gui_thread

    w._garbage_collector = collect_on_gui_thread()
    w.resize(1366, 740)
    w.show()
    w.session.load_engine_now()
    w.session.start_training_process()  # as the app does in the background at start-up
    return w


def in_window(name: str) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    source, task, spec, config = run_settings(name)
    w = laptop_window("window")
    s = w.session

    def spin_until(cond, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            if time.monotonic() > end:
                raise TimeoutError(name)
            time.sleep(0.001)

    if source != "sample":
        s.load_dataset(source)
        spin_until(lambda: not s.loading_dataset, 120)
    s.set_task(task)
    s.set_spec(spec)
    s.set_config(config)
    w._on_settings_changed()
    # Half a second idle in the event loop before Start, as before a learner's click: what
    # the window does between runs (drawing the next run's batch orders) is done.
    idle = QEventLoop()
    QTimer.singleShot(500, idle.quit)
    idle.exec()

    gaps: list[float] = []
    clock = QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(10)
    last_tick = [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last_tick[0])
        last_tick[0] = now

    ticker.timeout.connect(tick)
    frames_before = w.frames_drawn
    w.frame_seconds.clear()
    clock.start()
    ticker.start()
    # The run goes on in the application's own event loop (as under app.exec()), which
    # sleeps between events; a processEvents() polling loop here would itself take a
    # share of the core the window has.
    loop = QEventLoop()
    ended: list[float] = []

    def on_state(state: str) -> None:
        if state == "ready" and not ended:
            ended.append(time.perf_counter())
            QTimer.singleShot(0, loop.quit)  # after the other handlers of the end

    s.stateChanged.connect(on_state)
    errors: list[str] = []  # a failed run would "end" at once, at an absurd rate
    s.errorOccurred.connect(lambda title, message: errors.append(f"{title}: {message}"))
    # The run's final views come in the turn after "ready" (or from the background, with
    # many validation images): when, for the record.
    final_at: list[float] = []
    show_final = w._show_final

    def final_views() -> None:
        show_final()
        if ended and not final_at:
            final_at.append(time.perf_counter())

    w._show_final = final_views
    QTimer.singleShot(600_000, loop.quit)  # never hang a benchmark
    cpu_before = cpu_times()
    child_pid = s.start_training_process()
    gui_before = thread_cpu()
    child_before = thread_cpu(child_pid) if child_pid else {}
    started = time.perf_counter()
    s.start()
    loop.exec()
    if not ended:
        raise TimeoutError(name)
    if errors or s.history.n_epochs != config.epochs:
        raise RuntimeError(f"the {name} run in the window did not finish its "
                           f"{config.epochs} epochs ({s.history.n_epochs} done): "
                           + ("; ".join(errors) or "no error shown"))
    elapsed = time.perf_counter() - started  # the end's redraw included, as before
    gui_cpu = cpu_shares(gui_before, thread_cpu(), elapsed)
    child_cpu = cpu_shares(child_before, thread_cpu(child_pid), elapsed) if child_pid else {}
    s.stateChanged.disconnect(on_state)
    # The ticks go on a little after the end: with many validation images the last
    # numbers come from the background and every view changes once more (a gap there
    # is one the learner sees too).
    tail = QEventLoop()
    QTimer.singleShot(TAIL_MS, tail.quit)
    tail.exec()
    ticker.stop()
    steal = steal_share(cpu_before, cpu_times())
    for _ in range(10):
        app.processEvents()
    frames = w.frames_drawn - frames_before
    child = s.start_training_process()
    child_mib = vm_hwm_mib(f"/proc/{child}/status") if child else 0.0
    n_train = s.data.n_train
    last_epoch = s.history.last_epoch
    train_s = getattr(last_epoch, "elapsed", None) or elapsed
    w.close()
    gaps_sorted = sorted(gaps) or [0.0]
    p99 = gaps_sorted[min(len(gaps_sorted) - 1, int(0.99 * len(gaps_sorted)))]
    return {
        "seconds": elapsed,
        "samples_per_s": n_train * config.epochs / elapsed,
        "train_samples_per_s": n_train * config.epochs / train_s,
        "ticks": len(gaps),
        "ticks_expected": int((elapsed + TAIL_MS / 1000) / 0.010),
        "longest_gap_ms": max(gaps_sorted),
        "final_views_ms": 1000 * (final_at[0] - ended[0]) if final_at else None,
        "p99_gap_ms": p99,
        "frames_drawn": frames,
        "longest_frame_ms": 1000 * max(w.frame_seconds, default=0.0),
        "peak_rss_mib": vm_hwm_mib(),
        "child_peak_rss_mib": child_mib,
        "platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "steal": steal,
        "gui_cpu": gui_cpu,
        "child_cpu": child_cpu,
    }


def interactions(repeats: int = 40) -> dict:
    """Issue 10's two latencies, median of ``repeats``: the bias slider → the decision
    view updated, on Fashion-MNIST's 10,000 validation images (Pullover vs Coat: 2,000 of
    them; the ten-class neuron's biases: all 10,000); a canvas stroke → the prediction
    (the model then current: the Pullover-vs-Coat neuron with Fashion, else the
    chapter's), and → the window painted with it."""
    from PySide6.QtCore import QEventLoop, QPointF, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from biasviz.core.datasets import Task

    w = laptop_window("inter")
    s = w.session
    out: dict = {}
    if FASHION.is_dir():
        s.load_dataset(str(FASHION))
        while s.loading_dataset:
            app.processEvents()
            time.sleep(0.005)
        s.set_task(Task.all_ten())  # the linear model: ten biases over 10,000 images
        for _ in range(10):
            app.processEvents()
        def median_ms(edit) -> float:
            """One user edit ``edit(i)`` and the redraw it causes, median of repeats."""
            times = []
            for i in range(repeats):
                t0 = time.perf_counter()
                edit(i)
                app.processEvents()
                times.append(time.perf_counter() - t0)
            return 1000 * statistics.median(times)

        spins = w.decision_panel.bias_spins
        out["bias_edit_to_decision_ms_10k"] = median_ms(
            lambda i: spins[i % 10].setValue(spins[i % 10].value() + 0.01))
        s.set_task(Task.pair(2, 4))
        for _ in range(10):
            app.processEvents()
        slider = w.decision_panel.bias_slider
        out["bias_slider_to_decision_ms_2k"] = median_ms(
            lambda i: slider.setValue(slider.value() + (1 if i % 2 else -1)))
    w.tabs.setCurrentWidget(w.draw_panel)
    canvas = w.draw_panel.canvas
    got: list[float] = []
    painted: list[float] = []
    waiting = QEventLoop()

    def predicted(_p) -> None:
        got.append(time.perf_counter())
        # a 0-ms timer fires after the posted repaint: the answer is on the screen
        QTimer.singleShot(0, on_screen)

    def on_screen() -> None:
        painted.append(time.perf_counter())
        waiting.quit()

    w.draw_panel.predicted.connect(predicted)
    timeout = QTimer(singleShot=True, interval=2000)
    timeout.timeout.connect(waiting.quit)
    times, screen_times = [], []
    for i in range(repeats):
        canvas.clear()
        while w.draw_panel.is_busy():
            app.processEvents()
        app.processEvents()
        got.clear()
        painted.clear()
        t0 = time.perf_counter()
        canvas._begin_stroke(QPointF(60 + i % 7, 60))
        canvas._extend_stroke(QPointF(120, 160))
        canvas._end_stroke()
        # Wait in an event loop, as the app does: idle, not spinning (a spinning GUI
        # thread takes the GIL from the worker that computes the prediction).  Only the
        # current drawing's prediction is announced, so the first one is the answer.
        if not painted:
            timeout.start()
            waiting.exec()
            timeout.stop()
        if got:
            times.append(got[-1] - t0)
        if painted:
            screen_times.append(painted[-1] - t0)
    out["stroke_to_prediction_ms"] = 1000 * statistics.median(times) if times else None
    # the same, until the window has painted the stroke and the answer
    out["stroke_to_screen_ms"] = 1000 * statistics.median(screen_times) if screen_times else None
    w.close()
    return out


def startup(repeats: int = 5) -> dict:
    """Process start → window shown, as ``bench_startup.py`` measures it (a warm-up run
    first, then the median of ``repeats``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tempfile

    from bench_startup import measure

    # Bytecode cached as in an installed copy (this machine's PYTHONDONTWRITEBYTECODE=1
    # made every start compile biasviz: ~0.1 s more, and the label said otherwise).
    with tempfile.TemporaryDirectory() as pyc:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": pyc}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        report = measure("start-up, offscreen, bytecode cached", env, repeats)
    return {"median_s": report["median_s"], "runs": report["runs"]}


def one_repeat(name: str, share: float | None = None) -> tuple[dict, dict]:
    """The headless run and the window run, each in a fresh process of its own: a
    process' peak RSS (VmHWM) covers its whole life, so earlier runs would count in a
    later one's; and a headless run after the window's, in its process, ran while the
    window's threads and training process were still ending (0.17-0.40 s for the same
    0.15 s run).  Both start cold, alike."""
    def run(which: str) -> dict:
        extra = [] if share is None else ["--frame-share", str(share)]
        out = subprocess.run([sys.executable, __file__, "--one", name, "--part", which, *extra],
                             capture_output=True, text=True, timeout=1800,
                             env=dict(os.environ))
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(
                f"the {name} {which} run failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        return json.loads(line[len("RESULT "):])

    return run("headless"), run("window")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", choices=[*RUNS, "all"], default="all")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--no-interactions", action="store_true")
    ap.add_argument("--frame-share", type=float, default=None, metavar="S",
                    help="share of the time a process run's frames (and their numbers) may "
                         "take (gui.main_window.PROCESS_RUN_SHARE), to compare")
    ap.add_argument("--one", choices=RUNS, help=argparse.SUPPRESS)
    ap.add_argument("--part", choices=["window", "headless"], default="window",
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:  # one part of a repeat, in this fresh process (see one_repeat)
        if args.frame_share is not None:
            from biasviz.gui import main_window

            main_window.PROCESS_RUN_SHARE = args.frame_share
        result = in_window(args.one) if args.part == "window" else headless(args.one)
        print("RESULT " + json.dumps(result))
        return 0
    runs = list(RUNS) if args.run == "all" else [args.run]
    if "mlp60k" in runs and not FASHION.is_dir():
        print(f"skipping mlp60k: {FASHION} missing (apt-get install dataset-fashion-mnist)")
        runs.remove("mlp60k")
    report: dict = {"load_before": os.getloadavg()[0], "runs": {}}
    for name in runs:
        rows = []
        for _ in range(args.repeats):
            head, win = one_repeat(name, args.frame_share)
            rows.append({"headless": head, "window": win,
                         "ratio": win["samples_per_s"] / head["samples_per_s"],
                         "train_ratio": win["train_samples_per_s"]
                         / head["train_samples_per_s"]})
        report["runs"][name] = rows
    report["interactions"] = {} if args.no_interactions else interactions()
    if not args.no_startup:
        report["startup"] = startup()
    report["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"load average before {report['load_before']:.2f}, after {report['load_after']:.2f}")
    for name, rows in report["runs"].items():
        for row in rows:
            h, w = row["headless"], row["window"]
            print(f"{name:10s} headless {h['samples_per_s']:>10,.0f}/s ({h['seconds']:.2f} s) | "
                  f"window {w['samples_per_s']:>10,.0f}/s ({w['seconds']:.2f} s) | "
                  f"ratio {row['ratio']:.2f} (training loop alone {row['train_ratio']:.2f}) | "
                  f"ticks {w['ticks']}/{w['ticks_expected']} | "
                  f"longest gap {w['longest_gap_ms']:.0f} ms, p99 {w['p99_gap_ms']:.0f} ms | "
                  f"frames {w['frames_drawn']} (longest {w['longest_frame_ms']:.0f} ms) | peak RSS {w['peak_rss_mib']:.0f} MiB "
                  f"+ training process {w['child_peak_rss_mib']:.0f} MiB "
                  f"[{w['platform']}]{_steal_text(w.get('steal'))}"
                  + (f" | final views {w['final_views_ms']:.0f} ms after the end"
                     if w.get("final_views_ms") is not None else ""))
            print(f"{'':10s} CPU while it ran (cores): window {_shares_text(w['gui_cpu'])}; "
                  f"training process {_shares_text(w['child_cpu'])}")
    for name, rows in report["runs"].items():
        if len(rows) > 1:  # short runs on a shared host vary: the medians say more
            def med(values) -> float:
                return statistics.median(values)
            ratios = [r["ratio"] for r in rows]
            loops = [r["train_ratio"] for r in rows]
            gaps = [r["window"]["longest_gap_ms"] for r in rows]
            steals = [r["window"]["steal"] for r in rows if r["window"].get("steal") is not None]
            print(f"{name:10s} median of {len(rows)}: ratio {med(ratios):.2f} "
                  f"({min(ratios):.2f}-{max(ratios):.2f}), loop alone {med(loops):.2f}, "
                  f"longest gap {med(gaps):.0f} ms ({min(gaps):.0f}-{max(gaps):.0f}), "
                  f"runs with ratio >= 0.8: {sum(r >= 0.8 for r in ratios)}/{len(rows)}, "
                  f"gap <= 33 ms: {sum(g <= 33 for g in gaps)}/{len(rows)}"
                  + (f", steal {100 * med(steals):.0f}% ({100 * min(steals):.0f}-"
                     f"{100 * max(steals):.0f})" if steals else ""))
    inter = report["interactions"]
    if inter:
        print("interactions (median): " + ", ".join(
            f"{k} {v:.1f}" for k, v in inter.items() if v is not None))
    if "startup" in report:
        st = report["startup"]
        print(f"start-up (process start → window shown): median {st['median_s']} s of "
              f"{st['runs']}")
    return 0


def _shares_text(shares: dict[str, float]) -> str:
    if not shares:
        return "—"
    total = sum(shares.values())
    return f"{total:.2f} (" + ", ".join(f"{n} {v:.2f}" for n, v in shares.items()) + ")"


def _steal_text(steal: float | None) -> str:
    return "" if steal is None else f" steal {100 * steal:.0f}%"


if __name__ == "__main__":
    raise SystemExit(main())
