"""Plain multilayer perceptron, the baseline every basis method is compared against."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_widths
from ..nn.activations import get_activation
from ._registry import register_model


@register_model("mlp", summary="multilayer perceptron: widths [in, hidden..., out], one activation")
class MLP(nn.Module):
    """x: (..., widths[0]) -> (..., widths[-1]); Linear layers with ``activation`` (a name of
    :mod:`basiskit.nn.activations`) between them."""

    def __init__(self, widths: Sequence[int], activation: str = "tanh", *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        widths = check_widths("widths", widths)
        act = get_activation(activation)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b, device=device, dtype=dtype))
            if i < len(widths) - 2:
                layers.append(act.module())
        self.net = nn.Sequential(*layers)
        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.widths[0]:
            raise ValueError(f"MLP expects last dim {self.widths[0]}, got input shape {tuple(x.shape)}")
        return self.net(x)
