import math
from pathlib import Path

import pytest
import scipy.io
import torch

from basiskit.pde import allen_cahn_etdrk4, etdrk4_coefficients

DATA = Path(__file__).resolve().parents[1] / "data" / "AC.mat"


def test_matches_published_reference():
    ref = scipy.io.loadmat(DATA)
    x, t, u = allen_cahn_etdrk4(n_x=512, dt=1e-4)
    torch.testing.assert_close(x, torch.tensor(ref["x"]).ravel())
    torch.testing.assert_close(t, torch.tensor(ref["tt"]).ravel())
    uu = torch.tensor(ref["uu"])
    assert float((u - uu).abs().max()) < 1e-8          # measured 5.9e-11
    assert float((u - uu).norm() / uu.norm()) < 1e-9    # measured 7.1e-12


def test_converges_under_refinement():
    def run(n_x, dt):
        return allen_cahn_etdrk4(n_x=n_x, dt=dt, t_final=0.2, n_t=3)[2][:, -1]

    fine = run(256, 2.5e-4)
    err_dt = [float((run(256, dt) - fine).abs().max()) for dt in (0.05, 0.025)]
    assert err_dt[1] < err_dt[0] / 8  # fourth order in time: ~ 1/16 per halving
    err_x = [float((run(n, 2.5e-4) - fine[:: 256 // n]).abs().max()) for n in (32, 64, 128)]
    # u0 = x^2 cos(pi x) has a kink at the periodic boundary (u0' jumps from -2 to 2), so spatial
    # convergence is algebraic, about first order (measured 9.4e-4, 7.2e-4, 3.6e-4), not spectral
    assert err_x[2] < err_x[1] < err_x[0]
    assert err_x[2] < 0.6 * err_x[0]


def test_phi_coefficients_match_closed_form_away_from_zero():
    lin = torch.tensor([-3.0, -0.5, 2.0], dtype=torch.float64)
    h = 0.1
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(lin, h)
    z = h * lin
    torch.testing.assert_close(q, h * (torch.exp(z / 2) - 1) / z)
    torch.testing.assert_close(f1, h * (-4 - z + torch.exp(z) * (4 - 3 * z + z ** 2)) / z ** 3)
    torch.testing.assert_close(e, torch.exp(z))
    # the contour average is finite at L = 0, where the closed forms are 0/0
    assert torch.isfinite(torch.stack(etdrk4_coefficients(torch.zeros(1, dtype=torch.float64), h))).all()


def test_constant_state_ode():
    # with u0 constant the PDE is the ODE u' = a (u - u^3), solution u = 1/sqrt(1 + (1/u0^2 - 1) e^{-2 a t})
    x, t, u = allen_cahn_etdrk4(n_x=16, dt=1e-3, t_final=0.5, n_t=2, u0=lambda x: torch.full_like(x, 0.3))
    expect = 1 / math.sqrt(1 + (1 / 0.09 - 1) * math.exp(-2 * 5 * 0.5))
    assert float((u[:, -1] - expect).abs().max()) < 1e-10


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_x must be even"):
        allen_cahn_etdrk4(n_x=31)
    with pytest.raises(ValueError, match="dt=0.003 must divide"):
        allen_cahn_etdrk4(n_x=32, dt=0.003, t_final=0.01, n_t=2)
    with pytest.raises(ValueError, match="u0 must map"):
        allen_cahn_etdrk4(n_x=32, dt=1e-3, t_final=0.01, n_t=2, u0=lambda x: x[:3])
