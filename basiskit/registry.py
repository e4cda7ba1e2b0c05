"""One small registry used for models, operators, bases, recipes, problems, datasets and bench suites.

Entries register themselves with a decorator in the module that defines them. The first lookup imports
every module of the registry's packages, so ``names()`` is complete without a hand-kept import list.
A module that needs an optional extra must import it inside its functions, never at module level.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._validation import UsageError, unknown_name_message

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    summary: str
    module: str


class Registry(Generic[T]):
    """Name -> object map with one-line summaries and close-match errors.

    ``kind`` is used in messages ("unknown model 'vit_tiy'; did you mean 'vit_tiny'?"); ``packages`` are
    imported (all their submodules) before the first lookup.
    """

    def __init__(self, kind: str, packages: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.packages = packages
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = not packages

    def register(self, name: str | None = None, *, summary: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@models.register("mlp", summary="...")``; the name defaults to the object's ``__name__``."""

        def deco(obj: T) -> T:
            self.add(name or getattr(obj, "__name__"), obj, summary=summary)
            return obj

        return deco

    def add(self, name: str, obj: T, *, summary: str | None = None, module: str | None = None) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
            raise ValueError(f"{self.kind} name {name!r} must be letters, digits, '_', '-' or '.'")
        module = module or getattr(obj, "__module__", "") or ""
        old = self._entries.get(name)
        if old is not None and (old.obj is not obj) and old.module != module:
            raise ValueError(f"{self.kind} {name!r} is already registered by {old.module}")
        if summary is None:
            doc = (getattr(obj, "__doc__", None) or "").strip()
            summary = doc.splitlines()[0] if doc else ""
        self._entries[name] = Entry(name, obj, summary, module)

    def _discover(self) -> None:
        if self._discovered:
            return
        for package in self.packages:
            pkg = importlib.import_module(package)
            for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
                if info.name.rsplit(".", 1)[-1].startswith("_"):
                    continue
                try:
                    importlib.import_module(info.name)
                except Exception as e:  # a broken module must not look like a missing name
                    raise ImportError(f"could not import {info.name} while listing {self.kind}s: "
                                      f"{type(e).__name__}: {e}") from e
        self._discovered = True

    def get(self, name: str) -> T:
        """The object registered as ``name``; ``UsageError`` (a ValueError) with close matches if there is none."""
        return self.entry(name).obj

    def entry(self, name: str) -> Entry[T]:
        self._discover()
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a str, got {type(name).__name__}")
        try:
            return self._entries[name]
        except KeyError:
            raise UsageError(unknown_name_message(self.kind, name, self._entries)) from None

    def create(self, name: str, **kwargs: Any) -> Any:
        """Call the registered constructor with ``kwargs`` (the same keywords as the class)."""
        return self.get(name)(**kwargs)  # type: ignore[operator]

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted names, optionally filtered by a glob-like ``pattern`` ('vit_*')."""
        self._discover()
        names = sorted(self._entries)
        if pattern:
            rx = re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$")
            names = [n for n in names if rx.match(n)]
        return names

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._discover()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"
