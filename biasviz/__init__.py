"""biasviz: see and feel what weights and biases do inside a neural network."""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:  # pragma: no cover - annotations only
    from collections.abc import Callable, Sequence

    from biasviz.notebook import ShowHandle


def show(obj: object, *, activation: str | None = None, app_args: Sequence[str] = (),
         launcher: Callable[..., object] | None = None) -> ShowHandle:
    """Open the biasviz window on a model from a Jupyter cell, without blocking it:
    ``biasviz.show((weights, bias))``, ``biasviz.show(model)``.  See
    :func:`biasviz.notebook.show` (imported only when called: ``import biasviz`` stays
    cheap)."""
    from biasviz.notebook import show as _show

    return _show(obj, activation=activation, app_args=app_args, launcher=launcher)


__all__ = ["__version__", "show"]
