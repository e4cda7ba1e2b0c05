r"""Real spherical harmonic transform on a Gauss-Legendre latitude-longitude grid: quadrature in latitude,
real FFT in longitude, in the real orthonormal harmonics of :mod:`basiskit.bases.spherical` (order ``l^2+l+m``).

Grid (:func:`gauss_grid`): ``nlat`` Gauss-Legendre nodes in ``z = cos(theta)``, north to south, times ``nlon``
equally spaced longitudes ``phi_j = 2 pi j / nlon``. Every real harmonic factors as

.. math::  Y_{l,m}(\theta, \phi) = \Lambda_{l,|m|}(\theta) \begin{cases} \cos(m \phi) & m \ge 0 \\
           \sin(|m| \phi) & m < 0 \end{cases}, \qquad \Lambda_{l,m}(\theta) = Y_{l,m}(\theta, 0),

so with ``F_m(theta_i) = (1/nlon) sum_j f(theta_i, phi_j) e^{-i m phi_j}`` (one ``rfft`` per latitude)

.. math::  a_{l,m} = 2\pi \sum_i w_i \Lambda_{l,m}(\theta_i) \operatorname{Re} F_m(\theta_i), \qquad
           a_{l,-m} = -2\pi \sum_i w_i \Lambda_{l,m}(\theta_i) \operatorname{Im} F_m(\theta_i),

exact for functions of degree <= L when ``nlat >= L + 1`` and ``nlon >= 2 L + 1`` (the product with ``Y_{l,m}``
has degree <= 2L in z, which ``nlat`` Gauss nodes integrate exactly, and the longitude sum is exact for
trigonometric degree < nlon). The inverse sums ``C_m = sum_l a_{l,m} Lambda_{l,m}`` and
``S_m = sum_l a_{l,-m} Lambda_{l,m}`` per latitude and returns ``sum_m C_m cos(m phi) + S_m sin(m phi)`` with one
``irfft``: ``O(L^3 + L^2 nlon log nlon)`` for both directions, against ``O(L^4)`` for a dense matrix. The
Legendre tables ``Lambda`` come from our harmonics (so the conventions cannot drift apart), in float64, cached
per grid.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .._validation import UsageError, check_int
from ..bases.spherical import n_harmonics, real_spherical_harmonics


def gauss_grid(nlat: int, nlon: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(latitude (nlat,), longitude (nlon,), quadrature weights (nlat,)) in radians, latitudes north to south;
    the weights are Gauss-Legendre weights in z (summing to 2); times ``2 pi / nlon`` per longitude they integrate
    over the sphere."""
    nlat = check_int("nlat", nlat, min_value=1)
    nlon = check_int("nlon", nlon, min_value=1)
    z, w = np.polynomial.legendre.leggauss(nlat)
    z, w = z[::-1].copy(), w[::-1].copy()
    lat = torch.as_tensor(np.arcsin(z), dtype=torch.float64)
    lon = torch.as_tensor(2 * np.pi * np.arange(nlon) / nlon, dtype=torch.float64)
    return lat, lon, torch.as_tensor(w, dtype=torch.float64)


def grid_points(nlat: int, nlon: int) -> torch.Tensor:
    """Unit vectors of the Gauss grid: (nlat, nlon, 3), float64."""
    lat, lon, _ = gauss_grid(nlat, nlon)
    c = torch.cos(lat)[:, None]
    return torch.stack([c * torch.cos(lon)[None], c * torch.sin(lon)[None],
                        torch.sin(lat)[:, None].expand(-1, lon.shape[0])], -1)


