import pytest
import torch

from basiskit.physics import PIG, GaussianFeatures, gaussian_feature_jets, gaussian_features
from basiskit.physics.derivatives import AutogradDerivatives
from basiskit.physics.problems import create
from basiskit.train import fit


def test_gaussian_features_closed_form():
    x = torch.tensor([[0.5, -0.2]], dtype=torch.float64)
    mu = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    s = torch.log(torch.tensor([[0.5, 1.0], [2.0, 0.3]], dtype=torch.float64))
    w = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    phi0 = torch.exp(torch.tensor(-0.5 * ((0.5 / 0.5) ** 2 + 0.2 ** 2)))
    phi1 = torch.exp(torch.tensor(-0.5 * ((0.5 / 2.0) ** 2 + (1.2 / 0.3) ** 2)))
    torch.testing.assert_close(gaussian_features(x, mu, s, w)[0, 0], (phi0 + 2 * phi1).double())


@pytest.mark.parametrize("layout,scale_param", [("shared", "log"), ("per_channel", "direct"), ("per_channel", "log")])
def test_jets_match_autograd(layout, scale_param):
    g = torch.Generator().manual_seed(0)
    feats = GaussianFeatures(3, 20, 2, layout=layout, scale_param=scale_param, generator=g, dtype=torch.float64)
    x = torch.rand(7, 3, dtype=torch.float64, generator=g) * 2 - 1
    value, first, second = feats.jets(x)
    d = AutogradDerivatives(feats, x)
    torch.testing.assert_close(value, d.u)
    for k in range(3):
        torch.testing.assert_close(first[:, k], d(k))
        torch.testing.assert_close(second[:, k], d(k, k))


@pytest.mark.parametrize("name", ["helmholtz2d", "klein_gordon", "flow_mixing"])
def test_closed_form_residual_matches_autograd(name):
    p = create(name)
    m = PIG(p, 30, 4, hidden=(8,), dtype=torch.float64)
    x = p.sample_interior(25, torch.Generator().manual_seed(1)).double()
    jets, auto = m.derivatives(x), AutogradDerivatives(m, x)
    torch.testing.assert_close(p.residual(jets), p.residual(auto))
    torch.testing.assert_close(jets(0, 1), auto(0, 1))  # mixed: autograd fallback


@pytest.mark.parametrize("native", [False, True])
def test_per_channel_layout_is_each_channel_summing_its_own_gaussians(native):
    """Channel c of the per-channel layout is sum_i w_ci phi_ci(x) over its own N Gaussians (rows c N .. c N + N - 1),
    checked against the shared layout's formula applied one channel at a time."""
    g = torch.Generator().manual_seed(3)
    n, c = 6, 3
    feats = GaussianFeatures(2, n, c, layout="per_channel", scale_param="direct", init_scale=0.4, generator=g,
                             dtype=torch.float64)
    assert feats.means.shape == (n * c, 2) and feats.weights.shape == (n * c,) and feats.scales.shape == (n * c, 2)
    x = torch.rand(9, 2, dtype=torch.float64, generator=g) * 2 - 1
    with torch.no_grad():
        feats.scales.mul_(torch.rand(n * c, 2, dtype=torch.float64, generator=g) + 0.5)
        got = gaussian_features(x, feats.means, feats.log_sigma(), feats.weight_matrix(), native=native)
    feats.native = native
    torch.testing.assert_close(feats(x), got)  # the module, one channel at a time
    value, first, second = feats.jets(x, native=native)
    want = gaussian_feature_jets(x, feats.means, feats.log_sigma(), feats.weight_matrix(), native=False)
    for a, b in zip((value, first, second), want):
        torch.testing.assert_close(a, b)
    for k in range(c):
        rows = slice(k * n, (k + 1) * n)
        z = (x.unsqueeze(1) - feats.means[rows]) / feats.scales[rows]
        want = (torch.exp(-0.5 * z.pow(2).sum(-1)) * feats.weights[rows]).sum(1)
        torch.testing.assert_close(got[:, k], want.detach())


