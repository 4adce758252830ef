"""The command line keeps README's promise: exit status 2 for bad arguments, 1 for bad
files or data.  ``biasviz train --dataset foo`` exited 1, as did an --activation typo."""

from __future__ import annotations

import pytest

from biasviz.cli import main
from biasviz.core.sessionfile import read_session, write_session

UNKNOWN = ("unknown dataset {!r}: choose one of sample, mnist, fashion-mnist, kmnist, or give "
           "a folder holding MNIST-style IDX files")


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("biasviz: error: ")
    return lines[0].removeprefix("biasviz: error: ")


@pytest.mark.parametrize("command", [
    ["train"],
    ["code", "--out", "{tmp}/run.py"],
    ["animate", "--train", "--out", "{tmp}/run.gif"],
])
@pytest.mark.parametrize("dataset", ["foo", "{tmp}/absent", "{tmp}/a-file.txt"])
def test_a_dataset_that_is_no_dataset_is_a_bad_argument(tmp_path, capsys, command, dataset):
    (tmp_path / "a-file.txt").write_text("not a folder")
    dataset = dataset.format(tmp=tmp_path)
    argv = [a.format(tmp=tmp_path) for a in command] + ["--dataset", dataset]
    assert main(argv) == 2
    assert one_error_line(capsys) == UNKNOWN.format(dataset)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file.txt"]  # nothing written


def test_a_folder_whose_files_are_missing_is_bad_data(tmp_path, capsys):
    (tmp_path / "digits").mkdir()
    assert main(["train", "--dataset", str(tmp_path / "digits"), "-q"]) == 1
    assert "missing train-images-idx3-ubyte[.gz]" in one_error_line(capsys)


def test_an_unknown_activation_is_a_bad_argument(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["train", "--epochs", "0", "-q", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["info", str(model), "--activation", "foo"]) == 2
    message = one_error_line(capsys)
    assert "unknown activation 'foo'" in message and "relu" in message
    assert main(["info", str(model), "--activation", "ReLU"]) == 0  # any spelling of one


def test_info_says_a_session_s_dataset_was_an_installed_copy(tmp_path, capsys):
    path = tmp_path / "run.biasviz"
    assert main(["train", "--epochs", "0", "-q", "--out", str(path)]) == 0
    meta, arrays = read_session(path)
    folder = "/usr/share/datasets/mnist"
    meta["dataset"].update(key="mnist", name=f"MNIST (installed copy in {folder})",
                           source=folder)
    write_session(path, meta, arrays)
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert (f"MNIST (installed copy in {folder}), a copy a system package installed, not a "
            "download") in out
    assert "the mnist download" not in out
