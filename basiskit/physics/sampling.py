"""Point sets on boxes: random collocation points and tensor-product test grids; the residual density of
adaptive sampling (RAD, RAR-D)."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from .._validation import check_float, check_int, check_tensor


def uniform_box(n: int, lower: Sequence[float], upper: Sequence[float], generator: torch.Generator | None = None,
                dtype: torch.dtype | None = None) -> torch.Tensor:
    """n points uniform in the box [lower, upper]: (n, len(lower))."""
    check_int("n", n, min_value=1)
    lo = torch.as_tensor(lower, dtype=dtype or torch.get_default_dtype())
    hi = torch.as_tensor(upper, dtype=lo.dtype)
    if lo.shape != hi.shape or lo.ndim != 1:
        raise ValueError(f"lower and upper must be 1-D of one length, got {tuple(lo.shape)} and {tuple(hi.shape)}")
    return lo + (hi - lo) * torch.rand(n, lo.numel(), generator=generator, dtype=lo.dtype)


def box_grid(sizes: Sequence[int], lower: Sequence[float], upper: Sequence[float],
             dtype: torch.dtype | None = None) -> torch.Tensor:
    """Tensor-product grid with both ends included: (prod(sizes), len(sizes)), first dim slowest ('ij')."""
    if not (len(sizes) == len(lower) == len(upper)):
        raise ValueError(f"sizes, lower, upper must have one length, got {len(sizes)}, {len(lower)}, {len(upper)}")
    for i, s in enumerate(sizes):
        check_int(f"sizes[{i}]", s, min_value=2)
    axes = [torch.linspace(lo, hi, s, dtype=dtype or torch.get_default_dtype())
            for s, lo, hi in zip(sizes, lower, upper)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(sizes))


def residual_density(residual: torch.Tensor, k: float = 1.0, c: float = 1.0) -> torch.Tensor:
    r"""Sampling probabilities of candidate points from their PDE residuals (Wu, Zhu, Tan, Kartha & Lu 2023, RAD
    and RAR-D):

    .. math::
        p_i \propto \frac{|r_i|^k}{\overline{|r|^k}} + c,

    normalised to sum to 1 (k = 0 or c -> infinity: uniform; k -> infinity: the largest residual). Where every
    weight is 0 (all residuals 0 and c = 0) the points are equally likely. ``residual``: (n,) -> (n,).
    """
    check_tensor("residual", residual, ndim=1, finite=True, nonempty=True)
    check_float("k", k, min_value=0.0)
    check_float("c", c, min_value=0.0)
    w = residual.abs().double().pow(k)
    mean = w.mean()
    w = (w / mean if mean > 0 else torch.zeros_like(w)) + c
    total = w.sum()
    if total <= 0:
        return torch.full_like(residual, 1.0 / residual.numel())
    return (w / total).to(residual.dtype)
