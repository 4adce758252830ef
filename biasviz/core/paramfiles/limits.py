"""Reading untrusted parameter files within fixed bounds.

Everything an import reads goes through here: the file is opened once and read into
memory (so what is checked is what is loaded, whatever happens to the path meanwhile),
zip members are inflated only with the methods whose output can be bounded, pickles are
scanned before torch unpickles them, and JSON text is measured before it is parsed.

Memory ceiling of a refused file: the file itself (``MAX_FILE_BYTES``) plus, for a
file refused after parsing, what its parsed content takes (arrays up to
``MAX_ARRAY_BYTES`` each, ``MAX_FILE_BYTES`` together; JSON up to ``MAX_JSON_VALUES``
numbers).  docs/RELIABILITY.md has the measured figures.
"""

from __future__ import annotations

import io
import json
import os
import pickletools
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

# The largest real parameter is an MLP's hidden layer, 4096 x 784 float32 = 12.8 MB; a
# notebook may have saved it as float64 (25.7 MB).  The largest model (MLP 784 → 4096 →
# 10, 3,256,330 parameters) is a 13 MB .pt and a 44 MB .json.
MAX_ARRAY_BYTES = 32 * 1024 * 1024  # one array (npz member, tensor, json param)
MAX_FILE_BYTES = 64 * 1024 * 1024  # a whole file, or all members of an archive together
MAX_METADATA_BYTES = 1024 * 1024
# zipfile parses the whole central directory into Python objects (~0.4 KB per entry)
# before a member can be checked: a 51 MB file listing a million entries took 0.4-0.9 GB.
# Real .npz and .pt files have about ten members.
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 1000
# Deflate cannot compress better than about 1032:1; a member claiming more is crafted.
MAX_DEFLATE_RATIO = 1100
# json.loads makes a Python object per number (~32 bytes for "0.0,") and per list
# (56 bytes for "[]"): the text is measured before parsing.  Values are counted as
# commas, lists and objects as brackets (those inside strings too: a safe overcount).
MAX_JSON_BYTES = 48 * 1024 * 1024
MAX_JSON_VALUES = 3_400_000
MAX_JSON_CONTAINERS = 100_000  # the largest model's JSON has 4,100 lists
MAX_JSON_DEPTH = 64  # a biasviz file nests 8 deep
# A state_dict's pickle (torch's data.pkl) is a few KB: names, shapes and storage keys,
# plus biasviz's metadata string.  Each opcode makes at most one small object.
MAX_PICKLE_BYTES = 2 * 1024 * 1024
MAX_PICKLE_OPCODES = 300_000

_BOUNDED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 93: "zstandard"}


class Refused(Exception):
    """A problem with the file being read; the message completes "cannot import NAME: "."""


