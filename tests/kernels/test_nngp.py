"""NNGP regression and scale mixtures: posterior formulas against dense algebra and scipy, the Student-t
posterior against direct numerical integration over the variance (n = 1), importance sampling against the
closed form, the NNGP kernel against a wide-network ensemble, bad inputs."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from basiskit.kernels import (
    Burr12Prior,
    GaussianProcess,
    InverseGammaPrior,
    NNGPKernel,
    ScaleMixtureProcess,
    StudentTProcess,
    gp_posterior,
    sample_preactivations,
    student_t_log_prob,
)

D = torch.float64


def _data(n=12, m=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + m, d, generator=g, dtype=D)
    y = torch.sin(x.sum(1)) + 0.1 * torch.randn(n + m, generator=g, dtype=D)
    return x[:n], y[:n], x[n:], y[n:]


def test_gp_posterior_matches_dense_algebra():
    x, y, xs, _ = _data()
    kern = NNGPKernel(2, "relu", 1.8, 0.2)
    k, ks, kss = kern(x), kern(xs, x), kern(xs)
    inv = torch.linalg.inv(k + 0.3 * torch.eye(len(x), dtype=D))
    mean, cov = gp_posterior(k, ks, kss, y, noise=0.3)
    torch.testing.assert_close(mean, ks @ inv @ y)
    torch.testing.assert_close(cov, kss - ks @ inv @ ks.T)
    _, var = gp_posterior(k, ks, torch.diagonal(kss), y, noise=0.3)
    torch.testing.assert_close(var, torch.diagonal(cov))
    torch.testing.assert_close(kern.diag(xs), torch.diagonal(kss))


def test_gaussian_process_matches_scipy():
    x, y, xs, ys = _data()
    kern = NNGPKernel(3, "erf", 1.2, 0.1)
    gp = GaussianProcess(kern, noise=0.2, scale=1.7).fit(x, y)
    mean, var = gp.predict(xs)
    ref = stats.norm.logpdf(ys.numpy(), mean.numpy(), np.sqrt(var.numpy()))
    np.testing.assert_allclose(gp.predictive_log_prob(xs, ys).numpy(), ref, rtol=1e-10)
    cov = 1.7 * (kern(x) + 0.2 * torch.eye(len(x), dtype=D))
    ref_lml = stats.multivariate_normal.logpdf(y.numpy(), np.zeros(len(x)), cov.numpy())
    assert gp.log_marginal_likelihood() == pytest.approx(ref_lml, rel=1e-10)
    _, full = gp.predict(xs, full_cov=True)
    torch.testing.assert_close(torch.diagonal(full), var)


@pytest.mark.parametrize("alpha,beta,noise", [(2.0, 2.0, 0.1), (0.7, 1.5, 0.5), (5.0, 0.3, 0.0)])
def test_student_t_posterior_matches_integration_over_the_variance(alpha, beta, noise):
    """n = 1: p(y* | y) = int N(y*; mu, s2 c) p(s2 | y) ds2 with p(s2 | y) ~ N(y; 0, s2 k_y) IG(s2; alpha, beta)."""
    x = torch.tensor([[0.4, -1.1]], dtype=D)
    y = torch.tensor([1.3], dtype=D)
    xs = torch.tensor([[0.9, 0.2], [-0.5, -1.0]], dtype=D)
    kern = NNGPKernel(2, "relu")
    stp = StudentTProcess(kern, alpha, beta, noise).fit(x, y)
    k_y = float(kern(x)[0, 0]) + noise
    prior = stats.invgamma(alpha, scale=beta)

    def post_unnorm(s2):
        return stats.norm.pdf(1.3, 0.0, math.sqrt(s2 * k_y)) * prior.pdf(s2)

    evidence = integrate.quad(post_unnorm, 0, np.inf, limit=200)[0]
    assert math.exp(stp.log_marginal_likelihood()) == pytest.approx(evidence, rel=1e-7)
    for i, y_star in enumerate((0.2, -2.5, 4.0)):
        xi = xs[i % 2: i % 2 + 1]
        k_s = float(kern(xi, x)[0, 0])
        mu = k_s / k_y * 1.3
        c = float(kern(xi)[0, 0]) - k_s ** 2 / k_y + noise

        def integrand(s2):
            return stats.norm.pdf(y_star, mu, math.sqrt(s2 * c)) * post_unnorm(s2) / evidence

        direct = integrate.quad(integrand, 0, np.inf, limit=200)[0]
        got = float(stp.predictive_log_prob(xi, torch.tensor([y_star], dtype=D))[0])
        assert math.exp(got) == pytest.approx(direct, rel=1e-6)
    assert stp.df == 2 * alpha + 1
    assert stp.scale_factor == pytest.approx((2 * beta + 1.3 ** 2 / k_y) / (2 * alpha + 1))


def test_student_t_process_multivariate_against_scipy():
    x, y, xs, ys = _data(n=8, m=4)
    kern = NNGPKernel(2, "relu")
    stp = StudentTProcess(kern, 3.0, 1.5, 0.2).fit(x, y)
    k_y = kern(x) + 0.2 * torch.eye(8, dtype=D)
    ref = stats.multivariate_t(np.zeros(8), (1.5 / 3.0) * k_y.numpy(), df=6.0).logpdf(y.numpy())
    assert stp.log_marginal_likelihood() == pytest.approx(ref, rel=1e-10)
    df, mean, scale = stp.predict(xs, full_cov=True)
    gp_mean, gp_cov = GaussianProcess(kern, 0.2).fit(x, y).predict(xs, full_cov=True)
    torch.testing.assert_close(mean, gp_mean)
    q = float(y @ torch.linalg.solve(k_y, y))
    torch.testing.assert_close(scale, (2 * 1.5 + q) / (6.0 + 8) * gp_cov)
    ref_pt = stats.t.logpdf(ys.numpy(), df, mean.numpy(), np.sqrt(torch.diagonal(scale).numpy()))
    np.testing.assert_allclose(stp.predictive_log_prob(xs, ys).numpy(), ref_pt, rtol=1e-10)
    np.testing.assert_allclose(student_t_log_prob(ys, 3.5, mean, torch.ones(4, dtype=D)).numpy(),
                               stats.t.logpdf(ys.numpy(), 3.5, mean.numpy()), rtol=1e-12)


def test_importance_sampling_with_inverse_gamma_prior_recovers_student_t():
    x, y, xs, ys = _data()
    kern = NNGPKernel(2, "relu")
    exact = StudentTProcess(kern, 2.0, 2.0, 0.2).fit(x, y)
    approx = ScaleMixtureProcess(kern, InverseGammaPrior(2.0, 2.0), 0.2, num_samples=40000,
                                 generator=torch.Generator().manual_seed(0)).fit(x, y)
    assert approx.effective_sample_size > 1000
    torch.testing.assert_close(approx.predictive_log_prob(xs, ys), exact.predictive_log_prob(xs, ys),
                               atol=0.01, rtol=0)
    assert approx.log_marginal_likelihood() == pytest.approx(exact.log_marginal_likelihood(), abs=0.01)


def test_burr12_scale_mixture_against_integration():
    x = torch.tensor([[0.4, -1.1]], dtype=D)
    y = torch.tensor([1.3], dtype=D)
    xs = torch.tensor([[0.9, 0.2]], dtype=D)
    kern = NNGPKernel(1, "erf", 1.0, 0.0)
    proc = ScaleMixtureProcess(kern, Burr12Prior(2.0, 1.0), 0.1, num_samples=60000,
                               generator=torch.Generator().manual_seed(1)).fit(x, y)
    k_y = float(kern(x)[0, 0]) + 0.1
    k_s = float(kern(xs, x)[0, 0])
    mu, c = k_s / k_y * 1.3, float(kern(xs)[0, 0]) - k_s ** 2 / k_y + 0.1
    prior = stats.burr12(2.0, 1.0)

    def post(s2):
        return stats.norm.pdf(1.3, 0, math.sqrt(s2 * k_y)) * prior.pdf(s2)

    evidence = integrate.quad(post, 0, np.inf, limit=200)[0]
    assert proc.log_marginal_likelihood() == pytest.approx(math.log(evidence), abs=0.02)
    for y_star in (0.0, 3.0):
        direct = integrate.quad(lambda s2: stats.norm.pdf(y_star, mu, math.sqrt(s2 * c)) * post(s2), 0, np.inf,
                                limit=200)[0] / evidence
        got = float(proc.predictive_log_prob(xs, torch.tensor([y_star], dtype=D))[0])
        assert got == pytest.approx(math.log(direct), abs=0.02)


def test_priors_match_scipy():
    g = torch.Generator().manual_seed(0)
    for alpha in (0.5, 2.0):
        draws = InverseGammaPrior(alpha, 1.5).sample(20000, g)
        assert stats.kstest(draws.numpy(), stats.invgamma(alpha, scale=1.5).cdf).pvalue > 1e-3
    draws = Burr12Prior(2.0, 1.5, 0.7).sample(20000, g)
    assert stats.kstest(draws.numpy(), stats.burr12(2.0, 1.5, scale=0.7).cdf).pvalue > 1e-3
    pts = torch.tensor([0.3, 1.0, 2.5], dtype=D)
    np.testing.assert_allclose(Burr12Prior(2.0, 1.5, 0.7).log_prob(pts).numpy(),
                               stats.burr12(2.0, 1.5, scale=0.7).logpdf(pts.numpy()), rtol=1e-12)
    np.testing.assert_allclose(InverseGammaPrior(2.0, 1.5).log_prob(pts).numpy(),
                               stats.invgamma(2.0, scale=1.5).logpdf(pts.numpy()), rtol=1e-12)


def test_nngp_kernel_is_the_wide_network_prior_covariance():
    """A width-1024 ensemble's outputs at two inputs have the NNGP covariance and a Gaussian marginal (drawn by the
    Gram method, which test_criticality checks against explicit weights)."""
    x = torch.tensor([[0.6, -0.8, 0.3], [0.1, 0.9, -0.4]], dtype=D)
    kern = NNGPKernel(2, "relu", 2.0, 0.1)
    outs = sample_preactivations(x, [1024, 1024, 1], "relu", 2.0, 0.1, 3000,
                                 generator=torch.Generator().manual_seed(0))[-1][:, 0, :]   # (3000, 2)
    emp = outs.T @ outs / outs.shape[0]
    ref = kern(x)
    se = torch.sqrt((ref.diagonal()[:, None] * ref.diagonal()[None, :] + ref ** 2) / outs.shape[0])
    assert ((emp - ref).abs() < 4 * se).all()
    assert stats.kstest((outs[:, 0] / ref[0, 0].sqrt()).numpy(), "norm").statistic < 0.04


def test_bad_inputs_raise_clear_errors():
    x, y, xs, ys = _data()
    kern = NNGPKernel(2)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        StudentTProcess(kern, 0.0, 1.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        StudentTProcess(kern, 1.0, -1.0)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        GaussianProcess(kern, noise=-0.1)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        NNGPKernel(0)
    with pytest.raises(ValueError, match="weight_var must be >= 0"):
        NNGPKernel(2, weight_var=-2.0)
    with pytest.raises(ValueError, match="unknown value 'tahn'"):
        NNGPKernel(2, activation="tahn")
    with pytest.raises(RuntimeError, match="call fit"):
        StudentTProcess(kern, 1.0, 1.0, 0.1).predict(xs)
    stp = StudentTProcess(kern, 1.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="one target per row"):
        stp.fit(x, y[:-1])
    bad = y.clone()
    bad[0] = float("inf")
    with pytest.raises(ValueError, match="y contains 1 NaN/inf"):
        stp.fit(x, bad)
    stp.fit(x, y)
    with pytest.raises(ValueError, match="x must have 3 features"):
        stp.predict(torch.randn(2, 4, dtype=D))
    with pytest.raises(ValueError, match="x contains"):
        stp.predict(xs.clone().fill_(float("nan")))
    with pytest.raises(ValueError, match="not positive definite"):
        GaussianProcess(kern, noise=0.0).fit(torch.cat([x, x]), torch.cat([y, y]))
    with pytest.raises(ValueError, match="k_test must be"):
        gp_posterior(kern(x), kern(xs, x), torch.zeros(3, dtype=D), y)
    with pytest.raises(TypeError, match="prior must have"):
        ScaleMixtureProcess(kern, object())
    with pytest.raises(ValueError, match="c must be > 0"):
        Burr12Prior(c=0.0)


def test_ml_scale_maximises_the_marginal_likelihood():
    """scale="ml": the closed-form sigma^2 = y^T K_y^-1 y / n against a numerical maximisation of the log marginal
    likelihood over sigma^2 (scipy), and refit on new data."""
    from scipy.optimize import minimize_scalar

    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = 2.5 * torch.sin(x.sum(1)) + 0.1 * torch.randn(40, generator=g, dtype=torch.float64)
    kern = NNGPKernel(2, "relu")
    gp = GaussianProcess(kern, noise=0.1, scale="ml").fit(x, y)

    def neg_lml(log_s: float) -> float:
        return -GaussianProcess(kern, noise=0.1, scale=math.exp(log_s)).fit(x, y).log_marginal_likelihood()

    best = minimize_scalar(neg_lml, bounds=(-10, 10), method="bounded", options={"xatol": 1e-10})
    assert gp.scale == pytest.approx(math.exp(best.x), rel=1e-6)
    assert gp.log_marginal_likelihood() >= -best.fun - 1e-9
    first = gp.scale
    gp.fit(x, 0.1 * y)
    assert gp.scale == pytest.approx(first * 0.01, rel=1e-12)
    with pytest.raises(ValueError, match="scale must be a positive float or 'ml'"):
        GaussianProcess(kern, noise=0.1, scale="max")
