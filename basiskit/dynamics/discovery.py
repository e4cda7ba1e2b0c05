r"""MEDIDA: model-error discovery from one-step increments (Mojgani, Chattopadhyay & Hassanzadeh 2022).

Given snapshots :math:`u_n = u(\cdot, t_n)` of the true system and one step :math:`M_{\Delta t}` of an imperfect
model's own solver, the model error is estimated from the increments

.. math::
    e_n = \frac{u_{n+1} - M_{\Delta t_n}(u_n)}{\Delta t_n}
        \approx \sum_j \xi_j\,\theta_j\big(\bar u_n\big), \qquad \bar u_n = \tfrac12\big(u_{n+1} + M_{\Delta t_n}(u_n)\big),

and the coefficients :math:`\xi` of a library of candidate terms :math:`\theta_j` (``"u"``, ``"u^2"``,
``"u*u_x"``, ``"u_xxx"``, ..., from spectral derivatives on the periodic grid) are found by sparse regression:
relevance-vector / ARD (Bayesian, the paper's RVM; scikit-learn's ``ARDRegression`` when installed, else
:func:`ard_regression`) or sequentially thresholded least squares (:func:`stlsq`). The library is evaluated at
the midpoint :math:`\bar u_n` of the two end states of the step, not at :math:`u_n`: for a linear error
:math:`B` commuting with a stiff model operator :math:`A` (KS: :math:`B = c\partial_x^3`, :math:`A = -\partial_x^2
- \partial_x^4` in Fourier space) :math:`e_n = e^{A h}(e^{B h} - 1)u_n/h` and :math:`\bar u_n = e^{Ah}(1 + e^{Bh})
u_n / 2`, so the regression sees :math:`(2/h)\tanh(Bh/2) = B(1 + O(h^2))` however stiff :math:`A` is, where
:math:`\theta(u_n)` would carry the :math:`O(1)` factor :math:`e^{Ah}`.

Noisy observations: the paper filters them with an ensemble Kalman filter that runs the model. Here the states
are denoised by a spectral low-pass (:func:`spectral_lowpass`) before anything is differentiated: the noise is
white (flat spectrum) while a dissipative PDE's spectrum falls steeply, so the cut goes where the time-mean power
spectrum meets the noise floor read off its top quarter of wavenumbers (:func:`noise_floor_cutoff`). It needs no
ensemble of model runs and no noise covariance, and it is the right tool for a smooth field on a full grid; the
EnKF, which also uses the model's dynamics, is the better one for sparse or very noisy observations.

Sparse observations (a fraction of the grid points): :func:`interpolate_sparse` fits a space-time MLP
:math:`(x, t) \mapsto u`, either on raw coordinates or on random Fourier features (Tancik et al. 2020) of them,
the paper's remedy for the spectral bias that keeps a plain MLP from the small scales the derivatives need.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_choice, check_float, check_int, check_tensor
from ..models import MLP
from ..nn import FourierFeatures
from ..pde.spectral import spectral_derivative
from ..train import fit

__all__ = ["DEFAULT_LIBRARY", "SPARSE_METHODS", "ard_regression", "denoise_states", "interpolate_sparse",
           "library_matrix", "medida", "model_error", "noise_floor_cutoff", "parse_term", "sparse_regression", "spectral_lowpass", "stlsq"]

DEFAULT_LIBRARY = ("u", "u^2", "u^3", "u_x", "u_xx", "u_xxx", "u_xxxx", "u*u_x", "u^2*u_x", "u*u_xx", "u*u_xxx",
                   "u_x^2")
SPARSE_METHODS = ("ard", "stlsq", "sindy")
_FACTOR = re.compile(r"^u(?:_(x+))?(?:\^(\d+))?$")


def parse_term(name: str) -> list[tuple[int, int]]:
    """``"u^2*u_x"`` -> [(0, 2), (1, 1)]: (derivative order, power) per factor; factors are ``u``, ``u_x``,
    ``u_xx``, ... with an optional ``^p`` (p >= 1), joined by ``*``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"library term must be a non-empty string like 'u*u_x', got {name!r}")
    factors = []
    for part in name.split("*"):
        m = _FACTOR.match(part.strip())
        if m is None or (m.group(2) is not None and int(m.group(2)) < 1):
            raise ValueError(f"library term {name!r}: factor {part!r} is not u, u_x, u_xx, ... with an optional "
                             f"power ^p (p >= 1), e.g. 'u^2*u_x'")
        factors.append((len(m.group(1) or ""), int(m.group(2) or 1)))
    return factors


