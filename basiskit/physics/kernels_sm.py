r"""Stationary mixture kernels and their closed-form derivatives, as pure functions of the lag ``r = x - x'``.

Both kernels are the inverse Fourier transform (Wiener-Khinchin) of a symmetric mixture spectrum
:math:`S(\xi) = \sum_q \tfrac{w_q}{2}\,[p(\xi; \mu_q, s_q) + p(\xi; -\mu_q, s_q)]` over frequencies
:math:`\xi` in cycles per unit length (GP-HM, Fang et al., ICLR 2024, "Solving High Frequency and Multi-Scale
PDEs with Gaussian Processes"; the Gaussian case is Wilson & Adams' spectral mixture kernel):

* ``spectral_mixture`` (Gaussian components)

  .. math:: k(r) = \sum_q w_q \exp(-2\pi^2 s_q^2 r^2) \cos(2\pi \mu_q r)

* ``student_t_mixture`` (Student-t components with 5 degrees of freedom, whose transform is the Matern-5/2
  kernel, :math:`t_q = 2\pi\sqrt{5}\, s_q`)

  .. math:: k(r) = \sum_q w_q (1 + t_q|r| + t_q^2 r^2 / 3)\, e^{-t_q |r|} \cos(2\pi \mu_q r)

Parameters are ``log_weights`` (the weights live in log space: GP-HM shows this acts as a Jeffreys prior
that prunes unneeded frequencies), ``log_scales`` (:math:`\log s_q`) and ``freqs`` (:math:`\mu_q`), each of
shape ``(n_components,)``. ``order`` p returns :math:`\partial^p k / \partial x^p = k^{(p)}(r)`, the covariance
between :math:`u^{(p)}(x)` and :math:`u(x')`; orders 0, 1, 2 are supported (Matern-5/2 is only twice
differentiable), all in closed form.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_choice, check_int, check_tensor

KERNELS = ("spectral_mixture", "student_t_mixture")


def _check_params(r: torch.Tensor, log_weights: torch.Tensor, log_scales: torch.Tensor, freqs: torch.Tensor,
                  order: int) -> None:
    check_tensor("r", r)
    for name, p in (("log_weights", log_weights), ("log_scales", log_scales), ("freqs", freqs)):
        check_tensor(name, p, ndim=1, nonempty=True)
    if not (log_weights.shape == log_scales.shape == freqs.shape):
        raise ValueError("log_weights, log_scales and freqs must share the shape (n_components,), got "
                         f"{tuple(log_weights.shape)}, {tuple(log_scales.shape)}, {tuple(freqs.shape)}")
    check_int("order", order, min_value=0, max_value=2)


def spectral_mixture(r: torch.Tensor, log_weights: torch.Tensor, log_scales: torch.Tensor, freqs: torch.Tensor,
                     order: int = 0) -> torch.Tensor:
    r"""Spectral-mixture kernel (Gaussian spectrum) or its ``order``-th derivative in the first argument.

    With :math:`g = e^{-a r^2}`, :math:`a = 2\pi^2 s^2`, :math:`b = 2\pi\mu`:
    :math:`k = w g \cos br`, :math:`k' = -w g (2ar \cos br + b \sin br)`,
    :math:`k'' = w g [(4a^2r^2 - 2a - b^2)\cos br + 4abr \sin br]`.

    Args:
        r: lags ``x - x'``, any shape ``(...)``.
        log_weights, log_scales, freqs: ``(n_components,)``.
        order: 0, 1 or 2.
    Returns:
        ``(...)``, the sum over components.
    """
    _check_params(r, log_weights, log_scales, freqs, order)
    rq = r.unsqueeze(-1)
    a = 2 * math.pi ** 2 * torch.exp(2 * log_scales)
    b = 2 * math.pi * freqs
    g = torch.exp(log_weights - a * rq * rq)
    c = torch.cos(b * rq)
    if order == 0:
        return (g * c).sum(-1)
    s = torch.sin(b * rq)
    if order == 1:
        return -(g * (2 * a * rq * c + b * s)).sum(-1)
    return (g * ((4 * a * a * rq * rq - 2 * a - b * b) * c + 4 * a * b * rq * s)).sum(-1)


def student_t_mixture(r: torch.Tensor, log_weights: torch.Tensor, log_scales: torch.Tensor, freqs: torch.Tensor,
                      order: int = 0) -> torch.Tensor:
    r"""Student-t-mixture kernel (Matern-5/2 envelope times cosine) or its ``order``-th derivative.

    With :math:`m = (1 + t|r| + t^2r^2/3)e^{-t|r|}`: :math:`m' = -\tfrac{t^2}{3} r (1 + t|r|) e^{-t|r|}`,
    :math:`m'' = -\tfrac{t^2}{3}(1 + t|r| - t^2 r^2) e^{-t|r|}`, and for :math:`k = w\,m \cos br`:
    :math:`k' = w(m' \cos br - b\,m \sin br)`, :math:`k'' = w(m'' \cos br - 2b\,m' \sin br - b^2 m \cos br)`.

    Args / returns as in :func:`spectral_mixture`.
    """
    _check_params(r, log_weights, log_scales, freqs, order)
    rq = r.unsqueeze(-1)
    ra = rq.abs()
    t = 2 * math.pi * math.sqrt(5.0) * torch.exp(log_scales)
    b = 2 * math.pi * freqs
    e = torch.exp(log_weights - t * ra)
    c = torch.cos(b * rq)
    m = (1 + t * ra + t * t * rq * rq / 3) * e
    if order == 0:
        return (m * c).sum(-1)
    s = torch.sin(b * rq)
    m1 = -(t * t / 3) * rq * (1 + t * ra) * e
    if order == 1:
        return (m1 * c - b * m * s).sum(-1)
    m2 = -(t * t / 3) * (1 + t * ra - t * t * rq * rq) * e
    return (m2 * c - 2 * b * m1 * s - b * b * m * c).sum(-1)


def mixture_kernel(kind: str, r: torch.Tensor, log_weights: torch.Tensor, log_scales: torch.Tensor,
                   freqs: torch.Tensor, order: int = 0) -> torch.Tensor:
    """Dispatch by name: ``kind`` is ``"spectral_mixture"`` or ``"student_t_mixture"``; shapes as above."""
    check_choice("kernel", kind, KERNELS)
    fn = spectral_mixture if kind == "spectral_mixture" else student_t_mixture
    return fn(r, log_weights, log_scales, freqs, order)


def mixture_kernel_matrix(kind: str, x1: torch.Tensor, x2: torch.Tensor, log_weights: torch.Tensor,
                          log_scales: torch.Tensor, freqs: torch.Tensor, order: int = 0) -> torch.Tensor:
    r"""Matrix :math:`[\partial^p_x k(x1_i, x2_j)]_{ij}` for 1-D inputs ``x1: (n,)``, ``x2: (m,)`` -> ``(n, m)``."""
    check_tensor("x1", x1, ndim=1)
    check_tensor("x2", x2, ndim=1)
    return mixture_kernel(kind, x1[:, None] - x2[None, :], log_weights, log_scales, freqs, order)


def spectral_density(kind: str, xi: torch.Tensor, log_weights: torch.Tensor, log_scales: torch.Tensor,
                     freqs: torch.Tensor) -> torch.Tensor:
    r"""The mixture's power spectrum :math:`S(\xi)` at frequencies ``xi: (...)`` (cycles per unit) -> ``(...)``.

    Normalised so that :math:`\int S = \sum_q w_q = k(0)`; used to plot which frequencies a fit kept.
    """
    check_choice("kernel", kind, KERNELS)
    x = xi.unsqueeze(-1)
    s = torch.exp(log_scales)
    w = torch.exp(log_weights)
    if kind == "spectral_mixture":
        def p(z: torch.Tensor) -> torch.Tensor:
            return torch.exp(-0.5 * (z / s) ** 2) / (s * math.sqrt(2 * math.pi))
    else:
        nu = 5.0
        const = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)

        def p(z: torch.Tensor) -> torch.Tensor:
            return const / s * (1 + (z / s) ** 2 / nu) ** (-(nu + 1) / 2)
    return (0.5 * w * (p(x - freqs) + p(x + freqs))).sum(-1)
