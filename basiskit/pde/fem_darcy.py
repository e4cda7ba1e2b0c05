r"""Darcy / Poisson problems on triangle meshes, solved with scikit-fem P1 (or P2) finite elements.

.. math::  -\nabla\cdot(a(x)\nabla u) = f \ \text{in}\ \Omega, \qquad u = g \ \text{on}\ \partial\Omega,

on the L-shaped domain :math:`[-1, 1]^2 \setminus (0, 1]^2` (scikit-fem's ``MeshTri.init_lshaped``,
re-entrant corner at the origin) or the unit square (``MeshTri.init_sqsymmetric``), uniformly refined. ``a = 1``
is Poisson. The data generator draws log-normal coefficients :math:`a = e^{\psi}` from a truncated cosine series
on the domain's bounding box,

.. math::  \psi(x) = \sigma \sum_{0 \le i, j < K} (\pi^2 (i^2 + j^2)/L^2 + \tau^2)^{-\alpha/2}\, \xi_{ij}
           \cos(\pi i (x_1 - x_{1,0})/L) \cos(\pi j (x_2 - x_{2,0})/L), \qquad \xi_{ij} \sim N(0, 1),

the Karhunen-Loève series of :math:`N(0, \sigma^2(-\Delta + \tau^2)^{-\alpha})` with Neumann modes (the FNO
paper's Darcy prior, :math:`\alpha = 2, \tau = 3`, without its thresholding). A coefficient is a function of
the point, not of a mesh, so one draw is evaluated on every refinement of a mesh (the resolution study of the
``spon`` recipe). The stiffness matrix integrates :math:`a` at the quadrature points (exact coefficient, no
interpolation); Dirichlet values are imposed on every boundary degree of freedom by condensation.

scikit-fem is the optional extra ``fem`` (``pip install basiskit[fem]``); it is imported inside functions so
``import basiskit`` works without it. This module writes no mesh generator: meshes are scikit-fem's, refined.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from .._validation import check_choice, check_float, check_int

DOMAINS = ("lshape", "square")
ELEMENTS = ("P1", "P2")


def require_skfem() -> Any:
    """Import and return the ``skfem`` module, or raise ImportError saying how to install it."""
    try:
        import skfem
    except ImportError as err:  # pragma: no cover - the extra is installed where the tests run
        raise ImportError("finite-element meshes and assembly need scikit-fem: pip install basiskit[fem]") from err
    return skfem


def fe_mesh(domain: str = "lshape", refine: int = 4) -> Any:
    """scikit-fem's triangle mesh of ``domain`` ("lshape": 8 nodes before refinement, "square": 9), refined
    ``refine`` times (each refinement splits every triangle in four, halving the mesh size)."""
    check_choice("domain", domain, DOMAINS)
    check_int("refine", refine, min_value=0, max_value=8)
    skfem = require_skfem()
    mesh = skfem.MeshTri.init_lshaped() if domain == "lshape" else skfem.MeshTri.init_sqsymmetric()
    return mesh.refined(refine) if refine > 0 else mesh


def fe_basis(mesh: Any, element: str = "P1") -> Any:
    """A scikit-fem ``Basis`` of Lagrange ``element`` ("P1" or "P2") on the triangle ``mesh``."""
    check_choice("element", element, ELEMENTS)
    skfem = require_skfem()
    return skfem.Basis(mesh, skfem.ElementTriP1() if element == "P1" else skfem.ElementTriP2())


def boundary_dofs(basis: Any) -> np.ndarray:
    """Indices (sorted) of the degrees of freedom on the boundary of ``basis``'s mesh."""
    return np.sort(np.asarray(basis.get_dofs().flatten(), dtype=np.int64))


