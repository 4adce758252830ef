""".pt / .pth: PyTorch files, loaded weights-only (no pickled code ever runs).

Export writes the state_dict of the plain torch module that computes the same thing:

* single neuron, one bias → ``nn.Linear(784, 1)``: ``weight`` (1, 784), ``bias`` (1,)
* single neuron, no bias → ``nn.Linear(784, 1, bias=False)``: ``weight`` only
* single neuron, per-pixel biases → ``nn.Linear(784, 1)`` with ``bias = Σbᵢ``.  The 784
  biases only ever act through their sum, so this neuron gives *identical outputs*;
  a plain torch layer has no place for the separate values, so they are not stored and
  the file imports back as a one-bias neuron.  Use .npz or .json to keep them.
* linear, ten neurons → ``nn.Linear(784, 10)``
* MLP → ``nn.Sequential(nn.Linear(784, H), nn.ReLU(), nn.Linear(H, O))``:
  ``0.weight``, ``0.bias``, ``2.weight``, ``2.bias``
* CNN → ``nn.Sequential(nn.Conv2d(1, C, K), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
  nn.Linear(C*P*P, O))``: ``0.weight``, ``0.bias``, ``4.weight``, ``4.bias``

The metadata rides along in the state_dict's ``_metadata`` attribute -- the place torch
itself keeps per-module notes, ignored by ``load_state_dict`` for keys that name no
module -- under ``"biasviz"``.  Code that rebuilds the dict drops it; import then works
from the shapes.

Import reads what notebooks save too (see :mod:`~biasviz.core.paramfiles.notebook`):
tensors in a tuple or dict, any nn.Sequential's state_dict, fastai's ``learn.save``.
Before torch sees the file, its zip members are checked (stored or deflate only, sizes
bounded) and its pickle is scanned (size and object count bounded; a whole model or
numpy arrays inside are refused with the one-line fix).
"""

from __future__ import annotations

import collections
import io
import json
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import IO, Any

import numpy as np

from biasviz.core.paramfiles.infer import finish, parse_metadata
from biasviz.core.paramfiles.limits import (
    MAX_ARRAY_BYTES,
    MAX_METADATA_BYTES,
    MAX_PICKLE_BYTES,
    PickleScan,
    Refused,
    open_zip,
    read_member,
    scan_pickle,
)
from biasviz.core.paramfiles.model_file import ModelFile, bias_mode_of, inferred_metadata
from biasviz.core.paramfiles.notebook import Mapped, map_named, map_sequence
from biasviz.core.spec import N_PIXELS, BiasMode, ModelKind, ModelSpec

_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

SAVE_STATE_DICT = "torch.save(model.state_dict(), 'model.pt')"


# -- export ------------------------------------------------------------------------------------
def torch_state_dict(mf: ModelFile) -> dict[str, np.ndarray]:
    """The parameters under the names of the equivalent plain torch module."""
    p, spec = mf.params, mf.spec
    if spec.kind is ModelKind.SINGLE:
        out = {"weight": p["weights"].reshape(1, N_PIXELS)}
        if spec.bias_mode is BiasMode.SCALAR:
            out["bias"] = p["bias"].reshape(1)
        elif spec.bias_mode is BiasMode.PER_PIXEL:
            # The per-pixel biases act only through their sum: one bias does the same.
            total = np.sum(p["bias"], dtype=np.float64)
            out["bias"] = np.array([total], dtype=np.float32)
        return out
    if spec.kind is ModelKind.LINEAR:
        return {"weight": p["weights"], "bias": p["biases"]}
    if spec.kind is ModelKind.MLP:
        return {
            "0.weight": p["hidden.weights"],
            "0.bias": p["hidden.biases"],
            "2.weight": p["output.weights"],
            "2.bias": p["output.biases"],
        }
    return {
        "0.weight": p["conv.weights"],
        "0.bias": p["conv.biases"],
        "4.weight": p["output.weights"],
        "4.bias": p["output.biases"],
    }


