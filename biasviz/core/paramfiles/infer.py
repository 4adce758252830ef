"""From names and shapes to a checked model: spec inference, format checks and the
last validation every import passes (so an import either fully succeeds or changes
nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from biasviz.core.paramfiles.limits import MAX_METADATA_BYTES, Refused, parse_json
from biasviz.core.paramfiles.model_file import FORMAT, FORMAT_VERSION, ModelFile
from biasviz.core.spec import N_PIXELS, BiasMode, ModelKind, ModelSpec, validate_params

# torch.Generator().manual_seed takes any integer in [-2**63, 2**64).
MIN_SEED = -(2**63)
MAX_SEED = 2**64 - 1
# Initial values are randn × init_std in float32; |randn| stays below 10 for millions of
# draws, so this keeps every initial parameter finite (Reset must work on what imports).
MAX_INIT_STD = 1e36


def check_spec_usable(spec: ModelSpec) -> None:
    """Refuse spec values that ModelSpec accepts but that break a later Reset or Step."""
    seed = spec.seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise Refused(f"its seed {seed!r} is not an integer")
    if not MIN_SEED <= int(seed) <= MAX_SEED:
        raise Refused(f"its seed {int(seed)} is outside the 64-bit range torch can use")
    if not float(spec.init_std) <= MAX_INIT_STD:
        raise Refused(
            f"its init_std {spec.init_std:g} would make the initial parameters overflow "
            f"(limit {MAX_INIT_STD:g})"
        )


def finish(spec: ModelSpec, params: Mapping[str, Any], metadata: dict) -> ModelFile:
    """The checked model file: spec usable, parameters of the right names and shapes,
    finite float32 (ConfigError and Refused are wrapped by the caller)."""
    check_spec_usable(spec)
    # Values beyond float32's range become inf and are reported as such, without warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        checked = validate_params(dict(params), spec)
    return ModelFile(spec, checked, metadata)


def parse_metadata(text: str, where: str) -> dict:
    if len(text) > MAX_METADATA_BYTES:
        raise Refused(f"its {where} is too large")
    meta = parse_json(text, where, MAX_METADATA_BYTES * 4)
    if not isinstance(meta, dict):
        raise Refused(f"its {where} is not a JSON object")
    check_format(meta)
    return meta


def check_format(meta: dict) -> None:
    fmt = meta.get("format", FORMAT)
    if fmt != FORMAT:
        raise Refused(f"it is a {str(fmt)[:80]!r} file, not a biasviz parameter file")
    version = meta.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise Refused(f"bad format_version {str(version)[:40]!r}")
    if version > FORMAT_VERSION:
        raise Refused(
            f"it was written by a newer biasviz (format version {version}); this version "
            f"reads version {FORMAT_VERSION}"
        )


def spec_from_metadata(meta: dict) -> ModelSpec | None:
    spec = meta.pop("spec", None)
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise Refused("its model description ('spec') is not a JSON object")
    return ModelSpec.from_dict(spec)


def infer_spec(shapes: Mapping[str, tuple[int, ...]]) -> ModelSpec:
    """The model whose parameters have these biasviz names and shapes."""
    names = set(shapes)

    def shape(n: str) -> tuple[int, ...]:
        return tuple(shapes[n])

    if "conv.weights" in names:
        w = shape("conv.weights")
        if len(w) != 4 or w[1] != 1 or w[2] != w[3]:
            raise Refused(f"conv.weights has shape {w}, expected (channels, 1, K, K)")
        out = shape("output.weights") if "output.weights" in names else (1,)
        return ModelSpec(kind=ModelKind.CNN, channels=w[0], kernel=w[2], n_outputs=n_out(out))
    if "hidden.weights" in names:
        w = shape("hidden.weights")
        if len(w) != 2:
            raise Refused(f"hidden.weights has shape {w}, expected (hidden, 784)")
        out = shape("output.weights") if "output.weights" in names else (1,)
        return ModelSpec(kind=ModelKind.MLP, hidden=w[0], n_outputs=n_out(out))
    if "biases" in names:
        return ModelSpec(kind=ModelKind.LINEAR, n_outputs=10)
    if "weights" in names:
        if "bias" not in names:
            mode = BiasMode.NONE
        elif shape("bias") in ((N_PIXELS,), (1, N_PIXELS)):
            mode = BiasMode.PER_PIXEL
        else:
            mode = BiasMode.SCALAR
        w = shape("weights")
        if len(w) == 2 and w[0] == 10:
            raise Refused("a ten-neuron linear layer needs 'biases' (10,) next to 'weights'")
        return ModelSpec(kind=ModelKind.SINGLE, bias_mode=mode)
    found = ", ".join(sorted(names)) or "none"
    raise Refused(
        f"cannot tell which model these parameters belong to (names: {found}); expected "
        "weights/bias, weights/biases, hidden.*/output.* or conv.*/output.*"
    )


def n_out(shape: tuple[int, ...]) -> int:
    if len(shape) < 1 or shape[0] not in (1, 10):
        raise Refused(f"the output layer has shape {shape}: expected 1 or 10 output neurons")
    return int(shape[0])
