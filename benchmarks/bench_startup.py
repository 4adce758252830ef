"""Start-up: process start → main window shown (issue 14, item 4; target < 0.6 s).

Runs ``python -m biasviz gui --report-startup --quit-after-show`` a few times in fresh
processes and prints the median time and where it went (the app's own report: Python,
Qt and pyqtgraph imported; the application; the window's modules; building the window;
showing it), and the process's CPU time by then, which another program busy on the
machine does not inflate.  The first run of each setting only warms the caches and is
not counted.

Bytecode: a normal install has every module compiled (pip does it); a checkout
compiles what changed on the first run and caches it.  Where ``PYTHONDONTWRITEBYTECODE``
is set, nothing is cached and every run compiles biasviz's modules again: the default
here keeps the bytecode under a temporary ``PYTHONPYCACHEPREFIX`` (like an install);
``--no-bytecode`` measures the compile-every-time case too.

    python benchmarks/bench_startup.py                 # offscreen, median of 5
    python benchmarks/bench_startup.py --xvfb          # also a real X server (Xvfb)
    python benchmarks/bench_startup.py --no-bytecode --repeats 7
    python benchmarks/bench_startup.py --against /tmp/before --repeats 9

``--against DIR`` times another checkout of the project (``git worktree add DIR REV``, or
``git archive REV | tar -x -C DIR``) in the same run, its starts alternating with this
one's: on a shared machine whose load comes and goes, two runs minutes apart differ by
more than a change saves, alternating starts share the load alike.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOWN = re.compile(r"window shown ([0-9.]+) s after the process started(?: \((.*)\))?")
CPU = re.compile(r"CPU time ([0-9.]+) s")


def one_run(env: dict, root: Path = ROOT) -> tuple[float, dict[str, float], float | None]:
    """One start of the checkout at ``root``: (seconds to the window, phases, CPU time)."""
    env = {**env, "PYTHONPATH": str(root)}  # its biasviz, whatever the venv has installed
    out = subprocess.run(
        [sys.executable, "-m", "biasviz", "gui", "--report-startup", "--quit-after-show"],
        capture_output=True, text=True, timeout=120, env=env, cwd=root,
    )
    match = SHOWN.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"start-up run failed ({out.returncode}): {out.stderr[-800:]}")
    phases: dict[str, float] = {}
    for part in (match.group(2) or "").split("; "):
        name, _, value = part.rpartition(" ")
        if name:
            phases[name] = float(value)
    cpu = CPU.search(out.stdout)
    return float(match.group(1)), phases, float(cpu.group(1)) if cpu else None


def measure(label: str, env: dict, repeats: int) -> dict:
    """``repeats`` starts of this checkout after a warm-up start; prints and returns the
    report (``median_s``, ``runs``, ``phases``, ``cpu_s``; bench_window uses it too)."""
    return measure_alternating(label, env, repeats, {"": ROOT})[""]


def measure_alternating(label: str, env: dict, repeats: int,
                        roots: dict[str, Path]) -> dict[str, dict]:
    """``repeats`` starts of each checkout in ``roots`` (name → directory), alternating,
    after one warm-up start each; prints and returns their reports by name.

    Each checkout starts with settings of its own (``XDG_CONFIG_HOME`` in a temporary
    folder), written by its warm-up start as a learner's second start finds them: the
    settings of whoever runs the benchmark (a saved layout with the help panel shown, say)
    do not change the figure."""
    runs: dict[str, list] = {name: [] for name in roots}
    with tempfile.TemporaryDirectory(prefix="biasviz-settings-") as settings:
        envs = {}
        for i, (name, root) in enumerate(roots.items()):
            envs[name] = {**env, "XDG_CONFIG_HOME": os.path.join(settings, str(i))}
            one_run(envs[name], root)  # warm-up: caches, bytecode where it is kept, settings
        for _ in range(repeats):
            for name, root in roots.items():
                runs[name].append(one_run(envs[name], root))
    reports = {}
    for name, done in runs.items():
        totals = [total for total, _parts, _cpu in done]
        phases = [parts for _total, parts, _cpu in done]
        cpus = [cpu for _total, _parts, cpu in done if cpu is not None]
        names = list(phases[0]) if phases else []
        report: dict[str, Any] = {
            "label": f"{label}{f' [{name}]' if name else ''}",
            "median_s": statistics.median(totals), "runs": totals,
            "phases": {n: statistics.median(p.get(n, 0.0) for p in phases) for n in names},
            "cpu_s": statistics.median(cpus) if cpus else None,
        }
        cpu_text = f"  (CPU time {report['cpu_s']:.2f} s)" if cpus else ""
        print(f"{report['label']:44s} median {report['median_s']:.2f} s{cpu_text}  runs "
              + " ".join(f"{t:.2f}" for t in totals), flush=True)
        if report["phases"]:
            print(" " * 46 + "; ".join(f"{n} {v:.2f}" for n, v in report["phases"].items()))
        reports[name] = report
    return reports


def start_xvfb() -> tuple[subprocess.Popen | None, str]:
    """An Xvfb on a free display at a laptop's size, or (None, "") without one."""
    if shutil.which("Xvfb") is None:
        return None, ""
    for number in range(71, 90):
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1366x768x24"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    return proc, f":{number}"
                time.sleep(0.1)
            proc.terminate()
    return None, ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--xvfb", action="store_true", help="also measure under Xvfb (xcb)")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="also measure with no cached bytecode (compiles every run)")
    ap.add_argument("--against", type=Path, metavar="DIR",
                    help="another checkout to time too, alternating with this one")
    args = ap.parse_args(argv)
    roots = {"": ROOT}
    if args.against is not None:
        if not (args.against / "biasviz" / "__init__.py").is_file():
            ap.error(f"{args.against}: not a checkout of biasviz (no biasviz/__init__.py)")
        roots = {"this checkout": ROOT, f"{args.against}": args.against.resolve()}

    base = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="biasviz-pyc-") as pyc:
        cached = {**base, "PYTHONPYCACHEPREFIX": pyc}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        uncached = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
        uncached.pop("PYTHONPYCACHEPREFIX", None)
        settings = [("offscreen, bytecode cached", {**cached, "QT_QPA_PLATFORM": "offscreen"})]
        if args.no_bytecode:
            settings.append(("offscreen, no bytecode (compiles each run)",
                             {**uncached, "QT_QPA_PLATFORM": "offscreen"}))
        xvfb, display = (None, "")
        if args.xvfb:
            xvfb, display = start_xvfb()
            if display:
                settings.append(("Xvfb 1366×768 (xcb), bytecode cached",
                                 {**cached, "QT_QPA_PLATFORM": "xcb", "DISPLAY": display}))
            else:
                print("no Xvfb: the xcb measurement is left out")
        try:
            print(f"process start → window shown, median of {args.repeats} "
                  f"(load average {os.getloadavg()[0]:.2f}; target < 0.6 s)")
            reports = [measure_alternating(label, env, args.repeats, roots)
                       for label, env in settings]
        finally:
            if xvfb is not None:
                xvfb.terminate()
                xvfb.wait(10)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.against is not None:
        for by_root in reports:
            this, other = by_root["this checkout"], by_root[f"{args.against}"]
            print(f"{this['label']}: {this['median_s'] - other['median_s']:+.3f} s "
                  f"against {args.against}")
    worst = max(r["median_s"] for by_root in reports for name, r in by_root.items()
                if name in ("", "this checkout"))
    print(f"slowest median {worst:.2f} s — {'meets' if worst < 0.6 else 'misses'} < 0.6 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
