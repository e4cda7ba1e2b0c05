r"""MgNO: neural operator layers whose linear operators are multigrid V-cycles.

He, Liu, Xu (2024), "MgNO: Efficient Parameterization of Linear Operators via Multigrid" (ICLR). Each layer is

.. math::
    u_{l+1} = \sigma\big(\mathcal{W}^{(l)}_{mg} u_l + W^{(l)} u_l + b^{(l)}\big),

and a 1x1 convolution without bias projects the last layer's channels to the output. :math:`\mathcal{W}_{mg}` is
one V-cycle of the MgNet form (He & Xu 2019) for :math:`A v = f` with :math:`f = u_l`, as in the authors' released
Darcy model:

* level 0: :math:`v = S f` (first smoothing step from zero), then :math:`v \leftarrow v + S(f - A v)` for each
  further step;
* going down, both the iterate and the right-hand side are carried to the coarser grid by their own stride-2
  3x3 convolutions, :math:`v^{k+1} = \Pi v^{k}`, :math:`f^{k+1} = R f^{k}`, and smoothed there the same way
  (``smoothing[k]`` steps on level k, each with its own :math:`S`, :math:`A`);
* going up, :math:`v^{k} \leftarrow v^{k} + P v^{k+1}` with :math:`P` a stride-2 transposed 4x4 convolution.

All 3x3 convolutions, no bias or activation inside the cycle, so :math:`\mathcal{W}_{mg}` is linear in
:math:`u`. :math:`W` is a 1x1 convolution, :math:`b` a per-channel bias. Boundaries: ``padding="zeros"``
(Dirichlet) or ``"periodic"``. Weights start as PyTorch's default convolution initialisation (uniform with bound
``1/sqrt(fan_in)``), as in the authors' code.

Shapes (2-D): restriction (batch, c, h, w) -> (batch, c, ceil(h/2), ceil(w/2)); prolongation
(batch, c, ceil(h/2), ceil(w/2)) -> (batch, c, h, w).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

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
    if padding == "zeros":  # conv2d's own zero padding: no padded copy of x
        return F.conv2d(x, weight, padding=1)
    return F.conv2d(_pad(x, padding), weight)


def restrict(x: torch.Tensor, weight: torch.Tensor, padding: str) -> torch.Tensor:
    """Stride-2 3x3 convolution: (batch, c_in, h, w) -> (batch, c_out, ceil(h/2), ceil(w/2)).

    weight: (c_out, c_in, 3, 3).
    """
    if padding == "zeros":
        return F.conv2d(x, weight, padding=1, stride=2)
    return F.conv2d(_pad(x, padding), weight, stride=2)


def prolong(x: torch.Tensor, weight: torch.Tensor, size: tuple[int, int], padding: str) -> torch.Tensor:
    """Stride-2 transposed k x k convolution (k = 3 or 4) onto the fine grid ``size``.

    x: (batch, c_in, hc, wc) -> (batch, c_out, h, w) with hc = ceil(h/2); weight (c_in, c_out, k, k). Coarse point
    j (which sits on fine point 2j) feeds fine points 2j-1 .. 2j-2+k; the coarse grid is padded by one cell
    (zeros or periodic wrap) so the fine boundary points get their neighbours' contributions.
    """
    if padding == "zeros":  # the transposed convolution's own cropping; at least 2 * hc rows come out
        out = F.conv_transpose2d(x, weight, stride=2, padding=1, output_padding=4 - weight.shape[-1])
        return out[..., :size[0], :size[1]]
    out = F.conv_transpose2d(_pad(x, padding), weight, stride=2)
    return out[..., 3:3 + size[0], 3:3 + size[1]]


def v_cycle(f: torch.Tensor, smooth: Sequence[Sequence[torch.Tensor]], a: Sequence[Sequence[torch.Tensor]],
            pi: Sequence[torch.Tensor], r: Sequence[torch.Tensor], p: Sequence[torch.Tensor],
            padding: str) -> torch.Tensor:
    r"""One MgNet V-cycle: a linear map of f: (batch, c_f, h, w) -> (batch, c_v, h, w).

    Level k has ``len(smooth[k])`` smoothing steps with weights ``smooth[k][i]`` (c_v, c_f, 3, 3) and
    ``a[k][i]`` (c_f, c_v, 3, 3); on level 0 the first step starts from zero and has no ``A`` (so
    ``len(a[0]) == len(smooth[0]) - 1``, elsewhere equal). ``pi[k]`` (c_v, c_v, 3, 3) and ``r[k]``
    (c_f, c_f, 3, 3) carry the iterate and the right-hand side from level k to k + 1; ``p[k]`` (c_v, c_v, 4, 4)
    prolongs level k + 1's iterate back onto level k.
    """
    levels = len(smooth)
    if not smooth[0]:
        raise ValueError("smooth[0] must hold at least one smoothing step: level 0 starts the iterate")
    iterates = []
    v = None
    for k in range(levels):
        if k:
            v, f = restrict(v, pi[k - 1], padding), restrict(f, r[k - 1], padding)
        steps_a = iter(a[k])
        for s in smooth[k]:
            v = conv3x3(f, s, padding) if v is None else v + conv3x3(f - conv3x3(v, next(steps_a), padding), s,
                                                                     padding)
        iterates.append(v)
    for k in range(levels - 2, -1, -1):
        fine = iterates[k]
        iterates[k] = fine + prolong(iterates[k + 1], p[k], (fine.shape[-2], fine.shape[-1]), padding)
    return iterates[0]


def default_smoothing(levels: int) -> tuple[int, ...]:
    """Smoothing steps per level: 1 on levels 0-2, 2 on coarser ones; at 5 grids (1, 1, 1, 2, 2), the default of
    the authors' Darcy script and their Navier-Stokes command (their smooth-Darcy command uses 6 grids, 1,1,1,1,1,2)."""
    return tuple(1 if k < 3 else 2 for k in range(levels))


