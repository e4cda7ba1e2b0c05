r"""Space-time Fourier Neural Operator for 2-D flows (the ST-FNO of Cao et al. 2024, "Spectral-Refiner: Accurate
Fine-Tuning of Spatiotemporal Fourier Neural Operator for Turbulent Flows", ICLR 2025).

A trajectory-to-trajectory learner: the input frames :math:`w(t_0)` (and earlier, as channels) are spread along a
time axis of ``steps`` points, an FNO over :math:`(x, y, t)` with truncated modes maps them to ``latent_channels``
features, and the last layer is a spatio-temporal spectral convolution that keeps **every** Fourier mode of the
(n1, n2, steps) grid (no frequency truncation):

.. math::
    v = \mathrm{FNO}_{3d}\big(\mathrm{broadcast}_t(a), x, y, t\big), \qquad
    w(x, y, t_m) = \mathcal F^{-1}\big(\hat W(k)\,\hat v(k)\big) + b, \quad k \in \text{all modes of the grid}.

Space is periodic; time is not, so the backbone pads the time axis (``time_padding``, as FNO-3d does) and the
positional channels :math:`(x, y, t)` tell the broadcast input where in the window it sits. The output is linear
in the last layer's weight, which is what ``operators.refine.spectral_refine`` fine-tunes. The last layer is
initialised to one channel-mixing matrix for every mode (a point-wise linear projection), so a freshly built model
predicts smooth fields; end-to-end training then updates each mode.

Built on ``operators.FNO`` (backbone) and ``operators.SpectralConv`` (head): x (b, in_channels, n1, n2) ->
(b, out_channels, n1, n2, steps), frames at :math:`t_0 + m\,\Delta t`, m = 1..steps.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_float, check_int
from ._registry import register_operator
from .common import as_tuple, check_field
from .fno import FNO
from .spectral import SpectralConv


@register_operator("stfno", summary="space-time FNO over (x, y, t) with a full-mode last layer (Cao et al. 2024)")
class SpatioTemporalFNO(nn.Module):
    """Space-time FNO (module docstring).

    Args:
        n_modes: (m_x, m_y, m_t) modes kept by the backbone's Fourier layers.
        grid: (n1, n2) spatial grid of the full-mode head (the grid it is trained and refined on).
        steps: number of output frames.
        in_channels: input frames (channels of x); out_channels: output fields (1: the vorticity).
        hidden_channels, n_layers: backbone width and depth; latent_channels: channels entering the head.
        time_padding: zero padding of the backbone's time axis (points, or a fraction of ``steps``).

    x: (b, in_channels, n1, n2) -> (b, out_channels, n1, n2, steps).
    """

    def __init__(self, n_modes: Sequence[int], grid: int | Sequence[int], steps: int, in_channels: int = 1,
                 out_channels: int = 1, hidden_channels: int = 20, n_layers: int = 4,
                 latent_channels: int | None = None, time_padding: float = 0.25, activation: str = "gelu",
                 channel_mlp_expansion: float | None = 0.5, device=None, dtype=None) -> None:
        super().__init__()
        self.n_modes = as_tuple("n_modes", n_modes, 3)
        self.grid = as_tuple("grid", grid, 2)
        self.steps = check_int("steps", steps, min_value=2)
        for j, (m, n) in enumerate(zip(self.n_modes, (*self.grid, self.steps))):
            if m > n:
                raise ValueError(f"n_modes[{j}]={m} is more modes than the grid's {n} points along that dim "
                                 f"(grid={self.grid}, steps={self.steps})")
        self.in_channels = check_int("in_channels", in_channels, min_value=1)
        self.out_channels = check_int("out_channels", out_channels, min_value=1)
        self.latent_channels = check_int("latent_channels", latent_channels if latent_channels is not None
                                         else hidden_channels, min_value=1)
        if isinstance(time_padding, float):
            check_float("time_padding", time_padding, min_value=0.0, max_value=1.0)
        self.time_padding = time_padding
        kw = {"device": device, "dtype": dtype}
        self.backbone = FNO(self.n_modes, in_channels, self.latent_channels, hidden_channels, n_layers,
                            positional=True, padding=(0, 0, time_padding), activation=activation,
                            channel_mlp_expansion=channel_mlp_expansion, **kw)
        self.head = SpectralConv(self.latent_channels, out_channels, (*self.grid, self.steps), **kw)
        with torch.no_grad():  # one mixing matrix for every mode: a point-wise linear map at initialisation
            mix = torch.randn(self.latent_channels, out_channels, device=device, dtype=dtype)
            mix = mix / self.latent_channels ** 0.5
            self.head.weight.zero_()
            self.head.weight[..., 0] = mix.reshape(*mix.shape, 1, 1, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone: x (b, in_channels, n1, n2) -> (b, latent_channels, n1, n2, steps)."""
        check_field("x", x, 2, self.in_channels)
        spread = x.unsqueeze(-1).expand(*x.shape, self.steps)
        return self.backbone(spread)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (b, in_channels, n1, n2) -> (b, out_channels, n1, n2, steps)."""
        return self.head(self.features(x))

    def extra_repr(self) -> str:
        return (f"n_modes={self.n_modes}, grid={self.grid}, steps={self.steps}, in_channels={self.in_channels}, "
                f"out_channels={self.out_channels}, latent_channels={self.latent_channels}")
