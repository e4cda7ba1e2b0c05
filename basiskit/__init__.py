"""basiskit: learning functions, fields and operators with the right basis.

Subpackages load on first use (``basiskit.nn``, ``basiskit.operators`` ...), so ``import basiskit``
stays fast and optional extras are only imported by the modules that need them.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__version__ = "0.1.0"

# Every public module or subpackage of this folder loads lazily by attribute (``basiskit.nn``); the list is read
# from the folder, so a family is listed exactly when it exists.
_SUBMODULES = frozenset(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
# Short names re-exported at the top level: name -> "module:attribute".
_EXPORTS = {
    "recipe": "basiskit.recipes.core:recipe",
    "Claim": "basiskit.recipes.core:Claim",
    "RunContext": "basiskit.train.context:RunContext",
    "fit": "basiskit.train.loop:fit",
    "UsageError": "basiskit._validation:UsageError",
}

__all__ = sorted(_SUBMODULES | set(_EXPORTS) | {"__version__"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _EXPORTS:
        module, attr = _EXPORTS[name].split(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'basiskit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
