r"""Chebyshev polynomial basis (ChebyKAN, SS et al. 2024, "Chebyshev Polynomial-Based Kolmogorov-Arnold Networks").

.. math::  T_0 = 1,\quad T_1(z) = z,\quad T_{k+1}(z) = 2 z T_k(z) - T_{k-1}(z),\qquad z = s(x)

computed by the three-term recurrence (never ``cos(k arccos z)``, whose gradient is infinite at ``z = +-1``),
so values and gradients are finite everywhere, the ends of the domain included.
The map ``s`` sends ``domain = (a, b)`` to ``[-1, 1]``:

* ``squash="clamp"`` (default): :math:`z = \mathrm{clamp}(2 (x - a)/(b - a) - 1, -1, 1)`; exact polynomials on the
  domain, constant (the end value, zero gradient) outside it;
* ``squash="tanh"``: :math:`z = \tanh(2 (x - a)/(b - a) - 1)` as in ChebyKAN; smooth everywhere, never reaches
  the ends, so any real input is fine.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_int, check_tensor
from ._registry import register_basis
from .bspline import check_domain


def chebyshev_basis(z: torch.Tensor, degree: int) -> torch.Tensor:
    """T_0..T_degree at z by the recurrence. z: (...) (meant for [-1, 1]) -> (..., degree + 1)."""
    check_tensor("z", z)
    check_int("degree", degree, min_value=0)
    polys = [torch.ones_like(z)]
    if degree >= 1:
        polys.append(z)
    for _ in range(2, degree + 1):
        polys.append(2 * z * polys[-1] - polys[-2])
    return torch.stack(polys, -1)


@register_basis("chebyshev", summary="Chebyshev polynomials T_0..T_degree by recurrence (clamp or tanh squash)")
class Chebyshev(nn.Module):
    """Chebyshev basis, ``degree + 1`` functions on ``domain``; x: (...) -> (..., n_basis). See module doc."""

    def __init__(self, degree: int = 5, domain: Sequence[float] = (-1.0, 1.0), squash: str = "clamp", *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.degree = check_int("degree", degree, min_value=0)
        self.domain = check_domain(domain)
        self.squash = check_choice("squash", squash, ["clamp", "tanh"])
        self.n_basis = degree + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x)
        lo, hi = self.domain
        z = 2 * (x - lo) / (hi - lo) - 1
        z = z.clamp(-1.0, 1.0) if self.squash == "clamp" else torch.tanh(z)
        return chebyshev_basis(z, self.degree)

    def extra_repr(self) -> str:
        return f"degree={self.degree}, domain={self.domain}, squash={self.squash!r}, n_basis={self.n_basis}"
