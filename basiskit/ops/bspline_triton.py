r"""Triton kernels of the fused B-spline KAN layer on uniform knots (a GPU twin of ``csrc/kan_bspline.c``).

Same layer as :func:`basiskit.ops.bspline.kan_linear`,

.. math::  y_n = \sum_i \sum_{r=0}^{p} V_r(u_{ni})\, W_s[:, i, j_{ni} + r] + \sigma(x_n) W_b^T,

with :math:`j_{ni}`, :math:`u_{ni}` the interval and the position in it of :math:`\bar x_{ni}` (x clamped to the
grid's domain) and :math:`V_r` the p+1 cardinal B-spline pieces (coefficients from
:func:`basiskit.ops._bspline_math.uniform_coefficients`, the table every path uses). Local support: each program
evaluates only the p+1 non-zero pieces per input and places them in a register tile of width ``KP`` (the
coefficient count rounded up to a power of two, at least 16), which is contracted with the weight rows by
``tl.dot``; the dense feature matrix is never written to memory. (The window code is written out in each
kernel: a ``triton.jit`` helper defined inside the lazy loader is not visible to the kernels.) Three kernels:

* forward: a program owns a ``(BLOCK_N, BLOCK_O)`` tile of y and loops over the inputs;
* :math:`\partial W_s`: a program owns input i and a block of outputs, ``(BLOCK_O, KP)``, and loops over the
  samples (``g^T`` times the window tile): each coefficient is written once, no atomics;
* :math:`\partial x`: a program owns a block of samples and input i, forms ``g W_s[:, i, :]`` block by block of
  outputs and contracts it with the window of slopes :math:`[a \le x \le b]\, V_r'(u) / h`.

The base term :math:`\sigma(x) W_b^T` and its gradients are torch matmuls, as in the C path. Arithmetic is in
float32 (``tl.dot`` with ``input_precision="ieee"``: no TF32 rounding); outputs take x's dtype. ``triton`` is the
``gpu`` extra and is imported inside functions only; the kernels also run on CPU tensors under
``TRITON_INTERPRET=1``, which is how the tests check them without a GPU. Not yet the default CUDA path of
``kan_linear``: call :func:`kan_linear_triton` (it becomes the default once timed on a GPU).
"""
from __future__ import annotations

import functools
from typing import Any

import torch

from ._bspline_math import base_term, base_term_backward, check_base_activation, uniform_coefficients


