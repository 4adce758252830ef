"""The Qt desktop app: thin widgets, one file each; ``main_window.py`` composes them."""
