"""Parameter files: save a model's weights and biases, and load them back -- including
what a notebook saved.

A model travels as a :class:`ModelFile`: a :class:`~biasviz.core.spec.ModelSpec`, a
parameter snapshot (name → numpy array, names as in :mod:`biasviz.core.spec`) and a
metadata dict (dataset, task, class names, training progress...).

=========  ======  ================================================================
format     import  content (module)
=========  ======  ================================================================
.npz       yes     one array per parameter plus ``metadata`` (:mod:`.npz`); plain
                   ``np.savez`` files from notebooks too
.npy       yes     ``np.save`` of a neuron's 784 weights alone: a neuron without bias
                   (:mod:`.npz`)
.pt, .pth  yes     a PyTorch state_dict loading strictly into the equivalent torch
                   module (:mod:`.pt`); notebook tensors, nn.Sequential state_dicts,
                   fastai ``learn.save`` too (:mod:`.notebook`)
.json      yes     readable text, floats exact (:mod:`.jsonfile`)
.csv       no      the first layer, one row per neuron (:mod:`.csvfile`)
.png       no      the first layer's weights as pictures (:mod:`.png`)
=========  ======  ================================================================

Every export is atomic (:mod:`.atomic`).  Every import reads the file once, through one
open descriptor, within the bounds of :mod:`.limits`, picks its reader from the content
(:mod:`.detect`), and either returns a model that can be shown, reset and trained or
raises :class:`~biasviz.core.errors.ParamFileError` naming the file -- nothing else
escapes, and no pickled code ever runs.

This package is Qt-free; torch and Pillow are imported only by the functions that need
them.
"""

from __future__ import annotations

import os  # noqa: F401 - tests patch os/tempfile functions through this package
import tempfile  # noqa: F401
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from biasviz.core.colormap import DIVERGING_LUT, diverging_rgb
from biasviz.core.errors import ConfigError, ParamFileError
from biasviz.core.paramfiles.atomic import atomic_write, check_writable_folder, remove_stale_temps
from biasviz.core.paramfiles.csvfile import write_csv
from biasviz.core.paramfiles.detect import detect_format
from biasviz.core.paramfiles.infer import MAX_INIT_STD, MAX_SEED, MIN_SEED
from biasviz.core.paramfiles.jsonfile import read_json, write_json
from biasviz.core.paramfiles.limits import (
    MAX_ARRAY_BYTES,
    MAX_FILE_BYTES,
    MAX_JSON_BYTES,
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_JSON_VALUES,
    MAX_METADATA_BYTES,
    MAX_PICKLE_BYTES,
    MAX_PICKLE_OPCODES,
    MAX_ZIP_DIRECTORY_BYTES,
    MAX_ZIP_MEMBERS,
    Refused,
    read_file,
)
from biasviz.core.paramfiles.model_file import (
    FORMAT,
    FORMAT_VERSION,
    ModelFile,
    make_metadata,
    model_file_from_snapshot,
    model_file_from_trainer,
)
from biasviz.core.paramfiles.notebook import (
    KNOWN_ACTIVATIONS,
    SUPPORTED_ACTIVATIONS,
    model_file_from_objects,
    normalise_activation,
)
from biasviz.core.paramfiles.npz import read_npy, read_npz, write_npz
from biasviz.core.paramfiles.png import (
    PNG_GAP,
    PNG_GAP_COLOR,
    PNG_LABEL_HEIGHT,
    PNG_LEGEND_HEIGHT,
    PNG_MAX_SIDE,
    PNG_SCALE,
    png_layout,
)
from biasviz.core.paramfiles.png import write_png as _write_png
from biasviz.core.paramfiles.pt import read_pt, write_pt
from biasviz.core.spec import ModelSpec, validate_params

FORMATS: tuple[tuple[str, str], ...] = (
    (".npz", "NumPy arrays (*.npz)"),
    (".pt", "PyTorch state_dict (*.pt)"),
    (".json", "JSON text (*.json)"),
    (".csv", "CSV table, first layer only (*.csv)"),
    (".png", "PNG picture of the first layer's weights (*.png)"),
)
"""Export formats: (extension, description for a file dialog)."""

