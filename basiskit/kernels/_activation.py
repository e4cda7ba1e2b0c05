r"""Activation lookup for the kernels package: a name gives the function and its derivative.

Names resolve through basiskit's one activation registry (``basiskit.nn.activations.get_activation``).
The infinite-width formulas need one activation the registry does not carry, ``erf`` (the NNGP and NTK of an erf
network have closed forms: Williams 1997), so it is added here beside the registry's entries; if the registry
gains an ``erf`` entry, this module's extra entry is dropped and nothing else changes.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .._validation import unknown_name_message
from ..nn.activations import activation_names, get_activation

Tensor = torch.Tensor

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@dataclass(frozen=True)
class KernelActivation:
    """``fn(x)`` and ``derivative(x)`` (elementwise, same shape) and ``module()`` of one named activation."""

    name: str
    fn: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]
    module: Callable[[], nn.Module]


class _Erf(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.erf(x)


_EXTRA = {"erf": KernelActivation("erf", torch.erf, lambda x: _TWO_OVER_SQRT_PI * torch.exp(-x * x), _Erf)}


def _registry() -> dict[str, KernelActivation]:
    return {name: KernelActivation(name, entry.fn, entry.derivative, entry.module)
            for name in activation_names() for entry in (get_activation(name),)}


def kernel_activation_names() -> list[str]:
    """Every activation name the kernels package accepts (the registry's plus ``erf``), sorted."""
    return sorted(set(_registry()) | set(_EXTRA))


def get_kernel_activation(name: str, *, arg: str = "activation") -> KernelActivation:
    """The activation called ``name``; TypeError/ValueError naming ``arg`` (with close matches) otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"{arg} must be an activation name (str), got {type(name).__name__} {name!r}")
    if name in _EXTRA:
        return _EXTRA[name]
    table = _registry()
    if name not in table:
        raise ValueError(f"{arg}: {unknown_name_message('activation', name, set(table) | set(_EXTRA))}")
    return table[name]
