r"""NNGP regression and its scale mixtures: Gaussian-process posteriors with the infinite-width kernel of an MLP,
the Student-t process of an inverse-gamma last-layer variance, and other variance priors (Burr XII) by importance
sampling.

Lee, Yun, Yang & Lee 2022, *Scale Mixtures of Neural Network Gaussian Processes* (ICLR; PAPERS.md row 27).
Put a prior on the variance :math:`\sigma^2` of the last layer. Given :math:`\sigma^2` the network's outputs
(plus observation noise, which is scaled by the same variance) are Gaussian,

.. math::
    y \mid \sigma^2 \sim N(0, \sigma^2 K_y), \qquad K_y = K(X, X) + \varepsilon I,

with :math:`K` the NNGP kernel. For :math:`\sigma^2 \sim \mathrm{InvGamma}(\alpha, \beta)` the prior is a
Student-t process with :math:`2\alpha` degrees of freedom and scale :math:`(\beta/\alpha) K_y`; the posterior is
:math:`\sigma^2 \mid y \sim \mathrm{InvGamma}(\alpha + n/2, \beta + y^\top K_y^{-1} y / 2)`, so the predictive at
test inputs is a multivariate Student-t with

.. math::
    \nu' = 2\alpha + n, \qquad \mu = K_{*X} K_y^{-1} y, \qquad
    S = \frac{2\beta + y^\top K_y^{-1} y}{2\alpha + n}\,\left(K_{**} - K_{*X}K_y^{-1}K_{X*}\right),

whose covariance is :math:`\nu'/(\nu'-2)\,S`. Other priors have no closed form: the authors' code
(yuneg11/Scale-Mixtures-of-NNGP, ``importance.py``) draws :math:`\sigma^2_s` from the prior itself (Burr XII with
``c=2, d=1`` and 1,000 draws there), weights each by the Gaussian likelihood :math:`N(y; 0, \sigma^2_s K_y)` and
predicts with the weighted mixture of Gaussians :math:`\sum_s \bar w_s N(\mu, \sigma^2_s C)`;
:class:`ScaleMixtureProcess` does the same.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._validation import check_float, check_int, check_tensor
from .ntk import analytic_nngp_diag, analytic_ntk

Tensor = torch.Tensor

__all__ = ["Burr12Prior", "GaussianProcess", "InverseGammaPrior", "NNGPKernel", "ScaleMixtureProcess",
           "StudentTProcess", "gp_posterior", "student_t_log_prob"]

_LOG_2PI = math.log(2 * math.pi)


class NNGPKernel:
    r"""The infinite-width NNGP kernel of :class:`~basiskit.kernels.NTKMLP` as a callable:
    ``kernel(x1, x2=None)`` -> ``(n1, n2)``, ``kernel.diag(x)`` -> ``(n,)``. Arguments as
    :func:`~basiskit.kernels.analytic_ntk`."""

    def __init__(self, depth: int, activation: str = "relu", weight_var: float = 2.0, bias_var: float = 0.0) -> None:
        self.depth = check_int("depth", depth, min_value=1)
        self.activation = activation
        self.weight_var = check_float("weight_var", weight_var, min_value=0.0)
        self.bias_var = check_float("bias_var", bias_var, min_value=0.0)
        analytic_nngp_diag(torch.zeros(1, 1), 1, activation)  # unknown activation names fail here

    def __call__(self, x1: Tensor, x2: Tensor | None = None) -> Tensor:
        return analytic_ntk(x1, x2, self.depth, self.activation, self.weight_var, self.bias_var)[0]

    def diag(self, x: Tensor) -> Tensor:
        return analytic_nngp_diag(x, self.depth, self.activation, self.weight_var, self.bias_var)

    def __repr__(self) -> str:
        return (f"NNGPKernel(depth={self.depth}, activation={self.activation!r}, weight_var={self.weight_var:g}, "
                f"bias_var={self.bias_var:g})")


def _kernel_diag(kernel: Callable[..., Tensor], x: Tensor) -> Tensor:
    diag = getattr(kernel, "diag", None)
    return diag(x) if callable(diag) else torch.diagonal(kernel(x, x))


def _cholesky(k: Tensor, what: str) -> Tensor:
    chol, info = torch.linalg.cholesky_ex(k)
    if int(info) != 0:
        raise ValueError(f"{what} is not positive definite (Cholesky failed at column {int(info)}); "
                         f"use noise > 0 or remove duplicate inputs")
    return chol


def gp_posterior(k_train: Tensor, k_test_train: Tensor, k_test: Tensor, y_train: Tensor,
                 noise: float = 0.0) -> tuple[Tensor, Tensor]:
    r"""Gaussian-process posterior of the latent function:
    :math:`\mu = K_{*X}(K + \varepsilon I)^{-1} y`, :math:`C = K_{**} - K_{*X}(K + \varepsilon I)^{-1}K_{X*}`.

    Args:
        k_train: ``(n, n)`` kernel on the training inputs.
        k_test_train: ``(m, n)`` kernel between test and training inputs.
        k_test: ``(m, m)`` for the full covariance or ``(m,)`` (its diagonal) for variances only.
        y_train: ``(n,)`` or ``(n, k)`` targets.
        noise: :math:`\varepsilon \ge 0` added to the training diagonal.

    Returns:
        ``(mean, cov)``: mean shaped ``(m, *y_train.shape[1:])``, cov shaped like ``k_test``.
    """
    check_tensor("k_train", k_train, ndim=2, finite=True, nonempty=True)
    n = k_train.shape[0]
    if k_train.shape != (n, n):
        raise ValueError(f"k_train must be square, got shape {tuple(k_train.shape)}")
    check_tensor("k_test_train", k_test_train, ndim=2, finite=True)
    m = k_test_train.shape[0]
    if k_test_train.shape[1] != n:
        raise ValueError(f"k_test_train must be (m, {n}), got shape {tuple(k_test_train.shape)}")
    check_tensor("k_test", k_test, ndim=(1, 2), finite=True)
    if k_test.shape not in ((m,), (m, m)):
        raise ValueError(f"k_test must be ({m}, {m}) or ({m},), got shape {tuple(k_test.shape)}")
    check_tensor("y_train", y_train, ndim=(1, 2), finite=True)
    if y_train.shape[0] != n:
        raise ValueError(f"y_train must have {n} rows, got shape {tuple(y_train.shape)}")
    noise = check_float("noise", noise, min_value=0.0)
    chol = _cholesky(k_train + noise * torch.eye(n, dtype=k_train.dtype, device=k_train.device), "k_train + noise*I")
    alpha = torch.cholesky_solve(y_train.reshape(n, -1), chol)
    mean = (k_test_train @ alpha).reshape(m, *y_train.shape[1:])
    half = torch.linalg.solve_triangular(chol, k_test_train.T, upper=False)   # L^-1 K_X*
    cov = k_test - half.T @ half if k_test.ndim == 2 else k_test - (half * half).sum(0)
    return mean, cov


def student_t_log_prob(y: Tensor, df: float | Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    r"""Elementwise log density of a univariate Student-t with ``df`` degrees of freedom, location ``loc`` and
    scale ``scale`` (the standard deviation of the Gaussian it mixes, not the t's own):
    :math:`\log\Gamma(\tfrac{\nu+1}{2}) - \log\Gamma(\tfrac\nu2) - \tfrac12\log(\nu\pi s^2)
    - \tfrac{\nu+1}{2}\log(1 + \tfrac{(y-\mu)^2}{\nu s^2})`."""
    df = torch.as_tensor(df, dtype=loc.dtype, device=loc.device)
    z2 = ((y - loc) / scale) ** 2
    return (torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(df * math.pi * scale * scale)
            - (df + 1) / 2 * torch.log1p(z2 / df))


class _ProcessBase:
    """Shared fit/solve plumbing: ``kernel(x1, x2)`` -> matrix, noise on the training diagonal."""

    def __init__(self, kernel: Callable[..., Tensor], noise: float) -> None:
        if not callable(kernel):
            raise TypeError(f"kernel must be callable as kernel(x1, x2) -> (n1, n2), got {type(kernel).__name__}")
        self.kernel = kernel
        self.noise = check_float("noise", noise, min_value=0.0)
        self._x: Tensor | None = None

    def fit(self, x: Tensor, y: Tensor) -> _ProcessBase:
        """Condition on training inputs ``x`` ``(n, d)`` and scalar targets ``y`` ``(n,)``; returns ``self``."""
        check_tensor("x", x, ndim=2, finite=True, nonempty=True)
        check_tensor("y", y, ndim=1, finite=True)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y must have one target per row of x: x {tuple(x.shape)}, y {tuple(y.shape)}")
        n = x.shape[0]
        k_y = self.kernel(x, x) + self.noise * torch.eye(n, dtype=x.dtype, device=x.device)
        self._x, self._y = x, y.to(k_y.dtype)
        self._chol = _cholesky(k_y, "K(x, x) + noise*I")
        self._alpha = torch.cholesky_solve(self._y[:, None], self._chol)[:, 0]   # K_y^-1 y
        self._quad = float(self._y @ self._alpha)                                  # y^T K_y^-1 y
        self._logdet = float(2 * torch.log(torch.diagonal(self._chol)).sum())
        return self

    def _check_fitted(self) -> None:
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}: call fit(x, y) before predicting")

    def _unit_posterior(self, x: Tensor, full_cov: bool, observation_noise: bool) -> tuple[Tensor, Tensor]:
        """Posterior mean and covariance (or variance) at unit last-layer variance."""
        self._check_fitted()
        check_tensor("x", x, ndim=2, finite=True, nonempty=True)
        if x.shape[1] != self._x.shape[1]:
            raise ValueError(f"x must have {self._x.shape[1]} features like the training inputs, "
                             f"got shape {tuple(x.shape)}")
        k_star = self.kernel(x, self._x)
        mean = k_star @ self._alpha
        half = torch.linalg.solve_triangular(self._chol, k_star.T, upper=False)
        if full_cov:
            cov = self.kernel(x, x) - half.T @ half
            if observation_noise:
                cov = cov + self.noise * torch.eye(x.shape[0], dtype=cov.dtype, device=cov.device)
        else:
            cov = (_kernel_diag(self.kernel, x) - (half * half).sum(0)).clamp_min(0.0)
            if observation_noise:
                cov = cov + self.noise
        return mean, cov

    @property
    def num_train(self) -> int:
        self._check_fitted()
        return int(self._x.shape[0])


class GaussianProcess(_ProcessBase):
    r"""NNGP (or any-kernel) Gaussian-process regression with last-layer variance ``scale``:
    :math:`y \sim N(0, \sigma^2 (K + \varepsilon I))`.

    Args:
        kernel: ``kernel(x1, x2)`` -> ``(n1, n2)`` (e.g. :class:`NNGPKernel`).
        noise: :math:`\varepsilon \ge 0`, observation noise in units of the last-layer variance.
        scale: :math:`\sigma^2 > 0`, the last-layer variance; or ``"ml"``: at each :meth:`fit` the maximiser
            of the marginal likelihood over :math:`\sigma^2` for this noise, in closed form
            :math:`\hat\sigma^2 = y^T (K + \varepsilon I)^{-1} y / n` (empirical Bayes; the Student-t
            process's posterior scale :math:`(2\beta + y^T K_y^{-1} y) / (2\alpha + n)` tends to it).
    """

    def __init__(self, kernel: Callable[..., Tensor], noise: float = 0.0, scale: float | str = 1.0) -> None:
        super().__init__(kernel, noise)
        self.fit_scale = scale == "ml"
        if isinstance(scale, str) and not self.fit_scale:
            raise ValueError(f"scale must be a positive float or 'ml' (maximum marginal likelihood), got {scale!r}")
        self.scale = 1.0 if self.fit_scale else check_float("scale", scale, min_value=0.0, strict_min=True)

    def fit(self, x: Tensor, y: Tensor) -> GaussianProcess:
        """Condition on ``x`` ``(n, d)``, ``y`` ``(n,)`` (and set ``scale`` when it was given as ``"ml"``)."""
        super().fit(x, y)
        if self.fit_scale:
            if self._quad <= 0:
                raise ValueError("scale='ml' needs targets that are not all zero (y^T K_y^-1 y = 0)")
            self.scale = self._quad / x.shape[0]
        return self

    def predict(self, x: Tensor, *, full_cov: bool = False, observation_noise: bool = True) -> tuple[Tensor, Tensor]:
        """``(mean (m,), var (m,))`` or with ``full_cov`` ``(mean, cov (m, m))``; ``observation_noise`` adds the
        noise to the predictive (the distribution of a new target rather than of the latent function)."""
        mean, cov = self._unit_posterior(x, full_cov, observation_noise)
        return mean, self.scale * cov

    def predictive_log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """Per-point log predictive density of targets ``y`` ``(m,)`` at ``x`` ``(m, d)`` (noise included)."""
        check_tensor("y", y, ndim=1, finite=True)
        mean, var = self.predict(x)
        if y.shape != mean.shape:
            raise ValueError(f"y must have shape {tuple(mean.shape)} (one target per row of x), got {tuple(y.shape)}")
        return -0.5 * (_LOG_2PI + torch.log(var) + (y - mean) ** 2 / var)

    def log_marginal_likelihood(self) -> float:
        """:math:`\\log N(y; 0, \\sigma^2 K_y)` of the training targets."""
        n = self.num_train
        return -0.5 * (n * _LOG_2PI + n * math.log(self.scale) + self._logdet + self._quad / self.scale)


class StudentTProcess(_ProcessBase):
    r"""The scale mixture with :math:`\sigma^2 \sim \mathrm{InvGamma}(\alpha, \beta)` on the last-layer variance:
    a Student-t process (module docstring for the posterior). Prior degrees of freedom :math:`2\alpha`.

    Args:
        kernel: ``kernel(x1, x2)`` -> ``(n1, n2)`` (e.g. :class:`NNGPKernel`).
        alpha, beta: the inverse-gamma shape and scale, both > 0.
        noise: :math:`\varepsilon \ge 0`, observation noise, scaled by :math:`\sigma^2` like the kernel.
    """

    def __init__(self, kernel: Callable[..., Tensor], alpha: float, beta: float, noise: float = 0.0) -> None:
        super().__init__(kernel, noise)
        self.alpha = check_float("alpha", alpha, min_value=0.0, strict_min=True)
        self.beta = check_float("beta", beta, min_value=0.0, strict_min=True)

    @property
    def df(self) -> float:
        """Posterior degrees of freedom :math:`\\nu' = 2\\alpha + n`."""
        return 2 * self.alpha + self.num_train

    @property
    def scale_factor(self) -> float:
        """:math:`(2\\beta + y^\\top K_y^{-1} y) / (2\\alpha + n)`, multiplying the unit NNGP posterior covariance."""
        return (2 * self.beta + self._quad) / self.df

    def predict(self, x: Tensor, *, full_cov: bool = False,
                observation_noise: bool = True) -> tuple[float, Tensor, Tensor]:
        """``(df, mean, scale)``: the predictive multivariate Student-t's degrees of freedom, location ``(m,)``
        and scale matrix ``(m, m)`` (``full_cov``) or its diagonal ``(m,)``. Its covariance is
        ``df / (df - 2) * scale``."""
        mean, cov = self._unit_posterior(x, full_cov, observation_noise)
        return self.df, mean, self.scale_factor * cov

    def predictive_log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """Per-point log predictive density (marginal Student-t) of targets ``y`` ``(m,)`` at ``x`` ``(m, d)``."""
        check_tensor("y", y, ndim=1, finite=True)
        df, mean, scale = self.predict(x)
        if y.shape != mean.shape:
            raise ValueError(f"y must have shape {tuple(mean.shape)} (one target per row of x), got {tuple(y.shape)}")
        return student_t_log_prob(y, df, mean, torch.sqrt(scale))

    def log_marginal_likelihood(self) -> float:
        """Log density of the training targets under the prior multivariate Student-t
        :math:`t_{2\\alpha}(0, (\\beta/\\alpha) K_y)`."""
        n, nu = self.num_train, 2 * self.alpha
        logdet = self._logdet + n * math.log(self.beta / self.alpha)
        quad = self._quad * self.alpha / self.beta
        return (math.lgamma((nu + n) / 2) - math.lgamma(nu / 2) - 0.5 * n * math.log(nu * math.pi)
                - 0.5 * logdet - 0.5 * (nu + n) * math.log1p(quad / nu))


# ---- priors on the last-layer variance -------------------------------------------------------------------------
class InverseGammaPrior:
    r""":math:`\sigma^2 \sim \mathrm{InvGamma}(\alpha, \beta)`, density
    :math:`\beta^\alpha \Gamma(\alpha)^{-1} x^{-\alpha-1} e^{-\beta/x}`."""

    def __init__(self, alpha: float, beta: float) -> None:
        self.alpha = check_float("alpha", alpha, min_value=0.0, strict_min=True)
        self.beta = check_float("beta", beta, min_value=0.0, strict_min=True)

    def sample(self, num: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> Tensor:
        check_int("num", num, min_value=1)
        return self.beta / _gamma(self.alpha, num, generator, dtype)

    def log_prob(self, x: Tensor) -> Tensor:
        return (self.alpha * math.log(self.beta) - math.lgamma(self.alpha) - (self.alpha + 1) * torch.log(x)
                - self.beta / x)


def _gamma(shape: float, num: int, generator: torch.Generator | None, dtype: torch.dtype) -> Tensor:
    """Gamma(shape, 1) draws from ``generator`` (None: torch's global one); Marsaglia & Tsang 2000, vectorised
    rejection, with the u^(1/shape) boost for shape < 1."""
    boost = shape < 1
    a = shape + 1 if boost else shape
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)
    out = torch.empty(num, dtype=dtype)
    filled = 0
    while filled < num:
        m = 2 * (num - filled) + 16
        z = torch.randn(m, generator=generator, dtype=dtype)
        u = torch.rand(m, generator=generator, dtype=dtype)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u.clamp_min(1e-300)) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp_min(1e-300)))
        good = (d * v)[ok][: num - filled]
        out[filled:filled + good.numel()] = good
        filled += good.numel()
    if boost:
        out = out * torch.rand(num, generator=generator, dtype=dtype) ** (1 / shape)
    return out


class Burr12Prior:
    r""":math:`\sigma^2 \sim \mathrm{Burr\,XII}(c, d)` with scale ``scale``: density
    :math:`\frac{c d}{s}(x/s)^{c-1}(1 + (x/s)^c)^{-d-1}` (scipy's ``burr12``); sampled by inverting
    :math:`F(x) = 1 - (1 + (x/s)^c)^{-d}`. The authors' code uses ``c=2, d=1, scale=1``."""

    def __init__(self, c: float = 2.0, d: float = 1.0, scale: float = 1.0) -> None:
        self.c = check_float("c", c, min_value=0.0, strict_min=True)
        self.d = check_float("d", d, min_value=0.0, strict_min=True)
        self.scale = check_float("scale", scale, min_value=0.0, strict_min=True)

    def sample(self, num: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64) -> Tensor:
        check_int("num", num, min_value=1)
        u = torch.rand(num, generator=generator, dtype=dtype)
        # 1 - u is uniform too; (1-u)^(-1/d) - 1 written with expm1 for accuracy near u = 0
        return self.scale * torch.expm1(-torch.log1p(-u) / self.d) ** (1 / self.c)

    def log_prob(self, x: Tensor) -> Tensor:
        r = x / self.scale
        return (math.log(self.c * self.d / self.scale) + (self.c - 1) * torch.log(r)
                - (self.d + 1) * torch.log1p(r ** self.c))


class ScaleMixtureProcess(_ProcessBase):
    r"""A scale mixture of NNGPs under any variance ``prior`` (an object with ``sample(num, generator)`` and
    ``log_prob(x)``, e.g. :class:`Burr12Prior`), by self-normalised importance sampling with the prior as the
    proposal: :math:`\sigma^2_s \sim p(\sigma^2)`, :math:`w_s \propto N(y; 0, \sigma^2_s K_y)`, and the predictive
    :math:`p(y_* \mid y) \approx \sum_s \bar w_s\, N(y_*; \mu, \sigma^2_s c_*)`.

    Args:
        kernel, noise: as :class:`StudentTProcess`.
        prior: the variance prior.
        num_samples: importance samples (>= 1); ``generator`` seeds them.
    """

    def __init__(self, kernel: Callable[..., Tensor], prior: object, noise: float = 0.0, num_samples: int = 1000,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(kernel, noise)
        if not (callable(getattr(prior, "sample", None)) and callable(getattr(prior, "log_prob", None))):
            raise TypeError(f"prior must have sample(num, generator) and log_prob(x), got {type(prior).__name__}")
        self.prior = prior
        self.num_samples = check_int("num_samples", num_samples, min_value=1)
        self.generator = generator

    def fit(self, x: Tensor, y: Tensor) -> ScaleMixtureProcess:
        super().fit(x, y)
        n = self.num_train
        variances = self.prior.sample(self.num_samples, self.generator).to(self._y.dtype)
        log_lik = -0.5 * (n * _LOG_2PI + n * torch.log(variances) + self._logdet + self._quad / variances)
        self.variances = variances
        self.log_weights = log_lik - torch.logsumexp(log_lik, 0)
        self._log_evidence = float(torch.logsumexp(log_lik, 0) - math.log(self.num_samples))
        return self

    @property
    def effective_sample_size(self) -> float:
        """:math:`1 / \\sum_s \\bar w_s^2`."""
        self._check_fitted()
        return float(1.0 / torch.exp(2 * self.log_weights).sum())

    def predictive_log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """Per-point log predictive density of targets ``y`` ``(m,)`` at ``x`` ``(m, d)``."""
        check_tensor("y", y, ndim=1, finite=True)
        mean, var = self._unit_posterior(x, False, True)
        if y.shape != mean.shape:
            raise ValueError(f"y must have shape {tuple(mean.shape)} (one target per row of x), got {tuple(y.shape)}")
        total = self.variances[:, None] * var[None, :]                         # (S, m)
        log_n = -0.5 * (_LOG_2PI + torch.log(total) + (y - mean)[None, :] ** 2 / total)
        return torch.logsumexp(self.log_weights[:, None] + log_n, 0)

    def predict(self, x: Tensor, *, observation_noise: bool = True) -> tuple[Tensor, Tensor]:
        """``(mean (m,), var (m,))``: the mixture's mean (the NNGP mean) and variance
        :math:`\\mathbb E[\\sigma^2 \\mid y]\\, c_*`."""
        mean, var = self._unit_posterior(x, False, observation_noise)
        return mean, float((torch.exp(self.log_weights) * self.variances).sum()) * var

    def log_marginal_likelihood(self) -> float:
        """The importance-sampling estimate of :math:`\\log p(y)`."""
        self._check_fitted()
        return self._log_evidence
