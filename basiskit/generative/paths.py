r"""Gaussian probability paths ``x_t = alpha_t x_1 + sigma_t x_0`` and their kinetic energy; the kinetic-optimal
path of Shaul, Chen, Nickel, Le & Lipman, "On Kinetic Optimal Probability Paths for Generative Models" (ICML 2023,
arXiv 2306.06626).

Convention (flow matching): ``t = 0`` is noise, ``x_0 ~ N(0, I_d)``; ``t = 1`` is data, ``x_1 ~ q``;
``alpha_0 = 0, sigma_0 = 1, alpha_1 = 1, sigma_1 = 0`` (cond-OT may keep ``sigma_1 = sigma_min``). The
conditional velocity is :math:`u_t(x | x_1) = \dot\sigma_t/\sigma_t\,(x - \alpha_t x_1) + \dot\alpha_t x_1`, i.e.
:math:`\dot\alpha_t x_1 + \dot\sigma_t x_0` along the pair, and the marginal velocity is its posterior mean
:math:`u_t(x) = E[u_t(x | x_1) | x_t = x]`.

What is implemented, and where it comes from. The paper's abstract (checked on arxiv.org / ar5iv, 2306.06626)
states the facts used here: on Gaussian paths the kinetic energy depends on the data only through a one-dimensional
*data separation function* lambda(s), the kinetic-optimal (KO) paths solve a one-dimensional ODE, and lambda -> 1
for any normalised data set of n points in d dimensions as n / sqrt(d) -> 0, which makes cond-OT kinetic-optimal.
The paper's body (its equation numbers) could not be retrieved with the tools available to this project, so the
formulas below are **derived here** from those statements and pinned by brute-force tests (Monte Carlo kinetic
energy of the exact marginal velocity of a finite data set, tests/generative/test_paths.py):

* Kinetic energy. With ``s = alpha / sigma`` (signal-to-noise variable), ``m = E|x_1|^2`` and the denoising error
  ``mmse(s) = E|x_1 - E[x_1 | y]|^2`` of the Gaussian channel ``y = s x_1 + x_0``, the tower property gives

  .. math::
      K(t) = E_{x\sim p_t}|u_t(x)|^2 = m\,\dot\alpha^2 + d\,\dot\sigma^2 - \sigma^2 \dot s^2\,\mathrm{mmse}(s),
      \qquad \mathcal{E} = \int_0^1 K(t)\,dt.

  The first two terms are the kinetic energy of the conditional paths; the data set enters the rest only through
  ``s -> mmse(s)``.
* Data separation function (our normalisation). :math:`\lambda(s) = E|E[x_0 | y]|^2 / d = 1 - s^2\,\mathrm{mmse}(s)/d`
  for ``s >= 0``: the fraction of the noise energy that the noisy sample still reveals. It lies in [0, 1],
  ``lambda(0) = 1`` and ``lambda(s) -> 1`` as ``s -> inf`` for a finite data set, and with it
  ``K = m alpha'^2 + d sigma'^2 - d sigma^2 (s'/s)^2 (1 - lambda(s))``. If ``lambda == 1`` the last term vanishes,
  the energy is that of the flat metric ``m d alpha^2 + d d sigma^2`` and the straight line (cond-OT) is optimal,
  which is the paper's consequence; ``min_s lambda(s)`` does not change when the data are rescaled (rescaling the
  data rescales ``s``), so it measures the separation of the points, not their norm.
* Monte Carlo estimate (:func:`data_separation`). For a finite data set ``X`` (n, d) the posterior weights are
  ``softmax_j(s y.x_j - s^2 |x_j|^2 / 2)`` and ``y.x_j = s x_i.x_j + z_j`` with ``z = X x_0 ~ N(0, X X^T)``: the
  estimate needs only the Gram matrix, so its cost does not grow with d. The expectation over ``x_1`` is exact (all
  n points); the one over ``x_0`` uses ``n_mc`` draws, shared by every ``s`` (common random numbers, smooth
  curves).
* KO schedule (:func:`kinetic_optimal_path`). Every path is ``(alpha, sigma) = g(u) (u, 1 - u)`` with
  ``u = s / (1 + s)`` in [0, 1] and ``g(0) = g(1) = 1``; in the variable u the energy density is

  .. math::
      Q(u) = m (g + u g')^2 + d ((1-u) g' - g)^2 - d\,g^2\,(1 - \lambda(s(u))) / u^2 ,

  a metric on the curve, so the KO path is the shortest curve (energy = length^2, reached at constant speed): the
  Euler-Lagrange equation of ``int sqrt(Q) du`` is the one-dimensional ODE for g. We solve it directly: g = exp(phi)
  with phi piecewise linear on a u-grid, phi(0) = phi(1) = 0, the discrete length minimised by L-BFGS in float64;
  then ``t(u)`` is the normalised arc length. ``g == 1`` is cond-OT, so for lambda == 1 the solver returns it.

Pure functions first (:func:`kinetic_energy`, :func:`data_separation`, :func:`posterior_mse`,
:func:`marginal_velocity`), thin path classes around schedules, and a registry of paths by name (:func:`get_path`).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch

from .._validation import check_float, check_int, check_tensor, unknown_name_message

__all__ = [
    "PATHS",
    "CondOTPath",
    "CosinePath",
    "GaussianPath",
    "KineticOptimalPath",
    "VPPath",
    "check_time",
    "data_separation",
    "get_path",
    "kinetic_energy",
    "kinetic_optimal_path",
    "marginal_velocity",
    "posterior_mse",
]


def check_time(t: torch.Tensor | float, arg: str = "t") -> torch.Tensor:
    """``t`` as a float tensor with every entry in [0, 1]; ValueError naming ``arg`` otherwise."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(check_float(arg, t), dtype=torch.get_default_dtype())
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.numel() and not bool(((t >= 0) & (t <= 1)).all()):
        bad = t[~((t >= 0) & (t <= 1))]
        raise ValueError(f"{arg} must lie in [0, 1] (0 = noise, 1 = data), got {bad.flatten()[:3].tolist()}"
                         f"{' ...' if bad.numel() > 3 else ''}")
    return t


