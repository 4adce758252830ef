"""What a learner saves in a Jupyter notebook while following the fastai chapter loads
(issue 11, part A): each shape loads, ``biasviz info``/``predict`` work on it, it
round-trips through export, and its prediction equals the notebook's own forward pass."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from biasviz import cli
from biasviz.core.errors import ParamFileError
from biasviz.core.paramfiles import (
    ModelFile,
    export_params,
    import_params,
    model_file_from_objects,
)
from biasviz.core.preprocess import preprocess_file
from biasviz.core.spec import BiasMode, ModelKind, numpy_logits

torch.manual_seed(0)


def init_params(size, std=1.0):  # the chapter's own helper
    return (torch.randn(size) * std).requires_grad_()


def images(n: int = 16, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


# -- the notebook objects and their own forward passes ------------------------------------------
def chapter_neuron():
    weights, bias = init_params((28 * 28, 1)), init_params(1)
    return (weights, bias), lambda x: (x @ weights + bias)[:, 0]


def simple_net_by_hand():
    w1, b1 = init_params((28 * 28, 30)), init_params(30)
    w2, b2 = init_params((30, 1)), init_params(1)

    def forward(x):
        res = x @ w1 + b1
        res = res.max(torch.tensor(0.0))
        return (res @ w2 + b2)[:, 0]

    return (w1, b1, w2, b2), forward


def sequential(flatten: bool, outputs: int = 1, hidden: int = 30):
    layers = [nn.Linear(28 * 28, hidden), nn.ReLU(), nn.Linear(hidden, outputs)]
    net = nn.Sequential(*([nn.Flatten()] if flatten else []), *layers)

    def forward(x):
        out = net(x)
        return out[:, 0] if outputs == 1 else out

    return net, forward


def cnn():
    net = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 12 * 12, 10))
    return net, lambda x: net(x.reshape(-1, 1, 28, 28))


def _detached(*ts):
    return tuple(t.detach() for t in ts)


def save_case(name: str, path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """Write the notebook file ``name`` at ``path``; return the notebook's forward pass."""
    if name in ("tuple", "dict", "npz", "npz-torch-names", "w-row", "w-28x28", "bias-0d",
                "pth", "npz-positional", "list"):
        (w, b), forward = chapter_neuron()
        w, b = _detached(w, b)
        if name == "tuple" or name == "pth":
            torch.save((w, b), path)
        elif name == "list":
            torch.save([w, b], path)
        elif name == "dict":
            torch.save({"weights": w, "bias": b}, path)
        elif name == "npz":
            np.savez(path, weights=w.numpy(), bias=b.numpy())
        elif name == "npz-positional":
            np.savez(path, w.numpy(), b.numpy())
        elif name == "npz-torch-names":
            np.savez(path, weight=w.numpy().T, bias=b.numpy())
        elif name == "w-row":
            torch.save({"weights": w.T.contiguous(), "bias": b}, path)
        elif name == "w-28x28":
            torch.save({"weights": w.reshape(28, 28), "bias": b}, path)
        elif name == "bias-0d":
            torch.save((w, b.reshape(())), path)
        return forward
    if name == "ten-classes":
        w, b = init_params((28 * 28, 10)).detach(), init_params(10).detach()
        torch.save({"weights": w, "bias": b}, path)
        return lambda x: x @ w + b
    if name == "linear-state-dict":
        net = nn.Linear(28 * 28, 1)
        torch.save(net.state_dict(), path)
        return lambda x: net(x)[:, 0]
    if name == "simple-net-by-hand":
        params, forward = simple_net_by_hand()
        torch.save(_detached(*params), path)
        return forward
    if name == "simple-net-named":
        (w1, b1, w2, b2), forward = simple_net_by_hand()
        np.savez(path, w1=w1.detach(), b1=b1.detach(), w2=w2.detach(), b2=b2.detach())
        return forward
    if name == "sequential":
        net, forward = sequential(flatten=False)
        torch.save(net.state_dict(), path)
        return forward
    if name == "sequential-flatten":  # keys 1.*, 3.*
        net, forward = sequential(flatten=True)
        torch.save(net.state_dict(), path)
        return forward
    if name == "fastai-learn-save":  # {'model': state_dict, 'opt': optimizer state}
        net, forward = sequential(flatten=False, outputs=10)
        opt = {"state": [{"grad_avg": torch.zeros(3)}], "hypers": [{"lr": 0.1, "mom": 0.9}]}
        torch.save({"model": net.state_dict(), "opt": opt}, path)
        return forward
    if name == "data-parallel":
        net, forward = sequential(flatten=False, outputs=10)
        torch.save({"module." + k: v for k, v in net.state_dict().items()}, path)
        return forward
    if name == "cnn":
        net, forward = cnn()
        torch.save(net.state_dict(), path)
        return forward
    raise AssertionError(name)


