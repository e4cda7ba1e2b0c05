"""pinn-ns: Kovasznay flow, steady Navier-Stokes as a system of three outputs (u, v, p) (DeepXDE's example).

Kovasznay (1948) flow at Re = 20 on [-0.5, 1] x [-0.5, 1.5] has a closed-form solution (``problems.kovasznay``).
One tanh MLP maps (x, y) to (u, v, p); the residual has three columns (x- and y-momentum, continuity), each with
its weight (``equation_weights``), and every channel's derivatives come from one backward pass per derivative
order (``AutogradDerivatives``). Dirichlet data prescribe (u, v) on the boundary; the pressure is determined up
to a constant, so its error is measured after removing the mean. Adam, then L-BFGS on the fixed points (the
L-BFGS phase does most of the work: the Adam phase is a warm start).

Claims (the issue's): relative L2 error of the velocity (u, v) jointly on a 101 x 101 grid <= 5e-2 at quick size,
<= 1e-2 at full size (the claim follows the config: 1e-2 when at least 2,000 collocation points and 150 L-BFGS
steps are used, 5e-2 below that).

Quick size (4 x 50 tanh MLP as in DeepXDE's example, 1,000 collocation and 200 boundary points instead of its
2,601 and 400, 500 Adam steps at 1e-3, then 60 L-BFGS steps of 20 iterations; about 85 s of CPU, one thread):
velocity rel. L2 7.4e-3 (u 6.4e-3, v 2.3e-2; pressure 1.0e-2 after removing the mean), 90 s of CPU, seed 0 on this
AMD EPYC: 6.8x below the quick target, a margin
that survives a change of CPU. The point counts are halved from DeepXDE's because an Adam step at 2,000 points
costs about 80 ms here; L-BFGS on fixed points is what reaches the target within a minute.

Full size (DeepXDE's 2,601 domain and 400 boundary points, 1,000 Adam steps + 150 x 20 L-BFGS iterations;
DeepXDE trains 30,000 Adam steps, which would take about an hour of CPU here at 2,601 points): velocity rel. L2
2.0e-3 (u 1.8e-3, v 6.2e-3, pressure 3.6e-3 after removing the mean) against the full target 1e-2, met with a
5x margin; 446 s of CPU, one thread (docs/runs/pinn-ns/full).

Paper figure: not set; DeepXDE's documentation shows this example without a stated error figure that could be
verified here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..models import MLP
from ..physics import PINN, train_physics, training_summary
from ..physics.problems import create
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class PinnNsConfig:
    re: float = field(default=20.0, metadata={"gt": 0.0, "max": 1000.0})
    width: int = field(default=50, metadata={"min": 1})
    depth: int = field(default=4, metadata={"min": 1})
    n_interior: int = field(default=2601, metadata={"min": 1})
    n_boundary: int = field(default=400, metadata={"min": 1})
    steps: int = field(default=1000, metadata={"min": 0})  # Adam steps
    lbfgs_steps: int = field(default=150, metadata={"min": 0})  # L-BFGS steps of ``lbfgs_iters`` iterations
    lbfgs_iters: int = field(default=20, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"gt": 0.0})
    # x-momentum, y-momentum, continuity
    equation_weights: tuple[float, ...] = field(default=(1.0, 1.0, 1.0), metadata={"min": 0.0, "min_len": 3})

    def validate(self) -> None:
        """Three equation weights; some training happens."""
        if len(self.equation_weights) != 3:
            raise ValueError(f"equation_weights needs 3 values (x-momentum, y-momentum, continuity), got "
                             f"{self.equation_weights}")
        if self.steps + self.lbfgs_steps < 1:
            raise ValueError("steps + lbfgs_steps must be >= 1 (Adam steps, then L-BFGS steps), got 0 + 0")


def velocity_target(cfg: PinnNsConfig) -> float:
    """1e-2 at full size (>= 2,000 collocation points and >= 150 L-BFGS steps), 5e-2 below (the issue's)."""
    return 1e-2 if cfg.n_interior >= 2000 and cfg.lbfgs_steps >= 150 else 5e-2


def claims(cfg: PinnNsConfig) -> list[Claim]:
    return [Claim("velocity_rel_l2", "<=", velocity_target(cfg),
                  note="(u, v) jointly on a 101 x 101 grid against Kovasznay's exact flow")]


@recipe("pinn-ns", paper="Kovasznay 1948 flow; Lu, Meng, Mao & Karniadakis 2021, DeepXDE",
        summary="Kovasznay flow (Re = 20): steady Navier-Stokes as one PINN with three outputs (u, v, p)",
        config=PinnNsConfig,
        quick={"n_interior": 1000, "n_boundary": 200, "steps": 500, "lbfgs_steps": 60},
        claims=claims)
def run(cfg: PinnNsConfig, ctx: RunContext) -> dict:
    problem = create("kovasznay", re=cfg.re)
    net = MLP([2, *[cfg.width] * cfg.depth, 3])  # weights from torch's generator, seeded by the run context
    model = PINN(problem, net, n_interior=cfg.n_interior, n_boundary=cfg.n_boundary,
                 equation_weights=cfg.equation_weights, seed=ctx.seed)
    history = train_physics(model, steps=cfg.steps, lr=cfg.lr, lbfgs_steps=cfg.lbfgs_steps,
                            lbfgs_iters=cfg.lbfgs_iters, ctx=ctx, name="pinn", eval_every=0, log_every=20)
    figures, lines = training_summary("pinn", model, history)
    # no periodic evaluations; and no all-channel rel. L2: the pressure is fixed only up to a constant
    metrics = {k: v for k, v in figures.items() if "rel_l2" not in k}
    metrics["velocity_rel_l2"] = model.relative_l2(channels=(0, 1))
    metrics["u_rel_l2"] = model.relative_l2(channels=(0,))
    metrics["v_rel_l2"] = model.relative_l2(channels=(1,))
    pts, shape = problem.test_grid()
    pred, ref = model.predict(pts).cpu(), problem.solution(pts)
    dp, rp = pred[:, 2] - pred[:, 2].mean(), ref[:, 2] - ref[:, 2].mean()
    metrics["p_rel_l2_mean_removed"] = float((dp - rp).norm() / rp.norm())
    ctx.plot_curves("loss", {"loss": lines["pinn loss"]}, ylabel="loss")
    fields = {}
    for c, label in enumerate(problem.output_names):
        fields[f"{label} exact"] = ref[:, c].reshape(shape).T
        fields[f"|{label} error|"] = (pred[:, c] - ref[:, c]).abs().reshape(shape).T if c < 2 else \
            (dp - rp).abs().reshape(shape).T
    ctx.plot_fields("fields", fields)
    return metrics
