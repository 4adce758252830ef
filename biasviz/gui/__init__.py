"""The Qt desktop app: thin widgets, one file each; ``main_window.py`` composes them."""

import sys


def _import_pyqtgraph_without_cuda() -> None:
    """``import pyqtgraph`` loads every widget, and its RawImageWidget tries the CUDA
    Python bindings (installed with torch's CUDA build): about 0.1 s of start-up, for a
    widget the app does not use.  Hide them for that one import; torch and everything
    later import them normally."""
    if "pyqtgraph" in sys.modules or "cuda.bindings" in sys.modules:
        return
    sys.modules["cuda.bindings"] = None  # type: ignore[assignment]  # → ImportError
    try:
        import pyqtgraph  # noqa: F401 - the import is the work
    finally:
        if sys.modules.get("cuda.bindings", 0) is None:
            del sys.modules["cuda.bindings"]


_import_pyqtgraph_without_cuda()
