"""Renamed keyword arguments: the old spelling keeps working for a while, with a ``DeprecationWarning``.

basiskit spells argument names PyTorch's way (``num_heads``, ``num_tokens``, ``num_features`` for counts,
``activation`` for an activation name). Where a shipped public signature used another spelling, the callable is
decorated with :func:`renamed_kwargs`, which maps the old keyword onto the new one::

    class KANAttention(nn.Module):
        @renamed_kwargs(heads="num_heads")
        def __init__(self, dim: int, num_heads: int, ...): ...

    KANAttention(64, heads=4, ...)      # works, warns "heads= is deprecated, use num_heads="

Giving both spellings is a ``TypeError`` (as Python does for a keyword given twice). The wrapper keeps the
signature (``inspect.signature`` follows ``__wrapped__``), so help, the registry and docs show the new names.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _owner(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Decorator: accept each ``old=`` keyword of ``renames`` (``old="new"``) as ``new=``, warning once per call
    with a ``DeprecationWarning`` that names both; both given raises ``TypeError``."""
    for old, new in renames.items():
        if not isinstance(new, str) or not new.isidentifier() or new == old:
            raise ValueError(f"renamed_kwargs: {old}= must map to a different keyword name, got {new!r}")

    def decorate(fn: F) -> F:
        owner = _owner(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{owner}() got both {old}= (deprecated) and {new}=; pass only {new}=")
                warnings.warn(f"{owner}(): {old}= is deprecated, use {new}= (same meaning)", DeprecationWarning,
                              stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
