"""Parameter files from strangers (issue 11, part B): each test here failed before its fix.

Memory figures for the same bombs, measured in a subprocess, are in
tests/reliability/test_hostile_files.py and docs/RELIABILITY.md.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from biasviz.core import paramfiles
from biasviz.core.errors import BiasvizError, ParamFileError
from biasviz.core.paramfiles import ModelFile, export_params, import_params, make_metadata
from biasviz.core.spec import ModelSpec


def neuron_file(seed: int = 0) -> ModelFile:
    spec = ModelSpec()
    rng = np.random.default_rng(seed)
    params = {"weights": rng.standard_normal(784).astype(np.float32),
              "bias": np.array([0.5], np.float32)}
    return ModelFile(spec, params, make_metadata(spec, dataset="sample", task="3,7",
                                                 class_names=["3", "7"]))


def refused(path: Path, *words: str) -> str:
    with pytest.raises(ParamFileError) as info:
        import_params(path)
    message = str(info.value)
    assert path.name in message, message
    for word in words:
        assert word.lower() in message.lower(), message
    return message


# -- zip members: only what can be bounded -------------------------------------------------------
def npz_bytes(compression: int, **arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, a in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, a, allow_pickle=False)
            zf.writestr(name + ".npy", member.getvalue())
    return buf.getvalue()


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_npz_members_compressed_with_bzip2_or_lzma_are_refused(tmp_path, method):
    # bzip2 and lzma inflate a whole chunk at once, with no output limit: a 2 KB member
    # reached 4.1 GB.  Only stored and deflate members are read.
    path = tmp_path / "other-method.npz"
    path.write_bytes(npz_bytes(method, weights=np.zeros(784, np.float32),
                               bias=np.zeros(1, np.float32)))
    refused(path, "compress")


def test_torch_members_compressed_with_bzip2_are_refused(tmp_path):
    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(1, 784), "bias": torch.zeros(1)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            method = zipfile.ZIP_BZIP2 if info.filename.endswith("data.pkl") else zipfile.ZIP_STORED
            zf.writestr(info.filename, src.read(info), compress_type=method)
    path = tmp_path / "bz.pt"
    path.write_bytes(out.getvalue())
    refused(path, "compress")


# -- metadata and pickles are bounded before they are parsed --------------------------------------
def deflated_torch_file(obj) -> bytes:
    """torch.save's zip with data.pkl deflated: a small file, a big pickle."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            method = (zipfile.ZIP_DEFLATED if info.filename.endswith("data.pkl")
                      else zipfile.ZIP_STORED)
            zf.writestr(info.filename, src.read(info), compress_type=method)
    return out.getvalue()


def test_pt_pickle_of_many_containers_is_refused_before_unpickling(tmp_path, monkeypatch):
    nested = [[[[]]] for _ in range(200_000)]  # 800,000 lists in a 1.1 MB pickle
    path = tmp_path / "lists.pt"
    path.write_bytes(deflated_torch_file({"weight": torch.zeros(1, 784), "junk": nested}))
    assert path.stat().st_size < paramfiles.MAX_PICKLE_BYTES  # small: the count decides
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    refused(path)


def test_pt_pickle_over_the_size_limit_is_refused_before_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "big-pickle.pt"
    path.write_bytes(deflated_torch_file({"weight": torch.zeros(1, 784),
                                          "text": "x" * (8 * 2**20)}))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    refused(path, "pickle")


def json_doc_with(values_text: str) -> str:
    return ('{"format": "biasviz-params", "format_version": 1, "params": '
            '{"weights": {"values": ' + values_text + '}}}')


def test_json_nesting_without_commas_is_refused_before_parsing(tmp_path, monkeypatch):
    # 1,000 lists per comma: the comma count said "few values", json.loads built millions
    # of lists (90 MB → 4.5 GB).
    deep = "[" * 500 + "]" * 500
    path = tmp_path / "nested.json"
    path.write_text(json_doc_with("[" + ",".join([deep] * 2000) + "]"), encoding="utf-8")
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("json.loads ran"))
    refused(path)


def test_json_deeper_than_the_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "deep.json"
    depth = paramfiles.MAX_JSON_DEPTH + 1
    path.write_text(json_doc_with("[" * depth + "]" * depth), encoding="utf-8")
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("json.loads ran"))
    refused(path, "nested")


def test_npz_metadata_nesting_is_bounded(tmp_path, monkeypatch):
    path = tmp_path / "meta.npz"
    deep = "[" * 500 + "]" * 500
    meta = '{"format": "biasviz-params", "x": [' + ",".join([deep] * 200) + "]}"
    np.savez(path, weights=np.zeros(784, np.float32), bias=np.zeros(1, np.float32),
             metadata=np.array(meta))
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("json.loads ran"))
    refused(path)


