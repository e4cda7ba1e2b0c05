r"""Conditional flow matching on any Gaussian path, and ODE samplers for any velocity field.

Loss (Lipman, Chen, Ben-Hamu, Nickel & Le, "Flow Matching for Generative Modeling", ICLR 2023; used with the
kinetic-optimal paths of Shaul et al., ICML 2023): with ``t ~ U[0, 1]``, ``x_0 ~ N(0, I)``, ``x_1 ~ data``,
``x_t = alpha_t x_1 + sigma_t x_0``,

.. math::
    \mathcal{L}_{CFM}(\theta) = E\,|v_\theta(x_t, t) - (\dot\alpha_t x_1 + \dot\sigma_t x_0)|^2 ,

whose minimiser is the marginal velocity :math:`u_t(x)` of the path (``basiskit.generative.paths``).

Sampler: integrate ``dx/dt = v(x, t)`` from ``t = 0`` (noise) to ``t = 1`` (data) with a fixed-step method
(``euler``, ``midpoint``, ``rk4``) or the adaptive Dormand-Prince 5(4) pair ``dopri5`` (written here: FSAL, error
of the embedded 4th-order solution in the mixed norm ``rms(err / (atol + rtol max(|x|, |x_new|)))``, step factor
``0.9 err^(-1/5)`` clipped to [0.2, 5]). A velocity is any callable ``v(x, t)`` with x (batch, ...) and t (batch,).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._validation import check_choice, check_float, check_int, check_tensor
from .paths import GaussianPath, check_time

__all__ = ["ODE_METHODS", "OdeStats", "cfm_loss", "mmd2", "sample_ode"]

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ODE_METHODS = ("euler", "midpoint", "rk4", "dopri5")


def cfm_loss(model: Velocity, path: GaussianPath, x1: torch.Tensor, x0: torch.Tensor | None = None, *,
             t: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The conditional flow-matching loss: mean over the batch of :math:`|v(x_t, t) - \dot\alpha_t x_1 -
    \dot\sigma_t x_0|^2` (squared norm summed over the feature dims).

    x1: (batch, ...) data; x0: noise like x1 (N(0, I) if None); t: (batch,) times in [0, 1] (U[0, 1] if None);
    ``model(x_t, t)`` must return a tensor shaped like x1. Returns a scalar tensor (differentiable in the model).
    """
    if not isinstance(path, GaussianPath):
        raise TypeError(f"path must be a GaussianPath (basiskit.generative.get_path), got {type(path).__name__}")
    check_tensor("x1", x1, min_ndim=2, nonempty=True)
    if t is None:
        t = torch.rand(x1.shape[0], generator=generator, dtype=x1.dtype).to(x1.device)
    t = check_time(t)
    if t.shape != (x1.shape[0],):
        raise ValueError(f"t must have shape (batch,) = ({x1.shape[0]},), got {tuple(t.shape)}")
    if x0 is None:
        x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)
    xt = path.sample(x1, t, x0)
    target = path.pair_velocity(x1, t, x0)
    pred = model(xt, t)
    if not isinstance(pred, torch.Tensor) or pred.shape != x1.shape:
        got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise ValueError(f"model(x_t, t) must return a tensor shaped like x1 {tuple(x1.shape)}, got {got}")
    return ((pred - target) ** 2).flatten(1).sum(1).mean()


@dataclass
class OdeStats:
    """What a solve cost: velocity evaluations, accepted and rejected steps."""

    nfe: int = 0
    accepted: int = 0
    rejected: int = 0


# Dormand-Prince 5(4) tableau (Dormand & Prince 1980), 5th-order solution b5, embedded 4th-order b4.
_DP_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_DP_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_DP_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_DP_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)


def _fixed_step(f: Callable[[torch.Tensor, float], torch.Tensor], x: torch.Tensor, t0: float, t1: float,
                steps: int, method: str, stats: OdeStats) -> torch.Tensor:
    h = (t1 - t0) / steps
    for k in range(steps):
        t = t0 + k * h
        if method == "euler":
            x = x + h * f(x, t)
            stats.nfe += 1
        elif method == "midpoint":
            x = x + h * f(x + 0.5 * h * f(x, t), t + 0.5 * h)
            stats.nfe += 2
        else:  # rk4
            k1 = f(x, t)
            k2 = f(x + 0.5 * h * k1, t + 0.5 * h)
            k3 = f(x + 0.5 * h * k2, t + 0.5 * h)
            k4 = f(x + h * k3, t + h)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            stats.nfe += 4
        stats.accepted += 1
    return x


