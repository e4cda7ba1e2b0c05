"""Building blocks shared by the neural operators: input checks, positional-grid channels, domain padding
and point-wise channel MLPs. Every tensor is laid out (batch, channels, *grid) with 1 to 3 grid dims.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_int, check_tensor
from ..nn.activations import get_activation
from ..measure import count_parameters  # noqa: F401  (re-exported)

def as_tuple(arg: str, value: int | Sequence[int], n: int | None = None, *, min_value: int = 1) -> tuple[int, ...]:
    """``value`` as a tuple of ints (an int is repeated ``n`` times); each checked >= ``min_value``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if n is None:
            raise ValueError(f"{arg}: give one value per grid dim (a tuple), got the int {value}")
        value = (value,) * n
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{arg} must be an int or a tuple of ints, got {type(value).__name__} {value!r}")
    out = tuple(check_int(f"{arg}[{i}]", v, min_value=min_value) for i, v in enumerate(value))
    if n is not None and len(out) != n:
        raise ValueError(f"{arg} must have {n} entries (one per grid dim), got {len(out)}: {out}")
    if not 1 <= len(out) <= 3:
        raise ValueError(f"{arg} must have 1, 2 or 3 entries (grid dims), got {len(out)}: {out}")
    return out


def check_field(arg: str, x: torch.Tensor, n_dims: int, channels: int | None = None) -> torch.Tensor:
    """Check ``x`` is a floating (batch, channels, *grid) tensor with ``n_dims`` grid dims (and ``channels``)."""
    check_tensor(arg, x, floating=True)
    if x.ndim != n_dims + 2:
        raise ValueError(f"{arg} must be (batch, channels, {', '.join(f'n{i + 1}' for i in range(n_dims))}) "
                         f"for this {n_dims}-D operator, got shape {tuple(x.shape)} ({x.ndim - 2} grid dims)")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{arg} has {x.shape[1]} channels (dim 1), but the operator expects in_channels="
                         f"{channels}; shape {tuple(x.shape)}")
    return x


def check_image(arg: str, x: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Check ``x`` is a floating (batch, in_channels, h, w) tensor: the input of the 2-D U-shaped operators."""
    check_tensor(arg, x, ndim=4)
    if x.shape[1] != in_channels:
        raise ValueError(f"{arg} must have in_channels={in_channels} channels (dim 1), got shape {tuple(x.shape)}")
    return x


def check_halvable(arg: str, x: torch.Tensor, levels: int) -> torch.Tensor:
    """Check the grid sides of ``x`` (batch, channels, h, w) can be halved ``levels - 1`` times exactly."""
    need = 2 ** (levels - 1)
    if x.shape[2] % need or x.shape[3] % need:
        raise ValueError(f"levels={levels} needs grid sides divisible by {need}; {arg} has shape {tuple(x.shape)}")
    return x


def grid_coordinates(grid: Sequence[int], *, periodic: bool = False, device: torch.device | str | None = None,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Coordinates of a uniform grid on the unit cube, (d, *grid): :math:`x_j = j/(n-1)` (closed) or
    :math:`j/n` (periodic)."""
    axes = [torch.arange(n, device=device, dtype=dtype) / (n if periodic else max(n - 1, 1)) for n in grid]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), 0)


def append_grid(x: torch.Tensor, periodic: bool = False) -> torch.Tensor:
    """Append the d coordinate channels to a field: (b, c, *grid) -> (b, c + d, *grid)."""
    coords = grid_coordinates(x.shape[2:], periodic=periodic, device=x.device, dtype=x.dtype)
    return torch.cat([x, coords.unsqueeze(0).expand(x.shape[0], *coords.shape)], 1)


def sinusoidal_features(coords: torch.Tensor, n_frequencies: int, max_frequency: float) -> torch.Tensor:
    r"""Transformer-style sinusoidal embedding of grid coordinates: sines and cosines over a geometric ladder of
    frequencies (Vaswani et al. 2017 use :math:`1/10000^{2i/d}`; here the ladder is anchored to the unit cube).

    coords: (d, *grid) in [0, 1] -> (2 K d, *grid), channels ``sin(w_k x_i)`` then ``cos(w_k x_i)`` with
    :math:`w_k = 2 \pi f_{max}^{k/(K-1)}`, k = 0..K-1 (K = 1: w_0 = 2 pi), so the slowest wave spans the domain
    once and the fastest ``max_frequency`` times. Integer ``max_frequency`` with K - 1 dividing its log keeps
    the features periodic; NeRF's ladder :math:`2^k \pi` is a different anchoring of the same idea.
    """
    k = torch.arange(n_frequencies, device=coords.device, dtype=coords.dtype)
    expo = k / max(n_frequencies - 1, 1)
    omega = 2 * math.pi * torch.as_tensor(max_frequency, dtype=coords.dtype, device=coords.device) ** expo
    phase = omega.reshape(-1, 1, *([1] * (coords.ndim - 1))) * coords.unsqueeze(0)  # (K, d, *grid)
    phase = phase.reshape(-1, *coords.shape[1:])
    return torch.cat([torch.sin(phase), torch.cos(phase)], 0)


