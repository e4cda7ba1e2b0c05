import math

import pytest
import torch

from basiskit.nn import SIREN, SineLayer, sine_layer


def test_sine_layer_value():
    w = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    b = torch.tensor([0.1], dtype=torch.float64)
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(sine_layer(x, w, b, 30.0), torch.tensor([[math.sin(30 * (0.5 - 2.0 + 0.1))]],
                                                                        dtype=torch.float64))


def test_init_bounds():
    first = SineLayer(4, 256, omega=30.0, first=True)
    assert float(first.linear.weight.detach().abs().max()) <= 1 / 4
    hidden = SineLayer(256, 256, omega=30.0)
    assert float(hidden.linear.weight.detach().abs().max()) <= math.sqrt(6 / 256) / 30
    # hidden pre-activations omega * (W h) stay O(1) for arcsine-distributed inputs (the point of the init)
    h = torch.sin(torch.rand(2000, 256) * 2 * math.pi)
    pre = 30.0 * hidden.linear(h).detach()
    assert 0.5 < float(pre.std()) < 2.0


def test_siren_shapes_training_and_state_dict():
    torch.manual_seed(0)
    net = SIREN([2, 32, 32, 1], omega_first=10.0)
    x = torch.rand(64, 2) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]
    assert net(x).shape == (64, 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss0 = float((net(x) - y).pow(2).mean().detach())
    for _ in range(20):
        opt.zero_grad()
        loss = (net(x) - y).pow(2).mean()
        loss.backward()
        opt.step()
    assert float((net(x) - y).pow(2).mean().detach()) < loss0
    other = SIREN([2, 32, 32, 1], omega_first=10.0)
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other(x), net(x))


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least one hidden layer"):
        SIREN([2, 1])
    with pytest.raises(ValueError, match="x must have last dim 2"):
        SIREN([2, 8, 1])(torch.rand(3, 5))
    with pytest.raises(ValueError, match="omega must be >"):
        SineLayer(2, 3, omega=-1.0)
