r"""The 1-D operators of the DeepONet papers, generated here: inputs, solvers and (input, solution) pairs.

* Input functions: a Gaussian process with the squared-exponential kernel
  :math:`k(x, x') = \sigma^2 \exp(-|x - x'|^2 / (2 l^2))` on [0, 1] (DeepONet's "GRF", length scale ``l``),
  sampled exactly at the given points by a Cholesky factor with a small jitter.
* Antiderivative: :math:`s'(x) = u(x)`, :math:`s(0) = 0` on [0, 1]; :math:`s` by the cumulative trapezoid rule
  on a grid ``refine`` times finer than the output grid (error :math:`O(h^2)`), then subsampled.
* Diffusion-reaction (Lu et al. 2021, Wang et al. 2021): :math:`s_t = D s_{xx} + k s^2 + u(x)` on
  :math:`(0, 1) \times (0, 1]`, :math:`s = 0` at :math:`x = 0, 1` and at :math:`t = 0`; second-order central
  differences in x, Crank-Nicolson for the diffusion and second-order Adams-Bashforth for the reaction and
  source (first step: forward Euler), batched over input functions.
"""
from __future__ import annotations

import torch

from .._validation import check_float, check_int, check_tensor

__all__ = ["antiderivative", "antiderivative_pairs", "diffusion_reaction", "diffusion_reaction_pairs", "rbf_grf"]


def rbf_grf(points: torch.Tensor, n_samples: int, length_scale: float = 0.2, sigma: float = 1.0, *,
            generator: torch.Generator | None = None, jitter: float = 1e-10) -> torch.Tensor:
    r"""Samples of a zero-mean GP with kernel :math:`\sigma^2 e^{-|x-x'|^2 / 2l^2}` at 1-D ``points`` (n,).

    Returns (n_samples, n) in the points' dtype; the jitter (relative to sigma^2) keeps the Cholesky factor of the
    nearly singular kernel matrix finite.
    """
    check_tensor("points", points, ndim=1, finite=True)
    check_int("n_samples", n_samples, min_value=1)
    length_scale = check_float("length_scale", length_scale, min_value=0.0, strict_min=True)
    sigma = check_float("sigma", sigma, min_value=0.0)
    x = points.to(torch.float64)
    cov = sigma ** 2 * torch.exp(-(x[:, None] - x[None, :]) ** 2 / (2 * length_scale ** 2))
    eye = torch.eye(len(x), dtype=torch.float64)
    scale = max(sigma ** 2, 1e-300)
    for attempt in range(6):  # grow the jitter until the factor exists (fine grids, long length scales)
        chol, info = torch.linalg.cholesky_ex(cov + jitter * scale * 10 ** (2 * attempt) * eye)
        if int(info) == 0:
            break
    else:
        raise ValueError(f"rbf_grf: the kernel matrix of {len(x)} points with length_scale={length_scale} is not "
                         "positive definite even with jitter 1e0; use fewer points or a shorter length scale")
    xi = torch.randn(n_samples, len(x), generator=generator, dtype=torch.float64)
    return (xi @ chol.T).to(points.dtype)