def append_sinusoidal(x: torch.Tensor, n_frequencies: int, max_frequency: float) -> torch.Tensor:
    """Append the d coordinates and their sinusoidal features: (b, c, *grid) -> (b, c + d + 2 K d, *grid)."""
    coords = grid_coordinates(x.shape[2:], device=x.device, dtype=x.dtype)
    feats = torch.cat([coords, sinusoidal_features(coords, n_frequencies, max_frequency)], 0)
    return torch.cat([x, feats.unsqueeze(0).expand(x.shape[0], *feats.shape)], 1)


def padding_amounts(grid: Sequence[int], padding: float | int | Sequence[float | int]) -> tuple[int, ...]:
    """Points to add at the end of each grid dim: an int is a count, a float in [0, 1) a fraction of the size."""
    pads = padding if isinstance(padding, Sequence) else [padding] * len(grid)
    if len(pads) != len(grid):
        raise ValueError(f"padding needs one entry per grid dim ({len(grid)}), got {padding!r}")
    out = []
    for n, p in zip(grid, pads):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0:
            raise ValueError(f"padding entries must be ints >= 0 or fractions in [0, 1), got {padding!r}")
        if isinstance(p, float):
            if p >= 1:
                raise ValueError(f"a float padding is a fraction of the grid and must be < 1, got {p}")
            p = round(p * n)
        out.append(int(p))
    return tuple(out)


PADDING_MODES = ("one-sided", "symmetric")


def pad_domain(x: torch.Tensor, pads: Sequence[int], mode: str = "one-sided") -> torch.Tensor:
    """Zero-pad each grid dim by ``pads`` points (so a periodic method sees a non-periodic field as part of a
    larger periodic one): at the end (``"one-sided"``) or ``pads`` points at both ends (``"symmetric"``, as in
    neuraloperator's ``DomainPadding``). (b, c, *grid) -> (b, c, *(grid + pads)) or (b, c, *(grid + 2 pads))."""
    if not any(pads):
        return x
    both = mode == "symmetric"
    spec: list[int] = []
    for p in reversed(pads):
        spec += [p if both else 0, p]
    return F.pad(x, spec)


def unpad_domain(x: torch.Tensor, pads: Sequence[int], mode: str = "one-sided") -> torch.Tensor:
    """Inverse of ``pad_domain``: drop the padded points of each grid dim."""
    if not any(pads):
        return x
    both = mode == "symmetric"
    index = (slice(None), slice(None)) + tuple(slice(p if both else 0, n - p) for n, p in zip(x.shape[2:], pads))
    return x[index]


def channel_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Point-wise linear map of the channels, :math:`y_o(x) = \\sum_i W_{oi} v_i(x) + b_o`.

    x: (b, c_in, *grid); weight: (c_out, c_in); bias: (c_out,) or None -> (b, c_out, *grid).
    """
    b, c, *grid = x.shape
    flat = x.reshape(b, c, -1)
    w = weight.expand(b, *weight.shape)  # batched GEMM: faster than a 1x1 convolution on CPU, fwd and bwd
    if bias is None:
        y = torch.bmm(w, flat)
    else:
        y = torch.baddbmm(bias.reshape(1, -1, 1).expand(b, -1, flat.shape[-1]), w, flat)
    return y.reshape(b, weight.shape[0], *grid)


class ChannelLinear(nn.Module):
    """A 1x1 convolution over any number of grid dims (owner of ``channel_linear``'s weight and bias)."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, *, device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        bound = in_channels ** -0.5
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, device=device, dtype=dtype)
                                   .uniform_(-bound, bound))
        self.bias = (nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype).uniform_(-bound, bound))
                     if bias else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, bias={self.bias is not None}"


class ChannelMLP(nn.Module):
    """Point-wise MLP on the channels: ``n_layers`` 1x1 maps, ``activation`` (a name of
    :mod:`basiskit.nn.activations`) between them.

    x: (b, in_channels, *grid) -> (b, out_channels, *grid).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None, n_layers: int = 2,
                 activation: str = "gelu", *, device=None, dtype=None) -> None:
        super().__init__()
        check_int("n_layers", n_layers, min_value=1)
        hidden = in_channels if hidden_channels is None else check_int("hidden_channels", hidden_channels,
                                                                       min_value=1)
        sizes = [in_channels] + [hidden] * (n_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(ChannelLinear(a, b, device=device, dtype=dtype)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = activation
        self.act = get_activation(activation).fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
        return x

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"


def ratio_mlp(in_channels: int, out_channels: int, width: int, ratio: float, activation: str = "gelu", *,
              device=None, dtype=None) -> ChannelMLP:
    """The lifting / projection MLP of the FNO family: two layers through ``round(ratio * width)`` channels, or one
    linear layer when that is 0 (neuraloperator's ``lifting_channel_ratio`` / ``projection_channel_ratio``)."""
    hidden = round(ratio * width)
    if hidden:
        return ChannelMLP(in_channels, out_channels, hidden, 2, activation, device=device, dtype=dtype)
    return ChannelMLP(in_channels, out_channels, None, 1, activation, device=device, dtype=dtype)