def check_smoothing(smoothing: Sequence[int], levels: int | None = None) -> tuple[int, ...]:
    """``smoothing`` as a tuple of step counts, one per level (``levels`` of them when given), the first >= 1."""
    steps = tuple(smoothing)
    if ((levels is not None and len(steps) != levels) or not steps
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in steps) or steps[0] < 1):
        count = f"{levels} (levels)" if levels is not None else "one or more"
        raise ValueError(f"smoothing must give {count} non-negative integer step counts, the first >= 1 (level 0 "
                         f"starts the iterate); got {smoothing!r}")
    return steps


def _conv_weight(o: int, i: int, k: int, **kw) -> nn.Parameter:
    """An (o, i, k, k) convolution weight with torch's default initialisation (bound 1/sqrt(i k k))."""
    weight = torch.empty(o, i, k, k, **kw)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return nn.Parameter(weight)


class VCycle(nn.Module):
    """Owner of one V-cycle's convolution weights; ``forward(f)`` is ``v_cycle`` (linear in f).

    ``smoothing``: steps per level (level 0 at least 1); its length is the number of grids.
    """

    def __init__(self, in_channels: int, out_channels: int, smoothing: Sequence[int], padding: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.smoothing = check_smoothing(smoothing)
        self.levels = len(self.smoothing)
        self.padding = padding
        kw = {"device": device, "dtype": dtype}
        ci, co = in_channels, out_channels
        self.smooth = nn.ModuleList(nn.ParameterList(_conv_weight(co, ci, 3, **kw) for _ in range(n))
                                    for n in self.smoothing)
        self.a = nn.ModuleList(nn.ParameterList(_conv_weight(ci, co, 3, **kw)
                                                for _ in range(n - (k == 0)))
                               for k, n in enumerate(self.smoothing))
        self.pi = nn.ParameterList(_conv_weight(co, co, 3, **kw) for _ in range(self.levels - 1))
        self.r = nn.ParameterList(_conv_weight(ci, ci, 3, **kw) for _ in range(self.levels - 1))
        # a transposed convolution's (c_in, c_out, 4, 4) weight: torch's bound uses c_out * 16 too
        self.p = nn.ParameterList(_conv_weight(co, co, 4, **kw) for _ in range(self.levels - 1))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return v_cycle(f, [list(s) for s in self.smooth], [list(a) for a in self.a], list(self.pi), list(self.r),
                       list(self.p), self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, smoothing={self.smoothing}, "
                f"padding={self.padding!r}")


@register_operator("mgno", summary="MgNO: layers sigma(V-cycle u + W u + b), 1x1 projection (He et al. 2024)")
class MgNO(nn.Module):
    r"""MgNO: (batch, in_channels, h, w) -> (batch, out_channels, h, w); see the module docstring.

    Args:
        hidden_channels: channels of every layer; n_layers: number of layers (in -> hidden, then hidden ->
            hidden), followed by a 1x1 projection hidden -> out without bias.
        levels: grids per V-cycle (the finest plus ``levels - 1`` coarsenings); each grid side must be at least
            ``2 ** (levels - 1)`` (and divisible by it for ``padding="periodic"``).
        smoothing: smoothing steps on each level (``levels`` entries, the first >= 1); default
            :func:`default_smoothing` (1 on the three finest grids, 2 below, as the authors' scripts).
        padding: "zeros" (Dirichlet) or "periodic".
        activation: sigma after every layer, a name of :mod:`basiskit.nn.activations`.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 16, n_layers: int = 4,
                 levels: int = 4, padding: str = "zeros", activation: str = "gelu",
                 smoothing: Sequence[int] | None = None, device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.n_layers = check_int("n_layers", n_layers, min_value=1)
        self.levels = check_int("levels", levels, min_value=1)
        self.padding = check_choice("padding", padding, PADDINGS)
        self.activation = get_activation(activation).name
        self.smoothing = default_smoothing(levels) if smoothing is None else check_smoothing(smoothing, levels)
        kw = {"device": device, "dtype": dtype}
        sizes = [in_channels] + [hidden_channels] * n_layers
        self.cycles = nn.ModuleList(VCycle(i, o, self.smoothing, padding, **kw) for i, o in zip(sizes[:-1], sizes[1:]))
        self.local = nn.ModuleList(nn.Conv2d(i, o, 1, **kw) for i, o in zip(sizes[:-1], sizes[1:]))
        self.projection = nn.Conv2d(hidden_channels, out_channels, 1, bias=False, **kw)

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
        for cycle, local in zip(self.cycles, self.local):
            x = act(cycle(x) + local(x))
        return self.projection(x)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, n_layers={self.n_layers}, levels={self.levels}, "
                f"smoothing={self.smoothing}, padding={self.padding!r}")
