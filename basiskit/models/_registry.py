"""The model registry of :mod:`basiskit.models`, kept apart from the package's ``__init__`` so that the modules
that register into it (``from ._registry import register_model``) import in any order."""
from __future__ import annotations

from typing import Any

from ..registry import Registry

MODELS: Registry[Any] = Registry("model", ("basiskit.models",))
register_model = MODELS.register
create = MODELS.create  # create(name, **kwargs): the same keywords as the registered class or function
names = MODELS.names  # names(pattern=None): sorted, optionally filtered by a glob ('vit_*')
