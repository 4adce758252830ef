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


@pytest.mark.parametrize("seed", [0, 7, 2**33 + 5])
def test_batch_orders_and_states_are_torchs_byte_for_byte(seed: int) -> None:
    """randperm and the generator's state, as torch has them: every size from none to
    more than one block of 624 draws, states compared after each draw."""
    ours, theirs = TorchCpuGenerator(seed), torch.Generator().manual_seed(seed)
    np.testing.assert_array_equal(ours.get_state(), theirs.get_state().numpy())
    for n in (0, 1, 2, 5, 623, 624, 625, 626, 800, 12_000):
        np.testing.assert_array_equal(ours.randperm(n),
                                      torch.randperm(n, generator=theirs).numpy())
        np.testing.assert_array_equal(ours.get_state(), theirs.get_state().numpy())


def test_a_state_goes_both_ways_between_torch_and_the_replica() -> None:
    """A state torch saved (a cached normal in it too) goes on in the replica as in
    torch, and the replica's state goes on in torch."""
    theirs = torch.Generator().manual_seed(3)
    torch.randperm(100, generator=theirs)
    torch.randn(3, generator=theirs)  # leaves a normal for the next call
    ours = TorchCpuGenerator(0)
    ours.set_state(theirs.get_state().numpy())
    np.testing.assert_array_equal(ours.get_state(), theirs.get_state().numpy())
    np.testing.assert_array_equal(ours.randn(1), torch.randn(1, generator=theirs).numpy())
    np.testing.assert_array_equal(ours.randperm(999),
                                  torch.randperm(999, generator=theirs).numpy())
    ours.randperm(1234)
    back = torch.Generator()
    back.set_state(torch.from_numpy(ours.get_state()))
    np.testing.assert_array_equal(ours.randperm(50), torch.randperm(50, generator=back).numpy())


@pytest.mark.parametrize("damage", ["short", "left", "next", "word", "mismatch"])
def test_a_damaged_state_is_refused(damage: str) -> None:
    good = TorchCpuGenerator(1)
    good.randperm(10)
    state = good.get_state()
    if damage == "short":
        state = state[:-1]
    elif damage == "left":
        state[8:12] = np.frombuffer(np.int32(0).tobytes(), np.uint8)
    elif damage == "next":
        state[16:24] = np.frombuffer(np.uint64(625).tobytes(), np.uint8)
    elif damage == "word":
        state[28] = 1  # a state word above 32 bits
    else:
        state[16:24] = np.frombuffer(np.uint64(3).tobytes(), np.uint8)  # left says 9
    ours = TorchCpuGenerator(1)
    before = ours.get_state()
    with pytest.raises(ValueError):
        ours.set_state(state)
    np.testing.assert_array_equal(ours.get_state(), before)  # nothing changed
