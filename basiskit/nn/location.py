r"""Geographic location encoders ``y = NN(PE(lon, lat))`` (Russwurm, Klemmer, Rolf, Zbinden & Tuia, ICLR 2024,
"Geographic Location Encoding with Spherical Harmonics and Sinusoidal Representation Networks").

A location encoder is a positional embedding ``PE`` without parameters followed by a trainable network ``NN``.
The paper's proposal is ``SIREN(SH)``: the real spherical harmonics up to degree L,

.. math::
    \mathrm{PE}_{SH}(\lambda, \phi) = \big(Y_{l,m}(\lambda, \phi)\big)_{l=0..L,\ m=-l..l} \in \mathbb{R}^{(L+1)^2},

(smooth on the whole sphere, poles included; :mod:`basiskit.bases.spherical` computes them by recurrence, finite
for any L), fed to a sine network. The baselines it is compared with are *double-Fourier-sphere* (DFS)
embeddings, which treat (lon, lat) as a rectangle. The one used as the main baseline here is Space2Vec's
``grid`` (Mai et al. 2020), with S geometric wavelengths between ``min_radius`` and ``max_radius`` (degrees):

.. math::
    r_s = r_{min} (r_{max} / r_{min})^{s/(S-1)}, \quad
    \mathrm{PE}_{grid}(\lambda, \phi) = \big(\sin(\lambda / r_s), \cos(\lambda / r_s),
    \sin(\phi / r_s), \cos(\phi / r_s)\big)_{s=0..S-1} \in \mathbb{R}^{4S},

with lon/lat in degrees (as in Space2Vec and the paper's code). ``theory`` (Space2Vec) projects (lon, lat) on
three unit vectors 120 degrees apart before the same sin/cos (6S features); ``spherec+`` (Sphere2Vec) adds the
products ``cos(phi/r) cos(lambda/r), cos(phi/r) sin(lambda/r)`` to grid (6 features per scale); ``direct`` is
(lon/180, lat/90) and ``xyz`` the unit vector. The paper's Table 1 compares SH with all of these (and SphereM,
SphereM+); the recipe ``location-encoder`` uses ``grid``, the plain DFS embedding, as its baseline. With
``max_radius = 360`` degrees the longest wavelength is not periodic in longitude (a jump at the date line), as
in the published embeddings; we keep it so that the baseline is the published one.

Networks: ``siren`` (:class:`basiskit.nn.SIREN`, first-layer frequency ``omega_first`` = 30 and hidden
``omega`` = 1 as in the paper's SirenNet), ``mlp`` (Linear + activation from :mod:`basiskit.nn.activations`,
ReLU by default) and ``linear`` (a single linear layer: the PE's expansion coefficients).

Inputs everywhere: ``lonlat: (..., 2)`` in degrees (lon in [-180, 180], lat in [-90, 90]) or radians with
``degrees=False``; :class:`SphericalHarmonicsEncoder` also takes unit vectors ``(..., 3)``. Bad coordinates
(non-finite, latitude out of range) raise ``ValueError`` naming the argument.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from .._validation import (
    check_choice,
    check_float,
    check_int,
    check_points,
    unknown_name_message,
)
from ..bases.spherical import lonlat_to_xyz, real_spherical_harmonics
from .activations import get_activation
from .siren import SIREN

__all__ = ["GRID_KINDS", "NN_NAMES", "PE_NAMES", "GridEncoder", "LocationEncoder", "SphericalHarmonicsEncoder",
           "build_network", "check_lonlat", "geometric_radii", "grid_features", "make_positional_embedding"]

PE_NAMES = ("sh", "grid", "theory", "spherec+", "direct", "xyz")
GRID_KINDS = ("grid", "theory", "spherec+")
NN_NAMES = ("siren", "mlp", "linear")


def check_lonlat(lonlat: torch.Tensor, *, degrees: bool = True, arg: str = "lonlat") -> torch.Tensor:
    """Check ``(..., 2)`` (lon, lat) and return it in degrees (float). Raises ValueError naming ``arg`` for a
    wrong shape, non-finite values, a latitude outside [-90, 90] or a longitude outside [-180, 180]."""
    lonlat = check_points(arg, lonlat, 2, what="lon, lat")
    deg = lonlat if degrees else torch.rad2deg(lonlat)
    unit = "degrees" if degrees else "radians (pi/2, pi)"
    lat_max = float(deg[..., 1].abs().max()) if deg.numel() else 0.0
    if lat_max > 90.0 + 1e-9:
        raise ValueError(f"{arg}: latitude must lie in [-90, 90] degrees, got |lat| = {lat_max:g} degrees "
                         f"(input in {unit}; is the order (lon, lat)?)")
    lon_max = float(deg[..., 0].abs().max()) if deg.numel() else 0.0
    if lon_max > 180.0 + 1e-9:
        raise ValueError(f"{arg}: longitude must lie in [-180, 180] degrees, got |lon| = {lon_max:g} degrees "
                         f"(input in {unit}; wrap it first, e.g. (lon + 180) % 360 - 180)")
    return deg


class SphericalHarmonicsEncoder(nn.Module):
    """``PE_SH``: (lon, lat) ``(..., 2)`` or unit vectors ``(..., 3)`` -> ``(..., (L+1)^2)`` real orthonormal
    spherical harmonics in the order ``l^2 + l + m`` (:func:`basiskit.bases.spherical.real_spherical_harmonics`
    of the converted points). No parameters."""

    def __init__(self, L: int, *, degrees: bool = True) -> None:
        super().__init__()
        self.L = check_int("L", L, min_value=0)
        self.degrees = bool(degrees)
        self.out_features = (self.L + 1) ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(x, torch.Tensor) and x.ndim >= 1 and x.shape[-1] == 3:
            return real_spherical_harmonics(x, self.L)
        deg = check_lonlat(x, degrees=self.degrees, arg="x")
        return real_spherical_harmonics(lonlat_to_xyz(deg[..., 0], deg[..., 1], degrees=True), self.L)

    def extra_repr(self) -> str:
        return f"L={self.L}, out_features={self.out_features}, degrees={self.degrees}"


def geometric_radii(n_scales: int, min_radius: float, max_radius: float) -> torch.Tensor:
    """``r_s = min_radius (max_radius / min_radius)^(s / (S-1))``, s = 0..S-1 (float64, degrees); one scale
    gives ``[min_radius]``."""
    n_scales = check_int("n_scales", n_scales, min_value=1)
    lo = check_float("min_radius", min_radius, min_value=0.0, strict_min=True)
    hi = check_float("max_radius", max_radius, min_value=0.0, strict_min=True)
    if hi < lo:
        raise ValueError(f"max_radius ({hi:g}) must be >= min_radius ({lo:g})")
    if n_scales == 1:
        return torch.tensor([lo], dtype=torch.float64)
    s = torch.arange(n_scales, dtype=torch.float64) / (n_scales - 1)
    return lo * (hi / lo) ** s


_THEORY_DIRECTIONS = ((1.0, 0.0), (-0.5, math.sqrt(3.0) / 2.0), (-0.5, -math.sqrt(3.0) / 2.0))


def grid_features(lonlat_deg: torch.Tensor, radii: torch.Tensor, kind: str = "grid") -> torch.Tensor:
    """Sinusoidal DFS embeddings of ``lonlat_deg: (..., 2)`` (degrees) at wavelengths ``radii: (S,)`` (degrees).

    ``grid``: ``[sin(lon/r_s), cos(lon/r_s)]_s`` then ``[sin(lat/r_s), cos(lat/r_s)]_s`` -> (..., 4S);
    ``theory``: for the three directions a_j = (cos 120j, sin 120j), ``[sin(<a_j, c>/r_s), cos(..)]`` -> (..., 6S);
    ``spherec+``: per scale ``sin/cos(lat/r), sin/cos(lon/r), cos(lat/r) cos(lon/r), cos(lat/r) sin(lon/r)``
    -> (..., 6S). Pure function of its inputs (no checks on the coordinates: see :func:`check_lonlat`).
    """
    check_choice("kind", kind, GRID_KINDS)
    r = radii.to(lonlat_deg)
    if kind == "grid":
        parts = []
        for c in (lonlat_deg[..., 0], lonlat_deg[..., 1]):
            a = c.unsqueeze(-1) / r  # (..., S)
            parts.append(torch.stack([torch.sin(a), torch.cos(a)], -1).flatten(-2))
        return torch.cat(parts, -1)
    if kind == "theory":
        dirs = torch.tensor(_THEORY_DIRECTIONS, dtype=lonlat_deg.dtype, device=lonlat_deg.device)  # (3, 2)
        proj = lonlat_deg @ dirs.T  # (..., 3)
        a = proj.unsqueeze(-1) / r  # (..., 3, S)
        return torch.stack([torch.sin(a), torch.cos(a)], -1).flatten(-3)
    lon, lat = lonlat_deg[..., 0].unsqueeze(-1) / r, lonlat_deg[..., 1].unsqueeze(-1) / r
    cl = torch.cos(lat)
    return torch.stack([torch.sin(lat), cl, torch.sin(lon), torch.cos(lon), cl * torch.cos(lon),
                        cl * torch.sin(lon)], -1).flatten(-2)


class GridEncoder(nn.Module):
    """DFS sin/cos embedding (``kind`` = "grid" | "theory" | "spherec+", see :func:`grid_features`):
    ``lonlat: (..., 2)`` -> ``(..., out_features)``; wavelengths :func:`geometric_radii` in degrees."""

    def __init__(self, kind: str = "grid", n_scales: int = 16, min_radius: float = 1.0, max_radius: float = 360.0,
                 *, degrees: bool = True) -> None:
        super().__init__()
        self.kind = check_choice("kind", kind, GRID_KINDS)
        self.register_buffer("radii", geometric_radii(n_scales, min_radius, max_radius), persistent=False)
        self.n_scales, self.min_radius, self.max_radius = n_scales, float(min_radius), float(max_radius)
        self.degrees = bool(degrees)
        self.out_features = (4 if kind == "grid" else 6) * n_scales

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        return grid_features(check_lonlat(lonlat, degrees=self.degrees), self.radii, self.kind)

    def extra_repr(self) -> str:
        return (f"kind={self.kind!r}, n_scales={self.n_scales}, radii=[{self.min_radius:g}, {self.max_radius:g}] deg,"
                f" out_features={self.out_features}")


class _Direct(nn.Module):
    """(lon/180, lat/90) in [-1, 1]^2, or the unit vector (``xyz``)."""

    def __init__(self, xyz: bool, degrees: bool) -> None:
        super().__init__()
        self.xyz, self.degrees = xyz, degrees
        self.out_features = 3 if xyz else 2

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        deg = check_lonlat(lonlat, degrees=self.degrees)
        if self.xyz:
            return lonlat_to_xyz(deg[..., 0], deg[..., 1], degrees=True)
        return deg / torch.tensor([180.0, 90.0], dtype=deg.dtype, device=deg.device)

    def extra_repr(self) -> str:
        return "xyz" if self.xyz else "lon/180, lat/90"


def _check_name(arg: str, value: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{arg}: {unknown_name_message(arg, str(value), options)}")
    return value


def make_positional_embedding(pe: str, *, L: int = 10, n_scales: int = 16, min_radius: float = 1.0,
                              max_radius: float = 360.0, degrees: bool = True) -> nn.Module:
    """A positional embedding by name (:data:`PE_NAMES`); the module has an ``out_features`` attribute."""
    _check_name("pe", pe, PE_NAMES)
    if pe == "sh":
        return SphericalHarmonicsEncoder(L, degrees=degrees)
    if pe in GRID_KINDS:
        return GridEncoder(pe, n_scales, min_radius, max_radius, degrees=degrees)
    return _Direct(pe == "xyz", degrees)


class LocationEncoder(nn.Module):
    r"""``NN(PE(lon, lat))``: ``lonlat: (..., 2)`` -> ``(..., n_out)`` (logits or regression outputs).

    ``pe``: one of :data:`PE_NAMES` ("sh" with degree ``L``; "grid"/"theory"/"spherec+" with ``n_scales``
    wavelengths in [``min_radius``, ``max_radius``] degrees; "direct"; "xyz"). ``nn``: "siren" (``layers``
    sine layers of width ``hidden``, first frequency ``omega_first``, hidden ``omega``), "mlp" (``layers``
    Linear + ``activation`` layers of width ``hidden``) or "linear"; each ends in a linear layer to ``n_out``.
    ``LocationEncoder("sh", "siren", L=10)`` is the paper's SIREN(SH).
    """

    def __init__(self, pe: str = "sh", nn: str = "siren", *, L: int = 10, n_out: int = 1, hidden: int = 64,
                 layers: int = 2, n_scales: int = 16, min_radius: float = 1.0, max_radius: float = 360.0,
                 activation: str = "relu", omega_first: float = 30.0, omega: float = 1.0, degrees: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        _check_name("nn", nn, NN_NAMES)
        check_int("n_out", n_out, min_value=1)
        check_int("hidden", hidden, min_value=1)
        check_int("layers", layers, min_value=1)
        self.pe = make_positional_embedding(pe, L=L, n_scales=n_scales, min_radius=min_radius,
                                            max_radius=max_radius, degrees=degrees)
        self.pe_name, self.nn_name = pe, nn
        d = self.pe.out_features
        self.net = build_network(nn, d, n_out, hidden=hidden, layers=layers, activation=activation,
                                 omega_first=omega_first, omega=omega, device=device, dtype=dtype)

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        return self.net(self.pe(lonlat).to(next(self.net.parameters()).dtype))

    def extra_repr(self) -> str:
        return f"pe={self.pe_name!r}, nn={self.nn_name!r}"


def build_network(nn_name: str, n_in: int, n_out: int, *, hidden: int = 64, layers: int = 2,
                  activation: str = "relu", omega_first: float = 30.0, omega: float = 1.0,
                  device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> nn.Module:
    """The ``NN`` part: (..., n_in) -> (..., n_out); see :class:`LocationEncoder`."""
    _check_name("nn", nn_name, NN_NAMES)
    if nn_name == "linear":
        return nn.Linear(n_in, n_out, device=device, dtype=dtype)
    widths = [n_in] + [hidden] * layers + [n_out]
    if nn_name == "siren":
        return SIREN(widths, omega_first=omega_first, omega=omega, device=device, dtype=dtype)
    act = get_activation(activation)
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(widths)):
        mods.append(nn.Linear(a, b, device=device, dtype=dtype))
        if i < len(widths) - 2:
            mods.append(act.module())
    return nn.Sequential(*mods)

