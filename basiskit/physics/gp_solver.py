r"""GP-HM: a Gaussian-process PDE solver on a tensor grid with Kronecker structure.

Fang, Cooley, Long, Li, Kirby & Zhe, "Solving High Frequency and Multi-Scale PDEs with Gaussian Processes",
ICLR 2024. The unknowns are the solution values :math:`U` on a tensor grid :math:`\mathcal{M} = M_1 \times \dots
\times M_d` (the collocation points). They carry a GP prior with covariance
:math:`K = K_1 \otimes \dots \otimes K_d`, :math:`K_j = k_j(M_j, M_j)`, each :math:`k_j` a spectral mixture (or
Student-t mixture, see :mod:`.kernels_sm`) with weights estimated in log space. The solution and its
derivatives anywhere are the GP conditional mean :math:`\partial^\alpha u(x) = \partial^\alpha k(x, \mathcal{M})
K^{-1}\mathrm{vec}(U)`; at the grid itself this is a product along each axis by
:math:`D_j^{(p)} = K_j^{(p)} K_j^{-1}`. For a linear operator :math:`\mathcal{L} = \sum_\alpha c_\alpha
\partial^\alpha` the residual at the grid is :math:`\sum_\alpha c_\alpha (\otimes_j D_j^{(\alpha_j)})U - f`.
Training minimises the negative log joint

.. math::
    \tfrac12 \mathrm{vec}(U)^\top K^{-1}\mathrm{vec}(U) + \tfrac12\log|K|
    + \lambda_b\big(\tfrac{\tau_b}{2}\|U_{\partial} - g\|^2 - \tfrac{N_b}{2}\log\tau_b\big)
    + \tfrac{\tau_r}{2}\|\mathcal{L}U - f\|^2 - \tfrac{N}{2}\log\tau_r

over :math:`U`, the kernel parameters and the precisions :math:`\tau_b, \tau_r`. All solves and
log-determinants go through the per-dimension Cholesky factors (:mod:`.kronecker`), so an iteration costs
:math:`O(\sum_j n_j^3 + N\sum_j n_j)` — :math:`O(N^{1.5})` on a square 2-D grid — and the :math:`N \times N`
covariance is never formed. Everything runs in float64.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from .gp_problem import LinearPDE, as_linear_pde  # noqa: F401  (LinearPDE re-exported)
from .kernels_sm import KERNELS, mixture_kernel, mixture_kernel_matrix
from .kronecker import (kron_cholesky, kron_cholesky_logdet, kron_cholesky_solve, kron_matvec,
                        kron_triangular_solve, mode_product)


# the initial spectral width per kernel: the envelope of the GP-HM code at log length-scale 0, exp(-r^2)
# (2 pi^2 s^2 = 1) and Matern-5/2 with t = sqrt(5) (2 pi sqrt(5) s = sqrt(5))
INIT_SCALES = {"spectral_mixture": 1 / (math.pi * math.sqrt(2)), "student_t_mixture": 1 / (2 * math.pi)}


def grid_points(axes: Sequence[torch.Tensor]) -> torch.Tensor:
    """All points of the tensor grid ``axes[0] x ... x axes[d-1]`` in row-major order: ``(prod n_j, d)``."""
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], -1)


class GPSolver(nn.Module):
    r"""GP-HM solver (see the module docstring) for a linear PDE on a box.

    Args:
        problem: a :class:`LinearPDE`, a registered problem name, or a ``Problem`` with a linear form.
        grid: points per axis, an int (same for every axis) or one int per axis (>= 3 each).
        n_components: mixture components per axis (``Q``).
        kernel: ``"spectral_mixture"`` or ``"student_t_mixture"``.
        freq_scale: initial frequencies are ``linspace(0, freq_scale, Q)`` (cycles per unit); default the
            grid's Nyquist frequency ``(n_j - 1) / (2 L_j)`` on each axis.
        init_scale: initial spectral width ``s`` of every component (cycles per unit); default (None) the
            envelope the paper's code starts from (log length-scale 0): :math:`e^{-r^2}` for the spectral
            mixture (:math:`s = 1/(\pi\sqrt 2)`), Matern-5/2 with :math:`t = \sqrt 5` for the Student-t
            mixture (:math:`s = 1/(2\pi)`), see :data:`INIT_SCALES`.
        boundary_weight: :math:`\lambda_b`, the weight of the boundary likelihood (GP-HM uses 200).
        jitter: added to each :math:`K_j`'s diagonal.
        parameterization: ``"direct"`` (the default) trains :math:`U` itself, as the paper's code does;
            ``"whitened"`` trains :math:`v` with :math:`U = (\otimes_j L_j) v`, :math:`K_j = L_j L_j^\top` — the
            same objective (:math:`\mathrm{vec}(U)^\top K^{-1}\mathrm{vec}(U) = \|v\|^2`) with the same optima,
            faster over a few hundred steps; but :math:`U` then moves with every kernel update, and over the
            paper's :math:`10^4`-:math:`10^5` Adam steps ``"direct"`` is far more accurate (``sin 100x``: rel. L2
            1.2e-6 vs 6.6e-3 after 100,000 steps, see docs/physics.md). Up to basiskit 0.1.0 the default was
            ``"whitened"``; leaving the argument out now warns (``FutureWarning``) that the default changed; pass
            it explicitly to silence the warning (``"whitened"`` keeps the old behaviour).
    Shapes: the trained values ``v`` and :meth:`solution_values` are ``(n_1, ..., n_d)``; the kernel parameters
    ``log_weights``, ``log_scales``, ``freqs`` are ``(d, Q)``. Example::

        solver = GPSolver("poisson1d_sin", grid=400, n_components=30, freq_scale=20.0, parameterization="direct")
        basiskit.fit(solver, objective=lambda m: m.loss(), steps=100000, lr=1e-2)
        u = solver.predict(points)  # (n, 1-D) -> (n,)
    """

    def __init__(self, problem: Any, grid: int | Sequence[int], n_components: int = 30,
                 kernel: str = "spectral_mixture", *, freq_scale: float | Sequence[float] | None = None,
                 init_scale: float | None = None, boundary_weight: float = 200.0,
                 jitter: float = 1e-6, parameterization: str | None = None,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.kernel = check_choice("kernel", kernel, KERNELS)
        self.problem = as_linear_pde(problem)
        d = self.problem.dim
        sizes = (grid,) * d if isinstance(grid, int) and not isinstance(grid, bool) else tuple(grid)
        if len(sizes) != d:
            raise ValueError(f"grid must give {d} sizes for the {d}-D problem {self.problem.name!r}, "
                             f"got {grid!r}")
        for j, n in enumerate(sizes):
            check_int(f"grid[{j}]", n, min_value=3)
        self.sizes = sizes
        self.n_components = check_int("n_components", n_components, min_value=1)
        self.boundary_weight = check_float("boundary_weight", boundary_weight, min_value=0.0)
        self.jitter = check_float("jitter", jitter, min_value=0.0)
        if parameterization is None:
            warnings.warn("GPSolver: the default parameterization is now 'direct' (the paper's: U trained itself; "
                          "it was 'whitened'); pass parameterization='direct' to silence this warning or "
                          "parameterization='whitened' for the old default", FutureWarning, stacklevel=2)
            parameterization = "direct"
        check_choice("parameterization", parameterization, ("whitened", "direct"))
        # a persistent flag, so a checkpoint says how to read ``v``
        self.register_buffer("whitened", torch.tensor(parameterization == "whitened", device=device))
        if init_scale is None:
            init_scale = INIT_SCALES[self.kernel]
        init_scale = check_float("init_scale", init_scale, min_value=0.0, strict_min=True)
        dtype = dtype or torch.float64
        if dtype != torch.float64:
            raise ValueError(f"dtype must be torch.float64 (GP-HM's solves need it), got {dtype}")
        fk = {"device": device, "dtype": dtype}

        lengths = [hi - lo for lo, hi in self.problem.domain]
        if freq_scale is None:
            scales = [(n - 1) / (2 * length) for n, length in zip(sizes, lengths)]
        elif isinstance(freq_scale, (int, float)):
            scales = [check_float("freq_scale", freq_scale, min_value=0.0, strict_min=True)] * d
        else:
            scales = [check_float(f"freq_scale[{j}]", s, min_value=0.0, strict_min=True)
                      for j, s in enumerate(freq_scale)]
            if len(scales) != d:
                raise ValueError(f"freq_scale must give {d} values, got {freq_scale!r}")
        q = self.n_components
        base = torch.linspace(0, 1, q, **fk)
        self.freqs = nn.Parameter(torch.stack([base * s for s in scales]))
        self.log_weights = nn.Parameter(torch.full((d, q), -math.log(q), **fk))
        self.log_scales = nn.Parameter(torch.full((d, q), math.log(init_scale), **fk))
        # the unknown values: U itself ("direct") or v with U = (L_1 x ... x L_d) v ("whitened")
        self.v = nn.Parameter(torch.zeros(sizes, **fk))
        self.log_tau_boundary = nn.Parameter(torch.zeros((), **fk))
        self.log_tau_residual = nn.Parameter(torch.zeros((), **fk))

        axes = [torch.linspace(lo, hi, n, **fk) for (lo, hi), n in zip(self.problem.domain, sizes)]
        for j, ax in enumerate(axes):
            self.register_buffer(f"axis{j}", ax, persistent=False)
        pts = grid_points(axes)
        self.register_buffer("source_values", self.problem.source(pts).reshape(sizes).to(**fk), persistent=False)
        mask = torch.zeros(sizes, dtype=torch.bool, device=device)
        for j, n in enumerate(sizes):
            idx = [slice(None)] * d
            for end in (0, n - 1):
                idx[j] = end
                mask[tuple(idx)] = True
        self.register_buffer("boundary_mask", mask, persistent=False)
        g = self.problem.boundary_values(pts[mask.reshape(-1)]).reshape(-1).to(**fk)
        self.register_buffer("boundary_values", g, persistent=False)
        self.terms = sorted((tuple(a), float(c)) for a, c in self.problem.operator.items())

    @property
    def parameterization(self) -> str:
        return "whitened" if bool(self.whitened) else "direct"

    # ---- kernel pieces ------------------------------------------------------------------------------
    @property
    def axes(self) -> list[torch.Tensor]:
        return [getattr(self, f"axis{j}") for j in range(len(self.sizes))]

    def weights(self) -> torch.Tensor:
        """Mixture weights ``exp(log_weights)``: ``(d, Q)``."""
        return self.log_weights.exp()

    def kernel_matrix(self, j: int, x1: torch.Tensor, x2: torch.Tensor, order: int = 0,
                      chunk: int = 256) -> torch.Tensor:
        """``[d^p/dx^p k_j(x1_a, x2_b)]``: ``x1: (n,)``, ``x2: (m,)`` -> ``(n, m)`` for axis ``j``, built
        ``chunk`` rows at a time so the ``(rows, m, Q)`` intermediate stays small."""
        params = (self.log_weights[j], self.log_scales[j], self.freqs[j])
        rows = [mixture_kernel_matrix(self.kernel, x1[i:i + chunk], x2, *params, order)
                for i in range(0, len(x1), chunk)]
        return torch.cat(rows) if rows else x1.new_zeros(0, len(x2))

    def grid_kernel_matrix(self, j: int, order: int = 0) -> torch.Tensor:
        """``[d^p/dx^p k_j(m_a, m_b)]`` on axis ``j``'s uniform grid -> ``(n_j, n_j)``.

        The grid is uniform, so the matrix is Toeplitz: the kernel is evaluated at the ``2 n_j - 1`` lags
        only (``O(n_j Q)`` instead of ``O(n_j^2 Q)``) and gathered into place."""
        n = self.sizes[j]
        lo, hi = self.problem.domain[j]
        step = (hi - lo) / (n - 1)
        lags = torch.arange(-(n - 1), n, dtype=self.v.dtype, device=self.v.device) * step
        values = mixture_kernel(self.kernel, lags, self.log_weights[j], self.log_scales[j], self.freqs[j], order)
        return values.unfold(0, n, 1).flip(-1)  # [a, b] -> values[a - b + n - 1]

    def factors(self) -> tuple[list[torch.Tensor], dict[tuple[int, int], torch.Tensor]]:
        """Lower Cholesky factors of each ``K_j + jitter I``, and the grid kernel-derivative matrices
        ``{(j, p): K_j^(p)}`` for the orders ``p >= 1`` the operator needs (``p = 0`` maps to the jittered
        ``K_j`` itself, so that ``K_j K_j^{-1} = I`` exactly)."""
        chols, mats = [], {}
        for j, n in enumerate(self.sizes):
            k = self.grid_kernel_matrix(j)
            k = k + self.jitter * torch.eye(n, dtype=k.dtype, device=k.device)
            chols.append(kron_cholesky([k])[0])
            mats[(j, 0)] = k
            for p in sorted({alpha[j] for alpha, _ in self.terms} - {0}):
                mats[(j, p)] = self.grid_kernel_matrix(j, p)
        return chols, mats

    def apply_operator(self, alpha: torch.Tensor, mats: dict[tuple[int, int], torch.Tensor]) -> torch.Tensor:
        r""":math:`\mathcal{L}u` at the grid from :math:`\alpha = K^{-1}\mathrm{vec}(U)`:
        :math:`\sum_a c_a (\otimes_j K_j^{(a_j)})\,\alpha`; ``alpha: (n_1, ..., n_d)`` -> same shape."""
        out = torch.zeros_like(alpha)
        for a, coeff in self.terms:
            v = alpha
            for j, p in enumerate(a):  # an order-0 axis multiplies by the jittered K_j: K_j K_j^{-1} = I
                v = mode_product(mats[(j, p)], v, j)
            out = out + coeff * v
        return out

    # ---- objective ----------------------------------------------------------------------------------
    def loss(self) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative log joint (module docstring) and its parts, for ``fit(model, objective=...)``."""
        chols, mats = self.factors()
        u, alpha = self._values_and_alpha(chols)
        quad = (u * alpha).sum() if self.parameterization == "direct" else (self.v * self.v).sum()
        logdet = kron_cholesky_logdet(chols)
        res = self.apply_operator(alpha, mats) - self.source_values
        sse_r = (res * res).sum()
        bnd = u[self.boundary_mask] - self.boundary_values
        sse_b = (bnd * bnd).sum()
        tau_b, tau_r = self.log_tau_boundary.exp(), self.log_tau_residual.exp()
        n_b, n_r = bnd.numel(), res.numel()
        fit_b = 0.5 * tau_b * sse_b - 0.5 * n_b * self.log_tau_boundary
        fit_r = 0.5 * tau_r * sse_r - 0.5 * n_r * self.log_tau_residual
        nll = 0.5 * quad + 0.5 * logdet + self.boundary_weight * fit_b + fit_r
        parts = {"prior": float(0.5 * (quad + logdet).detach()), "residual_mse": float(sse_r.detach() / n_r),
                 "boundary_mse": float(sse_b.detach() / n_b)}
        return nll, parts

    def forward(self) -> torch.Tensor:
        """The negative log joint (scalar), so ``fit(solver, objective=lambda m: m.loss())`` trains it."""
        return self.loss()[0]

    # ---- prediction ---------------------------------------------------------------------------------
    def _values_and_alpha(self, chols: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Grid values U and alpha = K^{-1} vec(U), both ``(n_1, ..., n_d)``."""
        if self.parameterization == "direct":
            return self.v, kron_cholesky_solve(chols, self.v)
        # whitened: U = (L_1 x ... x L_d) v, so K^{-1} vec(U) = (L_1^T x ... x L_d^T)^{-1} v
        return kron_matvec(chols, self.v), kron_triangular_solve(chols, self.v, transpose=True)

    @torch.no_grad()
    def reparameterize(self, parameterization: str) -> None:
        """Switch between ``"whitened"`` and ``"direct"`` in place, keeping the solution values U (and so the
        objective's value) unchanged: ``U = (L_1 x ... x L_d) v``. Optimizer state for ``v`` must be reset."""
        check_choice("parameterization", parameterization, ("whitened", "direct"))
        if parameterization == self.parameterization:
            return
        chols = self.factors()[0]
        if parameterization == "direct":
            self.v.copy_(kron_matvec(chols, self.v))
        else:
            self.v.copy_(kron_triangular_solve(chols, self.v))
        self.whitened.fill_(parameterization == "whitened")

    def solution_values(self) -> torch.Tensor:
        """The solution values U at the grid: ``(n_1, ..., n_d)``."""
        return self._values_and_alpha(self.factors()[0])[0]

    def _alpha(self) -> torch.Tensor:
        return self._values_and_alpha(self.factors()[0])[1]

    def predict(self, points: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        r"""Conditional mean :math:`k(x, \mathcal{M})K^{-1}\mathrm{vec}(U)` at ``points: (n, d)`` -> ``(n,)``,
        ``chunk`` points at a time (for tensor-grid points :meth:`predict_grid` is much cheaper)."""
        d = len(self.sizes)
        check_tensor("points", points, ndim=2, last_dim=d)
        check_int("chunk", chunk, min_value=1)
        points = points.to(self.v)
        alpha = self._alpha()
        out = []
        for start in range(0, len(points), chunk):
            pts = points[start:start + chunk]
            cross = [self.kernel_matrix(j, pts[:, j], ax) for j, ax in enumerate(self.axes)]
            t = torch.tensordot(cross[0], alpha, dims=([1], [0]))  # (n, m_2, ..., m_d)
            for c in cross[1:]:
                t = (t * c.reshape(c.shape + (1,) * (t.ndim - 2))).sum(1)
            out.append(t)
        return torch.cat(out) if out else points.new_zeros(0)

    def predict_grid(self, axes: Sequence[torch.Tensor]) -> torch.Tensor:
        """Conditional mean on the tensor grid ``axes`` (each ``(m_j,)``) -> ``(m_1, ..., m_d)``."""
        if len(axes) != len(self.sizes):
            raise ValueError(f"axes must give {len(self.sizes)} 1-D tensors, got {len(axes)}")
        t = self._alpha()
        for j, (ax, own) in enumerate(zip(axes, self.axes)):
            check_tensor(f"axes[{j}]", ax, ndim=1)
            t = mode_product(self.kernel_matrix(j, ax.to(own), own), t, j)
        return t

    def dominant_frequencies(self) -> torch.Tensor:
        """Per axis, the frequency (cycles per unit) of the component with the largest weight: ``(d,)``."""
        idx = self.log_weights.argmax(-1, keepdim=True)
        return self.freqs.gather(-1, idx).squeeze(-1).abs()

    def extra_repr(self) -> str:
        return (f"problem={self.problem.name!r}, grid={self.sizes}, n_components={self.n_components}, "
                f"kernel={self.kernel!r}, parameterization={self.parameterization!r}, "
                f"boundary_weight={self.boundary_weight:g}, jitter={self.jitter:g}")
