"""pig: physics-informed Gaussians on 2-D Helmholtz (Kang et al. 2024, "PIG: Physics-Informed Gaussians as
Adaptive Parametric Mesh Representations").

u_xx + u_yy + u = q on [-1, 1]^2 with exact sin(4 pi y) sin(pi x). PIG (trainable Gaussian features, closed-form
derivatives, a small MLP) against a tanh MLP PINN with the same optimizer steps and collocation points.
The paper reports rel. L2 4.1e-5 (L-BFGS, many more Gaussians); the full config here is a smaller version.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..models import MLP
from ..physics import PIG, PINN, train_physics
from ..physics.problems import create
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class PigConfig:
    a1: float = 4.0
    a2: float = 1.0
    n_gaussians: int = 1600
    channels: int = 4
    pig_hidden: int = 16
    init_scale: float = 0.1
    pinn_width: int = 64
    pinn_depth: int = 3
    n_interior: int = 4000
    n_boundary: int = 800
    resample_every: int = 1
    steps: int = 2000
    lbfgs_steps: int = 100
    lr: float = 1e-3
    pig_lr: float = 1e-2
    eval_every: int = 200


@recipe("pig", paper="Kang et al. 2024, PIG: Physics-Informed Gaussians",
        summary="helmholtz2d(4, 1): trainable Gaussian features vs tanh PINN at the same steps",
        config=PigConfig,
        quick={"n_gaussians": 300, "n_interior": 800, "n_boundary": 200, "steps": 200, "lbfgs_steps": 15,
               "eval_every": 50},
        claims=[Claim("pig_rel_l2", "<=", 1e-2, note="PIG, Adam then L-BFGS"),
                Claim("pinn_rel_l2", ">=", 1e-1, note="tanh PINN, same steps and points")],
        tour=True)
def run(cfg: PigConfig, ctx: RunContext) -> dict:
    problem = create("helmholtz2d", a1=cfg.a1, a2=cfg.a2)
    common = dict(n_interior=cfg.n_interior, n_boundary=cfg.n_boundary, resample_every=cfg.resample_every,
                  seed=ctx.seed)
    models = {"pig": (PIG(problem, cfg.n_gaussians, cfg.channels, hidden=(cfg.pig_hidden,),
                          init_scale=cfg.init_scale, **common), cfg.pig_lr),
              "pinn": (PINN(problem, MLP([2] + [cfg.pinn_width] * cfg.pinn_depth + [1]), **common), cfg.lr)}
    pts, shape = problem.test_grid()
    exact = problem.solution(pts).reshape(shape)
    metrics: dict[str, float] = {}
    curves, fields = {}, {"exact": exact}
    for name, (model, lr) in models.items():
        history = train_physics(model, steps=cfg.steps, lr=lr, lbfgs_steps=cfg.lbfgs_steps, ctx=ctx, name=name,
                                eval_every=cfg.eval_every)
        metrics[f"{name}_rel_l2"] = model.relative_l2()
        evals = [r["rel_l2"] for r in history if "rel_l2" in r]
        metrics[f"{name}_best_rel_l2_during_training"] = min(evals) if evals else float("nan")
        metrics[f"{name}_n_params"] = sum(p.numel() for p in model.parameters())
        metrics[f"{name}_train_steps"] = cfg.steps + cfg.lbfgs_steps
        curves[f"{name} loss"] = ([r["step"] for r in history if "loss" in r],
                                  [r["loss"] for r in history if "loss" in r])
        curves[f"{name} rel. L2"] = ([r["step"] for r in history if "rel_l2" in r], evals)
        pred = model.predict(pts).cpu().reshape(shape)
        fields[name] = pred
        fields[f"|error| {name}"] = (pred - exact).abs()
    ctx.plot_curves("loss_curves", curves, ylabel="loss / rel. L2")
    ctx.plot_fields("solutions", fields, extent=(-1, 1, -1, 1))
    return metrics
