"""Parameter files: save a model's weights and biases, and load them back.

A model travels as a :class:`ModelFile`: a :class:`~biasviz.core.spec.ModelSpec`, a
parameter snapshot (name → numpy array, names as in :mod:`biasviz.core.spec`) and a
metadata dict (dataset, task, class names, training progress...).

=======  ======  ==================================================================
format   import  content
=======  ======  ==================================================================
.npz     yes     one array per parameter, under the spec's names, plus ``metadata``:
                 a JSON string in a 0-d unicode array.  Plain ``np.load(f)`` reads it
                 (no pickles: ``allow_pickle=False`` works).
.pt      yes     a PyTorch ``state_dict`` that loads, strictly, into the equivalent
                 plain torch module (see below).
.json    yes     readable text: ``format``, ``format_version``, ``metadata``, ``spec``
                 and ``params`` (name → ``shape`` and nested ``values``).  Every float
                 reads back as exactly the same float32.
.csv     no      the *first layer only* (:func:`~biasviz.core.spec.first_layer`): one
                 row per neuron (or CNN kernel), header ``neuron,bias,w0,w1,...``.
.png     no      the first layer's weights as pictures, one tile per neuron (or kernel),
                 on a shared blue-white-red scale centred on 0.
=======  ======  ==================================================================

The ``.pt`` layout is the state_dict of the torch module that computes the same thing:

* single neuron, one bias → ``nn.Linear(784, 1)``: ``weight`` (1, 784), ``bias`` (1,)
* single neuron, no bias → ``nn.Linear(784, 1, bias=False)``: ``weight`` only
* single neuron, per-pixel biases → ``nn.Linear(784, 1)`` with ``bias = Σbᵢ``.  The 784
  biases only ever act through their sum, so this neuron gives *identical outputs*;
  a plain torch layer has no place for the separate values, so they are not stored and
  the file imports back as a one-bias neuron.  Use .npz or .json to keep them.
* linear, ten neurons → ``nn.Linear(784, 10)``
* MLP → ``nn.Sequential(nn.Linear(784, H), nn.ReLU(), nn.Linear(H, O))``:
  ``0.weight``, ``0.bias``, ``2.weight``, ``2.bias``
* CNN → ``nn.Sequential(nn.Conv2d(1, C, K), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
  nn.Linear(C*P*P, O))``: ``0.weight``, ``0.bias``, ``4.weight``, ``4.bias``

Import infers the model from those keys and shapes (it also accepts biasviz's own
parameter names, e.g. ``torch.save(trainer.model.state_dict(), f)``).  The metadata
rides along in the state_dict's ``_metadata`` attribute -- the place torch itself keeps
per-module notes, ignored by ``load_state_dict`` for keys that name no module -- under
``"biasviz"``.  Code that rebuilds the dict drops it; import then works from the shapes.

Every export is atomic: the file is written next to the target under a temporary name,
flushed to disk, then renamed over the target; on failure the temporary file is removed
and an existing target is left as it was.  Every import problem (missing or corrupt
file, wrong names or shapes, NaN, oversized arrays, zip bombs, pickles that would run
code) is reported as :class:`~biasviz.core.errors.ParamFileError` naming the file.

This module is Qt-free; torch and Pillow are imported only by the functions that need
them.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

import biasviz
from biasviz.core.errors import ConfigError, ParamFileError
from biasviz.core.spec import (
    N_PIXELS,
    BiasMode,
    ModelKind,
    ModelSpec,
    first_layer,
    validate_params,
)

if TYPE_CHECKING:  # pragma: no cover - only for annotations
    from biasviz.core.datasets import TaskData
    from biasviz.core.spec import Snapshot, TrainConfig
    from biasviz.core.training import Trainer

FORMAT = "biasviz-params"
FORMAT_VERSION = 1

# Limits for reading untrusted files.  The largest real parameter is an MLP's hidden
# layer, 4096 x 784 float32 = 12.8 MB, so these leave a wide margin while refusing files
# that would make the app allocate gigabytes.
MAX_ARRAY_BYTES = 64 * 1024 * 1024  # one array (npz member, tensor, json param)
MAX_FILE_BYTES = 256 * 1024 * 1024  # a whole file, or all members of an archive together
MAX_METADATA_BYTES = 1024 * 1024
# Deflate cannot compress better than about 1032:1; a member claiming more is corrupt or
# crafted.
_MAX_DEFLATE_RATIO = 1100
# Reliability fix (issue 5): zipfile parses the whole central directory into Python
# objects (~0.4 KB per entry) before any member can be checked, and torch's reader keeps
# its own copy: a 51 MB file listing a million entries took 0.4-0.9 GB.  Real .npz and
# .pt files have about ten members, so the directory's size, read from the end record,
# is checked first.
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 1000
# Reliability fix (issue 5): json.loads makes a Python object per number (~32 bytes for a
# float written in 4 bytes, "0.0,"): a 240 MB file of zeros took 3.2 GB.  The largest
# model (MLP 784 → 4096 → 10) has 3,256,330 parameters and exports as 44 MB of JSON, so
# files over these limits are refused before parsing.  Every value but the last of an
# array is followed by a comma, so commas bound the number of values.
MAX_JSON_BYTES = 96 * 1024 * 1024
MAX_JSON_VALUES = 4_000_000

PNG_SCALE = 8  # 28x28 weights → 224x224 tiles
PNG_GAP = 2  # pixels between tiles and around the grid
PNG_MAX_SIDE = 4096  # big hidden layers get smaller tiles so the picture stays sane
PNG_GAP_COLOR = (64, 64, 64)

FORMATS: tuple[tuple[str, str], ...] = (
    (".npz", "NumPy arrays (*.npz)"),
    (".pt", "PyTorch state_dict (*.pt)"),
    (".json", "JSON text (*.json)"),
    (".csv", "CSV table, first layer only (*.csv)"),
    (".png", "PNG picture of the first layer's weights (*.png)"),
)
"""Export formats: (extension, description for a file dialog)."""

IMPORT_FORMATS: tuple[tuple[str, str], ...] = FORMATS[:3]
"""Formats :func:`import_params` reads."""


def dialog_filter(formats: tuple[tuple[str, str], ...] = FORMATS) -> str:
    """The descriptions joined for a Qt file dialog (``"A (*.a);;B (*.b)"``)."""
    return ";;".join(description for _, description in formats)


@dataclass
class ModelFile:
    """A model's description, its parameters and what is known about its training.

    ``metadata`` keys written by :func:`make_metadata`: ``dataset``, ``dataset_key``,
    ``task`` (``"3,7"`` or ``"all"``), ``class_names`` (target order: for two classes the
    first name is the class whose target is 1, i.e. a logit ≥ 0), ``model``,
    ``bias_mode``, ``epochs``, ``step``, ``valid_accuracy``, ``lr``, ``optimizer``,
    ``batch_size``, ``loss``, ``biasviz_version``, ``created``, ``format``,
    ``format_version``.  Unknown keys are kept.
    """

    spec: ModelSpec
    params: dict[str, np.ndarray]
    metadata: dict = field(default_factory=dict)


# -- metadata ---------------------------------------------------------------------------
def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def make_metadata(
    spec: ModelSpec,
    *,
    dataset: str | None = None,
    dataset_key: str | None = None,
    task: str | None = None,
    class_names: tuple[str, ...] | list[str] | None = None,
    epochs: int | None = None,
    step: int | None = None,
    valid_accuracy: float | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    **extra: Any,
) -> dict:
    """A complete metadata dict for a model file (``extra`` keys are added as given)."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "biasviz_version": biasviz.__version__,
        "created": _now(),
        "dataset": dataset,
        "dataset_key": dataset_key,
        "task": task,
        "class_names": list(class_names) if class_names is not None else None,
        "model": spec.describe(),
        "bias_mode": _bias_mode_of(spec),
        "epochs": None if epochs is None else int(epochs),
        "step": None if step is None else int(step),
        "valid_accuracy": None if valid_accuracy is None else float(valid_accuracy),
        "lr": None if lr is None else float(lr),
        "optimizer": optimizer,
    }
    meta.update(extra)
    return _jsonable(meta)


