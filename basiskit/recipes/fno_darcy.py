"""fno-darcy: FNO learns the 2-D Darcy flow map a -> u (Li et al. 2020, Fourier Neural Operator, sec. 5.2).

Data: ``basiskit.data.darcy`` (piecewise-constant coefficients 12/3 from a thresholded GRF, solved by finite
differences on a grid twice as fine and subsampled). Model: ``FNO`` with zero padding (the problem is not
periodic), trained on the relative L2 loss. ``--set peer=true`` also trains neuraloperator's FNO at the same
configuration, on the same samples, with the same optimiser, schedule, batch size and number of steps (the
mini-batch order follows each run's name), and compares.

Training, normalisation, evaluation and sample plots are the operator recipes' shared ones (``recipes._common``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import darcy
from ..measure import count_parameters
from ..operators import FNO
from ..train import RunContext
from ._common import peer_fno, plot_samples, predict, rel_l2, train_operator
from .core import Claim, recipe


@dataclass
class FnoDarcyConfig:
    n_train: int = field(default=1000, metadata={"min": 1})
    n_test: int = field(default=200, metadata={"min": 1})
    resolution: int = field(default=64, metadata={"min": 3})
    modes: int = field(default=12, metadata={"min": 1})
    width: int = field(default=32, metadata={"min": 1})
    layers: int = field(default=4, metadata={"min": 1})
    padding: float = field(default=0.125, metadata={"min": 0.0})  # fraction of the grid added on each side
    steps: int = field(default=10000, metadata={"min": 1})
    batch_size: int = field(default=16, metadata={"min": 1})
    lr: float = field(default=2e-3, metadata={"gt": 0.0})
    weight_decay: float = field(default=1e-4, metadata={"min": 0.0})
    peer: bool = False
    workers: int = field(default=1, metadata={"min": 1})


def _claims(cfg: FnoDarcyConfig) -> list[Claim]:
    claims = [Claim("rel_l2", "<", 5e-2, note="held-out relative L2 (FNO paper: ~1e-2 at 85x85, 1000 samples)",
                    paper=0.0108, paper_setting="Darcy benchmark table, FNO-2D at s=85, 1000 training samples")]
    if cfg.peer:
        claims.append(Claim("rel_l2", "<=", "peer_rel_l2", scale=1.1,
                            note="within 10% of neuraloperator's FNO trained the same way on the same samples"))
    return claims


@recipe("fno-darcy", paper="Li et al. 2020, Fourier Neural Operator for Parametric PDEs",
        summary="FNO on 2-D Darcy flow (coefficient -> pressure), held-out relative L2",
        config=FnoDarcyConfig, claims=_claims, tour=True,
        quick={"n_train": 200, "n_test": 50, "resolution": 32, "modes": 8, "width": 16, "steps": 600,
               "batch_size": 10, "lr": 3e-3})
def run(cfg: FnoDarcyConfig, ctx: RunContext) -> dict:
    train, test = darcy(cfg.n_train, cfg.n_test, resolution=cfg.resolution, seed=ctx.seed, workers=cfg.workers)
    metrics: dict[str, Any] = {}
    torch.manual_seed(ctx.seed)
    fno = FNO((cfg.modes, cfg.modes), 1, 1, cfg.width, cfg.layers, padding=cfg.padding)
    model, result = train_operator(fno, train, test, ctx, "fno", steps=cfg.steps, batch_size=cfg.batch_size,
                                   lr=cfg.lr, weight_decay=cfg.weight_decay)
    metrics["rel_l2"] = rel_l2(model, test, ctx.device)
    metrics["train_rel_l2"] = result.final_loss
    metrics["n_params"] = count_parameters(fno)
    metrics["train_seconds"] = result.seconds
    curves: dict[str, Any] = {"FNO train": result.curve("loss"), "FNO test": result.curve("test_rel_l2")}
    if cfg.peer:
        torch.manual_seed(ctx.seed)
        peer = peer_fno(cfg)
        if peer is None:
            metrics["peer_skipped"] = "neuraloperator (neuralop) is not installed"
        else:
            peer_model, peer_result = train_operator(peer, train, test, ctx, "neuralop_fno", steps=cfg.steps,
                                                     batch_size=cfg.batch_size, lr=cfg.lr,
                                                     weight_decay=cfg.weight_decay)
            metrics["peer_rel_l2"] = rel_l2(peer_model, test, ctx.device)
            metrics["peer_n_params"] = count_parameters(peer)
            metrics["peer_train_seconds"] = peer_result.seconds
            curves.update({"neuralop train": peer_result.curve("loss"),
                           "neuralop test": peer_result.curve("test_rel_l2")})
    ctx.plot_curves("learning_curve", curves, ylabel="relative L2")
    plot_samples(ctx, "darcy", predict(model, test[0][:3], ctx.device), test[1], inputs=test[0],
                 input_label="coefficient a")
    return metrics

