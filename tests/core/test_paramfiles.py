"""Parameter files: round trips, plain numpy/torch use, csv/png content, atomic writes,
and every way a file to import can be wrong."""

from __future__ import annotations

import csv
import errno
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import biasviz
from biasviz.core import paramfiles
from biasviz.core.datasets import Task, TaskData, make_task_data
from biasviz.core.errors import ParamFileError
from biasviz.core.models import build_model, snapshot_params
from biasviz.core.paramfiles import (
    FORMATS,
    IMPORT_FORMATS,
    ModelFile,
    diverging_rgb,
    export_params,
    import_params,
    make_metadata,
    model_file_from_trainer,
)
from biasviz.core.spec import BiasMode, ModelKind, ModelSpec, first_layer, numpy_logits
from biasviz.core.training import TrainConfig, Trainer

SPECS = {
    "single-scalar": ModelSpec(),
    "single-per_pixel": ModelSpec(bias_mode=BiasMode.PER_PIXEL),
    "single-none": ModelSpec(bias_mode=BiasMode.NONE),
    "linear": ModelSpec(kind=ModelKind.LINEAR, n_outputs=10),
    "mlp-binary": ModelSpec(kind=ModelKind.MLP, hidden=16, n_outputs=1),
    "mlp-ten": ModelSpec(kind=ModelKind.MLP, hidden=12, n_outputs=10),
    "cnn-binary": ModelSpec(kind=ModelKind.CNN, channels=3, kernel=5, n_outputs=1),
    "cnn-ten": ModelSpec(kind=ModelKind.CNN, channels=4, kernel=3, n_outputs=10, seed=7),
}
DIGITS = [str(d) for d in range(10)]


def random_params(spec: ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Values over many magnitudes, so text formats must really be exact."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in spec.param_shapes().items():
        scale = 10.0 ** rng.integers(-8, 4, size=shape)
        out[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return out


def make_file(spec: ModelSpec, seed: int = 0) -> ModelFile:
    two = spec.n_outputs == 1
    meta = make_metadata(
        spec,
        dataset="MNIST sample (5,000 digits)",
        dataset_key="sample",
        task="3,7" if two else "all",
        class_names=["3", "7"] if two else DIGITS,
        epochs=3,
        step=12,
        valid_accuracy=0.875,
        lr=0.5,
        optimizer="sgd",
        note="ünïcode ✓",
    )
    return ModelFile(spec, random_params(spec, seed), meta)


def images(n: int = 64, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def plain_torch_module(spec: ModelSpec) -> nn.Module:
    """The torch module the .pt layout promises to load into."""
    if spec.kind is ModelKind.SINGLE:
        return nn.Linear(784, 1, bias=spec.bias_mode is not BiasMode.NONE)
    if spec.kind is ModelKind.LINEAR:
        return nn.Linear(784, 10)
    if spec.kind is ModelKind.MLP:
        return nn.Sequential(
            nn.Linear(784, spec.hidden), nn.ReLU(), nn.Linear(spec.hidden, spec.n_outputs)
        )
    c, k, p = spec.channels, spec.kernel, spec.pooled_side
    return nn.Sequential(
        nn.Conv2d(1, c, k),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c * p * p, spec.n_outputs),
    )


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".npz", ".json"])
@pytest.mark.parametrize("key", list(SPECS))
def test_exact_round_trip_with_metadata(tmp_path, key, ext):
    spec = SPECS[key]
    mf = make_file(spec)
    path = tmp_path / f"model{ext}"
    export_params(path, mf)
    back = import_params(path)
    assert back.spec == spec
    assert list(back.params) == list(spec.param_shapes())
    for name, a in mf.params.items():
        assert back.params[name].dtype == np.float32
        np.testing.assert_array_equal(back.params[name], a)  # bit-exact, even via text
    assert back.metadata == mf.metadata
    assert back.metadata["format"] == "biasviz-params"
    assert back.metadata["format_version"] == 1
    assert back.metadata["biasviz_version"] == biasviz.__version__


@pytest.mark.parametrize("key", [k for k in SPECS if k != "single-per_pixel"])
def test_pt_round_trip(tmp_path, key):
    spec = SPECS[key]
    mf = make_file(spec)
    path = tmp_path / "model.pt"
    export_params(path, mf)
    back = import_params(path)
    assert back.spec == spec  # architecture from the shapes, seed/init from the metadata
    assert list(back.params) == list(spec.param_shapes())
    for name, a in mf.params.items():
        np.testing.assert_allclose(back.params[name], a, rtol=0, atol=0)
    assert back.metadata == mf.metadata


