r"""Fourier Neural Operator (Li et al. 2020, "Fourier Neural Operator for Parametric PDEs").

.. math::
    v_0 = P(a, x), \qquad v_{l+1} = \sigma\big(\mathcal K_l v_l + W_l v_l\big) \ (\text{then a channel MLP}),
    \qquad u = Q(v_L),

with :math:`\mathcal K_l` the spectral convolution (``basiskit.operators.spectral``), :math:`W_l` a point-wise
linear skip, :math:`P, Q` point-wise MLPs. The block layout follows neuraloperator's FNO (Kossaifi et al.):
lifting MLP to ``lifting_ratio * hidden`` then ``hidden`` channels; each block adds the spectral and linear
paths, applies the activation, then a channel MLP (width ``channel_mlp_expansion * hidden``) with a soft-gating
skip; the projection MLP goes through ``projection_ratio * hidden`` channels. So the parameter counts of the two
libraries agree at the same configuration. ``positional=True`` appends the grid coordinates as input
channels (or ``"sinusoidal"`` features of them); ``padding`` zero-pads every grid dim for non-periodic
problems (FNO's Darcy set-up), at the end or at both ends (``padding_mode``).
Works on 1-D, 2-D and 3-D grids; the weights do not depend on the resolution (zero-shot super-resolution).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int
from ..nn.activations import get_activation
from ._registry import register_operator
from .common import (PADDING_MODES, ChannelLinear, ChannelMLP, append_grid, append_sinusoidal, as_tuple,
                     check_field, pad_domain, padding_amounts, ratio_mlp, unpad_domain)
from .spectral import SpectralConv, check_modes


class SoftGating(nn.Module):
    """Per-channel scaling :math:`y_c = w_c x_c` (the skip around a block's channel MLP). x: (b, c, *grid)."""

    def __init__(self, channels: int, n_dims: int, *, device=None, dtype=None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, *([1] * n_dims), device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


class FNOBlocks(nn.Module):
    """The ``n_layers`` Fourier layers of an FNO, each built by ``conv_factory(index)`` (dense or factorised).

    x: (b, hidden, *grid) -> (b, hidden, *grid); no activation after the last block.
    """

    def __init__(self, hidden_channels: int, n_layers: int, n_dims: int, conv_factory: Callable[[int], nn.Module],
                 channel_mlp_expansion: float | None = 0.5, activation: str = "gelu", *, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.n_layers = n_layers
        self.convs = nn.ModuleList(conv_factory(i) for i in range(n_layers))
        self.skips = nn.ModuleList(ChannelLinear(hidden_channels, hidden_channels, bias=False, device=device,
                                                 dtype=dtype) for _ in range(n_layers))
        self.use_mlp = bool(channel_mlp_expansion)
        if self.use_mlp:
            width = max(1, round(hidden_channels * channel_mlp_expansion))
            self.mlps = nn.ModuleList(ChannelMLP(hidden_channels, hidden_channels, width, 2, activation,
                                                 device=device, dtype=dtype) for _ in range(n_layers))
            self.gates = nn.ModuleList(SoftGating(hidden_channels, n_dims, device=device, dtype=dtype)
                                       for _ in range(n_layers))
        self.act = get_activation(activation).fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.n_layers):
            last = i == self.n_layers - 1
            skip = self.gates[i](x) if self.use_mlp else None
            x = self.convs[i](x) + self.skips[i](x)
            if not last:
                x = self.act(x)
            if self.use_mlp:
                x = self.mlps[i](x) + skip
                if not last:
                    x = self.act(x)
        return x


class FNOBase(nn.Module):
    """Lifting, Fourier blocks (from ``conv_factory``) and projection shared by FNO and TFNO."""

    def __init__(self, n_modes: int | Sequence[int], in_channels: int, out_channels: int, hidden_channels: int,
                 n_layers: int, conv_factory: Callable[[int], nn.Module], *, positional: bool | str,
                 padding: float | int | Sequence[float | int], lifting_ratio: float, projection_ratio: float,
                 channel_mlp_expansion: float | None, activation: str, padding_mode: str = "one-sided",
                 positional_frequencies: int = 4, max_frequency: float = 8.0, device=None, dtype=None) -> None:
        super().__init__()
        self.n_modes = as_tuple("n_modes", n_modes, 1 if isinstance(n_modes, int) else None)
        self.n_dims = len(self.n_modes)
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.n_layers = check_int("n_layers", n_layers, min_value=1)
        check_float("lifting_ratio", lifting_ratio, min_value=0.0)
        check_float("projection_ratio", projection_ratio, min_value=0.0)
        if positional not in (True, False, "closed", "periodic", "sinusoidal"):
            raise ValueError(f"positional must be True/'closed' (x_j = j/(n-1)), 'periodic' (x_j = j/n), "
                             f"'sinusoidal' (closed coordinates plus sin/cos features) or False, got {positional!r}")
        self.positional = "closed" if positional is True else positional
        padding_amounts([1] * self.n_dims if isinstance(padding, Sequence) else [1], padding)  # validate early
        self.padding = padding
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        self.positional_frequencies = check_int("positional_frequencies", positional_frequencies, min_value=1)
        self.max_frequency = check_float("max_frequency", max_frequency, min_value=1.0)
        n_pos = self.n_dims * (1 + 2 * self.positional_frequencies) if positional == "sinusoidal" else self.n_dims
        lift_in = in_channels + (n_pos if positional else 0)
        kw = {"device": device, "dtype": dtype}
        self.lifting = ratio_mlp(lift_in, hidden_channels, hidden_channels, lifting_ratio, activation, **kw)
        self.blocks = FNOBlocks(hidden_channels, n_layers, self.n_dims, conv_factory, channel_mlp_expansion,
                                activation, **kw)
        self.projection = ratio_mlp(hidden_channels, out_channels, hidden_channels, projection_ratio, activation, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (b, in_channels, *grid) -> (b, out_channels, *grid)."""
        check_field("x", x, self.n_dims, self.in_channels)
        grid = x.shape[2:]
        pads = padding_amounts(grid, self.padding)
        check_modes(self.n_modes, [n + p for n, p in zip(grid, pads)])
        if self.positional == "sinusoidal":
            x = append_sinusoidal(x, self.positional_frequencies, self.max_frequency)
        elif self.positional:
            x = append_grid(x, periodic=self.positional == "periodic")
        v = pad_domain(self.lifting(x), pads, self.padding_mode)
        v = unpad_domain(self.blocks(v), pads, self.padding_mode)
        return self.projection(v)

    def extra_repr(self) -> str:
        return (f"n_modes={self.n_modes}, in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, n_layers={self.n_layers}, positional={self.positional}, "
                f"padding={self.padding}" + (f", padding_mode={self.padding_mode!r}"
                                             if self.padding_mode != "one-sided" else ""))


@register_operator("fno", summary="Fourier Neural Operator on 1-D/2-D/3-D grids (Li et al. 2020)")
class FNO(FNOBase):
    """Fourier Neural Operator on 1-D/2-D/3-D grids (Li et al. 2020); see the module docstring.

    Args:
        n_modes: Fourier modes kept per grid dim (its length sets the number of grid dims).
        in_channels, out_channels, hidden_channels, n_layers: sizes.
        positional: append grid coordinates as input channels: True / "closed" (:math:`x_j = j/(n-1)`, grids
            that include both ends), "periodic" (:math:`x_j = j/n`), or False. Pick the one under which a
            coarser grid is a subsample of a finer one, for zero-shot super-resolution.
        padding: zero padding of each grid dim (points, or a fraction of the size) for non-periodic problems;
            removed before the projection. ``padding_mode``: "one-sided" (at the end) or "symmetric" (that many
            points at both ends).
        positional_frequencies, max_frequency: with ``positional="sinusoidal"``, K frequencies from 1 to
            ``max_frequency`` waves per unit length (``common.sinusoidal_features``) appended with the coordinates.
        lifting_ratio, projection_ratio: hidden widths of the lifting / projection MLPs (x hidden; 0: linear).
        channel_mlp_expansion: width of each block's channel MLP (x hidden; 0/None: no channel MLP).

    x: (batch, in_channels, *grid) -> (batch, out_channels, *grid).
    """

    def __init__(self, n_modes: int | Sequence[int], in_channels: int = 1, out_channels: int = 1,
                 hidden_channels: int = 32, n_layers: int = 4, *, positional: bool | str = True,
                 padding: float | int | Sequence[float | int] = 0, lifting_ratio: float = 2.0,
                 projection_ratio: float = 2.0, channel_mlp_expansion: float | None = 0.5,
                 activation: str = "gelu", padding_mode: str = "one-sided", positional_frequencies: int = 4,
                 max_frequency: float = 8.0, device=None, dtype=None) -> None:
        modes = as_tuple("n_modes", n_modes, 1 if isinstance(n_modes, int) else None)
        check_int("hidden_channels", hidden_channels, min_value=1)

        def conv(_: int) -> nn.Module:
            return SpectralConv(hidden_channels, hidden_channels, modes, device=device, dtype=dtype)

        super().__init__(modes, in_channels, out_channels, hidden_channels, n_layers, conv, positional=positional,
                         padding=padding, lifting_ratio=lifting_ratio, projection_ratio=projection_ratio,
                         channel_mlp_expansion=channel_mlp_expansion, activation=activation,
                         padding_mode=padding_mode, positional_frequencies=positional_frequencies,
                         max_frequency=max_frequency, device=device, dtype=dtype)
