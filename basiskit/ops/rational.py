r"""Group-rational activation (KAT's GR-KAN core): a reference in plain PyTorch and a fused autograd Function.

Channels ``C`` of ``x (..., C)`` are split into ``groups`` contiguous blocks of ``C // groups``; block ``g``
applies the safe Padé function

.. math::  F_g(x) = \frac{P_g(x)}{Q_g(x)} = \frac{a_{g0} + a_{g1} x + \dots + a_{gm} x^m}
                                          {1 + |b_{g1} x + \dots + b_{gn} x^n|}

with ``a (groups, m + 1)`` and ``b (groups, n)`` (Yang & Wang, "Kolmogorov-Arnold Transformer", ICLR 2025).

**One denominator everywhere.** The KAT paper writes the "safe" PAU form ``1 + |b_1 x + ... + b_n x^n|``
(Molina et al. 2020), while the released CUDA group kernel computes ``1 + |b_1| |x| + ... + |b_n| |x|^n`` - a
different function, so a model trained with one is not what the other evaluates - and a third form in the
released code can reach zero. A denominator without the absolute value, ``1 + b_1 x + ... + b_n x^n``, has a
pole as soon as training moves ``b`` there (e.g. ``b = (-2, 1)``: ``1 + S = (x - 1)^2``). basiskit uses only
``Q = 1 + |S(x)|``, ``S(x) = b_1 x + ... + b_n x^n``, defined once in :func:`basiskit.bases.rational.rational`:
``Q >= 1`` for every x and every ``b``, so ``F`` has no poles, ``|1/Q| <= 1`` and the gradients below stay
bounded for bounded x; unlike the ``|b_j| |x|^j`` form it is the paper's function and keeps the sign structure of
``S`` (its terms can cancel).

Gradients (``sgn`` = sign of ``S``, 0 at ``S = 0`` like ``torch.abs``'s subgradient)::

    dF/dx   = (P' - F sgn(S) S') / Q
    dF/da_k = x^k / Q
    dF/db_j = -F sgn(S) x^j / Q

The fused Function keeps only ``x`` (and the coefficients) for backward and recomputes ``P, S, Q`` there.
Dispatch, per call:

* CUDA tensors go to the Triton kernels in :mod:`basiskit.ops.rational_triton` when ``triton`` is installed;
* CPU float32/float64 tensors go to the one-pass compiled C kernels of :mod:`basiskit.ops.rational_native` when
  :func:`basiskit.ops.native.usable` (a C compiler is present and ``BASISKIT_NATIVE`` is not 0);
* anything else (bf16/fp16 under autocast, no compiler, CUDA without Triton) takes the chunked PyTorch path
  below: it walks the rows in chunks of ~64k elements with preallocated work buffers, so its few dozen
  elementwise steps stay in cache instead of streaming (and page-faulting) whole tensors each time; the
  coefficient gradients are accumulated per channel by one matrix-vector product per power
  (``ones @ (r x^k)``) per chunk, and summed over each group's channels once at the end.
"""
from __future__ import annotations

import threading
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .._validation import check_int, check_tensor
from ..bases.rational import rational
from . import rational_native

# Elements per CPU chunk: a few tensors of this size fit in a 1-2 MiB L2 cache.
CHUNK_ELEMENTS = 1 << 16


def check_group_rational_args(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, groups: int) -> None:
    """Shape checks shared by every path; errors name the argument and the allowed shapes."""
    check_tensor("x", x, min_ndim=1)
    check_tensor("a", a, ndim=2)
    check_tensor("b", b, ndim=2)
    check_int("groups", groups, min_value=1)
    channels = x.shape[-1]
    if channels % groups:
        raise ValueError(f"x's last dim (features = {channels}) must be divisible by groups = {groups}")
    if a.shape[0] != groups or b.shape[0] != groups:
        raise ValueError(f"a and b must have groups = {groups} rows, got a {tuple(a.shape)} and b {tuple(b.shape)}")
    if a.shape[1] < 1:
        raise ValueError(f"a must hold at least the constant term, got shape {tuple(a.shape)}")


