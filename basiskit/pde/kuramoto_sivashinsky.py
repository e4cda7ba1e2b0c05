r"""Kuramoto-Sivashinsky on a periodic interval, pseudo-spectral in space, ETDRK4 in time.

.. math::
    u_t = -u u_x - u_{xx} - u_{xxxx} + c\,u_{xxx} + f(x), \qquad x \in [0, L) \text{ periodic},

the plain KS equation for :math:`c = 0` and :math:`f = 0`; the dispersive term :math:`c\,u_{xxx}` is the
"missing physics" of the MEDIDA test case (Mojgani, Chattopadhyay & Hassanzadeh 2022) and ``forcing`` a fixed
field used for manufactured solutions. In Fourier space with :math:`q = 2\pi k / L` the linear part is diagonal,
:math:`\hat L(q) = q^2 - q^4 - i c q^3`, and is integrated exactly; the nonlinear part
:math:`-\tfrac12 (u^2)_x + f` (2/3-rule de-aliased unless ``dealias=False``) goes through the shared ETDRK4 stage
loop :func:`basiskit.pde.spectral.etdrk4_snapshots` (Cox & Matthews 2002; coefficients by the contour integrals of
Kassam & Trefethen 2005, whose KS example is :math:`L = 32\pi`, :math:`n = 128`, :math:`h = 1/4`).

Facts the tests pin: the mean :math:`\int u\,dx` is conserved; the energy obeys
:math:`\tfrac{d}{dt}\tfrac12\int u^2 dx = \int (u_x^2 - u_{xx}^2)\,dx` (the advective and the dispersive terms
conserve it); a small mode :math:`\varepsilon\cos qx` evolves as
:math:`\varepsilon e^{(q^2 - q^4)t}\cos(qx - c q^3 t)`; the error falls as :math:`h^4`.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_float, check_int, check_tensor
from .spectral import dealias_mask, etdrk4_coefficients, etdrk4_snapshots, rfft_wavenumbers

__all__ = ["ks_linear_symbol", "kuramoto_sivashinsky", "kuramoto_sivashinsky_step"]


def ks_linear_symbol(n: int, length: float, dispersion: float = 0.0) -> torch.Tensor:
    r"""The KS linear operator in ``rfft`` layout, :math:`q^2 - q^4 - i c q^3` with :math:`q = 2\pi k/L`:
    (n // 2 + 1,), complex128 (the dispersive part of the Nyquist mode is zeroed, as for any odd derivative)."""
    q = 2 * math.pi * rfft_wavenumbers(n, dtype=torch.float64) / length
    odd = -(q ** 3) * dispersion
    if n % 2 == 0:
        odd[-1] = 0.0
    return torch.complex(q ** 2 - q ** 4, odd)


def kuramoto_sivashinsky(u0: torch.Tensor, t_final: float, *, length: float = 22.0, dt: float = 0.05,
                         n_t: int = 2, dispersion: float = 0.0, forcing: torch.Tensor | None = None,
                         dealias: bool = True) -> torch.Tensor:
    r"""Integrate :math:`u_t = -u u_x - u_{xx} - u_{xxxx} + c u_{xxx} + f` from ``u0`` (module docstring).

    Args:
        u0: (n,) or (batch, n) initial values on :math:`x_j = jL/n` (n even, >= 8).
        t_final: end time (> 0).
        length: period :math:`L` (22 is the classic chaotic box; Kassam & Trefethen use :math:`32\pi`).
        dt: largest time step; shortened so that each output interval holds a whole number of steps.
        n_t: output times, evenly spaced on :math:`[0, t_{final}]`, both ends included (>= 2).
        dispersion: :math:`c`, the coefficient of :math:`u_{xxx}` on the right-hand side.
        forcing: optional fixed field :math:`f(x)`, (n,).
        dealias: 2/3 rule on the quadratic term.

    Returns:
        (n_t, n) for a (n,) input, else (batch, n_t, n); row 0 is ``u0``. Computed in float64, returned in
        ``u0``'s dtype.
    """
    check_tensor("u0", u0, ndim=(1, 2), finite=True, nonempty=True)
    t_final = check_float("t_final", t_final, min_value=0.0, strict_min=True)
    length = check_float("length", length, min_value=0.0, strict_min=True)
    dt = check_float("dt", dt, min_value=0.0, strict_min=True)
    check_int("n_t", n_t, min_value=2)
    dispersion = check_float("dispersion", dispersion)
    n = u0.shape[-1]
    if n % 2 or n < 8:
        raise ValueError(f"u0 needs an even number of grid points >= 8, got n={n}")
    single = u0.ndim == 1
    u = (u0[None] if single else u0).to(torch.float64)
    f_hat = None
    if forcing is not None:
        check_tensor("forcing", forcing, ndim=1, finite=True)
        if forcing.shape[0] != n:
            raise ValueError(f"forcing must have shape ({n},) like the grid of u0, got {tuple(forcing.shape)}")
        f_hat = torch.fft.rfft(forcing.to(device=u.device, dtype=torch.float64))
    q = 2 * math.pi * rfft_wavenumbers(n, dtype=torch.float64, device=u.device) / length
    mask = dealias_mask((n,), device=u.device) if dealias else torch.ones_like(q, dtype=torch.bool)
    half_deriv = -0.5j * q * mask  # -(1/2) d/dx, with the 2/3 rule folded in

    def nonlinear(v_hat: torch.Tensor) -> torch.Tensor:
        w = torch.fft.irfft(v_hat, n=n)
        out = half_deriv * torch.fft.rfft(w * w)
        return out if f_hat is None else out + f_hat

    spacing = t_final / (n_t - 1)
    steps = max(1, math.ceil(spacing / dt - 1e-9))
    coefficients = [c.to(u.device) for c in etdrk4_coefficients(ks_linear_symbol(n, length, dispersion),
                                                                spacing / steps)]
    later = etdrk4_snapshots(u, nonlinear, coefficients, n_t - 1, steps)  # (batch, n_t - 1, n)
    sol = torch.cat([u.unsqueeze(-2), later], dim=-2).to(u0.dtype)
    return sol[0] if single else sol


def kuramoto_sivashinsky_step(u: torch.Tensor, dt: float, *, length: float = 22.0, substeps: int = 1,
                              dispersion: float = 0.0, dealias: bool = True) -> torch.Tensor:
    r"""Advance ``u`` (n,) or (batch, n) by ``dt`` with ``substeps`` ETDRK4 steps: the one-step "model" of MEDIDA
    (:func:`basiskit.dynamics.discovery.medida`), same shape and dtype as ``u``."""
    check_int("substeps", substeps, min_value=1)
    dt = check_float("dt", dt, min_value=0.0, strict_min=True)
    out = kuramoto_sivashinsky(u, dt, length=length, dt=dt / substeps, n_t=2, dispersion=dispersion,
                               dealias=dealias)
    return out[..., -1, :]
