r"""Grid adaptation for B-spline KAN layers (Liu et al. 2024, "KAN", sections 2.4 and 2.5): knots placed at
data quantiles blended with a uniform grid, grid extension (a finer grid over the same range), and the
least-squares refit of spline coefficients that keeps each edge function.

All functions are pure: ``x: (N, I)`` samples of the layer input, ``knots: (I, K)`` per-feature knots.
"""
from __future__ import annotations

import torch

from .._validation import check_choice, check_float, check_int, check_tensor
from ..bases.bspline import bspline_basis
from ..ops import bspline_native
from ..ops.bspline import clamp_to_grid

BOUNDARIES = ("extend", "clamp")  # how a spline continues past its grid range (spline_basis)


def extend_grid(grid: torch.Tensor, order: int) -> torch.Tensor:
    """Add ``order`` knots beyond each end of ``grid: (I, G + 1)`` with the mean spacing ``(b - a) / G``."""
    n_int = grid.shape[-1] - 1
    h = (grid[:, -1:] - grid[:, :1]) / n_int
    steps = torch.arange(1, order + 1, device=grid.device, dtype=grid.dtype)
    return torch.cat([grid[:, :1] - h * steps.flip(0), grid, grid[:, -1:] + h * steps], -1)


def adaptive_knots(x: torch.Tensor, grid_size: int, order: int, grid_eps: float = 0.02, margin: float = 0.0
                   ) -> torch.Tensor:
    r"""Knots ``(I, grid_size + 2 order + 1)`` from samples ``x: (N, I)``.

    The ``grid_size + 1`` grid points are :math:`\epsilon\,u + (1 - \epsilon)\,q`, ``u`` uniform and ``q`` the
    empirical quantiles on ``[min - m, max + m]`` (``m = margin * (max - min)``), then extended by ``order``
    uniform knots each side. ``grid_eps`` in (0, 1] keeps the knots strictly increasing even with tied data.
    """
    check_tensor("x", x, ndim=2, nonempty=True, finite=True)
    check_int("grid_size", grid_size, min_value=1)
    check_int("order", order, min_value=0)
    check_float("grid_eps", grid_eps, min_value=0.0, max_value=1.0, strict_min=True)
    check_float("margin", margin, min_value=0.0)
    xs = torch.sort(x.detach(), dim=0).values.t()  # (I, N)
    lo, hi = xs[:, :1], xs[:, -1:]
    flat = (hi - lo) < 1e-6 * (1 + lo.abs())
    lo, hi = torch.where(flat, lo - 0.5, lo), torch.where(flat, hi + 0.5, hi)
    pad = margin * (hi - lo)
    lo, hi = lo - pad, hi + pad
    n = xs.shape[1]
    pos = torch.linspace(0, n - 1, grid_size + 1, device=x.device, dtype=torch.float64)
    below = pos.floor().long().clamp(max=n - 1)
    above = (below + 1).clamp(max=n - 1)
    frac = (pos - below).to(xs.dtype)
    quant = xs[:, below] * (1 - frac) + xs[:, above] * frac
    quant[:, :1], quant[:, -1:] = lo, hi
    unif = lo + (hi - lo) * torch.linspace(0, 1, grid_size + 1, device=x.device, dtype=xs.dtype)
    return extend_grid(grid_eps * unif + (1 - grid_eps) * quant, order)


def refined_knots(knots: torch.Tensor, order: int, new_grid_size: int) -> torch.Tensor:
    """Knots with ``new_grid_size`` intervals over the same range: the old grid points interpolated piecewise
    linearly in their index (so a multiple of the old size nests the old knots and keeps every spline exactly)."""
    check_int("new_grid_size", new_grid_size, min_value=1)
    grid = knots[:, order: knots.shape[-1] - order]  # (I, G + 1)
    old = grid.shape[-1] - 1
    pos = torch.linspace(0, old, new_grid_size + 1, device=knots.device, dtype=torch.float64)
    below = pos.floor().long().clamp(max=old - 1)
    frac = (pos - below).to(knots.dtype)
    new = grid[:, below] * (1 - frac) + grid[:, below + 1] * frac
    return extend_grid(new, order)


