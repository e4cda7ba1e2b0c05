r"""Finite-element function spaces for operator learning: the encoder and decoder of a SPON.

A :class:`FESpace` is a Lagrange space :math:`V_h` (P1 or P2 on a scikit-fem triangle mesh) with the tensors an
operator needs: degree-of-freedom coordinates, boundary degrees of freedom, the mass matrix
:math:`M_{ij} = \int \phi_i\phi_j`, quadrature points and weights, and the basis values there.

* Encoder: the Galerkin (:math:`L^2`) projection :math:`P_h f \in V_h`, the solution of
  :math:`\int P_h f\, \phi_i = \int f \phi_i` for all :math:`i`, i.e. :math:`c = M^{-1} b` with
  :math:`b_i = \sum_q w_q f(x_q)\phi_i(x_q)`. On a function of :math:`V_h` it is the identity (up to the
  quadrature, exact for P1 and P2 products at the degree used here).
* Decoder: the basis expansion :math:`u_h(x) = \sum_i c_i \phi_i(x)`, evaluated at quadrature points or any
  points of the mesh.

The mass solve is a custom autograd function (``MassSolve``: M is symmetric, so the backward is the same solve)
on a sparse LU factorisation, so the encoder is differentiable end to end. scikit-fem is imported inside
functions (the extra ``fem``: ``pip install basiskit[fem]``).

Bouziani & Boullé 2024, "Structure-preserving operator learning" (SPON), section 3.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._validation import check_choice
from ..pde.fem_darcy import ELEMENTS, boundary_dofs, fe_basis, require_skfem


def _sparse(matrix: Any, dtype: torch.dtype) -> torch.Tensor:
    coo = matrix.tocoo()
    idx = torch.as_tensor(np.vstack([coo.row, coo.col]), dtype=torch.int64)
    values = torch.as_tensor(coo.data, dtype=dtype)
    return torch.sparse_coo_tensor(idx, values, coo.shape, check_invariants=False).coalesce()


class MassSolve(torch.autograd.Function):
    """``x = M^{-1} b`` for a symmetric positive definite sparse ``M`` given by its scipy LU ``factor``;
    ``b`` (n, k). Backward: ``grad_b = M^{-1} grad_x`` (M is symmetric)."""

    @staticmethod
    def forward(ctx: Any, b: torch.Tensor, factor: Any) -> torch.Tensor:  # type: ignore[override]
        ctx.factor = factor
        return _lu_solve(factor, b)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return _lu_solve(ctx.factor, grad), None


def _lu_solve(factor: Any, b: torch.Tensor) -> torch.Tensor:
    x = factor.solve(b.detach().cpu().to(torch.float64).numpy())
    return torch.as_tensor(x, dtype=b.dtype, device=b.device)


class FESpace:
    r"""A P1 or P2 Lagrange space on a scikit-fem triangle mesh, as tensors.

    Args:
        mesh: a ``skfem.MeshTri`` (e.g. ``basiskit.pde.fem_darcy.fe_mesh("lshape", 4)``).
        element: "P1" or "P2".
        dtype: floating dtype of the tensors (float32 for training, float64 for exact checks).

    Attributes: ``n_dofs``; ``dof_coords`` (n_dofs, 2); ``boundary`` (n_boundary,) sorted indices and
    ``boundary_mask`` (n_dofs,) bool; ``mass`` sparse (n_dofs, n_dofs); ``quad_points`` (n_quad, 2),
    ``quad_weights`` (n_quad,), ``quad_basis`` sparse (n_quad, n_dofs) with entries :math:`\phi_j(x_q)`;
    ``basis``: the scikit-fem basis.
    """

    def __init__(self, mesh: Any, element: str = "P1", dtype: torch.dtype = torch.float32) -> None:
        check_choice("element", element, ELEMENTS)
        skfem = require_skfem()
        from scipy.sparse import coo_matrix
        from scipy.sparse.linalg import splu

        self.element, self.dtype, self.mesh = element, dtype, mesh
        self.basis = fe_basis(mesh, element)
        self.n_dofs = int(self.basis.N)
        self.dof_coords = torch.as_tensor(self.basis.doflocs.T.copy(), dtype=dtype)
        self.boundary = torch.as_tensor(boundary_dofs(self.basis))
        self.boundary_mask = torch.zeros(self.n_dofs, dtype=torch.bool)
        self.boundary_mask[self.boundary] = True
        mass = skfem.BilinearForm(lambda u, v, w: u * v).assemble(self.basis).tocsc()
        self._factor = splu(mass)
        self.mass = _sparse(mass, dtype)
        # quadrature: points x_q, weights w_q = |det J| * reference weight, basis values phi_j(x_q)
        x = np.asarray(self.basis.global_coordinates())  # (2, n_elements, n_qp)
        n_el, n_qp = x.shape[1:]
        self.quad_points = torch.as_tensor(np.stack([x[0].ravel(), x[1].ravel()], axis=1), dtype=dtype)
        self.quad_weights = torch.as_tensor(np.asarray(self.basis.dx).ravel(), dtype=dtype)
        rows, cols, vals = [], [], []
        q_index = np.arange(n_el * n_qp).reshape(n_el, n_qp)
        for j in range(self.basis.Nbfun):
            rows.append(q_index)
            cols.append(np.repeat(self.basis.element_dofs[j][:, None], n_qp, axis=1))
            vals.append(np.asarray(self.basis.basis[j][0]))
        phi = coo_matrix((np.concatenate(vals, axis=None), (np.concatenate(rows, axis=None),
                                                             np.concatenate(cols, axis=None))),
                         shape=(n_el * n_qp, self.n_dofs)).tocsr()
        self.quad_basis = _sparse(phi, dtype)

    def __repr__(self) -> str:
        return (f"FESpace({self.element}, n_dofs={self.n_dofs}, n_boundary={len(self.boundary)}, "
                f"n_quad={len(self.quad_weights)})")

    def check_dofs(self, arg: str, coeffs: torch.Tensor) -> torch.Tensor:
        """Raise ValueError unless ``coeffs`` has ``n_dofs`` entries in its last dim."""
        if not isinstance(coeffs, torch.Tensor) or coeffs.ndim == 0 or coeffs.shape[-1] != self.n_dofs:
            shape = tuple(coeffs.shape) if isinstance(coeffs, torch.Tensor) else type(coeffs).__name__
            raise ValueError(f"{arg} must have {self.n_dofs} values (one per degree of freedom of this "
                             f"{self.element} space) in its last dim, got shape {shape}")
        return coeffs

    def solve_mass(self, rhs: torch.Tensor) -> torch.Tensor:
        """:math:`M^{-1} b` for ``rhs`` (..., n_dofs), differentiable (``MassSolve``)."""
        self.check_dofs("rhs", rhs)
        flat = rhs.reshape(-1, self.n_dofs).T
        return MassSolve.apply(flat, self._factor).T.reshape(rhs.shape)

    def load_vector(self, quad_values: torch.Tensor) -> torch.Tensor:
        r""":math:`b_i = \sum_q w_q f(x_q)\phi_i(x_q)` for ``quad_values`` (..., n_quad) -> (..., n_dofs)."""
        n_quad = self.quad_weights.shape[0]
        if quad_values.shape[-1] != n_quad:
            raise ValueError(f"quad_values must have {n_quad} values (one per quadrature point) in its last dim, "
                             f"got shape {tuple(quad_values.shape)}")
        flat = (quad_values * self.quad_weights.to(quad_values)).reshape(-1, n_quad)
        return torch.sparse.mm(self.quad_basis.to(quad_values).t(), flat.T).T.reshape(*quad_values.shape[:-1],
                                                                                       self.n_dofs)

    def project(self, f: Callable[[torch.Tensor], torch.Tensor] | torch.Tensor) -> torch.Tensor:
        r"""The encoder: Galerkin projection :math:`c = M^{-1} b` of ``f``, a callable on points (n, 2) -> (..., n)
        or its values at the quadrature points (..., n_quad); returns (..., n_dofs)."""
        values = f(self.quad_points) if callable(f) else f
        return self.solve_mass(self.load_vector(torch.as_tensor(values).to(self.dtype)))

    def interpolate(self, f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Nodal interpolation: ``f`` at the degree-of-freedom coordinates, (..., n_dofs)."""
        return torch.as_tensor(f(self.dof_coords)).to(self.dtype)

    def evaluate(self, coeffs: torch.Tensor, points: torch.Tensor | np.ndarray | None = None) -> torch.Tensor:
        r"""The decoder: :math:`u_h = \sum_j c_j \phi_j` at the quadrature points (``points=None``) or at
        ``points`` (n, 2) inside the mesh; ``coeffs`` (..., n_dofs) -> (..., n_points)."""
        self.check_dofs("coeffs", coeffs)
        if points is None:
            matrix = self.quad_basis
        else:
            pts = np.asarray(torch.as_tensor(points).detach().cpu(), dtype=np.float64)
            if pts.ndim != 2 or pts.shape[1] != 2:
                raise ValueError(f"points must have shape (n_points, 2), got {pts.shape}")
            matrix = _sparse(self.basis.probes(pts.T), self.dtype)
        flat = coeffs.reshape(-1, self.n_dofs)
        out = torch.sparse.mm(matrix.to(coeffs), flat.T).T
        return out.reshape(*coeffs.shape[:-1], matrix.shape[0])

    def inner(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        r""":math:`\int u_h v_h = u^T M v` over the last dim; ``u``, ``v`` (..., n_dofs) -> (...)."""
        self.check_dofs("u", u)
        self.check_dofs("v", v)
        flat = v.reshape(-1, self.n_dofs)
        mv = torch.sparse.mm(self.mass.to(v), flat.T).T.reshape(v.shape)
        return (u * mv).sum(-1)

    def norm(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\|u_h\|_{L^2} = (u^T M u)^{1/2}`; (..., n_dofs) -> (...)."""
        return self.inner(u, u).clamp_min(0).sqrt()

    def relative_l2(self, pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        r"""Mean over leading dims of :math:`\|u_h - v_h\|_{L^2} / \|v_h\|_{L^2}` (the FE norm, not the
        Euclidean norm of the coefficients, so meshes of different sizes are measured alike)."""
        return (self.norm(pred - truth) / self.norm(truth).clamp_min(1e-30)).mean()
