"""The desktop entry declares the file types biasviz opens, and the shared-mime-info
XML defines them so that a file manager offers biasviz for them (issue 11)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MIME_XML = REPO / "packaging" / "io.github.biasviz.Biasviz.mime.xml"
DESKTOP = REPO / "packaging" / "biasviz.desktop"
NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def declared_types() -> dict[str, ET.Element]:
    root = ET.parse(MIME_XML).getroot()
    return {m.get("type"): m for m in root.iter(f"{NS}mime-type")}


def desktop_entry() -> dict[str, str]:
    lines = DESKTOP.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_desktop_entry_opens_files_of_the_declared_types():
    entry = desktop_entry()
    assert entry["Exec"].endswith("%f")  # biasviz FILE
    types = [t for t in entry["MimeType"].split(";") if t]
    assert set(types) == set(declared_types())


def test_globs_cover_every_importable_suffix():
    from biasviz.core.paramfiles import IMPORT_SUFFIXES

    globs = {g.get("pattern") for m in declared_types().values() for g in m.iter(f"{NS}glob")}
    for suffix in IMPORT_SUFFIXES:
        if suffix in (".json", ".bin"):  # json by content (magic); .bin is too generic
            continue
        assert f"*{suffix}" in globs
    assert "*.biasviz" in globs


def test_the_json_magic_matches_a_real_export(tmp_path):
    from biasviz.core.paramfiles import ModelFile, export_params, make_metadata
    from biasviz.core.spec import ModelSpec

    spec = ModelSpec()
    path = tmp_path / "m.json"
    export_params(path, ModelFile(spec, {"weights": np.zeros(784, np.float32),
                                         "bias": np.zeros(1, np.float32)},
                                  make_metadata(spec)))
    match = next(declared_types()["application/x-biasviz-params+json"].iter(f"{NS}match"))
    start, end = (int(v) for v in match.get("offset").split(":"))
    head = path.read_bytes()[: end + len(match.get("value"))]
    assert match.get("value").encode() in head[start:]


@pytest.mark.skipif(shutil.which("update-mime-database") is None,
                    reason="shared-mime-info not installed")
def test_update_mime_database_accepts_it(tmp_path):
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(MIME_XML, packages / "io.github.biasviz.Biasviz.xml")
    result = subprocess.run(["update-mime-database", str(tmp_path / "mime")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
    globs = (tmp_path / "mime" / "globs2").read_text()
    assert "application/x-biasviz-session:*.biasviz" in globs
    assert "application/x-pytorch:*.pth" in globs
