"""The dataset registry of :mod:`basiskit.data`, kept apart from the package's ``__init__`` so that the modules
that register into it (``from ._registry import register_dataset``) import in any order."""
from __future__ import annotations

from typing import Any

from ..registry import Registry

DATASETS: Registry[Any] = Registry("dataset", ("basiskit.data",))
register_dataset = DATASETS.register
create = DATASETS.create  # create(name, **kwargs): the same keywords as the registered class or function
names = DATASETS.names  # names(pattern=None): sorted, optionally filtered by a glob ('vit_*')
