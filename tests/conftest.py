"""Shared test set-up: Qt runs offscreen; no test may leave a stray top-level widget."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
