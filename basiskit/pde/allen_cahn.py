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

__all__ = ["allen_cahn_etdrk4", "etdrk4_coefficients"]


def etdrk4_coefficients(lin: torch.Tensor, dt: float, n_contour: int = 64) -> tuple[torch.Tensor, ...]:
    r"""ETDRK4 coefficients for a diagonal linear operator ``lin`` (any shape, real float64).

    Returns ``(E, E2, Q, f1, f2, f3)`` with :math:`E = e^{hL}`, :math:`E_2 = e^{hL/2}` and the
    phi-function combinations of Kassam & Trefethen (2005), eq. (2.5), each averaged over ``n_contour``
    points on a unit circle around :math:`hL` to avoid cancellation near 0.
    """
    hl = dt * lin.to(torch.float64)
    roots = torch.exp(1j * math.pi * (torch.arange(1, n_contour + 1, dtype=torch.float64) - 0.5) / n_contour)
    lr = hl.unsqueeze(-1).to(torch.complex128) + roots  # (..., n_contour)
    q = dt * ((torch.exp(lr / 2) - 1) / lr).mean(-1).real
    f1 = dt * ((-4 - lr + torch.exp(lr) * (4 - 3 * lr + lr ** 2)) / lr ** 3).mean(-1).real
    f2 = dt * ((2 + lr + torch.exp(lr) * (-2 + lr)) / lr ** 3).mean(-1).real
    f3 = dt * ((-4 - 3 * lr - lr ** 2 + torch.exp(lr) * (4 - lr)) / lr ** 3).mean(-1).real
    return torch.exp(hl), torch.exp(hl / 2), q, f1, f2, f3


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
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(lin, h)

    def nonlin(v_hat: torch.Tensor) -> torch.Tensor:
        u = torch.fft.irfft(v_hat, n=n_x)
        return -a * torch.fft.rfft(u ** 3)

    u = (u0 or _default_u0)(x).to(torch.float64)
    if u.shape != x.shape:
        raise ValueError(f"u0 must map x of shape {tuple(x.shape)} to the same shape, got {tuple(u.shape)}")
    v = torch.fft.rfft(u)
    frames = [u]
    for _ in range(n_t - 1):
        for _ in range(per_out):
            nv = nonlin(v)
            av = e2 * v + q * nv
            na = nonlin(av)
            bv = e2 * v + q * na
            nb = nonlin(bv)
            cv = e2 * av + q * (2 * nb - nv)
            nc = nonlin(cv)
            v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        frames.append(torch.fft.irfft(v, n=n_x))
    t = torch.linspace(0.0, t_final, n_t, dtype=torch.float64)
    return x, t, torch.stack(frames, dim=1)
