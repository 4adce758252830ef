"""Import contracts: the core never imports Qt or the GUI (every core module, found with
pkgutil, checked statically and by importing them all); only the engine modules import
torch at module level; and the first window appears without torch."""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import biasviz.core

FORBIDDEN_IN_CORE = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6", "biasviz.gui")
# The only core modules that may import torch when they are imported: the engine.  The
# rest import it inside the functions that need it (or never).
TORCH_AT_IMPORT = {"biasviz.core.models", "biasviz.core.training"}


def core_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(biasviz.core.__path__, "biasviz.core.")
    )


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _source(module: str) -> Path:
    spec = __import__("importlib.util").util.find_spec(module)
    assert spec is not None and spec.origin
    return Path(spec.origin)


def test_discovery_finds_the_core():
    found = core_modules()
    for expected in ("biasviz.core.app_model", "biasviz.core.spec", "biasviz.core.training",
                     "biasviz.core.mailbox"):
        assert expected in found
    assert len(found) >= 20


def test_no_core_module_imports_qt_or_the_gui_anywhere():
    bad = {}
    for module in core_modules():
        names = _imports(_source(module), top_level_only=False)
        hits = {n for n in names if n.split(".")[0] in FORBIDDEN_IN_CORE or
                n.startswith("biasviz.gui")}
        if hits:
            bad[module] = sorted(hits)
    assert not bad, bad


def test_only_the_engine_imports_torch_at_module_level():
    bad = {}
    for module in core_modules():
        if module in TORCH_AT_IMPORT:
            continue
        names = _imports(_source(module), top_level_only=True)
        hits = {n for n in names if n.split(".")[0] in ("torch", "torchvision")}
        if hits:
            bad[module] = sorted(hits)
    assert not bad, bad


def _run(code: str) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_importing_the_whole_core_loads_no_qt():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in core_modules())
        + "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    loaded = set(_run(code).split())
    assert "biasviz" in loaded and "numpy" in loaded
    assert not loaded & {"PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6"}


def test_the_first_window_appears_without_torch(tmp_path):
    code = f"""
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.gui.main_window import MainWindow
w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))
w.show()
app.processEvents()
print("torch" in sys.modules, "torchvision" in sys.modules)
w.close()
"""
    assert _run(code).split() == ["False", "False"]


def test_the_window_trains_saves_and_reopens_without_torch_until_a_cnn(tmp_path):
    """The window loads its engine as the app does (in the background), trains the
    chapter's neuron and an MLP, saves and reopens a session: torch is never imported
    (~650 MB, 2 s).  Choosing the CNN loads it in the background, the model previewed
    meanwhile; then the CNN trains with torch."""
    code = f"""
import sys, time
from dataclasses import replace
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biasviz.gui.main_window import MainWindow
from biasviz.core.spec import ModelKind, ModelSpec, TrainConfig

def wait(cond, what, timeout=120):
    end = time.monotonic() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.01)
        assert time.monotonic() < end, what

w = MainWindow(settings=QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))
w.show()
s = w.session
s.load_engine_in_background()
wait(lambda: s.engine_ready, "engine")
s.set_config(replace(s.config, epochs=3))
s.start()
wait(lambda: s.model.history.n_epochs == 3 and not s.is_running,
     "chapter run")
chapter_acc = s.model.last_accuracy
s.set_spec(ModelSpec(kind=ModelKind.MLP, hidden=16, n_outputs=1))
s.start()
wait(lambda: s.model.trainer.step > 0 and not s.is_running, "mlp run")
path = {str(tmp_path / 'run.biasviz')!r}
assert w.save_session_to(path)
before = s.model.trainer
w.open_session(path)
wait(lambda: s.model.trainer is not before, "reopened")
assert s.model.spec.kind is ModelKind.MLP and s.model.trainer.step > 0
print("torch" in sys.modules, "torchvision" in sys.modules, chapter_acc > 0.5)
s.set_spec(ModelSpec(kind=ModelKind.CNN, channels=4, kernel=3, n_outputs=1))
print(s.engine_ready, s.model.snapshot.spec.kind.value, s.model.state.value)
wait(lambda: s.engine_ready, "torch")
s.start()
wait(lambda: s.model.trainer.step > 0 and not s.is_running, "cnn run", timeout=300)
print("torch" in sys.modules, s.model.trainer.engine)
s.shutdown()
w.close()
"""
    lines = _run(code).split("\n")
    assert lines[0].split() == ["False", "False", "True"]  # no torch, and it learnt
    assert lines[1].split() == ["False", "cnn", "loading"]  # previewed while torch loads
    assert lines[2].split() == ["True", "torch"]
