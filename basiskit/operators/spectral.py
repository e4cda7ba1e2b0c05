r"""Spectral convolution, the kernel integral of the Fourier Neural Operator (Li et al. 2020):

.. math::
    (\mathcal K v)(x) = \mathcal F^{-1}\big(R_\phi \cdot \mathcal F v\big)(x), \qquad
    (R\cdot\hat v)_o(k) = \sum_i R_{io}(k)\,\hat v_i(k) \ \text{ for kept modes } k, \text{ else } 0.

Mode convention (as neuraloperator's): ``n_modes[j]`` Fourier modes are kept along grid dim j, the wavenumbers
:math:`-\lfloor m/2\rfloor \dots m - \lfloor m/2\rfloor - 1`; along the last dim, whose real FFT holds only
:math:`k \ge 0`, the first :math:`\lfloor m/2\rfloor + 1`. A weight is (in, out, m_1, ..., m_{d-1}, m_d//2 + 1)
complex, the non-last mode axes in FFT order (non-negative wavenumbers first).

The forward transform keeps only what it needs: a real FFT along the last dim, truncated, then complex FFTs
of the kept columns along the other dims; the inverse zero-fills in the same order. The forward FFT is
normalised by :math:`1/n` ("forward"), so the kept coefficients approximate those of the continuous function
and the layer is discretisation-invariant.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_int
from .common import as_tuple, check_field


def kept_modes(n_modes: Sequence[int]) -> tuple[int, ...]:
    """Stored mode counts per dim: ``n_modes`` with the last replaced by ``n_modes[-1] // 2 + 1``."""
    return tuple(n_modes[:-1]) + (n_modes[-1] // 2 + 1,)


def check_modes(n_modes: Sequence[int], grid: Sequence[int], arg: str = "n_modes") -> None:
    """ValueError naming ``arg`` if ``n_modes`` keeps more modes than the grid carries."""
    if len(n_modes) != len(grid):
        raise ValueError(f"{arg}={tuple(n_modes)} has {len(n_modes)} entries but the input has {len(grid)} grid "
                         f"dims {tuple(grid)}")
    for j, (m, n) in enumerate(zip(n_modes, grid)):
        limit = n if j < len(grid) - 1 else 2 * (n // 2) + 1
        if m > limit:
            raise ValueError(f"{arg}[{j}]={m} is more Fourier modes than a grid of {n} points allows "
                             f"(at most {limit}); use a finer grid or fewer modes")


def truncated_rfftn(x: torch.Tensor, modes: Sequence[int]) -> torch.Tensor:
    """The kept Fourier coefficients of a real field.

    x: (b, c, *grid) real; modes: stored counts per dim (``kept_modes``) -> (b, c, *modes) complex.
    Half-precision inputs are transformed in float32 (CPU FFTs reject float16/bfloat16; complex halves are rare).
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    d = len(modes)
    spec = torch.fft.rfft(x, dim=-1, norm="forward")[..., :modes[-1]]
    for j in range(d - 1):
        dim = 2 + j
        spec = torch.fft.fft(spec, dim=dim, norm="forward")
        m, n = modes[j], x.shape[dim]
        pos = m - m // 2
        if m < n:
            spec = torch.cat([spec.narrow(dim, 0, pos), spec.narrow(dim, n - m // 2, m // 2)], dim)
    return spec


def padded_irfftn(spec: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """Inverse of ``truncated_rfftn``: zero-fill the missing modes and transform back.

    spec: (b, c, *modes) complex -> (b, c, *grid) real.
    """
    d = len(grid)
    for j in range(d - 1):
        dim = 2 + j
        m, n = spec.shape[dim], grid[j]
        if m < n:
            pos = m - m // 2
            shape = list(spec.shape)
            shape[dim] = n
            full = spec.new_zeros(shape)
            full.narrow(dim, 0, pos).copy_(spec.narrow(dim, 0, pos))
            if m // 2:
                full.narrow(dim, n - m // 2, m // 2).copy_(spec.narrow(dim, pos, m // 2))
            spec = full
        spec = torch.fft.ifft(spec, dim=dim, norm="forward")
    return torch.fft.irfft(spec, n=grid[-1], dim=-1, norm="forward")


def spectral_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  out_grid: Sequence[int] | None = None) -> torch.Tensor:
    r"""Fourier-space linear map of the lowest modes (see the module docstring).

    x: (b, in, *grid) real; weight: (in, out, *modes) complex (``kept_modes`` layout); bias: (out,) or None
    -> (b, out, *grid), or on ``out_grid`` (the kept modes written on another grid: UNO's rescaling layers).
    """
    grid = tuple(out_grid) if out_grid is not None else x.shape[2:]
    spec = truncated_rfftn(x, weight.shape[2:])
    letters = "xyz"[:len(grid)]
    out = torch.einsum(f"bi{letters},io{letters}->bo{letters}", spec, weight)
    y = padded_irfftn(out, grid)
    if bias is not None:
        y = y + bias.reshape(1, -1, *([1] * len(grid)))
    return y


def init_spectral_weight(in_channels: int, out_channels: int, modes: Sequence[int], *, device=None,
                         dtype=None) -> torch.Tensor:
    """Real storage (in, out, *modes, 2) of a complex weight, entries N(0, 2/(in+out)) in modulus squared."""
    std = math.sqrt(2.0 / (in_channels + out_channels))
    return torch.randn(in_channels, out_channels, *modes, 2, device=device, dtype=dtype) * (std / math.sqrt(2))


class SpectralConv(nn.Module):
    """Owner of a dense spectral weight; ``forward`` is ``spectral_conv``.

    x: (b, in_channels, *grid) -> (b, out_channels, *grid), ``len(n_modes)`` grid dims. The complex weight is
    stored as real pairs (``weight[..., 0]`` real, ``[..., 1]`` imaginary) so checkpoints stay real-valued.
    """

    def __init__(self, in_channels: int, out_channels: int, n_modes: int | Sequence[int], bias: bool = True, *,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.n_modes = as_tuple("n_modes", n_modes, 1 if isinstance(n_modes, int) else None)
        self.weight = nn.Parameter(init_spectral_weight(in_channels, out_channels, kept_modes(self.n_modes),
                                                        device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype)) if bias else None

    def complex_weight(self) -> torch.Tensor:
        return torch.view_as_complex(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, len(self.n_modes), self.in_channels)
        check_modes(self.n_modes, x.shape[2:])
        return spectral_conv(x, self.complex_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, n_modes={self.n_modes}, bias={self.bias is not None}"
