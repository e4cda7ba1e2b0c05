r"""Random-feature models: universal random features (SNNK), bandlimited random networks, ridge fits.

* :func:`universal_random_features` - the kernels-side name of the SNNK / URF feature maps of Sehanobish et al.
  2024, "Scalable Neural Network Kernels" (the math and the layer :class:`basiskit.nn.SNNKLinear` live in
  :mod:`basiskit.nn.snnk`, below this package).
* :class:`BandlimitedRandomFeatures` - a depth-2 random network whose hidden parameters are drawn from a
  bounded domain and frozen, with a least-squares / ridge output layer (Li, Sonoda, Cao, Wang & Liang 2023,
  "How Powerful are Shallow Neural Networks with Bandlimited Random Weights?", ICML).
* :func:`ridge_fit`, :func:`ridge_select` - the output-layer solvers shared by the random-feature models here
  and in :mod:`basiskit.kernels.hierarchical`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_float, check_int, check_tensor
from ..nn.activations import get_activation
from ..nn.snnk import Expansion, exponential_expansion, neural_network_kernel, urf_features, urf_weight_features

__all__ = ["BandlimitedRandomFeatures", "neural_network_kernel", "ridge_fit", "ridge_select",
           "universal_random_features"]


def universal_random_features(x: torch.Tensor, omega: torch.Tensor, f: str | Expansion, *,
                              role: str = "input") -> torch.Tensor:
    r"""SNNK / universal random features of ``x``: (..., d), (m, d) -> (..., m).

    ``role="input"`` gives :math:`\Phi_f(x)`, ``role="weight"`` gives :math:`\Psi(x)`, so that
    :math:`\Phi_f(x)^\top\Psi(w)` is an unbiased estimate of :math:`f(x^\top w)` (``f`` an exponential expansion:
    ``"exp"``, ``"sin"``, ``"cos"`` or a pair (coefficients, rates) with :math:`f(z) = \sum_k c_k e^{a_k z}`) or
    of the first-order arc-cosine kernel (``f="relu"``); :func:`neural_network_kernel` gives the exact value.
    ``omega`` holds the projections, rows drawn from :math:`\mathcal{N}(0, I_d)`. The equations are in
    :mod:`basiskit.nn.snnk`.

    Example::

        omega = torch.randn(4096, 16)
        k_hat = universal_random_features(x, omega, "sin") @ universal_random_features(w, omega, "sin", role="weight").T
        # k_hat ~ torch.sin(x @ w.T), error O(m^-1/2)
    """
    check_choice("role", role, ("input", "weight"))
    if not (isinstance(f, str) and f == "relu"):
        exponential_expansion(f)
    return urf_features(x, omega, f) if role == "input" else urf_weight_features(x, omega, f)


# ---- ridge regression ---------------------------------------------------------------------------------------
def _check_regression(features: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, bool]:
    check_tensor("features", features, ndim=2, finite=True, nonempty=True)
    check_tensor("targets", targets, ndim=(1, 2), finite=True)
    if targets.shape[0] != features.shape[0]:
        raise ValueError(f"features and targets must have the same number of rows, got {tuple(features.shape)} "
                         f"and {tuple(targets.shape)}")
    if targets.dtype != features.dtype:
        raise TypeError(f"features and targets must share a dtype, got {features.dtype} and {targets.dtype}")
    vector = targets.ndim == 1
    return (targets[:, None] if vector else targets), vector


class _RidgeSolver:
    """Eigendecomposition of the smaller Gram matrix of centred features, for ridge solutions at any strength.

    n >= p: :math:`H^\\top H = Q \\Lambda Q^\\top`, coef = :math:`Q (\\Lambda + \\lambda)^{-1} Q^\\top H^\\top y`;
    n < p (the dual): :math:`H H^\\top = U \\Lambda U^\\top`,
    coef = :math:`H^\\top U (\\Lambda + \\lambda)^{-1} U^\\top y`.
    """

    def __init__(self, features: torch.Tensor, targets: torch.Tensor, fit_intercept: bool) -> None:
        self.x_mean = features.mean(0) if fit_intercept else torch.zeros_like(features[0])
        self.y_mean = targets.mean(0) if fit_intercept else torch.zeros_like(targets[0])
        self.h = features - self.x_mean
        y = targets - self.y_mean
        self.dual = self.h.shape[0] < self.h.shape[1]
        gram = self.h @ self.h.T if self.dual else self.h.T @ self.h
        self.evals, self.evecs = torch.linalg.eigh(gram)
        self.evals = self.evals.clamp_min(0.0)
        self.rhs = self.evecs.T @ (y if self.dual else self.h.T @ y)

    def solve(self, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
        scaled = self.evecs @ (self.rhs / (self.evals + ridge)[:, None])
        coef = self.h.T @ scaled if self.dual else scaled
        return coef, self.y_mean - self.x_mean @ coef


def _cholesky_ridge(features: torch.Tensor, targets: torch.Tensor, ridge: float,
                    fit_intercept: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One ridge strength through a Cholesky factor of the smaller regularised Gram matrix (about n p min(n, p)
    + min(n, p)^3 / 3 flops); the eigendecomposition path if the factorisation fails numerically."""
    x_mean = features.mean(0) if fit_intercept else torch.zeros_like(features[0])
    y_mean = targets.mean(0) if fit_intercept else torch.zeros_like(targets[0])
    h, y = features - x_mean, targets - y_mean
    dual = h.shape[0] < h.shape[1]
    gram = h @ h.T if dual else h.T @ h
    gram.diagonal().add_(ridge)
    factor, info = torch.linalg.cholesky_ex(gram)
    if int(info) != 0:
        return _RidgeSolver(features, targets, fit_intercept).solve(ridge)
    if dual:
        coef = h.T @ torch.cholesky_solve(y, factor)
    else:
        coef = torch.cholesky_solve(h.T @ y, factor)
    return coef, y_mean - x_mean @ coef


