"""ntk: the empirical neural tangent kernel of a wide MLP converges to its infinite-width limit, stays nearly
constant during training, and the trained network follows the kernel's closed-form gradient flow (Jacot, Gabriel &
Hongler 2018, *Neural Tangent Kernel*; the paper's Fig. 1 shows the same on the unit circle with depth-4 ReLU nets
of width 500 and 10,000, without a fitted rate).

Data: ``n_points`` equally spaced points on the unit circle, target cos(theta) + 0.5 sin(3 theta), test points
halfway between. For each width and seed an ``NTKMLP`` (depth 3, ReLU, NTK parameterisation) is drawn; the
empirical NTK on the training points is compared with ``analytic_ntk`` (relative Frobenius error); the network is
trained by full-batch gradient descent on the sum loss 1/2 sum (f - y)^2 for ``steps`` steps of size ``lr``; the
kernel's relative change is measured, and the trained network's test predictions are compared with
``ntk_predict`` (analytic kernel, the network's own initial outputs, t = steps, lr). All three gaps are expected to
fall like width^-1/2 (Jacot et al. Thm 1-2; Lee et al. 2019, "Wide networks evolve as linear models", Thm 2.1);
the claims ask for a log-log slope in [-0.65, -0.35] (the issue's proposal, kept without tuning).

Quick size: widths 64..2048 (20 s of CPU at one thread, 1.7 GB peak); at 1024 the NTK error (0.103 at seed 0)
sat on the claim's 0.1, at 2048 it is 0.081 / 0.075 / 0.063 at seeds 0 / 1 / 2. Full size: to 4096.

``lr`` is 0.01 for 100 steps (t = 1): the largest eigenvalue of the analytic NTK on these points is 49.5, so
lr * lambda_max ~ 0.5 and gradient descent tracks gradient flow (the time-t solution the formula assumes) to a few
1e-3 on each eigenmode, below the width-dependent gaps measured here. ``ntk_batch_size`` 32 computes the 32-point
kernel in one Jacobian block (270 MB at width 1024 in float32); the full size (to 4096) ran with
``--set ntk_batch_size=8`` in 3 GB.

Paper figure: none set. The paper's Fig. 1 shows the spread shrinking with width but fits no rate, so there is no
figure for the slopes and ``paper=`` is unset.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..kernels import NTKMLP, analytic_ntk, empirical_ntk, ntk_predict
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class NtkConfig:
    n_points: int = field(default=32, metadata={"min": 4})
    depth: int = field(default=3, metadata={"min": 1})
    widths: tuple[int, ...] = field(default=(64, 128, 256, 512, 1024, 2048, 4096),
                                    metadata={"min": 1, "min_len": 2})
    seeds: int = field(default=3, metadata={"min": 1})
    activation: str = field(default="relu",
                            metadata={"choices_from": "basiskit.nn.activations:activation_names"})
    weight_var: float = field(default=2.0, metadata={"min": 0.0})
    bias_var: float = field(default=0.0, metadata={"min": 0.0})
    steps: int = field(default=100, metadata={"min": 1})
    lr: float = field(default=0.01, metadata={"gt": 0.0})
    ntk_batch_size: int = field(default=32, metadata={"min": 1})


def circle(n: int, offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` equally spaced unit vectors (n, 2) at angles 2 pi (k + offset) / n, and the angles (n,)."""
    theta = 2 * math.pi * (torch.arange(n, dtype=torch.float64) + offset) / n
    return torch.stack([theta.cos(), theta.sin()], 1), theta


def target(theta: torch.Tensor) -> torch.Tensor:
    return torch.cos(theta) + 0.5 * torch.sin(3 * theta)


def loglog_slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@recipe("ntk", paper="Jacot, Gabriel & Hongler 2018, Neural Tangent Kernel",
        summary="empirical NTK -> analytic NTK as width grows; kernel change in training and the gap to the "
                "closed-form gradient flow fall like width^-1/2",
        config=NtkConfig, quick={"widths": (64, 128, 256, 512, 1024, 2048)},
        claims=[
            Claim("ntk_error_slope", ">=", -0.65, note="log-log slope of median rel. Frobenius error vs width; "
                  "theory -1/2 (paper Fig. 1: spread shrinks from width 500 to 10,000, no rate given)"),
            Claim("ntk_error_slope", "<=", -0.35, note="same slope, upper end of the band"),
            Claim("ntk_error_at_max_width", "<", 0.1, note="median over seeds at the largest width"),
            Claim("kernel_change_slope", ">=", -0.65, note="rel. change of the empirical NTK during training; "
                  "theory -1/2 (lazy training)"),
            Claim("kernel_change_slope", "<=", -0.35, note="same slope, upper end of the band"),
            Claim("prediction_gap_slope", "<=", -0.35, note="rel. gap between the trained net's test predictions "
                  "and ntk_predict; theory -1/2"),
        ])