IMPORT_FORMATS: tuple[tuple[str, str], ...] = (
    (".npz", "NumPy arrays (*.npz)"),
    (".pt", "PyTorch state_dict or tensors (*.pt *.pth)"),
    (".json", "JSON text (*.json)"),
)
"""Formats :func:`import_params` reads (``.pth`` and ``.bin`` are PyTorch too)."""

IMPORT_SUFFIXES: tuple[str, ...] = (".npz", ".pt", ".pth", ".bin", ".json")
"""File name endings :func:`import_params` accepts (the content decides the reader)."""


def dialog_filter(formats: tuple[tuple[str, str], ...] = FORMATS) -> str:
    """The descriptions joined for a Qt file dialog (``"A (*.a);;B (*.b)"``)."""
    return ";;".join(description for _, description in formats)


_WRITERS: dict[str, Callable[[ModelFile], Callable[[IO[bytes]], None]]] = {
    ".npz": write_npz,
    ".pt": write_pt,
    ".json": write_json,
    ".csv": write_csv,
    ".png": _write_png,
}
_READERS: dict[str, Callable[..., ModelFile]] = {"npz": read_npz, "npy": read_npy,
                                                 "pt": read_pt, "json": read_json}


def _as_path(path: Any, action: str) -> Path:
    try:
        return Path(os.fspath(path))
    except TypeError:
        raise ParamFileError(
            f"cannot {action} {str(path)[:80]!r}: not a file path"
        ) from None


# -- export -----------------------------------------------------------------------------------
def export_params(path: str | os.PathLike[str], model_file: ModelFile) -> None:
    """Write ``model_file`` to ``path`` in the format its extension names.

    Parameters
    ----------
    path
        Target file; the extension (.npz, .pt, .json, .csv, .png; any case) picks the
        format.  An existing file is replaced atomically; temporary files a killed
        export left next to it are removed.
    model_file
        The spec, parameters and metadata.  Parameters are checked against the spec
        (names, shapes, finite values) before anything is written.

    Raises
    ------
    ParamFileError
        Unknown extension, parameters that do not fit the spec, or a write failure
        (read-only folder, full disk, path is a folder...); also for arguments of the
        wrong type.
    """
    target = _as_path(path, "export to")
    suffix = target.suffix.lower()
    writer = _WRITERS.get(suffix)
    if writer is None:
        known = ", ".join(ext for ext, _ in FORMATS)
        raise ParamFileError(
            f"cannot export to {target.name}: unknown file type {suffix or '(none)'!r}; "
            f"choose one of {known}"
        )
    if not isinstance(model_file, ModelFile):
        raise ParamFileError(
            f"cannot export {target.name}: expected a ModelFile, got "
            f"{type(model_file).__name__}"
        )
    if not isinstance(model_file.spec, ModelSpec):
        raise ParamFileError(f"cannot export {target.name}: no model description")
    if not isinstance(model_file.params, Mapping):
        raise ParamFileError(f"cannot export {target.name}: no parameters")
    if model_file.metadata is not None and not isinstance(model_file.metadata, Mapping):
        raise ParamFileError(f"cannot export {target.name}: the metadata is not a dict")
    try:
        params = validate_params(dict(model_file.params), model_file.spec)
    except ConfigError as exc:
        raise ParamFileError(f"cannot export {target.name}: {exc}") from None
    from biasviz.core.paramfiles.model_file import complete_metadata

    checked = ModelFile(model_file.spec, params, complete_metadata(model_file))
    payload = writer(checked)  # built before the temp file exists: fails leave nothing
    atomic_write(target, payload)


