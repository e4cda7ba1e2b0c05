r"""Hypernetworks with magnitude-invariant parametrisations (MIP; Ortiz, Guttag & Dalca 2024, "Magnitude
Invariant Parametrizations Improve Hypernetwork Learning", ICLR).

A hypernetwork :math:`h_\phi` maps hyperparameters :math:`g \in [0, 1]^k` (a loss weight, a regularisation
strength) to the parameters :math:`\theta` of a *target* network, which is then run functionally
(``torch.func.functional_call``) with those weights. The paper shows that the usual formulation,
:math:`\theta = h_\phi(g)` with raw :math:`g` as input, makes the magnitude of :math:`\theta` proportional to the
magnitude of :math:`g` (a ReLU/LeakyReLU MLP with zero biases is positively homogeneous: exactly proportional at
initialisation), so the target network's scale, and the size of its gradients, swing with :math:`g`. MIP fixes
both ends:

* input encoding :math:`E(g) = [\cos(\pi g / 2), \sin(\pi g / 2)]` per hyperparameter: constant norm 1 for
  every :math:`g \in [0, 1]` (``mip_encoding``);
* residual output :math:`\theta = \theta_0 + h_\phi(E(g))`, with :math:`\theta_0` a parameter learned on its
  own, initialised as the target network initialises itself.

Initialisation follows the authors' released code: every linear layer of the hypernetwork is Kaiming-normal in
``fan_out`` mode (LeakyReLU gain for hidden layers, gain 1 for the output layer, so the output starts small
against the target's scale) with zero biases. ``mip=False`` gives the paper's baseline with the same MLP and
initialisation: raw :math:`g` in, :math:`\theta` out (the output layer's bias, zero at start, takes the place of
:math:`\theta_0`); ``encoding=``/``residual=`` switch the two halves separately for ablations.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from .._validation import check_choice, check_int
from .activations import get_activation

__all__ = ["ENCODINGS", "HyperNetwork", "check_hyper_input", "mip_encoding"]

ENCODINGS = ("cos|sin", "raw")
_GAINS = ("relu", "leaky_relu", "tanh", "selu", "sigmoid")   # names torch.nn.init.calculate_gain knows


def check_hyper_input(g: torch.Tensor, arg: str = "g") -> torch.Tensor:
    """Return ``g`` if it is a floating tensor of finite values in [0, 1]; else ``TypeError``/``ValueError``
    naming ``arg``, the offending value and the allowed range."""
    if not isinstance(g, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of hyperparameters in [0, 1], got {type(g).__name__}")
    if not g.is_floating_point():
        raise TypeError(f"{arg} must be a floating-point tensor (hyperparameters in [0, 1]), got dtype {g.dtype}")
    if g.numel() == 0:
        raise ValueError(f"{arg} must not be empty, got shape {tuple(g.shape)}")
    finite = torch.isfinite(g)
    if not bool(finite.all()):
        bad = g[~finite].flatten()[0].item()
        raise ValueError(f"{arg} must be finite, in [0, 1]; got {bad} ({int((~finite).sum())} non-finite value(s))")
    lo, hi = g.min().item(), g.max().item()
    if lo < 0.0 or hi > 1.0:
        bad = lo if lo < 0.0 else hi
        raise ValueError(f"{arg} must lie in [0, 1] (rescale the hyperparameter first), got {bad:g}")
    return g


def mip_encoding(g: torch.Tensor) -> torch.Tensor:
    r"""MIP's input encoding :math:`[\cos(\pi g / 2), \sin(\pi g / 2)]`, unit norm per hyperparameter.

    g: (..., k) values in [0, 1] -> (..., 2k): the k cosines, then the k sines.
    """
    check_hyper_input(g)
    angle = 0.5 * math.pi * g
    return torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)


class HyperNetwork(nn.Module):
    r"""An MLP that generates all parameters of ``target`` from hyperparameters ``g`` in [0, 1]^k.

    Args:
        target: the module whose weights are generated (any small ``nn.Module``; it is kept as a template and
            called with ``torch.func.functional_call``; its own parameters are not trained and not part of
            this module's ``parameters()``; its buffers are used as they are, so the per-sample path, which
            vmaps over samples, needs a target that does not update buffers in place, e.g. no BatchNorm in
            training mode; ``device``/``dtype`` move the target itself).
        hyper_dim: k, the number of hyperparameters.
        hidden: widths of the hypernetwork's hidden layers.
        activation: hidden activation, a name of :func:`basiskit.nn.get_activation` (the paper: LeakyReLU).
        mip: True for MIP (cos|sin encoding and residual theta_0), False for the paper's baseline (raw input,
            direct output).
        encoding, residual: override either half of ``mip`` ("cos|sin"/"raw", True/False).

    Shapes: ``g`` is (k,) for one setting shared by a whole batch or (B, k) for one setting per sample (when
    k = 1 also () and (B,)); ``forward(x, g)`` returns ``target(x)`` computed with the generated weights, and
    with per-sample settings x must have B samples in dim 0 (each sample runs alone through the target, via
    ``torch.func.vmap``). ``weights(g)`` returns the generated ``{name: tensor}``, with a leading B dim for
    per-sample settings.

    Example::

        target = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        hyper = HyperNetwork(target, hyper_dim=1, hidden=(32, 32))
        y = hyper(torch.randn(16, 4), torch.tensor([0.3]))         # one g for the batch
        y = hyper(torch.randn(16, 4), torch.rand(16))              # one g per sample
    """

    def __init__(self, target: nn.Module, hyper_dim: int = 1, hidden: Sequence[int] = (64, 64),
                 activation: str = "leaky_relu", *, mip: bool = True, encoding: str | None = None,
                 residual: bool | None = None, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if not isinstance(target, nn.Module):
            raise TypeError(f"target must be an nn.Module, got {type(target).__name__}")
        self.hyper_dim = check_int("hyper_dim", hyper_dim, min_value=1)
        hidden = [check_int(f"hidden[{i}]", h, min_value=1) for i, h in enumerate(hidden)]
        if encoding is None:
            encoding = "cos|sin" if mip else "raw"
        self.encoding = check_choice("encoding", encoding, ENCODINGS)
        self.residual = bool(mip if residual is None else residual)
        self.activation = get_activation(activation)
        named = [(name, p) for name, p in target.named_parameters()]
        if not named:
            raise ValueError(f"target {type(target).__name__} has no parameters to generate")
        self.names = [name for name, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.num_target_params = sum(self.sizes)
        kw = {"device": device, "dtype": dtype}
        object.__setattr__(self, "_target", target.to(**{k: v for k, v in kw.items() if v is not None}))

        widths = [self.hyper_dim * (2 if self.encoding == "cos|sin" else 1), *hidden]
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b, **kw) for a, b in itertools.pairwise(widths))
        self.output = nn.Linear(widths[-1], self.num_target_params, bias=not self.residual, **kw)
        if self.residual:
            init = torch.cat([p.detach().reshape(-1) for _, p in named]).to(**{k: v for k, v in kw.items()
                                                                                if v is not None})
            self.theta0 = nn.Parameter(init.clone())
        self.reset_parameters()

    @property
    def target(self) -> nn.Module:
        """The template module that the generated weights are plugged into."""
        return self._target

    def reset_parameters(self) -> None:
        """Kaiming-normal (fan_out) weights, zero biases; theta_0 keeps the target's own initialisation."""
        name = self.activation.name
        gain = nn.init.calculate_gain(name) if name in _GAINS else 1.0
        for layer in self.hidden_layers:
            nn.init.normal_(layer.weight, std=gain / math.sqrt(layer.out_features))
            nn.init.zeros_(layer.bias)
        nn.init.normal_(self.output.weight, std=1.0 / math.sqrt(self.output.out_features))
        if self.output.bias is not None:
            nn.init.zeros_(self.output.bias)

    def _apply(self, fn, recurse: bool = True):  # type: ignore[no-untyped-def]
        super()._apply(fn, recurse)
        self._target._apply(fn, recurse)
        return self

    def _as_batch(self, g: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """(settings (B, k), per_sample) from the accepted shapes of g."""
        check_hyper_input(g)
        k = self.hyper_dim
        if g.ndim == 0 and k == 1:
            return g.reshape(1, 1), False
        if g.ndim == 1 and g.shape[0] == k:
            return g.reshape(1, k), False
        if g.ndim == 1 and k == 1:
            return g.reshape(-1, 1), True
        if g.ndim == 2 and g.shape[1] == k:
            return g, True
        allowed = "(), (B,), " if k == 1 else ""
        raise ValueError(f"g must have shape {allowed}({k},) or (B, {k}) for hyper_dim={k}, got {tuple(g.shape)}")

    def flat_weights(self, g: torch.Tensor) -> torch.Tensor:
        """All target parameters, flattened in ``named_parameters`` order: g (B, k) -> (B, P)."""
        h = mip_encoding(g) if self.encoding == "cos|sin" else g
        for layer in self.hidden_layers:
            h = self.activation(layer(h))
        delta = self.output(h)
        return self.theta0 + delta if self.residual else delta

    def weights(self, g: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{name: tensor}`` of the target's parameters for ``g``: shapes as in the target for one setting,
        with a leading B dim for per-sample settings."""
        settings, per_sample = self._as_batch(g)
        flat = self.flat_weights(settings)
        lead = (flat.shape[0],) if per_sample else ()
        if not per_sample:
            flat = flat[0]
        parts = flat.split(self.sizes, dim=-1)
        return {name: part.reshape(*lead, *shape) for name, part, shape in zip(self.names, parts, self.shapes)}

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        settings, per_sample = self._as_batch(g)
        params = self.weights(g)
        if not per_sample:
            return functional_call(self._target, params, (x,))
        if x.shape[0] != settings.shape[0]:
            raise ValueError(f"per-sample g needs one setting per sample: g has {settings.shape[0]} settings, "
                             f"x has {x.shape[0]} samples (dim 0); pass g of shape ({self.hyper_dim},) to share "
                             "one setting")

        def one(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
            return functional_call(self._target, p, (xi.unsqueeze(0),)).squeeze(0)

        return vmap(one)(params, x)

    def extra_repr(self) -> str:
        return (f"target={type(self._target).__name__} ({self.num_target_params} parameters), "
                f"hyper_dim={self.hyper_dim}, encoding={self.encoding!r}, residual={self.residual}")
