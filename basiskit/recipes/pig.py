"""pig: physics-informed Gaussians on 2-D Helmholtz (Kang et al. 2024, "PIG: Physics-Informed Gaussians as
Adaptive Parametric Mesh Representations").

u_xx + u_yy + u = q on [-1, 1]^2 with exact sin(4 pi y) sin(pi x). PIG (trainable Gaussian features, closed-form
derivatives, a small MLP) against a tanh MLP PINN with the same optimizer steps and collocation points.
The paper's figure for this problem is 4.13e-5 +- 2.59e-5 (its Table 1, Helmholtz with (a1, a2) = (1, 4), i.e.
sin(pi x) sin(4 pi y): mean over seeds 100, 200, 300; best 2.22e-5, the figure on the authors' project page), set as
``Claim.paper`` on the accuracy claim; the authors' released setting (helmholtz2d_pig.sh) is 800
Gaussians x 4 channels, one hidden layer of 16, sigma_init 0.1, 10,000 collocation points resampled every step,
60,000 Adam steps at lr 1e-2 decayed by 0.9995 per step: with the compiled jets 0.17-0.19 s per PIG step and
0.10 s per PINN step here (one thread), about 5 h for both, not run. The full config here is
a smaller version (1,000 Gaussians, 3,000 points, 5,000 steps): PIG 8.65e-4 against the tanh PINN's best 1.00,
both claims met (28 min wall, 1 thread, docs/runs/pig/full).

Claims: PIG's rel. L2 <= 1e-2, and PIG <= baseline / 10 (a comparison, not "the baseline fails"), the
baseline's figure being the best rel. L2 it reached at any periodic evaluation. The baseline's Adam lr (``lr``)
is the best of a sweep at quick size (``tools/physics_lr_sweep.py pig --lrs 3e-4 1e-3 3e-3 1e-2 --quick``,
docs/runs/pig/lr_sweep/quick.json): the tanh PINN stays at the trivial field at every lr (rel. L2 1.00, loss
1.02, flat: it moves < 1% over the last 10% of the steps; 0.9994 / 1.001 / 1.000 / 1.002 at the four lrs, 3e-4
chosen): any field its spectral bias lets it make is nearly orthogonal to q = -(17 pi^2 - 1) u, so no such field
brings the residual loss below that of u = 0. The ratio's margin is 3x (PIG 0.033 against 0.1).
The accuracy claim is **not met at quick size** (0.033 against 1e-2), after trying, at quick size (300
Gaussians, 1,000 interior + 250 boundary points, 1,000 Adam steps, exponential decay to 1%), final rel. L2:
PIG lr 2.5e-3 / 5e-3 / 1e-2 / 2e-2: 0.140 / 0.085 / 0.033 / 0.118; 1,500 steps at 1e-2: 0.042 (0.031 at step
374: the error rises again while the loss falls); fixed instead of resampled points: 0.060; 20 L-BFGS steps
after Adam on 2,000 + 500 frozen points: the test error rose from 0.076 to 0.178 (before issue 12, on 1,000
points: 0.07 -> 0.22), the Gaussians fit the points (2,400 Gaussian parameters against 2,500 points); 3,000
interior points x 500 steps: 0.057.
The error falls with size (600 Gaussians, 2,000 points, 2,000 steps: 1.8e-2) but depends on the seed as
much: 450 Gaussians, 1,500 points, 3,000 Adam steps give 1.9e-3 at seed 0 and 4.8e-2 at seed 1, and Adam then
L-BFGS on 12,000 frozen points 0.006 / 0.004 / 0.034 at seeds 0 / 1 / 2. The error is the lowest Dirichlet mode
of Laplacian + 1 (eigenvalue -3.9 against the solution's -167: ~1,800x cheaper in the residual loss per unit
amplitude), which the optimiser trades against the residual the Gaussians cannot yet remove (docs/physics.md
has the table). The claim is kept at the paper's scale of accuracy and reported not met at the minute-sized
run rather than met by a seed's luck. L-BFGS on frozen points lets the
Gaussians overfit them, so the default trains with Adam on points resampled every step, as the authors' code
does; ``lbfgs_steps`` turns L-BFGS on.
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
    n_gaussians: int = field(default=1000, metadata={"min": 1})
    channels: int = field(default=4, metadata={"min": 1})
    pig_hidden: int = field(default=16, metadata={"min": 1})
    init_scale: float = field(default=0.1, metadata={"gt": 0.0})
    pinn_width: int = field(default=64, metadata={"min": 1})
    pinn_depth: int = field(default=3, metadata={"min": 1})
    n_interior: int = field(default=3000, metadata={"min": 1})
    n_boundary: int = field(default=750, metadata={"min": 1})
    resample_every: int = field(default=1, metadata={"min": 0})  # 0: fixed collocation points
    steps: int = field(default=5000, metadata={"min": 0})  # Adam steps; 0 goes straight to L-BFGS
    lbfgs_steps: int = field(default=0, metadata={"min": 0})
    # the tanh PINN baseline's Adam lr: the best of a sweep at quick size (module docstring; all within 0.3%)
    lr: float = field(default=3e-4, metadata={"gt": 0.0})
    pig_lr: float = field(default=1e-2, metadata={"gt": 0.0})
    scheduler: str = field(default="exponential", metadata={"choices_from": "basiskit.train.loop:SCHEDULERS"})
    eval_every: int = field(default=500, metadata={"min": 0})

    def validate(self) -> None:
        """Some training happens."""
        if self.steps + self.lbfgs_steps < 1:
            raise ValueError("steps + lbfgs_steps must be >= 1 (Adam steps, then L-BFGS steps), got 0 + 0")


QUICK = {"n_gaussians": 300, "n_interior": 1000, "n_boundary": 250, "steps": 1000, "eval_every": 200}


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
        return PIG(problem, cfg.n_gaussians, cfg.channels, hidden=(cfg.pig_hidden,), init_scale=cfg.init_scale,
                   **common)
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
