r"""2-D incompressible Navier-Stokes in vorticity form on the torus :math:`[0, 1)^2`, pseudo-spectral.

.. math::
    \partial_t w + \mathbf u\cdot\nabla w = \nu\Delta w + f, \qquad -\Delta\psi = w, \qquad
    \mathbf u = (\partial_y\psi, -\partial_x\psi).

Space: Fourier collocation on :math:`x_j = j/n`, the advection term formed in physical space and de-aliased by
the 2/3 rule. Time: Crank-Nicolson for the viscous term with a Heun (explicit trapezoidal) predictor-corrector
for advection and forcing, second order overall. The step is fixed (``dt``) or set each step from the CFL
condition :math:`\Delta t = \text{cfl}\,h / \max|\mathbf u|` (capped by ``max_dt``) and shortened to land on each
recorded time. ``taylor_green_vorticity`` gives an exact decaying solution used to verify the solver.

Large-eddy simulation: ``cs_squared`` :math:`= C_s^2 > 0` adds the Smagorinsky closure of ``basiskit.pde.les``
(eddy viscosity :math:`\nu_t = (C_s\Delta)^2|S|`, :math:`|S| = \sqrt{2S_{ij}S_{ij}}`, in vorticity form),
treated explicitly with the advection (Heun) and de-aliased like it; the adaptive step is then also kept below
the explicit-diffusion limit :math:`1/(\pi^2 n^2 \max\nu_t)`. ``cs_squared = 0`` (the default) runs exactly
the code path of the plain solver, so the results are bit-for-bit the same.

Li et al. 2020 (FNO) use :math:`f = 0.1(\sin 2\pi(x+y) + \cos 2\pi(x+y))`, :math:`\nu \in \{10^{-3}, 10^{-4},
10^{-5}\}` and :math:`w_0 \sim N(0, 7^{3/2}(-\Delta + 49 I)^{-2.5})` (``fno_forcing`` and ``basiskit.data``).
"""
from __future__ import annotations

import math

import torch

