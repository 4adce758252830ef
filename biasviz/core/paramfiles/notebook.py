"""What a notebook saved, mapped onto biasviz's models.

The fastai chapter keeps its model as raw tensors (``weights`` (784, 1), ``bias`` (1,),
used as ``xb@weights + bias``); learners save what they have.  This module maps every
common shape of that onto a :class:`~biasviz.core.spec.ModelSpec` and biasviz's
parameter names, and refuses what is truly ambiguous with a message saying how to save
it so that it loads.

==============================================  ======================================
what the file holds                             read as
==============================================  ======================================
``(weights, bias)``, ``[weights]``,             one layer; a weight of 784 values is
``{'weights': w, 'bias': b}``, torch's          one neuron ((784, 1), (1, 784), (784,),
``weight``/``bias``, ``w``/``b``, npz           28×28); of 7,840 values ten neurons
positional ``arr_0``/``arr_1``                  ((784, 10) as ``x@w``, (10, 784) as
                                                nn.Linear, (10, 28, 28)); a bias of 1
                                                value (incl. 0-d), 10, or 784 (one per
                                                pixel)
``(w1, b1, w2, b2)``, ``w1``…``b2`` names       the chapter's ``simple_net`` by hand:
                                                an MLP; orientation from ``w1`` (784
                                                rows: ``x@w1``), the same for ``w2``
nn.Sequential state_dict (``0.*``, ``2.*``;     layers in index order: one Linear, two
``1.*``, ``3.*`` after an nn.Flatten)           Linears (an MLP), or Conv2d + Linear
                                                (biasviz's CNN)
fastai ``learn.save``: ``{'model': sd,          the state_dict inside
'opt': ...}``; ``{'state_dict': sd}``;
keys under ``module.``/``model.``/``_orig_mod.``
==============================================  ======================================

A state_dict does not record activations (nn.ReLU and nn.Sigmoid have no parameters),
so a ``Sequential(Linear, Sigmoid, Linear)`` has the same keys as the ReLU network.
biasviz's MLP runs ReLU: unless the caller says which activation the network used,
ReLU is assumed and the result says so (``activation_assumed``); any other activation
is refused rather than shown with wrong predictions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from biasviz.core.paramfiles.infer import infer_spec, n_out
from biasviz.core.paramfiles.limits import Refused
from biasviz.core.paramfiles.model_file import ModelFile, inferred_metadata
from biasviz.core.spec import N_PIXELS, BiasMode, ModelKind, ModelSpec

SUPPORTED_ACTIVATIONS: tuple[str, ...] = ("relu",)
"""Hidden-layer activations biasviz's MLP and CNN compute."""
KNOWN_ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh", "gelu", "leaky_relu",
                                      "elu", "silu", "softplus")

BIASVIZ_NAMES = frozenset({
    "weights", "bias", "biases", "hidden.weights", "hidden.biases", "conv.weights",
    "conv.biases", "output.weights", "output.biases",
})
_WEIGHT_NAMES = ("weights", "weight", "w", "W")
_BIAS_NAMES = ("bias", "biases", "b", "B")
_WRAPPER_PREFIXES = ("module.", "model.", "_orig_mod.")
_LAYER_KEY = re.compile(r"^(\d+)\.(weight|bias)$")
_RAW_WEIGHT = re.compile(r"^(?:w|W|weights?)_?(\d)$")
_RAW_BIAS = re.compile(r"^(?:b|B|bias(?:es)?)_?(\d)$")

HOW_TO_SAVE = (
    "save it as torch.save({'weights': weights, 'bias': bias}, 'model.pt') for one layer, "
    "or put the layers in an nn.Sequential and save torch.save(model.state_dict(), "
    "'model.pt')"
)


