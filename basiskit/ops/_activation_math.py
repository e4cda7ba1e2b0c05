r"""The one activation registry: a name maps to its function, a module factory and its derivative.

Public home: :mod:`basiskit.nn.activations` (``get_activation``, ``activation_names``, ``Activation``). The table
itself lives here, in ``ops``, because the fused ops need it too: the B-spline KAN kernel (:mod:`.bspline`,
:mod:`.bspline_native`) evaluates :math:`\sigma(x)` and :math:`\sigma'(x)` of its base term by name, and ``ops``
sits *below* ``nn`` (nn -> (ops, bases) -> ...), so ``ops`` may not import ``nn``. ``nn.activations`` re-exports
this module; layers, operators and models all resolve activation names through it.

Each entry is written once:

* ``fn(x)``: the function on tensors (``torch.nn.functional`` where one exists);
* ``module()``: a fresh ``nn.Module`` computing the same thing (``nn.GELU()``, ...), for ``nn.Sequential`` stacks;
* ``derivative(x)``: :math:`\sigma'(x)` written with differentiable tensor ops (so a double backward through a
  fused op works), equal to what ``torch.autograd`` gives for ``fn`` - including its convention at a kink
  (``relu'(0) = 0``, ``leaky_relu'(0) = slope``, ``selu'(0) = scale * alpha``);
* ``backward(grad, x)``: ``grad * derivative(x)``; outside grad mode it takes ATen's single fused backward kernel
  where there is one (silu, gelu), the first-backward hot path of the fused KAN layer.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import unknown_name_message

Tensor = torch.Tensor

# constants of torch.nn.functional's defaults, used by the derivatives below
_LEAKY_SLOPE = 0.01
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SOFTPLUS_THRESHOLD = 20.0
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@dataclass(frozen=True)
class Activation:
    """One named activation: ``fn`` (tensor -> tensor), ``module`` (a factory of an ``nn.Module`` computing
    ``fn``), ``derivative`` (x -> sigma'(x), same shape, differentiable). See the module docstring."""

    name: str
    fn: Callable[[Tensor], Tensor]
    module: Callable[[], nn.Module]
    derivative: Callable[[Tensor], Tensor]
    fused_backward: Callable[[Tensor, Tensor], Tensor] | None = field(default=None, repr=False)

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def backward(self, grad: Tensor, x: Tensor) -> Tensor:
        """``grad * sigma'(x)``; differentiable under grad mode (a double backward), else ATen's fused kernel
        where there is one."""
        if self.fused_backward is not None and not torch.is_grad_enabled():
            return self.fused_backward(grad, x)
        return grad * self.derivative(x)


def _identity(x: Tensor) -> Tensor:
    return x


class Erf(nn.Module):
    """:math:`\\operatorname{erf}(x)`, the activation whose NNGP/NTK have closed forms (Williams 1997)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.erf(x)


def _silu_derivative(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


def _gelu_derivative(x: Tensor) -> Tensor:
    cdf = 0.5 * (1 + torch.erf(x * _INV_SQRT_2))
    return cdf + x * torch.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _sigmoid_derivative(x: Tensor) -> Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s)


def _softplus_derivative(x: Tensor) -> Tensor:
    # F.softplus returns x itself above the threshold, so its slope there is exactly 1
    return torch.where(x > _SOFTPLUS_THRESHOLD, torch.ones_like(x), torch.sigmoid(x))


def _elu_derivative(x: Tensor) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), torch.exp(x))


def _selu_derivative(x: Tensor) -> Tensor:
    return torch.where(x > 0, torch.full_like(x, _SELU_SCALE), _SELU_SCALE * _SELU_ALPHA * torch.exp(x))


def _leaky_relu_derivative(x: Tensor) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, _LEAKY_SLOPE))


_TABLE: dict[str, Activation] = {a.name: a for a in (
    Activation("silu", F.silu, nn.SiLU, _silu_derivative,
               lambda g, x: torch.ops.aten.silu_backward(g, x)),
    Activation("gelu", F.gelu, nn.GELU, _gelu_derivative,
               lambda g, x: torch.ops.aten.gelu_backward(g, x)),
    Activation("relu", F.relu, nn.ReLU, lambda x: (x > 0).to(x.dtype)),
    Activation("tanh", torch.tanh, nn.Tanh, lambda x: 1 - torch.tanh(x) ** 2),
    Activation("sigmoid", torch.sigmoid, nn.Sigmoid, _sigmoid_derivative),
    Activation("softplus", F.softplus, nn.Softplus, _softplus_derivative),
    Activation("elu", F.elu, nn.ELU, _elu_derivative),
    Activation("selu", F.selu, nn.SELU, _selu_derivative),
    Activation("leaky_relu", F.leaky_relu, nn.LeakyReLU, _leaky_relu_derivative),
    Activation("erf", torch.erf, Erf, lambda x: _TWO_OVER_SQRT_PI * torch.exp(-x * x)),
    Activation("identity", _identity, nn.Identity, torch.ones_like),
)}


def activation_names() -> list[str]:
    """Every registered activation name, sorted."""
    return sorted(_TABLE)


def get_activation(name: str, *, arg: str = "activation") -> Activation:
    """The :class:`Activation` called ``name``; ValueError naming ``arg`` with close matches if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"{arg} must be an activation name (str), got {type(name).__name__} {name!r}")
    try:
        return _TABLE[name]
    except KeyError:
        raise ValueError(f"{arg}: {unknown_name_message('activation', name, _TABLE)}") from None
