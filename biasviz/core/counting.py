"""Counting weights and biases, with and without weight sharing (seed 001).

A neuron has one weight per input and one bias.  A convolution layer is a grid of such
neurons, one per output position and filter, each looking at a small F×F×C patch.  With
weight sharing every position uses its filter's one kernel and one bias, so the count
is ``filters × (F·F·C + 1)`` whatever the image size.  Without sharing every output has
weights and a bias of its own: ``outputs × (F·F·C + 1)``, which grows with the image.

The output side of a convolution is ``(W − F + 2P)/S + 1`` (input W, filter F, padding
P, stride S); when that is not a whole number the filter does not tile the input and
:func:`conv_output_size` says so.

Torch-free and Qt-free: the lesson widget uses it on the GUI thread.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from biasviz.core.errors import ConfigError
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec


def _whole(value: object, what: str) -> int:
    """``value`` as an int, or a ConfigError naming ``what`` (no bools, no floats)."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a whole number, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        raise ConfigError(f"{what} must be a whole number, got {value!r}") from None


def _decimal(q: Fraction) -> str:
    """A fraction as a short decimal: 44.2, 30.857… (exact when it has ≤ 4 decimals)."""
    for digits in range(5):
        if (q * 10**digits).denominator == 1:
            return f"{float(q):.{digits}f}"
    return f"{float(q):.3f}…"


def conv_output_size(
    size: int, filter_size: int, padding: int = 0, stride: int = 1, *, name: str = "side"
) -> int:
    """Output side of a convolution: ``(W − F + 2P)/S + 1``.

    ``size`` W is the input's width (or height), ``filter_size`` F the kernel's side,
    ``padding`` P the zeros added on each edge, ``stride`` S the step between positions.
    ``name`` ("width", "height") is only used in messages.

    Raises :class:`ConfigError` when the numbers make no sense (negative padding,
    stride < 1, a filter bigger than the padded input) or when the filter does not tile
    the input exactly, i.e. the formula gives a fraction.
    """
    w = _whole(size, f"input {name}")
    f = _whole(filter_size, "filter size")
    p = _whole(padding, "padding")
    s = _whole(stride, "stride")
    if w < 1:
        raise ConfigError(f"input {name} must be at least 1 pixel, got {w}")
    if f < 1:
        raise ConfigError(f"filter size must be at least 1 pixel, got {f}")
    if p < 0:
        raise ConfigError(
            f"padding is a number of zero pixels added on each edge: it can't be negative, got {p}"
        )
    if s < 1:
        raise ConfigError(
            f"stride is how many pixels the filter moves each step: it must be at least 1, got {s}"
        )
    padded = w + 2 * p
    if f > padded:
        raise ConfigError(
            f"a {f}×{f} filter does not fit in the input {name}: {w} + 2×{p} padding = "
            f"{padded} pixels < {f}. Use a smaller filter or more padding."
        )
    span = padded - f  # how far the filter's left edge travels
    steps, leftover = divmod(span, s)
    if leftover:
        exact = Fraction(span, s) + 1
        fitting = [d for d in range(1, min(span, 2 * s + 2) + 1) if span % d == 0]
        nearest = sorted(sorted(fitting, key=lambda d: (abs(d - s), d))[:4])
        hint = f"Strides that fit: {', '.join(map(str, nearest))}"
        # A padding that fits this stride, if there is one within one stride's reach.
        for p2 in range(p + 1, p + s + 1):
            if (w + 2 * p2 - f) % s == 0:
                hint += f"; or padding {p2}"
                break
        sizes = [x for x in (w - leftover, w + s - leftover) if x + 2 * p >= f and x >= 1]
        hint += f"; or an input {name} of {' or '.join(map(str, sizes))}"
        raise ConfigError(
            f"the filter does not tile the input {name} with this stride and padding: "
            f"({w} − {f} + 2×{p})/{s} + 1 = {span}/{s} + 1 = {_decimal(exact)}, not a whole "
            f"number. After {steps} steps of {s} pixels, {leftover} pixel"
            f"{'s are' if leftover > 1 else ' is'} left over at the edge. {hint}. "
            f"(PyTorch would round down and silently skip the leftover pixels.)"
        )
    return steps + 1