@dataclass
class Mapped:
    """A model found in a notebook's arrays, and what was assumed to find it."""

    spec: ModelSpec
    params: dict[str, np.ndarray]
    source: str
    notes: list[str] = field(default_factory=list)
    activation: str | None = None
    activation_assumed: bool = False

    def metadata(self) -> dict:
        meta: dict = {"source": self.source, "notes": list(self.notes)}
        if self.activation is not None:
            meta["activation"] = self.activation
            meta["activation_assumed"] = self.activation_assumed
        return meta


def normalise_activation(activation: str | None) -> str | None:
    if activation is None:
        return None
    if not isinstance(activation, str):
        raise Refused(f"activation must be a name like 'relu', not {type(activation).__name__}")
    name = activation.strip().lower().replace("-", "_").removeprefix("nn.")
    name = {"leakyrelu": "leaky_relu", "logistic": "sigmoid"}.get(name, name)
    return name


# -- one layer ------------------------------------------------------------------------------
def _dense(w: np.ndarray, b: np.ndarray | None, source: str) -> Mapped:
    """One layer of neurons looking at the 784 pixels."""
    shape = tuple(w.shape)
    notes: list[str] = []
    if w.size == N_PIXELS and w.ndim <= 4 and (
        shape in ((N_PIXELS,), (N_PIXELS, 1), (1, N_PIXELS)) or shape[-2:] == (28, 28)
    ) and all(s == 1 for s in shape[:-2] if len(shape) > 2):
        weights = w.reshape(N_PIXELS)
        if shape[-2:] == (28, 28):
            notes.append("the 28×28 weights were read row by row, as images are flattened")
        if b is None:
            notes.append("no bias in the file: a neuron without bias (x·w)")
            return Mapped(ModelSpec(bias_mode=BiasMode.NONE), {"weights": weights}, source, notes)
        if b.size == 1:
            return Mapped(ModelSpec(bias_mode=BiasMode.SCALAR),
                          {"weights": weights, "bias": b.reshape(1)}, source, notes)
        if b.size == N_PIXELS:
            notes.append("784 biases: one per pixel, (x*w + b).sum()")
            return Mapped(ModelSpec(bias_mode=BiasMode.PER_PIXEL),
                          {"weights": weights, "bias": b.reshape(N_PIXELS)}, source, notes)
        raise Refused(
            f"the bias has shape {tuple(b.shape)}: one neuron needs one bias (shape (1,) "
            "or a 0-d tensor), or 784 (one per pixel)"
        )
    if w.size == 10 * N_PIXELS:
        if shape == (10, N_PIXELS):
            weights = w
        elif shape == (N_PIXELS, 10):
            weights = w.T  # the chapter's xb@weights layout: one column per neuron
            notes.append("weights (784, 10) read as xb@weights: one column per class")
        elif shape in ((10, 28, 28), (10, 1, 28, 28)):
            weights = w.reshape(10, N_PIXELS)
        else:
            raise Refused(
                f"weights of shape {shape}: ten neurons need (784, 10) for xb@weights, "
                "(10, 784) as in nn.Linear, or (10, 28, 28)"
            )
        if b is None or b.size != 10:
            got = "no bias" if b is None else f"a bias of shape {tuple(b.shape)}"
            raise Refused(f"ten neurons need ten biases, the file has {got}")
        return Mapped(ModelSpec(kind=ModelKind.LINEAR, n_outputs=10),
                      {"weights": np.ascontiguousarray(weights), "biases": b.reshape(10)},
                      source, notes)
    raise Refused(
        f"weights of shape {shape}: biasviz reads one neuron (784 weights: (784, 1), "
        "(1, 784), (784,) or 28×28) or ten ((784, 10) or (10, 784))"
    )


# -- two layers -----------------------------------------------------------------------------
def _activation_choice(activation: str | None, known: str | None, source: str,
                       notes: list[str]) -> tuple[str, bool]:
    """The hidden activation to use and whether it was assumed; refuses unsupported ones."""
    chosen = activation or known
    if chosen is not None and chosen not in SUPPORTED_ACTIVATIONS:
        raise Refused(
            f"its hidden layer uses {chosen}, but biasviz's MLP and CNN compute ReLU "
            "between their layers: the predictions would be wrong (not supported yet)"
        )
    if chosen is None:
        notes.append(
            f"the {source} does not say which activation follows the hidden layer (nn.ReLU "
            "and nn.Sigmoid have no parameters, so their state_dicts look the same): ReLU "
            "was assumed, as in the fastai chapter's simple_net; if the network used "
            "another one, biasviz's predictions differ from the notebook's"
        )
        return "relu", True
    return chosen, False


