r"""Bias-free denoisers, the eigenbasis of their Jacobian, and reverse diffusion driven by a denoiser.

Kadkhodaie, Guth, Simoncelli & Mallat 2024, "Generalization in diffusion models arises from geometry-adaptive
harmonic representations" (ICLR; arXiv 2310.02557), building on the bias-free CNN of Mohan, Kadkhodaie,
Simoncelli & Fernandez-Granda (ICLR 2020).

A *bias-free* network has no additive constant anywhere: convolutions without bias and a normalisation that
divides by a standard deviation but neither subtracts a mean nor adds a shift (:class:`BiasFreeBatchNorm`). With
ReLU activations the denoiser is then positively homogeneous of degree one and piecewise linear, so at every
input it is exactly the linear map given by its Jacobian (Euler's theorem):

.. math::

    f(a y) = a f(y)\ (a > 0), \qquad f(y) = \nabla f(y)\, y .

The eigenvectors of :math:`\nabla f(y)` at an image are the *adaptive basis* in which the network shrinks the
noise (the paper's geometry-adaptive harmonic bases), and the eigenvalues are the shrinkage factors.
By Miyasawa/Tweedie, an MMSE denoiser gives the score of the noisy density,
:math:`\nabla \log p_\sigma(y) = (f(y) - y) / \sigma^2`, so a denoiser trained across noise levels drives a
reverse diffusion (:func:`sample`). The paper samples with the stochastic coarse-to-fine ascent of Kadkhodaie &
Simoncelli (2021), which estimates sigma from the residual; here the sampler is the standard variance-exploding
reverse diffusion on a geometric sigma schedule (DDPM-ancestral for ``eta = 1``, DDIM for ``eta = 0``), which is
deterministic given its initial noise and generator, as the paper's generalisation test needs.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_float, check_int, check_tensor

__all__ = ["BiasFreeBatchNorm", "BiasFreeCNN", "BiasFreeUNet", "Eigenbasis", "bias_parameters", "check_images",
           "denoiser_psnr", "jacobian_eigenbasis", "sample", "sigma_schedule", "train_denoiser"]


def check_images(arg: str, images: torch.Tensor) -> torch.Tensor:
    """``images`` must be a finite floating tensor (batch, channels, height, width); returned unchanged."""
    check_tensor(arg, images, floating=True)
    if images.ndim != 4:
        raise ValueError(f"{arg} must be 4-D (batch, channels, height, width), got shape {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{arg} must hold at least one image, got shape {tuple(images.shape)}")
    return images


class BiasFreeBatchNorm(nn.Module):
    r"""Batch normalisation without mean subtraction and without shift: :math:`x_c \mapsto \gamma_c x_c / s_c`.

    ``s_c`` is the batch standard deviation of channel ``c`` in training (the statistic is computed about the
    batch mean, but the mean is not subtracted from ``x``) and the running average of it in evaluation. In
    evaluation the layer is linear, so a network made of it stays positively homogeneous; in training it is
    scale-invariant instead (dividing by the batch's own scale), as in Mohan et al. 2020.

    Input and output: (batch, channels, ...).
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, min_value=1)
        self.momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0)
        self.eps = check_float("eps", eps, min_value=0.0)
        self.weight = nn.Parameter(torch.ones(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[1] != self.channels:
            raise ValueError(f"BiasFreeBatchNorm({self.channels}) needs input (batch, {self.channels}, ...), "
                             f"got shape {tuple(x.shape)}")
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            dims = [0] + list(range(2, x.ndim))
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            var = self.running_var
        return x * (self.weight / torch.sqrt(var + self.eps)).view(shape)

    def extra_repr(self) -> str:
        return f"{self.channels}, momentum={self.momentum}, eps={self.eps}"


class BiasFreeCNN(nn.Module):
    r"""The bias-free CNN denoiser (BF-CNN): ``depth`` 3x3 convolutions without bias, ReLU between them and a
    :class:`BiasFreeBatchNorm` after each inner convolution; the network predicts the noise and the denoiser
    returns :math:`f(y) = y - r(y)` (``residual=True``) or :math:`r(y)` itself.

    Input and output: (batch, channels, height, width). No parameter is a bias, so ``f(a y) = a f(y)`` for
    ``a > 0`` in evaluation mode.
    """

    def __init__(self, channels: int = 1, width: int = 32, depth: int = 7, kernel_size: int = 3, *,
                 norm: bool = True, residual: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, min_value=1)
        self.width = check_int("width", width, min_value=1)
        self.depth = check_int("depth", depth, min_value=2)
        self.kernel_size = check_int("kernel_size", kernel_size, min_value=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same-size padding), got {kernel_size}")
        self.norm, self.residual = bool(norm), bool(residual)
        pad = kernel_size // 2
        layers: list[nn.Module] = [nn.Conv2d(channels, width, kernel_size, padding=pad, bias=False), nn.ReLU()]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, kernel_size, padding=pad, bias=False))
            if norm:
                layers.append(BiasFreeBatchNorm(width))
            layers.append(nn.ReLU())
        layers.append(nn.Conv2d(width, channels, kernel_size, padding=pad, bias=False))
        self.body = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.ndim != 4 or y.shape[1] != self.channels:
            raise ValueError(f"BiasFreeCNN(channels={self.channels}) needs input (batch, {self.channels}, height, "
                             f"width), got shape {tuple(y.shape)}")
        r = self.body(y)
        return y - r if self.residual else r

    def extra_repr(self) -> str:
        return f"channels={self.channels}, width={self.width}, depth={self.depth}, residual={self.residual}"


