"""Kolmogorov-Arnold Transformer (Yang & Wang, ICLR 2025): the ViT of :mod:`basiskit.models.vit` with every
FFN replaced by GR-KAN (group-rational -> Linear -> group-rational -> Linear, 8 groups, m = 5, n = 4).

Sizes follow the paper (KAT-T/S/B = ViT-T/S/B widths, patch 16, depth 12); every keyword of
:class:`~basiskit.models.vit.VisionTransformer` can be overridden (``img_size=28, patch_size=4, in_chans=1``).
"""
from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from .._validation import check_choice, check_int
from ..nn.grkan import GRKAN
from ._registry import register_model
from .vit import AttnFactory, VisionTransformer, vit_config


def grkan_layer(dim: int, hidden: int, *, groups: int = 8, act_init: str = "gelu") -> nn.Module:
    """The ViT ``mlp_layer`` factory of KAT: ``GRKAN(dim, hidden, dim, groups, act_init)``."""
    return GRKAN(dim, hidden, dim, groups=groups, act_init=act_init)


class KAT(VisionTransformer):
    """ViT with GR-KAN FFNs, images (B, in_chans, H, W) -> logits (B, num_classes).

    ``groups`` and ``act_init`` configure every GR-KAN (embed_dim and the hidden width must be divisible by
    ``groups``); the other arguments are the ViT's, including ``attn_layer`` (KAT with learnable attention).
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 192, depth: int = 12, num_heads: int = 3, mlp_ratio: float = 4.0,
                 drop_path_rate: float = 0.0, attn_layer: AttnFactory | None = None, *, groups: int = 8,
                 act_init: str = "gelu", device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, **unexpected: Any) -> None:
        if "mlp_layer" in unexpected:
            raise ValueError("KAT builds its own mlp_layer (GRKAN); use VisionTransformer for a custom one")
        if unexpected:
            raise TypeError(f"KAT got unexpected keyword arguments {sorted(unexpected)}")
        check_int("groups", groups, min_value=1)
        check_choice("act_init", act_init, ["gelu", "swish"])
        check_int("embed_dim", embed_dim, min_value=1)
        hidden = int(embed_dim * mlp_ratio)
        if embed_dim % groups or hidden % groups:
            raise ValueError(f"embed_dim ({embed_dim}) and the FFN hidden width embed_dim * mlp_ratio ({hidden}) "
                             f"must be divisible by groups ({groups})")
        super().__init__(img_size, patch_size, in_chans, num_classes, embed_dim, depth, num_heads, mlp_ratio,
                         drop_path_rate, attn_layer, partial(grkan_layer, groups=groups, act_init=act_init),
                         device=device, dtype=dtype)
        self.groups, self.act_init = groups, act_init


def _kat(size: str, kwargs: dict[str, Any]) -> KAT:
    return KAT(**vit_config(size, **kwargs))


@register_model("kat_tiny", summary="KAT-T: ViT-Ti/16 with GR-KAN FFNs (5.7M params at 224px)")
def kat_tiny(**kwargs: Any) -> KAT:
    """KAT-Tiny (dim 192, depth 12, 3 heads, GR-KAN with 8 groups)."""
    return _kat("tiny", kwargs)


@register_model("kat_small", summary="KAT-S: ViT-S/16 with GR-KAN FFNs (22.1M params at 224px)")
def kat_small(**kwargs: Any) -> KAT:
    """KAT-Small (dim 384, depth 12, 6 heads, GR-KAN with 8 groups)."""
    return _kat("small", kwargs)


@register_model("kat_base", summary="KAT-B: ViT-B/16 with GR-KAN FFNs (86.6M params at 224px)")
def kat_base(**kwargs: Any) -> KAT:
    """KAT-Base (dim 768, depth 12, 12 heads, GR-KAN with 8 groups)."""
    return _kat("base", kwargs)
