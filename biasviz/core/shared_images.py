"""Images in memory another process can map: the training process reads the window's
images instead of holding a copy of its own (60,000 images: 52 MiB less on the machine).

:func:`shared_empty` gives an uninitialised array whose memory is an anonymous shared
file (Linux ``memfd_create``; elsewhere, or if that fails, an ordinary ``np.empty``).
Its pages, like ``np.empty``'s, are given only as they are written.
:func:`shared_handle` says where an array lies in such a file (its descriptor and the
byte offset), so that the descriptor can be handed to another process, which maps it
read-only.  The file goes when the last array using it (and every mapping of it in
other processes) is gone.

Counted by the kernel as shared memory (``RssShmem``): a page both processes touch is in
the resident set of each, and in the proportional set size (Pss) of each by half.
"""

from __future__ import annotations

import mmap
import os
import threading
import weakref

import numpy as np

# Address ranges of live shared buffers: start → (length, descriptor, weak ref to mmap)
_buffers: dict[int, tuple[int, int, weakref.ref]] = {}
_lock = threading.Lock()


def _forget(start: int, fd: int) -> None:
    with _lock:
        _buffers.pop(start, None)
    try:
        os.close(fd)
    except OSError:
        pass


def shared_empty(shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """An uninitialised C-contiguous array in shareable memory (or ``np.empty``)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    memfd = getattr(os, "memfd_create", None)
    if memfd is None or nbytes == 0:
        return np.empty(shape, dtype)
    try:
        fd = memfd("biasviz-images", getattr(os, "MFD_CLOEXEC", 0))
    except OSError:
        return np.empty(shape, dtype)
    try:
        os.ftruncate(fd, nbytes)
        buf = mmap.mmap(fd, nbytes)
    except (OSError, ValueError):
        os.close(fd)
        return np.empty(shape, dtype)
    array = np.frombuffer(buf, dtype, count).reshape(shape)
    start = array.__array_interface__["data"][0]
    with _lock:
        _buffers[start] = (nbytes, fd, weakref.ref(buf))
    # the descriptor lives as long as the mapping (the arrays keep it alive)
    weakref.finalize(buf, _forget, start, fd)
    return array


def shared_handle(array: np.ndarray) -> tuple[int, int] | None:
    """(descriptor, byte offset) of a C-contiguous ``array`` lying in a buffer made by
    :func:`shared_empty`, else None.  The descriptor stays this module's: a process it
    is sent to gets its own."""
    if not array.flags.c_contiguous or array.nbytes == 0:
        return None
    address = array.__array_interface__["data"][0]
    with _lock:
        for start, (length, fd, ref) in _buffers.items():
            if start <= address and address + array.nbytes <= start + length:
                return (fd, address - start) if ref() is not None else None
    return None


def map_shared(fd: int, shape: tuple[int, ...], dtype: np.dtype | str, offset: int
               ) -> np.ndarray:
    """Map the shared buffer ``fd`` (received from another process) read-only and view
    ``shape`` × ``dtype`` at ``offset`` in it.  The caller may close ``fd`` afterwards."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    buf = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    return np.frombuffer(buf, dtype, count, offset).reshape(shape)
