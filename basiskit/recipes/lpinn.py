"""lpinn: Lagrangian PINN on strong convection (Mojgani, Balajewicz & Hassanzadeh 2023, "Kolmogorov n-width and
Lagrangian physics-informed neural networks").

u_t + 50 u_x = 0, periodic on [0, 2pi] x [0, 1], exact sin(x - 50 t). An Eulerian tanh PINN fails at this
convection speed (Krishnapriyan et al. 2021); the two-branch LPINN learns the characteristic x0 + 50 t and the
state along it. Both get the same optimizer steps, collocation points and branch widths.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import MLP
from ..physics import LPINN, PINN, train_physics, training_summary
from ..physics.problems import create
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class LpinnConfig:
    beta: float = field(default=50.0, metadata={"min": 0.0})
    width: int = field(default=64, metadata={"min": 1})
    depth: int = field(default=3, metadata={"min": 1})
    n_interior: int = field(default=4000, metadata={"min": 1})
    n_boundary: int = field(default=200, metadata={"min": 1})
    n_initial: int = field(default=400, metadata={"min": 1})
    resample_every: int = field(default=1, metadata={"min": 0})  # 0: fixed collocation points
    steps: int = field(default=3000, metadata={"min": 0})  # Adam steps; 0 goes straight to L-BFGS
    lbfgs_steps: int = field(default=50, metadata={"min": 0})
    lr: float = field(default=3e-3, metadata={"gt": 0.0})
    eval_every: int = field(default=250, metadata={"min": 0})

    def validate(self) -> None:
        """Some training happens."""
        if self.steps + self.lbfgs_steps < 1:
            raise ValueError("steps + lbfgs_steps must be >= 1 (Adam steps, then L-BFGS steps), got 0 + 0")


@recipe("lpinn", paper="Mojgani, Balajewicz & Hassanzadeh 2023, Lagrangian PINNs",
        summary="convection(50): Lagrangian two-branch PINN vs Eulerian PINN at the same budget",
        config=LpinnConfig,
        quick={"width": 32, "depth": 2, "n_interior": 1000, "n_boundary": 100, "n_initial": 200, "steps": 400,
               "lbfgs_steps": 10, "eval_every": 100},
        claims=[Claim("lpinn_rel_l2", "<=", 5e-2, note="two-branch Lagrangian network"),
                Claim("pinn_rel_l2", ">=", 0.5, note="Eulerian tanh PINN, same budget")],
        tour=True)
def run(cfg: LpinnConfig, ctx: RunContext) -> dict:
    problem = create("convection", beta=cfg.beta)
    hidden = [cfg.width] * cfg.depth
    common = dict(n_interior=cfg.n_interior, n_boundary=cfg.n_boundary, n_initial=cfg.n_initial,
                  resample_every=cfg.resample_every, seed=ctx.seed)
    models = {"lpinn": LPINN(problem, hidden=hidden, **common),
              "pinn": PINN(problem, MLP([2, *hidden, 1]), **common)}
    pts, shape = problem.test_grid()
    exact = problem.solution(pts).reshape(shape)
    extent = (*problem.space[0], *problem.time)
    metrics: dict[str, float] = {}
    curves, fields = {}, {"exact": exact}
    for name, model in models.items():
        history = train_physics(model, steps=cfg.steps, lr=cfg.lr, lbfgs_steps=cfg.lbfgs_steps, ctx=ctx,
                                name=name, eval_every=cfg.eval_every)
        figures, lines = training_summary(name, model, history)
        metrics.update(figures)
        curves.update(lines)
        pred = model.predict(pts).cpu().reshape(shape)
        fields[name] = pred
        fields[f"|error| {name}"] = (pred - exact).abs()
    ctx.plot_curves("loss_curves", curves, ylabel="loss / rel. L2")
    ctx.plot_fields("solutions", fields, extent=extent)
    return metrics
