"""Atomic file writes: a reader never sees a half-written file, a failed export never
damages the file it would have replaced, and temporary files a killed export left
behind are removed by the next export to the same target."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from biasviz.core.errors import ParamFileError

STALE_TEMP_S = 3600.0
"""A temporary file older than this is stale even if its process id is in use again."""


def new_file_mode() -> int:
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


def explain_os_error(exc: OSError, target: Path) -> str:
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


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process (or an odd number): leave its file alone
    return True


def remove_stale_temps(target: Path) -> list[str]:
    """Delete ``.NAME.*.tmp`` files next to ``target`` that no running export owns.

    Ours are named ``.NAME.<pid>.<random>.tmp``: one whose process is gone, or any older
    than :data:`STALE_TEMP_S` (also the older ``.NAME.<random>.tmp`` naming), is stale.
    Returns the names removed.
    """
    prefix = _temp_prefix(target)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix) : -len(".tmp")]
        pid_text, _, rest = middle.partition(".")
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_S
            orphan = bool(rest) and pid_text.isdigit() and not _pid_alive(int(pid_text))
            if old or orphan:
                os.unlink(entry.path)
                removed.append(name)
        except OSError:
            continue
    return removed


def fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; not possible (nor needed) everywhere.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable_folder(target: Path) -> None:
    """Fail now, not after an hour of training, if ``target`` cannot be created: a
    temporary file is really created (and removed) next to it, which also catches
    pseudo file systems (/proc, /sys) that pass permission checks."""
    folder = target.parent
    try:
        target_is_dir, folder_is_dir = target.is_dir(), folder.is_dir()
    except OSError as exc:
        raise ParamFileError(explain_os_error(exc, target)) from exc
    if target_is_dir:
        raise ParamFileError(f"cannot write {target}: it is a folder")
    if not folder_is_dir:
        raise ParamFileError(f"cannot write {target.name}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}.",
                                   suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ParamFileError(explain_os_error(exc, target)) from exc
    try:
        os.write(fd, b"0")
        os.fsync(fd)
    except OSError as exc:
        raise ParamFileError(explain_os_error(exc, target)) from exc
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def atomic_write(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file next to ``target``, then rename it over ``target``.

    The temporary file is removed on any failure, including KeyboardInterrupt (and
    SIGTERM, which the command line turns into one); a SIGKILL leaves it behind, and the
    next write to ``target`` removes it (:func:`remove_stale_temps`).
    """
    folder = target.parent
    try:
        # On Python 3.11 is_dir() raises OSError for some paths (ENAMETOOLONG for a name
        # over 255 bytes) instead of returning False.
        target_is_dir, folder_is_dir = target.is_dir(), folder.is_dir()
    except OSError as exc:
        raise ParamFileError(explain_os_error(exc, target)) from exc
    if target_is_dir:
        raise ParamFileError(f"cannot write {target}: it is a folder")
    if not folder_is_dir:
        raise ParamFileError(f"cannot write {target.name}: the folder {folder} does not exist")
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else new_file_mode()
    except OSError:
        mode = new_file_mode()
    remove_stale_temps(target)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}.",
                                   suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # not every file system supports modes
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        fsync_folder(folder)
    except ParamFileError:
        raise
    except OSError as exc:
        raise ParamFileError(explain_os_error(exc, target)) from exc
    except Exception as exc:  # a writer (numpy, torch, Pillow) failed
        raise ParamFileError(f"could not write {target.name}: {exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