def side_working(size: int, filter_size: int, padding: int = 0, stride: int = 1) -> str:
    """``(W − F + 2P) / S + 1`` written out with the numbers, ending with the result, or
    with a ✗ and the reason when the numbers do not make a valid layer."""
    w, f, p, s = size, filter_size, padding, stride
    text = f"({w} − {f} + 2×{p}) / {s} + 1"
    if s < 1:
        return f"{text}   ✗ the stride must be at least 1"
    span = w - f + 2 * p
    text += f" = {span}/{s} + 1"
    if span < 0:
        return f"{text}   ✗ the filter is bigger than the padded input"
    exact = Fraction(span, s) + 1
    if exact.denominator != 1:
        return f"{text} = {_decimal(exact)}   ✗ not a whole number"
    return f"{text} = {exact.numerator}"


@dataclass(frozen=True)
class ConvCount:
    """One convolution layer's output size and parameter counts, with and without
    weight sharing.

    Inputs: ``width``, ``height``, ``in_channels`` (C), ``filters`` (K), ``filter_size``
    (F), ``padding`` (P), ``stride`` (S).  ``out_width`` and ``out_height`` are computed;
    construction raises :class:`ConfigError` when the filter does not tile the input.
    """

    width: int
    height: int
    in_channels: int
    filters: int
    filter_size: int
    padding: int = 0
    stride: int = 1
    out_width: int = field(init=False)
    out_height: int = field(init=False)

    def __post_init__(self) -> None:
        for name in ("in_channels", "filters"):
            value = _whole(getattr(self, name), name.replace("_", " "))
            if value < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be at least 1, got {value}")
            object.__setattr__(self, name, value)
        ow = conv_output_size(self.width, self.filter_size, self.padding, self.stride, name="width")
        oh = conv_output_size(
            self.height, self.filter_size, self.padding, self.stride, name="height"
        )
        for name in ("width", "height", "filter_size", "padding", "stride"):
            object.__setattr__(self, name, _whole(getattr(self, name), name))
        object.__setattr__(self, "out_width", ow)
        object.__setattr__(self, "out_height", oh)

    # -- outputs ------------------------------------------------------------------------
    @property
    def positions(self) -> int:
        """How many places each filter is applied: out_width × out_height."""
        return self.out_width * self.out_height

    @property
    def n_outputs(self) -> int:
        """Numbers the layer produces: out_width × out_height × filters."""
        return self.positions * self.filters

    @property
    def kernel_weights(self) -> int:
        """Weights of one filter (one neuron looking at one patch): F × F × C."""
        return self.filter_size * self.filter_size * self.in_channels

    # -- with sharing: one kernel and one bias per filter, reused at every position ---
    @property
    def shared_weights(self) -> int:
        return self.filters * self.kernel_weights

    @property
    def shared_biases(self) -> int:
        return self.filters

    @property
    def shared_total(self) -> int:
        return self.shared_weights + self.shared_biases

    # -- without sharing: every output position has its own weights and bias ---------
    @property
    def unshared_weights(self) -> int:
        return self.n_outputs * self.kernel_weights

    @property
    def unshared_biases(self) -> int:
        return self.n_outputs

    @property
    def unshared_total(self) -> int:
        return self.unshared_weights + self.unshared_biases

    @property
    def ratio(self) -> float:
        """How many times more parameters without sharing (always = ``positions``)."""
        return self.unshared_total / self.shared_total

    def working(self) -> list[str]:
        """The arithmetic, step by step, one line per step."""
        w, h, c = self.width, self.height, self.in_channels
        k, f, p, s = self.filters, self.filter_size, self.padding, self.stride
        ow, oh, kw = self.out_width, self.out_height, self.kernel_weights

        lines = [
            "Output size: (W − F + 2P) / S + 1",
            f"  width   = {side_working(w, f, p, s)}",
            f"  height  = {side_working(h, f, p, s)}",
            f"  outputs = {ow} × {oh} positions × {k} filters = {self.n_outputs:,}",
            "",
            f"One filter sees an F×F×C patch: {f}×{f}×{c} = {kw:,} inputs,",
            f"  so it has {kw:,} weights (one per input) and 1 bias.",
            "",
            "With weight sharing (one kernel per filter, used everywhere):",
            f"  weights = {k} filters × {kw:,} = {self.shared_weights:,}",
            f"  biases  = {k} (one per filter)",
            f"  total   = {k} × ({kw:,} + 1) = {self.shared_total:,}",
            "",
            "Without sharing (own weights and bias for every output):",
            f"  weights = {self.n_outputs:,} outputs × {kw:,} = {self.unshared_weights:,}",
            f"  biases  = {self.n_outputs:,} (one per output)",
            f"  total   = {self.n_outputs:,} × ({kw:,} + 1) = {self.unshared_total:,}",
            "",
            f"Ratio: {self.unshared_total:,} / {self.shared_total:,} = {self.positions:,}"
            f" = {ow} × {oh} positions",
        ]
        return lines


