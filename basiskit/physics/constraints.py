r"""Hard constraints: output transforms that satisfy Dirichlet and initial conditions exactly, and periodic inputs.

A Dirichlet condition :math:`u = g` on :math:`\partial\Omega` holds exactly for

.. math::
    u(x) = \bar g(x) + \phi(x)\, N(x),

with :math:`N` the network, :math:`\bar g` any smooth extension of the boundary data into the domain (a *lift*),
and :math:`\phi` a function that vanishes exactly on the boundary and is positive inside. The exact distance
(``Geometry.distance``) has kinks along the medial axis (the diagonals of a square), where second derivatives in
the PDE residual jump, so :math:`\phi` here is a smooth *approximate distance function* built with R-functions
(Rvachev; Sukumar & Srivastava 2022, "Exact imposition of boundary conditions with distance functions in
physics-informed deep neural networks", CMAME 389):

* interval / box: :math:`(x - a)(b - x)/(b - a)` per coordinate, joined by R-conjunction;
* ball: :math:`(r^2 - |x - c|^2) / (2r)`;
* polygon: each edge's trimmed segment function
  :math:`\phi_i = \sqrt{f^2 + ((\sqrt{t^2 + f^4} - t)/2)^2}` (f the signed distance to the edge's line, t the
  trimming function, positive on the disk the edge is a diameter of), joined by R-equivalence
  :math:`\phi = (\sum_i \phi_i^{-m})^{-1/m}`, and signed by the inside test;
* constructive geometry: R-conjunction :math:`\phi_1 + \phi_2 - \sqrt{\phi_1^2 + \phi_2^2}` (intersection),
  R-disjunction :math:`\phi_1 + \phi_2 + \sqrt{\phi_1^2 + \phi_2^2}` (union), conjunction with :math:`-\phi_2`
  (difference).

Each is positive inside, zero on the boundary and normalised to first order (:math:`|\nabla\phi| = 1` on the
smooth parts of the boundary); it is smooth inside the domain and loses smoothness only at corners of the
boundary itself.

Initial conditions: :math:`u = u_0(x) + (t - t_0) N(x, t)`; both at once: the lift must satisfy both and the
multiplier is :math:`\phi(x)(t - t_0)`. Periodic problems: :class:`PeriodicFeatures` feeds the network
:math:`\cos(2\pi k x / P), \sin(2\pi k x / P)` instead of x, so any network is exactly periodic in x.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._validation import UsageError, check_float, check_int
from .geometry import CSG, Ball, Box, Geometry, Polygon

__all__ = ["HardDirichlet", "HardInitial", "OutputTransform", "PeriodicFeatures", "approximate_distance",
           "r_conjunction", "r_disjunction", "segments_distance"]

Field = Callable[[torch.Tensor], torch.Tensor]


def r_conjunction(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""R-conjunction :math:`a + b - \sqrt{a^2 + b^2}`: positive where both are, zero where either is (and the
    other is >= 0); first-order normalised where one of them is zero."""
    return a + b - torch.sqrt(a * a + b * b)


