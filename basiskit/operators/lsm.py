r"""LSM (Latent Spectral Models): U-Net levels, each with a neural spectral block on latent tokens.

Wu, Hu, Luo, Wang, Long (2023), "Solving High-Dimensional PDEs with Latent Spectral Models". At each level of a
U-Net-like encoder, the feature map is cut into patches; in each patch, ``num_tokens`` learned queries attend to the
patch's points to form latent tokens (a linear-time projection to a small latent space); the neural spectral block
expands every token channel in a trigonometric basis with learned coefficients,

.. math::
    t' = t + \sum_{k=1}^{K} \big(\alpha_{c,k} \sin(\pi k t_c) + \beta_{c,k} \cos(\pi k t_c)\big) + \gamma_c,

and the grid points attend back to the updated tokens. The decoder upsamples and merges the level outputs
(skip connections) as a U-Net does.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._deprecation import renamed_kwargs
from .._validation import check_int
from ._registry import register_operator
from .common import check_halvable, check_image


def patchify(x: torch.Tensor, n_patches: tuple[int, int]) -> torch.Tensor:
    """(batch, c, h, w) -> (batch * p1 * p2, (h/p1) * (w/p2), c): the points of each patch as a sequence."""
    b, c, h, w = x.shape
    p1, p2 = n_patches
    x = x.reshape(b, c, p1, h // p1, p2, w // p2).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b * p1 * p2, (h // p1) * (w // p2), c)


def unpatchify(seq: torch.Tensor, shape: tuple[int, int, int, int], n_patches: tuple[int, int]) -> torch.Tensor:
    """Inverse of ``patchify``: (batch * p1 * p2, points, c) -> (batch, c, h, w)."""
    b, c, h, w = shape
    p1, p2 = n_patches
    x = seq.reshape(b, p1, p2, h // p1, w // p2, c).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, c, h, w)


def spectral_tokens(tokens: torch.Tensor, coeffs: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    r"""Neural spectral block on tokens,
    :math:`t + \sum_k \alpha_{ck}\sin(\pi k t_c) + \beta_{ck}\cos(\pi k t_c) + \gamma_c`.

    tokens: (..., c); coeffs: (c, 2, K) (sin, cos coefficients); bias: (c,). Returns (..., c).
    """
    k = torch.arange(1, coeffs.shape[-1] + 1, device=tokens.device, dtype=tokens.dtype)
    phase = math.pi * tokens[..., None] * k
    out = (torch.sin(phase) * coeffs[:, 0]).sum(-1) + (torch.cos(phase) * coeffs[:, 1]).sum(-1)
    return tokens + out + bias


class SpectralBlock(nn.Module):
    """Patch-wise attention to latent tokens, neural spectral block, attention back: (b, c, h, w) -> same."""

    @renamed_kwargs(n_tokens="num_tokens")
    def __init__(self, channels: int, num_tokens: int, n_basis: int, n_patches: int, device=None, dtype=None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.channels, self.num_tokens, self.n_basis, self.n_patches = channels, num_tokens, n_basis, n_patches
        self.queries = nn.Parameter(torch.randn(num_tokens, channels, **kw) / math.sqrt(channels))
        self.to_key = nn.Linear(channels, channels, bias=False, **kw)
        self.to_query = nn.Linear(channels, channels, bias=False, **kw)
        self.coeffs = nn.Parameter(torch.randn(channels, 2, n_basis, **kw) / math.sqrt(2 * n_basis))
        self.bias = nn.Parameter(torch.zeros(channels, **kw))
        self.out = nn.Linear(channels, channels, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        p = (min(self.n_patches, h), min(self.n_patches, w))
        if h % p[0] or w % p[1]:
            raise ValueError(f"LSM: a level of grid {h}x{w} cannot be cut into {p[0]}x{p[1]} patches; choose a "
                             f"resolution divisible by n_patches * 2**(levels-1)")
        seq = patchify(x, p)                                              # (B', N, C)
        scale = 1 / math.sqrt(c)
        attn = torch.softmax(self.queries @ self.to_key(seq).transpose(1, 2) * scale, dim=-1)   # (B', T, N)
        tokens = spectral_tokens(attn @ seq, self.coeffs, self.bias)      # (B', T, C)
        back = torch.softmax(self.to_query(seq) @ tokens.transpose(1, 2) * scale, dim=-1)      # (B', N, T)
        return x + unpatchify(self.out(back @ tokens), (b, c, h, w), p)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, num_tokens={self.num_tokens}, n_basis={self.n_basis}, "
                f"n_patches={self.n_patches}")


def double_conv(c_in: int, c_out: int, **kw) -> nn.Sequential:
    """(3x3 conv, batch norm, GELU) twice; same grid size."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False, **kw), nn.BatchNorm2d(c_out, **kw),
                         nn.GELU(), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False, **kw),
                         nn.BatchNorm2d(c_out, **kw), nn.GELU())


