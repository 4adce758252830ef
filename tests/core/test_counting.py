"""Counting weights and biases, with and without weight sharing (seed 001)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from biasviz.core.counting import (
    ALEXNET_CONV1,
    LENET5_C1,
    ConvCount,
    biasviz_cnn_preset,
    conv_output_size,
    model_table,
    params_size,
    presets,
    side_working,
)
from biasviz.core.errors import ConfigError
from biasviz.core.models import build_model, count_parameters, snapshot_params
from biasviz.core.spec import ModelSpec

ROOT = Path(__file__).resolve().parents[2]


# -- output size ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "f", "p", "s", "out"),
    [
        (28, 5, 0, 1, 24),  # biasviz's CNN
        (32, 5, 0, 1, 28),  # LeNet-5 C1
        (227, 11, 0, 4, 55),  # AlexNet conv1
        (32, 5, 2, 1, 32),  # "same" padding
        (7, 3, 0, 2, 3),  # CS231n's 7x7 example
        (7, 3, 0, 1, 5),
        (5, 5, 0, 1, 1),  # the filter covers the whole input: one position
        (5, 7, 1, 1, 1),  # padding lets a bigger filter fit
        (1, 1, 0, 1, 1),
    ],
)
def test_conv_output_size(size, f, p, s, out):
    assert conv_output_size(size, f, p, s) == out


def test_conv_output_size_matches_torch_when_it_tiles():
    for size, f, p, s in [(28, 5, 0, 1), (32, 3, 1, 1), (227, 11, 0, 4), (13, 3, 1, 2)]:
        conv = torch.nn.Conv2d(1, 1, f, stride=s, padding=p)
        out = conv(torch.zeros(1, 1, size, size))
        assert out.shape[-1] == conv_output_size(size, f, p, s)


def test_a_filter_that_does_not_tile_is_a_clear_error():
    with pytest.raises(ConfigError) as err:
        conv_output_size(10, 3, 0, 2, name="width")
    msg = str(err.value)
    assert "does not tile" in msg and "width" in msg
    assert "7/2 + 1 = 4.5" in msg and "not a whole number" in msg
    assert "1 pixel is left over" in msg


def test_the_alexnet_paper_224_does_not_tile_and_the_message_suggests_227():
    with pytest.raises(ConfigError) as err:
        conv_output_size(224, 11, 0, 4)
    msg = str(err.value)
    assert "213/4 + 1 = 54.25" in msg
    assert "227" in msg  # a size that fits
    assert "Strides that fit: 1, 3" in msg


def test_torch_rounds_down_where_we_refuse():
    # The message says PyTorch would silently drop the leftover pixels: check that claim.
    out = torch.nn.Conv2d(1, 1, 11, stride=4)(torch.zeros(1, 1, 224, 224))
    assert out.shape[-1] == 54


def test_suggested_fixes_really_fit():
    with pytest.raises(ConfigError) as err:
        conv_output_size(227, 11, 0, 5)
    msg = str(err.value)
    assert "Strides that fit: 2, 3, 4, 6" in msg and "padding 2" in msg
    for stride in (2, 3, 4, 6):
        conv_output_size(227, 11, 0, stride)
    conv_output_size(227, 11, 2, 5)
    conv_output_size(226, 11, 0, 5)
    conv_output_size(231, 11, 0, 5)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((5, 7, 0, 1), "does not fit"),  # F > W + 2P
        ((28, 5, 0, 0), "stride"),
        ((28, 5, 0, -2), "stride"),
        ((28, 5, -1, 1), "negative"),
        ((0, 1, 0, 1), "at least 1"),
        ((-28, 5, 0, 1), "at least 1"),
        ((28, 0, 0, 1), "filter size"),
        ((28, 2.5, 0, 1), "whole number"),
        ((28, 5, 0, True), "whole number"),
        ((28, "5", 0, 1), "whole number"),
    ],
)
def test_nonsense_is_a_config_error(args, words):
    with pytest.raises(ConfigError, match=words):
        conv_output_size(*args)


def test_side_working_shows_the_arithmetic_and_what_is_wrong():
    assert side_working(227, 11, 0, 4) == "(227 − 11 + 2×0) / 4 + 1 = 216/4 + 1 = 55"
    assert side_working(224, 11, 0, 4).endswith("= 54.25   ✗ not a whole number")
    assert "bigger than the padded input" in side_working(5, 7, 0, 1)
    assert "at least 1" in side_working(5, 3, 0, 0)


# -- published figures -----------------------------------------------------------------
def test_lenet5_c1_matches_the_paper():
    # LeCun et al. 1998: 28x28x6 maps, "156 trainable parameters, and 122,304 connections"
    c = LENET5_C1.count()
    assert (c.out_width, c.out_height, c.filters) == (28, 28, 6)
    assert c.n_outputs == 4704
    assert c.shared_weights == 150 and c.shared_biases == 6
    assert c.shared_total == 156 == 6 * (25 + 1)
    assert c.unshared_total == 122_304 == 28 * 28 * 6 * (25 + 1)
    assert c.unshared_biases == 4704


def test_alexnet_conv1_matches_the_published_figures():
    # Krizhevsky et al. 2012 / CS231n: 55x55x96 = 290,400 outputs; 34,944 with sharing,
    # 290,400 x 364 = 105,705,600 without.
    c = ALEXNET_CONV1.count()
    assert (c.out_width, c.out_height, c.filters) == (55, 55, 96)
    assert c.n_outputs == 290_400
    assert c.kernel_weights == 363
    assert c.shared_weights == 34_848 and c.shared_biases == 96
    assert c.shared_total == 34_944
    assert c.unshared_weights == 105_415_200 and c.unshared_biases == 290_400
    assert c.unshared_total == 105_705_600


def test_shared_counts_equal_torch_conv2d():
    for preset in (LENET5_C1, ALEXNET_CONV1):
        conv = torch.nn.Conv2d(
            preset.in_channels,
            preset.filters,
            preset.filter_size,
            stride=preset.stride,
            padding=preset.padding,
        )
        assert sum(p.numel() for p in conv.parameters()) == preset.count().shared_total


def test_ratio_is_the_number_of_positions():
    for c in (LENET5_C1.count(), ALEXNET_CONV1.count(), ConvCount(9, 7, 2, 3, 3, 1, 2)):
        assert c.unshared_total == c.positions * c.shared_total
        assert c.ratio == pytest.approx(c.positions)
    assert ConvCount(5, 5, 1, 4, 5).ratio == 1  # one position: nothing to share


def test_rectangular_input():
    c = ConvCount(width=40, height=20, in_channels=3, filters=2, filter_size=5, padding=0, stride=5)
    assert (c.out_width, c.out_height) == (8, 4)
    assert c.n_outputs == 8 * 4 * 2
    assert c.unshared_weights == 64 * 75


def test_conv_count_rejects_bad_numbers():
    with pytest.raises(ConfigError, match="height"):
        ConvCount(227, 224, 3, 96, 11, 0, 4)
    with pytest.raises(ConfigError, match="filters"):
        ConvCount(28, 28, 1, 0, 5)
    with pytest.raises(ConfigError, match="in channels"):
        ConvCount(28, 28, 0, 8, 5)


def test_working_writes_out_every_step():
    lines = ALEXNET_CONV1.count().working()
    text = "\n".join(lines)
    assert "(227 − 11 + 2×0) / 4 + 1 = 216/4 + 1 = 55" in text
    assert "55 × 55 positions × 96 filters = 290,400" in text
    assert "11×11×3 = 363" in text
    assert "96 filters × 363 = 34,848" in text
    assert "96 × (363 + 1) = 34,944" in text
    assert "290,400 outputs × 363 = 105,415,200" in text
    assert "290,400 × (363 + 1) = 105,705,600" in text
    assert "105,705,600 / 34,944 = 3,025" in text
    assert all(len(line) <= 72 for line in lines)  # fits the lesson's text box


def test_presets_and_the_biasviz_cnn_preset():
    assert [p.key for p in presets()] == ["lenet5_c1", "alexnet_conv1", "biasviz_cnn"]
    default = biasviz_cnn_preset()
    assert (default.width, default.in_channels, default.filters, default.filter_size) == (
        28,
        1,
        8,
        5,
    )
    spec = ModelSpec(kind="cnn", n_outputs=10, channels=6, kernel=3)
    preset = biasviz_cnn_preset(spec)
    assert (preset.filters, preset.filter_size, preset.stride, preset.padding) == (6, 3, 1, 0)
    count = preset.count()
    assert count.out_width == spec.conv_out_side == 26
    conv = build_model(spec).conv
    assert sum(p.numel() for p in conv.parameters()) == count.shared_total
    assert biasviz_cnn_preset(ModelSpec()) == default  # not a CNN: the defaults


# -- a model's table -------------------------------------------------------------------
SPECS = [
    ModelSpec(kind="single", bias_mode="scalar"),
    ModelSpec(kind="single", bias_mode="per_pixel"),
    ModelSpec(kind="single", bias_mode="none"),
    ModelSpec(kind="linear", n_outputs=10),
    ModelSpec(kind="mlp", n_outputs=10, hidden=32),
    ModelSpec(kind="mlp", n_outputs=1, hidden=7),
    ModelSpec(kind="cnn", n_outputs=10),
    ModelSpec(kind="cnn", n_outputs=1, channels=3, kernel=7),
]


@pytest.mark.parametrize(
    "spec", SPECS, ids=lambda s: f"{s.kind.value}-{s.bias_mode.value}-{s.n_outputs}"
)
def test_model_table_equals_torch(spec):
    model = build_model(spec)
    rows = model_table(spec)
    total = rows[-1]
    assert total.layer == "total"
    assert total.weights == sum(r.weights for r in rows[:-1])
    assert total.biases == sum(r.biases for r in rows[:-1])
    assert total.total == count_parameters(model)
    assert params_size(snapshot_params(model)) == count_parameters(model)
    # each layer's row equals torch's count of that layer's parameters
    by_layer: dict[str, list[int]] = {}
    for name, p in model.named_parameters():
        layer, _, kind = name.rpartition(".")
        entry = by_layer.setdefault(layer or rows[0].layer, [0, 0])
        entry[0 if kind.startswith("weight") else 1] += p.numel()
    assert {r.layer: [r.weights, r.biases] for r in rows[:-1]} == by_layer
    for r in rows:
        assert r.label and r.weights_how and r.biases_how


def test_model_table_explains_the_numbers():
    rows = model_table(ModelSpec(kind="mlp", n_outputs=10, hidden=32))
    assert (rows[0].weights, rows[0].biases) == (32 * 784, 32)
    assert rows[0].weights_how == "32 neurons × 784 inputs (pixels)"
    assert rows[1].weights_how == "10 neurons × 32 inputs (hidden neurons)"
    assert rows[1].biases_how == "one per neuron"
    cnn = model_table(ModelSpec(kind="cnn", n_outputs=10))
    assert cnn[0].weights_how == "8 kernels × 5×5, shared by all positions"
    assert "8 maps × 12×12" in cnn[1].weights_how
    single = model_table(ModelSpec(bias_mode="none"))
    assert single[0].biases == 0 and single[0].biases_how == "no bias"


def test_params_size_counts_array_entries():
    params = {"a": np.zeros((3, 4)), "b": np.zeros(5), "c": np.zeros((2, 1, 3, 3))}
    assert params_size(params) == 12 + 5 + 18
    assert params_size({}) == 0


def test_counting_imports_neither_qt_nor_torch():
    code = (
        "import sys, biasviz.core.counting\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    loaded = set(out.stdout.split())
    assert "biasviz" in loaded
    assert not loaded & {"torch", "PySide6", "pyqtgraph", "shiboken6"}
