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


def test_jets_match_autograd():
    g = torch.Generator().manual_seed(0)
    feats = GaussianFeatures(3, 20, 2, generator=g, dtype=torch.float64)
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


def test_scales_positive_training_and_state_dict():
    p = create("helmholtz2d")
    m = PIG(p, 40, 4, n_interior=64, n_boundary=32)
    m.gaussians.log_scales.data.fill_(-50.0)
    assert bool((torch.exp(m.gaussians.log_scales) > 0).all())
    m = PIG(p, 40, 4, n_interior=64, n_boundary=32)
    before = float(m.loss()[0])
    fit(m, objective=m.loss, steps=15, lr=1e-2)
    assert float(m.loss()[0]) < before
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