def model_file_from_snapshot(
    snap: Snapshot, data: TaskData, config: TrainConfig, valid_accuracy: float | None = None
) -> ModelFile:
    """A snapshot's parameters with metadata from the data and config it was trained with."""
    meta = make_metadata(
        snap.spec,
        dataset=data.dataset_name,
        dataset_key=data.dataset_key,
        task=data.task.to_text(),
        class_names=data.class_names,
        epochs=snap.epoch,
        step=snap.step,
        valid_accuracy=valid_accuracy,
        lr=config.lr,
        optimizer=config.optimizer.value,
        batch_size=int(config.batch_size),
        loss=config.loss.value if data.task.is_binary else "cross_entropy",
    )
    return ModelFile(snap.spec, snap.params, meta)


def model_file_from_trainer(trainer: Trainer, valid_accuracy: float | None = None) -> ModelFile:
    """The trainer's current parameters with metadata from its data and config.

    ``valid_accuracy`` is recorded as given (e.g. the last epoch's); it is not computed
    here because evaluating would touch the model while another thread may train it.
    """
    return model_file_from_snapshot(trainer.snapshot(), trainer.data, trainer.config,
                                    valid_accuracy)


def _bias_mode_of(spec: ModelSpec) -> str:
    # Only the single neuron has a choice; every other neuron has one bias.
    return spec.bias_mode.value if spec.kind is ModelKind.SINGLE else BiasMode.SCALAR.value


def _jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars, tuples, enums and paths turned into JSON types."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, Enum):
        return _jsonable(obj.value)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None  # JSON has no NaN
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    return str(obj)


def _complete_metadata(model_file: ModelFile) -> dict:
    """The metadata as written: given keys kept, format and model fields made true."""
    meta = _jsonable(dict(model_file.metadata or {}))
    meta.pop("spec", None)  # the spec is stored on its own, from model_file.spec
    meta.setdefault("created", _now())
    meta.setdefault("biasviz_version", biasviz.__version__)
    meta["format"] = FORMAT
    meta["format_version"] = FORMAT_VERSION
    # These describe the parameters in the file, so they must follow the spec.
    meta["model"] = model_file.spec.describe()
    meta["bias_mode"] = _bias_mode_of(model_file.spec)
    return meta


# -- exact float text ---------------------------------------------------------------------
def _float_texts(a: np.ndarray) -> np.ndarray:
    """Decimal text for each value (same shape) that reads back as exactly that float32.

    The shortest float32 decimal ("0.1", not "0.10000000149011612") keeps JSON and CSV
    readable.  Readers parse it as a double and round to float32; that is checked here,
    and any value that would not survive it (none is known) gets the double's own text.
    """
    a32 = np.asarray(a, dtype=np.float32)
    text = a32.astype(str)
    bad = text.astype(np.float64).astype(np.float32) != a32
    if bad.any():
        text = text.astype("<U32")  # room for any double's repr
        text[bad] = [repr(float(v)) for v in a32[bad]]
    return text


def _json_nested(text: np.ndarray) -> str:
    """A JSON array (nested like ``text``) of the number texts."""
    if text.ndim <= 1:
        return "[" + ", ".join(text.reshape(-1).tolist()) + "]"
    return "[" + ", ".join(_json_nested(t) for t in text) + "]"


