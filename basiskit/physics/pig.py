r"""PIG: physics-informed Gaussians (Kang et al. 2024, "PIG: Physics-Informed Gaussians as Adaptive Parametric
Mesh Representations").

The input (mapped to :math:`[-1, 1]^d`) is embedded by N trainable Gaussians with diagonal covariance,

.. math::
    F(x) = \sum_{i=1}^N f_i \exp\Big(-\tfrac12 \sum_d \frac{(x_d - \mu_{id})^2}{\sigma_{id}^2}\Big)
    \in \mathbb{R}^C, \qquad \sigma_{id} = e^{s_{id}} > 0,

and a small tanh MLP maps F(x) to u. Means, log-scales and feature weights are all trained, so the Gaussians
move to where the solution needs resolution (an adaptive mesh).

Derivatives in closed form: :math:`\partial_d F = -\sum_i f_i \phi_i (x_d - \mu_{id})/\sigma_{id}^2` and
:math:`\partial_d^2 F = \sum_i f_i \phi_i ((x_d - \mu_{id})^2/\sigma_{id}^4 - 1/\sigma_{id}^2)`, pushed through the
MLP in forward mode (value, gradient and pure second derivatives per layer). This avoids nested reverse-mode
autograd over the (points x Gaussians) tensor; mixed derivatives fall back to autograd. On CPU the Gaussian
part runs in a compiled kernel (:mod:`basiskit.ops.gaussian_native`; ``native=False`` keeps the PyTorch path
below, which is also the reference the kernel is tested against).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._validation import check_int, check_tensor
from ..ops import gaussian_native
from .derivatives import Derivatives, JetDerivatives
from .pinn import PINN
from .problems import Problem

__all__ = ["PIG", "GaussianFeatures", "gaussian_features", "gaussian_feature_jets", "tanh_mlp_jets"]


def gaussian_features(x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor,
                      weights: torch.Tensor, native: bool | None = None) -> torch.Tensor:
    """F(x): x (n, d), means (N, d), log_scales (N, d), weights (N, C) -> (n, C).

    ``native``: as for :func:`gaussian_feature_jets` (the compiled kernel where it can run by default). The
    kernel's result is first-order differentiable; ``native=False`` gives the fully differentiable PyTorch path.
    """
    if gaussian_native.choose(native, x, means, log_scales, weights):
        return gaussian_native.gaussian_values(x, means, log_scales, weights)
    z = (x.unsqueeze(1) - means) * torch.exp(-log_scales)  # (n, N, d)
    return torch.exp(-0.5 * z.pow(2).sum(-1)) @ weights


def gaussian_feature_jets(x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor, weights: torch.Tensor,
                          second: bool = True, native: bool | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """F, dF/dx_d and d2F/dx_d2 in closed form: (n, C), (n, d, C), (n, d, C) or None.

    ``native``: the compiled kernel (:mod:`basiskit.ops.gaussian_native`; same values, one pass, nothing of size
    points x Gaussians kept for backward, first-order differentiable only), the PyTorch path below (False, fully
    differentiable), or the kernel where it can run (None).
    """
    if gaussian_native.choose(native, x, means, log_scales, weights):
        return gaussian_native.gaussian_jets(x, means, log_scales, weights, second)
    inv_var = torch.exp(-2 * log_scales)  # (N, d)
    diff = x.unsqueeze(1) - means  # (n, N, d)
    phi = torch.exp(-0.5 * (diff.pow(2) * inv_var).sum(-1))  # (n, N)
    value = phi @ weights
    g = diff * inv_var  # (n, N, d)
    first = -torch.einsum("nkd,kc->ndc", phi.unsqueeze(-1) * g, weights)
    sec = torch.einsum("nkd,kc->ndc", phi.unsqueeze(-1) * (g.pow(2) - inv_var), weights) if second else None
    return value, first, sec


def tanh_mlp_jets(layers: Sequence[nn.Linear], value: torch.Tensor, first: torch.Tensor,
                  second: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Push (value (n, C), first (n, d, C), pure second (n, d, C)) through Linear-tanh-...-Linear in forward mode.

    For a = tanh(z): a' = (1 - a^2) z', a'' = (1 - a^2) z'' - 2 a (1 - a^2) z'^2.
    """
    for i, layer in enumerate(layers):
        value = layer(value)
        first = first @ layer.weight.T
        second = None if second is None else second @ layer.weight.T
        if i < len(layers) - 1:
            value = torch.tanh(value)
            slope = (1 - value.pow(2)).unsqueeze(1)
            if second is not None:
                second = slope * second - 2 * value.unsqueeze(1) * slope * first.pow(2)
            first = slope * first
    return value, first, second


