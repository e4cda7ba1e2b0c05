r"""EvoNorm-B0 and EvoNorm-S0: normalisation and activation in one layer (Liu, Brock, Simonyan & Le 2020,
"Evolving Normalization-Activation Layers", NeurIPS).

Both layers replace a ``BatchNorm -> ReLU`` pair. For an input ``x`` of shape ``(N, C, *spatial)`` with one,
two or three spatial dims (``(N, C, L)``, ``(N, C, H, W)``, ``(N, C, D, H, W)``) and per-channel parameters
``gamma``, ``beta``, ``v`` (shape ``(1, C, 1, ...)``, initialised to 1, 0, 1):

.. math::

    \text{B0}(x) = \frac{x}{\max\left(\sqrt{s^2_{b} + \epsilon},\; v\,x + \sqrt{s^2_{i} + \epsilon}\right)}
                   \gamma + \beta,
    \qquad
    \text{S0}(x) = \frac{x\,\sigma(v\,x)}{\sqrt{s^2_{g} + \epsilon}}\,\gamma + \beta,

where :math:`s^2_b` is the batch variance of the channel (over ``N`` and the spatial dims; in evaluation a
running estimate), :math:`s^2_i` the instance variance (over the spatial dims of one sample and channel) and
:math:`s^2_g` the group variance (over the ``C / groups`` channels of a group and the spatial dims of one
sample). S0 uses no batch statistic at all: a sample's output is a function of that sample alone, which is what
makes it work at batch size 1 or 2 where BatchNorm's statistics are noise.

Guards against the known NaNs of copies of these layers:

* every variance is the biased (population) variance, so a statistic over a single element (a 1x1 feature map,
  a batch of one) is 0 and its square root ``sqrt(eps)``, not ``0/0``; the running variance of B0 takes the
  unbiased correction ``n / (n - 1)`` only where ``n > 1``;
* ``groups`` must divide the channel count (``ValueError`` naming both), as must ``channels`` match the input.

The reference of the equations, in float64 and written out term by term, is ``evonorm_reference`` in the tests;
timm's ``EvoNorm2dB0``/``EvoNorm2dS0`` are compared where timm imports.
"""
from __future__ import annotations

import torch
from torch import nn

from .._validation import check_float, check_int

__all__ = ["EvoNormB0", "EvoNormS0", "evonorm_b0", "evonorm_s0"]


def _check_input(x: torch.Tensor, channels: int, layer: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer}: x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{layer}: x must be (N, C, L), (N, C, H, W) or (N, C, D, H, W) (3 to 5 dims), "
                         f"got shape {tuple(x.shape)}")
    if x.shape[1] != channels:
        raise ValueError(f"{layer}: x has {x.shape[1]} channels (dim 1), the layer was built for {channels}")
    if not x.is_floating_point():
        raise TypeError(f"{layer}: x must be a floating-point tensor, got dtype {x.dtype}")


def _param_shape(x: torch.Tensor) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def evonorm_s0(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, v: torch.Tensor, groups: int,
               eps: float = 1e-5) -> torch.Tensor:
    r"""EvoNorm-S0: :math:`x \sigma(v x) / \sqrt{\mathrm{Var}_{group}(x) + \epsilon} \cdot \gamma + \beta`.

    x: (N, C, *spatial) with 1-3 spatial dims; gamma, beta, v: (C,) or broadcastable (1, C, 1, ...);
    groups must divide C. Returns a tensor shaped like x.
    """
    n, c = x.shape[:2]
    if groups < 1 or c % groups:
        raise ValueError(f"evonorm_s0: groups={groups} must be a positive divisor of the {c} channels")
    shape = _param_shape(x)
    gamma, beta, v = gamma.reshape(shape), beta.reshape(shape), v.reshape(shape)
    grouped = x.reshape(n, groups, -1)
    var = grouped.var(dim=2, unbiased=False, keepdim=True)
    std = (var + eps).sqrt().expand(n, groups, grouped.shape[2]).reshape(x.shape)
    return x * torch.sigmoid(v * x) / std * gamma + beta