def test_pt_per_pixel_imports_as_equivalent_scalar(tmp_path):
    spec = SPECS["single-per_pixel"]
    mf = make_file(spec)
    mf.params["bias"] = np.random.default_rng(3).normal(0, 0.1, 784).astype(np.float32)
    path = tmp_path / "model.pt"
    export_params(path, mf)
    back = import_params(path)
    assert back.spec.kind is ModelKind.SINGLE
    assert back.spec.bias_mode is BiasMode.SCALAR
    assert back.params["bias"].shape == (1,)
    np.testing.assert_allclose(
        back.params["bias"][0], mf.params["bias"].sum(dtype=np.float64), rtol=1e-6
    )
    np.testing.assert_array_equal(back.params["weights"], mf.params["weights"])
    x = images()
    np.testing.assert_allclose(
        numpy_logits(back.params, back.spec, x),
        numpy_logits(mf.params, spec, x),
        rtol=1e-6,
        atol=1e-6,
    )
    assert back.metadata["bias_mode"] == "scalar"
    assert back.metadata["exported_bias_mode"] == "per_pixel"
    assert back.metadata["class_names"] == ["3", "7"]


@pytest.mark.parametrize("key", list(SPECS))
def test_pt_loads_strictly_into_plain_torch_modules(tmp_path, key):
    spec = SPECS[key]
    mf = make_file(spec)
    mf.params.update({k: v.clip(-3, 3) for k, v in mf.params.items()})  # keep logits moderate
    path = tmp_path / "model.pt"
    export_params(path, mf)
    state = torch.load(path, map_location="cpu", weights_only=True)
    module = plain_torch_module(spec)
    module.load_state_dict(state, strict=True)
    x = images()
    with torch.no_grad():
        out = module(
            torch.from_numpy(x).reshape(-1, 1, 28, 28)
            if spec.kind is ModelKind.CNN
            else torch.from_numpy(x)
        )
    out = out.numpy()
    if spec.n_outputs == 1:
        assert out.shape == (len(x), 1)
        out = out[:, 0]
    expected = numpy_logits(mf.params, spec, x)
    np.testing.assert_allclose(
        out, expected, rtol=1e-4, atol=1e-3 * max(1.0, np.abs(expected).max())
    )


@pytest.mark.parametrize("key", ["single-scalar", "mlp-ten", "cnn-binary"])
def test_pt_from_biasviz_modules_and_plain_state_dicts(tmp_path, key):
    spec = SPECS[key]
    model = build_model(spec)
    path = tmp_path / "own.pt"
    torch.save(model.state_dict(), path)  # biasviz's own parameter names
    back = import_params(path)
    assert back.spec.param_shapes() == spec.param_shapes()
    for name, a in snapshot_params(model).items():
        np.testing.assert_array_equal(back.params[name], a)
    # a module made by someone else, saved as a plain dict (no biasviz metadata)
    plain = plain_torch_module(spec)
    other = tmp_path / "plain.pt"
    torch.save(dict(plain.state_dict()), other)
    back = import_params(other)
    assert back.spec.param_shapes() == spec.param_shapes()
    assert "inferred" in back.metadata["note"]
    x = images(8)
    with torch.no_grad():
        inp = torch.from_numpy(x)
        if spec.kind is ModelKind.CNN:
            inp = inp.reshape(-1, 1, 28, 28)
        want = plain(inp).numpy()
    if spec.n_outputs == 1:
        want = want[:, 0]
    np.testing.assert_allclose(numpy_logits(back.params, back.spec, x), want, rtol=1e-4, atol=1e-4)


# -- .npz for plain numpy users -----------------------------------------------------------------
def test_npz_is_plain_numpy(tmp_path):
    mf = make_file(SPECS["mlp-binary"])
    path = tmp_path / "m.npz"
    export_params(path, mf)
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {
            "hidden.weights",
            "hidden.biases",
            "output.weights",
            "output.biases",
            "metadata",
        }
        meta = json.loads(str(npz["metadata"]))
        assert npz["metadata"].shape == ()
        np.testing.assert_array_equal(npz["hidden.weights"], mf.params["hidden.weights"])
    assert meta["spec"] == SPECS["mlp-binary"].to_dict()
    assert meta["class_names"] == ["3", "7"]


@pytest.mark.parametrize("key", list(SPECS))
def test_npz_without_metadata_infers_the_model(tmp_path, key):
    spec = SPECS[key]
    params = random_params(spec)
    path = tmp_path / "bare.npz"
    np.savez(path, **params)
    back = import_params(path)
    assert back.spec.param_shapes() == spec.param_shapes()
    assert back.spec.kind is spec.kind and back.spec.bias_mode is spec.bias_mode
    for name, a in params.items():
        np.testing.assert_array_equal(back.params[name], a)


# -- trained models and their recorded accuracy ---------------------------------------------------
def _synthetic_data(task: Task) -> TaskData:
    rng = np.random.default_rng(0)
    protos = rng.random((10, 784)) < 0.2

    def make(n):
        labels = rng.integers(0, 10, n)
        x = (protos[labels] ^ (rng.random((n, 784)) < 0.05)).astype(np.uint8) * 255
        return x, labels

    tx, tl = make(2000)
    vx, vl = make(500)

    def cut(x, labels):
        if task.is_binary:
            keep = np.isin(labels, task.classes)
            return x[keep], (labels[keep] == task.classes[0]).astype(np.int64)
        return x, labels.astype(np.int64)

    (a, b), (c, d) = cut(tx, tl), cut(vx, vl)
    return TaskData(task, task.names(tuple(DIGITS)), "synthetic", "synthetic", a, b, c, d)


