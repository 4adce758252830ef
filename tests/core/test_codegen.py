"""The exported PyTorch code (issue 13): it runs on its own and reproduces the app's run.

Each reproduction test writes the script for one setting, runs it in a subprocess with
this test environment's Python, reads the validation accuracy it prints after every
epoch and compares it with ``Trainer`` run in this process on the same settings.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biasviz import cli
from biasviz.core.codegen import (
    CONCEPTS,
    DatasetRef,
    default_params_path,
    generate_code,
    notebook_text,
    render_live,
    write_code,
)
from biasviz.core.datasets import Task, load_dataset, load_sample, make_task_data
from biasviz.core.errors import BiasvizError, ConfigError, DatasetError
from biasviz.core.spec import BiasMode, InitKind, ModelSpec, TrainConfig, numpy_logits

FASHION = Path("/usr/share/datasets/fashion-mnist")
PAIR = Task((3, 7))
TEN = Task.all_ten()
# Why a tolerance: the script does the app's arithmetic, but not always op for op.
# nn.Linear adds its bias inside one fused matrix product (addmm) where the app's models
# compute x @ W.T + b, and the app's fast engine (numpy, closed-form gradients, 1/255
# folded into the small arrays) rounds differently again: the two runs agree to float
# rounding, which training can grow, and an image whose logit sits near the decision
# boundary can flip.  Measured: 17 of the 18 cases below print the app's accuracies to
# the image; the CNN differs by 2 of 1,000 images.  0.5 percentage points is the issue's
# bound (one image of the sample's 200 3-vs-7 validation images, five of its 1,000).
TOLERANCE = 0.005 + 1e-9

EPOCH_LINE = re.compile(r"^epoch (\d+): validation accuracy ([0-9.]+)$", re.M)
FINAL_LINE = re.compile(r"^final validation accuracy: ([0-9.]+)$", re.M)


def app_accuracies(spec: ModelSpec, config: TrainConfig, data) -> list[float]:
    from biasviz.core.training import EpochMetrics, Trainer

    trainer = Trainer(spec, data, config)
    return [e.valid_accuracy for e in trainer.run() if isinstance(e, EpochMetrics)]


def run_script(path: Path, timeout: float = 240) -> str:
    done = subprocess.run([sys.executable, str(path)], cwd=path.parent, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def script_accuracies(stdout: str) -> tuple[list[float], float]:
    per_epoch = [(int(n), float(a)) for n, a in EPOCH_LINE.findall(stdout)]
    assert [n for n, _ in per_epoch] == list(range(1, len(per_epoch) + 1)), stdout
    final = FINAL_LINE.search(stdout)
    assert final is not None, stdout
    return [a for _, a in per_epoch], float(final.group(1))


def compare(per_epoch: list[float], final: float, spec: ModelSpec, config: TrainConfig,
            data, params_file: Path) -> None:
    """The script's accuracies are the app's, and its saved parameters open in biasviz."""
    app = app_accuracies(spec, config, data)
    assert len(per_epoch) == len(app) == int(config.epochs)
    for epoch, (mine, theirs) in enumerate(zip(per_epoch, app, strict=True), 1):
        assert abs(mine - theirs) <= TOLERANCE, (epoch, per_epoch, app)
    if per_epoch:
        assert final == per_epoch[-1]
    else:  # no training: the untrained model's accuracy
        from biasviz.core.training import Trainer

        assert abs(final - Trainer(spec, data, config).evaluate()[1]) <= TOLERANCE
    check_saved_params(params_file, spec, data, final)


def check_reproduces(tmp_path: Path, spec: ModelSpec, config: TrainConfig, task: Task,
                     dataset: str | DatasetRef, data) -> list[float]:
    code = generate_code(spec, config, task, dataset, params_path="run.npz")
    script = tmp_path / "run.py"
    write_code(script, code)
    per_epoch, final = script_accuracies(run_script(script))
    compare(per_epoch, final, spec, config, data, tmp_path / "run.npz")
    return per_epoch


def check_saved_params(path: Path, spec: ModelSpec, data, accuracy: float) -> None:
    """The saved file opens in biasviz as the same model, and gives the same accuracy."""
    from biasviz.core.paramfiles import import_params

    mf = import_params(path)
    assert mf.spec == spec
    assert mf.metadata["valid_accuracy"] == pytest.approx(accuracy)
    logits = numpy_logits(mf.params, mf.spec, data.valid_x.astype(np.float32) / 255)
    pred = (logits >= 0).astype(int) if data.task.is_binary else logits.argmax(1)
    # numpy's float32 sums round differently from torch's: allow one image at z ≈ 0
    assert abs(float(np.mean(pred == data.valid_y)) - accuracy) <= 1 / data.n_valid + 1e-9


# -- reproduction: every model kind and bias mode, Adam, BCE, every init ----------------
CASES = {
    "single-scalar": (ModelSpec(), TrainConfig(epochs=3), PAIR),
    "single-per-pixel": (ModelSpec(bias_mode="per_pixel"), TrainConfig(epochs=3), PAIR),
    "single-no-bias": (ModelSpec(bias_mode="none"), TrainConfig(epochs=3), PAIR),
    "single-adam": (ModelSpec(init_std=0.1), TrainConfig(epochs=3, lr=0.01,
                                                          optimizer="adam"), PAIR),
    "single-bce": (ModelSpec(init_std=0.01), TrainConfig(epochs=3, loss="bce"), PAIR),
    "single-unshuffled": (ModelSpec(init_std=0.1),
                          TrainConfig(epochs=2, shuffle=False, batch_size=100), PAIR),
    "single-zero-epochs": (ModelSpec(seed=9), TrainConfig(epochs=0), PAIR),
    "linear": (ModelSpec(kind="linear", n_outputs=10, init_std=0.01),
               TrainConfig(epochs=2, lr=0.5, batch_size=128, seed=3), TEN),
    "mlp": (ModelSpec(kind="mlp", n_outputs=10, hidden=16, init_std=0.1, seed=2),
            TrainConfig(epochs=2, lr=0.5, batch_size=64, seed=2), TEN),
    "mlp-pair-adam": (ModelSpec(kind="mlp", hidden=8, init_std=0.1),
                      TrainConfig(epochs=2, lr=0.01, optimizer="adam"), PAIR),
    "cnn": (ModelSpec(kind="cnn", n_outputs=10, channels=4, kernel=5, init_std=0.1),
            TrainConfig(epochs=1, lr=0.5, batch_size=200), TEN),
    "cnn-pair-bce": (ModelSpec(kind="cnn", channels=2, kernel=3, init_std=0.1),
                     TrainConfig(epochs=2, lr=0.5, loss="bce"), PAIR),
}
# Every initialization, on a model with a hidden layer and on the single neuron: a new
# init kind in spec.py fails here until the code export writes it.
for _init in InitKind:
    CASES[f"mlp-init-{_init.value}"] = (
        ModelSpec(kind="mlp", hidden=8, init=_init, init_std=0.5, seed=5),
        TrainConfig(epochs=1, lr=0.5, seed=1), PAIR)
    CASES[f"single-init-{_init.value}"] = (
        ModelSpec(init=_init, init_std=0.5, seed=4), TrainConfig(epochs=2), PAIR)

# Runs each script (given as argv pairs: name, path) in its own folder, in one Python
# process: one torch import for all the scripts instead of one each.
RUNNER = """
import contextlib, io, json, os, runpy, sys, traceback
out = {}
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    os.chdir(os.path.dirname(path))
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        out[name] = {"ok": True, "stdout": buf.getvalue()}
    except BaseException:
        out[name] = {"ok": False, "stdout": buf.getvalue(), "error": traceback.format_exc()}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def exported_runs(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """Every case's script, written and run in a subprocess with this Python."""
    root = tmp_path_factory.mktemp("exported")
    args = []
    for name, (spec, config, task) in CASES.items():
        folder = root / name
        folder.mkdir()
        write_code(folder / "run.py", generate_code(spec, config, task, "sample",
                                                    params_path="run.npz"))
        args += [name, str(folder / "run.py")]
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: (results[name], root / name / "run.npz") for name in CASES}