# -- check and load the same open file ------------------------------------------------------------
def test_the_file_checked_is_the_file_loaded(tmp_path, monkeypatch):
    good = tmp_path / "model.npz"
    export_params(good, neuron_file(1))
    evil = tmp_path / "evil.npz"
    export_params(evil, neuron_file(2))
    expected = import_params(good).params
    swapped = []
    real_open, real_io_open, real_os_open = builtins.open, io.open, os.open

    def swap_after(opener):
        def wrapped(file, *args, **kwargs):
            handle = opener(file, *args, **kwargs)
            if not swapped and os.fspath(file) == os.fspath(good):
                swapped.append(True)  # an attacker renames another file over it now
                os.replace(evil, good)
            return handle
        return wrapped

    monkeypatch.setattr(builtins, "open", swap_after(real_open))
    monkeypatch.setattr(io, "open", swap_after(real_io_open))
    monkeypatch.setattr(os, "open", swap_after(real_os_open))
    back = import_params(good)
    monkeypatch.undo()
    assert swapped
    for name, a in expected.items():
        np.testing.assert_array_equal(back.params[name], a)


# -- validate on import: a model that imports can also be reset and trained -----------------------
@pytest.mark.parametrize("field,value,word", [
    ("seed", 2**64, "seed"),
    ("seed", -(2**70), "seed"),
    ("init_std", 1e300, "init"),
    ("init_std", 1e38, "init"),
])
def test_spec_values_that_break_later_are_refused_on_import(tmp_path, field, value, word):
    path = tmp_path / "spec.json"
    export_params(path, neuron_file())
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["spec"][field] = value
    path.write_text(json.dumps(doc), encoding="utf-8")
    refused(path, word)


def test_an_imported_spec_can_initialize_a_model(tmp_path):
    from biasviz.core.models import build_model, snapshot_params

    path = tmp_path / "spec.json"
    export_params(path, neuron_file())
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["spec"].update(seed=2**63 + 5, init_std=1e30)  # the extremes that still work
    path.write_text(json.dumps(doc), encoding="utf-8")
    mf = import_params(path)
    params = snapshot_params(build_model(mf.spec))
    assert all(np.isfinite(a).all() for a in params.values())


# -- text that is not valid UTF-8 ----------------------------------------------------------------
@pytest.mark.parametrize("ext", [".json", ".png", ".npz", ".pt", ".csv"])
def test_a_dataset_folder_name_that_is_not_utf8_exports(tmp_path, ext):
    name = os.fsdecode(b"IDX from caf\xe9")  # a Latin-1 folder name on a UTF-8 system
    mf = neuron_file()
    mf.metadata.update(dataset=name, class_names=[os.fsdecode(b"\xff"), "7"])
    path = tmp_path / f"m{ext}"
    export_params(path, mf)
    if ext in (".json", ".npz", ".pt"):
        back = import_params(path)
        assert back.metadata["dataset"] == "IDX from caf\ufffd"


# -- temporary files left by a killed export --------------------------------------------------------
def test_stale_temporary_files_are_cleaned_on_the_next_write(tmp_path):
    target = tmp_path / "model.npz"
    dead_pid = 2**22 + 12345  # above pid_max's default: no such process
    from_dead = tmp_path / f".model.npz.{dead_pid}.abc123.tmp"
    old = tmp_path / ".model.npz.k2j3h4.tmp"  # the old naming, no pid: cleaned once old
    live = tmp_path / f".model.npz.{os.getpid()}.fresh1.tmp"  # a running export's
    other = tmp_path / ".other.npz.k2j3h4.tmp"  # another target's
    for p in (from_dead, old, live, other):
        p.write_bytes(b"half")
    past = time.time() - 2 * 3600
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    export_params(target, neuron_file())
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["model.npz", live.name, other.name]), left


# -- API misuse gives the library's own errors ------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda: import_params(None),
    lambda: import_params(12),
    lambda: export_params(None, neuron_file()),
    lambda: export_params("x.npz", None),
    lambda: export_params("x.npz", {"weights": np.zeros(784)}),
    lambda: export_params("x.npz", ModelFile(ModelSpec(), None)),
    lambda: export_params("x.npz", ModelFile(ModelSpec(), {"weights": None, "bias": None})),
])
def test_api_misuse_raises_param_file_error(tmp_path, monkeypatch, call):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamFileError):
        call()
    assert list(tmp_path.iterdir()) == []


def test_task_parse_of_non_text_is_a_config_error():
    from biasviz.core.datasets import Task

    for bad in (None, 37, b"3,7", "²,7", "3,٣"):
        with pytest.raises(BiasvizError):
            Task.parse(bad)


def test_a_plain_pickle_is_refused_with_how_to_save(tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(pickle.dumps({"weights": [0.0] * 784}, protocol=2))
    refused(path)
