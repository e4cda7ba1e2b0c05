import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit.operators import DeepONet


def _model(**kw):
    torch.manual_seed(0)
    return DeepONet(kw.pop("n_sensors", 7), kw.pop("coord_dim", 2), kw.pop("width", 6), branch_hidden=(16,),
                    trunk_hidden=(16,), **kw).double()


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 4), n=st.integers(1, 9), channels=st.integers(1, 3))
def test_cartesian_and_aligned_agree(batch, n, channels):
    m = _model(out_channels=channels)
    u = torch.randn(batch, 7, dtype=torch.float64)
    y = torch.rand(n, 2, dtype=torch.float64)
    cart = m(u, y)
    aligned = m(u, y.expand(batch, n, 2))
    assert cart.shape == (batch, channels, n)
    assert torch.allclose(cart, aligned, atol=1e-12)
    # the definition, one function and one point at a time
    b = m.branch(u).unflatten(-1, (channels, 6))
    t = m.trunk(y).unflatten(-1, (channels, 6))
    ref = (b[:, :, None, :] * t.permute(1, 0, 2)[None]).sum(-1) + m.bias[:, None]
    assert torch.allclose(cart, ref, atol=1e-12)


@pytest.mark.parametrize("dims", [(0,), (1,), (0, 0), (0, 1), (1, 1, 0)])
def test_derivative_matches_autograd(dims):
    m = _model(out_channels=2)
    u = torch.randn(3, 7, dtype=torch.float64)
    y = torch.rand(5, 2, dtype=torch.float64, requires_grad=True)
    got = m.derivative(u, y.detach(), *dims)
    # autograd: every output depends on its own point only, so grads of sums give per-point derivatives
    ref = torch.empty_like(got)
    for b in range(3):
        for c in range(2):
            g = m(u[b:b + 1], y)[0, c]
            for d in dims:
                g = torch.autograd.grad(g.sum(), y, create_graph=True)[0][:, d]
            ref[b, c] = g
    assert torch.allclose(got, ref, atol=1e-10)


def test_derivative_trains_the_parameters():
    m = _model()
    u, y = torch.randn(2, 7, dtype=torch.float64), torch.rand(4, 2, dtype=torch.float64)
    m.derivative(u, y, 0, 1).pow(2).sum().backward()
    assert m.branch.net[0].weight.grad.abs().sum() > 0
    assert m.trunk[0].net[0].weight.grad.abs().sum() > 0


def test_learns_a_linear_operator():
    # G(u)(y) = u(0.5) * y: one training run must cut the error by far
    torch.manual_seed(1)

    m = DeepONet(11, 1, 16, branch_hidden=(32,), trunk_hidden=(32,))
    u = torch.randn(32, 11)
    y = torch.linspace(0, 1, 10)[:, None]
    target = (u[:, 5:6] * y[:, 0][None])[:, None]
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    first = None
    for _ in range(120):
        loss = (m(u, y) - target).pow(2).mean()
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.02 * first


def test_own_branch_and_trunk_nets():
    branch = nn.Sequential(nn.Linear(5, 8))
    trunk = nn.Sequential(nn.Linear(1, 8), nn.Tanh())
    m = DeepONet(5, 1, 4, out_channels=2, branch=branch, trunk=trunk)
    assert m(torch.randn(3, 5), torch.rand(6, 1)).shape == (3, 2, 6)
    assert m(torch.randn(3, 1, 5), torch.rand(6, 1)).shape == (3, 2, 6)  # (batch, 1, m) grid data
    bad = DeepONet(5, 1, 4, out_channels=2, branch=nn.Linear(5, 7), trunk=trunk)
    with pytest.raises(ValueError, match="out_channels \\* width = 8 features, got 7"):
        bad(torch.randn(3, 5), torch.rand(6, 1))


def test_bad_inputs_say_what_is_allowed():
    m = _model()
    u = torch.randn(3, 7, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"branch must be \(batch, n_sensors=7\)"):
        m(torch.randn(3, 6, dtype=torch.float64), torch.rand(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"trunk must be \(n, coord_dim=2\)"):
        m(u, torch.rand(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="need batch = 3"):
        m(u, torch.rand(2, 4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="derivative needs trunk points shared"):
        m.derivative(u, torch.rand(3, 4, 2, dtype=torch.float64), 0)
    with pytest.raises(ValueError, match="dims"):
        m.derivative(u, torch.rand(4, 2, dtype=torch.float64), 2)
    with pytest.raises(ValueError, match="width"):
        DeepONet(5, 1, 0)
    with pytest.raises(TypeError, match="branch must be a tensor"):
        m([1.0] * 7, torch.rand(4, 2))


def test_on_grid_adapter_reshapes_and_checks():
    from basiskit.operators import DeepONetOnGrid

    m = _model(out_channels=2)
    x, t = torch.linspace(0, 1, 4, dtype=torch.float64), torch.linspace(0, 1, 3, dtype=torch.float64)
    pts = torch.stack(torch.meshgrid(x, t, indexing="ij"), -1).reshape(-1, 2)
    grid = DeepONetOnGrid(m, pts, (4, 3))
    u = torch.randn(5, 1, 7, dtype=torch.float64)
    out = grid(u)
    assert out.shape == (5, 2, 4, 3)
    assert torch.allclose(out.reshape(5, 2, 12), m(u[:, 0], pts))
    assert "points" in grid.state_dict()
    with pytest.raises(ValueError, match="holds 10 points"):
        DeepONetOnGrid(m, pts, (5, 2))
    with pytest.raises(ValueError, match="points must be"):
        DeepONetOnGrid(m, pts[:, :1])
    with pytest.raises(TypeError, match="deeponet must be"):
        DeepONetOnGrid(nn.Linear(2, 2), pts)