def task_data(task: Task) -> TaskData:
    try:  # the bundled MNIST sample when it is there
        from biasviz.core.datasets import load_sample

        return make_task_data(load_sample(), task)
    except Exception:  # noqa: BLE001 - any failure: fall back to synthetic data
        return _synthetic_data(task)


@pytest.fixture(scope="module")
def threes_sevens() -> TaskData:
    return task_data(Task.pair(3, 7))


@pytest.mark.parametrize("mode", [BiasMode.SCALAR, BiasMode.PER_PIXEL])
def test_exported_npz_reproduces_the_recorded_accuracy(tmp_path, threes_sevens, mode):
    spec = ModelSpec(bias_mode=mode, init_std=0.01)  # small init: learns in a few epochs
    if mode is BiasMode.PER_PIXEL:
        # 784 biases make SGD's bias step 784x larger, so training one from scratch is a
        # coin toss (that is the bias lesson's point).  Build it from a trained one-bias
        # neuron instead: biases spread unevenly over the pixels, summing to its b.
        scalar = Trainer(ModelSpec(init_std=0.01), threes_sevens, TrainConfig(epochs=5, lr=0.1))
        for _ in scalar.run():
            pass
        trained = scalar.snapshot().params
        spread = np.random.default_rng(0).normal(0, 0.5, 784).astype(np.float32)
        per_pixel = spread - spread.mean() + trained["bias"][0] / 784
        trainer = Trainer(spec, threes_sevens, TrainConfig(epochs=5, lr=0.1))
        trainer.set_params({"weights": trained["weights"], "bias": per_pixel})
        trainer.step, trainer.epoch = scalar.step, scalar.epoch
    else:
        trainer = Trainer(spec, threes_sevens, TrainConfig(epochs=5, lr=0.1))
        for _ in trainer.run():
            pass
    _, accuracy = trainer.evaluate()
    assert accuracy > 0.75  # trained: far from chance, so a flipped class would show
    mf = model_file_from_trainer(trainer, valid_accuracy=accuracy)
    path = tmp_path / "neuron.npz"
    export_params(path, mf)

    # What a reader with nothing but numpy would write:
    f = np.load(path, allow_pickle=False)
    meta = json.loads(str(f["metadata"]))
    w, b = f["weights"], f["bias"].sum()
    x = threes_sevens.valid_x.astype(np.float32) / 255
    with np.errstate(over="ignore"):
        is_first = 1 / (1 + np.exp(-(x @ w + b))) >= 0.5
    first = meta["class_names"][0]
    truth = threes_sevens.valid_y == 1  # target 1 = the first class
    got = float(np.mean(is_first == truth))
    assert abs(got - meta["valid_accuracy"]) <= 1 / len(x) + 1e-12
    assert first == threes_sevens.class_names[0] == "3"
    assert meta["task"] == "3,7"
    assert meta["step"] == trainer.step and meta["epochs"] == 5
    assert meta["optimizer"] == "sgd" and meta["lr"] == 0.1
    assert meta["bias_mode"] == mode.value
    assert meta["dataset"] == threes_sevens.dataset_name


def test_ten_class_export_reproduces_accuracy(tmp_path):
    data = task_data(Task.all_ten())
    spec = ModelSpec(kind=ModelKind.LINEAR, n_outputs=10, init_std=0.01)
    trainer = Trainer(spec, data, TrainConfig(epochs=2, lr=0.1))
    for _ in trainer.run():
        pass
    _, accuracy = trainer.evaluate()
    assert accuracy > 0.5  # ten classes: chance is 0.1
    path = tmp_path / "ten.npz"
    export_params(path, model_file_from_trainer(trainer, accuracy))
    f = np.load(path, allow_pickle=False)
    meta = json.loads(str(f["metadata"]))
    x = data.valid_x.astype(np.float32) / 255
    pred = np.argmax(x @ f["weights"].T + f["biases"], axis=1)
    assert abs(float(np.mean(pred == data.valid_y)) - meta["valid_accuracy"]) <= 1 / len(x)
    assert meta["class_names"] == list(data.class_names)
    assert meta["task"] == "all" and meta["loss"] == "cross_entropy"


