"""File › Import of what a notebook saves: a weights-only ``np.save`` (.npy) is read as a
neuron without bias, as a weights-only .pt is (it was refused, "use np.savez"); a .pt
cut short says it is incomplete or damaged (it said "not a PyTorch file")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from biasviz.core.errors import ParamFileError
from biasviz.core.paramfiles import import_params
from biasviz.core.spec import BiasMode, ModelKind


def refused(path: Path) -> str:
    with pytest.raises(ParamFileError) as info:
        import_params(path)
    message = str(info.value)
    assert message.startswith(f"cannot import {path.name}: ")
    return message


@pytest.mark.parametrize("shape", [(784,), (784, 1), (1, 784), (28, 28)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weights_saved_alone_are_a_neuron_without_bias(tmp_path, shape, dtype):
    weights = np.random.default_rng(0).normal(size=shape).astype(dtype)
    np.save(tmp_path / "weights.npy", weights)
    mf = import_params(tmp_path / "weights.npy")
    assert mf.spec.kind is ModelKind.SINGLE and mf.spec.bias_mode is BiasMode.NONE
    assert "no bias" in mf.spec.describe()  # what the status line says: "Imported …"
    assert list(mf.params) == ["weights"]
    np.testing.assert_array_equal(mf.params["weights"],
                                  weights.reshape(784).astype(np.float32))
    notes = " ".join(mf.notes)
    assert "single NumPy array (np.save)" in notes and "no bias" in notes


def test_the_chapter_s_weights_like_a_pt_file(tmp_path):
    """The same weights as a weights-only .pt give the same model."""
    weights = torch.randn(784, 1)
    torch.save((weights,), tmp_path / "w.pt")
    np.save(tmp_path / "w.npy", weights.numpy())
    from_pt, from_npy = import_params(tmp_path / "w.pt"), import_params(tmp_path / "w.npy")
    assert from_npy.spec == from_pt.spec
    np.testing.assert_array_equal(from_npy.params["weights"], from_pt.params["weights"])


@pytest.mark.parametrize("shape", [(5,), (10, 784), (784, 10), (2, 392), (), (28, 28, 2)])
def test_other_shapes_are_refused_saying_what_fits(tmp_path, shape):
    np.save(tmp_path / "other.npy", np.zeros(shape, np.float32))
    message = refused(tmp_path / "other.npy")
    assert f"shape {shape}" in message
    assert "(784,), (784, 1), (1, 784) or 28×28" in message and "without bias" in message
    assert "np.savez('model.npz', weights=weights, bias=bias)" in message


def test_a_pickled_npy_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    array = np.empty(784, dtype=object)
    array[:] = [Payload()] * 784
    np.save(tmp_path / "evil.npy", array, allow_pickle=True)
    message = refused(tmp_path / "evil.npy")
    assert "pickle" in message and "never" in message
    assert not marker.exists()


def test_a_truncated_or_fake_npy_is_named(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros(784))
    data = (tmp_path / "w.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-100])
    assert "truncated" in refused(tmp_path / "cut.npy")
    (tmp_path / "text.npy").write_bytes(b"weights: 0.1, 0.2")
    assert "not a NumPy .npy file" in refused(tmp_path / "text.npy")


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95, 0.999])
def test_a_pt_cut_short_says_it_is_incomplete(tmp_path, fraction):
    torch.save((torch.randn(784, 1), torch.randn(1)), tmp_path / "model.pt")
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[:int(len(data) * fraction)])
    message = refused(tmp_path / "cut.pt")
    assert "incomplete or damaged" in message and "cut short" in message
    assert "not a PyTorch file" not in message


def test_biasviz_opens_the_app_on_an_npy_file(tmp_path, monkeypatch, capsys):
    """``biasviz weights.npy`` opens the window on it, as ``biasviz model.pt`` does; a
    missing one is "no such file" (its name was taken for a mistyped command)."""
    import sys
    import types

    from biasviz.cli import main

    opened: list[object] = []
    fake = types.ModuleType("biasviz.gui.app")
    fake.run_app = lambda args, open_path=None: opened.append(open_path) or 0
    monkeypatch.setitem(sys.modules, "biasviz.gui.app", fake)
    monkeypatch.chdir(tmp_path)
    np.save("weights.npy", np.zeros(784))
    assert main(["weights.npy"]) == 0
    assert opened == ["weights.npy"]
    capsys.readouterr()
    assert main(["wieghts.npy"]) == 1
    assert capsys.readouterr().err.strip() == "biasviz: error: wieghts.npy: no such file"
