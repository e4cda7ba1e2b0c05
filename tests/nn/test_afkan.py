import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.nn.afkan import COMBOS, AFKANLinear, ReLUKANLinear, af_kan_features, relu_kan_basis


def test_relu_kan_bumps_closed_form():
    # g = 2, k = 1 on [0, 1]: cells [-0.5, 0.5], [0, 1], [0.5, 1.5]; r = 4 / 1^2
    layer = ReLUKANLinear(1, 1, grid_size=2, order=1)
    x = torch.tensor([[0.5], [0.25], [1.2]])
    b = relu_kan_basis(x, layer.low, layer.high, layer.r)
    assert b.shape == (3, 1, 3)
    expect = torch.tensor([[0.0, 1.0, 0.0], [(4 * 0.75 * 0.25) ** 2, (4 * 0.25 * 0.75) ** 2, 0.0],
                           [0.0, 0.0, (4 * 0.7 * 0.3) ** 2]])
    torch.testing.assert_close(b[:, 0], expect)


def test_relu_kan_many_inputs_is_a_sum_over_inputs():
    # the original reshape bug mixes inputs and cells; here output = sum of per-input contributions
    torch.manual_seed(0)
    layer = ReLUKANLinear(3, 2)
    x = torch.rand(4, 3)
    feats = relu_kan_basis(x, layer.low, layer.high, layer.r)
    manual = sum(feats[:, i] @ layer.weight[:, i].T for i in range(3)) + layer.bias
    torch.testing.assert_close(layer(x), manual)


@pytest.mark.parametrize("combo", sorted(COMBOS))
def test_af_features_normalised_per_sample(combo):
    low = torch.linspace(-1, 0.6, 6)
    high = low + 4 / 3
    x = torch.rand(5, 4)
    f = af_kan_features(x, low, high, "silu", combo, "sample")
    assert f.shape == (5, 4, 6)
    flat = f.reshape(5, -1)
    torch.testing.assert_close(flat.amin(1), torch.zeros(5), atol=1e-6, rtol=0)
    torch.testing.assert_close(flat.amax(1), torch.ones(5), atol=1e-6, rtol=0)


def test_quad1_relu_equals_relu_kan_bumps_up_to_scale():
    low = torch.linspace(-1, 2 / 3, 6)
    high = low + 4 / 3
    x = torch.rand(7, 3)
    raw = af_kan_features(x, low, high, "relu", "quad1", "none")
    ref = relu_kan_basis(x, low, high, 1.0)
    torch.testing.assert_close(raw, ref)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2 ** 16))
def test_af_kan_sample_outputs_do_not_depend_on_batch(k, seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = AFKANLinear(6, 3)
    x = torch.randn(8, 6, generator=g)
    alone = torch.cat([layer(x[i:i + 1]) for i in range(k)])
    torch.testing.assert_close(layer(x)[:k], alone, rtol=1e-5, atol=1e-6)


def test_af_kan_batch_norm_mode_depends_on_batch():
    torch.manual_seed(0)
    layer = AFKANLinear(6, 3, norm="batch")
    x = torch.randn(8, 6)
    assert not torch.allclose(layer(x)[:1], layer(x[:1]))


@pytest.mark.parametrize("reduction", ["global_attn", "linear"])
def test_af_kan_shapes_grads_and_param_count(reduction):
    layer = AFKANLinear(20, 7, reduction=reduction)
    y = layer(torch.randn(2, 5, 20))
    assert y.shape == (2, 5, 7)
    y.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    n = sum(p.numel() for p in layer.parameters())
    n_linear = 20 * 7 + 7
    assert n_linear < n < 1.5 * n_linear + 30  # about an MLP layer's count


def test_af_kan_trains():
    torch.manual_seed(0)
    net = torch.nn.Sequential(AFKANLinear(2, 8), AFKANLinear(8, 1))
    x = torch.rand(64, 2)
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    assert float(loss.detach()) < 0.5 * first


def test_bad_inputs():
    with pytest.raises(ValueError, match="combo"):
        AFKANLinear(3, 2, combo="quad3")
    with pytest.raises(ValueError, match="norm"):
        AFKANLinear(3, 2, norm="global")
    with pytest.raises(ValueError, match="activation"):
        AFKANLinear(3, 2, activation="swish")
    with pytest.raises(ValueError, match="low < high"):
        ReLUKANLinear(3, 2, domain=(1.0, 0.0))
    with pytest.raises(ValueError, match="last dim 3"):
        ReLUKANLinear(3, 2)(torch.randn(4, 2))
    with pytest.raises(TypeError, match="in_features"):
        AFKANLinear(3.0, 2)
    assert "combo='quad1'" in repr(AFKANLinear(3, 2))
