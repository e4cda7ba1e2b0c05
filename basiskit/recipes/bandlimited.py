"""bandlimited: a random network whose hidden parameters live in a bounded domain cannot fit a multiscale target.

Li, Sonoda, Cao, Wang & Liang 2023, "How Powerful are Shallow Neural Networks with Bandlimited Random Weights?"
(ICML). A depth-2 network with frozen random hidden parameters (a_j, b_j) ~ U([-lambda, lambda]^2) and a
least-squares output layer (:class:`basiskit.kernels.BandlimitedRandomFeatures`) fits the multiscale 1-D target

    f(x) = 0.2 exp(-(10x - 4)^2) + 0.5 exp(-(80x - 40)^2) + 0.3 exp(-(80x - 20)^2),  x in [0, 1]

(a smooth bump plus two narrow ones, the standard multiscale test function of Ming Li's random-network papers),
for n_hidden from 50 to 4000 hidden units and several bandwidths lambda. The paper's theorem: when the hidden
parameters are confined to a bounded domain the approximation error is bounded below by the part of the target's
ridgelet spectrum outside that domain, however many units are used; the narrow bumps need slopes |a| ~ 80.

Claims (thresholds from the issue; calibrated once on seed 0 with 5,000 training points, where the small-bandwidth
ratio is 0.99 and the large-bandwidth RMSE 3e-7, so both hold with a wide margin):

* at the small bandwidth the error plateaus: RMSE(4000 units) >= 0.8 x RMSE(200 units) (the lower bound);
* at the large bandwidth the RMSE at 4000 units is below 1e-2.

Data: n_train uniform points, test on a uniform grid of n_test points; the RMSE of each (lambda, n_hidden) is the
mean over ``seeds`` independent draws of the hidden layer. The output layer is a ridge fit with a tiny ridge
(1e-8 on the sum of squares) that only keeps the normal equations of the ill-conditioned tanh features solvable.

Paper figure: none set. Both metrics are this recipe's own summaries (a ratio of RMSEs at two widths, one RMSE at
the largest width) on this target; the paper's text could not be read here beyond its abstract, so ``paper=`` is
unset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..kernels import BandlimitedRandomFeatures
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class BandlimitedConfig:
    n_train: int = field(default=5000, metadata={"min": 10})
    n_test: int = field(default=2001, metadata={"min": 10})
    n_hidden: tuple[int, ...] = field(default=(50, 100, 200, 500, 1000, 2000, 4000),
                                      metadata={"min": 1, "min_len": 1})
    bandwidths: tuple[float, ...] = field(default=(1.0, 5.0, 20.0, 50.0, 200.0), metadata={"gt": 0.0, "min_len": 1})
    small_bandwidth: float = field(default=1.0, metadata={"gt": 0.0})
    large_bandwidth: float = field(default=200.0, metadata={"gt": 0.0})
    reference_hidden: int = field(default=200, metadata={"min": 1})
    activation: str = field(default="tanh", metadata={"choices_from": "basiskit.nn.activations:activation_names"})
    ridge: float = field(default=1e-8, metadata={"min": 0.0})
    seeds: int = field(default=3, metadata={"min": 1})

    def validate(self) -> None:
        for name in ("small_bandwidth", "large_bandwidth"):
            if getattr(self, name) not in self.bandwidths:
                raise ValueError(f"{name}={getattr(self, name)} must be one of bandwidths={self.bandwidths}")
        if self.reference_hidden not in self.n_hidden:
            raise ValueError(f"reference_hidden={self.reference_hidden} must be one of n_hidden={self.n_hidden}")


def target(x: torch.Tensor) -> torch.Tensor:
    """The multiscale test function on [0, 1]: x (n,) -> (n,)."""
    return (0.2 * torch.exp(-(10 * x - 4) ** 2) + 0.5 * torch.exp(-(80 * x - 40) ** 2)
            + 0.3 * torch.exp(-(80 * x - 20) ** 2))


@recipe("bandlimited", paper="Li, Sonoda, Cao, Wang & Liang 2023, How Powerful are Shallow Neural Networks with "
        "Bandlimited Random Weights? (ICML)",
        summary="random tanh network, hidden params in [-lambda, lambda]: error plateaus at small bandwidth",
        config=BandlimitedConfig,
        quick={"n_hidden": (50, 200, 1000, 4000), "bandwidths": (1.0, 200.0), "seeds": 1},
        claims=[Claim("small_bw_rmse_ratio", ">=", 0.8,
                      note="RMSE(max n_hidden) / RMSE(reference_hidden) at the small bandwidth; paper: a non-zero "
                           "approximation lower bound for bandlimited hidden parameters (Theorem; simulations)"),
                Claim("large_bw_rmse", "<", 1e-2,
                      note="RMSE at max n_hidden, large bandwidth; paper: a wide enough domain fits the target")])
def run(cfg: BandlimitedConfig, ctx: RunContext) -> dict:
    dtype = torch.float64
    x_train = torch.rand(cfg.n_train, 1, generator=ctx.generator(1), dtype=dtype)
    x_test = torch.linspace(0.0, 1.0, cfg.n_test, dtype=dtype)[:, None]
    y_train, y_test = target(x_train[:, 0]), target(x_test[:, 0])

    sizes = sorted(cfg.n_hidden)
    rmse: dict[float, list[float]] = {}
    best_fit: dict[float, torch.Tensor] = {}
    for lam in cfg.bandwidths:
        rmse[lam] = []
        for n_hidden in ctx.progress(sizes, desc=f"lambda={lam:g}"):
            errors = []
            for s in range(cfg.seeds):
                net = BandlimitedRandomFeatures(1, n_hidden, lam, cfg.activation, dtype=dtype,
                                                generator=ctx.generator(100 + s)).fit(x_train, y_train, cfg.ridge)
                with torch.no_grad():
                    pred = net(x_test)[:, 0]
                errors.append(float(((pred - y_test) ** 2).mean().sqrt()))
                if n_hidden == sizes[-1] and s == 0:
                    best_fit[lam] = pred
            rmse[lam].append(sum(errors) / len(errors))
            ctx.log(phase="fit", bandwidth=lam, n_hidden=n_hidden, rmse=rmse[lam][-1])

    ctx.plot_curves("rmse_vs_hidden", {f"lambda = {lam:g}": (sizes, rmse[lam]) for lam in cfg.bandwidths},
                    xlabel="hidden units", ylabel="test RMSE", logx=True, logy=True, markers=True)
    ctx.plot_curves("fits", {"target": (x_test[:, 0], y_test),
                             **{f"lambda = {lam:g}, {sizes[-1]} units": (x_test[:, 0], best_fit[lam])
                                for lam in (cfg.small_bandwidth, cfg.large_bandwidth)}},
                    xlabel="x", ylabel="f(x)", logy=False)
    ref = sizes.index(cfg.reference_hidden)
    metrics: dict[str, float] = {
        "small_bw_rmse_ratio": rmse[cfg.small_bandwidth][-1] / rmse[cfg.small_bandwidth][ref],
        "small_bw_rmse": rmse[cfg.small_bandwidth][-1],
        "large_bw_rmse": rmse[cfg.large_bandwidth][-1],
    }
    for lam in cfg.bandwidths:
        for n_hidden, value in zip(sizes, rmse[lam]):
            metrics[f"rmse_lambda{lam:g}_h{n_hidden}"] = value
    return metrics
