r"""Boundary and initial conditions as objects, each on the part of the boundary a predicate selects.

``Problem(..., conditions=[...])`` replaces the single ``boundary="dirichlet" | "periodic"`` switch by a list:

* :class:`Dirichlet`: :math:`u_c = g(x)`;
* :class:`Neumann`: :math:`\partial u_c / \partial n = g(x)`, n the outward unit normal (the problem's geometry or
  box; at a corner the normalised average of the faces' normals, as DeepXDE does);
* :class:`Robin`: :math:`\partial u_c / \partial n = f(x, u_c)` (DeepXDE's convention: the whole right-hand side is
  the user's function of the point and the value);
* :class:`Periodic`: box-aligned pairs :math:`u(x)|_{x_d = lo} = u(x)|_{x_d = hi}` and, with ``order=1``, the same
  for :math:`\partial u / \partial x_d` (derivative order <= 1);
* :class:`PointSet`: :math:`u_c(x_i) = v_i` at given points (data; not sampled);
* :class:`OperatorCondition`: any residual ``op(D, x) = 0`` written against the derivatives helper;
* :class:`Initial`: :math:`\partial_t^k u(x, t_0) = g(x)`, with time derivatives.

``on``: a predicate ``points (n, input_dim) -> (n,) bool`` selecting where a boundary condition holds (default the
whole boundary; :func:`on_plane` builds the common one); the condition's loss is the mean square of its residual
over the sampled boundary points it selects (0 where it selects none). ``channels``: the output channels it
constrains (default all). :func:`condition` builds one by name.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._validation import check_choice, check_float, check_int, check_tensor
from .derivatives import AutogradDerivatives, Derivatives

Field = Callable[[torch.Tensor], torch.Tensor]
Predicate = Callable[[torch.Tensor], torch.Tensor]

__all__ = ["CONDITIONS", "Condition", "Dirichlet", "Initial", "Neumann", "OperatorCondition", "Periodic", "PointSet",
           "Robin", "condition", "on_plane"]


def on_plane(dim: int, value: float, tol: float = 1e-6) -> Predicate:
    """Predicate: points with coordinate ``dim`` equal to ``value`` (within ``tol``), e.g. the face x = 0."""
    check_int("dim", dim, min_value=0)
    value, tol = check_float("value", value), check_float("tol", tol, min_value=0.0)
    return lambda x: (x[:, dim] - value).abs() <= tol


class Condition:
    """Base: where it holds (``on``), on which channels, and its residual at selected points."""

    kind = "boundary"  # "boundary" conditions see the sampled boundary points; PointSet its own points

    def __init__(self, on: Predicate | None = None, channels: Sequence[int] | None = None) -> None:
        if on is not None and not callable(on):
            raise TypeError(f"on must be a predicate points -> (n,) bool, got {type(on).__name__}")
        self.on = on
        self.channels = None if channels is None else [check_int("channels", c, min_value=0) for c in channels]

    def select(self, points: torch.Tensor) -> torch.Tensor:
        """The points where the condition holds: (k, input_dim)."""
        if self.on is None:
            return points
        mask = self.on(points)
        if not isinstance(mask, torch.Tensor) or mask.shape != (points.shape[0],) or mask.dtype != torch.bool:
            raise ValueError(f"on must return a (n,) bool tensor for (n, d) points, got "
                             f"{getattr(mask, 'shape', type(mask).__name__)} {getattr(mask, 'dtype', '')}")
        return points[mask]

    def _pick(self, u: torch.Tensor, problem: Any) -> torch.Tensor:
        if self.channels is None:
            return u
        if max(self.channels) >= u.shape[1]:
            raise ValueError(f"{type(self).__name__}: channels {self.channels} but problem {problem.name!r} has "
                             f"{u.shape[1]} output(s)")
        return u[:, self.channels]

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        """Residual (k, channels) at the selected points (the caller passes ``select(points)``)."""
        raise TypeError(f"{type(self).__name__} is an interface; use Dirichlet, Neumann, Robin, ...")

    def loss(self, problem: Any, fn: Field, points: torch.Tensor | None) -> torch.Tensor | None:
        """Mean square residual over the selected points, None when none are selected."""
        if points is None:
            return None
        pts = self.select(points)
        if pts.shape[0] == 0:
            return None
        return self.residual(problem, fn, pts).pow(2).mean()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(on={'all' if self.on is None else 'predicate'}, channels={self.channels})"


class Dirichlet(Condition):
    """u_c = value(x); ``value``: points -> (n, len(channels)) (or the problem's exact solution when None)."""

    def __init__(self, value: Field | None = None, on: Predicate | None = None,
                 channels: Sequence[int] | None = None) -> None:
        super().__init__(on, channels)
        self.value = value

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        value = self.value or problem.exact
        want = value(points)
        return self._pick(fn(points), problem) - (want if self.value is not None else self._pick(want, problem))


def _normal_derivative(problem: Any, fn: Field, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, du/dn) at boundary points: (k, m) each, n the problem's outward normal."""
    d = AutogradDerivatives(fn, points)
    normals = problem.normal(points).to(d.u.dtype)  # (k, space_dim)
    du_dn = sum(normals[:, i:i + 1] * d(i) for i in range(problem.space_dim))
    return d.u, du_dn  # type: ignore[return-value]


class Neumann(Condition):
    """du_c/dn = flux(x) at boundary points; ``flux``: points -> (n, len(channels))."""

    def __init__(self, flux: Field, on: Predicate | None = None, channels: Sequence[int] | None = None) -> None:
        super().__init__(on, channels)
        if not callable(flux):
            raise TypeError(f"flux must be a callable points -> (n, channels), got {type(flux).__name__}")
        self.flux = flux

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        _, du_dn = _normal_derivative(problem, fn, points)
        return self._pick(du_dn, problem) - self.flux(points)


class Robin(Condition):
    """du_c/dn = rhs(x, u_c) at boundary points (DeepXDE's convention); ``rhs``: (points, u) -> (n, channels)."""

    def __init__(self, rhs: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], on: Predicate | None = None,
                 channels: Sequence[int] | None = None) -> None:
        super().__init__(on, channels)
        if not callable(rhs):
            raise TypeError(f"rhs must be a callable (points, u) -> (n, channels), got {type(rhs).__name__}")
        self.rhs = rhs

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        u, du_dn = _normal_derivative(problem, fn, points)
        return self._pick(du_dn, problem) - self.rhs(points, self._pick(u, problem))


