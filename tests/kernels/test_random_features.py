"""kernels.random_features: the URF public name, ridge fits against numpy, bandlimited random networks."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.kernels import (BandlimitedRandomFeatures, neural_network_kernel, ridge_fit, ridge_select,
                              universal_random_features)
from basiskit.nn.snnk import urf_features, urf_weight_features


# ---- universal_random_features -------------------------------------------------------------------------------
@pytest.mark.parametrize("f", ["relu", "exp", "sin", "cos", ((0.5, 0.5), (2.0, -2.0))])
def test_urf_roles_match_the_nn_math(f):
    g = torch.Generator().manual_seed(0)
    x, omega = torch.randn(3, 5, generator=g), torch.randn(16, 5, generator=g)
    torch.testing.assert_close(universal_random_features(x, omega, f), urf_features(x, omega, f))
    torch.testing.assert_close(universal_random_features(x, omega, f, role="weight"), urf_weight_features(x, omega, f))


def test_urf_estimate_converges_to_the_kernel():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    x = 0.8 * x / x.norm(dim=1, keepdim=True)
    omega = torch.randn(1 << 18, 3, generator=g, dtype=torch.float64)
    est = universal_random_features(x, omega, "sin") @ universal_random_features(x, omega, "sin", role="weight").T
    torch.testing.assert_close(est, neural_network_kernel(x, x, "sin"), atol=0.02, rtol=0.0)


def test_urf_bad_inputs():
    with pytest.raises(ValueError, match="role"):
        universal_random_features(torch.randn(2, 3), torch.randn(4, 3), "exp", role="output")
    with pytest.raises(ValueError, match="did you mean 'exp'"):
        universal_random_features(torch.randn(2, 3), torch.randn(4, 3), "expo")
    with pytest.raises(ValueError, match="omega must have 2 dims"):
        universal_random_features(torch.randn(2, 3), torch.randn(3), "exp")


# ---- ridge_fit / ridge_select ------------------------------------------------------------------------------------
def _numpy_ridge(h, y, ridge, fit_intercept=True):
    """Independent reference: centre, then least squares on the augmented system [H; sqrt(l) I] c = [y; 0]."""
    h, y = np.asarray(h), np.asarray(y)
    xm = h.mean(0) if fit_intercept else np.zeros(h.shape[1])
    ym = y.mean(0) if fit_intercept else np.zeros(y.shape[1:])
    hc, yc = h - xm, y - ym
    if ridge > 0:
        hc = np.vstack([hc, math.sqrt(ridge) * np.eye(h.shape[1])])
        yc = np.concatenate([yc, np.zeros((h.shape[1],) + y.shape[1:])])
    coef = np.linalg.lstsq(hc, yc, rcond=None)[0]
    return coef, ym - xm @ coef


@pytest.mark.parametrize("n,p", [(40, 7), (7, 40)])       # primal (n >= p) and dual (n < p) branches
@pytest.mark.parametrize("ridge", [0.0, 1e-3, 2.5])
@pytest.mark.parametrize("multi", [False, True])
def test_ridge_fit_matches_numpy_lstsq(n, p, ridge, multi):
    rng = np.random.default_rng(n + p)
    h = rng.standard_normal((n, p))
    y = rng.standard_normal((n, 3)) if multi else rng.standard_normal(n)
    coef, intercept = ridge_fit(torch.from_numpy(h), torch.from_numpy(y), ridge)
    ref_coef, ref_intercept = _numpy_ridge(h, y, ridge)
    assert coef.shape == ref_coef.shape and intercept.shape == np.shape(ref_intercept)
    np.testing.assert_allclose(coef.numpy(), ref_coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(intercept.numpy(), ref_intercept, rtol=1e-7, atol=1e-9)


def test_ridge_fit_without_intercept_and_rank_deficient_min_norm():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((30, 4))
    h = np.hstack([h, h[:, :1]])                      # duplicated column: rank 4 of 5
    y = rng.standard_normal(30)
    coef, intercept = ridge_fit(torch.from_numpy(h), torch.from_numpy(y), 0.0, fit_intercept=False)
    np.testing.assert_allclose(coef.numpy(), np.linalg.lstsq(h, y, rcond=None)[0], rtol=1e-8, atol=1e-10)
    assert float(intercept) == 0.0
    assert abs(float(coef[0] - coef[4])) < 1e-8       # the minimum-norm solution splits the weight evenly


def test_ridge_select_picks_the_smallest_validation_error():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(200, 60, generator=g, dtype=torch.float64)
    y = h[:, 0] + 0.5 * torch.randn(200, generator=g, dtype=torch.float64)
    ridges = [1e-4, 1e-1, 10.0, 1e4]
    best, errors = ridge_select(h, y, ridges, generator=torch.Generator().manual_seed(1))
    assert len(errors) == 4 and best == ridges[int(np.argmin(errors))]
    assert errors[-1] > errors[ridges.index(best)]    # a huge ridge underfits
    # recompute one validation error directly
    order = torch.randperm(200, generator=torch.Generator().manual_seed(1))
    val, train = order[:50], order[50:]
    coef, b = ridge_fit(h[train], y[train], 10.0)
    assert math.isclose(errors[2], float(((h[val] @ coef + b - y[val]) ** 2).mean()), rel_tol=1e-8)


def test_ridge_bad_inputs():
    h, y = torch.randn(10, 3), torch.randn(10)
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        ridge_fit(h, y, -1.0)
    with pytest.raises(ValueError, match="same number of rows"):
        ridge_fit(h, torch.randn(9))
    with pytest.raises(TypeError, match="share a dtype"):
        ridge_fit(h, y.double())
    with pytest.raises(ValueError, match="NaN"):
        ridge_fit(h, torch.tensor([float("nan")] * 10))
    with pytest.raises(ValueError, match="non-empty sequence"):
        ridge_select(h, y, [])
    with pytest.raises(ValueError, match=r"ridges\[1\] must be > 0"):
        ridge_select(h, y, [1.0, 0.0])
    with pytest.raises(ValueError, match="empty training or validation"):
        ridge_select(h, y, [1.0], val_fraction=0.01)


# ---- BandlimitedRandomFeatures -------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(in_features=st.integers(1, 6), n_hidden=st.integers(1, 300),
       bandwidth=st.floats(1e-3, 1e4, allow_nan=False, allow_infinity=False), seed=st.integers(0, 2**31 - 1))
def test_hidden_parameters_stay_in_the_bounded_domain(in_features, n_hidden, bandwidth, seed):
    net = BandlimitedRandomFeatures(in_features, n_hidden, bandwidth, generator=torch.Generator().manual_seed(seed))
    params = torch.cat([net.weight, net.bias[:, None]], 1)
    assert params.shape == (n_hidden, in_features + 1)
    # inside [-bandwidth, bandwidth] up to the rounding of the bound itself to the parameters' dtype
    assert float(params.abs().max()) <= bandwidth * (1 + torch.finfo(params.dtype).eps)
    assert not net.weight.requires_grad and not net.bias.requires_grad


def test_hidden_parameters_fill_the_cube_uniformly():
    net = BandlimitedRandomFeatures(2, 20000, 5.0, generator=torch.Generator().manual_seed(0))
    params = torch.cat([net.weight, net.bias[:, None]], 1)
    assert float(params.min()) < -4.99 and float(params.max()) > 4.99
    # U[-l, l] has mean 0 and variance l^2 / 3
    torch.testing.assert_close(params.var(0), torch.full((3,), 25.0 / 3), rtol=0.03, atol=0.0)


def test_fit_recovers_a_target_in_the_span_and_matches_ridge_fit():
    g = torch.Generator().manual_seed(0)
    net = BandlimitedRandomFeatures(1, 30, 4.0, generator=g, dtype=torch.float64)
    x = torch.linspace(-1, 1, 200, dtype=torch.float64)[:, None]
    c = torch.randn(30, generator=g, dtype=torch.float64)
    y = net.hidden(x) @ c + 0.3
    net.fit(x, y)
    torch.testing.assert_close(net(x)[:, 0], y, atol=1e-8, rtol=0.0)
    coef, intercept = ridge_fit(net.hidden(x), y, 0.5)
    net.fit(x, y, ridge=0.5)
    torch.testing.assert_close(net.output.weight[0], coef)
    torch.testing.assert_close(net.output.bias[0], intercept)


def test_small_bandwidth_cannot_follow_high_frequencies():
    # the paper's point in miniature: sin(40 x) on [-1, 1] needs |a| ~ 40; with |a| <= 1 the error plateaus
    x = torch.linspace(-1, 1, 2000, dtype=torch.float64)[:, None]
    y = torch.sin(40 * x[:, 0])
    rmse = {}
    for lam in (1.0, 80.0):
        net = BandlimitedRandomFeatures(1, 400, lam, generator=torch.Generator().manual_seed(0),
                                        dtype=torch.float64).fit(x, y, ridge=1e-8)
        with torch.no_grad():
            rmse[lam] = float(((net(x)[:, 0] - y) ** 2).mean().sqrt())
    assert rmse[1.0] > 0.5 and rmse[80.0] < 1e-2, rmse


def test_output_layer_trains_by_gradient_descent_too():
    net = BandlimitedRandomFeatures(2, 16, 2.0, activation="relu")
    net(torch.randn(5, 2)).sum().backward()
    assert net.output.weight.grad is not None and net.weight.grad is None


def test_bandlimited_bad_inputs():
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        BandlimitedRandomFeatures(1, 10, 0.0)
    with pytest.raises(ValueError, match="n_hidden must be >= 1"):
        BandlimitedRandomFeatures(1, 0, 1.0)
    with pytest.raises(ValueError, match="activation"):
        BandlimitedRandomFeatures(1, 10, 1.0, activation="tanhh")
    net = BandlimitedRandomFeatures(2, 10, 1.0)
    with pytest.raises(ValueError, match="last dim 2"):
        net(torch.randn(4, 3))
    with pytest.raises(ValueError, match="last dim 1"):
        net.fit(torch.randn(4, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="NaN"):
        net.fit(torch.full((4, 2), float("inf")), torch.randn(4))
