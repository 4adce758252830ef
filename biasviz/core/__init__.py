"""The Qt-free core: data, models, training, decisions, preprocessing and files.

Nothing in this package may import Qt (PySide6, pyqtgraph); a test enforces it.
torch is imported only by the modules that need it (models, training, files), so the
GUI can show its first window before paying for the torch import.
"""