def library_matrix(u: torch.Tensor, length: float, terms: Sequence[str] = DEFAULT_LIBRARY) -> torch.Tensor:
    r"""Candidate terms :math:`\theta_j(u)` on a periodic grid of period ``length``, derivatives spectral.

    u: (..., n_x) -> (..., n_x, len(terms)), float64.
    """
    check_tensor("u", u, min_ndim=1, finite=True, nonempty=True)
    length = check_float("length", length, min_value=0.0, strict_min=True)
    parsed = [parse_term(t) for t in terms]
    if not parsed:
        raise ValueError("library needs at least one term, got an empty list")
    u = u.to(torch.float64)
    orders = sorted({o for p in parsed for o, _ in p})
    derivs = {o: (u if o == 0 else spectral_derivative(u, o) / length ** o) for o in orders}
    cols = []
    for factors in parsed:
        col = torch.ones_like(u)
        for order, power in factors:
            col = col * derivs[order] ** power
        cols.append(col)
    return torch.stack(cols, -1)


def _grid_length(x: torch.Tensor | np.ndarray, n_x: int) -> float:
    x = torch.as_tensor(x, dtype=torch.float64).reshape(-1)
    if x.numel() != n_x:
        raise ValueError(f"x must hold the {n_x} grid points of u's last dim, got {x.numel()}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite")
    dx = torch.diff(x)
    h = float(dx.mean())
    if h <= 0 or float((dx - h).abs().max()) > 1e-6 * abs(h):
        raise ValueError("x must be a uniform, increasing periodic grid x_j = x_0 + j L / n (endpoint excluded)")
    return h * n_x


