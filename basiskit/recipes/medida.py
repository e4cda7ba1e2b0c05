"""medida: discover a missing u_xxx term of Kuramoto-Sivashinsky from one-step model errors (MEDIDA).

Mojgani, Chattopadhyay & Hassanzadeh 2022, "Discovery of interpretable structural model errors by combining
Bayesian sparse regression and data assimilation: a chaotic Kuramoto-Sivashinsky test case" (Chaos 32, 061105),
and the same authors' QG follow-up (random-Fourier-feature interpolation of sparse observations, PAPERS.md row 36).

Truth: u_t = -u u_x - u_xx - u_xxxx + c u_xxx (c = ``dispersion`` = 0.1) on a periodic box of length ``length``;
model: the same solver without the c u_xxx term (:func:`basiskit.pde.kuramoto_sivashinsky_step`). Snapshots every
``dt_obs`` after a ``spinup`` from a small random state; :func:`basiskit.dynamics.discovery.medida` regresses the
one-step model errors on the 12-term default library (u, u^2, u^3, u_x, ..., u_xxxx, u*u_x, u^2*u_x, u*u_xx,
u*u_xxx, u_x^2) with ARD (scikit-learn's ``ARDRegression``) and a thresholded refit (terms below 5% of the error's
rms dropped). Three cases, each one claim:

1. noise-free full observations: only u_xxx selected, its coefficient within 5% of c;
2. 1% Gaussian noise (std 0.01 x the field's std) on every observed value, removed before differentiation by a
   spectral low-pass in x at the noise-floor wavenumber plus a Savitzky-Golay filter in time (``window``
   snapshots, cubic), increments and library projected on the kept modes (the paper used an ensemble Kalman filter;
   ours needs no ensemble of model runs and no noise covariance, see :mod:`basiskit.dynamics.discovery`): u_xxx
   within 10%;
3. 25% of the grid points observed (fixed random stations, a finer ``sparse_n_x`` grid so that the stations
   resolve the field's energetic scales): the field is filled by a space-time MLP (x, t) -> u, once on random
   Fourier features (frequencies N(0, sigma^2), whole cycles in x) and once on raw coordinates (the plain MLP,
   best of a learning-rate sweep by its own training loss, never by the truth), then MEDIDA with the low-pass:
   the RFF run recovers c within 10% and the plain MLP does not.

Choices of the quick size. ``length`` 44 with ``n_x`` 128: the classic L = 22 box settles on travelling waves
once c u_xxx is added (measured: amplitude spread of modes 1-3 below 2% for 3 of 4 seeds), L = 44 stays chaotic
and 128 points resolve it (spectrum 1e-11 below its peak at the 2/3 cut). ``dt_obs`` 0.02: the one-step estimate
carries an O(dt) commutator bias (dt/2 [F, c d^3/dx^3] u = (3 c dt / 2)(u_x u_xx)_x for KS), measured as spurious
u*u_xx and u_x^2 terms above the threshold at dt_obs 0.05 and 0.1 and as a coefficient 2.9% low at 0.02 (1.5%
at 0.01). ``n_t`` 1000 (20 time units) for cases 1-2 (about 5 s of the run); ``window`` 51 snapshots (one time
unit, short against the field's evolution, long enough to average the noise: 11 left spurious model terms).
Case 3 has 26 snapshots on ``sparse_n_x`` 256 with uniform stations (every 4th point: 64 stations, 3-6 per
wavelength of the energetic scales); the MLPs (3 x 128 tanh, 128 Fourier features, sigma (2, 0.2)) train 3000
full-batch Adam steps, about 20 s each, most of the run. The sparse regression keeps modes below the stations'
Nyquist wavenumber only (nothing above it is observed).

Quick figures (seed 0, AMD EPYC, 53 s CPU): c = 0.0968 noise-free (3.2% off, no other term; margin 1.8 points),
0.0969 with 1% noise (3.1%, no other term; margin 6.9 points), and in the sparse case 0.121 from the RFF fill
(21% off, 10 spurious terms: **not met**) against 0.059 from the plain MLP fill (41% off). The interpolation
itself shows the paper's spectral-bias effect: relative L2 error 0.25% (RFF) against 3.7% (plain MLP), but the
regression needs the increments u_{n+1} - M(u_n) to a fraction of c u_xxx dt, i.e. the fill to about 0.05%:
the fill's error spectrum is flat (about 1e-2 per mode) while the field's falls below it at k ~ 24, and the stiff
model step amplifies what is left (the spurious terms are fractions of the model's own u_xx, u_xxxx, u u_x).
Tried: random stations (fill error 1.0-1.9%, sigma_x 1.5-8), 8000 steps (0.18%, c 10% off with spurious
terms), low-pass cut-offs 12-32 on the fill (best 0.090 at 16 with 4 spurious terms; not used, it would be
tuning). Margins: solver and regression are float64; the MLPs are float32, full batch, no data-order randomness.

Paper figure: none set. The paper reports discovered coefficients per case, with an EnKF for noise (not the
low-pass + Savitzky-Golay used here); no number for this exact setting could be checked here, so ``paper=`` is
unset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..dynamics.discovery import interpolate_sparse, medida
from ..pde import kuramoto_sivashinsky, kuramoto_sivashinsky_step
from ..train import RunContext
from .core import Claim, recipe

TERM = "u_xxx"


@dataclass
class MedidaConfig:
    length: float = field(default=44.0, metadata={"gt": 0.0})
    n_x: int = field(default=128, metadata={"min": 16})
    dispersion: float = field(default=0.1, metadata={"gt": 0.0, "lt": 1.0})
    spinup: float = field(default=100.0, metadata={"min": 0.0})
    dt_obs: float = field(default=0.02, metadata={"gt": 0.0, "max": 1.0})
    solver_dt: float = field(default=0.02, metadata={"gt": 0.0, "max": 0.25})
    n_t: int = field(default=2000, metadata={"min": 20})
    method: str = field(default="ard", metadata={"choices_from": "basiskit.dynamics.discovery:SPARSE_METHODS"})
    threshold: float = field(default=0.05, metadata={"min": 0.0, "lt": 1.0})
    noise: float = field(default=0.01, metadata={"min": 0.0, "lt": 1.0})
    window: int = field(default=51, metadata={"min": 0})
    sparse_n_x: int = field(default=256, metadata={"min": 16})
    sparse_fraction: float = field(default=0.25, metadata={"gt": 0.0, "max": 1.0})
    stations: str = field(default="uniform", metadata={"choices": ("uniform", "random")})
    sparse_n_t: int = field(default=51, metadata={"min": 5})
    interp_steps: int = field(default=6000, metadata={"min": 1})
    interp_hidden: int = field(default=128, metadata={"min": 1})
    interp_features: int = field(default=128, metadata={"min": 1})
    sigma_x: float = field(default=2.0, metadata={"gt": 0.0})
    sigma_t: float = field(default=0.2, metadata={"gt": 0.0})
    rff_lr: float = field(default=3e-3, metadata={"gt": 0.0})
    mlp_lrs: tuple[float, ...] = field(default=(1e-3, 3e-3, 1e-2), metadata={"gt": 0.0, "min_len": 1})

    def validate(self) -> None:
        for name in ("n_x", "sparse_n_x"):
            if getattr(self, name) % 2:
                raise ValueError(f"{name} must be even (the Fourier grid), got {getattr(self, name)}")
        if self.window and (self.window % 2 == 0 or self.window > self.n_t):
            raise ValueError(f"window must be 0 or odd and at most n_t={self.n_t}, got {self.window}")


def _claims(cfg: MedidaConfig) -> list[Claim]:
    return [
        Claim("noise_free_rel_err", "<=", 0.05, note=f"|c_found - c| / c for {TERM}, noise-free full observations"),
        Claim("noise_free_extra_terms", "==", 0, note="library terms selected besides u_xxx (noise-free)"),
        Claim("noisy_rel_err", "<=", 0.10,
              note=f"{cfg.noise:.0%} noise, spectral low-pass + Savitzky-Golay denoising (paper: EnKF)"),
        Claim("rff_rel_err", "<=", 0.10,
              note=f"{cfg.sparse_fraction:.0%} of grid points observed, random-Fourier-feature MLP interpolation"),
        Claim("mlp_rel_err", ">", 0.10, note="same, plain MLP interpolation (spectral bias): c not recovered"),
    ]


def _rel_err(found: dict[str, float], c: float) -> float:
    return abs(found.get(TERM, 0.0) - c) / c


def _simulate(cfg: MedidaConfig, n_x: int, n_t: int, ctx: RunContext) -> tuple[torch.Tensor, torch.Tensor,
                                                                               torch.Tensor]:
    """(x (n_x,), t (n_t,), u (n_t, n_x)) of the true system after the spin-up."""
    x = torch.arange(n_x, dtype=torch.float64) * cfg.length / n_x
    u0 = 0.1 * torch.randn(n_x, generator=ctx.generator(1), dtype=torch.float64)
    kw = {"length": cfg.length, "dt": cfg.solver_dt, "dispersion": cfg.dispersion}
    start = kuramoto_sivashinsky(u0, cfg.spinup, n_t=2, **kw)[-1] if cfg.spinup > 0 else u0
    u = kuramoto_sivashinsky(start, cfg.dt_obs * (n_t - 1), n_t=n_t, **kw)
    return x, torch.arange(n_t, dtype=torch.float64) * cfg.dt_obs, u


@recipe("medida", paper="Mojgani, Chattopadhyay & Hassanzadeh 2022, MEDIDA (model-error discovery)",
        summary="MEDIDA on Kuramoto-Sivashinsky: find the missing c u_xxx from one-step errors; noisy, sparse + RFF",
        config=MedidaConfig, claims=_claims,
        quick={"n_t": 1000, "sparse_n_t": 26, "interp_steps": 3000, "mlp_lrs": (3e-3,)})
def run(cfg: MedidaConfig, ctx: RunContext) -> dict:
    c = cfg.dispersion
    metrics: dict[str, float] = {}
    steps_per_obs = max(1, round(cfg.dt_obs / cfg.solver_dt))

    def model_for(length: float):
        return lambda states, dt: kuramoto_sivashinsky_step(states, dt, length=length, substeps=steps_per_obs)

    model = model_for(cfg.length)
    x, t, u = _simulate(cfg, cfg.n_x, cfg.n_t, ctx)
    metrics["field_std"] = float(u.std())

    found = medida(u, t, x, model, method=cfg.method, threshold=cfg.threshold)
    metrics["noise_free_c"] = found.get(TERM, 0.0)
    metrics["noise_free_rel_err"] = _rel_err(found, c)
    metrics["noise_free_extra_terms"] = float(len(set(found) - {TERM}))
    ctx.log(phase="noise_free", **{f"coef[{k}]": v for k, v in found.items()})

    noisy = u + cfg.noise * u.std() * torch.randn(u.shape, generator=ctx.generator(2), dtype=torch.float64)
    found = medida(noisy, t, x, model, method=cfg.method, threshold=cfg.threshold, denoise="lowpass",
                   window=cfg.window)
    metrics["noisy_c"] = found.get(TERM, 0.0)
    metrics["noisy_rel_err"] = _rel_err(found, c)
    metrics["noisy_extra_terms"] = float(len(set(found) - {TERM}))
    ctx.log(phase="noisy", **{f"coef[{k}]": v for k, v in found.items()})

    xs, ts, us = _simulate(cfg, cfg.sparse_n_x, cfg.sparse_n_t, ctx)
    n_obs = max(1, round(cfg.sparse_fraction * cfg.sparse_n_x))
    if cfg.stations == "uniform":  # every (1 / fraction)-th grid point
        stations = torch.unique(torch.linspace(0, cfg.sparse_n_x, n_obs + 1)[:-1].round().long())
    else:
        stations = torch.randperm(cfg.sparse_n_x, generator=ctx.generator(3))[:n_obs].sort().values
    obs = us[:, stations]
    common = {"length": cfg.length, "hidden": cfg.interp_hidden, "num_features": cfg.interp_features,
              "sigma": (cfg.sigma_x, cfg.sigma_t), "steps": cfg.interp_steps, "seed": ctx.seed}
    fills = {"rff": interpolate_sparse(obs, xs[stations], ts, xs, features="fourier", lr=cfg.rff_lr, **common)}
    best = None
    for lr in cfg.mlp_lrs:  # the baseline's learning rate chosen by its own fit to the stations
        fill = interpolate_sparse(obs, xs[stations], ts, xs, features="none", lr=lr, **common)
        station_err = float((fill[:, stations] - obs).pow(2).mean())
        ctx.log(phase="mlp_lr_sweep", lr=lr, station_mse=station_err)
        if best is None or station_err < best[0]:
            best = (station_err, lr, fill)
    fills["mlp"] = best[2]
    metrics["mlp_lr"] = best[1]
    sparse_model = model_for(cfg.length)
    for name, fill in fills.items():
        metrics[f"{name}_interp_rel_l2"] = float((fill - us).norm() / us.norm())
        found = medida(fill, ts, xs, sparse_model, method=cfg.method, threshold=cfg.threshold, denoise="lowpass",
                       cutoff=max(1, len(stations) // 2))  # nothing above the stations' Nyquist is observed
        metrics[f"{name}_c"] = found.get(TERM, 0.0)
        metrics[f"{name}_rel_err"] = _rel_err(found, c)
        metrics[f"{name}_extra_terms"] = float(len(set(found) - {TERM}))
        ctx.log(phase=f"sparse_{name}", **{f"coef[{k}]": v for k, v in found.items()})
    ctx.plot_fields("ks_fields", {"truth u (rows: t)": u.numpy(), f"sparse case, n_x={cfg.sparse_n_x}": us.numpy(),
                                  "RFF-MLP fill - truth": (fills["rff"] - us).numpy(),
                                  "plain MLP fill - truth": (fills["mlp"] - us).numpy()})
    return metrics