# -- csv ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(SPECS))
def test_csv_holds_the_first_layer(tmp_path, key):
    spec = SPECS[key]
    mf = make_file(spec)
    path = tmp_path / "layer.csv"
    export_params(path, mf)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    weights, biases = first_layer(mf.params, spec)
    n_in = spec.kernel**2 if spec.kind is ModelKind.CNN else 784
    assert rows[0] == ["neuron", "bias"] + [f"w{i}" for i in range(n_in)]
    assert len(rows) == 1 + weights.shape[0]
    labels = [r[0] for r in rows[1:]]
    if spec.kind is ModelKind.LINEAR:
        assert labels == DIGITS
    elif spec.kind is ModelKind.SINGLE:
        assert labels == ["3"]  # the single neuron's logit is for the first class
    else:
        assert labels == [str(i) for i in range(weights.shape[0])]
    table = np.array([[float(v) for v in r[1:]] for r in rows[1:]]).astype(np.float32)
    np.testing.assert_array_equal(table[:, 0], biases)
    np.testing.assert_array_equal(table[:, 1:], weights)
    if spec.bias_mode is BiasMode.PER_PIXEL:
        assert table[0, 0] == np.float32(mf.params["bias"].sum(dtype=np.float64))


# -- png ---------------------------------------------------------------------------------------------
def tile_pixel(row: int, col: int, tile: int = 0, cols: int = 1, scale: int = 8, gap: int = 2,
               label: int = 0):
    """Centre of weight pixel (row, col) of a tile in the picture (x, y); ``label``: the
    height of the name above each tile (pictures of more than one tile)."""
    r, c = divmod(tile, cols)
    side = 28 * scale
    return (
        gap + c * (side + gap) + col * scale + scale // 2,
        gap + label + r * (side + gap + label) + row * scale + scale // 2,
    )


