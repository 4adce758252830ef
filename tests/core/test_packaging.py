"""The packaged app finds its bundled data after a normal, non-editable install: build
the real wheel, install it into an empty folder, and load the sample from there."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    build = pytest.importorskip("hatchling.build", reason="hatchling is in the test extra")
    out = tmp_path_factory.mktemp("dist")
    cwd = os.getcwd()
    os.chdir(REPO)  # hatchling builds the project in the current directory
    try:
        name = build.build_wheel(str(out))
    finally:
        os.chdir(cwd)
    return out / name


def test_wheel_carries_the_sample_its_attribution_and_the_icon(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "biasviz/resources/mnist_sample.npz",
        "biasviz/resources/mnist_sample_split.npz",
        "biasviz/resources/README.md",
        "biasviz/resources/icons/biasviz.png",
        "biasviz/core/datasets/__init__.py",
        "biasviz/core/datasets/sample.py",
        "biasviz/core/paramfiles/__init__.py",
        "biasviz/gui/main_window.py",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_loads_the_sample_from_site_packages(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        check=True, timeout=300,
    )
    code = (
        "import biasviz, biasviz.core.datasets as d\n"
        "from biasviz.core.resources import resource_path\n"
        "ds = d.load_sample()\n"
        "print(biasviz.__file__)\n"
        "print(resource_path('mnist_sample.npz'))\n"
        "print(len(ds.train), len(ds.valid))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    module_file, sample_file, sizes = out.stdout.strip().splitlines()
    assert module_file.startswith(str(target)), "imported the checkout, not the wheel"
    assert sample_file.startswith(str(target))
    assert sizes == "4000 1000"
