"""location-encoder: spherical-harmonic + SIREN location encoding vs a sin/cos-grid + MLP on a spherical
checkerboard.

Russwurm, Klemmer, Rolf, Zbinden & Tuia 2024, "Geographic Location Encoding with Spherical Harmonics and
Sinusoidal Representation Networks" (ICLR); module :mod:`basiskit.nn.location`.

Data (generated here, the paper's checkerboard task): ``n_centres`` cell centres on a Fibonacci lattice
(spiral index i, latitude asin(1 - (2i+1)/n), longitude 360 i / golden ratio), class ``i mod n_classes``
(16): neighbouring lattice points differ in spiral index by Fibonacci numbers (5, 8, 13, 21, 34, 55, ...),
none a multiple of 16 below 144, so neighbouring cells get different classes (checked in the tests). A
point's label is the class of its nearest centre. Train and test points are drawn uniformly on the sphere
(normalised Gaussian vectors) with independent seeds. The paper uses 200 centres, 16 classes, 10,000 train
points (the authors' hparams.yaml) and evaluates on a 10,000-point Fibonacci grid; we keep 200/16/10,000 and
test on uniform random points.

Models (same data, same optimiser, same number of steps and batch size for every model):

* ours, ``SIREN(SH)``: real spherical harmonics to degree L = 10 (121 features) -> SIREN, 2 sine layers of
  width 64 (first frequency 30, hidden 1, as in the authors' SirenNet) -> 16 logits; L = 10 is the issue's
  choice and, with width 64 x 2 layers, the SIREN(SH) example of the authors' repository (their tuned
  checkerboard setting is L = 15, width 128 x 1 layer: 95.6 % here, below);
* the baseline, ``MLP(grid)``: Space2Vec's grid DFS embedding (sin/cos of lon and lat at ``n_scales`` = 16
  geometric wavelengths from ``min_radius`` to 360 degrees, 64 features) -> ReLU MLP, 2 layers of width 64
  -> 16 logits. Given its best chance: a sweep over ``min_radius`` in ``baseline_min_radii`` and the learning
  rate in ``baseline_lrs``; the best test accuracy of the sweep is the baseline's figure (an optimistic choice
  for the baseline, since it picks on the test set).

Training: Adam with cosine decay, cross-entropy, mini-batches. The positional embeddings have no parameters,
so they are computed once for the train and test points and only the networks are trained.

Evaluation: overall test accuracy and accuracy of the test points with |lat| > 70 degrees (6 % of the
sphere's area), plus a per-latitude accuracy curve (10-degree bands) and maps of the predictions.

Claims (the issue's thresholds): SIREN(SH) overall accuracy >= best MLP(grid) + 2 points, and >= + 5 points at
|lat| > 70 degrees. Both are differences between two models trained on the same data, so a change of CPU moves
both sides alike; the slow test pins the observed gaps with about a point of margin. The paper reports
per-model checkerboard accuracies (Table 1a), which we could not read from a stored copy, so no ``paper=``
figure is filled in.

Status at the paper's data size (quick, seed 0): NOT met. SIREN(SH) 95.39 % vs the best MLP(grid) 95.11 %
(r_min 10 degrees, lr 1e-2), a tie (+0.3); above 70 degrees 95.23 % vs 91.30 % (+3.9), and the gap is largest in
the caps above 80 degrees (93.75 vs 85.76 %, +8.0 on 288 test points). Full size (3 seeds): 95.09 vs 95.02 %
overall, 95.16 vs 91.36 % above 70 degrees (+3.8), 93.36 vs 87.04 % above 80 (+6.3).
What was tried before settling (10,000 train points, single runs): SIREN(SH) at lr 3e-4 / 1e-3 / 3e-3 / 1e-2
(3,000 steps): 95.4 / 94.8 / 94.3 / 91.4 %; width 128 x 1 layer (the paper's tuned checkerboard shape): 95.2 %;
L = 15: 95.6 %; first-layer frequency 10 instead of 30: 95.3 %. Grid baselines: theory + MLP 94.9 %, spherec+ +
MLP 95.0 % (polar 90.3 / 91.4 %); the authors' tuned grid-MLP setting (r_min 1, lr 3e-3) gives 93.0-93.5 %
here, so the sweep gives the baseline 1.6 points more. With fewer training points the polar gap grows while
the overall one stays near zero (docs/representations.md has the recipe at 2,000 and 5,000 points); the
data size is the paper's and was not chosen to pass.

Quick size (about 37 s of CPU here, single thread): the paper's data (200 centres, 16 classes, 10,000 train
points); 20,000 test points (about 1,200 above 70 degrees: a binomial standard error of about 0.6 points on the
polar accuracy); 2,000 Adam steps of batch 1,000 (200 epochs) with cosine decay, after which the test accuracy
of every model is flat within 0.2 points over its last 30 % of steps and its training accuracy > 98 %, except
r_min 30, still climbing but 6+ points below the rest (14-degree cells need shorter wavelengths); one
initialisation seed; 13 trainings (SIREN(SH) plus
the 4 x 3 sweep), each 1.5-3 s. Full size: 3,000 steps, 50,000 test points, three initialisation seeds per
configuration (accuracies averaged), maps at 1 degree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..bases.spherical import lonlat_to_xyz, xyz_to_lonlat
from ..measure import accuracy, count_parameters
from ..nn.location import LocationEncoder
from ..train import RunContext, fit
from .core import Claim, recipe

GOLDEN = (1.0 + math.sqrt(5.0)) / 2.0
POLAR_LAT = 70.0  # the claims' polar region, |lat| > 70 degrees (6.0 % of the sphere)
CAP_LAT = 80.0  # reported too: the caps |lat| > 80 degrees (1.5 %), where the grid embedding is worst


def fibonacci_lattice(n: int, n_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` near-uniform points on the sphere (float64 lon/lat degrees, (n, 2)) and their classes
    ``i mod n_classes`` (int64, (n,)), i the spiral index."""
    i = torch.arange(n, dtype=torch.float64)
    lat = torch.rad2deg(torch.asin(1.0 - (2.0 * i + 1.0) / n))
    lon = torch.remainder(360.0 * i / GOLDEN + 180.0, 360.0) - 180.0
    return torch.stack([lon, lat], -1), torch.arange(n) % n_classes


