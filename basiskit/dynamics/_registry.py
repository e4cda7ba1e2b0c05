"""The chaotic-system registry of :mod:`basiskit.dynamics`, kept apart from the package's ``__init__`` so that the
modules that register into it (``from ._registry import SYSTEMS``) import in any order.

Every system is defined in :mod:`basiskit.dynamics.systems`, which the package imports, so the registry needs
no discovery of its own.
"""
from __future__ import annotations

from typing import Any

from ..registry import Registry

SYSTEMS: Registry[Any] = Registry("system")
create = SYSTEMS.create  # create(name, **params): the system with its published parameters, some overridden
names = SYSTEMS.names  # names(pattern=None): sorted, optionally filtered by a glob ('Sprott*')

FORECASTERS: Registry[Any] = Registry("forecaster")
register_forecaster = FORECASTERS.register
