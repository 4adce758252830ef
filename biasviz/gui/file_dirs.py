"""Where the file dialogs open: the folder last used in one of them (in this session, and
the one before through the window's settings), else the working directory.  They opened
in the working directory every time, even right after an export elsewhere.

Datasets have a folder of their own: a dataset folder (``/usr/share/datasets/…``) is
where images are read, not where a learner's exports belong (the export dialog opened
there after a folder of images was loaded).  Before any was chosen, the dataset dialog
opens where the system keeps datasets when it has some, else in the home folder: the
working directory (a source checkout, say) holds no dataset."""

from __future__ import annotations

import os

FILES, DATA = "files", "data"
_last: dict[str, str] = {}


def start_in(file_name: str = "", kind: str = FILES) -> str:
    """The folder a dialog opens in, with ``file_name`` proposed in it (a save dialog)."""
    last = _last.get(kind)
    if last and os.path.isdir(last):
        folder = last
    else:
        folder = _datasets_home() if kind == DATA else os.getcwd()
    return os.path.join(folder, file_name) if file_name else folder


def _datasets_home() -> str:
    """The first system dataset location that holds a dataset folder
    (/usr/share/datasets with Debian's dataset-fashion-mnist), else the home folder."""
    from pathlib import Path

    from biasviz.core.datasets.download import SYSTEM_DATASET_DIRS

    for parent in SYSTEM_DATASET_DIRS:
        try:
            if any(child.is_dir() for child in Path(parent).iterdir()):
                return str(parent)
        except OSError:  # absent or unreadable: the next one
            continue
    return os.path.expanduser("~")


def remember(path: str, kind: str = FILES) -> None:
    """A dialog chose ``path`` (a file, or a folder): the next one opens where it is."""
    if path:
        path = os.path.abspath(path)
        _last[kind] = path if os.path.isdir(path) else os.path.dirname(path)


def last_folder(kind: str = FILES) -> str | None:
    return _last.get(kind)


def restore(folder: object, kind: str = FILES) -> None:
    """The folder saved with the window's settings (ignored when it is gone)."""
    if isinstance(folder, str) and folder and os.path.isdir(folder):
        _last[kind] = folder
