r"""Viscous Burgers on the periodic unit interval, :math:`u_t + (u^2/2)_x = \nu u_{xx}`, pseudo-spectral.

Space: Fourier collocation on :math:`x_j = j/n`, nonlinear term de-aliased by the 2/3 rule. Time: the
fourth-order exponential time-differencing Runge-Kutta scheme ETDRK4 of Cox & Matthews (2002), with the
coefficients evaluated by the contour integrals of Kassam & Trefethen (2005) so that the stiff diffusion is
integrated exactly and no small-denominator cancellation occurs. The default step is an advective CFL bound
on the initial data (viscous Burgers obeys a maximum principle, so :math:`\max|u|` never grows) taken at the
largest wavenumber that is not viscously dominated, :math:`k_{eff} = \min(k_{\max}, \max|u|/(2\pi\nu))`:
modes above it decay faster than they are advected, and ETDRK4 integrates their linear part exactly.

``burgers_cole_hopf`` is the exact solution :math:`u = -2\nu\,\phi_x/\phi` for a heat-equation solution
:math:`\phi` given by a cosine/sine series, used to verify the solver. Li et al. 2020 (FNO) learn
:math:`u_0 \mapsto u(\cdot, 1)` with :math:`\nu = 0.1`, :math:`u_0 \sim N(0, 625(-\Delta + 25 I)^{-2})`.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_float, check_int, check_tensor
from .spectral import dealias_mask, etdrk4_coefficients, etdrk4_snapshots, rfft_wavenumbers


def burgers_1d(u0: torch.Tensor, viscosity: float = 0.1, t_final: float = 1.0, *, dt: float | None = None,
               cfl: float = 0.4, record: int = 1) -> torch.Tensor:
    r"""Integrate viscous Burgers from ``u0`` to ``t_final`` on the periodic unit interval.

    Args:
        u0: (n,) or (batch, n) initial values on :math:`x_j = j/n` (n even).
        viscosity: :math:`\nu > 0`.
        dt: time step; default :math:`\min(10^{-2}, \text{cfl} / (2\pi k_{eff}\max|u_0|))` (see the module
            docstring), then shortened to land on each snapshot time.
        record: number of evenly spaced snapshots returned, at :math:`t_k = k\,t_{final}/\text{record}`.

    Returns:
        (batch, n) = :math:`u(\cdot, t_{final})` (a leading (n,) input gives (n,)); with ``record > 1``,
        (batch, record, n). Computed in float64, returned in ``u0``'s dtype.
    """
    check_tensor("u0", u0, ndim=(1, 2), finite=True, nonempty=True)
    viscosity = check_float("viscosity", viscosity, min_value=0.0, strict_min=True)
    t_final = check_float("t_final", t_final, min_value=0.0, strict_min=True)
    check_int("record", record, min_value=1)
    single = u0.ndim == 1
    u = (u0[None] if single else u0).to(torch.float64)
    n = u.shape[-1]
    if n % 2:
        raise ValueError(f"u0 needs an even number of grid points, got n={n}")
    k = rfft_wavenumbers(n, dtype=torch.float64, device=u.device)  # integer wavenumbers 0..n/2
    mask = dealias_mask((n,), device=u.device)
    linear = -viscosity * (2 * math.pi * k) ** 2
    deriv = 1j * 2 * math.pi * k * mask  # d/dx with the 2/3 rule folded in

    def nonlinear(v_hat: torch.Tensor) -> torch.Tensor:
        v = torch.fft.irfft(v_hat, n=n)
        return -0.5 * deriv * torch.fft.rfft(v * v)

    t_seg = t_final / record
    if dt is None:
        umax = float(u.abs().max()) + 1e-12
        k_eff = max(1.0, min(float(k[mask].max()), umax / (2 * math.pi * viscosity)))
        dt = min(1e-2, cfl / (2 * math.pi * k_eff * umax))
    dt = check_float("dt", dt, min_value=0.0, strict_min=True)
    steps = max(1, math.ceil(t_seg / dt - 1e-9))
    coefficients = etdrk4_coefficients(linear, t_seg / steps)
    out = etdrk4_snapshots(u, nonlinear, coefficients, record, steps)  # (batch, record, n)
    sol = (out[:, 0] if record == 1 else out).to(u0.dtype)
    return sol[0] if single else sol


def burgers_cole_hopf(x: torch.Tensor, t: float, viscosity: float, cos_coeffs: tuple[float, ...] = (1.0,),
                      sin_coeffs: tuple[float, ...] = (0.0,), offset: float = 2.0) -> torch.Tensor:
    r"""Exact periodic Burgers solution via Cole-Hopf, :math:`u = -2\nu\,\phi_x / \phi` with

    .. math:: \phi(x, t) = c_0 + \sum_{m\ge1} e^{-\nu (2\pi m)^2 t}\,(a_m\cos 2\pi m x + b_m \sin 2\pi m x),

    which solves :math:`\phi_t = \nu\phi_{xx}`; needs :math:`\phi > 0` (``offset`` large enough). x: any shape.
    """
    phi = torch.full_like(x, offset)
    dphi = torch.zeros_like(x)
    for m, (a, b) in enumerate(zip(cos_coeffs, sin_coeffs), start=1):
        w = 2 * math.pi * m
        decay = math.exp(-viscosity * w * w * t)
        phi = phi + decay * (a * torch.cos(w * x) + b * torch.sin(w * x))
        dphi = dphi + decay * w * (-a * torch.sin(w * x) + b * torch.cos(w * x))
    if bool((phi <= 0).any()):
        raise ValueError("burgers_cole_hopf: phi must stay positive; raise offset")
    return -2 * viscosity * dphi / phi
