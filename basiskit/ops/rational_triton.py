"""Triton kernels for the group-rational activation (GPU path of :mod:`basiskit.ops.rational`).

* forward: each program evaluates a (BLOCK_M rows x BLOCK_C channels) tile, P by Horner's rule, Q = 1 + |S|.
* backward (FlashKAT-style, Raffel & Chen): each program owns a (BLOCK_M rows x one group) tile, computes dx
  elementwise and reduces the tile's contribution to every coefficient gradient in registers, then issues ONE
  atomic add per coefficient (instead of one per element per coefficient, which serialises on the 10 addresses
  of a group and made KAT's backward ~100x slower than a ViT's).
* ``group_rational_backward_atomic``: the atomic-per-element backward, kept only as the benchmark's comparison.

Arithmetic runs in float32 whatever the input dtype (bf16/fp16 under autocast); outputs keep the input dtype.
``triton`` is the ``gpu`` extra and is imported inside functions only. The kernels also run on CPU tensors under
``TRITON_INTERPRET=1`` (Triton's interpreter), which is how the tests check them without a GPU.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any

import torch


@functools.lru_cache(maxsize=1)
def _installed() -> bool:
    return importlib.util.find_spec("triton") is not None


def available() -> bool:
    """Whether the Triton path can run here (triton installed, and CUDA present or the interpreter on)."""
    if not _installed():
        return False
    return torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1"


@functools.lru_cache(maxsize=1)
def _kernels() -> Any:
    import triton
    import triton.language as tl

    @triton.jit
    def fwd_kernel(x_ptr, a_ptr, b_ptr, out_ptr, M, C, D, KP: tl.constexpr, KQ: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
        rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
        cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        cmask = cols < C
        mask = (rows < M)[:, None] & cmask[None, :]
        offs = rows[:, None] * C + cols[None, :]
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        grp = cols // D
        p = tl.load(a_ptr + grp * KP + (KP - 1), mask=cmask, other=0.0)[None, :] + x * 0.0
        for i in tl.static_range(KP - 1):
            p = p * x + tl.load(a_ptr + grp * KP + (KP - 2 - i), mask=cmask, other=0.0)[None, :]
        s = tl.load(b_ptr + grp * KQ + (KQ - 1), mask=cmask, other=0.0)[None, :] + x * 0.0
        for i in tl.static_range(KQ - 1):
            s = s * x + tl.load(b_ptr + grp * KQ + (KQ - 2 - i), mask=cmask, other=0.0)[None, :]
        s = s * x
        out = p / (1.0 + tl.abs(s))
        tl.store(out_ptr + offs, out.to(out_ptr.dtype.element_ty), mask=mask)

    @triton.jit
    def bwd_kernel(x_ptr, go_ptr, a_ptr, b_ptr, dx_ptr, da_ptr, db_ptr, M, C, D, KP: tl.constexpr,
                   KQ: tl.constexpr, KDIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr,
                   PER_ELEMENT_ATOMICS: tl.constexpr):
        g = tl.program_id(1)
        rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
        within = tl.program_id(2) * BLOCK_D + tl.arange(0, BLOCK_D)  # channel offsets inside group g
        cols = g * D + within
        mask = (rows < M)[:, None] & (within < D)[None, :]
        offs = rows[:, None] * C + cols[None, :]
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        go = tl.load(go_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        # P, P' and S / x, S' by Horner's rule with this group's scalar coefficients
        p = x * 0.0 + tl.load(a_ptr + g * KP + (KP - 1))
        dp = x * 0.0
        for i in tl.static_range(KP - 1):
            k = KP - 2 - i
            dp = dp * x + p
            p = p * x + tl.load(a_ptr + g * KP + k)
        sb = x * 0.0 + tl.load(b_ptr + g * KQ + (KQ - 1))
        dsb = x * 0.0
        for i in tl.static_range(KQ - 1):
            j = KQ - 2 - i
            dsb = dsb * x + sb
            sb = sb * x + tl.load(b_ptr + g * KQ + j)
        s = sb * x
        ds = dsb * x + sb                                   # d(x Sb)/dx
        sgn = tl.where(s > 0, 1.0, tl.where(s < 0, -1.0, 0.0))
        q = 1.0 + tl.abs(s)
        r = go / q
        v = r * (p / q) * sgn
        dx = r * dp - v * ds
        tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
        pw = x * 0.0 + 1.0
        for k in tl.static_range(KDIM):
            if k < KP:
                if PER_ELEMENT_ATOMICS:
                    tl.atomic_add(da_ptr + g * KP + k + offs * 0, r * pw, mask=mask)
                else:
                    tl.atomic_add(da_ptr + g * KP + k, tl.sum(tl.sum(r * pw, axis=1), axis=0))
            if k >= 1:
                if k <= KQ:
                    if PER_ELEMENT_ATOMICS:
                        tl.atomic_add(db_ptr + g * KQ + (k - 1) + offs * 0, -(v * pw), mask=mask)
                    else:
                        tl.atomic_add(db_ptr + g * KQ + (k - 1), -tl.sum(tl.sum(v * pw, axis=1), axis=0))
            pw = pw * x

    return triton, fwd_kernel, bwd_kernel


def _prep(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    if x2.ndim != 2 or not x2.is_contiguous():
        raise ValueError(f"x2 must be a contiguous (rows, channels) tensor, got shape {tuple(x2.shape)}")
    a32 = a.detach().to(device=x2.device, dtype=torch.float32).contiguous()
    b32 = b.detach().to(device=x2.device, dtype=torch.float32).contiguous()
    return a32, b32, x2.shape[1] // a.shape[0], a.shape[0]


def group_rational_forward_triton(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, block_m: int = 16,
                                  block_c: int = 128) -> torch.Tensor:
    """x2: (M, C) contiguous; a: (groups, m + 1); b: (groups, n) -> (M, C) in x2's dtype."""
    triton, fwd, _ = _kernels()
    a32, b32, d, _groups = _prep(x2, a, b)
    m_rows, channels = x2.shape
    out = torch.empty_like(x2)
    if x2.numel():
        grid = (triton.cdiv(m_rows, block_m), triton.cdiv(channels, block_c))
        fwd[grid](x2, a32, b32, out, m_rows, channels, d, KP=a.shape[1], KQ=b.shape[1], BLOCK_M=block_m,
                  BLOCK_C=block_c)
    return out