# -- presets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvPreset:
    """A first convolution layer from a published network (or biasviz's own)."""

    key: str
    label: str
    width: int
    height: int
    in_channels: int
    filters: int
    filter_size: int
    padding: int
    stride: int
    source: str  # where the figures come from, one or two sentences for the user

    def values(self) -> dict[str, int]:
        """The calculator's inputs, by ConvCount field name."""
        return {
            "width": self.width,
            "height": self.height,
            "in_channels": self.in_channels,
            "filters": self.filters,
            "filter_size": self.filter_size,
            "padding": self.padding,
            "stride": self.stride,
        }

    def count(self) -> ConvCount:
        return ConvCount(**self.values())


# LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document
# recognition", Sec. II-B: C1 has six 28×28 feature maps, each unit connected to a 5×5
# neighbourhood of the 32×32 input; "C1 contains 156 trainable parameters, and 122,304
# connections".  Checked against the per-layer tables quoted from the paper in several
# public write-ups (e.g. Y. Gultom, "Understanding LeNet (LeCun, 1998)", 2016:
# (5·5·1 + 1)·6 = 156 and (5·5 + 1)·6·28·28 = 122,304).  Without sharing every
# connection would be a parameter of its own, so 122,304 is also the unshared count.
LENET5_C1 = ConvPreset(
    key="lenet5_c1",
    label="LeNet-5, layer C1 (LeCun et al., 1998)",
    width=32,
    height=32,
    in_channels=1,
    filters=6,
    filter_size=5,
    padding=0,
    stride=1,
    source=(
        "LeCun et al. 1998, §II-B: six 5×5 kernels on a 32×32 input → 28×28×6; “C1 "
        "contains 156 trainable parameters, and 122,304 connections”. Without sharing, "
        "every connection would be a parameter of its own."
    ),
)

# Krizhevsky, Sutskever & Hinton (2012): conv1 has 96 kernels of 11×11×3, stride 4.  The
# paper says the input is 224×224, but (224 − 11)/4 + 1 is not whole; 227×227 gives
# 55×55.  Figures checked against Stanford CS231n's notes "Convolutional Neural Networks"
# (cs231n.github.io/convolutional-networks, section "Parameter Sharing"): 55·55·96 =
# 290,400 neurons, each 11·11·3 = 363 weights + 1 bias → 290,400 × 364 = 105,705,600
# parameters without sharing; with sharing 96·11·11·3 = 34,848 weights, 34,944
# parameters with the 96 biases (the same 34,944 Keras prints for Conv2D(96, 11, 4)).
ALEXNET_CONV1 = ConvPreset(
    key="alexnet_conv1",
    label="AlexNet, conv1 (Krizhevsky et al., 2012)",
    width=227,
    height=227,
    in_channels=3,
    filters=96,
    filter_size=11,
    padding=0,
    stride=4,
    source=(
        "Krizhevsky et al. 2012: 96 kernels 11×11×3, stride 4 → 55×55×96. The paper says "
        "224×224, which does not tile (try it); 227×227 does. Stanford CS231n: 34,944 "
        "parameters with sharing, 105,705,600 without."
    ),
)


