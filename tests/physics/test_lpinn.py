import math

import pytest
import torch

from basiskit.physics import LPINN, lagrangian_to_eulerian
from basiskit.physics.problems import create
from basiskit.train import fit


def test_lagrangian_to_eulerian_periodic_and_plain():
    x0 = torch.linspace(0, 2 * math.pi, 401, dtype=torch.float64)[:-1]
    x_l = x0 + 7.3  # characteristics shifted past one period
    u_l = torch.sin(x0)
    xq = torch.rand(50, dtype=torch.float64) * 2 * math.pi
    got = lagrangian_to_eulerian(x_l, u_l, xq, period=(0.0, 2 * math.pi))
    torch.testing.assert_close(got, torch.sin(xq - 7.3), atol=2e-4, rtol=0)
    got = lagrangian_to_eulerian(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 10.0, 0.0]), torch.tensor([0.5, 1.5]))
    torch.testing.assert_close(got, torch.tensor([5.0, 5.0]))


class _Exact(torch.nn.Module):
    """The exact convection characteristics in the branch's units: x_L = x0 + beta t."""

    def __init__(self, model, which):
        super().__init__()
        self.m, self.which = model, which

    def forward(self, z):
        x = (z + 1) / 2 * (self.m.upper - self.m.lower) + self.m.lower
        if self.which == "x":
            return 3.0 * x[:, 1:] / self.m.displacement_scale
        return torch.sin(x[:, :1])


def test_exact_branches_have_zero_loss_and_error():
    p = create("convection", beta=3.0)
    m = LPINN(p, hidden=(8,), n_interior=64, n_boundary=16, n_initial=16, dtype=torch.float64)
    m.net_x, m.net_u = _Exact(m, "x"), _Exact(m, "u")
    assert float(m.loss()[0]) < 1e-20
    assert m.relative_l2() < 1e-3  # linear interpolation on the x0 grid


def test_burgers_residual_with_exact_initial_state():
    # at t = 0 and with u_L = u0, x_L = x0 the state residual reduces to -nu u0''
    p = create("burgers1d")
    m = LPINN(p, hidden=(8,), dtype=torch.float64)
    x = torch.stack([torch.linspace(-0.9, 0.9, 5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)], 1)

    class X(torch.nn.Module):
        def forward(self, z):
            return torch.zeros_like(z[:, :1])

    class U(torch.nn.Module):
        def forward(self, z):
            return -torch.sin(math.pi * z[:, :1])

    m.net_x, m.net_u = X(), U()
    r_x, r_u = m._residuals(x)
    torch.testing.assert_close(r_u[:, 0], -p.params["nu"] * math.pi ** 2 * torch.sin(math.pi * x[:, 0]))
    torch.testing.assert_close(r_x[:, 0], torch.sin(math.pi * x[:, 0]))


def test_training_lowers_loss_and_state_dict():
    p = create("convection", beta=5.0)
    m = LPINN(p, hidden=(16,), n_interior=128, n_boundary=16, n_initial=32)
    before = float(m.loss()[0])
    fit(m, objective=m.loss, steps=20, lr=5e-3)
    assert float(m.loss()[0]) < before
    other = LPINN(p, hidden=(16,), seed=3)
    other.load_state_dict(m.state_dict())
    pts = p.sample_interior(10)
    torch.testing.assert_close(other(pts), m(pts))
    assert m(pts).shape == (10, 2) and m.predict(pts).shape == (10, 1)


def test_bad_inputs():
    with pytest.raises(ValueError, match="problem: LPINN supports"):
        LPINN(create("helmholtz2d"))
    with pytest.raises(ValueError, match="points.*outside"):
        LPINN(create("convection")).predict(torch.tensor([[1.0, 2.0]]))
