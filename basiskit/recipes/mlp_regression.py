"""mlp-regression: an MLP fits sin(pi x) cos(pi y) on [-1, 1]^2.

The pipeline's end-to-end check and the baseline the KAN recipes compare against.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..losses import mse, rmse
from ..measure import count_parameters
from ..models import MLP
from ..train import RunContext, fit
from .core import Claim, recipe


@dataclass
class MlpRegressionConfig:
    n_train: int = field(default=2000, metadata={"min": 1})
    n_test: int = field(default=2500, metadata={"min": 1})  # rounded to a square grid
    width: int = field(default=64, metadata={"min": 1})
    depth: int = field(default=3, metadata={"min": 1})
    activation: str = field(default="tanh", metadata={"choices_from": "basiskit.nn.activations:activation_names"})
    steps: int = field(default=10000, metadata={"min": 1})
    batch_size: int = field(default=256, metadata={"min": 1})
    lr: float = field(default=3e-3, metadata={"gt": 0.0})
    checkpoint_every: int = field(default=1000, metadata={"min": 0})


def target(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = sin(pi x) cos(pi y); xy: (n, 2) -> (n, 1)."""
    return (torch.sin(math.pi * xy[:, :1]) * torch.cos(math.pi * xy[:, 1:]))


@recipe("mlp-regression", paper="baseline (no paper): MLP function fitting",
        summary="MLP fits sin(pi x) cos(pi y) on [-1, 1]^2; test RMSE, learning curve",
        config=MlpRegressionConfig, quick={"n_train": 1000, "steps": 2000, "checkpoint_every": 500},
        claims=[Claim("test_rmse", "<", 3e-2, note="smooth 2-D target, Adam with cosine decay")], tour=True)
def run(cfg: MlpRegressionConfig, ctx: RunContext) -> dict:
    g = ctx.generator(1)
    x_train = torch.rand(cfg.n_train, 2, generator=g) * 2 - 1
    side = int(round(math.sqrt(cfg.n_test)))
    axis = torch.linspace(-1, 1, side)
    x_test = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    y_train, y_test = target(x_train), target(x_test)

    model = MLP([2] + [cfg.width] * cfg.depth + [1], activation=cfg.activation)
    result = fit(model, mse, (x_train, y_train), steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                 scheduler="cosine", checkpoint_every=cfg.checkpoint_every, ctx=ctx, name="mlp",
                 eval_fn=lambda m: {"test_rmse": rmse(m(x_test.to(ctx.device)).cpu(), y_test)},
                 eval_every=max(1, cfg.steps // 10))
    model.train(False)
    with torch.no_grad():
        pred = model(x_test.to(ctx.device)).cpu()
    test_rmse = rmse(pred, y_test)

    ctx.plot_curves("learning_curve", {"train loss (MSE)": result.curve("loss"),
                                       "test RMSE": result.curve("test_rmse")}, ylabel="value")
    ctx.plot_fields("prediction", {"prediction": pred.reshape(side, side), "truth": y_test.reshape(side, side),
                                   "|error|": (pred - y_test).abs().reshape(side, side)},
                    extent=(-1, 1, -1, 1))
    n_params = count_parameters(model)
    return {"test_rmse": test_rmse, "train_loss": result.final_loss, "n_params": n_params,
            "train_seconds": result.seconds}
