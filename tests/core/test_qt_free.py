"""The core never imports Qt, and the light modules never import torch."""

import subprocess
import sys

CORE = ["colormap", "datasets", "decisions", "errors", "history", "idx", "models",
        "paramfiles", "preprocess", "resources", "spec", "training", "evaluation"]

LIGHT = ["colormap", "datasets", "decisions", "errors", "history", "idx", "paramfiles",
         "preprocess", "resources", "spec", "evaluation"]


def _loaded(modules: list[str]) -> set[str]:
    code = (
        "import sys\n"
        + "".join(f"import biasviz.core.{m}\n" for m in modules)
        + "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return set(out.stdout.split())


def test_core_imports_no_qt():
    loaded = _loaded(CORE)
    assert "biasviz" in loaded
    assert not loaded & {"PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6"}


def test_light_core_modules_do_not_import_torch():
    loaded = _loaded(LIGHT)
    assert "numpy" in loaded
    assert "torch" not in loaded and "torchvision" not in loaded