def r_disjunction(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""R-disjunction :math:`a + b + \sqrt{a^2 + b^2}`: positive where either is, zero on the union's boundary."""
    return a + b + torch.sqrt(a * a + b * b)


def _box(g: Box, x: torch.Tensor) -> torch.Tensor:
    lo, hi = g.lower.to(x), g.upper.to(x)
    per_dim = (x - lo) * (hi - x) / (hi - lo)
    phi = per_dim[:, 0]
    for k in range(1, per_dim.shape[1]):
        phi = r_conjunction(phi, per_dim[:, k])
    return phi


def _ball(g: Ball, x: torch.Tensor) -> torch.Tensor:
    c, r = g.center.to(x), float(g.radius)
    return (r * r - (x - c).pow(2).sum(1)) / (2 * r)


def _segment_functions(a: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Trimmed segment functions of segments a[i] -> b[i] (k, 2) at x (n, 2): (n, k), zero exactly on segment i."""
    edge = b - a
    length = edge.norm(dim=1)
    rel = x[:, None, :] - a[None]
    f = (rel[..., 0] * edge[:, 1] - rel[..., 1] * edge[:, 0]) / length  # signed distance to each segment's line
    centre = (a + b) / 2
    t = ((length / 2) ** 2 - (x[:, None, :] - centre[None]).pow(2).sum(-1)) / length
    varphi = torch.sqrt(t * t + f ** 4)
    return torch.sqrt(f * f + ((varphi - t) / 2) ** 2)


def _r_equivalence(phi_i: torch.Tensor, m: int) -> torch.Tensor:
    """(sum_i phi_i^-m)^(-1/m) over the last dim, exactly 0 where any phi_i is 0."""
    tiny = torch.finfo(phi_i.dtype).tiny
    joined = phi_i.clamp_min(tiny).pow(-m).sum(-1).pow(-1.0 / m)
    return torch.where(phi_i.min(dim=-1).values == 0, torch.zeros_like(joined), joined)


def segments_distance(starts: torch.Tensor | Sequence[Sequence[float]], ends: torch.Tensor | Sequence[Sequence[float]],
                      x: torch.Tensor, *, m: int = 2) -> torch.Tensor:
    r"""Smooth approximate distance to a set of 2-D segments (part of a boundary): zero exactly on them,
    positive elsewhere, first-order normalised away from their ends.

    starts, ends: (k, 2) the segments' end points; x: (n, 2) -> (n,). For a Dirichlet condition on part of the
    boundary only (the rest Neumann): ``HardDirichlet(net, distance=lambda x: segments_distance(a, b, x))``.
    """
    check_int("m", m, min_value=1)
    a = torch.as_tensor(starts, dtype=x.dtype, device=x.device)
    b = torch.as_tensor(ends, dtype=x.dtype, device=x.device)
    if a.ndim != 2 or a.shape[1] != 2 or a.shape != b.shape:
        raise ValueError(f"starts and ends must both be (k, 2) segment end points, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if bool(((b - a).norm(dim=1) == 0).any()):
        raise ValueError("segments must have positive length (a start equals its end)")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be (n, 2) points, got shape {tuple(x.shape)}")
    return _r_equivalence(_segment_functions(a, b, x), m)


def _polygon(g: Polygon, x: torch.Tensor, m: int) -> torch.Tensor:
    a = g.vertices.to(x)
    phi = _r_equivalence(_segment_functions(a, a.roll(-1, 0), x), m)
    sign = torch.where(g.sdf(x.to(g.vertices.dtype)).to(x) > 0, -1.0, 1.0)
    return sign * phi


def approximate_distance(geometry: Geometry, x: torch.Tensor, *, m: int = 2) -> torch.Tensor:
    """The smooth approximate distance of ``geometry`` at points x: (n, dim) -> (n,) (see the module docstring).

    Positive inside, zero on the boundary, first-order normalised. ``m``: the order of the R-equivalence that
    joins a polygon's edges (2: normalised to second order away from the vertices). Supported: boxes
    (``Interval``, ``Rectangle``, ``Box``), balls (``Disk``, ``Ball``), polygons (``Triangle``, ``Polygon``) and
    their unions, intersections and differences.
    """
    check_int("m", m, min_value=1)
    if not isinstance(geometry, Geometry):
        raise UsageError(f"geometry must be a basiskit.physics.geometry shape, got {type(geometry).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != geometry.dim:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be (n, {geometry.dim}) points, got {got}")
    if isinstance(geometry, Box):
        return _box(geometry, x)
    if isinstance(geometry, Ball):
        return _ball(geometry, x)
    if isinstance(geometry, Polygon):
        return _polygon(geometry, x, m)
    if isinstance(geometry, CSG):
        pa = approximate_distance(geometry.a, x, m=m)
        pb = approximate_distance(geometry.b, x, m=m)
        if geometry.op == "union":
            return r_disjunction(pa, pb)
        if geometry.op == "intersection":
            return r_conjunction(pa, pb)
        return r_conjunction(pa, -pb)
    raise UsageError(f"approximate_distance has no smooth distance for a {type(geometry).__name__}; supported: "
                     "Box/Interval/Rectangle, Ball/Disk, Polygon/Triangle and their CSG combinations (a point "
                     "cloud has no closed form: impose its boundary condition as a loss term instead)")


class OutputTransform(nn.Module):
    """``u(x) = transform(x, net(x))``: any user transform of a network's output (x: (n, d) -> (n, m))."""

    def __init__(self, net: nn.Module, transform: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        if not callable(transform):
            raise TypeError(f"transform must be a callable (x, net_out) -> u, got {type(transform).__name__}")
        self.net, self.transform = net, transform

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transform(x, self.net(x))


class HardDirichlet(nn.Module):
    r""":math:`u = \bar g(x) + \phi(x_{space})\,[(t - t_0)]\,N(x)`: Dirichlet values (and, with ``t0``, initial
    values) met exactly.

    Args:
        net: the network, (n, d) -> (n, m).
        geometry: the spatial domain (its ``approximate_distance`` is :math:`\phi`): the whole boundary is
            Dirichlet. For a condition on part of it, pass ``distance`` instead (e.g. from
            :func:`segments_distance`), a function of the space points (n, dim) -> (n,) vanishing exactly there.
        lift: :math:`\bar g`, points (n, d) -> (n, m) (or (n,) for m = 1), smooth in the domain and equal to the
            boundary data on the boundary (and to the initial data at t0); None means zero data.
        t0: for a time-dependent problem (time is the last input column, the first ``geometry.dim`` are space):
            also impose the initial values exactly.
        m: the R-equivalence order of polygons (see :func:`approximate_distance`).
    """

    def __init__(self, net: nn.Module, geometry: Geometry | None = None, lift: Field | None = None, *,
                 t0: float | None = None, m: int = 2, distance: Field | None = None,
                 space_dim: int | None = None) -> None:
        super().__init__()
        if (geometry is None) == (distance is None):
            raise UsageError("HardDirichlet needs exactly one of geometry (the whole boundary is Dirichlet) or "
                             "distance (a function vanishing on the Dirichlet part)")
        if geometry is not None and not isinstance(geometry, Geometry):
            raise UsageError(f"geometry must be a basiskit.physics.geometry shape, got {type(geometry).__name__}")
        if distance is not None and not callable(distance):
            raise TypeError(f"distance must be a callable points -> (n,), got {type(distance).__name__}")
        if distance is not None and space_dim is None:
            raise UsageError("with distance=..., give space_dim (the number of space coordinates of a point)")
        self.distance = distance
        self.space_dim = geometry.dim if geometry is not None else check_int("space_dim", space_dim, min_value=1)
        if lift is not None and not callable(lift):
            raise TypeError(f"lift must be a callable points -> values (or None), got {type(lift).__name__}")
        self.net, self.geometry, self.lift = net, geometry, lift
        self.t0 = None if t0 is None else check_float("t0", t0)
        self.m = check_int("m", m, min_value=1)

    def multiplier(self, x: torch.Tensor) -> torch.Tensor:
        """The factor that vanishes where the conditions are imposed: (n, d) -> (n, 1)."""
        d = self.space_dim
        want = d + (self.t0 is not None)
        if x.ndim != 2 or x.shape[1] != want:
            raise ValueError(f"x must be (n, {want}) points ({d} space{' + time' if self.t0 is not None else ''}), "
                             f"got shape {tuple(x.shape)}")
        phi = (self.distance(x[:, :d]) if self.distance is not None
               else approximate_distance(self.geometry, x[:, :d], m=self.m))
        if self.t0 is not None:
            phi = phi * (x[:, d] - self.t0)
        return phi[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.multiplier(x) * self.net(x)
        if self.lift is not None:
            g = self.lift(x)
            out = out + (g[:, None] if g.ndim == 1 else g)
        return out


class HardInitial(nn.Module):
    r""":math:`u = u_0(x) + (t - t_0) N(x, t)`: initial values met exactly (time is the last input column)."""

    def __init__(self, net: nn.Module, initial: Field, t0: float = 0.0) -> None:
        super().__init__()
        if not callable(initial):
            raise TypeError(f"initial must be a callable points -> values, got {type(initial).__name__}")
        self.net, self.initial, self.t0 = net, initial, check_float("t0", t0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.initial(x)
        return (g[:, None] if g.ndim == 1 else g) + (x[:, -1:] - self.t0) * self.net(x)


class PeriodicFeatures(nn.Module):
    r"""Replace the coordinates ``dims`` by :math:`\cos(2\pi k x/P), \sin(2\pi k x/P)`, k = 1..harmonics.

    x: (n, d) -> (n, d - len(dims) + 2 * harmonics * len(dims)); the other coordinates pass through first.
    Put it in front of any network (``nn.Sequential(PeriodicFeatures(...), MLP(...))``) to make the network
    exactly periodic in those coordinates, with all derivatives matching across the period.
    """

    def __init__(self, dims: Sequence[int], periods: Sequence[float], harmonics: int = 1) -> None:
        super().__init__()
        dims, periods = list(dims), list(periods)
        if not dims or len(dims) != len(periods):
            raise ValueError(f"dims and periods need one period per periodic coordinate, got dims={dims} and "
                             f"periods={periods}")
        for d in dims:
            check_int("dims", d, min_value=0)
        if len(set(dims)) != len(dims):
            raise ValueError(f"dims must not repeat a coordinate, got {dims}")
        self.dims = dims
        self.periods = [check_float("periods", p, min_value=0.0, strict_min=True) for p in periods]
        self.harmonics = check_int("harmonics", harmonics, min_value=1)

    def out_features(self, in_features: int) -> int:
        return in_features - len(self.dims) + 2 * self.harmonics * len(self.dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or max(self.dims) >= x.shape[1]:
            raise ValueError(f"x must be (n, d) with d > {max(self.dims)} (the periodic dims {self.dims}), got "
                             f"shape {tuple(x.shape)}")
        keep = [i for i in range(x.shape[1]) if i not in self.dims]
        k = torch.arange(1, self.harmonics + 1, dtype=x.dtype, device=x.device)
        feats = [x[:, keep]]
        for d, p in zip(self.dims, self.periods):
            angle = (2 * math.pi / p) * x[:, d:d + 1] * k
            feats += [torch.cos(angle), torch.sin(angle)]
        return torch.cat(feats, dim=1)