def _bf_block(c_in: int, c_out: int, convs: int, norm: bool) -> nn.Sequential:
    """``convs`` x (3x3 conv without bias, optional BiasFreeBatchNorm, ReLU)."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False))
        if norm:
            layers.append(BiasFreeBatchNorm(c_out))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class BiasFreeUNet(nn.Module):
    r"""A small bias-free UNet: ``levels`` encoder blocks, each followed by 2x2 average pooling (linear, no
    constant), a middle block, and decoder blocks after nearest-neighbour upsampling and concatenation with the
    encoder's skip; widths ``width * 2**level``; ``convs`` 3x3 convolutions per block, all without bias, each
    followed by :class:`BiasFreeBatchNorm` (``norm``) and ReLU. Pooling widens the receptive field to the whole
    image (28 x 28 with ``levels = 2``), which a shallow :class:`BiasFreeCNN` cannot do and which memorising a
    training set needs. Height and width must be divisible by ``2**levels``. The network predicts the noise and
    the denoiser returns ``y - r(y)`` (``residual``).

    Input and output: (batch, channels, height, width); ``f(a y) = a f(y)`` for ``a > 0`` in evaluation mode.
    """

    def __init__(self, channels: int = 1, width: int = 16, levels: int = 2, convs: int = 2, *, norm: bool = True,
                 residual: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, min_value=1)
        self.width = check_int("width", width, min_value=1)
        self.levels = check_int("levels", levels, min_value=1, max_value=6)
        self.convs = check_int("convs", convs, min_value=1)
        self.residual = bool(residual)
        widths = [width * 2 ** i for i in range(levels + 1)]
        self.enc = nn.ModuleList()
        c_in = channels
        for w in widths[:-1]:
            self.enc.append(_bf_block(c_in, w, convs, norm))
            c_in = w
        self.mid = _bf_block(widths[-2], widths[-1], convs + 1, norm)
        self.dec = nn.ModuleList(_bf_block(widths[i + 1] + widths[i], widths[i], convs, norm)
                                 for i in reversed(range(levels)))
        self.out = nn.Conv2d(widths[0], channels, 3, padding=1, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        div = 2 ** self.levels
        if y.ndim != 4 or y.shape[1] != self.channels or y.shape[2] % div or y.shape[3] % div:
            raise ValueError(f"BiasFreeUNet(channels={self.channels}, levels={self.levels}) needs input (batch, "
                             f"{self.channels}, H, W) with H and W divisible by {div}, got {tuple(y.shape)}")
        skips = []
        h = y
        for block in self.enc:
            h = block(h)
            skips.append(h)
            h = F.avg_pool2d(h, 2)
        h = self.mid(h)
        for block in self.dec:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = block(torch.cat([h, skips.pop()], 1))
        r = self.out(h)
        return y - r if self.residual else r

    def extra_repr(self) -> str:
        return f"channels={self.channels}, width={self.width}, levels={self.levels}, convs={self.convs}"


def bias_parameters(model: nn.Module) -> list[str]:
    """Names of every parameter or buffer that adds a constant: ``*.bias`` tensors, the mean statistics and
    shifts of ordinary normalisations (``running_mean``, affine ``bias``). Empty for a bias-free network."""
    names = [n for n, p in model.named_parameters() if p is not None and n.split(".")[-1] == "bias"]
    for mod_name, mod in model.named_modules():
        if getattr(mod, "bias", None) is not None and isinstance(mod.bias, torch.Tensor):
            name = f"{mod_name}.bias" if mod_name else "bias"
            if name not in names:
                names.append(name)
        if getattr(mod, "running_mean", None) is not None:
            names.append(f"{mod_name}.running_mean" if mod_name else "running_mean")
    return names


def _noise_levels(sigmas: tuple[float, float]) -> tuple[float, float]:
    if not (isinstance(sigmas, (tuple, list)) and len(sigmas) == 2):
        raise ValueError(f"sigmas must be a (min, max) pair of noise levels, got {sigmas!r}")
    lo = check_float("sigmas[0]", sigmas[0], min_value=0.0)
    hi = check_float("sigmas[1]", sigmas[1], min_value=0.0, strict_min=True)
    if lo > hi:
        raise ValueError(f"sigmas must satisfy min <= max, got {sigmas!r}")
    return lo, hi


def train_denoiser(model: nn.Module, images: torch.Tensor, *, sigmas: tuple[float, float] = (0.0, 1.0),
                   steps: int = 1000, batch_size: int = 64, lr: float = 1e-3,
                   generator: torch.Generator | None = None,
                   callback: Callable[[int, float], None] | None = None) -> list[float]:
    r"""Train ``model`` to denoise ``images`` across noise levels: minimise
    :math:`\mathbb E\, \|f(x + \sigma z) - x\|^2` with ``sigma ~ U[sigmas]`` drawn per image, ``z ~ N(0, I)``,
    ``x`` drawn with replacement from ``images`` (batch, channels, height, width). Adam with a cosine decay of
    the learning rate to zero. The draws come from ``generator`` only, so a run is a function of its seed.

    Returns the per-step losses (mean squared error per pixel). ``callback(step, loss)`` is called every step.
    """
    check_images("images", images)
    lo, hi = _noise_levels(sigmas)
    check_int("steps", steps, min_value=1)
    check_int("batch_size", batch_size, min_value=1)
    check_float("lr", lr, min_value=0.0, strict_min=True)
    device = next(model.parameters()).device
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    model.train()
    losses: list[float] = []
    for step in range(steps):
        idx = torch.randint(0, images.shape[0], (batch_size,), generator=gen)
        x = images[idx]
        sigma = lo + (hi - lo) * torch.rand(batch_size, 1, 1, 1, generator=gen, dtype=x.dtype)
        y = x + sigma * torch.randn(x.shape, generator=gen, dtype=x.dtype)
        x, y = x.to(device), y.to(device)
        loss = F.mse_loss(model(y), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if callback is not None:
            callback(step, losses[-1])
    model.eval()
    return losses


@torch.no_grad()
def denoiser_psnr(model: nn.Module, images: torch.Tensor, sigma: float, *, peak: float = 1.0,
                  generator: torch.Generator | None = None, batch_size: int = 256) -> float:
    r"""Mean over images of :math:`10 \log_{10}(\text{peak}^2 / \text{MSE}(f(x + \sigma z), x))` in dB, the model
    in evaluation mode; ``images`` (batch, channels, height, width), noise drawn from ``generator``."""
    check_images("images", images)
    check_float("sigma", sigma, min_value=0.0, strict_min=True)
    check_float("peak", peak, min_value=0.0, strict_min=True)
    check_int("batch_size", batch_size, min_value=1)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    psnrs = []
    for start in range(0, images.shape[0], batch_size):
        x = images[start:start + batch_size]
        y = x + sigma * torch.randn(x.shape, generator=gen, dtype=x.dtype)
        mse = (model(y.to(device)).cpu() - x).pow(2).flatten(1).mean(1)
        psnrs.append(10 * torch.log10(peak ** 2 / mse.clamp_min(1e-20)))
    model.train(was_training)
    return float(torch.cat(psnrs).mean())


class Eigenbasis(NamedTuple):
    """Eigen-decomposition of a denoiser's Jacobian at one image: ``values`` (k,) in decreasing order,
    ``vectors`` (k, channels, height, width) orthonormal, ``jacobian`` (D, D) with D = channels*height*width (the
    matrix that was decomposed: symmetrised if asked) and ``asymmetry`` = ||J - J^T||_F / ||J||_F of the raw
    Jacobian."""

    values: torch.Tensor
    vectors: torch.Tensor
    jacobian: torch.Tensor
    asymmetry: float


def jacobian_eigenbasis(model: nn.Module | Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor,
                        k: int | None = None, *, symmetrize: bool = True) -> Eigenbasis:
    r"""Eigenvalues and eigenvectors of the Jacobian :math:`\nabla f(y)` of the denoiser at the image ``y``.

    ``y``: (channels, height, width) or (1, channels, height, width). The dense Jacobian (D x D, D = number of
    pixels) is computed with ``torch.func.jacrev``, fine for D up to a few thousand (28 x 28 = 784 here). An MMSE
    denoiser's Jacobian is symmetric (it is :math:`I + \sigma^2 \nabla^2 \log p_\sigma`, a Hessian plus the
    identity), and the paper analyses it as such; a trained network's is only nearly so. With ``symmetrize``
    (default) the symmetric part :math:`(J + J^T)/2` is decomposed with ``eigh`` (orthonormal eigenvectors, real
    eigenvalues); without it, ``J`` must be symmetric to 1e-6 relative or a ValueError is raised. ``asymmetry``
    reports how far ``J`` is from symmetric. ``k`` keeps the top-k eigenpairs (all by default).
    """
    check_tensor("y", y, floating=True, finite=True)
    if y.ndim == 4:
        if y.shape[0] != 1:
            raise ValueError(f"y must be one image (channels, height, width) or (1, C, H, W), got {tuple(y.shape)}")
        y = y[0]
    if y.ndim != 3:
        raise ValueError(f"y must be one image (channels, height, width), got shape {tuple(y.shape)}")
    shape = tuple(y.shape)
    dim = y.numel()
    if k is not None:
        check_int("k", k, min_value=1, max_value=dim)
    if isinstance(model, nn.Module):
        was_training = model.training
        model.eval()

    def flat(v: torch.Tensor) -> torch.Tensor:
        return model(v.view(1, *shape)).reshape(-1)

    with torch.no_grad():
        jac = torch.func.jacrev(flat)(y.reshape(-1).detach()).detach()
    if isinstance(model, nn.Module):
        model.train(was_training)
    asym = float((jac - jac.T).norm() / jac.norm().clamp_min(1e-30))
    if symmetrize:
        jac = 0.5 * (jac + jac.T)
    elif asym > 1e-6:
        raise ValueError(f"the Jacobian is not symmetric (||J - J^T|| / ||J|| = {asym:.2e}); pass "
                         "symmetrize=True to decompose its symmetric part")
    values, vectors = torch.linalg.eigh(jac)
    values, vectors = values.flip(0), vectors.flip(1)
    keep = dim if k is None else k
    return Eigenbasis(values[:keep], vectors[:, :keep].T.reshape(keep, *shape), jac, asym)


def sigma_schedule(sigma_max: float, sigma_min: float, steps: int) -> torch.Tensor:
    """Geometric noise levels from ``sigma_max`` down to ``sigma_min``: (steps + 1,) float64."""
    check_float("sigma_max", sigma_max, min_value=0.0, strict_min=True)
    check_float("sigma_min", sigma_min, min_value=0.0, strict_min=True)
    check_int("steps", steps, min_value=1)
    if sigma_min >= sigma_max:
        raise ValueError(f"sigma_min must be < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
    return torch.logspace(math.log10(sigma_max), math.log10(sigma_min), steps + 1, dtype=torch.float64)


@torch.no_grad()
def sample(model: nn.Module | Callable[..., torch.Tensor], shape: tuple[int, ...], *, sigma_max: float = 1.0,
           sigma_min: float = 0.01, steps: int = 100, eta: float = 1.0, noise: torch.Tensor | None = None,
           generator: torch.Generator | None = None, blind: bool = True,
           dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> torch.Tensor:
    r"""Reverse variance-exploding diffusion driven by a denoiser: samples of shape ``shape`` (batch, ...).

    Start from :math:`y_0 = \sigma_0 z_0` (``z_0 = noise`` if given, else drawn from ``generator``) and walk the
    geometric schedule :math:`\sigma_0 = \sigma_{max} > \dots > \sigma_T = \sigma_{min}`. With
    :math:`\hat x = f(y_t)` (Tweedie/Miyasawa: :math:`\hat x = y + \sigma_t^2 \nabla \log p_{\sigma_t}(y)`),

    .. math::

        c_t = \eta\, \sigma_{t+1} \sqrt{1 - \sigma_{t+1}^2/\sigma_t^2}, \qquad
        y_{t+1} = \hat x + \frac{\sqrt{\sigma_{t+1}^2 - c_t^2}}{\sigma_t} (y_t - \hat x) + c_t z_{t+1},

    the DDPM-ancestral step for ``eta = 1`` and the deterministic DDIM step for ``eta = 0``; the sample is the
    final denoised :math:`f(y_T)`. ``blind=True`` calls ``model(y)`` (a blind, bias-free denoiser);
    ``blind=False`` calls ``model(y, sigma)`` with ``sigma`` a float. Deterministic given ``noise`` and
    ``generator``: two denoisers fed the same ``noise`` and equally seeded generators see the same draws.
    """
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) < 1 or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"shape must be a tuple of positive ints (batch, ...), got {shape!r}")
    sigmas = sigma_schedule(sigma_max, sigma_min, steps)
    check_float("eta", eta, min_value=0.0, max_value=1.0)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    if noise is None:
        noise = torch.randn(tuple(shape), generator=gen, dtype=dtype)
    else:
        check_tensor("noise", noise, floating=True, finite=True)
        if tuple(noise.shape) != tuple(shape):
            raise ValueError(f"noise must have shape {tuple(shape)}, got {tuple(noise.shape)}")
    if isinstance(model, nn.Module):
        model.eval()

    def denoise(y: torch.Tensor, s: float) -> torch.Tensor:
        return model(y) if blind else model(y, s)

    y = (float(sigmas[0]) * noise).to(device=device, dtype=dtype)
    for t in range(steps):
        s, s_next = float(sigmas[t]), float(sigmas[t + 1])
        x_hat = denoise(y, s)
        c = eta * s_next * math.sqrt(max(1.0 - (s_next / s) ** 2, 0.0))
        keep = math.sqrt(max(s_next ** 2 - c ** 2, 0.0)) / s
        y = x_hat + keep * (y - x_hat)
        if c > 0:
            y = y + c * torch.randn(tuple(shape), generator=gen, dtype=dtype).to(device)
    return denoise(y, float(sigmas[-1]))
