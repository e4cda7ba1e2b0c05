"""Whole networks by name: ``create("mlp", widths=[2, 64, 1])``, ``names()``, ``register_model``.

Every module in this package is imported on the first lookup, so new models only need
``@register_model("name")`` in their own file.
"""
from __future__ import annotations

from ._registry import MODELS, create, names, register_model
from .karat import vit_karat
from .kat import KAT
from .mlp import MLP
from .vit import Attention, Block, Mlp, VisionTransformer

__all__ = ["KAT", "MLP", "MODELS", "Attention", "Block", "Mlp", "VisionTransformer", "create", "names",
           "register_model", "vit_karat"]
