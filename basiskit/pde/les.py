r"""Large-eddy simulation of 2-D turbulence: the Smagorinsky closure in vorticity form, pure functions.

The filtered momentum equation gains the divergence of the sub-grid stress :math:`\tau_{ij} = -2\nu_t\bar S_{ij}`,
with the Smagorinsky eddy viscosity

.. math::
    \nu_t = (C_s\Delta)^2\,|\bar S|, \qquad |\bar S| = \sqrt{2\bar S_{ij}\bar S_{ij}}, \qquad
    \bar S_{ij} = \tfrac12(\partial_j\bar u_i + \partial_i\bar u_j).

Taking the curl of :math:`\partial_j(2\nu_t\bar S_{ij})` gives the closure term of the vorticity equation

.. math::
    \partial_t w + \mathbf u\cdot\nabla w = \nu\Delta w + f
        + (\partial_{xx} - \partial_{yy})(2\nu_t S_{12}) + \partial_{xy}\big(2\nu_t (S_{22} - S_{11})\big),

which is :math:`\nu_t\Delta w` when :math:`\nu_t` is constant. Everything is spectral on the periodic unit square
:math:`[0, 1)^2` (x along dim -2, y along dim -1, as in ``basiskit.pde.navier_stokes``); the filter width
:math:`\Delta` defaults to the grid spacing :math:`1/n`. The functions accept a tensor :math:`C_s^2` and keep the
autograd graph, so a physics-informed loss can learn it (LESnets, Zhao et al., J. Comput. Phys. 2025, who use
:math:`C_s^2 = 0.01` on a :math:`32^3` grid with :math:`\Delta` = the grid spacing).

The solver (``navier_stokes_2d(..., cs_squared=...)``) and the LESnets loss (``les_residual``, the equation
residual of a trajectory) live in ``basiskit.pde.navier_stokes``, beside the velocity they need; this module is
the closure alone and imports nothing from them.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_float, check_tensor
from .spectral import dealias_mask, rfftn_wavenumbers


def _check_pair(u: torch.Tensor, v: torch.Tensor) -> int:
    check_tensor("u", u, min_ndim=2, nonempty=True)
    check_tensor("v", v, min_ndim=2, nonempty=True)
    if u.shape != v.shape:
        raise ValueError(f"u and v must have the same shape, got {tuple(u.shape)} and {tuple(v.shape)}")
    n = u.shape[-1]
    if u.shape[-2] != n or n % 2:
        raise ValueError(f"u must be (..., n, n) with n even, got shape {tuple(u.shape)}")
    return n


def check_cs_squared(cs_squared: float | torch.Tensor) -> float | torch.Tensor:
    """A float >= 0, or a one-element tensor (returned as a 0-dim tensor, e.g. a learnable parameter)."""
    if isinstance(cs_squared, torch.Tensor):
        if cs_squared.numel() != 1:
            raise ValueError(f"cs_squared must be a scalar, got a tensor of shape {tuple(cs_squared.shape)}")
        return cs_squared.reshape(())
    return check_float("cs_squared", cs_squared, min_value=0.0)


def _width(filter_width: float | None, n: int) -> float:
    if filter_width is None:
        return 1.0 / n
    return check_float("filter_width", filter_width, min_value=0.0, strict_min=True)


def strain_rate(u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Resolved strain rate :math:`(S_{11}, S_{12}, S_{22})` of the velocity (u, v), each (..., n, n).

    :math:`S_{11} = \partial_x u`, :math:`S_{22} = \partial_y v`, :math:`S_{12} = \tfrac12(\partial_y u +
    \partial_x v)`, spectral (the Nyquist modes of the first derivatives are zeroed)."""
    n = _check_pair(u, v)
    kx, ky = rfftn_wavenumbers((n, n), dtype=u.dtype, device=u.device)
    kx = torch.where(kx.abs() == n // 2, torch.zeros_like(kx), kx)
    ky = torch.where(ky == n // 2, torch.zeros_like(ky), ky)
    dx, dy = 2j * math.pi * kx, 2j * math.pi * ky
    u_hat, v_hat = torch.fft.rfft2(u), torch.fft.rfft2(v)
    s11 = torch.fft.irfft2(dx * u_hat, s=(n, n))
    s22 = torch.fft.irfft2(dy * v_hat, s=(n, n))
    s12 = 0.5 * torch.fft.irfft2(dy * u_hat + dx * v_hat, s=(n, n))
    return s11, s12, s22


def _magnitude(s11: torch.Tensor, s12: torch.Tensor, s22: torch.Tensor) -> torch.Tensor:
    sq = 2 * (s11 * s11 + s22 * s22 + 2 * s12 * s12)
    positive = sq > 0
    # where |S| = 0 the square root has no derivative: return 0 there with a zero gradient instead of NaN
    return torch.where(positive, torch.sqrt(torch.where(positive, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def strain_rate_magnitude(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r""":math:`|S| = \sqrt{2 S_{ij} S_{ij}} = \sqrt{2(S_{11}^2 + S_{22}^2 + 2 S_{12}^2)}`, (..., n, n)."""
    return _magnitude(*strain_rate(u, v))


def eddy_viscosity(u: torch.Tensor, v: torch.Tensor, cs_squared: float | torch.Tensor,
                   filter_width: float | None = None) -> torch.Tensor:
    r"""Smagorinsky eddy viscosity :math:`\nu_t = C_s^2\Delta^2|S|`, (..., n, n); ``filter_width`` :math:`\Delta`
    defaults to the grid spacing 1/n."""
    cs_squared = check_cs_squared(cs_squared)
    n = _check_pair(u, v)
    return cs_squared * _width(filter_width, n) ** 2 * strain_rate_magnitude(u, v)


def smagorinsky_vorticity_term(u: torch.Tensor, v: torch.Tensor, cs_squared: float | torch.Tensor,
                               filter_width: float | None = None, *, dealias: bool = True) -> torch.Tensor:
    r"""The closure's contribution to :math:`\partial_t w`: the curl of :math:`\partial_j(2\nu_t S_{ij})`.

    .. math::
        (\partial_{xx} - \partial_{yy})\,\tau_{12} + \partial_{xy}(\tau_{22} - \tau_{11}),
        \qquad \tau_{ij} = 2\nu_t S_{ij},\ \nu_t = C_s^2\Delta^2|S|.

    Args:
        u, v: (..., n, n) velocity on :math:`x_j = j/n` (n even).
        cs_squared: :math:`C_s^2 \ge 0` (a float, or a scalar tensor to learn it).
        filter_width: :math:`\Delta` (None: the grid spacing 1/n).
        dealias: zero the modes outside the 2/3 rule (the stress is a nonlinear product), as the solver does for
            the advection term.

    Returns:
        (..., n, n) in physical space.
    """
    cs_squared = check_cs_squared(cs_squared)
    n = _check_pair(u, v)
    s11, s12, s22 = strain_rate(u, v)
    nu_t = cs_squared * _width(filter_width, n) ** 2 * _magnitude(s11, s12, s22)
    kx, ky = rfftn_wavenumbers((n, n), dtype=s11.dtype, device=u.device)
    t12_hat = torch.fft.rfft2(2 * nu_t * s12)
    diag_hat = torch.fft.rfft2(2 * nu_t * (s22 - s11))
    term = -4 * math.pi ** 2 * ((kx ** 2 - ky ** 2) * t12_hat + kx * ky * diag_hat)
    if dealias:
        term = term * dealias_mask((n, n), device=u.device)
    return torch.fft.irfft2(term, s=(n, n))
