"""kan-scaling: test RMSE against grid size for a smooth 1-D target (Liu et al. 2024, "KAN:
Kolmogorov-Arnold Networks", section 2.3 / figure 2.3: approximation theory predicts RMSE ~ G^-(k+1), i.e.
slope -4 on a log-log plot for cubic splines).

A [1, 1] KAN (one edge: cubic spline + SiLU base) is trained by LBFGS with grid extension through the grid
sizes; the log-log slope of test RMSE against grid size is fitted by least squares.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..losses import mse, rmse
from ..nn import KAN
from ..train import RunContext, fit
from ._common import lbfgs_fit_options
from .core import Claim, recipe


@dataclass
class KanScalingConfig:
    n_train: int = field(default=2000, metadata={"min": 1})
    n_test: int = field(default=4000, metadata={"min": 2})
    # the slope is fitted through at least two grid sizes
    grids: tuple[int, ...] = field(default=(4, 8, 16, 32, 64), metadata={"min": 1, "min_len": 2})
    order: int = field(default=3, metadata={"min": 0})
    steps_per_grid: int = field(default=20, metadata={"min": 1})
    lbfgs_iters: int = field(default=20, metadata={"min": 1})
    dtype: str = field(default="float64", metadata={"choices": ("float32", "float64")})

    def validate(self) -> None:
        """Grid extension goes to ever finer grids."""
        if any(b <= a for a, b in zip(self.grids[:-1], self.grids[1:])):
            raise ValueError(f"grids must increase (each stage extends the grid), got {self.grids}")


def target(x: torch.Tensor) -> torch.Tensor:
    """f(x) = sin(pi x) + 0.5 cos(3 x) exp(x / 2), smooth on [-1, 1]; x: (n, 1) -> (n, 1)."""
    return torch.sin(math.pi * x) + 0.5 * torch.cos(3 * x) * torch.exp(x / 2)


def loglog_slope(grids: list[int], errors: list[float]) -> float:
    """Least-squares slope of log(error) against log(grid)."""
    lx = torch.log(torch.tensor(grids, dtype=torch.float64))
    ly = torch.log(torch.tensor(errors, dtype=torch.float64))
    lx = lx - lx.mean()
    return float((lx * (ly - ly.mean())).sum() / (lx * lx).sum())


@recipe("kan-scaling", paper="Liu et al. 2024, KAN: Kolmogorov-Arnold Networks",
        summary="test RMSE vs grid size of a [1,1] KAN on a smooth 1-D target; log-log slope (theory -4)",
        config=KanScalingConfig, quick={"grids": (4, 8, 16, 32), "steps_per_grid": 10, "n_train": 1000},
        claims=[Claim("slope", "<=", -3.0, note="fitted log-log slope of test RMSE vs grid size; theory -(k+1) = -4",
                      paper=-4.0, paper_setting="Theorem 2.1 (eq. 2.13), bound C G^-(k+1-m) with m = 0, cubic k = 3")],
        tour=True)
def run(cfg: KanScalingConfig, ctx: RunContext) -> dict:
    dtype = getattr(torch, cfg.dtype)
    g = ctx.generator(1)
    x = torch.rand(cfg.n_train, 1, generator=g, dtype=dtype) * 2 - 1
    x_test = torch.linspace(-1, 1, cfg.n_test, dtype=dtype).unsqueeze(-1)
    y, y_test = target(x), target(x_test)
    opt = lbfgs_fit_options(cfg.lbfgs_iters)
    grids = list(cfg.grids)
    model = KAN([1, 1], grid_size=grids[0], order=cfg.order, dtype=dtype)
    errors = []
    for k, grid in enumerate(grids):
        if k:
            model.refine(grid, x)
        fit(model, mse, (x, y), steps=cfg.steps_per_grid, ctx=ctx, name=f"kan-g{grid}", **opt)
        with torch.no_grad():
            errors.append(rmse(model(x_test), y_test))
        ctx.log(phase="scaling", grid=grid, test_rmse=errors[-1])
    slope = loglog_slope(grids, errors)
    ref = [errors[0] * (grid / grids[0]) ** (-(cfg.order + 1)) for grid in grids]
    ctx.plot_curves("rmse_vs_grid", {"KAN [1, 1]": (grids, errors), f"G^-{cfg.order + 1} (theory)": (grids, ref)},
                    xlabel="grid size", ylabel="test RMSE", logx=True, markers=True)
    metrics = {"slope": slope, "theory_slope": -(cfg.order + 1.0)}
    for grid, err in zip(grids, errors):
        metrics[f"rmse_grid{grid}"] = err
    return metrics