def test_png_single_neuron_colours_and_metadata(tmp_path):
    spec = SPECS["single-scalar"]
    w = np.zeros(784, np.float32)
    w[10 * 28 + 5] = 2.0
    w[20 * 28 + 20] = -2.0
    w[5 * 28 + 5] = 0.5
    mf = ModelFile(spec, {"weights": w, "bias": np.array([0.3], np.float32)}, make_metadata(spec))
    path = tmp_path / "w.png"
    export_params(path, mf)
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == (224 + 4, 224 + 4 + paramfiles.PNG_LEGEND_HEIGHT)
        rgb = im.convert("RGB")
        embedded = json.loads(im.text["biasviz"])
    pos = rgb.getpixel(tile_pixel(10, 5))
    neg = rgb.getpixel(tile_pixel(20, 20))
    zero = rgb.getpixel(tile_pixel(0, 0))
    mild = rgb.getpixel(tile_pixel(5, 5))
    assert pos[0] > pos[1] + 60 and pos[0] > pos[2] + 60  # strongly positive: red side
    assert neg[2] > 80 and neg[2] > neg[0] + 50  # strongly negative: blue side
    assert min(zero) >= 235 and max(zero) - min(zero) <= 8  # zero: near-white, neutral
    assert sum(pos) < sum(mild) < sum(zero)  # weaker weight, lighter colour
    assert rgb.getpixel((0, 0)) == paramfiles.PNG_GAP_COLOR  # the frame
    assert embedded["metadata"]["model"] == spec.describe()
    assert embedded["picture"]["color_limit"] == 2.0
    # the scale under the tiles: blue at the left end, white in the middle, red at the right
    grid = 224 + 4
    bar = [rgb.getpixel((x, grid + 22 + 6)) for x in (2 + 9, 228 // 2, 228 - 2 - 10)]
    assert bar[0][2] > bar[0][0] + 60 and bar[2][0] > bar[2][2] + 60, bar
    assert min(bar[1]) >= 225, bar
    lit = [x for x in range(228) for y in range(grid + 37, grid + 52)
           if min(rgb.getpixel((x, y))) > 200]
    assert lit and min(lit) < 40 and max(lit) > 188  # "-2" at the left, "+2" at the right
    assert embedded["picture"]["legend_height"] == paramfiles.PNG_LEGEND_HEIGHT


def test_png_limit_is_shared_across_tiles(tmp_path):
    spec = SPECS["linear"]
    params = {"weights": np.zeros((10, 784), np.float32), "biases": np.zeros(10, np.float32)}
    params["weights"][0, 0] = 1.0
    params["weights"][1, 0] = 0.5
    export_params(tmp_path / "ten.png", ModelFile(spec, params, {"class_names": list("ABCDEFGHIJ")}))
    label = paramfiles.PNG_LABEL_HEIGHT
    with Image.open(tmp_path / "ten.png") as im:
        cols, rows, scale = paramfiles.png_layout(10, 28)
        assert (cols, rows, scale) == (5, 2, 8)
        assert im.size == (5 * 224 + 6 * 2,
                           2 * (224 + label) + 3 * 2 + paramfiles.PNG_LEGEND_HEIGHT)
        rgb = im.convert("RGB")
        strong = rgb.getpixel(tile_pixel(0, 0, tile=0, cols=5, label=label))
        half = rgb.getpixel(tile_pixel(0, 0, tile=1, cols=5, label=label))
        embedded = json.loads(im.text["biasviz"])
        # each tile named above it: light text in the band over tile 0
        band = [rgb.getpixel((x, y)) for x in range(2, 226) for y in range(3, 2 + label)]
    assert any(min(px) > 180 for px in band)
    assert embedded["picture"]["labels"] == list("ABCDEFGHIJ")
    # one scale for all tiles: the 0.5 weight is paler than the 1.0 weight
    assert half[1] > strong[1] + 40


def test_png_cnn_kernels(tmp_path):
    spec = SPECS["cnn-ten"]  # 4 kernels 3×3
    mf = make_file(spec)
    export_params(tmp_path / "k.png", mf)
    cols, rows, scale = paramfiles.png_layout(4, 3)
    with Image.open(tmp_path / "k.png") as im:
        assert im.size == (cols * 3 * scale + (cols + 1) * 2,
                           rows * (3 * scale + paramfiles.PNG_LABEL_HEIGHT) + (rows + 1) * 2
                           + paramfiles.PNG_LEGEND_HEIGHT)
        labels = json.loads(im.text["biasviz"])["picture"]["labels"]
    assert labels == [f"kernel {i}" for i in range(4)]
    assert 200 <= 3 * scale <= 224


def test_png_large_hidden_layer_stays_bounded(tmp_path):
    spec = ModelSpec(kind=ModelKind.MLP, hidden=1024, n_outputs=1)
    export_params(tmp_path / "big.png", make_file(spec))
    with Image.open(tmp_path / "big.png") as im:
        assert max(im.size) <= paramfiles.PNG_MAX_SIDE


def test_diverging_colormap():
    assert tuple(diverging_rgb(np.float32(0), 1.0)) == (247, 247, 247)
    lo, mid, hi = diverging_rgb(np.array([-5.0, 0.0, 5.0]), 1.0)  # clipped at ±limit
    assert lo[2] > lo[0] and hi[0] > hi[2]
    assert tuple(diverging_rgb(np.array([3.0]), 0.0)[0]) == (247, 247, 247)


# -- formats list ---------------------------------------------------------------------------------
def test_format_lists():
    assert [e for e, _ in FORMATS] == [".npz", ".pt", ".json", ".csv", ".png"]
    assert [e for e, _ in IMPORT_FORMATS] == [".npz", ".pt", ".json"]
    assert all(f"*{e}" in d for e, d in FORMATS)
    assert paramfiles.dialog_filter(IMPORT_FORMATS).count(";;") == 2


# -- atomic writes ------------------------------------------------------------------------------------
@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "model.npz"
    export_params(path, make_file(SPECS["single-scalar"], seed=1))
    return path, path.read_bytes()


def test_failed_rename_leaves_target_and_no_temp(tmp_path, existing, monkeypatch):
    path, before = existing

    def broken_replace(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(paramfiles.os, "replace", broken_replace)
    with pytest.raises(ParamFileError, match="model.npz"):
        export_params(path, make_file(SPECS["single-scalar"], seed=2))
    assert files_in(tmp_path) == ["model.npz"]
    assert path.read_bytes() == before


def test_disk_full_is_explained(tmp_path, existing, monkeypatch):
    path, before = existing

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(paramfiles.os, "fsync", full)
    with pytest.raises(ParamFileError, match="disk space"):
        export_params(path, make_file(SPECS["single-scalar"], seed=2))
    assert files_in(tmp_path) == ["model.npz"]
    assert path.read_bytes() == before


@pytest.mark.parametrize("ext", [".npz", ".pt", ".png"])
def test_writer_failing_mid_write(tmp_path, monkeypatch, ext):
    path = tmp_path / f"model{ext}"
    export_params(path, make_file(SPECS["linear"], seed=1))
    before = path.read_bytes()

    def half_then_fail(target, *args, **kwargs):
        target.write(b"partial garbage" * 100)
        raise RuntimeError("writer crashed")

    if ext == ".npz":
        monkeypatch.setattr(np, "savez_compressed", half_then_fail)
    elif ext == ".pt":
        monkeypatch.setattr(torch, "save", lambda obj, fh, **kw: half_then_fail(fh))
    else:
        monkeypatch.setattr(Image.Image, "save", lambda self, fh, **kw: half_then_fail(fh))
    with pytest.raises(ParamFileError, match="writer crashed"):
        export_params(path, make_file(SPECS["linear"], seed=2))
    assert files_in(tmp_path) == [path.name]
    assert path.read_bytes() == before


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "m.json"
    export_params(path, make_file(SPECS["single-none"]))
    mask = os.umask(0o022)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)  # not mkstemp's 0600


def test_overwrite_replaces_content(tmp_path, existing):
    path, before = existing
    export_params(path, make_file(SPECS["single-scalar"], seed=5))
    assert path.read_bytes() != before
    np.testing.assert_array_equal(
        import_params(path).params["weights"], random_params(SPECS["single-scalar"], 5)["weights"]
    )


def test_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:  # root (or some file systems) ignore the mode: then nothing to test
            (folder / "probe").write_bytes(b"x")
        except PermissionError:
            pass
        else:
            pytest.skip("this user can write into a read-only folder")
        with pytest.raises(ParamFileError, match="permission denied"):
            export_params(folder / "m.npz", make_file(SPECS["single-scalar"]))
        assert files_in(folder) == []
    finally:
        folder.chmod(0o755)


def test_permission_denied_is_explained(tmp_path, monkeypatch):
    # The same failure simulated, so it is checked even when running as root.
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(paramfiles.tempfile, "mkstemp", denied)
    with pytest.raises(ParamFileError, match="permission denied"):
        export_params(tmp_path / "m.csv", make_file(SPECS["single-scalar"]))
    assert files_in(tmp_path) == []


def test_export_path_problems(tmp_path):
    mf = make_file(SPECS["single-scalar"])
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ParamFileError, match="folder"):
        export_params(tmp_path / "dir.npz", mf)
    with pytest.raises(ParamFileError, match="does not exist"):
        export_params(tmp_path / "nowhere" / "m.npz", mf)
    with pytest.raises(ParamFileError, match=r"\.npz, \.pt, \.json, \.csv, \.png"):
        export_params(tmp_path / "m.txt", mf)
    assert files_in(tmp_path) == ["dir.npz"]


def test_export_refuses_bad_parameters(tmp_path):
    spec = SPECS["single-scalar"]
    bad = make_file(spec)
    bad.params["weights"][3] = np.nan
    with pytest.raises(ParamFileError, match="NaN"):
        export_params(tmp_path / "m.npz", bad)
    wrong = ModelFile(spec, {"weights": np.zeros(783, np.float32), "bias": np.zeros(1)}, {})
    with pytest.raises(ParamFileError, match="shape"):
        export_params(tmp_path / "m.json", wrong)
    assert files_in(tmp_path) == []


def test_export_fills_missing_metadata(tmp_path):
    spec = SPECS["mlp-binary"]
    export_params(tmp_path / "m.json", ModelFile(spec, random_params(spec), {"model": "stale"}))
    meta = import_params(tmp_path / "m.json").metadata
    assert meta["model"] == spec.describe()  # describes the parameters actually written
    assert meta["format"] == "biasviz-params" and meta["format_version"] == 1
    assert meta["biasviz_version"] == biasviz.__version__ and "created" in meta


# -- bad imports ------------------------------------------------------------------------------------
def expect_refused(path: Path, match: str | None = None) -> str:
    with pytest.raises(ParamFileError) as info:
        import_params(path)
    message = str(info.value)
    assert path.name in message
    if match is not None:
        assert match.lower() in message.lower(), message
    return message


def test_import_file_problems(tmp_path):
    expect_refused(tmp_path / "missing.npz", "not found")
    (tmp_path / "folder.json").mkdir()
    expect_refused(tmp_path / "folder.json", "folder")
    (tmp_path / "empty.pt").write_bytes(b"")
    expect_refused(tmp_path / "empty.pt", "empty")
    (tmp_path / "m.txt").write_text("1")
    expect_refused(tmp_path / "m.txt", "unknown file type")
    for ext in (".csv", ".png"):
        export_params(tmp_path / f"m{ext}", make_file(SPECS["single-scalar"]))
        expect_refused(tmp_path / f"m{ext}", "export-only")


def save_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_npz_damaged(tmp_path):
    noise = np.random.default_rng(634).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    # Noise that opens like another format's magic ("{" of JSON, 0x80 of a pickle) is
    # still judged by its content: only real text or a real pickle header changes reader.
    for i, head in enumerate((b"", b"{", b" \n{", b"\x80", b"\x80\x00", b"\x80\xff")):
        (tmp_path / f"noise{i}.npz").write_bytes(head + b"\xff" + noise)
        expect_refused(tmp_path / f"noise{i}.npz", "not a zip")
    good = tmp_path / "good.npz"
    export_params(good, make_file(SPECS["mlp-ten"]))
    data = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    expect_refused(tmp_path / "cut.npz")
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside compressed data: CRC / inflate error
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    expect_refused(tmp_path / "flipped.npz")


def save_positional(path: Path, *arrays) -> Path:
    np.savez(path, *arrays)  # arr_0, arr_1: no names to go by
    return path


def test_npz_wrong_content(tmp_path):
    spec = SPECS["single-scalar"]
    p = random_params(spec)
    meta = json.dumps({"format": "biasviz-params", "format_version": 1, "spec": spec.to_dict()})
    expect_refused(
        save_npz(
            tmp_path / "shape.npz",
            weights=p["weights"][:783],
            bias=p["bias"],
            metadata=np.array(meta),
        ),
        "shape",
    )
    expect_refused(
        save_npz(tmp_path / "missing.npz", weights=p["weights"], metadata=np.array(meta)),
        "missing bias",
    )
    expect_refused(
        save_npz(tmp_path / "extra.npz", **p, junk=np.zeros(3), metadata=np.array(meta)),
        "unexpected junk",
    )
    nan = dict(p, weights=np.where(np.arange(784) == 7, np.nan, p["weights"]))
    expect_refused(save_npz(tmp_path / "nan.npz", **nan), "NaN")
    expect_refused(save_npz(tmp_path / "inf.npz", **dict(p, bias=np.array([np.inf]))), "infinite")
    expect_refused(save_npz(tmp_path / "text.npz", **dict(p, bias=np.array(["1.5"]))), "dtype")
    expect_refused(save_npz(tmp_path / "complex.npz", **dict(p, bias=np.array([1j]))), "dtype")
    # np.savez(f, w, b): no names, but the order and the shapes tell (issue 11)
    back = import_params(save_positional(tmp_path / "positional.npz", p["weights"], p["bias"]))
    np.testing.assert_array_equal(back.params["weights"], p["weights"])
    expect_refused(
        save_positional(tmp_path / "three.npz", p["weights"], p["bias"], p["bias"]), "arrays"
    )
    expect_refused(save_npz(tmp_path / "names.npz", a=p["weights"], c=p["bias"]), "names")
    expect_refused(save_npz(tmp_path / "badmeta.npz", **p, metadata=np.array("{not json")), "json")
    expect_refused(
        save_npz(tmp_path / "listmeta.npz", **p, metadata=np.array("[1, 2]")), "json object"
    )
    newer = json.dumps({"format": "biasviz-params", "format_version": 99})
    expect_refused(save_npz(tmp_path / "newer.npz", **p, metadata=np.array(newer)), "newer")
    badspec = json.dumps({"spec": {"kind": "transformer"}})
    expect_refused(
        save_npz(tmp_path / "badspec.npz", **p, metadata=np.array(badspec)), "unknown kind"
    )


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, weights=np.array([{"a": 1}, None], dtype=object), bias=np.zeros(1))
    expect_refused(path, "pickle")


