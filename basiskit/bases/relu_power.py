r"""ReLU-power basis (ReLU-KAN, Qiu et al. 2024, "ReLU-KAN: New Kolmogorov-Arnold Networks that Only Need
Matrix Addition, Dot Multiplication, and ReLU").

.. math::  R_i(x) = \left[r\,\mathrm{ReLU}(e_i - x)\,\mathrm{ReLU}(x - s_i)\right]^2, \qquad
           r = \frac{4}{(e_i - s_i)^2}

with :math:`s_i = a + (i - k) h`, :math:`e_i = s_i + (k + 1) h`, :math:`h = (b - a)/G`, :math:`i = 0..G+k-1`
for ``grid_size`` G and ``order`` k on ``domain = (a, b)``: bumps of height 1 and support ``k + 1`` cells,
``G + k`` of them. Outside ``[a - k h, b + k h]`` every function is 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_int, check_tensor
from ._registry import register_basis
from .bspline import check_domain


def relu_power_basis(x: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """[4 / (e - s)^2 ReLU(e - x) ReLU(x - s)]^2 per (s, e) pair. x: (...), starts/ends: (n,) -> (..., n)."""
    check_tensor("x", x)
    check_tensor("starts", starts, ndim=1, nonempty=True)
    check_tensor("ends", ends, ndim=1, nonempty=True)
    if starts.shape != ends.shape:
        raise ValueError(f"starts and ends must have the same shape, got {tuple(starts.shape)} and "
                         f"{tuple(ends.shape)}")
    s, e = starts.to(x.dtype), ends.to(x.dtype)
    xe = x.unsqueeze(-1)
    r = 4.0 / (e - s) ** 2
    return (r * torch.relu(e - xe) * torch.relu(xe - s)) ** 2


@register_basis("relu_power", summary="ReLU-KAN's squared ReLU products [r ReLU(e-x) ReLU(x-s)]^2")
class ReLUPower(nn.Module):
    """``grid_size + order`` ReLU-power bumps on ``domain``; x: (...) -> (..., n_basis). See module doc."""

    def __init__(self, grid_size: int = 5, order: int = 3, domain: Sequence[float] = (-1.0, 1.0), *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.grid_size = check_int("grid_size", grid_size, min_value=1)
        self.order = check_int("order", order, min_value=0)
        self.domain = check_domain(domain)
        lo, hi = self.domain
        h = (hi - lo) / grid_size
        idx = torch.arange(grid_size + order, device=device, dtype=dtype or torch.get_default_dtype())
        starts = lo + (idx - order) * h
        self.n_basis = grid_size + order
        self.register_buffer("starts", starts, persistent=False)
        self.register_buffer("ends", starts + (order + 1) * h, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu_power_basis(x, self.starts, self.ends)

    def extra_repr(self) -> str:
        return (f"grid_size={self.grid_size}, order={self.order}, domain={self.domain}, "
                f"n_basis={self.n_basis}")