def _dopri5(f: Callable[[torch.Tensor, float], torch.Tensor], x: torch.Tensor, t0: float, t1: float,
            rtol: float, atol: float, h0: float | None, max_steps: int, stats: OdeStats) -> torch.Tensor:
    t, span = t0, t1 - t0
    k1 = f(x, t)
    stats.nfe += 1
    if h0 is None:  # Hairer-Norsett-Wanner's starting guess from the first derivative
        scale = atol + rtol * x.abs()
        d0 = float(torch.sqrt(((x / scale) ** 2).mean()))
        d1 = float(torch.sqrt(((k1 / scale) ** 2).mean()))
        h0 = 0.01 * d0 / d1 if d0 > 1e-5 and d1 > 1e-5 else 1e-3
    h = min(abs(h0), abs(span))
    while t < t1 - 1e-12 * abs(span):
        if stats.accepted + stats.rejected >= max_steps:
            raise RuntimeError(f"sample_ode(method='dopri5'): {max_steps} steps (max_steps) did not reach t = {t1} "
                               f"(stopped at t = {t:.6g}, step {h:.3g}); loosen rtol/atol or raise max_steps")
        h = min(h, t1 - t)
        ks = [k1]
        for i in range(1, 7):
            xi = x + h * sum(a * k for a, k in zip(_DP_A[i], ks) if a != 0.0)
            ks.append(f(xi, t + _DP_C[i] * h))
        stats.nfe += 6
        x_new = x + h * sum(b * k for b, k in zip(_DP_B5, ks) if b != 0.0)
        err = h * sum((b5 - b4) * k for b5, b4, k in zip(_DP_B5, _DP_B4, ks) if b5 != b4)
        scale = atol + rtol * torch.maximum(x.abs(), x_new.abs())
        err_norm = float(torch.sqrt(((err / scale) ** 2).mean()))
        if not math.isfinite(err_norm):
            raise RuntimeError(f"sample_ode(method='dopri5'): non-finite error estimate at t = {t:.6g}; the velocity "
                               "returned NaN or inf")
        if err_norm <= 1.0:
            t, x, k1 = t + h, x_new, ks[6]  # FSAL: the last stage is the next step's first
            stats.accepted += 1
        else:
            stats.rejected += 1
        factor = 5.0 if err_norm == 0.0 else min(5.0, max(0.2, 0.9 * err_norm ** -0.2))
        h = h * factor
    return x


def sample_ode(velocity: Velocity, x0: torch.Tensor, *, steps: int = 100, method: str = "rk4",
               rtol: float = 1e-5, atol: float = 1e-5, t0: float = 0.0, t1: float = 1.0, h0: float | None = None,
               max_steps: int = 100_000, return_stats: bool = False
               ) -> torch.Tensor | tuple[torch.Tensor, OdeStats]:
    """Integrate ``dx/dt = velocity(x, t)`` from ``t0`` to ``t1`` starting at ``x0`` (batch, ...).

    ``method``: ``euler`` / ``midpoint`` / ``rk4`` with ``steps`` equal steps, or ``dopri5`` (adaptive, ``rtol``,
    ``atol``, first step ``h0`` or automatic, at most ``max_steps`` tries). ``velocity`` gets x (batch, ...) and
    t (batch,) in x's dtype and device. Runs under ``torch.no_grad``. Returns x at t1, and an :class:`OdeStats`
    if ``return_stats``.
    """
    if not callable(velocity):
        raise TypeError(f"velocity must be callable as velocity(x, t), got {type(velocity).__name__}")
    check_tensor("x0", x0, min_ndim=1, nonempty=True)
    method = check_choice("method", method, ODE_METHODS)
    steps = check_int("steps", steps, min_value=1)
    rtol = check_float("rtol", rtol, min_value=0.0, strict_min=True)
    atol = check_float("atol", atol, min_value=0.0, strict_min=True)
    max_steps = check_int("max_steps", max_steps, min_value=1)
    t0 = float(check_time(float(t0), "t0"))
    t1 = float(check_time(float(t1), "t1"))
    if t1 <= t0:
        raise ValueError(f"t1 must be > t0, got t0 = {t0}, t1 = {t1}")
    if h0 is not None:
        h0 = check_float("h0", h0, min_value=0.0, strict_min=True)
    batch = x0.shape[0]

    def f(x: torch.Tensor, t: float) -> torch.Tensor:
        v = velocity(x, torch.full((batch,), t, dtype=x.dtype, device=x.device))
        if not isinstance(v, torch.Tensor) or v.shape != x.shape:
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"velocity(x, t) must return a tensor shaped like x {tuple(x.shape)}, got {got}")
        return v

    stats = OdeStats()
    with torch.no_grad():
        if method == "dopri5":
            x = _dopri5(f, x0, t0, t1, rtol, atol, h0, max_steps, stats)
        else:
            x = _fixed_step(f, x0, t0, t1, steps, method, stats)
    return (x, stats) if return_stats else x


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidths: tuple[float, ...] = (0.1, 0.3, 1.0)) -> float:
    r"""Unbiased squared maximum mean discrepancy between samples x (n, d) and y (m, d), n, m >= 2, with the sum of
    Gaussian kernels :math:`k(a, b) = \sum_h \exp(-|a - b|^2 / 2h^2)` over ``bandwidths`` (Gretton et al. 2012).
    Near 0 (it can be slightly negative) when x and y come from one distribution."""
    check_tensor("x", x, ndim=2, finite=True)
    check_tensor("y", y, ndim=2, finite=True)
    if x.shape[1] != y.shape[1] or x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"x and y must be (n, d) and (m, d) with n, m >= 2, got {tuple(x.shape)}, {tuple(y.shape)}")
    if not bandwidths or any(not (isinstance(h, (int, float)) and h > 0) for h in bandwidths):
        raise ValueError(f"bandwidths must be positive numbers, got {bandwidths!r}")
    x, y = x.double(), y.double()

    def k(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        d2 = torch.cdist(a, b) ** 2
        return sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths)

    n, m = x.shape[0], y.shape[0]
    kxx, kyy = k(x, x), k(y, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(xx + yy - 2 * k(x, y).mean())