def evonorm_b0(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, v: torch.Tensor,
               batch_var: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""EvoNorm-B0 given the per-channel variance to use (batch variance in training, running in evaluation):
    :math:`x / \max(\sqrt{s^2_b + \epsilon}, v x + \sqrt{\mathrm{Var}_{instance}(x) + \epsilon}) \cdot \gamma + \beta`.

    x: (N, C, *spatial); gamma, beta, v, batch_var: (C,) or broadcastable. Returns a tensor shaped like x.
    """
    shape = _param_shape(x)
    spatial = tuple(range(2, x.ndim))
    instance_std = (x.var(dim=spatial, unbiased=False, keepdim=True) + eps).sqrt()
    denominator = torch.maximum((batch_var.reshape(shape) + eps).sqrt(), v.reshape(shape) * x + instance_std)
    return x / denominator * gamma.reshape(shape) + beta.reshape(shape)


class _EvoNorm(nn.Module):
    def __init__(self, channels: int, eps: float, device: torch.device | str | None,
                 dtype: torch.dtype | None) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, min_value=1)
        self.eps = check_float("eps", eps, min_value=0.0, strict_min=True)
        kw = {"device": device, "dtype": dtype}
        self.gamma = nn.Parameter(torch.ones(channels, **kw))
        self.beta = nn.Parameter(torch.zeros(channels, **kw))
        self.v = nn.Parameter(torch.ones(channels, **kw))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.gamma)
        nn.init.zeros_(self.beta)
        nn.init.ones_(self.v)


class EvoNormS0(_EvoNorm):
    r"""EvoNorm-S0 (batch-independent): :math:`x \sigma(v x) / \sqrt{s^2_{group} + \epsilon}\,\gamma + \beta`.

    Args:
        channels: C, the size of dim 1 of the input.
        groups: number of channel groups sharing one variance (must divide C; the paper uses 32).
        eps: added to the variance.

    Shapes: (N, C, L), (N, C, H, W) or (N, C, D, H, W) in, the same out. No buffers: train and eval agree.

    Example::

        layer = EvoNormS0(64, groups=8)          # drop-in for BatchNorm2d(64) + ReLU
        y = layer(torch.randn(2, 64, 8, 8))
    """

    def __init__(self, channels: int, groups: int = 32, eps: float = 1e-5, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(channels, eps, device, dtype)
        check_int("groups", groups, min_value=1)
        if channels % groups:
            divisors = [d for d in range(1, channels + 1) if channels % d == 0]
            raise ValueError(f"groups={groups} must divide channels={channels}; allowed: {divisors}")
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.channels, "EvoNormS0")
        return evonorm_s0(x, self.gamma, self.beta, self.v, self.groups, self.eps)

    def extra_repr(self) -> str:
        return f"{self.channels}, groups={self.groups}, eps={self.eps:g}"


class EvoNormB0(_EvoNorm):
    r"""EvoNorm-B0 (batch-dependent):
    :math:`x / \max(\sqrt{s^2_b + \epsilon}, v x + \sqrt{s^2_i + \epsilon})\,\gamma + \beta`.

    In training :math:`s^2_b` is the biased variance over (N, spatial) of the current batch and the buffer
    ``running_var`` moves towards its unbiased value by ``momentum`` (PyTorch's BatchNorm convention:
    ``running = (1 - momentum) running + momentum var``); in evaluation ``running_var`` is used.

    Args:
        channels: C. eps: added to each variance. momentum: in (0, 1].

    Shapes: (N, C, L), (N, C, H, W) or (N, C, D, H, W) in, the same out.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1, *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__(channels, eps, device, dtype)
        self.momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0, strict_min=True)
        self.register_buffer("running_var", torch.ones(channels, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.channels, "EvoNormB0")
        if self.training:
            dims = (0, *range(2, x.ndim))
            var = x.var(dim=dims, unbiased=False)
            count = x.numel() // x.shape[1]
            with torch.no_grad():
                unbiased = var.detach() * (count / (count - 1) if count > 1 else 1.0)
                self.running_var.mul_(1.0 - self.momentum).add_(self.momentum * unbiased.to(self.running_var))
        else:
            var = self.running_var
        return evonorm_b0(x, self.gamma, self.beta, self.v, var, self.eps)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps:g}, momentum={self.momentum:g}"
