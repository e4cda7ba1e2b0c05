r"""Gaussian radial basis (FastKAN, Li 2024, "Kolmogorov-Arnold Networks are Radial Basis Function Networks").

.. math::  \phi_j(x) = \exp\!\left(-\left(\frac{x - c_j}{w}\right)^2\right), \qquad
           c_j = a + j \frac{b - a}{n - 1},\ j = 0..n-1

with ``width`` :math:`w` defaulting to the centre spacing. Defined everywhere; the functions decay to 0 away
from ``domain = (a, b)`` (about 1e-4 at three widths beyond the outer centres).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor
from ._registry import register_basis
from .bspline import check_domain


def gaussian_basis(x: torch.Tensor, centers: torch.Tensor, width: float | torch.Tensor) -> torch.Tensor:
    """exp(-((x - c_j) / width)^2). x: (...), centers: (n,) -> (..., n)."""
    check_tensor("x", x)
    check_tensor("centers", centers, ndim=1, nonempty=True)
    return torch.exp(-(((x.unsqueeze(-1) - centers.to(x.dtype)) / width) ** 2))


@register_basis("gaussian", summary="Gaussian RBFs on evenly spaced centres (FastKAN)")
class Gaussian(nn.Module):
    """``n_centers`` Gaussian bumps on ``domain``; x: (...) -> (..., n_basis). See module doc."""

    def __init__(self, n_centers: int = 8, domain: Sequence[float] = (-1.0, 1.0), width: float | None = None, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.n_centers = check_int("n_centers", n_centers, min_value=2)
        self.domain = check_domain(domain)
        lo, hi = self.domain
        spacing = (hi - lo) / (n_centers - 1)
        self.width = spacing if width is None else check_float("width", width, min_value=0.0, strict_min=True)
        self.n_basis = n_centers
        self.register_buffer("centers", torch.linspace(lo, hi, n_centers, device=device, dtype=dtype),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_basis(x, self.centers, self.width)

    def extra_repr(self) -> str:
        return f"n_centers={self.n_centers}, domain={self.domain}, width={self.width:.4g}, n_basis={self.n_basis}"