@lru_cache(maxsize=32)
def _tables(nlat: int, nlon: int, L: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Legendre table ``Lambda[m, l, i]`` (zero for l < m), quadrature-weighted ``2 pi w_i Lambda``, and the
    gather indices packing (cos, sin) blocks into the order l^2 + l + m (cached per grid)."""
    lat, _, w = gauss_grid(nlat, nlon)
    pts = torch.stack([torch.cos(lat), torch.zeros_like(lat), torch.sin(lat)], -1)  # phi = 0
    Y = real_spherical_harmonics(pts, L)  # (nlat, (L+1)^2)
    lam = torch.zeros(L + 1, L + 1, nlat, dtype=torch.float64)
    for l in range(L + 1):
        for m in range(l + 1):
            lam[m, l] = Y[:, l * l + l + m]
    weighted = lam * (2 * math.pi * w)
    # packed index l^2 + l + m  <-  flat index into cat([cos (m, l), sin (m, l)]) of size 2 (L+1)^2
    src = torch.empty(n_harmonics(L), dtype=torch.long)
    for l in range(L + 1):
        for m in range(-l, l + 1):
            src[l * l + l + m] = (m * (L + 1) + l) if m >= 0 else ((L + 1) ** 2 + (-m) * (L + 1) + l)
    return lam, weighted, src


def _check_grid(nlat: int, nlon: int, L: int) -> None:
    if nlat < L + 1 or nlon < 2 * L + 1:
        raise UsageError(f"degree L={L} needs nlat >= L + 1 = {L + 1} and nlon >= 2 L + 1 = {2 * L + 1} for an "
                         f"exact transform, got nlat={nlat}, nlon={nlon}")


def sht(x: torch.Tensor, L: int) -> torch.Tensor:
    """Forward transform: x (..., nlat, nlon) on the Gauss grid -> coefficients (..., (L+1)^2)."""
    nlat, nlon = x.shape[-2], x.shape[-1]
    _check_grid(nlat, nlon, L)
    _, weighted, src = _tables(nlat, nlon, L)
    weighted = weighted.to(device=x.device, dtype=x.dtype if x.dtype != torch.float16 else torch.float32)
    F = torch.fft.rfft(x.to(weighted.dtype), dim=-1, norm="forward")[..., : L + 1]  # (..., nlat, L+1)
    cos = torch.einsum("...im,mli->...ml", F.real, weighted)
    sin = -torch.einsum("...im,mli->...ml", F.imag, weighted)
    flat = torch.cat([cos.flatten(-2), sin.flatten(-2)], -1)
    return flat[..., src.to(x.device)]


def isht(coeffs: torch.Tensor, nlat: int, nlon: int) -> torch.Tensor:
    """Inverse transform: coefficients (..., (L+1)^2) -> values (..., nlat, nlon) on the Gauss grid.

    Only needs ``nlon >= 2 L + 1`` (no quadrature): a degree-L expansion can be evaluated on any grid that
    resolves its longitudes, e.g. a finer one for zero-shot super-resolution.
    """
    n = coeffs.shape[-1]
    L = math.isqrt(n) - 1
    if (L + 1) ** 2 != n:
        raise UsageError(f"coeffs must have (L+1)^2 entries in the last dim, got {n}")
    if nlon < 2 * L + 1:
        raise UsageError(f"degree L={L} needs nlon >= {2 * L + 1} longitudes, got {nlon}")
    lam, _, src = _tables(nlat, nlon, L)
    lam = lam.to(device=coeffs.device, dtype=coeffs.dtype)
    full = coeffs.new_zeros(*coeffs.shape[:-1], 2 * (L + 1) ** 2)
    full[..., src.to(coeffs.device)] = coeffs
    cos = full[..., : (L + 1) ** 2].unflatten(-1, (L + 1, L + 1))  # (..., m, l)
    sin = full[..., (L + 1) ** 2:].unflatten(-1, (L + 1, L + 1))
    C = torch.einsum("...ml,mli->...im", cos, lam)
    S = torch.einsum("...ml,mli->...im", sin, lam)
    spec = torch.complex(C, -S)
    spec[..., 1:] = spec[..., 1:] / 2
    out = coeffs.new_zeros(*spec.shape[:-1], nlon // 2 + 1, dtype=spec.dtype)
    out[..., : L + 1] = spec
    return torch.fft.irfft(out, n=nlon, dim=-1, norm="forward")


def degree_index(L: int) -> torch.Tensor:
    """The degree l of each coefficient in the order l^2 + l + m: ((L+1)^2,) long (cached; do not modify)."""
    return _degree_index(check_int("L", L, min_value=0))


@lru_cache(maxsize=64)
def _degree_index(L: int) -> torch.Tensor:
    return torch.repeat_interleave(torch.arange(L + 1), 2 * torch.arange(L + 1) + 1)


class RealSHT(nn.Module):
    """``forward(x)``: Gauss-grid values (..., nlat, nlon) -> coefficients (..., (L+1)^2); ``inverse(a, nlat,
    nlon)`` back (see the module docstring)."""

    def __init__(self, L: int) -> None:
        super().__init__()
        self.L = check_int("L", L, min_value=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sht(x, self.L)

    def inverse(self, coeffs: torch.Tensor, nlat: int, nlon: int) -> torch.Tensor:
        return isht(coeffs, nlat, nlon)

    def extra_repr(self) -> str:
        return f"L={self.L}"