@register_operator("lsm", summary="Latent Spectral Model: latent tokens, neural spectral block, U-Net levels (Wu et al. 2023)")
class LSM(nn.Module):
    r"""Latent Spectral Model: (batch, in_channels, h, w) -> (batch, out_channels, h, w).

    Args:
        hidden_channels: width of the first level; level l has ``hidden_channels * min(2**l, max_mult)``.
        levels: U-Net levels (grid halves ``levels - 1`` times; sides must be divisible by
            ``n_patches * 2**(levels-1)`` where patches are used).
        num_tokens: latent tokens per patch (``n_tokens=`` is a deprecated spelling);
        n_basis: sin/cos frequencies per token channel;
        n_patches: patches per side at the finest level (halved per level, at least 1).
    """

    @renamed_kwargs(n_tokens="num_tokens")
    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 16, levels: int = 4,
                 num_tokens: int = 4, n_basis: int = 12, n_patches: int = 4, max_mult: int = 8,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.levels = check_int("levels", levels, min_value=1)
        self.num_tokens = check_int("num_tokens", num_tokens, min_value=1)
        self.n_basis = check_int("n_basis", n_basis, min_value=1)
        self.n_patches = check_int("n_patches", n_patches, min_value=1)
        check_int("max_mult", max_mult, min_value=1)
        kw = {"device": device, "dtype": dtype}
        widths = [hidden_channels * min(2 ** lvl, max_mult) for lvl in range(levels)]
        self.widths = widths
        self.lift = double_conv(in_channels, widths[0], **kw)
        self.down = nn.ModuleList(double_conv(widths[lvl - 1], widths[lvl], **kw) for lvl in range(1, levels))
        self.blocks = nn.ModuleList(SpectralBlock(widths[lvl], num_tokens, n_basis, max(1, n_patches // 2 ** lvl), **kw)
                                    for lvl in range(levels))
        self.up = nn.ModuleList(double_conv(widths[lvl + 1] + widths[lvl], widths[lvl], **kw)
                                for lvl in range(levels - 1))
        self.project = nn.Sequential(nn.Conv2d(widths[0], widths[0], 1, **kw), nn.GELU(),
                                     nn.Conv2d(widths[0], out_channels, 1, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_channels, h, w) -> (batch, out_channels, h, w)."""
        check_halvable("x", check_image("x", x, self.in_channels), self.levels)
        feats = [self.lift(x)]
        for down in self.down:
            feats.append(down(F.max_pool2d(feats[-1], 2)))
        feats = [block(f) for block, f in zip(self.blocks, feats)]
        h = feats[-1]
        for lvl in range(self.levels - 2, -1, -1):
            h = F.interpolate(h, size=feats[lvl].shape[-2:], mode="bilinear", align_corners=False)
            h = self.up[lvl](torch.cat([h, feats[lvl]], dim=1))
        return self.project(h)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, widths={self.widths}, "
                f"num_tokens={self.num_tokens}, n_basis={self.n_basis}, n_patches={self.n_patches}")
