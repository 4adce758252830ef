"""The code of an imported model starts from the imported numbers: the Code panel showed
"manual_seed(0)" and init_params beside a model that came from a file, and its export
trained another model than the one on screen."""

from __future__ import annotations

import numpy as np

from biasviz.core.paramfiles import export_params, import_params
from biasviz.core.paramfiles.model_file import ModelFile


def test_an_import_s_code_loads_its_start_and_the_export_writes_it(qtbot, window, tmp_path):
    w, s = window, window.session
    params = {"weights": np.linspace(-0.5, 0.5, 784, dtype=np.float32),
              "bias": np.array([0.25], np.float32)}
    path = tmp_path / "neuron.npz"
    export_params(path, ModelFile(s.spec, params, {}))
    s.import_file(str(path))
    qtbot.waitUntil(lambda: s.model.imported, timeout=10_000)
    w.code_dock.show()
    qtbot.waitUntil(lambda: "biasviz-run-start.npz" in w.code_panel.code().script(),
                    timeout=5_000)
    script = tmp_path / "run.py"
    assert w.export_code_to(str(script))
    assert "run-start.npz" in w.statusBar().currentMessage()
    assert 'np.load("run-start.npz")' in script.read_text()
    start = import_params(tmp_path / "run-start.npz")
    for name, value in params.items():
        np.testing.assert_array_equal(start.params[name], value)
    # a new model from the seed: its code initializes and loads nothing
    s.reset()
    qtbot.waitUntil(lambda: not s.model.imported, timeout=10_000)
    qtbot.waitUntil(lambda: "start.npz" not in w.code_panel.code().script(), timeout=5_000)
