r"""Corner singular functions of the Laplacian on polygons, as input features for PINNs.

At a re-entrant corner (interior angle :math:`\omega > \pi`) the solution of a Poisson problem is not smooth:
near the corner, in polar coordinates :math:`(r, \varphi)` about it with :math:`\varphi = 0` along one edge,

.. math::  u = \sum_k c_k\, r^{\lambda_k} \psi_k(\varphi) + \text{smooth}, \qquad
           \lambda_k < 1 \Rightarrow \nabla u \sim r^{\lambda_k - 1} \to \infty,

where each :math:`r^{\lambda_k}\psi_k(\varphi)` is harmonic and satisfies the homogeneous boundary conditions of
the two edges (Grisvard 1985, *Elliptic Problems in Nonsmooth Domains*):

================================  =====================================  ==================================
edge at 0 / edge at omega          exponent :math:`\lambda_k`              angular part :math:`\psi_k`
================================  =====================================  ==================================
Dirichlet / Dirichlet              :math:`k\pi/\omega`                      :math:`\sin(\lambda_k \varphi)`
Neumann / Neumann                  :math:`k\pi/\omega`                      :math:`\cos(\lambda_k \varphi)`
Dirichlet / Neumann                :math:`(k - 1/2)\pi/\omega`              :math:`\sin(\lambda_k \varphi)`
Neumann / Dirichlet                :math:`(k - 1/2)\pi/\omega`              :math:`\cos(\lambda_k \varphi)`
================================  =====================================  ==================================

A smooth network (tanh MLP) approximates :math:`r^{2/3}` poorly, so its error stalls next to the corner. Handing
the network these functions as extra inputs lets it represent the singular part exactly; this is the idea of the
singularity-enriched PINN (Hu, Jin & Zhou 2024, "Solving Poisson problems in polygonal domains with singularity
enriched physics informed neural networks", SIAM J. Sci. Comput.), which adds :math:`c_k r^{\lambda_k}\psi_k`
with trained coefficients and a cut-off; here the functions are network inputs (:class:`CornerFeatures`), which
the network may combine with anything else.

The angle :math:`\varphi` is measured counter-clockwise from the edge at :math:`\varphi = 0` and is continuous
everywhere except across the ray that bisects the corner's exterior angle (outside the domain next to the corner;
for polygons where that ray re-enters the domain farther away, give a ``radius``: the features are then multiplied
by a smooth cut-off that vanishes beyond it).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int
from .geometry import Polygon

BOUNDARY_KINDS = ("dirichlet", "neumann")


@dataclass(frozen=True)
class Corner:
    """A polygon corner: ``vertex`` (x, y); ``start_angle``, the direction (radians) of the edge at phi = 0;
    ``opening``, the interior angle omega in (0, 2 pi); ``start_bc`` / ``end_bc``, the homogeneous condition
    ("dirichlet" or "neumann") on the edge at phi = 0 / phi = omega."""

    vertex: tuple[float, float]
    start_angle: float
    opening: float
    start_bc: str = "neumann"
    end_bc: str = "neumann"

    def __post_init__(self) -> None:
        check_float("opening", self.opening, min_value=0.0, strict_min=True)
        if self.opening >= 2 * math.pi:
            raise ValueError(f"opening must be < 2 pi (a corner of a simple polygon), got {self.opening}")
        check_choice("start_bc", self.start_bc, BOUNDARY_KINDS)
        check_choice("end_bc", self.end_bc, BOUNDARY_KINDS)

    @property
    def mixed(self) -> bool:
        return self.start_bc != self.end_bc

    def exponent(self, k: int = 1) -> float:
        """lambda_k (table in the module docstring)."""
        check_int("k", k, min_value=1)
        return (k - 0.5 if self.mixed else k) * math.pi / self.opening


def reentrant_corners(polygon: Polygon, dirichlet_on: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      ) -> list[Corner]:
    """The corners of ``polygon`` with interior angle > pi, each edge's condition read from ``dirichlet_on``
    (a boolean predicate on points (n, 2), true on Dirichlet edges, evaluated at the edge's midpoint; None: all
    Neumann)."""
    v = polygon.vertices.to(torch.float64)  # counter-clockwise, so the domain lies left of each edge
    m = v.shape[0]
    mids = 0.5 * (v + v.roll(-1, 0))  # edge i runs from vertex i to vertex i + 1
    if dirichlet_on is None:
        dirichlet = [False] * m
    else:
        dirichlet = [bool(b) for b in torch.as_tensor(dirichlet_on(mids.to(torch.get_default_dtype())))]
    corners = []
    for i in range(m):
        out_dir, back_dir = v[(i + 1) % m] - v[i], v[i - 1] - v[i]
        start = math.atan2(float(out_dir[1]), float(out_dir[0]))
        opening = (math.atan2(float(back_dir[1]), float(back_dir[0])) - start) % (2 * math.pi)
        if opening > math.pi + 1e-12:
            kind = ["neumann", "dirichlet"]
            corners.append(Corner((float(v[i, 0]), float(v[i, 1])), start, opening,
                                  kind[dirichlet[i]], kind[dirichlet[i - 1]]))
    return corners


def _cutoff(r: torch.Tensor, radius: float) -> torch.Tensor:
    """C^2 cut-off: 1 for r <= radius / 2, 0 for r >= radius, a quintic smoothstep between."""
    t = ((2 * r / radius) - 1).clamp(0, 1)
    return 1 - t ** 3 * (10 - 15 * t + 6 * t ** 2)


def corner_singular_function(x: torch.Tensor, corner: Corner, k: int = 1, radius: float | None = None
                             ) -> torch.Tensor:
    r""":math:`r^{\lambda_k}\psi_k(\varphi)` about ``corner`` at the points x: (n, 2) -> (n,).

    Harmonic, and zero (Dirichlet) or of zero normal derivative (Neumann) on the corner's two edges. ``radius``:
    multiply by a :math:`C^2` cut-off that is 1 within radius / 2 of the vertex and 0 beyond ``radius``.
    """
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be (n, 2) points, got shape {tuple(x.shape)}")
    lam = corner.exponent(k)
    dx, dy = x[:, 0] - corner.vertex[0], x[:, 1] - corner.vertex[1]
    # at the vertex itself r^lambda is 0 and its derivatives are infinite: evaluate 1e-12 along the edge instead,
    # so that a collocation point there gives finite values and zero gradients instead of NaN (atan2 at (0, 0))
    # (always through torch.where: no host sync to ask whether any point sits there)
    at_vertex = (dx == 0) & (dy == 0)
    dx = torch.where(at_vertex, torch.full_like(dx, 1e-12 * math.cos(corner.start_angle)), dx)
    dy = torch.where(at_vertex, torch.full_like(dy, 1e-12 * math.sin(corner.start_angle)), dy)
    r = torch.sqrt(dx * dx + dy * dy)
    # phi in [cut - 2 pi, cut), the cut on the bisector of the exterior angle (outside the domain near the corner)
    cut = 0.5 * (corner.opening + 2 * math.pi)
    phi = torch.remainder(torch.atan2(dy, dx) - corner.start_angle - cut, 2 * math.pi) + cut - 2 * math.pi
    psi = torch.sin(lam * phi) if corner.start_bc == "dirichlet" else torch.cos(lam * phi)
    out = r ** lam * psi
    if radius is not None:
        out = out * _cutoff(r, check_float("radius", radius, min_value=0.0, strict_min=True))
    return out


class CornerFeatures(nn.Module):
    r"""Append the first ``n_terms`` singular functions of every corner to the coordinates:
    x (n, 2) -> (n, 2 + n_terms * len(corners)). Only terms with non-integer :math:`\lambda_k` are kept (an
    integer one is a polynomial, which a network represents anyway), so ``out_features`` may be smaller.

    Put it in front of a network, ``nn.Sequential(CornerFeatures(corners), MLP([cf.out_features, ...]))``, inside
    :class:`~basiskit.physics.HardDirichlet` if the Dirichlet values are imposed exactly.
    """

    def __init__(self, corners: Sequence[Corner], n_terms: int = 1, radius: float | None = None) -> None:
        super().__init__()
        self.corners = list(corners)
        if not self.corners:
            raise ValueError("corners is empty: the polygon has no re-entrant corner to enrich (see "
                             "reentrant_corners)")
        check_int("n_terms", n_terms, min_value=1)
        self.radius = None if radius is None else check_float("radius", radius, min_value=0.0, strict_min=True)
        self.terms = [(c, k) for c in self.corners for k in range(1, n_terms + 1)
                      if abs(c.exponent(k) - round(c.exponent(k))) > 1e-9]

    @property
    def out_features(self) -> int:
        return 2 + len(self.terms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [corner_singular_function(x, c, k, self.radius) for c, k in self.terms]
        return torch.cat([x, torch.stack(feats, 1)], 1) if feats else x

    def extra_repr(self) -> str:
        lams = ", ".join(f"{c.exponent(k):.4g}" for c, k in self.terms)
        return f"corners={len(self.corners)}, exponents=[{lams}]"
