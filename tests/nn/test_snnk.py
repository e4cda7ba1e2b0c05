"""SNNK / universal random features: unbiasedness by quadrature, Monte Carlo error ~ 1/m, the layer."""
import math

import numpy as np
import pytest
import torch

from basiskit.nn import SNNKLinear
from basiskit.nn.snnk import (SNNK_ACTIVATIONS, exponential_expansion, neural_network_kernel, urf_features,
                              urf_weight_features)

COSH = ((0.5, 0.5), (1.0, -1.0))   # cosh z = (e^z + e^-z) / 2, a user-given expansion


def _gauss_hermite_plane(n: int = 60) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes (n^2, 2) and weights (n^2,) of E[h(g)], g ~ N(0, I_2), tensor Gauss-Hermite (probabilists')."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2 * math.pi)
    nodes = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    weights = np.outer(w, w).reshape(-1)
    return torch.from_numpy(nodes), torch.from_numpy(weights)


def _polar_plane(x: torch.Tensor, w: torch.Tensor, n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of E[h(g)], g ~ N(0, I_2), for h positively homogeneous of degree 2 with kinks where g
    is orthogonal to a row of x or w: E[h(g)] = E[r^2] E_phi[h(u_phi)] = 2 E_phi[h(u_phi)], the angle integral by
    Gauss-Legendre on each arc between kinks (the integrand is smooth there)."""
    kinks = [math.atan2(float(v[1]), float(v[0])) + s * math.pi / 2 for v in torch.cat([x, w]) for s in (-1, 1)]
    cuts = sorted({k % (2 * math.pi) for k in kinks} | {0.0, 2 * math.pi})
    t, wt = np.polynomial.legendre.leggauss(n)
    angles, weights = [], []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        angles.append(lo + (t + 1) * (hi - lo) / 2)
        weights.append(wt * (hi - lo) / 2 / (2 * math.pi))
    phi, wts = np.concatenate(angles), np.concatenate(weights)
    nodes = math.sqrt(2.0) * np.stack([np.cos(phi), np.sin(phi)], -1)
    return torch.from_numpy(nodes), torch.from_numpy(wts)


def _pairs(d: int = 2, seed: int = 0, x_norm: float = 0.9, w_norm: float = 0.7):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, d, generator=g, dtype=torch.float64)
    w = torch.randn(3, d, generator=g, dtype=torch.float64)
    return x_norm * x / x.norm(dim=1, keepdim=True), w_norm * w / w.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("f", list(SNNK_ACTIVATIONS) + [COSH])
def test_feature_inner_product_is_unbiased_by_quadrature(f):
    # E_g[Phi(x; g) Psi(w; g)] computed by 60x60 Gauss-Hermite quadrature over g in R^2 equals the exact kernel:
    # the quadrature nodes play the role of the projections omega (each feature carries 1/sqrt(m)).
    x, w = _pairs()
    nodes, weights = _polar_plane(x, w) if f == "relu" else _gauss_hermite_plane()
    m = nodes.shape[0]
    expect = m * (urf_features(x, nodes, f) * weights) @ urf_weight_features(w, nodes, f).T
    torch.testing.assert_close(expect, neural_network_kernel(x, w, f), rtol=1e-8, atol=1e-10)


def test_exact_kernel_closed_forms():
    x, w = _pairs(d=5)
    z = x @ w.T
    torch.testing.assert_close(neural_network_kernel(x, w, "exp"), torch.exp(z))
    torch.testing.assert_close(neural_network_kernel(x, w, "sin"), torch.sin(z))
    torch.testing.assert_close(neural_network_kernel(x, w, "cos"), torch.cos(z))
    torch.testing.assert_close(neural_network_kernel(x, w, COSH), torch.cosh(z))
    # arc-cosine kernel: orthogonal unit vectors give 1/(2 pi); identical unit vectors give 1/2 = E[relu(g)^2]
    e = torch.eye(3, dtype=torch.float64)
    k = neural_network_kernel(e, e, "relu")
    torch.testing.assert_close(k, torch.where(e > 0, 0.5, 1 / (2 * math.pi)).to(torch.float64))
    # opposite vectors: relu(g.x) relu(-g.x) = 0
    torch.testing.assert_close(neural_network_kernel(e[:1], -e[:1], "relu"), torch.zeros(1, 1, dtype=torch.float64))


@pytest.mark.parametrize("f", SNNK_ACTIVATIONS)
def test_monte_carlo_estimate_is_unbiased_within_standard_error(f):
    # one large draw split into blocks: the block means scatter around the exact value like a CLT sample
    x, w = _pairs(d=6, seed=3)
    g = torch.Generator().manual_seed(11)
    blocks, m = 64, 2048
    omega = torch.randn(blocks * m, 6, generator=g, dtype=torch.float64)
    per_feature = urf_features(x, omega, f)[:, None, :] * urf_weight_features(w, omega, f)[None, :, :]
    block_est = per_feature.reshape(4, 3, blocks, m).sum(-1) * blocks   # each block: an m-feature estimate
    mean, se = block_est.mean(-1), block_est.std(-1) / math.sqrt(blocks)
    z = (mean - neural_network_kernel(x, w, f)) / se
    assert float(z.abs().max()) < 4.5, z


@pytest.mark.parametrize("f", ["relu", "exp", "sin"])
def test_mean_squared_error_falls_like_one_over_m(f):
    x, w = _pairs(d=8, seed=5)
    exact = neural_network_kernel(x, w, f)
    g = torch.Generator().manual_seed(7)
    ms, mses = [16, 64, 256, 1024], []
    for m in ms:
        errs = []
        for _ in range(150):
            omega = torch.randn(m, 8, generator=g, dtype=torch.float64)
            errs.append(((urf_features(x, omega, f) @ urf_weight_features(w, omega, f).T - exact) ** 2).mean())
        mses.append(float(torch.stack(errs).mean()))
    slope = np.polyfit(np.log(ms), np.log(mses), 1)[0]
    assert -1.15 < slope < -0.85, (slope, mses)


def test_feature_formulas_by_hand():
    x = torch.tensor([[0.3, -0.4]], dtype=torch.float64)
    omega = torch.tensor([[1.0, 2.0], [-0.5, 0.25]], dtype=torch.float64)
    u, sq = x @ omega.T, float((x * x).sum())
    torch.testing.assert_close(urf_features(x, omega, "exp"), torch.exp(u - sq / 2) / math.sqrt(2))
    torch.testing.assert_close(urf_features(x, omega, "sin"), math.exp(sq / 2) * torch.sin(u) / math.sqrt(2))
    torch.testing.assert_close(urf_features(x, omega, "relu"), torch.relu(u) / math.sqrt(2))
    torch.testing.assert_close(urf_weight_features(x, omega, "sin"), torch.exp(u - sq / 2) / math.sqrt(2))


@pytest.mark.parametrize("f", SNNK_ACTIVATIONS)
def test_features_gradcheck_float64(f):
    g = torch.Generator().manual_seed(0)
    omega = torch.randn(5, 3, generator=g, dtype=torch.float64)
    x = (0.5 * torch.randn(2, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: urf_features(t, omega, f), (x,))
    assert torch.autograd.gradcheck(lambda t: urf_weight_features(t, omega, f), (x,))


@pytest.mark.parametrize("activation", SNNK_ACTIVATIONS)
def test_layer_shapes_gradients_state_dict(activation):
    layer = SNNKLinear(10, 7, num_features=12, activation=activation, generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 5, 10)
    y = layer(x)
    assert y.shape == (3, 5, 7) and torch.isfinite(y).all()
    y.square().mean().backward()
    assert layer.weight.grad is not None and float(layer.weight.grad.abs().sum()) > 0
    assert layer.bias.grad is not None and "omega" not in dict(layer.named_parameters())
    # trainable parameters: out * (m + 1), not out * (in + 1)
    assert sum(p.numel() for p in layer.parameters()) == 7 * (12 + 1)
    other = SNNKLinear(10, 7, num_features=12, activation=activation)
    other.load_state_dict(layer.state_dict())
    torch.testing.assert_close(other(x), layer(x))
    assert f"activation={activation!r}" in repr(layer)


@pytest.mark.parametrize("activation", ["exp", "sin", "relu"])
def test_layer_at_init_estimates_the_dense_layer(activation):
    # the layer draws omega then W0 from its generator; redraw them and compare with the exact kernel
    d, out, m = 6, 4, 1 << 16
    layer = SNNKLinear(d, out, num_features=m, activation=activation, generator=torch.Generator().manual_seed(2),
                       dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    torch.randn(m, d, generator=g, dtype=torch.float64)
    w0 = torch.randn(out, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    x = torch.randn(5, d, dtype=torch.float64)
    x_hat = x / x.norm(dim=1, keepdim=True)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), neural_network_kernel(x_hat, w0, activation), atol=0.03, rtol=0.03)


def test_bad_inputs():
    with pytest.raises(ValueError, match="activation"):
        SNNKLinear(4, 4, 8, activation="tanh")
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        SNNKLinear(4, 4, 0)
    with pytest.raises(TypeError, match="in_features must be an int"):
        SNNKLinear(4.0, 4, 8)
    with pytest.raises(ValueError, match="input_scale"):
        SNNKLinear(4, 4, 8, input_scale=0.0)
    layer = SNNKLinear(4, 3, 8)
    with pytest.raises(ValueError, match="last dim 4"):
        layer(torch.randn(2, 5))
    omega = torch.randn(8, 4)
    with pytest.raises(ValueError, match="NaN"):
        urf_features(torch.tensor([[float("nan"), 0.0, 0.0, 0.0]]), omega, "exp")
    with pytest.raises(ValueError, match="last dim 4"):
        urf_features(torch.randn(2, 3), omega, "exp")
    with pytest.raises(TypeError, match="share a dtype"):
        urf_features(torch.randn(2, 4, dtype=torch.float64), omega, "exp")
    with pytest.raises(ValueError, match="real for real z"):
        exponential_expansion(((1.0,), (1j,)))
    with pytest.raises(ValueError, match="equal length"):
        exponential_expansion(((1.0, 2.0), (1.0,)))
    with pytest.raises(TypeError, match="pair"):
        exponential_expansion(3.0)
    with pytest.raises(ValueError, match="did you mean 'sin'"):
        urf_features(torch.randn(2, 4), omega, "sine")
    with pytest.raises(ValueError, match="last dim 4"):
        neural_network_kernel(torch.randn(2, 4), torch.randn(3, 5), "exp")
