r"""U-Net baseline and its function-space version.

``UNet``: Ronneberger, Fischer, Brox (2015) -- (3x3 conv, batch norm, GELU) x 2 per level, max-pool down,
bilinear up, skip connections by concatenation. Its kernels span a fixed number of *cells*, so a model trained at
one resolution computes a different map at another.

``FunctionUNet``: the same architecture made a neural operator as in Berner et al. (2025), "Principled approaches
for extending neural architectures to function spaces for operator learning": every 3x3 convolution becomes an
``InterpConv2d`` whose kernel has a fixed *physical* support (level ``l`` uses reference resolution
``ref_resolution / 2**l``), down-sampling is 2x2 averaging (a quadrature of the local mean, not a max over cells)
and up-sampling is bilinear interpolation, so the same weights discretise one operator at every resolution.

Normalisation (``norm``): ``"batch"`` is ``nn.BatchNorm2d``; it averages over grid points, but at evaluation it
applies *running* statistics estimated from the training grid's features, numbers tied to that discretisation: a
kernel of fixed physical support sees a piecewise-constant coefficient differently on 32 and on 128 points, so
the features' spread at 128 is not the one stored at 32. ``"layer"`` (``QuadratureNorm``, the default of
``FunctionUNet``) normalises every sample's features by their own mean and variance over the domain and the
channels, computed by quadrature on whatever grid they come on,

.. math::
    \mu = \frac1C \sum_c \int_\Omega v_c\,dx, \qquad
    \sigma^2 = \frac1C \sum_c \int_\Omega (v_c - \mu)^2\,dx, \qquad
    \hat v_c = \gamma_c\,(v_c - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta_c,

with uniform weights :math:`1/n` (the midpoint rule of the grids used here) and one affine pair per channel:
nothing stored depends on a resolution. ``"instance"`` takes the statistics per channel instead (it discards each
channel's own level and spread, which trains markedly worse on Darcy: measured in ``docs/operators.md``).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_choice, check_int
from ._registry import register_operator
from .common import check_halvable, check_image
from .interp_conv import InterpConv2d


NORMS = ("batch", "layer", "instance")


def quadrature_norm(x: torch.Tensor, per_channel: bool = False, eps: float = 1e-5) -> torch.Tensor:
    """Standardise each sample by its quadrature mean and variance over the grid (uniform weights) and the
    channels (``per_channel=False``, layer norm) or over the grid for each channel (``per_channel=True``,
    instance norm). x: (batch, channels, *grid) -> same shape."""
    dims = tuple(range(2 if per_channel else 1, x.ndim))
    mean = x.mean(dims, keepdim=True)
    var = (x - mean).square().mean(dims, keepdim=True)
    return (x - mean) * torch.rsqrt(var + eps)


class QuadratureNorm(nn.Module):
    """``quadrature_norm`` with a learned scale and shift per channel; no running statistics and no
    per-grid-point parameters, so it acts the same way on every grid. x: (batch, channels, *grid) -> same shape.
    """

    def __init__(self, channels: int, per_channel: bool = False, eps: float = 1e-5, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, min_value=1)
        self.per_channel = bool(per_channel)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(channels, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 3 or x.shape[1] != self.channels:
            raise ValueError(f"x must be (batch, channels={self.channels}, *grid), got shape {tuple(x.shape)}")
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return (quadrature_norm(x, self.per_channel, self.eps) * self.weight.reshape(shape)
                + self.bias.reshape(shape))

    def extra_repr(self) -> str:
        return f"{self.channels}, per_channel={self.per_channel}, eps={self.eps}"


def _norm_layer(norm: str, channels: int, **kw) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels, **kw)
    return QuadratureNorm(channels, per_channel=norm == "instance", **kw)


def _double(conv: Callable[[int, int], nn.Module], c_in: int, c_out: int, norm: str, **kw) -> nn.Sequential:
    return nn.Sequential(conv(c_in, c_out), _norm_layer(norm, c_out, **kw), nn.GELU(),
                         conv(c_out, c_out), _norm_layer(norm, c_out, **kw), nn.GELU())


class _UNetBase(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, levels: int,
                 conv_at_level: Callable[[int], Callable[[int, int], nn.Module]], pool: str, norm: str,
                 **kw) -> None:
        super().__init__()
        self.norm = check_choice("norm", norm, NORMS)
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.levels = check_int("levels", levels, min_value=1)
        self.pool = pool
        widths = [hidden_channels * 2 ** lvl for lvl in range(levels)]
        self.widths = widths
        self.down = nn.ModuleList(_double(conv_at_level(lvl), in_channels if lvl == 0 else widths[lvl - 1],
                                          widths[lvl], norm, **kw) for lvl in range(levels))
        self.up = nn.ModuleList(_double(conv_at_level(lvl), widths[lvl + 1] + widths[lvl], widths[lvl], norm, **kw)
                                for lvl in range(levels - 1))
        self.head = nn.Conv2d(widths[0], out_channels, 1, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_channels, h, w) -> (batch, out_channels, h, w); sides divisible by 2**(levels-1)."""
        check_halvable("x", check_image("x", x, self.in_channels), self.levels)
        skips = []
        h = x
        for lvl, block in enumerate(self.down):
            if lvl:
                h = F.max_pool2d(h, 2) if self.pool == "max" else F.avg_pool2d(h, 2)
            h = block(h)
            skips.append(h)
        for lvl in range(self.levels - 2, -1, -1):
            h = F.interpolate(h, size=skips[lvl].shape[-2:], mode="bilinear", align_corners=False)
            h = self.up[lvl](torch.cat([h, skips[lvl]], dim=1))
        return self.head(h)


