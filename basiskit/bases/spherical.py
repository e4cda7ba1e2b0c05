"""Real spherical harmonics to any degree, stable in float64 to L >= 100 — the one multivariate basis.

Contract (unlike the univariate bases of this package): input ``xyz: (..., 3)`` Cartesian points (normalised to
the unit sphere unless ``normalize=False`` promises they already are), output ``(..., (L+1)^2)``, the real,
orthonormal harmonics in the order

    index(l, m) = l^2 + l + m,   l = 0..L,  m = -l..l,

with ``Y_{l,0} = N_{l0} P_l(z)``, ``Y_{l,m} = sqrt(2) N_{lm} P_l^m(z) cos(m phi)`` for m > 0 and
``Y_{l,-m} = sqrt(2) N_{lm} P_l^m(z) sin(m phi)``; ``N_{lm} = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!)`` and
``P_l^m`` *without* the Condon-Shortley phase, so ``Y_{1,-1}, Y_{1,0}, Y_{1,1}`` are ``sqrt(3/(4 pi))`` times
``y, z, x``. Orthonormal: the integral of ``Y_a Y_b`` over the sphere is ``delta_ab``.

How it stays stable: no symbolic expansion and no ``atan2``. The factor ``sin(theta)^m cos(m phi)`` is
``Re (x + i y)^m`` and ``sin(theta)^m sin(m phi)`` is ``Im (x + i y)^m`` (two-term recurrence in m); what
remains, ``N_{lm} P_l^m(z) / sin(theta)^m``, is a polynomial in ``z`` computed by the standard three-term
recurrence in l with normalised coefficients, all ``m`` at once. Every intermediate is O(1) up to L in the
hundreds, the result is smooth at the poles, and autograd differentiates it like any other torch code (cost
O(L) tensor operations on (batch, L) arrays).

``sphericart`` (optional extra ``sphericart``) is a compiled fast path, used by ``backend="sphericart"`` (or
``"auto"`` when installed); it is tested against this implementation, including its sign convention.

Also here: ``lonlat_to_xyz`` for geographic coordinates and ``sphere_quadrature``, a product Gauss-Legendre x
uniform-longitude rule exact for polynomials (so for products of harmonics) up to a given degree.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int, check_points
from ._registry import register_basis

Backend = Literal["auto", "torch", "sphericart"]


def n_harmonics(L: int) -> int:
    """(L+1)^2, the number of real harmonics of degree <= L."""
    return (check_int("L", L, min_value=0) + 1) ** 2


def sh_index(l: int, m: int) -> int:
    """Position of ``Y_{l,m}`` in the output: ``l^2 + l + m``."""
    if l < 0 or abs(m) > l:
        raise ValueError(f"(l, m) must satisfy l >= 0 and |m| <= l, got (l={l}, m={m})")
    return l * l + l + m


def sh_degrees(L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(l, m)``: two int64 tensors of length (L+1)^2 giving the degree and order of each output column."""
    check_int("L", L, min_value=0)
    ls = torch.cat([torch.full((2 * l + 1,), l, dtype=torch.int64) for l in range(L + 1)])
    ms = torch.cat([torch.arange(-l, l + 1, dtype=torch.int64) for l in range(L + 1)])
    return ls, ms


