"""Parameter counting, shared by every family (recipes match models by it)."""
from __future__ import annotations

from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Real parameters of ``module`` (a complex parameter counts its real and imaginary parts)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters())
