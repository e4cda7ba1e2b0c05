r"""Vision Transformer (Dosovitskiy et al., ICLR 2021; DeiT's training-size variants) with pluggable
attention and feed-forward layers, the base that KAT (GR-KAN FFNs) and KArAt (learnable attention) build on.

Images ``(B, C, H, W)`` are cut into ``P x P`` patches, embedded by a strided convolution, prefixed by a class
token, given learned position embeddings and passed through ``depth`` pre-norm blocks

.. math::  z \leftarrow z + \mathrm{DropPath}(\mathrm{Attn}(\mathrm{LN}(z))), \qquad
           z \leftarrow z + \mathrm{DropPath}(\mathrm{FFN}(\mathrm{LN}(z)))

and the class token's final state is classified by a linear head.

Extension points (the design contract other families rely on):

* ``attn_layer(dim, num_heads, block_index) -> nn.Module`` mapping ``(B, N, dim) -> (B, N, dim)``; the default
  is :class:`Attention`, whose ``scores`` and ``normalize`` steps are separate methods so a subclass can swap
  the row normalisation (softmax) for another map.
* ``mlp_layer(dim, hidden) -> nn.Module`` mapping ``(B, N, dim) -> (B, N, dim)``; the default is :class:`Mlp`
  (Linear -> GELU -> Linear).

Every layer initialises its own parameters in its constructor; the ViT never re-initialises layers it did not
create, so a custom layer's initialisation (e.g. GR-KAN's variance-preserving one) survives.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_float, check_int, check_tensor
from ._registry import register_model

AttnFactory = Callable[[int, int, int], nn.Module]
MlpFactory = Callable[[int, int], nn.Module]


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero each sample's residual branch with probability ``p`` and rescale by 1/(1-p).

    x: (B, ...). Identity when ``p == 0`` or not ``training``. (Huang et al., 2016.)
    """
    if p == 0.0 or not training:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


def trunc_normal_init_(linear: nn.Linear, std: float = 0.02) -> None:
    """timm/DeiT init of a Linear: weights ~ N(0, std^2) truncated at +-2 std, bias 0."""
    nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std, b=2 * std)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)


class DropPath(nn.Module):
    """Module form of :func:`drop_path`."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = check_float("p", p, min_value=0.0, max_value=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


class Attention(nn.Module):
    r"""Multi-head self-attention, x: (B, N, dim) -> (B, N, dim).

    ``scores(q, k) = q k^T / sqrt(d_head)`` (B, H, N, N), ``normalize(scores)`` = row softmax, output
    ``proj(normalize(scores) v)``. A subclass overrides ``normalize`` (and/or ``scores``) to change the
    attention map; the unmodified class takes PyTorch's fused ``scaled_dot_product_attention`` path.
    """

    def __init__(self, dim: int, num_heads: int, block_index: int = 0, qkv_bias: bool = True, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_int("dim", dim, min_value=1)
        check_int("num_heads", num_heads, min_value=1)
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.dim, self.num_heads, self.block_index = dim, num_heads, block_index
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias, device=device, dtype=dtype)
        self.proj = nn.Linear(dim, dim, device=device, dtype=dtype)
        trunc_normal_init_(self.qkv)
        trunc_normal_init_(self.proj)

    def scores(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """q, k: (B, H, N, d_head) -> (B, H, N, N) scaled dot products."""
        return (q * self.scale) @ k.transpose(-2, -1)

    def normalize(self, scores: torch.Tensor) -> torch.Tensor:
        """Row normalisation of the score matrix (B, H, N, N); softmax over the last dim."""
        return scores.softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        fused = type(self).scores is Attention.scores and type(self).normalize is Attention.normalize
        if fused:
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            out = self.normalize(self.scores(q, k)) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"


class Mlp(nn.Module):
    """The standard transformer FFN, x: (..., dim) -> (..., dim): fc2(GELU(fc1(x))), hidden width ``hidden``."""

    def __init__(self, dim: int, hidden: int, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_int("dim", dim, min_value=1)
        check_int("hidden", hidden, min_value=1)
        self.fc1 = nn.Linear(dim, hidden, device=device, dtype=dtype)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim, device=device, dtype=dtype)
        trunc_normal_init_(self.fc1)
        trunc_normal_init_(self.fc2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block, x: (B, N, dim) -> (B, N, dim)."""

    def __init__(self, attn: nn.Module, mlp: nn.Module, dim: int, drop_path: float = 0.0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, device=device, dtype=dtype)
        self.attn = attn
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, device=device, dtype=dtype)
        self.mlp = mlp
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def _place(module: nn.Module, device: Any, dtype: Any) -> nn.Module:
    if device is not None or dtype is not None:
        module = module.to(device=device, dtype=dtype)
    return module


