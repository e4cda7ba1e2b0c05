r"""PDE problems for physics-informed solvers, registered by name in ``PROBLEMS``.

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

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._validation import check_choice, check_float, check_int, check_tensor
from ..losses import relative_l2 as _relative_l2
from ..pde.allen_cahn import allen_cahn_etdrk4, fourier_linear_interp
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
        x_g, t_g, u_g = _allen_cahn_reference(n_x, dt)
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
