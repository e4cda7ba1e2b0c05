r"""Scalable neural network kernels (SNNK) and universal random features (URF).

Sehanobish, Choromanski, Zhao, Dubey & Likhosherstov 2024, "Scalable Neural Network Kernels" (ICLR); the
authors' code is arijitthegame/neural-network-kernels.

A dense layer followed by an activation computes :math:`f(w^\top x)` for every output row :math:`w`. SNNK
writes that scalar as the expectation of an inner product of two random feature maps, one of the input alone
and one of the weight alone,

.. math::
    f(w^\top x) = \mathbb{E}_{\omega}\big[\Phi_f(x)^\top \Psi(w)\big],

so the layer becomes a *linear* map :math:`\Phi_f(x)\,\Psi^\top` in an ``num_features``-dimensional feature
space, and :math:`\Psi` (``out_features x num_features``) is what is trained.

**Universal random features.** For :math:`g \sim \mathcal{N}(0, I_d)` and any complex :math:`a`,
:math:`\mathbb{E}[\exp(g^\top v)] = \exp(v^\top v / 2)` (bilinear, no conjugation) gives

.. math::
    \mathbb{E}_g\Big[e^{a\,g^\top x - a^2\lVert x\rVert^2/2}\; e^{g^\top w - \lVert w\rVert^2/2}\Big]
        = e^{a\,x^\top w}.

So any activation written as an exponential expansion :math:`f(z) = \sum_k c_k e^{a_k z}` (the paper's
:math:`f(z) = \mathbb{E}_\xi[A(\xi) e^{a(\xi) z}]` with a discrete :math:`\xi`) has the unbiased features

.. math::
    \Phi_f(x)_j = \frac{1}{\sqrt m}\,\mathrm{Re}\sum_k c_k\, e^{a_k\,\omega_j^\top x - a_k^2 \lVert x\rVert^2/2},
    \qquad
    \Psi(w)_j = \frac{1}{\sqrt m}\, e^{\omega_j^\top w - \lVert w\rVert^2/2},

with :math:`\omega_j \sim \mathcal{N}(0, I_d)`, :math:`j = 1..m`. Taking the real part is allowed because
:math:`\Psi` is real and :math:`f` is real on the real line. The authors' code samples :math:`\xi` once per
feature (e.g. :math:`\xi = \pm 1` for sine, :math:`a(\xi) = i\xi`); summing the finite expansion exactly, as
done here, is the same estimator with :math:`\xi` integrated out (never a larger variance). Worked out:

* ``exp``: :math:`c = 1, a = 1`: :math:`\Phi(x)_j = e^{\omega_j^\top x - \lVert x\rVert^2/2}/\sqrt m`
  (positive random features).
* ``sin``: :math:`\sin z = \tfrac{-i}{2} e^{iz} + \tfrac{i}{2} e^{-iz}`:
  :math:`\Phi(x)_j = e^{\lVert x\rVert^2/2} \sin(\omega_j^\top x)/\sqrt m`.
* ``cos``: :math:`\Phi(x)_j = e^{\lVert x\rVert^2/2} \cos(\omega_j^\top x)/\sqrt m`.

The variance of these estimators grows like :math:`e^{c\lVert x\rVert^2 + c'\lVert w\rVert^2}`, which is why
:class:`SNNKLinear` normalises its inputs (``normalize=True``) and initialises :math:`\Psi` from weights of norm
about one.

**ReLU** has no such expansion; the paper (and the authors' ``phi_relu_mapping_torch``) uses the same map on
both sides, :math:`\Phi(x)_j = \Psi(x)_j = \max(\omega_j^\top x, 0)/\sqrt m`, whose inner product estimates the
first-order arc-cosine kernel (Cho & Saul 2009), not :math:`\mathrm{relu}(w^\top x)`:

.. math::
    \mathbb{E}[\Phi(x)^\top\Phi(w)] = \frac{\lVert x\rVert\lVert w\rVert}{2\pi}
        \big(\sin\theta + (\pi - \theta)\cos\theta\big), \qquad
        \cos\theta = \frac{x^\top w}{\lVert x\rVert\lVert w\rVert}.

:func:`neural_network_kernel` returns these exact values; the features' inner products are unbiased estimates
of them with mean squared error :math:`O(1/m)`.

Why this math lives in ``nn``: :class:`SNNKLinear` is a layer and needs it, and ``nn`` sits below ``kernels`` in
the package's layering; ``basiskit.kernels.universal_random_features`` is the kernels-side public name over
:func:`urf_features`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor

__all__ = ["SNNK_ACTIVATIONS", "SNNKLinear", "exponential_expansion", "neural_network_kernel", "urf_features",
           "urf_weight_features"]

#: Activations with SNNK features. ``relu``: arc-cosine features; the others: exponential expansions.
SNNK_ACTIVATIONS = ("relu", "exp", "sin", "cos")

# name -> (coefficients c_k, rates a_k) with f(z) = sum_k c_k exp(a_k z)
_EXPANSIONS: dict[str, tuple[tuple[complex, ...], tuple[complex, ...]]] = {
    "exp": ((1.0,), (1.0,)),
    "sin": ((-0.5j, 0.5j), (1j, -1j)),
    "cos": ((0.5, 0.5), (1j, -1j)),
}

Expansion = tuple[Sequence[complex], Sequence[complex]]


def exponential_expansion(f: str | Expansion, *, arg: str = "f") -> tuple[tuple[complex, ...], tuple[complex, ...]]:
    r"""The pair (coefficients :math:`c_k`, rates :math:`a_k`) with :math:`f(z) = \sum_k c_k e^{a_k z}`.

    ``f`` is a name (``"exp"``, ``"sin"``, ``"cos"``) or such a pair of equal-length sequences of numbers;
    a pair must describe a function that is real on the real line (checked at a few points), since the
    features keep the real part. ``"relu"`` has no expansion (it uses arc-cosine features) and is refused here.
    """
    if isinstance(f, str):
        check_choice(arg, f, tuple(_EXPANSIONS))
        return _EXPANSIONS[f]
    if not (isinstance(f, (tuple, list)) and len(f) == 2):
        raise TypeError(f"{arg} must be an activation name {tuple(_EXPANSIONS)} or a pair (coefficients, rates), "
                        f"got {type(f).__name__} {f!r}")
    coeffs, rates = (tuple(complex(v) for v in part) for part in f)
    if len(coeffs) != len(rates) or not coeffs:
        raise ValueError(f"{arg}: coefficients and rates must be non-empty and of equal length, got "
                         f"{len(coeffs)} and {len(rates)}")
    if not all(math.isfinite(abs(v)) for v in coeffs + rates):
        raise ValueError(f"{arg}: coefficients and rates must be finite, got {coeffs}, {rates}")
    for z in (-1.3, 0.0, 0.7, 2.1):
        value = sum(c * complex(math.e) ** (a * z) for c, a in zip(coeffs, rates))
        if abs(value.imag) > 1e-9 * max(1.0, abs(value)):
            raise ValueError(f"{arg}: sum_k c_k exp(a_k z) must be real for real z; at z={z} it is {value}")
    return coeffs, rates


def _check_projection(x: torch.Tensor, omega: torch.Tensor) -> None:
    check_tensor("omega", omega, ndim=2, finite=True, nonempty=True)
    check_tensor("x", x, min_ndim=1, last_dim=omega.shape[1], finite=True)
    if x.dtype != omega.dtype:
        raise TypeError(f"x and omega must share a dtype, got {x.dtype} and {omega.dtype}")


def urf_features(x: torch.Tensor, omega: torch.Tensor, f: str | Expansion) -> torch.Tensor:
    r"""Input-side SNNK features :math:`\Phi_f(x)` (see the module docstring).

    Args:
        x: (..., d) inputs.
        omega: (m, d) projections, rows :math:`\omega_j \sim \mathcal{N}(0, I_d)`.
        f: ``"relu"``, ``"exp"``, ``"sin"``, ``"cos"`` or a pair (coefficients, rates) of an exponential expansion.

    Returns:
        (..., m) real features; ``urf_features(x, omega, f) @ urf_weight_features(w, omega, f).T`` is an unbiased
        estimate of :func:`neural_network_kernel` ``(x, w, f)``.
    """
    _check_projection(x, omega)
    if isinstance(f, str) and f == "relu":
        return _input_features(x, omega, "relu", ((), ()))
    return _input_features(x, omega, "expansion", exponential_expansion(f))


def _input_features(x: torch.Tensor, omega: torch.Tensor, kind: str,
                    expansion: tuple[tuple[complex, ...], tuple[complex, ...]]) -> torch.Tensor:
    """:func:`urf_features` without argument checks (the layer's hot path)."""
    m = omega.shape[0]
    proj = x @ omega.T                                           # (..., m)
    if kind == "relu":
        return torch.relu(proj) / math.sqrt(m)
    half_sq = 0.5 * (x * x).sum(-1, keepdim=True)                # (..., 1)
    out = torch.zeros_like(proj)
    for c, a in zip(*expansion):
        c, a = complex(c), complex(a)
        a2 = a * a
        # Re[c exp(a u - a^2 s)] with u = omega.x, s = |x|^2 / 2, in real arithmetic
        magnitude = torch.exp(a.real * proj - a2.real * half_sq)
        if c.imag == 0.0 and a.imag == 0.0 and a2.imag == 0.0:
            out = out + c.real * magnitude
        else:
            phase = a.imag * proj - a2.imag * half_sq
            out = out + magnitude * (c.real * torch.cos(phase) - c.imag * torch.sin(phase))
    return out / math.sqrt(m)


def urf_weight_features(w: torch.Tensor, omega: torch.Tensor, f: str | Expansion) -> torch.Tensor:
    r"""Weight-side SNNK features :math:`\Psi(w)`: (..., d), (m, d) -> (..., m).

    For ``"relu"`` the same arc-cosine features as the input side; for every exponential expansion the
    positive features :math:`e^{\omega_j^\top w - \lVert w\rVert^2/2}/\sqrt m` (independent of ``f``).
    """
    _check_projection(w, omega)
    if isinstance(f, str) and f == "relu":
        return urf_features(w, omega, "relu")
    exponential_expansion(f)
    proj = w @ omega.T
    return torch.exp(proj - 0.5 * (w * w).sum(-1, keepdim=True)) / math.sqrt(omega.shape[0])


def neural_network_kernel(x: torch.Tensor, w: torch.Tensor, f: str | Expansion) -> torch.Tensor:
    r"""The exact kernel that the SNNK features estimate: (n, d), (k, d) -> (n, k).

    :math:`f(x^\top w)` for an exponential expansion; the first-order arc-cosine kernel for ``"relu"``.
    """
    check_tensor("x", x, ndim=2, finite=True)
    check_tensor("w", w, ndim=2, last_dim=x.shape[1], finite=True)
    if isinstance(f, str) and f == "relu":
        nx = x.norm(dim=-1, keepdim=True)
        nw = w.norm(dim=-1, keepdim=True)
        denom = (nx * nw.T).clamp_min(torch.finfo(x.dtype).tiny)
        cos = ((x @ w.T) / denom).clamp(-1.0, 1.0)
        theta = torch.arccos(cos)
        return nx * nw.T / (2 * math.pi) * (torch.sin(theta) + (math.pi - theta) * cos)
    coeffs, rates = exponential_expansion(f)
    z = x @ w.T
    out = torch.zeros_like(z)
    for c, a in zip(coeffs, rates):
        c, a = complex(c), complex(a)
        magnitude = torch.exp(a.real * z)
        out = out + magnitude * (c.real * torch.cos(a.imag * z) - c.imag * torch.sin(a.imag * z))
    return out


class SNNKLinear(nn.Module):
    r"""A dense layer plus activation, :math:`f(W x)`, replaced by its SNNK: (..., in_features) -> (..., out_features).

    .. math::
        y = \Phi_f(\hat x)\, \Psi^\top + b, \qquad \hat x = s\,x / \lVert x\rVert \ \text{(when normalize)},

    where :math:`\Phi_f` uses ``num_features`` fixed Gaussian projections (a buffer, saved in the state dict) and
    the trainable :math:`\Psi` (``out_features x num_features``) starts at :math:`\Psi(W_0)` for a dense
    initialisation :math:`W_0` with rows of norm about one. At initialisation the layer is an unbiased estimate
    of :math:`f(W_0 \hat x)` (exp, sin, cos) or of the arc-cosine kernel between :math:`\hat x` and the rows of
    :math:`W_0` (relu). Trainable parameters: ``out_features * (num_features + 1)`` (with bias) instead of
    ``out_features * (in_features + 1)``.

    Args:
        in_features, out_features: sizes.
        num_features: number of random features :math:`m`.
        activation: ``"relu"``, ``"exp"``, ``"sin"`` or ``"cos"``.
        normalize: scale each input to norm ``input_scale`` (default True; the exponential features' variance
            grows like :math:`e^{\lVert x\rVert^2}`, so leave it on for exp/sin/cos unless inputs are already small).
        input_scale: the norm inputs are scaled to when ``normalize``.
        bias: add a trainable output bias.
        generator: torch.Generator for the projections and :math:`W_0`.

    Example::

        layer = SNNKLinear(256, 256, num_features=64, activation="relu")
        y = layer(torch.randn(32, 256))          # (32, 256)
    """

    def __init__(self, in_features: int, out_features: int, num_features: int, activation: str = "relu", *,
                 normalize: bool = True, input_scale: float = 1.0, bias: bool = True,
                 generator: torch.Generator | None = None, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.out_features = check_int("out_features", out_features, min_value=1)
        self.num_features = check_int("num_features", num_features, min_value=1)
        self.activation = check_choice("activation", activation, SNNK_ACTIVATIONS)
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be a bool, got {type(normalize).__name__} {normalize!r}")
        self.normalize = normalize
        self.input_scale = check_float("input_scale", input_scale, min_value=0.0, strict_min=True)
        dtype = dtype or torch.get_default_dtype()
        omega = torch.randn(num_features, in_features, generator=generator, dtype=dtype)
        w0 = torch.randn(out_features, in_features, generator=generator, dtype=dtype) / math.sqrt(in_features)
        self.register_buffer("omega", omega.to(device))
        self.weight = nn.Parameter(urf_weight_features(w0, omega, self.activation).to(device))
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype, device=device)) if bias else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The input-side features (..., num_features) of (normalised) x."""
        check_tensor("x", x, min_ndim=1, last_dim=self.in_features)
        if self.normalize:
            x = self.input_scale * x / x.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(x.dtype).eps)
        kind = "relu" if self.activation == "relu" else "expansion"
        expansion = ((), ()) if kind == "relu" else _EXPANSIONS[self.activation]
        return _input_features(x, self.omega, kind, expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.features(x) @ self.weight.T
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"num_features={self.num_features}, activation={self.activation!r}, normalize={self.normalize}, "
                f"bias={self.bias is not None}")
