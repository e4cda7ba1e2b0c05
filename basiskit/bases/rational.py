r"""Safe Padé (rational) functions, shared by the ``Rational`` basis and KAT's group-rational layer.

.. math::  R(x) = \frac{P(x)}{Q(x)} = \frac{a_0 + a_1 x + \dots + a_m x^m}{1 + |b_1 x + b_2 x^2 + \dots + b_n x^n|}

The denominator is >= 1 for every x and every coefficient vector, so R has no poles and its gradients stay
bounded for bounded x. (Yang & Wang, "Kolmogorov-Arnold Transformer", ICLR 2025; Molina et al., "Padé
activation units", 2020, for the safe form.)
"""
from __future__ import annotations

import torch
from torch import nn

from .._validation import check_int, check_tensor
from ._registry import register_basis


def polyval(coeffs: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sum_k coeffs[..., k] x^k by Horner's rule; coeffs (..., K) broadcasts against x[..., None]."""
    out = torch.zeros_like(x) + coeffs[..., -1]
    for k in range(coeffs.shape[-1] - 2, -1, -1):
        out = out * x + coeffs[..., k]
    return out


def rational(x: torch.Tensor, numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """Safe Padé R(x) = P(x) / (1 + |x Q~(x)|), elementwise.

    x: any shape. numerator: (m + 1,) = a_0..a_m. denominator: (n,) = b_1..b_n (no constant term).
    Coefficient tensors may carry leading dims that broadcast against x (e.g. per-group coefficients).
    """
    p = polyval(numerator, x)
    q = 1.0 + (x * polyval(denominator, x)).abs()
    return p / q


def rational_basis(x: torch.Tensor, denominator: torch.Tensor, m: int) -> torch.Tensor:
    r"""Monomials over the safe denominator: :math:`\phi_k(x) = x^k / (1 + |b_1 x + \dots + b_n x^n|)`, k = 0..m.

    x: (...). denominator: (n,) = b_1..b_n. Returns (..., m + 1). A linear combination
    :math:`\sum_k a_k \phi_k` is the safe Padé :math:`P(x)/Q(x)` of ``rational`` with numerator ``a``.
    """
    check_tensor("x", x)
    check_tensor("denominator", denominator, ndim=1)
    check_int("m", m, min_value=0)
    q = 1.0 + (x * polyval(denominator.to(x.dtype), x)).abs() if denominator.numel() else torch.ones_like(x)
    powers = [torch.ones_like(x)]
    for _ in range(m):
        powers.append(powers[-1] * x)
    return torch.stack(powers, -1) / q.unsqueeze(-1)


@register_basis("rational", summary="safe Padé basis x^k / (1 + |b_1 x + ... + b_n x^n|), learnable b")
class Rational(nn.Module):
    r"""Rational basis of ``m + 1`` functions :math:`x^k / Q(x)` sharing a learnable safe denominator
    :math:`Q(x) = 1 + |\sum_{i=1}^n b_i x^i| \ge 1` (no poles for any x or b).

    Defined on the whole real line; meant for inputs of order 1 (e.g. ``[-1, 1]``): for large
    :math:`|x|` the functions grow like :math:`|x|^{k - n}`. ``denominator`` starts at 0.1 for every
    :math:`b_i` (at exactly 0 the gradient of :math:`|\cdot|` would vanish).
    x: (...) -> (..., n_basis).
    """

    def __init__(self, m: int = 3, n: int = 2, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.m = check_int("m", m, min_value=0)
        self.n = check_int("n", n, min_value=0)
        self.n_basis = m + 1
        self.denominator = nn.Parameter(torch.full((n,), 0.1, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rational_basis(x, self.denominator, self.m)

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, n_basis={self.n_basis}"
