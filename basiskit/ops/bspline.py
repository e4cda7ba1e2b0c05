r"""Fused B-spline KAN layer: forward and backward without keeping the expanded basis.

.. math::  y = [B(\bar x) \,|\, \sigma(x)]\; W^T, \qquad W = [W_s \,|\, W_b] \in \mathbb{R}^{O \times I (n_{basis}+1)}

with :math:`\bar x = \mathrm{clamp}(x, a_i, b_i)` per input feature, :math:`[a_i, b_i] = [t_{i,p}, t_{i,K-1-p}]`
the grid's domain (so the spline continues as a constant outside its grid instead of dropping to 0).

Forward evaluates only the ``order + 1`` non-zero B-splines per input (de Boor's local triangular scheme; on
uniform knots without any knot lookups), writes them into the feature matrix beside the base activation
:math:`\sigma(x)` and does one matmul with the packed weight. Backward *recomputes* the features from ``x``
instead of saving them, so autograd keeps ``x``, the knots and the weight: memory of the order of the input,
not of ``in_features * n_basis`` per sample. With :math:`G = g W` and :math:`M` the order-(p-1) values,

.. math::  \partial_W = g^T [B | \sigma], \qquad
           \partial_{x_{ni}} = [a_i \le x_{ni} \le b_i] \sum_{s=0}^{p-1} M_s \frac{p\,(G_{j+s+1} - G_{j+s})}
           {t_{j+s+1} - t_{j+s+1-p}} + G_{\sigma}\, \sigma'(x_{ni}).

``kan_linear_reference`` is the plain-autograd twin (dense basis, autograd keeps everything); tests check the
two agree and ``gradcheck`` / ``gradgradcheck`` the fused one in float64 (the backward is written with
differentiable tensor ops, so physics-informed second derivatives work).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..bases.bspline import _triangle, bspline_basis

BASE_ACTIVATIONS = ("silu", "gelu", "tanh", "relu", "identity", "none")


def activation(x: torch.Tensor, name: str) -> torch.Tensor:
    """sigma(x) for a named base activation ("none" gives zeros)."""
    if name == "silu":
        return F.silu(x)
    if name == "gelu":
        return F.gelu(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "relu":
        return torch.relu(x)
    if name == "identity":
        return x
    if name == "none":
        return torch.zeros_like(x)
    raise ValueError(f"base_activation must be one of {list(BASE_ACTIVATIONS)}, got {name!r}")


def activation_slope(x: torch.Tensor, name: str) -> torch.Tensor:
    """sigma'(x), written with differentiable ops."""
    if name == "silu":
        s = torch.sigmoid(x)
        return s * (1 + x * (1 - s))
    if name == "gelu":
        return 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    if name == "tanh":
        return 1 - torch.tanh(x) ** 2
    if name == "relu":
        return (x > 0).to(x.dtype)
    if name == "identity":
        return torch.ones_like(x)
    return torch.zeros_like(x)