def write_npy_member(zf: zipfile.ZipFile, name: str, shape, data_bytes: int, chunk=1 << 20):
    """A member with a real .npy header for ``shape`` float32 and ``data_bytes`` zeros."""
    with zf.open(name, "w", force_zip64=True) as fp:
        np.lib.format.write_array_header_1_0(
            fp, {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}
        )
        zeros = bytes(chunk)
        left = data_bytes
        while left > 0:
            fp.write(zeros[: min(chunk, left)])
            left -= chunk


def test_npz_zip_bomb_refused_before_inflating(tmp_path, monkeypatch):
    n = (paramfiles.MAX_ARRAY_BYTES + 16 * 2**20) // 4  # 80 MiB of zeros → ~80 KB on disk
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        write_npy_member(zf, "weights.npy", (n,), 4 * n)
    assert path.stat().st_size < 1 << 20

    loads = []
    monkeypatch.setattr(np, "load", lambda *a, **k: loads.append(a) or pytest.fail("np.load"))
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("inflated"))
    expect_refused(path, "limit")
    assert loads == []


def test_npz_huge_declared_shape_refused(tmp_path):
    # a tiny member whose header claims a terabyte: must not be believed or allocated
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        write_npy_member(zf, "weights.npy", (2**38,), 16)
    expect_refused(path, "declares shape")
    # and one that declares a modest shape but holds too few bytes
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as zf:
        write_npy_member(zf, "weights.npy", (784,), 100)
    expect_refused(tmp_path / "short.npz", "truncated")


