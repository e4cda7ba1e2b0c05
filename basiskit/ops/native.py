"""Optional native CPU kernels: small C sources compiled on first use by the system C compiler, called via ctypes.

Why not a torch C++ extension: including torch's headers makes every build take a minute and ties the binary to
one torch version. The kernels here are plain C99 loops over raw float/double buffers (OpenMP for threads,
``-O3 -march=native`` so the compiler vectorises them for this CPU); they compile in about a second and need
nothing but ``cc``. Each one has a pure-PyTorch twin, so the native path is an accelerator, never a requirement.

* The shared object is cached under ``<basiskit cache>/kernels/<name>-<hash>.so``; the hash covers the source, the
  flags and the compiler's version, so an edit or a new compiler rebuilds. Builds write to a temporary name and
  are renamed into place, so concurrent processes (pytest-xdist, torchrun) never load a half-written file.
* The source is compiled from a file named ``<name>.c``, so a kernel may ``#include`` itself (the usual C idiom
  for instantiating one body for float and double, as ``csrc/kan_bspline.c`` does).
* ``BASISKIT_NATIVE=0`` turns every native kernel off; ``CC`` picks the compiler (default ``cc``).
* A missing or failing compiler gives one warning with the compiler's message, and callers fall back to their
  PyTorch path.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .._env import cache_dir, native_enabled

BASE_FLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-std=c11", "-fno-math-errno")
_LOCK = threading.Lock()
_LIBS: dict[str, ctypes.CDLL | None] = {}
_MISSING = object()


def enabled() -> bool:
    """False when ``BASISKIT_NATIVE`` is set to 0/false/no/off."""
    return native_enabled()


def kernel_dir() -> Path:
    return cache_dir() / "kernels"


@functools.lru_cache(maxsize=None)
def _compiler_version(cc: str) -> str:
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _build(name: str, source: str, openmp: bool) -> Path:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise RuntimeError(f"no C compiler: {cc!r} is not on PATH (set CC to one)")
    flags = list(BASE_FLAGS) + (["-fopenmp"] if openmp else [])
    key = "\0".join([source, " ".join(flags), _compiler_version(cc), platform.machine(), platform.node()])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = kernel_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}-{digest}.so"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        src = Path(tmp) / f"{name}.c"
        src.write_text(source)
        out = Path(tmp) / f"{name}.so"
        proc = subprocess.run([cc, *flags, str(src), "-o", str(out), "-lm"], capture_output=True, text=True,
                              timeout=300)
        if proc.returncode:
            raise RuntimeError(f"{cc} failed to build kernel {name!r}:\n{proc.stderr.strip()[-2000:]}")
        os.replace(out, target)
    return target


def load(name: str, source: str, signatures: dict[str, Sequence[Any]]) -> ctypes.CDLL | None:
    """The compiled library ``name`` with ``signatures`` ({function: argtypes}, all returning void) set, or None
    when native kernels are off or the build failed (warned once per name)."""
    if not enabled():
        return None
    lib = _LIBS.get(name, _MISSING)  # lock-free once loaded (the common case: every kernel call asks)
    if lib is not _MISSING:
        return lib
    with _LOCK:
        if name in _LIBS:
            return _LIBS[name]
        lib = None
        errors = []
        for openmp in (True, False):
            try:
                lib = ctypes.CDLL(str(_build(name, source, openmp)))
                break
            except (RuntimeError, OSError, subprocess.SubprocessError) as err:
                errors.append(str(err))
        if lib is None:
            warnings.warn(f"basiskit: native CPU kernel {name!r} unavailable, using the PyTorch path "
                          f"({errors[-1].splitlines()[0]})", RuntimeWarning, stacklevel=2)
        else:
            for fn, argtypes in signatures.items():
                f = getattr(lib, fn)
                f.argtypes = list(argtypes)
                f.restype = None
        _LIBS[name] = lib
        return lib


def source(name: str) -> str:
    """Text of ``basiskit/ops/csrc/<name>.c`` (the kernels ship as package data)."""
    return (Path(__file__).parent / "csrc" / f"{name}.c").read_text()


def ptr(t: torch.Tensor) -> int:
    """Raw data pointer of a contiguous CPU tensor (an int: ctypes converts it for a ``c_void_p`` argument,
    without building a ``c_void_p`` object per argument per call)."""
    return t.data_ptr()


def usable(*tensors: torch.Tensor) -> bool:
    """True when every tensor is a CPU float32/float64 tensor of one dtype, outside autograd-graph tracing
    (``torch.compile`` traces the PyTorch path, which it can see through)."""
    if not enabled() or torch.compiler.is_compiling():
        return False
    dtype = tensors[0].dtype
    return all(t.device.type == "cpu" and t.dtype == dtype for t in tensors) and dtype in (torch.float32,
                                                                                          torch.float64)


def num_threads() -> int:
    return max(1, torch.get_num_threads())
