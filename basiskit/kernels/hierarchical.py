r"""Hierarchical polynomials :math:`h = g \circ p` learned by a three-layer network trained layer-wise, and a
random-feature kernel-ridge baseline.

Wang, Nichani & Lee 2024, "Learning Hierarchical Polynomials with Three-Layer Neural Networks" (ICLR). For
:math:`x \sim \mathcal{N}(0, I_d)`, a degree-k feature :math:`p` and a degree-q link :math:`g`, a three-layer
network trained layer by layer learns :math:`h` from :math:`\tilde O(d^k)` samples, where a kernel method needs
:math:`\tilde\Theta(d^{kq})`. The mechanism: one gradient step on the middle layer, taken from zero, turns every
hidden unit's input into (a multiple of) the degree-k part of the target, :math:`P_k h \approx c\, p`, so the
network *recovers the feature p*; the output layer then only has to fit the univariate :math:`g`.

The network (:class:`ThreeLayerLearner`):

.. math::
    f(x) = \sum_{i=1}^{m_1} c_i\, \sigma_1\big(w_i^\top \phi(x) + b_i\big) + c_0, \qquad
    \phi(x) = \frac{1}{\sqrt{m_2}}\Big(\mathrm{He}_k(v_j^\top x)/\sqrt{k!}\Big)_{j=1}^{m_2},

with :math:`v_j` uniform on the unit sphere (frozen), :math:`\mathrm{He}_k` the probabilists' Hermite
polynomial (so the first layer's random features span the degree-k polynomials and the kernel
:math:`\phi(x)^\top\phi(x')` has no other degrees), :math:`b_i \sim \mathcal{U}[-\beta, \beta]`, output
weights at initialisation :math:`c_i = \pm\varepsilon`, and :math:`W = 0`.

1. *Stage 1* (first half of the samples): one gradient step on :math:`W` of the loss
   :math:`\tfrac{1}{2n}\sum_j (f(x_j) - y_j)^2`, with the labels centred (the output bias starts at their mean).
   From :math:`W = 0` the step is
   :math:`w_i = \eta\,\varepsilon\,\mathrm{sign}(c_i)\,\sigma_1'(b_i)\, \tfrac1n\sum_j (y_j - \bar y)\,\phi(x_j)`, so
   :math:`w_i^\top\phi(x) \propto \hat p(x) = \tfrac1n \sum_j (y_j - \bar y)\,\phi(x_j)^\top\phi(x)`, the empirical
   degree-k projection of the target. The step size :math:`\eta\varepsilon` is set so that :math:`\hat p` has
   unit standard deviation on the stage-1 samples (the paper's :math:`\eta_1` is a tuned constant that plays this
   role).
2. *Stage 2* (second half): ridge regression of the output layer :math:`(c, c_0)` on the hidden features, its
   strength chosen on a held-out quarter (:func:`~basiskit.kernels.random_features.ridge_select`).

Hidden units with :math:`\sigma_1'(b_i) = 0` (ReLU with :math:`b_i < 0`) get no stage-1 signal and stay constant,
as they would in the paper's network.

The baseline (:class:`RandomFeatureRidge`) is kernel ridge regression with the random ReLU features
:math:`\max(\omega^\top x, 0)`, :math:`\omega \sim \mathcal{N}(0, I_d/d)` (an estimate of the arc-cosine
kernel), its ridge chosen on a held-out part.

:func:`planted_quadratic` and :func:`hermite` build the planted problem :math:`p(x) = x^\top A x` (trace-free,
:math:`\mathbb{E}[p^2] = 1`), :math:`g = \mathrm{He}_3`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_float, check_int, check_tensor
from ..nn.activations import get_activation
from .random_features import ridge_fit, ridge_select

__all__ = ["RandomFeatureRidge", "ThreeLayerLearner", "hermite", "planted_quadratic", "quadratic_form"]

DEFAULT_RIDGES = tuple(10.0 ** e for e in range(-6, 4))


def hermite(z: torch.Tensor, degree: int) -> torch.Tensor:
    r"""Probabilists' Hermite polynomial :math:`\mathrm{He}_k(z)` (:math:`\mathrm{He}_0 = 1`,
    :math:`\mathrm{He}_1 = z`, :math:`\mathrm{He}_{k+1} = z\,\mathrm{He}_k - k\,\mathrm{He}_{k-1}`), elementwise.
    For :math:`z \sim \mathcal{N}(0, 1)`: :math:`\mathbb{E}[\mathrm{He}_j \mathrm{He}_k] = k!\,\delta_{jk}`."""
    check_tensor("z", z)
    check_int("degree", degree, min_value=0)
    prev, cur = torch.ones_like(z), z
    if degree == 0:
        return prev
    for k in range(1, degree):
        prev, cur = cur, z * cur - k * prev
    return cur


def planted_quadratic(dim: int, *, generator: torch.Generator | None = None,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""A random symmetric, trace-free :math:`A` (dim, dim) scaled so that :math:`p(x) = x^\top A x` has
    :math:`\mathbb{E}[p] = 0` and :math:`\mathbb{E}[p^2] = 2\,\mathrm{tr}(A^2) = 1` for
    :math:`x \sim \mathcal{N}(0, I)`.
    Drawn from the Gaussian orthogonal ensemble, then centred and normalised."""
    check_int("dim", dim, min_value=2)
    g = torch.randn(dim, dim, generator=generator, dtype=dtype)
    a = (g + g.T) / 2
    a = a - torch.eye(dim, dtype=dtype) * torch.trace(a) / dim
    return a / torch.sqrt(2 * (a * a).sum())


