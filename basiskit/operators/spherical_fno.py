r"""Spherical Fourier Neural Operator (Bonev et al. 2023, "Spherical Fourier Neural Operators: Learning Stable
Dynamics on the Sphere", ICML): an FNO whose spectral layers act in the spherical harmonic basis.

.. math::  (\mathcal K v)_o = \sum_{l \le L} \sum_{m=-l}^{l} \Big(\sum_i W_{i o l} \, a^{i}_{l,m}\Big) Y_{l,m},
           \qquad a^{i}_{l,m} = \int_{S^2} v_i Y_{l,m} \, d\Omega,

with real weights that depend on the degree ``l`` only. A rotation ``R`` mixes the coefficients of one degree
among themselves by an orthogonal matrix ``D^l(R)``, and a map that commutes with every ``D^l`` acting on one
real irreducible representation is a multiple of the identity (Schur's lemma), so weights per ``l`` are what
makes the layer rotation-equivariant; weights per ``(l, m)`` (what an FFT-in-longitude layer learns) are
equivariant to rotations about the pole only. Everything else is point-wise (lifting, skips, channel MLPs,
projection), hence also equivariant, and there is no positional embedding, which would break it. The transform
is ours (:mod:`basiskit.ops.sht`: Gauss-Legendre quadrature in latitude, real FFT in longitude).
torch-harmonics ships the reference implementation but with compiled extensions pinned to other torch versions,
so it is not a dependency.

x: (batch, in_channels, nlat, nlon) on the Gauss grid of :func:`basiskit.ops.sht.gauss_grid` ->
(batch, out_channels, nlat, nlon). Any grid with ``nlat >= L + 1`` and ``nlon >= 2 L + 1`` works, so a model
trained on one grid evaluates on a finer one.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_int, check_tensor
from ..ops.sht import degree_index, isht, sht
from ._registry import register_operator
from .common import ratio_mlp
from .fno import FNOBlocks


def spherical_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Degree-wise channel mixing in the harmonic basis.

    x: (b, in, nlat, nlon); weight: (in, out, L+1) real -> (b, out, nlat, nlon).
    """
    L = weight.shape[-1] - 1
    coeffs = sht(x, L)  # (b, in, (L+1)^2)
    w = weight[..., degree_index(L).to(weight.device)]  # (in, out, (L+1)^2)
    return isht(torch.einsum("bik,iok->bok", coeffs, w.to(coeffs.dtype)), x.shape[-2], x.shape[-1]).to(x.dtype)


class SphericalConv(nn.Module):
    """``spherical_conv`` with learned weights (in, out, L+1), initialised N(0, 2 / (in + out))."""

    def __init__(self, in_channels: int, out_channels: int, L: int, *, device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.L = check_int("L", L, min_value=0)
        std = math.sqrt(2.0 / (in_channels + out_channels))
        self.weight = nn.Parameter(torch.randn(in_channels, out_channels, L + 1, device=device, dtype=dtype) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spherical_conv(x, self.weight)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, L={self.L}"


@register_operator("sfno", summary="Spherical FNO: spectral layers in the spherical harmonic basis, weights per "
                                   "degree (rotation-equivariant; Bonev et al. 2023)")
class SphericalFNO(nn.Module):
    """Spherical FNO; see the module docstring.

    Args:
        L: the largest harmonic degree the spectral layers keep.
        in_channels, out_channels, hidden_channels, n_layers: sizes.
        lifting_ratio, projection_ratio, channel_mlp_expansion, activation: as for ``FNO`` (same block layout).
    """

    def __init__(self, L: int, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 32,
                 n_layers: int = 4, *, lifting_ratio: float = 2.0, projection_ratio: float = 2.0,
                 channel_mlp_expansion: float | None = 0.5, activation: str = "gelu", device=None,
                 dtype=None) -> None:
        super().__init__()
        self.L = check_int("L", L, min_value=0)
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.n_layers = check_int("n_layers", n_layers, min_value=1)
        kw = {"device": device, "dtype": dtype}
        self.lifting = ratio_mlp(in_channels, hidden_channels, hidden_channels, lifting_ratio, activation, **kw)
        self.blocks = FNOBlocks(hidden_channels, n_layers, 2,
                                lambda _: SphericalConv(hidden_channels, hidden_channels, L, **kw),
                                channel_mlp_expansion, activation, **kw)
        self.projection = ratio_mlp(hidden_channels, out_channels, hidden_channels, projection_ratio, activation, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (b, in_channels, nlat, nlon) on a Gauss grid -> (b, out_channels, nlat, nlon)."""
        check_tensor("x", x, ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x has {x.shape[1]} channels; this SphericalFNO takes in_channels={self.in_channels}")
        return self.projection(self.blocks(self.lifting(x)))

    def extra_repr(self) -> str:
        return (f"L={self.L}, in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, n_layers={self.n_layers}")