@functools.lru_cache(maxsize=1)
def _kernels() -> Any:
    import triton
    import triton.language as tl

    @triton.jit
    def forward_kernel(x_ptr, w_ptr, ih_ptr, sh_ptr, coef_ptr, y_ptr, N, I, O, G, NB,
                       s_wo, s_wi, s_wk, R: tl.constexpr, KP: tl.constexpr, BLOCK_N: tl.constexpr,
                       BLOCK_O: tl.constexpr):
        rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
        ro = tl.program_id(1) * BLOCK_O + tl.arange(0, BLOCK_O)
        k = tl.arange(0, KP)
        nmask, omask = rn < N, ro < O
        acc = tl.zeros((BLOCK_N, BLOCK_O), dtype=tl.float32)
        for i in range(0, I):
            xv = tl.load(x_ptr + rn * I + i, mask=nmask, other=0.0).to(tl.float32)
            ih, sh = tl.load(ih_ptr + i), tl.load(sh_ptr + i)
            raw = xv * ih + sh
            pos = tl.minimum(tl.maximum(raw, 0.0), G * 1.0)
            j = tl.minimum(tl.floor(pos), G - 1.0)
            u = pos - j
            rel = k[None, :] - j.to(tl.int32)[:, None]
            tile = tl.zeros((BLOCK_N, KP), dtype=tl.float32)
            for rr in tl.static_range(R):  # piece rr by Horner's rule, placed at column j + rr
                v = tl.load(coef_ptr + rr * R + (R - 1)) + u * 0.0
                for q in tl.static_range(R - 1):
                    v = v * u + tl.load(coef_ptr + rr * R + (R - 2 - q))
                tile = tl.where(rel == rr, v[:, None], tile)
            wt = tl.load(w_ptr + ro[None, :] * s_wo + i * s_wi + k[:, None] * s_wk,
                         mask=(k[:, None] < NB) & omask[None, :], other=0.0).to(tl.float32)
            acc += tl.dot(tile, wt, input_precision="ieee")
        tl.store(y_ptr + rn[:, None] * O + ro[None, :], acc, mask=nmask[:, None] & omask[None, :])

    @triton.jit
    def grad_w_kernel(x_ptr, g_ptr, ih_ptr, sh_ptr, coef_ptr, gw_ptr, N, I, O, G, NB,
                      R: tl.constexpr, KP: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_O: tl.constexpr):
        i = tl.program_id(0)
        ro = tl.program_id(1) * BLOCK_O + tl.arange(0, BLOCK_O)
        k = tl.arange(0, KP)
        omask = ro < O
        ih, sh = tl.load(ih_ptr + i), tl.load(sh_ptr + i)
        acc = tl.zeros((BLOCK_O, KP), dtype=tl.float32)
        for n0 in range(0, N, BLOCK_N):
            rn = n0 + tl.arange(0, BLOCK_N)
            nmask = rn < N
            xv = tl.load(x_ptr + rn * I + i, mask=nmask, other=0.0).to(tl.float32)
            raw = xv * ih + sh
            pos = tl.minimum(tl.maximum(raw, 0.0), G * 1.0)
            j = tl.minimum(tl.floor(pos), G - 1.0)
            u = pos - j
            rel = k[None, :] - j.to(tl.int32)[:, None]
            tile = tl.zeros((BLOCK_N, KP), dtype=tl.float32)
            for rr in tl.static_range(R):  # piece rr by Horner's rule, placed at column j + rr
                v = tl.load(coef_ptr + rr * R + (R - 1)) + u * 0.0
                for q in tl.static_range(R - 1):
                    v = v * u + tl.load(coef_ptr + rr * R + (R - 2 - q))
                tile = tl.where(rel == rr, v[:, None], tile)
            tile = tl.where(nmask[:, None], tile, 0.0)
            g = tl.load(g_ptr + rn[:, None] * O + ro[None, :], mask=nmask[:, None] & omask[None, :],
                        other=0.0).to(tl.float32)
            acc += tl.dot(tl.trans(g), tile, input_precision="ieee")
        tl.store(gw_ptr + ro[:, None] * (I * NB) + i * NB + k[None, :], acc,
                 mask=omask[:, None] & (k[None, :] < NB))

    @triton.jit
    def grad_x_kernel(x_ptr, g_ptr, w_ptr, ih_ptr, sh_ptr, dcoef_ptr, dx_ptr, N, I, O, G, NB,
                      s_wo, s_wi, s_wk, R: tl.constexpr, KP: tl.constexpr, BLOCK_N: tl.constexpr,
                      BLOCK_O: tl.constexpr):
        rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
        i = tl.program_id(1)
        k = tl.arange(0, KP)
        nmask = rn < N
        ih = tl.load(ih_ptr + i)
        xv = tl.load(x_ptr + rn * I + i, mask=nmask, other=0.0).to(tl.float32)
        # slopes: the window of dV_r/du (dcoef holds the derivative pieces), times [pos == raw] / h
        sh = tl.load(sh_ptr + i)
        raw = xv * ih + sh
        pos = tl.minimum(tl.maximum(raw, 0.0), G * 1.0)
        j = tl.minimum(tl.floor(pos), G - 1.0)
        u = pos - j
        rel = k[None, :] - j.to(tl.int32)[:, None]
        tile = tl.zeros((BLOCK_N, KP), dtype=tl.float32)
        for rr in tl.static_range(R):  # piece rr by Horner's rule, placed at column j + rr
            v = tl.load(dcoef_ptr + rr * R + (R - 1)) + u * 0.0
            for q in tl.static_range(R - 1):
                v = v * u + tl.load(dcoef_ptr + rr * R + (R - 2 - q))
            tile = tl.where(rel == rr, v[:, None], tile)
        slopes = tile * (ih * (pos == raw).to(tl.float32))[:, None]
        gsum = tl.zeros((BLOCK_N, KP), dtype=tl.float32)
        for o0 in range(0, O, BLOCK_O):
            ro = o0 + tl.arange(0, BLOCK_O)
            omask = ro < O
            g = tl.load(g_ptr + rn[:, None] * O + ro[None, :], mask=nmask[:, None] & omask[None, :],
                        other=0.0).to(tl.float32)
            wt = tl.load(w_ptr + ro[:, None] * s_wo + i * s_wi + k[None, :] * s_wk,
                         mask=omask[:, None] & (k[None, :] < NB), other=0.0).to(tl.float32)
            gsum += tl.dot(g, wt, input_precision="ieee")
        tl.store(dx_ptr + rn * I + i, tl.sum(slopes * gsum, axis=1), mask=nmask)

    return forward_kernel, grad_w_kernel, grad_x_kernel


