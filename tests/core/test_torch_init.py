"""The first parameters computed without torch (shown while torch loads) are torch's own:
every model kind, bias shape and init, several seeds, against ``build_model``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from biasviz.core.models import build_model, snapshot_params
from biasviz.core.spec import BiasMode, InitKind, ModelKind, ModelSpec
from biasviz.core.torch_init import TorchCpuGenerator, initial_params

SPECS = [
    ModelSpec(),  # the chapter's neuron
    ModelSpec(bias_mode=BiasMode.PER_PIXEL),
    ModelSpec(bias_mode=BiasMode.NONE, init_std=0.01),
    ModelSpec(kind=ModelKind.LINEAR, n_outputs=10),
    ModelSpec(kind=ModelKind.LINEAR, n_outputs=10, init=InitKind.STANDARD),
    ModelSpec(kind=ModelKind.MLP, hidden=32, n_outputs=1),
    ModelSpec(kind=ModelKind.MLP, hidden=64, n_outputs=10, init=InitKind.STANDARD),
    ModelSpec(kind=ModelKind.MLP, hidden=3, n_outputs=10, init_std=0.5),  # biases < 16
    ModelSpec(kind=ModelKind.CNN, channels=8, kernel=5, n_outputs=10),
    ModelSpec(kind=ModelKind.CNN, channels=4, kernel=3, n_outputs=1, init=InitKind.STANDARD),
    ModelSpec(kind=ModelKind.MLP, hidden=16, n_outputs=10, init=InitKind.ZEROS),
]


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 + 5])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.kind}-{s.bias_mode}-{s.init}")
def test_the_first_parameters_are_torchs(spec: ModelSpec, seed: int) -> None:
    spec = replace(spec, seed=seed)
    ours = initial_params(spec)
    theirs = snapshot_params(build_model(spec))
    assert list(ours) == list(theirs)
    for name, value in theirs.items():
        assert ours[name].dtype == np.float32 and ours[name].shape == value.shape, name
        # float32 rounding of log/sin/cos apart (torch's vector maths), the same numbers
        np.testing.assert_allclose(ours[name], value, rtol=2e-6, atol=2e-6, err_msg=name)


def test_draws_go_on_from_where_the_last_call_left_them() -> None:
    ours, gen = TorchCpuGenerator(7), torch.Generator().manual_seed(7)
    for n, draw in ((5, "randn"), (20, "rand"), (3, "randn"), (1, "randn"), (33, "randn"),
                    (2, "randn")):
        expected = getattr(torch, draw)(n, generator=gen).numpy()
        np.testing.assert_allclose(getattr(ours, draw)(n), expected, rtol=2e-6, atol=2e-6)
