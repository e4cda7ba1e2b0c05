"""Whole networks by name: ``create("mlp", widths=[2, 64, 1])``, ``names()``, ``register``.

Every module in this package is imported on the first lookup, so new models only need
``@register_model("name")`` in their own file.
"""
from __future__ import annotations

from typing import Any

from ..registry import Registry

MODELS: Registry[Any] = Registry("model", ("basiskit.models",))
register_model = MODELS.register


def create(name: str, **kwargs: Any) -> Any:
    """Build the model registered as ``name`` with ``kwargs`` (the class's own keywords)."""
    return MODELS.create(name, **kwargs)


def names(pattern: str | None = None) -> list[str]:
    return MODELS.names(pattern)


from .mlp import MLP  # noqa: E402

# Each family adds its exports under its own marker.
# [kat]
from .vit import Attention, Block, Mlp, VisionTransformer  # noqa: E402
from .kat import KAT  # noqa: E402
# [attention-tabular]
from .karat import vit_karat  # noqa: E402,F401

__all__ = ["MLP", "MODELS", "create", "names", "register_model"]
