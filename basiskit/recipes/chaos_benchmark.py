"""chaos-benchmark: forecast error against the degree of chaos across many chaotic flows.

Gilpin 2021, "Chaos as an interpretable benchmark for forecasting and data-driven modelling" (NeurIPS Datasets and
Benchmarks; the *dysts* database). Its claim: across chaotic systems, how well a model forecasts correlates with
how chaotic the system is (its largest Lyapunov exponent).

1. *Data.* Each system of :mod:`basiskit.dynamics` is integrated (DOP853, tolerance 1e-10, after 10 periods of
   transient) and sampled ``pts_per_period`` points per dominant period; the first ``train_periods`` train every
   forecaster, then ``n_test`` windows each give ``context_periods`` of history and ``horizon`` periods to
   forecast. The horizon is fixed in periods, as dysts does, not in Lyapunov times (which would scale out the
   exponent being correlated).
2. *Forecasters* (:mod:`basiskit.dynamics.forecast`): persistence, NVAR, echo-state network, MLP, KAN and Hankel
   DMD, each with its default settings for every system (no per-system tuning, the same budget for all).
3. *Score.* sMAPE (percent, 0..200) per system and model, mean over the windows; the Spearman correlation across
   systems between the largest Lyapunov exponent (``reference_lyapunov``: dysts' estimate, or the textbook value
   where one exists) and the per-system mean sMAPE over the models, with a bootstrap interval over systems.
4. *Lyapunov check.* :func:`basiskit.dynamics.max_lyapunov` (Benettin, RK4 tangent propagation, 4 trajectories)
   on Lorenz (10, 28, 8/3) over ``lyapunov_periods`` periods against the literature's 0.9056 (Sprott 2003).

5. *Our exponents* (``compute_lyapunov``): Benettin's exponent of every system, and the same correlation with
   it, reported beside the claim as a check on the reference values (not instead of it).

Claims: Lorenz's exponent within 10% of 0.9056 (the issue's threshold; our estimate is 0.9096, 0.4% off, at 200
periods, so the margin is over 20x the error and survives a change of CPU: the computation is deterministic
float64 with no reductions whose order depends on threads); Spearman >= 0.3 between the reference exponent and
the per-system mean sMAPE over the forecasters, the issue's full-size claim (the interval is reported). The paper's
own correlation figure could not be verified from its text here, so ``paper=`` is left unset; the Lorenz check is
against Sprott's 0.9056, a textbook value and not a figure of this paper, so it has no ``paper=`` either.

Status (docs/dynamics.md): Lorenz is met at every size. The Spearman claim is *not* met: quick -0.64
(interval [-1.00, 0.06], 8 systems, 3 forecasters), full 0.23 ([-0.06, 0.49], 46 systems, 6 forecasters). What
holds at full size: each learned forecaster's own error correlates positively with the exponent (NVAR 0.49, ESN
0.48, MLP 0.28, KAN 0.25, DMD 0.24), while persistence's is anti-correlated (-0.26: over a horizon of one period
its error measures the oscillation's amplitude, not chaos) and drags the mean below 0.3; against the exponent per
period (exponent x period, the e-foldings within the horizon) the mean correlates at 0.33, against our own
exponents at 0.17 ([-0.13, 0.46]; ours rank the systems like the references, 0.82, but a few references are far
off, e.g. Lorenz84 0.46 where ours is 0.000). The statistic was fixed before the first run and is kept as it is.

Quick size (40 s of CPU here from an empty cache): 8 systems fixed before any run to span the exponents of the
registry (SprottA 0.013 ... QiChen 4.0), the three forecasters that fit in closed form (persistence, NVAR, ESN;
the MLP and KAN cost several seconds each per system), 50 points per period (NVAR's quadratic increments diverge
on Lorenz at 20), 30 training periods (1,500 samples, 50x NVAR's 28 features), 8 test windows of one period after
two periods of context, 400 bootstrap resamples. Full size: all 46 registered systems and all six forecasters
(263 s of CPU, 22 minutes of wall time on the shared 2-core machine).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import unknown_name_message
from ..dynamics import benchmark, create, forecaster_names, max_lyapunov, names, spearman_ci
from ..train import RunContext
from .core import Claim, recipe

LORENZ_LYAPUNOV = 0.9056  # Sprott 2003, Chaos and Time-Series Analysis: Lorenz (10, 28, 8/3)
QUICK_SYSTEMS = ("SprottA", "Rossler", "Aizawa", "Rucklidge", "Thomas", "Lorenz", "Chen", "QiChen")


@dataclass
class ChaosBenchmarkConfig:
    systems: tuple[str, ...] = ()  # names of basiskit.dynamics.names(); empty: all of them (checked in validate)
    models: tuple[str, ...] = field(default=("persistence", "nvar", "esn", "mlp", "kan", "dmd"),
                                    metadata={"min_len": 1})  # names of basiskit.dynamics.forecaster_names()
    horizon: float = field(default=1.0, metadata={"gt": 0.0, "max": 50.0})
    pts_per_period: int = field(default=50, metadata={"min": 4, "max": 1000})
    train_periods: float = field(default=30.0, metadata={"gt": 0.0, "max": 1000.0})
    context_periods: float = field(default=2.0, metadata={"gt": 0.0, "max": 100.0})
    n_test: int = field(default=8, metadata={"min": 1, "max": 1000})
    n_boot: int = field(default=2000, metadata={"min": 10, "max": 100000})
    level: float = field(default=0.95, metadata={"gt": 0.0, "lt": 1.0})
    lyapunov_periods: float = field(default=200.0, metadata={"gt": 1.0, "max": 10000.0})
    nn_steps: int = field(default=1500, metadata={"min": 1, "max": 100000})
    compute_lyapunov: bool = True

    def validate(self) -> None:
        for arg, given, known, kind in (("systems", self.systems, names(), "system"),
                                        ("models", self.models, forecaster_names(), "forecaster")):
            for name in given:
                if name not in known:
                    raise ValueError(f"{arg}: {unknown_name_message(kind, name, known)}")
        if len(set(self.systems)) != len(self.systems):
            raise ValueError(f"systems must not repeat a name, got {list(self.systems)}")
        if 0 < len(self.systems) < 3:
            raise ValueError(f"systems must name at least 3 systems for a rank correlation (or none: all), "
                             f"got {list(self.systems)}")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"models must not repeat a name, got {list(self.models)}")


def _claims(cfg: ChaosBenchmarkConfig) -> list[Claim]:
    return [Claim("lorenz_lyapunov_rel_err", "<=", 0.1,
                  note=f"|max_lyapunov(Lorenz) - {LORENZ_LYAPUNOV}| / {LORENZ_LYAPUNOV} (Sprott 2003)"),
            Claim("spearman", ">=", 0.3,
                  note="Spearman rank correlation across systems of the largest Lyapunov exponent and the mean "
                       "sMAPE over the forecasters (interval: spearman_low .. spearman_high)")]


def _computed_exponents(cfg: ChaosBenchmarkConfig, ctx: RunContext, result: dict[str, Any]) -> dict[str, Any]:
    """Our own largest exponent of every system (Benettin, ``lyapunov_periods`` periods) and the correlation of
    the mean sMAPE with it: a check on the reference values, reported beside the claim, not instead of it."""
    ours: dict[str, float] = {}
    for name in result["smape"]:
        system = create(name)
        try:
            ours[name] = max_lyapunov(system, t_total=cfg.lyapunov_periods * system.period, seed=ctx.seed)
        except ValueError:  # RK4 at period/100 unstable for this system: reported as missing
            ours[name] = float("nan")
        ctx.log(phase="lyapunov", system=name, value=ours[name], reference=result["lyapunov"][name])
    names_ = [n for n in ours if np.isfinite(ours[n])]
    out: dict[str, Any] = {"lyapunov_computed": ours}
    if len(names_) >= 3:
        mean = [np.mean(list(result["smape"][n].values())) for n in names_]
        rho, low, high = spearman_ci([ours[n] for n in names_], mean, n_boot=cfg.n_boot, level=cfg.level,
                                     seed=ctx.seed)
        out.update(spearman_computed=rho, spearman_computed_low=low, spearman_computed_high=high)
        out["reference_vs_computed_spearman"] = float(spearman_ci([ours[n] for n in names_],
                                                                  [result["lyapunov"][n] for n in names_],
                                                                  n_boot=10, seed=ctx.seed)[0])
    return out


def _plot(ctx: RunContext, result: dict[str, Any], models: list[str]) -> None:
    import matplotlib.pyplot as plt

    systems = list(result["smape"])
    lam = np.array([result["lyapunov"][s] for s in systems])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m in models:
        ax.scatter(lam, [result["smape"][s][m] for s in systems], s=14, alpha=0.6,
                   label=f"{m} (rho {result['spearman'][m]:.2f})")
    mean = [np.mean([result["smape"][s][m] for m in models]) for s in systems]
    ax.scatter(lam, mean, s=40, marker="x", color="black", label=f"mean (rho {result['spearman']['mean']:.2f})")
    ax.set_xscale("log")
    ax.set_xlabel("largest Lyapunov exponent")
    ax.set_ylabel("sMAPE (%)")
    low, high = result["spearman_ci"]["mean"]
    ax.set_title(f"{len(systems)} systems; Spearman {result['spearman']['mean']:.2f} [{low:.2f}, {high:.2f}]")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "smape_vs_lyapunov")


@recipe("chaos-benchmark", paper="Gilpin 2021, Chaos as an interpretable benchmark for forecasting and data-driven "
        "modelling (NeurIPS Datasets and Benchmarks)",
        summary="forecasters on chaotic flows: sMAPE vs largest Lyapunov exponent (Spearman, bootstrap CI); "
                "Lorenz exponent by Benettin",
        config=ChaosBenchmarkConfig, claims=_claims,
        quick={"systems": QUICK_SYSTEMS, "models": ("persistence", "nvar", "esn"), "n_boot": 400})
def run(cfg: ChaosBenchmarkConfig, ctx: RunContext) -> dict:
    metrics: dict[str, Any] = {}
    lorenz = create("Lorenz")
    lam = max_lyapunov(lorenz, t_total=cfg.lyapunov_periods * lorenz.period, seed=ctx.seed)
    metrics["lorenz_lyapunov"] = lam
    metrics["lorenz_lyapunov_rel_err"] = abs(lam - LORENZ_LYAPUNOV) / LORENZ_LYAPUNOV
    ctx.log(phase="lyapunov", system="Lorenz", value=lam)

    systems = list(cfg.systems) or names()
    models = list(cfg.models)
    nn_kwargs = {"steps": cfg.nn_steps}
    specs = {m: (nn_kwargs if m in ("mlp", "kan") else {}) for m in models}
    result = benchmark(systems, specs, cfg.horizon, pts_per_period=cfg.pts_per_period,
                       train_periods=cfg.train_periods, context_periods=cfg.context_periods, n_test=cfg.n_test,
                       seed=ctx.seed, n_boot=cfg.n_boot, level=cfg.level)
    for s, row in result["smape"].items():
        ctx.log(phase="benchmark", system=s, lyapunov=result["lyapunov"][s], **{f"smape_{m}": v for m, v in row.items()})
    metrics["n_systems"] = float(len(systems))
    metrics["spearman"] = result["spearman"]["mean"]
    metrics["spearman_low"], metrics["spearman_high"] = result["spearman_ci"]["mean"]
    metrics["spearman_per_period"] = result["spearman_per_period"]["mean"]
    for m in models:
        metrics[f"spearman_{m}"] = result["spearman"][m]
        metrics[f"median_smape_{m}"] = float(np.median([row[m] for row in result["smape"].values()]))
        metrics[f"seconds_{m}"] = result["fit_seconds"][m]
    metrics["smape"] = result["smape"]
    metrics["lyapunov"] = result["lyapunov"]
    if cfg.compute_lyapunov:
        metrics.update(_computed_exponents(cfg, ctx, result))
    _plot(ctx, result, models)
    return metrics
