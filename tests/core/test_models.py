"""Models: shapes, names, initialization, counts, and the torch/numpy forward passes agree."""

import numpy as np
import pytest
import torch

from biasviz.core.errors import ConfigError
from biasviz.core.models import build_model, count_parameters, load_params, snapshot_params
from biasviz.core.spec import (
    BiasMode,
    InitKind,
    ModelKind,
    ModelSpec,
    effective_bias,
    first_layer,
    numpy_logits,
    total_parameters,
    validate_params,
)

SPECS = [
    ModelSpec(kind="single", bias_mode="scalar"),
    ModelSpec(kind="single", bias_mode="per_pixel"),
    ModelSpec(kind="single", bias_mode="none"),
    ModelSpec(kind="linear", n_outputs=10),
    ModelSpec(kind="mlp", hidden=16, n_outputs=1),
    ModelSpec(kind="mlp", hidden=16, n_outputs=10),
    ModelSpec(kind="cnn", channels=4, kernel=5, n_outputs=10),
    ModelSpec(kind="cnn", channels=2, kernel=3, n_outputs=1),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_parameter_names_and_shapes_follow_the_spec(spec):
    model = build_model(spec)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes == spec.param_shapes()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_counts_match_torch(spec):
    model = build_model(spec)
    assert total_parameters(spec) == count_parameters(model)
    assert sum(c.weights for c in spec.layer_counts()) + sum(
        c.biases for c in spec.layer_counts()
    ) == sum(p.numel() for p in model.parameters())


def test_counts_per_layer():
    counts = {c.layer: (c.weights, c.biases) for c in ModelSpec(kind="mlp", hidden=30).layer_counts()}
    assert counts == {"hidden": (784 * 30, 30), "output": (30, 1)}
    single = ModelSpec(bias_mode="per_pixel").layer_counts()
    assert [(c.layer, c.weights, c.biases, c.total) for c in single] == [("neuron", 784, 784, 1568)]
    assert ModelSpec(bias_mode="none").layer_counts()[0].biases == 0
    linear = ModelSpec(kind="linear", n_outputs=10).layer_counts()
    assert [(c.weights, c.biases) for c in linear] == [(7840, 10)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_numpy_forward_equals_torch(spec):
    model = build_model(ModelSpec(**{**spec.to_dict(), "init_std": 0.1}))
    x = np.random.default_rng(1).random((7, 784), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = numpy_logits(snapshot_params(model), spec, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_init_is_reproducible_and_seeded():
    a = snapshot_params(build_model(ModelSpec(seed=3)))
    b = snapshot_params(build_model(ModelSpec(seed=3)))
    c = snapshot_params(build_model(ModelSpec(seed=4)))
    np.testing.assert_array_equal(a["weights"], b["weights"])
    assert not np.array_equal(a["weights"], c["weights"])
    # the chapter's init_params: normal with std 1.0
    assert 0.9 < a["weights"].std() < 1.1
    small = snapshot_params(build_model(ModelSpec(seed=3, init_std=0.01)))
    assert 0.009 < small["weights"].std() < 0.011


def test_zero_init_zeroes_everything():
    params = snapshot_params(build_model(ModelSpec(kind="mlp", hidden=8, init=InitKind.ZEROS)))
    assert all(not a.any() for a in params.values())


def test_per_pixel_bias_acts_through_its_sum():
    """Seed 000: (x*w + b).sum() == x·w + Σbᵢ -- identical outputs to a scalar bias Σbᵢ."""
    per_pixel = build_model(ModelSpec(bias_mode=BiasMode.PER_PIXEL, init_std=0.5, seed=2))
    p = snapshot_params(per_pixel)
    scalar = build_model(ModelSpec(bias_mode=BiasMode.SCALAR))
    load_params(scalar, ModelSpec(), {"weights": p["weights"], "bias": np.array([p["bias"].sum()])})
    x = torch.rand(50, 784, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_allclose(per_pixel(x).numpy(), scalar(x).numpy(), rtol=1e-5, atol=1e-4)
    assert effective_bias(p, ModelSpec(bias_mode="per_pixel")) == pytest.approx(float(p["bias"].sum()), rel=1e-6)


def test_no_bias_gives_exactly_half_on_a_blank_image():
    model = build_model(ModelSpec(bias_mode="none", seed=5))
    with torch.no_grad():
        z = model(torch.zeros(1, 784))
    assert float(z) == 0.0
    assert float(torch.sigmoid(z)) == 0.5


def test_first_layer_views():
    spec = ModelSpec(kind="mlp", hidden=12)
    w, b = first_layer(snapshot_params(build_model(spec)), spec)
    assert w.shape == (12, 784) and b.shape == (12,)
    cnn = ModelSpec(kind="cnn", channels=3, kernel=5, n_outputs=10)
    w, b = first_layer(snapshot_params(build_model(cnn)), cnn)
    assert w.shape == (3, 25) and b.shape == (3,)


def test_bad_specs_are_refused_with_a_reason():
    with pytest.raises(ConfigError, match="two-class"):
        ModelSpec(kind=ModelKind.SINGLE, n_outputs=10)
    with pytest.raises(ConfigError, match="unknown kind"):
        ModelSpec(kind="transformer")
    with pytest.raises(ConfigError, match="hidden"):
        ModelSpec(kind="mlp", hidden=0)


def test_validate_params_names_the_problem():
    spec = ModelSpec()
    good = snapshot_params(build_model(spec))
    with pytest.raises(ConfigError, match="missing bias"):
        validate_params({"weights": good["weights"]}, spec)
    with pytest.raises(ConfigError, match="unexpected extra"):
        validate_params({**good, "extra": np.zeros(1)}, spec)
    with pytest.raises(ConfigError, match="shape"):
        validate_params({**good, "weights": np.zeros((28, 28))}, spec)
    with pytest.raises(ConfigError, match="NaN"):
        validate_params({**good, "bias": np.array([np.nan])}, spec)


def test_spec_round_trips_through_dict():
    for spec in SPECS:
        assert ModelSpec.from_dict(spec.to_dict()) == spec