def lonlat_to_xyz(lon: torch.Tensor, lat: torch.Tensor, *, degrees: bool = True) -> torch.Tensor:
    """Geographic coordinates -> unit vectors ``(..., 3)``: x towards (lon 0, lat 0), z towards the north pole.

    ``lon, lat``: broadcastable tensors; latitude must lie in [-90, 90] degrees (or [-pi/2, pi/2]).
    """
    lon, lat = torch.as_tensor(lon), torch.as_tensor(lat)
    if not lon.is_floating_point():
        lon = lon.to(torch.get_default_dtype())
    lon, lat = torch.broadcast_tensors(lon, lat.to(lon.dtype))
    for name, t in (("lon", lon), ("lat", lat)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite; got {int((~torch.isfinite(t)).sum())} non-finite values")
    if degrees:
        lon, lat = torch.deg2rad(lon), torch.deg2rad(lat)
    if bool((lat.abs() > math.pi / 2 + 1e-9).any()):
        bad = float(lat.abs().max() * (180 / math.pi if degrees else 1))
        raise ValueError(f"lat must lie in [-90, 90] degrees (or [-pi/2, pi/2] radians); got |lat| = {bad}")
    c = torch.cos(lat)
    return torch.stack([c * torch.cos(lon), c * torch.sin(lon), torch.sin(lat)], dim=-1)


def xyz_to_lonlat(xyz: torch.Tensor, *, degrees: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`lonlat_to_xyz` for points ``(..., 3)`` (normalised first)."""
    u = _unit(xyz, True)
    lon, lat = torch.atan2(u[..., 1], u[..., 0]), torch.asin(u[..., 2].clamp(-1, 1))
    return (torch.rad2deg(lon), torch.rad2deg(lat)) if degrees else (lon, lat)


def _unit(xyz: torch.Tensor, normalize: bool) -> torch.Tensor:
    xyz = check_points("xyz", xyz, 3)
    if not normalize:
        return xyz
    r = xyz.norm(dim=-1, keepdim=True)
    if bool((r == 0).any()):
        raise ValueError("xyz contains the zero vector, which has no direction; spherical harmonics need points "
                         "off the origin")
    return xyz / r


def _legendre_coefficients(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised recurrence constants (float64): diag[m] = value of N P_m^m / s^m, and a[l, m], b[l, m] with
    Q_l^m = a (z Q_{l-1}^m - b Q_{l-2}^m) for l >= m + 1 (b unused at l = m + 1)."""
    diag = np.empty(L + 1)
    diag[0] = math.sqrt(1.0 / (4.0 * math.pi))
    for m in range(1, L + 1):
        diag[m] = diag[m - 1] * math.sqrt((2.0 * m + 1.0) / (2.0 * m))
    a = np.zeros((L + 1, L + 1))
    b = np.zeros((L + 1, L + 1))
    for l in range(1, L + 1):
        for m in range(l):
            a[l, m] = math.sqrt((4.0 * l * l - 1.0) / (l * l - m * m))
            b[l, m] = math.sqrt(((l - 1.0) ** 2 - m * m) / (4.0 * (l - 1.0) ** 2 - 1.0)) if l - 1 > m else 0.0
    return diag, a, b


def _torch_sh(u: torch.Tensor, L: int) -> torch.Tensor:
    x, y, z = u[..., 0], u[..., 1], u[..., 2]
    diag, a, b = (torch.as_tensor(t, dtype=u.dtype, device=u.device) for t in _legendre_coefficients(L))
    # c[m] + i s[m] = (x + i y)^m
    c, s = [torch.ones_like(x)], [torch.zeros_like(x)]
    for _ in range(L):
        c_m, s_m = c[-1], s[-1]
        c.append(x * c_m - y * s_m)
        s.append(x * s_m + y * c_m)
    cos_m, sin_m = torch.stack(c, -1), torch.stack(s, -1)  # (..., L+1)
    zc = z.unsqueeze(-1)
    root2 = math.sqrt(2.0)
    out = []
    q_prev2: torch.Tensor | None = None
    q = diag[:1].expand(*z.shape, 1)  # Q_0: (..., 1), column m
    for l in range(L + 1):
        if l > 0:
            # columns m < l from the recurrence (m = l-1 has no Q_{l-2} term), then the diagonal m = l
            rec = (a[l, :l] * zc) * q
            if q_prev2 is not None:
                rec = rec - torch.cat([(a[l, : l - 1] * b[l, : l - 1]) * q_prev2, torch.zeros_like(zc)], -1)
            q_prev2, q = q, torch.cat([rec, diag[l].expand(*z.shape, 1)], -1)
        # q: (..., l+1) holds N_lm P_l^m(z) / sin^m for m = 0..l
        scaled = root2 * q[..., 1:]
        out += [(scaled * sin_m[..., 1 : l + 1]).flip(-1), q[..., :1], scaled * cos_m[..., 1 : l + 1]]
    return torch.cat(out, -1)


def _have_sphericart() -> bool:
    try:
        import sphericart.torch  # noqa: F401
    except ImportError:
        return False
    return True


def _sphericart_sh(u: torch.Tensor, L: int) -> torch.Tensor:
    import sphericart.torch as sct

    flat = u.reshape(-1, 3)
    out = sct.SphericalHarmonics(L).compute(flat.contiguous())  # same order and signs as ours (tested)
    return out.reshape(*u.shape[:-1], -1)


def real_spherical_harmonics(xyz: torch.Tensor, L: int, *, normalize: bool = True,
                             backend: Backend = "torch") -> torch.Tensor:
    """Real orthonormal spherical harmonics of degree 0..L.

    xyz: (..., 3) points (scaled to unit length when ``normalize``); returns (..., (L+1)^2) in the order
    ``l^2 + l + m`` (module docstring). ``backend``: "torch" (this file's recurrence; differentiable),
    "sphericart" (compiled, optional extra) or "auto" (sphericart when installed, else torch).
    """
    L = check_int("L", L, min_value=0)
    check_choice("backend", backend, ("auto", "torch", "sphericart"))
    u = _unit(xyz, normalize)
    if backend == "auto":
        backend = "sphericart" if _have_sphericart() and u.dtype in (torch.float32, torch.float64) else "torch"
    if backend == "sphericart":
        if not _have_sphericart():
            raise ImportError("backend='sphericart' needs the optional extra: pip install 'basiskit[sphericart]'")
        return _sphericart_sh(u, L)
    return _torch_sh(u, L)


def sphere_quadrature(degree: int, *, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes ``(n, 3)`` and weights ``(n,)`` integrating over the unit sphere every polynomial of total degree
    <= ``degree`` exactly (so ``Y_a Y_b`` for l_a + l_b <= degree): Gauss-Legendre in z with
    ``degree // 2 + 1`` nodes times ``degree + 1`` equally spaced longitudes. Weights sum to 4 pi."""
    degree = check_int("degree", degree, min_value=0)
    n_lat, n_lon = degree // 2 + 1, degree + 1
    z, wz = np.polynomial.legendre.leggauss(n_lat)
    phi = 2 * np.pi * np.arange(n_lon) / n_lon
    s = np.sqrt(1 - z**2)
    pts = np.stack([np.outer(s, np.cos(phi)), np.outer(s, np.sin(phi)), np.outer(z, np.ones(n_lon))], -1)
    w = np.outer(wz, np.full(n_lon, 2 * np.pi / n_lon))
    return torch.as_tensor(pts.reshape(-1, 3), dtype=dtype), torch.as_tensor(w.reshape(-1), dtype=dtype)


@register_basis("spherical")
class SphericalHarmonics(nn.Module):
    """Real spherical harmonics basis: ``xyz: (..., 3)`` -> ``(..., (L+1)^2)`` (see the module docstring)."""

    multivariate = True  # points (..., 3) in, not scalars: KAN layers (univariate_names) leave it out

    def __init__(self, L: int, *, normalize: bool = True, backend: Backend = "torch") -> None:
        super().__init__()
        self.L = check_int("L", L, min_value=0)
        self.normalize = normalize
        self.backend = check_choice("backend", backend, ("auto", "torch", "sphericart"))
        self.n_basis = (self.L + 1) ** 2

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        return real_spherical_harmonics(xyz, self.L, normalize=self.normalize, backend=self.backend)

    def extra_repr(self) -> str:
        return f"L={self.L}, n_basis={self.n_basis}, backend={self.backend!r}"


__all__ = ["SphericalHarmonics", "lonlat_to_xyz", "n_harmonics", "real_spherical_harmonics", "sh_degrees",
           "sh_index", "sphere_quadrature", "xyz_to_lonlat"]