CASES = {
    # name: file name, expected kind
    "tuple": ("weights.pt", ModelKind.SINGLE),
    "list": ("weights.pt", ModelKind.SINGLE),
    "dict": ("model.pt", ModelKind.SINGLE),
    "npz": ("model.npz", ModelKind.SINGLE),
    "npz-positional": ("model.npz", ModelKind.SINGLE),
    "npz-torch-names": ("model.npz", ModelKind.SINGLE),
    "w-row": ("model.pt", ModelKind.SINGLE),
    "w-28x28": ("model.pt", ModelKind.SINGLE),
    "bias-0d": ("model.pt", ModelKind.SINGLE),
    "pth": ("model.pth", ModelKind.SINGLE),
    "ten-classes": ("model.pt", ModelKind.LINEAR),
    "linear-state-dict": ("linear.pt", ModelKind.SINGLE),
    "simple-net-by-hand": ("simple_net.pt", ModelKind.MLP),
    "simple-net-named": ("simple_net.npz", ModelKind.MLP),
    "sequential": ("net.pt", ModelKind.MLP),
    "sequential-flatten": ("net.pth", ModelKind.MLP),
    "fastai-learn-save": ("model.pth", ModelKind.MLP),
    "data-parallel": ("model.pt", ModelKind.MLP),
    "cnn": ("cnn.pt", ModelKind.CNN),
}


def agrees_with_notebook(mf: ModelFile, forward, x: np.ndarray) -> None:
    with torch.no_grad():
        want = forward(torch.from_numpy(x)).numpy()
    got = numpy_logits(mf.params, mf.spec, x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("case", list(CASES))
def test_notebook_file_loads_and_predicts_like_the_notebook(tmp_path, case):
    filename, kind = CASES[case]
    path = tmp_path / filename
    forward = save_case(case, path)
    mf = import_params(path)
    assert mf.spec.kind is kind
    assert mf.metadata["source"] and isinstance(mf.metadata["notes"], list)
    agrees_with_notebook(mf, forward, images())
    if kind in (ModelKind.MLP, ModelKind.CNN):  # the file cannot say: ReLU, and said so
        assert mf.activation_assumed and mf.metadata["activation"] == "relu"
        assert any("ReLU was assumed" in n for n in mf.notes)
    # round trip through every importable export
    for ext in (".npz", ".pt", ".json"):
        out = tmp_path / f"again{ext}"
        export_params(out, mf)
        back = import_params(out)
        assert back.spec.param_shapes() == mf.spec.param_shapes()
        agrees_with_notebook(back, forward, images(4, seed=9))
    for ext in (".csv", ".png"):
        export_params(tmp_path / f"again{ext}", mf)


def digit_png(path: Path) -> Path:
    img = np.full((60, 50), 255, np.uint8)
    img[10:50, 20:28] = 0  # a dark "1" on white paper
    img[10:16, 14:28] = 0
    Image.fromarray(img).save(path)
    return path


@pytest.mark.parametrize("case", ["tuple", "npz", "sequential-flatten", "fastai-learn-save"])
def test_info_and_predict_work_on_notebook_files(tmp_path, capsys, case):
    filename, _ = CASES[case]
    path = tmp_path / filename
    forward = save_case(case, path)
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "model:" in out and "source:" in out
    image = digit_png(tmp_path / "digit.png")
    assert cli.main(["predict", str(path), str(image)]) == 0
    out = capsys.readouterr().out
    x = preprocess_file(image).image.reshape(1, 784)
    with torch.no_grad():
        want = forward(torch.from_numpy(x)).numpy().reshape(-1)
    if want.size == 1:
        shown = float(re.search(r"^logit: (-?[\d.]+)", out, re.M).group(1))
        assert shown == pytest.approx(float(want[0]), abs=1e-3 * max(1.0, abs(float(want[0]))))
    else:
        best = int(np.argmax(want))
        assert re.search(rf"^prediction: {best} ", out, re.M), out


# -- the choice the user must make: the activation ------------------------------------------------
def test_sigmoid_network_can_be_refused_instead_of_shown_wrong(tmp_path):
    net = nn.Sequential(nn.Linear(784, 8), nn.Sigmoid(), nn.Linear(8, 1))
    path = tmp_path / "sigmoid.pt"
    torch.save(net.state_dict(), path)
    mf = import_params(path)  # same keys as the ReLU net: loads, saying what it assumed
    assert mf.activation_assumed
    with pytest.raises(ParamFileError, match="ReLU"):
        import_params(path, activation="sigmoid")
    told = import_params(path, activation="relu")
    assert not told.activation_assumed


def test_in_memory_modules_know_their_activation():
    net, forward = sequential(flatten=True)
    mf = model_file_from_objects(net)
    assert mf.metadata["activation"] == "relu" and not mf.activation_assumed
    agrees_with_notebook(mf, forward, images())
    with pytest.raises(ParamFileError, match="sigmoid"):
        model_file_from_objects(nn.Sequential(nn.Linear(784, 8), nn.Sigmoid(),
                                              nn.Linear(8, 1)))
    (w, b), forward = chapter_neuron()
    mf = model_file_from_objects((w, b))
    assert mf.spec.bias_mode is BiasMode.SCALAR
    agrees_with_notebook(mf, forward, images())


# -- refused, with the one-line fix ----------------------------------------------------------------
def refused(path: Path, *words: str) -> str:
    with pytest.raises(ParamFileError) as info:
        import_params(path)
    message = str(info.value)
    assert path.name in message
    for word in words:
        assert word in message, message
    return message


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 1)

    def forward(self, x):
        return self.lin(x)


