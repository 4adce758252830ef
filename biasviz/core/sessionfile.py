"""The ``.biasviz`` session file: one zip archive with a JSON description and numpy arrays.

Layout (version 1)::

    session.json            {"format": "biasviz-session", "version": 1, ...}: the dataset
                            reference, task, model spec, training settings, run position,
                            threshold, view state, and the names of the arrays below
    arrays/<name>.npy       one .npy (no pickle: plain numeric dtypes only) per array,
                            e.g. arrays/params/current/weights.npy,
                            arrays/history/loss_x.npy, arrays/timeline/...

Members are stored or deflated (what :mod:`zipfile` writes); nothing in the file is ever
unpickled.  Reading goes through the parameter files' guards
(:mod:`biasviz.core.paramfiles.limits`): one open descriptor, a bounded zip directory,
only stored/deflate members, declared sizes checked while inflating, JSON size and
nesting bounded, every array's header checked before its data is read.  The file is
written atomically (a temporary file renamed over the target).

This module knows nothing of what a session *means*; :mod:`biasviz.core.app_model` turns
its state into (meta, arrays) and back.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from biasviz.core.errors import ParamFileError

FORMAT = "biasviz-session"
VERSION = 1
EXTENSION = ".biasviz"
META_NAME = "session.json"
ARRAY_PREFIX = "arrays/"
MAX_SESSION_BYTES = 160 * 1024 * 1024  # the file on disk
MAX_SESSION_ARRAY_BYTES = 64 * 1024 * 1024  # one array (a stacked timeline parameter)
MAX_SESSION_TOTAL_BYTES = 192 * 1024 * 1024  # all members inflated
MAX_SESSION_MEMBERS = 4000
MAX_META_BYTES = 8 * 1024 * 1024
_NUMERIC = "biuf"  # bool, signed, unsigned, float: all a session needs


def _check_name(name: str) -> None:
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") for p in parts) or "\\" in name:
        raise ParamFileError(f"cannot save array {name!r}: not a plain relative name")


def write_session(path: str | os.PathLike[str], meta: dict[str, Any],
                  arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON-able) and ``arrays`` (numeric numpy arrays) to ``path``."""
    from biasviz.core.paramfiles.atomic import atomic_write

    target = Path(os.fspath(path))
    body = dict(meta)
    body["format"], body["version"] = FORMAT, VERSION
    body["arrays"] = sorted(arrays)
    try:
        meta_bytes = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ParamFileError(f"cannot save the session: {exc}") from None
    for name, a in arrays.items():
        _check_name(name)
        if np.asarray(a).dtype.kind not in _NUMERIC:
            raise ParamFileError(f"cannot save array {name!r} of dtype {np.asarray(a).dtype}")

    def write(fh: IO[bytes]) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(META_NAME, meta_bytes)
            for name in sorted(arrays):
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
                zf.writestr(f"{ARRAY_PREFIX}{name}.npy", buf.getvalue())

    atomic_write(target, write)


def _refuse(target: Path, why: str) -> ParamFileError:
    return ParamFileError(f"cannot open session {target.name}: {why}")


def _array(raw: bytes, name: str) -> np.ndarray:
    from biasviz.core.paramfiles.limits import Refused
    from biasviz.core.paramfiles.npz import npy_header

    fp = io.BytesIO(raw)
    try:
        shape, dtype, _fortran = npy_header(fp, name)
    except Refused as exc:
        raise ValueError(str(exc)) from None
    if dtype.kind not in _NUMERIC or dtype.hasobject:
        raise ValueError(f"array {name!r} has dtype {dtype}: sessions hold numbers only")
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if any(int(d) < 0 for d in shape) or n * dtype.itemsize != len(raw) - fp.tell():
        raise ValueError(f"array {name!r} does not hold the data its header says")
    fp.seek(0)
    return np.load(fp, allow_pickle=False)


def read_session(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The (meta, arrays) of a session file; raises ParamFileError naming the problem."""
    from biasviz.core.paramfiles import limits

    target = Path(os.fspath(path))
    try:
        data = limits.read_file(target, MAX_SESSION_BYTES)
    except limits.Refused as exc:
        raise _refuse(target, str(exc)) from None
    except OSError as exc:
        raise _refuse(target, exc.strerror or str(exc)) from None
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise _refuse(target, "it is not a biasviz session (not a zip archive)") from None
    infos = zf.infolist()
    if len(infos) > MAX_SESSION_MEMBERS:
        raise _refuse(target, f"it has {len(infos):,} members (limit {MAX_SESSION_MEMBERS:,})")
    total = 0
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(target, f"member {info.filename!r} uses a compression biasviz "
                          "does not read (only stored or deflate)")
        if info.flag_bits & 0x1:
            raise _refuse(target, f"member {info.filename!r} is encrypted")
        total += info.file_size
        if info.file_size > MAX_SESSION_ARRAY_BYTES or total > MAX_SESSION_TOTAL_BYTES:
            raise _refuse(target, f"member {info.filename!r} would inflate to "
                          f"{info.file_size / 2**20:.0f} MiB (a zip bomb?)")
        if (info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > limits.MAX_DEFLATE_RATIO * info.compress_size + 4096):
            raise _refuse(target, f"member {info.filename!r} claims an impossible "
                          "compression ratio")
    names = {i.filename: i for i in infos}
    if META_NAME not in names:
        raise _refuse(target, f"it has no {META_NAME} (not a biasviz session)")
    try:
        raw_meta = limits.read_member(zf, names[META_NAME], MAX_META_BYTES)
        meta = limits.parse_json(raw_meta, "the session description", MAX_META_BYTES)
    except limits.Refused as exc:
        raise _refuse(target, str(exc)) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _refuse(target, f"its description is damaged ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _refuse(target, "it is not a biasviz session")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise _refuse(target, f"it is session format version {version!r}; this biasviz reads "
                      f"version {VERSION} (a newer biasviz wrote it?)")
    wanted = meta.get("arrays", [])
    if not isinstance(wanted, list) or not all(isinstance(n, str) for n in wanted):
        raise _refuse(target, "its list of arrays is damaged")
    arrays: dict[str, np.ndarray] = {}
    for name in wanted:
        member = names.get(f"{ARRAY_PREFIX}{name}.npy")
        if member is None:
            raise _refuse(target, f"array {name!r} is missing")
        try:
            raw = limits.read_member(zf, member, MAX_SESSION_ARRAY_BYTES)
            arrays[name] = _array(raw, name)
        except limits.Refused as exc:
            raise _refuse(target, str(exc)) from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise _refuse(target, str(exc)) from None
    return meta, arrays