def _two_layers(first: tuple[np.ndarray, np.ndarray | None],
                second: tuple[np.ndarray, np.ndarray | None],
                torch_layout: bool, source: str, activation: str | None,
                known_activation: str | None) -> Mapped:
    (w1, b1), (w2, b2) = first, second
    if b1 is None or b2 is None:
        raise Refused("both layers need biases (biasviz's MLP and CNN have them)")
    notes: list[str] = []
    if w1.ndim == 4:  # Conv2d(1, C, K) then Linear(C*P*P, O): biasviz's CNN
        c, one, k, k2 = w1.shape
        if one != 1 or k != k2 or k not in (3, 5, 7) or not 1 <= c <= 64:
            raise Refused(
                f"the convolution has weights {tuple(w1.shape)}: biasviz's CNN has 1 to 64 "
                "kernels of 3×3, 5×5 or 7×7 on one input channel"
            )
        pooled = (28 - k + 1) // 2
        if w2.ndim != 2 or w2.shape[1] != c * pooled * pooled:
            raise Refused(
                f"the linear layer after the convolution has weights {tuple(w2.shape)}; "
                f"biasviz's CNN (conv, ReLU, 2×2 max-pool, flatten) needs ({{1 or 10}}, "
                f"{c * pooled * pooled})"
            )
        spec = ModelSpec(kind=ModelKind.CNN, channels=c, kernel=k, n_outputs=n_out(w2.shape))
        act, assumed = _activation_choice(activation, known_activation, source, notes)
        notes.append("a 2×2 max-pool and a flatten were assumed between the layers "
                     "(the input size fits them)")
        return Mapped(spec, {"conv.weights": w1, "conv.biases": b1.reshape(-1),
                             "output.weights": w2, "output.biases": b2.reshape(-1)},
                      source, notes, act, assumed)
    if w1.ndim != 2 or w2.ndim != 2 or N_PIXELS not in w1.shape:
        raise Refused(
            f"layers of shapes {tuple(w1.shape)} and {tuple(w2.shape)}: biasviz's MLP needs "
            "784 inputs, one hidden layer and 1 or 10 outputs"
        )
    if torch_layout:
        hidden_w, output_w = w1, w2
    elif w1.shape == (N_PIXELS, N_PIXELS):
        raise Refused(
            "the first layer is 784×784, so it cannot tell whether it is used as x@w1 or "
            "as nn.Linear's (out, in) weight; " + HOW_TO_SAVE
        )
    elif w1.shape[0] == N_PIXELS:  # xb@w1: (784, H), then (H, O)
        hidden_w, output_w = w1.T, w2.T
        notes.append("weights read as the chapter's xb@w1 (784 rows), and w2 the same way")
    else:
        hidden_w, output_w = w1, w2
    hidden = hidden_w.shape[0]
    if hidden_w.shape[1] != N_PIXELS or output_w.shape[1] != hidden:
        raise Refused(
            f"the layers' shapes {tuple(w1.shape)} and {tuple(w2.shape)} do not chain: "
            "784 → hidden → outputs"
        )
    if b1.size != hidden or b2.size != output_w.shape[0]:
        raise Refused(
            f"the biases' shapes {tuple(b1.shape)} and {tuple(b2.shape)} do not match the "
            f"layers ({hidden} hidden, {output_w.shape[0]} output neurons)"
        )
    if not 1 <= hidden <= 4096:
        raise Refused(f"the hidden layer has {hidden} neurons; biasviz shows 1 to 4096")
    spec = ModelSpec(kind=ModelKind.MLP, hidden=hidden, n_outputs=n_out(output_w.shape))
    act, assumed = _activation_choice(activation, known_activation, source, notes)
    return Mapped(spec, {"hidden.weights": np.ascontiguousarray(hidden_w),
                         "hidden.biases": b1.reshape(-1),
                         "output.weights": np.ascontiguousarray(output_w),
                         "output.biases": b2.reshape(-1)}, source, notes, act, assumed)