from .._validation import check_float, check_int, check_tensor
from .les import check_cs_squared, eddy_viscosity, smagorinsky_vorticity_term
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
                     max_dt: float = 1e-1, record: int = 1, cs_squared: float = 0.0,
                     filter_width: float | None = None) -> torch.Tensor:
    r"""Integrate the vorticity equation from ``w0`` to ``t_final``.

    Args:
        w0: (n, n) or (batch, n, n) initial vorticity on :math:`x_j = j/n` (n even).
        viscosity: :math:`\nu > 0`.
        forcing: (n, n) time-independent forcing :math:`f` (None: unforced).
        dt: fixed step (then ``cfl``/``max_dt`` are unused); None: adaptive CFL step.
        record: number of snapshots at :math:`t_k = k\,t_{final}/\text{record}`, k = 1..record.
        cs_squared: Smagorinsky :math:`C_s^2 \ge 0` (0: no closure, the plain solver; LESnets use 0.01).
        filter_width: the LES filter width :math:`\Delta` (None: the grid spacing 1/n); used when
            ``cs_squared > 0``.

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
    cs_squared = check_float("cs_squared", cs_squared, min_value=0.0)
    if filter_width is not None:
        filter_width = check_float("filter_width", filter_width, min_value=0.0, strict_min=True)
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
        nonlinear = -torch.fft.rfft2(u * wx + v * wy) * mask
        if cs_squared > 0:
            closure = torch.fft.rfft2(smagorinsky_vorticity_term(u, v, cs_squared, filter_width))
            nonlinear = nonlinear + closure
        return nonlinear, speed

    def diffusion_limit(w_hat: torch.Tensor) -> float:
        """Largest explicit step for the closure, 1 / (pi^2 n^2 max nu_t) (inf without closure)."""
        if cs_squared == 0:
            return math.inf
        u, v = velocity_from_vorticity(w_hat, n)
        nu_max = float(eddy_viscosity(u, v, cs_squared, filter_width).max())
        return math.inf if nu_max <= 0 else 1.0 / (math.pi ** 2 * n ** 2 * nu_max)

    w_hat = torch.fft.rfft2(w)
    t, out = 0.0, []
    targets = [t_final * (k + 1) / record for k in range(record)]
    for t_next in targets:
        while t < t_next - 1e-12 * t_final:
            n_now, speed = advection(w_hat)
            step = dt if dt is not None else min(max_dt, cfl / (n * max(speed, 1e-12)), diffusion_limit(w_hat))
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


def vorticity_tendency(w: torch.Tensor, viscosity: float, cs_squared: float | torch.Tensor = 0.0, *,
                       forcing: torch.Tensor | None = None, filter_width: float | None = None) -> torch.Tensor:
    r"""Right-hand side of the LES vorticity equation, :math:`-\mathbf u\cdot\nabla w + \nu\Delta w + f +`
    the Smagorinsky term, with the advection formed in physical space and de-aliased by the 2/3 rule (as
    ``navier_stokes_2d`` does). w: (..., n, n) -> (..., n, n), in ``w``'s dtype; differentiable in ``w`` and a
    tensor ``cs_squared``."""
    check_tensor("w", w, min_ndim=2, nonempty=True)
    viscosity = check_float("viscosity", viscosity, min_value=0.0)
    cs_squared = check_cs_squared(cs_squared)
    n = w.shape[-1]
    if w.shape[-2] != n or n % 2:
        raise ValueError(f"w must be (..., n, n) with n even, got shape {tuple(w.shape)}")
    kx, ky = rfftn_wavenumbers((n, n), device=w.device)
    w_hat = torch.fft.rfft2(w)
    u, v = velocity_from_vorticity(w_hat, n)
    wx = torch.fft.irfft2(2j * math.pi * kx * w_hat, s=(n, n))
    wy = torch.fft.irfft2(2j * math.pi * ky * w_hat, s=(n, n))
    mask = dealias_mask((n, n), device=w.device)
    lap = -4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
    rhs_hat = -torch.fft.rfft2(u * wx + v * wy) * mask + viscosity * lap * w_hat
    if forcing is not None:
        check_tensor("forcing", forcing, ndim=2, finite=True)
        if tuple(forcing.shape) != (n, n):
            raise ValueError(f"forcing must have shape {(n, n)} like w's grid, got {tuple(forcing.shape)}")
        rhs_hat = rhs_hat + torch.fft.rfft2(forcing.to(u.dtype).to(w.device))
    rhs = torch.fft.irfft2(rhs_hat, s=(n, n))
    if not (isinstance(cs_squared, float) and cs_squared == 0.0):
        rhs = rhs + smagorinsky_vorticity_term(u, v, cs_squared, filter_width)
    return rhs.to(w.dtype)


def les_residual(trajectory: torch.Tensor, dt: float, viscosity: float, cs_squared: float | torch.Tensor = 0.0, *,
                 forcing: torch.Tensor | None = None, filter_width: float | None = None) -> torch.Tensor:
    r"""Residual of the LES vorticity equation along a trajectory sampled every ``dt`` (LESnets' loss, 2-D).

    .. math::
        R_k = \frac{w_{k+1} - w_{k-1}}{2\,\Delta t} - \mathcal N(w_k), \qquad k = 1, \dots, T - 2,

    with :math:`\mathcal N` = :func:`vorticity_tendency` (advection, viscosity, forcing, Smagorinsky closure):
    second order in time, spectral in space, as in the paper's code (``DHIT_Spectral_SM3d``, its "second order"
    branch).

    Args:
        trajectory: (batch, T, n, n), T >= 3 equally spaced snapshots.
        dt: their spacing in time (> 0).
        viscosity: :math:`\nu \ge 0`; cs_squared: :math:`C_s^2` (float or scalar tensor); forcing: (n, n) or None.

    Returns:
        (batch, T - 2, n, n) residual at the interior snapshots.
    """
    check_tensor("trajectory", trajectory, ndim=4, nonempty=True)
    if trajectory.shape[1] < 3:
        raise ValueError(f"trajectory needs at least 3 snapshots in dim 1 for a central difference, got shape "
                         f"{tuple(trajectory.shape)}")
    dt = check_float("dt", dt, min_value=0.0, strict_min=True)
    dwdt = (trajectory[:, 2:] - trajectory[:, :-2]) / (2 * dt)
    return dwdt - vorticity_tendency(trajectory[:, 1:-1], viscosity, cs_squared, forcing=forcing,
                                     filter_width=filter_width)