def test_npz_odd_members_refused(tmp_path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("weights.npy", b"x")
        zf.writestr("evil.pkl", b"x")
    expect_refused(path)
    with zipfile.ZipFile(tmp_path / "noheader.npz", "w") as zf:
        zf.writestr("weights.npy", b"not an npy header at all")
    expect_refused(tmp_path / "noheader.npz")


class CreatesMarker:
    """Unpickling this would create a file: the test's stand-in for malicious code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["torch-zip", "legacy-pickle"])
def test_pt_with_code_is_refused_and_not_run(tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"weight": CreatesMarker(marker), "bias": torch.zeros(1)}
    if how == "torch-zip":
        torch.save(payload, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump(payload, fh, protocol=2)
    expect_refused(path)
    assert not marker.exists()
    # Control: the payload is real -- an unsafe load does create the marker.
    with open(path, "rb") as fh:
        loaded = torch.load(fh, weights_only=False) if how == "torch-zip" else pickle.load(fh)
    loaded["weight"].close()
    assert marker.exists()


def test_pt_wrong_content(tmp_path):
    def save(name, obj):
        path = tmp_path / name
        torch.save(obj, path)
        return path

    expect_refused(save("tensor.pt", torch.zeros(1, 784)), "single tensor")
    expect_refused(save("dicts.pt", [{"a": 1}]), "not tensors")
    expect_refused(save("number.pt", 3), "not a state_dict")
    expect_refused(save("keys.pt", {"encoder.weight": torch.zeros(3)}), "unrecognised")
    expect_refused(
        save("shape.pt", {"weight": torch.zeros(1, 783), "bias": torch.zeros(1)}), "shape"
    )
    expect_refused(
        save("nan.pt", {"weight": torch.full((1, 784), float("nan")), "bias": torch.zeros(1)}),
        "NaN",
    )
    expect_refused(save("text.pt", {"weight": torch.zeros(1, 784), "bias": "0.5"}), "not a tensor")
    expect_refused(save("bool.pt", {"weight": torch.zeros(1, 784, dtype=torch.bool)}), "dtype")
    expect_refused(save("ten_nobias.pt", {"weight": torch.zeros(10, 784)}), "bias")
    mlp = {
        "0.weight": torch.zeros(8, 784),
        "0.bias": torch.zeros(8),
        "2.weight": torch.zeros(3, 8),
        "2.bias": torch.zeros(3),
    }
    expect_refused(save("three_out.pt", mlp), "output")
    mlp["2.weight"] = torch.zeros(1, 9)
    mlp["2.bias"] = torch.zeros(1)
    expect_refused(save("mismatch.pt", mlp), "shape")
    (tmp_path / "noise.pt").write_bytes(os.urandom(3000))
    expect_refused(tmp_path / "noise.pt")
    good = tmp_path / "good.pt"
    export_params(good, make_file(SPECS["mlp-binary"]))
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:4000])
    expect_refused(tmp_path / "cut.pt")


def test_pt_oversized_members_refused(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    export_params(path, make_file(SPECS["mlp-binary"]))
    # the zip check (member sizes) and the tensor check (shapes) both use the limit
    monkeypatch.setattr(paramfiles.limits, "MAX_ARRAY_BYTES", 1000)
    expect_refused(path, "limit")
    monkeypatch.undo()
    monkeypatch.setattr(paramfiles.pt, "MAX_ARRAY_BYTES", 1000)
    expect_refused(path, "limit")


def test_json_wrong_content(tmp_path):
    export_params(tmp_path / "good.json", make_file(SPECS["single-scalar"]))
    good = json.loads((tmp_path / "good.json").read_text(encoding="utf-8"))

    def write(name, doc_or_text):
        path = tmp_path / name
        text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
        path.write_text(text, encoding="utf-8")
        return path

    def variant(**changes):
        doc = json.loads(json.dumps(good))
        for dotted, value in changes.items():
            *parents, last = dotted.split("__")
            target = doc
            for p in parents:
                target = target[p]
            if value is KeyError:
                del target[last]
            else:
                target[last] = value
        return doc

    expect_refused(write("broken.json", '{"format": "biasviz-params", '), "not valid json")
    expect_refused(write("array.json", "[1, 2, 3]"), "not a json object")
    expect_refused(write("other.json", variant(format="someone-else")), "not a biasviz")
    expect_refused(write("noformat.json", variant(format=KeyError)), "format")
    expect_refused(write("newer.json", variant(format_version=2)), "newer")
    expect_refused(write("noparams.json", variant(params=KeyError)), "params")
    expect_refused(
        write(
            "ragged.json",
            variant(params__weights__values=[[1.0, 2.0], [3.0]], params__weights__shape=[2, 2]),
        ),
        "param",
    )
    expect_refused(write("strings.json", variant(params__bias__values=["0.5"])), "not numbers")
    expect_refused(write("bools.json", variant(params__bias__values=[True])), "not numbers")
    expect_refused(write("declared.json", variant(params__bias__shape=[2])), "declares shape")
    expect_refused(write("huge.json", variant(params__bias__shape=[2**40])), "too large")
    expect_refused(write("missing.json", variant(params__bias=KeyError)), "missing bias")
    expect_refused(
        write("extra.json", variant(params__junk={"shape": [1], "values": [1.0]})),
        "unexpected junk",
    )
    expect_refused(
        write("wrongshape.json", variant(params__weights={"shape": [783], "values": [0.0] * 783})),
        "shape",
    )
    nan_text = json.dumps(good).replace('"values": [', '"values": [NaN, ', 1)
    expect_refused(write("nan.json", nan_text), "NaN")
    expect_refused(write("overflow.json", variant(params__bias__values=[1e300])), "infinite")
    expect_refused(write("badspec.json", variant(spec__kernel=4)), "kernel")
    expect_refused(write("deep.json", "[" * 200_000 + "]" * 200_000))
    (tmp_path / "latin1.json").write_bytes('{"format": "é"}'.encode("latin-1"))
    expect_refused(tmp_path / "latin1.json", "utf-8")
    # a flat list of values with the declared shape is accepted
    flat = variant(params__weights={"shape": [784], "values": [0.25] * 784})
    back = import_params(write("flat.json", flat))
    assert back.params["weights"].shape == (784,) and back.params["weights"][0] == 0.25
