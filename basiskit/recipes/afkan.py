"""afkan: MLP vs ReLU-KAN vs B-spline KAN vs AF-KAN on 5,000 MNIST digits at matched parameter counts.

Ta & Tran (2025) report that AF-KAN beats MLP, ReLU-KAN and other KANs at equal parameters, at the price of
longer training. All networks here are 784-h-10 with the MLP's h = 64; AF-KAN has about an MLP's parameters at
the same widths, and the ReLU-KAN and B-spline KAN hidden widths are the ones whose totals come closest to the
MLP's (each within 10%). Same data, steps, optimizer and batch for all; training time is reported as a ratio to
the MLP's, measured in the same process.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..data import create as create_dataset
from ..measure import accuracy, count_parameters, match_width
from ..models import MLP
from ..nn import AFKANLinear, ReLUKANLinear
from ..train import RunContext, fit
from .core import Claim, recipe


@dataclass
class AfkanConfig:
    hidden: int = field(default=64, metadata={"min": 1})
    grid_size: int = field(default=3, metadata={"min": 1})
    order: int = field(default=3, metadata={"min": 0})
    steps: int = field(default=3000, metadata={"min": 1})
    batch_size: int = field(default=64, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"gt": 0.0})
    n_train: int = field(default=4000, metadata={"min": 1, "max": 4000})  # mnist5k has 4000 training digits
    checkpoint_every: int = field(default=1000, metadata={"min": 0})


def builders(cfg: AfkanConfig) -> dict[str, Callable[[int], nn.Module]]:
    from ..nn import KAN

    g, k = cfg.grid_size, cfg.order
    return {
        "mlp": lambda h: MLP([784, h, 10], activation="silu"),
        # ReLU-KAN's bumps live on [0, 1]: a sigmoid brings the hidden layer back into that domain
        "relu_kan": lambda h: nn.Sequential(ReLUKANLinear(784, h, g, k), nn.Sigmoid(), ReLUKANLinear(h, 10, g, k)),
        "bspline_kan": lambda h: KAN([784, h, 10], basis="bspline", grid_size=5, order=3),
        "af_kan": lambda h: nn.Sequential(AFKANLinear(784, h, grid_size=g, order=k),
                                          AFKANLinear(h, 10, grid_size=g, order=k)),
    }


@recipe("afkan", paper="Ta & Tran 2025, AF-KAN: activation function-based Kolmogorov-Arnold networks",
        summary="MLP vs ReLU-KAN vs B-spline KAN vs AF-KAN (784-h-10, matched params) on MNIST-5k; time ratios",
        config=AfkanConfig, quick={"steps": 300, "batch_size": 64, "n_train": 4000, "checkpoint_every": 0},
        claims=[Claim("af_kan_acc", ">=", "mlp_acc", note="paper: AF-KAN beats MLP at equal parameters"),
                Claim("af_kan_time_ratio", ">", 1.0, note="paper: AF-KAN trains slower than an MLP")],
        tour=True)
def run(cfg: AfkanConfig, ctx: RunContext) -> dict:
    (x_train, y_train), (x_test, y_test) = create_dataset("mnist5k", seed=ctx.seed)
    x_train, y_train = x_train[:cfg.n_train].reshape(-1, 784), y_train[:cfg.n_train]
    x_test = x_test.reshape(-1, 784)

    build = builders(cfg)
    target = count_parameters(build["mlp"](cfg.hidden))
    metrics: dict[str, float] = {"mlp_params": target}
    curves: dict[str, tuple] = {}
    for i, (name, make) in enumerate(build.items()):
        width = cfg.hidden if name in ("mlp", "af_kan") else match_width(make, target, range(1, 257))[0]
        torch.manual_seed(ctx.seed * 100 + i)
        model = make(width)
        result = fit(model, F.cross_entropy, (x_train, y_train), steps=cfg.steps, batch_size=cfg.batch_size,
                     lr=cfg.lr, scheduler="cosine", checkpoint_every=cfg.checkpoint_every, ctx=ctx, name=name)
        metrics[f"{name}_acc"] = accuracy(model, x_test, y_test, device=ctx.device)
        metrics[f"{name}_params"] = count_parameters(model)
        metrics[f"{name}_hidden"] = width
        metrics[f"{name}_param_ratio"] = count_parameters(model) / target
        metrics[f"{name}_train_seconds"] = result.seconds
        curves[name] = result.curve("loss")
    for name in build:
        metrics[f"{name}_time_ratio"] = metrics[f"{name}_train_seconds"] / metrics["mlp_train_seconds"]
    ctx.plot_curves("train_loss", curves, xlabel="step", ylabel="train cross-entropy")
    return metrics
