"""2-D heat equation with Dirichlet walls (basiskit.pde.heat): exact modes, steady state, samples, bad inputs."""
import math

import pytest
import torch

from basiskit.pde.heat import dirichlet_eigen, heat_2d, heat_2d_samples


def test_eigenpairs_diagonalise_the_second_difference():
    n = 9
    lam, q = dirichlet_eigen(n)
    h = 1.0 / (n + 1)
    d = (torch.diag(torch.full((n,), -2.0, dtype=torch.float64)) + torch.diag(torch.ones(n - 1, dtype=torch.float64), 1)
         + torch.diag(torch.ones(n - 1, dtype=torch.float64), -1)) / h**2
    assert torch.allclose(q.T @ q, torch.eye(n, dtype=torch.float64), atol=1e-13)
    assert torch.allclose(q.T @ d @ q, torch.diag(lam), atol=1e-9)


def test_a_discrete_eigenmode_decays_at_its_exact_rate():
    """Zero walls, T0 = 1: each modal coefficient of the field decays as exp(alpha (lam_i + lam_j) t) exactly
    (the semi-discrete solution), and lam_1 -> -pi^2 as h -> 0."""
    n, alpha = 16, 0.7
    lam, q = dirichlet_eigen(n)
    times = torch.tensor([0.0, 0.01, 0.05])
    # constant T0 = 1 with zero walls: projections on the modes decay independently
    u = heat_2d(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]), times, n=n, alpha=alpha)
    coef = q.T @ u @ q  # (n_t, n, n) modal coefficients
    decay = torch.exp(alpha * (lam[:, None] + lam[None, :])[None] * times[:, None, None])
    assert torch.allclose(coef, coef[0] * decay, atol=1e-11)
    assert abs(float(lam[0]) + math.pi**2) < 0.05  # second-order accurate: h^2 pi^4 / 12 ~ 0.028


def test_equal_temperatures_stay_put_and_long_times_reach_the_discrete_harmonic_state():
    n = 12
    flat = heat_2d(torch.full((5,), 0.3), torch.tensor([0.0, 0.02, 1.0]), n=n)
    assert torch.allclose(flat, torch.full_like(flat, 0.3), atol=1e-12)
    walls = torch.tensor([0.9, 1.0, 0.0, 0.5, 0.25])
    u = heat_2d(walls, torch.tensor([50.0]), n=n)[0]
    padded = torch.zeros(n + 2, n + 2, dtype=torch.float64)
    padded[1:-1, 1:-1] = u
    padded[0, 1:-1], padded[-1, 1:-1], padded[1:-1, 0], padded[1:-1, -1] = 1.0, 0.0, 0.5, 0.25
    lap = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4 * u
    assert float(lap.abs().max()) < 1e-10
    assert 0.0 <= float(u.min()) and float(u.max()) <= 1.0  # maximum principle


def test_batch_equals_one_by_one_and_samples_layout():
    params = torch.rand(3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    times = torch.tensor([0.01, 0.1])
    batch = heat_2d(params, times, n=8)
    assert batch.shape == (3, 2, 8, 8)
    for i in range(3):
        assert torch.allclose(batch[i], heat_2d(params[i], times, n=8), atol=1e-14)
    x, y = heat_2d_samples(params[0], n=8, n_t=4, t_end=0.2)
    assert x.shape == (4, 6) and y.shape == (4, 64) and x.dtype == y.dtype == torch.float32
    assert torch.allclose(x[:, 5], torch.tensor([0.25, 0.5, 0.75, 1.0]))
    ref = heat_2d(params[0], torch.tensor([0.05, 0.1, 0.15, 0.2]), n=8).reshape(4, 64).float()
    assert torch.allclose(y, ref)


def test_bad_inputs():
    with pytest.raises(ValueError, match="last dim 5"):
        heat_2d(torch.zeros(4), torch.zeros(1))
    with pytest.raises(ValueError, match="times must be >= 0"):
        heat_2d(torch.zeros(5), torch.tensor([-0.1]))
    with pytest.raises(ValueError, match="alpha"):
        heat_2d(torch.zeros(5), torch.zeros(1), alpha=0.0)
    with pytest.raises(ValueError, match="n must be >= 2"):
        heat_2d(torch.zeros(5), torch.zeros(1), n=1)
    with pytest.raises(ValueError, match="NaN"):
        heat_2d(torch.tensor([0.0, 1.0, float("nan"), 0.0, 0.0]), torch.zeros(1))
    with pytest.raises(ValueError, match="t_end"):
        heat_2d_samples(torch.zeros(5), t_end=0.0)
