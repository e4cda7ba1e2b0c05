r"""SIREN: sine-activated networks with their principled initialisation (Sitzmann et al. 2020, "Implicit Neural
Representations with Periodic Activation Functions").

.. math::
    h_{l+1} = \sin(\omega_0 (W_l h_l + b_l)), \quad
    W_0 \sim U(-1/n, 1/n), \quad W_l \sim U(-\sqrt{6/n}/\omega_0, \sqrt{6/n}/\omega_0)\ (l > 0)

with n the layer's fan-in; the last layer is linear. The init keeps pre-activations ~ arcsine-distributed at
every depth, so derivatives of the network are again SIRENs -- useful for PDE residuals.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor, check_widths

__all__ = ["SIREN", "SineLayer", "sine_layer"]


def sine_layer(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, omega: float) -> torch.Tensor:
    """sin(omega (x W^T + b)); x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    return torch.sin(omega * nn.functional.linear(x, weight, bias))


class SineLayer(nn.Module):
    """One SIREN layer (..., in_features) -> (..., out_features) with Sitzmann et al.'s init."""

    def __init__(self, in_features: int, out_features: int, omega: float = 30.0, *, first: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_int("in_features", in_features, min_value=1)
        check_int("out_features", out_features, min_value=1)
        self.omega = check_float("omega", omega, min_value=0.0, strict_min=True)
        self.first = first
        self.linear = nn.Linear(in_features, out_features, device=device, dtype=dtype)
        bound = 1.0 / in_features if first else math.sqrt(6.0 / in_features) / self.omega
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound)
            self.linear.bias.uniform_(-1.0 / math.sqrt(in_features), 1.0 / math.sqrt(in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sine_layer(x, self.linear.weight, self.linear.bias, self.omega)

    def extra_repr(self) -> str:
        return f"omega={self.omega:g}, first={self.first}"


class SIREN(nn.Module):
    """Sine network: widths [in, hidden..., out], sine layers then a linear output.

    x: (..., widths[0]) -> (..., widths[-1]). ``omega_first`` scales the first layer (the input frequency),
    ``omega`` the hidden ones (30 in the paper).
    """

    def __init__(self, widths: Sequence[int], omega_first: float = 30.0, omega: float = 30.0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        widths = check_widths("widths", widths, min_hidden=1)
        layers: list[nn.Module] = [SineLayer(widths[0], widths[1], omega_first, first=True, device=device, dtype=dtype)]
        layers += [SineLayer(a, b, omega, device=device, dtype=dtype) for a, b in zip(widths[1:-2], widths[2:-1])]
        last = nn.Linear(widths[-2], widths[-1], device=device, dtype=dtype)
        with torch.no_grad():
            bound = math.sqrt(6.0 / widths[-2]) / omega
            last.weight.uniform_(-bound, bound)
        layers.append(last)
        self.net = nn.Sequential(*layers)
        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_ndim=1, last_dim=self.widths[0])
        return self.net(x)

    def extra_repr(self) -> str:
        return f"widths={self.widths}"
