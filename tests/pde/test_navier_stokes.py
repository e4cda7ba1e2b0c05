import math

import pytest
import torch

from basiskit.pde import dealias_mask, fno_forcing, grf, navier_stokes_2d, spectral_derivative, taylor_green_vorticity
from basiskit.pde.navier_stokes import velocity_from_vorticity


def test_taylor_green_decay_second_order():
    nu = 1e-2
    errs = []
    for dt in (0.1, 0.05, 0.025):
        w = navier_stokes_2d(taylor_green_vorticity(32, 0.0, nu, mode=2), nu, 1.0, dt=dt)
        errs.append(float((w - taylor_green_vorticity(32, 1.0, nu, mode=2)).abs().max()))
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(1.9 < p < 2.1 for p in orders), orders
    adaptive = navier_stokes_2d(taylor_green_vorticity(32, 0.0, nu), nu, 1.0)
    assert (adaptive - taylor_green_vorticity(32, 1.0, nu)).abs().max() < 1e-3


def test_forced_flow_converges_at_second_order_in_time():
    g = torch.Generator().manual_seed(0)
    w0 = grf((32, 32), 2.5, 7.0, 7 ** 1.5, n_samples=2, zero_mean=True, generator=g)
    f = fno_forcing(32)
    ref = navier_stokes_2d(w0, 1e-3, 1.0, forcing=f, dt=0.0125)
    errs = [float((navier_stokes_2d(w0, 1e-3, 1.0, forcing=f, dt=dt) - ref).norm()) for dt in (0.1, 0.05)]
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_velocity_is_divergence_free_with_curl_w():
    g = torch.Generator().manual_seed(1)
    w = grf((32, 32), 2.5, 7.0, 1.0, n_samples=1, zero_mean=True, generator=g)
    w = torch.fft.irfft2(torch.fft.rfft2(w) * dealias_mask((32, 32)), s=(32, 32))  # no Nyquist modes
    u, v = velocity_from_vorticity(torch.fft.rfft2(w), 32)
    div = spectral_derivative(u, dim=-2) + spectral_derivative(v, dim=-1)
    curl = spectral_derivative(v, dim=-2) - spectral_derivative(u, dim=-1)
    assert div.abs().max() < 1e-10
    assert (curl - w).abs().max() < 1e-8  # u = (psi_y, -psi_x): v_x - u_y = -Laplace psi = w


def test_record_shapes():
    w0 = taylor_green_vorticity(16, 0.0, 1e-3)
    out = navier_stokes_2d(torch.stack([w0, w0]), 1e-3, 0.5, record=3, forcing=fno_forcing(16))
    assert out.shape == (2, 3, 16, 16)


@pytest.mark.parametrize("kwargs, match", [
    ({"w0": torch.zeros(8, 6)}, "square"), ({"viscosity": -1.0}, "viscosity"),
    ({"forcing": torch.zeros(4, 4)}, "forcing"), ({"w0": torch.zeros(8)}, "w0"), ({"dt": 0.0}, "dt"),
])
def test_bad_inputs(kwargs, match):
    args = {"w0": torch.zeros(8, 8, dtype=torch.float64), **kwargs}
    with pytest.raises(ValueError, match=match):
        navier_stokes_2d(**args)
