r"""``InterpConv2d``: a convolution whose kernel is a function on the domain, resampled to the input grid.

From Berner, Liu-Schiaffini, Kossaifi, Duruisseaux, Bonev, Azizzadenesheli, Anandkumar (2025), "Principled approaches
for extending neural architectures to function spaces for operator learning": a convolution layer becomes an
integral operator :math:`(\kappa * u)(x) = \int \kappa(x - y)\, u(y)\, dy` whose kernel has a fixed physical support,
discretised on whatever grid the input comes on.

The kernel is stored as ``kernel_size x kernel_size`` values :math:`c_{ij}` at the nodes of a reference grid of
spacing :math:`h_0 = 1 / \text{ref\_resolution}` and defined between them by tensor-product hat functions
:math:`\Lambda(t) = \max(0, 1 - |t|)`:

.. math::
    \kappa(x, y) = \sum_{i,j} c_{ij}\, \Lambda(x/h_0 - i)\, \Lambda(y/h_0 - j).

On a grid of spacing :math:`h` the kernel is sampled at multiples of :math:`h` and multiplied by the quadrature
weight :math:`(h / h_0)^2` per axis pair, so on the reference grid it is exactly the stored kernel and, since the
hats form a partition of unity, its total mass :math:`\sum c_{ij}` is kept on every grid that refines the reference
one by an integer factor. Constant inputs give the same output at every such resolution.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_choice, check_int, check_tensor

PADDINGS = ("zeros", "periodic")


def hat_resample_matrix(kernel_size: int, ref_resolution: int, resolution: int, *,
                        device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""Interpolation matrix from stored kernel nodes to the sample points of a grid: (k_n, kernel_size).

    Node :math:`i \in \{-m..m\}` (``m = (kernel_size-1)/2``) sits at :math:`i h_0`; sample points are :math:`j h` with
    :math:`|j h| < (m+1) h_0`, :math:`h = 1/\text{resolution}`; entry :math:`\Lambda(j h / h_0 - i)`.
    """
    m = (kernel_size - 1) // 2
    ratio = ref_resolution / resolution                       # h / h0
    half = math.ceil((m + 1) / ratio) - 1                     # largest j with |j| ratio < m + 1
    j = torch.arange(-half, half + 1, device=device, dtype=torch.float64)[:, None] * ratio
    i = torch.arange(-m, m + 1, device=device, dtype=torch.float64)[None, :]
    return (1 - (j - i).abs()).clamp_min(0).to(dtype)


def resample_kernel(weight: torch.Tensor, ref_resolution: tuple[int, int], resolution: tuple[int, int]) -> torch.Tensor:
    """Stored kernel (c_out, c_in, k, k) -> kernel for a grid of ``resolution``: (c_out, c_in, k_h, k_w).

    Includes the quadrature factor (ref/resolution) per axis; identity when ``resolution == ref_resolution``.
    """
    k = weight.shape[-1]
    bh = hat_resample_matrix(k, ref_resolution[0], resolution[0], device=weight.device, dtype=weight.dtype)
    bw = hat_resample_matrix(k, ref_resolution[1], resolution[1], device=weight.device, dtype=weight.dtype)
    scale = (ref_resolution[0] / resolution[0]) * (ref_resolution[1] / resolution[1])
    return torch.einsum("ai,oeij,bj->oeab", bh, weight, bw) * scale


def interp_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  ref_resolution: tuple[int, int], padding: str = "zeros") -> torch.Tensor:
    """x: (batch, c_in, h, w) -> (batch, c_out, h, w) with the kernel resampled to the grid (h, w)."""
    kernel = resample_kernel(weight, ref_resolution, (x.shape[-2], x.shape[-1]))
    ph, pw = (kernel.shape[-2] - 1) // 2, (kernel.shape[-1] - 1) // 2
    mode = "circular" if padding == "periodic" else "constant"
    return F.conv2d(F.pad(x, (pw, pw, ph, ph), mode=mode), kernel, bias)


class InterpConv2d(nn.Module):
    """Convolution with a kernel of fixed physical support: (batch, in_channels, h, w) -> (batch, out_channels, h, w).

    Args:
        kernel_size: odd number of stored kernel nodes per axis (at the reference grid spacing).
        ref_resolution: grid size (int or (h, w)) at which the stored kernel is used as is.
        padding: "zeros" or "periodic".
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 ref_resolution: int | Sequence[int] = 32, padding: str = "zeros", bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.kernel_size = check_int("kernel_size", kernel_size, min_value=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        ref = (ref_resolution, ref_resolution) if isinstance(ref_resolution, int) else tuple(ref_resolution)
        if len(ref) != 2:
            raise ValueError(f"ref_resolution must be an int or a pair, got {ref_resolution!r}")
        self.ref_resolution = tuple(check_int("ref_resolution", r, min_value=1) for r in ref)
        self.padding = check_choice("padding", padding, PADDINGS)
        kw = {"device": device, "dtype": dtype}
        bound = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size, **kw)
                                   .uniform_(-bound, bound) * math.sqrt(3))
        self.bias = nn.Parameter(torch.zeros(out_channels, **kw)) if bias else None

    def kernel(self, resolution: tuple[int, int]) -> torch.Tensor:
        """The kernel as used on a grid of ``resolution``: (out_channels, in_channels, k_h, k_w)."""
        return resample_kernel(self.weight, self.ref_resolution, resolution)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x must have in_channels={self.in_channels} channels (dim 1), got shape {tuple(x.shape)}")
        return interp_conv2d(x, self.weight, self.bias, self.ref_resolution, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"ref_resolution={self.ref_resolution}, padding={self.padding!r}, bias={self.bias is not None}")
