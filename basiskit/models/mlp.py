"""Plain multilayer perceptron, the baseline every basis method is compared against."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_widths
from . import register_model

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "sigmoid": nn.Sigmoid,
               "softplus": nn.Softplus, "identity": nn.Identity}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (``tanh``, ``relu``, ``gelu``, ``silu``, ...)."""
    check_choice("activation", name, list(ACTIVATIONS))
    return ACTIVATIONS[name]()


@register_model("mlp", summary="multilayer perceptron: widths [in, hidden..., out], one activation")
class MLP(nn.Module):
    """x: (..., widths[0]) -> (..., widths[-1]); Linear layers with ``activation`` between them."""

    def __init__(self, widths: Sequence[int], activation: str = "tanh", *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        widths = check_widths("widths", widths)
        check_choice("activation", activation, list(ACTIVATIONS))
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b, device=device, dtype=dtype))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.widths[0]:
            raise ValueError(f"MLP expects last dim {self.widths[0]}, got input shape {tuple(x.shape)}")
        return self.net(x)