def model_error(u: torch.Tensor, t: torch.Tensor | np.ndarray,
                model_step: Callable[[torch.Tensor, float], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One-step model-error estimates :math:`e_n = (u_{n+1} - M_{\Delta t_n}(u_n)) / \Delta t_n` and the midpoint
    states :math:`\bar u_n = (u_{n+1} + M(u_n))/2` where the library is evaluated (module docstring).

    ``model_step(states, dt)`` gets a (m, n_x) float64 stack of states sharing one ``dt`` (one call per distinct
    step) and returns the (m, n_x) states one model step later. u: (n_t, n_x), t: (n_t,) increasing.
    Returns (errors, midpoints), each (n_t - 1, n_x).
    """
    check_tensor("u", u, ndim=2, finite=True, nonempty=True)
    t = torch.as_tensor(t, dtype=torch.float64).reshape(-1)
    if t.numel() != u.shape[0]:
        raise ValueError(f"t must hold one time per snapshot (u has {u.shape[0]}), got {t.numel()}")
    if u.shape[0] < 2:
        raise ValueError(f"u needs at least 2 snapshots for a one-step increment, got {u.shape[0]}")
    dt = torch.diff(t)
    if not bool(torch.isfinite(dt).all()) or bool((dt <= 0).any()):
        raise ValueError("t must be finite and strictly increasing")
    u = u.to(torch.float64)
    predicted = torch.empty_like(u[1:])
    steps = torch.round(dt / dt.max(), decimals=9)
    for value in torch.unique(steps):
        rows = (steps == value).nonzero().reshape(-1)
        h = float(dt[rows[0]])
        out = torch.as_tensor(model_step(u[rows], h), dtype=torch.float64)
        if out.shape != (len(rows), u.shape[1]):
            raise ValueError(f"model_step(states, dt) must return shape {(len(rows), u.shape[1])} for states of "
                             f"that shape, got {tuple(out.shape)}")
        predicted[rows] = out
    if not bool(torch.isfinite(predicted).all()):
        raise ValueError("model_step returned non-finite states (is the model stable at this dt?)")
    return (u[1:] - predicted) / dt[:, None], 0.5 * (u[1:] + predicted)


def stlsq(theta: torch.Tensor, y: torch.Tensor, threshold: float = 0.05, *, max_iter: int = 20) -> torch.Tensor:
    r"""Sequentially thresholded least squares (Brunton, Proctor & Kutz 2016, SINDy) on standardised columns.

    Columns of ``theta`` (N, p) and ``y`` (N,) are scaled to unit rms; coefficients whose scaled size is below
    ``threshold`` (a term contributing less than that fraction of the target's rms) are zeroed and the rest
    refitted, until the support stops changing. Returns (p,) coefficients in the original units.
    """
    theta, y, col_scale, y_scale = _standardise(theta, y)
    check_float("threshold", threshold, min_value=0.0)
    check_int("max_iter", max_iter, min_value=1)
    active = torch.ones(theta.shape[1], dtype=torch.bool)
    coef = torch.zeros(theta.shape[1], dtype=torch.float64)
    for _ in range(max_iter):
        coef = torch.zeros_like(coef)
        if active.any():
            coef[active] = torch.linalg.lstsq(theta[:, active], y[:, None]).solution[:, 0]
        keep = coef.abs() >= threshold
        if torch.equal(keep, active):
            break
        active = keep
    coef[~active] = 0.0
    return coef * y_scale / col_scale


def ard_regression(theta: torch.Tensor, y: torch.Tensor, *, max_iter: int = 300, tol: float = 1e-6,
                   prune_lambda: float = 1e4) -> torch.Tensor:
    r"""Automatic relevance determination / relevance-vector regression (Tipping 2001; MacKay's updates).

    Prior :math:`\xi_j \sim N(0, \lambda_j^{-1})`, noise precision :math:`\alpha`; iterate
    :math:`\Sigma = (\alpha\Theta^T\Theta + \mathrm{diag}\,\lambda)^{-1}`, :math:`\mu = \alpha\Sigma\Theta^T y`,
    :math:`\gamma_j = 1 - \lambda_j\Sigma_{jj}`, :math:`\lambda_j = \gamma_j/\mu_j^2`,
    :math:`\alpha = (N - \sum\gamma)/\|y - \Theta\mu\|^2`; a term whose precision passes ``prune_lambda`` (on
    standardised columns) is dropped. theta (N, p), y (N,) -> (p,) posterior-mean coefficients, original units.
    """
    theta, y, col_scale, y_scale = _standardise(theta, y)
    n, p = theta.shape
    gram, rhs = theta.T @ theta, theta.T @ y
    lam = torch.ones(p, dtype=torch.float64)
    alpha = 1.0 / max(float(y.var()), 1e-12)
    active = torch.ones(p, dtype=torch.bool)
    mu = torch.zeros(p, dtype=torch.float64)
    for _ in range(max_iter):
        idx = active.nonzero().reshape(-1)
        sigma = torch.linalg.inv(alpha * gram[idx][:, idx] + torch.diag(lam[idx]))
        mu_new = torch.zeros(p, dtype=torch.float64)
        mu_new[idx] = alpha * sigma @ rhs[idx]
        gamma = 1.0 - lam[idx] * torch.diagonal(sigma)
        lam[idx] = gamma / (mu_new[idx] ** 2 + 1e-300)
        resid = float(((y - theta @ mu_new) ** 2).sum())
        alpha = float((n - gamma.sum()) / max(resid, 1e-300))
        active = active & (lam < prune_lambda)
        done = float((mu_new - mu).abs().max()) < tol
        mu = mu_new
        if done or not active.any():
            break
    mu[~active] = 0.0
    return mu * y_scale / col_scale


def _standardise(theta: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    check_tensor("theta", theta, ndim=2, finite=True, nonempty=True)
    check_tensor("y", y, ndim=1, finite=True, nonempty=True)
    if theta.shape[0] != y.shape[0]:
        raise ValueError(f"theta has {theta.shape[0]} rows but y has {y.shape[0]} entries; they must match")
    if theta.shape[0] < theta.shape[1]:
        raise ValueError(f"sparse regression needs at least as many samples as library terms: "
                         f"{theta.shape[0]} samples < {theta.shape[1]} terms")
    theta, y = theta.to(torch.float64), y.to(torch.float64)
    col_scale = theta.pow(2).mean(0).sqrt()
    if bool((col_scale == 0).any()):
        raise ValueError(f"library columns {col_scale.eq(0).nonzero().reshape(-1).tolist()} are identically zero")
    y_scale = float(y.pow(2).mean().sqrt()) or 1.0
    return theta / col_scale, y / y_scale, col_scale, y_scale


def sparse_regression(theta: torch.Tensor, y: torch.Tensor, method: str = "ard", *,
                      threshold: float = 0.05) -> torch.Tensor:
    """Sparse coefficients (p,) of ``y ~ theta @ coef``: ``"ard"`` (scikit-learn's ``ARDRegression`` when
    installed, else :func:`ard_regression`) chooses a support, on which :func:`stlsq` refits (ARD's posterior
    mean is shrunk towards 0, the refit is not), ``"stlsq"`` alone, or ``"sindy"``: pysindy's ``STLSQ``
    optimiser (the optional ``sindy`` extra) on the same standardised library, for users who want pysindy's own
    implementation. In each a term whose standardised coefficient is below ``threshold`` is dropped (see
    :func:`stlsq`)."""
    check_choice("method", method, SPARSE_METHODS)
    if method == "stlsq":
        return stlsq(theta, y, threshold)
    ts, ys, col_scale, y_scale = _standardise(theta, y)
    if method == "sindy":
        try:
            from pysindy.optimizers import STLSQ
        except ImportError as err:
            raise ImportError("method='sindy' needs pysindy (pip install 'basiskit[sindy]'); method='stlsq' is "
                              "the same algorithm without it") from err
        est = STLSQ(threshold=threshold, alpha=0.0).fit(ts.numpy(), ys.numpy())
        return torch.as_tensor(est.coef_.reshape(-1), dtype=torch.float64) * y_scale / col_scale
    try:
        from sklearn.linear_model import ARDRegression
    except ImportError:
        coef = ard_regression(theta, y) * col_scale / y_scale
    else:
        est = ARDRegression(fit_intercept=False, max_iter=300, tol=1e-6).fit(ts.numpy(), ys.numpy())
        coef = torch.as_tensor(est.coef_, dtype=torch.float64)
    support = coef.abs() >= max(threshold, 1e-12)
    out = torch.zeros_like(coef)
    if support.any():
        out[support] = stlsq(ts[:, support], ys, threshold)
    return out * y_scale / col_scale


def noise_floor_cutoff(u: torch.Tensor, *, factor: float = 10.0) -> int:
    """The first wavenumber at which the time-mean power spectrum of ``u`` (..., n_x) falls below ``factor``
    times the noise floor, the median power over the top quarter of wavenumbers (white noise is flat there while
    a smooth field has decayed); n_x // 2 + 1 when it never does (keep everything)."""
    check_tensor("u", u, min_ndim=1, finite=True, nonempty=True)
    check_float("factor", factor, min_value=1.0)
    power = torch.fft.rfft(u.to(torch.float64), dim=-1).abs().pow(2).reshape(-1, u.shape[-1] // 2 + 1).mean(0)
    n_k = power.numel()
    floor = float(power[n_k - max(1, n_k // 4):].median())
    below = (power[1:] < factor * floor).nonzero().reshape(-1)
    return int(below[0]) + 1 if below.numel() else n_k


def spectral_lowpass(u: torch.Tensor, cutoff: int) -> torch.Tensor:
    """Zero the Fourier modes k >= ``cutoff`` along the last dim of ``u`` (..., n_x): same shape and dtype."""
    check_tensor("u", u, min_ndim=1, finite=True, nonempty=True)
    check_int("cutoff", cutoff, min_value=1)
    spec = torch.fft.rfft(u.to(torch.float64), dim=-1)
    spec[..., cutoff:] = 0
    return torch.fft.irfft(spec, n=u.shape[-1], dim=-1).to(u.dtype)


def denoise_states(u: torch.Tensor, cutoff: int, *, window: int = 0, order: int = 3) -> torch.Tensor:
    """Spectral low-pass in x (:func:`spectral_lowpass` at ``cutoff``), then, when ``window`` > 0, a
    Savitzky-Golay filter in time (local polynomials of degree ``order`` over ``window`` snapshots, odd;
    ``scipy.signal.savgol_filter``). u: (n_t, n_x) -> same shape, float64."""
    check_tensor("u", u, ndim=2, finite=True, nonempty=True)
    check_int("window", window, min_value=0)
    out = spectral_lowpass(u.to(torch.float64), cutoff)
    if window:
        from scipy.signal import savgol_filter
        if window % 2 == 0 or window <= order or window > u.shape[0]:
            raise ValueError(f"window must be odd, larger than order={order} and at most n_t={u.shape[0]}, "
                             f"got {window}")
        out = torch.as_tensor(savgol_filter(out.numpy(), window, order, axis=0, mode="interp"))
    return out


def medida(u: torch.Tensor | np.ndarray, t: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray,
           model_step: Callable[[torch.Tensor, float], torch.Tensor], *, library: Sequence[str] | None = None,
           method: str = "ard", threshold: float = 0.05, denoise: str | None = None,
           cutoff: int | None = None, window: int = 0) -> dict[str, float]:
    r"""Discover the model error (truth minus model) as a sparse sum of library terms (module docstring).

    Args:
        u: (n_t, n_x) observed snapshots on the uniform periodic grid ``x`` (n_x,) at times ``t`` (n_t,).
        model_step: ``(states (m, n_x), dt) -> states one step later``, the imperfect model's own solver.
        library: term names (default :data:`DEFAULT_LIBRARY`): ``u``, ``u^2``, ``u*u_x``, ``u_xxx``, ...
        method: ``"ard"`` (relevance vector / ARD, the paper's choice), ``"stlsq"`` or ``"sindy"`` (pysindy's STLSQ).
        threshold: terms contributing less than this fraction of the model error's rms are dropped.
        denoise: None, or ``"lowpass"``: :func:`denoise_states` (low-pass at ``cutoff``, default
            :func:`noise_floor_cutoff`, and Savitzky-Golay over ``window`` snapshots when ``window`` > 0), and
            the increments and library columns projected on the kept Fourier modes: the model step of a
            truncated state refills the cut modes, which the observations cannot match, so the regression is
            done only where the data carry information.

    Returns:
        ``{term: coefficient}`` for the selected terms only, e.g. ``{"u_xxx": 0.1}``.
    """
    u = torch.as_tensor(u, dtype=torch.float64)
    check_tensor("u", u, ndim=2, finite=True, nonempty=True)
    check_choice("method", method, SPARSE_METHODS)
    check_choice("denoise", denoise, (None, "lowpass"))
    terms = tuple(DEFAULT_LIBRARY if library is None else library)
    length = _grid_length(x, u.shape[1])
    if denoise == "lowpass":
        cutoff = noise_floor_cutoff(u) if cutoff is None else check_int("cutoff", cutoff, min_value=1)
        u = denoise_states(u, cutoff, window=window)
    errors, midpoints = model_error(u, t, model_step)
    theta = library_matrix(midpoints, length, terms)
    if denoise == "lowpass":
        errors = spectral_lowpass(errors, cutoff)
        theta = spectral_lowpass(theta.transpose(-1, -2), cutoff).transpose(-1, -2)
    coef = sparse_regression(theta.reshape(-1, len(terms)), errors.reshape(-1), method, threshold=threshold)
    return {name: float(c) for name, c in zip(terms, coef) if c != 0}


def interpolate_sparse(values: torch.Tensor, x_obs: torch.Tensor, t: torch.Tensor, x_grid: torch.Tensor, *,
                       length: float, features: str = "fourier", num_features: int = 128,
                       sigma: tuple[float, float] = (4.0, 1.0), hidden: int = 128, depth: int = 3,
                       steps: int = 2000, lr: float = 2e-3, seed: int = 0) -> torch.Tensor:
    r"""Fill a space-time field from point observations with an MLP :math:`(x, t) \mapsto u`.

    Inputs are scaled to :math:`[0, 1)` in x (by ``length``) and to [0, 1] in t. ``features="fourier"`` feeds the
    MLP the random Fourier features :math:`\gamma(x, t)` (:class:`basiskit.nn.FourierFeatures`, frequencies
    :math:`N(0, \mathrm{diag}(\sigma_x^2, \sigma_t^2))`) -- the paper's remedy for spectral bias; ``"none"`` is the
    plain MLP on (x, t). Adam with cosine decay, full batch, mean-squared error on the observations.

    Args:
        values: (n_t, n_obs) observations at the points ``x_obs`` (n_obs,) and times ``t`` (n_t,).
        x_grid: (n_x,) points to evaluate at.
    Returns:
        (n_t, n_x) float64 interpolant.
    """
    check_tensor("values", values, ndim=2, finite=True, nonempty=True)
    check_choice("features", features, ("fourier", "none"))
    length = check_float("length", length, min_value=0.0, strict_min=True)
    check_int("steps", steps, min_value=1)
    n_t, n_obs = values.shape
    x_obs, t, x_grid = (torch.as_tensor(a, dtype=torch.float64).reshape(-1) for a in (x_obs, t, x_grid))
    if x_obs.numel() != n_obs or t.numel() != n_t:
        raise ValueError(f"values (n_t, n_obs)={tuple(values.shape)} needs x_obs of {n_obs} and t of {n_t} "
                         f"entries, got {x_obs.numel()} and {t.numel()}")
    span = float(t[-1] - t[0]) or 1.0

    def coords(xs: torch.Tensor) -> torch.Tensor:
        grid_t, grid_x = torch.meshgrid((t - t[0]) / span, xs / length, indexing="ij")
        return torch.stack([grid_x, grid_t], -1).reshape(-1, 2).float()

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    if features == "fourier":
        embed = FourierFeatures(2, num_features, generator=gen)
        embed.freqs.mul_(torch.tensor(sigma, dtype=embed.freqs.dtype))
        embed.freqs[:, 0].round_()  # whole cycles per period: the embedding is periodic in x like the field
        model = torch.nn.Sequential(embed, MLP([2 * num_features] + [hidden] * depth + [1], "tanh"))
    else:
        model = torch.nn.Sequential(MLP([2] + [hidden] * depth + [1], "tanh"))
    scale = float(values.std()) or 1.0
    shift = float(values.mean())
    inputs, targets = coords(x_obs), ((values.to(torch.float64) - shift) / scale).reshape(-1, 1).float()
    fit(model, F.mse_loss, (inputs, targets), steps=steps, lr=lr, scheduler="cosine", name=f"interp_{features}")
    with torch.no_grad():
        out = model(coords(x_grid)).to(torch.float64).reshape(n_t, -1)
    return out * scale + shift
