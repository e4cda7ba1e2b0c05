"""lsm: Latent Spectral Model vs FNO on 2-D Darcy flow at matched parameter counts.

Wu et al. 2023, "Solving High-Dimensional PDEs with Latent Spectral Models". U-Net levels with patch-wise
attention to latent tokens and a neural spectral block (learned sin/cos coefficients) on them. The LSM width is
chosen by counting parameters: the width whose model is closest to the FNO's count (reported as ``param_ratio``).

Learning rates (quick size, seed 0; each run trains both models at one rate; held-out rel. L2, FNO / LSM):
1e-3: 0.281 / not run; 3e-3: 0.0876 / 0.0639; 5e-3: 0.0657 / 0.0615; 1e-2: 0.0500 / 0.0796; 2e-2: 0.0461 / 0.0786;
3e-2: 0.0457 / 0.110. The quick config trains each model at its own best rate: the FNO at 2e-2 (its plateau runs
from 2e-2 to 3e-2), LSM at 5e-3. Before this sweep both trained at 3e-3, where the FNO is under-trained:
LSM 0.0639 vs FNO 0.0876 (met); now 0.0615 vs 0.0461, not met. The full size keeps 1e-3 for both (no sweep was run there). Full run
(docs/runs/lsm/full: Darcy 64x64, 1,000 samples, 5,000 steps each, parameters within 1%, one thread, 62 min of
CPU): LSM 0.0149, FNO 0.0120 (1.24x, not met; the paper's LSM figure is 0.0065 at 85x85). The medium run
(256 samples, 400 steps) had LSM ahead, 0.0507 against 0.0563.
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
               "n_patches": 2, "n_basis": 6, "steps": 200, "batch_size": 16, "lr": 5e-3, "fno_lr": 2e-2,
               "checkpoint_every": 0},
        claims=[Claim("param_ratio", "<=", 1.2), Claim("param_ratio", ">=", 0.8),
                Claim("lsm_rel_l2", "<=", "fno_rel_l2", note="held-out relative L2", paper=0.0065,
                      paper_setting="main results table, Darcy 85x85")],
        tour=True)
def run(cfg: LsmConfig, ctx: RunContext) -> dict:
    def build(width: int) -> LSM:
        return LSM(1, 1, hidden_channels=width, levels=cfg.levels, num_tokens=cfg.n_tokens, n_basis=cfg.n_basis,
                   n_patches=cfg.n_patches)

    return compare_with_fno_on_darcy(cfg, ctx, "lsm", build, range(2, 65))
