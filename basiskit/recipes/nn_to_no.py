"""nn-to-no: a U-Net and its function-space version trained on Darcy at 32x32 and 64x64, evaluated up to 128.

Berner et al. 2025, "Principled approaches for extending neural architectures to function spaces for operator
learning". The function-space U-Net's convolutions are ``InterpConv2d`` (kernels with a fixed physical support,
resampled to the input grid), its down-sampling averages and its up-sampling interpolates, so one set of weights
discretises one operator at every resolution; the plain U-Net's 3x3 kernels span fixed numbers of cells.

Data: the same coefficient fields at every resolution. Darcy is solved on 129 x 129 nodes (spacing 1/128); the
grids of 128, 64 and 32 points per side are every 1st, 2nd and 4th node with the last (boundary) node dropped,
so the grid spacing is 1 / resolution. Training samples come from the same fine solve subsampled to each
training grid.

Normalisation (``norm``, both networks alike so that only the convolutions differ): ``"layer"`` (default), each
sample's features standardised by their quadrature mean and variance over the domain and channels
(``basiskit.operators.QuadratureNorm``): nothing stored depends on the grid. Before, both used batch norm, whose
*running* statistics are estimated on 32-point features and applied unchanged at 128, where the features of a
piecewise-constant coefficient seen through kernels of fixed physical support have a different spread. Measured
at the quick size (seed 0, one thread; the figures are in ``docs/operators.md``): function-space U-Net error at
32 / 64 / 128 = 0.074 / 0.143 / 0.164 with batch norm, 0.069 / 0.095 / 0.109 with ``"layer"``; per-channel
quadrature statistics (``"instance"``) trained far worse (0.28 at 32), no normalisation gave 0.097 / 0.135 /
0.150. The 128 error falls by a third, but it still exceeds 1.5x the 32 error (1.58x). The rest of the cause is
the single training grid: trained on 32 only, the network learns features that exist only on that grid (a
smooth coefficient gives 0.0087 / 0.060 / 0.078, 8.9x; cell-averaged coarse inputs change nothing, 1.59x), and
seeing each field on two grids removes that freedom. So both networks train on 32 and 64 (``train_also``; each
mini-batch on one grid, ``data.MultiResolutionPairs``): function-space U-Net 0.078 / 0.078 / 0.083 at 32 / 64 /
128 (1.07x at the unseen 128; seed 1: 1.09x), plain U-Net 0.101 / 0.182 / 0.347. At full size
(docs/runs/nn-to-no/full, 28 min): 0.0137 / 0.0127 / 0.0189 (1.38x at 128) against the plain U-Net's 0.0183 /
0.0322 / 0.230. ``train_also=()`` trains on one grid as before (full size then: 0.013 / 0.058 / 0.076, 5.9x
at 128). docs/operators.md has the tables.

Claims are built from the config (``eval_resolutions``, ``train_resolution``, ``train_also``): for every
evaluation resolution r not trained on, the function-space U-Net's error at r is at most 1.5x its error at
``train_resolution`` (Berner et al.'s discretisation-agnostic operator: the error should not grow much with r)
and below the plain U-Net's error at r. The margin at quick size: 1.07x against 1.5 (29%); the U-Net
comparison by a factor of 4.2. Quick size: 96 training fields at 32x32 and 64x64, width 8, 200 AdamW steps at
3e-3 (cosine), about 40 s of CPU for both networks; the paper states no figure for this U-Net comparison on
Darcy, so no ``paper=`` is set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..data import MultiResolutionPairs, darcy
from ..measure import count_parameters
from ..operators import FunctionUNet, UNet
from ..train import RunContext
from ._common import plot_samples, predict, rel_l2, train_operator
from .core import Claim, recipe


@dataclass
class NnToNoConfig:
    n_train: int = field(default=1000, metadata={"min": 1})
    n_test: int = field(default=100, metadata={"min": 1})
    train_resolution: int = field(default=32, metadata={"min": 2})
    # more grids the same training fields are seen on (one grid per mini-batch); () trains on one grid only
    train_also: tuple[int, ...] = field(default=(64,), metadata={"min": 2})
    eval_resolutions: tuple[int, ...] = field(default=(64, 128), metadata={"min": 2})
    hidden_channels: int = field(default=16, metadata={"min": 1})
    levels: int = field(default=3, metadata={"min": 1})
    norm: str = field(default="layer", metadata={"choices": ("layer", "instance", "batch")})
    steps: int = field(default=4000, metadata={"min": 1})
    batch_size: int = field(default=20, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"gt": 0.0})
    weight_decay: float = field(default=1e-4, metadata={"min": 0.0})
    checkpoint_every: int = field(default=1000, metadata={"min": 0})

    def validate(self) -> None:
        """Every resolution divides the finest (the test fields are subsampled from it), and the U-Nets'
        levels halve each grid evenly."""
        resolutions = (self.train_resolution, *self.train_also, *self.eval_resolutions)
        finest, need = max(resolutions), 2 ** (self.levels - 1)
        for r in resolutions:
            if finest % r:
                raise ValueError(f"resolution {r} must divide the finest resolution {finest} (train_resolution="
                                 f"{self.train_resolution}, train_also={self.train_also}, "
                                 f"eval_resolutions={self.eval_resolutions})")
            if r % need:
                raise ValueError(f"resolution {r} must be divisible by 2**(levels-1) ({need}) "
                                 f"for levels={self.levels}")


def on_grid(field: torch.Tensor, resolution: int, finest: int) -> torch.Tensor:
    """Nodes of a (finest + 1)^2 grid -> the ``resolution``^2 grid of spacing 1/resolution (last node dropped).

    field: (batch, c, finest + 1, finest + 1) -> (batch, c, resolution, resolution); ``finest % resolution == 0``.
    """
    if finest % resolution:
        raise ValueError(f"resolution={resolution} must divide the finest resolution {finest}")
    step = finest // resolution
    return field[..., :-1:step, :-1:step]


def _claims(cfg: NnToNoConfig) -> list[Claim]:
    """One pair of claims per evaluation resolution the networks were not trained on."""
    train = cfg.train_resolution
    claims = []
    for r in sorted(set(cfg.eval_resolutions) - {train, *cfg.train_also}):
        claims.append(Claim(f"fs_unet_rel_l2_{r}", "<=", f"fs_unet_rel_l2_{train}", scale=1.5,
                            note=f"function-space U-Net keeps its accuracy at {r / train:g}x the training "
                                 "resolution"))
        claims.append(Claim(f"fs_unet_rel_l2_{r}", "<", f"unet_rel_l2_{r}",
                            note=f"and beats the plain U-Net at {r}"))
    return claims


@recipe("nn-to-no", paper="Berner et al. 2025, Principled approaches for extending neural architectures to "
                          "function spaces for operator learning",
        summary="U-Net vs function-space U-Net (InterpConv2d) trained on Darcy 32x32 and 64x64, evaluated at 128",
        config=NnToNoConfig,
        quick={"n_train": 96, "n_test": 16, "hidden_channels": 8, "steps": 200, "batch_size": 16, "lr": 3e-3,
               "checkpoint_every": 0},
        claims=_claims,
        tour=True)
def run(cfg: NnToNoConfig, ctx: RunContext) -> dict:
    finest = max((cfg.train_resolution, *cfg.train_also, *cfg.eval_resolutions))
    # training fields solved on the finest grid and subsampled; test fields at every resolution from one solve
    train_grids = [cfg.train_resolution, *sorted(set(cfg.train_also) - {cfg.train_resolution})]
    train_raw, _ = darcy(cfg.n_train, 1, finest + 1, seed=ctx.seed, refine=1)
    pairs = [(on_grid(train_raw[0], r, finest), on_grid(train_raw[1], r, finest)) for r in train_grids]
    train = pairs[0] if len(pairs) == 1 else MultiResolutionPairs(pairs)
    _, test_raw = darcy(1, cfg.n_test, finest + 1, seed=ctx.seed, refine=1)
    resolutions = sorted({cfg.train_resolution, *cfg.train_also, *cfg.eval_resolutions})
    tests_by_res = {r: (on_grid(test_raw[0], r, finest), on_grid(test_raw[1], r, finest)) for r in resolutions}

    torch.manual_seed(ctx.seed)
    unet = UNet(1, 1, cfg.hidden_channels, cfg.levels, norm=cfg.norm)
    torch.manual_seed(ctx.seed)
    fs_unet = FunctionUNet(1, 1, cfg.hidden_channels, cfg.levels, ref_resolution=cfg.train_resolution,
                           norm=cfg.norm)
    train_test = tests_by_res[cfg.train_resolution]
    kw = dict(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
              checkpoint_every=cfg.checkpoint_every)
    unet_model, unet_result = train_operator(unet, train, train_test, ctx, "unet", **kw)
    fs_model, fs_result = train_operator(fs_unet, train, train_test, ctx, "fs_unet", **kw)

    out: dict = {"unet_params": count_parameters(unet), "fs_unet_params": count_parameters(fs_unet),
                 "unet_train_seconds": unet_result.seconds, "fs_unet_train_seconds": fs_result.seconds}
    for r, data in tests_by_res.items():
        out[f"unet_rel_l2_{r}"] = rel_l2(unet_model, data, ctx.device)
        out[f"fs_unet_rel_l2_{r}"] = rel_l2(fs_model, data, ctx.device)
    top = tests_by_res[finest]
    plot_samples(ctx, f"unet_{finest}", predict(unet_model, top[0], ctx.device), top[1])
    plot_samples(ctx, f"fs_unet_{finest}", predict(fs_model, top[0], ctx.device), top[1])
    ctx.plot_curves("error_vs_resolution", {"U-Net": (resolutions, [out[f"unet_rel_l2_{r}"] for r in resolutions]),
                                            "function-space U-Net": (resolutions, [out[f"fs_unet_rel_l2_{r}"]
                                                                                   for r in resolutions])},
                    xlabel="evaluation resolution", ylabel="relative L2", logx=True, markers=True)
    return out
