r"""Per-machine choice of the native B-spline KAN path: local-support loops or dense features + one GEMM.

The fused layer :math:`y = [B(\bar x) | \sigma(x)]\, W^T` has two native CPU implementations in
:mod:`basiskit.ops.bspline_native`:

* ``"local"``: C loops over the p+1 non-zero splines per input (no dense feature matrix);
* ``"dense"``: a C pass writes the dense features ``(N, I (n_basis+1))`` and BLAS does one GEMM per direction.

Which is faster depends on the CPU (vector width, cache, the BLAS build) as well as the shape: on this project's
2-core AMD EPYC the local loops take half the CPU time of the dense path, while on an AVX-512 Intel Xeon BLAS on
the dense features was reported far faster (issue 18; not measured here). So the first call
of each *shape class* times both (forward + backward, interleaved, the fastest of a few repeats on the call's
own shape) and keeps the faster; later calls of that class reuse the choice.

* Shape class: ``(batch, in, out)`` each rounded up to a power of two, the feature width ``n_basis + 1``, the
  spline order, the dtype and ``torch.get_num_threads()``.
* Small calls (fewer than :data:`MIN_MEASURED_WORK` multiply-adds) take ``"local"`` without timing: there the
  per-call overhead dominates and a measurement would cost more than it could save.
* The choices are kept in memory and in ``<basiskit cache>/kernels/kan_path-<fingerprint>.json``, beside the
  compiled kernels; the fingerprint covers the CPU model, the torch version and the kernel source, so a new CPU,
  a torch upgrade or a kernel edit starts a fresh file (and the thread count is part of every key).
* ``BASISKIT_KAN_PATH=local`` or ``dense`` forces a path (benchmarks, tests); ``auto`` (or unset) measures.

The two paths compute the same function up to float rounding (summation order). Each path alone gives the same
bits for any thread count, but the choice can differ between thread counts, so for bit-for-bit comparisons
across thread counts force one path with ``BASISKIT_KAN_PATH``.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .._env import kan_path
from ..measure import cpu_model
from . import bspline_native, native

PATHS = ("local", "dense")
#: Below this many multiply-adds per forward (batch * in * out * width) the local path is taken untimed.
MIN_MEASURED_WORK = 1 << 21
REPEATS = 7

_LOCK = threading.Lock()
_MEMORY: dict[str, str] = {}
_LOADED: set[Path] = set()


def _bucket(n: int) -> int:
    """n rounded up to a power of two (1 for n <= 1)."""
    return 1 << max(0, int(n) - 1).bit_length()


def shape_class(batch: int, n_in: int, n_out: int, width: int, order: int, dtype: torch.dtype,
                threads: int, uniform: bool = True) -> str:
    """The cache key of a call: power-of-two buckets of (batch, in, out), width, order, dtype, threads, and
    ``-knots`` for non-uniform knots (their window kernel costs more, which can move the balance)."""
    return (f"n{_bucket(batch)}-i{_bucket(n_in)}-o{_bucket(n_out)}-w{width}-p{order}-"
            f"{str(dtype).removeprefix('torch.')}-t{threads}" + ("" if uniform else "-knots"))


def fingerprint() -> str:
    """Hash of what invalidates every stored choice: CPU model, torch version, kernel source."""
    key = "\0".join([cpu_model(), torch.__version__, bspline_native.source_digest()])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def cache_file() -> Path:
    """The JSON file of this machine's choices (beside the compiled kernels)."""
    return native.kernel_dir() / f"kan_path-{fingerprint()}.json"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    choices = data.get("choices", {}) if isinstance(data, dict) else {}
    return {k: v for k, v in choices.items() if v in PATHS}


def _write(path: Path, key: str, choice: str, seconds: dict[str, float]) -> None:
    """Merge one choice into the file (atomic rename; a concurrent writer at worst loses one entry, which
    is then measured again)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"cpu": cpu_model(), "torch": torch.__version__, "choices": _read(path), "seconds": {}}
        if path.exists():
            try:
                data["seconds"] = json.loads(path.read_text()).get("seconds", {})
            except (OSError, ValueError, AttributeError):
                data["seconds"] = {}
        data["choices"][key] = choice
        data["seconds"][key] = seconds
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kan_path-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a re-measurement in the next process


def time_paths(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str,
               repeats: int = REPEATS, uniform: bool = True, pad: int = 0) -> dict[str, float]:
    """Fastest wall seconds (min over ``repeats``) of forward + backward (both gradients) of each path on these
    tensors, interleaved after one warm-up call each. x: (N, I), knots: (I, K) (equally spaced with
    ``uniform``), weight: (O, I, width).

    The minimum, not the median: other processes only ever add time, and on a shared machine (this project's
    2 cores under a load of 20) the median of 5 once picked the dense path, which takes twice the CPU time of
    the local one there."""
    with torch.no_grad():
        g = torch.ones(x.shape[0], weight.shape[0], dtype=x.dtype)

    def local() -> None:
        bspline_native.forward(x, knots, weight, order, act, uniform, pad)
        bspline_native.backward(x, knots, weight, order, act, g, True, True, uniform, pad)

    def dense() -> None:
        bspline_native.forward_dense(x, knots, weight, order, act, uniform, pad)
        bspline_native.backward_dense(x, knots, weight, order, act, g, True, True, uniform, pad)

    runs: dict[str, Callable[[], None]] = {"local": local, "dense": dense}
    samples: dict[str, list[float]] = {p: [] for p in PATHS}
    with torch.no_grad():
        for p in PATHS:
            runs[p]()
        for _ in range(repeats):
            for p in PATHS:
                t0 = time.perf_counter()
                runs[p]()
                samples[p].append(time.perf_counter() - t0)
    return {p: min(s) for p, s in samples.items()}


def choose(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, act: str,
           uniform: bool = True, pad: int = 0) -> str:
    """``"local"`` or ``"dense"`` for this native call (see the module docstring): the forced path of
    ``BASISKIT_KAN_PATH``, else the cached choice of the call's shape class, else measured now and cached."""
    forced = kan_path()
    if forced != "auto":
        return forced
    n_out, n_in, width = weight.shape
    if x.shape[0] * n_in * n_out * width < MIN_MEASURED_WORK:
        return "local"
    key = shape_class(x.shape[0], n_in, n_out, width, order, x.dtype, native.num_threads(), uniform)
    choice = _MEMORY.get(key)
    if choice is not None:
        return choice
    with _LOCK:
        path = cache_file()
        if path not in _LOADED:
            _MEMORY.update(_read(path))
            _LOADED.add(path)
        choice = _MEMORY.get(key)
        if choice is None:
            seconds = time_paths(x.detach(), knots, weight.detach(), order, act, uniform=uniform, pad=pad)
            choice = min(PATHS, key=lambda p: seconds[p])
            _MEMORY[key] = choice
            _write(path, key, choice, seconds)
    return choice


def forget() -> None:
    """Drop the in-memory choices (the file stays): the next call of each class reads the file again."""
    with _LOCK:
        _MEMORY.clear()
        _LOADED.clear()