# -- atomic writes -------------------------------------------------------------------------
def _new_file_mode() -> int:
    """Permissions a plainly created file would get (mkstemp's are 0600)."""
    mask = None
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
    if mask is None:  # no /proc: read the umask by setting it (briefly) and restoring it
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def _explain_os_error(exc: OSError, target: Path) -> str:
    code = exc.errno
    folder = target.parent
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", None):
        return f"not enough disk space to write {target.name} in {folder}"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: cannot write {target.name} in {folder} (read-only folder?)"
    if code == errno.EROFS:
        return f"cannot write {target.name}: {folder} is on a read-only file system"
    if code == errno.EISDIR:
        return f"cannot write {target}: it is a folder"
    if code == errno.ENOENT:
        return f"cannot write {target.name}: the folder {folder} does not exist"
    if code == errno.ENAMETOOLONG:
        return f"cannot write {target.name}: the file name is too long"
    return f"could not write {target}: {exc.strerror or exc}"


def _atomic_write(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file next to ``target``, then rename it over ``target``.

    A reader never sees a half-written file, and a failed export never damages the file
    it would have replaced.
    """
    folder = target.parent
    try:
        # Reliability fix (issue 5): on Python 3.11 is_dir() raises OSError for some
        # paths (ENAMETOOLONG for a name over 255 bytes) instead of returning False.
        target_is_dir, folder_is_dir = target.is_dir(), folder.is_dir()
    except OSError as exc:
        raise ParamFileError(_explain_os_error(exc, target)) from exc
    if target_is_dir:
        raise ParamFileError(f"cannot write {target}: it is a folder")
    if not folder_is_dir:
        raise ParamFileError(f"cannot write {target.name}: the folder {folder} does not exist")
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
    except OSError:
        mode = _new_file_mode()
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # not every file system supports modes
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        _fsync_folder(folder)
    except ParamFileError:
        raise
    except OSError as exc:
        raise ParamFileError(_explain_os_error(exc, target)) from exc
    except Exception as exc:  # a writer (numpy, torch, Pillow) failed
        raise ParamFileError(f"could not write {target.name}: {exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; not possible (nor needed) everywhere.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- export ---------------------------------------------------------------------------------
def export_params(path: str | os.PathLike[str], model_file: ModelFile) -> None:
    """Write ``model_file`` to ``path`` in the format its extension names.

    Parameters
    ----------
    path
        Target file; the extension (.npz, .pt, .json, .csv, .png; any case) picks the
        format.  An existing file is replaced atomically.
    model_file
        The spec, parameters and metadata.  Parameters are checked against the spec
        (names, shapes, finite values) before anything is written.

    Raises
    ------
    ParamFileError
        Unknown extension, parameters that do not fit the spec, or a write failure
        (read-only folder, full disk, path is a folder...).
    """
    target = Path(os.fspath(path))
    suffix = target.suffix.lower()
    writer = _WRITERS.get(suffix)
    if writer is None:
        known = ", ".join(ext for ext, _ in FORMATS)
        raise ParamFileError(
            f"cannot export to {target.name}: unknown file type {suffix or '(none)'!r}; "
            f"choose one of {known}"
        )
    if not isinstance(model_file.spec, ModelSpec):
        raise ParamFileError(f"cannot export {target.name}: no model description")
    try:
        params = validate_params(model_file.params, model_file.spec)
    except ConfigError as exc:
        raise ParamFileError(f"cannot export {target.name}: {exc}") from None
    checked = ModelFile(model_file.spec, params, _complete_metadata(model_file))
    payload = writer(checked)  # built before the temp file exists: fails leave nothing
    _atomic_write(target, payload)


def _write_npz(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    meta = dict(mf.metadata, spec=mf.spec.to_dict())
    arrays: dict[str, np.ndarray] = dict(mf.params)
    arrays["metadata"] = np.array(json.dumps(meta, ensure_ascii=False, allow_nan=False))

    def write(fh: IO[bytes]) -> None:
        np.savez_compressed(fh, **arrays)

    return write


def _torch_state_dict(mf: ModelFile) -> dict[str, np.ndarray]:
    """The parameters under the names of the equivalent plain torch module."""
    p, spec = mf.params, mf.spec
    if spec.kind is ModelKind.SINGLE:
        out = {"weight": p["weights"].reshape(1, N_PIXELS)}
        if spec.bias_mode is BiasMode.SCALAR:
            out["bias"] = p["bias"].reshape(1)
        elif spec.bias_mode is BiasMode.PER_PIXEL:
            # The per-pixel biases act only through their sum: one bias does the same.
            total = np.sum(p["bias"], dtype=np.float64)
            out["bias"] = np.array([total], dtype=np.float32)
        return out
    if spec.kind is ModelKind.LINEAR:
        return {"weight": p["weights"], "bias": p["biases"]}
    if spec.kind is ModelKind.MLP:
        return {
            "0.weight": p["hidden.weights"],
            "0.bias": p["hidden.biases"],
            "2.weight": p["output.weights"],
            "2.bias": p["output.biases"],
        }
    return {
        "0.weight": p["conv.weights"],
        "0.bias": p["conv.biases"],
        "4.weight": p["output.weights"],
        "4.bias": p["output.biases"],
    }


def _write_pt(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    import collections

    import torch

    sd: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict(
        (name, torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).clone())
        for name, a in _torch_state_dict(mf).items()
    )
    meta = dict(mf.metadata, spec=mf.spec.to_dict())
    # torch keeps per-module notes here; "biasviz" names no module, so load_state_dict
    # ignores it.  Only str/dict values: torch.load(weights_only=True) accepts those.
    sd._metadata = {  # type: ignore[attr-defined]
        "biasviz": {"json": json.dumps(meta, ensure_ascii=False, allow_nan=False)}
    }

    def write(fh: IO[bytes]) -> None:
        # Reliability fix (issue 5): torch.save writing straight to the file swallows the
        # OSError of a failed write (disk full) and raises "unexpected pos 64 vs 0"
        # instead.  Serialising in memory first (at most ~13 MB) lets the real write's
        # error, with its errno, reach the user.
        buffer = io.BytesIO()
        torch.save(sd, buffer)
        fh.write(buffer.getbuffer())

    return write


def _json_text(mf: ModelFile) -> str:
    def dumps(obj: Any, indent: int | None = None) -> str:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=indent)

    def indented(obj: Any, pad: str) -> str:
        return dumps(obj, indent=2).replace("\n", "\n" + pad)

    lines = ["{"]
    lines.append(f'  "format": {dumps(FORMAT)},')
    lines.append(f'  "format_version": {FORMAT_VERSION},')
    lines.append(f'  "metadata": {indented(mf.metadata, "  ")},')
    lines.append(f'  "spec": {indented(mf.spec.to_dict(), "  ")},')
    lines.append('  "params": {')
    entries = []
    for name, a in mf.params.items():
        text = _float_texts(a)
        if a.ndim <= 1:
            values = _json_nested(text)
        else:  # one line per neuron / kernel: readable, and diff-friendly
            rows = ",\n        ".join(_json_nested(row) for row in text)
            values = "[\n        " + rows + "\n      ]"
        entries.append(
            f"    {dumps(name)}: {{\n"
            f'      "shape": {dumps(list(a.shape))},\n'
            f'      "values": {values}\n'
            "    }"
        )
    lines.append(",\n".join(entries))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write_json(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    data = _json_text(mf).encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write


def _neuron_labels(mf: ModelFile, n: int) -> list[str]:
    """Row labels: class names for output neurons, indexes for hidden neurons/kernels."""
    names = mf.metadata.get("class_names")
    names = [str(c) for c in names] if isinstance(names, list) else None
    if mf.spec.kind is ModelKind.LINEAR:
        return names if names and len(names) == n else [str(i) for i in range(n)]
    if mf.spec.kind is ModelKind.SINGLE:
        # The single neuron's logit says "the first class": label it with that name.
        return [names[0]] if names else ["0"]
    return [str(i) for i in range(n)]


def _write_csv(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    weights, biases = first_layer(mf.params, mf.spec)
    labels = _neuron_labels(mf, weights.shape[0])
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["neuron", "bias"] + [f"w{i}" for i in range(weights.shape[1])])
    bias_text = _float_texts(biases).tolist()
    weight_text = _float_texts(weights).tolist()
    for label, b, w in zip(labels, bias_text, weight_text, strict=True):
        out.writerow([label, b, *w])
    data = buf.getvalue().encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write


# -- pictures --------------------------------------------------------------------------------
# ColorBrewer's RdBu, reversed: blue for negative, near-white for 0, red for positive.
# A diverging map that stays distinguishable with the common colour-vision deficiencies.
_DIVERGING_ANCHORS = np.array(
    [
        (5, 48, 97),
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
        (103, 0, 31),
    ],
    dtype=np.float64,
)
_LUT_SIZE = 257  # odd, so that entry 128 is exactly 0


def _build_lut() -> np.ndarray:
    t = np.linspace(0.0, 1.0, _LUT_SIZE)
    at = np.linspace(0.0, 1.0, len(_DIVERGING_ANCHORS))
    lut = np.stack([np.interp(t, at, _DIVERGING_ANCHORS[:, c]) for c in range(3)], axis=1)
    return np.rint(lut).astype(np.uint8)


DIVERGING_LUT = _build_lut()
"""(257, 3) uint8 colours from -limit (index 0) through 0 (index 128) to +limit."""


def diverging_rgb(values: np.ndarray, limit: float) -> np.ndarray:
    """Colours (…, 3) uint8 for ``values`` on a blue-white-red scale from -limit to +limit.

    Values beyond ±limit get the end colours; a non-positive limit maps everything to
    the neutral middle colour.
    """
    v = np.asarray(values, dtype=np.float64)
    if not limit > 0:
        t = np.zeros_like(v)
    else:
        t = np.clip(np.nan_to_num(v / limit), -1.0, 1.0)
    idx = np.rint((t + 1.0) * ((_LUT_SIZE - 1) / 2)).astype(np.intp)
    return DIVERGING_LUT[idx]


def _grid_columns(n: int) -> int:
    # About twice as wide as tall: ten classes → 5×2, eight kernels → 4×2, 32 → 8×4.
    return max(1, min(n, math.ceil(math.sqrt(2 * n))))


def png_layout(n_tiles: int, side: int) -> tuple[int, int, int]:
    """Columns, rows and enlargement used for ``n_tiles`` tiles of ``side``×``side`` values.

    Tiles are 8× for 28×28 weights (224 px) and ~224 px for kernels, made smaller (down to
    1×) when the picture would be wider or taller than ``PNG_MAX_SIDE``.
    """
    cols = _grid_columns(n_tiles)
    rows = math.ceil(n_tiles / cols)
    scale = max(1, 28 * PNG_SCALE // side)
    longest = max(cols, rows)
    fit = (PNG_MAX_SIDE - (longest + 1) * PNG_GAP) // (longest * side)
    return cols, rows, max(1, min(scale, fit))


def _weight_picture(mf: ModelFile) -> tuple[np.ndarray, dict]:
    """The RGB grid (h, w, 3) of first-layer weights and how it was drawn."""
    weights, _ = first_layer(mf.params, mf.spec)
    side = mf.spec.kernel if mf.spec.kind is ModelKind.CNN else 28
    tiles = weights.reshape(-1, side, side)
    n = tiles.shape[0]
    cols, rows, scale = png_layout(n, side)
    # One limit for all tiles, so that equal colours mean equal weights across neurons.
    limit = float(np.max(np.abs(tiles))) if tiles.size else 0.0
    tile_px = side * scale
    height = rows * tile_px + (rows + 1) * PNG_GAP
    width = cols * tile_px + (cols + 1) * PNG_GAP
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = PNG_GAP_COLOR
    colours = diverging_rgb(tiles, limit)  # n, side, side, 3
    for i in range(n):
        r, c = divmod(i, cols)
        y = PNG_GAP + r * (tile_px + PNG_GAP)
        x = PNG_GAP + c * (tile_px + PNG_GAP)
        big = np.repeat(np.repeat(colours[i], scale, axis=0), scale, axis=1)  # nearest
        canvas[y : y + tile_px, x : x + tile_px] = big
    info = {
        "color_limit": limit,
        "colors": "blue = -limit, white = 0, red = +limit (shared by all tiles)",
        "tiles": n,
        "columns": cols,
        "rows": rows,
        "tile_pixels": tile_px,
        "scale": scale,
        "gap": PNG_GAP,
        "order": "row by row, neuron 0 top left",
    }
    return canvas, info


def _write_png(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    from PIL import Image, PngImagePlugin

    canvas, drawing = _weight_picture(mf)
    image = Image.fromarray(canvas, mode="RGB")
    png_info = PngImagePlugin.PngInfo()
    envelope = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": mf.metadata,
        "spec": mf.spec.to_dict(),
        "picture": drawing,
    }
    png_info.add_itxt("biasviz", json.dumps(envelope, ensure_ascii=False, allow_nan=False))
    png_info.add_text(
        "Description",
        f"biasviz: first-layer weights of {mf.spec.describe()}; "
        f"blue negative, white 0, red positive, limit ±{drawing['color_limit']:.4g}",
    )

    def write(fh: IO[bytes]) -> None:
        image.save(fh, format="PNG", pnginfo=png_info)

    return write


_WRITERS: dict[str, Callable[[ModelFile], Callable[[IO[bytes]], None]]] = {
    ".npz": _write_npz,
    ".pt": _write_pt,
    ".json": _write_json,
    ".csv": _write_csv,
    ".png": _write_png,
}


# -- import ----------------------------------------------------------------------------------
class _Bad(Exception):
    """A problem with the file being read; the message completes "cannot import NAME: "."""


def import_params(path: str | os.PathLike[str]) -> ModelFile:
    """Read a .npz, .pt or .json parameter file.

    The model is taken from the file's description when there is one, else inferred
    from the parameter names and shapes; the parameters are checked against it and
    returned as float32 arrays in the spec's order.

    Raises
    ------
    ParamFileError
        For every problem (and only this type), with a message naming the file.
    """
    target = Path(os.fspath(path))
    name = target.name or str(target)
    try:
        return _import(target)
    except ParamFileError:
        raise
    except _Bad as exc:
        raise ParamFileError(f"cannot import {name}: {exc}") from exc
    except ConfigError as exc:
        raise ParamFileError(f"cannot import {name}: {exc}") from exc
    except MemoryError as exc:
        raise ParamFileError(f"cannot import {name}: not enough memory to read it") from exc
    except RecursionError as exc:
        raise ParamFileError(f"cannot import {name}: the file is nested too deeply") from exc
    except OSError as exc:
        raise ParamFileError(f"cannot import {name}: {exc.strerror or exc}") from exc
    except Exception as exc:  # the boundary: nothing else may escape
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParamFileError(
            f"cannot import {name}: the file is damaged or not a parameter file ({detail})"
        ) from exc


def _import(target: Path) -> ModelFile:
    suffix = target.suffix.lower()
    readers = {".npz": _read_npz, ".pt": _read_pt, ".json": _read_json}
    if suffix not in readers:
        if suffix in _WRITERS:
            raise _Bad(f"{suffix} files are export-only; import .npz, .pt or .json")
        known = ", ".join(ext for ext, _ in IMPORT_FORMATS)
        raise _Bad(f"unknown file type {suffix or '(none)'!r}; choose one of {known}")
    if not target.exists():
        raise _Bad("file not found")
    if target.is_dir():
        raise _Bad("it is a folder, not a file")
    size = target.stat().st_size
    if size == 0:
        raise _Bad("the file is empty")
    if size > MAX_FILE_BYTES:
        raise _Bad(f"the file is too large ({size / 2**20:.0f} MiB) for a parameter file")
    return readers[suffix](target)


def _finish(spec: ModelSpec, params: Mapping[str, Any], metadata: dict) -> ModelFile:
    # Values beyond float32's range become inf and are reported as such, without warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        checked = validate_params(dict(params), spec)  # ConfigError: wrapped by the caller
    return ModelFile(spec, checked, metadata)


def _parse_metadata(text: str, where: str) -> dict:
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise _Bad(f"its {where} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _Bad(f"its {where} is not a JSON object")
    _check_format(meta)
    return meta


def _check_format(meta: dict) -> None:
    fmt = meta.get("format", FORMAT)
    if fmt != FORMAT:
        raise _Bad(f"it is a {fmt!r} file, not a biasviz parameter file")
    version = meta.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Bad(f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise _Bad(
            f"it was written by a newer biasviz (format version {version}); this version "
            f"reads version {FORMAT_VERSION}"
        )


def _spec_from_metadata(meta: dict) -> ModelSpec | None:
    spec = meta.pop("spec", None)
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise _Bad("its model description ('spec') is not a JSON object")
    return ModelSpec.from_dict(spec)


def _infer_spec(shapes: Mapping[str, tuple[int, ...]]) -> ModelSpec:
    """The model whose parameters have these biasviz names and shapes."""
    names = set(shapes)

    def shape(n: str) -> tuple[int, ...]:
        return tuple(shapes[n])

    if "conv.weights" in names:
        w = shape("conv.weights")
        if len(w) != 4 or w[1] != 1 or w[2] != w[3]:
            raise _Bad(f"conv.weights has shape {w}, expected (channels, 1, K, K)")
        out = shape("output.weights") if "output.weights" in names else (1,)
        return ModelSpec(kind=ModelKind.CNN, channels=w[0], kernel=w[2], n_outputs=_n_out(out))
    if "hidden.weights" in names:
        w = shape("hidden.weights")
        if len(w) != 2:
            raise _Bad(f"hidden.weights has shape {w}, expected (hidden, 784)")
        out = shape("output.weights") if "output.weights" in names else (1,)
        return ModelSpec(kind=ModelKind.MLP, hidden=w[0], n_outputs=_n_out(out))
    if "biases" in names:
        return ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    if "weights" in names:
        if "bias" not in names:
            mode = BiasMode.NONE
        elif shape("bias") in ((N_PIXELS,), (1, N_PIXELS)):
            mode = BiasMode.PER_PIXEL
        else:
            mode = BiasMode.SCALAR
        w = shape("weights")
        if len(w) == 2 and w[0] == 10:
            raise _Bad("a ten-neuron linear layer needs 'biases' (10,) next to 'weights'")
        return ModelSpec(kind=ModelKind.SINGLE, bias_mode=mode)
    found = ", ".join(sorted(names)) or "none"
    raise _Bad(
        f"cannot tell which model these parameters belong to (names: {found}); expected "
        "weights/bias, weights/biases, hidden.*/output.* or conv.*/output.*"
    )


def _n_out(shape: tuple[int, ...]) -> int:
    if len(shape) < 1 or shape[0] not in (1, 10):
        raise _Bad(f"the output layer has shape {shape}: expected 1 or 10 output neurons")
    return int(shape[0])


# .npz ---------------------------------------------------------------------------------------
def _npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype an .npy member declares, read without loading its data."""
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise _Bad(f"{info.filename} uses an unsupported .npy version {version}")
    return tuple(int(s) for s in shape), np.dtype(dtype)


def _check_zip_directory(target: Path) -> None:
    """Refuse a zip whose central directory is too big, before anything parses it."""
    end_record = getattr(zipfile, "_EndRecData", None)  # private, but stable since 2.6
    if end_record is None:  # pragma: no cover - a future Python without it
        return
    with open(target, "rb") as fh:
        end = end_record(fh)
    if end is None:
        raise _Bad("it is not a zip archive; damaged?")
    size, entries = end[zipfile._ECD_SIZE], end[zipfile._ECD_ENTRIES_TOTAL]
    if size > MAX_ZIP_DIRECTORY_BYTES or entries > MAX_ZIP_MEMBERS:
        raise _Bad(
            f"its zip directory lists {entries:,} members in {size:,} bytes; a parameter "
            f"file has a handful (limit {MAX_ZIP_MEMBERS:,})"
        )


def _check_deflate_ratio(info: zipfile.ZipInfo, what: str) -> None:
    """Refuse a deflated member that claims to inflate beyond what deflate can do."""
    if (
        info.compress_type == zipfile.ZIP_DEFLATED
        and info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 4096
    ):
        raise _Bad(f"{what} claims an impossible compression ratio")


def _check_npz_members(target: Path) -> None:
    """Refuse pickles, odd members, oversized and zip-bomb arrays *before* inflating."""
    if not zipfile.is_zipfile(target):
        raise _Bad("it is not a zip archive (an .npz is a zip of .npy arrays); damaged?")
    _check_zip_directory(target)
    with zipfile.ZipFile(target) as zf:
        infos = zf.infolist()
        if not infos:
            raise _Bad("the archive is empty")
        total = 0
        for info in infos:
            member = info.filename
            if not member.endswith(".npy"):
                raise _Bad(f"unexpected member {member!r} (an .npz holds only .npy arrays)")
            total += info.file_size
            if total > MAX_FILE_BYTES:
                raise _Bad("its arrays add up to more than a parameter file can hold")
            if info.file_size > MAX_ARRAY_BYTES:
                raise _Bad(
                    f"array {member[:-4]!r} would inflate to {info.file_size / 2**20:.0f} MiB, "
                    f"over the {MAX_ARRAY_BYTES // 2**20} MiB limit (a zip bomb?)"
                )
            _check_deflate_ratio(info, f"array {member[:-4]!r}")
            shape, dtype = _npy_header(zf, info)
            if dtype.hasobject:
                raise _Bad(
                    f"array {member[:-4]!r} stores Python objects (a pickle), which biasviz "
                    "never loads"
                )
            allowed = "U" if member == "metadata.npy" else "fiu"
            if dtype.kind not in allowed or dtype.fields is not None:
                raise _Bad(f"array {member[:-4]!r} has dtype {dtype}, not numbers")
            nbytes = math.prod(shape) * dtype.itemsize
            limit = MAX_METADATA_BYTES if member == "metadata.npy" else MAX_ARRAY_BYTES
            if nbytes > limit:
                raise _Bad(
                    f"array {member[:-4]!r} declares shape {shape} ({nbytes / 2**20:.0f} MiB), "
                    f"over the {limit // 2**20} MiB limit"
                )
            if nbytes > info.file_size:
                raise _Bad(f"array {member[:-4]!r} is truncated")


def _read_npz(target: Path) -> ModelFile:
    _check_npz_members(target)
    with np.load(target, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta_array = arrays.pop("metadata", None)
    if meta_array is None:
        spec = _infer_spec({k: a.shape for k, a in arrays.items()})
        meta = _inferred_metadata(spec, "the .npz had no metadata; model inferred from shapes")
    else:
        if meta_array.shape != ():
            raise _Bad("its metadata is not a single JSON string")
        meta = _parse_metadata(str(meta_array[()]), "metadata")
        spec = _spec_from_metadata(meta) or _infer_spec({k: a.shape for k, a in arrays.items()})
    return _finish(spec, arrays, meta)


def _inferred_metadata(spec: ModelSpec, note: str) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": spec.describe(),
        "bias_mode": _bias_mode_of(spec),
        "note": note,
    }


# .pt ----------------------------------------------------------------------------------------
_TORCH_LINEAR = {"weight", "bias"}
_TORCH_MLP = {"0.weight", "0.bias", "2.weight", "2.bias"}
_TORCH_CNN = {"0.weight", "0.bias", "4.weight", "4.bias"}
_BIASVIZ_NAMES = {
    "weights",
    "bias",
    "biases",
    "hidden.weights",
    "hidden.biases",
    "conv.weights",
    "conv.biases",
    "output.weights",
    "output.biases",
}


def _check_torch_zip(target: Path) -> None:
    # torch's zip files store tensors uncompressed; bound what torch.load would allocate.
    if not zipfile.is_zipfile(target):
        return  # legacy (pickle-only) format: bounded by the file size already checked
    _check_zip_directory(target)
    with zipfile.ZipFile(target) as zf:
        total = 0
        for info in zf.infolist():
            total += info.file_size
            if info.file_size > MAX_ARRAY_BYTES or total > MAX_FILE_BYTES:
                raise _Bad(
                    f"member {info.filename!r} would inflate to {info.file_size / 2**20:.0f} "
                    f"MiB, over the limit for a parameter file"
                )
            _check_deflate_ratio(info, f"member {info.filename!r}")


def _tensor_array(name: str, value: Any) -> np.ndarray:
    import torch

    if not isinstance(value, torch.Tensor):
        raise _Bad(f"entry {name!r} is a {type(value).__name__}, not a tensor")
    if value.layout is not torch.strided or value.is_quantized:
        raise _Bad(f"entry {name!r} is a sparse or quantized tensor")
    if value.is_complex() or value.dtype is torch.bool:
        raise _Bad(f"entry {name!r} has dtype {value.dtype}, not real numbers")
    if value.numel() * 4 > MAX_ARRAY_BYTES:
        raise _Bad(f"entry {name!r} has shape {tuple(value.shape)}, too large")
    return value.detach().to("cpu", torch.float32).numpy().copy()


def _from_torch_names(arrays: dict[str, np.ndarray]) -> tuple[ModelSpec, dict[str, np.ndarray]]:
    """Spec and biasviz-named parameters for one of the state_dict layouts."""
    keys = set(arrays)
    if keys in ({"weight"}, _TORCH_LINEAR):
        w = arrays["weight"]
        b = arrays.get("bias")
        if w.shape == (1, N_PIXELS):
            if b is None:
                return ModelSpec(bias_mode=BiasMode.NONE), {"weights": w.reshape(N_PIXELS)}
            return ModelSpec(bias_mode=BiasMode.SCALAR), {"weights": w.reshape(N_PIXELS), "bias": b}
        if w.shape == (10, N_PIXELS):
            if b is None:
                raise _Bad("a ten-neuron nn.Linear(784, 10) needs a bias")
            return ModelSpec(kind=ModelKind.LINEAR, n_outputs=10), {"weights": w, "biases": b}
        raise _Bad(
            f"weight has shape {tuple(w.shape)}: expected nn.Linear(784, 1) (1, 784) "
            "or nn.Linear(784, 10) (10, 784)"
        )
    if keys == _TORCH_MLP and arrays["0.weight"].ndim == 2:
        spec = _infer_spec(
            {"hidden.weights": arrays["0.weight"].shape, "output.weights": arrays["2.weight"].shape}
        )
        return spec, {
            "hidden.weights": arrays["0.weight"],
            "hidden.biases": arrays["0.bias"],
            "output.weights": arrays["2.weight"],
            "output.biases": arrays["2.bias"],
        }
    if keys == _TORCH_CNN and arrays["0.weight"].ndim == 4:
        spec = _infer_spec(
            {"conv.weights": arrays["0.weight"].shape, "output.weights": arrays["4.weight"].shape}
        )
        return spec, {
            "conv.weights": arrays["0.weight"],
            "conv.biases": arrays["0.bias"],
            "output.weights": arrays["4.weight"],
            "output.biases": arrays["4.bias"],
        }
    if keys and keys <= _BIASVIZ_NAMES:  # biasviz's own module, saved with torch.save
        return _infer_spec({k: a.shape for k, a in arrays.items()}), arrays
    found = ", ".join(sorted(keys)) or "none"
    raise _Bad(
        f"unrecognised state_dict keys ({found}); expected nn.Linear (weight, bias), an "
        "MLP nn.Sequential (0.*, 2.*) or a CNN nn.Sequential (0.*, 4.*)"
    )


def _read_pt(target: Path) -> ModelFile:
    import torch

    _check_torch_zip(target)
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it may not support; the outcome (a load
            # or an exception) is what matters here.
            warnings.simplefilter("ignore")
            # weights_only: tensors and plain containers only.  A pickle that would
            # import or call anything else is refused instead of run.
            loaded = torch.load(target, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise _Bad(_explain_torch_error(exc)) from exc
    if not isinstance(loaded, Mapping):
        raise _Bad(f"it holds a {type(loaded).__name__}, not a state_dict (name → tensor)")
    if not all(isinstance(k, str) for k in loaded):
        raise _Bad("its state_dict has keys that are not names")
    arrays = {k: _tensor_array(k, v) for k, v in loaded.items()}
    spec, params = _from_torch_names(arrays)
    spec = _pt_spec(loaded, spec)
    meta = _pt_metadata(loaded, spec)
    return _finish(spec, params, meta)


def _explain_torch_error(exc: Exception) -> str:
    text = str(exc)
    if "Unsupported global" in text:
        return (
            "it contains Python objects other than tensors, whose loading could run code; "
            "biasviz refuses to load it"
        )
    if "Weights only load failed" in text:
        return (
            "it is damaged, not a PyTorch file, or holds Python objects other than "
            "tensors (refused for safety)"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"it is not a readable PyTorch file: damaged or truncated? ({first})"


def _pt_spec(loaded: Any, inferred: ModelSpec) -> ModelSpec:
    """The recorded spec if it describes the architecture the shapes show, else ``inferred``.

    The shapes decide the model; the recorded spec only adds what shapes cannot tell
    (init, std and seed, which Reset uses).  A per-pixel neuron comes back with one bias.
    """
    notes = getattr(loaded, "_metadata", None)
    try:
        stored = ModelSpec.from_dict(json.loads(notes["biasviz"]["json"])["spec"])  # type: ignore[index]
        if stored.kind is ModelKind.SINGLE:
            stored = replace(stored, bias_mode=inferred.bias_mode)
    except Exception:  # absent or unreadable: the shapes are enough
        return inferred
    if stored.kind is inferred.kind and stored.param_shapes() == inferred.param_shapes():
        return stored
    return inferred


def _pt_metadata(loaded: Any, spec: ModelSpec) -> dict:
    """Metadata from ``_metadata["biasviz"]`` when present, made true to ``spec``."""
    notes = getattr(loaded, "_metadata", None)
    text = None
    if isinstance(notes, Mapping) and isinstance(notes.get("biasviz"), Mapping):
        text = notes["biasviz"].get("json")
    if not isinstance(text, str):
        return _inferred_metadata(spec, "model inferred from the state_dict's shapes")
    if len(text) > MAX_METADATA_BYTES:
        raise _Bad("its metadata is too large")
    meta = _parse_metadata(text, "biasviz metadata")
    meta.pop("spec", None)  # the shapes decide the model; see _pt_spec for the rest
    stored_mode = meta.get("bias_mode")
    meta["model"] = spec.describe()
    meta["bias_mode"] = _bias_mode_of(spec)
    if stored_mode not in (None, meta["bias_mode"]):
        meta["exported_bias_mode"] = stored_mode
        meta["note"] = (
            f"exported from a {stored_mode} neuron; a .pt keeps the equivalent single bias"
        )
    return meta


# .json --------------------------------------------------------------------------------------
def _no_constants(token: str) -> Any:
    raise _Bad(f"it contains {token}, which is not a number a model can use")


def _json_array(name: str, entry: Any) -> np.ndarray:
    if not isinstance(entry, dict) or "values" not in entry:
        raise _Bad(f"parameter {name!r} needs an object with 'shape' and 'values'")
    shape = entry.get("shape")
    if shape is not None and not (
        isinstance(shape, list)
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise _Bad(f"parameter {name!r} has a bad shape {shape!r}")
    if shape is not None and math.prod(shape) * 4 > MAX_ARRAY_BYTES:
        raise _Bad(f"parameter {name!r} declares a shape {shape} that is too large")
    try:
        a = np.asarray(entry["values"])
    except ValueError:
        raise _Bad(f"parameter {name!r} has rows of different lengths") from None
    if a.dtype.kind not in "fiu":
        raise _Bad(f"parameter {name!r} holds {a.dtype.name} values, not numbers")
    if shape is not None:
        if a.size != math.prod(shape) or (a.ndim > 1 and list(a.shape) != shape):
            raise _Bad(
                f"parameter {name!r} declares shape {tuple(shape)} but holds "
                f"{tuple(a.shape)} values"
            )
        a = a.reshape(shape)  # a flat list of values is fine too
    return a


def _read_json(target: Path) -> ModelFile:
    size = target.stat().st_size
    if size > MAX_JSON_BYTES:
        raise _Bad(
            f"it is {size / 2**20:.0f} MiB of text, more than any model's parameters "
            f"(limit {MAX_JSON_BYTES // 2**20} MiB)"
        )
    raw = target.read_bytes()
    if raw.count(b",") >= MAX_JSON_VALUES:
        raise _Bad(
            f"it holds more than {MAX_JSON_VALUES:,} values, more than any model's "
            "parameters"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Bad("it is not UTF-8 text") from None
    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        raise _Bad(f"it is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _Bad("it is not a JSON object")
    if "format" not in doc:
        raise _Bad("it has no 'format' field: not a biasviz parameter file")
    _check_format(doc)
    meta = doc.get("metadata", {})
    if not isinstance(meta, dict):
        raise _Bad("its 'metadata' is not a JSON object")
    params = doc.get("params")
    if not isinstance(params, dict):
        raise _Bad("it has no 'params' object")
    arrays = {str(k): _json_array(str(k), v) for k, v in params.items()}
    spec_doc = doc.get("spec")
    if spec_doc is None:
        spec = _infer_spec({k: a.shape for k, a in arrays.items()})
    elif isinstance(spec_doc, dict):
        spec = ModelSpec.from_dict(spec_doc)
    else:
        raise _Bad("its 'spec' is not a JSON object")
    return _finish(spec, arrays, meta)


__all__ = [
    "DIVERGING_LUT",
    "FORMAT",
    "FORMATS",
    "FORMAT_VERSION",
    "IMPORT_FORMATS",
    "MAX_ARRAY_BYTES",
    "MAX_FILE_BYTES",
    "MAX_JSON_BYTES",
    "MAX_JSON_VALUES",
    "MAX_ZIP_DIRECTORY_BYTES",
    "MAX_ZIP_MEMBERS",
    "ModelFile",
    "dialog_filter",
    "diverging_rgb",
    "export_params",
    "import_params",
    "make_metadata",
    "model_file_from_trainer",
    "png_layout",
]
