r"""The PDE problem for physics-informed solvers, and the registry ``PROBLEMS`` (the registered problems
themselves are in :mod:`basiskit.physics.problems`).

A :class:`Problem` holds the domain (a box in space, optionally a time interval; coordinates are the space
dims then t), the PDE residual written against the one derivative helper
(:class:`~basiskit.physics.derivatives.Derivatives`), boundary (Dirichlet or periodic, or a list of condition
objects: :mod:`basiskit.physics.conditions`) and initial conditions,
and the exact solution or a reference one. ``create("convection", beta=50)`` builds one by name.

The residual is ``equation(D, p)``: ``D`` the derivatives of the field, ``p`` a dict of 0-dim tensors, the
problem's known parameters (``Problem.params``, e.g. Burgers' ``nu``) overridden by any a solver passes in
(the unknowns of an inverse problem, trainable; see :mod:`basiskit.physics.inverse`). An equation written
with one argument (``equation(D)``, the old signature, its coefficients captured as floats) still works and
warns ``DeprecationWarning`` once, when the problem is built.

A problem lives on a box (``space=[(lo, hi), ...]``) or on any :mod:`basiskit.physics.geometry` domain (``space``
a ``Geometry``: disk, polygon, L-shape by constructive geometry, point cloud; or a ``TimeDomain``): it then
samples collocation, boundary and initial points from the geometry (``sampling``: uniform or quasi-random),
checks points against it, and tests on the points of a box grid that lie inside it. Solvers see the bounding
box (PINN normalises inputs to it; PIG places its Gaussians in it).

Points are always ``(n, input_dim)``; fields ``(n, outputs)`` (``outputs`` = 1 for a scalar PDE, 3 for
Kovasznay's (u, v, p)); residuals ``(n, n_equations)``, one column per equation of a system.
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._validation import check_choice, check_float, check_int, check_tensor
from ..losses import relative_l2 as _relative_l2
from ..registry import Registry
from .conditions import Condition, Initial
from .derivatives import AutogradDerivatives, Derivatives
from .geometry import METHODS as GEOMETRY_SAMPLINGS
from .geometry import Box, Geometry, TimeDomain
from .sampling import box_grid, uniform_box

Field = Callable[[torch.Tensor], torch.Tensor]
Equation = Callable[[Derivatives, dict[str, torch.Tensor]], torch.Tensor]
PROBLEMS: Registry[Callable[..., Problem]] = Registry("problem", ("basiskit.physics",))  # type: ignore[name-defined]


def register_problem(name: str, summary: str | None = None) -> Callable[[Callable[..., Problem]], Callable[..., Problem]]:
    return PROBLEMS.register(name, summary=summary)


def create(name: str, **kwargs: Any) -> Problem:
    """Build a registered problem: ``create("helmholtz2d", a1=4, a2=1)``."""
    return PROBLEMS.create(name, **kwargs)


def names(pattern: str | None = None) -> list[str]:
    return PROBLEMS.names(pattern)


class Problem:
    r"""A PDE on a box or a geometry with its conditions and solution.

    Args:
        name: registry name.
        space: ``[(lo, hi), ...]`` per space dim (a box), or a ``Geometry`` (its bounding box is the box), or a
            ``TimeDomain`` (then ``time`` is None or its interval); ``time``: ``(t0, t1)`` or None.
        equation: ``(D, p) -> (n, n_equations)`` residual that vanishes at the solution (``D`` a Derivatives
            object over the points, ``D.x`` the points for source terms; ``p`` the parameters as 0-dim tensors:
            ``params`` and any overrides). A one-argument ``D -> residual`` is accepted with a DeprecationWarning.
        exact: closed-form solution ``points -> (n, outputs)``, or None.
        reference: ``points -> (n, outputs)`` numerical reference (used when ``exact`` is None) and its fixed
            test grid via ``reference_grid`` ``() -> (points, shape)``.
        boundary: "dirichlet" (value ``boundary_value`` or ``exact``; the default), "periodic" (value, and first
            derivative when ``order >= 2``) or "none"; with ``conditions`` it is "conditions".
        conditions: boundary and initial conditions as objects (:mod:`basiskit.physics.conditions`: Dirichlet,
            Neumann, Robin, Periodic, PointSet, OperatorCondition on parts of the boundary; Initial conditions
            join ``initial``); the boundary loss is the sum of their mean-square residuals.
        initial: list of ``(k, g)``: :math:`\partial_t^k u(x, t_0) = g(points)`.
        order: highest spatial derivative order of the PDE.
        params: the PDE's known parameters by name (floats); the equation reads them from ``p``.
        outputs: channels of the field (1: scalar; a system such as Navier-Stokes: several) and
            ``output_names`` their names (default u0, u1, ...; "u" for one channel).
        boundary_channels: the channels a Dirichlet boundary prescribes (default all; Kovasznay: (u, v), the
            pressure only up to a constant).
        sampling: how a geometry problem draws points: "uniform" or the quasi-random "sobol", "halton", "lhs"
            (``scipy.stats.qmc``); a box problem samples uniformly.
    """

    def __init__(self, name: str, space: Sequence[tuple[float, float]] | Geometry | TimeDomain,
                 time: tuple[float, float] | None,
                 equation: Equation | Callable[[Derivatives], torch.Tensor], *, exact: Field | None = None,
                 reference: Field | None = None,
                 reference_grid: Callable[[], tuple[torch.Tensor, tuple[int, ...]]] | None = None,
                 boundary: str | None = None, boundary_value: Field | None = None,
                 initial: Sequence[tuple[int, Field]] = (), order: int = 2, params: dict[str, float] | None = None,
                 test_sizes: Sequence[int] | None = None, outputs: int = 1,
                 output_names: Sequence[str] | None = None, boundary_channels: Sequence[int] | None = None,
                 sampling: str = "uniform", conditions: Sequence[Condition | Initial] | None = None) -> None:
        self.name = name
        self.conditions: list[Condition] = []
        extra_initial: list[tuple[int, Field]] = []
        for i, c in enumerate(conditions or ()):
            if isinstance(c, Initial):
                extra_initial.append((c.order, c.value))
            elif isinstance(c, Condition):
                self.conditions.append(c)
            else:
                raise TypeError(f"conditions[{i}] must be a basiskit.physics.conditions object (Dirichlet, Neumann, "
                                f"Robin, Periodic, PointSet, OperatorCondition, Initial), got {type(c).__name__}")
        if self.conditions:
            if boundary not in (None, "conditions"):
                raise ValueError(f"boundary={boundary!r} and conditions=[...] both given; the conditions list "
                                 "replaces the boundary switch (use Dirichlet / Periodic objects)")
            boundary = "conditions"
        boundary = "dirichlet" if boundary is None else boundary
        self.geometry: Geometry | None = None
        if isinstance(space, TimeDomain):
            if time is not None and (float(time[0]), float(time[1])) != (space.t0, space.t1):
                raise ValueError(f"time: {time} differs from the TimeDomain's ({space.t0}, {space.t1}); pass None")
            time, space = (space.t0, space.t1), space.geometry
        if isinstance(space, Geometry):
            self.geometry = space
            lo, hi = space.bbox
            self.space = [(float(a), float(b)) for a, b in zip(lo.tolist(), hi.tolist())]
            if boundary == "periodic":
                raise ValueError(f"problem {name!r}: a periodic boundary needs a box (space=[(lo, hi), ...]), "
                                 f"not a {type(space).__name__}")
        else:
            self.space = [(float(lo), float(hi)) for lo, hi in space]
        self.sampling = check_choice("sampling", sampling, list(GEOMETRY_SAMPLINGS))
        self.time = None if time is None else (float(time[0]), float(time[1]))
        self.equation: Equation = _two_argument(equation, name)
        self.outputs = check_int("outputs", outputs, min_value=1)
        names = list(output_names) if output_names is not None else (
            ["u"] if outputs == 1 else [f"u{c}" for c in range(outputs)])
        if len(names) != outputs:
            raise ValueError(f"output_names: {len(names)} names {names} for outputs={outputs}")
        self.output_names = tuple(names)
        chans = tuple(range(outputs)) if boundary_channels is None else tuple(boundary_channels)
        for c in chans:
            check_int("boundary_channels", c, min_value=0, max_value=outputs - 1)
        self.boundary_channels = chans
        self._exact = exact
        self._reference = reference
        self._reference_grid = reference_grid
        self.boundary = check_choice("boundary", boundary, ["dirichlet", "periodic", "none", "conditions"])
        self.boundary_value = boundary_value or exact
        if self.boundary == "dirichlet" and self.boundary_value is None:
            raise ValueError(f"problem {name!r}: a Dirichlet boundary needs boundary_value or exact")
        self.initial = list(initial) + extra_initial
        self.order = order
        self.params = dict(params or {})
        for key, value in self.params.items():
            check_float(f"params[{key!r}]", value)
        self.test_sizes = tuple(test_sizes or ((256,) if self.input_dim == 1 else (101,) * self.input_dim))

    # ---- domain ------------------------------------------------------------------------------
    @property
    def space_dim(self) -> int:
        return len(self.space)

    @property
    def input_dim(self) -> int:
        return self.space_dim + (self.time is not None)

    @property
    def time_dependent(self) -> bool:
        return self.time is not None

    @property
    def lower(self) -> list[float]:
        return [lo for lo, _ in self.space] + ([self.time[0]] if self.time else [])

    @property
    def upper(self) -> list[float]:
        return [hi for _, hi in self.space] + ([self.time[1]] if self.time else [])

    @property
    def coords(self) -> tuple[str, ...]:
        names = ("x",) if self.space_dim == 1 else ("x", "y", "z")[: self.space_dim]
        return tuple(names) + (("t",) if self.time else ())

    def check_points(self, points: Any, arg: str = "points") -> torch.Tensor:
        """Points (n, input_dim) inside the closed domain (1e-6 relative slack), else ValueError naming ``arg``."""
        check_tensor(arg, points, ndim=2, last_dim=self.input_dim, finite=True)
        lo = torch.tensor(self.lower, dtype=points.dtype, device=points.device)
        hi = torch.tensor(self.upper, dtype=points.dtype, device=points.device)
        slack = 1e-6 * (hi - lo)
        outside = ((points < lo - slack) | (points > hi + slack)).any(dim=1)
        if self.geometry is not None and not bool(outside.any()):
            sdf = self.geometry.sdf(points[:, : self.space_dim].detach().to(torch.float64))
            outside = sdf > 1e-6 * float((hi - lo)[: self.space_dim].max())
        if bool(outside.any()):
            i = int(outside.nonzero()[0, 0])
            where = f"the {type(self.geometry).__name__} inside " if self.geometry is not None else ""
            raise ValueError(f"{arg}: {int(outside.sum())} point(s) lie outside the domain of {self.name!r} "
                             f"({where}lower {self.lower}, upper {self.upper}); first is {points[i].tolist()}")
        return points

    # ---- solution ------------------------------------------------------------------------------
    @property
    def has_exact(self) -> bool:
        return self._exact is not None

    def exact(self, points: torch.Tensor) -> torch.Tensor:
        """Closed-form solution (n, 1); ValueError when the problem only has a numerical reference."""
        if self._exact is None:
            raise ValueError(f"problem {self.name!r} has no closed-form solution; use solution() (reference)")
        return self._exact(self.check_points(points))

    def solution(self, points: torch.Tensor) -> torch.Tensor:
        """Exact solution where there is one, else the reference solution (n, outputs), detached."""
        points = self.check_points(points)
        fn = self._exact or self._reference
        if fn is None:
            raise ValueError(f"problem {self.name!r} has neither an exact nor a reference solution")
        with torch.no_grad():
            return fn(points).to(points.dtype)

    def test_grid(self) -> tuple[torch.Tensor, tuple[int, ...]]:
        """The fixed evaluation grid: points (m, input_dim) and the grid shape (prod(shape) = m, 'ij')."""
        if self._exact is None and self._reference_grid is not None:
            return self._reference_grid()
        grid = box_grid(self.test_sizes, self.lower, self.upper)
        if self.geometry is None:
            return grid, self.test_sizes
        # a geometry: the grid points inside it, a flat list (shape (m,))
        keep = self.geometry.inside(grid[:, : self.space_dim].to(torch.float64))
        return grid[keep], (int(keep.sum()),)

    def relative_l2(self, fn: Field, chunk: int = 16384, channels: Sequence[int] | None = None) -> float:
        """Relative L2 error of ``fn`` (points -> (n, outputs)) against the solution on ``test_grid()``.

        ``channels``: the output channels compared, jointly as one vector field (default all; Kovasznay's
        velocity error is ``channels=(0, 1)``).
        """
        points, _ = self.test_grid()
        ref = self.solution(points)
        with torch.no_grad():
            pred = torch.cat([fn(points[i:i + chunk]) for i in range(0, len(points), chunk)])
        if pred.shape != ref.shape:
            raise ValueError(f"fn returned {tuple(pred.shape)} on the test grid of {self.name!r}; the solution "
                             f"is {tuple(ref.shape)} (outputs={self.outputs})")
        if channels is not None:
            idx = [check_int("channels", c, min_value=0, max_value=self.outputs - 1) for c in channels]
            pred, ref = pred[:, idx], ref[:, idx]
        return _relative_l2(pred.to(ref.dtype), ref)

    # ---- sampling ------------------------------------------------------------------------------
    def _geometry_points(self, n: int, generator: torch.Generator | None, where: str) -> torch.Tensor:
        """n points of a geometry problem: "interior", "boundary" (lateral in time) or "initial"; the geometry's
        seed is drawn from ``generator``, so the points are a pure function of its state."""
        assert self.geometry is not None
        check_int("n", n, min_value=1)
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=generator))
        space = (self.geometry.sample_boundary if where == "boundary" else self.geometry.sample_interior)(
            n, self.sampling, seed)
        dtype = torch.get_default_dtype()
        if self.time is None:
            return space.to(dtype)
        t0, t1 = self.time
        if where == "initial":
            t = torch.full((n, 1), t0, dtype=torch.float64)
        else:
            t = t0 + (t1 - t0) * torch.rand(n, 1, generator=generator, dtype=torch.float64)
        return torch.cat([space, t], dim=1).to(dtype)

    def normal(self, points: torch.Tensor) -> torch.Tensor:
        """Outward unit normals (n, space_dim) at spatial boundary points (a geometry's, or a box's faces;
        corners: the normalised average of the faces' normals)."""
        points = self.check_points(points)
        geom = self.geometry or Box([lo for lo, _ in self.space], [hi for _, hi in self.space])
        return geom.normal(points[:, : self.space_dim].to(torch.float64)).to(points.dtype)

    def sample_interior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n collocation points in the domain: (n, input_dim) (uniform in a box; a geometry: ``sampling``)."""
        if self.geometry is not None:
            return self._geometry_points(n, generator, "interior")
        return uniform_box(n, self.lower, self.upper, generator)

    def sample_boundary(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points on the spatial boundary, spread evenly over the faces (periodic problems: the low faces);
        a geometry: in proportion to the boundary measure."""
        if self.geometry is not None:
            return self._geometry_points(n, generator, "boundary")
        pts = self.sample_interior(n, generator)
        n_faces = self.space_dim if self.boundary == "periodic" else 2 * self.space_dim
        faces = torch.randperm(n, generator=generator) % n_faces  # balanced over the faces
        if self.boundary == "periodic":
            faces = 2 * faces
        dims, high = faces // 2, (faces % 2).bool()
        lo = torch.tensor(self.lower[: self.space_dim])[dims]
        hi = torch.tensor(self.upper[: self.space_dim])[dims]
        pts[torch.arange(n), dims] = torch.where(high, hi, lo)
        return pts

    def sample_initial(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points at t = t0 (time-dependent problems only): (n, input_dim)."""
        if self.time is None:
            raise ValueError(f"problem {self.name!r} is not time-dependent; it has no initial condition")
        if self.geometry is not None:
            return self._geometry_points(n, generator, "initial")
        pts = self.sample_interior(n, generator)
        pts[:, -1] = self.time[0]
        return pts

    # ---- residuals -----------------------------------------------------------------------------
    def derivatives(self, fn: Field, points: torch.Tensor) -> Derivatives:
        return AutogradDerivatives(fn, self.check_points(points))

    def parameters(self, overrides: dict[str, torch.Tensor] | None = None, *, dtype: torch.dtype = torch.float64,
                   device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        """``p`` for the equation: the known ``params`` as 0-dim tensors, then ``overrides`` (e.g. unknowns).

        An override must name a parameter of the problem (ValueError otherwise: an unknown the equation never
        reads would silently stay at its initial value).
        """
        p = {k: torch.tensor(v, dtype=dtype, device=device) for k, v in self.params.items()}
        for key, value in (overrides or {}).items():
            if key not in p:
                raise ValueError(f"parameter {key!r} is not a parameter of problem {self.name!r}; its parameters: "
                                 f"{sorted(self.params) or 'none'}")
            p[key] = value
        return p

    def residual(self, fn: Field | Derivatives, points: torch.Tensor | None = None,
                 params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """PDE residual (n, n_equations) of ``fn`` at ``points``, or of a ready Derivatives object (then no
        points); ``params`` override the problem's known parameters (:meth:`parameters`)."""
        if not isinstance(fn, Derivatives):
            if points is None:
                raise ValueError("residual: points are required when fn is a callable")
            fn = self.derivatives(fn, points)
        if fn.u.shape[1] != self.outputs:
            raise ValueError(f"the field has {fn.u.shape[1]} channel(s) but problem {self.name!r} has "
                             f"outputs={self.outputs} ({', '.join(self.output_names)})")
        r = self.equation(fn, self.parameters(params, device=fn.x.device))
        return r if r.ndim == 2 else r.unsqueeze(1)

    def boundary_residual(self, fn: Field, points: torch.Tensor) -> torch.Tensor:
        """Dirichlet: u - g. Periodic (points on low faces): u(lo) - u(hi) and, for order >= 2, u_x(lo) - u_x(hi)."""
        points = self.check_points(points)
        if self.boundary == "conditions":
            raise ValueError(f"problem {self.name!r} has a list of conditions of different sizes; use "
                             "conditions_loss(fn, points)")
        if self.boundary == "none":
            return points.new_zeros(points.shape[0], 1)
        if self.boundary == "dirichlet":
            diff = fn(points) - self.boundary_value(points)  # type: ignore[misc]
            return diff if len(self.boundary_channels) == self.outputs else diff[:, list(self.boundary_channels)]
        lo = torch.tensor(self.lower[: self.space_dim], dtype=points.dtype, device=points.device)
        hi = torch.tensor(self.upper[: self.space_dim], dtype=points.dtype, device=points.device)
        on_lo = (points[:, : self.space_dim] - lo).abs() <= 1e-9 * (hi - lo)
        if not bool(on_lo.any(dim=1).all()):
            raise ValueError("points: periodic boundary points must lie on a low face (use sample_boundary)")
        dims = on_lo.float().argmax(dim=1)
        partner = points.clone()
        partner[torch.arange(len(points)), dims] = hi[dims]
        both = torch.cat([points, partner])
        if self.order < 2:
            u = fn(both)
            return u[: len(points)] - u[len(points):]
        d = AutogradDerivatives(fn, both)
        grads = torch.cat([d(k) for k in range(self.space_dim)], dim=1)
        du = grads.gather(1, torch.cat([dims, dims]).unsqueeze(1))
        n = len(points)
        return torch.cat([d.u[:n] - d.u[n:], du[:n] - du[n:]], dim=1)

    def conditions_loss(self, fn: Field, points: torch.Tensor | None) -> torch.Tensor:
        """Sum over ``conditions`` of each one's mean-square residual on the boundary ``points`` it selects
        (PointSet: on its own points); 0 when none applies."""
        if points is not None:
            points = self.check_points(points)
        losses = [c.loss(self, fn, points) for c in self.conditions]
        losses = [v for v in losses if v is not None]
        if not losses:
            return torch.zeros(()) if points is None else points.new_zeros(())
        return torch.stack(losses).sum()

    def initial_residual(self, fn: Field, points: torch.Tensor) -> torch.Tensor:
        r"""(n, len(initial)): :math:`\partial_t^k u - g_k` at points with t = t0."""
        points = self.check_points(points)
        if not self.initial:
            return points.new_zeros(points.shape[0], 1)
        if all(k == 0 for k, _ in self.initial):
            u = fn(points)
            return torch.cat([u - g(points) for _, g in self.initial], dim=1)
        d = AutogradDerivatives(fn, points)
        tdim = self.input_dim - 1
        return torch.cat([d(*([tdim] * k)) - g(points) for k, g in self.initial], dim=1)

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        sol = "exact" if self._exact is not None else "reference"
        return (f"Problem({self.name}{'(' + extra + ')' if extra else ''}: space={self.space}, time={self.time}, "
                f"boundary={self.boundary}, solution={sol})")


def _col(points: torch.Tensor, i: int) -> torch.Tensor:
    return points[:, i:i + 1]


def _two_argument(equation: Callable[..., torch.Tensor], name: str) -> Equation:
    """``equation`` as ``(D, p) -> residual``; a one-argument ``D -> residual`` is wrapped with a
    DeprecationWarning (its coefficients are captured floats: it cannot take unknowns)."""
    if not callable(equation):
        raise TypeError(f"equation must be a callable (D, p) -> residual, got {type(equation).__name__}")
    try:
        sig = inspect.signature(equation)
    except (TypeError, ValueError):  # a builtin without a signature: assume the current one
        return equation
    positional = [q for q in sig.parameters.values()
                  if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD) and q.default is q.empty]
    variadic = any(q.kind == q.VAR_POSITIONAL for q in sig.parameters.values())
    if len(positional) >= 2 or variadic:
        return equation
    if len(positional) == 1:
        warnings.warn(f"problem {name!r}: equation(D) with one argument is deprecated; write equation(D, p) and read "
                      "the PDE's parameters from the dict p (Problem(params=...)) so they can be unknowns",
                      DeprecationWarning, stacklevel=3)
        return lambda d, p: equation(d)
    raise TypeError(f"equation must take (D, p), got a callable with signature {sig}")
