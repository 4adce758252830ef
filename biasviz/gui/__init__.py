"""The Qt desktop app: thin widgets, one file each; ``main_window.py`` composes them."""

import gc
import math
import os
import sys
import types

# pyqtgraph keeps its own copies of PySide6's QtCore, QtGui and QtWidgets
# (``pyqtgraph.Qt.QtCore`` …) and fills them at import by reading every name of the
# originals.  PySide6 creates its classes (and their Python enums) lazily, on first
# access, so that copy creates all ~1,500 of them, most never used: about 0.13 s of CPU
# at start-up, 0.06 s of it for classes nobody uses.  Instead, the copies are made here
# as modules that fetch a name from the original the first time it is asked for (and
# keep it: later look-ups cost what they did), and pyqtgraph's copying loop is given no
# names to copy.  If pyqtgraph ever builds its copies differently, the check below
# notices, the attempt is forgotten and pyqtgraph is imported the ordinary way.
_MIRRORED = ("QtCore", "QtGui", "QtWidgets")
_FORWARDED_DUNDERS = frozenset({"__version__", "__version_info__"})  # pyqtgraph reads them


def _lazy_mirror(source: types.ModuleType, name: str) -> types.ModuleType:
    """A module that answers like ``source``, one name at a time."""
    mirror = types.ModuleType(name, source.__doc__)

    def __getattr__(attr: str) -> object:  # noqa: N807 - a module's __getattr__ (PEP 562)
        if attr.startswith("__") and attr not in _FORWARDED_DUNDERS:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        value = getattr(source, attr)
        setattr(mirror, attr, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807 - a module's __dir__ (PEP 562)
        return dir(source)

    mirror.__getattr__ = __getattr__  # type: ignore[method-assign]
    mirror.__dir__ = __dir__  # type: ignore[method-assign]
    mirror._biasviz_lazy_mirror = True  # type: ignore[attr-defined]
    return mirror


def _register_with_pyside_features(packages: tuple[str, ...] = ("pyqtgraph", "biasviz")
                                    ) -> None:
    """Once PySide6 is imported, its import hook reads the source of every module
    imported after it (to note whether it mentions PySide6, for ``from __feature__
    import snake_case``): about 50 ms for pyqtgraph's and biasviz's modules.  Noting
    them beforehand as modules that use PySide6 without features (0: the plain API,
    which is what every module of theirs sees anyway) spares the reading; the walk costs
    5 ms.  Without PySide6's table (another version), nothing is done."""
    import importlib.util

    table = getattr(sys.modules.get("PySide6.support.feature"), "pyside_feature_dict", None)
    if not isinstance(table, dict):
        return
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            parent = os.path.dirname(root)
            for folder, subfolders, files in os.walk(root):
                subfolders[:] = [d for d in subfolders if d.isidentifier()]
                prefix = os.path.relpath(folder, parent).replace(os.sep, ".")
                for name in files:
                    if name.endswith(".py"):
                        stem = name[:-3]
                        table.setdefault(prefix if stem == "__init__" else f"{prefix}.{stem}",
                                         0)


def _check_sources_without_caching() -> None:
    """PySide6's import hook decides whether a newly imported module uses PySide6 with
    ``inspect.getsource``, which keeps every line of the module's file in ``linecache``
    for the rest of the process's life: once torch is imported, ~900 files, 17 MB of
    text, ~35 MiB of the window's memory (issue 14: the window's peak with 60k images).
    The same question is answered here from the file's bytes, nothing kept; a module
    without a ``.py`` file goes to PySide6's own check.  Without that check (another
    version), nothing is done."""
    feature = sys.modules.get("PySide6.support.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if not callable(original) or getattr(original, "_biasviz_uncached", False):
        return

    def uses_pyside(module: types.ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as fh:
                    return b"PySide6" in fh.read()
            except OSError:
                pass
        return bool(original(module))

    uses_pyside._biasviz_uncached = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = uses_pyside  # type: ignore[union-attr]


def _import_pyqtgraph_with_lazy_qt() -> None:
    # numpy before PySide6: once PySide6 is in, every import goes through its
    # ``__feature__`` hook, which reads each new module's source (numpy: ~100 modules,
    # 15 ms of start-up); modules imported before it are never looked at.
    import numpy  # noqa: F401
    import PySide6.QtCore
    import PySide6.QtGui
    import PySide6.QtWidgets

    try:
        _register_with_pyside_features()
        _check_sources_without_caching()
    except Exception:  # noqa: BLE001 - only a saving; the hook then reads the sources
        pass
    sources = (PySide6.QtCore, PySide6.QtGui, PySide6.QtWidgets)
    saved_dirs = {source: source.__dict__.get("__dir__") for source in sources}
    try:
        for source, short in zip(sources, _MIRRORED, strict=True):
            sys.modules[f"pyqtgraph.Qt.{short}"] = _lazy_mirror(source, f"pyqtgraph.Qt.{short}")
            source.__dir__ = list  # type: ignore[method-assign]  # dir(source) is [] for now
        try:
            import pyqtgraph.Qt as pg_qt
        finally:
            for source, saved in saved_dirs.items():
                if saved is None:
                    del source.__dir__
                else:
                    source.__dir__ = saved  # type: ignore[method-assign]
        if not all(getattr(getattr(pg_qt, short), "_biasviz_lazy_mirror", False)
                   for short in _MIRRORED):
            raise ImportError("pyqtgraph made its own Qt modules")
        import pyqtgraph  # noqa: F401 - the rest of it
    except Exception:  # noqa: BLE001 - anything unexpected: the ordinary import
        for name in [n for n in sys.modules if n == "pyqtgraph" or n.startswith("pyqtgraph.")]:
            del sys.modules[name]
        import pyqtgraph  # noqa: F401


def _import_pyqtgraph_without_cuda() -> None:
    """``import pyqtgraph`` loads every widget, and its RawImageWidget tries the CUDA
    Python bindings (installed with torch's CUDA build): about 0.1 s of start-up, for a
    widget the app does not use.  Hide them for that one import; torch and everything
    later import them normally."""
    if "pyqtgraph" in sys.modules or "cuda.bindings" in sys.modules:
        return
    sys.modules["cuda.bindings"] = None  # type: ignore[assignment]  # → ImportError
    # Importing allocates a great deal and frees almost nothing: the cyclic garbage
    # collector would run dozens of times for nothing (~20 ms).  Off for the import,
    # back as it was afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if os.environ.get("PYQTGRAPH_QT_LIB", "PySide6") == "PySide6":
            _import_pyqtgraph_with_lazy_qt()
        else:
            import pyqtgraph  # noqa: F401 - the import is the work
    finally:
        if collecting:
            gc.enable()
        if sys.modules.get("cuda.bindings", 0) is None:
            del sys.modules["cuda.bindings"]


_import_pyqtgraph_without_cuda()
try:  # also when pyqtgraph came in first (the call above then did nothing)
    _check_sources_without_caching()
except Exception:  # noqa: BLE001 - only a saving
    pass


def compact_ticks(values: list[float]) -> list[str] | None:
    """Tick labels for an axis that reaches 10,000 or more, in thousands or millions for
    the whole axis ("0  500k  1M  1.5M"; pyqtgraph wrote "1e+06" from a million on, and a
    run of 3,000 epochs on 60,000 images reaches 5.6 million steps); None below that."""
    if not values or max(abs(v) for v in values) < 10_000:
        return None
    big = max(abs(v) for v in values) >= 1_000_000
    unit, suffix = (1_000_000, "M") if big else (1_000, "k")
    return [f"{round(v / unit, 4):g}{suffix}" if v else "0" for v in values]


def _axes_write_minus_signs() -> None:
    """Every plot's tick labels with the minus sign the rest of the app writes ("−30",
    not "-30"), and large numbers in thousands or millions (:func:`compact_ticks`):
    pyqtgraph makes them in ``AxisItem.tickStrings``, for every axis that is not given
    its ticks."""
    import pyqtgraph as pg

    from biasviz.core.text import MINUS

    plain = pg.AxisItem.tickStrings
    if getattr(plain, "writes_minus_signs", False):
        return

    def tick_strings(self, values, scale, spacing):  # noqa: ANN001 - pyqtgraph's signature
        texts = compact_ticks([v * scale for v in values]) \
            or plain(self, values, scale, spacing)
        return [text.replace("-", MINUS) for text in texts]

    tick_strings.writes_minus_signs = True  # type: ignore[attr-defined]
    pg.AxisItem.tickStrings = tick_strings


_axes_write_minus_signs()


def sparser_interval(interval: float) -> float:
    """The next tick interval up in 1, 2, 5, 10, 20… (2 → 5, 5 → 10, 0.2 → 0.5)."""
    exponent = math.floor(math.log10(interval) + 1e-9)
    base = 10.0 ** exponent
    for step in (2.0, 5.0, 10.0):
        if step * base > interval * (1 + 1e-9):
            return step * base
    return 20.0 * base


def _multiples_within(interval: float, low: float, high: float) -> int:
    """How many multiples of ``interval`` lie in [low, high] (the ticks it would label)."""
    low, high = min(low, high), max(low, high)
    return max(0, math.floor(high / interval + 1e-9) - math.ceil(low / interval - 1e-9) + 1)


def _labelled_interval(major: float, low: float, high: float, per_unit: float,
                       height: float) -> float:
    """The interval between labelled ticks on [low, high] (the part where a label fits
    whole), labels ``height`` pixels tall: the first of 1, 2, 5, 10… × ``major`` whose
    labels stand 1.3 heights apart, as long as two stay in view; where none does (a loss
    axis of 0.02-0.62 in 50 px of large type read "0.5" alone), 3 or 4 times a power of
    ten may (not 2.5: its labels would need one more decimal); else two labels that just
    do not touch; else one label on its own rather than labels on top of each other."""
    need = 1.3 * height
    interval = major
    while interval * per_unit < need:
        wider = sparser_interval(interval)
        if _multiples_within(wider, low, high) < 2:
            break
        interval = wider
    if interval * per_unit >= need:
        return interval
    base = 10.0 ** math.floor(math.log10(interval) + 1e-9)
    wider = [m * base for m in (2, 3, 4, 5, 10, 20, 30, 40, 50, 100) if m * base > interval]
    two = [v for v in wider if _multiples_within(v, low, high) >= 2]
    for enough in (need, 0.85 * height):
        apart = [v for v in two if v * per_unit >= enough]
        if apart:
            return apart[0] if enough == need else apart[-1]
    one = [v for v in wider if v * per_unit >= need and _multiples_within(v, low, high) >= 1]
    return one[0] if one else interval


def _labels_fit_between(axis, low: float, high: float,  # noqa: ANN001 - an AxisItem
                        height: float) -> tuple[float, float]:
    """The values on vertical ``axis`` whose label pyqtgraph draws: one that would stick
    out of the axis' bounding rectangle is left out (labels measured at 0.8 of their
    height, ``AxisItem.generateDrawSpecs``), so 0-1 in 80 px labelled only 0.5."""
    low, high = sorted((low, high))
    bounds = axis.mapRectFromParent(axis.geometry())
    room = axis.boundingRect()
    if bounds.height() <= 0 or high <= low:
        return low, high
    per_unit = bounds.height() / (high - low)
    half = 0.4 * height
    top = high - (room.top() + half - bounds.top()) / per_unit
    bottom = high - (room.bottom() - half - bounds.top()) / per_unit
    return max(low, bottom), min(high, top)  # (ticks are only made within the range)


def _axes_keep_labels_apart() -> None:
    """A short vertical axis labels every 2nd, 5th… value instead of piling its labels up:
    pyqtgraph always gives an axis 2.25 intervals or more, so a histogram's 0-10 images
    at 105 px with present mode's large type read "0 2 4 6 8 10" one on another.  Major
    ticks are kept at least 1.3 label heights apart, as long as two of them stay in view."""
    import pyqtgraph as pg
    from PySide6.QtGui import QFontMetricsF

    plain = pg.AxisItem.tickSpacing
    if getattr(plain, "keeps_labels_apart", False):
        return

    def tick_spacing(self, minVal, maxVal, size):  # noqa: ANN001, N803 - pyqtgraph's
        levels = plain(self, minVal, maxVal, size)
        if (self._tickSpacing is not None or not levels or size <= 0
                or self.orientation not in ("left", "right")):
            return levels
        major = levels[0][0]
        per_unit = size / max(abs(maxVal - minVal), 1e-300)
        height = QFontMetricsF(self.style.get("tickFont") or self.font()).height()
        if major <= 0 or major * per_unit >= 1.3 * height:
            return levels
        low, high = _labels_fit_between(self, minVal, maxVal, height)
        return [(_labelled_interval(major, low, high, per_unit, height), 0.0), *levels[1:2]]

    tick_spacing.keeps_labels_apart = True  # type: ignore[attr-defined]
    pg.AxisItem.tickSpacing = tick_spacing


_axes_keep_labels_apart()