def antiderivative(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`s(x_j) = \int_{x_0}^{x_j} u` by the cumulative trapezoid rule. u: (..., n), x: (n,) -> (..., n)."""
    check_tensor("x", x, ndim=1, finite=True)
    if u.shape[-1] != x.shape[0]:
        raise ValueError(f"u: last dim must match the {x.shape[0]} grid points of x, got shape {tuple(u.shape)}")
    return torch.cat([torch.zeros_like(u[..., :1]), torch.cumulative_trapezoid(u, x, dim=-1)], dim=-1)

def antiderivative_pairs(n_functions: int, n_points: int = 100, *, length_scale: float = 0.2, refine: int = 10,
                         generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, s, x): inputs (n_functions, n_points) at the grid x (n_points,) on [0, 1], antiderivatives s alike."""
    check_int("n_functions", n_functions, min_value=1)
    check_int("n_points", n_points, min_value=2)
    check_int("refine", refine, min_value=1)
    fine = torch.linspace(0.0, 1.0, (n_points - 1) * refine + 1, dtype=torch.float64)
    u_fine = rbf_grf(fine, n_functions, length_scale, generator=generator)
    s_fine = antiderivative(u_fine, fine)
    return u_fine[:, ::refine].to(dtype), s_fine[:, ::refine].to(dtype), fine[::refine].to(dtype)


def diffusion_reaction(u: torch.Tensor, *, diffusivity: float = 0.01, reaction: float = 0.01, n_x: int = 101,
                       n_t: int = 101, steps_per_output: int = 10) -> torch.Tensor:
    r"""Solve :math:`s_t = D s_{xx} + k s^2 + u(x)` (zero boundary and initial values) for a batch of sources.

    Args:
        u: (batch, n_x) the source at ``n_x`` equispaced points of [0, 1] (ends included).
        diffusivity, reaction: D and k.
        n_x: grid points in x (ends included); n_t: output times, equispaced on [0, 1] (t = 0 included).
        steps_per_output: time steps between output times (dt = 1 / ((n_t - 1) * steps_per_output)).

    Returns:
        (batch, n_x, n_t) solution in float64 ('ij': x then t).
    """
    n_x = check_int("n_x", n_x, min_value=3)
    n_t = check_int("n_t", n_t, min_value=2)
    steps_per_output = check_int("steps_per_output", steps_per_output, min_value=1)
    diffusivity = check_float("diffusivity", diffusivity, min_value=0.0)
    reaction = check_float("reaction", reaction)
    check_tensor("u", u, ndim=2, finite=True)
    if u.shape[1] != n_x:
        raise ValueError(f"u must be (batch, n_x={n_x}) source values on the x grid, got shape {tuple(u.shape)}")
    f = u.to(torch.float64)[:, 1:-1]  # interior unknowns; the ends stay 0
    m = n_x - 2
    h = 1.0 / (n_x - 1)
    dt = 1.0 / ((n_t - 1) * steps_per_output)
    lap = (torch.diag(torch.full((m,), -2.0, dtype=torch.float64)) + torch.diag(torch.ones(m - 1, dtype=torch.float64), 1)
           + torch.diag(torch.ones(m - 1, dtype=torch.float64), -1)) / h ** 2
    eye = torch.eye(m, dtype=torch.float64)
    lhs = eye - 0.5 * dt * diffusivity * lap
    rhs_op = eye + 0.5 * dt * diffusivity * lap
    lu = torch.linalg.lu_factor(lhs)
    s = torch.zeros_like(f)
    out = torch.zeros(u.shape[0], n_x, n_t, dtype=torch.float64)
    explicit_prev = None
    for k in range(1, n_t):
        for _ in range(steps_per_output):
            explicit = reaction * s ** 2 + f
            forcing = explicit if explicit_prev is None else 1.5 * explicit - 0.5 * explicit_prev
            rhs = s @ rhs_op.T + dt * forcing
            s = torch.linalg.lu_solve(*lu, rhs.T).T
            explicit_prev = explicit
        out[:, 1:-1, k] = s
    return out


def diffusion_reaction_pairs(n_functions: int, n_x: int = 101, n_t: int = 101, *, length_scale: float = 0.2,
                             diffusivity: float = 0.01, reaction: float = 0.01, steps_per_output: int = 10,
                             generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, s, xt): sources (n_functions, n_x), solutions (n_functions, n_x, n_t), grid points (n_x * n_t, 2)
    as (x, t) in 'ij' order (so ``s.reshape(n_functions, -1)`` lines up with ``xt``)."""
    check_int("n_functions", n_functions, min_value=1)
    x = torch.linspace(0.0, 1.0, n_x, dtype=torch.float64)
    t = torch.linspace(0.0, 1.0, n_t, dtype=torch.float64)
    u = rbf_grf(x, n_functions, length_scale, generator=generator)
    s = diffusion_reaction(u, diffusivity=diffusivity, reaction=reaction, n_x=n_x, n_t=n_t,
                           steps_per_output=steps_per_output)
    xt = torch.stack(torch.meshgrid(x, t, indexing="ij"), dim=-1).reshape(-1, 2)
    return u.to(dtype), s.to(dtype), xt.to(dtype)

