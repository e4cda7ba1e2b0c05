"""Data sets by name: generated PDE data (cached on disk by parameters) and bundled real data.

``create(name, **kwargs)`` / ``names()``; each data module registers its loaders with ``register_dataset``.
"""
from __future__ import annotations

from ._registry import DATASETS, create, names, register_dataset
from .cache import cache_dir, cached
from .images import digits, mnist5k
from .pde import burgers, darcy, navier_stokes

__all__ = ["DATASETS", "burgers", "cache_dir", "cached", "create", "darcy", "digits", "mnist5k", "names",
           "navier_stokes", "register_dataset"]
