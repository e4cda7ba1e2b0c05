r"""Gaussian random fields with Matérn-like covariance :math:`\sigma^2 (-\Delta + \tau^2 I)^{-\alpha}`.

The field is the Karhunen-Loève series :math:`u = \sum_k \sqrt{\lambda_k}\,\xi_k\,\phi_k` over the eigenpairs of
the Laplacian on the unit cube, truncated to the modes the grid can carry, with :math:`\xi_k \sim N(0, 1)` i.i.d.:

* ``periodic``: :math:`\phi_k = e^{2\pi i k\cdot x}` on the torus :math:`[0, 1)^d` (grid :math:`x_j = j/n`),
  eigenvalues of :math:`-\Delta` are :math:`4\pi^2|k|^2`; evaluated with one inverse FFT.
* ``dirichlet``: :math:`\phi_k = \prod_i \sqrt{2}\sin(\pi k_i x_i)`, :math:`k_i \ge 1`, on :math:`[0, 1]^d`
  including the boundary (grid :math:`x_j = j/(n-1)`), eigenvalues :math:`\pi^2|k|^2`; zero on the boundary.
* ``neumann``: :math:`\phi_k = \prod_i c_{k_i}\cos(\pi k_i x_i)`, :math:`k_i \ge 0` (:math:`c_0 = 1`,
  else :math:`\sqrt 2`), the field the FNO paper thresholds for its Darcy coefficients.

Used as initial conditions and coefficients by Li et al. 2020 (Fourier Neural Operator): Burgers
:math:`u_0 \sim N(0, 625(-\Delta + 25 I)^{-2})`, Darcy :math:`\psi \sim N(0, (-\Delta + 9 I)^{-2})`,
Navier-Stokes :math:`w_0 \sim N(0, 7^{3/2}(-\Delta + 49 I)^{-2.5})`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._validation import check_choice, check_float, check_int

BOUNDARIES = ("periodic", "dirichlet", "neumann")


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not 1 <= len(dims) <= 3:
        raise ValueError(f"shape must have 1, 2 or 3 grid dims, got {shape!r}")
    for i, n in enumerate(dims):
        check_int(f"shape[{i}]", n, min_value=2)
    return dims


def grf_eigenvalues(wavenumbers_sq: torch.Tensor, alpha: float, tau: float, sigma: float) -> torch.Tensor:
    r""":math:`\lambda = \sigma^2 (\mu + \tau^2)^{-\alpha}` for Laplacian eigenvalues :math:`\mu` (any shape);
    0 where :math:`\mu + \tau^2 = 0` (the constant mode when tau = 0, which callers drop or refuse)."""
    base = wavenumbers_sq + tau ** 2
    safe = torch.where(base > 0, base, torch.ones_like(base))
    return torch.where(base > 0, sigma ** 2 * safe ** (-alpha), torch.zeros_like(base))


def grf(shape: int | Sequence[int], alpha: float = 2.0, tau: float = 3.0, sigma: float = 1.0,
        boundary: str = "periodic", *, n_samples: int = 1, zero_mean: bool = False,
        generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Samples of a Gaussian random field with covariance :math:`\sigma^2(-\Delta + \tau^2)^{-\alpha}`.

    Args:
        shape: grid points per dim, ``n`` or ``(n1, n2[, n3])``.
        alpha, tau, sigma: smoothness, inverse length scale and amplitude (``alpha > d/2`` for a field
            with finite variance).
        boundary: "periodic" | "dirichlet" | "neumann" (see the module docstring for the grids).
        n_samples: number of independent fields.
        zero_mean: drop the constant mode (periodic / neumann), as the FNO data generators do.
        generator: torch RNG for reproducibility.

    Returns:
        (n_samples, *shape) real tensor of ``dtype``.
    """
    dims = _shape(shape)
    alpha = check_float("alpha", alpha, min_value=0.0, strict_min=True)
    tau = check_float("tau", tau, min_value=0.0)
    sigma = check_float("sigma", sigma, min_value=0.0)
    check_choice("boundary", boundary, BOUNDARIES)
    check_int("n_samples", n_samples, min_value=1)
    if tau == 0.0 and (boundary != "dirichlet") and not zero_mean:
        raise ValueError("tau=0 makes the constant mode's variance infinite; use tau > 0 or zero_mean=True")
    d = len(dims)
    if boundary == "periodic":
        freqs = [torch.fft.fftfreq(n, 1.0 / n, dtype=dtype) for n in dims]
        k2 = sum(f.reshape([-1 if i == j else 1 for j in range(d)]) ** 2 for i, f in enumerate(freqs))
        lam = grf_eigenvalues(4 * math.pi ** 2 * k2, alpha, tau, sigma)
        if zero_mean:
            lam = lam.clone()
            lam.view(-1)[0] = 0.0
        noise = torch.randn((n_samples, *dims, 2), generator=generator, dtype=dtype)
        coeffs = torch.view_as_complex(noise) * lam.sqrt()
        # Re(sum_k sqrt(lam_k) (a_k + i b_k) e^{2 pi i k x}) has covariance sum_k lam_k cos(2 pi k (x - y)).
        return torch.fft.ifftn(coeffs, dim=tuple(range(1, d + 1)), norm="forward").real
    x = [torch.linspace(0.0, 1.0, n, dtype=dtype) for n in dims]
    if boundary == "dirichlet":
        ks = [torch.arange(1, n, dtype=dtype) for n in dims]
        bases = [math.sqrt(2.0) * torch.sin(math.pi * xi[:, None] * k[None, :]) for xi, k in zip(x, ks)]
    else:
        ks = [torch.arange(0, n, dtype=dtype) for n in dims]
        bases = []
        for xi, k in zip(x, ks):
            b = math.sqrt(2.0) * torch.cos(math.pi * xi[:, None] * k[None, :])
            b[:, 0] = 1.0
            bases.append(b)
    k2 = sum(k.reshape([-1 if i == j else 1 for j in range(d)]) ** 2 for i, k in enumerate(ks))
    lam = grf_eigenvalues(math.pi ** 2 * k2, alpha, tau, sigma)
    if boundary == "neumann" and zero_mean:
        lam = lam.clone()
        lam.view(-1)[0] = 0.0
    field = torch.randn((n_samples, *lam.shape), generator=generator, dtype=dtype) * lam.sqrt()
    for axis, basis in enumerate(bases):  # synthesise one dim at a time: (.., K_i, ..) -> (.., n_i, ..)
        field = torch.movedim(torch.tensordot(field, basis, dims=([axis + 1], [1])), -1, axis + 1)
    return field