def ridge_fit(features: torch.Tensor, targets: torch.Tensor, ridge: float = 0.0, *,
              fit_intercept: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Least squares / ridge regression of ``targets`` on ``features``.

    .. math::
        \min_{c, c_0}\ \lVert H c + c_0 - y\rVert_2^2 + \lambda \lVert c\rVert_2^2

    The intercept :math:`c_0` is not penalised.

    Args:
        features: (n, p) design matrix :math:`H`.
        targets: (n,) or (n, k).
        ridge: :math:`\lambda \ge 0` on the *sum* of squares. ``0`` is ordinary least squares with the
            minimum-norm solution when :math:`H` is rank deficient (LAPACK ``gelsd`` on the CPU, a
            pseudo-inverse elsewhere); ``> 0`` solves with a Cholesky factor of the smaller regularised
            Gram matrix (:math:`H^\top H + \lambda I` or, when p > n, :math:`H H^\top + \lambda I`).
        fit_intercept: centre features and targets and return the intercept.

    Returns:
        (coef (p,) or (p, k), intercept () or (k,)), matching the shape of ``targets``.
    """
    y, vector = _check_regression(features, targets)
    ridge = check_float("ridge", ridge, min_value=0.0)
    if ridge == 0.0:
        x_mean = features.mean(0) if fit_intercept else torch.zeros_like(features[0])
        y_mean = y.mean(0) if fit_intercept else torch.zeros_like(y[0])
        h, yc = features - x_mean, y - y_mean
        if h.device.type == "cpu":
            coef = torch.linalg.lstsq(h, yc, driver="gelsd").solution
        else:
            coef = torch.linalg.pinv(h) @ yc
        intercept = y_mean - x_mean @ coef
    else:
        coef, intercept = _cholesky_ridge(features, y, ridge, fit_intercept)
    return (coef[:, 0], intercept[0]) if vector else (coef, intercept)


def ridge_select(features: torch.Tensor, targets: torch.Tensor, ridges: Sequence[float], *,
                 val_fraction: float = 0.25, generator: torch.Generator | None = None,
                 fit_intercept: bool = True) -> tuple[float, list[float]]:
    """The ridge strength with the smallest validation mean squared error.

    A random ``val_fraction`` of the rows is held out; each ridge in ``ridges`` (all > 0) is fitted on the rest
    (one eigendecomposition shared by all of them) and scored on the held-out rows.

    Returns:
        (best ridge, validation MSE of each ridge in the order given). Refit on all rows with
        :func:`ridge_fit` at the chosen strength.
    """
    y, _ = _check_regression(features, targets)
    if isinstance(ridges, (str, bytes)) or not isinstance(ridges, Sequence) or len(ridges) == 0:
        raise ValueError(f"ridges must be a non-empty sequence of positive numbers, got {ridges!r}")
    ridges = [check_float(f"ridges[{i}]", r, min_value=0.0, strict_min=True) for i, r in enumerate(ridges)]
    check_float("val_fraction", val_fraction, min_value=0.0, max_value=1.0, strict_min=True)
    n = features.shape[0]
    n_val = int(round(val_fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(f"val_fraction={val_fraction} leaves an empty training or validation part of {n} rows")
    order = torch.randperm(n, generator=generator).to(features.device)
    val, train = order[:n_val], order[n_val:]
    solver = _RidgeSolver(features[train], y[train], fit_intercept)
    errors = []
    for r in ridges:
        coef, intercept = solver.solve(r)
        errors.append(float(((features[val] @ coef + intercept - y[val]) ** 2).mean()))
    best = min(range(len(ridges)), key=errors.__getitem__)
    return ridges[best], errors


# ---- bandlimited random networks ----------------------------------------------------------------------------
class BandlimitedRandomFeatures(nn.Module):
    r"""Depth-2 random network with bandlimited hidden parameters: (..., in_features) -> (..., out_features).

    .. math::
        g(x) = \sum_{j=1}^{n_\text{hidden}} c_j\, \sigma(a_j^\top x - b_j) + c_0, \qquad
        (a_j, b_j) \sim \mathcal{U}\big([-\lambda, \lambda]^{d + 1}\big) \ \text{frozen},

    where :math:`\lambda` is ``bandwidth``. Only the output layer :math:`(c, c_0)` is trained, by
    :meth:`fit` (least squares or ridge, :func:`ridge_fit`) or by gradient descent as an ordinary
    ``nn.Linear`` (``self.output``). Li et al. 2023 prove that when the hidden parameters are confined to a
    bounded domain the approximation error of such a network is bounded below by the target's ridgelet
    spectrum outside the domain, however many hidden units it has; the uniform law on the cube is our choice
    of a distribution with that bounded support.

    Args:
        in_features: input dimension d.
        n_hidden: number of hidden units.
        bandwidth: :math:`\lambda > 0`, the half-width of the parameter cube.
        activation: a name from :func:`basiskit.nn.activations.get_activation` (default ``"tanh"``).
        out_features: output dimension.
        generator: torch.Generator for the hidden parameters.

    Example::

        net = BandlimitedRandomFeatures(1, 1000, bandwidth=100.0).fit(x_train, y_train)
        y_hat = net(x_test)
    """

    def __init__(self, in_features: int, n_hidden: int, bandwidth: float, activation: str = "tanh", *,
                 out_features: int = 1, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, min_value=1)
        self.n_hidden = check_int("n_hidden", n_hidden, min_value=1)
        self.out_features = check_int("out_features", out_features, min_value=1)
        self.bandwidth = check_float("bandwidth", bandwidth, min_value=0.0, strict_min=True)
        self.activation = activation
        self.act = get_activation(activation).fn
        dtype = dtype or torch.get_default_dtype()
        cube = (2 * torch.rand(n_hidden, in_features + 1, generator=generator, dtype=dtype) - 1) * self.bandwidth
        self.register_buffer("weight", cube[:, :in_features].contiguous().to(device))
        self.register_buffer("bias", cube[:, in_features].contiguous().to(device))
        self.output = nn.Linear(n_hidden, out_features, device=device, dtype=dtype)
        with torch.no_grad():
            self.output.weight.zero_()
            self.output.bias.zero_()

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        r"""Hidden activations :math:`\sigma(a_j^\top x - b_j)`: (..., in_features) -> (..., n_hidden)."""
        check_tensor("x", x, min_ndim=1, last_dim=self.in_features)
        return self.act(x @ self.weight.T - self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x))

    @torch.no_grad()
    def fit(self, x: torch.Tensor, y: torch.Tensor, ridge: float = 0.0) -> BandlimitedRandomFeatures:
        """Fit the output layer to (x (n, in_features), y (n,) or (n, out_features)) in closed form; returns self."""
        check_tensor("x", x, ndim=2, last_dim=self.in_features, finite=True)
        y2 = y[:, None] if y.ndim == 1 else y
        check_tensor("y", y2, ndim=2, last_dim=self.out_features, finite=True)
        h = self.hidden(x.to(self.weight.dtype))
        coef, intercept = ridge_fit(h, y2.to(h.dtype), ridge)
        self.output.weight.copy_(coef.T)
        self.output.bias.copy_(intercept)
        return self

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, n_hidden={self.n_hidden}, bandwidth={self.bandwidth:g}, "
                f"activation={self.activation!r}, out_features={self.out_features}")