def test_a_whole_model_says_save_the_state_dict(tmp_path):
    for model in (nn.Sequential(nn.Linear(784, 1)), nn.Linear(784, 1)):
        path = tmp_path / "model.pt"
        torch.save(model, path)
        refused(path, "torch.save(model.state_dict(), ")


def test_numpy_arrays_inside_a_pt_say_how_to_save_tensors(tmp_path):
    path = tmp_path / "arrays.pt"
    torch.save({"weights": np.zeros((784, 1), np.float32), "bias": np.zeros(1, np.float32)},
               path)
    refused(path, "torch.as_tensor", "np.savez")


def test_truly_ambiguous_files_say_how_to_save(tmp_path):
    torch.save({"a": torch.zeros(784, 1), "c": torch.zeros(1)}, tmp_path / "names.pt")
    refused(tmp_path / "names.pt", "torch.save({'weights': weights, 'bias': bias}")
    square = (torch.zeros(784, 784), torch.zeros(784), torch.zeros(784, 1), torch.zeros(1))
    torch.save(square, tmp_path / "square.pt")
    refused(tmp_path / "square.pt", "x@w1", "state_dict")
    torch.save(nn.Sequential(nn.Linear(784, 8), nn.Linear(8, 1)).state_dict(),
               tmp_path / "noact.pt")
    refused(tmp_path / "noact.pt", "no activation")
    torch.save(nn.Sequential(nn.Linear(784, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                             nn.Linear(8, 1)).state_dict(), tmp_path / "deep.pt")
    refused(tmp_path / "deep.pt", "3 layers")
    torch.save((torch.zeros(784, 3), torch.zeros(3)), tmp_path / "three.pt")
    refused(tmp_path / "three.pt", "(784, 3)")
    # one np.save array is a neuron's weights when it has 784 values (read by its content,
    # whatever its name: test_npy_and_truncated_pt_s13a), and refused otherwise
    np.save(tmp_path / "w.npy", np.zeros(5))
    (tmp_path / "w.npz").write_bytes((tmp_path / "w.npy").read_bytes())
    refused(tmp_path / "w.npz", "np.savez")