def _tables(knots: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per input ``inv_h``, ``shift`` (float32, (I,)) and the (p+1, p+1) tables of the pieces and of their
    derivatives d/du (row r: the coefficients of u^0..u^p; the derivative's last column is 0)."""
    t = knots.detach().to(torch.float32)
    inv_h = (1.0 / (t[:, 1] - t[:, 0])).contiguous()
    shift = (-t[:, order] * inv_h).contiguous()
    coef = torch.tensor(uniform_coefficients(order), dtype=torch.float32)
    dcoef = torch.zeros_like(coef)
    if order:
        dcoef[:, :-1] = coef[:, 1:] * torch.arange(1, order + 1, dtype=torch.float32)
    return inv_h, shift, coef.to(knots.device).contiguous(), dcoef.to(knots.device).contiguous()


def _sizes(n_basis: int) -> int:
    return max(16, 1 << max(0, n_basis - 1).bit_length())


def spline_forward(x: torch.Tensor, knots: torch.Tensor, spline_weight: torch.Tensor, order: int,
                   block_n: int = 32, block_o: int = 32) -> torch.Tensor:
    """Spline part of y, (N, O) float32, for x (N, I), uniform knots (I, K), spline_weight (O, I, n_basis)
    (any strides, e.g. a view of the packed weight)."""
    import triton

    fwd, _, _ = _kernels()
    x = x.contiguous()
    n, n_in = x.shape
    n_out, _, n_basis = spline_weight.shape
    inv_h, shift, coef, _ = _tables(knots, order)
    y = torch.empty(n, n_out, dtype=torch.float32, device=x.device)
    grid = (triton.cdiv(n, block_n), triton.cdiv(n_out, block_o))
    fwd[grid](x, spline_weight, inv_h, shift, coef, y, n, n_in, n_out, n_basis - order, n_basis,
              *spline_weight.stride(), R=order + 1, KP=_sizes(n_basis), BLOCK_N=block_n, BLOCK_O=block_o)
    return y


def spline_backward(x: torch.Tensor, knots: torch.Tensor, spline_weight: torch.Tensor, order: int,
                    grad: torch.Tensor, need_x: bool, need_w: bool, block_n: int = 32, block_o: int = 32
                    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(spline part of dL/dx (N, I), dL/dW_s (O, I, n_basis)), float32, from g = dL/dy (N, O)."""
    import triton

    _, gw_kernel, gx_kernel = _kernels()
    x, g = x.contiguous(), grad.contiguous()
    n, n_in = x.shape
    n_out, _, n_basis = spline_weight.shape
    inv_h, shift, coef, dcoef = _tables(knots, order)
    kp, r, grid_size = _sizes(n_basis), order + 1, n_basis - order
    grad_x = grad_w = None
    if need_w:
        grad_w = torch.empty(n_out, n_in, n_basis, dtype=torch.float32, device=x.device)
        gw_kernel[(n_in, triton.cdiv(n_out, block_o))](x, g, inv_h, shift, coef, grad_w, n, n_in, n_out, grid_size,
                                                       n_basis, R=r, KP=kp, BLOCK_N=block_n, BLOCK_O=block_o)
    if need_x:
        grad_x = torch.empty(n, n_in, dtype=torch.float32, device=x.device)
        gx_kernel[(triton.cdiv(n, block_n), n_in)](x, g, spline_weight, inv_h, shift, dcoef, grad_x, n, n_in, n_out,
                                                   grid_size, n_basis, *spline_weight.stride(), R=r, KP=kp,
                                                   BLOCK_N=block_n, BLOCK_O=block_o)
    return grad_x, grad_w


class KANLinearTriton(torch.autograd.Function):
    """The fused layer on the Triton kernels: saves (x, knots, weight) only, backward recomputes the window."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int,
                act: str) -> torch.Tensor:
        ctx.save_for_backward(x, knots, weight)
        ctx.order, ctx.act = order, act
        nb = weight.shape[-1] - 1
        y = spline_forward(x, knots, weight[..., :nb], order)
        if act != "none":
            y = y + base_term(x, act).float() @ weight[..., nb].float().t()
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        x, knots, weight = ctx.saved_tensors
        nb = weight.shape[-1] - 1
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[2]
        g = grad_out.float()
        gx, gws = spline_backward(x, knots, weight[..., :nb], ctx.order, g, need_x, need_w)
        grad_x = grad_w = None
        if need_w:
            gwb = (g.t() @ base_term(x, ctx.act).float() if ctx.act != "none"
                   else g.new_zeros(weight.shape[0], weight.shape[1]))
            grad_w = torch.cat([gws, gwb.unsqueeze(-1)], -1).to(weight.dtype)
        if need_x:
            if ctx.act != "none":
                gx = gx + base_term_backward(g @ weight[..., nb].float(), x.float(), ctx.act)
            grad_x = gx.to(x.dtype)
        return grad_x, None, grad_w, None, None


def kan_linear_triton(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, *,
                      base_activation: str = "silu") -> torch.Tensor:
    """:func:`basiskit.ops.bspline.kan_linear` with ``uniform=True`` on the Triton kernels. x: (N, I) on a CUDA
    device (or the CPU under ``TRITON_INTERPRET=1``); knots: (I, K) uniform rows; weight: (O, I, n_basis + 1)
    packed. Returns (N, O) in x's dtype (float32 arithmetic)."""
    check_base_activation(base_activation)
    if x.ndim != 2 or weight.ndim != 3 or weight.shape[1] != x.shape[1] or knots.shape[0] != x.shape[1]:
        raise ValueError(f"kan_linear_triton needs x (N, I), knots (I, K), weight (O, I, n_basis + 1); got x "
                         f"{tuple(x.shape)}, knots {tuple(knots.shape)}, weight {tuple(weight.shape)}")
    if knots.shape[1] - 1 - order != weight.shape[2] - 1:
        raise ValueError(f"weight's last dim must be n_basis + 1 = {knots.shape[1] - order}, got {weight.shape[2]}")
    return KANLinearTriton.apply(x, knots, weight, order, base_activation)
