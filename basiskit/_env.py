"""Environment switches: every ``BASISKIT_*`` variable basiskit reads, each through one function here.

The bottom floor of the package: this module imports nothing from basiskit, so any module may ask it.
Values are read on every call (never cached at import), so a test's ``monkeypatch.setenv`` or a scoped
``override`` takes effect at once.

* ``BASISKIT_CACHE`` (:func:`cache_dir`): folder for generated data sets and compiled kernels; default
  ``$XDG_CACHE_HOME/basiskit`` or ``~/.cache/basiskit``.
* ``BASISKIT_NATIVE`` (:func:`native_enabled`): ``0`` turns every compiled native CPU kernel off.
* ``BASISKIT_KAN_PATH`` (:func:`kan_path`): native B-spline KAN path, ``auto`` (default: measured once per shape
  class and machine, :mod:`basiskit.ops.path_select`), ``local`` or ``dense``.
* ``BASISKIT_PROGRESS`` (:func:`progress_enabled`): ``0`` silences every progress bar (tests and CI).
* ``BASISKIT_TEST_DEVICE`` (:func:`gpu_test_device`): device of the GPU kernel tests (default ``cuda``; ``cpu``
  with ``TRITON_INTERPRET=1`` dry-runs them).

A boolean switch is off when its value is one of ``0, false, no, off`` (any case, surrounding spaces
ignored) and on otherwise, including when unset.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OFF_WORDS = frozenset({"0", "false", "no", "off"})

#: Every ``BASISKIT_*`` variable, with what it does (the table above, for ``basiskit`` tools and tests).
SWITCHES: dict[str, str] = {
    "BASISKIT_CACHE": "folder for generated data sets and compiled kernels",
    "BASISKIT_NATIVE": "0 turns the compiled native CPU kernels off",
    "BASISKIT_KAN_PATH": "native B-spline KAN path: auto (measured per machine), local or dense",
    "BASISKIT_PROGRESS": "0 silences progress bars",
    "BASISKIT_TEST_DEVICE": "device of the GPU kernel tests (default cuda)",
}


def _check_known(name: str) -> None:
    if name not in SWITCHES:
        raise ValueError(f"name must be one of basiskit's switches {sorted(SWITCHES)}, got {name!r}")


def flag(name: str, default: bool = True) -> bool:
    """The boolean switch ``name``: False when set to 0/false/no/off, ``default`` when unset, else True."""
    _check_known(name)
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in OFF_WORDS


def cache_dir() -> Path:
    """Folder of the on-disk cache: ``$BASISKIT_CACHE``, else ``$XDG_CACHE_HOME/basiskit``, else
    ``~/.cache/basiskit`` (not created here)."""
    root = os.environ.get("BASISKIT_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "basiskit"


def native_enabled() -> bool:
    """False when ``BASISKIT_NATIVE`` is 0/false/no/off: callers then take their pure-PyTorch path."""
    return flag("BASISKIT_NATIVE")


KAN_PATHS = ("auto", "local", "dense")


def kan_path() -> str:
    """``BASISKIT_KAN_PATH`` lower-cased: ``auto`` (also when unset or empty), ``local`` or ``dense``."""
    value = os.environ.get("BASISKIT_KAN_PATH", "").strip().lower() or "auto"
    if value not in KAN_PATHS:
        raise ValueError(f"BASISKIT_KAN_PATH must be one of {list(KAN_PATHS)}, got {value!r}")
    return value


def progress_enabled() -> bool:
    """Progress bars are on unless ``BASISKIT_PROGRESS`` is 0/false/no/off (tests and CI set it)."""
    return flag("BASISKIT_PROGRESS")


def gpu_test_device() -> str:
    """Device string for the GPU kernel tests: ``$BASISKIT_TEST_DEVICE`` or ``"cuda"``."""
    return os.environ.get("BASISKIT_TEST_DEVICE", "").strip() or "cuda"


@contextmanager
def override(name: str, value: str | None) -> Iterator[None]:
    """Set switch ``name`` to ``value`` (None: unset it) inside the ``with`` block, restoring it after.

    Process-wide, like any environment variable: meant for benchmarks and tests in one thread.
    """
    _check_known(name)
    before = os.environ.get(name)
    try:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
