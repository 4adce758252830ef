"""The ``biasviz`` command: train, predict, info, errors, and a cheap import."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from biasviz import cli
from biasviz.cli import main

REPO = Path(__file__).resolve().parents[2]
ACCURACY_LINE = re.compile(r"^validation accuracy: (\d\.\d{4}) \((.+), ([\d,]+) images\)$", re.M)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.pop("BIASVIZ_DEBUG", None)
    return env


def _draw_one(path: Path) -> Path:
    """A thick white "1"-ish stroke on black, as a user might draw it."""
    picture = Image.new("L", (200, 200), 0)
    draw = ImageDraw.Draw(picture)
    draw.line([(92, 40), (108, 30), (104, 170)], fill=255, width=18, joint="curve")
    picture.save(path)
    return path


def _probabilities(out: str) -> dict[str, float]:
    """The class → probability table printed by ``predict``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class"))
    table: dict[str, float] = {}
    for line in lines[start + 1 :]:
        if line.startswith("logit:") or not line.strip():
            break
        match = re.match(r"^(.*?)\s+(\d\.\d{4})(\s+-?\d+\.\d{4})?$", line)
        assert match, line
        table[match.group(1)] = float(match.group(2))
    return table


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A single neuron (3 vs 7, .npz) and a ten-class linear model (.json), trained once."""
    folder = tmp_path_factory.mktemp("models")
    single, linear = folder / "model.npz", folder / "m.json"
    assert main(["train", "--epochs", "2", "--out", str(single), "-q"]) == 0
    assert main(["train", "--task", "all", "--model", "linear", "--epochs", "1",
                 "--out", str(linear), "-q"]) == 0
    return {"single": single, "linear": linear}


def test_train_prints_accuracy_and_writes_a_file_info_describes(tmp_path, capsys):
    out_file = tmp_path / "model.npz"
    assert main(["train", "--epochs", "2", "--out", str(out_file)]) == 0
    out, err = capsys.readouterr()
    match = ACCURACY_LINE.search(out)
    assert match, out
    assert 0.0 <= float(match.group(1)) <= 1.0
    assert match.group(2) == "3 vs 7"
    assert match.group(3) == "200"
    assert "epoch 2/2" in err  # plain per-epoch lines: stderr is not a terminal here
    assert out_file.is_file()

    assert main(["info", str(out_file)]) == 0
    out, _ = capsys.readouterr()
    assert "Single neuron" in out
    assert "weights" in out and "(784,)" in out and "bias" in out
    assert "MNIST sample" in out
    assert re.search(r"class names:\s+3, 7", out)
    assert re.search(r"epochs:\s+2", out)
    assert f"validation accuracy: {match.group(1)}" in re.sub(r" +", " ", out)
    assert re.search(r"biasviz version:\s+\d", out)
    assert re.search(r"neuron\s+784\s+1\s+785", out)
    assert re.search(r"total\s+784\s+1\s+785", out)


def test_train_ten_classes_linear_json(tmp_path, capsys):
    out_file = tmp_path / "m.json"
    code = main(["train", "--task", "all", "--model", "linear", "--epochs", "1",
                 "--out", str(out_file)])
    assert code == 0
    out, _ = capsys.readouterr()
    match = ACCURACY_LINE.search(out)
    assert match and match.group(2) == "all ten classes" and match.group(3) == "1,000"
    assert out_file.is_file()
    assert main(["info", str(out_file)]) == 0
    out, _ = capsys.readouterr()
    assert "Linear: 784 → 10" in out
    assert "(10, 784)" in out
    assert re.search(r"total\s+7,840\s+10\s+7,850", out)


def test_quiet_train_prints_only_the_result(capsys):
    assert main(["train", "--epochs", "1", "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 1 and ACCURACY_LINE.search(out)


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_is_tty", lambda stream: True)
    assert main(["train", "--epochs", "2"]) == 0
    _, err = capsys.readouterr()
    assert "\r" in err
    assert re.search(r"epoch 2/2 \[#+-*\] step \d+/\d+ loss \d\.\d{4} valid acc \d\.\d{4}", err)


@pytest.mark.parametrize("kind", ["single", "linear"])
def test_predict_prints_prediction_and_probabilities(models, tmp_path, capsys, kind):
    image = _draw_one(tmp_path / "one.png")
    assert main(["predict", str(models[kind]), str(image)]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^prediction: \S+ \(probability \d\.\d{4}\)$", out, re.M), out
    table = _probabilities(out)
    assert len(table) == (2 if kind == "single" else 10)
    assert sum(table.values()) == pytest.approx(1.0, abs=2e-3)
    if kind == "single":
        assert list(table) == ["3", "7"]
        assert re.search(r"^logit: -?\d+\.\d{4}", out, re.M)
    else:
        assert list(table) == [str(d) for d in range(10)]
    assert "Traceback" not in out + err


def test_interrupt_stops_cleanly_without_writing(tmp_path, monkeypatch, capsys):
    from biasviz.core import train_loop as training

    def interrupted_run(self, epochs=None, control=None):
        yield training.StepMetrics(1, 1, 1, 4, 0.5, 0.0)
        raise KeyboardInterrupt

    monkeypatch.setattr(training.TrainerCore, "run", interrupted_run)
    out_file = tmp_path / "model.npz"
    assert main(["train", "--out", str(out_file)]) == 130
    out, err = capsys.readouterr()
    assert "interrupted" in err and "nothing was written" in err
    assert "validation accuracy" not in out
    assert list(tmp_path.iterdir()) == []


def test_divergence_is_an_error_and_writes_nothing(tmp_path, capsys):
    out_file = tmp_path / "model.npz"
    code = main(["train", "--loss", "bce", "--lr", "1e38", "--epochs", "3", "-q",
                 "--out", str(out_file)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("biasviz: error: training diverged") and len(err.splitlines()) == 1
    assert "nothing was written" in err
    assert "validation accuracy" not in out
    assert not out_file.exists()


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip file")
    bad_image = tmp_path / "bad.png"
    bad_image.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing an image needs")
    blank = tmp_path / "blank.png"
    Image.new("L", (40, 40), 0).save(blank)
    return {"corrupt": corrupt, "bad_image": bad_image, "blank": blank,
            "missing": tmp_path / "missing.npz"}


ERROR_CASES = {
    "missing params file": (["info", "{missing}"], 1),
    "corrupt params file": (["info", "{corrupt}"], 1),
    "predict with missing params": (["predict", "{missing}", "{blank}"], 1),
    "bad image file": (["predict", "{model}", "{bad_image}"], 1),
    "image with no ink": (["predict", "{model}", "{blank}"], 1),
    "missing image": (["predict", "{model}", "{tmp}/nope.png"], 1),
    "unknown dataset": (["train", "--dataset", "no-such-dataset"], 2),  # README: bad argument
    "same class twice": (["train", "--task", "3,3"], 2),
    "unreadable task": (["train", "--task", "threes"], 2),
    "negative learning rate": (["train", "--lr", "-1"], 2),
    "single neuron on ten classes": (["train", "--model", "single", "--task", "all"], 2),
    "bias mode of an mlp": (["train", "--model", "mlp", "--bias-mode", "none"], 2),
    "unknown output type": (["train", "--out", "{tmp}/model.txt"], 2),
    "output folder missing": (["train", "--out", "{tmp}/no/such/model.npz"], 1),
    "unknown model (argparse)": (["train", "--model", "huge"], 2),
    "unknown command (argparse)": (["trian"], 2),
    "not a number (argparse)": (["train", "--epochs", "many"], 2),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_one_line_without_traceback(case, models, tmp_path, capsys):
    args, expected = ERROR_CASES[case]
    names = {k: str(v) for k, v in _bad_files(tmp_path).items()}
    names.update(model=str(models["single"]), tmp=str(tmp_path))
    code = main([a.format(**names) for a in args])
    out, err = capsys.readouterr()
    assert code == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("biasviz: error:"), err
    assert "Traceback" not in out + err
    assert not (tmp_path / "model.txt").exists()


def test_subprocess_error_has_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "biasviz", "info", "missing.npz"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("biasviz: error:")
    assert "missing.npz" in result.stderr


def test_import_is_cheap():
    code = "import sys, biasviz.cli; print('torch' in sys.modules, 'PySide6' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_version_and_help(capsys):
    import biasviz

    assert main(["--version"]) == 0
    assert biasviz.__version__ in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    assert "--bias-mode" in capsys.readouterr().out


def test_no_arguments_open_the_gui(monkeypatch):
    calls: list[list[str]] = []
    fake = types.ModuleType("biasviz.gui.app")
    fake.run_app = lambda args: calls.append(list(args)) or 0
    monkeypatch.setitem(sys.modules, "biasviz.gui.app", fake)
    assert main([]) == 0
    assert main(["gui", "--dataset", "mnist"]) == 0
    assert main(["-platform", "offscreen"]) == 0
    assert calls == [[], ["--dataset", "mnist"], ["-platform", "offscreen"]]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_in_a_real_process_exits_130_without_a_file(tmp_path):
    import signal

    out_file = tmp_path / "model.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "biasviz", "train", "--epochs", "100000", "--out", str(out_file)],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell's background jobs ignore SIGINT; give the child Python's usual handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("epoch 2/"):
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert "interrupted" in err and "nothing was written" in err
    assert "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("terminal", [True, False])
def test_download_progress_is_shown(monkeypatch, capsys, terminal):
    from biasviz.core import datasets

    def fake_load(spec, progress=None, cancel=None):
        for done in (0, 4_000_000, 9_912_422):
            progress(done, 9_912_422)
        return datasets.load_sample()

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    monkeypatch.setattr(cli, "_is_tty", lambda stream: terminal)
    assert main(["train", "--dataset", "mnist", "--epochs", "1"]) == 0
    _, err = capsys.readouterr()
    assert "downloading mnist" in err
    if terminal:
        assert "9.9 MB / 9.9 MB" in err
    assert "downloaded mnist" in err


def test_help_states_the_engine_defaults():
    """The help text names defaults without importing torch; keep them true."""
    from biasviz.core.spec import ModelSpec
    from biasviz.core.training import TrainConfig

    helps = {a.dest: a.help for sub in cli.build_parser()._subparsers._group_actions
             for name, p in sub.choices.items() if name == "train" for a in p._actions}
    config, spec = TrainConfig(), ModelSpec()
    expected = {
        "epochs": config.epochs, "lr": config.lr, "batch_size": config.batch_size,
        "optimizer": config.optimizer.value, "loss": config.loss.value, "seed": config.seed,
        "hidden": spec.hidden, "channels": spec.channels, "kernel": spec.kernel,
        "init": spec.init.value, "init_std": spec.init_std, "bias_mode": spec.bias_mode.value,
    }
    for dest, value in expected.items():
        assert f"default {value}" in helps[dest], (dest, helps[dest])


# -- issue 11: files from strangers, exit codes and words -------------------------------------
def _hostile_model(path: Path) -> Path:
    """A valid model whose metadata carries terminal control sequences."""
    import numpy as np

    from biasviz.core.paramfiles import ModelFile, export_params, make_metadata
    from biasviz.core.spec import ModelSpec

    spec = ModelSpec()
    meta = make_metadata(
        spec, dataset="evil\x1b]0;pwned\x07\x1b[2J", task="3,7",
        class_names=["3\r\nprediction: 9 (probability 1.0000)", "7\x1b]52;c;ZXZpbA==\x07"],
        **{"key\x1b[31m": "value\u202e\x9b1m"},
    )
    export_params(path, ModelFile(spec, {"weights": np.zeros(784, np.float32),
                                         "bias": np.zeros(1, np.float32)}, meta))
    return path


def _no_control(text: str) -> None:
    for ch in text:
        assert ch in "\n" or ch.isprintable(), f"raw {ch!r} reached the terminal"


def test_info_and_predict_escape_control_characters(tmp_path, capsys):
    model = _hostile_model(tmp_path / "m.json")
    assert main(["info", str(model)]) == 0
    out, err = capsys.readouterr()
    _no_control(out + err)
    assert "\\x1b]0;pwned" in out  # shown, harmlessly
    assert main(["predict", str(model), str(_draw_one(tmp_path / "one.png"))]) == 0
    out, err = capsys.readouterr()
    _no_control(out + err)
    assert not re.search(r"^prediction: 9", out, re.M), "a fake line was printed"


def test_error_messages_escape_control_characters(tmp_path, capsys):
    bad = tmp_path / "x\x1b[2Jy.npz"
    bad.write_bytes(b"not a zip")
    assert main(["info", str(bad)]) == 1
    out, err = capsys.readouterr()
    _no_control(out + err)
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args,code,words", [
    (["train", "--task", "²,7"], 2, "task"),
    (["train", "--task", "3,٣"], 2, "task"),
    (["train", "--seed", str(2**64)], 2, "--seed"),
    (["train", "--seed", "-1"], 2, "--seed"),
    (["train", "--init-std", "1e300"], 2, "--init-std"),
    (["train", "--out", "/proc/biasviz-model.npz", "--epochs", "1"], 1, "biasviz-model.npz"),
])
def test_bad_arguments_exit_with_the_right_code_and_words(args, code, words, capsys):
    assert main(args) == code
    out, err = capsys.readouterr()
    assert words in err and "Traceback" not in err
    assert "validation accuracy" not in out  # refused before training


def test_a_folder_without_the_task_classes_is_a_data_error(tmp_path, capsys):
    import numpy as np

    from biasviz.core.idx import write_idx

    folder = tmp_path / "twos"
    folder.mkdir()
    for prefix, n in (("train", 20), ("t10k", 10)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", np.zeros((n, 28, 28), np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.full(n, 2, np.uint8))
    assert main(["train", "--dataset", str(folder), "--task", "3,7", "-q"]) == 1
    assert "no images of classes" in capsys.readouterr().err


def test_a_local_folder_named_like_a_dataset_is_mentioned(tmp_path, monkeypatch, capsys):
    from biasviz.core import datasets

    (tmp_path / "mnist").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda *a, **k: (_ for _ in ()).throw(datasets.DatasetError("offline")))
    assert main(["train", "--dataset", "mnist", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "./mnist" in err and "--dataset ./mnist" in err


def test_biasviz_file_opens_the_app_on_it(tmp_path, monkeypatch, models):
    calls = []
    fake = types.ModuleType("biasviz.gui.app")
    fake.run_app = lambda args, open_path=None: calls.append((list(args), open_path)) or 0
    monkeypatch.setitem(sys.modules, "biasviz.gui.app", fake)
    assert main([str(models["single"])]) == 0
    assert main([str(models["single"]), "-platform", "offscreen"]) == 0
    assert calls == [([], str(models["single"])),
                     (["-platform", "offscreen"], str(models["single"]))]
    assert main([str(tmp_path / "missing.npz")]) == 1  # said at once, no window
    assert len(calls) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_stops_like_ctrl_c_without_a_file(tmp_path):
    import signal
    import time

    out_file = tmp_path / "model.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "biasviz", "train", "--epochs", "100000", "--out", str(out_file)],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    err_lines = []
    while time.monotonic() < deadline:  # wait until training runs
        line = process.stderr.readline()
        err_lines.append(line)
        if line.startswith("biasviz: Single neuron") or "epoch" in line:
            break
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 143, "".join(err_lines) + err
    assert "terminated" in err and "Traceback" not in err
    assert not out_file.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file either