def write_pt(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    import torch

    sd: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict(
        (name, torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).clone())
        for name, a in torch_state_dict(mf).items()
    )
    meta = dict(mf.metadata, spec=mf.spec.to_dict())
    # torch keeps per-module notes here; "biasviz" names no module, so load_state_dict
    # ignores it.  Only str/dict values: torch.load(weights_only=True) accepts those.
    sd._metadata = {  # type: ignore[attr-defined]
        "biasviz": {"json": json.dumps(meta, ensure_ascii=False, allow_nan=False)}
    }

    def write(fh: IO[bytes]) -> None:
        # torch.save writing straight to the file swallows the OSError of a failed write
        # (disk full) and raises "unexpected pos 64 vs 0" instead.  Serialising in memory
        # first (at most ~13 MB) lets the real write's error, with its errno, through.
        buffer = io.BytesIO()
        torch.save(sd, buffer)
        fh.write(buffer.getbuffer())

    return write


# -- checks before torch.load ------------------------------------------------------------------
_MODEL_PREFIXES = ("torch.nn.modules.", "torch.nn.parallel.", "__main__.", "fastai.",
                   "fastcore.", "torchvision.models.", "timm.")
_CODE_PREFIXES = ("builtins.", "os.", "posix.", "nt.", "subprocess.", "sys.", "runpy.",
                  "importlib.", "shutil.", "socket.", "pty.", "webbrowser.")
_CODE_OK = {"builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.slice",
            "builtins.complex", "builtins.int", "builtins.float", "builtins.bool",
            "builtins.str", "builtins.tuple", "builtins.list", "builtins.dict"}


def _judge_globals(scan: PickleScan) -> None:
    """Refuse, with the fix, pickles that reference a model class, numpy or code."""
    names = scan.globals
    if any(n.startswith(_MODEL_PREFIXES) for n in names):
        learner = any(n.startswith("fastai.learner") for n in names)
        fix = ("learn.save('name') (or " + SAVE_STATE_DICT + ")" if learner
               else SAVE_STATE_DICT)
        raise Refused(
            "it holds a whole model object (torch.save(model)); loading that would run its "
            f"code, which biasviz never does. Save the parameters instead: {fix}"
        )
    if any(n.startswith("numpy.") for n in names):
        raise Refused(
            "it holds numpy arrays pickled inside a PyTorch file, which could run code when "
            "loaded. Save tensors instead: torch.save({'weights': torch.as_tensor(weights), "
            "'bias': torch.as_tensor(bias)}, 'model.pt'), or use np.savez('model.npz', "
            "weights=weights, bias=bias)"
        )
    if any(n.startswith(_CODE_PREFIXES) and n not in _CODE_OK for n in names):
        raise Refused(
            "it contains Python objects other than tensors, whose loading could run code; "
            "biasviz refuses to load it"
        )


