"""Read and write IDX files, the format MNIST, Fashion-MNIST and KMNIST are published in.

An IDX file is a 4-byte magic number ``0x0000TTDD`` (``TT`` the element type, ``DD`` the
number of dimensions), one big-endian uint32 per dimension, then the elements in C order.
MNIST-style images are ``0x00000803`` (uint8, 3-D: N x 28 x 28) and labels
``0x00000801`` (uint8, 1-D: N).  Files may be gzip-compressed (``*.gz``).

Nothing read from a file is trusted: the declared sizes are checked against the file's
real size before any large buffer is allocated, and every problem becomes a
:class:`~biasviz.core.errors.DatasetError` whose message names the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from biasviz.core.errors import DatasetError
from biasviz.core.shared_images import shared_empty

UBYTE = 0x08
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
IMAGE_SIDE = 28
N_CLASSES = 10

#: Refuse files whose data would be bigger than this (a 10-class 28x28 set this size
#: would hold 1.3 million images; full MNIST is 47 MB).
MAX_DATA_BYTES = 1 << 30
#: Deflate cannot compress better than about 1032:1, so a gzip file of ``n`` bytes
#: cannot hold more than this many times ``n`` bytes of data.
_MAX_GZIP_RATIO = 1100
_CHUNK = 1 << 22
SHARED_MIN_BYTES = 1 << 20  # data this big goes in shareable memory (shared_images)
_GZIP_MAGIC = b"\x1f\x8b"

_TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}


def _fail(path: Path, problem: str) -> DatasetError:
    return DatasetError(f"{path}: {problem}")


class _Source:
    """A raw or gzip-compressed file read in bounded chunks, with gzip errors translated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.file_size = path.stat().st_size
            raw = open(path, "rb")
        except FileNotFoundError:
            raise _fail(path, "file not found") from None
        except OSError as e:
            raise _fail(path, f"cannot open file ({e.strerror or e})") from None
        self._raw = raw
        try:
            self.compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
        except OSError as e:
            raw.close()
            raise _fail(path, f"cannot read file ({e.strerror or e})") from None
        self._stream = gzip.GzipFile(fileobj=raw, mode="rb") if self.compressed else raw

    def close(self) -> None:
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the data)."""
        try:
            return self._stream.read(n)
        except (OSError, EOFError, zlib.error) as e:
            if self.compressed:
                raise _fail(self.path, f"corrupt or truncated gzip data ({e})") from None
            raise _fail(self.path, f"cannot read file ({e})") from None

    def read_into(self, out: np.ndarray, what: str) -> None:
        """Fill the uint8 array ``out`` in bounded chunks, straight from the stream.

        ``out`` comes from ``np.empty``: the OS gives it pages only as they are written,
        so memory still grows only as real data arrives (a lying header costs nothing),
        and the data is never held twice (no growing byte string copied at the end).
        """
        flat = memoryview(out.reshape(-1))
        n, done = flat.nbytes, 0
        while done < n:
            try:
                got = self._stream.readinto(flat[done : min(done + _CHUNK, n)])
            except (OSError, EOFError, zlib.error) as e:
                if self.compressed:
                    raise _fail(self.path, f"corrupt or truncated gzip data ({e})") from None
                raise _fail(self.path, f"cannot read file ({e})") from None
            if not got:
                raise _fail(
                    self.path,
                    f"truncated: the header declares {n:,} bytes of {what} "
                    f"but the file holds only {done:,}",
                )
            done += got

    def max_data_bytes(self, header_size: int) -> int:
        """Most data bytes the file could possibly hold after its header."""
        if self.compressed:
            return self.file_size * _MAX_GZIP_RATIO
        return self.file_size - header_size


def _describe_magic(magic: int) -> str:
    if magic == IMAGES_MAGIC:
        return "0x00000803 (images)"
    if magic == LABELS_MAGIC:
        return "0x00000801 (labels)"
    return f"0x{magic:08X}"


def read_idx(path: str | os.PathLike[str], expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes, raw or gzip-compressed.

    Parameters
    ----------
    path
        The file; gzip compression is recognised by content, not by name.
    expected_magic
        If given, the file must have this magic number (``IMAGES_MAGIC`` or
        ``LABELS_MAGIC``).

    Returns
    -------
    numpy.ndarray
        uint8 array with the dimensions the header declares.

    Raises
    ------
    DatasetError
        Bad magic, unsupported element type, truncated or trailing data, sizes that
        cannot fit the file, or corrupt gzip data; the message names the file.
    """
    p = Path(path)
    with _Source(p) as src:
        head = src.read(4)
        if len(head) < 4:
            raise _fail(p, f"truncated: only {len(head)} bytes, too short for an IDX header")
        zero, dtype_code, ndim = struct.unpack(">HBB", head)
        magic = int.from_bytes(head, "big")
        if zero != 0:
            what = "a gzip file containing something else" if src.compressed else "an IDX file"
            raise _fail(p, f"bad magic number 0x{magic:08X}: this is not {what}")
        if dtype_code != UBYTE:
            name = _TYPE_NAMES.get(dtype_code, "unknown")
            raise _fail(
                p,
                f"unsupported element type 0x{dtype_code:02X} ({name}); "
                "only unsigned bytes (0x08) are supported",
            )
        if expected_magic is not None and magic != expected_magic:
            raise _fail(
                p,
                f"bad magic number {_describe_magic(magic)}, expected "
                f"{_describe_magic(expected_magic)}",
            )
        if ndim == 0:
            raise _fail(p, "bad header: zero dimensions")
        dim_bytes = src.read(4 * ndim)
        if len(dim_bytes) < 4 * ndim:
            raise _fail(p, "truncated inside the header (dimension sizes missing)")
        dims = struct.unpack(f">{ndim}I", dim_bytes)
        n_bytes = 1
        for d in dims:
            n_bytes *= d
        header_size = 4 + 4 * ndim
        shape = " x ".join(f"{d:,}" for d in dims)
        if n_bytes > MAX_DATA_BYTES:
            raise _fail(
                p,
                f"the header declares {shape} = {n_bytes:,} bytes, more than the "
                f"{MAX_DATA_BYTES:,} this program accepts",
            )
        if n_bytes > src.max_data_bytes(header_size):
            if src.compressed:
                raise _fail(
                    p,
                    f"truncated or corrupt: the header declares {shape} = {n_bytes:,} bytes, "
                    f"more than a {src.file_size:,}-byte gzip file can hold",
                )
            raise _fail(
                p,
                f"truncated: the header declares {shape} = {n_bytes:,} bytes of data "
                f"but the file holds only {src.file_size - header_size:,}",
            )
        # Big arrays (images) in memory the training process can map instead of copying
        data = (shared_empty(dims, np.uint8) if n_bytes >= SHARED_MIN_BYTES
                else np.empty(dims, dtype=np.uint8))
        src.read_into(data, "data")
        # a small probe: read(n) sets aside n bytes before it knows how many there are
        extra = src.read(1 << 16)
        if extra:
            if src.compressed:
                extra_n = len(extra)
                while more := src.read(_CHUNK):
                    extra_n += len(more)
            else:
                extra_n = src.file_size - header_size - n_bytes
            raise _fail(
                p,
                f"{extra_n:,} unexpected bytes after the {shape} data the header declares",
            )
    return data


