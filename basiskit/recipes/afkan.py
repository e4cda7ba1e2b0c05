"""afkan: MLP vs ReLU-KAN vs B-spline KAN vs AF-KAN on 5,000 MNIST digits at matched parameter counts.

Ta & Tran (2025) report that AF-KAN beats MLP, ReLU-KAN and other KANs at equal parameters, at the price of
longer training ("AF-KAN requires a longer training time and consumes more FLOPs"; the paper states the cost
qualitatively, so the time ratios here are reported, not claimed). All networks are 784-h-10 with the MLP's
h = 64; AF-KAN has about an MLP's parameters at the same widths, and the ReLU-KAN and B-spline KAN hidden widths
are the ones whose totals come closest to the MLP's (each within 10%). Same data, steps, optimizer, schedule and
batch for all.

Each model gets its best chance: it is trained once per learning rate in ``cfg.lr`` (Adam, cosine decay, the
same initial weights at every rate) and keeps the rate with the best accuracy on ``n_val`` = 500 validation
digits held out of mnist5k's 4000 training digits (the other 3500 train); its test accuracy (1000 digits) is
reported at that rate. The grid 1e-3 .. 3e-2 brackets every model's best: at 300 steps the MLP peaks at 3e-2
and falls at 1e-1 (test 95.1 -> 88.0 with all 4000 digits), AF-KAN peaks at 1e-2 to 3e-2 and diverges at 1e-1,
ReLU-KAN diverges above 1e-3 and the B-spline KAN above 3e-3 (their validation accuracy drops to chance).

Quick size: 300 steps of batch 64 (24 s of CPU here). 300 steps is a trained budget for the tuned baseline,
not a cut-off one: the MLP at its best rate moves by 0.2 points between 300 and 1000 steps (95.1 at 3e-2 / 300
steps vs 94.9 at 1e-2 / 1000 steps, all 4000 digits), and its training loss ends at 0.02. At Adam's customary
1e-3 the MLP reaches only 88.7 at 300 steps, which is what the earlier single-rate claim compared against.

Claims and margins (quick, seed 0):

* ``af_kan_acc >= mlp_acc`` (the paper's headline): **not met**, 93.9 vs 94.0 - a tie within one test digit
  once the MLP's learning rate is tuned, so the sign of this difference is not stable across CPUs (or seeds).
  The same figures came out on one and on two threads. The reference code's two differences from
  ``AFKANLinear``'s defaults, tried (2026-12-07): no final bias 93.6, whole-batch normalisation 93.4. At the full
  size (3000 steps) it is not met either: 94.2 vs 94.9 (docs/runs/afkan/full/, docs/attention-tabular.md).
* ``af_kan_acc >= relu_kan_acc`` (AF-KAN against the ReLU-KAN it extends): met, 93.9 vs 84.0, a 9.9-point
  margin, far beyond what a change of CPU moves (tenths of a point).

Paper figure: none set. The paper's accuracies are for models trained on all 60,000 MNIST / Fashion-MNIST
training images at its own widths and epochs; its tables could not be read from here (only its abstract), so no
figure for ``af_kan_acc`` is verified and ``paper=`` is unset.
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
from ..train import FitResult, RunContext, fit
from ._common import best_lr
from .core import Claim, recipe

MNIST5K_TRAIN = 4000  # training digits in mnist5k; n_train + n_val of them are used


@dataclass
class AfkanConfig:
    hidden: int = field(default=64, metadata={"min": 1})
    grid_size: int = field(default=3, metadata={"min": 1})
    order: int = field(default=3, metadata={"min": 0})
    steps: int = field(default=3000, metadata={"min": 1})
    batch_size: int = field(default=64, metadata={"min": 1})
    # learning rates tried for every model (one value: no sweep); each keeps its best on the validation digits
    lr: tuple[float, ...] = field(default=(1e-3, 3e-3, 1e-2, 3e-2), metadata={"gt": 0.0, "min_len": 1})
    n_train: int = field(default=3500, metadata={"min": 1, "max": MNIST5K_TRAIN - 1})
    n_val: int = field(default=500, metadata={"min": 1, "max": MNIST5K_TRAIN - 1})
    checkpoint_every: int = field(default=1000, metadata={"min": 0})

    def validate(self) -> None:
        """Training and validation digits come from mnist5k's 4000 training digits and do not overlap."""
        if self.n_train + self.n_val > MNIST5K_TRAIN:
            raise ValueError(f"n_train + n_val ({self.n_train} + {self.n_val}) must be <= {MNIST5K_TRAIN}, "
                             f"the training digits of mnist5k")


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
        config=AfkanConfig, quick={"steps": 300, "batch_size": 64, "checkpoint_every": 0},
        claims=[Claim("af_kan_acc", ">=", "mlp_acc",
                      note="paper: AF-KAN beats MLP at equal parameters; each at its best learning rate"),
                Claim("af_kan_acc", ">=", "relu_kan_acc",
                      note="paper: AF-KAN beats ReLU-KAN, the KAN it extends, at equal parameters")],
        tour=True)
