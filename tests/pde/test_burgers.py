import math

import pytest
import torch

from basiskit.pde import burgers_1d, burgers_cole_hopf

COS, SIN = (1.0, 0.3), (0.5, -0.2)


def exact(n, t, nu):
    x = torch.arange(n, dtype=torch.float64) / n
    return burgers_cole_hopf(x, t, nu, COS, SIN, offset=3.0)


def test_matches_cole_hopf_solution():
    nu = 0.05
    u = burgers_1d(exact(64, 0.0, nu), nu, 0.5)
    assert (u - exact(64, 0.5, nu)).abs().max() < 1e-8


def test_fourth_order_in_time():
    nu, n = 0.05, 64
    u0, ue = exact(n, 0.0, nu), exact(n, 0.5, nu)
    errs = [float((burgers_1d(u0, nu, 0.5, dt=dt) - ue).abs().max()) for dt in (0.1, 0.05, 0.025)]
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(3.5 < p < 4.5 for p in orders), orders


def test_spectral_convergence_in_space():
    nu = 0.05
    errs = [float((burgers_1d(exact(n, 0.0, nu), nu, 0.5, dt=0.01) - exact(n, 0.5, nu)).abs().max())
            for n in (16, 32)]
    assert errs[1] < errs[0] / 100


def test_batch_record_and_maximum_principle():
    g = torch.Generator().manual_seed(0)
    from basiskit.pde import grf

    u0 = grf(64, 2.0, 5.0, 25.0, n_samples=3, zero_mean=True, generator=g)
    traj = burgers_1d(u0, 0.1, 0.2, record=2)
    assert traj.shape == (3, 2, 64)
    assert float(traj.abs().amax((1, 2)).max()) <= float(u0.abs().max()) + 1e-9
    assert torch.allclose(traj[:, -1], burgers_1d(u0, 0.1, 0.2), atol=1e-8)


@pytest.mark.parametrize("kwargs, match", [
    ({"u0": torch.zeros(15)}, "even"), ({"viscosity": 0.0}, "viscosity"), ({"u0": torch.zeros(2, 2, 8)}, "u0"),
    ({"t_final": -1.0}, "t_final"), ({"u0": torch.full((8,), float("nan"))}, "u0"),
])
def test_bad_inputs(kwargs, match):
    args = {"u0": torch.zeros(16, dtype=torch.float64), **kwargs}
    with pytest.raises(ValueError, match=match):
        burgers_1d(**args)
