r"""U-shaped neural operator (UNO; Rahman, Ross & Azizzadenesheli 2023, "U-NO: U-shaped Neural Operators", TMLR).

Fourier layers that change the resolution and the width as they go, a U: the first half contracts the grid
and widens the channels, the second half expands back, and horizontal skips concatenate each contracting
layer's output (resampled) to the input of its mirror layer. Layer ``i`` maps ``v`` on grid ``g`` to grid
``g' = round(g * scaling_i)``:

.. math::  v' = \sigma\Big(\mathcal F^{-1}_{g'}\big(R_i \cdot \mathcal F_g v\big)_{\text{kept modes}}
           + W_i \, \operatorname{resample}_{g'}(v)\Big),

the spectral path reads the kept modes on ``g`` and writes them on ``g'`` (``norm="forward"``, so a function's
values, not its sample count, are preserved), the linear path interpolates (linear / bilinear / trilinear, grid
ends aligned). The parameters follow neuraloperator's ``UNO``: per-layer output channels
(``layer_channels`` = its ``uno_out_channels``), modes (``uno_n_modes``) and scalings (``uno_scalings``), and the
skip map (``horizontal_skips_map``; default ``{n-1: 0, n-2: 1, ...}``, the U). Lifting and projection are
point-wise MLPs as in ``FNO``; ``positional`` appends grid coordinates, ``padding``/``padding_mode`` pad the
lifted field like ``FNO``. If the scalings do not multiply back to 1 the output is resampled to the input grid.

x: (batch, in_channels, *grid) -> (batch, out_channels, *grid), 1-D to 3-D grids.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import UsageError, check_choice, check_int
from ..nn.activations import get_activation
from ._registry import register_operator
from .common import (PADDING_MODES, ChannelLinear, append_grid, as_tuple, check_field, pad_domain, padding_amounts,
                     ratio_mlp, unpad_domain)
from .spectral import SpectralConv, check_modes, spectral_conv

_INTERP = {1: "linear", 2: "bilinear", 3: "trilinear"}


def resample(x: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """Interpolate (b, c, *g) to (b, c, *grid), grid ends aligned; unchanged if the grid already matches."""
    if tuple(x.shape[2:]) == tuple(grid):
        return x
    return F.interpolate(x, size=tuple(grid), mode=_INTERP[len(grid)], align_corners=True)


class UNOLayer(nn.Module):
    """One resolution-changing Fourier layer: ``forward(v, grid_out)``; v: (b, in, *g) -> (b, out, *grid_out)."""

    def __init__(self, in_channels: int, out_channels: int, n_modes: Sequence[int], *, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.conv = SpectralConv(in_channels, out_channels, n_modes, device=device, dtype=dtype)
        self.skip = ChannelLinear(in_channels, out_channels, bias=False, device=device, dtype=dtype)

    def forward(self, v: torch.Tensor, grid_out: Sequence[int]) -> torch.Tensor:
        check_modes(self.conv.n_modes, v.shape[2:], "n_modes (input grid)")
        check_modes(self.conv.n_modes, grid_out, "n_modes (output grid)")
        y = spectral_conv(v, self.conv.complex_weight(), self.conv.bias, out_grid=grid_out)
        return y + self.skip(resample(v, grid_out))


@register_operator("uno", summary="U-shaped neural operator: Fourier layers that rescale the grid, with "
                                  "horizontal skips (Rahman et al. 2023)")
class UNO(nn.Module):
    """U-shaped neural operator; see the module docstring.

    Args:
        in_channels, out_channels: field channels in and out.
        hidden_channels: width after the lifting MLP (the first layer's input).
        layer_channels: output channels of each Fourier layer (its length is the number of layers).
        layer_modes: Fourier modes per layer (an int or one per grid dim); the grid dims come from the first.
        layer_scalings: grid scaling per layer (a float or one per grid dim), e.g. (1, 0.5, 1, 2, 1).
        horizontal_skips: ``{receiving layer: sending layer}``; None gives the U ``{n-1: 0, n-2: 1, ...}``,
            ``{}`` none. A sender must come before its receiver.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, layer_channels: Sequence[int],
                 layer_modes: Sequence[int | Sequence[int]], layer_scalings: Sequence[float | Sequence[float]], *,
                 horizontal_skips: Mapping[int, int] | None = None, positional: bool = True,
                 padding: float | int | Sequence[float | int] = 0, padding_mode: str = "one-sided",
                 lifting_ratio: float = 2.0, projection_ratio: float = 2.0, activation: str = "gelu",
                 device=None, dtype=None) -> None:
        super().__init__()
        n = len(layer_channels)
        if n < 1 or len(layer_modes) != n or len(layer_scalings) != n:
            raise UsageError(f"layer_channels, layer_modes and layer_scalings need one entry per layer and the same "
                             f"length, got {len(layer_channels)}, {len(layer_modes)}, {len(layer_scalings)}")
        first = layer_modes[0]
        self.n_dims = 1 if isinstance(first, int) else len(first)
        modes = [as_tuple(f"layer_modes[{i}]", m, self.n_dims) for i, m in enumerate(layer_modes)]
        scalings = []
        for i, s in enumerate(layer_scalings):
            vals = [s] * self.n_dims if isinstance(s, (int, float)) else list(s)
            if len(vals) != self.n_dims or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0
                                               for v in vals):
                raise UsageError(f"layer_scalings[{i}] must be a positive number or {self.n_dims} of them, got {s!r}")
            scalings.append(tuple(float(v) for v in vals))
        self.scalings = scalings
        skips = {n - 1 - k: k for k in range(n // 2)} if horizontal_skips is None else dict(horizontal_skips)
        for dst, src in skips.items():
            if not (0 <= src < dst < n):
                raise UsageError(f"horizontal_skips[{dst}] = {src}: a skip goes from an earlier layer to a later one "
                                 f"among 0..{n - 1}")
        self.skips = skips
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.layer_channels = [check_int(f"layer_channels[{i}]", c, min_value=1) for i, c in enumerate(layer_channels)]
        self.positional = bool(positional)
        padding_amounts([1] * self.n_dims if isinstance(padding, Sequence) else [1], padding)
        self.padding, self.padding_mode = padding, check_choice("padding_mode", padding_mode, PADDING_MODES)
        kw = {"device": device, "dtype": dtype}
        lift_in = in_channels + (self.n_dims if positional else 0)
        self.lifting = ratio_mlp(lift_in, hidden_channels, hidden_channels, lifting_ratio, activation, **kw)
        layers = []
        for i in range(n):
            c_in = (hidden_channels if i == 0 else self.layer_channels[i - 1])
            c_in += self.layer_channels[skips[i]] if i in skips else 0
            layers.append(UNOLayer(c_in, self.layer_channels[i], modes[i], **kw))
        self.layers = nn.ModuleList(layers)
        self.projection = ratio_mlp(self.layer_channels[-1], out_channels, hidden_channels, projection_ratio,
                                    activation, **kw)
        self.act = get_activation(activation).fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (b, in_channels, *grid) -> (b, out_channels, *grid)."""
        check_field("x", x, self.n_dims, self.in_channels)
        if self.positional:
            x = append_grid(x)
        pads = padding_amounts(x.shape[2:], self.padding)
        v = pad_domain(self.lifting(x), pads, self.padding_mode)
        start = v.shape[2:]
        outputs: list[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            if i in self.skips:
                v = torch.cat([v, resample(outputs[self.skips[i]], v.shape[2:])], 1)
            grid = [max(1, round(g * s)) for g, s in zip(v.shape[2:], self.scalings[i])]
            v = layer(v, grid)
            if i < len(self.layers) - 1:
                v = self.act(v)
            outputs.append(v)
        v = unpad_domain(resample(v, start), pads, self.padding_mode)
        return self.projection(v)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, layers={self.layer_channels}, "
                f"scalings={self.scalings}, skips={self.skips}")
