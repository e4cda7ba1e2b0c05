r"""Random Fourier features (Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency Functions in
Low Dimensional Domains"; for PINNs: Wang, Wang & Perdikaris 2021, "On the eigenvector bias of Fourier feature
networks").

.. math::
    \gamma(x) = [\cos(2\pi x B^T), \sin(2\pi x B^T)], \qquad B_{ij} \sim \mathcal{N}(0, \sigma^2)

A plain MLP fed :math:`\gamma(x)` learns frequencies around :math:`\sigma` instead of only the lowest ones.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._deprecation import renamed_kwargs
from .._validation import check_float, check_int, check_tensor

__all__ = ["FourierFeatures", "fourier_features"]


def fourier_features(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """x: (..., in_features), freqs B: (num_features, in_features) -> (..., 2 num_features):
    [cos 2pi xB^T, sin 2pi xB^T]."""
    proj = 2 * math.pi * x @ freqs.T
    return torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)


class FourierFeatures(nn.Module):
    """Random Fourier feature embedding: (..., in_features) -> (..., 2 num_features).

    Args:
        in_features: input dimension.
        num_features: number of frequencies (the output has twice as many channels); ``n_features=`` is a
            deprecated spelling.
        sigma: standard deviation of the Gaussian frequencies (in cycles per unit of x); a sequence gives
            multi-scale features (Wang et al. 2021), frequency row i drawn with ``sigma[i % len(sigma)]``.
        trainable: make B a parameter (default: a fixed buffer, saved in the state dict).
        generator: torch.Generator for B (reproducible draws).
    """

    @renamed_kwargs(n_features="num_features")
    def __init__(self, in_features: int, num_features: int = 64, sigma: float | Sequence[float] = 1.0, *,
                 trainable: bool = False, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.num_features = check_int("num_features", num_features, min_value=1)
        sigmas = [sigma] if isinstance(sigma, (int, float)) else list(sigma)
        if not sigmas:
            raise ValueError("sigma must be a positive number or a non-empty sequence of them, got []")
        self.sigma = tuple(check_float(f"sigma[{i}]" if len(sigmas) > 1 else "sigma", s, min_value=0.0,
                                       strict_min=True) for i, s in enumerate(sigmas))
        rows = torch.arange(num_features) % len(sigmas)
        scale = torch.tensor(self.sigma, dtype=dtype or torch.get_default_dtype())[rows]
        freqs = scale[:, None] * torch.randn(num_features, in_features, generator=generator, dtype=scale.dtype)
        freqs = freqs.to(device)
        if trainable:
            self.freqs = nn.Parameter(freqs)
        else:
            self.register_buffer("freqs", freqs)

    @property
    def out_features(self) -> int:
        return 2 * self.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_ndim=1, last_dim=self.in_features)
        return fourier_features(x, self.freqs)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, num_features={self.num_features}, sigma={self.sigma}, "
                f"trainable={isinstance(self.freqs, nn.Parameter)}")