@pytest.mark.parametrize("case", list(CASES))
def test_exported_script_reproduces_the_apps_run(exported_runs, case):
    spec, config, task = CASES[case]
    result, params_file = exported_runs[case]
    assert result["ok"], result.get("error")
    per_epoch, final = script_accuracies(result["stdout"])
    assert all(0 <= a <= 1 for a in per_epoch)
    compare(per_epoch, final, spec, config, make_task_data(load_sample(), task), params_file)


def test_a_script_runs_on_its_own(tmp_path):
    # The scripts above share one process; this one runs alone, as a user runs it.
    spec, config = ModelSpec(seed=3), TrainConfig(epochs=2, seed=3)
    check_reproduces(tmp_path, spec, config, PAIR, "sample",
                     make_task_data(load_sample(), PAIR))


# -- other data sources ------------------------------------------------------------------
needs_fashion = pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)


@needs_fashion
@pytest.mark.slow
def test_idx_folder_is_read_by_the_script_itself(tmp_path):
    ref = DatasetRef.parse(str(FASHION))
    assert ref.source == "folder"
    code = generate_code(ModelSpec(init_std=0.01), TrainConfig(epochs=1, batch_size=512),
                         Task((1, 8)), ref)
    script = code.script()
    assert not re.search(r"^\s*(from|import) biasviz", script, re.M)
    assert "import torch" in script and "read_idx(" in script
    data = make_task_data(load_dataset(str(FASHION)), Task((1, 8)))
    check_reproduces(tmp_path, ModelSpec(init_std=0.01), TrainConfig(epochs=1, batch_size=512),
                     Task((1, 8)), ref, data)


