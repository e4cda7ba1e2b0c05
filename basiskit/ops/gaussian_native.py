r"""ctypes wrapper of the C kernels for Gaussian-feature jets (``csrc/gaussian_jets.c``; PIG, Kang et al. 2024).

Computes the same values as :func:`basiskit.physics.pig.gaussian_feature_jets` (its pure-PyTorch twin):

.. math::
    V = \sum_k \phi_k W_k, \quad F_j = -\sum_k \phi_k g_{kj} W_k, \quad S_j = \sum_k \phi_k (g_{kj}^2 - \iota_{kj})
    W_k, \qquad \phi_k = e^{-\frac12 \sum_j (x_j - \mu_{kj})^2 \iota_{kj}},\ g_{kj} = (x_j - \mu_{kj})\iota_{kj},

with :math:`\iota = e^{-2 s}` the inverse variances (``s`` the log-scales). The PyTorch path writes several
(points x Gaussians x dims) tensors per step and reads them back in backward; the kernel recomputes each pair's
terms in registers and keeps nothing of size points x Gaussians (forward and backward are each one pass). The
backward gives gradients for the means, log-scales, weights and points; it is first-order only
(``once_differentiable``), so a residual that needs mixed derivatives takes them from the PyTorch path (PIG does
this through :class:`~basiskit.physics.derivatives.JetDerivatives`' fallback).
"""
from __future__ import annotations

import ctypes
import functools

import torch
from torch.autograd.function import once_differentiable

from . import native

_P, _L, _I = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
# n, N, d, C, x, muT, ivT, WT, second, V, F, S, nt, status
_FORWARD = [_L, _L, _L, _L, _P, _P, _P, _P, _I, _P, _P, _P, _I, _P]
# n, N, d, C, x, muT, ivT, WT, gV, gF, gS, dWT, dmuT, divT, dx, nt, status
_BACKWARD = [_L, _L, _L, _L, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _I, _P]
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
_SIGNATURES = {f"gaussian_jets_{k}_{s}": sig for s in _SUFFIX.values()
               for k, sig in (("forward", _FORWARD), ("backward", _BACKWARD))}

__all__ = ["choose", "gaussian_jets", "gaussian_values", "usable"]


@functools.lru_cache(maxsize=1)
def _source() -> str:
    return native.source("gaussian_jets")


def _library() -> ctypes.CDLL | None:
    return native.load("gaussian_jets", _source(), _SIGNATURES)


def usable(*tensors: torch.Tensor) -> bool:
    """True when the kernels can run: CPU float32/float64 tensors of one dtype, native kernels on and built."""
    return bool(tensors) and tensors[0].dtype in _SUFFIX and native.usable(*tensors) and _library() is not None


def choose(native: bool | None, *tensors: torch.Tensor) -> bool:
    """Whether to run the kernel on ``tensors``: ``native`` None where it can (:func:`usable`), False never,
    True always (a ValueError where it cannot)."""
    if native is False:
        return False
    ok = usable(*tensors)
    if native and not ok:
        raise ValueError("native=True needs CPU float32/float64 tensors of one dtype and native kernels enabled "
                         "(BASISKIT_NATIVE) with a working C compiler")
    return ok


def _call(name: str, dtype: torch.dtype, *args: object) -> None:
    status = ctypes.c_int(0)
    getattr(_library(), f"{name}_{_SUFFIX[dtype]}")(*args, ctypes.byref(status))
    if status.value:
        raise MemoryError(f"{name}: out of memory for the kernel's scratch buffers")


def _transposed(means: torch.Tensor, log_scales: torch.Tensor, weights: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(muT (d, N), ivT (d, N), WT (C, N)), contiguous: the kernels loop over Gaussians with unit stride."""
    return (means.detach().t().contiguous(), torch.exp(-2 * log_scales.detach()).t().contiguous(),
            weights.detach().t().contiguous())


class _GaussianJets(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor, weights: torch.Tensor,
                order: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """order 0: value only; 1: and first derivatives; 2: and pure second ones (unused outputs are empty)."""
        n, d = x.shape
        N, C = weights.shape
        xc = x.detach().contiguous()
        muT, ivT, WT = _transposed(means, log_scales, weights)
        value = x.new_empty(n, C)
        first = x.new_empty(n, d, C) if order >= 1 else x.new_empty(0)
        sec = x.new_empty(n, d, C) if order >= 2 else x.new_empty(0)
        if n and N:
            _call("gaussian_jets_forward", x.dtype, n, N, d, C, native.ptr(xc), native.ptr(muT), native.ptr(ivT),
                  native.ptr(WT), int(order >= 2), native.ptr(value), native.ptr(first) if order >= 1 else None,
                  native.ptr(sec) if order >= 2 else None, native.num_threads())
        else:
            value.zero_(), first.zero_(), sec.zero_()
        ctx.order = order
        ctx.save_for_backward(xc, means, log_scales, weights)
        ctx.mark_non_differentiable(*[t for t, k in ((first, 1), (sec, 2)) if order < k])
        return value, first, sec

    @staticmethod
    @once_differentiable
    def backward(ctx, g_value: torch.Tensor | None, g_first: torch.Tensor | None, g_second: torch.Tensor | None):
        x, means, log_scales, weights = ctx.saved_tensors
        n, d = x.shape
        N, C = weights.shape
        dtype = x.dtype
        gv = torch.zeros(n, C, dtype=dtype) if g_value is None else g_value.to(dtype).contiguous()
        gf = None if (ctx.order < 1 or g_first is None) else g_first.to(dtype).contiguous()
        gs = None if (ctx.order < 2 or g_second is None) else g_second.to(dtype).contiguous()
        muT, ivT, WT = _transposed(means, log_scales, weights)
        dWT, dmuT, divT = torch.empty(C, N, dtype=dtype), torch.empty(d, N, dtype=dtype), torch.empty(d, N, dtype=dtype)
        dx = torch.empty(n, d, dtype=dtype) if ctx.needs_input_grad[0] else None
        if n and N:
            _call("gaussian_jets_backward", dtype, n, N, d, C, native.ptr(x), native.ptr(muT), native.ptr(ivT),
                  native.ptr(WT), native.ptr(gv), None if gf is None else native.ptr(gf),
                  None if gs is None else native.ptr(gs),
                  native.ptr(dWT), native.ptr(dmuT), native.ptr(divT), None if dx is None else native.ptr(dx),
                  native.num_threads())
        else:
            dWT.zero_(), dmuT.zero_(), divT.zero_()
            if dx is not None:
                dx.zero_()
        d_log_scales = -2 * divT.t() * ivT.t()  # d iv / d s = -2 iv
        return (dx, dmuT.t().to(means.dtype), d_log_scales.to(log_scales.dtype), dWT.t().to(weights.dtype), None)


def gaussian_jets(x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor, weights: torch.Tensor,
                  second: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Native F, dF/dx_d, d2F/dx_d2: x (n, d), means and log_scales (N, d), weights (N, C) -> (n, C), (n, d, C),
    (n, d, C) or None. All CPU tensors of one float dtype (check with :func:`usable`)."""
    value, first, sec = _GaussianJets.apply(x, means, log_scales, weights, 2 if second else 1)
    return value, first, (sec if second else None)


def gaussian_values(x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor,
                    weights: torch.Tensor) -> torch.Tensor:
    """Native F alone (no derivatives computed): x (n, d) -> (n, C); see :func:`gaussian_jets`."""
    return _GaussianJets.apply(x, means, log_scales, weights, 0)[0]