def _expand(coef: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Broadcast a per-sample coefficient (batch,) or scalar against x (batch, ...)."""
    if coef.ndim == 0:
        return coef.to(x)
    return coef.to(x).reshape(coef.shape + (1,) * (x.ndim - coef.ndim))


class GaussianPath(ABC):
    r"""A Gaussian path :math:`p_t(x | x_1) = N(\alpha_t x_1, \sigma_t^2 I)`: subclasses give ``alpha``, ``sigma``
    and their time derivatives on tensors of times in [0, 1] (any shape); the public methods check t first."""

    name = "gaussian"

    @abstractmethod
    def _alpha(self, t: torch.Tensor) -> torch.Tensor:
        """alpha_t, the data coefficient."""

    @abstractmethod
    def _sigma(self, t: torch.Tensor) -> torch.Tensor:
        """sigma_t, the noise coefficient."""

    @abstractmethod
    def _d_alpha(self, t: torch.Tensor) -> torch.Tensor:
        """d alpha_t / dt."""

    @abstractmethod
    def _d_sigma(self, t: torch.Tensor) -> torch.Tensor:
        """d sigma_t / dt."""

    def alpha(self, t: torch.Tensor | float) -> torch.Tensor:
        return self._alpha(check_time(t))

    def sigma(self, t: torch.Tensor | float) -> torch.Tensor:
        return self._sigma(check_time(t))

    def d_alpha(self, t: torch.Tensor | float) -> torch.Tensor:
        return self._d_alpha(check_time(t))

    def d_sigma(self, t: torch.Tensor | float) -> torch.Tensor:
        return self._d_sigma(check_time(t))

    def snr(self, t: torch.Tensor | float) -> torch.Tensor:
        """``s = alpha / sigma`` (inf where sigma = 0)."""
        t = check_time(t)
        return self._alpha(t) / self._sigma(t)

    def sample(self, x1: torch.Tensor, t: torch.Tensor, x0: torch.Tensor | None = None, *,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``x_t = alpha_t x_1 + sigma_t x_0``: x1 (batch, ...), t (batch,) or scalar, x0 like x1 (drawn from
        N(0, I) if None)."""
        x1, t, x0 = self._pair(x1, t, x0, generator)
        return _expand(self._alpha(t), x1) * x1 + _expand(self._sigma(t), x1) * x0

    def pair_velocity(self, x1: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        r"""The flow-matching target :math:`\dot\alpha_t x_1 + \dot\sigma_t x_0` (= u_t(x_t | x_1)), shape of x1."""
        x1, t, x0 = self._pair(x1, t, x0, None)
        return _expand(self._d_alpha(t), x1) * x1 + _expand(self._d_sigma(t), x1) * x0

    def conditional_velocity(self, x: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        r""":math:`u_t(x | x_1) = \dot\sigma_t/\sigma_t (x - \alpha_t x_1) + \dot\alpha_t x_1` at any x (batch, ...);
        t must have sigma_t > 0."""
        x1, t, x = self._pair(x1, t, x, None)
        sig = self._sigma(t)
        if bool((sig <= 0).any()):
            raise ValueError(f"conditional_velocity: sigma_t = 0 at t = {t[sig <= 0].flatten()[:3].tolist()} "
                             "(the conditional path is a point there); use pair_velocity(x1, t, x0)")
        a, da, ds = self._alpha(t), self._d_alpha(t), self._d_sigma(t)
        return _expand(ds / sig, x) * (x - _expand(a, x) * x1) + _expand(da, x) * x1

    def _pair(self, x1: torch.Tensor, t: torch.Tensor | float, x0: torch.Tensor | None,
              generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        check_tensor("x1", x1, min_ndim=1)
        t = check_time(t)
        if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != x1.shape[0]):
            raise ValueError(f"t must be a scalar or have shape (batch,) = ({x1.shape[0]},), got {tuple(t.shape)}")
        if x0 is None:
            x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype, device=x1.device)
        check_tensor("x0", x0)
        if x0.shape != x1.shape:
            raise ValueError(f"x0 must have the shape of x1 {tuple(x1.shape)}, got {tuple(x0.shape)}")
        return x1, t.to(x1.device), x0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CondOTPath(GaussianPath):
    r"""Conditional optimal transport (Lipman et al. 2023): :math:`\alpha_t = t`,
    :math:`\sigma_t = 1 - (1 - \sigma_{min}) t`."""

    name = "cond-ot"

    def __init__(self, sigma_min: float = 0.0) -> None:
        self.sigma_min = check_float("sigma_min", sigma_min, min_value=0.0, max_value=1.0)
        if self.sigma_min >= 1.0:
            raise ValueError(f"sigma_min must be < 1, got {sigma_min}")

    def _alpha(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def _sigma(self, t: torch.Tensor) -> torch.Tensor:
        return 1 - (1 - self.sigma_min) * t

    def _d_alpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(t)

    def _d_sigma(self, t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(t, -(1 - self.sigma_min))

    def __repr__(self) -> str:
        return f"CondOTPath(sigma_min={self.sigma_min})"


class CosinePath(GaussianPath):
    r"""Variance-preserving cosine path: :math:`\alpha_t = \sin(\pi t / 2)`, :math:`\sigma_t = \cos(\pi t / 2)`
    (:math:`\alpha^2 + \sigma^2 = 1`)."""

    name = "vp-cosine"

    def _alpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sin(0.5 * math.pi * t)

    def _sigma(self, t: torch.Tensor) -> torch.Tensor:
        return torch.cos(0.5 * math.pi * t)

    def _d_alpha(self, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * math.pi * torch.cos(0.5 * math.pi * t)

    def _d_sigma(self, t: torch.Tensor) -> torch.Tensor:
        return -0.5 * math.pi * torch.sin(0.5 * math.pi * t)


class VPPath(GaussianPath):
    r"""Variance-preserving diffusion path (Song et al. 2021, in flow-matching time as in Lipman et al. 2023):
    :math:`\alpha_t = e^{-T(1-t)/2}`, :math:`T(r) = \beta_{min} r + (\beta_{max} - \beta_{min}) r^2 / 2`,
    :math:`\sigma_t = \sqrt{1 - \alpha_t^2}`. ``alpha_0 = exp(-T(1)/2)`` is small, not 0."""

    name = "vp"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        self.beta_min = check_float("beta_min", beta_min, min_value=0.0, strict_min=True)
        self.beta_max = check_float("beta_max", beta_max, min_value=self.beta_min)

    def _T(self, r: torch.Tensor) -> torch.Tensor:
        return self.beta_min * r + 0.5 * (self.beta_max - self.beta_min) * r ** 2

    def _alpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * self._T(1 - t))

    def _sigma(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(torch.clamp(1 - self._alpha(t) ** 2, min=0.0))

    def _d_alpha(self, t: torch.Tensor) -> torch.Tensor:
        beta = self.beta_min + (self.beta_max - self.beta_min) * (1 - t)
        return 0.5 * beta * self._alpha(t)

    def _d_sigma(self, t: torch.Tensor) -> torch.Tensor:
        a, sig = self._alpha(t), self._sigma(t)
        return torch.where(sig > 0, -a * self._d_alpha(t) / torch.clamp(sig, min=1e-300),
                           torch.full_like(t, -math.inf))

    def __repr__(self) -> str:
        return f"VPPath(beta_min={self.beta_min}, beta_max={self.beta_max})"


class KineticOptimalPath(GaussianPath):
    """A tabulated path: ``alpha``, ``sigma`` piecewise linear in t between nodes ``t_nodes`` (k,) (derivatives
    piecewise constant). Built by :func:`kinetic_optimal_path`; ``energy`` is its kinetic energy for the data set
    it was solved for and ``g`` the solved radial profile on ``u_nodes``."""

    name = "kinetic-optimal"

    def __init__(self, t_nodes: torch.Tensor, alpha_nodes: torch.Tensor, sigma_nodes: torch.Tensor, *,
                 u_nodes: torch.Tensor | None = None, g: torch.Tensor | None = None,
                 energy: float | None = None) -> None:
        for arg, v in (("t_nodes", t_nodes), ("alpha_nodes", alpha_nodes), ("sigma_nodes", sigma_nodes)):
            check_tensor(arg, v, ndim=1, finite=True)
        if not (t_nodes.shape == alpha_nodes.shape == sigma_nodes.shape) or t_nodes.numel() < 2:
            raise ValueError("t_nodes, alpha_nodes, sigma_nodes must be 1-D of one length >= 2, got "
                             f"{tuple(t_nodes.shape)}, {tuple(alpha_nodes.shape)}, {tuple(sigma_nodes.shape)}")
        if not bool((t_nodes[1:] > t_nodes[:-1]).all()) or float(t_nodes[0]) != 0.0 or float(t_nodes[-1]) != 1.0:
            raise ValueError("t_nodes must increase strictly from 0 to 1")
        self.t_nodes = t_nodes.double()
        self.alpha_nodes = alpha_nodes.double()
        self.sigma_nodes = sigma_nodes.double()
        self.u_nodes, self.g, self.energy = u_nodes, g, energy

    def _segment(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.clamp(torch.searchsorted(self.t_nodes, t.double().contiguous(), right=True) - 1,
                          0, self.t_nodes.numel() - 2)
        w = (t.double() - self.t_nodes[idx]) / (self.t_nodes[idx + 1] - self.t_nodes[idx])
        return idx, w

    def _interp(self, nodes: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        idx, w = self._segment(t)
        return ((1 - w) * nodes[idx] + w * nodes[idx + 1]).to(t.dtype)

    def _slope(self, nodes: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        idx, _ = self._segment(t)
        return ((nodes[idx + 1] - nodes[idx]) / (self.t_nodes[idx + 1] - self.t_nodes[idx])).to(t.dtype)

    def _alpha(self, t: torch.Tensor) -> torch.Tensor:
        return self._interp(self.alpha_nodes, t)

    def _sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self._interp(self.sigma_nodes, t)

    def _d_alpha(self, t: torch.Tensor) -> torch.Tensor:
        return self._slope(self.alpha_nodes, t)

    def _d_sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self._slope(self.sigma_nodes, t)

    def __repr__(self) -> str:
        e = "" if self.energy is None else f", energy={self.energy:.6g}"
        return f"KineticOptimalPath(nodes={self.t_nodes.numel()}{e})"


PATHS: dict[str, Callable[..., GaussianPath]] = {"cond-ot": CondOTPath, "vp-cosine": CosinePath, "vp": VPPath}


def get_path(name: str, **kwargs: object) -> GaussianPath:
    """A registered path by name (``cond-ot``, ``vp-cosine``, ``vp``); the kinetic-optimal path depends on a data
    set and is built with :func:`kinetic_optimal_path`."""
    if not isinstance(name, str) or name not in PATHS:
        hint = " (build it from data with kinetic_optimal_path(data))" if name == "kinetic-optimal" else ""
        raise ValueError(f"path: {unknown_name_message('path', str(name), PATHS)}{hint}")
    return PATHS[name](**kwargs)


# ---- the data through the Gaussian channel y = s x_1 + x_0 ------------------------------------------------
def _check_data(x1: torch.Tensor) -> torch.Tensor:
    check_tensor("x1", x1, ndim=2, finite=True, nonempty=True)
    return x1.double()


_CHUNK = 1 << 21   # elements of one block of posterior weights in posterior_mse


def _noise_projections(gram: torch.Tensor, n_mc: int, generator: torch.Generator | None) -> torch.Tensor:
    """Draws z = X x_0 ~ N(0, gram) (n_mc, n), from the eigendecomposition (any rank)."""
    evals, evecs = torch.linalg.eigh(gram)
    root = evecs * torch.sqrt(torch.clamp(evals, min=0.0))
    eps = torch.randn(n_mc, gram.shape[0], generator=generator, dtype=gram.dtype)
    return eps @ root.T


def posterior_mse(x1: torch.Tensor, s: torch.Tensor, *, n_mc: int = 256,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The denoising error :math:`\mathrm{mmse}(s) = E|x_1 - E[x_1 | y]|^2` of ``y = s x_1 + x_0`` for the uniform
    distribution on the rows of ``x1`` (n, d), at each ``s >= 0`` (any shape; returns float64 of that shape).

    Exact over x_1 (all n points), Monte Carlo over x_0 (``n_mc`` draws shared by all s); only the Gram matrix is
    used, so the cost is O(len(s) n_mc n^2) whatever d.
    """
    x1 = _check_data(x1)
    n_mc = check_int("n_mc", n_mc, min_value=1)
    check_tensor("s", s)
    if s.numel() and (not bool(torch.isfinite(s).all()) or bool((s < 0).any())):
        raise ValueError(f"s must be finite and >= 0 (signal-to-noise alpha / sigma), got min {float(s.min())}")
    n, d = x1.shape
    gram = x1 @ x1.T                                  # (n, n)
    sq = torch.diagonal(gram)                         # |x_j|^2
    if d < n:                                         # low dimension: draw x_0 itself, z = X x_0
        z = torch.randn(n_mc, d, generator=generator, dtype=torch.float64) @ x1.T
    else:                                             # z ~ N(0, X X^T) from the Gram matrix alone
        z = _noise_projections(gram, n_mc, generator)  # (n_mc, n)
    chunk = max(1, _CHUNK // max(1, n_mc * n))        # data points i per block: (n_mc, chunk, n) logits
    out = torch.empty(s.numel(), dtype=torch.float64)
    for k, sk in enumerate(s.detach().double().flatten().tolist()):
        total = 0.0
        for i0 in range(0, n, chunk):
            rows = slice(i0, min(n, i0 + chunk))
            # logits[m, i, j] = s y.x_j - s^2 |x_j|^2 / 2 with y = s x_i + x0_m, so y.x_j = s G_ij + z_mj
            logits = sk * (sk * gram[None, rows] + z[:, None, :]) - 0.5 * sk * sk * sq
            w = torch.softmax(logits, dim=-1)         # (n_mc, chunk, n): posterior over j given (m, i)
            if d < n:
                err = ((x1[rows] - w @ x1) ** 2).sum(-1)
            else:
                wg = w @ gram                         # sum_j w_j G_jk
                err = sq[rows] - 2 * torch.diagonal(wg[:, :, rows], dim1=-2, dim2=-1) + (wg * w).sum(-1)
            total += float(err.sum())
        out[k] = total / (n * n_mc) if n > 1 else 0.0
    return torch.clamp(out, min=0.0).reshape(s.shape)


def data_separation(x1: torch.Tensor, s: torch.Tensor, *, n_mc: int = 256,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The data separation function :math:`\lambda(s) = E|E[x_0 | y]|^2 / d = 1 - s^2\,\mathrm{mmse}(s) / d` of the
    data set ``x1`` (n, d), ``y = s x_1 + x_0`` (see the module docstring for the derivation and the
    normalisation), at each ``s >= 0`` (any shape); float64, values in [0, 1].

    ``n_mc`` noise draws per data point, shared by every s; ``generator`` makes the estimate reproducible.
    """
    x1 = _check_data(x1)
    mse = posterior_mse(x1, s, n_mc=n_mc, generator=generator)
    return torch.clamp(1 - s.double() ** 2 * mse / x1.shape[1], 0.0, 1.0)


def marginal_velocity(path: GaussianPath, x: torch.Tensor, t: torch.Tensor | float, data: torch.Tensor, *,
                      sigma_floor: float = 1e-12) -> torch.Tensor:
    r"""The exact marginal velocity :math:`u_t(x) = \dot\alpha_t \hat x_1 + \dot\sigma_t (x - \alpha_t \hat x_1)
    / \sigma_t` of ``path`` for the uniform distribution on the rows of ``data`` (n, d), with the posterior mean
    :math:`\hat x_1 = \sum_j w_j x_j`, :math:`w = \mathrm{softmax}_j(-|x - \alpha_t x_j|^2 / 2\sigma_t^2)`.

    x: (batch, d); t: scalar or (batch,). ``sigma_t`` is floored at ``sigma_floor`` (the field is singular at
    sigma = 0 where the path reaches the data points). Returns (batch, d) in x's dtype.
    """
    check_tensor("x", x, ndim=2, finite=True)
    data = check_tensor("data", data, ndim=2, finite=True, nonempty=True)
    if data.shape[1] != x.shape[1]:
        raise ValueError(f"data must have d = {x.shape[1]} columns like x, got {tuple(data.shape)}")
    t = check_time(t)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != x.shape[0]):
        raise ValueError(f"t must be a scalar or have shape (batch,) = ({x.shape[0]},), got {tuple(t.shape)}")
    t = t.to(torch.float64).expand(x.shape[0]) if t.ndim == 0 else t.to(torch.float64)
    xd, dd = x.double(), data.double()
    a, sig = path._alpha(t), torch.clamp(path._sigma(t), min=sigma_floor)
    da, ds = path._d_alpha(t), path._d_sigma(t)
    dist = ((xd[:, None, :] - a[:, None, None] * dd[None]) ** 2).sum(-1)    # (batch, n)
    w = torch.softmax(-dist / (2 * sig[:, None] ** 2), dim=-1)
    x1_hat = w @ dd
    u = da[:, None] * x1_hat + ds[:, None] * (xd - a[:, None] * x1_hat) / sig[:, None]
    return u.to(x.dtype)


# ---- kinetic energy ------------------------------------------------------------------------------------
def _gauss_legendre(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of the n-point Gauss-Legendre rule on [0, 1] (float64), Golub-Welsch."""
    k = torch.arange(1, n, dtype=torch.float64)
    off = k / torch.sqrt(4 * k ** 2 - 1)
    jac = torch.diag(off, 1) + torch.diag(off, -1)
    nodes, vecs = torch.linalg.eigh(jac)
    weights = 2 * vecs[0] ** 2
    return 0.5 * (nodes + 1), 0.5 * weights


def kinetic_energy(path: GaussianPath, data: torch.Tensor, *, n_t: int = 256, n_mc: int = 1024,
                   generator: torch.Generator | None = None, return_density: bool = False
                   ) -> float | tuple[float, torch.Tensor, torch.Tensor]:
    r"""The kinetic energy :math:`\int_0^1 E_{p_t}|u_t|^2 dt` of ``path``'s marginal velocity for the uniform
    distribution on the rows of ``data`` (n, d):
    :math:`K(t) = m\dot\alpha^2 + d\dot\sigma^2 - (\dot\alpha\sigma - \alpha\dot\sigma)^2/\sigma^2\,\mathrm{mmse}(s)`
    (module docstring), by ``n_t``-point Gauss-Legendre quadrature in t (nodes inside (0, 1)) and
    :func:`posterior_mse` with ``n_mc`` draws.

    Returns the energy, or ``(energy, t_nodes, K(t_nodes))`` if ``return_density``.
    """
    if not isinstance(path, GaussianPath):
        raise TypeError(f"path must be a GaussianPath (get_path(name) or kinetic_optimal_path(data)), got "
                        f"{type(path).__name__}")
    data = _check_data(data)
    n_t = check_int("n_t", n_t, min_value=2)
    t, w = _gauss_legendre(n_t)
    if isinstance(path, KineticOptimalPath):   # piecewise-linear schedule: quadrature on each segment
        knots = path.t_nodes
        per = max(2, n_t // max(1, knots.numel() - 1))
        tq, wq = _gauss_legendre(per)
        t = (knots[:-1, None] + (knots[1:] - knots[:-1])[:, None] * tq).flatten()
        w = ((knots[1:] - knots[:-1])[:, None] * wq).flatten()
    m = float((data ** 2).sum(1).mean())
    d = data.shape[1]
    a, sig, da, ds = path._alpha(t), path._sigma(t), path._d_alpha(t), path._d_sigma(t)
    s = (a / sig).double()
    cross = (da * sig - a * ds) / sig
    density = m * da ** 2 + d * ds ** 2 - cross ** 2 * posterior_mse(data, s, n_mc=n_mc, generator=generator)
    energy = float((w * density).sum())
    return (energy, t, density) if return_density else energy


# ---- the kinetic-optimal schedule ----------------------------------------------------------------------
def _u_grid(n_u: int) -> torch.Tensor:
    """Nodes in u = s / (1 + s), clustered at both ends (where lambda changes fastest on a log-s axis)."""
    x = torch.linspace(0, 1, n_u, dtype=torch.float64)
    return 0.5 - 0.5 * torch.cos(math.pi * x)


def _length_density(phi: torch.Tensor, u: torch.Tensor, m: float, d: int, deficit: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Q on each segment of the polygon through the nodes (alpha_k, sigma_k) = g_k (u_k, 1 - u_k), g = exp(phi):
    ``m (d alpha / du)^2 + d (d sigma / du)^2`` from the node differences (so the flat part is the polygon's own
    length and cannot undercut the straight line) minus ``deficit g^2`` at the midpoint (g the mean of the two
    ends); ``deficit`` is d (1 - lambda(s)) / u^2 = mmse(s) / (1 - u)^2 at the midpoints. Also the widths."""
    du = u[1:] - u[:-1]
    g = torch.exp(phi)
    alpha, sigma = g * u, g * (1 - u)
    da, ds = (alpha[1:] - alpha[:-1]) / du, (sigma[1:] - sigma[:-1]) / du
    gm = 0.5 * (g[1:] + g[:-1])
    q = m * da ** 2 + d * ds ** 2 - deficit * gm ** 2
    return q, du


def kinetic_optimal_path(data: torch.Tensor, *, n_u: int = 128, n_mc: int = 1024, iterations: int = 2000,
                         generator: torch.Generator | None = None) -> KineticOptimalPath:
    r"""The kinetic-optimal Gaussian path for the uniform distribution on the rows of ``data`` (n, d).

    Solver (module docstring): the path is ``(alpha, sigma) = g(u) (u, 1 - u)``, ``u = s / (1 + s)``; the energy
    density Q(u) uses ``mmse(s(u))`` estimated once on the ``n_u - 1`` segment midpoints (:func:`posterior_mse`,
    ``n_mc`` draws); ``log g`` on the ``n_u`` nodes (ends fixed at 0) minimises the discrete length
    ``sum sqrt(Q) du`` by L-BFGS (``iterations`` at most, float64) from cond-OT (g = 1). The time of node k is
    its arc length over the total, so the path runs at constant speed and its energy is length^2.
    """
    data = _check_data(data)
    n_u = check_int("n_u", n_u, min_value=3)
    iterations = check_int("iterations", iterations, min_value=0)
    m = float((data ** 2).sum(1).mean())
    d = data.shape[1]
    u = _u_grid(n_u)
    um = 0.5 * (u[1:] + u[:-1])
    deficit = posterior_mse(data, um / (1 - um), n_mc=n_mc, generator=generator) / (1 - um) ** 2
    inner = torch.zeros(n_u - 2, dtype=torch.float64, requires_grad=True)

    def full(v: torch.Tensor) -> torch.Tensor:
        zero = torch.zeros(1, dtype=torch.float64)
        return torch.cat([zero, v, zero])

    def length() -> torch.Tensor:
        q, du = _length_density(full(inner), u, m, d, deficit)
        return (torch.sqrt(torch.clamp(q, min=1e-30)) * du).sum()

    if iterations > 0:
        opt = torch.optim.LBFGS([inner], lr=1.0, max_iter=iterations, tolerance_grad=1e-12,
                                tolerance_change=1e-15, history_size=50, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            val = length()
            val.backward()
            return val

        opt.step(closure)
    with torch.no_grad():
        phi = full(inner.detach())
        q, du = _length_density(phi, u, m, d, deficit)
        seg = torch.sqrt(torch.clamp(q, min=0.0)) * du
        total = float(seg.sum())
        t_nodes = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(seg, 0) / total])
        t_nodes[-1] = 1.0
        g = torch.exp(phi)
    keep = torch.cat([torch.ones(1, dtype=torch.bool), t_nodes[1:] > t_nodes[:-1]])
    return KineticOptimalPath(t_nodes[keep], (g * u)[keep], (g * (1 - u))[keep], u_nodes=u[keep], g=g[keep],
                              energy=total ** 2)
