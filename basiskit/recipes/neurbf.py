"""neurbf: fit one grayscale image with NeuRBF against bilinear grid fields of the same size.

Chen, Li, Song, Chen, Yu, Yuan & Xu 2023, "NeuRBF: A Neural Fields Representation with Adaptive Radial Basis
Functions" (ICCV); the model is :class:`basiskit.nn.neurbf.NeuRBF`.

*Data.* A 256x256 grayscale crop of scikit-learn's bundled ``china.jpg`` (rows 100.., columns 160..: the pagoda's
carved storeys beside smooth sky and lake, so detail is unevenly spread, which is what adaptive bases are for).
Every model fits the 65,536 pixel values at the pixel centres; PSNR over all pixels (the image-fitting metric of
the paper), predictions clipped to [0, 1].

*Models, each about 16k parameters (4x fewer than pixels, so none can store the image):*

- ``neurbf``: 900 adaptive bases (inverse quadric, top-4 neighbours, normalised) with 8 feature channels
  composed with sinusoids of frequencies (1, 4, 16, 64), plus a 4-channel 32x32 bilinear grid, decoded by an MLP
  12 -> 16 -> 16 -> 1 (GELU). Centres from gradient-weighted k-means of the pixel coordinates (10 Lloyd
  iterations), shapes from the cluster covariances (``shape_scale`` 0.5); as in the authors' image setting the
  centres and shapes stay fixed and the features, biases, grid and decoder are trained. They still count as
  parameters (5 per basis): 16,301 in all.
- ``neurbf_nosin``: the same without the sinusoid composition (features times normalised activations), the
  paper's ablation: 16,293.
- ``grid_mlp``: a 4-channel 63x63 bilinear grid with the same decoder shape 4 -> 16 -> 16 -> 1 (GELU): 16,245.
- ``grid_direct``: a one-channel 128x128 bilinear grid read directly: 16,384.

*Training.* All four are trained identically: Adam, cosine decay, mini-batches of 8,192 pixels, ``steps`` steps
(quick 4,000 = 500 epochs, about 55 s of CPU here; full 16,000). The grid baselines are cheap, so the recipe
runs their learning-rate sweep itself (``baseline_lrs``, ``direct_lrs``: 3e-2, 1e-1, 3e-1 at full size) and
keeps the best; at quick size only the sweep's winner 1e-1 is run. Sweep at quick size (PSNR in dB, 4,000 steps,
seed 0 / seed 1, this machine): NeuRBF 3e-2: 23.94 / 24.33, 1e-1: 24.48 / 24.50 (chosen); the ablation 3e-2:
23.52, 1e-1: 24.35 (it trains at NeuRBF's rate, 1e-1, its best too); grid + MLP 1e-2: 22.89 / 23.40, 3e-2:
23.83 / 24.28, 1e-1: 24.42 / 24.67, 3e-1: 23.46; the direct grid is a linear least-squares problem and reaches
its optimum 22.00 at 3e-2, 1e-1 and 3e-1 (loss flat after a few hundred steps). A ReLU decoder of width 16 lost
about 1 dB to dead units for both NeuRBF (22.92) and grid + MLP (23.59), hence GELU for both. The NeuRBF design
was chosen in a sweep at 2,000 steps (ReLU decoder, lr 3e-2), all within 21.9..23.2 dB: ``shape_scale`` 0.25 /
0.5 / 1 / 2: 23.0 / 23.1 / 22.8 / 21.9; top-k 2 / 4 / 8: 22.3 / 23.1 / 21.9; Gaussian kernel 22.8; trainable
centres and shapes 22.8; 1,500 bases with 4 channels 22.5; 500 bases with a 48x48 grid 23.2; and at 4,000 steps
with GELU, frequencies (0.5, 1, 2, 4) and (4, 16, 64, 256) both 24.27 against 24.48 for (1, 4, 16, 64).
A wider decoder (32, 32) helped the grid more than NeuRBF (23.58 vs 23.40 at 3,000 steps, ReLU).

*Claims.* NeuRBF >= the direct bilinear grid + 1 dB (met by about 2.4 dB, a margin of 1.4 dB that survives a
change of CPU); NeuRBF >= the grid + MLP decoder + 1 dB, and removing the sinusoid composition costs >= 0.5 dB
(the issue's thresholds): neither is met at this size. At quick size (seed 0) NeuRBF is 24.42 dB, grid + MLP
24.20, the ablation 24.29, the direct grid 22.00; in the one-model sweep runs NeuRBF was 0.06 dB ahead of
grid + MLP at seed 0 and 0.17 behind at seed 1, so they tie. The sinusoid composition adds about 0.1 dB once both
decoders are trained at their best rate (it added 0.2..1.1 dB with the ReLU decoder at 3e-2, which trained
worse). Where the error sits (``*_psnr_detail``: the quarter of pixels with the largest gradient;
``*_psnr_smooth``: the rest) shows what the bases do: on the detail NeuRBF leads grid + MLP by about 1.1 dB and
its ablation by 0.6 dB, on the smooth part it trails grid + MLP by about 0.8 dB. Both claims
are kept as the issue states them and reported not met. Full size (16,000 steps, recorded under
docs/runs/neurbf/full): NeuRBF 25.09, grid + MLP 25.07, without sinusoids 25.22, direct grid 22.00 dB; detail
quarter 22.55 / 21.57 / 22.27, smooth rest 26.43 / 27.37 / 26.91. The paper's image-fitting figures are for far
larger models on far larger images, not 16k parameters on a 256x256 crop, so no ``paper=`` figure is filled.

*Tried from the authors' released image code, not adopted* (``configs/img.py``): sinusoids on the decoder's first
hidden layer (z -> z + sin(nu z), nu log-spaced 10..100, ``--set decoder_sinusoids=true``) and Adam's beta2 0.99
(``--set adam_beta2=0.99``, applied to all four models). Their RBF frequencies (one per channel, 2^-3..2^12) gave
24.29 dB against 24.35 for ours in a side script and were left. With both changes the stable rate of NeuRBF drops
(side script, its own mini-batch order): 5e-2 gave 23.2 / 21.5 dB and 1e-1 18.9 / 10.6 at seeds 0 / 1, so it trains
at 3e-2 (``--set lr=0.03``). Quick size, seeds 0 / 1 / 2: NeuRBF 26.25 / 25.44 / 26.09, grid + MLP 24.61 / 25.12 /
24.91 (beta2 0.99 at 1e-1, its best of 3e-2..3e-1; in the side script its decoder with the same sinusoids did worse,
22.5 / 23.9 dB at 1e-1 / 3e-2), without the RBF sinusoids 24.70 / 24.85 / 24.90 (3e-2, its best of 2e-2 / 3e-2 /
5e-2): the sinusoid claim met at all three seeds (+1.6 / +0.6 / +1.2), the grid claim at seeds 0 and 2 only (+1.6 /
+0.3 / +1.2). At full size (16,000 steps, seed 0, 407 s) the same settings give NeuRBF 24.39, below grid + MLP 25.14
and the ablation 25.32: its loss climbs from 0.0069 at step 1,300 to 0.0088 at 5,800 while the rate is high and
recovers only as the cosine decays; at 2e-2 / 1e-2 / 5e-3 it reaches 25.40 / 24.36 / 23.92 (side script); clipping
the gradient norm at 1 gives 24.20, the decoder at 1e-2 with the rest at 3e-2 24.68, and a batch of 32,768 at 4,000
steps 23.89. The quick gain is the short schedule's, from a model at the edge of its stable step size, so the
defaults stay as above; ``decoder_frequencies`` is in :class:`~basiskit.nn.neurbf.NeuRBF` for users who want it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..data.images import sample_image
from ..measure import count_parameters
from ..nn.neurbf import GridField, NeuRBF, image_gradient_magnitude, pixel_coordinates
from ..train import RunContext, fit
from .core import Claim, recipe


@dataclass
class NeurbfConfig:
    image: str = field(default="china.jpg", metadata={"choices_from": "basiskit.data.images:SAMPLE_IMAGES"})
    size: int = field(default=256, metadata={"min": 16, "max": 427})
    top: int = field(default=100, metadata={"min": 0})
    left: int = field(default=160, metadata={"min": 0})
    num_bases: int = field(default=900, metadata={"min": 1})
    feature_dim: int = field(default=8, metadata={"min": 1})
    frequencies: tuple[float, ...] = field(default=(1.0, 4.0, 16.0, 64.0), metadata={"gt": 0.0, "min_len": 1})
    kernel: str = field(default="inverse_quadric", metadata={"choices_from": "basiskit.nn.neurbf:KERNELS"})
    top_k: int = field(default=4, metadata={"min": 1})
    shape_scale: float = field(default=0.5, metadata={"gt": 0.0})
    kmeans_iters: int = field(default=10, metadata={"min": 0})
    grid_channels: int = field(default=4, metadata={"min": 0})
    grid_resolution: int = field(default=32, metadata={"min": 2})
    hidden: tuple[int, ...] = field(default=(16, 16), metadata={"min": 1})
    activation: str = field(default="gelu", metadata={"choices_from": "basiskit.nn.activations:activation_names"})
    decoder_sinusoids: bool = False  # the authors' first-layer sinusoids in both NeuRBF decoders
    decoder_frequencies: tuple[float, ...] = field(default=(10.0, 100.0), metadata={"gt": 0.0})  # (low, high)
    baseline_channels: int = field(default=4, metadata={"min": 1})
    baseline_resolution: int = field(default=63, metadata={"min": 2})
    direct_resolution: int = field(default=128, metadata={"min": 2})
    steps: int = field(default=16000, metadata={"min": 1})
    batch_size: int = field(default=8192, metadata={"min": 1})
    lr: float = field(default=1e-1, metadata={"gt": 0.0})
    adam_beta2: float = field(default=0.999, metadata={"gt": 0.0, "lt": 1.0})
    baseline_lrs: tuple[float, ...] = field(default=(3e-2, 1e-1, 3e-1), metadata={"gt": 0.0, "min_len": 1})
    direct_lrs: tuple[float, ...] = field(default=(3e-2, 1e-1, 3e-1), metadata={"gt": 0.0, "min_len": 1})

    def validate(self) -> None:
        if self.feature_dim % len(self.frequencies):
            raise ValueError(f"feature_dim ({self.feature_dim}) must be a multiple of len(frequencies) "
                             f"({len(self.frequencies)})")
        if len(self.decoder_frequencies) != 2 or self.decoder_frequencies[0] > self.decoder_frequencies[1]:
            raise ValueError(f"decoder_frequencies must be (low, high) with low <= high, got "
                             f"{self.decoder_frequencies}")
        if self.top + self.size > 427 or self.left + self.size > 640:
            raise ValueError(f"the crop top={self.top}, left={self.left}, size={self.size} must fit the 427x640 "
                             "sample image")


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio (dB) for signals in [0, 1], predictions clipped to [0, 1]."""
    mse = float(((pred.clamp(0.0, 1.0) - target) ** 2).mean())
    return -10.0 * math.log10(max(mse, 1e-30))


