r"""Linear PDEs for the GP-HM solver (:mod:`.gp_solver`): the :class:`LinearPDE` description and
:func:`as_linear_pde`, which reads a registered :class:`~basiskit.physics.problems.Problem` as a
constant-coefficient linear operator :math:`\sum_\alpha c_\alpha \partial^\alpha u = f` by probing its residual.

Fang, Cooley, Long, Li, Kirby & Zhe, "Solving High Frequency and Multi-Scale PDEs with Gaussian Processes",
ICLR 2024.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class LinearPDE:
    r"""A linear PDE :math:`\sum_\alpha c_\alpha \partial^\alpha u = f` on a box with Dirichlet data.

    Args:
        domain: ``((lo_1, hi_1), ..., (lo_d, hi_d))``.
        operator: derivative multi-index -> constant coefficient, e.g. ``{(2, 0): 1.0, (0, 2): 1.0}`` for the
            2-D Laplacian; orders up to 2 per axis.
        source: ``points: (n, d) -> f: (n,)``.
        exact: ``points: (n, d) -> u: (n,)`` or None.
        boundary: Dirichlet data ``points: (n, d) -> (n,)``; defaults to ``exact``.
    """

    domain: tuple[tuple[float, float], ...]
    operator: Mapping[tuple[int, ...], float]
    source: Callable[[torch.Tensor], torch.Tensor]
    exact: Callable[[torch.Tensor], torch.Tensor] | None = None
    boundary: Callable[[torch.Tensor], torch.Tensor] | None = None
    name: str = "linear_pde"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dom = tuple((float(lo), float(hi)) for lo, hi in self.domain)
        if not dom or any(hi <= lo for lo, hi in dom):
            raise ValueError(f"domain must be non-empty ((lo, hi), ...) with lo < hi, got {self.domain!r}")
        object.__setattr__(self, "domain", dom)
        if not self.operator:
            raise ValueError("operator must name at least one derivative term, got an empty mapping")
        for alpha in self.operator:
            if len(alpha) != len(dom) or any(not isinstance(a, int) or a < 0 or a > 2 for a in alpha):
                raise ValueError(f"operator key {alpha!r} must be {len(dom)} derivative orders in 0..2")
        if self.boundary is None and self.exact is None:
            raise ValueError("LinearPDE needs boundary data: give boundary= or exact=")

    @property
    def dim(self) -> int:
        return len(self.domain)

    def boundary_values(self, points: torch.Tensor) -> torch.Tensor:
        fn = self.boundary if self.boundary is not None else self.exact
        assert fn is not None
        return fn(points)


def _probe_linear_operator(problem: Any) -> tuple[dict[tuple[int, ...], float], Callable[[torch.Tensor], torch.Tensor]]:
    r"""Read a ``Problem``'s residual as :math:`\sum_a c_a \partial^a u - f` by probing it with held derivative
    values (:class:`~basiskit.physics.derivatives.JetDerivatives`): all zero gives :math:`-f`, one term set
    to 1 gives its coefficient, which must be the same at every probe point (constant coefficients), scale
    linearly, and superpose. Anything else raises ``ValueError`` naming ``problem``."""
    from .derivatives import JetDerivatives

    d = len(problem.space)
    g = torch.Generator().manual_seed(0)
    lo = torch.tensor([a for a, _ in problem.space], dtype=torch.float64)
    hi = torch.tensor([b for _, b in problem.space], dtype=torch.float64)
    pts = lo + (hi - lo) * torch.rand(9, d, generator=g, dtype=torch.float64)
    keys: list[tuple[int, ...]] = [()] + [(i,) for i in range(d)] + [(i, j) for i in range(d) for j in range(i, d)]

    def residual(values: dict[tuple[int, ...], torch.Tensor]) -> torch.Tensor:
        zero = torch.zeros(len(pts), 1, dtype=torch.float64)
        first = torch.stack([values.get((i,), zero) for i in range(d)], 1)
        second = {k: values.get(k, zero) for k in keys if len(k) == 2}
        try:
            out = problem.residual(JetDerivatives(pts, values.get((), zero), first, second))
        except ValueError as err:  # a derivative of order > 2 was requested
            raise ValueError(f"problem {problem.name!r}: GPSolver supports derivatives up to order 2 ({err})") from err
        return out.reshape(len(pts), -1).to(torch.float64)

    base = residual({})
    name = f"problem {problem.name!r}"
    coeffs: dict[tuple[int, ...], float] = {}
    for key in keys:
        one = residual({key: torch.ones(len(pts), 1, dtype=torch.float64)}) - base
        two = residual({key: torch.full((len(pts), 1), 2.0, dtype=torch.float64)}) - base
        if not torch.allclose(two, 2 * one, rtol=1e-9, atol=1e-9):
            raise ValueError(f"{name} is nonlinear in its derivative {key or 'u'}; GPSolver supports linear PDEs "
                             "sum_a c_a d^a u = f only")
        if not torch.allclose(one, one[:1].expand_as(one), rtol=1e-9, atol=1e-9):
            raise ValueError(f"{name} has a non-constant coefficient for derivative {key or 'u'}; GPSolver "
                             "supports constant coefficients only")
        c = float(one[0, 0])
        if c != 0.0:
            alpha = [0] * d
            for i in key:
                alpha[i] += 1
            coeffs[tuple(alpha)] = coeffs.get(tuple(alpha), 0.0) + c
    rand = {k: torch.randn(len(pts), 1, generator=g, dtype=torch.float64) for k in keys}
    combo = sum((v * (residual({k: torch.ones(len(pts), 1, dtype=torch.float64)}) - base)
                 for k, v in rand.items()), torch.zeros_like(base))
    if not torch.allclose(residual(rand) - base, combo, rtol=1e-8, atol=1e-8):
        raise ValueError(f"{name} is nonlinear (its residual does not superpose); GPSolver supports linear PDEs only")
    if not coeffs:
        raise ValueError(f"{name}: the probed operator has no derivative terms")

    def source(points: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros(len(points), 1, dtype=points.dtype, device=points.device)
        jets = JetDerivatives(points, zero, torch.zeros(len(points), d, 1, dtype=points.dtype, device=points.device),
                              {k: zero for k in keys if len(k) == 2})
        return -problem.residual(jets).reshape(-1)

    return coeffs, source


def as_linear_pde(problem: Any) -> LinearPDE:
    """Accept a :class:`LinearPDE`, a registered problem name or a :class:`~basiskit.physics.problems.Problem`.

    A ``Problem`` must be steady, with Dirichlet boundaries and a linear constant-coefficient residual of
    order <= 2 (read off by probing, see ``_probe_linear_operator``); otherwise ``ValueError`` naming ``problem``.
    """
    if isinstance(problem, LinearPDE):
        return problem
    from .problems import Problem, create  # the problem registry

    if isinstance(problem, str):
        problem = create(problem)
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a LinearPDE, a problem name or a Problem, got {type(problem).__name__}")
    if problem.time is not None:
        raise ValueError(f"problem {problem.name!r} is time-dependent; GPSolver solves steady problems on a box")
    if problem.boundary != "dirichlet":
        raise ValueError(f"problem {problem.name!r} has a {problem.boundary!r} boundary; GPSolver needs Dirichlet")
    operator, source = _probe_linear_operator(problem)
    exact = (lambda p: problem.exact(p).reshape(-1)) if problem.has_exact else None
    bvalue = problem.boundary_value
    return LinearPDE(domain=tuple(problem.space), operator=operator, source=source, exact=exact,
                     boundary=lambda p: bvalue(p).reshape(-1), name=problem.name, meta={"problem": problem})
