"""Peak memory of one hostile file, measured in a fresh process.

Run as ``python peak_subprocess.py KIND FILE [WARM_UP_FILE]`` (KIND: ``params`` or
``image``).  The process imports what the entry point needs, reads a harmless file of
the same kind first (so lazy imports and caches are in the baseline), resets the
kernel's peak-RSS counter (``/proc/self/clear_refs``), reads FILE, and prints one JSON
line: the outcome, the resident memory before, and the peak (``VmHWM`` from
``/proc/self/status``) above it.  A fresh process per file keeps one case's memory from
hiding another's.  Used by tests/reliability/test_hostile_files.py and quoted in
docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _runner(kind: str):
    if kind == "params":
        if os.environ.get("PEAK_IMPORT_TORCH"):
            import torch  # noqa: F401 - its import belongs in the baseline

        from biasviz.core.errors import ParamFileError
        from biasviz.core.paramfiles import import_params

        def run(path: str) -> str:
            try:
                import_params(path)
            except ParamFileError as exc:
                return "refused: " + str(exc)
            return "loaded"

        return run
    from biasviz.core.errors import ImageError
    from biasviz.core.preprocess import preprocess_file

    def run_image(path: str) -> str:
        try:
            result = preprocess_file(path)
        except ImageError as exc:
            return "refused: " + str(exc)
        return "empty" if result.empty else "prediction"

    return run_image


def main(argv: list[str]) -> int:
    kind, path = argv[0], argv[1]
    warm = argv[2] if len(argv) > 2 else None
    run = _runner(kind)
    if warm:
        run(warm)
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # VmHWM starts again from the current RSS
    before = _status_kb("VmRSS")
    outcome = run(path)
    peak = _status_kb("VmHWM")
    print(json.dumps({"outcome": outcome, "rss_before_mib": before / 1024,
                      "peak_growth_mib": max(0, peak - before) / 1024}))
    return 0


def measure(kind: str, path: Path, warm: Path | None = None, torch: bool = False,
            pythonpath: str | None = None, timeout: float = 300) -> dict:
    """Run this script in a fresh interpreter; return its JSON result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath or str(REPO)
    if torch:
        env["PEAK_IMPORT_TORCH"] = "1"
    args = [sys.executable, str(Path(__file__)), kind, str(path)] + ([str(warm)] if warm else [])
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"measuring {path.name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