@register_operator("unet")
class UNet(_UNetBase):
    """Plain U-Net: (batch, in_channels, h, w) -> (batch, out_channels, h, w); widths ``hidden * 2**level``;
    ``norm``: "batch" (default), "layer" or "instance" (see the module docstring)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 16, levels: int = 3,
                 norm: str = "batch", device=None, dtype=None) -> None:
        kw = {"device": device, "dtype": dtype}

        def conv_at_level(lvl: int) -> Callable[[int, int], nn.Module]:
            return lambda i, o: nn.Conv2d(i, o, 3, padding=1, **kw)

        super().__init__(in_channels, out_channels, hidden_channels, levels, conv_at_level, "max", norm, **kw)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, widths={self.widths}, "
                f"norm={self.norm!r}")


@register_operator("function_unet")
class FunctionUNet(_UNetBase):
    """Function-space U-Net: ``InterpConv2d`` kernels of fixed physical support, average-pool down, bilinear up.

    ``ref_resolution``: the grid size at which level 0's kernels are the stored 3x3 ones (usually the training
    resolution); ``padding``: "zeros" or "periodic"; ``norm``: "layer" (default: each sample's quadrature statistics)
    "instance", or "batch" (running statistics of the training grid: the earlier default, kept for comparison;
    weights saved before ``norm`` existed load with ``norm="batch"``).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, hidden_channels: int = 16, levels: int = 3,
                 ref_resolution: int = 32, padding: str = "zeros", norm: str = "layer", device=None,
                 dtype=None) -> None:
        kw = {"device": device, "dtype": dtype}
        check_int("ref_resolution", ref_resolution, min_value=2 ** (max(1, levels) - 1))
        check_choice("padding", padding, ("zeros", "periodic"))

        def conv_at_level(lvl: int) -> Callable[[int, int], nn.Module]:
            ref = max(1, ref_resolution // 2 ** lvl)
            return lambda i, o: InterpConv2d(i, o, 3, ref_resolution=ref, padding=padding, **kw)

        super().__init__(in_channels, out_channels, hidden_channels, levels, conv_at_level, "avg", norm, **kw)
        self.ref_resolution = ref_resolution

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, widths={self.widths}, "
                f"ref_resolution={self.ref_resolution}, norm={self.norm!r}")