def quadratic_form(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """:math:`x^T A x` for each row: x (n, d), A (d, d) -> (n,)."""
    check_tensor("a", a, ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"a must be square, got shape {tuple(a.shape)}")
    check_tensor("x", x, ndim=2, last_dim=a.shape[0])
    return ((x @ a) * x).sum(-1)


def _check_xy(x: torch.Tensor, y: torch.Tensor, in_features: int) -> None:
    check_tensor("x", x, ndim=2, last_dim=in_features, finite=True)
    check_tensor("y", y, ndim=1, finite=True)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must hold the same number of samples, got x {tuple(x.shape)} and y {tuple(y.shape)}")


class ThreeLayerLearner(nn.Module):
    r"""The three-layer network of Wang, Nichani & Lee trained layer-wise (module docstring): (n, d) -> (n,).

    Args:
        in_features: d.
        num_random: :math:`m_2`, frozen first-layer random features (should exceed the number of degree-k
            monomials, d(d+1)/2 for k = 2).
        num_hidden: :math:`m_1`, hidden units of the second layer.
        degree: k, the degree of the feature p the first layer's features span.
        activation: :math:`\sigma_1`, a name from :func:`basiskit.nn.activations.get_activation` (default ``"relu"``).
        bias_range: :math:`\beta`; hidden biases :math:`b_i \sim \mathcal{U}[-\beta, \beta]` (the recovered
            feature has unit scale, so ``3.0`` covers it).
        generator: torch.Generator for every random draw (first layer, biases, signs, the sample split).

    Example::

        learner = ThreeLayerLearner(16, num_random=4096, num_hidden=1000).fit(x, y)
        y_hat = learner(x_test); p_hat = learner.feature(x_test)
    """

    def __init__(self, in_features: int, num_random: int = 4096, num_hidden: int = 1000, *, degree: int = 2,
                 activation: str = "relu", bias_range: float = 3.0, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.num_random = check_int("num_random", num_random, min_value=1)
        self.num_hidden = check_int("num_hidden", num_hidden, min_value=1)
        self.degree = check_int("degree", degree, min_value=1)
        self.bias_range = check_float("bias_range", bias_range, min_value=0.0, strict_min=True)
        self.activation = activation
        self._activation = get_activation(activation)
        self.act = self._activation.fn
        self.generator = generator
        v = torch.randn(num_random, in_features, generator=generator, dtype=dtype)
        self.register_buffer("v", v / v.norm(dim=-1, keepdim=True))
        self.register_buffer("b", (2 * torch.rand(num_hidden, generator=generator, dtype=dtype) - 1) * bias_range)
        signs = torch.randint(0, 2, (num_hidden,), generator=generator).to(dtype) * 2 - 1
        self.register_buffer("signs", signs)
        self.register_buffer("w", torch.zeros(num_hidden, num_random, dtype=dtype))
        self.register_buffer("direction", torch.zeros(num_random, dtype=dtype))
        self.output = nn.Linear(num_hidden, 1, dtype=dtype)
        with torch.no_grad():
            self.output.weight.zero_()
            self.output.bias.zero_()
        self.ridge_: float | None = None

    def random_features(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\phi(x)`: (n, d) -> (n, num_random), :math:`\mathrm{He}_k(v_j^\top x) / \sqrt{k!\, m_2}`."""
        check_tensor("x", x, ndim=2, last_dim=self.in_features)
        scale = math.sqrt(math.factorial(self.degree) * self.num_random)
        return hermite(x.to(self.v.dtype) @ self.v.T, self.degree) / scale

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\sigma_1(W\phi(x) + b)`: (n, d) -> (n, num_hidden)."""
        return self.act(self.random_features(x) @ self.w.T + self.b)

    def feature(self, x: torch.Tensor) -> torch.Tensor:
        r"""The recovered feature :math:`\hat p(x)` (unit scale on the stage-1 samples): (n, d) -> (n,).
        Zero before :meth:`fit`."""
        return self.random_features(x) @ self.direction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x))[:, 0]

    @torch.no_grad()
    def fit(self, x: torch.Tensor, y: torch.Tensor, *, ridges: Sequence[float] = DEFAULT_RIDGES,
            stage1_fraction: float = 0.5) -> ThreeLayerLearner:
        """Stage 1 on the first ``stage1_fraction`` of (x, y) (in random order), stage 2 on the rest; returns self."""
        _check_xy(x, y, self.in_features)
        check_float("stage1_fraction", stage1_fraction, min_value=0.0, max_value=1.0, strict_min=True)
        n = x.shape[0]
        n1 = int(round(stage1_fraction * n))
        if n1 < 2 or n - n1 < 4:
            raise ValueError(f"x holds {n} samples; stage1_fraction={stage1_fraction} leaves {n1} for stage 1 and "
                             f"{n - n1} for stage 2 (need >= 2 and >= 4)")
        x, y = x.to(self.v.dtype), y.to(self.v.dtype)
        order = torch.randperm(n, generator=self.generator)
        first, second = order[:n1], order[n1:]
        # stage 1: the gradient step from W = 0; every unit's input becomes a multiple of p_hat
        phi1 = self.random_features(x[first])
        direction = phi1.T @ (y[first] - y[first].mean()) / n1               # (num_random,)
        p_hat = phi1 @ direction
        scale = p_hat.std()
        if not bool(scale > 0):
            raise ValueError("stage 1 found no signal: the labels are constant or orthogonal to the features")
        self.direction.copy_(direction / scale)
        gain = self.signs * self._activation.derivative(self.b)                              # sign(c_i) sigma_1'(b_i)
        self.w.copy_(gain[:, None] * self.direction[None, :])
        # stage 2: ridge regression of the output layer, strength chosen on held-out samples
        h2 = self.hidden(x[second])
        self.ridge_, _ = ridge_select(h2, y[second], ridges, generator=self.generator)
        coef, intercept = ridge_fit(h2, y[second], self.ridge_)
        self.output.weight.copy_(coef[None, :])
        self.output.bias.copy_(intercept.reshape(1))
        return self

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, num_random={self.num_random}, num_hidden={self.num_hidden}, "
                f"degree={self.degree}, activation={self.activation!r}, bias_range={self.bias_range:g}")


class RandomFeatureRidge(nn.Module):
    r"""Kernel ridge regression with random ReLU features, the baseline: (n, d) -> (n,).

    .. math::
        f(x) = c^\top \psi(x) + c_0, \quad \psi(x) = \frac{1}{\sqrt m}\max(\Omega x, 0), \quad
        \Omega_{ij} \sim \mathcal{N}(0, 1/d),

    with :math:`c` from :func:`~basiskit.kernels.random_features.ridge_fit` at the ridge strength that
    :func:`~basiskit.kernels.random_features.ridge_select` picks on a held-out quarter of the samples.
    """

    def __init__(self, in_features: int, num_features: int = 10_000, *, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.num_features = check_int("num_features", num_features, min_value=1)
        self.generator = generator
        omega = torch.randn(num_features, in_features, generator=generator, dtype=dtype) / math.sqrt(in_features)
        self.register_buffer("omega", omega)
        self.output = nn.Linear(num_features, 1, dtype=dtype)
        with torch.no_grad():
            self.output.weight.zero_()
            self.output.bias.zero_()
        self.ridge_: float | None = None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=2, last_dim=self.in_features)
        return torch.relu(x.to(self.omega.dtype) @ self.omega.T) / math.sqrt(self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x))[:, 0]

    @torch.no_grad()
    def fit(self, x: torch.Tensor, y: torch.Tensor, *, ridges: Sequence[float] = DEFAULT_RIDGES) -> RandomFeatureRidge:
        """Choose the ridge on held-out samples, then refit on all of (x (n, d), y (n,)); returns self."""
        _check_xy(x, y, self.in_features)
        h = self.features(x)
        y = y.to(h.dtype)
        self.ridge_, _ = ridge_select(h, y, ridges, generator=self.generator)
        coef, intercept = ridge_fit(h, y, self.ridge_)
        self.output.weight.copy_(coef[None, :])
        self.output.bias.copy_(intercept.reshape(1))
        return self

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_features={self.num_features}"