@pytest.mark.parametrize("native", [False, True])
def test_direct_scales_gradcheck(native):
    """sigma = |s| (``scale_param="direct"``): values equal the log parameterisation's at s = exp(log s), and the
    gradients in (means, scales, weights) of the jets pass gradcheck in float64, kernel and PyTorch path alike."""
    g = torch.Generator().manual_seed(4)
    feats = GaussianFeatures(2, 5, 2, layout="per_channel", scale_param="direct", init_scale=0.5, generator=g,
                             dtype=torch.float64)
    log_feats = GaussianFeatures(2, 5, 2, layout="per_channel", scale_param="log", init_scale=0.5,
                                 generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    x = torch.rand(4, 2, dtype=torch.float64, generator=g) * 2 - 1
    torch.testing.assert_close(feats(x), log_feats(x))

    owner = torch.nn.functional.one_hot(torch.arange(10) // 5, 2).double()  # row i feeds channel i // 5

    def jets(means, scales, weights):
        return gaussian_feature_jets(x, means, torch.log(scales.abs()), weights.unsqueeze(1) * owner, native=native)

    params = (feats.means.detach().clone().requires_grad_(True), feats.scales.detach().clone().requires_grad_(True),
              feats.weights.detach().clone().requires_grad_(True))
    assert torch.autograd.gradcheck(jets, params)


def test_direct_scale_sign_is_irrelevant_and_zero_is_finite():
    feats = GaussianFeatures(2, 4, 2, scale_param="direct", init_scale=0.3, dtype=torch.float64)
    x = torch.rand(5, 2, dtype=torch.float64)
    before = feats(x)
    with torch.no_grad():
        feats.scales.neg_()
    torch.testing.assert_close(feats(x), before)
    with torch.no_grad():
        feats.scales.zero_()
    assert bool(torch.isfinite(feats(x)).all())


def test_pig_defaults_follow_the_authors_code():
    m = PIG(create("helmholtz2d"), 10, 4)
    g = m.gaussians
    assert (g.layout, g.scale_param, g.means.shape) == ("per_channel", "direct", (40, 2))
    assert "layout='per_channel'" in repr(g)


def test_scales_positive_training_and_state_dict():
    p = create("helmholtz2d")
    m = PIG(p, 40, 4, n_interior=64, n_boundary=32, layout="shared", scale_param="log")
    m.gaussians.log_scales.data.fill_(-50.0)
    assert bool((torch.exp(m.gaussians.log_scales) > 0).all())
    m = PIG(p, 40, 4, n_interior=64, n_boundary=32)
    before = float(m.loss()[0].detach())
    fit(m, objective=m.loss, steps=15, lr=1e-2)
    assert float(m.loss()[0].detach()) < before
    other = PIG(p, 40, 4, seed=5)
    other.load_state_dict(m.state_dict())
    x = p.sample_interior(6)
    torch.testing.assert_close(other.predict(x), m.predict(x))
    assert 0 <= m.relative_l2()
    assert "closed_form=True" in repr(m)


def test_bad_inputs():
    p = create("helmholtz2d")
    with pytest.raises(ValueError, match="n_gaussians must be >= 1"):
        PIG(p, 0)
    with pytest.raises(TypeError, match="channels must be an int"):
        PIG(p, 10, channels=2.5)
    with pytest.raises(ValueError, match="hidden\\[0\\] must be >= 1"):
        PIG(p, 10, hidden=(0,))
    with pytest.raises(ValueError, match="points must have last dim 2"):
        PIG(p, 10)(torch.rand(3, 3))
    with pytest.raises(ValueError, match="layout"):
        PIG(p, 10, layout="diagonal")
    with pytest.raises(ValueError, match="scale_param"):
        GaussianFeatures(2, 10, scale_param="sqrt")