# -- the file, opened once --------------------------------------------------------------------
def read_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole content of ``path``, read through one open file descriptor.

    FIFOs, devices and folders are refused from ``fstat`` before anything is read
    (``O_NONBLOCK``: opening a FIFO does not wait for a writer).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Refused("file not found") from None
    except IsADirectoryError:
        raise Refused("it is a folder, not a file") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise Refused("it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise Refused("it is not a regular file (a pipe, device or socket)")
        if info.st_size == 0:
            raise Refused("the file is empty")
        if info.st_size > limit:
            raise Refused(
                f"the file is too large ({info.st_size / 2**20:.0f} MiB) for a parameter file "
                f"(limit {limit // 2**20} MiB)"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        # One read of the whole size gives a single bytes object, returned without a
        # joining copy (a regular file returns all of it; the loop is for short reads).
        chunks = []
        total = 0
        want = info.st_size + 1  # one byte more, so that a file that grew is noticed
        while total < want:
            chunk = os.read(fd, want - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise Refused(f"the file is too large for a parameter file (limit "
                          f"{limit // 2**20} MiB)")
    finally:
        os.close(fd)
    if total == 0:
        raise Refused("the file is empty")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# -- zip archives ------------------------------------------------------------------------------
def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """A ZipFile over ``data`` after its directory and every member's header are checked.

    ``what`` names the archive kind in messages ("an .npz", "a PyTorch file").
    """
    buf = io.BytesIO(data)
    end_record = getattr(zipfile, "_EndRecData", None)  # private, but stable since 2.6
    if end_record is not None:
        end = end_record(buf)
        if end is None:
            raise Refused(f"it is not a zip archive ({what} is one); damaged?")
        size, entries = end[zipfile._ECD_SIZE], end[zipfile._ECD_ENTRIES_TOTAL]
        if size > MAX_ZIP_DIRECTORY_BYTES or entries > MAX_ZIP_MEMBERS:
            raise Refused(
                f"its zip directory lists {entries:,} members in {size:,} bytes; a parameter "
                f"file has a handful (limit {MAX_ZIP_MEMBERS:,})"
            )
    try:
        zf = zipfile.ZipFile(buf)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise Refused(f"it is a damaged zip archive ({exc})") from None
    total = 0
    for info in zf.infolist():
        method = info.compress_type
        if method not in _BOUNDED_METHODS:
            name = _METHOD_NAMES.get(method, f"method {method}")
            raise Refused(
                f"member {info.filename!r} is compressed with {name}; biasviz reads only "
                "stored or deflate members (what numpy and torch write)"
            )
        if info.flag_bits & 0x1:
            raise Refused(f"member {info.filename!r} is encrypted")
        total += info.file_size
        if info.file_size > MAX_ARRAY_BYTES or total > MAX_FILE_BYTES:
            raise Refused(
                f"member {info.filename!r} would inflate to {info.file_size / 2**20:.0f} MiB, "
                f"over the {MAX_ARRAY_BYTES // 2**20} MiB limit for a parameter file "
                "(a zip bomb?)"
            )
        if method == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise Refused(f"member {info.filename!r} has inconsistent sizes; damaged?")
        if (method == zipfile.ZIP_DEFLATED
                and info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 4096):
            raise Refused(f"member {info.filename!r} claims an impossible compression ratio")
    return zf


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int | None = None) -> bytes:
    """A member's bytes, inflated in bounded steps and checked against its declared size."""
    declared = info.file_size
    if limit is not None and declared > limit:
        raise Refused(f"member {info.filename!r} is {declared:,} bytes, over its "
                      f"{limit:,}-byte limit")
    parts = []
    got = 0
    with zf.open(info) as fp:
        # Deflate members inflate at most the requested size per read; zipfile stops at
        # the declared size and checks the CRC at the end.
        while got <= declared:
            chunk = fp.read(min(1 << 20, declared + 1 - got))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
    if got != declared:
        raise Refused(f"member {info.filename!r} holds {got:,} bytes, not the declared "
                      f"{declared:,}; damaged?")
    return b"".join(parts)


# -- pickles (read by torch's weights-only unpickler) ----------------------------------------------
class PickleScan:
    """What a pickle would build, found without running it."""

    def __init__(self) -> None:
        self.globals: list[str] = []
        self.opcodes = 0
        self.first_int: int | None = None  # torch's legacy files start with a magic number


def scan_pickle(stream: io.BytesIO, what: str, limit: int = MAX_PICKLE_BYTES) -> PickleScan:
    """Walk the opcodes of one pickle (up to its STOP) without executing anything.

    Refuses a pickle longer than ``limit`` bytes or with more than ``MAX_PICKLE_OPCODES``
    opcodes: each opcode makes at most one object, so this bounds what unpickling it
    could allocate (a 60 MB pickle of nested lists took 3.7 GB).
    """
    scan = PickleScan()
    start = stream.tell()
    strings: list[str] = []
    try:
        for opcode, arg, pos in pickletools.genops(stream):
            scan.opcodes += 1
            if scan.opcodes > MAX_PICKLE_OPCODES or (pos or 0) - start > limit:
                raise Refused(
                    f"its {what} pickle is too large for a state_dict (more than "
                    f"{limit // 2**20} MiB or {MAX_PICKLE_OPCODES:,} objects)"
                )
            if opcode.name == "GLOBAL" or opcode.name == "INST":
                scan.globals.append(str(arg).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                scan.globals.append(f"{strings[-2]}.{strings[-1]}")
            if (scan.first_int is None and isinstance(arg, int)
                    and opcode.name.startswith(("LONG", "BININT", "INT"))):
                scan.first_int = arg
            if isinstance(arg, str):
                strings.append(arg[:200])
                del strings[:-2]
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - genops raises ValueError & co. on damaged pickles
        raise Refused(f"its {what} pickle is damaged ({exc})") from None
    return scan


# -- JSON ----------------------------------------------------------------------------------------
def _max_depth(text: bytes) -> int:
    """Deepest bracket nesting, counting brackets inside strings too (an overestimate)."""
    a = np.frombuffer(text, dtype=np.uint8)
    depth = 0
    deepest = 0
    step = 1 << 22
    for i in range(0, a.size, step):
        part = a[i : i + step]
        delta = ((part == 0x5B) | (part == 0x7B)).astype(np.int32)
        delta -= ((part == 0x5D) | (part == 0x7D)).astype(np.int32)
        if not delta.any():
            continue
        running = np.cumsum(delta) + depth
        deepest = max(deepest, int(running.max()))
        depth = int(running[-1])
    return deepest


def check_json_size(raw: bytes, what: str, max_bytes: int = MAX_JSON_BYTES) -> None:
    """Refuse JSON text whose parse would take more memory than a model file can need."""
    if len(raw) > max_bytes:
        raise Refused(
            f"its {what} is {len(raw) / 2**20:.0f} MiB of text, more than any model's "
            f"parameters (limit {max_bytes // 2**20} MiB)"
        )
    values = raw.count(b",")
    if values >= MAX_JSON_VALUES:
        raise Refused(
            f"its {what} holds more than {MAX_JSON_VALUES:,} values, more than any model's "
            "parameters"
        )
    containers = raw.count(b"[") + raw.count(b"{")
    if containers > MAX_JSON_CONTAINERS:
        raise Refused(
            f"its {what} holds {containers:,} lists or objects (limit "
            f"{MAX_JSON_CONTAINERS:,}): too deeply nested for a parameter file"
        )
    if containers > MAX_JSON_DEPTH and _max_depth(raw) > MAX_JSON_DEPTH:
        raise Refused(f"its {what} is nested more than {MAX_JSON_DEPTH} levels deep")


def _no_constants(token: str) -> Any:
    raise Refused(f"it contains {token}, which is not a number a model can use")


def parse_json(text: str | bytes, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """``json.loads`` after :func:`check_json_size`; NaN and Infinity are refused."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    check_json_size(raw, what, max_bytes)
    del raw
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Refused(f"its {what} is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise Refused(f"its {what} is nested too deeply") from None
    except ValueError as exc:
        raise Refused(f"its {what} is not valid JSON ({exc})") from None
