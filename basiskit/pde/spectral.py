r"""Fourier tools on the periodic unit cube :math:`[0, 1)^d` shared by the pseudo-spectral solvers.

Wavenumbers are integers :math:`k`; the physical frequency is :math:`2\pi k`. Arrays follow ``torch.fft.rfftn``
layout: full FFT order in every dim but the last, which holds :math:`0 \dots n/2`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch


def rfft_wavenumbers(n: int, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
                     ) -> torch.Tensor:
    """Integer wavenumbers 0..n/2 of ``torch.fft.rfft`` of length ``n``: (n // 2 + 1,)."""
    return torch.fft.rfftfreq(n, 1.0 / n, dtype=dtype, device=device)


def rfftn_wavenumbers(shape: Sequence[int], *, dtype: torch.dtype = torch.float64,
                      device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Per-dim integer wavenumbers of ``rfftn`` over ``shape``, each shaped to broadcast over the
    (n1, ..., n_d // 2 + 1) spectrum."""
    d = len(shape)
    out = []
    for i, n in enumerate(shape):
        k = (torch.fft.rfftfreq(n, 1.0 / n, dtype=dtype, device=device) if i == d - 1
             else torch.fft.fftfreq(n, 1.0 / n, dtype=dtype, device=device))
        out.append(k.reshape([-1 if j == i else 1 for j in range(d)]))
    return out


def dealias_mask(shape: Sequence[int], *, device: torch.device | str | None = None) -> torch.Tensor:
    """Orszag's 2/3 rule in ``rfftn`` layout: True where every :math:`|k_i| < n_i/3` (bool, spectrum shape)."""
    ks = rfftn_wavenumbers(shape, device=device)
    mask = torch.ones((), dtype=torch.bool, device=device)
    for k, n in zip(ks, shape):
        mask = mask & (k.abs() < n / 3)
    return mask


def spectral_derivative(u: torch.Tensor, order: int = 1, dim: int = -1) -> torch.Tensor:
    r""":math:`\partial^{order} u/\partial x^{order}` along ``dim`` of a periodic field on :math:`[0, 1)`
    (exact for band-limited ``u``; the Nyquist mode of odd derivatives is zeroed). u: (..., n, ...)."""
    n = u.shape[dim]
    k = rfft_wavenumbers(n, dtype=torch.float64, device=u.device)
    factor = (2j * math.pi * k) ** order
    if order % 2 and n % 2 == 0:
        factor[-1] = 0
    shape = [1] * u.ndim
    shape[dim] = -1
    spec = torch.fft.rfft(u.to(torch.float64), dim=dim) * factor.reshape(shape)
    return torch.fft.irfft(spec, n=n, dim=dim).to(u.dtype)


def etdrk4_coefficients(linear: torch.Tensor, dt: float, n_contour: int = 32) -> tuple[torch.Tensor, ...]:
    r"""ETDRK4 coefficients for a diagonal linear operator ``linear`` (any shape; computed in float64, or in
    complex128 when ``linear`` is complex, e.g. an odd derivative :math:`c\,\partial_x^3 \to -i c k^3`).

    Returns ``(E, E2, Q, f1, f2, f3)`` with :math:`E = e^{hL}`, :math:`E_2 = e^{hL/2}` and the phi-function
    combinations of Cox & Matthews in the form of Kassam & Trefethen (2005), eq. (2.5), each averaged over
    points on a unit circle around :math:`hL` to avoid cancellation near 0: ``n_contour`` on the upper half
    circle and the real part for a real ``L`` (Kassam & Trefethen), ``2 * n_contour`` on the whole circle for a
    complex one.
    """
    complex_linear = linear.is_complex()
    hl = dt * (linear.to(torch.complex128) if complex_linear else linear.to(torch.float64))
    if complex_linear:  # the whole circle, 2 * n_contour points
        roots = torch.exp(1j * math.pi * (torch.arange(1, 2 * n_contour + 1, dtype=torch.float64) - 0.5) / n_contour)
    else:  # the upper half circle: the real part of its mean is the whole circle's mean when L is real
        roots = torch.exp(1j * math.pi * (torch.arange(1, n_contour + 1, dtype=torch.float64) - 0.5) / n_contour)
    lr = hl.unsqueeze(-1).to(torch.complex128) + roots  # (..., n_contour or 2 * n_contour)
    q, f1, f2, f3 = (dt * (c if complex_linear else c.real) for c in (
        ((torch.exp(lr / 2) - 1) / lr).mean(-1),
        ((-4 - lr + torch.exp(lr) * (4 - 3 * lr + lr ** 2)) / lr ** 3).mean(-1),
        ((2 + lr + torch.exp(lr) * (-2 + lr)) / lr ** 3).mean(-1),
        ((-4 - 3 * lr - lr ** 2 + torch.exp(lr) * (4 - lr)) / lr ** 3).mean(-1)))
    return torch.exp(hl), torch.exp(hl / 2), q, f1, f2, f3


def etdrk4_step(v: torch.Tensor, nonlinear: Callable[[torch.Tensor], torch.Tensor],
                coefficients: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""One ETDRK4 step of :math:`\hat v_t = L \hat v + N(\hat v)` for a diagonal :math:`L` (Cox & Matthews 2002,
    in the form of Kassam & Trefethen 2005, eq. (2.5)).

    Args:
        v: the spectral state :math:`\hat v_n`, any shape that broadcasts with the coefficients.
        nonlinear: :math:`\hat v \mapsto N(\hat v)`, the same shape as ``v``.
        coefficients: ``(E, E2, Q, f1, f2, f3)`` from :func:`etdrk4_coefficients` for the step size.

    Returns:
        :math:`\hat v_{n+1}`, shaped like ``v``; four evaluations of ``nonlinear``.
    """
    e, e2, q, f1, f2, f3 = coefficients
    nv = nonlinear(v)
    a = e2 * v + q * nv
    na = nonlinear(a)
    b = e2 * v + q * na
    nb = nonlinear(b)
    c = e2 * a + q * (2 * nb - nv)
    nc = nonlinear(c)
    return e * v + f1 * nv + 2 * f2 * (na + nb) + f3 * nc


def etdrk4_snapshots(u: torch.Tensor, nonlinear: Callable[[torch.Tensor], torch.Tensor],
                     coefficients: Sequence[torch.Tensor], n_snapshots: int, steps_per_snapshot: int
                     ) -> torch.Tensor:
    r"""Integrate a periodic field with :func:`etdrk4_step` and keep ``n_snapshots`` snapshots, one after each
    ``steps_per_snapshot`` steps (the starting field is not among them).

    Args:
        u: (..., n) the field on the grid; transformed with ``rfft`` along the last dim.
        nonlinear: :math:`\hat v \mapsto N(\hat v)` on the spectral state (..., n // 2 + 1).
        coefficients: ``(E, E2, Q, f1, f2, f3)`` from :func:`etdrk4_coefficients` for the step size.

    Returns:
        (..., n_snapshots, n), the fields in physical space.
    """
    n = u.shape[-1]
    v = torch.fft.rfft(u)
    frames = []
    for _ in range(n_snapshots):
        for _ in range(steps_per_snapshot):
            v = etdrk4_step(v, nonlinear, coefficients)
        frames.append(torch.fft.irfft(v, n=n))
    return torch.stack(frames, dim=-2)
