"""lsm: Latent Spectral Model vs FNO on 2-D Darcy flow at matched parameter counts.

Wu et al. 2023, "Solving High-Dimensional PDEs with Latent Spectral Models". U-Net levels with patch-wise
multi-head attention to latent tokens and a neural spectral block (learned sin/cos coefficients) on them, built as
the authors' released 2-D model (:mod:`basiskit.operators.lsm`). The LSM width is chosen by counting parameters
(widths step by ``num_heads``): the width whose model is closest to the FNO's count (reported as
``param_ratio``). The quick size uses one head, so the width can match the FNO's count (width 9, ratio 0.96;
with 2 heads the nearest widths give 0.76 and 1.17); the full size the authors' 8.

Learning rates: each model at its own best rate of a sweep (seed 0, held-out rel. L2, quick size: 32x32, 128
samples, 1,000 steps). FNO 5e-3 / 1e-2 / 2e-2 / 3e-2: 0.0349 / 0.0340 / 0.0352 / 0.0350 (1e-2); LSM 3e-3 / 5e-3 /
1e-2: 0.0304 / 0.0314 / 0.0370 (3e-3; measured before two rounding-level changes: coordinates from ``append_grid``,
fused attention). Seeds 0 / 1 / 2 at those rates (the recipe as run, one thread, BatchNorm statistics recomputed over
256 random training batches before the final evaluation, ``_common.train_operator``): LSM 0.0302 / 0.0296 / 0.0292
against FNO 0.0340 / 0.0332 / 0.0325, met at each by 10-11% (with the moving averages of before: 0.0304 / 0.0293 /
0.0286). 1,000 steps, not fewer: at 200 steps (the earlier quick size) both models are far from converged. Medium
size (64x64, 256 samples, 1,000 steps, batch 16, 4 levels, 2 heads, width 12, parameter ratio 0.82, seed 0): LSM
0.0261 at 3e-3, 0.0269 at 6e-3 against the FNO's 0.0246 at its best rate (1e-2): 1.06x, the order of the quick size
does not hold there (measured with BatchNorm's moving averages).

The first version of the spectral block (to 2026-12-07) differed from the authors' code in four ways: frequencies pi
k (k = 1..K) instead of pi k / K (k = 0..K-1), one head whose values were the raw features (no key/value projection,
no residual on the learned tokens), no grid coordinates at the input, a smaller output head. At the same quick size
it reached 0.0448 (5e-3, seed 0) against the FNO's 0.0340, not met. Its full run (docs/runs/lsm/full-first-version:
Darcy 64x64, 1,000 samples, 5,000 steps each at 1e-3, 62 min of CPU): LSM 0.0149, FNO 0.0120 (1.24x, not met).

Full size with the present block (docs/runs/lsm/full, one thread): 8 heads, LSM width 16 (565,217 parameters, ratio
0.81) at 1e-3 (the authors' rate), the FNO at its own 1e-2: LSM 0.0111, FNO 0.0106 (1.05x, **not met**; the paper's
LSM figure is 0.0065 at 85x85). Its first record (docs/runs/lsm/full-moving-average-bn, the same weights) said
0.0121 (1.15x), with a held-out error that rose from 0.0106 to 0.0121 over the last 500 steps while the rate was
below 2.5e-5: that was BatchNorm's moving averages, which follow the last ~10 batches. Recomputed over the training
fields (``train.recalibrate_batchnorm``, now before every evaluation), the step-4,000 and step-5,000 checkpoints
give 0.0109 and 0.0111 (moving averages: 0.0122, 0.0121). At 3e-3 (docs/runs/lsm/full-lr3e-3, recorded with the
moving averages: 0.0184) the recomputed statistics give 0.0130 at step 4,000 and 0.0147 at 5,000 (1.39x): still
worse than 1e-3, so the authors' rate stays; at that rate the held-out error rises over the last 1,000 steps with
either statistics.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..operators import LSM
from ..train import RunContext
from ._common import FnoComparisonConfig, compare_with_fno_on_darcy
from .core import Claim, recipe


@dataclass
class LsmConfig(FnoComparisonConfig):
    levels: int = field(default=4, metadata={"min": 1})
    n_tokens: int = field(default=4, metadata={"min": 1})
    n_basis: int = field(default=12, metadata={"min": 1})
    n_patches: int = field(default=4, metadata={"min": 1})
    num_heads: int = field(default=8, metadata={"min": 1})  # the authors' 8; widths step by it

    def validate(self) -> None:
        """Every U-Net level halves the grid, and each level's grid is cut into n_patches^2 equal patches."""
        for level in range(self.levels):
            side = self.resolution // 2 ** level
            if self.resolution % 2 ** level or side % min(self.n_patches, side):
                raise ValueError(f"resolution ({self.resolution}) must be divisible by 2**(levels-1) "
                                 f"({2 ** (self.levels - 1)}) and each level's grid by n_patches ({self.n_patches}); "
                                 f"e.g. a multiple of {self.n_patches * 2 ** (self.levels - 1)}")


@recipe("lsm", paper="Wu et al. 2023, Solving High-Dimensional PDEs with Latent Spectral Models",
        summary="LSM (latent tokens + neural spectral block, U-Net levels) vs FNO on Darcy 64x64, "
                "parameters matched within 20%",
        config=LsmConfig,
        quick={"n_train": 128, "n_test": 32, "resolution": 32, "fno_modes": 8, "fno_width": 12, "levels": 3,
               "n_patches": 2, "n_basis": 6, "num_heads": 1, "steps": 1000, "batch_size": 16, "lr": 3e-3,
               "fno_lr": 1e-2, "checkpoint_every": 0},
        claims=[Claim("param_ratio", "<=", 1.2), Claim("param_ratio", ">=", 0.8),
                Claim("lsm_rel_l2", "<=", "fno_rel_l2", note="held-out relative L2", paper=0.0065,
                      paper_setting="main results table, Darcy 85x85")],
        tour=True)
def run(cfg: LsmConfig, ctx: RunContext) -> dict:
    def build(width: int) -> LSM:
        return LSM(1, 1, hidden_channels=width, levels=cfg.levels, num_tokens=cfg.n_tokens, n_basis=cfg.n_basis,
                   n_patches=cfg.n_patches, num_heads=cfg.num_heads)

    return compare_with_fno_on_darcy(cfg, ctx, "lsm", build, range(cfg.num_heads, 129, cfg.num_heads))
