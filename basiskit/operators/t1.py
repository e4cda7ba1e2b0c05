r"""T1 (Transform Once): a frequency-domain operator with one forward and one inverse transform.

Poli, Massaroli, Berto, Park, Ermon, Ré, Bengio (2022), "Transform Once: Efficient Operator Learning in
Frequency Domain". Where an FNO layer transforms forward and back in every layer, T1 transforms the input once,
keeps a band of modes, applies every layer to the kept modes, and transforms back once:

.. math::
    \hat z_0 = P\,\mathcal{T}_m(u),\qquad
    \hat z_{l+1} = \sigma\big(W^{(l)}_k \hat z_{l,k} + A^{(l)}_1 (V^{(l)} \hat z_l) A^{(l)\top}_2 + b^{(l)}\big),\qquad
    v = \mathcal{T}^{-1}\big(Q\,\hat z_L\big)

with :math:`\mathcal T_m` the truncated 2-D (or n-D) DCT-II or real DFT, :math:`W_k` a channel mixing per mode
:math:`k`, :math:`A_1, A_2` mode-mixing matrices along each mode axis (shared across channels, after a channel map
:math:`V`), :math:`\sigma` applied to the coefficients (real and imaginary parts apart for the DFT).

Transforms are normalised so that coefficients do not depend on the grid size (``dct``: the orthonormal DCT-II
divided by :math:`\sqrt{N}` per axis; ``dft``: ``norm="forward"``), so one model runs at any resolution.
Variance-preserving initialisation: with independent zero-mean weights the two branches each get variance
:math:`\mathrm{gain}/(2\,C_{in})` (the mode-mixing factors :math:`1/m` per axis), so the pre-activation variance
equals ``gain`` times the input's coefficient variance (gain 2 for the ReLU-like default GELU).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..nn.activations import get_activation
from ._registry import register_operator

TRANSFORMS = ("dct", "dft")


# ---- pure functions: transforms ---------------------------------------------------------------------
def dct_matrix(n: int, m: int, *, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""The first ``m`` rows of the orthonormal DCT-II matrix for length ``n``: (m, n).

    :math:`C_{kj} = s_k \cos(\pi k (2j+1) / (2n))`, :math:`s_0 = \sqrt{1/n}`, :math:`s_k = \sqrt{2/n}`.
    Equals ``scipy.fft.dct(np.eye(n), type=2, norm="ortho", axis=0)[:m]``.
    """
    k = torch.arange(m, device=device, dtype=torch.float64)[:, None]
    j = torch.arange(n, device=device, dtype=torch.float64)[None, :]
    c = torch.cos(math.pi * k * (2 * j + 1) / (2 * n)) * math.sqrt(2.0 / n)
    c[0] = c[0] / math.sqrt(2.0)
    return c.to(dtype)


def dct_forward(x: torch.Tensor, modes: Sequence[int]) -> torch.Tensor:
    r"""Truncated, grid-normalised DCT-II over the last ``len(modes)`` dims.

    x: (..., n_1, ..., n_d) -> (..., m_1, ..., m_d), coefficient :math:`= \mathrm{DCT}_{ortho}(x)/\sqrt{n}` per axis.
    """
    d = len(modes)
    for axis, m in enumerate(modes):
        dim = x.ndim - d + axis
        n = x.shape[dim]
        c = dct_matrix(n, m, device=x.device, dtype=x.dtype) / math.sqrt(n)
        x = torch.movedim(torch.movedim(x, dim, -1) @ c.T, -1, dim)
    return x


