r"""ctypes wrapper of the one-pass C kernels for the group-rational activation (``csrc/group_rational.c``).

Same function and gradients as :mod:`basiskit.ops.rational` (KAT's GR-KAN, Yang & Wang, ICLR 2025):
``F = P / (1 + |S|)`` per group of channels, and in backward

    dx   = (P' - F sgn(S) S') / Q * go
    da_k =  sum x^k go / Q,      db_j = -sum F sgn(S) x^j go / Q   (sums over rows and the group's channels).

Each direction is a single pass over ``x`` (and ``go``): the compiled loop evaluates the polynomials by Horner's
rule per element, so nothing but ``x`` is kept for backward and no intermediate plane is written to memory. The
arithmetic is in x's dtype (float32 or float64); the coefficient gradients are reduced per thread and then in a
fixed order, so results are deterministic for a given ``torch.get_num_threads()``.
"""
from __future__ import annotations

import ctypes
import functools

import torch

from . import native

_P, _L, _I = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
# rows, groups, cpg, x, a, ka, b, kb, out, nt, status  /  ..., x, go, a, ka, b, kb, dx, da, db, nt, status
_FORWARD = [_L, _L, _L, _P, _P, _L, _P, _L, _P, _I, _P]
_BACKWARD = [_L, _L, _L, _P, _P, _P, _L, _P, _L, _P, _P, _P, _I, _P]
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


_SIGNATURES = {f"group_rational_{d}_{suffix}": sig for suffix in _SUFFIX.values()
               for d, sig in (("forward", _FORWARD), ("backward", _BACKWARD))}


@functools.lru_cache(maxsize=1)
def _source() -> str:
    return native.source("group_rational")


def _library() -> ctypes.CDLL | None:
    return native.load("group_rational", _source(), _SIGNATURES)


_FUNCTIONS: dict[str, ctypes._CFuncPtr] = {}


def _function(name: str) -> ctypes._CFuncPtr:
    """The kernel ``name`` of the loaded library, looked up once (not per call)."""
    fn = _FUNCTIONS.get(name)
    if fn is None:
        fn = _FUNCTIONS[name] = getattr(_library(), name)
    return fn


def usable(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when the native kernels can run on these tensors: all on the CPU, x float32/float64 (the
    coefficients are cast to x's dtype), native kernels enabled and built."""
    if x.dtype not in _SUFFIX or a.device.type != "cpu" or b.device.type != "cpu":
        return False
    return native.usable(x) and _library() is not None


def _coefficients(c: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return c.detach().to(dtype=dtype).contiguous()


def _call(fn: ctypes._CFuncPtr, *args: object) -> None:
    """Run a kernel; its last argument is a status flag set when its scratch allocation failed."""
    status = ctypes.c_int(0)
    fn(*args, ctypes.byref(status))
    if status.value:
        raise MemoryError(f"{fn.__name__}: out of memory for the kernel's coefficient buffers")


def forward(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """F(x2) for x2 (M, C) contiguous; a (groups, m + 1), b (groups, n). Returns (M, C) in x2's dtype."""
    rows, channels = x2.shape
    groups = a.shape[0]
    out = torch.empty_like(x2)
    if x2.numel() == 0:
        return out
    ac, bc = _coefficients(a, x2.dtype), _coefficients(b, x2.dtype)
    fn = _function(f"group_rational_forward_{_SUFFIX[x2.dtype]}")
    _call(fn, rows, groups, channels // groups, native.ptr(x2), native.ptr(ac), ac.shape[1], native.ptr(bc),
          bc.shape[1], native.ptr(out), native.num_threads())
    return out


def backward(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, go: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx (M, C), da (groups, m + 1), db (groups, n)) from x2 and go, both (M, C) contiguous of one dtype.

    dx has x2's dtype, da and db the dtypes of a and b.
    """
    rows, channels = x2.shape
    groups = a.shape[0]
    dx = torch.empty_like(x2)
    da = torch.zeros(a.shape, dtype=x2.dtype)
    db = torch.zeros(b.shape, dtype=x2.dtype)
    if x2.numel() > 0:
        ac, bc = _coefficients(a, x2.dtype), _coefficients(b, x2.dtype)
        go = go.to(x2.dtype).contiguous()
        fn = _function(f"group_rational_backward_{_SUFFIX[x2.dtype]}")
        _call(fn, rows, groups, channels // groups, native.ptr(x2), native.ptr(go), native.ptr(ac), ac.shape[1],
              native.ptr(bc), bc.shape[1], native.ptr(dx), native.ptr(da), native.ptr(db), native.num_threads())
    return dx, da.to(a.dtype), db.to(b.dtype)