@recipe("neurbf", paper="Chen et al. 2023, NeuRBF: neural fields with adaptive radial basis functions (ICCV)",
        summary="NeuRBF vs bilinear grid fields at ~16k parameters on a 256x256 image; sinusoid ablation",
        config=NeurbfConfig, quick={"steps": 4000, "baseline_lrs": (1e-1,), "direct_lrs": (1e-1,)},
        claims=[Claim("neurbf_psnr", ">=", "grid_direct_psnr", offset=1.0,
                      note="PSNR (dB), NeuRBF vs a 128x128 bilinear grid read directly, equal parameters"),
                Claim("neurbf_psnr", ">=", "grid_mlp_psnr", offset=1.0,
                      note="PSNR (dB), NeuRBF vs a 4-channel 63x63 bilinear grid + MLP decoder, equal parameters"),
                Claim("neurbf_psnr", ">=", "neurbf_nosin_psnr", offset=0.5,
                      note="PSNR (dB), ablation: NeuRBF without the multi-frequency sinusoid composition")])
def run(cfg: NeurbfConfig, ctx: RunContext) -> dict:
    image = sample_image(cfg.image, size=cfg.size, top=cfg.top, left=cfg.left)
    coords = pixel_coordinates(cfg.size, cfg.size).to(ctx.device)
    target = image.reshape(-1, 1).to(ctx.device)

    models: dict[str, torch.nn.Module] = {}
    inputs: dict[str, tuple[torch.Tensor, ...]] = {}
    for name, freqs in (("neurbf", cfg.frequencies), ("neurbf_nosin", None)):
        torch.manual_seed(ctx.seed)
        model = NeuRBF(cfg.num_bases, cfg.feature_dim, grid_channels=cfg.grid_channels,
                       grid_resolution=cfg.grid_resolution, hidden=cfg.hidden, kernel=cfg.kernel, top_k=cfg.top_k,
                       frequencies=freqs, activation=cfg.activation, trainable_geometry=False,
                       decoder_frequencies=cfg.decoder_frequencies if cfg.decoder_sinusoids else None,
                       generator=ctx.generator(1))
        model.init_from_image(image, iters=cfg.kmeans_iters, scale=cfg.shape_scale, generator=ctx.generator(2))
        model.to(ctx.device)
        models[name] = model
        inputs[name] = (coords, model.neighbors(coords))  # fixed geometry: neighbours found once

    metrics: dict[str, float] = {}
    preds, curves = {}, {}

    def train(name: str, model: torch.nn.Module, args: tuple[torch.Tensor, ...], lr: float) -> float:
        result = fit(model, F.mse_loss, (*args, target), steps=cfg.steps, batch_size=cfg.batch_size, lr=lr,
                     optimizer_options={"betas": (0.9, cfg.adam_beta2)}, scheduler="cosine", ctx=ctx,
                     name=f"{name}_lr{lr:g}", log_every=max(1, cfg.steps // 50))
        with torch.no_grad():
            pred = model(*args)
        value = psnr(pred, target)
        ctx.log(phase="eval", model=name, lr=lr, psnr=value)
        metrics[f"{name}_psnr_lr{lr:g}"] = value
        if value > metrics.get(f"{name}_psnr", -math.inf):  # keep the best learning rate's fit
            metrics[f"{name}_psnr"] = value
            metrics[f"{name}_lr"] = lr
            metrics[f"{name}_params"] = float(count_parameters(model))
            metrics[f"{name}_train_seconds"] = result.seconds
            preds[name] = pred.reshape(cfg.size, cfg.size).clamp(0.0, 1.0).cpu()
            curves[name] = result.curve("loss")
        return value

    for name, model in models.items():
        train(name, model, inputs[name], cfg.lr)
    # the grid baselines are cheap: each gets the best of a small learning-rate sweep run here
    for name, channels, resolution, hidden, lrs, offset in (
            ("grid_mlp", cfg.baseline_channels, cfg.baseline_resolution, cfg.hidden, cfg.baseline_lrs, 3),
            ("grid_direct", 1, cfg.direct_resolution, (), cfg.direct_lrs, 4)):
        for lr in lrs:
            torch.manual_seed(ctx.seed)
            model = GridField(channels, resolution, hidden=hidden, activation=cfg.activation,
                              generator=ctx.generator(offset)).to(ctx.device)
            train(name, model, (coords,), lr)
    names = ("neurbf", "neurbf_nosin", "grid_mlp", "grid_direct")
    # where the error sits: the quarter of pixels with the largest gradient (edges, carving) and the rest
    grad = image_gradient_magnitude(image).flatten()
    detail = grad >= grad.quantile(0.75)
    for n in names:
        flat = preds[n].flatten()
        metrics[f"{n}_psnr_detail"] = psnr(flat[detail], image.flatten()[detail])
        metrics[f"{n}_psnr_smooth"] = psnr(flat[~detail], image.flatten()[~detail])
    counts = [metrics[f"{n}_params"] for n in names]
    metrics["param_spread"] = max(counts) / min(counts)
    metrics["pixels_per_parameter"] = cfg.size ** 2 / metrics["neurbf_params"]

    ctx.plot_curves("training_loss", curves, ylabel="MSE (mini-batch)", logy=True)
    _plot_fits(ctx, image, {n: preds[n] for n in names}, metrics, models["neurbf"].rbf.centers.detach().cpu())
    return metrics


def _plot_fits(ctx: RunContext, image: torch.Tensor, preds: dict[str, torch.Tensor], metrics: dict[str, float],
               centers: torch.Tensor) -> None:
    """Row 1: target (with the NeuRBF centres) and the reconstructions; row 2: absolute error maps."""
    import matplotlib.pyplot as plt

    img = image.numpy()
    fits = {name: pred.numpy() for name, pred in preds.items()}
    ctrs = centers.numpy()
    fig, axes = plt.subplots(2, len(fits) + 1, figsize=(3.2 * (len(fits) + 1), 6.6))
    size = img.shape[0]
    axes[0, 0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes[0, 0].scatter(ctrs[:, 1] * size - 0.5, ctrs[:, 0] * size - 0.5, s=1, c="tab:red")
    axes[0, 0].set_title("target + RBF centres")
    axes[1, 0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes[1, 0].set_title("target")
    err_max = max(float(abs(p - img).max()) for p in fits.values())
    for j, (name, pred) in enumerate(fits.items(), start=1):
        axes[0, j].imshow(pred, cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(f"{name}: {metrics[f'{name}_psnr']:.2f} dB")
        im = axes[1, j].imshow(abs(pred - img), cmap="magma", vmin=0, vmax=err_max)
        axes[1, j].set_title(f"|error| {name}")
    fig.colorbar(im, ax=axes[1, -1], fraction=0.046)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    ctx.savefig(fig, "fits")
