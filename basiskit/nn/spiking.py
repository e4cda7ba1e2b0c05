r"""Leaky integrate-and-fire (LIF) neurons with a surrogate gradient, for spiking networks trained by BPTT.

One time step of a LIF neuron with input current :math:`I_t` (Xiao et al. 2024 use the same discrete form):

.. math::
    u_t = \lambda\, v_{t-1} + I_t, \qquad s_t = H(u_t - \vartheta), \qquad
    v_t = u_t - \vartheta s_t \;(\text{soft reset}) \quad\text{or}\quad v_t = u_t (1 - s_t) \;(\text{hard reset}),

with decay :math:`\lambda = 1 - 1/\tau` (membrane time constant :math:`\tau \ge 1`; :math:`\tau = 1` is a neuron
without memory), threshold :math:`\vartheta` and the Heaviside step :math:`H`. The step has zero derivative almost
everywhere, so the backward pass replaces :math:`H'(u - \vartheta)` by a smooth surrogate
(Neftci, Mostafa & Zenke 2019):

- ``"sigmoid"``: :math:`\alpha\,\sigma(\alpha z)(1 - \sigma(\alpha z))`, the derivative of :math:`\sigma(\alpha z)`;
- ``"atan"``: :math:`\frac{\alpha / 2}{1 + (\pi \alpha z / 2)^2}`, the derivative of
  :math:`\tfrac12 + \tfrac1\pi \arctan(\tfrac\pi2 \alpha z)`;

where :math:`z = u - \vartheta`. Both integrate to 1 over the real line, like the step they stand in for.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_float, check_tensor

SURROGATES = ("sigmoid", "atan")
RESETS = ("soft", "hard")


def surrogate_grad(z: torch.Tensor, kind: str = "sigmoid", alpha: float = 4.0) -> torch.Tensor:
    """The surrogate of dH/dz at ``z = u - threshold`` (any shape): see the module docstring."""
    check_choice("surrogate", kind, SURROGATES)
    if kind == "sigmoid":
        sig = torch.sigmoid(alpha * z)
        return alpha * sig * (1.0 - sig)
    return (alpha / 2.0) / (1.0 + (math.pi / 2.0 * alpha * z) ** 2)


class _SpikeFunction(torch.autograd.Function):
    """Heaviside step forward, surrogate derivative backward."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, kind: str, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(z)
        ctx.kind, ctx.alpha = kind, alpha
        return (z >= 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (z,) = ctx.saved_tensors
        return grad * surrogate_grad(z, ctx.kind, ctx.alpha), None, None


def spike(z: torch.Tensor, surrogate: str = "sigmoid", alpha: float = 4.0) -> torch.Tensor:
    """Spikes ``H(z)`` (1.0 where ``z >= 0``, else 0.0), differentiable through the surrogate of ``surrogate``."""
    check_tensor("z", z)
    check_choice("surrogate", surrogate, SURROGATES)
    check_float("alpha", alpha, min_value=0.0, strict_min=True)
    return _SpikeFunction.apply(z, surrogate, float(alpha))


class LIFNeuron(nn.Module):
    r"""A layer of LIF neurons run over time: input currents ``(T, batch, ...)`` -> spikes ``(T, batch, ...)``.

    ``tau`` >= 1 is the membrane time constant (decay :math:`1 - 1/\tau` per step), ``threshold`` > 0 the firing
    threshold, ``reset`` ``"soft"`` (subtract the threshold) or ``"hard"`` (back to 0), ``surrogate`` and ``alpha``
    the surrogate gradient (module docstring). The membrane starts at 0 in every call; there is no state between
    calls and no parameter.

    >>> lif = LIFNeuron(tau=2.0, threshold=1.0)
    >>> lif(torch.full((3, 1, 1), 0.6)).flatten().tolist()   # u = 0.6, 0.9, 1.05 -> spike at t = 2
    [0.0, 0.0, 1.0]
    """

    def __init__(self, tau: float = 2.0, threshold: float = 1.0, *, reset: str = "soft",
                 surrogate: str = "sigmoid", alpha: float = 4.0) -> None:
        super().__init__()
        self.tau = check_float("tau", tau, min_value=1.0)
        self.threshold = check_float("threshold", threshold, min_value=0.0, strict_min=True)
        self.reset = check_choice("reset", reset, RESETS)
        self.surrogate = check_choice("surrogate", surrogate, SURROGATES)
        self.alpha = check_float("alpha", alpha, min_value=0.0, strict_min=True)

    @property
    def decay(self) -> float:
        return 1.0 - 1.0 / self.tau

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        check_tensor("current", current, min_ndim=1, nonempty=True)
        v = torch.zeros_like(current[0])
        spikes = []
        for i_t in current:
            u = self.decay * v + i_t
            s = _SpikeFunction.apply(u - self.threshold, self.surrogate, self.alpha)
            v = u - self.threshold * s if self.reset == "soft" else u * (1.0 - s)
            spikes.append(s)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return (f"tau={self.tau:g}, threshold={self.threshold:g}, reset={self.reset!r}, "
                f"surrogate={self.surrogate!r}, alpha={self.alpha:g}")
