r"""ViT with Kolmogorov-Arnold attention (KArAt; Maity et al. 2025): every block's row softmax replaced by a
learnable operator (:class:`basiskit.nn.KANAttention`), Fourier basis with ``G = 3`` and rank 12 by default.

``mode="blockwise"`` gives each block its own operator; ``mode="universal"`` builds one operator in the first
block and shares it with all the others. Everything else is the plain ViT (``basiskit.models.vit``).
"""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .._validation import check_choice, check_int
from ..nn.attention import MODES, KANAttention
from ._registry import register_model
from .vit import VisionTransformer, vit_config


def karat_attention_factory(num_tokens: int, basis: str | nn.Module = "fourier", grid_size: int = 3,
                            rank: int = 12, mode: str = "blockwise", base: str = "none", impl: str = "fused",
                            basis_kwargs: dict | None = None) -> Any:
    """An ``attn_layer(dim, num_heads, block_index)`` for :class:`VisionTransformer` building KANAttention
    blocks; in "universal" mode all blocks it builds share the first block's operator."""
    check_int("num_tokens", num_tokens, min_value=1)
    check_choice("mode", mode, MODES)
    shared: dict[str, Any] = {}

    def make(dim: int, num_heads: int, block_index: int) -> KANAttention:
        layer = KANAttention(dim, num_heads, basis, grid_size, rank, mode, num_tokens=num_tokens,
                             operator=shared.get("op"), base=base, impl=impl, basis_kwargs=basis_kwargs)
        if mode == "universal":
            shared.setdefault("op", layer.operator)
        return layer

    return make


def vit_karat(size: str, basis: str | nn.Module = "fourier", grid_size: int = 3, rank: int = 12,
              mode: str = "blockwise", base: str = "none", impl: str = "fused", basis_kwargs: dict | None = None,
              **kwargs: Any) -> VisionTransformer:
    """ViT of the named size (``vit_config``, any keyword overridable) with KArAt in every block."""
    cfg = vit_config(size, **kwargs)
    check_int("img_size", cfg["img_size"], min_value=1)
    check_int("patch_size", cfg["patch_size"], min_value=1)
    num_tokens = (cfg["img_size"] // cfg["patch_size"]) ** 2 + 1  # patches + class token
    factory = karat_attention_factory(num_tokens, basis, grid_size, rank, mode, base, impl, basis_kwargs)
    return VisionTransformer(**cfg, attn_layer=factory)


@register_model("vit_tiny_karat", summary="ViT-Ti with Fourier-KArAt attention (G=3, rank 12; blockwise/universal)")
def vit_tiny_karat(**kwargs: Any) -> VisionTransformer:
    """ViT-Tiny with Fourier-KArAt; keywords of ``vit_karat`` and ``VisionTransformer``."""
    return vit_karat("tiny", **kwargs)


@register_model("vit_small_karat", summary="ViT-S with Fourier-KArAt attention (G=3, rank 12; blockwise/universal)")
def vit_small_karat(**kwargs: Any) -> VisionTransformer:
    """ViT-Small with Fourier-KArAt; keywords of ``vit_karat`` and ``VisionTransformer``."""
    return vit_karat("small", **kwargs)


@register_model("vit_base_karat", summary="ViT-B with Fourier-KArAt attention (G=3, rank 12; blockwise/universal)")
def vit_base_karat(**kwargs: Any) -> VisionTransformer:
    """ViT-Base with Fourier-KArAt; keywords of ``vit_karat`` and ``VisionTransformer``."""
    return vit_karat("base", **kwargs)
