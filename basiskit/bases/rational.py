r"""Safe Padé (rational) functions, shared by the ``Rational`` basis and KAT's group-rational layer.

.. math::  R(x) = \frac{P(x)}{Q(x)} = \frac{a_0 + a_1 x + \dots + a_m x^m}{1 + |b_1 x + b_2 x^2 + \dots + b_n x^n|}

The denominator is >= 1 for every x and every coefficient vector, so R has no poles and its gradients stay
bounded for bounded x. (Yang & Wang, "Kolmogorov-Arnold Transformer", ICLR 2025; Molina et al., "Padé
activation units", 2020, for the safe form.)
"""
from __future__ import annotations

import torch


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
