"""nngp-scale-mixture: an inverse-gamma prior on the last-layer variance turns the NNGP into a Student-t process
that is better calibrated under covariate shift (Lee, Yun, Yang & Lee 2022, *Scale Mixtures of Neural Network
Gaussian Processes*, ICLR; their regression tables report lower test NLL for the inverse-gamma mixture than for the
NNGP on UCI data, and their Fig. 2 the t-marginal of wide ensembles).

Data: scikit-learn's diabetes (442 patients, 10 features). Covariate shift: sort by ``shift_feature`` (2 = body
mass index); the lower half is split per seed into train (60 %), validation (20 %) and in-distribution test
(20 %), the upper half is the shifted test set. Inputs and targets are standardised with training statistics.

Models: the NNGP of a one-hidden-layer erf network (weight variance 1, bias variance 0) and its inverse-gamma
scale mixture with alpha = beta = 2 - the defaults of the authors' regression script
(yuneg11/Scale-Mixtures-of-NNGP, ``experiments/regression.py``), fixed before any run here; the NNGP's last-layer
variance is 1 as there. Each model picks its observation noise from ``noise_grid`` by validation NLL and is refit
on train + validation. Also reported (no claim): the Burr XII (c = 2, d = 1) mixture by importance sampling with
1,000 prior draws, as in the authors' ``importance.py``.

Ensemble check: ``ensemble_size`` erf networks of width ``ensemble_width`` with explicitly drawn weights and a
last-layer variance drawn from InvGamma(alpha, beta) are evaluated at one shifted test input; their outputs are
compared with the Student-t marginal t_{2 alpha}(0, (beta / alpha) K(x, x)) by the Kolmogorov-Smirnov distance.

Calibration note (measured once while writing this recipe, same protocol, a 133/44/44 split of the lower half,
5 seeds): with this erf kernel the Student-t process was 0.18 nats better on the shifted set and 0.01 nats better
in distribution; with a depth-2 ReLU NNGP the shifted gain was only 0.01 nats, and with depth-3 ReLU (bias
variance 0.1) the Student-t was 0.02 nats *worse*. The recipe as committed (seed 0) measures 0.07 and 0.03. The
gain comes from the posterior scale (2 beta + y^T K^-1 y) / (2 alpha + n) adapting to the data; with n = 176
(train + validation) the posterior has 180 degrees of freedom, so its tails are nearly Gaussian
(docs/kernels.md).

Baseline with a fitted variance (reported, no claim): the paper's NNGP keeps its last-layer variance at 1, and
that is what the Student-t's posterior scale improves on. ``nngp_ml`` is the same NNGP with the variance set by
maximum marginal likelihood (``GaussianProcess(scale="ml")``, noise by validation NLL as for the others), the
usual empirical-Bayes fit of a GP. Measured at seed 0 over the 5 splits: in distribution it matches the
Student-t (gap 0.002 nats against 0.03 for the fixed variance) and under shift it keeps 0.019 nats of the
Student-t's 0.07-nat advantage, so most of the shift gain here is the fitted scale, the rest the t's tails.

Paper figure: none set. The paper's NLL tables are for its UCI regression sets, not for diabetes with this BMI
shift split, and its Fig. 2 is a plot (histograms against the t density), so no figure is comparable and
``paper=`` is unset.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..kernels import (
    Burr12Prior,
    GaussianProcess,
    InverseGammaPrior,
    NNGPKernel,
    ScaleMixtureProcess,
    StudentTProcess,
    sample_preactivations,
)
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class NngpScaleMixtureConfig:
    seeds: int = field(default=5, metadata={"min": 1})
    shift_feature: int = field(default=2, metadata={"min": 0, "max": 9})
    depth: int = field(default=1, metadata={"min": 1})
    activation: str = field(default="erf",
                            metadata={"choices_from": "basiskit.nn.activations:activation_names"})
    weight_var: float = field(default=1.0, metadata={"min": 0.0})
    bias_var: float = field(default=0.0, metadata={"min": 0.0})
    alpha: float = field(default=2.0, metadata={"gt": 0.0})
    beta: float = field(default=2.0, metadata={"gt": 0.0})
    noise_grid: tuple[float, ...] = field(default=(0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
                                          metadata={"min": 0.0, "min_len": 1})
    burr_c: float = field(default=2.0, metadata={"gt": 0.0})
    burr_d: float = field(default=1.0, metadata={"gt": 0.0})
    importance_samples: int = field(default=1000, metadata={"min": 1})
    ensemble_size: int = field(default=2000, metadata={"min": 10})
    ensemble_width: int = field(default=1024, metadata={"min": 1})


def diabetes_shift_split(feature: int, seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Standardised (x, y) for 'train', 'val', 'test_in' (lower half of ``feature``) and 'test_shift' (upper)."""
    from sklearn.datasets import load_diabetes

    x_all, y_all = (torch.as_tensor(a, dtype=torch.float64) for a in load_diabetes(return_X_y=True))
    order = torch.argsort(x_all[:, feature], stable=True)
    half = len(order) // 2
    low, high = order[:half], order[half:]
    low = low[torch.randperm(half, generator=torch.Generator().manual_seed(seed))]
    n_train, n_val = int(0.6 * half), int(0.2 * half)
    parts = {"train": low[:n_train], "val": low[n_train:n_train + n_val], "test_in": low[n_train + n_val:],
             "test_shift": high}
    tr = parts["train"]
    mx, sx, my, sy = x_all[tr].mean(0), x_all[tr].std(0), y_all[tr].mean(), y_all[tr].std()
    return {k: ((x_all[i] - mx) / sx, (y_all[i] - my) / sy) for k, i in parts.items()}


