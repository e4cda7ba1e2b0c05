"""Data sets by name: generated PDE data (cached on disk by parameters) and bundled real data.

``create(name, **kwargs)`` / ``names()``; each data module registers its loaders with ``register_dataset``.
Users' own operator data: ``load_pairs`` (.npz memory-mapped, HDF5, Zarr) into ``ArrayPairs`` datasets that
``train.fit`` accepts, ``evaluate_resolutions`` for multi-resolution test sets, and ``GaussianNormalizer`` /
``NormalizedOperator`` (grid-independent statistics saved with the model).
"""
from __future__ import annotations

from ._registry import DATASETS, create, names, register_dataset
from .cache import cache_dir, cached
from .files import ArrayPairs, MultiResolutionPairs, by_resolution, evaluate_resolutions, load_pairs
from .images import digits, mnist5k
from .normalize import GaussianNormalizer, NormalizedOperator
from .pde import burgers, darcy, navier_stokes

__all__ = ["DATASETS", "ArrayPairs", "GaussianNormalizer", "MultiResolutionPairs", "NormalizedOperator", "burgers",
           "by_resolution", "cache_dir", "cached", "create", "darcy", "digits", "evaluate_resolutions", "load_pairs", "mnist5k",
           "names", "navier_stokes", "register_dataset"]
