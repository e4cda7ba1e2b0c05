"""EvoNorm-B0 / S0 against a float64 reference of the published equations (written out with numpy, one
statistic at a time), the NaN guards, bad inputs, batch independence of S0, and timm where it imports."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.nn.evonorm import EvoNormB0, EvoNormS0

EPS = 1e-5


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def s0_reference(x: np.ndarray, gamma, beta, v, groups: int, eps: float = EPS) -> np.ndarray:
    """y[n, c, ...] = x sigmoid(v_c x) / sqrt(var of x over (channels of c's group, all positions) + eps)
    * gamma_c + beta_c, the group variance computed per sample with an explicit mean."""
    n, c = x.shape[:2]
    size = c // groups
    y = np.empty_like(x)
    for i in range(n):
        for grp in range(groups):
            chans = slice(grp * size, (grp + 1) * size)
            block = x[i, chans]
            mean = block.sum() / block.size
            var = ((block - mean) ** 2).sum() / block.size
            for ch in range(grp * size, (grp + 1) * size):
                xc = x[i, ch]
                y[i, ch] = xc * _sigmoid(v[ch] * xc) / np.sqrt(var + eps) * gamma[ch] + beta[ch]
    return y


def b0_reference(x: np.ndarray, gamma, beta, v, batch_var, eps: float = EPS) -> np.ndarray:
    """y = x / max(sqrt(batch_var_c + eps), v_c x + sqrt(instance var of x[n, c] + eps)) * gamma_c + beta_c."""
    n, c = x.shape[:2]
    y = np.empty_like(x)
    for i in range(n):
        for ch in range(c):
            xc = x[i, ch]
            mean = xc.sum() / xc.size
            inst = np.sqrt(((xc - mean) ** 2).sum() / xc.size + eps)
            den = np.maximum(np.sqrt(batch_var[ch] + eps), v[ch] * xc + inst)
            y[i, ch] = xc / den * gamma[ch] + beta[ch]
    return y


def _batch_var(x: np.ndarray) -> np.ndarray:
    c = x.shape[1]
    per_channel = np.moveaxis(x, 1, 0).reshape(c, -1)
    return ((per_channel - per_channel.mean(1, keepdims=True)) ** 2).mean(1)


def _randomise(layer: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in (layer.gamma, layer.beta, layer.v):
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))


def _params(layer):
    return [p.detach().numpy() for p in (layer.gamma, layer.beta, layer.v)]


@pytest.mark.parametrize("shape", [(3, 8, 5), (2, 8, 4, 3), (2, 8, 3, 2, 4)])
@pytest.mark.parametrize("groups", [1, 2, 8])
def test_s0_matches_the_reference_in_1d_2d_3d(shape, groups):
    layer = EvoNormS0(8, groups=groups, dtype=torch.float64)
    _randomise(layer, 0)
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ref = s0_reference(x.numpy(), *_params(layer), groups)
    np.testing.assert_allclose(layer(x).detach().numpy(), ref, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2, 3, 6]), spatial=st.lists(st.integers(1, 4), min_size=1,
                                                                                     max_size=3),
       seed=st.integers(0, 10_000))
def test_s0_reference_over_shapes(n, groups, spatial, seed):
    layer = EvoNormS0(6, groups=groups, dtype=torch.float64)
    _randomise(layer, seed)
    x = torch.randn((n, 6, *spatial), dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    np.testing.assert_allclose(layer(x).detach().numpy(), s0_reference(x.numpy(), *_params(layer), groups),
                               rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 5, 7), (3, 5, 4, 4), (2, 5, 2, 3, 3)])
def test_b0_training_uses_batch_variance_and_updates_running_variance(shape):
    layer = EvoNormB0(5, momentum=0.25, dtype=torch.float64)
    _randomise(layer, 2)
    x = 1.5 * torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) + 0.3
    xn = x.numpy()
    out = layer(x)
    np.testing.assert_allclose(out.detach().numpy(), b0_reference(xn, *_params(layer), _batch_var(xn)),
                               rtol=1e-12, atol=1e-12)
    count = xn.size // xn.shape[1]
    expected = 0.75 * 1.0 + 0.25 * _batch_var(xn) * count / (count - 1)
    np.testing.assert_allclose(layer.running_var.numpy(), expected, rtol=1e-12)


def test_b0_evaluation_uses_the_running_variance():
    layer = EvoNormB0(4, dtype=torch.float64)
    _randomise(layer, 4)
    with torch.no_grad():
        layer.running_var.copy_(torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64))
    layer.eval()
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    ref = b0_reference(x.numpy(), *_params(layer), layer.running_var.numpy())
    np.testing.assert_allclose(layer(x).detach().numpy(), ref, rtol=1e-12, atol=1e-12)
    before = layer.running_var.clone()
    layer(x)
    assert torch.equal(layer.running_var, before)


@pytest.mark.parametrize("layer", [EvoNormS0(4, groups=4), EvoNormS0(4, groups=1), EvoNormB0(4)],
                         ids=["s0-one-channel-groups", "s0-one-group", "b0"])
def test_single_element_statistics_stay_finite(layer):
    """1x1 feature maps of a batch of one: every variance is over one element (0, never 0/0), gradients too."""
    x = torch.randn(1, 4, 1, 1, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    if isinstance(layer, EvoNormB0):
        assert torch.isfinite(layer.running_var).all()


def test_gradients_match_finite_differences():
    """No custom autograd here, but the max and sqrt make kinks easy to get wrong: check away from them."""
    for layer in (EvoNormS0(4, groups=2, dtype=torch.float64), EvoNormB0(4, dtype=torch.float64)):
        _randomise(layer, 6)
        x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True,
                        generator=torch.Generator().manual_seed(7))
        assert torch.autograd.gradcheck(lambda t, m=layer: m(t), (x,))


def test_s0_sample_is_independent_of_the_rest_of_the_batch():
    layer = EvoNormS0(8, groups=4)
    _randomise(layer, 8)
    x = torch.randn(6, 8, 5, 5)
    other = x.clone()
    other[1:] = 10.0 * torch.randn(5, 8, 5, 5)
    assert torch.equal(layer(x)[0], layer(other)[0])
    bn = EvoNormB0(8)
    assert not torch.equal(bn(x)[0], bn(other)[0])


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="groups=3 must divide channels=8"):
        EvoNormS0(8, groups=3)
    with pytest.raises(ValueError, match="channels"):
        EvoNormS0(0)
    with pytest.raises(ValueError, match="momentum"):
        EvoNormB0(4, momentum=0.0)
    with pytest.raises(ValueError, match="eps"):
        EvoNormB0(4, eps=0.0)
    with pytest.raises(ValueError, match="3 to 5 dims"):
        EvoNormS0(4, groups=2)(torch.randn(2, 4))
    with pytest.raises(ValueError, match="has 3 channels"):
        EvoNormB0(4)(torch.randn(2, 3, 5))
    with pytest.raises(TypeError, match="floating-point"):
        EvoNormS0(4, groups=2)(torch.ones(2, 4, 3, dtype=torch.long))


def test_state_dict_round_trip_and_repr():
    layer = EvoNormB0(6)
    layer(torch.randn(4, 6, 3, 3))
    other = EvoNormB0(6)
    other.load_state_dict(layer.state_dict())
    assert torch.equal(other.running_var, layer.running_var)
    assert "groups=2" in repr(EvoNormS0(6, groups=2))


def test_against_timm_where_it_imports():
    timm_norm = pytest.importorskip("timm.layers.norm_act")
    x = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    ours, theirs = EvoNormS0(8, groups=4, dtype=torch.float64), timm_norm.EvoNorm2dS0(8, groups=4).double()
    _randomise(ours, 9)
    with torch.no_grad():
        theirs.weight.copy_(ours.gamma), theirs.bias.copy_(ours.beta), theirs.v.copy_(ours.v)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-10)
    ours_b, theirs_b = EvoNormB0(8, dtype=torch.float64), timm_norm.EvoNorm2dB0(8).double()
    _randomise(ours_b, 10)
    with torch.no_grad():
        theirs_b.weight.copy_(ours_b.gamma), theirs_b.bias.copy_(ours_b.beta), theirs_b.v.copy_(ours_b.v)
    torch.testing.assert_close(ours_b(x), theirs_b(x), rtol=1e-10, atol=1e-10)