@needs_fashion
@pytest.mark.slow
def test_torchvision_dataset_is_loaded_by_torchvision(tmp_path, monkeypatch):
    # The app's cache layout, filled from the Debian files, extracted (so torchvision
    # finds them and does not try the network).  biasviz itself no longer trusts an
    # extracted-only cache (no checksums to verify): the app's side of the comparison
    # reads the same files as a folder.
    monkeypatch.setenv("BIASVIZ_CACHE_DIR", str(tmp_path / "cache"))
    raw = tmp_path / "cache" / "datasets" / "fashion-mnist" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in FASHION.glob("*.gz"):
        with gzip.open(gz, "rb") as src, open(raw / gz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    ref = DatasetRef.parse("fashion")
    assert ref == DatasetRef("torchvision", "fashion-mnist")
    spec, config = ModelSpec(kind="linear", n_outputs=10, init_std=0.01), TrainConfig(
        epochs=1, lr=0.1, batch_size=1000)
    code = generate_code(spec, config, TEN, ref)
    assert "datasets.FashionMNIST(root, train=True, download=True)" in code.script()
    data = make_task_data(load_dataset(str(raw)), TEN)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    check_reproduces(run_dir, spec, config, TEN, ref, data)


@pytest.mark.parametrize("kind", ["single", "linear", "mlp", "cnn"])
def test_section_headings_are_short(kind):
    """A heading is "# -- 2. The data --": a rule of dashes to column 80 wrapped, in the
    code panel beside the controls, into a row of dashes alone."""
    spec = ModelSpec(kind=kind, n_outputs=1 if kind == "single" else 10)
    code = generate_code(spec, TrainConfig(), PAIR if kind == "single" else TEN)
    headings = [line.text for line in code.lines() if line.text.startswith("# -- ")]
    assert len(headings) == len(code.blocks) >= 5
    for number, (text, block) in enumerate(zip(headings, code.blocks, strict=True), 1):
        assert text == f"# -- {number}. {block.title} --"
        assert len(text) <= 56, text  # (the laptop column: ~56 characters)


def test_dataset_refs():
    assert DatasetRef.parse("sample") == DatasetRef()
    assert DatasetRef.parse(" MNIST ") == DatasetRef("torchvision", "mnist")
    assert DatasetRef.parse("kuzushiji-mnist") == DatasetRef("torchvision", "kmnist")
    assert DatasetRef.of_dataset("fashion-mnist") == DatasetRef("torchvision", "fashion-mnist")
    assert DatasetRef.of_dataset("folder", "/x/y") == DatasetRef("folder", "/x/y")
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
        DatasetRef.parse("cifar")


def test_a_folder_without_idx_files_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="missing train-images"):
        DatasetRef.parse(str(tmp_path))