class VisionTransformer(nn.Module):
    """ViT classifier, images (B, in_chans, img_size, img_size) -> logits (B, num_classes).

    Args:
        img_size, patch_size: square image side and patch side (``img_size % patch_size == 0``).
        embed_dim, depth, num_heads, mlp_ratio: width, number of blocks, heads, FFN hidden = mlp_ratio * dim.
        drop_path_rate: stochastic depth, rising linearly from 0 (first block) to this value (last block).
        attn_layer: ``(dim, num_heads, block_index) -> module``; default :class:`Attention`.
        mlp_layer: ``(dim, hidden) -> module``; default :class:`Mlp`.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 192, depth: int = 12, num_heads: int = 3, mlp_ratio: float = 4.0,
                 drop_path_rate: float = 0.0, attn_layer: AttnFactory | None = None,
                 mlp_layer: MlpFactory | None = None, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_int("img_size", img_size, min_value=1)
        check_int("patch_size", patch_size, min_value=1)
        if img_size % patch_size:
            raise ValueError(f"img_size ({img_size}) must be divisible by patch_size ({patch_size})")
        check_int("in_chans", in_chans, min_value=1)
        check_int("num_classes", num_classes, min_value=1)
        check_int("embed_dim", embed_dim, min_value=1)
        check_int("depth", depth, min_value=1)
        check_int("num_heads", num_heads, min_value=1)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        check_float("mlp_ratio", mlp_ratio, min_value=0.0, strict_min=True)
        check_float("drop_path_rate", drop_path_rate, min_value=0.0, max_value=1.0)
        self.img_size, self.patch_size, self.in_chans = img_size, patch_size, in_chans
        self.num_classes, self.embed_dim, self.depth = num_classes, embed_dim, depth
        self.num_patches = (img_size // patch_size) ** 2
        hidden = int(embed_dim * mlp_ratio)
        kw = {"device": device, "dtype": dtype}

        self.patch_embed = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size, **kw)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim, **kw))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 1, embed_dim, **kw))
        rates = torch.linspace(0, drop_path_rate, depth).tolist()
        blocks = []
        for i in range(depth):
            attn = (Attention(embed_dim, num_heads, i, **kw) if attn_layer is None
                    else _place(attn_layer(embed_dim, num_heads, i), device, dtype))
            mlp = (Mlp(embed_dim, hidden, **kw) if mlp_layer is None
                   else _place(mlp_layer(embed_dim, hidden), device, dtype))
            blocks.append(Block(attn, mlp, embed_dim, rates[i], **kw))
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6, **kw)
        self.head = nn.Linear(embed_dim, num_classes, **kw)

        # Only the parameters this class created itself are initialised here (see the module docstring).
        nn.init.trunc_normal_(self.pos_embed, std=0.02, a=-0.04, b=0.04)
        nn.init.trunc_normal_(self.cls_token, std=1e-6)
        w = self.patch_embed.weight
        nn.init.trunc_normal_(w.view(w.shape[0], -1), std=0.02, a=-0.04, b=0.04)
        nn.init.zeros_(self.patch_embed.bias)
        trunc_normal_init_(self.head)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_chans, img_size, img_size) -> tokens (B, 1 + num_patches, embed_dim), final norm applied."""
        check_tensor("x", x, ndim=4)
        if x.shape[1:] != (self.in_chans, self.img_size, self.img_size):
            raise ValueError(f"x must have shape (B, {self.in_chans}, {self.img_size}, {self.img_size}), "
                             f"got {tuple(x.shape)}")
        z = self.patch_embed(x).flatten(2).transpose(1, 2)
        z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1), z], dim=1) + self.pos_embed
        for block in self.blocks:
            z = block(z)
        return self.norm(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x)[:, 0])

    def extra_repr(self) -> str:
        return f"img_size={self.img_size}, patch_size={self.patch_size}, num_patches={self.num_patches}"


# Paper sizes (DeiT-Ti/S/B); every keyword of VisionTransformer can be overridden.
VIT_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"embed_dim": 192, "depth": 12, "num_heads": 3, "drop_path_rate": 0.1},
    "small": {"embed_dim": 384, "depth": 12, "num_heads": 6, "drop_path_rate": 0.1},
    "base": {"embed_dim": 768, "depth": 12, "num_heads": 12, "drop_path_rate": 0.1},
}


def vit_config(size: str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of the named size (224px, patch 16, 3 channels, 1000 classes) with ``overrides``."""
    from .._validation import check_choice

    check_choice("size", size, list(VIT_SIZES))
    return {"img_size": 224, "patch_size": 16, "in_chans": 3, "num_classes": 1000, **VIT_SIZES[size], **overrides}


@register_model("vit_tiny", summary="ViT-Ti/16 (dim 192, depth 12, 3 heads); img_size etc. overridable")
def vit_tiny(**kwargs: Any) -> VisionTransformer:
    """ViT-Tiny/16 (DeiT-Ti, 5.7M parameters at 224px / 1000 classes)."""
    return VisionTransformer(**vit_config("tiny", **kwargs))


@register_model("vit_small", summary="ViT-S/16 (dim 384, depth 12, 6 heads); img_size etc. overridable")
def vit_small(**kwargs: Any) -> VisionTransformer:
    """ViT-Small/16 (DeiT-S, 22.1M parameters at 224px / 1000 classes)."""
    return VisionTransformer(**vit_config("small", **kwargs))


@register_model("vit_base", summary="ViT-B/16 (dim 768, depth 12, 12 heads); img_size etc. overridable")
def vit_base(**kwargs: Any) -> VisionTransformer:
    """ViT-Base/16 (DeiT-B, 86.6M parameters at 224px / 1000 classes)."""
    return VisionTransformer(**vit_config("base", **kwargs))