def uniform_sphere(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` points uniform on the sphere as lon/lat degrees (n, 2), float64."""
    lon, lat = xyz_to_lonlat(torch.randn(n, 3, generator=generator, dtype=torch.float64))
    return torch.stack([lon, lat], -1)


def checkerboard_labels(lonlat: torch.Tensor, centres: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Class of the nearest centre (largest dot product of unit vectors) for each point of ``lonlat`` (n, 2)."""
    u = lonlat_to_xyz(lonlat[:, 0], lonlat[:, 1])
    c = lonlat_to_xyz(centres[:, 0], centres[:, 1])
    return classes[(u @ c.T).argmax(1)]


@dataclass
class LocationEncoderConfig:
    n_centres: int = field(default=200, metadata={"min": 2})
    n_classes: int = field(default=16, metadata={"min": 2})
    n_train: int = field(default=10000, metadata={"min": 1})
    n_test: int = field(default=50000, metadata={"min": 1})
    L: int = field(default=10, metadata={"min": 0, "max": 60})
    hidden: int = field(default=64, metadata={"min": 1})
    layers: int = field(default=2, metadata={"min": 1})
    siren_lr: float = field(default=3e-4, metadata={"gt": 0.0})
    n_scales: int = field(default=16, metadata={"min": 1})
    max_radius: float = field(default=360.0, metadata={"gt": 0.0})
    baseline_min_radii: tuple[float, ...] = field(default=(1.0, 3.0, 10.0, 30.0), metadata={"gt": 0.0, "min_len": 1})
    baseline_lrs: tuple[float, ...] = field(default=(3e-3, 1e-2, 3e-2), metadata={"gt": 0.0, "min_len": 1})
    steps: int = field(default=3000, metadata={"min": 1})
    batch_size: int = field(default=1000, metadata={"min": 1})
    seeds: int = field(default=3, metadata={"min": 1})
    map_resolution: float = field(default=1.0, metadata={"gt": 0.0, "max": 10.0})

    def validate(self) -> None:
        if max(self.baseline_min_radii) > self.max_radius:
            raise ValueError(f"baseline_min_radii ({self.baseline_min_radii}) must be <= max_radius "
                             f"({self.max_radius})")


def _accuracy(pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Percent of ``pred == y`` (over ``mask`` when given; NaN when the mask is empty)."""
    if mask is not None:
        pred, y = pred[mask], y[mask]
    return float((pred == y).double().mean() * 100) if y.numel() else float("nan")


def _band_accuracy(pred: torch.Tensor, y: torch.Tensor, lat: torch.Tensor, width: float = 10.0
                   ) -> tuple[list[float], list[float]]:
    """(band centres, accuracy %) over latitude bands of ``width`` degrees."""
    centres, accs = [], []
    for lo in np.arange(-90.0, 90.0, width):
        mask = (lat >= lo) & (lat < lo + width)
        if bool(mask.any()):
            centres.append(float(lo + width / 2))
            accs.append(_accuracy(pred, y, mask))
    return centres, accs


@recipe("location-encoder",
        paper="Russwurm et al. 2024, Geographic Location Encoding with Spherical Harmonics and SIREN (ICLR)",
        summary="SIREN(SH, L=10) vs best sin/cos-grid + MLP on a 16-class spherical checkerboard; polar accuracy",
        config=LocationEncoderConfig, quick={"steps": 2000, "seeds": 1, "n_test": 20000, "map_resolution": 2.0},
        claims=[Claim("sh_siren_acc", ">=", "grid_mlp_acc", offset=2.0,
                      note="checkerboard test accuracy (%), SIREN(SH, L=10) vs the best MLP(grid) of the sweep"),
                Claim("sh_siren_polar_acc", ">=", "grid_mlp_polar_acc", offset=5.0,
                      note="test accuracy (%) at |lat| > 70 degrees, SIREN(SH) vs the same best MLP(grid)")])
def run(cfg: LocationEncoderConfig, ctx: RunContext) -> dict:
    centres, classes = fibonacci_lattice(cfg.n_centres, cfg.n_classes)
    x_train = uniform_sphere(cfg.n_train, ctx.generator(1))
    x_test = uniform_sphere(cfg.n_test, ctx.generator(2))
    y_train = checkerboard_labels(x_train, centres, classes)
    y_test = checkerboard_labels(x_test, centres, classes)
    polar = x_test[:, 1].abs() > POLAR_LAT
    cap = x_test[:, 1].abs() > CAP_LAT
    step = cfg.map_resolution
    lon_g, lat_g = torch.meshgrid(torch.arange(-180 + step / 2, 180, step, dtype=torch.float64),
                                  torch.arange(-90 + step / 2, 90, step, dtype=torch.float64), indexing="ij")
    x_map = torch.stack([lon_g, lat_g], -1).reshape(-1, 2)

    # (name, pe, nn, min_radius, lr) for every configuration; the baseline sweeps min_radius x lr
    configs = [("sh_siren", "sh", "siren", cfg.baseline_min_radii[0], cfg.siren_lr)]
    configs += [(f"grid_mlp_r{r:g}_lr{lr:g}", "grid", "mlp", r, lr)
                for r in cfg.baseline_min_radii for lr in cfg.baseline_lrs]
    metrics: dict[str, float] = {"n_train": float(cfg.n_train), "n_test": float(cfg.n_test),
                                 "n_polar_test": float(polar.sum()), "n_cap_test": float(cap.sum())}
    first: dict[str, tuple[torch.Tensor, torch.Tensor, object]] = {}  # seed-0 test/map predictions and curve
    for i, (name, pe, nn_name, min_radius, lr) in enumerate(configs):
        accs, polar_accs, cap_accs, train_accs, losses, seconds = [], [], [], [], [], 0.0
        for k in range(cfg.seeds):
            torch.manual_seed(ctx.seed * 7919 + 101 * i + k)
            model = LocationEncoder(pe, nn_name, L=cfg.L, n_out=cfg.n_classes, hidden=cfg.hidden,
                                    layers=cfg.layers, n_scales=cfg.n_scales, min_radius=min_radius,
                                    max_radius=cfg.max_radius)
            net = model.net.to(ctx.device)
            with torch.no_grad():
                f_train = model.pe(x_train).float().to(ctx.device)
                f_test = model.pe(x_test).float().to(ctx.device)
            result = fit(net, F.cross_entropy, (f_train, y_train.to(ctx.device)), steps=cfg.steps,
                         batch_size=cfg.batch_size, lr=lr, scheduler="cosine", ctx=ctx, name=f"{name}_s{k}",
                         eval_fn=lambda m, f=f_test: {"test_acc": accuracy(m, f, y_test)},
                         eval_every=max(1, cfg.steps // 10))
            with torch.no_grad():
                pred = net(f_test).argmax(-1).cpu()
                if k == 0:
                    pred_map = net(model.pe(x_map).float().to(ctx.device)).argmax(-1).cpu()
                    first[name] = (pred, pred_map, result.curve("test_acc"))
            accs.append(_accuracy(pred, y_test))
            polar_accs.append(_accuracy(pred, y_test, polar))
            cap_accs.append(_accuracy(pred, y_test, cap))
            train_accs.append(accuracy(net, f_train, y_train))
            losses.append(result.final_loss)
            seconds += result.seconds
        metrics[f"{name}_acc"] = float(np.mean(accs))
        metrics[f"{name}_acc_std"] = float(np.std(accs))
        metrics[f"{name}_polar_acc"] = float(np.mean(polar_accs))
        metrics[f"{name}_cap_acc"] = float(np.mean(cap_accs))
        metrics[f"{name}_train_acc"] = float(np.mean(train_accs))
        metrics[f"{name}_final_loss"] = float(np.mean(losses))
        metrics[f"{name}_params"] = float(count_parameters(net))
        metrics[f"{name}_seconds"] = seconds
        ctx.log(phase="summary", model=name, acc=metrics[f"{name}_acc"], polar_acc=metrics[f"{name}_polar_acc"])

    best_i = max(range(1, len(configs)), key=lambda j: metrics[f"{configs[j][0]}_acc"])
    best = configs[best_i][0]
    metrics["grid_mlp_acc"] = metrics[f"{best}_acc"]
    metrics["grid_mlp_polar_acc"] = metrics[f"{best}_polar_acc"]
    metrics["grid_mlp_cap_acc"] = metrics[f"{best}_cap_acc"]
    metrics["grid_mlp_best_min_radius"] = float(configs[best_i][3])
    metrics["grid_mlp_best_lr"] = float(configs[best_i][4])
    metrics["acc_gain"] = metrics["sh_siren_acc"] - metrics["grid_mlp_acc"]
    metrics["polar_acc_gain"] = metrics["sh_siren_polar_acc"] - metrics["grid_mlp_polar_acc"]

    lat_test = x_test[:, 1]
    label = f"MLP(grid), best: r_min {configs[best_i][3]:g}, lr {configs[best_i][4]:g}"
    ctx.plot_curves("accuracy_by_latitude", {f"SIREN(SH, L={cfg.L})": _band_accuracy(first["sh_siren"][0], y_test,
                                                                                      lat_test),
                                             label: _band_accuracy(first[best][0], y_test, lat_test)},
                    xlabel="latitude band centre (degrees), 10-degree bands", ylabel="test accuracy (%)",
                    logy=False, markers=True)
    ctx.plot_curves("test_accuracy", {"SIREN(SH)": first["sh_siren"][2], label: first[best][2]},
                    ylabel="test accuracy (%)", logy=False)
    truth_map = checkerboard_labels(x_map, centres, classes)
    shape = lon_g.shape
    extent = (-180.0, 180.0, -90.0, 90.0)
    ctx.plot_fields("maps", {"checkerboard (truth)": truth_map.reshape(shape),
                             "SIREN(SH)": first["sh_siren"][1].reshape(shape),
                             "MLP(grid)": first[best][1].reshape(shape)}, extent=extent, cmap="tab20")
    ctx.plot_fields("error_maps", {"SIREN(SH) errors": (first["sh_siren"][1] != truth_map).reshape(shape).float(),
                                   "MLP(grid) errors": (first[best][1] != truth_map).reshape(shape).float()},
                    extent=extent, cmap="Greys")
    return metrics