def run(cfg: AfkanConfig, ctx: RunContext) -> dict:
    (x_train, y_train), (x_test, y_test) = create_dataset("mnist5k", seed=ctx.seed)
    x_train = x_train.reshape(-1, 784)
    # mnist5k shuffles its training digits with the seed, so the last n_val of them are a random validation set
    x_val, y_val = x_train[-cfg.n_val:], y_train[-cfg.n_val:]
    x_train, y_train = x_train[:cfg.n_train], y_train[:cfg.n_train]
    x_test = x_test.reshape(-1, 784)

    build = builders(cfg)
    target = count_parameters(build["mlp"](cfg.hidden))
    metrics: dict[str, float] = {"mlp_params": target}
    curves: dict[str, tuple] = {}
    for i, (name, make) in enumerate(build.items()):
        width = cfg.hidden if name in ("mlp", "af_kan") else match_width(make, target, range(1, 257))[0]
        def train(lr: float, i: int = i, make: Callable[[int], nn.Module] = make, width: int = width,
                  name: str = name) -> tuple[nn.Module, FitResult]:
            torch.manual_seed(ctx.seed * 100 + i)  # the same initial weights at every rate
            model = make(width)
            return model, fit(model, F.cross_entropy, (x_train, y_train), steps=cfg.steps,
                              batch_size=cfg.batch_size, lr=lr, scheduler="cosine",
                              checkpoint_every=cfg.checkpoint_every, ctx=ctx, name=f"{name}_lr{lr:g}")

        choice = best_lr(cfg.lr, train, lambda m: accuracy(m, x_val, y_val, device=ctx.device))
        metrics.update({f"{name}_val_acc_lr{lr:g}": v for lr, v in choice.scores.items()})
        lr, model, result = choice.lr, choice.model, choice.result
        losses = result.curve("loss")[1]
        tail = losses[-max(1, len(losses) // 10):]
        metrics[f"{name}_acc"] = accuracy(model, x_test, y_test, device=ctx.device)
        metrics[f"{name}_lr"] = lr
        metrics[f"{name}_final_loss"] = sum(tail) / len(tail)  # mean training loss over the last tenth
        metrics[f"{name}_params"] = count_parameters(model)
        metrics[f"{name}_hidden"] = width
        metrics[f"{name}_param_ratio"] = count_parameters(model) / target
        metrics[f"{name}_train_seconds"] = result.seconds
        curves[f"{name} (lr {lr:g})"] = result.curve("loss")
    for name in build:
        metrics[f"{name}_time_ratio"] = metrics[f"{name}_train_seconds"] / metrics["mlp_train_seconds"]
    ctx.plot_curves("train_loss", curves, xlabel="step", ylabel="train cross-entropy")
    return metrics
