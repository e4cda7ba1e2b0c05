r"""LSM (Latent Spectral Models): U-Net levels, each with a neural spectral block on latent tokens.

Wu, Hu, Luo, Wang, Long (2023), "Solving High-Dimensional PDEs with Latent Spectral Models" (ICML), built as the
authors' released 2-D model. The input and its grid coordinates are lifted by a 1x1 convolution; a U-Net-like
encoder (double 3x3 convolutions, max-pooling) gives one feature map per level; at each level the map is cut into
patches and, in each patch and each of ``num_heads`` heads, ``num_tokens`` learned latent tokens attend to the
patch's points (keys and values from a 1x1 projection; a residual keeps the learned token), a linear-time
projection to a small latent space. The neural spectral block expands every token channel in a trigonometric
basis with learned coefficients,

.. math::
    t' = t + \sum_{k=0}^{K-1} \big(\alpha_{c,k} \sin(\pi k t_c / K) + \beta_{c,k} \cos(\pi k t_c / K)\big),

(the k = 0 cosine is the constant term), and the grid points attend back to the updated tokens (queries from a 1x1
projection, a residual around the block). Neither softmax is scaled by 1/sqrt(d), as in the authors' code. The
decoder upsamples and merges the level outputs (skip connections) as a U-Net does; a 1x1 convolution and a two-layer
pointwise head (128 hidden, GELU) give the output.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._deprecation import renamed_kwargs
from .._validation import check_int
from ._registry import register_operator
from .common import append_grid, check_halvable, check_image


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


def spectral_tokens(tokens: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    r"""Neural spectral block on tokens,
    :math:`t + \sum_{k<K} \alpha_{ck}\sin(\pi k t_c / K) + \beta_{ck}\cos(\pi k t_c / K)`.

    tokens: (..., c); coeffs: (c, 2, K) (sin, cos coefficients). Returns (..., c).
    """
    n_basis = coeffs.shape[-1]
    k = torch.arange(n_basis, device=tokens.device, dtype=tokens.dtype) / n_basis
    phase = math.pi * tokens[..., None] * k
    out = (torch.sin(phase) * coeffs[:, 0]).sum(-1) + (torch.cos(phase) * coeffs[:, 1]).sum(-1)
    return tokens + out


def _heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, N, C) -> (B, heads, N, C / heads); channel c = head * (C / heads) + j."""
    b, n, c = x.shape
    return x.reshape(b, n, num_heads, c // num_heads).transpose(1, 2)


class SpectralBlock(nn.Module):
    """Patch-wise multi-head attention to latent tokens, neural spectral block, attention back:
    (b, c, h, w) -> same. ``channels`` must be divisible by ``num_heads``."""

    @renamed_kwargs(n_tokens="num_tokens")
    def __init__(self, channels: int, num_tokens: int, n_basis: int, n_patches: int, num_heads: int = 1,
                 device=None, dtype=None) -> None:
        super().__init__()
        check_int("num_heads", num_heads, min_value=1)
        if channels % num_heads:
            raise ValueError(f"channels ({channels}) must be divisible by num_heads ({num_heads})")
        kw = {"device": device, "dtype": dtype}
        self.channels, self.num_tokens, self.n_basis, self.n_patches = channels, num_tokens, n_basis, n_patches
        self.num_heads = num_heads
        # small positive starts, as in the authors' code
        self.latent = nn.Parameter(torch.rand(num_heads, num_tokens, channels // num_heads, **kw) / channels)
        self.to_key_value = nn.Linear(channels, 2 * channels, **kw)
        self.to_query = nn.Linear(channels, channels, **kw)
        self.coeffs = nn.Parameter(torch.rand(channels, 2, n_basis, **kw) / channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        p = (min(self.n_patches, h), min(self.n_patches, w))
        if h % p[0] or w % p[1]:
            raise ValueError(f"LSM: a level of grid {h}x{w} cannot be cut into {p[0]}x{p[1]} patches; choose a "
                             f"resolution divisible by n_patches * 2**(levels-1)")
        seq = patchify(x, p)                                              # (B', N, C)
        nh = self.num_heads
        key, value = (_heads(t, nh) for t in self.to_key_value(seq).chunk(2, dim=-1))   # (B', H, N, C/H)
        latent = self.latent.expand(seq.shape[0], -1, -1, -1)                             # (B', H, T, C/H)
        # the authors' softmaxes are unscaled: scale=1 in torch's fused attention
        tokens = F.scaled_dot_product_attention(latent, key, value, scale=1.0) + latent
        tokens = tokens.transpose(1, 2).reshape(seq.shape[0], self.num_tokens, c)         # (B', T, C)
        tokens = _heads(spectral_tokens(tokens, self.coeffs), nh)                         # (B', H, T, C/H)
        query = _heads(self.to_query(seq), nh)                                            # (B', H, N, C/H)
        back = F.scaled_dot_product_attention(query, tokens, tokens, scale=1.0)
        back = back.transpose(1, 2).reshape(seq.shape)
        return x + unpatchify(back, (b, c, h, w), p)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, num_tokens={self.num_tokens}, n_basis={self.n_basis}, "
                f"n_patches={self.n_patches}, num_heads={self.num_heads}")


def double_conv(c_in: int, c_out: int, **kw) -> nn.Sequential:
    """(3x3 conv, batch norm, GELU) twice; same grid size."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False, **kw), nn.BatchNorm2d(c_out, **kw),
                         nn.GELU(), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False, **kw),
                         nn.BatchNorm2d(c_out, **kw), nn.GELU())


@register_operator("lsm", summary="Latent Spectral Model: latent tokens, neural spectral block, U-Net levels (Wu et al. 2023)")
class LSM(nn.Module):
    r"""Latent Spectral Model: (batch, in_channels, h, w) -> (batch, out_channels, h, w).

    Args:
        hidden_channels: width of the first level; level l has ``hidden_channels * min(2**l, max_mult)``;
            divisible by ``num_heads``.
        levels: U-Net levels (grid halves ``levels - 1`` times; sides must be divisible by
            ``n_patches * 2**(levels-1)`` where patches are used).
        num_tokens: latent tokens per patch and head (``n_tokens=`` is a deprecated spelling);
        n_basis: sin/cos frequencies per token channel;
        n_patches: patches per side at the finest level (halved per level, at least 1), i.e. a fixed patch
            size in points, as in the authors' code;
        num_heads: attention heads of the spectral blocks; None: 8 as the authors use, or the largest of 4, 2, 1
            that divides ``hidden_channels``;
        positional: append the grid coordinates in [0, 1] to the input before the lift (the authors do).
    """

    @renamed_kwargs(n_tokens="num_tokens")
    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 16, levels: int = 4,
                 num_tokens: int = 4, n_basis: int = 12, n_patches: int = 4, max_mult: int = 8,
                 num_heads: int | None = None, positional: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.levels = check_int("levels", levels, min_value=1)
        self.num_tokens = check_int("num_tokens", num_tokens, min_value=1)
        self.n_basis = check_int("n_basis", n_basis, min_value=1)
        self.n_patches = check_int("n_patches", n_patches, min_value=1)
        if num_heads is None:
            num_heads = next(n for n in (8, 4, 2, 1) if hidden_channels % n == 0)
        self.num_heads = check_int("num_heads", num_heads, min_value=1)
        if hidden_channels % num_heads:
            raise ValueError(f"hidden_channels ({hidden_channels}) must be divisible by num_heads ({num_heads}): "
                             f"every level's width is a multiple of it")
        check_int("max_mult", max_mult, min_value=1)
        self.positional = bool(positional)
        kw = {"device": device, "dtype": dtype}
        widths = [hidden_channels * min(2 ** lvl, max_mult) for lvl in range(levels)]
        self.widths = widths
        self.fc0 = nn.Conv2d(in_channels + 2 * self.positional, widths[0], 1, **kw)
        self.lift = double_conv(widths[0], widths[0], **kw)
        self.down = nn.ModuleList(double_conv(widths[lvl - 1], widths[lvl], **kw) for lvl in range(1, levels))
        self.blocks = nn.ModuleList(SpectralBlock(widths[lvl], num_tokens, n_basis, max(1, n_patches // 2 ** lvl),
                                                  num_heads, **kw) for lvl in range(levels))
        self.up = nn.ModuleList(double_conv(widths[lvl + 1] + widths[lvl], widths[lvl], **kw)
                                for lvl in range(levels - 1))
        self.project = nn.Sequential(nn.Conv2d(widths[0], widths[0], 1, **kw), nn.Conv2d(widths[0], 128, 1, **kw),
                                     nn.GELU(), nn.Conv2d(128, out_channels, 1, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_channels, h, w) -> (batch, out_channels, h, w)."""
        check_halvable("x", check_image("x", x, self.in_channels), self.levels)
        if self.positional:
            x = append_grid(x)
        feats = [self.lift(self.fc0(x))]
        for down in self.down:
            feats.append(down(F.max_pool2d(feats[-1], 2)))
        feats = [block(f) for block, f in zip(self.blocks, feats)]
        h = feats[-1]
        for lvl in range(self.levels - 2, -1, -1):
            h = F.interpolate(h, size=feats[lvl].shape[-2:], mode="bilinear", align_corners=True)
            h = self.up[lvl](torch.cat([h, feats[lvl]], dim=1))
        return self.project(h)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, widths={self.widths}, "
                f"num_tokens={self.num_tokens}, n_basis={self.n_basis}, n_patches={self.n_patches}, "
                f"num_heads={self.num_heads}, positional={self.positional}")
