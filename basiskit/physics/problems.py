r"""The catalogue of registered PDE problems (``PROBLEMS``): ``create("convection", beta=50)`` builds one by name.

:class:`~basiskit.physics.problem.Problem` and the registry live in :mod:`basiskit.physics.problem`; this module
holds the problems themselves (Helmholtz, Poisson, convection, Klein-Gordon, flow mixing, Allen-Cahn, Burgers,
Kovasznay), each with its exact solution or a reference one, and re-exports the registry so that
``from basiskit.physics.problems import Problem, create`` keeps working.
"""
from __future__ import annotations

import functools
import math

import torch

from .._validation import check_float, check_int
from ..pde.allen_cahn import allen_cahn_etdrk4, fourier_linear_interp
from .derivatives import Derivatives
from .problem import (
    PROBLEMS,
    Equation,
    Field,
    Problem,
    _col,
    create,
    names,
    register_problem,
)

__all__ = ["PROBLEMS", "Equation", "Field", "Problem", "create", "names", "register_problem"]


# ---- the registered problems ---------------------------------------------------------------------
@register_problem("helmholtz2d", summary="u_xx + u_yy + u = q on [-1,1]^2, exact sin(a1 pi y) sin(a2 pi x)")
def helmholtz2d(a1: float = 4.0, a2: float = 1.0) -> Problem:
    r"""Helmholtz with k = 1 and the source that makes :math:`\sin(a_1 \pi y)\sin(a_2 \pi x)` exact (PIG: (4, 1))."""
    a1, a2 = check_float("a1", a1), check_float("a2", a2)

    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(a1 * math.pi * _col(p, 1)) * torch.sin(a2 * math.pi * _col(p, 0))

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        q = (1 - (p["a1"] * math.pi) ** 2 - (p["a2"] * math.pi) ** 2) * exact(d.x)
        return d(0, 0) + d(1, 1) + d.u - q

    return Problem("helmholtz2d", [(-1, 1), (-1, 1)], None, equation, exact=exact,
                   params={"a1": a1, "a2": a2}, test_sizes=(101, 101))


@register_problem("poisson1d_multiscale", summary="u_xx = f on [0,1], exact sin 2pi x + 0.1 sin 50pi x")
def poisson1d_multiscale() -> Problem:
    """Two scales, the high one the part plain PINNs miss (spectral bias)."""
    def exact(p: torch.Tensor) -> torch.Tensor:
        x = _col(p, 0)
        return torch.sin(2 * math.pi * x) + 0.1 * torch.sin(50 * math.pi * x)

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        x = _col(d.x, 0)
        f = -(2 * math.pi) ** 2 * torch.sin(2 * math.pi * x) - 0.1 * (50 * math.pi) ** 2 * torch.sin(50 * math.pi * x)
        return d(0, 0) - f

    return Problem("poisson1d_multiscale", [(0, 1)], None, equation, exact=exact, test_sizes=(2001,))


@register_problem("poisson1d_sin", summary="u_xx = -k^2 sin kx on [0, 2pi], exact sin kx")
def poisson1d_sin(k: float = 1.0) -> Problem:
    k = check_float("k", k, min_value=0.0, strict_min=True)

    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(k * _col(p, 0))

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        return d(0, 0) + p["k"] ** 2 * exact(d.x)

    n = max(256, int(20 * k) + 1)
    return Problem("poisson1d_sin", [(0, 2 * math.pi)], None, equation, exact=exact, params={"k": k},
                   test_sizes=(n,))


@register_problem("poisson2d_sin", summary="u_xx + u_yy = -2k^2 sin kx sin ky on [0, 2pi]^2")
def poisson2d_sin(k: float = 1.0) -> Problem:
    k = check_float("k", k, min_value=0.0, strict_min=True)

    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(k * _col(p, 0)) * torch.sin(k * _col(p, 1))

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        return d(0, 0) + d(1, 1) + 2 * p["k"] ** 2 * exact(d.x)

    n = max(101, int(8 * k) + 1)
    return Problem("poisson2d_sin", [(0, 2 * math.pi)] * 2, None, equation, exact=exact, params={"k": k},
                   test_sizes=(n, n))


@register_problem("convection", summary="u_t + beta u_x = 0, periodic on [0,2pi] x [0,1], exact sin(x - beta t)")
def convection(beta: float = 30.0) -> Problem:
    beta = check_float("beta", beta)

    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(_col(p, 0) - beta * _col(p, 1))

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        return d(1) + p["beta"] * d(0)

    return Problem("convection", [(0, 2 * math.pi)], (0, 1), equation, exact=exact, boundary="periodic",
                   initial=[(0, exact)], order=1, params={"beta": beta}, test_sizes=(256, 101))


