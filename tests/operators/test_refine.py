"""H^-1 residual of the vorticity equation and spectral refinement: closed forms, the exact Taylor-Green
solution, convergence in time, gradcheck, convexity of the Picard-linearised loss in the head, bad inputs."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.operators import (
    SpatioTemporalFNO,
    VorticityProblem,
    hminus1_norm_sq,
    spectral_refine,
    trajectory_residual_norm,
    vorticity_residual,
)
from basiskit.pde.navier_stokes import navier_stokes_2d, taylor_green_vorticity


def grid(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n, dtype=torch.float64) / n
    return x[:, None], x[None, :]


@settings(max_examples=25, deadline=None)
@given(n=st.sampled_from([8, 10, 16]), kx=st.integers(-3, 3), ky=st.integers(-3, 3),
       amp=st.floats(0.1, 5.0), phase=st.floats(0.0, 6.28))
def test_hminus1_of_one_cosine_mode(n, kx, ky, amp, phase):
    x, y = grid(n)
    r = amp * torch.cos(2 * math.pi * (kx * x + ky * y) + phase)
    k2 = 4 * math.pi ** 2 * (kx ** 2 + ky ** 2)
    # mean of r^2 is amp^2/2 (amp^2 cos^2(phase) for k = 0), spread over 1 / (1 + 4 pi^2 |k|^2)
    l2 = amp ** 2 * (math.cos(phase) ** 2 if kx == ky == 0 else 0.5)
    torch.testing.assert_close(hminus1_norm_sq(r), torch.tensor(l2 / (1 + k2), dtype=torch.float64),
                               rtol=1e-10, atol=1e-12)
    homogeneous = 0.0 if kx == ky == 0 else l2 / k2
    torch.testing.assert_close(hminus1_norm_sq(r, homogeneous=True), torch.tensor(homogeneous, dtype=torch.float64),
                               rtol=1e-10, atol=1e-12)


def test_hminus1_batch_shape_and_bound_by_l2():
    r = torch.randn(3, 4, 12, 10, dtype=torch.float64)
    norm = hminus1_norm_sq(r)
    assert norm.shape == (3, 4)
    assert (norm <= r.square().mean((-2, -1)) + 1e-12).all()  # the weights are <= 1, Parseval
    assert (norm > 0).all()


def taylor_green_window(n: int, steps: int, t_final: float, nu: float) -> tuple[torch.Tensor, torch.Tensor]:
    dt = t_final / steps
    w0 = taylor_green_vorticity(n, 0.0, nu)[None]
    w = torch.stack([taylor_green_vorticity(n, (m + 1) * dt, nu) for m in range(steps)])[None]
    return w0, w


def test_taylor_green_has_zero_residual_up_to_crank_nicolson_error():
    nu, n = 1e-2, 16
    ratios = []
    for steps in (8, 16, 32):
        w0, w = taylor_green_window(n, steps, 0.5, nu)
        res = trajectory_residual_norm(w, w0, 0.5 / steps, nu).sqrt()
        scale = trajectory_residual_norm(w, w0, 0.5 / steps, 0.0).sqrt()  # the size of w_t alone
        assert res < 1e-3 * scale  # (lambda dt)^2 / 12 = 2.4e-4 at 8 steps, lambda = 8 pi^2 nu
        ratios.append(float(res))
    # second order in time: halving the spacing divides the residual by ~4
    assert 3.8 < ratios[0] / ratios[1] < 4.2 and 3.8 < ratios[1] / ratios[2] < 4.2
    # its advection term vanishes exactly: freezing the velocity at zero changes nothing
    w0, w = taylor_green_window(n, 8, 0.5, nu)
    zero = torch.zeros(1, 9, n, n, dtype=torch.float64)
    torch.testing.assert_close(vorticity_residual(w, w0, 1 / 16, nu),
                               vorticity_residual(w, w0, 1 / 16, nu, advecting=zero), atol=1e-12, rtol=0)


def test_solver_trajectory_residual_converges_at_second_order():
    n = 16
    x, y = grid(n)
    w0 = (torch.sin(2 * math.pi * (x + 2 * y)) + 0.7 * torch.cos(2 * math.pi * (3 * x - y)))[None]
    norms = []
    for steps in (4, 8):
        w = navier_stokes_2d(w0, 1e-2, 0.4, dt=5e-3, record=steps)
        norms.append(float(trajectory_residual_norm(w, w0, 0.4 / steps, 1e-2).sqrt()))
    assert norms[1] < 0.3 * norms[0]  # ~1/4: the solver's own step (5e-3) is far below the frame spacing


def test_frozen_velocity_equal_to_own_velocity_gives_the_nonlinear_residual():
    torch.manual_seed(0)
    w0, w = torch.randn(2, 8, 8, dtype=torch.float64), torch.randn(2, 3, 8, 8, dtype=torch.float64)
    own = torch.cat([w0[:, None], w], 1)
    torch.testing.assert_close(vorticity_residual(w, w0, 0.1, 0.01),
                               vorticity_residual(w, w0, 0.1, 0.01, advecting=own))
    f = torch.randn(8, 8, dtype=torch.float64)
    torch.testing.assert_close(vorticity_residual(w, w0, 0.1, 0.01, forcing=f),
                               vorticity_residual(w, w0, 0.1, 0.01) - f)


def test_gradcheck_float64():
    torch.manual_seed(0)
    w0 = torch.randn(1, 6, 4, dtype=torch.float64)
    w = torch.randn(1, 2, 6, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: vorticity_residual(t, w0, 0.1, 0.05), (w,))
    assert torch.autograd.gradcheck(lambda t: trajectory_residual_norm(t, w0, 0.1, 0.05), (w,))
    r = torch.randn(2, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(hminus1_norm_sq, (r,))


def tiny_setup(n: int = 4, steps: int = 2, dt: float = 0.1):
    torch.manual_seed(0)
    model = SpatioTemporalFNO((2, 2, 2), n, steps, hidden_channels=3, n_layers=1, latent_channels=2,
                              dtype=torch.float64)
    x = torch.randn(1, 1, n, n, dtype=torch.float64)
    problem = VorticityProblem(x, dt, 0.02)
    feats = model.features(x).detach()
    return model, problem, feats


def head_loss(model, problem, feats, weight, advecting):
    from basiskit.operators.spectral import spectral_conv
    pred = spectral_conv(feats, torch.view_as_complex(weight), model.head.bias)
    return problem.residual_norm_sq(pred, advecting).mean()


def test_loss_is_convex_in_the_head_with_frozen_velocity():
    model, problem, feats = tiny_setup()
    w0 = model.head.weight.detach().clone()
    with torch.no_grad():
        pred = model(problem.inputs)
    advecting = torch.cat([problem.initial[:, None], pred[:, 0].permute(0, 3, 1, 2)], 1)

    def loss(v: torch.Tensor) -> torch.Tensor:
        return head_loss(model, problem, feats, v, advecting)

    # the Hessian restricted to 10 random directions (Hessian-vector products) is positive semi-definite
    torch.manual_seed(1)
    dirs = torch.randn(10, *w0.shape, dtype=torch.float64)
    hvps = torch.stack([torch.autograd.functional.hvp(loss, w0, d)[1] for d in dirs])
    sub = torch.einsum("i...,j...->ij", dirs.flatten(1).reshape(10, *w0.shape), hvps)
    eig = torch.linalg.eigvalsh(0.5 * (sub + sub.T))
    assert eig.min() > -1e-9 * eig.max()
    # and along a line the loss is exactly quadratic: third differences vanish, second ones are positive
    direction = dirs[0]
    with torch.no_grad():
        values = torch.stack([loss(w0 + s * direction) for s in range(4)])
    d2 = values[2] - 2 * values[1] + values[0]
    d3 = values[3] - 3 * values[2] + 3 * values[1] - values[0]
    assert d2 > 0 and abs(d3) < 1e-8 * d2


def test_nonlinear_loss_is_not_convex_but_its_picard_linearisation_is():
    # one frame from w0 = 0 along the line w = s d: R(s) = s A d + s^2 adv(d) / 2 - f, a quartic loss; with f
    # aligned with adv(d) its curvature at s = 0 is negative. The head's output is linear in its weight, so
    # the same holds in the head. Freezing the velocity (at d) makes it a convex quadratic again.
    n, dt, nu = 16, 0.1, 0.01
    x, y = grid(n)
    d = (torch.sin(2 * math.pi * x) * torch.cos(4 * math.pi * y) + torch.cos(2 * math.pi * (x + y)))[None, None]
    w0 = torch.zeros(1, n, n, dtype=torch.float64)
    adv_half = vorticity_residual(d, w0, dt, 0.0) - d[:, 0] / dt  # (u(d) . grad d) / 2, de-aliased
    assert adv_half.norm() > 0.1
    linear = vorticity_residual(d, w0, dt, nu, advecting=torch.zeros(1, 2, n, n, dtype=torch.float64))
    # second difference at 0: 2 |A d|^2 - 2 (2 lam - 1) |adv/2|^2 in H^-1, negative for this lam
    lam = 10.0 * float(hminus1_norm_sq(linear).sum() / hminus1_norm_sq(adv_half).sum())
    forcing = lam * adv_half[0, 0]

    def loss(s: float, advecting=None) -> float:
        return float(trajectory_residual_norm(s * d, w0, dt, nu, forcing=forcing, advecting=advecting))

    assert loss(1.0) + loss(-1.0) - 2 * loss(0.0) < 0
    frozen = torch.cat([w0[:, None], d], 1)
    assert loss(1.0, frozen) + loss(-1.0, frozen) - 2 * loss(0.0, frozen) > 0


def test_refining_an_untrained_model_recovers_taylor_green():
    n, steps, nu, t_final = 16, 8, 1e-2, 0.4
    torch.manual_seed(0)
    model = SpatioTemporalFNO((4, 4, 3), n, steps, hidden_channels=8, n_layers=2, dtype=torch.float64)
    w0, w = taylor_green_window(n, steps, t_final, nu)
    problem = VorticityProblem(w0[:, None], t_final / steps, nu)
    target = w.permute(0, 2, 3, 1)[:, None]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    result = spectral_refine(model, problem, steps=40, picard=2)
    assert result.prediction.shape == (1, 1, n, n, steps)
    err = (result.prediction - target).norm() / target.norm()
    assert err < 1e-3
    assert result.residual_after.item() < 1e-3 * result.residual_before.item()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # per-sample: model untouched
    assert result.weight.shape == (1, *model.head.complex_weight().shape)


def test_shared_head_is_written_back_and_lowers_the_loss():
    n, steps = 8, 4
    torch.manual_seed(0)
    model = SpatioTemporalFNO((3, 3, 2), n, steps, hidden_channels=6, n_layers=1, dtype=torch.float64)
    x = torch.randn(3, 1, n, n, dtype=torch.float64)
    problem = VorticityProblem(x, 0.05, 0.01)
    before = model.head.weight.detach().clone()
    for optimizer in ("cg", "adam", "lbfgs"):
        m = SpatioTemporalFNO((3, 3, 2), n, steps, hidden_channels=6, n_layers=1, dtype=torch.float64)
        m.load_state_dict(model.state_dict())
        result = spectral_refine(m, problem, steps=10, picard=1, per_sample=False, optimizer=optimizer, lr=1e-2)
        assert result.weight.shape == m.head.complex_weight().shape
        assert not torch.equal(m.head.weight, before)
        assert result.residual_after.mean() < result.residual_before.mean()
        with torch.no_grad():
            torch.testing.assert_close(m(x), result.prediction)


def test_bad_inputs():
    w0, w = torch.zeros(1, 8, 8), torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="w0 must be"):
        vorticity_residual(w, torch.zeros(2, 8, 8), 0.1, 0.01)
    with pytest.raises(ValueError, match="dt"):
        vorticity_residual(w, w0, 0.0, 0.01)
    with pytest.raises(ValueError, match="viscosity"):
        vorticity_residual(w, w0, 0.1, -1.0)
    with pytest.raises(ValueError, match="forcing must be"):
        vorticity_residual(w, w0, 0.1, 0.01, forcing=torch.zeros(4, 4))
    with pytest.raises(ValueError, match="advecting must be"):
        vorticity_residual(w, w0, 0.1, 0.01, advecting=torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="w must have 4 dims"):
        vorticity_residual(w[0], w0, 0.1, 0.01)
    with pytest.raises(TypeError, match="real field"):
        hminus1_norm_sq(torch.zeros(4, 4, dtype=torch.complex64))
    with pytest.raises(ValueError, match="initial must be"):
        VorticityProblem(torch.zeros(2, 1, 8, 8), 0.1, 0.01, initial=torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        VorticityProblem(torch.full((1, 1, 8, 8), float("nan")), 0.1, 0.01)
    model = SpatioTemporalFNO((2, 2, 2), 8, 3, hidden_channels=4, n_layers=1)
    problem = VorticityProblem(torch.zeros(1, 1, 8, 8), 0.1, 0.01)
    with pytest.raises(TypeError, match="SpectralConv head"):
        spectral_refine(torch.nn.Linear(2, 2), problem)
    with pytest.raises(TypeError, match="VorticityProblem"):
        spectral_refine(model, {"dt": 0.1})
    with pytest.raises(ValueError, match="optimizer"):
        spectral_refine(model, problem, optimizer="sgd")
    with pytest.raises(ValueError, match="steps"):
        spectral_refine(model, problem, steps=0)
    with pytest.raises(ValueError, match="without frequency truncation"):
        spectral_refine(model, VorticityProblem(torch.zeros(1, 1, 16, 16), 0.1, 0.01))
