r"""Geometries for physics-informed training: primitives, constructive geometry, point clouds, space-time.

Every geometry answers, for points ``x: (n, dim)``:

* ``sdf(x)``: signed distance, negative inside, zero on the boundary, positive outside — exact for the
  primitives (interval, box, disk/ball, polygon, triangle); for constructive geometry the usual combination
  (union ``min(a, b)``, intersection ``max(a, b)``, difference ``max(a, -b)``), whose sign and zero set are
  exact and whose magnitude is a bound on the distance (exact away from the places where the parts meet).
* ``inside(x)`` (closed set, tolerance ``tol``), ``on_boundary(x)``, ``distance(x) = |sdf(x)|``;
* ``sample_interior(n, method)`` and ``sample_boundary(n, method)`` with ``method`` one of ``"uniform"``
  (pseudo-random) or the quasi-random ``"sobol"``, ``"halton"``, ``"lhs"`` (Latin hypercube) from
  ``scipy.stats.qmc``; interior points by acceptance in the bounding box (quasi-random sequences keep their low
  discrepancy under acceptance), boundary points from each primitive's parametrisation in proportion to its
  boundary measure, then, for constructive geometry, kept where they lie on the composite's boundary;
* ``normal(x)`` at boundary points: the outward unit normal, analytic for primitives; at a corner (a point on
  two faces of a box or two edges of a polygon) the normalised average of the faces' normals, as DeepXDE does;
  on a difference ``A - B`` the normal on B's part points into B (out of the composite).

An L-shaped domain is one line: ``Rectangle((0, 0), (2, 2)) - Rectangle((1, 1), (2, 2))``. ``PointCloud``
takes the user's interior points, boundary points and boundary normals (it cannot infer normals);
``TimeDomain(geometry, t0, t1)`` samples space-time points ``(x, t)``, the initial slice and the lateral boundary.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch

from .._validation import UsageError, check_choice, check_float, check_int

METHODS = ("uniform", "sobol", "halton", "lhs")


def unit_samples(n: int, dim: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
    """``n`` points in ``[0, 1)^dim`` (float64): pseudo-random or a scrambled quasi-random sequence."""
    check_int("n", n, min_value=1)
    check_int("dim", dim, min_value=1)
    check_choice("method", method, METHODS)
    if method == "uniform":
        return torch.rand(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    from scipy.stats import qmc

    engine = {"sobol": qmc.Sobol, "halton": qmc.Halton, "lhs": qmc.LatinHypercube}[method](d=dim, seed=seed)
    if method == "sobol":  # Sobol points are balanced in blocks of 2^m: draw a power of two, keep the first n
        pts = engine.random_base2(max(0, math.ceil(math.log2(n))))[:n]
    else:
        pts = engine.random(n)
    return torch.as_tensor(np.asarray(pts), dtype=torch.float64)


class Geometry(ABC):
    """Base class; see the module docstring. Subclasses define ``dim``, ``bbox``, ``sdf`` and the boundary."""

    dim: int
    tol: float = 1e-9

    @property
    @abstractmethod
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(lower, upper) corners of a box holding the geometry."""

    @abstractmethod
    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        """Signed distance (n,), negative inside."""

    @abstractmethod
    def boundary_measure(self) -> float:
        """Length (2-D), area (3-D) or point count (1-D) of the boundary."""

    def _boundary_candidates(self, n: int, method: str, seed: int) -> torch.Tensor:
        raise UsageError(f"{type(self).__name__} has no boundary parametrisation")

    def _normal_raw(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of the unit normals of the faces x lies on (normalised by ``normal``)."""
        return self._face_normals(x).sum(1)

    def _face_normals(self, x: torch.Tensor) -> torch.Tensor:
        """(n, faces, dim): the outward unit normal of every face a point lies on, zeros for the others."""
        raise UsageError(f"{type(self).__name__} has no analytic normals")

    # ---- shared behaviour ----------------------------------------------------------------------------
    def _check(self, x: torch.Tensor, arg: str = "x") -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.dim:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise UsageError(f"{arg} must be a tensor (n, {self.dim}) of points of this {self.dim}-D geometry, "
                             f"got {shape}")
        return x.to(torch.float64)

    def inside(self, x: torch.Tensor) -> torch.Tensor:
        """Closed set: sdf <= tol. (n,) bool."""
        return self.sdf(self._check(x)) <= self.tol

    def on_boundary(self, x: torch.Tensor, tol: float | None = None) -> torch.Tensor:
        return self.sdf(self._check(x)).abs() <= (self.tol if tol is None else tol) * 10

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        """Distance to the boundary (exact for primitives; see the module docstring for constructive ones)."""
        return self.sdf(self._check(x)).abs()

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """Outward unit normals at boundary points x: (n, dim) -> (n, dim)."""
        x = self._check(x)
        bad = ~self.on_boundary(x, tol=1e-6)
        if bool(bad.any()):
            raise UsageError(f"normal: {int(bad.sum())} of {x.shape[0]} points are not on the boundary (first "
                             f"{x[bad][0].tolist()})")
        n = self._normal_raw(x)
        return n / n.norm(dim=1, keepdim=True).clamp_min(1e-300)

    def sample_interior(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        """``n`` points inside (by acceptance in the bounding box): (n, dim) float64."""
        check_int("n", n, min_value=1)
        lo, hi = self.bbox
        out, total, round_ = [], 0, 0
        draw = max(2 * n, 64)
        while total < n:
            if round_ > 40:
                raise UsageError("sample_interior: the geometry covers almost none of its bounding box")
            # one long sequence (offset per round) keeps a quasi-random set's structure
            u = unit_samples(draw * (round_ + 1), self.dim, method, seed)[draw * round_:]
            pts = lo + (hi - lo) * u
            keep = pts[self.sdf(pts) < 0]
            out.append(keep)
            total += keep.shape[0]
            round_ += 1
        return torch.cat(out)[:n]

    def sample_boundary(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        """``n`` points on the boundary, spread in proportion to boundary measure: (n, dim) float64."""
        check_int("n", n, min_value=1)
        out, total, round_ = [], 0, 0
        while total < n:
            if round_ > 40:
                raise UsageError("sample_boundary: no boundary points survived; is the geometry empty?")
            pts = self._boundary_candidates(max(2 * n, 16), method, seed + 7919 * round_)
            keep = pts[self.on_boundary(pts, tol=1e-7)]
            out.append(keep)
            total += keep.shape[0]
            round_ += 1
        pts = torch.cat(out)
        # candidates come part by part: shuffle before cutting to n so every part keeps its share
        return pts[torch.randperm(pts.shape[0], generator=torch.Generator().manual_seed(seed))[:n]]

    # ---- constructive geometry -------------------------------------------------------------------------
    def __or__(self, other: Geometry) -> Geometry:
        return CSG("union", self, other)

    def __and__(self, other: Geometry) -> Geometry:
        return CSG("intersection", self, other)

    def __sub__(self, other: Geometry) -> Geometry:
        return CSG("difference", self, other)


def _vec(arg: str, v: Sequence[float], dim: int | None = None) -> torch.Tensor:
    t = torch.as_tensor(v, dtype=torch.float64).reshape(-1)
    if dim is not None and t.numel() != dim:
        raise UsageError(f"{arg} needs {dim} coordinates, got {list(t.tolist())}")
    if not bool(torch.isfinite(t).all()):
        raise UsageError(f"{arg} must be finite, got {t.tolist()}")
    return t


class Box(Geometry):
    """Axis-aligned box ``[lower, upper]`` in any dimension (``Interval`` in 1-D, ``Rectangle`` in 2-D)."""

    def __init__(self, lower: Sequence[float], upper: Sequence[float]) -> None:
        self.lower, self.upper = _vec("lower", lower), _vec("upper", upper)
        if self.lower.numel() != self.upper.numel() or not bool((self.upper > self.lower).all()):
            raise UsageError(f"Box needs lower < upper coordinate by coordinate, got {self.lower.tolist()} and "
                             f"{self.upper.tolist()}")
        self.dim = self.lower.numel()

    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.lower, self.upper

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        center, half = (self.lower + self.upper) / 2, (self.upper - self.lower) / 2
        q = (x - center).abs() - half
        return q.clamp_min(0).norm(dim=1) + q.max(dim=1).values.clamp_max(0)

    def boundary_measure(self) -> float:
        if self.dim == 1:
            return 2.0
        side = self.upper - self.lower
        return float(sum(2 * torch.prod(torch.cat([side[:i], side[i + 1:]])) for i in range(self.dim)))

    def _boundary_candidates(self, n: int, method: str, seed: int) -> torch.Tensor:
        if self.dim == 1:
            ends = torch.stack([self.lower, self.upper])
            return ends[torch.arange(n) % 2]
        side = self.upper - self.lower
        faces = torch.stack([torch.prod(torch.cat([side[:i], side[i + 1:]])) for i in range(self.dim)])
        u = unit_samples(n, self.dim + 1, method, seed)
        pts = self.lower + side * u[:, : self.dim]
        # choose the face (axis, low/high) in proportion to its measure with the extra coordinate
        cum = torch.cumsum(torch.cat([faces, faces]) / (2 * faces.sum()), 0)
        face = torch.searchsorted(cum, u[:, self.dim].contiguous().clamp_max(1 - 1e-12))
        axis, high = face % self.dim, face >= self.dim
        rows = torch.arange(n)
        pts[rows, axis] = torch.where(high, self.upper[axis], self.lower[axis])
        return pts

    def _face_normals(self, x: torch.Tensor) -> torch.Tensor:
        tol = 1e-7 * float((self.upper - self.lower).max())
        eye = torch.eye(self.dim, dtype=x.dtype)
        lo = ((x - self.lower).abs() <= tol).to(x.dtype)  # (n, dim): on the face x_i = lower_i
        hi = ((x - self.upper).abs() <= tol).to(x.dtype)
        return torch.cat([hi[:, :, None] * eye, -lo[:, :, None] * eye], 1)  # (n, 2 dim, dim)


def Interval(a: float, b: float) -> Box:  # noqa: N802 - a constructor, named like the classes
    """The interval [a, b] (a 1-D ``Box``)."""
    return Box([a], [b])


def Rectangle(lower: Sequence[float], upper: Sequence[float]) -> Box:  # noqa: N802
    """The rectangle [x0, x1] x [y0, y1] (a 2-D ``Box``)."""
    box = Box(lower, upper)
    if box.dim != 2:
        raise UsageError(f"Rectangle is 2-D, got corners with {box.dim} coordinates; use Box")
    return box


class Ball(Geometry):
    """Ball of ``radius`` about ``center`` in any dimension (``Disk`` in 2-D)."""

    def __init__(self, center: Sequence[float], radius: float) -> None:
        self.center = _vec("center", center)
        self.radius = check_float("radius", radius, min_value=0.0, strict_min=True)
        self.dim = self.center.numel()

    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.center - self.radius, self.center + self.radius

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center).norm(dim=1) - self.radius

    def boundary_measure(self) -> float:
        d, r = self.dim, self.radius
        return 2 * math.pi ** (d / 2) / math.gamma(d / 2) * r ** (d - 1)

    def _boundary_candidates(self, n: int, method: str, seed: int) -> torch.Tensor:
        if self.dim == 2:
            angle = 2 * math.pi * unit_samples(n, 1, method, seed)[:, 0]
            direction = torch.stack([torch.cos(angle), torch.sin(angle)], 1)
        else:  # normalised Gaussians (inverse-CDF of quasi-random points keeps their spread)
            from scipy.stats import norm

            u = unit_samples(n, self.dim, method, seed).clamp(1e-12, 1 - 1e-12)
            direction = torch.as_tensor(norm.ppf(u.numpy()), dtype=torch.float64)
            direction = direction / direction.norm(dim=1, keepdim=True)
        return self.center + self.radius * direction

    def _face_normals(self, x: torch.Tensor) -> torch.Tensor:
        d = x - self.center
        return (d / d.norm(dim=1, keepdim=True).clamp_min(1e-300))[:, None, :]


def Disk(center: Sequence[float], radius: float) -> Ball:  # noqa: N802
    """The disk of ``radius`` about ``center`` (a 2-D ``Ball``)."""
    ball = Ball(center, radius)
    if ball.dim != 2:
        raise UsageError(f"Disk is 2-D, got a center with {ball.dim} coordinates; use Ball")
    return ball


class Polygon(Geometry):
    """A simple polygon (vertices in order, either orientation; not self-intersecting) in 2-D."""

    def __init__(self, vertices: Sequence[Sequence[float]]) -> None:
        v = torch.as_tensor(vertices, dtype=torch.float64)
        if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3:
            raise UsageError(f"Polygon needs at least 3 vertices (x, y), got shape {tuple(v.shape)}")
        area2 = float((v[:, 0] * v.roll(-1, 0)[:, 1] - v.roll(-1, 0)[:, 0] * v[:, 1]).sum())
        if abs(area2) < 1e-14:
            raise UsageError("Polygon vertices enclose no area (collinear or repeated points)")
        self.vertices = v if area2 > 0 else v.flip(0)  # counter-clockwise
        self.dim = 2

    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vertices.min(0).values, self.vertices.max(0).values

    def _edges(self) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.vertices
        return a, a.roll(-1, 0)

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self._edges()
        ab = b - a  # (m, 2)
        ap = x[:, None, :] - a[None]  # (n, m, 2)
        t = ((ap * ab).sum(-1) / (ab * ab).sum(-1)).clamp(0, 1)
        dist = (ap - t[..., None] * ab).norm(dim=-1).min(dim=1).values
        # even-odd rule for the sign (crossings of a ray towards +x)
        y, xa, ya, xb, yb = x[:, None, 1], a[None, :, 0], a[None, :, 1], b[None, :, 0], b[None, :, 1]
        crosses = ((ya > y) != (yb > y)) & (x[:, None, 0] < xa + (y - ya) * (xb - xa) / (yb - ya + 1e-300))
        inside = crosses.sum(1) % 2 == 1
        return torch.where(inside, -dist, dist)

    def boundary_measure(self) -> float:
        a, b = self._edges()
        return float((b - a).norm(dim=1).sum())

    def _boundary_candidates(self, n: int, method: str, seed: int) -> torch.Tensor:
        a, b = self._edges()
        lengths = (b - a).norm(dim=1)
        cum = torch.cumsum(lengths, 0) / lengths.sum()
        s = unit_samples(n, 1, method, seed)[:, 0].clamp_max(1 - 1e-12)
        edge = torch.searchsorted(cum, s.contiguous())
        start = torch.cat([torch.zeros(1, dtype=torch.float64), cum[:-1]])
        t = ((s - start[edge]) / (cum[edge] - start[edge])).clamp(0, 1)
        return a[edge] + t[:, None] * (b - a)[edge]

    def _face_normals(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self._edges()
        ab = b - a
        outward = torch.stack([ab[:, 1], -ab[:, 0]], 1) / ab.norm(dim=1, keepdim=True)  # CCW: right-hand side
        ap = x[:, None, :] - a[None]
        t = ((ap * ab).sum(-1) / (ab * ab).sum(-1)).clamp(0, 1)
        d = (ap - t[..., None] * ab).norm(dim=-1)  # (n, m)
        scale = float((self.bbox[1] - self.bbox[0]).max())
        on = (d <= 1e-7 * scale).to(x.dtype)  # a vertex lies on two edges: their normals are averaged
        return on[:, :, None] * outward[None]  # (n, edges, 2)


def Triangle(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> Polygon:  # noqa: N802
    """The triangle abc (a ``Polygon``)."""
    return Polygon([a, b, c])


class CSG(Geometry):
    """Union, intersection or difference of two geometries of one dimension (``|``, ``&``, ``-``)."""

    def __init__(self, op: str, a: Geometry, b: Geometry) -> None:
        self.op = check_choice("op", op, ("union", "intersection", "difference"))
        if not isinstance(a, Geometry) or not isinstance(b, Geometry) or a.dim != b.dim:
            raise UsageError(f"constructive geometry needs two geometries of one dimension, got "
                             f"{type(a).__name__} and {type(b).__name__}")
        self.a, self.b, self.dim = a, b, a.dim

    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        (la, ua), (lb, ub) = self.a.bbox, self.b.bbox
        if self.op == "union":
            return torch.minimum(la, lb), torch.maximum(ua, ub)
        if self.op == "intersection":
            return torch.maximum(la, lb), torch.minimum(ua, ub)
        return la, ua

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        da, db = self.a.sdf(x), self.b.sdf(x)
        if self.op == "union":
            return torch.minimum(da, db)
        if self.op == "intersection":
            return torch.maximum(da, db)
        return torch.maximum(da, -db)

    def boundary_measure(self) -> float:
        return self.a.boundary_measure() + self.b.boundary_measure()  # an upper bound; candidates are filtered

    def _boundary_candidates(self, n: int, method: str, seed: int) -> torch.Tensor:
        ma, mb = self.a.boundary_measure(), self.b.boundary_measure()
        na = max(1, round(n * ma / (ma + mb)))
        pts = torch.cat([self.a.sample_boundary(na, method, seed),
                         self.b.sample_boundary(max(1, n - na), method, seed + 1)])
        # keep a point only if the composite really changes side across it: the zero set of min/max also holds
        # pieces where the parts touch without a boundary (e.g. a face of A inside B in A - B)
        pts = pts[self.sdf(pts).abs() <= 1e-7]
        normals = self._normal_raw(pts)
        normals = normals / normals.norm(dim=1, keepdim=True).clamp_min(1e-300)
        eps = 1e-6 * float((self.bbox[1] - self.bbox[0]).max())
        real = (self.sdf(pts - eps * normals) < 0) & (self.sdf(pts + eps * normals) > 0)
        return pts[real & (normals.norm(dim=1) > 0.5)]

    def _face_normals(self, x: torch.Tensor) -> torch.Tensor:
        on_a = (self.a.sdf(x).abs() <= 1e-6).to(x.dtype)[:, None, None]
        on_b = (self.b.sdf(x).abs() <= 1e-6).to(x.dtype)[:, None, None]
        fa = self.a._face_normals(x) * on_a
        fb = self.b._face_normals(x) * on_b * (-1.0 if self.op == "difference" else 1.0)
        faces = torch.cat([fa, fb], 1)  # (n, F, dim)
        # a face of a part bounds the composite at x only if stepping out along its normal does not enter the
        # composite and stepping in does not leave it (this drops, e.g., a face of A lying inside B in A - B,
        # and keeps both faces at a corner, re-entrant or not)
        eps = 1e-6 * float((self.bbox[1] - self.bbox[0]).max())
        n, f, d = faces.shape
        flat_x = x[:, None, :].expand(n, f, d).reshape(-1, d)
        flat_n = faces.reshape(-1, d)
        out_ok = self.sdf(flat_x + eps * flat_n) >= -1e-12
        in_ok = self.sdf(flat_x - eps * flat_n) <= 1e-12
        keep = (out_ok & in_ok & (flat_n.norm(dim=1) > 0.5)).reshape(n, f, 1)
        return faces * keep.to(x.dtype)


class PointCloud(Geometry):
    """A domain given by the user's points: interior ``(n, dim)``, boundary ``(m, dim)`` and the boundary's
    outward normals ``(m, dim)`` (a cloud cannot infer them). Sampling draws from the given points (without
    replacement while they last); ``sdf`` is the distance to the nearest boundary point, negative at the interior
    points' nearest neighbours (an approximation, as in DeepXDE's ``PointCloud``)."""

    def __init__(self, interior: torch.Tensor, boundary: torch.Tensor, boundary_normals: torch.Tensor) -> None:
        interior, boundary = torch.as_tensor(interior, dtype=torch.float64), torch.as_tensor(boundary,
                                                                                                dtype=torch.float64)
        normals = torch.as_tensor(boundary_normals, dtype=torch.float64)
        if interior.ndim != 2 or boundary.ndim != 2 or interior.shape[1] != boundary.shape[1]:
            raise UsageError(f"PointCloud needs interior (n, dim) and boundary (m, dim) points of one dimension, got "
                             f"{tuple(interior.shape)} and {tuple(boundary.shape)}")
        if normals.shape != boundary.shape:
            raise UsageError(f"boundary_normals must match the boundary points' shape {tuple(boundary.shape)}, got "
                             f"{tuple(normals.shape)}")
        self.interior, self.boundary = interior, boundary
        self.normals = normals / normals.norm(dim=1, keepdim=True).clamp_min(1e-300)
        self.dim = interior.shape[1]

    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        allp = torch.cat([self.interior, self.boundary])
        return allp.min(0).values, allp.max(0).values

    def sdf(self, x: torch.Tensor) -> torch.Tensor:
        d_b = torch.cdist(x, self.boundary).min(1).values
        d_i = torch.cdist(x, self.interior).min(1).values
        return torch.where(d_i < d_b, -d_b, d_b)

    def boundary_measure(self) -> float:
        return float(self.boundary.shape[0])

    def _draw(self, pts: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        reps = math.ceil(n / pts.shape[0])
        idx = torch.cat([torch.randperm(pts.shape[0], generator=g) for _ in range(reps)])[:n]
        return pts[idx]

    def sample_interior(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        check_int("n", n, min_value=1)
        return self._draw(self.interior, n, seed)

    def sample_boundary(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        check_int("n", n, min_value=1)
        return self._draw(self.boundary, n, seed)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check(x)
        d, idx = torch.cdist(x, self.boundary).min(1)
        if bool((d > 1e-9).any()):
            raise UsageError("normal: a PointCloud knows normals only at its given boundary points")
        return self.normals[idx]


class TimeDomain:
    """``geometry x [t0, t1]``: points ``(n, dim + 1)`` with time last."""

    def __init__(self, geometry: Geometry, t0: float, t1: float) -> None:
        if not isinstance(geometry, Geometry):
            raise UsageError(f"TimeDomain needs a Geometry, got {type(geometry).__name__}")
        self.geometry = geometry
        self.t0, self.t1 = check_float("t0", t0), check_float("t1", t1)
        if self.t1 <= self.t0:
            raise UsageError(f"TimeDomain needs t0 < t1, got {t0} and {t1}")
        self.dim = geometry.dim + 1

    def _times(self, n: int, method: str, seed: int) -> torch.Tensor:
        return self.t0 + (self.t1 - self.t0) * unit_samples(n, 1, method, seed + 104729)

    def sample_interior(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        return torch.cat([self.geometry.sample_interior(n, method, seed), self._times(n, method, seed)], 1)

    def sample_boundary(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        """The lateral boundary: spatial boundary points at random times."""
        return torch.cat([self.geometry.sample_boundary(n, method, seed), self._times(n, method, seed)], 1)

    def sample_initial(self, n: int, method: str = "uniform", seed: int = 0) -> torch.Tensor:
        x = self.geometry.sample_interior(n, method, seed)
        return torch.cat([x, torch.full((n, 1), self.t0, dtype=x.dtype)], 1)