# -- the notebook ----------------------------------------------------------------------------
def test_notebook_validates_and_explains_every_step():
    nbformat = pytest.importorskip("nbformat")
    code = generate_code(ModelSpec(bias_mode="per_pixel"), TrainConfig(epochs=2), PAIR)
    nb = nbformat.reads(notebook_text(code), as_version=4)
    nbformat.validate(nb)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and code.summary in cells[0].source
    code_cells = [c for c in cells if c.cell_type == "code"]
    assert len(code_cells) == len(code.blocks)
    for i, cell in enumerate(cells[1:]):
        # markdown, code, markdown, code...: a markdown cell explains each step
        assert cell.cell_type == ("markdown" if i % 2 == 0 else "code")
    assert [c.source for c in code_cells] == [b.code for b in code.blocks]
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert "forum" in text and "784 biases" in text and "mnist_loss" in text


@pytest.mark.slow
def test_notebook_runs_and_prints_the_apps_accuracy(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec, config = ModelSpec(init_std=0.1), TrainConfig(epochs=2)
    code = generate_code(spec, config, PAIR, params_path="nb.npz")
    write_code(tmp_path / "run.ipynb", code)
    nb = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
        for out in cell.outputs
    )
    per_epoch, _final = script_accuracies(printed)
    app = app_accuracies(spec, config, make_task_data(load_sample(), PAIR))
    assert np.allclose(per_epoch, app, atol=TOLERANCE, rtol=0)
    assert (tmp_path / "nb.npz").is_file()


# -- the structured form for the code panel ---------------------------------------------
def test_lines_are_the_script_and_carry_concepts():
    code = generate_code(ModelSpec(), TrainConfig(lr=0.5), PAIR)
    lines = code.lines()
    assert "\n".join(line.text for line in lines) + "\n" == code.script()
    for line in lines:
        assert set(line.concepts) <= set(CONCEPTS), line
    bias_lines = [lines[i].text for i in code.lines_for("bias")]
    assert any(t.startswith("bias = init_params(1)") for t in bias_lines)
    assert any("xb@weights + bias" in t for t in bias_lines)
    assert [lines[i].text for i in code.lines_for("lr")][0] == "lr = 0.5"
    assert any("p.data -= p.grad*lr" in lines[i].text for i in code.lines_for("step"))
    assert any("loss.backward()" in lines[i].text for i in code.lines_for("gradient"))


def test_no_bias_means_no_bias_variable():
    code = generate_code(ModelSpec(bias_mode="none"), TrainConfig(), PAIR)
    assert "bias = " not in code.script()
    assert "return xb@weights  # no bias" in code.script()
    assert not [line for line in code.lines() if line.live in ("bias", "bias_sum")]


