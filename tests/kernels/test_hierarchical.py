"""kernels.hierarchical: Hermite polynomials, the planted quadratic, the layer-wise three-layer learner, the
random-feature ridge baseline."""
import math

import numpy as np
import pytest
import torch

from basiskit.kernels import (RandomFeatureRidge, ThreeLayerLearner, hermite, planted_quadratic, quadratic_form,
                              ridge_fit)


@pytest.mark.parametrize("degree", range(7))
def test_hermite_matches_numpy_and_is_orthogonal(degree):
    z = torch.linspace(-3, 3, 41, dtype=torch.float64)
    coeffs = np.zeros(degree + 1)
    coeffs[-1] = 1.0
    np.testing.assert_allclose(hermite(z, degree).numpy(), np.polynomial.hermite_e.hermeval(z.numpy(), coeffs),
                               rtol=1e-12, atol=1e-9)
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    weights = torch.from_numpy(weights / math.sqrt(2 * math.pi))
    nodes = torch.from_numpy(nodes)
    for other in range(7):
        inner = float((weights * hermite(nodes, degree) * hermite(nodes, other)).sum())
        expect = math.factorial(degree) if other == degree else 0.0
        assert abs(inner - expect) < 1e-8 * max(1.0, expect)


def test_planted_quadratic_is_trace_free_and_normalised():
    a = planted_quadratic(12, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, a.T)
    assert abs(float(torch.trace(a))) < 1e-12
    assert math.isclose(float(2 * (a * a).sum()), 1.0, rel_tol=1e-12)
    x = torch.randn(200_000, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    p = quadratic_form(x, a)
    assert abs(float(p.mean())) < 0.01 and abs(float((p * p).mean()) - 1.0) < 0.02
    torch.testing.assert_close(quadratic_form(x[:3], a), torch.einsum("ni,ij,nj->n", x[:3], a, x[:3]))


def test_learner_recovers_the_feature_direction_on_a_planted_problem():
    # h = g(p) with g = identity (q = 1): the one-step feature correlates almost perfectly with p, and the output
    # layer then fits h. (Even parts of g add x^T A^2 x-type directions to the degree-2 projection, which only
    # vanish relative to p as d grows; the recipe measures the He_3 case.)
    d, n = 6, 6000
    g = torch.Generator().manual_seed(0)
    a = planted_quadratic(d, generator=g)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = quadratic_form(x, a)
    learner = ThreeLayerLearner(d, num_random=2048, num_hidden=400, generator=torch.Generator().manual_seed(1))
    learner.fit(x, y)
    x_test = torch.randn(4000, d, generator=g, dtype=torch.float64)
    p_test = quadratic_form(x_test, a)
    corr = float(torch.corrcoef(torch.stack([learner.feature(x_test), p_test]))[0, 1])
    assert corr > 0.95, corr
    with torch.no_grad():
        nmse = float(((learner(x_test) - p_test) ** 2).mean() / p_test.var())
    assert nmse < 0.1, nmse


def test_stage_one_is_one_gradient_step_from_zero():
    d, n = 5, 300
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = quadratic_form(x, planted_quadratic(d, generator=g))
    learner = ThreeLayerLearner(d, num_random=64, num_hidden=50, generator=torch.Generator().manual_seed(4))
    learner.fit(x, y)
    # every middle-layer row is (sign * relu'(b)) times one shared direction; units with b < 0 stay at zero
    gain = learner.signs * (learner.b > 0).to(torch.float64)
    torch.testing.assert_close(learner.w, gain[:, None] * learner.direction[None, :])
    # and that direction is the gradient of 1/(2 n1) sum (f - y)^2 at W = 0 through an explicit autograd graph
    fresh = ThreeLayerLearner(d, num_random=64, num_hidden=50, generator=torch.Generator().manual_seed(4))
    first = torch.randperm(n, generator=fresh.generator)[: n // 2]
    w = torch.zeros(64, dtype=torch.float64, requires_grad=True)
    phi = fresh.random_features(x[first])
    out = phi @ w                                 # a single unit with sign +1 and relu'(b) = 1, output bias ybar
    loss = 0.5 * ((out + y[first].mean() - y[first]) ** 2).mean()
    (grad,) = torch.autograd.grad(loss, w)
    cos = float(torch.nn.functional.cosine_similarity(-grad, learner.direction, dim=0))
    assert cos > 1 - 1e-10, cos


def test_random_feature_ridge_matches_a_direct_ridge_fit():
    d, n = 4, 120
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.relu(x[:, 0]) - x[:, 1]
    model = RandomFeatureRidge(d, 300, generator=torch.Generator().manual_seed(1)).fit(x, y, ridges=[1e-3, 1.0])
    assert model.ridge_ in (1e-3, 1.0)
    coef, intercept = ridge_fit(model.features(x), y, model.ridge_)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.features(x) @ coef + intercept)
        assert float(((model(x) - y) ** 2).mean() / y.var()) < 0.1


def test_hierarchical_bad_inputs():
    with pytest.raises(ValueError, match="degree must be >= 1"):
        ThreeLayerLearner(4, degree=0)
    with pytest.raises(ValueError, match="bias_range must be > 0"):
        ThreeLayerLearner(4, bias_range=0.0)
    with pytest.raises(ValueError, match="activation"):
        ThreeLayerLearner(4, activation="rleu")
    learner = ThreeLayerLearner(4, num_random=16, num_hidden=8)
    with pytest.raises(ValueError, match="last dim 4"):
        learner.fit(torch.randn(20, 5, dtype=torch.float64), torch.randn(20, dtype=torch.float64))
    with pytest.raises(ValueError, match="same number of samples"):
        learner.fit(torch.randn(20, 4, dtype=torch.float64), torch.randn(19, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        learner.fit(torch.full((20, 4), float("nan"), dtype=torch.float64), torch.randn(20, dtype=torch.float64))
    with pytest.raises(ValueError, match="need >= 2 and >= 4"):
        learner.fit(torch.randn(5, 4, dtype=torch.float64), torch.randn(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="no signal"):
        learner.fit(torch.randn(20, 4, dtype=torch.float64), torch.ones(20, dtype=torch.float64))
    with pytest.raises(ValueError, match="dim must be >= 2"):
        planted_quadratic(1)
    with pytest.raises(ValueError, match="square"):
        quadratic_form(torch.randn(3, 2), torch.randn(2, 3))
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        RandomFeatureRidge(3, 0)