def run(cfg: NtkConfig, ctx: RunContext) -> dict:
    x64, theta = circle(cfg.n_points)
    xs64, theta_s = circle(cfg.n_points, 0.5)
    y, y_s = target(theta), target(theta_s)
    both = torch.cat([x64, xs64])
    _, theta_all = analytic_ntk(both, None, cfg.depth, cfg.activation, cfg.weight_var, cfg.bias_var)
    n = cfg.n_points
    k_train, k_test_train = theta_all[:n, :n], theta_all[n:, :n]
    x, xs = x64.float(), xs64.float()

    rows: dict[str, list[float]] = {"ntk_error": [], "kernel_change": [], "prediction_gap": []}
    per_width: dict[int, dict[str, list[float]]] = {}
    profile: dict[int, torch.Tensor] = {}
    t0 = time.perf_counter()
    for width in cfg.widths:
        per_width[width] = {k: [] for k in rows}
        for seed in range(cfg.seeds):
            net = NTKMLP(2, width, cfg.depth, 1, cfg.activation, cfg.weight_var, cfg.bias_var)
            net.reset_parameters(ctx.generator(1000 * width + seed))
            ntk0 = empirical_ntk(net, x, batch_size=cfg.ntk_batch_size).double()
            if seed == 0:
                profile[width] = empirical_ntk(net, x[:1], xs, batch_size=cfg.ntk_batch_size)[0].double()
            with torch.no_grad():
                f0, f0_s = net(x)[:, 0].double(), net(xs)[:, 0].double()
            opt = torch.optim.SGD(net.parameters(), lr=cfg.lr)
            for _ in range(cfg.steps):
                opt.zero_grad(set_to_none=True)
                loss = 0.5 * ((net(x)[:, 0] - y.float()) ** 2).sum()
                loss.backward()
                opt.step()
            ntk_t = empirical_ntk(net, x, batch_size=cfg.ntk_batch_size).double()
            with torch.no_grad():
                f_s = net(xs)[:, 0].double()
            pred = ntk_predict(k_train, k_test_train, y, float(cfg.steps), cfg.lr, f0, f0_s)
            per_width[width]["ntk_error"].append(_rel(ntk0, k_train))
            per_width[width]["kernel_change"].append(_rel(ntk_t, ntk0))
            per_width[width]["prediction_gap"].append(_rel(f_s, pred))
        for key in rows:
            rows[key].append(float(np.median(per_width[width][key])))
        ctx.log(width=width, **{key: rows[key][-1] for key in rows}, train_loss=float(loss.detach()))

    widths = list(cfg.widths)
    metrics = {f"{key}_slope": loglog_slope(widths, rows[key]) for key in rows}
    metrics.update({f"{key}_at_max_width": rows[key][-1] for key in rows})
    metrics.update({f"{key}_at_min_width": rows[key][0] for key in rows})
    metrics["seconds"] = time.perf_counter() - t0

    ref = [rows["ntk_error"][0] * math.sqrt(widths[0] / w) for w in widths]
    ctx.plot_curves("convergence", {"rel. error of empirical NTK": (widths, rows["ntk_error"]),
                                    "rel. change of NTK in training": (widths, rows["kernel_change"]),
                                    "rel. gap, trained net vs ntk_predict": (widths, rows["prediction_gap"]),
                                    "width^-1/2": (widths, ref)},
                    xlabel="width", ylabel="median over seeds", logx=True, logy=True, markers=True)
    angle = (theta_s - theta[0]).numpy()
    ctx.plot_curves("ntk_profile", {"analytic": (angle, k_test_train[:, 0]),
                                    f"empirical, width {widths[0]}": (angle, profile[widths[0]]),
                                    f"empirical, width {widths[-1]}": (angle, profile[widths[-1]])},
                    xlabel="angle between inputs (rad)", ylabel="Theta(x0, x)", logy=False)
    return metrics
