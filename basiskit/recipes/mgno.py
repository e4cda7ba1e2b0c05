"""mgno: MgNO vs FNO on 2-D Darcy flow at matched parameter counts.

He, Liu, Xu 2024, "MgNO: Efficient Parameterization of Linear Operators via Multigrid". Each MgNO layer is
sigma(V-cycle(u) + W u + b) with Dirichlet (zero) padding and a 1x1 projection at the end, the V-cycle in the MgNet
form of the authors' released Darcy model (:mod:`basiskit.operators.mgno`); full size uses their 5 layers, 5 grids
and smoothing steps (1, 1, 1, 2, 2) of their Darcy script's default (their smooth-Darcy command: 5 layers of
width 24, 6 grids on 211x211). The MgNO width is chosen by counting parameters: the width whose model is
closest to the FNO's count (reported as ``param_ratio``).

Learning rates: each model at its own best rate of a sweep (seed 0, held-out rel. L2), every run a separate
model trained alone. Quick size (32x32, 128 samples, 1,000 steps): FNO 5e-3 / 1e-2 / 2e-2 / 3e-2: 0.0349 /
0.0340 / 0.0352 / 0.0350 (1e-2 chosen); MgNO 3e-3 / 5e-3 / 8e-3: 0.0312 / 0.0299 / 0.681 (failed: stuck near
the mean field; 5e-3 chosen).
The recipe as run (FNO first, then MgNO, one thread), seeds 0 / 1 / 2: MgNO 0.0326 / 0.0389 / 0.0344, FNO
0.0340 / 0.0332 / 0.0325 (means 0.0353 / 0.0332): a tie that the seed decides (met at seed 0 only), so the claim
is listed as not met at quick size. 1,000 steps, not fewer:
at 200 steps (the earlier quick size) both models are still far from converged (MgNO 0.058 at 5e-3, FNO 0.046).
Medium size (64x64, 256 samples, 1,000 steps, batch 16, 5 grids, 4 layers, seed 0): FNO 3e-3 / 1e-2 / 2e-2:
0.0346 / 0.0246 / 0.0267; MgNO 2e-3 / 3e-3 / 4e-3: 0.0310 / 0.0263 / 0.0259 (5e-3 diverged in a first version of
this code): the FNO is ahead. The full size trains the FNO at 1e-2 and MgNO at 1e-3: at 3e-3 the full-size MgNO (5
layers, width 25) diverged at step 113 (loss 0.67 at step 30, 1.9e6 at step 60).

Full size (docs/runs/mgno/full: Darcy 64x64, 1,000 samples, 5,000 steps each at batch 20, FNO width 32 / 12 modes
(701,281 parameters) against MgNO width 25, 5 layers, 5 grids (700,636), one thread): MgNO **0.00696** against
the FNO's **0.0106**, 0.66x the FNO's error: the claim is met at full size, and the order of the quick and medium
sizes reverses with the full training budget (held-out error every 500 steps: the FNO ahead to step 2,500,
MgNO ahead from step 3,000 on, 0.0098 vs 0.0136). About 1 h of CPU for MgNO and 0.5 h for the FNO here.

Before the V-cycle followed the authors' structure (a textbook correction cycle with 3x3 prolongation, one smoothing
step per grid, the last layer a cycle onto the output instead of a projection), the quick run gave MgNO 0.0914
against FNO 0.0461 at 200 steps, 0.0380 at 1,000 steps (seed 0); its full-size step (5 layers, 4 grids, width 38)
took 1.63 s of process CPU against 0.50 s for the present full-size model (5 grids, width 25), one thread.

Paper figure: none set. The MgNO paper's Darcy table could not be read from here (only its abstract), and its
Darcy data are not ``basiskit.data``'s generated fields at this size, so ``paper=`` is unset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..operators import MgNO
from ..train import RunContext
from ._common import FnoComparisonConfig, compare_with_fno_on_darcy
from .core import Claim, recipe


@dataclass
class MgnoConfig(FnoComparisonConfig):
    levels: int = field(default=5, metadata={"min": 1})
    n_layers: int = field(default=5, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"gt": 0.0})  # MgNO's: 3e-3 diverged at full size (docstring)

    def validate(self) -> None:
        """The V-cycle's coarsest grid keeps at least one point."""
        if self.resolution < 2 ** (self.levels - 1):
            raise ValueError(f"resolution ({self.resolution}) must be >= 2**(levels-1) ({2 ** (self.levels - 1)})")


@recipe("mgno", paper="He, Liu, Xu 2024, MgNO: Efficient Parameterization of Linear Operators via Multigrid",
        summary="MgNO (V-cycle linear operators) vs FNO on Darcy 64x64, parameters matched within 20%",
        config=MgnoConfig,
        quick={"n_train": 128, "n_test": 32, "resolution": 32, "fno_modes": 8, "fno_width": 12, "levels": 4,
               "n_layers": 4, "steps": 1000, "batch_size": 16, "lr": 5e-3, "fno_lr": 1e-2, "checkpoint_every": 0},
        claims=[Claim("param_ratio", "<=", 1.2), Claim("param_ratio", ">=", 0.8),
                Claim("mgno_rel_l2", "<=", "fno_rel_l2", note="held-out relative L2")],
        tour=True)
def run(cfg: MgnoConfig, ctx: RunContext) -> dict:
    def build(width: int) -> MgNO:
        return MgNO(1, 1, hidden_channels=width, n_layers=cfg.n_layers, levels=cfg.levels, padding="zeros")

    return compare_with_fno_on_darcy(cfg, ctx, "mgno", build, range(2, 129))
