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

from .._validation import check_int
from ..nn.grkan import GRKAN
from . import register_model
from .vit import VisionTransformer, vit_config


def grkan_layer(dim: int, hidden: int, *, groups: int = 8, act_init: str = "gelu") -> nn.Module:
    """The ViT ``mlp_layer`` factory of KAT: ``GRKAN(dim, hidden, dim, groups, act_init)``."""
    return GRKAN(dim, hidden, dim, groups=groups, act_init=act_init)


class KAT(VisionTransformer):
    """ViT with GR-KAN FFNs, images (B, in_chans, H, W) -> logits (B, num_classes).

    ``groups`` and ``act_init`` configure every GR-KAN; the other arguments are the ViT's.
    """

    def __init__(self, *args: Any, groups: int = 8, act_init: str = "gelu",
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None, **kwargs: Any) -> None:
        check_int("groups", groups, min_value=1)
        if "mlp_layer" in kwargs:
            raise ValueError("KAT builds its own mlp_layer (GRKAN); use VisionTransformer for a custom one")
        super().__init__(*args, mlp_layer=partial(grkan_layer, groups=groups, act_init=act_init),
                         device=device, dtype=dtype, **kwargs)
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