def test_live_values_go_beside_their_lines():
    code = generate_code(ModelSpec(), TrainConfig(), PAIR)
    by_key = {line.live: line for line in code.lines() if line.live}
    assert {"bias", "lr", "step", "epoch", "loss", "accuracy"} <= set(by_key)
    shown = render_live(by_key["bias"], {"bias": -0.123456, "step": 7})
    assert shown.startswith("bias = init_params(1)") and shown.endswith("b = -0.1235")
    assert render_live(by_key["step"], {"step": 1234}).endswith("step 1,234")
    assert render_live(by_key["step"], {}) == by_key["step"].text
    assert render_live(by_key["epoch"], {"epoch": None}) == by_key["epoch"].text
    # a snapshot holds the epochs done: said so (step 1,950 of 4 a batch is in epoch 488,
    # as the progress bar says; "epoch 487" beside it read as a contradiction)
    assert render_live(by_key["epoch"], {"epoch": 17}).endswith("17 epochs done")
    assert render_live(by_key["epoch"], {"epoch": 1}).endswith("1 epoch done")
    # more epochs done than the loop trains (Start pressed again): said so, not left as
    # "for epoch in range(40):  # ◂ 42 epochs done"
    loop = int(re.search(r"range\((\d+)\)", by_key["epoch"].text).group(1))
    assert render_live(by_key["epoch"], {"epoch": loop}).endswith(f"{loop} epochs done")
    assert render_live(by_key["epoch"], {"epoch": loop + 2}).endswith(
        f"{loop + 2} epochs done (over several Starts)")
    per_pixel = generate_code(ModelSpec(bias_mode="per_pixel"), TrainConfig(), PAIR)
    line = next(li for li in per_pixel.lines() if li.live == "bias_sum")
    assert "Σbᵢ = 2.5" in render_live(line, {"bias_sum": 2.5})
    # a past moment shown (a replay, the timeline): its values, named by their step
    past = {"bias": 0.279, "step": 36, "loss": 0.25, "lr": 1.0, "moment": 36}
    assert render_live(by_key["bias"], past).endswith("step 36: b = 0.279")
    assert render_live(by_key["loss"], past).endswith("step 36: loss 0.2500")
    assert render_live(by_key["step"], past).endswith("step 36")
    assert render_live(by_key["lr"], past).endswith("lr = 1")


def test_code_follows_the_settings():
    base = generate_code(ModelSpec(), TrainConfig(), PAIR).script()
    assert "mnist_loss" in base and "F." not in base and "nn." not in base
    bce = generate_code(ModelSpec(), TrainConfig(loss="bce"), PAIR).script()
    assert "binary_cross_entropy_with_logits" in bce
    adam = generate_code(ModelSpec(), TrainConfig(optimizer="adam", lr=0.01), PAIR).script()
    assert "torch.optim.Adam(params, lr=lr)" in adam and "p.grad*lr" not in adam
    zeros = generate_code(ModelSpec(kind="mlp", n_outputs=10, init="zeros"), TrainConfig(),
                          TEN).script()
    assert "p.zero_()" in zeros and "manual_seed(0)  # the seed" not in zeros
    cnn = generate_code(ModelSpec(kind="cnn", n_outputs=10, channels=6, kernel=3),
                        TrainConfig(), TEN).script()
    assert "nn.Conv2d(1, 6, 3)" in cnn and "nn.Linear(1014, 10)" in cnn
    other_task = generate_code(ModelSpec(), TrainConfig(), Task((1, 8)), "fashion").script()
    assert "(labels == 1) | (labels == 8)" in other_task and "'Trouser'" in other_task


def test_impossible_settings_are_refused():
    with pytest.raises(ConfigError, match="needs 10"):
        generate_code(ModelSpec(kind="mlp"), TrainConfig(), TEN)
    with pytest.raises(ConfigError, match=".npz"):
        generate_code(ModelSpec(), TrainConfig(), PAIR, params_path="out.pt")


