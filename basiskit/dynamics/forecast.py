r"""Forecasters of multivariate time series behind one interface, and the chaos benchmark (Gilpin 2021).

Every forecaster standardises the data with the training mean and standard deviation per coordinate, learns
in those units, and forecasts autoregressively:

    >>> model = make_forecaster("nvar").fit(train)          # train: (n_steps, dim) or (batch, n_steps, dim)
    >>> future = model.predict(history, horizon=50)         # history (n_hist, dim) -> (50, dim)

* ``persistence``: the last observed state, repeated (the floor every model must beat).
* ``nvar``: next-generation reservoir computing (Gauthier et al. 2021): ridge regression of the one-step
  increment on a constant, ``lags`` delayed states and all their quadratic monomials.
* ``esn``: echo-state network (Jaeger 2001): a fixed random leaky-tanh reservoir of ``size`` units with spectral
  radius ``spectral_radius``, driven by the input; a ridge read-out of ``[1, u, r]`` to the increment.
* ``mlp`` and ``kan``: the increment from ``lags`` delayed states by a :class:`~basiskit.models.MLP` or a
  :class:`~basiskit.nn.KAN`, trained with Adam on standardised increments (:func:`basiskit.train.fit`).
* ``dmd``: Hankel dynamic mode decomposition: the best linear map on ``lags``-delay embeddings, its rank cut
  where the singular values fall below ``rcond`` times the largest (Brunton et al. 2017, HAVOK/Hankel DMD).

:func:`benchmark` forecasts each system's future a fixed number of dominant *periods* ahead (as dysts does; in
Lyapunov times the horizon would scale out the exponent being correlated), scores it with the symmetric mean
absolute percentage error, and correlates the error with the largest Lyapunov exponent across systems
(Spearman), with a bootstrap interval over systems.
"""
from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from .._validation import UsageError, check_float, check_int, unknown_name_message
from ..models import MLP
from ..nn import KAN
from ..train import RunContext, fit
from ._registry import FORECASTERS, register_forecaster
from .lyapunov import max_lyapunov
from .systems import System, resolve
from .trajectory import trajectory

__all__ = ["Forecaster", "benchmark", "delay_embed", "forecaster_names", "make_forecaster", "smape", "spearman_ci"]

_CLIP = 1e6  # forecasts are clipped to this many standard deviations: a diverging model scores sMAPE ~ 200