class CoefficientField:
    r"""Draws of :math:`\psi` (see the module docstring) as a function of the point: ``field(points)`` with
    ``points`` (n_points, 2) returns :math:`\psi` (n_draws, n_points); ``a = exp(psi)``.

    Args:
        weights: (n_draws, K, K) series weights :math:`\sigma\lambda_{ij}^{1/2}\xi_{ij}`.
        origin, length: the bounding box's lower-left corner and side :math:`L`.
    """

    def __init__(self, weights: torch.Tensor, origin: tuple[float, float] = (-1.0, -1.0), length: float = 2.0):
        if weights.ndim != 3 or weights.shape[1] != weights.shape[2]:
            raise ValueError(f"weights must have shape (n_draws, K, K), got {tuple(weights.shape)}")
        self.weights = weights.to(torch.float64)
        self.origin = origin
        self.length = check_float("length", length, min_value=1e-12)

    @classmethod
    def sample(cls, n: int, *, modes: int = 12, alpha: float = 2.0, tau: float = 3.0, sigma: float = 1.0,
               seed: int = 0, origin: tuple[float, float] = (-1.0, -1.0), length: float = 2.0
               ) -> CoefficientField:
        """``n`` independent draws with ``modes`` x ``modes`` cosine modes, seeded by ``seed``."""
        check_int("n", n, min_value=1)
        check_int("modes", modes, min_value=1)
        check_float("alpha", alpha, min_value=0.0)
        check_float("tau", tau, min_value=0.0)
        check_float("sigma", sigma, min_value=0.0)
        k = torch.arange(modes, dtype=torch.float64)
        mu = math.pi ** 2 * (k[:, None] ** 2 + k[None, :] ** 2) / length ** 2
        lam_sqrt = (mu + tau ** 2).clamp_min(1e-300) ** (-alpha / 2)
        gen = torch.Generator().manual_seed(int(seed))
        xi = torch.randn(n, modes, modes, generator=gen, dtype=torch.float64)
        return cls(sigma * lam_sqrt * xi, origin, length)

    def __len__(self) -> int:
        return self.weights.shape[0]

    def __getitem__(self, index: slice | torch.Tensor) -> CoefficientField:
        return CoefficientField(self.weights[index], self.origin, self.length)

    def __call__(self, points: torch.Tensor | np.ndarray) -> torch.Tensor:
        pts = torch.as_tensor(np.asarray(points), dtype=torch.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must have shape (n_points, 2), got {tuple(pts.shape)}")
        k = torch.arange(self.weights.shape[1], dtype=torch.float64) * math.pi / self.length
        cx = torch.cos((pts[:, :1] - self.origin[0]) * k)  # (n_points, K)
        cy = torch.cos((pts[:, 1:] - self.origin[1]) * k)
        return torch.einsum("pi,nij,pj->np", cx, self.weights, cy)


def darcy_solve(basis: Any, coefficient: np.ndarray | float = 1.0, source: np.ndarray | float = 1.0,
                dirichlet: Callable[[np.ndarray], np.ndarray] | None = None,
                dirichlet_on: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    r"""Solve :math:`-\nabla\cdot(a\nabla u) = f`, :math:`u = g` on the boundary, in ``basis``'s space.

    Args:
        coefficient: :math:`a > 0` at the quadrature points, shape (n_elements, n_quadrature), or a constant.
        source: :math:`f` at the quadrature points, same shape, or a constant.
        dirichlet: :math:`g`, mapping points (2, n) to values (n,); None means :math:`g = 0`.
        dirichlet_on: where the Dirichlet condition holds, a predicate on boundary points (2, n) -> (n,) bool;
            the rest of the boundary gets the natural condition, zero flux :math:`a\,\partial u/\partial n = 0`.
            None: the whole boundary is Dirichlet.
    Returns the degrees of freedom of :math:`u`, shape (n_dofs,); Dirichlet ones equal :math:`g` exactly.
    """
    skfem = require_skfem()
    from skfem.helpers import dot, grad

    quad_shape = (basis.nelems, basis.X.shape[1])
    a = np.broadcast_to(np.asarray(coefficient, dtype=np.float64), quad_shape)
    f = np.broadcast_to(np.asarray(source, dtype=np.float64), quad_shape)
    if not np.all(np.isfinite(a)) or a.min() <= 0:
        raise ValueError("coefficient must be finite and > 0 at every quadrature point, got min "
                         f"{float(np.nanmin(a)):.3g}")

    @skfem.BilinearForm
    def stiffness(u: Any, v: Any, w: Any) -> Any:
        return w["a"] * dot(grad(u), grad(v))

    @skfem.LinearForm
    def load(v: Any, w: Any) -> Any:
        return w["f"] * v

    matrix = stiffness.assemble(basis, a=np.ascontiguousarray(a))
    rhs = load.assemble(basis, f=np.ascontiguousarray(f))
    dofs = boundary_dofs(basis)
    if dirichlet_on is not None:
        dofs = dofs[np.asarray(dirichlet_on(basis.doflocs[:, dofs]), dtype=bool)]
        if dofs.size == 0:
            raise ValueError("dirichlet_on selects no boundary degree of freedom: a pure Neumann problem has no "
                             "unique solution")
    u = np.zeros(basis.N)
    if dirichlet is not None:
        u[dofs] = np.asarray(dirichlet(basis.doflocs[:, dofs]), dtype=np.float64)
    return skfem.solve(*skfem.condense(matrix, rhs, x=u, D=dofs))


class DarcyFEData(NamedTuple):
    """Samples of the Darcy problem on one mesh: ``log_coefficient`` :math:`\\psi` at the degrees of freedom
    (n, n_dofs), ``solution`` u (n, n_dofs), ``dof_coords`` (n_dofs, 2), ``boundary`` (n_boundary,) indices,
    ``boundary_values`` g there (n_boundary,), the scikit-fem ``basis``, and the drawn ``field``."""

    log_coefficient: torch.Tensor
    solution: torch.Tensor
    dof_coords: torch.Tensor
    boundary: torch.Tensor
    boundary_values: torch.Tensor
    basis: Any
    field: CoefficientField


def harmonic_boundary(points: np.ndarray) -> np.ndarray:
    """The default Dirichlet data :math:`g = (x_1^2 - x_2^2)/10` (harmonic, so it is also the solution for
    :math:`a = 1, f = 0`); ``points`` (2, n) -> (n,)."""
    return 0.1 * (points[0] ** 2 - points[1] ** 2)


def darcy_fe_data(field: CoefficientField, basis: Any, *, source: float = 1.0,
                  dirichlet: Callable[[np.ndarray], np.ndarray] | None = harmonic_boundary,
                  progress: Callable[[Any], Any] | None = None) -> DarcyFEData:
    """Solve the Darcy problem for every draw of ``field`` (coefficient :math:`e^\\psi`) in ``basis``'s space
    (one sparse solve each). ``progress`` wraps the loop over draws (e.g. a progress bar)."""
    x_quad = np.asarray(basis.global_coordinates())  # (2, n_elements, n_quadrature)
    pts_quad = np.stack([x_quad[0].ravel(), x_quad[1].ravel()], axis=1)
    psi_quad = field(pts_quad).numpy().reshape(len(field), *x_quad.shape[1:])
    dof_coords = torch.as_tensor(basis.doflocs.T.copy(), dtype=torch.float64)
    psi_dofs = field(dof_coords)
    draws = range(len(field))
    solutions = [darcy_solve(basis, np.exp(psi_quad[i]), source, dirichlet)
                 for i in (progress(draws) if progress is not None else draws)]
    dofs = boundary_dofs(basis)
    g = (np.asarray(dirichlet(basis.doflocs[:, dofs]), dtype=np.float64) if dirichlet is not None
         else np.zeros(len(dofs)))
    return DarcyFEData(psi_dofs, torch.as_tensor(np.stack(solutions)), dof_coords, torch.as_tensor(dofs),
                       torch.as_tensor(g), basis, field)
