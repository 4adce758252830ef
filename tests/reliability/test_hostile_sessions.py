"""Session files get the parameter files' treatment: random bytes, truncated real
sessions, members replaced by hostile ones (pickles, bombs, lying headers), and damaged
descriptions are all refused with a ParamFileError — and a file that reads can be
restored or is refused whole, never half-applied."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from biasviz.core.app_model import AppModel
from biasviz.core.datasets import load_sample
from biasviz.core.errors import ParamFileError
from biasviz.core.sessionfile import read_session, write_session
from biasviz.core.spec import TrainConfig
from tests.reliability.reliability_helpers import fuzz, record


@pytest.fixture(scope="module")
def session_bytes(tmp_path_factory) -> bytes:
    from biasviz.core.training import EpochMetrics, StepMetrics

    m = AppModel()
    m.attach_engine()
    m.set_config(TrainConfig(epochs=2))
    m.training_started()
    steps, ends = [], []
    for ev in m.trainer.run(2):
        if isinstance(ev, StepMetrics):
            m.record_step(ev, m.trainer.snapshot())
            steps.append(ev)
        elif isinstance(ev, EpochMetrics):
            m.record_epoch(ev)
            ends.append(ev)
    m.training_update(steps, ends, m.trainer.snapshot())
    m.training_finished()
    path = tmp_path_factory.mktemp("s") / "good.biasviz"
    write_session(path, *m.session_state())
    return path.read_bytes()


def _open_all_the_way(path) -> None:
    """Read and restore: either a ParamFileError, or a model that holds the file."""
    try:
        meta, arrays = read_session(path)
        AppModel().restore_session(meta, arrays, load_sample())
    except ParamFileError:
        pass


@fuzz(ci=60, long=2000)
@given(body=st.binary(max_size=4000), zip_prefix=st.booleans())
def test_random_bytes_are_refused(tmp_path_factory, body, zip_prefix):
    path = tmp_path_factory.mktemp("r") / "random.biasviz"
    path.write_bytes((b"PK\x03\x04" if zip_prefix else b"") + body)
    with pytest.raises(ParamFileError):
        read_session(path)
    record("sessions: random bytes")


@fuzz(ci=40, long=1000)
@given(fraction=st.floats(0.0, 0.999))
def test_truncated_sessions_are_refused(tmp_path_factory, session_bytes, fraction):
    path = tmp_path_factory.mktemp("t") / "cut.biasviz"
    path.write_bytes(session_bytes[: int(len(session_bytes) * fraction)])
    with pytest.raises(ParamFileError):
        read_session(path)
    record("sessions: truncated")


def _rebuilt(session_bytes: bytes, replace: dict[str, bytes],
             method=zipfile.ZIP_DEFLATED) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(session_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
    return out.getvalue()


HOSTILE_NPY = {
    "pickle": lambda: _npy_object(),
    "huge header": lambda: _npy_header_only((1 << 40,)),
    "short data": lambda: _npy_header_only((784,)) + bytes(10),
    "negative shape": lambda: b"\x93NUMPY\x01\x00" + _hdr("{'descr': '<f4', 'fortran_order': "
                                                          "False, 'shape': (-1,), }"),
    "garbage": lambda: b"\x93NUMPY\x01\x00garbage",
}


def _hdr(text: str) -> bytes:
    text = text + " " * (63 - len(text)) + "\n"
    return len(text).to_bytes(2, "little") + text.encode()


def _npy_header_only(shape) -> bytes:
    return b"\x93NUMPY\x01\x00" + _hdr(
        f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}")


def _npy_object() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize("kind", sorted(HOSTILE_NPY))
def test_hostile_arrays_are_refused(tmp_path, session_bytes, kind):
    names = [n for n in zipfile.ZipFile(io.BytesIO(session_bytes)).namelist()
             if n.endswith(".npy")]
    for name in names[:6]:
        path = tmp_path / f"{kind.replace(' ', '_')}.biasviz"
        path.write_bytes(_rebuilt(session_bytes, {name: HOSTILE_NPY[kind]()}))
        with pytest.raises(ParamFileError):
            read_session(path)
    record("sessions: hostile arrays", len(names[:6]))


def test_a_bomb_member_is_refused_without_inflating(tmp_path, session_bytes):
    # 200 MB of zeros deflate to ~200 kB: over the per-array limit, refused from the
    # directory, never inflated
    bomb = bytes(200 * 1024 * 1024)
    path = tmp_path / "bomb.biasviz"
    path.write_bytes(_rebuilt(session_bytes, {"arrays/params/current/weights.npy": bomb}))
    with pytest.raises(ParamFileError, match="zip bomb|inflate"):
        read_session(path)
    record("sessions: bombs")


@fuzz(ci=60, long=2000)
@given(key=st.sampled_from(["task", "spec", "config", "threshold", "position", "history",
                            "timeline", "engine", "view", "dataset", "arrays"]),
       value=st.one_of(st.none(), st.integers(), st.floats(allow_nan=True),
                       st.text(max_size=20), st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)))
def test_damaged_descriptions_are_refused_or_read_whole(tmp_path_factory, session_bytes,
                                                        key, value):
    meta = json.loads(zipfile.ZipFile(io.BytesIO(session_bytes)).read("session.json"))
    meta[key] = value
    try:
        text = json.dumps(meta, allow_nan=True).encode()
    except (TypeError, ValueError):
        return
    path = tmp_path_factory.mktemp("d") / "damaged.biasviz"
    path.write_bytes(_rebuilt(session_bytes, {"session.json": text}))
    _open_all_the_way(path)
    record("sessions: damaged descriptions")


def test_a_session_whose_folder_is_gone_opens_on_the_sample_and_says_so(tmp_path):
    """The GUI's reader: a folder dataset that is not here → the bundled sample as a
    stand-in, a note naming what is missing, and training off."""
    from biasviz.core.datasets import Dataset
    from biasviz.gui.window_files import _read_session_and_data

    m = AppModel()
    m.attach_engine()
    meta, arrays = m.session_state()
    meta["dataset"] = dict(meta["dataset"], key="folder", source=str(tmp_path / "gone"))
    path = tmp_path / "moved.biasviz"
    write_session(path, meta, arrays)
    meta2, arrays2, dataset, note, stand_in = _read_session_and_data(str(path))
    assert isinstance(dataset, Dataset) and dataset.key == "sample" and stand_in
    assert "gone" in note and "training is off" in note
    other = AppModel()
    other.restore_session(meta2, arrays2, dataset, note, stand_in)
    assert other.stand_in_data
    np.testing.assert_array_equal(other.snapshot.params["weights"],
                                  m.snapshot.params["weights"])