@register_problem("klein_gordon", summary="u_tt - u_xx + u^3 = f on [0,1]^2, exact x cos(5 pi t) + (x t)^3")
def klein_gordon() -> Problem:
    """Nonlinear Klein-Gordon of Wang, Teng & Perdikaris (2021) with its manufactured solution."""
    def exact(p: torch.Tensor) -> torch.Tensor:
        x, t = _col(p, 0), _col(p, 1)
        return x * torch.cos(5 * math.pi * t) + (x * t) ** 3

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        x, t = _col(d.x, 0), _col(d.x, 1)
        u_tt = -25 * math.pi ** 2 * x * torch.cos(5 * math.pi * t) + 6 * x ** 3 * t
        u_xx = 6 * x * t ** 3
        f = u_tt - u_xx + exact(d.x) ** 3
        return d(1, 1) - d(0, 0) + d.u ** 3 - f

    return Problem("klein_gordon", [(0, 1)], (0, 1), equation, exact=exact,
                   initial=[(0, exact), (1, lambda p: torch.zeros_like(p[:, :1]))], test_sizes=(101, 101))


_VT_MAX = 0.385


def _flow_omega(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Angular speed v_t / (r v_t,max), v_t = sech^2(r) tanh(r); smooth at r = 0 (tanh(r)/r -> 1)."""
    r = torch.sqrt(x ** 2 + y ** 2 + 1e-30)
    return torch.cosh(r) ** -2 * (torch.tanh(r) / r) / _VT_MAX


@register_problem("flow_mixing", summary="u_t + a u_x + b u_y = 0 on [-4,4]^2 x [0,4], vortex flow mixing")
def flow_mixing() -> Problem:
    r"""2-D vortex mixing (used by PIG): :math:`u = -\tanh(\frac{y}{2}\cos\omega t - \frac{x}{2}\sin\omega t)`."""
    def exact(p: torch.Tensor) -> torch.Tensor:
        x, y, t = _col(p, 0), _col(p, 1), _col(p, 2)
        w = _flow_omega(x, y)
        return -torch.tanh(y / 2 * torch.cos(w * t) - x / 2 * torch.sin(w * t))

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        x, y = _col(d.x, 0), _col(d.x, 1)
        w = _flow_omega(x, y)
        return d(2) - y * w * d(0) + x * w * d(1)

    return Problem("flow_mixing", [(-4, 4), (-4, 4)], (0, 4), equation, exact=exact, initial=[(0, exact)],
                   order=1, test_sizes=(51, 51, 21))


@functools.lru_cache(maxsize=2)
def _allen_cahn_reference(n_x: int, dt: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return allen_cahn_etdrk4(n_x=n_x, dt=dt, t_final=1.0, n_t=201)


@register_problem("allen_cahn", summary="u_t - 1e-4 u_xx + 5u^3 - 5u = 0, periodic, reference by ETDRK4")
def allen_cahn(n_x: int = 512, dt: float = 1e-4) -> Problem:
    """Allen-Cahn as in Raissi et al. (2019); reference from :func:`basiskit.pde.allen_cahn_etdrk4`
    (``n_x``, ``dt``) on its (n_x, 201) grid; off-grid values are interpolated (Fourier in x, linear in t)."""
    check_int("n_x", n_x, min_value=16)
    check_float("dt", dt, min_value=0.0, strict_min=True)

    def reference(p: torch.Tensor) -> torch.Tensor:
        _, t_g, u_g = _allen_cahn_reference(n_x, dt)
        return fourier_linear_interp(p[:, 0], p[:, 1], u_g, -1.0, 2.0, t_g).unsqueeze(1)

    def grid() -> tuple[torch.Tensor, tuple[int, ...]]:
        x_g, t_g, _ = _allen_cahn_reference(n_x, dt)
        pts = torch.stack(torch.meshgrid(x_g, t_g, indexing="ij"), -1).reshape(-1, 2)
        return pts.to(torch.get_default_dtype()), (len(x_g), len(t_g))

    def u0(p: torch.Tensor) -> torch.Tensor:
        x = _col(p, 0)
        return x ** 2 * torch.cos(math.pi * x)

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        return d(1) - 1e-4 * d(0, 0) + 5 * d.u ** 3 - 5 * d.u

    return Problem("allen_cahn", [(-1, 1)], (0, 1), equation, reference=reference, reference_grid=grid,
                   boundary="periodic", initial=[(0, u0)], params={"n_x": n_x, "dt": dt})


@register_problem("burgers1d", summary="u_t + u u_x = (0.01/pi) u_xx on [-1,1] x [0,1], Cole-Hopf reference")
def burgers1d(nu: float = 0.01 / math.pi, n_quad: int = 200) -> Problem:
    """Viscous Burgers with u0 = -sin(pi x), u(+-1) = 0; reference :func:`basiskit.pde.burgers_sine_exact`
    on the (256, 100) grid of the published data set."""
    nu = check_float("nu", nu, min_value=0.0, strict_min=True)
    check_int("n_quad", n_quad, min_value=2, max_value=300)

    def reference(p: torch.Tensor) -> torch.Tensor:
        from ..pde.burgers_exact import burgers_sine_exact

        return burgers_sine_exact(p[:, 0], p[:, 1], nu=nu, n_quad=n_quad).unsqueeze(1)

    def grid() -> tuple[torch.Tensor, tuple[int, ...]]:
        x = torch.linspace(-1, 1, 256)
        t = torch.arange(100) / 100.0
        return torch.stack(torch.meshgrid(x, t, indexing="ij"), -1).reshape(-1, 2), (256, 100)

    def u0(p: torch.Tensor) -> torch.Tensor:
        return -torch.sin(math.pi * _col(p, 0))

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        return d(1) + d.u * d(0) - p["nu"] * d(0, 0)

    return Problem("burgers1d", [(-1, 1)], (0, 1), equation, reference=reference, reference_grid=grid,
                   boundary_value=lambda p: torch.zeros_like(p[:, :1]), initial=[(0, u0)], params={"nu": nu})



@register_problem("kovasznay", summary="steady Navier-Stokes, (u, v, p) on [-0.5,1] x [-0.5,1.5], Kovasznay's exact flow")
def kovasznay(re: float = 20.0) -> Problem:
    r"""Kovasznay (1948) flow behind a grid, a system of three equations in (u, v, p) (DeepXDE's example, Re = 20):

    .. math::
        u u_x + v u_y + p_x - \tfrac{1}{Re}(u_{xx} + u_{yy}) = 0, \quad
        u v_x + v v_y + p_y - \tfrac{1}{Re}(v_{xx} + v_{yy}) = 0, \quad u_x + v_y = 0,

    exact :math:`u = 1 - e^{\lambda x}\cos 2\pi y`, :math:`v = \frac{\lambda}{2\pi} e^{\lambda x}\sin 2\pi y`,
    :math:`p = \frac12 (1 - e^{2\lambda x})`, :math:`\lambda = \frac{Re}{2} - \sqrt{\frac{Re^2}{4} + 4\pi^2}`.
    Dirichlet data prescribe (u, v) on the whole boundary; the pressure is fixed only up to a constant, so errors
    on p are measured after removing the mean (velocity errors: ``relative_l2(fn, channels=(0, 1))``).
    ``p["re"]`` may be an unknown.
    """
    re = check_float("re", re, min_value=0.0, strict_min=True)
    lam = re / 2 - math.sqrt(re ** 2 / 4 + 4 * math.pi ** 2)

    def exact(pts: torch.Tensor) -> torch.Tensor:
        x, y = _col(pts, 0), _col(pts, 1)
        e = torch.exp(lam * x)
        return torch.cat([1 - e * torch.cos(2 * math.pi * y), lam / (2 * math.pi) * e * torch.sin(2 * math.pi * y),
                          0.5 * (1 - e ** 2)], dim=1)

    def equation(d: Derivatives, p: dict[str, torch.Tensor]) -> torch.Tensor:
        u, v = d.u[:, :1], d.u[:, 1:2]
        dx, dy, dxx, dyy = d(0), d(1), d(0, 0), d(1, 1)  # (n, 3) each: all three channels at once
        momentum = u * dx[:, :2] + v * dy[:, :2] + torch.cat([dx[:, 2:], dy[:, 2:]], 1) - (dxx + dyy)[:, :2] / p["re"]
        return torch.cat([momentum, dx[:, :1] + dy[:, 1:2]], dim=1)

    return Problem("kovasznay", [(-0.5, 1.0), (-0.5, 1.5)], None, equation, exact=exact, params={"re": re},
                   outputs=3, output_names=("u", "v", "p"), boundary_channels=(0, 1), test_sizes=(101, 101))