def _check_zip_pt(data: bytes) -> None:
    zf = open_zip(data, "a PyTorch file")
    pickles = [i for i in zf.infolist()
               if i.filename == "data.pkl" or i.filename.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise Refused("it is a zip archive but not a PyTorch file (no single data.pkl)")
    info = pickles[0]
    if info.file_size > MAX_PICKLE_BYTES:
        raise Refused(
            f"its pickle is {info.file_size / 2**20:.1f} MiB, more than any state_dict "
            f"needs (limit {MAX_PICKLE_BYTES // 2**20} MiB)"
        )
    _judge_globals(scan_pickle(io.BytesIO(read_member(zf, info)), "data.pkl"))


def _check_legacy_pt(data: bytes) -> None:
    """The legacy format: five pickles (magic, protocol, system info, the object,
    storage keys), then raw storages.  A plain pickle (not torch's) is refused."""
    stream = io.BytesIO(data)
    first = scan_pickle(stream, "first")
    magic = first.first_int
    if magic != _TORCH_LEGACY_MAGIC:
        _judge_globals(first)
        raise Refused(
            "it is a plain Python pickle, which biasviz never loads (unpickling can run "
            "code). Save tensors with torch.save((weights, bias), 'model.pt') or arrays "
            "with np.savez('model.npz', weights=weights, bias=bias)"
        )
    for i in range(1, 5):  # the stream is at the end of the first pickle
        _judge_globals(scan_pickle(stream, f"part {i + 1} of the"))


# -- import ------------------------------------------------------------------------------------
def _tensor_array(name: str, value: Any) -> np.ndarray:
    import torch

    if not isinstance(value, torch.Tensor):
        raise Refused(f"entry {str(name)[:80]!r} is a {type(value).__name__}, not a tensor")
    if value.layout is not torch.strided or value.is_quantized:
        raise Refused(f"entry {str(name)[:80]!r} is a sparse or quantized tensor")
    if value.is_complex() or value.dtype is torch.bool:
        raise Refused(f"entry {str(name)[:80]!r} has dtype {value.dtype}, not real numbers")
    if value.numel() * 4 > MAX_ARRAY_BYTES:
        raise Refused(f"entry {str(name)[:80]!r} has shape {tuple(value.shape)}, too large "
                      f"(limit {MAX_ARRAY_BYTES // 2**20} MiB a tensor)")
    return value.detach().to("cpu", torch.float32).numpy().copy()


def _unwrap(loaded: Any) -> tuple[Any, str, list[str]]:
    """The part of a checkpoint that holds the parameters, what it was, and notes."""
    if isinstance(loaded, Mapping):
        if "model" in loaded and isinstance(loaded["model"], Mapping) and (
            "opt" in loaded or len(loaded) == 1
        ):
            return loaded["model"], "fastai learn.save file", [
                "a fastai learn.save file: its model's state_dict was read (the optimizer "
                "state is not needed)"]
        if "state_dict" in loaded and isinstance(loaded["state_dict"], Mapping):
            return loaded["state_dict"], "checkpoint", [
                "a checkpoint: its 'state_dict' entry was read"]
    return loaded, "", []


def _stored_spec(loaded: Any) -> ModelSpec | None:
    notes = getattr(loaded, "_metadata", None)
    try:
        return ModelSpec.from_dict(json.loads(notes["biasviz"]["json"])["spec"])  # type: ignore[index]
    except Exception:  # noqa: BLE001 - absent or unreadable: the shapes are enough
        return None


def _pt_spec(loaded: Any, inferred: ModelSpec) -> ModelSpec:
    """The recorded spec if it describes the architecture the shapes show, else ``inferred``.

    The shapes decide the model; the recorded spec only adds what shapes cannot tell
    (init, std and seed, which Reset uses).  A per-pixel neuron comes back with one bias.
    """
    stored = _stored_spec(loaded)
    if stored is None:
        return inferred
    if stored.kind is ModelKind.SINGLE:
        stored = replace(stored, bias_mode=inferred.bias_mode)
    if stored.kind is inferred.kind and stored.param_shapes() == inferred.param_shapes():
        return stored
    return inferred


def _biasviz_text(loaded: Any) -> str | None:
    notes = getattr(loaded, "_metadata", None)
    if isinstance(notes, Mapping) and isinstance(notes.get("biasviz"), Mapping):
        text = notes["biasviz"].get("json")
        return text if isinstance(text, str) else None
    return None


def _pt_metadata(text: str, spec: ModelSpec) -> dict:
    """Metadata from ``_metadata["biasviz"]``, made true to ``spec``."""
    if len(text) > MAX_METADATA_BYTES:
        raise Refused("its metadata is too large")
    meta = parse_metadata(text, "biasviz metadata")
    meta.pop("spec", None)  # the shapes decide the model; see _pt_spec for the rest
    stored_mode = meta.get("bias_mode")
    meta["model"] = spec.describe()
    meta["bias_mode"] = bias_mode_of(spec)
    if stored_mode not in (None, meta["bias_mode"]):
        meta["exported_bias_mode"] = stored_mode
        meta["note"] = (
            f"exported from a {stored_mode} neuron; a .pt keeps the equivalent single bias"
        )
    return meta


def _load(data: bytes) -> Any:
    import torch

    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it may not support; the outcome (a load
            # or an exception) is what matters here.
            warnings.simplefilter("ignore")
            # weights_only: tensors and plain containers only.  A pickle that would
            # import or call anything else is refused instead of run.
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise Refused(_explain_torch_error(exc)) from exc


def _explain_torch_error(exc: Exception) -> str:
    text = str(exc)
    if "Unsupported global" in text or "Weights only load failed" in text:
        return (
            "it contains Python objects other than tensors, whose loading could run code; "
            "biasviz refuses to load it (save tensors or a state_dict: " + SAVE_STATE_DICT + ")"
        )
    first = text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
    return f"it is not a readable PyTorch file: damaged or truncated? ({first})"


_ZIP_LOCAL_HEADER = b"PK\x03\x04"  # how every zip archive (and torch.save's file) starts


def read_pt(data: bytes, activation: str | None = None) -> ModelFile:
    if zipfile.is_zipfile(io.BytesIO(data)):
        _check_zip_pt(data)
    elif data[:1] == b"\x80":
        _check_legacy_pt(data)
    elif data.startswith(_ZIP_LOCAL_HEADER):
        # The start of torch.save's zip without the directory a zip ends with: a file
        # cut short.  It was called "not a PyTorch file", as if the wrong file were chosen.
        raise Refused(
            "it is incomplete or damaged: it starts like a PyTorch file (a zip archive) but "
            "its end is missing, as when a copy or download is cut short. Copy or save it "
            "again"
        )
    else:
        raise Refused("it is not a PyTorch file (neither torch's zip nor its legacy format)")
    loaded = _load(data)
    inner, source, notes = _unwrap(loaded)
    import torch

    if isinstance(inner, torch.Tensor):
        raise Refused(
            f"it holds a single tensor of shape {tuple(inner.shape)}; save the weights and "
            "the bias together: torch.save((weights, bias), 'model.pt')"
        )
    if isinstance(inner, list | tuple):
        if not all(isinstance(v, torch.Tensor) for v in inner):
            kinds = ", ".join(sorted({type(v).__name__ for v in inner}))
            raise Refused(f"it holds a {type(inner).__name__} of {kinds}, not tensors")
        arrays = [_tensor_array(f"item {i}", v) for i, v in enumerate(inner)]
        mapped = map_sequence(arrays, f"{type(inner).__name__} of tensors", activation)
        return _finish_mapped(mapped, notes)
    if not isinstance(inner, Mapping):
        raise Refused(f"it holds a {type(inner).__name__}, not a state_dict (name → tensor)")
    if not all(isinstance(k, str) for k in inner):
        raise Refused("its state_dict has keys that are not names")
    arrays_by_name = {k: _tensor_array(k, v) for k, v in inner.items()}
    text = _biasviz_text(inner)
    if text is not None:  # biasviz's own export: the architecture is known (ReLU)
        mapped = map_named(arrays_by_name, "biasviz export", None, "relu")
        spec = _pt_spec(inner, mapped.spec)
        return finish(spec, mapped.params, _pt_metadata(text, spec))
    kind = source or ("nn.Linear state_dict" if set(arrays_by_name) <= {"weight", "bias"}
                      else "state_dict")
    mapped = map_named(arrays_by_name, kind, activation)
    mapped.spec = _pt_spec(inner, mapped.spec)
    return _finish_mapped(mapped, notes)


def _finish_mapped(mapped: Mapped, notes: list[str]) -> ModelFile:
    mapped.notes[:0] = notes
    meta = inferred_metadata(mapped.spec, "model inferred from the state_dict's shapes")
    meta.update(mapped.metadata())
    return finish(mapped.spec, mapped.params, meta)
