"""Data sets by name: generated PDE data (cached on disk by parameters) and bundled real data.

``create(name, **kwargs)`` / ``names()``; each data module registers its loaders with ``register_dataset``.
"""
from __future__ import annotations

from typing import Any

from ..registry import Registry
from .cache import cache_dir, cached

DATASETS: Registry[Any] = Registry("dataset", ("basiskit.data",))
register_dataset = DATASETS.register


def create(name: str, **kwargs: Any) -> Any:
    return DATASETS.create(name, **kwargs)


def names(pattern: str | None = None) -> list[str]:
    return DATASETS.names(pattern)


__all__ = ["DATASETS", "cache_dir", "cached", "create", "names", "register_dataset"]

# [operators-data]
from .pde import burgers, darcy, navier_stokes  # noqa: E402,F401
