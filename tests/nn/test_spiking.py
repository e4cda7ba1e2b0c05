"""LIF neurons: closed-form membrane traces, the surrogate gradient against its formula, bad arguments."""
import math

import pytest
import torch

from basiskit.nn.spiking import LIFNeuron, spike, surrogate_grad


def test_constant_input_spike_train_soft_reset():
    # tau = 2 (decay 0.5), threshold 1, input 0.6: u = 0.6, 0.9, 1.05 (spike, v = 0.05), 0.625, 0.9125, 1.05625 ...
    lif = LIFNeuron(tau=2.0, threshold=1.0, reset="soft")
    s = lif(torch.full((6, 1), 0.6, dtype=torch.float64)).flatten().tolist()
    assert s == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]


def test_hard_reset_and_no_memory():
    # tau = 1 is a neuron without memory: it fires exactly where the input reaches the threshold
    lif = LIFNeuron(tau=1.0, threshold=0.5, reset="hard")
    current = torch.tensor([[0.2], [0.5], [0.7], [0.49]], dtype=torch.float64)
    assert lif(current).flatten().tolist() == [0.0, 1.0, 1.0, 0.0]
    # hard reset: after a spike the membrane restarts at 0, so 0.6 + 0.6 with decay 0.5 fires on every other step
    hard = LIFNeuron(tau=2.0, threshold=0.8, reset="hard")
    assert hard(torch.full((4, 1), 0.6)).flatten().tolist() == [0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("kind", ["sigmoid", "atan"])
def test_surrogate_backward_matches_closed_form(kind):
    z = torch.linspace(-2, 2, 41, dtype=torch.float64, requires_grad=True)
    alpha = 3.0
    (g,) = torch.autograd.grad(spike(z, kind, alpha).sum(), z)
    zd = z.detach()
    if kind == "sigmoid":
        expected = alpha * torch.sigmoid(alpha * zd) * (1 - torch.sigmoid(alpha * zd))
    else:
        expected = (alpha / 2) / (1 + (math.pi / 2 * alpha * zd) ** 2)
    torch.testing.assert_close(g, expected, rtol=1e-12, atol=1e-12)
    # both surrogates integrate to 1, like the Dirac delta they replace
    grid = torch.linspace(-400, 400, 800001, dtype=torch.float64)
    assert abs(float(torch.trapezoid(surrogate_grad(grid, kind, alpha), grid)) - 1.0) < 2e-3
    # forward is the exact step
    assert spike(zd, kind, alpha).tolist() == (zd >= 0).double().tolist()


@pytest.mark.parametrize("kind", ["sigmoid", "atan"])
def test_surrogate_is_derivative_of_its_smooth_step(kind):
    # gradcheck of the smooth step whose derivative the surrogate is, against surrogate_grad
    alpha = 2.5
    z = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    smooth = (torch.sigmoid(alpha * z) if kind == "sigmoid"
              else 0.5 + torch.atan(math.pi / 2 * alpha * z) / math.pi)
    (g,) = torch.autograd.grad(smooth.sum(), z)
    torch.testing.assert_close(g, surrogate_grad(z.detach(), kind, alpha), rtol=1e-12, atol=1e-12)


def test_one_step_gradient_through_the_neuron():
    lif = LIFNeuron(tau=1.0, threshold=1.0, surrogate="sigmoid", alpha=4.0)
    current = torch.tensor([[0.3, 1.2]], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(lif(current).sum(), current)
    torch.testing.assert_close(g[0], surrogate_grad(current.detach()[0] - 1.0, "sigmoid", 4.0))


def test_gradient_flows_through_time():
    lif = LIFNeuron(tau=4.0, threshold=1.0)
    current = torch.full((5, 3, 2), 0.4, requires_grad=True)
    lif(current).sum().backward()
    assert current.grad is not None and bool(torch.isfinite(current.grad).all())
    assert float(current.grad[0].abs().sum()) > 0   # the first step's input reaches later spikes


@pytest.mark.parametrize("kwargs, match", [
    ({"tau": 0.5}, "tau"), ({"threshold": 0.0}, "threshold"), ({"reset": "zero"}, "reset"),
    ({"surrogate": "relu"}, "surrogate"), ({"alpha": -1.0}, "alpha"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIFNeuron(**kwargs)


def test_bad_current():
    with pytest.raises(TypeError, match="current"):
        LIFNeuron()(torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="surrogate"):
        spike(torch.zeros(2), "step")