class GaussianFeatures(nn.Module):
    """N trainable diagonal Gaussians with C-dim feature weights: x (n, d) -> F(x) (n, C).

    Means start uniform in ``[-1, 1]^d``, scales at ``init_scale`` (default: 2 / N^(1/d), about the spacing
    of N points), weights N(0, ``init_weight``^2).
    """

    def __init__(self, in_features: int, n_gaussians: int, channels: int = 4, *, init_scale: float | None = None,
                 init_weight: float = 0.1, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.n_gaussians = check_int("n_gaussians", n_gaussians, min_value=1)
        self.channels = check_int("channels", channels, min_value=1)
        dtype = dtype or torch.get_default_dtype()
        scale = init_scale if init_scale is not None else 2.0 / n_gaussians ** (1.0 / in_features)
        if not scale > 0:
            raise ValueError(f"init_scale must be > 0, got {init_scale}")
        self.means = nn.Parameter((torch.rand(n_gaussians, in_features, generator=generator, dtype=dtype) * 2 - 1)
                                  .to(device))
        self.log_scales = nn.Parameter(torch.full((n_gaussians, in_features), math.log(scale), dtype=dtype,
                                                  device=device))
        self.weights = nn.Parameter((init_weight * torch.randn(n_gaussians, channels, generator=generator,
                                                               dtype=dtype)).to(device))
        self.native: bool | None = None  # the compiled kernel where it can run (see forward)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), by the compiled kernel (``native``, default None: where it can run) when x does not require
        grad: then no derivative in x can be asked for, and the kernel's first-order backward gives the parameter
        gradients. Points that require grad take the fully differentiable PyTorch path."""
        check_tensor("x", x, ndim=2, last_dim=self.in_features)
        native = False if x.requires_grad else self.native
        return gaussian_features(x, self.means, self.log_scales, self.weights, native)

    def jets(self, x: torch.Tensor, second: bool = True, native: bool | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        return gaussian_feature_jets(x, self.means, self.log_scales, self.weights, second, native)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, n_gaussians={self.n_gaussians}, channels={self.channels}"


class _PIGNet(nn.Module):
    def __init__(self, features: GaussianFeatures, hidden: Sequence[int], device: torch.device | str | None,
                 dtype: torch.dtype | None) -> None:
        super().__init__()
        self.features = features
        widths = [features.channels, *hidden, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b, device=device, dtype=dtype) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.features(z)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h


class PIG(PINN):
    """Physics-informed Gaussians for a :class:`Problem`: points (n, input_dim) -> u (n, 1).

    Args:
        problem: the PDE.
        n_gaussians: number of Gaussians N; ``channels``: feature dimension C of each.
        hidden: hidden widths of the tanh MLP after the features (the paper uses one small layer).
        closed_form: residual derivatives in closed form (True) or by nested autograd (False; same values).
        native: closed-form jets from the compiled kernel (:mod:`basiskit.ops.gaussian_native`, several times
            faster on CPU) where it can run (None), always (True: an error where it cannot) or never (False).
        **kwargs: as for :class:`PINN` (collocation sizes, loss weights, adaptive/causal options, seed).
    """

    def __init__(self, problem: Problem, n_gaussians: int, channels: int = 4, *, hidden: Sequence[int] = (16,),
                 init_scale: float | None = None, init_weight: float = 0.1, closed_form: bool = True,
                 native: bool | None = None, seed: int = 0, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, **kwargs: object) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be a basiskit.physics.Problem, got {type(problem).__name__}")
        for i, w in enumerate(hidden):
            check_int(f"hidden[{i}]", w, min_value=1)
        g = torch.Generator().manual_seed(seed)
        feats = GaussianFeatures(problem.input_dim, n_gaussians, channels, init_scale=init_scale,
                                 init_weight=init_weight, generator=g, device=device, dtype=dtype)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            net = _PIGNet(feats, hidden, device, dtype)
        super().__init__(problem, net, seed=seed, device=device, dtype=dtype, normalize_inputs=True, **kwargs)
        self.closed_form = closed_form
        self.native = native

    @property
    def gaussians(self) -> GaussianFeatures:
        return self.net.features

    def derivatives(self, x: torch.Tensor) -> Derivatives:
        """Closed-form value, gradient and pure second derivatives (chain rule through the [-1, 1] map)."""
        if not self.closed_form:
            return super().derivatives(x)
        x = x.detach()
        g = self.gaussians
        if gaussian_native.choose(self.native, x, g.means, g.log_scales, g.weights):
            # first-order kernel: mixed derivatives come from the differentiable PyTorch path
            return self._jets(x, True, fallback=lambda: self._jets(x.requires_grad_(True), False))
        return self._jets(x.requires_grad_(True), False)  # mixed derivatives by autograd on x

    @property
    def native(self) -> bool | None:
        """The kernel policy of the Gaussian features (None: where it can run; True: always; False: never)."""
        return self.gaussians.native

    @native.setter
    def native(self, value: bool | None) -> None:
        if value not in (None, True, False):
            raise ValueError(f"native must be None (the compiled kernel where it can run), True or False, "
                             f"got {value!r}")
        self.gaussians.native = value

    def _jets(self, x: torch.Tensor, native: bool, fallback: Callable[[], Derivatives] | None = None
              ) -> JetDerivatives:
        scale = 2 / (self.upper - self.lower)  # dz/dx per dim
        z = self.normalize(x)
        need_second = self.problem.order >= 2
        value, first, second = self.gaussians.jets(z, second=need_second, native=native)
        value, first, second = tanh_mlp_jets(list(self.net.layers), value, first, second)
        first = first * scale[:, None]
        held = {}
        if second is not None:
            second = second * scale[:, None].pow(2)
            held = {(d, d): second[:, d] for d in range(x.shape[1])}
        return JetDerivatives(x, value, first, held, fallback=fallback)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, closed_form={self.closed_form}, native={self.native}"