def _as_batch(x: Any, arg: str) -> tuple[np.ndarray, bool]:
    """(batch, n, dim) float64 array and whether the input had no batch dim; checks type, rank and values."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    elif isinstance(x, np.ndarray):
        x = x.astype(np.float64)
    else:
        raise TypeError(f"{arg} must be a torch.Tensor or numpy array (n_steps, dim), got {type(x).__name__}")
    if x.ndim not in (2, 3):
        raise ValueError(f"{arg} must have shape (n_steps, dim) or (batch, n_steps, dim), got {x.shape}")
    if x.size == 0:
        raise ValueError(f"{arg} must not be empty, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{arg} contains {int((~np.isfinite(x)).sum())} NaN/inf value(s), shape {x.shape}")
    return (x[None], True) if x.ndim == 2 else (x, False)


def delay_embed(x: np.ndarray, lags: int) -> np.ndarray:
    """``(batch, n, dim)`` -> ``(batch, n - lags + 1, lags * dim)``: row t is ``[x_t, x_{t-1}, ..., x_{t-lags+1}]``."""
    n = x.shape[1]
    return np.concatenate([x[:, lags - 1 - j: n - j] for j in range(lags)], axis=-1)


def _quadratic(lin: np.ndarray) -> np.ndarray:
    """Constant, linear and unique quadratic monomials of ``lin`` ``(..., m)`` -> ``(..., 1 + m + m(m+1)/2)``."""
    i, j = np.triu_indices(lin.shape[-1])
    return np.concatenate([np.ones(lin.shape[:-1] + (1,)), lin, lin[..., i] * lin[..., j]], axis=-1)


def _ridge(features: np.ndarray, targets: np.ndarray, alpha: float) -> np.ndarray:
    """argmin_W |features W - targets|^2 + alpha |W|^2 by the normal equations (features (n, p), targets (n, q))."""
    gram = features.T @ features
    gram[np.diag_indices_from(gram)] += alpha
    return np.linalg.solve(gram, features.T @ targets)


class Forecaster:
    """``fit(train)`` then ``predict(history, horizon)``; see the module docstring. Subclasses implement
    ``_fit(z)`` and ``_predict(zh, horizon)`` on standardised ``(batch, n, dim)`` arrays."""

    name = "forecaster"
    min_history = 1

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = check_int("seed", seed, min_value=0)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, train: Any) -> Forecaster:
        """Learn from ``train`` ``(n_steps, dim)`` or ``(batch, n_steps, dim)``; returns self."""
        x, _ = _as_batch(train, "train")
        need = self.min_history + 2
        if x.shape[1] < need:
            raise ValueError(f"train must have at least {need} time steps for {self.name}, got {x.shape[1]}")
        flat = x.reshape(-1, x.shape[-1])
        self.mean_, self.scale_ = flat.mean(0), flat.std(0) + 1e-12
        self._fit((x - self.mean_) / self.scale_)
        return self

    def predict(self, history: Any, horizon: int) -> torch.Tensor:
        """The next ``horizon`` states after ``history`` ``(n_hist, dim)`` -> ``(horizon, dim)`` (or batched)."""
        if self.mean_ is None:
            raise RuntimeError(f"{self.name}: call fit(train) before predict")
        h, single = _as_batch(history, "history")
        check_int("horizon", horizon, min_value=1)
        if h.shape[-1] != self.mean_.shape[0]:
            raise ValueError(f"history must have last dim {self.mean_.shape[0]} (as in training), got {h.shape}")
        if h.shape[1] < self.min_history:
            raise ValueError(f"history must have at least {self.min_history} time steps for {self.name}, "
                             f"got {h.shape[1]}")
        z = np.clip(np.nan_to_num(self._predict((h - self.mean_) / self.scale_, horizon), nan=_CLIP), -_CLIP, _CLIP)
        out = torch.from_numpy(z * self.scale_ + self.mean_)
        return out[0] if single else out

    def _fit(self, z: np.ndarray) -> None:  # persistence needs nothing
        pass

    def _predict(self, zh: np.ndarray, horizon: int) -> np.ndarray:
        return np.repeat(zh[:, -1:], horizon, axis=1)

    def __repr__(self) -> str:
        keys = [k for k in vars(self) if not k.endswith("_") and not k.startswith("_")]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"


@register_forecaster("persistence", summary="the last observed state, repeated")
class Persistence(Forecaster):
    """Repeats the last observed state."""

    name = "persistence"


class _IncrementModel(Forecaster, ABC):
    """One-step increment from ``lags`` delayed states, rolled out autoregressively; ``_step(window)`` maps
    ``(batch, lags * dim)`` to the standardised increment ``(batch, dim)``."""

    def __init__(self, lags: int, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.lags = check_int("lags", lags, min_value=1)
        self.min_history = self.lags

    def _pairs(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        emb = delay_embed(z[:, :-1], self.lags)  # (batch, n - lags, lags * dim)
        inc = z[:, self.lags:] - z[:, self.lags - 1:-1]
        return emb.reshape(-1, emb.shape[-1]), inc.reshape(-1, z.shape[-1])

    @abstractmethod
    def _step(self, window: np.ndarray) -> np.ndarray:
        """The standardised increment ``(batch, dim)`` from the newest-first window ``(batch, lags * dim)``."""

    def _predict(self, zh: np.ndarray, horizon: int) -> np.ndarray:
        window = zh[:, -self.lags:][:, ::-1].reshape(zh.shape[0], -1)  # newest first
        d = zh.shape[-1]
        out = np.empty((zh.shape[0], horizon, d))
        for t in range(horizon):
            nxt = np.clip(window[:, :d] + self._step(window), -_CLIP, _CLIP)
            out[:, t] = nxt
            window = np.concatenate([nxt, window[:, :-d]], axis=1)
        return out


@register_forecaster("nvar", summary="next-generation reservoir: ridge on delays and their quadratic monomials")
class NVAR(_IncrementModel):
    """Ridge regression of the increment on ``[1, lin, quadratic monomials of lin]``, lin = ``lags`` delays."""

    name = "nvar"

    def __init__(self, lags: int = 2, alpha: float = 1e-6, *, seed: int = 0) -> None:
        super().__init__(lags, seed=seed)
        self.alpha = check_float("alpha", alpha, min_value=0.0)

    def _fit(self, z: np.ndarray) -> None:
        emb, inc = self._pairs(z)
        self.weights_ = _ridge(_quadratic(emb), inc, self.alpha * len(emb))

    def _step(self, window: np.ndarray) -> np.ndarray:
        return _quadratic(window) @ self.weights_


class _TorchIncrementModel(_IncrementModel):
    """A network from the delay window to the standardised increment, trained with Adam (cosine decay)."""

    def __init__(self, lags: int, steps: int, lr: float, batch_size: int, *, seed: int = 0) -> None:
        super().__init__(lags, seed=seed)
        self.steps = check_int("steps", steps, min_value=1)
        self.lr = check_float("lr", lr, min_value=0.0, strict_min=True)
        self.batch_size = check_int("batch_size", batch_size, min_value=1)

    @abstractmethod
    def _network(self, n_in: int, n_out: int) -> torch.nn.Module:
        """A fresh network ``(batch, n_in) -> (batch, n_out)``."""

    def _fit(self, z: np.ndarray) -> None:
        emb, inc = self._pairs(z)
        self.inc_scale_ = inc.std(0) + 1e-12
        torch.manual_seed(self.seed)
        self.net_ = self._network(emb.shape[1], inc.shape[1])
        x = torch.from_numpy(emb).float()
        y = torch.from_numpy(inc / self.inc_scale_).float()
        ctx = RunContext(None, seed=self.seed, progress=False)
        fit(self.net_, F.mse_loss, (x, y), steps=self.steps, batch_size=self.batch_size, lr=self.lr,
            scheduler="cosine", ctx=ctx, name=self.name)
        self.net_.eval()

    def _step(self, window: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.net_(torch.from_numpy(np.clip(window, -50, 50)).float()).double().numpy()
        return out * self.inc_scale_


@register_forecaster("mlp", summary="MLP from delay window to increment, rolled out")
class MLPForecaster(_TorchIncrementModel):
    """:class:`~basiskit.models.MLP` ``[lags * dim, hidden..., dim]`` with ``activation``."""

    name = "mlp"

    def __init__(self, lags: int = 4, hidden: tuple[int, ...] = (64, 64), activation: str = "silu",
                 steps: int = 1500, lr: float = 3e-3, batch_size: int = 256, *, seed: int = 0) -> None:
        super().__init__(lags, steps, lr, batch_size, seed=seed)
        self.hidden = tuple(check_int("hidden", h, min_value=1) for h in hidden)
        self.activation = activation

    def _network(self, n_in: int, n_out: int) -> torch.nn.Module:
        return MLP([n_in, *self.hidden, n_out], self.activation)


@register_forecaster("kan", summary="KAN (B-splines) from delay window to increment, rolled out")
class KANForecaster(_TorchIncrementModel):
    """:class:`~basiskit.nn.KAN` ``[lags * dim, hidden..., dim]``, B-splines of ``grid_size`` on ``(-domain,
    domain)`` (standardised inputs)."""

    name = "kan"

    def __init__(self, lags: int = 4, hidden: tuple[int, ...] = (16,), grid_size: int = 5, domain: float = 3.0,
                 steps: int = 1500, lr: float = 3e-3, batch_size: int = 256, *, seed: int = 0) -> None:
        super().__init__(lags, steps, lr, batch_size, seed=seed)
        self.hidden = tuple(check_int("hidden", h, min_value=1) for h in hidden)
        self.grid_size = check_int("grid_size", grid_size, min_value=1)
        self.domain = check_float("domain", domain, min_value=0.0, strict_min=True)

    def _network(self, n_in: int, n_out: int) -> torch.nn.Module:
        return KAN([n_in, *self.hidden, n_out], grid_size=self.grid_size, domain=(-self.domain, self.domain))


@register_forecaster("esn", summary="echo-state network: leaky tanh reservoir, ridge read-out")
class EchoStateNetwork(Forecaster):
    r"""Leaky reservoir :math:`r_{t+1} = (1-a) r_t + a \tanh(W r_t + W_{in} u_t + b)`, read-out
    :math:`u_{t+1} - u_t = W_{out} [1, u_t, r_{t+1}]` by ridge; ``washout`` steps of each series are discarded,
    and a forecast first runs the reservoir over the whole history."""

    name = "esn"

    def __init__(self, size: int = 300, spectral_radius: float = 0.9, input_scale: float = 0.5, leak: float = 0.5,
                 alpha: float = 1e-6, washout: int = 50, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.size = check_int("size", size, min_value=1)
        self.spectral_radius = check_float("spectral_radius", spectral_radius, min_value=0.0)
        self.input_scale = check_float("input_scale", input_scale, min_value=0.0)
        self.leak = check_float("leak", leak, min_value=0.0, max_value=1.0, strict_min=True)
        self.alpha = check_float("alpha", alpha, min_value=0.0)
        self.washout = check_int("washout", washout, min_value=0)
        self.min_history = 1

    def _reservoir(self, d: int) -> None:
        rng = np.random.default_rng(self.seed)
        w = rng.standard_normal((self.size, self.size))
        w *= self.spectral_radius / max(np.abs(np.linalg.eigvals(w)).max(), 1e-12)
        self.w_, self.w_in_ = w, self.input_scale * rng.uniform(-1, 1, (self.size, d))
        self.bias_ = 0.1 * rng.uniform(-1, 1, self.size)

    def _advance(self, r: np.ndarray, u: np.ndarray) -> np.ndarray:
        pre = r @ self.w_.T + u @ self.w_in_.T + self.bias_
        return (1 - self.leak) * r + self.leak * np.tanh(pre)

    def _run(self, z: np.ndarray) -> np.ndarray:
        """Reservoir states after each input: (batch, n, dim) -> (batch, n, size)."""
        r = np.zeros((z.shape[0], self.size))
        states = np.empty(z.shape[:2] + (self.size,))
        for t in range(z.shape[1]):
            r = self._advance(r, z[:, t])
            states[:, t] = r
        return states

    def _fit(self, z: np.ndarray) -> None:
        if z.shape[1] <= self.washout + 1:
            raise ValueError(f"train must be longer than washout + 1 = {self.washout + 1} steps, got {z.shape[1]}")
        self._reservoir(z.shape[-1])
        states = self._run(z[:, :-1])[:, self.washout:]
        feats = np.concatenate([np.ones(states.shape[:2] + (1,)), z[:, self.washout:-1], states], axis=-1)
        inc = z[:, self.washout + 1:] - z[:, self.washout:-1]
        feats, inc = feats.reshape(-1, feats.shape[-1]), inc.reshape(-1, inc.shape[-1])
        self.w_out_ = _ridge(feats, inc, self.alpha * len(feats))

    def _predict(self, zh: np.ndarray, horizon: int) -> np.ndarray:
        r = self._run(zh)[:, -1]
        u = zh[:, -1]
        out = np.empty((zh.shape[0], horizon, zh.shape[-1]))
        for t in range(horizon):
            u = np.clip(u + np.concatenate([np.ones((u.shape[0], 1)), u, r], axis=1) @ self.w_out_, -_CLIP, _CLIP)
            out[:, t] = u
            r = self._advance(r, u)
        return out


@register_forecaster("dmd", summary="Hankel DMD: best linear map on delay embeddings, rank-truncated")
class HankelDMD(Forecaster):
    """Linear map :math:`h_{t+1} = A h_t` on ``lags``-delay embeddings by truncated-SVD least squares."""

    name = "dmd"

    def __init__(self, lags: int = 16, rcond: float = 1e-6, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.lags = check_int("lags", lags, min_value=1)
        self.rcond = check_float("rcond", rcond, min_value=0.0, max_value=1.0)
        self.min_history = self.lags

    def _fit(self, z: np.ndarray) -> None:
        emb = delay_embed(z, self.lags)
        x, y = emb[:, :-1].reshape(-1, emb.shape[-1]), emb[:, 1:].reshape(-1, emb.shape[-1])
        self.a_ = (np.linalg.pinv(x, rcond=self.rcond) @ y).T  # y_t = A x_t, rows are samples

    def _predict(self, zh: np.ndarray, horizon: int) -> np.ndarray:
        d = zh.shape[-1]
        h = zh[:, -self.lags:][:, ::-1].reshape(zh.shape[0], -1)
        out = np.empty((zh.shape[0], horizon, d))
        for t in range(horizon):
            h = np.clip(h @ self.a_.T, -_CLIP, _CLIP)
            out[:, t] = h[:, :d]
        return out


def forecaster_names() -> list[str]:
    """Names of the registered forecasters."""
    return FORECASTERS.names()


def make_forecaster(name: str, **kwargs: Any) -> Forecaster:
    """The forecaster ``name`` built with ``kwargs``; UsageError with close matches for an unknown name."""
    return FORECASTERS.create(name, **kwargs)


def smape(pred: Any, true: Any) -> float:
    r"""Symmetric mean absolute percentage error in percent, :math:`\frac{200}{n}\sum |y - \hat y| /
    (|y| + |\hat y|)` over every entry (0/0 counts 0); between 0 and 200."""
    p = np.asarray(pred.numpy() if isinstance(pred, torch.Tensor) else pred, dtype=np.float64)
    t = np.asarray(true.numpy() if isinstance(true, torch.Tensor) else true, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"pred and true must have the same shape, got {p.shape} and {t.shape}")
    den = np.abs(p) + np.abs(t)
    ratio = np.divide(np.abs(p - t), den, out=np.zeros_like(den), where=den > 0)
    return float(200.0 * ratio.mean())


def spearman_ci(x: Any, y: Any, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
                ) -> tuple[float, float, float]:
    """Spearman rank correlation of ``x`` and ``y`` and its percentile bootstrap interval at ``level``
    (pairs resampled with replacement; resamples with a constant side are skipped) -> (rho, low, high)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x and y must be 1-D of the same length >= 3, got shapes {x.shape} and {y.shape}")
    check_int("n_boot", n_boot, min_value=1)
    check_float("level", level, min_value=0.0, max_value=1.0, strict_min=True)
    rho = float(spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(x), len(x))
        if np.ptp(x[idx]) == 0 or np.ptp(y[idx]) == 0:
            continue
        boots.append(spearmanr(x[idx], y[idx]).statistic)
    if not boots:
        return rho, math.nan, math.nan
    low, high = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return rho, float(low), float(high)