def _nll(model, data) -> float:
    return float(-model.predictive_log_prob(*data).mean())


@recipe("nngp-scale-mixture", paper="Lee, Yun, Yang & Lee 2022, Scale Mixtures of Neural Network Gaussian Processes",
        summary="Student-t process (inverse-gamma last-layer variance) vs NNGP on diabetes under covariate shift; "
                "wide-ensemble marginal vs the Student-t",
        config=NngpScaleMixtureConfig, quick={"seeds": 5, "ensemble_width": 512},
        claims=[
            Claim("nll_gain_shift", ">=", 0.05, note="NNGP NLL minus Student-t NLL on the shifted test set, mean over "
                  "seeds (paper: lower NLL for the inverse-gamma mixture on UCI regression)"),
            Claim("nll_gap_in_dist", "<=", 0.02, note="|Student-t NLL - NNGP NLL| in distribution"),
            Claim("ensemble_ks", "<=", 0.05, note="KS distance, wide erf ensemble with InvGamma last-layer variance "
                  "vs t_{2 alpha} marginal (paper Fig. 2 shows the same match as histograms)"),
        ])
def run(cfg: NngpScaleMixtureConfig, ctx: RunContext) -> dict:
    from scipy import stats

    t0 = time.perf_counter()
    kernel = NNGPKernel(cfg.depth, cfg.activation, cfg.weight_var, cfg.bias_var)
    builders = {
        "nngp": lambda noise: GaussianProcess(kernel, noise),
        "nngp_ml": lambda noise: GaussianProcess(kernel, noise, scale="ml"),
        "student_t": lambda noise: StudentTProcess(kernel, cfg.alpha, cfg.beta, noise),
        "burr12": lambda noise: ScaleMixtureProcess(kernel, Burr12Prior(cfg.burr_c, cfg.burr_d), noise,
                                                    cfg.importance_samples, generator=ctx.generator(7)),
    }
    results = {name: {"test_in": [], "test_shift": [], "noise": []} for name in builders}
    for seed in range(cfg.seeds):
        data = diabetes_shift_split(cfg.shift_feature, ctx.seed * 1000 + seed)
        train_val = tuple(torch.cat([a, b]) for a, b in zip(data["train"], data["val"]))
        for name, build in builders.items():
            val_nll = [_nll(build(e).fit(*data["train"]), data["val"]) for e in cfg.noise_grid]
            noise = cfg.noise_grid[int(np.argmin(val_nll))]
            model = build(noise).fit(*train_val)
            results[name]["noise"].append(noise)
            for split in ("test_in", "test_shift"):
                results[name][split].append(_nll(model, data[split]))
        ctx.log(seed=seed, **{f"{n}_{s}": results[n][s][-1] for n in builders for s in ("test_in", "test_shift")})
        if seed == 0:
            first = (data, train_val, {n: results[n]["noise"][-1] for n in builders})

    mean = {n: {s: float(np.mean(results[n][s])) for s in ("test_in", "test_shift")} for n in builders}
    metrics = {f"{n}_nll_{s.removeprefix('test_')}": mean[n][s] for n in builders for s in ("test_in", "test_shift")}
    metrics["nll_gain_shift"] = mean["nngp"]["test_shift"] - mean["student_t"]["test_shift"]
    metrics["nll_gap_in_dist"] = abs(mean["student_t"]["test_in"] - mean["nngp"]["test_in"])
    metrics["burr12_gain_shift"] = mean["nngp"]["test_shift"] - mean["burr12"]["test_shift"]
    # the NNGP with its last-layer variance fitted by marginal likelihood (no claim; see the module docstring)
    metrics["nll_gain_shift_vs_ml"] = mean["nngp_ml"]["test_shift"] - mean["student_t"]["test_shift"]
    metrics["nll_gap_in_dist_vs_ml"] = abs(mean["student_t"]["test_in"] - mean["nngp_ml"]["test_in"])

    # wide ensemble with an inverse-gamma last-layer variance at one shifted input
    data, train_val, noises = first
    x_star = data["test_shift"][0][:1]
    g = ctx.generator(11)
    outs = sample_preactivations(x_star, [cfg.ensemble_width] * cfg.depth + [1], cfg.activation, cfg.weight_var,
                                 cfg.bias_var, cfg.ensemble_size, generator=g, method="weights")[-1][:, 0, 0]
    variance = InverseGammaPrior(cfg.alpha, cfg.beta).sample(cfg.ensemble_size, g)
    draws = (variance.sqrt() * outs).numpy()
    t_scale = float(np.sqrt(cfg.beta / cfg.alpha * float(kernel(x_star)[0, 0])))
    marginal = stats.t(2 * cfg.alpha, scale=t_scale)
    metrics["ensemble_ks"] = float(stats.kstest(draws, marginal.cdf).statistic)
    metrics["ensemble_ks_gaussian"] = float(stats.kstest(draws, stats.norm(scale=draws.std()).cdf).statistic)
    metrics["seconds"] = time.perf_counter() - t0

    # plots: per-seed NLL, predictive bands along the shift feature (seed 0), ensemble CDF
    seeds = list(range(cfg.seeds))
    ctx.plot_curves("nll_per_seed", {f"{n}, {s.removeprefix('test_')}": (seeds, results[n][s])
                                     for n in ("nngp", "student_t") for s in ("test_in", "test_shift")},
                    xlabel="seed", ylabel="test NLL (nats)", logy=False, markers=True)
    xs, ys = data["test_shift"]
    order = torch.argsort(xs[:, cfg.shift_feature])
    gp = builders["nngp"](noises["nngp"]).fit(*train_val)
    st = builders["student_t"](noises["student_t"]).fit(*train_val)
    mean_gp, var_gp = gp.predict(xs)
    df, _, scale_st = st.predict(xs)
    feat = xs[order, cfg.shift_feature]
    t_quantile = float(stats.t.ppf(0.975, df))
    ctx.plot_curves("shift_bands", {"|error| of the posterior mean": (feat, (ys - mean_gp)[order].abs()),
                                    "NNGP 95% half-width": (feat, 1.96 * var_gp[order].sqrt()),
                                    "Student-t 95% half-width": (feat, t_quantile * scale_st[order].sqrt())},
                    xlabel=f"feature {cfg.shift_feature} (standardised), shifted test set", ylabel="target units",
                    logy=False)
    grid = np.linspace(np.quantile(draws, 0.005), np.quantile(draws, 0.995), 200)
    ctx.plot_curves("ensemble_cdf", {"ensemble (empirical CDF)": (grid, (draws[None, :] <= grid[:, None]).mean(1)),
                                     f"t_{2 * cfg.alpha:g} marginal": (grid, marginal.cdf(grid))},
                    xlabel="network output", ylabel="CDF", logy=False)
    return metrics
