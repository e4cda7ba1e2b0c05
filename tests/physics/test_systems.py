"""PDE systems: (n, m) fields in Problem, PINN and the derivative helpers; per-equation weights; Kovasznay."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.models import MLP
from basiskit.physics import PINN, AutogradDerivatives, channel_gradients, partial, problems


def _field(x: torch.Tensor) -> torch.Tensor:
    """Three channels with known derivatives: (x^2 y, sin x, x y^3)."""
    a, b = x[:, :1], x[:, 1:2]
    return torch.cat([a ** 2 * b, torch.sin(a), a * b ** 3], dim=1)


@pytest.mark.parametrize("batched", [False, True])
def test_channel_gradients_match_closed_form(batched):
    x = torch.rand(50, 2, dtype=torch.float64, requires_grad=True)
    g = channel_gradients(_field(x), x, batched=batched)
    a, b = x[:, 0].detach(), x[:, 1].detach()
    want = torch.stack([torch.stack([2 * a * b, a ** 2], 1), torch.stack([torch.cos(a), 0 * a], 1),
                        torch.stack([b ** 3, 3 * a * b ** 2], 1)], dim=2)
    assert g.shape == (50, 2, 3)
    assert torch.allclose(g, want, atol=1e-12)


def test_derivatives_of_systems_batched_equals_loop():
    net = MLP([2, 16, 16, 3]).double()
    x = torch.rand(40, 2, dtype=torch.float64)
    loop, vec = AutogradDerivatives(net, x, batch_channels=False), AutogradDerivatives(net, x, batch_channels=True)
    for key in [(0,), (1,), (0, 0), (1, 1), (0, 1)]:
        assert loop(*key).shape == (40, 3)
        assert torch.allclose(loop(*key), vec(*key), atol=1e-12)
    # and both equal partial() channel by channel
    xr = x.clone().requires_grad_(True)
    u = net(xr)
    for c in range(3):
        assert torch.allclose(partial(u[:, c:c + 1], xr, 0, 1), loop(0, 1)[:, c:c + 1], atol=1e-12)
    assert torch.allclose(partial(u, xr, 1, 1), loop(1, 1), atol=1e-12)


def test_derivatives_are_trainable_through_the_batched_path():
    """Parameter gradients of a derivative loss: the vectorised pass equals the loop."""
    net = MLP([2, 8, 3]).double()
    x = torch.rand(10, 2, dtype=torch.float64)
    grads = []
    for batched in (False, True):
        net.zero_grad()
        d = AutogradDerivatives(net, x, batch_channels=batched)
        (d(0, 0) + d(1)).pow(2).sum().backward()
        grads.append([torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()])
    assert float(grads[0][0].abs().sum()) > 0
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(*grads))


def test_kovasznay_exact_solution():
    prob = problems.create("kovasznay")
    assert prob.outputs == 3 and prob.output_names == ("u", "v", "p")
    g = torch.Generator().manual_seed(0)
    x = prob.sample_interior(200, g).double()
    r = prob.residual(prob.exact, x)
    assert r.shape == (200, 3)
    assert float(r.detach().abs().max()) < 1e-10
    xb = prob.sample_boundary(100, g).double()
    assert prob.boundary_residual(prob.exact, xb).shape == (100, 2)  # (u, v) only
    lam = 10 - math.sqrt(100 + 4 * math.pi ** 2)
    u0 = prob.exact(torch.tensor([[0.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(u0, torch.tensor([[0.0, 0.0, 0.0]], dtype=torch.float64), atol=1e-12)
    u1 = prob.exact(torch.tensor([[1.0, 0.25]], dtype=torch.float64))
    assert math.isclose(float(u1[0, 1]), lam / (2 * math.pi) * math.exp(lam), rel_tol=1e-12)
    # a wrong Reynolds number leaves a residual
    assert float(prob.residual(prob.exact, x, params={"re": torch.tensor(40.0, dtype=torch.float64)})
                 .abs().max()) > 1e-2
    assert prob.relative_l2(prob.exact, channels=(0, 1)) < 1e-6
    assert prob.relative_l2(lambda p: prob.exact(p) * 1.1, channels=(0, 1)) == pytest.approx(0.1, rel=1e-5)


def test_pinn_on_a_system_and_its_errors():
    prob = problems.create("kovasznay")
    torch.manual_seed(0)
    model = PINN(prob, MLP([2, 16, 3]), n_interior=64, n_boundary=32, equation_weights=(1.0, 1.0, 2.0))
    loss, parts = model.loss()
    assert loss.ndim == 0 and math.isfinite(float(loss))
    # the residual loss is sum_k w_k mean(r_k^2)
    r = prob.residual(model.derivatives(model.collocation()["interior"]))
    want = float((r.pow(2).mean(0) * torch.tensor([1.0, 1.0, 2.0])).sum())
    assert parts["residual"] == pytest.approx(want, rel=1e-5)
    loss.backward()
    assert model.predict(prob.test_grid()[0][:5]).shape == (5, 3)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        PINN(prob, MLP([2, 16, 1]), n_interior=8).loss()
    bad = PINN(prob, MLP([2, 16, 3]), n_interior=8, equation_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match="equation_weights"):
        bad.loss()
    with pytest.raises(ValueError, match="channel"):
        prob.residual(lambda p: p[:, :1], torch.zeros(4, 2))
    with pytest.raises(ValueError, match="output_names"):
        problems.Problem("x", [(0, 1)], None, lambda d, p: d.u, exact=lambda p: p, outputs=2, output_names=("a",))
    with pytest.raises(ValueError, match="boundary_channels"):
        problems.Problem("x", [(0, 1)], None, lambda d, p: d.u, exact=lambda p: p, outputs=2, boundary_channels=(2,))


def test_scalar_residual_loss_unchanged():
    """One equation, no weights: the residual loss is the plain mean square (the forward recipes' math)."""
    prob = problems.create("poisson1d_sin")
    torch.manual_seed(0)
    model = PINN(prob, MLP([1, 8, 1]), n_interior=32, n_boundary=2)
    r = prob.residual(model.derivatives(model.collocation()["interior"]))
    assert model.residual_loss(model.collocation()["interior"])[0].item() == r.pow(2).mean().item()


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 20), d=st.integers(1, 3), m=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_channel_gradients_any_shape(n, d, m, seed):
    """(n, d) points, (n, m) field u_c = sum_k a_ck x_k^2: gradient 2 a_ck x_k, both paths."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(m, d, generator=g, dtype=torch.float64)
    x = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    u = (x ** 2) @ a.T
    want = 2 * x.detach().unsqueeze(2) * a.T.unsqueeze(0)
    for batched in (False, True):
        assert torch.allclose(channel_gradients(u, x, batched=batched), want, atol=1e-12)
