"""Where the file dialogs open: the folder last used in any of them (in this session, and
the one before through the window's settings), else the working directory.  They opened
in the working directory every time, even right after an export elsewhere."""

from __future__ import annotations

import os

_last: str | None = None


def start_in(file_name: str = "") -> str:
    """The folder a dialog opens in, with ``file_name`` proposed in it (a save dialog)."""
    folder = _last if _last and os.path.isdir(_last) else os.getcwd()
    return os.path.join(folder, file_name) if file_name else folder


def remember(path: str) -> None:
    """A dialog chose ``path`` (a file, or a folder): the next one opens where it is."""
    global _last
    if path:
        path = os.path.abspath(path)
        _last = path if os.path.isdir(path) else os.path.dirname(path)


def last_folder() -> str | None:
    return _last


def restore(folder: object) -> None:
    """The folder saved with the window's settings (ignored when it is gone)."""
    global _last
    if isinstance(folder, str) and folder and os.path.isdir(folder):
        _last = folder
