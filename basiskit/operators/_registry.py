"""The operator registry of :mod:`basiskit.operators`, kept apart from the package's ``__init__`` so that the modules
that register into it (``from ._registry import register_operator``) import in any order."""
from __future__ import annotations

from typing import Any

from ..registry import Registry

OPERATORS: Registry[Any] = Registry("operator", ("basiskit.operators",))
register_operator = OPERATORS.register
create = OPERATORS.create  # create(name, **kwargs): the same keywords as the registered class or function
names = OPERATORS.names  # names(pattern=None): sorted, optionally filtered by a glob ('vit_*')