def benchmark(systems: list[str | System], models: list[str] | dict[str, dict[str, Any]], horizon: float = 1.0, *,
              pts_per_period: int = 50, train_periods: float = 30.0, context_periods: float = 2.0, n_test: int = 4,
              seed: int = 0, n_boot: int = 1000, level: float = 0.95, lyapunov: dict[str, float] | None = None
              ) -> dict[str, Any]:
    """sMAPE of each forecaster on each system ``horizon`` dominant periods ahead, and its Spearman correlation
    with the largest Lyapunov exponent across systems.

    Each system's trajectory (sampled ``pts_per_period`` per period, start drawn by ``seed``) is split into a
    training part of ``train_periods`` and ``n_test`` test windows after it, each ``context_periods`` of history
    and ``horizon`` periods to forecast; a system's sMAPE is the mean over its windows.

    Args:
        models: forecaster names, or ``{name: constructor kwargs}``.
        lyapunov: exponents by system name instead of the systems' ``reference_lyapunov`` (missing ones are
            computed with :func:`~basiskit.dynamics.max_lyapunov`).

    Returns a dict: ``smape`` {system: {model: %}}, ``lyapunov`` {system: exponent}, ``period`` {system: period},
    ``spearman`` {model or "mean": rho} (``"mean"``: the per-system mean sMAPE over the models),
    ``spearman_ci`` {same keys: (low, high)}, ``spearman_per_period`` {same keys: rho against exponent x period},
    ``fit_seconds`` {model: total wall seconds of fit + predict}.
    """
    if not systems:
        raise ValueError("systems must name at least one system")
    specs = {m: {} for m in models} if not isinstance(models, dict) else {m: dict(k) for m, k in models.items()}
    if not specs:
        raise ValueError("models must name at least one forecaster")
    for m in specs:
        if m not in FORECASTERS:
            raise UsageError(f"models: {unknown_name_message('forecaster', m, FORECASTERS.names())}")
    check_float("horizon", horizon, min_value=0.0, strict_min=True)
    check_int("pts_per_period", pts_per_period, min_value=2)
    check_int("n_test", n_test, min_value=1)
    steps = max(1, round(horizon * pts_per_period))
    n_train = round(train_periods * pts_per_period)
    n_ctx = max(1, round(context_periods * pts_per_period))
    resolved = [resolve(s) for s in systems]
    table: dict[str, dict[str, float]] = {}
    lyap: dict[str, float] = {}
    seconds = {m: 0.0 for m in specs}
    for sys_ in resolved:
        traj = trajectory(sys_, n_train + n_test * (n_ctx + steps), pts_per_period, seed=seed).numpy()
        train, rest = traj[:n_train], traj[n_train:]
        windows = rest.reshape(n_test, n_ctx + steps, sys_.dim)
        history, future = windows[:, :n_ctx], windows[:, n_ctx:]
        row = {}
        for m, kwargs in specs.items():
            start = time.perf_counter()
            model = make_forecaster(m, seed=seed, **kwargs).fit(train)
            pred = model.predict(history, steps).numpy()
            seconds[m] += time.perf_counter() - start
            row[m] = float(np.mean([smape(pred[i], future[i]) for i in range(n_test)]))
        table[sys_.name] = row
        given = (lyapunov or {}).get(sys_.name, sys_.reference_lyapunov)
        lyap[sys_.name] = float(given) if given is not None else max_lyapunov(sys_, seed=seed)
    names_ = list(table)
    lam = np.array([lyap[s] for s in names_])
    per_period = lam * np.array([r.period for r in resolved])
    result: dict[str, Any] = {"smape": table, "lyapunov": lyap, "period": {r.name: r.period for r in resolved},
                              "horizon_steps": steps, "spearman": {}, "spearman_ci": {}, "spearman_per_period": {},
                              "fit_seconds": seconds}
    if len(names_) >= 3:
        columns = {m: np.array([table[s][m] for s in names_]) for m in specs}
        columns["mean"] = np.mean(np.stack(list(columns.values())), axis=0)
        for key, err in columns.items():
            rho, low, high = spearman_ci(lam, err, n_boot=n_boot, level=level, seed=seed)
            result["spearman"][key] = rho
            result["spearman_ci"][key] = (low, high)
            result["spearman_per_period"][key] = float(spearmanr(per_period, err).statistic)
    return result
