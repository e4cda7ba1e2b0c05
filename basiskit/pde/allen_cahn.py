r"""Allen-Cahn reference solver: Fourier pseudo-spectral in space, ETDRK4 in time.

.. math::
    u_t = \epsilon u_{xx} + a (u - u^3), \quad x \in [-1, 1) \text{ periodic}, \quad u(x, 0) = u_0(x)

with the physics-informed benchmark's values :math:`\epsilon = 10^{-4}`, :math:`a = 5`,
:math:`u_0 = x^2 \cos(\pi x)`. The stiff linear part :math:`L = -\epsilon k^2 + a` is integrated exactly
and the nonlinearity :math:`N(u) = -a u^3` by the fourth-order exponential time-differencing Runge-Kutta
scheme of Cox & Matthews (2002), with the phi-function coefficients computed by the contour-integral
method of Kassam & Trefethen (2005), "Fourth-order time-stepping for stiff PDEs" -- the way the standard
reference solution (Raissi et al. 2019, ``AC.mat``) was made.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._validation import check_float, check_int
from .spectral import etdrk4_coefficients, etdrk4_snapshots

__all__ = ["allen_cahn_etdrk4", "fourier_linear_interp"]


def _default_u0(x: torch.Tensor) -> torch.Tensor:
    return x ** 2 * torch.cos(math.pi * x)


def allen_cahn_etdrk4(n_x: int = 512, dt: float = 1e-4, t_final: float = 1.0, n_t: int = 201,
                      eps: float = 1e-4, a: float = 5.0,
                      u0: Callable[[torch.Tensor], torch.Tensor] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Solve the periodic Allen-Cahn equation on [-1, 1) by Fourier/ETDRK4 (float64).

    Args:
        n_x: grid points (even), ``x_j = -1 + 2 j / n_x``.
        dt: time step; ``t_final / (n_t - 1)`` must be a whole multiple of it.
        n_t: number of output times, equally spaced on [0, t_final] (both ends included).
        eps, a: diffusion and reaction coefficients of :math:`u_t = \epsilon u_{xx} + a(u - u^3)`.
        u0: initial condition, ``x: (n_x,) -> (n_x,)``; default :math:`x^2 \cos(\pi x)`.

    Returns:
        ``x`` (n_x,), ``t`` (n_t,), ``u`` (n_x, n_t) -- the same layout as ``AC.mat``'s ``uu``.
    """
    check_int("n_x", n_x, min_value=8)
    if n_x % 2:
        raise ValueError(f"n_x must be even, got {n_x}")
    check_float("dt", dt, min_value=0.0, strict_min=True)
    check_float("t_final", t_final, min_value=0.0, strict_min=True)
    check_int("n_t", n_t, min_value=2)
    check_float("eps", eps, min_value=0.0)
    check_float("a", a)
    out_dt = t_final / (n_t - 1)
    per_out = round(out_dt / dt)
    if per_out < 1 or abs(per_out * dt - out_dt) > 1e-9 * out_dt:
        raise ValueError(f"dt={dt} must divide the output spacing t_final/(n_t-1)={out_dt} a whole number of times")
    h = out_dt / per_out

    x = -1 + 2 * torch.arange(n_x, dtype=torch.float64) / n_x
    k = math.pi * torch.fft.rfftfreq(n_x, d=1.0 / n_x, dtype=torch.float64)  # wavenumbers for period 2
    lin = -eps * k ** 2 + a
    coefficients = etdrk4_coefficients(lin, h, n_contour=64)

    def nonlin(v_hat: torch.Tensor) -> torch.Tensor:
        u = torch.fft.irfft(v_hat, n=n_x)
        return -a * torch.fft.rfft(u ** 3)

    u = (u0 or _default_u0)(x).to(torch.float64)
    if u.shape != x.shape:
        raise ValueError(f"u0 must map x of shape {tuple(x.shape)} to the same shape, got {tuple(u.shape)}")
    frames = torch.cat([u[None], etdrk4_snapshots(u, nonlin, coefficients, n_t - 1, per_out)])  # (n_t, n_x)
    t = torch.linspace(0.0, t_final, n_t, dtype=torch.float64)
    return x, t, frames.T


def fourier_linear_interp(x: torch.Tensor, t: torch.Tensor, grid_u: torch.Tensor, period_lo: float,
                           period: float, t_grid: torch.Tensor) -> torch.Tensor:
    """Evaluate a periodic-in-x field given on a uniform x grid (n_x, n_t): trig. interpolation in x,
    linear in t. x, t: (m,) -> (m,)."""
    n_x = grid_u.shape[0]
    coef = torch.fft.rfft(grid_u, dim=0) / n_x  # (n_x//2+1, n_t)
    k = torch.arange(coef.shape[0], dtype=torch.float64)
    scale = torch.full_like(k, 2.0)
    scale[0] = 1.0
    if n_x % 2 == 0:
        scale[-1] = 1.0
    phase = torch.exp(2j * math.pi * torch.outer(x.double() - period_lo, k) / period)  # (m, K)
    vals = ((phase * scale) @ coef.to(torch.complex128)).real  # (m, n_t)
    pos = ((t.double() - t_grid[0]) / (t_grid[1] - t_grid[0])).clamp(0, len(t_grid) - 1 - 1e-9)
    i0 = pos.floor().long()
    w = pos - i0
    rows = torch.arange(len(x))
    return (1 - w) * vals[rows, i0] + w * vals[rows, (i0 + 1).clamp_max(len(t_grid) - 1)]
