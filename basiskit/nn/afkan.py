r"""AF-KAN and ReLU-KAN layers: KANs whose basis is built from two shifted activations per grid cell.

ReLU-KAN (Qiu et al. 2024) replaces B-splines by bumps made of two ReLUs,

.. math::  b_c(x) = \big(r\,\mathrm{ReLU}(x - l_c)\,\mathrm{ReLU}(h_c - x)\big)^2,
           \qquad l_c = \tfrac{c - k}{g},\; h_c = l_c + \tfrac{k + 1}{g},\; r = \tfrac{4 g^2}{(k+1)^2},

for the ``g + k`` cells ``c = 0 .. g + k - 1`` (peak value 1 at the cell centre), then mixes all
``in_features * (g + k)`` bump values with one linear map.

AF-KAN (Ta & Tran, "AF-KAN: Activation function-based Kolmogorov-Arnold networks for efficient
representation learning", 2025) generalises the two ReLUs to any activation ``s`` and any combination of
:math:`x_1 = s(x - l_c)`, :math:`x_2 = s(h_c - x)` (``COMBOS``), normalises the features to [0, 1], and
then *reduces* the ``g + k`` features of each input to one number before a plain linear map, so that the
layer has about the parameters of ``nn.Linear``:

.. math::  e_i = \mathrm{softmax}_i\!\Big(\tfrac{w^\top f_i + b}{\max(\tau, 1)}\Big), \quad
           \tilde x_i = \sum_c f_{ic}\, e_i, \quad y = W\, s(\mathrm{LayerNorm}(\tilde x)) + \beta

(``reduction="global_attn"``; ``"linear"`` uses :math:`\tilde x_i = w^\top f_i + b`).

The reference code min-max normalises the feature tensor of the *whole batch* at once, so one sample's
output depends on the other samples in its batch. Here ``norm="sample"`` (default) normalises each
sample's ``(in_features, g + k)`` features on their own; ``norm="batch"`` keeps the reference behaviour
(outputs then change with batch composition; use it only to reproduce the paper's numbers) and
``norm="none"`` skips the step.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_int, check_tensor
from ..bases.bspline import check_domain
from .activations import get_activation

COMBOS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "quad1": lambda a, b: (a * b) ** 2,
    "quad2": lambda a, b: a * b + a * a + b * b,
    "sum": lambda a, b: a + b,
    "prod": lambda a, b: a * b,
    "sum_prod": lambda a, b: a + b + a * b,
    "cubic1": lambda a, b: (a + b) * (a * a + b * b),
    "cubic2": lambda a, b: (a * b) ** 3,
}
NORMS = ("sample", "batch", "none")
REDUCTIONS = ("global_attn", "linear")


def relu_kan_basis(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, r: float) -> torch.Tensor:
    r"""ReLU-KAN bumps :math:`(r\,\mathrm{ReLU}(x - l)\,\mathrm{ReLU}(h - x))^2`.

    x: (batch, in_features); low, high: (in_features, n_cells) or (n_cells,) -> (batch, in_features, n_cells).
    """
    u = x.unsqueeze(-1)
    return (r * F.relu(u - low) * F.relu(high - u)) ** 2


def af_kan_features(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, activation: str = "silu",
                    combo: str = "quad1", norm: str = "sample", eps: float = 1e-8) -> torch.Tensor:
    """AF-KAN features ``combo(s(x - low), s(high - x))``, min-max normalised per ``norm``.

    x: (batch, in_features); low, high: (n_cells,) -> (batch, in_features, n_cells), values in [0, 1]
    unless ``norm="none"``.
    """
    u = x.unsqueeze(-1)
    act = get_activation(activation).fn
    feats = COMBOS[combo](act(u - low), act(high - u))
    if norm == "none":
        return feats
    dims = (-2, -1) if norm == "sample" else tuple(range(feats.ndim))
    lo = feats.amin(dim=dims, keepdim=True)
    hi = feats.amax(dim=dims, keepdim=True)
    return (feats - lo) / (hi - lo + eps)


def _grid(grid_size: int, order: int, domain: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor, float]:
    lo, hi = domain
    step = (hi - lo) / grid_size
    low = lo + step * torch.arange(-order, grid_size, dtype=torch.float64)
    high = low + step * (order + 1)
    width = step * (order + 1)
    return low, high, 4.0 / width ** 2


class ReLUKANLinear(nn.Module):
    r"""ReLU-KAN layer (Qiu et al., "ReLU-KAN: New Kolmogorov-Arnold networks that only need matrix
    addition, dot multiplication, and ReLU", 2024), correct for any number of inputs.

    The original code reshapes the ``(batch, in, cells)`` bump tensor to ``(batch, 1, cells, in)`` (a
    reshape, not a transpose), which mixes up inputs and cells as soon as ``in_features > 1``; here the
    bumps are contracted with a ``(out, in, cells)`` weight by ``einsum``.

    x: (..., in_features) -> (..., out_features). Bumps cover ``domain`` (default [0, 1]) with ``grid_size``
    cells and overlap ``order``; each input has its own learnable cell bounds when ``train_bounds``.
    """

    def __init__(self, in_features: int, out_features: int, grid_size: int = 5, order: int = 3,
                 domain: tuple[float, float] = (0.0, 1.0), train_bounds: bool = True, bias: bool = True, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.out_features = check_int("out_features", out_features, min_value=1)
        self.grid_size = check_int("grid_size", grid_size, min_value=1)
        self.order = check_int("order", order, min_value=0)
        self.domain = check_domain(domain)
        low, high, self.r = _grid(grid_size, order, self.domain)
        n_cells = grid_size + order
        kw = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.low = nn.Parameter(low.to(**kw).expand(in_features, n_cells).clone(), requires_grad=train_bounds)
        self.high = nn.Parameter(high.to(**kw).expand(in_features, n_cells).clone(), requires_grad=train_bounds)
        bound = 1.0 / math.sqrt(in_features * n_cells)
        self.weight = nn.Parameter(torch.empty(out_features, in_features, n_cells, **kw).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_features, **kw)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_ndim=1, last_dim=self.in_features)
        lead = x.shape[:-1]
        feats = relu_kan_basis(x.reshape(-1, self.in_features), self.low, self.high, self.r)
        out = torch.einsum("bic,oic->bo", feats, self.weight)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, grid_size={self.grid_size}, "
                f"order={self.order}, domain={self.domain}")


class AFKANLinear(nn.Module):
    r"""AF-KAN layer (Ta & Tran 2025); see the module docstring for the equations.

    x: (..., in_features) -> (..., out_features).

    Args:
        activation: ``s`` in :math:`s(x - l_c)`, :math:`s(h_c - x)` and before the final linear map
            (a name of :mod:`basiskit.nn.activations`; "relu" with combo "quad1" gives ReLU-KAN bumps).
        combo: how the two activations are combined (``COMBOS``: quad1, quad2, sum, prod, sum_prod, cubic1,
            cubic2).
        reduction: "global_attn" (softmax over inputs with a learnable temperature) or "linear".
        grid_size, order: ``grid_size + order`` cells on ``domain``; cell bounds are learnable, shared by all
            inputs (as in the reference).
        norm: "sample" (default, per-sample min-max), "batch" (reference: whole-batch min-max, so a
            sample's output depends on its batch) or "none".
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "silu", combo: str = "quad1",
                 reduction: str = "global_attn", grid_size: int = 3, order: int = 3, norm: str = "sample",
                 domain: tuple[float, float] = (0.0, 1.0), bias: bool = True, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.out_features = check_int("out_features", out_features, min_value=1)
        self.activation = get_activation(activation).name
        self.combo = check_choice("combo", combo, list(COMBOS))
        self.reduction = check_choice("reduction", reduction, list(REDUCTIONS))
        self.norm = check_choice("norm", norm, list(NORMS))
        self.grid_size = check_int("grid_size", grid_size, min_value=1)
        self.order = check_int("order", order, min_value=0)
        self.domain = check_domain(domain)
        low, high, _ = _grid(grid_size, order, self.domain)
        n_cells = grid_size + order
        kw = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.low = nn.Parameter(low.to(**kw))
        self.high = nn.Parameter(high.to(**kw))
        self.cell_mix = nn.Linear(n_cells, 1, **kw)
        self.temperature = (nn.Parameter(torch.tensor(math.sqrt(in_features), **kw))
                            if reduction == "global_attn" else None)
        self.layer_norm = nn.LayerNorm(in_features, **kw)
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **kw))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(out_features, **kw)) if bias else None

    def reduce(self, feats: torch.Tensor) -> torch.Tensor:
        """(batch, in_features, n_cells) -> (batch, in_features): one number per input."""
        score = self.cell_mix(feats)  # (batch, in, 1)
        if self.reduction == "linear":
            return score.squeeze(-1)
        weights = torch.softmax(score / self.temperature.clamp(min=1.0), dim=-2)
        return (feats * weights).sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_ndim=1, last_dim=self.in_features)
        lead = x.shape[:-1]
        feats = af_kan_features(x.reshape(-1, self.in_features), self.low, self.high, self.activation,
                                self.combo, self.norm)
        hidden = self.layer_norm(self.reduce(feats))
        out = F.linear(get_activation(self.activation).fn(hidden), self.weight, self.bias)
        return out.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation!r}, "
                f"combo={self.combo!r}, reduction={self.reduction!r}, grid_size={self.grid_size}, "
                f"order={self.order}, norm={self.norm!r}")