def grid_domain(knots: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row domain ``(t_p, t_{K-1-p})`` of knots ``(..., K)``."""
    return knots[..., order], knots[..., knots.shape[-1] - 1 - order]


def clamp_to_grid(x: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """x clamped per feature into ``[t_p, t_{K-1-p}]`` (the upper end one ulp inside, so the last interval
    is closed for every order). x: (N, I), knots: (I, K)."""
    lo, hi = grid_domain(knots.to(x.dtype), order)
    hi = torch.nextafter(hi, lo)
    return torch.maximum(torch.minimum(x, hi), lo)


def _local(x: torch.Tensor, knots: torch.Tensor, order: int, uniform: bool, lower: bool
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
    """Window of the order+1 non-zero B-splines at clamp(x) for x: (N, I), knots: (I, K).

    Returns ``index (N, I, p+1)`` (in range, distinct), ``values (N, I, p+1)``, and with ``lower`` the order-(p-1)
    values ``M (N, I, p)`` and factors ``c`` (``p / (t_{j+s+1} - t_{j+s+1-p})``, shape broadcasting to M), plus
    ``inside (N, I)``: whether x lies in the grid's domain (the clamp's gradient mask).
    """
    p, n_knots = order, knots.shape[-1]
    t = knots.to(x.dtype)
    lo, hi = grid_domain(t, p)
    inside = (x >= lo) & (x <= hi)
    xc = torch.maximum(torch.minimum(x, torch.nextafter(hi, lo)), lo)
    ar = torch.arange(p + 1, device=x.device)
    if uniform:
        inv_h = 1.0 / (t[:, 1] - t[:, 0])
        s = (xc - t[:, 0]) * inv_h
        span = torch.floor(s).clamp_(p, n_knots - p - 2)
        u = s - span
        # uniform knots: left[m] = (u + m - 1) h, right[m] = (m - u) h, every denominator at level d is d h
        a = [None] + [m - u for m in range(1, p + 1)]
        b = [None] + [u + (m - 1) for m in range(1, p + 1)]
        vals = [torch.ones_like(u)]
        prev = vals
        for d in range(1, p + 1):
            prev, saved, nxt = vals, None, []
            for r in range(d):
                term = a[r + 1] * vals[r]
                nxt.append(term if saved is None else saved + term)
                saved = b[d - r] * vals[r]
            nxt.append(saved)
            vals = nxt
        values = torch.stack(vals, -1) * (1.0 / math.factorial(p))
        lower_vals = torch.stack(prev, -1) * (1.0 / math.factorial(p - 1)) if (lower and p) else None
        factor = inv_h.unsqueeze(-1) if lower else None
    else:
        flat = xc.detach().t().contiguous()
        span = (torch.searchsorted(t.contiguous(), flat, right=True) - 1).t().clamp_(p, n_knots - p - 2)
        offsets = torch.arange(1 - p, p + 1, device=x.device)
        near = torch.gather(t.expand(x.shape[0], *t.shape), -1, span.unsqueeze(-1) + offsets)
        # near[..., k] = t_{j - p + 1 + k}: t_{j+1-m} = near[p - m], t_{j+m} = near[p - 1 + m]
        left = [xc] + [xc - near[..., p - m] for m in range(1, p + 1)]
        right = [xc] + [near[..., p - 1 + m] - xc for m in range(1, p + 1)]
        vals, prev = _triangle(left, right, p)
        values = torch.stack(vals, -1)
        if lower and p:
            lower_vals = torch.stack(prev, -1)
            # D_{s+1} = t_{j+s+1} - t_{j+s+1-p}, s = 0..p-1
            factor = p / (near[..., p:] - near[..., :p])
        else:
            lower_vals, factor = None, None
    index = (span.long() - p).unsqueeze(-1) + ar  # span: float (uniform) or int64 (searchsorted)
    return index, values, lower_vals, factor, inside


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    dev = x.device.type
    if torch.is_autocast_enabled(dev):
        return torch.get_autocast_dtype(dev)
    return x.dtype


def _features(x: torch.Tensor, index: torch.Tensor, values: torch.Tensor, n_basis: int, act: str) -> torch.Tensor:
    feats = x.new_zeros(*x.shape, n_basis + 1)
    feats.scatter_(-1, index, values)
    if act != "none":
        feats[..., n_basis] = activation(x, act)
    return feats


class _KANLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor,  # type: ignore[override]
                order: int, uniform: bool, act: str) -> torch.Tensor:
        n_out, n_in, width = weight.shape
        index, values, _, _, _ = _local(x, knots, order, uniform, lower=False)
        feats = _features(x, index, values, width - 1, act)
        dtype = _compute_dtype(x)
        with torch.autocast(x.device.type, enabled=False):
            y = feats.reshape(x.shape[0], -1).to(dtype) @ weight.reshape(n_out, -1).to(dtype).t()
        ctx.save_for_backward(x, knots, weight)
        ctx.order, ctx.uniform, ctx.act, ctx.dtype = order, uniform, act, dtype
        return y

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        x, knots, weight = ctx.saved_tensors
        n_out, n_in, width = weight.shape
        n_basis, p, dtype = width - 1, ctx.order, ctx.dtype
        g = grad_out.to(dtype)
        index, values, lower, factor, inside = _local(x, knots, p, ctx.uniform, lower=ctx.needs_input_grad[0])
        grad_x = grad_w = None
        with torch.autocast(x.device.type, enabled=False):
            if ctx.needs_input_grad[2]:
                feats = _features(x, index, values, n_basis, ctx.act)
                grad_w = (g.t() @ feats.reshape(x.shape[0], -1).to(dtype)).reshape(weight.shape).to(weight.dtype)
            if ctx.needs_input_grad[0]:
                gfeat = (g @ weight.reshape(n_out, -1).to(dtype)).reshape(x.shape[0], n_in, width).to(x.dtype)
                grad_x = activation_slope(x, ctx.act) * gfeat[..., n_basis] if ctx.act != "none" else None
                if p:
                    near = gfeat.gather(-1, index)
                    spline = ((near[..., 1:] - near[..., :-1]) * lower * factor).sum(-1) * inside
                    grad_x = spline if grad_x is None else grad_x + spline
                if grad_x is None:
                    grad_x = torch.zeros_like(x)
        return grad_x, None, grad_w, None, None, None


def kan_linear(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, *, uniform: bool = False,
               base_activation: str = "silu") -> torch.Tensor:
    r"""Fused B-spline KAN layer :math:`y = B(\bar x) W_s^T + \sigma(x) W_b^T` (basis recomputed in backward).

    x: (N, I). knots: (I, K), strictly increasing rows (``uniform=True`` promises equal spacing: faster, no
    knot lookups). weight: (O, I, n_basis + 1) packed, ``[..., :n_basis]`` the spline coefficients ``W_s``
    (n_basis = K - 1 - order) and ``[..., n_basis]`` the base weights ``W_b``. Returns (N, O).
    ``base_activation`` is one of ``BASE_ACTIVATIONS``.
    """
    return _KANLinear.apply(x, knots, weight, order, uniform, base_activation)


def kan_linear_reference(x: torch.Tensor, knots: torch.Tensor, weight: torch.Tensor, order: int, *,
                         base_activation: str = "silu") -> torch.Tensor:
    """The same layer with plain autograd on the dense basis (keeps ``(N, I, n_basis)`` for backward)."""
    basis = bspline_basis(clamp_to_grid(x, knots, order), knots, order)
    feats = torch.cat([basis, activation(x, base_activation).unsqueeze(-1)], -1)
    return feats.reshape(x.shape[0], -1) @ weight.reshape(weight.shape[0], -1).t()
