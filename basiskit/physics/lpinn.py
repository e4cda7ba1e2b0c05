r"""LPINN: Lagrangian physics-informed network (Mojgani, Balajewicz & Hassanzadeh 2023, "Kolmogorov n-width and
Lagrangian physics-informed neural networks: a causality-conforming manifold for convection-dominated PDEs").

For :math:`u_t + c(u) u_x = \nu u_{xx}` the solution is followed along characteristics. Two branches take the
Lagrangian coordinates :math:`(x_0, t)`: one gives the characteristic :math:`x_L(x_0, t)`, the other the state
:math:`u_L(x_0, t) = u(x_L(x_0, t), t)` along it. The residuals are

.. math::
    \partial_t x_L - c(u_L) = 0, \qquad
    \partial_t u_L - \nu \frac{1}{\partial_{x_0} x_L} \partial_{x_0}\Big(\frac{\partial_{x_0} u_L}{\partial_{x_0} x_L}\Big) = 0,

with :math:`x_L(x_0, 0) = x_0`, :math:`u_L(x_0, 0) = u_0(x_0)`; boundary: periodic characteristics keep their
spacing (:math:`x_L(b) - x_L(a) = b - a`, :math:`u_L(a) = u_L(b)`), a Dirichlet wall u = 0 keeps
:math:`x_L = x_0` there. Along characteristics a travelling wave is a constant, so the convection speed no
longer enters the state branch (low Kolmogorov n-width). The Eulerian field is recovered by interpolating
:math:`u_L` at the points :math:`x_L` of a fine :math:`x_0` grid.
Supported problems: ``convection`` (c = beta, nu = 0) and ``burgers1d`` (c = u).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._validation import check_int, check_tensor
from ..models import MLP
from .derivatives import AutogradDerivatives
from .pinn import PhysicsModel
from .problems import Problem

__all__ = ["LPINN", "lagrangian_to_eulerian"]
SUPPORTED = ("convection", "burgers1d")


def lagrangian_to_eulerian(x_l: torch.Tensor, u_l: torch.Tensor, x_query: torch.Tensor,
                           period: tuple[float, float] | None = None) -> torch.Tensor:
    """Linear interpolation of the samples (x_l, u_l) (m,) at x_query (q,) -> (q,).

    With ``period=(a, b)`` positions are wrapped into [a, b) and interpolation is periodic.
    """
    if period is not None:
        a, b = period
        x_l = a + torch.remainder(x_l - a, b - a)
    order = torch.argsort(x_l)
    xs, us = x_l[order], u_l[order]
    if period is not None:
        a, b = period
        xs = torch.cat([xs[-1:] - (b - a), xs, xs[:1] + (b - a)])
        us = torch.cat([us[-1:], us, us[:1]])
    idx = torch.searchsorted(xs, x_query.contiguous()).clamp(1, len(xs) - 1)
    x0, x1 = xs[idx - 1], xs[idx]
    w = ((x_query - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return (1 - w) * us[idx - 1] + w * us[idx]


class LPINN(PhysicsModel):
    """Two-branch Lagrangian PINN: (x0, t) (n, 2) -> (x_L, u_L) (n, 2).

    Args:
        problem: ``convection`` or ``burgers1d`` (``problems.create``).
        hidden: hidden widths of each tanh branch (ignored for a branch given as ``net_x`` / ``net_u``).
        n_interior, n_boundary, n_initial, resample_every, seed: collocation as in :class:`PINN`.
        n_eval: x0 grid size used to map back to Eulerian points in :meth:`predict`.
    """

    def __init__(self, problem: Problem, *, hidden: Sequence[int] = (64, 64, 64), net_x: nn.Module | None = None,
                 net_u: nn.Module | None = None, n_interior: int = 2000, n_boundary: int = 200,
                 n_initial: int = 200, resample_every: int = 0, n_eval: int = 1024, seed: int = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if isinstance(problem, Problem) and problem.name not in SUPPORTED:
            raise ValueError(f"problem: LPINN supports {list(SUPPORTED)} (1-D convection/Burgers), "
                             f"got {problem.name!r}")
        self._setup_points(problem, n_interior, n_boundary, n_initial, resample_every, seed)
        self.n_eval = check_int("n_eval", n_eval, min_value=8)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net_x = net_x if net_x is not None else MLP([2, *hidden, 1])
            self.net_u = net_u if net_u is not None else MLP([2, *hidden, 1])
        if problem.name == "convection":
            self.speed_const, self.nu = problem.params["beta"], 0.0
        else:
            self.speed_const, self.nu = None, problem.params["nu"]
        # the x branch predicts the displacement in units of the largest one expected (|speed| * duration)
        duration = problem.time[1] - problem.time[0]  # type: ignore[index]
        speed = abs(self.speed_const) if self.speed_const is not None else 1.0
        self.displacement_scale = max((problem.space[0][1] - problem.space[0][0]) / 2, speed * duration)
        self.to(device=device, dtype=dtype)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """Lagrangian points (x0, t): (n, 2) -> (x_L, u_L): (n, 2)."""
        check_tensor("points", points, ndim=2, last_dim=2)
        z = self.normalize(points)
        x_l = points[:, :1] + self.displacement_scale * self.net_x(z)
        return torch.cat([x_l, self.net_u(z)], dim=1)

    def _residuals(self, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = AutogradDerivatives(self, pts)
        u = d.u[:, 1:]
        speed = u if self.speed_const is None else self.speed_const
        r_x = d(1)[:, :1] - speed
        if self.nu == 0.0:
            return r_x, d(1)[:, 1:]
        jac = d(0)[:, :1]
        u_x = d(0)[:, 1:] / jac
        (du_x,) = torch.autograd.grad(u_x.sum(), d.x, create_graph=True)
        return r_x, d(1)[:, 1:] - self.nu * du_x[:, :1] / jac

    def loss(self, *_: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Characteristic + state residuals, initial and boundary losses; ``fit(m, objective=m.loss)``."""
        pts = self.collocation()
        r_x, r_u = self._residuals(pts["interior"])
        res_x, res_u = r_x.pow(2).mean(), r_u.pow(2).mean()
        p0 = pts["initial"]
        out0 = self(p0)
        ini = (out0[:, :1] - p0[:, :1]).pow(2).mean() + (out0[:, 1:] - self.problem.initial[0][1](p0)).pow(2).mean()
        lo, hi = self.problem.space[0]
        pb = pts["boundary"]
        left, right = pb.clone(), pb.clone()
        left[:, 0], right[:, 0] = lo, hi
        ol, orr = self(left), self(right)
        if self.problem.boundary == "periodic":
            bnd = (orr[:, :1] - ol[:, :1] - (hi - lo)).pow(2).mean() + (orr[:, 1:] - ol[:, 1:]).pow(2).mean()
        else:
            bnd = ((ol[:, :1] - lo).pow(2) + (orr[:, :1] - hi).pow(2) + ol[:, 1:].pow(2) + orr[:, 1:].pow(2)).mean()
        self.evaluations += 1
        total = res_x + res_u + ini + bnd
        return total, {"residual_x": float(res_x.detach()), "residual_u": float(res_u.detach()),
                       "initial": float(ini.detach()), "boundary": float(bnd.detach())}

    def lagrangian(self, t: float, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x_L and u_L on an x0 grid of ``n`` (default ``n_eval``) points at time t: (n,), (n,)."""
        lo, hi = self.problem.space[0]
        n = n or self.n_eval
        periodic = self.problem.boundary == "periodic"
        x0 = torch.linspace(lo, hi, n + periodic, dtype=self.lower.dtype, device=self.lower.device)[:n]
        pts = torch.stack([x0, torch.full_like(x0, t)], dim=1)
        with torch.no_grad():
            out = self(pts)
        return out[:, 0], out[:, 1]

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        """Eulerian u at points (x, t) (n, 2) -> (n, 1), by interpolation along the characteristics."""
        self.problem.check_points(points)
        points = points.to(self.lower.device, self.lower.dtype)
        out = torch.empty(points.shape[0], 1, dtype=points.dtype, device=points.device)
        period = self.problem.space[0] if self.problem.boundary == "periodic" else None
        times, inverse = torch.unique(points[:, 1], return_inverse=True)
        for k, t in enumerate(times.tolist()):
            mask = inverse == k
            x_l, u_l = self.lagrangian(t)
            out[mask, 0] = lagrangian_to_eulerian(x_l, u_l, points[mask, 0], period)
        return out

    def extra_repr(self) -> str:
        return (f"problem={self.problem.name}, n_interior={self.n_interior}, n_eval={self.n_eval}, "
                f"displacement_scale={self.displacement_scale:g}")
