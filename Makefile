# Two commands do all set-up on a fresh machine (see README):
#   make run    install into .venv and launch the app on the bundled sample
#   make test   install into .venv (with test extras) and run lint + the whole test suite
VENV ?= .venv
PYTHON ?= python3
PIP = $(VENV)/bin/pip
# Type-checked in the test command (pyproject.toml [tool.mypy]); grow this list.
MYPY_CHECKED = biasviz/core/app_model.py biasviz/core/mailbox.py biasviz/core/text.py \
	biasviz/core/weight_display.py biasviz/core/history.py biasviz/core/drawing.py \
	biasviz/core/sessionfile.py biasviz/core/compare.py biasviz/core/recipes.py \
	biasviz/core/diagnosis.py biasviz/core/timeline.py biasviz/core/codegen.py \
	biasviz/core/engine_numpy.py biasviz/core/training.py biasviz/core/side_by_side.py \
	biasviz/core/train_loop.py biasviz/core/train_process.py biasviz/core/shared_images.py \
	biasviz/core/torch_init.py

.PHONY: run test venv system-deps benchmark screenshot

venv:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

system-deps:
	bash scripts/install-system-deps.sh

# Shiboken unpacks its support modules to disk once, instead of compiling them from the
# library at every start (~20 ms of the first window).
SHIBOKEN_UNPACK = SBK_EMBED=0 $(VENV)/bin/python -c "import PySide6.QtCore"

run: venv system-deps
	$(PIP) install --quiet .
	$(SHIBOKEN_UNPACK)
	$(VENV)/bin/biasviz

test: venv system-deps
	$(PIP) install --quiet -e ".[test]"
	$(SHIBOKEN_UNPACK)
	$(VENV)/bin/ruff check biasviz tests benchmarks scripts
	$(VENV)/bin/mypy $(MYPY_CHECKED)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest

benchmark: venv
	$(PIP) install --quiet -e ".[test]"
	$(VENV)/bin/python benchmarks/bench_training.py
	$(VENV)/bin/python benchmarks/bench_engine.py
	$(VENV)/bin/python benchmarks/bench_window.py