def grf_covariance(shape: int | Sequence[int], alpha: float, tau: float, sigma: float = 1.0,
                   boundary: str = "periodic", dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The exact covariance matrix of ``grf`` samples on a 1-D grid, (n, n); used to test the sampler."""
    (n,) = _shape(shape)
    check_choice("boundary", boundary, BOUNDARIES)
    if boundary == "periodic":
        x = torch.arange(n, dtype=dtype) / n
        k = torch.fft.fftfreq(n, 1.0 / n, dtype=dtype)
        lam = grf_eigenvalues(4 * math.pi ** 2 * k ** 2, alpha, tau, sigma)
        phase = 2 * math.pi * (x[:, None, None] - x[None, :, None]) * k[None, None, :]
        return (lam * torch.cos(phase)).sum(-1)
    x = torch.linspace(0.0, 1.0, n, dtype=dtype)
    if boundary == "dirichlet":
        k = torch.arange(1, n, dtype=dtype)
        basis = math.sqrt(2.0) * torch.sin(math.pi * x[:, None] * k[None, :])
    else:
        k = torch.arange(0, n, dtype=dtype)
        basis = math.sqrt(2.0) * torch.cos(math.pi * x[:, None] * k[None, :])
        basis[:, 0] = 1.0
    lam = grf_eigenvalues(math.pi ** 2 * k ** 2, alpha, tau, sigma)
    return basis @ torch.diag(lam) @ basis.T