def group_rational_reference(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, groups: int) -> torch.Tensor:
    """Reference group-rational in plain PyTorch (autograd through every step).

    x: (..., C) with C % groups == 0; a: (groups, m + 1) = a_0..a_m; b: (groups, n) = b_1..b_n.
    Returns (..., C).
    """
    check_group_rational_args(x, a, b, groups)
    shape = x.shape
    xg = x.reshape(*shape[:-1], groups, shape[-1] // groups)
    return rational(xg, a[:, None, :], b[:, None, :]).reshape(shape)


def _per_channel(coeffs: torch.Tensor, channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(groups, K) -> (K, channels) with each group's column repeated over its channels."""
    groups = coeffs.shape[0]
    per_channel = coeffs.detach().to(device=device, dtype=dtype).repeat_interleave(channels // groups, dim=0)
    return per_channel.t().contiguous()


def _horner(coeffs: list[torch.Tensor], x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """sum_k coeffs[k] x^k into ``out``; coeffs: K per-channel rows (C,) (broadcast over x's rows)."""
    if len(coeffs) == 1:
        return out.copy_(coeffs[0].expand_as(x))
    torch.addcmul(coeffs[-2], coeffs[-1], x, out=out)
    for c in coeffs[-3::-1]:
        torch.addcmul(c, out, x, out=out)
    return out


_WORKSPACE = threading.local()


def _workspace(tag: str, planes: int, rows: int, channels: int, dtype: torch.dtype,
               device: torch.device) -> torch.Tensor:
    """A (planes, rows, channels) scratch tensor reused across calls (one per thread and ``tag``).

    Fresh multi-megabyte CPU buffers come from ``mmap`` and page-fault on first touch; at the sizes of a small
    transformer that costs more than the arithmetic, so the chunk buffers are kept between calls.
    """
    key = (tag, planes, rows, channels, dtype, device)
    cache = getattr(_WORKSPACE, "buffers", None)
    if cache is None:
        cache = _WORKSPACE.buffers = {}
    buf = cache.get(key)
    if buf is None:
        if len(cache) >= 16:
            cache.clear()
        buf = cache[key] = torch.empty((planes, rows, channels), dtype=dtype, device=device)
    return buf


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.promote_types(x.dtype, torch.float32)


def _rows(channels: int) -> int:
    return max(1, CHUNK_ELEMENTS // max(1, channels))


def fused_forward_cpu(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Forward on (M, C) rows in cache-sized chunks; returns (M, C) in x2's dtype.

    The CPU path; plain tensor ops, so it also runs on other devices (the fallback when Triton is missing).
    """
    m_rows, channels = x2.shape
    dt, dev = _compute_dtype(x2), x2.device
    A = list(_per_channel(a, channels, dt, dev).unbind(0))
    B = list(_per_channel(b, channels, dt, dev).unbind(0))
    out = torch.empty(x2.shape, dtype=dt, device=dev)
    step = _rows(channels)
    rows = min(step, m_rows)
    work = _workspace("forward", 2, rows, channels, dt, dev)
    planes = work.unbind(0)
    for xc, o in zip(x2.split(step), out.split(step)):
        n = xc.shape[0]
        xc = xc if xc.dtype == dt else xc.to(dt)
        p, q = planes if n == rows else work[:, :n].unbind(0)
        _horner(B, xc, q).mul_(xc).abs_().add_(1.0)
        torch.div(_horner(A, xc, p), q, out=o)
    return out.to(x2.dtype)


def fused_backward_cpu(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, go: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx (M, C), da (groups, m + 1), db (groups, n)) from x2 (M, C) and the output gradient go (M, C).

    Per chunk: S, sgn(S), Q, r = go / Q, v = go F sgn(S) / Q, dx = r P' - v S'; then the coefficient
    gradients sum_rows r x^k and -sum_rows v x^j, each one matrix-vector product (ones @ plane) that
    accumulates into a (m + 1 + n, C) buffer; the channels of each group are summed at the end.
    """
    m_rows, channels = x2.shape
    groups, kp, kq = a.shape[0], a.shape[1], b.shape[1]
    dt, dev = _compute_dtype(x2), x2.device
    Af, Bf = _per_channel(a, channels, dt, dev), _per_channel(b, channels, dt, dev)
    # P' = sum_k k a_k x^(k-1);  S(x) = x (b_1 + b_2 x + ...),  S' = sum_j j b_j x^(j-1)
    if kp > 1:
        dAf = Af[1:] * torch.arange(1, kp, dtype=dt, device=dev)[:, None]
    else:
        dAf = torch.zeros(1, channels, dtype=dt, device=dev)
    dBf = Bf * torch.arange(1, kq + 1, dtype=dt, device=dev)[:, None]
    A, B, dA, dB = (list(t.unbind(0)) for t in (Af, Bf, dAf, dBf))
    step = _rows(channels)
    rows = min(step, m_rows)
    dx = torch.empty(x2.shape, dtype=dt, device=dev)
    work = _workspace("backward", 6, rows, channels, dt, dev)
    grad = torch.zeros((kp + kq, channels), dtype=dt, device=dev)
    grad_rows = list(grad.split(1, dim=0))
    ones = torch.ones((1, rows), dtype=dt, device=dev)
    planes = work.unbind(0)
    for xc, g, d in zip(x2.split(step), go.split(step), dx.split(step)):
        n = xc.shape[0]
        xc = xc if xc.dtype == dt else xc.to(dt)
        g = g if g.dtype == dt else g.to(dt)
        full = n == rows
        q, sgn, r, v, pw, t = planes if full else work[:, :n].unbind(0)
        on = ones if full else ones[:, :n]
        _horner(B, xc, q).mul_(xc)
        torch.sign(q, out=sgn)
        q.abs_().add_(1.0)                                    # Q = 1 + |S|
        torch.div(g, q, out=r)                                # r = go / Q
        _horner(A, xc, v).div_(q).mul_(r).mul_(sgn)           # v = go F sgn(S) / Q
        torch.mul(_horner(dA, xc, d), r, out=d).addcmul_(_horner(dB, xc, t), v, value=-1.0)  # r P' - v S'
        grad_rows[0].addmm_(on, r)                            # sum_rows r x^0
        torch.mul(r, xc, out=pw)
        for k in range(1, kp):
            grad_rows[k].addmm_(on, pw)                       # sum_rows r x^k
            if k < kp - 1:
                pw.mul_(xc)
        torch.mul(v, xc, out=pw)
        for j in range(kq):
            grad_rows[kp + j].addmm_(on, pw)                  # sum_rows v x^(j+1)
            if j < kq - 1:
                pw.mul_(xc)
    da = grad[:kp].t().reshape(groups, channels // groups, kp).sum(1)
    db = grad[kp:].t().reshape(groups, channels // groups, kq).sum(1).neg_()
    return dx.to(x2.dtype), da.to(a.dtype), db.to(b.dtype)


def _use_triton(x: torch.Tensor) -> bool:
    if not x.is_cuda:
        return False
    from . import rational_triton

    return rational_triton.available()


def _forward(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """F(x2) for x2 (M, C) contiguous: Triton on CUDA, the C kernel on CPU float32/float64, else PyTorch."""
    if _use_triton(x2):
        from .rational_triton import group_rational_forward_triton

        return group_rational_forward_triton(x2, a, b)
    if rational_native.usable(x2, a, b):
        return rational_native.forward(x2, a, b)
    return fused_forward_cpu(x2, a, b)


def _backward(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, go: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx (M, C), da, db) for x2 and go (M, C) contiguous, on the same path choice as :func:`_forward`."""
    if _use_triton(x2):
        from .rational_triton import group_rational_backward_triton

        return group_rational_backward_triton(x2, a, b, go)
    if rational_native.usable(x2, a, b):
        return rational_native.backward(x2, a, b, go)
    return fused_backward_cpu(x2, a, b, go)


class GroupRationalFunction(torch.autograd.Function):
    """Fused group-rational: saves only (x, a, b); backward gives dx, da, db in one pass (see module docstring).

    Eager calls of :func:`group_rational` come here; under ``torch.compile`` it calls the registered op
    ``torch.ops.basiskit.group_rational`` instead (same kernels, fewer Python steps for the compiler to see)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, groups: int) -> torch.Tensor:
        shape = x.shape
        ctx.save_for_backward(x, a, b)
        return _forward(x.reshape(-1, shape[-1]).contiguous(), a, b).reshape(shape)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        x, a, b = ctx.saved_tensors
        shape = x.shape
        dx, da, db = _backward(x.reshape(-1, shape[-1]).contiguous(), a, b,
                               grad_out.reshape(-1, shape[-1]).contiguous())
        return (dx.reshape(shape) if ctx.needs_input_grad[0] else None,
                da if ctx.needs_input_grad[1] else None, db if ctx.needs_input_grad[2] else None, None)


# ---- the same activation as a torch.library custom op (what torch.compile captures) ------------------------
# Eager calls keep the autograd.Function: a custom op's Python dispatch adds ~15 us per call (measured, tiny
# tensors, one thread, torch 2.13), which is most of the activation's cost at small sizes.

@torch.library.custom_op("basiskit::group_rational", mutates_args=())
def _group_rational_op(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    shape = x.shape
    return _forward(x.reshape(-1, shape[-1]).contiguous(), a, b).reshape(shape)


@_group_rational_op.register_fake
def _group_rational_fake(x, a, b):  # type: ignore[no-untyped-def]
    return torch.empty_like(x, memory_format=torch.contiguous_format)


@torch.library.custom_op("basiskit::group_rational_backward", mutates_args=())
def _group_rational_backward_op(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, grad_out: torch.Tensor
                                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx like x, da like a, db like b)."""
    shape = x.shape
    dx, da, db = _backward(x.reshape(-1, shape[-1]).contiguous(), a, b,
                           grad_out.reshape(-1, shape[-1]).contiguous())
    return dx.reshape(shape), da.contiguous(), db.contiguous()


@_group_rational_backward_op.register_fake
def _group_rational_backward_fake(x, a, b, grad_out):  # type: ignore[no-untyped-def]
    return (torch.empty_like(x, memory_format=torch.contiguous_format),
            torch.empty_like(a, memory_format=torch.contiguous_format),
            torch.empty_like(b, memory_format=torch.contiguous_format))


def _group_rational_setup(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    ctx.save_for_backward(*inputs)


def _group_rational_op_backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
    x, a, b = ctx.saved_tensors
    dx, da, db = torch.ops.basiskit.group_rational_backward(x, a, b, grad_out)
    return (dx if ctx.needs_input_grad[0] else None, da if ctx.needs_input_grad[1] else None,
            db if ctx.needs_input_grad[2] else None)


_group_rational_op.register_autograd(_group_rational_op_backward, setup_context=_group_rational_setup)


def group_rational(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, groups: int, *,
                   fused: bool = True) -> torch.Tensor:
    """Group-rational activation, x: (..., C) -> (..., C); a: (groups, m + 1); b: (groups, n).

    ``fused=True`` uses :class:`GroupRationalFunction` (Triton on CUDA when available, the compiled kernel for
    CPU float32/float64, chunked PyTorch code otherwise); ``fused=False`` the plain-PyTorch reference. Under
    autocast the arithmetic runs in float32 and the output keeps x's dtype.
    """
    if not fused:
        return group_rational_reference(x, a, b, groups)
    check_group_rational_args(x, a, b, groups)
    if torch.compiler.is_compiling():
        return torch.ops.basiskit.group_rational(x, a, b)
    return GroupRationalFunction.apply(x, a, b, groups)