def read_idx_images(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX image file (magic ``0x00000803``) of 28x28 images.

    Returns
    -------
    numpy.ndarray
        uint8 (N, 28, 28).

    Raises
    ------
    DatasetError
        Anything :func:`read_idx` refuses, or images that are not 28x28.
    """
    images = read_idx(path, IMAGES_MAGIC)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        h, w = images.shape[1:]
        raise _fail(
            Path(path), f"images are {h}x{w} pixels; only {IMAGE_SIDE}x{IMAGE_SIDE} are supported"
        )
    return images


def read_idx_labels(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX label file (magic ``0x00000801``) with labels 0..9.

    Returns
    -------
    numpy.ndarray
        uint8 (N,).

    Raises
    ------
    DatasetError
        Anything :func:`read_idx` refuses, or a label outside 0..9.
    """
    labels = read_idx(path, LABELS_MAGIC)
    bad = np.flatnonzero(labels >= N_CLASSES)
    if bad.size:
        i = int(bad[0])
        raise _fail(
            Path(path),
            f"{bad.size:,} labels are outside 0..9 (the first, at position {i:,}, is "
            f"{int(labels[i])}); only ten-class datasets are supported",
        )
    return labels


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    Parameters
    ----------
    path
        Destination file.
    array
        uint8 array with 1 to 255 dimensions, each below 2**32.
    """
    a = np.ascontiguousarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays only, got {a.dtype}")
    if not 1 <= a.ndim <= 255:
        raise ValueError(f"an IDX array needs 1 to 255 dimensions, got {a.ndim}")
    header = struct.pack(f">HBB{a.ndim}I", 0, UBYTE, a.ndim, *a.shape)
    p = Path(path)
    if p.name.endswith(".gz"):
        with gzip.open(p, "wb") as f:
            f.write(header)
            f.write(a.tobytes())
    else:
        with open(p, "wb") as f:
            f.write(header)
            f.write(a.tobytes())
