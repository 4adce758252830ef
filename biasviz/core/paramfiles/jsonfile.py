""".json: readable text with ``format``, ``format_version``, ``metadata``, ``spec`` and
``params`` (name → ``shape`` and nested ``values``).  Every float reads back as exactly
the same float32.  The text is measured (size, values, nesting) before it is parsed."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from biasviz.core.paramfiles.infer import check_format, finish, infer_spec
from biasviz.core.paramfiles.limits import MAX_ARRAY_BYTES, MAX_JSON_BYTES, Refused, parse_json
from biasviz.core.paramfiles.model_file import FORMAT, FORMAT_VERSION, ModelFile
from biasviz.core.spec import ModelSpec


def float_texts(a: np.ndarray) -> np.ndarray:
    """Decimal text for each value (same shape) that reads back as exactly that float32.

    The shortest float32 decimal ("0.1", not "0.10000000149011612") keeps JSON and CSV
    readable.  Readers parse it as a double and round to float32; that is checked here,
    and any value that would not survive it (none is known) gets the double's own text.
    """
    a32 = np.asarray(a, dtype=np.float32)
    text = a32.astype(str)
    bad = text.astype(np.float64).astype(np.float32) != a32
    if bad.any():
        text = text.astype("<U32")  # room for any double's repr
        text[bad] = [repr(float(v)) for v in a32[bad]]
    return text


def _json_nested(text: np.ndarray) -> str:
    """A JSON array (nested like ``text``) of the number texts."""
    if text.ndim <= 1:
        return "[" + ", ".join(text.reshape(-1).tolist()) + "]"
    return "[" + ", ".join(_json_nested(t) for t in text) + "]"


def json_text(mf: ModelFile) -> str:
    def dumps(obj: Any, indent: int | None = None) -> str:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=indent)

    def indented(obj: Any, pad: str) -> str:
        return dumps(obj, indent=2).replace("\n", "\n" + pad)

    lines = ["{"]
    lines.append(f'  "format": {dumps(FORMAT)},')
    lines.append(f'  "format_version": {FORMAT_VERSION},')
    lines.append(f'  "metadata": {indented(mf.metadata, "  ")},')
    lines.append(f'  "spec": {indented(mf.spec.to_dict(), "  ")},')
    lines.append('  "params": {')
    entries = []
    for name, a in mf.params.items():
        text = float_texts(a)
        if a.ndim <= 1:
            values = _json_nested(text)
        else:  # one line per neuron / kernel: readable, and diff-friendly
            rows = ",\n        ".join(_json_nested(row) for row in text)
            values = "[\n        " + rows + "\n      ]"
        entries.append(
            f"    {dumps(name)}: {{\n"
            f'      "shape": {dumps(list(a.shape))},\n'
            f'      "values": {values}\n'
            "    }"
        )
    lines.append(",\n".join(entries))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_json(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    data = json_text(mf).encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write


def _json_array(name: str, entry: Any) -> np.ndarray:
    if not isinstance(entry, dict) or "values" not in entry:
        raise Refused(f"parameter {name!r} needs an object with 'shape' and 'values'")
    shape = entry.get("shape")
    if shape is not None and not (
        isinstance(shape, list)
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise Refused(f"parameter {name!r} has a bad shape {str(shape)[:80]}")
    if shape is not None and math.prod(shape) * 4 > MAX_ARRAY_BYTES:
        raise Refused(f"parameter {name!r} declares a shape {shape} that is too large")
    try:
        a = np.asarray(entry["values"])
    except (ValueError, TypeError):
        raise Refused(f"parameter {name!r} has rows of different lengths") from None
    if a.dtype.kind not in "fiu":
        raise Refused(f"parameter {name!r} holds {a.dtype.name} values, not numbers")
    if shape is not None:
        if a.size != math.prod(shape) or (a.ndim > 1 and list(a.shape) != shape):
            raise Refused(
                f"parameter {name!r} declares shape {tuple(shape)} but holds "
                f"{tuple(a.shape)} values"
            )
        a = a.reshape(shape)  # a flat list of values is fine too
    return a


def read_json(data: bytes, activation: str | None = None) -> ModelFile:
    doc = parse_json(data, "text", MAX_JSON_BYTES)
    if not isinstance(doc, dict):
        raise Refused("it is not a JSON object")
    if "format" not in doc:
        raise Refused("it has no 'format' field: not a biasviz parameter file")
    check_format(doc)
    meta = doc.get("metadata", {})
    if not isinstance(meta, dict):
        raise Refused("its 'metadata' is not a JSON object")
    params = doc.get("params")
    if not isinstance(params, dict):
        raise Refused("it has no 'params' object")
    arrays = {str(k): _json_array(str(k), v) for k, v in params.items()}
    spec_doc = doc.get("spec")
    if spec_doc is None:
        spec = infer_spec({k: a.shape for k, a in arrays.items()})
    elif isinstance(spec_doc, dict):
        spec = ModelSpec.from_dict(spec_doc)
    else:
        raise Refused("its 'spec' is not a JSON object")
    return finish(spec, arrays, meta)
