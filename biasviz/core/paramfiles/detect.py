"""Which reader a file needs: by its content first, its extension second.

Notebooks save under many names (``.pt``, ``.pth``, ``.bin``; ``np.savez`` adds
``.npz``), so the bytes decide: a zip holding ``data.pkl`` is PyTorch, a zip of
``.npy`` members is NumPy, a lone ``.npy`` (``np.save``) is a neuron's weights, a
pickle is PyTorch's legacy format (or a plain pickle, refused), text starting with
``{`` is JSON.
"""

from __future__ import annotations

import codecs

from biasviz.core.paramfiles.limits import Refused, open_zip

IMPORT_SUFFIXES: dict[str, str] = {".npz": "npz", ".pt": "pt", ".pth": "pt", ".bin": "pt",
                                   ".json": "json", ".npy": "npy"}
EXPORT_ONLY_SUFFIXES = (".csv", ".png")


def _zip_kind(data: bytes) -> str:
    zf = open_zip(data, "a parameter file")
    names = [i.filename for i in zf.infolist()]
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "pt"
    return "npz"


def _looks_like_pickle(data: bytes) -> bool:
    """PyTorch's legacy format and ``pickle`` (protocol 2 to 5) open with ``0x80`` and
    the protocol number; one byte alone would claim 1 in 256 damaged files."""
    return len(data) > 1 and data[0] == 0x80 and 2 <= data[1] <= 5


def _looks_like_text(head: bytes) -> bool:
    """The opening bytes decode as UTF-8 (a character cut at the end is allowed)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_format(data: bytes, suffix: str) -> str:
    """``"npz"``, ``"npy"``, ``"pt"`` or ``"json"`` for the reader of ``data`` (a file
    named ``*suffix``); :class:`Refused` with what to do for anything else."""
    suffix = suffix.lower()
    if data.startswith(b"PK"):
        try:
            return _zip_kind(data)
        except Refused:
            if suffix in IMPORT_SUFFIXES:
                return IMPORT_SUFFIXES[suffix]  # its own reader says what is wrong
            raise
    if _looks_like_pickle(data):
        return "pt"
    if data.startswith(b"\x93NUMPY"):
        return "npy"  # np.save's one array: a neuron's weights (read_npy checks which)
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if (head.startswith(b"{") or (head.startswith(b"[") and suffix == ".json")) and \
            _looks_like_text(head):
        return "json"
    if suffix in EXPORT_ONLY_SUFFIXES:
        raise Refused(f"{suffix} files are export-only; import .npz, .pt (.pth, .bin), .json "
                      "or a weights-only .npy")
    if suffix in IMPORT_SUFFIXES:
        return IMPORT_SUFFIXES[suffix]
    raise Refused(
        f"unknown file type {suffix or '(none)'!r}; choose one of .npz, .pt (.pth), .json "
        "or a weights-only .npy"
    )
