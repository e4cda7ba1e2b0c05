"""LESnets operator side: the window model, its residual loss, the snapshot term that identifies Cs^2."""
import pytest
import torch

from basiskit.operators import FNO
from basiskit.pde import dealias_mask, grf, navier_stokes_2d
from basiskit.physics import LESNet, lesnet_loss, lesnet_residual, snapshot_cs_squared, snapshot_loss


def _fields(n=16, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = grf((n, n), 2.0, 7.0, 1.0, n_samples=batch, zero_mean=True, generator=g)
    w = w / w.std(dim=(-2, -1), keepdim=True)
    return torch.fft.irfft2(torch.fft.rfft2(w) * dealias_mask((n, n)), s=(n, n))


def _model(**kw):
    torch.manual_seed(0)
    return LESNet(FNO((4, 4, 3), 1, 1, 8, 2, padding=(0, 0, 0.25)), 4, 0.2, **kw)


def test_forward_shape_and_exact_initial_frame():
    model = _model()
    w0 = _fields().float()
    out = model(w0)
    assert out.shape == (2, 5, 16, 16)
    assert torch.equal(out[:, 0], w0)
    assert model.dt == pytest.approx(0.05)
    assert "cs_squared=0.01 (fixed)" in repr(model)
    torch.manual_seed(0)
    flat = LESNet(FNO((4, 4), 1, 4, 8, 2), 4, 0.2, layout="channels")
    out = flat(w0)
    assert out.shape == (2, 5, 16, 16) and torch.equal(out[:, 0], w0)
    with pytest.raises(ValueError, match="n_steps = 3"):
        LESNet(FNO((4, 4), 1, 4, 8, 2), 3, 0.2, layout="channels")(w0)


def test_loss_of_a_frozen_trajectory_is_one():
    """w(t) = w0 has a zero time derivative, so every residual is -N(w0): the normalised loss is exactly 1."""
    w0 = _fields(batch=3).float()
    traj = w0[:, None].expand(-1, 5, -1, -1)
    res = lesnet_residual(traj, 0.05, 1e-5, 0.01)
    assert res.shape == (3, 4, 16, 16)
    model = _model()
    with torch.no_grad():
        for p in model.backbone.projection.parameters():
            p.zero_()
    with torch.no_grad():
        assert float(lesnet_loss(model, w0, 1e-5)) == pytest.approx(1.0, rel=1e-5)


def test_residual_of_a_solver_window_is_small():
    w0 = _fields(n=32)
    traj = torch.cat([w0[:, None], navier_stokes_2d(w0, 1e-5, 0.04, record=4, dt=0.00125, cs_squared=0.01)], 1)
    frozen = lesnet_residual(w0[:, None].expand(-1, 5, -1, -1), 0.01, 1e-5, 0.01)
    assert lesnet_residual(traj, 0.01, 1e-5, 0.01).norm() < 3e-3 * frozen.norm()  # measured 1.2e-3


def test_training_steps_lower_the_loss_and_state_dict_round_trips():
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    w0 = _fields(batch=4, seed=1).float()
    losses = []
    for _ in range(15):
        loss = lesnet_loss(model, w0, 1e-5)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0]
    twin = _model()
    twin.load_state_dict(model.state_dict())
    assert torch.equal(twin(w0), model(w0))


def test_snapshots_identify_cs_squared_and_the_learnable_one_moves_there():
    w0 = _fields(n=32, batch=1, seed=2)
    snaps = torch.cat([w0[:, None], navier_stokes_2d(w0, 1e-5, 0.01, record=2, dt=0.00125, cs_squared=0.01)], 1)
    assert snapshot_cs_squared(snaps, 0.005, 1e-5) == pytest.approx(0.01, rel=0.01)
    model = _model(cs_squared=0.03, learn_cs_squared=True)
    assert isinstance(model.cs_squared, torch.nn.Parameter) and "(learned)" in repr(model)
    opt = torch.optim.Adam([model.cs_squared], lr=1e-3)
    for _ in range(300):
        loss = snapshot_loss(snaps, 0.005, 1e-5, model.cs_squared)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model.cs_squared) == pytest.approx(0.01, rel=0.05)
    with pytest.raises(ValueError, match="no resolved strain"):
        snapshot_cs_squared(torch.zeros(1, 3, 8, 8, dtype=torch.float64), 0.01, 1e-5)


def test_without_snapshots_cs_squared_gets_no_pull_toward_the_solver():
    """Data-free, the residual of the model's own window is minimised at any Cs^2 the window agrees with: a
    trajectory made with Cs^2 = 0.03 has its smallest residual at 0.03, not at the solver's 0.01."""
    w0 = _fields(n=32, batch=1, seed=3)
    snaps = torch.cat([w0[:, None], navier_stokes_2d(w0, 1e-5, 0.01, record=2, dt=0.00125, cs_squared=0.03)], 1)
    assert snapshot_cs_squared(snaps, 0.005, 1e-5) == pytest.approx(0.03, rel=0.01)


@pytest.mark.parametrize("call, match", [
    (lambda: LESNet(torch.nn.Identity(), 1, 0.1), "n_steps"),
    (lambda: LESNet(torch.nn.Identity(), 4, 0.0), "window"),
    (lambda: LESNet(torch.nn.Identity(), 4, 0.1, cs_squared=-1.0), "cs_squared"),
    (lambda: LESNet(torch.nn.Identity(), 4, 0.1, scale=0.0), "scale"),
    (lambda: LESNet(torch.nn.Identity(), 4, 0.1, layout="time"), "layout"),
    (lambda: _model()(torch.zeros(2, 16, 12)), "w0"),
    (lambda: _model()(torch.zeros(16, 16)), "w0"),
    (lambda: lesnet_residual(torch.zeros(1, 2, 8, 8), 0.1, 1e-5, 0.01), "at least 3"),
])
def test_bad_inputs(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