def _backward(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, go: torch.Tensor, per_element: bool,
              block_m: int, block_d: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    triton, _, bwd = _kernels()
    a32, b32, d, groups = _prep(x2, a, b)
    go = go.contiguous()
    m_rows, channels = x2.shape
    dx = torch.empty_like(x2)
    grads = torch.zeros(a.numel() + b.numel(), dtype=torch.float32, device=x2.device)  # one memset, not two
    da, db = grads[:a.numel()].view(a.shape), grads[a.numel():].view(b.shape)
    if x2.numel():
        kp, kq = a.shape[1], b.shape[1]
        block_d = triton.next_power_of_2(d) if block_d is None else min(block_d, triton.next_power_of_2(d))
        grid = (triton.cdiv(m_rows, block_m), groups, triton.cdiv(d, block_d))
        bwd[grid](x2, go, a32, b32, dx, da, db, m_rows, channels, d, KP=kp, KQ=kq, KDIM=max(kp, kq + 1),
                  BLOCK_M=block_m, BLOCK_D=block_d, PER_ELEMENT_ATOMICS=per_element)
    return dx, da.to(a.dtype), db.to(b.dtype)


def group_rational_backward_triton(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, go: torch.Tensor, *,
                                   block_m: int = 64, block_d: int | None = 64
                                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx (M, C), da (groups, m + 1), db (groups, n)); one atomic add per coefficient per tile of
    ``block_m`` rows x ``block_d`` channels of one group (``block_d`` None: the whole group)."""
    return _backward(x2, a, b, go, per_element=False, block_m=block_m, block_d=block_d)


def group_rational_backward_atomic(x2: torch.Tensor, a: torch.Tensor, b: torch.Tensor, go: torch.Tensor, *,
                                   block_m: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Same result with one atomic add per element per coefficient (the slow scheme, for the benchmark only)."""
    return _backward(x2, a, b, go, per_element=True, block_m=block_m, block_d=None)
