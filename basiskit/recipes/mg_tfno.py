"""mg-tfno: tensorised and multi-grid FNOs on 2-D Darcy flow (Kossaifi et al. 2023, Multi-Grid Tensorized
Fourier Neural Operator for High-Resolution PDEs).

Three operators trained the same way (same data, steps, batch size, optimiser) on ``basiskit.data.darcy``:
the dense ``FNO``; ``TFNO`` with Tucker-factorised spectral weights keeping a fraction ``rank`` of their
parameters; ``MGTFNO``, the TFNO applied patch-wise with coarser context levels and a halo of
``patch_padding`` (fraction of the grid per side) from the neighbouring patches, cropped before stitching.
Claims: the TFNO has at least 8x fewer parameters with at most 1.3x the FNO's error; multi-grid patching costs
at most 1.3x the FNO's error too. ``spectral_param_ratio`` is the ratio of the Fourier-layer weights alone
(the lifting, projection, skip and channel-MLP layers are dense in both models).

``joint_factorization`` (off by default, as in neuraloperator 2.x) factorises all layers' spectral weights as
one tensor, the paper's global factorisation. ``patch_padding = 0.078125`` is the value neuraloperator's
Navier-Stokes config names next to its multi-grid ``levels: 1`` switch (``config/navier_stokes_config.yaml``:
``padding: 0 #0.078125``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import darcy
from ..measure import count_parameters
from ..operators import FNO, MGTFNO, TFNO
from ..train import RunContext
from ._common import plot_samples, predict, rel_l2, train_operator
from .core import Claim, recipe


@dataclass
class MgTfnoConfig:
    n_train: int = field(default=1000, metadata={"min": 1})
    n_test: int = field(default=200, metadata={"min": 1})
    resolution: int = field(default=64, metadata={"min": 3})
    modes: int = field(default=12, metadata={"min": 1})
    width: int = field(default=32, metadata={"min": 1})
    layers: int = field(default=4, metadata={"min": 1})
    padding: float = field(default=0.125, metadata={"min": 0.0})  # fraction of the grid added on each side
    factorization: str = field(default="tucker", metadata={"choices": ("tucker", "cp", "tt")})
    rank: float = field(default=0.1, metadata={"gt": 0.0})  # fraction of the dense weight's parameters
    joint_factorization: bool = False
    n_patches: int = field(default=2, metadata={"min": 1})
    levels: int = field(default=1, metadata={"min": 0})
    patch_padding: float = field(default=0.078125, metadata={"min": 0.0, "max": 0.45})
    steps: int = field(default=10000, metadata={"min": 1})
    batch_size: int = field(default=16, metadata={"min": 1})
    lr: float = field(default=2e-3, metadata={"gt": 0.0})
    weight_decay: float = field(default=1e-4, metadata={"min": 0.0})
    workers: int = field(default=1, metadata={"min": 1})

    def validate(self) -> None:
        """The grid is cut into n_patches equal patches per side, each halved ``levels`` times for context."""
        if self.resolution % self.n_patches:
            raise ValueError(f"n_patches ({self.n_patches}) must divide resolution ({self.resolution})")
        patch = self.resolution // self.n_patches
        if self.levels and patch % 2 ** self.levels:
            raise ValueError(f"the patch side resolution / n_patches ({patch}) must be divisible by 2**levels "
                             f"({2 ** self.levels})")


@recipe("mg-tfno", paper="Kossaifi et al. 2023, Multi-Grid Tensorized Fourier Neural Operator",
        summary="FNO vs Tucker-TFNO vs multi-grid TFNO on 2-D Darcy: parameters and held-out relative L2",
        config=MgTfnoConfig, tour=True,
        quick={"n_train": 200, "n_test": 50, "resolution": 32, "modes": 8, "width": 16, "steps": 400,
               "batch_size": 10, "lr": 3e-3},
        claims=[Claim("param_ratio", ">=", 8.0, note="FNO parameters / TFNO parameters"),
                Claim("tfno_rel_l2", "<=", "fno_rel_l2", scale=1.3),
                Claim("mg_tfno_rel_l2", "<=", "fno_rel_l2", scale=1.3,
                      note="multi-grid patches with coarse context vs the unpatched dense FNO")])
def run(cfg: MgTfnoConfig, ctx: RunContext) -> dict:
    train, test = darcy(cfg.n_train, cfg.n_test, resolution=cfg.resolution, seed=ctx.seed, workers=cfg.workers)
    modes = (cfg.modes, cfg.modes)
    builders = {
        "fno": lambda: FNO(modes, 1, 1, cfg.width, cfg.layers, padding=cfg.padding),
        "tfno": lambda: TFNO(modes, 1, 1, cfg.width, cfg.layers, padding=cfg.padding,
                             factorization=cfg.factorization, rank=cfg.rank,
                             joint_factorization=cfg.joint_factorization),
        "mg_tfno": lambda: MGTFNO(modes, 1, 1, cfg.width, cfg.layers, n_patches=cfg.n_patches, levels=cfg.levels,
                                  padding_mode="reflect", patch_padding=cfg.patch_padding, padding=cfg.padding,
                                  factorization=cfg.factorization, rank=cfg.rank,
                                  joint_factorization=cfg.joint_factorization),
    }
    metrics: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    models = {}
    for name, build in builders.items():
        torch.manual_seed(ctx.seed)
        op = build()
        model, result = train_operator(op, train, test, ctx, name, steps=cfg.steps, batch_size=cfg.batch_size,
                                       lr=cfg.lr, weight_decay=cfg.weight_decay)
        metrics[f"{name}_rel_l2"] = rel_l2(model, test, ctx.device)
        metrics[f"{name}_n_params"] = count_parameters(op)
        metrics[f"{name}_spectral_params"] = sum(p.numel() for key, p in op.named_parameters()
                                                 if ".convs." in key or "joint_weights." in key)
        metrics[f"{name}_train_seconds"] = result.seconds
        curves[f"{name} test"] = result.curve("test_rel_l2")
        models[name] = model
    metrics["param_ratio"] = metrics["fno_n_params"] / metrics["tfno_n_params"]
    metrics["spectral_param_ratio"] = metrics["fno_spectral_params"] / metrics["tfno_spectral_params"]
    ctx.plot_curves("learning_curves", curves, ylabel="held-out relative L2")
    for name, model in models.items():
        plot_samples(ctx, name, predict(model, test[0][:2], ctx.device), test[1], n=2, inputs=test[0],
                     input_label="coefficient a")
    return metrics
