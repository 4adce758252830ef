""".npz: one array per parameter plus ``metadata``, a JSON string in a 0-d unicode array.

Plain ``np.load(f, allow_pickle=False)`` reads biasviz's files.  Import reads the
archive itself (no ``np.load``): each .npy header is checked before its data is
inflated, only stored or deflate members are read, and the data read must be exactly
what the header declares.  Files without biasviz metadata (``np.savez`` from a
notebook) go through :mod:`~biasviz.core.paramfiles.notebook`.

A lone .npy (``np.save(path, weights)``, the chapter's weights without their bias) is
read the same way, as one neuron without bias (:func:`read_npy`).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from typing import IO

import numpy as np

from biasviz.core.paramfiles.infer import finish, infer_spec, parse_metadata, spec_from_metadata
from biasviz.core.paramfiles.limits import (
    MAX_ARRAY_BYTES,
    MAX_FILE_BYTES,
    MAX_METADATA_BYTES,
    Refused,
    open_zip,
    read_member,
)
from biasviz.core.paramfiles.model_file import ModelFile, inferred_metadata
from biasviz.core.paramfiles.notebook import map_named, map_sequence
from biasviz.core.spec import N_PIXELS

_POSITIONAL = re.compile(r"^arr_(\d+)$")


def write_npz(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    meta = dict(mf.metadata, spec=mf.spec.to_dict())
    arrays: dict[str, np.ndarray] = dict(mf.params)
    arrays["metadata"] = np.array(json.dumps(meta, ensure_ascii=False, allow_nan=False))

    def write(fh: IO[bytes]) -> None:
        np.savez_compressed(fh, **arrays)

    return write


def npy_header(fp: IO[bytes], name: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran order) of a .npy member, read before its data; raises
    :class:`Refused` for a damaged or unknown header (session files use it too)."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise Refused(f"array {name!r} uses an unsupported .npy version {version}")
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError & co. on damaged headers
        raise Refused(f"array {name!r} has a damaged .npy header ({exc})") from None
    return tuple(int(s) for s in shape), np.dtype(dtype), bool(fortran)


def _read_array(raw: bytes, name: str) -> np.ndarray:
    fp = io.BytesIO(raw)
    shape, dtype, fortran = npy_header(fp, name)
    if dtype.hasobject:
        raise Refused(f"array {name!r} stores Python objects (a pickle), which biasviz "
                      "never loads")
    allowed = "U" if name == "metadata" else "fiu"
    if dtype.kind not in allowed or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"array {name!r} has dtype {dtype}, not numbers")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    limit = MAX_METADATA_BYTES if name == "metadata" else MAX_ARRAY_BYTES
    if nbytes > limit:
        raise Refused(f"array {name!r} declares shape {shape} ({nbytes / 2**20:.0f} MiB), "
                      f"over the {limit // 2**20} MiB limit")
    data = raw[fp.tell():]
    if len(data) < nbytes:
        raise Refused(f"array {name!r} is truncated")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    order = "F" if fortran else "C"
    return flat.reshape(shape, order=order).copy()


def read_npz(data: bytes, activation: str | None = None) -> ModelFile:
    if not data.startswith(b"PK"):
        raise Refused("it is not a zip archive (an .npz is a zip of .npy arrays); damaged?")
    zf = open_zip(data, "an .npz")
    infos = zf.infolist()
    if not infos:
        raise Refused("the archive is empty")
    arrays: dict[str, np.ndarray] = {}
    total = 0
    for info in infos:
        member = info.filename
        if not member.endswith(".npy"):
            raise Refused(f"unexpected member {member!r} (an .npz holds only .npy arrays)")
        name = member[:-4]
        if name in arrays:
            raise Refused(f"array {name!r} appears twice")
        raw = read_member(zf, info, MAX_ARRAY_BYTES + 4096)
        arrays[name] = _read_array(raw, name)
        total += arrays[name].nbytes
        if total > MAX_FILE_BYTES:
            raise Refused("its arrays add up to more than a parameter file can hold")
    meta_array = arrays.pop("metadata", None)
    if meta_array is not None:
        if meta_array.shape != ():
            raise Refused("its metadata is not a single JSON string")
        meta = parse_metadata(str(meta_array[()]), "metadata")
        spec = spec_from_metadata(meta) or infer_spec({k: a.shape for k, a in arrays.items()})
        return finish(spec, arrays, meta)
    # np.savez from a notebook: names (weights=..., bias=...) or positions (arr_0, arr_1).
    positions = [_POSITIONAL.match(k) for k in arrays]
    if arrays and all(positions):
        order = sorted(arrays, key=lambda k: int(_POSITIONAL.match(k).group(1)))  # type: ignore[union-attr]
        mapped = map_sequence([arrays[k] for k in order], "np.savez arrays (arr_0, arr_1, …)",
                              activation)
    else:
        mapped = map_named(arrays, "np.savez arrays", activation)
    meta = inferred_metadata(mapped.spec, "the .npz had no metadata; model inferred from "
                             "the names and shapes")
    meta.update(mapped.metadata())
    return finish(mapped.spec, mapped.params, meta)


NPY_MAGIC = b"\x93NUMPY"
_NPY_SHAPES = "(784,), (784, 1), (1, 784) or 28×28"


def read_npy(data: bytes, activation: str | None = None) -> ModelFile:
    """One array saved with ``np.save``: the chapter's weights alone, read as a neuron
    without bias, as a weights-only .pt is (it was refused, telling the learner to save
    again with np.savez).  Its header is checked before the data is used and an array
    of Python objects (a pickle) is refused: nothing is ever unpickled.  Any other
    shape is refused: one array holds no bias, so it cannot be ten neurons or an MLP."""
    if not data.startswith(NPY_MAGIC):
        raise Refused("it is not a NumPy .npy file (np.save writes one); damaged?")
    array = _read_array(data, "weights")
    wrong = (
        f"it is a single NumPy array (np.save) of shape {array.shape}; biasviz reads one "
        f"as the 784 weights of a neuron without bias ({_NPY_SHAPES}). To import weights "
        "and biases, save them together: np.savez('model.npz', weights=weights, bias=bias)"
    )
    if array.size != N_PIXELS:
        raise Refused(wrong)
    try:
        mapped = map_sequence([array], "np.save array (.npy)", activation)
    except Refused:
        raise Refused(wrong) from None
    mapped.notes.insert(0, (
        "a single NumPy array (np.save): read as the weights of one neuron. The file holds "
        "no bias, so the neuron has none; to import one, save both: np.savez('model.npz', "
        "weights=weights, bias=bias)"))
    meta = inferred_metadata(mapped.spec, "a single .npy array: the weights of a neuron "
                             "without bias")
    meta.update(mapped.metadata())
    return finish(mapped.spec, mapped.params, meta)