def biasviz_cnn_preset(spec: ModelSpec | None = None) -> ConvPreset:
    """biasviz's Small CNN conv layer: 28×28×1 digits, ``channels`` kernels K×K, stride 1,
    no padding.  Uses ``spec``'s channels and kernel when it is a CNN, else the defaults."""
    if spec is None or spec.kind is not ModelKind.CNN:
        spec = ModelSpec(kind=ModelKind.CNN, n_outputs=10)
    c, k = int(spec.channels), int(spec.kernel)
    return ConvPreset(
        key="biasviz_cnn",
        label="biasviz Small CNN (this app)",
        width=28,
        height=28,
        in_channels=1,
        filters=c,
        filter_size=k,
        padding=0,
        stride=1,
        source=(
            f"The convolution layer of this app's Small CNN: {c} kernels of {k}×{k} on the "
            "28×28 MNIST digit, stride 1, no padding (change them in the Training panel)."
        ),
    )


def presets(spec: ModelSpec | None = None) -> list[ConvPreset]:
    """The calculator's presets: LeNet-5 C1, AlexNet conv1, biasviz's CNN."""
    return [LENET5_C1, ALEXNET_CONV1, biasviz_cnn_preset(spec)]


# -- a model's parameters, layer by layer ---------------------------------------------
@dataclass(frozen=True)
class ParamRow:
    """One row of a parameter table: a layer (or the total) and how it is counted."""

    layer: str  # the spec's layer name ("hidden", "conv", ...) or "total"
    label: str  # for people: "hidden layer"
    weights: int
    biases: int
    weights_how: str = ""  # "32 neurons × 784 inputs"
    biases_how: str = ""  # "one per neuron"

    @property
    def total(self) -> int:
        return self.weights + self.biases


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _describe_layer(spec: ModelSpec, layer: str) -> tuple[str, str, str]:
    """(label, weights_how, biases_how) for one layer of ``spec``."""
    shapes = spec.param_shapes()
    if spec.kind is ModelKind.SINGLE:
        how_b = {
            BiasMode.SCALAR: "one bias for the neuron",
            BiasMode.PER_PIXEL: "one per pixel (they act only through their sum)",
            BiasMode.NONE: "no bias",
        }[spec.bias_mode]
        return "neuron", "1 neuron × 784 inputs (pixels)", how_b
    if spec.kind is ModelKind.CNN and layer == "conv":
        c, _, k, _ = shapes["conv.weights"]
        return (
            "convolution",
            f"{_plural(c, 'kernel')} × {k}×{k}, shared by all positions",
            "one per kernel",
        )
    key = "weights" if spec.kind is ModelKind.LINEAR else f"{layer}.weights"
    n_out, n_in = shapes[key]
    inputs = f"{n_in:,} inputs"
    if spec.kind is ModelKind.CNN:
        p = spec.pooled_side
        inputs += f" ({spec.channels} maps × {p}×{p} pooled)"
    elif layer == "hidden" or spec.kind is ModelKind.LINEAR:
        inputs += " (pixels)"
    else:
        inputs += " (hidden neurons)"
    return (
        "hidden layer" if layer == "hidden" else "output layer",
        f"{_plural(n_out, 'neuron')} × {inputs}",
        "one per neuron",
    )


def model_table(spec: ModelSpec) -> list[ParamRow]:
    """Each layer's weights and biases (from ``spec.layer_counts()``), then the total row."""
    rows = []
    for count in spec.layer_counts():
        label, how_w, how_b = _describe_layer(spec, count.layer)
        rows.append(ParamRow(count.layer, label, count.weights, count.biases, how_w, how_b))
    rows.append(
        ParamRow(
            "total",
            "total",
            sum(r.weights for r in rows),
            sum(r.biases for r in rows),
            "every layer's weights",
            "every layer's biases",
        )
    )
    return rows


def params_size(params: dict[str, np.ndarray]) -> int:
    """What torch's ``sum(p.numel() for p in model.parameters())`` gives, computed from a
    snapshot's numpy arrays (``a.size`` is ``numel``)."""
    return int(sum(int(np.asarray(a).size) for a in params.values()))