class Periodic(Condition):
    """u(lo) = u(hi) across the box faces of spatial ``dim`` and, with ``order=1``, du/dx_dim too.

    Uses the sampled boundary points on the low face of ``dim`` (``on`` narrows them further) and their partners
    on the high face of the problem's bounding box.
    """

    def __init__(self, dim: int, order: int = 0, on: Predicate | None = None,
                 channels: Sequence[int] | None = None) -> None:
        super().__init__(on, channels)
        self.dim = check_int("dim", dim, min_value=0)
        self.order = check_int("order", order, min_value=0, max_value=1)

    def select(self, points: torch.Tensor) -> torch.Tensor:
        pts = super().select(points)
        lo, hi = self._bounds
        return pts[(pts[:, self.dim] - lo).abs() <= 1e-6 * (hi - lo)]

    def loss(self, problem: Any, fn: Field, points: torch.Tensor | None) -> torch.Tensor | None:
        if self.dim >= problem.space_dim:
            raise ValueError(f"Periodic: dim={self.dim} but problem {problem.name!r} has {problem.space_dim} space "
                             "dim(s)")
        self._bounds = problem.space[self.dim]
        return super().loss(problem, fn, points)

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        partner = points.clone()
        partner[:, self.dim] = problem.space[self.dim][1]
        both = torch.cat([points, partner])
        n = points.shape[0]
        if self.order == 0:
            u = self._pick(fn(both), problem)
            return u[:n] - u[n:]
        d = AutogradDerivatives(fn, both)
        u, du = self._pick(d.u, problem), self._pick(d(self.dim), problem)
        return torch.cat([u[:n] - u[n:], du[:n] - du[n:]], dim=1)


class PointSet(Condition):
    """u_c(points) = values: data at fixed points (not the sampled boundary); values (n, len(channels))."""

    kind = "points"

    def __init__(self, points: torch.Tensor, values: torch.Tensor, channels: Sequence[int] | None = None) -> None:
        super().__init__(None, channels)
        check_tensor("points", points, ndim=2, finite=True, nonempty=True)
        values = values.unsqueeze(1) if values.ndim == 1 else values
        check_tensor("values", values, ndim=2, finite=True)
        if values.shape[0] != points.shape[0]:
            raise ValueError(f"values: {values.shape[0]} rows for {points.shape[0]} points")
        self.points, self.values = points.detach(), values.detach()

    def loss(self, problem: Any, fn: Field, points: torch.Tensor | None) -> torch.Tensor | None:
        like = next(iter(getattr(fn, "parameters", lambda: iter([]))()), None)
        pts = self.points if like is None else self.points.to(like.device, like.dtype)
        problem.check_points(pts, "PointSet.points")
        return self.residual(problem, fn, pts).pow(2).mean()

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        return self._pick(fn(points), problem) - self.values.to(points.device, points.dtype)


class OperatorCondition(Condition):
    """A general residual ``op(D, x) -> (k, r)`` at the selected boundary points (D: derivatives of u there)."""

    def __init__(self, op: Callable[[Derivatives, torch.Tensor], torch.Tensor], on: Predicate | None = None) -> None:
        super().__init__(on, None)
        if not callable(op):
            raise TypeError(f"op must be a callable (D, x) -> residual, got {type(op).__name__}")
        self.op = op

    def residual(self, problem: Any, fn: Field, points: torch.Tensor) -> torch.Tensor:
        d = AutogradDerivatives(fn, points)
        r = self.op(d, d.x)
        return r if r.ndim == 2 else r.unsqueeze(1)


class Initial:
    """:math:`\\partial_t^k u(x, t_0) = g(x)` (``order`` k >= 0); becomes one entry of ``Problem.initial``."""

    def __init__(self, value: Field, order: int = 0) -> None:
        if not callable(value):
            raise TypeError(f"value must be a callable points -> (n, outputs), got {type(value).__name__}")
        self.value, self.order = value, check_int("order", order, min_value=0)

    def __repr__(self) -> str:
        return f"Initial(order={self.order})"


CONDITIONS: dict[str, type] = {"dirichlet": Dirichlet, "neumann": Neumann, "robin": Robin, "periodic": Periodic,
                               "pointset": PointSet, "operator": OperatorCondition, "initial": Initial}


def condition(name: str, *args: Any, **kwargs: Any) -> Condition | Initial:
    """Build a condition by name: ``condition("neumann", flux=g, on=on_plane(0, 1.0))``."""
    check_choice("name", name, list(CONDITIONS))
    return CONDITIONS[name](*args, **kwargs)
