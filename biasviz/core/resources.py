"""Find files shipped in the ``resources/`` directory (sample data, icons)."""

from __future__ import annotations

from pathlib import Path

import biasviz
from biasviz.core.errors import DatasetError


def resource_dirs() -> tuple[Path, ...]:
    """Directories searched for resources, in order.

    The wheel maps the repository's top-level ``resources/`` into the package as
    ``biasviz/resources/``; a source checkout or editable install uses the top-level
    directory itself.
    """
    return (
        Path(biasviz.__file__).resolve().parent / "resources",
        Path(__file__).resolve().parents[2] / "resources",
    )


def resource_path(name: str) -> Path:
    """Path of the shipped resource ``name`` (e.g. ``"mnist_sample.npz"``).

    Raises
    ------
    DatasetError
        The file is in none of :func:`resource_dirs` (the message lists where it looked).
        It is a :class:`~biasviz.core.errors.BiasvizError`, so code loading icons can
        catch that base class.
    """
    for folder in resource_dirs():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d) for d in dict.fromkeys(resource_dirs()))
    raise DatasetError(
        f"resource file {name!r} not found (looked in {looked}); "
        "the installation looks incomplete"
    )
