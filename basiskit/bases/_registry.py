"""The basis registry of :mod:`basiskit.bases`, kept apart from the package's ``__init__`` so that the modules
that register into it (``from ._registry import register_basis``) import in any order."""
from __future__ import annotations

from typing import Any

from ..registry import Registry

BASES: Registry[Any] = Registry("basis", ("basiskit.bases",))
register_basis = BASES.register
create = BASES.create  # create(name, **kwargs): the same keywords as the registered class or function
names = BASES.names  # names(pattern=None): sorted, optionally filtered by a glob ('vit_*')


def univariate_names(pattern: str | None = None) -> list[str]:
    """The registered bases acting on scalars (``x: (...)`` -> ``(..., n_basis)``), which KAN layers can use;
    multivariate ones (``spherical``: points ``(..., 3)``) set ``multivariate = True`` and are left out."""
    return [n for n in names(pattern) if not getattr(BASES.get(n), "multivariate", False)]
