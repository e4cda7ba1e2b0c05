"""pig: physics-informed Gaussians on 2-D Helmholtz (Kang et al. 2024, "PIG: Physics-Informed Gaussians as
Adaptive Parametric Mesh Representations").

u_xx + u_yy + u = q on [-1, 1]^2 with exact sin(4 pi y) sin(pi x). PIG (trainable Gaussian features, closed-form
derivatives, a small MLP) against a tanh MLP PINN with the same optimizer steps, schedule and collocation points.
The paper's figure for this problem is 4.13e-5 +- 2.59e-5 (its Table 1, Helmholtz with (a1, a2) = (1, 4), i.e.
sin(pi x) sin(4 pi y): mean over seeds 100, 200, 300; best 2.22e-5, the figure on the authors' project page), set as
``Claim.paper`` on the accuracy claim. The authors' released setting (helmholtz2d_pig.sh, network.py): 800
Gaussians for each of 4 channels with one scalar weight each (``layout="per_channel"``), widths trained as sigma
itself (``scale_param="direct"``) from 0.1, weights from N(0, 0.01^2), one hidden layer of 16, 10,000 interior
and 10,000 boundary points resampled every step, 60,000 Adam steps at 1e-2 decayed by 0.9995 per step (so the
rate is below 1e-4 after 9,200 steps); the residual loss scaled by 1e-4 (here: divided by the source's mean
square, 1.4e-4). The full config here is that model on fewer points and steps (3,000 + 750 points, 5,000
cosine-decayed steps; docs/runs/pig/full, 693 s on one thread): PIG 1.08e-4 (2.6x the paper's 4.13e-5), the tanh
PINN 0.0114, 106x. The authors' full schedule is not run: 0.53 s per PIG step at their point counts here, ~9 h.

Claims: PIG's rel. L2 <= 1e-2, and PIG <= baseline / 10 (a comparison, not "the baseline fails"), the
baseline's figure being the best rel. L2 it reached at any periodic evaluation. The baseline's Adam lr (``lr``)
is the best of a sweep at quick size (``tools/physics_lr_sweep.py pig --lrs 3e-4 1e-3 3e-3 1e-2 2e-2 3e-2 5e-2
--quick``, docs/runs/pig/lr_sweep/quick.json): rel. L2 1.04 / 1.26 / 0.548 / **0.0795** / 0.092 / 0.215 / 0.210,
1e-2 chosen.

Quick size: 300 Gaussians per channel, 1,000 interior + 250 boundary points, 2,000 Adam steps with a cosine
schedule, both models (59 s wall here). Seeds 0 / 1 / 2 / 3 (one thread, AMD EPYC): PIG 3.2e-3 / 1.5e-3 / 1.9e-3 /
7.3e-4, the tanh PINN's best 0.0795 / 0.110 / 0.114 / 0.069: both claims met at every seed, the narrowest margins
3.2x (accuracy) and 2.5x (ratio), both at seed 0.

History: until 2026-12-07 ``PIG`` shared N Gaussians among the channels (a C-vector of weights each), trained log
sigma, and the quick run (1,000 steps, exponential decay to 1%) gave 0.033 / 0.674 / 0.084 / 0.102 at seeds 0-3:
the accuracy claim was not met. The error was the lowest Dirichlet mode of Laplacian + 1 (eigenvalue -3.9
against the solution's -167, so ~1,800x cheaper in the residual loss per unit amplitude), which that model traded
against the residual its Gaussians could not remove (its error rose while its loss fell). What removed it is
more Gaussians (the authors' layout has 4 per shared one at the same ``n_gaussians``) trained longer on a
cosine schedule: at 1,200 Gaussians in all and this schedule the shared layout does as well (4.8e-4 to 1.6e-3
over seeds 0-3), so the layout itself is not the cause. docs/physics.md has the one-switch-at-a-time table, the
comparison on three other problems and the variants tried before (more points, fixed points, L-BFGS on frozen
points, which lets the Gaussians overfit them; the recipe keeps Adam on points resampled every step, as the
authors' code does, and ``lbfgs_steps`` turns L-BFGS on).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import MLP
from ..physics import (
    PIG,
    PINN,
    PhysicsModel,
    residual_scale,
    train_physics,
    training_summary,
)
from ..physics.problems import create
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class PigConfig:
    a1: float = field(default=4.0, metadata={"gt": 0.0})  # exact solution sin(a1 pi x) sin(a2 pi y)
    a2: float = field(default=1.0, metadata={"gt": 0.0})
    n_gaussians: int = field(default=800, metadata={"min": 1})  # per channel (layout "per_channel")
    channels: int = field(default=4, metadata={"min": 1})
    pig_hidden: int = field(default=16, metadata={"min": 1})
    layout: str = field(default="per_channel", metadata={"choices_from": "basiskit.physics.pig:LAYOUTS"})
    scale_param: str = field(default="direct", metadata={"choices_from": "basiskit.physics.pig:SCALE_PARAMS"})
    init_scale: float = field(default=0.1, metadata={"gt": 0.0})
    init_weight: float = field(default=0.01, metadata={"gt": 0.0})
    pinn_width: int = field(default=64, metadata={"min": 1})
    pinn_depth: int = field(default=3, metadata={"min": 1})
    n_interior: int = field(default=3000, metadata={"min": 1})
    n_boundary: int = field(default=750, metadata={"min": 1})
    resample_every: int = field(default=1, metadata={"min": 0})  # 0: fixed collocation points
    steps: int = field(default=5000, metadata={"min": 0})  # Adam steps; 0 goes straight to L-BFGS
    lbfgs_steps: int = field(default=0, metadata={"min": 0})
    # the tanh PINN baseline's Adam lr: the best of a sweep at quick size (module docstring)
    lr: float = field(default=1e-2, metadata={"gt": 0.0})
    pig_lr: float = field(default=1e-2, metadata={"gt": 0.0})
    scheduler: str = field(default="cosine", metadata={"choices_from": "basiskit.train.loop:SCHEDULERS"})
    eval_every: int = field(default=500, metadata={"min": 0})

    def validate(self) -> None:
        """Some training happens."""
        if self.steps + self.lbfgs_steps < 1:
            raise ValueError("steps + lbfgs_steps must be >= 1 (Adam steps, then L-BFGS steps), got 0 + 0")


QUICK = {"n_gaussians": 300, "n_interior": 1000, "n_boundary": 250, "steps": 2000, "eval_every": 400}


def build_model(name: str, cfg: PigConfig, ctx: RunContext) -> PhysicsModel:
    """``"pig"`` (Gaussian features + a one-hidden-layer tanh MLP) or the baseline ``"pinn"`` (a tanh MLP), on
    the same collocation points (same sizes, ``ctx.seed``); the residual loss is divided by the source's mean
    square, so it starts at O(1) next to the boundary loss. Weights come from torch's global generator, which the
    run context seeds; the recipe builds the baseline first, so ``tools/physics_lr_sweep.py`` trains the very
    same baseline."""
    problem = create("helmholtz2d", a1=cfg.a1, a2=cfg.a2)
    common = dict(n_interior=cfg.n_interior, n_boundary=cfg.n_boundary, resample_every=cfg.resample_every,
                  weights={"residual": 1.0 / residual_scale(problem)}, seed=ctx.seed)
    if name == "pig":
        return PIG(problem, cfg.n_gaussians, cfg.channels, hidden=(cfg.pig_hidden,), layout=cfg.layout,
                   scale_param=cfg.scale_param, init_scale=cfg.init_scale, init_weight=cfg.init_weight, **common)
    if name == "pinn":
        return PINN(problem, MLP([2] + [cfg.pinn_width] * cfg.pinn_depth + [1]), **common)
    raise ValueError(f"name must be 'pig' or 'pinn', got {name!r}")


def train_model(model: PhysicsModel, name: str, cfg: PigConfig, ctx: RunContext | None,
                lr: float) -> list[dict[str, float]]:
    """The budget both models get: ``steps`` Adam steps at ``lr`` (``scheduler``), then ``lbfgs_steps`` L-BFGS."""
    return train_physics(model, steps=cfg.steps, lr=lr, lbfgs_steps=cfg.lbfgs_steps, scheduler=cfg.scheduler,
                         ctx=ctx, name=name, eval_every=cfg.eval_every)


@recipe("pig", paper="Kang et al. 2024, PIG: Physics-Informed Gaussians",
        summary="helmholtz2d(4, 1): trainable Gaussian features vs tanh PINN at the same steps",
        config=PigConfig,
        quick=QUICK,
        claims=[Claim("pig_rel_l2", "<=", 1e-2, note="PIG, Adam with resampled collocation points",
                      paper=4.13e-5, paper_setting="Table 1, 2-D Helmholtz (a1, a2) = (1, 4), mean of 3 seeds"),
                Claim("pig_rel_l2", "<=", "pinn_best_rel_l2_during_training", scale=0.1,
                      note="ours (final iterate) <= baseline / 10, the baseline's best rel. L2 at any evaluation: "
                           "tanh PINN, same steps and points, its lr (lr) from a sweep; see "
                           "pinn_loss_change_last10 for how flat its loss was at the end")],
        tour=True)
def run(cfg: PigConfig, ctx: RunContext) -> dict:
    problem = create("helmholtz2d", a1=cfg.a1, a2=cfg.a2)
    pts, shape = problem.test_grid()
    exact = problem.solution(pts).reshape(shape)
    metrics: dict[str, float] = {}
    curves, fields = {}, {"exact": exact}
    for name, lr in (("pinn", cfg.lr), ("pig", cfg.pig_lr)):
        model = build_model(name, cfg, ctx)
        history = train_model(model, name, cfg, ctx, lr)
        figures, lines = training_summary(name, model, history)
        metrics.update(figures)
        curves.update(lines)
        metrics[f"{name}_train_steps"] = cfg.steps + cfg.lbfgs_steps
        pred = model.predict(pts).cpu().reshape(shape)
        fields[name] = pred
        fields[f"|error| {name}"] = (pred - exact).abs()
    metrics["pinn_lr"] = cfg.lr
    ctx.plot_curves("loss_curves", curves, ylabel="loss / rel. L2")
    ctx.plot_curves("baseline_loss", {"tanh PINN loss": curves["pinn loss"]},
                    title=f"baseline: loss change over the last 10% = {metrics['pinn_loss_change_last10']:.1%}")
    ctx.plot_fields("solutions", fields, extent=(-1, 1, -1, 1))
    return metrics