def dct_inverse(coeffs: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """Inverse of ``dct_forward`` onto ``grid`` (missing modes are zero): (..., m_1..m_d) -> (..., n_1..n_d)."""
    d = len(grid)
    for axis, n in enumerate(grid):
        dim = coeffs.ndim - d + axis
        m = coeffs.shape[dim]
        c = dct_matrix(n, m, device=coeffs.device, dtype=coeffs.dtype) * math.sqrt(n)
        coeffs = torch.movedim(torch.movedim(coeffs, dim, -1) @ c, -1, dim)
    return coeffs


def dft_forward(x: torch.Tensor, modes: Sequence[int]) -> torch.Tensor:
    """Truncated real DFT (``norm="forward"``) over the last ``len(modes)`` dims.

    Keeps frequencies ``[0, m)`` and ``[-m, 0)`` on every axis but the last, ``[0, m)`` on the last:
    x: (..., n_1, ..., n_d) real -> (..., 2 m_1, ..., 2 m_{d-1}, m_d) complex.
    """
    d = len(modes)
    if x.dtype in (torch.float16, torch.bfloat16):  # CPU FFTs reject half precision: transform in float32
        x = x.float()
    spec = torch.fft.rfftn(x, dim=tuple(range(-d, 0)), norm="forward")
    spec = spec[..., : modes[-1]]
    for axis in range(d - 1):
        dim = spec.ndim - d + axis
        m = modes[axis]
        spec = torch.cat([spec.narrow(dim, 0, m), spec.narrow(dim, spec.shape[dim] - m, m)], dim=dim)
    return spec


def dft_inverse(coeffs: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """Inverse of ``dft_forward`` onto ``grid`` (missing modes are zero).

    coeffs: complex (..., 2 m_1, ..., 2 m_{d-1}, m_d) -> real (..., n_1, ..., n_d).
    """
    d = len(grid)
    full = list(coeffs.shape[:-d]) + list(grid[:-1]) + [grid[-1] // 2 + 1]
    out = coeffs.new_zeros(full)
    lead: list[slice] = [slice(None)] * (coeffs.ndim - d)
    m_last = coeffs.shape[-1]
    # corner blocks: on each axis but the last, low positive (dst [0, m)) and negative (dst [n-m, n)) frequencies
    corners: list[list[tuple[slice, slice]]] = [[]]
    for a in range(d - 1):
        m = coeffs.shape[coeffs.ndim - d + a] // 2
        corners = ([c + [(slice(0, m), slice(0, m))] for c in corners]
                   + [c + [(slice(grid[a] - m, grid[a]), slice(m, 2 * m))] for c in corners])
    for corner in corners:
        dst = tuple(lead + [c[0] for c in corner] + [slice(0, m_last)])
        src = tuple(lead + [c[1] for c in corner] + [slice(0, m_last)])
        out[dst] = coeffs[src]
    return torch.fft.irfftn(out, s=tuple(grid), dim=tuple(range(-d, 0)), norm="forward")


def t1_layer(z: torch.Tensor, mode_weight: torch.Tensor, channel_weight: torch.Tensor,
             mode_mix: Sequence[torch.Tensor], bias: torch.Tensor) -> torch.Tensor:
    r"""One T1 layer before the activation, :math:`W_k z_k + A_1 \cdots A_d (V z) + b` on kept modes.

    z: (batch, c_in, *m); mode_weight: (c_in, c_out, *m); channel_weight: (c_out, c_in);
    mode_mix[a]: (m_a, m_a); bias: (c_out, *m). Returns (batch, c_out, *m).
    """
    per_mode = torch.einsum("bi...,io...->bo...", z, mode_weight)
    mixed = torch.einsum("oi,bi...->bo...", channel_weight, z)
    d = len(mode_mix)
    for axis, a in enumerate(mode_mix):
        dim = mixed.ndim - d + axis
        mixed = torch.movedim(torch.movedim(mixed, dim, -1) @ a.T, -1, dim)
    return per_mode + mixed + bias


def _split_act(z: torch.Tensor, act) -> torch.Tensor:
    if z.is_complex():
        return torch.complex(act(z.real), act(z.imag))
    return act(z)


@register_operator("t1", summary="Transform Once: one DCT/DFT, every layer on the kept modes (Poli et al. 2022)")
class T1(nn.Module):
    r"""Transform Once operator: (batch, in_channels, *grid) -> (batch, out_channels, *grid).

    Args:
        n_modes: kept modes per axis (DCT: the first ``m``; DFT: ``m`` positive and ``m`` negative, last axis
            ``m`` non-negative); the grid must have ``n >= m`` (DCT) or ``n >= 2m`` (DFT) on each axis.
        in_channels, out_channels, hidden_channels, n_layers: sizes.
        transform: "dct" (real coefficients) or "dft" (complex, activation on real and imaginary parts apart).
        activation: a name of :mod:`basiskit.nn.activations` ("gelu", "relu", "tanh", "silu", ...); ``gain`` is
            the variance gain of the initialisation.

    ``forward_modes(x)`` returns the output's kept modes, ``to_modes(y)`` a target's, for a loss in frequency
    space (by Parseval it equals the physical-space error of the band-limited target). See the module docstring.
    """

    def __init__(self, n_modes: Sequence[int], in_channels: int = 1, out_channels: int = 1,
                 hidden_channels: int = 32, n_layers: int = 4, transform: str = "dct", activation: str = "gelu",
                 gain: float = 2.0, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(n_modes, int) or not isinstance(n_modes, Sequence) or len(n_modes) == 0:
            raise TypeError(f"n_modes must be a non-empty sequence of ints (one per grid axis), got {n_modes!r}")
        self.n_modes = tuple(check_int("n_modes", m, min_value=1) for m in n_modes)
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.hidden_channels = check_int("hidden_channels", hidden_channels, min_value=1)
        self.n_layers = check_int("n_layers", n_layers, min_value=1)
        self.transform = check_choice("transform", transform, TRANSFORMS)
        self.activation = get_activation(activation).name
        self.gain = check_float("gain", gain, min_value=0.0, strict_min=True)
        complex_ = transform == "dft"
        shape = self.n_modes if not complex_ else tuple(2 * m for m in self.n_modes[:-1]) + self.n_modes[-1:]
        self.mode_shape = shape
        kw = {"device": device, "dtype": dtype}
        c = hidden_channels
        std = math.sqrt(gain / (2 * c))
        extra = (2,) if complex_ else ()
        cscale = 1 / math.sqrt(2) if complex_ else 1.0  # split the variance between real and imaginary parts
        self.lift = nn.Parameter(torch.randn(c, in_channels, *extra, **kw) * cscale / math.sqrt(in_channels))
        self.mode_weights = nn.ParameterList()
        self.channel_weights = nn.ParameterList()
        self.mode_mixes = nn.ParameterList()
        self.biases = nn.ParameterList()
        for _ in range(n_layers):
            self.mode_weights.append(nn.Parameter(torch.randn(c, c, *shape, *extra, **kw) * std * cscale))
            self.channel_weights.append(nn.Parameter(torch.randn(c, c, *extra, **kw) * std * cscale))
            for m in shape:
                self.mode_mixes.append(nn.Parameter(torch.randn(m, m, *extra, **kw) * cscale / math.sqrt(m)))
            self.biases.append(nn.Parameter(torch.zeros(c, *shape, *extra, **kw)))
        self.proj1 = nn.Parameter(torch.randn(c, c, *extra, **kw) * cscale * math.sqrt(gain / c))
        self.proj2 = nn.Parameter(torch.randn(out_channels, c, *extra, **kw) * cscale / math.sqrt(c))

    def _w(self, p: torch.Tensor) -> torch.Tensor:
        return torch.view_as_complex(p) if self.transform == "dft" else p

    def _check(self, x: torch.Tensor, arg: str, channels: int) -> torch.Tensor:
        d = len(self.n_modes)
        check_tensor(arg, x, ndim=d + 2)
        if x.shape[1] != channels:
            raise ValueError(f"{arg} must have {channels} channels (dim 1), got shape {tuple(x.shape)}")
        factor = 2 if self.transform == "dft" else 1
        for axis, m in enumerate(self.n_modes):
            n = x.shape[2 + axis]
            need = factor * m if (self.transform == "dct" or axis < d - 1) else max(1, 2 * m - 2)
            if n < need:
                raise ValueError(f"n_modes={self.n_modes}: axis {axis} keeps {m} {self.transform} modes, which "
                                 f"needs a grid of at least {need} points; {arg} has {n} (shape {tuple(x.shape)})")
        return x

    def to_modes(self, y: torch.Tensor) -> torch.Tensor:
        """The kept modes of a field: (batch, channels, *grid) -> (batch, channels, *mode_shape)."""
        fwd = dct_forward if self.transform == "dct" else dft_forward
        return fwd(y, self.n_modes)

    def forward_modes(self, x: torch.Tensor) -> torch.Tensor:
        """The output's kept modes: (batch, in_channels, *grid) -> (batch, out_channels, *mode_shape)."""
        self._check(x, "x", self.in_channels)
        act = get_activation(self.activation).fn
        z = torch.einsum("oi,bi...->bo...", self._w(self.lift), self.to_modes(x).to(self._w(self.lift).dtype))
        d = len(self.n_modes)
        for layer in range(self.n_layers):
            mix = [self._w(self.mode_mixes[layer * d + a]) for a in range(d)]
            z = t1_layer(z, self._w(self.mode_weights[layer]), self._w(self.channel_weights[layer]), mix,
                         self._w(self.biases[layer]))
            z = _split_act(z, act)
        z = _split_act(torch.einsum("oi,bi...->bo...", self._w(self.proj1), z), act)
        return torch.einsum("oi,bi...->bo...", self._w(self.proj2), z)

    def from_modes(self, coeffs: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
        """Inverse transform of kept modes onto ``grid``: (batch, c, *mode_shape) -> (batch, c, *grid)."""
        inv = dct_inverse if self.transform == "dct" else dft_inverse
        return inv(coeffs, tuple(grid))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_channels, *grid) -> (batch, out_channels, *grid)."""
        return self.from_modes(self.forward_modes(x), x.shape[2:])

    def extra_repr(self) -> str:
        return (f"n_modes={self.n_modes}, in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, n_layers={self.n_layers}, transform={self.transform!r}, "
                f"activation={self.activation!r}")


class ModesView(nn.Module):
    """``T1.forward_modes`` as a module (shares the T1's parameters), for training with a frequency-space loss."""

    def __init__(self, model: T1) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_modes(x)
