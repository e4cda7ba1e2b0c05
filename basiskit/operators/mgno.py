r"""MgNO: neural operator layers whose linear operators are multigrid V-cycles.

He, Liu, Xu (2024), "MgNO: Efficient Parameterization of Linear Operators via Multigrid". Each layer is

.. math::
    u_{l+1} = \sigma\big(\mathcal{W}^{(l)}_{mg} u_l + W^{(l)} u_l + b^{(l)}\big),

with :math:`\mathcal{W}_{mg}` one V-cycle of a multigrid solver for :math:`A v = f` with :math:`f = u_l`:
on each level, smoothing :math:`v \leftarrow v + S(f - A v)` (3x3 convolutions), the residual restricted to the
coarser grid by a stride-2 3x3 convolution :math:`R`, the coarse correction prolonged back by a stride-2
transposed 3x3 convolution :math:`P`, and post-smoothing. No activation or bias inside the cycle, so
:math:`\mathcal{W}_{mg}` is linear in :math:`u`. :math:`W` is a 1x1 convolution, :math:`b` a per-channel bias.
There is no lifting or projection: the first layer maps ``in_channels`` to ``hidden_channels``, the last maps to
``out_channels`` and has no activation. Boundaries: ``padding="zeros"`` (Dirichlet) or ``"periodic"``.

Shapes (2-D): restriction (batch, c, h, w) -> (batch, c, ceil(h/2), ceil(w/2)); prolongation
(batch, c, ceil(h/2), ceil(w/2)) -> (batch, c, h, w).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_choice, check_int
from ..nn.activations import get_activation
from ._registry import register_operator
from .common import check_image

PADDINGS = ("zeros", "periodic")
_MODE = {"zeros": "constant", "periodic": "circular"}


def _pad(x: torch.Tensor, padding: str) -> torch.Tensor:
    return F.pad(x, (1, 1, 1, 1), mode=_MODE[padding])


def conv3x3(x: torch.Tensor, weight: torch.Tensor, padding: str) -> torch.Tensor:
    """Same-size 3x3 convolution without bias: x (batch, c_in, h, w), weight (c_out, c_in, 3, 3)."""
    return F.conv2d(_pad(x, padding), weight)


def restrict(x: torch.Tensor, weight: torch.Tensor, padding: str) -> torch.Tensor:
    """Stride-2 3x3 convolution: (batch, c_in, h, w) -> (batch, c_out, ceil(h/2), ceil(w/2)).

    weight: (c_out, c_in, 3, 3).
    """
    return F.conv2d(_pad(x, padding), weight, stride=2)


def prolong(x: torch.Tensor, weight: torch.Tensor, size: tuple[int, int], padding: str) -> torch.Tensor:
    """Stride-2 transposed 3x3 convolution onto the fine grid ``size``.

    x: (batch, c_in, hc, wc) -> (batch, c_out, h, w) with hc = ceil(h/2); weight (c_in, c_out, 3, 3).
    Coarse point j feeds fine points 2j-1, 2j, 2j+1; the coarse grid is padded by one cell (zeros or periodic
    wrap) so the fine boundary points get their neighbours' contributions.
    """
    out = F.conv_transpose2d(_pad(x, padding), weight, stride=2)
    return out[..., 3:3 + size[0], 3:3 + size[1]]


def v_cycle(f: torch.Tensor, a_weights: list[torch.Tensor], s_weights: list[torch.Tensor],
            post_weights: list[torch.Tensor], r_weights: list[torch.Tensor], p_weights: list[torch.Tensor],
            padding: str, level: int = 0) -> torch.Tensor:
    r"""One V-cycle from a zero initial guess: a linear map of f: (batch, c_f, h, w) -> (batch, c_v, h, w).

    Per level l: a_weights[l] (c_f, c_v, 3, 3) is :math:`A`; s_weights[l], post_weights[l] (c_v, c_f, 3, 3) the pre-
    and post-smoothers; r_weights[l] (c_f, c_f, 3, 3) restricts the residual; p_weights[l] (c_v, c_v, 3, 3)
    prolongs the coarse correction. The last level only smooths.
    """
    v = conv3x3(f, s_weights[level], padding)
    if level + 1 < len(s_weights):
        residual = f - conv3x3(v, a_weights[level], padding)
        coarse = v_cycle(restrict(residual, r_weights[level], padding), a_weights, s_weights, post_weights,
                         r_weights, p_weights, padding, level + 1)
        v = v + prolong(coarse, p_weights[level], (f.shape[-2], f.shape[-1]), padding)
        v = v + conv3x3(f - conv3x3(v, a_weights[level], padding), post_weights[level], padding)
    return v


class VCycle(nn.Module):
    """Owner of one V-cycle's convolution weights; ``forward(f)`` is ``v_cycle`` (linear in f)."""

    def __init__(self, in_channels: int, out_channels: int, levels: int, padding: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.levels = levels
        self.padding = padding
        kw = {"device": device, "dtype": dtype}

        def w(o: int, i: int, gain: float = 1.0) -> nn.Parameter:
            return nn.Parameter(torch.randn(o, i, 3, 3, **kw) * gain / math.sqrt(9 * i))

        # each level adds a correction of about the input's variance: smoothers scaled by 1/sqrt(levels) keep the
        # cycle's output variance near the input's (a prolongation with gain 2 passes a coarse field's variance on)
        g = 1 / math.sqrt(levels)
        self.a = nn.ParameterList([w(in_channels, out_channels) for _ in range(levels - 1)])
        self.smooth = nn.ParameterList([w(out_channels, in_channels, g) for _ in range(levels)])
        self.post = nn.ParameterList([w(out_channels, in_channels, 0.5 * g) for _ in range(levels - 1)])
        self.restrict = nn.ParameterList([w(in_channels, in_channels) for _ in range(levels - 1)])
        self.prolong = nn.ParameterList([w(out_channels, out_channels, 2.0) for _ in range(levels - 1)])

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return v_cycle(f, list(self.a), list(self.smooth), list(self.post), list(self.restrict),
                       list(self.prolong), self.padding)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, levels={self.levels}, padding={self.padding!r}"


@register_operator("mgno", summary="MgNO: layers sigma(V-cycle u + W u + b), no lifting or projection (He et al. 2024)")
class MgNO(nn.Module):
    r"""MgNO: (batch, in_channels, h, w) -> (batch, out_channels, h, w); see the module docstring.

    Args:
        hidden_channels: channels between layers; n_layers: number of layers (>= 2: in->hidden ... hidden->out).
        levels: grids per V-cycle (the finest plus ``levels - 1`` coarsenings); each grid side must be at least
            ``2 ** (levels - 1)`` (and divisible by it for ``padding="periodic"``).
        padding: "zeros" (Dirichlet) or "periodic".
        activation: sigma between layers, a name of :mod:`basiskit.nn.activations`.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 16, n_layers: int = 4,
                 levels: int = 4, padding: str = "zeros", activation: str = "gelu", device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.n_layers = check_int("n_layers", n_layers, min_value=2)
        self.levels = check_int("levels", levels, min_value=1)
        self.padding = check_choice("padding", padding, PADDINGS)
        self.activation = get_activation(activation).name
        kw = {"device": device, "dtype": dtype}
        sizes = [in_channels] + [hidden_channels] * (n_layers - 1) + [out_channels]
        self.cycles = nn.ModuleList(VCycle(i, o, levels, padding, **kw) for i, o in zip(sizes[:-1], sizes[1:]))
        self.local = nn.ModuleList(nn.Conv2d(i, o, 1, **kw) for i, o in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_channels, h, w) -> (batch, out_channels, h, w)."""
        check_image("x", x, self.in_channels)
        step = 2 ** (self.levels - 1)
        for n in x.shape[2:]:
            if n < step or (self.padding == "periodic" and n % step):
                rule = "divisible by" if self.padding == "periodic" else "at least"
                raise ValueError(f"levels={self.levels} with padding={self.padding!r} needs grid sides {rule} "
                                 f"{step}; x has shape {tuple(x.shape)}")
        act = get_activation(self.activation).fn
        for k, (cycle, local) in enumerate(zip(self.cycles, self.local)):
            x = cycle(x) + local(x)
            if k + 1 < len(self.cycles):
                x = act(x)
        return x

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, n_layers={self.n_layers}, levels={self.levels}, "
                f"padding={self.padding!r}")
