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

Where an exponent is an integer p the singular function is a polynomial, but data or forcing of the same degree
*resonate* with it and the solution gains :math:`c\, r^p \log r` terms (Grisvard 1985, Sec. 4.4; Dauge 1988): at
a right-angled corner between a Dirichlet edge with data :math:`g = g_0 + g_1 s` and a zero-flux edge
(:math:`\lambda_1 = 1`), :math:`\nabla u` grows like :math:`\log r` unless :math:`g_1 = 0`. The function that
carries it is the derivative of the singular function with respect to its exponent,

.. math::  \partial_\lambda \big[r^\lambda \psi(\lambda\varphi)\big]
           = r^\lambda\big(\log r\, \psi(\lambda\varphi) + \varphi\, \psi'(\lambda\varphi)\big),

the real or imaginary part of :math:`z^p \log z`, so harmonic; it meets the homogeneous condition of the edge
at :math:`\varphi = 0` and not that of the other edge, which is how it absorbs the mismatch
(``corner_singular_function(..., log=True)``; :class:`CornerFeatures` uses it for every integer exponent).

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


def polygon_corners(polygon: Polygon, dirichlet_on: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    ) -> list[Corner]:
    """Every corner of ``polygon`` (in vertex order), each edge's condition read from ``dirichlet_on`` (a
    boolean predicate on points (n, 2), true on Dirichlet edges, evaluated at the edge's midpoint; None: all
    Neumann)."""
    return _corners(polygon, dirichlet_on, reentrant_only=False)


def reentrant_corners(polygon: Polygon, dirichlet_on: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      ) -> list[Corner]:
    """The corners of ``polygon`` with interior angle > pi (conditions as in :func:`polygon_corners`)."""
    return _corners(polygon, dirichlet_on, reentrant_only=True)


def _corners(polygon: Polygon, dirichlet_on: Callable[[torch.Tensor], torch.Tensor] | None,
             reentrant_only: bool) -> list[Corner]:
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
        if opening > math.pi + 1e-12 or not reentrant_only:
            kind = ["neumann", "dirichlet"]
            corners.append(Corner((float(v[i, 0]), float(v[i, 1])), start, opening,
                                  kind[dirichlet[i]], kind[dirichlet[i - 1]]))
    return corners


def _cutoff(r: torch.Tensor, radius: float) -> torch.Tensor:
    """C^2 cut-off: 1 for r <= radius / 2, 0 for r >= radius, a quintic smoothstep between."""
    t = ((2 * r / radius) - 1).clamp(0, 1)
    return 1 - t ** 3 * (10 - 15 * t + 6 * t ** 2)


def corner_singular_function(x: torch.Tensor, corner: Corner, k: int = 1, radius: float | None = None,
                             log: bool = False) -> torch.Tensor:
    r""":math:`r^{\lambda_k}\psi_k(\varphi)` about ``corner`` at the points x: (n, 2) -> (n,).

    Harmonic, and zero (Dirichlet) or of zero normal derivative (Neumann) on the corner's two edges. ``log``: its
    derivative in the exponent instead, :math:`r^{\lambda}(\log r\,\psi(\lambda\varphi) + \varphi\,
    \psi'(\lambda\varphi))`, harmonic where :math:`\lambda` is an integer (the resonant case of the module
    docstring) and meeting the condition of the edge at :math:`\varphi = 0` only. ``radius``: multiply by a
    :math:`C^2` cut-off that is 1 within radius / 2 of the vertex and 0 beyond ``radius``.
    """
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be (n, 2) points, got shape {tuple(x.shape)}")
    if radius is not None:
        check_float("radius", radius, min_value=0.0, strict_min=True)
    table = _term_table([(corner, k, log)], dtype=x.dtype, device=x.device)
    return _corner_terms(x, *table, log_any=log, radius=radius)[:, 0]


def _term_table(terms: Sequence[tuple[Corner, int, bool]], dtype: torch.dtype | None = None,
                device: torch.device | str | None = None) -> tuple[torch.Tensor, ...]:
    """Per-term constants of (corner, k, log) terms, each (T,) (``vertex`` (T, 2)): vertex, start angle, angle
    cut, exponent, Dirichlet start edge (bool), log companion (bool)."""
    kw = {"dtype": dtype, "device": device}
    return (torch.tensor([c.vertex for c, _, _ in terms], **kw),
            torch.tensor([c.start_angle for c, _, _ in terms], **kw),
            torch.tensor([0.5 * (c.opening + 2 * math.pi) for c, _, _ in terms], **kw),
            torch.tensor([c.exponent(k) for c, k, _ in terms], **kw),
            torch.tensor([c.start_bc == "dirichlet" for c, _, _ in terms], device=device),
            torch.tensor([bool(lg) for *_, lg in terms], device=device))


def _corner_terms(x: torch.Tensor, vertex: torch.Tensor, start: torch.Tensor, cut: torch.Tensor,
                  lam: torch.Tensor, dirichlet: torch.Tensor, log: torch.Tensor, *, log_any: bool,
                  radius: float | None = None) -> torch.Tensor:
    """Every term of a :func:`_term_table` at the points at once: x (n, 2) -> (n, T). One vectorised pass over
    all terms: inside a PINN the second derivatives go through each op, and on small point sets the number of
    ops, not their size, sets the cost (the L-shape's six corners one by one took a 3 x 50 tanh PINN's residual
    step from 13 to 31 ms at 1,500 points, in one pass to 17 ms). ``log_any``: whether any ``log`` is set (a
    Python bool, so the log is skipped without a host sync)."""
    dx, dy = x[:, :1] - vertex[:, 0], x[:, 1:] - vertex[:, 1]                           # (n, T)
    # at the vertex itself r^lambda is 0 and its derivatives are infinite: evaluate 1e-12 along the edge instead,
    # so that a collocation point there gives finite values and zero gradients instead of NaN (atan2 at (0, 0))
    # (always through torch.where: no host sync to ask whether any point sits there)
    at_vertex = (dx == 0) & (dy == 0)
    dx = torch.where(at_vertex, (1e-12 * torch.cos(start)).expand_as(dx), dx)
    dy = torch.where(at_vertex, (1e-12 * torch.sin(start)).expand_as(dy), dy)
    r = torch.sqrt(dx * dx + dy * dy)
    # phi in [cut - 2 pi, cut), the cut on the bisector of the exterior angle (outside the domain near the corner)
    phi = torch.remainder(torch.atan2(dy, dx) - start - cut, 2 * math.pi) + cut - 2 * math.pi
    sin, cos = torch.sin(lam * phi), torch.cos(lam * phi)
    psi, dpsi = torch.where(dirichlet, sin, cos), torch.where(dirichlet, cos, -sin)
    out = r ** lam * (torch.where(log, torch.log(r) * psi + phi * dpsi, psi) if log_any else psi)
    return out if radius is None else out * _cutoff(r, radius)


class CornerFeatures(nn.Module):
    r"""Append the first ``n_terms`` singular functions of every corner to the coordinates:
    x (n, 2) -> (n, 2 + n_terms * len(corners)). A term with an integer :math:`\lambda_k` is a polynomial, which a
    network represents anyway: with ``log_terms`` (default) it is replaced by its logarithmic companion
    (``corner_singular_function(..., log=True)``, the :math:`r^p \log r` behaviour that data or forcing of
    degree p bring about), without it dropped, so ``out_features`` may be smaller.

    Put it in front of a network, ``nn.Sequential(CornerFeatures(corners), MLP([cf.out_features, ...]))``, inside
    :class:`~basiskit.physics.HardDirichlet` if the Dirichlet values are imposed exactly. Re-entrant corners
    (:func:`reentrant_corners`) carry the :math:`r^\lambda`, :math:`\lambda < 1` singularities; convex corners
    (:func:`polygon_corners`) matter where their first exponent is an integer the data resonate with, such as a
    right angle between a Dirichlet edge with sloped data and a zero-flux edge.
    """

    def __init__(self, corners: Sequence[Corner], n_terms: int = 1, radius: float | None = None,
                 log_terms: bool = True) -> None:
        super().__init__()
        self.corners = list(corners)
        if not self.corners:
            raise ValueError("corners is empty: the polygon has no corner to enrich (see reentrant_corners, "
                             "polygon_corners)")
        check_int("n_terms", n_terms, min_value=1)
        self.radius = None if radius is None else check_float("radius", radius, min_value=0.0, strict_min=True)
        self.log_terms = bool(log_terms)
        terms = [(c, k, abs(c.exponent(k) - round(c.exponent(k))) <= 1e-9) for c in self.corners
                 for k in range(1, n_terms + 1)]
        self.terms = [(c, k, integer) for c, k, integer in terms if self.log_terms or not integer]
        # the per-term constants, built once (they follow .to()); forward is on a PINN's hot path
        names = ("vertex", "start", "cut", "lam", "dirichlet", "log")
        for name, value in zip(names, _term_table(self.terms, dtype=torch.get_default_dtype())
                               if self.terms else [None] * len(names)):
            self.register_buffer(f"_{name}", value, persistent=False)
        self._log_any = any(integer for *_, integer in self.terms)

    @property
    def out_features(self) -> int:
        return 2 + len(self.terms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.terms:
            return x
        consts = [self._vertex, self._start, self._cut, self._lam]
        if consts[0].dtype != x.dtype or consts[0].device != x.device:
            consts = [t.to(x.device, x.dtype) for t in consts]
        feats = _corner_terms(x, *consts, self._dirichlet.to(x.device), self._log.to(x.device),
                              log_any=self._log_any, radius=self.radius)
        return torch.cat([x, feats], 1)

    def extra_repr(self) -> str:
        lams = ", ".join(f"{c.exponent(k):.4g}" + (" (log)" if integer else "") for c, k, integer in self.terms)
        return f"corners={len(self.corners)}, exponents=[{lams}]"