def spline_basis(x: torch.Tensor, knots: torch.Tensor, order: int, boundary: str = "extend") -> torch.Tensor:
    """The ``K - 1 - order`` B-splines of every feature at ``x: (N, I)``, ``(N, I, K - 1 - order)``, knots
    ``(I, K)``. Inside the grid range ``[t_p, t_{K-1-p}]`` both boundaries agree; outside it ``"clamp"``
    evaluates at x clamped into the range and ``"extend"`` evaluates the B-splines themselves (pykan's
    ``B_batch``: the end functions' tails, all 0 past the outermost knots)."""
    check_choice("boundary", boundary, BOUNDARIES)
    if boundary == "clamp" or order == 0:
        return bspline_basis(clamp_to_grid(x, knots, order), knots, order)
    wide = extend_grid(knots, order)
    return bspline_basis(clamp_to_grid(x, wide, order), wide, order)[..., order: knots.shape[-1] - 1]


def spline_basis_values(x: torch.Tensor, knots: torch.Tensor, order: int, boundary: str = "extend"
                        ) -> torch.Tensor:
    """:func:`spline_basis` as values only (no autograd): the native kernels' window (the ``order + 1``
    non-zero B-splines per sample and feature) scattered into the dense ``(N, I, K - 1 - order)`` basis
    (:func:`basiskit.ops.bspline_native.dense_basis`) when they can run (CPU float32/float64, strictly increasing
    knots, finite x, at least ``order + 1`` splines with ``"extend"``), else :func:`spline_basis`. For
    grid updates and refits: 65 us against the Cox-de Boor recursion's 480 us at 500 samples, 2 inputs, grid 20
    (float64, one thread, AMD EPYC)."""
    check_choice("boundary", boundary, BOUNDARIES)
    x, knots = x.detach(), knots.detach()
    pad = order if boundary == "extend" and order > 0 else 0
    n_cols = knots.shape[-1] - 1 - order
    if not (x.ndim == 2 and knots.ndim == 2 and knots.shape[0] == x.shape[1] and knots.dtype == x.dtype
            and n_cols >= (order + 1 if pad else 1) and bspline_native.usable(x, knots, order, False, x.dtype)
            and bool((knots.diff(dim=-1) > 0).all()) and bool(torch.isfinite(x).all())):
        return spline_basis(x, knots, order, boundary)
    wide = extend_grid(knots, pad) if pad else knots
    return bspline_native.dense_basis(x, wide.contiguous(), order, uniform=False, pad=pad)


def fit_coefficients(x: torch.Tensor, y: torch.Tensor, knots: torch.Tensor, order: int, ridge: float = 1e-10,
                     boundary: str = "clamp") -> torch.Tensor:
    r"""Least-squares spline coefficients ``(O, I, n_basis)``:
    :math:`\sum_k c_{oik} B_k(\bar x_{ni}) \approx y_{noi}`.

    x: (N, I), y: (N, O, I) edge values, knots: (I, K). Solved per input feature in float64 from the normal
    equations with a relative ridge ``ridge * mean(diag(A^T A))`` (functions no sample reaches get ~0).
    ``boundary`` says how the basis is evaluated outside the grid range (:func:`spline_basis`).
    """
    check_tensor("x", x, ndim=2, nonempty=True, finite=True)
    check_tensor("y", y, ndim=3, finite=True)
    basis = spline_basis_values(x.double(), knots.double(), order, boundary)  # (N, I, B)
    gram = torch.einsum("nik,nil->ikl", basis, basis)
    rhs = torch.einsum("nik,noi->iko", basis, y.double())
    scale = gram.diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-300)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    coef = torch.linalg.solve(gram + ridge * scale[:, None, None] * eye, rhs)  # (I, B, O)
    return coef.permute(2, 0, 1).to(y.dtype)