# -- files ----------------------------------------------------------------------------------
def test_write_code_refuses_bad_targets_and_leaves_nothing(tmp_path):
    code = generate_code(ModelSpec(), TrainConfig(), PAIR)
    with pytest.raises(ConfigError, match=r"\.py \(a script\) or \.ipynb"):
        write_code(tmp_path / "x.txt", code)
    with pytest.raises(BiasvizError, match="does not exist"):
        write_code(tmp_path / "nope" / "x.py", code)
    (tmp_path / "adir.py").mkdir()
    with pytest.raises(BiasvizError, match="folder"):
        write_code(tmp_path / "adir.py", code)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.py"]
    write_code(tmp_path / "ok.ipynb", code)
    assert json.loads((tmp_path / "ok.ipynb").read_text())["nbformat"] == 4
    assert default_params_path(tmp_path / "ok.ipynb") == "ok.npz"


def test_codegen_and_data_do_not_import_torch_or_qt():
    code = (
        "import sys\nimport biasviz.core.codegen, biasviz.data\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    loaded = set(out.stdout.split())
    assert "numpy" in loaded
    assert not loaded & {"torch", "torchvision", "PySide6", "pyqtgraph"}


def test_load_task_gives_the_apps_arrays():
    from biasviz.data import load_task

    train_x, train_y, valid_x, valid_y = load_task("sample", "3,7")
    data = make_task_data(load_sample(), PAIR)
    for mine, theirs in zip((train_x, train_y, valid_x, valid_y),
                            (data.train_x, data.train_y, data.valid_x, data.valid_y),
                            strict=True):
        assert np.array_equal(mine, theirs) and mine.dtype == theirs.dtype
        assert mine.flags.writeable
    assert train_x.shape == (800, 784) and set(np.unique(train_y)) == {0, 1}
    with pytest.raises(ConfigError):
        load_task("sample", "3,3")


# -- the command line -------------------------------------------------------------------------
def test_cli_code_writes_what_train_would_run(tmp_path, capsys):
    out = tmp_path / "mlp.py"
    status = cli.main(["code", "--task", "all", "--model", "mlp", "--hidden", "12",
                       "--init-std", "0.1", "--lr", "0.5", "--epochs", "1", "--seed", "4",
                       "--out", str(out)])
    assert status == cli.EXIT_OK, capsys.readouterr().err
    text = out.read_text()
    assert "nn.Linear(28*28, 12)" in text and "lr = 0.5" in text
    assert 'np.savez("mlp.npz"' in text and "manual_seed(4)" in text
    assert "wrote" in capsys.readouterr().err
    status = cli.main(["code", "--out", str(tmp_path / "nb.ipynb"), "--params-out", "w.npz",
                       "-q"])
    assert status == cli.EXIT_OK
    nb = json.loads((tmp_path / "nb.ipynb").read_text())
    assert any('np.savez("w.npz"' in "".join(c["source"]) for c in nb["cells"])


def test_cli_code_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["code", "--out", str(tmp_path / "x.txt")]) == cli.EXIT_USAGE
    assert "write a .py script or an .ipynb notebook" in capsys.readouterr().err
    assert cli.main(["code"]) == cli.EXIT_USAGE
    assert "--out" in capsys.readouterr().err
    assert cli.main(["code", "--task", "all", "--model", "single",
                     "--out", str(tmp_path / "x.py")]) == cli.EXIT_USAGE
    assert cli.main(["code", "--dataset", "nowhere", "--out",
                     str(tmp_path / "x.py")]) == cli.EXIT_USAGE  # a bad argument (README)
    err = capsys.readouterr().err
    assert "unknown dataset 'nowhere'" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_every_setting_has_lines_in_the_code():
    from biasviz.core.codegen import SETTING_CONCEPTS, settings_for

    code = generate_code(ModelSpec(), TrainConfig(), PAIR)
    for setting, concept in SETTING_CONCEPTS.items():
        assert concept in CONCEPTS, setting
        assert code.lines_for(concept), f"{setting}: no line shows {concept!r}"
        assert setting in settings_for(concept)
    assert set(settings_for("bias")) == {"bias_mode", "bias", "threshold"}
    mlp = generate_code(ModelSpec(kind="mlp", n_outputs=10), TrainConfig(), TEN)
    hidden = [mlp.lines()[i].text for i in mlp.lines_for(SETTING_CONCEPTS["hidden"])]
    assert any("nn.Linear(28*28, 32)" in t for t in hidden)


