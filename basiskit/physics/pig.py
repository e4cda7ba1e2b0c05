r"""PIG: physics-informed Gaussians (Kang et al. 2024, "PIG: Physics-Informed Gaussians as Adaptive Parametric
Mesh Representations").

The input (mapped to :math:`[-1, 1]^d`) is embedded by N trainable Gaussians with diagonal covariance,

.. math::
    F(x) = \sum_{i=1}^N f_i \exp\Big(-\tfrac12 \sum_d \frac{(x_d - \mu_{id})^2}{\sigma_{id}^2}\Big)
    \in \mathbb{R}^C,

and a small tanh MLP maps F(x) to u. Means, widths and feature weights are all trained, so the Gaussians move to
where the solution needs resolution (an adaptive mesh). ``PIG`` uses the authors' released layout by default: the
C channels have N Gaussians each with scalar weights (F_c sums its own), and the widths are trained as sigma
itself (``GaussianFeatures`` also offers one set of N Gaussians with C-vector weights, and log sigma).

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

from .._validation import check_choice, check_int, check_tensor
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


LAYOUTS = ("shared", "per_channel")
SCALE_PARAMS = ("log", "direct")


class GaussianFeatures(nn.Module):
    """Trainable diagonal Gaussians: x (n, d) -> F(x) (n, C).

    ``layout``:

    * ``"shared"``: N Gaussians, each with a C-dim weight vector ``weights`` (N, C) (the paper's text).
    * ``"per_channel"``: N Gaussians for each of the C channels (N C in all), each with one scalar weight
      (``weights`` (C N,), channel c owning rows ``c N .. (c + 1) N - 1``): the authors' released code. Each
      channel is then a sum of its own Gaussians, placed and sized independently.

    ``scale_param`` is what Adam updates for the widths: ``"log"`` (``log_scales``, sigma = exp(s): steps are
    relative) or ``"direct"`` (``scales``, sigma = |s|: steps are absolute, so narrow Gaussians widen and narrow
    fast at a given learning rate; the authors' released code). Means start uniform in ``[-1, 1]^d``, scales at
    ``init_scale`` (default: 2 / N^(1/d), about the spacing of N points), weights N(0, ``init_weight``^2).
    With either layout, ``gaussian_features(x, means, log_sigma(), weight_matrix())`` is F(x); the per-channel
    layout evaluates it one channel at a time.
    """

    def __init__(self, in_features: int, n_gaussians: int, channels: int = 4, *, layout: str = "shared",
                 scale_param: str = "log", init_scale: float | None = None, init_weight: float = 0.1,
                 generator: torch.Generator | None = None, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.n_gaussians = check_int("n_gaussians", n_gaussians, min_value=1)
        self.channels = check_int("channels", channels, min_value=1)
        self.layout = check_choice("layout", layout, LAYOUTS)
        self.scale_param = check_choice("scale_param", scale_param, SCALE_PARAMS)
        dtype = dtype or torch.get_default_dtype()
        scale = init_scale if init_scale is not None else 2.0 / n_gaussians ** (1.0 / in_features)
        if not scale > 0:
            raise ValueError(f"init_scale must be > 0, got {init_scale}")
        per_channel = layout == "per_channel"
        total = n_gaussians * channels if per_channel else n_gaussians
        self.means = nn.Parameter((torch.rand(total, in_features, generator=generator, dtype=dtype) * 2 - 1)
                                  .to(device))
        if scale_param == "log":
            self.log_scales = nn.Parameter(torch.full((total, in_features), math.log(scale), dtype=dtype,
                                                      device=device))
        else:
            self.scales = nn.Parameter(torch.full((total, in_features), scale, dtype=dtype, device=device))
        shape = (total,) if per_channel else (total, channels)
        self.weights = nn.Parameter((init_weight * torch.randn(*shape, generator=generator, dtype=dtype)).to(device))
        self.native: bool | None = None  # the compiled kernel where it can run (see forward)

    def log_sigma(self) -> torch.Tensor:
        """log sigma, (N_total, d), differentiable in the width parameters."""
        if self.scale_param == "log":
            return self.log_scales
        # a width of exactly 0 would make 1/sigma infinite; 1e-6 of the [-1, 1] box is far below any useful width
        return torch.log(self.scales.abs().clamp_min(1e-6))

    def weight_matrix(self) -> torch.Tensor:
        """The (N_total, C) weights as one matrix: ``weights`` itself, or its one-hot spread (per channel)."""
        if self.layout == "shared":
            return self.weights
        owner = torch.arange(self.weights.shape[0], device=self.weights.device) // self.n_gaussians
        return self.weights.unsqueeze(1) * nn.functional.one_hot(owner, self.channels).to(self.weights.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), by the compiled kernel (``native``, default None: where it can run) when x does not require
        grad: then no derivative in x can be asked for, and the kernel's first-order backward gives the parameter
        gradients. Points that require grad take the fully differentiable PyTorch path."""
        check_tensor("x", x, ndim=2, last_dim=self.in_features)
        native = False if x.requires_grad else self.native
        parts = [gaussian_features(x, *part, native) for part in self._parts()]
        return parts[0] if len(parts) == 1 else torch.cat(parts, -1)

    def jets(self, x: torch.Tensor, second: bool = True, native: bool | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(F, dF/dx_d, d2F/dx_d2): (n, C), (n, d, C), (n, d, C) or None, as :func:`gaussian_feature_jets`."""
        parts = [gaussian_feature_jets(x, *part, second, native) for part in self._parts()]
        if len(parts) == 1:
            return parts[0]
        return (torch.cat([p[0] for p in parts], -1), torch.cat([p[1] for p in parts], -1),
                torch.cat([p[2] for p in parts], -1) if second else None)

    def _parts(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(means, log sigma, weights) per kernel call: one call with the (N, C) weights for the shared layout;
        per channel c, its own N Gaussians with weights (N, 1). One call per channel does a quarter of the
        multiply-adds of one call on the one-hot (C N, C) weights: 170 against 230 ms for jets + backward at
        3,000 points, 800 Gaussians per channel, one thread."""
        log_sigma = self.log_sigma()
        if self.layout == "shared":
            return [(self.means, log_sigma, self.weights)]
        n = self.n_gaussians
        rows = [slice(c * n, (c + 1) * n) for c in range(self.channels)]
        return [(self.means[r], log_sigma[r], self.weights[r, None]) for r in rows]

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, n_gaussians={self.n_gaussians}, channels={self.channels}, "
                f"layout={self.layout!r}, scale_param={self.scale_param!r}")


class _PIGNet(nn.Module):
    def __init__(self, features: GaussianFeatures, hidden: Sequence[int], device: torch.device | str | None,
                 dtype: torch.dtype | None) -> None:
        super().__init__()
        self.features = features
        widths = [features.channels, *hidden, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b, device=device, dtype=dtype)
                                    for a, b in zip(widths[:-1], widths[1:]))

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
        n_gaussians: number of Gaussians N (per channel with ``layout="per_channel"``); ``channels``: the
            feature dimension C.
        layout, scale_param, init_scale, init_weight: as for :class:`GaussianFeatures`. The defaults are the
            authors' released code (``"per_channel"``, ``"direct"``, 0.01), not the feature class's own. At equal
            numbers of Gaussians the two settings are about level (docs/physics.md: better on Klein-Gordon, level
            or slightly worse on Helmholtz and flow mixing), the per-channel one 10-20% cheaper per run; at equal
            ``n_gaussians`` the per-channel model has C times as many Gaussians.
        hidden: hidden widths of the tanh MLP after the features (the paper uses one small layer).
        closed_form: residual derivatives in closed form (True) or by nested autograd (False; same values).
        native: closed-form jets from the compiled kernel (:mod:`basiskit.ops.gaussian_native`, several times
            faster on CPU) where it can run (None), always (True: an error where it cannot) or never (False).
        **kwargs: as for :class:`PINN` (collocation sizes, loss weights, adaptive/causal options, seed).
    """

    def __init__(self, problem: Problem, n_gaussians: int, channels: int = 4, *, hidden: Sequence[int] = (16,),
                 layout: str = "per_channel", scale_param: str = "direct", init_scale: float | None = None,
                 init_weight: float = 0.01, closed_form: bool = True,
                 native: bool | None = None, seed: int = 0, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, **kwargs: object) -> None:
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be a basiskit.physics.Problem, got {type(problem).__name__}")
        for i, w in enumerate(hidden):
            check_int(f"hidden[{i}]", w, min_value=1)
        g = torch.Generator().manual_seed(seed)
        feats = GaussianFeatures(problem.input_dim, n_gaussians, channels, layout=layout, scale_param=scale_param,
                                 init_scale=init_scale, init_weight=init_weight, generator=g, device=device,
                                 dtype=dtype)
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
        if gaussian_native.choose(self.native, x, g.means, g.weights):
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
