"""KAN stacks by name: ``create("kan", widths=[2, 5, 1], grid_size=5)`` builds ``basiskit.nn.KAN``."""
from __future__ import annotations

from ..nn.kan import KAN
from ._registry import register_model

register_model("kan", summary="Kolmogorov-Arnold network (Liu et al. 2024): widths, basis, grid_size, order")(KAN)