# -- entry points ---------------------------------------------------------------------------
def strip_wrappers(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keys without the prefixes DataParallel, Lightning and torch.compile add."""
    out = dict(arrays)
    changed = True
    while changed and out:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in out):
                out = {k[len(prefix):]: v for k, v in out.items()}
                changed = True
    return out


def _layers(arrays: Mapping[str, np.ndarray]) -> list[tuple[int, np.ndarray, np.ndarray | None]]:
    """(index, weight, bias) of each numbered layer, in index order; [] if not numbered."""
    layers: dict[int, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        m = _LAYER_KEY.match(key)
        if m is None:
            return []
        layers.setdefault(int(m.group(1)), {})[m.group(2)] = value
    out = []
    for index in sorted(layers):
        parts = layers[index]
        if "weight" not in parts:
            raise Refused(f"layer {index} has a bias but no weight")
        out.append((index, parts["weight"], parts.get("bias")))
    return out


def _raw_layers(arrays: Mapping[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """w1, b1, w2, b2 (any of the usual spellings) in layer order; [] if not so named."""
    weights: dict[int, np.ndarray] = {}
    biases: dict[int, np.ndarray] = {}
    for key, value in arrays.items():
        if m := _RAW_WEIGHT.match(key):
            weights[int(m.group(1))] = value
        elif m := _RAW_BIAS.match(key):
            biases[int(m.group(1))] = value
        else:
            return []
    if not weights or set(biases) - set(weights):
        return []
    return [(weights[i], biases.get(i)) for i in sorted(weights)]


def map_named(arrays: Mapping[str, np.ndarray], source: str,
              activation: str | None = None, known_activation: str | None = None) -> Mapped:
    """A model from named arrays (an .npz, a dict of tensors, a state_dict)."""
    arrays = strip_wrappers(arrays)
    keys = set(arrays)
    if not keys:
        raise Refused("it holds no arrays")
    single = [k for k in _WEIGHT_NAMES if k in keys]
    bias = [k for k in _BIAS_NAMES if k in keys]
    if keys and keys <= BIASVIZ_NAMES and (keys & {"biases", "hidden.weights", "conv.weights",
                                                   "output.weights"}):
        if "weights" in keys and keys <= {"weights", "biases"}:  # a linear layer, any layout
            return _dense(arrays["weights"], arrays.get("biases"), source)
        spec = infer_spec({k: a.shape for k, a in arrays.items()})
        return Mapped(spec, dict(arrays), source,
                      ["model inferred from the parameter names and shapes"],
                      "relu" if spec.kind in (ModelKind.MLP, ModelKind.CNN) else None)
    if len(single) == 1 and len(bias) <= 1 and keys == set(single) | set(bias):
        return _dense(arrays[single[0]], arrays[bias[0]] if bias else None, source)
    layers = _layers(arrays)
    if layers:
        source = "nn.Sequential state_dict" if len(layers) > 1 or layers[0][0] else source
        if len(layers) == 1:
            return _dense(layers[0][1], layers[0][2], source)
        if len(layers) == 2:
            (i1, w1, b1), (i2, w2, b2) = layers
            if i2 - i1 == 1 and w1.ndim == 2:
                raise Refused(
                    f"layers {i1} and {i2} follow each other with nothing between them (no "
                    "activation): biasviz's MLP has a ReLU between its two layers"
                )
            return _two_layers((w1, b1), (w2, b2), True, source, activation, known_activation)
        raise Refused(
            f"it has {len(layers)} layers with parameters; biasviz shows one layer, an MLP "
            "with one hidden layer, or its small CNN (conv + linear)"
        )
    raw = _raw_layers(arrays)
    if raw:
        if len(raw) == 1:
            return _dense(raw[0][0], raw[0][1], source)
        if len(raw) == 2:
            return _two_layers(raw[0], raw[1], False, source, activation, known_activation)
        raise Refused(f"it has {len(raw)} layers; biasviz shows at most one hidden layer")
    found = ", ".join(sorted(keys)[:12]) + (", …" if len(keys) > 12 else "")
    raise Refused(
        f"unrecognised names ({found}): cannot tell which arrays are weights and which "
        f"biases; {HOW_TO_SAVE}"
    )


def map_sequence(arrays: Sequence[np.ndarray], source: str,
                 activation: str | None = None) -> Mapped:
    """A model from arrays in order: (weights, bias), [weights] or (w1, b1, w2, b2)."""
    n = len(arrays)
    if n == 1:
        return _dense(arrays[0], None, source)
    if n == 2:
        return _dense(arrays[0], arrays[1], source)
    if n == 4:
        return _two_layers((arrays[0], arrays[1]), (arrays[2], arrays[3]), False, source,
                           activation, None)
    raise Refused(
        f"it holds {n} arrays in a row; biasviz reads (weights, bias), (weights,) or "
        f"(w1, b1, w2, b2); {HOW_TO_SAVE}"
    )


# -- objects in memory (a notebook's variables) ----------------------------------------------
_ACTIVATION_MODULES = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "GELU": "gelu",
                       "LeakyReLU": "leaky_relu", "ELU": "elu", "SiLU": "silu",
                       "Softplus": "softplus"}


def _as_array(name: str, value: object) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().float().numpy()  # type: ignore[attr-defined]
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise Refused(f"{name} holds {a.dtype} values, not numbers")
    return a


def model_file_from_objects(obj: object, activation: str | None = None) -> ModelFile:
    """A :class:`ModelFile` from a notebook's objects, without saving a file.

    ``obj`` is a torch module (its state_dict; the activation is read from its nn.ReLU /
    nn.Sigmoid children when it has them), a tuple or list of tensors or arrays
    (``(weights, bias)``, ``(w1, b1, w2, b2)``), a dict of them, or a ModelFile (returned
    as is).  Raises :class:`~biasviz.core.errors.ParamFileError` like an import.
    """
    from biasviz.core.errors import ConfigError, ParamFileError
    from biasviz.core.paramfiles.infer import finish

    if isinstance(obj, ModelFile):
        return obj
    try:
        act = normalise_activation(activation)
        known = None
        if hasattr(obj, "state_dict") and hasattr(obj, "modules"):  # an nn.Module
            found = {_ACTIVATION_MODULES[type(m).__name__] for m in obj.modules()  # type: ignore[attr-defined]
                     if type(m).__name__ in _ACTIVATION_MODULES}
            known = found.pop() if len(found) == 1 else None
            state = obj.state_dict()  # type: ignore[attr-defined]
            mapped = map_named({k: _as_array(k, v) for k, v in state.items()},
                               f"{type(obj).__name__} module", act, known)
        elif isinstance(obj, Mapping):
            mapped = map_named({str(k): _as_array(str(k), v) for k, v in obj.items()},
                               "dict of tensors", act)
        elif isinstance(obj, list | tuple):
            mapped = map_sequence([_as_array(f"item {i}", v) for i, v in enumerate(obj)],
                                  f"{type(obj).__name__} of tensors", act)
        else:
            raise Refused(
                f"a {type(obj).__name__} is not a model: pass an nn.Module, "
                "(weights, bias) or a dict of tensors"
            )
        meta = inferred_metadata(mapped.spec, "model inferred from the notebook's objects")
        meta.update(mapped.metadata())
        return finish(mapped.spec, mapped.params, meta)
    except (Refused, ConfigError) as exc:
        raise ParamFileError(f"cannot show this model: {exc}") from exc