def check_export_target(path: str | os.PathLike[str]) -> None:
    """Raise :class:`ParamFileError` now if ``path`` could not be exported to later:
    unknown extension, missing or read-only folder, pseudo file system (a temporary
    file is really created next to it and removed)."""
    target = _as_path(path, "export to")
    if target.suffix.lower() not in _WRITERS:
        known = ", ".join(ext for ext, _ in FORMATS)
        raise ParamFileError(
            f"cannot export to {target.name}: unknown file type "
            f"{target.suffix.lower() or '(none)'!r}; choose one of {known}"
        )
    check_writable_folder(target)


# -- import -----------------------------------------------------------------------------------
def import_params(path: str | os.PathLike[str], *, activation: str | None = None) -> ModelFile:
    """Read a parameter file: biasviz's own, or what a notebook saved.

    The file is read once (one open descriptor), its reader chosen from its content.
    The model is taken from the file's description when there is one, else inferred
    from the parameter names and shapes (:mod:`biasviz.core.paramfiles.notebook`); the
    parameters are checked against it and returned as float32 arrays in the spec's
    order.  An import that returns can be shown, reset and trained.

    Parameters
    ----------
    path
        The file (.npz, .pt, .pth, .bin or .json; or a .npy of 784 weights alone, read
        as a neuron without bias).
    activation
        For a state_dict with a hidden layer: the activation the network used
        (``"relu"``).  A state_dict does not record it; when not given, ReLU is assumed
        and the result says so (``ModelFile.activation_assumed``, ``metadata["notes"]``).
        An activation biasviz cannot compute (``"sigmoid"``) is refused.

    Raises
    ------
    ParamFileError
        For every problem (and only this type), with a message naming the file.
    """
    target = _as_path(path, "import")
    name = target.name or str(target)
    try:
        act = normalise_activation(activation)
        data = read_file(target)
        kind = detect_format(data, target.suffix)
        return _READERS[kind](data, act)
    except ParamFileError:
        raise
    except (Refused, ConfigError) as exc:
        raise ParamFileError(f"cannot import {name}: {exc}") from exc
    except MemoryError as exc:
        raise ParamFileError(f"cannot import {name}: not enough memory to read it") from exc
    except RecursionError as exc:
        raise ParamFileError(f"cannot import {name}: the file is nested too deeply") from exc
    except OSError as exc:
        raise ParamFileError(f"cannot import {name}: {exc.strerror or exc}") from exc
    except Exception as exc:  # the boundary: nothing else may escape
        text = str(exc).strip()
        detail = text.splitlines()[0][:300] if text else type(exc).__name__
        raise ParamFileError(
            f"cannot import {name}: the file is damaged or not a parameter file ({detail})"
        ) from exc


__all__ = [
    "DIVERGING_LUT",
    "FORMAT",
    "FORMATS",
    "FORMAT_VERSION",
    "IMPORT_FORMATS",
    "IMPORT_SUFFIXES",
    "KNOWN_ACTIVATIONS",
    "MAX_ARRAY_BYTES",
    "MAX_FILE_BYTES",
    "MAX_INIT_STD",
    "MAX_JSON_BYTES",
    "MAX_JSON_CONTAINERS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_VALUES",
    "MAX_METADATA_BYTES",
    "MAX_PICKLE_BYTES",
    "MAX_PICKLE_OPCODES",
    "MAX_SEED",
    "MAX_ZIP_DIRECTORY_BYTES",
    "MAX_ZIP_MEMBERS",
    "MIN_SEED",
    "ModelFile",
    "PNG_GAP",
    "PNG_GAP_COLOR",
    "PNG_LABEL_HEIGHT",
    "PNG_LEGEND_HEIGHT",
    "PNG_MAX_SIDE",
    "PNG_SCALE",
    "SUPPORTED_ACTIVATIONS",
    "check_export_target",
    "dialog_filter",
    "diverging_rgb",
    "export_params",
    "import_params",
    "make_metadata",
    "model_file_from_objects",
    "model_file_from_snapshot",
    "model_file_from_trainer",
    "png_layout",
    "remove_stale_temps",
]
