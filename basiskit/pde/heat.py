r"""2-D heat equation on the unit square with constant Dirichlet walls: the 5-parameter problem of Melissa.

Meyer et al. 2023 ("Training deep surrogate models with large scale online learning", ICML) train surrogates of
a 2-D heat equation whose five parameters are the initial temperature and the temperatures of the four walls:

.. math::
    u_t = \alpha\,(u_{xx} + u_{yy}) \text{ on } (0, 1)^2, \qquad u(\cdot, 0) = T_0,\qquad
    u = T_{x=0},\ T_{x=1},\ T_{y=0},\ T_{y=1} \text{ on the four walls.}

Discretisation: the 5-point Laplacian on the ``n x n`` interior points ``x_i = (i + 1) h``, ``h = 1 / (n + 1)``;
the walls enter as a constant source ``b``. The semi-discrete system ``u' = alpha (L u + b)`` is solved exactly
in the eigenbasis of the 1-D Dirichlet second difference (``D = Q diag(lam) Q^T``, ``L = D (x) I + I (x) D``):

.. math::
    u(t) = u_s + Q\,[e^{\alpha (\lambda_i + \lambda_j) t} \odot Q^T (u_0 - u_s) Q]\,Q^T, \qquad L u_s = -b,

so there is no time-step error and each requested time costs two ``n x n`` matrix products.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_float, check_int, check_tensor

N_PARAMS = 5  # (T0, T_{x=0}, T_{x=1}, T_{y=0}, T_{y=1})


def dirichlet_eigen(n: int, *, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Eigenpairs of the 1-D Dirichlet second difference on ``n`` interior points of [0, 1]:
    ``lam_k = -(4 / h^2) sin^2(k pi h / 2)``, ``Q_{ik} = sqrt(2 h) sin(i k pi h)`` (orthonormal), ``k = 1..n``.

    Returns ``(lam (n,), Q (n, n))``.
    """
    check_int("n", n, min_value=2)
    h = 1.0 / (n + 1)
    k = torch.arange(1, n + 1, dtype=dtype)
    lam = -(4.0 / h**2) * torch.sin(k * math.pi * h / 2) ** 2
    i = torch.arange(1, n + 1, dtype=dtype)
    q = math.sqrt(2 * h) * torch.sin(torch.outer(i, k) * math.pi * h)
    return lam, q


def heat_2d(params: torch.Tensor, times: torch.Tensor, *, n: int = 32, alpha: float = 1.0) -> torch.Tensor:
    r"""Temperature fields of the heat equation above for a batch of parameter vectors.

    Args:
        params: ``(batch, 5)`` or ``(5,)``: ``(T0, T_{x=0}, T_{x=1}, T_{y=0}, T_{y=1})``.
        times: ``(n_t,)`` non-negative output times.
        n: interior points per side (the field is ``n x n``; index ``[..., i, j]`` is ``(x_i, y_j)``).
        alpha: diffusivity.

    Returns:
        ``(batch, n_t, n, n)`` (or ``(n_t, n, n)`` for one parameter vector), float64.
    """
    check_int("n", n, min_value=2)
    alpha = check_float("alpha", alpha, min_value=0.0, strict_min=True)
    params = check_tensor("params", params, ndim=(1, 2), last_dim=N_PARAMS, finite=True)
    times = check_tensor("times", times, ndim=1, finite=True)
    if bool((times < 0).any()):
        raise ValueError(f"times must be >= 0, got min {float(times.min())}")
    single = params.ndim == 1
    p = params.reshape(-1, N_PARAMS).to(torch.float64)
    t = times.to(torch.float64)
    lam, q = dirichlet_eigen(n)
    h = 1.0 / (n + 1)
    source = torch.zeros(p.shape[0], n, n, dtype=torch.float64)  # b: wall values / h^2 next to each wall
    source[:, 0, :] += p[:, 1, None]
    source[:, -1, :] += p[:, 2, None]
    source[:, :, 0] += p[:, 3, None]
    source[:, :, -1] += p[:, 4, None]
    source /= h**2
    rate = lam[:, None] + lam[None, :]  # (n, n) eigenvalues of L
    steady = q @ ((q.T @ (-source) @ q) / rate) @ q.T  # L u_s = -b
    start_hat = q.T @ (p[:, 0, None, None] - steady) @ q  # (batch, n, n)
    decay = torch.exp(alpha * rate[None] * t[:, None, None])  # (n_t, n, n)
    fields = steady[:, None] + q @ (decay[None] * start_hat[:, None]) @ q.T
    return fields[0] if single else fields


def heat_2d_samples(params: torch.Tensor, *, n: int = 32, n_t: int = 20, t_end: float = 0.1,
                    alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One simulation as surrogate-training samples, one per output time ``t_k = t_end k / n_t``, ``k = 1..n_t``.

    Args:
        params: ``(5,)`` as in :func:`heat_2d`.

    Returns:
        ``inputs (n_t, 6)`` = ``(params, t_k / t_end)`` and ``targets (n_t, n * n)`` (the field, row-major),
        both float32: the fully connected surrogate of Melissa maps the parameters and the time to the field.
    """
    check_int("n_t", n_t, min_value=1)
    t_end = check_float("t_end", t_end, min_value=0.0, strict_min=True)
    params = check_tensor("params", params, ndim=1, last_dim=N_PARAMS, finite=True)
    frac = torch.arange(1, n_t + 1, dtype=torch.float64) / n_t
    fields = heat_2d(params, frac * t_end, n=n, alpha=alpha)
    inputs = torch.cat([params.to(torch.float64).expand(n_t, N_PARAMS), frac[:, None]], dim=1)
    return inputs.float(), fields.reshape(n_t, n * n).float()
