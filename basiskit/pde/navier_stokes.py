r"""2-D incompressible Navier-Stokes in vorticity form on the torus :math:`[0, 1)^2`, pseudo-spectral.

.. math::
    \partial_t w + \mathbf u\cdot\nabla w = \nu\Delta w + f, \qquad -\Delta\psi = w, \qquad
    \mathbf u = (\partial_y\psi, -\partial_x\psi).

Space: Fourier collocation on :math:`x_j = j/n`, the advection term formed in physical space and de-aliased by
the 2/3 rule. Time: Crank-Nicolson for the viscous term with a Heun (explicit trapezoidal) predictor-corrector
for advection and forcing, second order overall. The step is fixed (``dt``) or set each step from the CFL
condition :math:`\Delta t = \text{cfl}\,h / \max|\mathbf u|` (capped by ``max_dt``) and shortened to land on each
recorded time. ``taylor_green_vorticity`` gives an exact decaying solution used to verify the solver.

Li et al. 2020 (FNO) use :math:`f = 0.1(\sin 2\pi(x+y) + \cos 2\pi(x+y))`, :math:`\nu \in \{10^{-3}, 10^{-4},
10^{-5}\}` and :math:`w_0 \sim N(0, 7^{3/2}(-\Delta + 49 I)^{-2.5})` (``fno_forcing`` and ``basiskit.data``).
"""
from __future__ import annotations

import math

import torch

from .._validation import check_float, check_int, check_tensor
from .spectral import dealias_mask, rfftn_wavenumbers


def fno_forcing(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r""":math:`f(x, y) = 0.1(\sin 2\pi(x+y) + \cos 2\pi(x+y))` on the (n, n) grid :math:`x_j = j/n`."""
    x = torch.arange(n, dtype=dtype) / n
    s = 2 * math.pi * (x[:, None] + x[None, :])
    return 0.1 * (torch.sin(s) + torch.cos(s))


def taylor_green_vorticity(n: int, t: float, viscosity: float, mode: int = 1,
                           dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Exact unforced solution :math:`w = \sin(2\pi m x)\sin(2\pi m y)\,e^{-8\pi^2 m^2 \nu t}` on (n, n);
    the advection term vanishes identically because :math:`w \propto \psi`."""
    x = torch.arange(n, dtype=dtype) / n
    w = torch.sin(2 * math.pi * mode * x)[:, None] * torch.sin(2 * math.pi * mode * x)[None, :]
    return w * math.exp(-8 * math.pi ** 2 * mode ** 2 * viscosity * t)


def velocity_from_vorticity(w_hat: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Velocity (u, v) in physical space, each (batch, n, n), from the ``rfft2`` of the vorticity."""
    kx, ky = rfftn_wavenumbers((n, n), device=w_hat.device)
    lap = 4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
    psi_hat = w_hat / torch.where(lap == 0, torch.ones_like(lap), lap)
    psi_hat = torch.where(lap == 0, torch.zeros_like(psi_hat), psi_hat)
    u = torch.fft.irfft2(2j * math.pi * ky * psi_hat, s=(n, n))
    v = torch.fft.irfft2(-2j * math.pi * kx * psi_hat, s=(n, n))
    return u, v


def navier_stokes_2d(w0: torch.Tensor, viscosity: float = 1e-3, t_final: float = 1.0, *,
                     forcing: torch.Tensor | None = None, dt: float | None = None, cfl: float = 0.5,
                     max_dt: float = 1e-1, record: int = 1) -> torch.Tensor:
    r"""Integrate the vorticity equation from ``w0`` to ``t_final``.

    Args:
        w0: (n, n) or (batch, n, n) initial vorticity on :math:`x_j = j/n` (n even).
        viscosity: :math:`\nu > 0`.
        forcing: (n, n) time-independent forcing :math:`f` (None: unforced).
        dt: fixed step (then ``cfl``/``max_dt`` are unused); None: adaptive CFL step.
        record: number of snapshots at :math:`t_k = k\,t_{final}/\text{record}`, k = 1..record.

    Returns:
        (batch, n, n) = :math:`w(t_{final})`, or (batch, record, n, n) when ``record > 1`` (a (n, n) input
        drops the batch dim). Computed in float64, returned in ``w0``'s dtype.
    """
    check_tensor("w0", w0, ndim=(2, 3), finite=True, nonempty=True)
    viscosity = check_float("viscosity", viscosity, min_value=0.0, strict_min=True)
    t_final = check_float("t_final", t_final, min_value=0.0, strict_min=True)
    cfl = check_float("cfl", cfl, min_value=0.0, strict_min=True)
    max_dt = check_float("max_dt", max_dt, min_value=0.0, strict_min=True)
    check_int("record", record, min_value=1)
    if dt is not None:
        dt = check_float("dt", dt, min_value=0.0, strict_min=True)
    single = w0.ndim == 2
    w = (w0[None] if single else w0).to(torch.float64)
    n = w.shape[-1]
    if w.shape[-2] != n or n % 2:
        raise ValueError(f"w0 must be square with an even side, got shape {tuple(w0.shape)}")
    if forcing is not None:
        check_tensor("forcing", forcing, ndim=2, finite=True)
        if tuple(forcing.shape) != (n, n):
            raise ValueError(f"forcing must have shape {(n, n)} like w0's grid, got {tuple(forcing.shape)}")
        f_hat = torch.fft.rfft2(forcing.to(torch.float64).to(w.device))
    else:
        f_hat = torch.zeros((), dtype=torch.complex128, device=w.device)
    kx, ky = rfftn_wavenumbers((n, n), device=w.device)
    lap = -4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
    mask = dealias_mask((n, n), device=w.device)
    dx_op, dy_op = 2j * math.pi * kx, 2j * math.pi * ky

    def advection(w_hat: torch.Tensor) -> tuple[torch.Tensor, float]:
        """-(u . grad w) in spectral space (de-aliased) and max |u|."""
        u, v = velocity_from_vorticity(w_hat, n)
        wx = torch.fft.irfft2(dx_op * w_hat, s=(n, n))
        wy = torch.fft.irfft2(dy_op * w_hat, s=(n, n))
        speed = float(torch.sqrt(u * u + v * v).max())
        return -torch.fft.rfft2(u * wx + v * wy) * mask, speed

    w_hat = torch.fft.rfft2(w)
    t, out = 0.0, []
    targets = [t_final * (k + 1) / record for k in range(record)]
    for t_next in targets:
        while t < t_next - 1e-12 * t_final:
            n_now, speed = advection(w_hat)
            step = dt if dt is not None else min(max_dt, cfl / (n * max(speed, 1e-12)))
            step = min(step, t_next - t)
            half = 0.5 * step * viscosity * lap
            explicit = (1 + half) * w_hat + step * f_hat
            predictor = (explicit + step * n_now) / (1 - half)
            n_pred, _ = advection(predictor)
            w_hat = (explicit + 0.5 * step * (n_now + n_pred)) / (1 - half)
            t = t + step
        t = t_next
        out.append(torch.fft.irfft2(w_hat, s=(n, n)))
    sol = (out[0] if record == 1 else torch.stack(out, 1)).to(w0.dtype)
    return sol[0] if single else sol
