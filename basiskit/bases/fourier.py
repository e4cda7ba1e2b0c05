r"""Fourier basis (FourierKAN, Xu et al. 2024, "FourierKAN-GCF").

.. math::  \phi(x) = [\cos(k \omega x)]_{k=1}^{K} \oplus [\sin(k \omega x)]_{k=1}^{K}, \qquad \omega = 2\pi / P

Defined on the whole real line and periodic with period ``period`` (default :math:`2\pi`); inputs outside one
period repeat. The constant term is left to the layer's bias.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor
from ._registry import register_basis


def fourier_basis(x: torch.Tensor, n_freq: int, period: float = 2 * math.pi) -> torch.Tensor:
    """[cos(k w x) for k=1..n_freq] + [sin(k w x) for k=1..n_freq], w = 2 pi / period. x: (...) -> (..., 2 n_freq)."""
    check_tensor("x", x)
    check_int("n_freq", n_freq, min_value=1)
    check_float("period", period, min_value=0.0, strict_min=True)
    k = torch.arange(1, n_freq + 1, device=x.device, dtype=x.dtype) * (2 * math.pi / period)
    phase = x.unsqueeze(-1) * k
    return torch.cat([torch.cos(phase), torch.sin(phase)], -1)


@register_basis("fourier", summary="cos/sin of k = 1..n_freq harmonics of a given period")
class Fourier(nn.Module):
    """Fourier basis with ``2 n_freq`` functions, periodic with ``period``; x: (...) -> (..., n_basis)."""

    def __init__(self, n_freq: int = 5, period: float = 2 * math.pi, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.n_freq = check_int("n_freq", n_freq, min_value=1)
        self.period = check_float("period", period, min_value=0.0, strict_min=True)
        self.n_basis = 2 * n_freq

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fourier_basis(x, self.n_freq, self.period)

    def extra_repr(self) -> str:
        return f"n_freq={self.n_freq}, period={self.period:g}, n_basis={self.n_basis}"