@pytest.mark.parametrize("mode", list(BiasMode))
def test_the_code_never_names_our_source_texts(mode):
    # "(seed 000's question)" reached the notebook: our name for a source text, which a
    # learner reads as a random seed
    code = generate_code(ModelSpec(bias_mode=mode), TrainConfig(), Task.pair(3, 7), "sample")
    text = notebook_text(code) + code.script()
    assert not re.search(r"seed 00\d", text)


def test_code_for_an_installed_copy_reads_that_copy(tmp_path, monkeypatch):
    # Debian's dataset-fashion-mnist, no internet: the exported code said
    # datasets.FashionMNIST(root, download=True), which fails where the app did not
    from biasviz.core.datasets import download

    monkeypatch.setattr(download, "SYSTEM_DATASET_DIRS", (tmp_path,))
    copy = tmp_path / "fashion-mnist"
    ref = DatasetRef.of_dataset("fashion-mnist", str(copy))
    assert ref == DatasetRef("folder", str(copy))
    assert ref.class_names[0] == "T-shirt/top"  # the folder's name still says Fashion
    # a download in the cache stays a download; `biasviz code --dataset fashion-mnist`
    # reads the installed copy too when there is no download
    copy.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (copy / name).write_bytes(b"")
    assert DatasetRef.parse("fashion-mnist") == DatasetRef("folder", str(copy))
    assert DatasetRef.of_dataset("fashion-mnist", str(tmp_path / "cache" / "FashionMNIST")) \
        == DatasetRef("torchvision", "fashion-mnist")


def test_an_imported_start_is_loaded_and_the_run_reproduced(tmp_path):
    """The code of an imported model started from "manual_seed(0)" and init_params: run,
    it trained another model than the app's.  Now it loads the file's numbers."""
    from biasviz.core.codegen import default_start_path
    from biasviz.core.paramfiles import export_params, make_metadata
    from biasviz.core.paramfiles.model_file import ModelFile
    from biasviz.core.training import EpochMetrics, Trainer

    cases = {
        "single": (ModelSpec(), TrainConfig(epochs=2), PAIR),
        "mlp": (ModelSpec(kind="mlp", n_outputs=10, hidden=8, init="standard"),
                TrainConfig(epochs=1, lr=0.5, batch_size=64), TEN),
    }
    rng = np.random.default_rng(5)
    args, starts = [], {}
    for name, (spec, config, task) in cases.items():
        start = {k: rng.normal(0, 0.05, shape).astype(np.float32)
                 for k, shape in spec.param_shapes().items()}
        starts[name] = start
        folder = tmp_path / name
        folder.mkdir()
        script = folder / "run.py"
        assert default_start_path(script) == "run-start.npz"
        code = generate_code(spec, config, task, "sample", params_path="run.npz",
                             start_path="run-start.npz")
        text = code.script()
        assert 'np.load("run-start.npz")' in text and "imported" in text
        export_params(folder / "run-start.npz", ModelFile(spec, start, make_metadata(spec)))
        write_code(script, code)
        args += [name, str(script)]
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (spec, config, task) in cases.items():
        assert results[name]["ok"], results[name].get("error")
        per_epoch, _final = script_accuracies(results[name]["stdout"])
        trainer = Trainer(spec, make_task_data(load_sample(), task), config)
        trainer.set_params(starts[name])
        app = [e.valid_accuracy for e in trainer.run() if isinstance(e, EpochMetrics)]
        assert len(per_epoch) == len(app)
        assert all(abs(a - b) <= TOLERANCE for a, b in zip(per_epoch, app, strict=True)), \
            (name, per_epoch, app)
        # and not what the seed's own start gives
        fresh = app_accuracies(spec, config, make_task_data(load_sample(), task))
        assert fresh != app
