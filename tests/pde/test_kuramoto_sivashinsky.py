"""``pde.kuramoto_sivashinsky``: a manufactured steady solution, the exact small-amplitude mode, the mean and energy
laws, the time-step convergence order, and bad inputs."""
import itertools
import math

import pytest
import torch

from basiskit.pde import (
    ks_linear_symbol,
    kuramoto_sivashinsky,
    kuramoto_sivashinsky_step,
)
from basiskit.pde.spectral import spectral_derivative

L = 22.0


def _grid(n: int, length: float = L) -> torch.Tensor:
    return torch.arange(n, dtype=torch.float64) * length / n


def _d(u: torch.Tensor, order: int, length: float = L) -> torch.Tensor:
    return spectral_derivative(u, order) / length ** order


def _chaotic_state(n: int = 64, length: float = 44.0) -> torch.Tensor:
    u0 = 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return kuramoto_sivashinsky(u0, 60.0, length=length, dt=0.05, dispersion=0.1)[-1]


@pytest.mark.parametrize("dispersion", [0.0, 0.3])
def test_manufactured_steady_solution_is_kept(dispersion):
    # u* = sin(q1 x) + 0.5 cos(q2 x) solves u_t = -u u_x - u_xx - u_xxxx + c u_xxx + f with f = -(that rhs at u*)
    x = _grid(64)
    q1, q2 = 2 * math.pi / L, 4 * math.pi / L
    u_star = torch.sin(q1 * x) + 0.5 * torch.cos(q2 * x)
    ux = q1 * torch.cos(q1 * x) - 0.5 * q2 * torch.sin(q2 * x)
    uxx = -q1 ** 2 * torch.sin(q1 * x) - 0.5 * q2 ** 2 * torch.cos(q2 * x)
    uxxx = -q1 ** 3 * torch.cos(q1 * x) + 0.5 * q2 ** 3 * torch.sin(q2 * x)
    uxxxx = q1 ** 4 * torch.sin(q1 * x) + 0.5 * q2 ** 4 * torch.cos(q2 * x)
    forcing = u_star * ux + uxx + uxxxx - dispersion * uxxx
    u = kuramoto_sivashinsky(u_star, 2.0, length=L, dt=0.05, n_t=5, dispersion=dispersion, forcing=forcing)
    torch.testing.assert_close(u, u_star.expand(5, -1), atol=1e-11, rtol=0)


@pytest.mark.parametrize("dispersion", [0.0, 0.1])
def test_small_mode_follows_the_linear_law(dispersion):
    # eps cos(q x) -> eps exp((q^2 - q^4) t) cos(q x - c q^3 t) up to O(eps^2)
    eps, q, t = 1e-7, 2 * math.pi * 3 / L, 1.5
    x = _grid(64)
    u = kuramoto_sivashinsky(eps * torch.cos(q * x), t, length=L, dt=0.05, dispersion=dispersion)[-1]
    exact = eps * math.exp((q ** 2 - q ** 4) * t) * torch.cos(q * x - dispersion * q ** 3 * t)
    torch.testing.assert_close(u / eps, exact / eps, atol=1e-6, rtol=0)


def test_linear_symbol():
    sym = ks_linear_symbol(8, 2 * math.pi, dispersion=0.5)
    k = torch.arange(5, dtype=torch.float64)
    torch.testing.assert_close(sym.real, k ** 2 - k ** 4)
    torch.testing.assert_close(sym.imag, torch.tensor([0.0, -0.5, -4.0, -13.5, 0.0], dtype=torch.float64))


def test_mean_is_conserved_and_energy_law_holds():
    length, n = 44.0, 64
    u0 = _chaotic_state(n, length) + 0.3  # a non-zero mean
    dt_out = 1e-3
    u = kuramoto_sivashinsky(u0, 0.2, length=length, dt=dt_out, n_t=201, dispersion=0.1)
    mean = u.mean(-1)
    torch.testing.assert_close(mean, mean[0].expand_as(mean), atol=1e-12, rtol=0)
    # d/dt (1/2) mean(u^2) = mean(u_x^2 - u_xx^2): the advective and dispersive terms conserve energy
    energy = 0.5 * (u ** 2).mean(-1)
    rate = (energy[2:] - energy[:-2]) / (2 * dt_out)
    law = (_d(u, 1, length) ** 2 - _d(u, 2, length) ** 2).mean(-1)[1:-1]
    assert float((rate - law).abs().max()) < 1e-4 * float(law.abs().max()) + 1e-6


def test_time_step_convergence_order():
    u0 = _chaotic_state()
    ref = kuramoto_sivashinsky(u0, 1.0, length=44.0, dt=1e-3, dispersion=0.1)[-1]
    errs = [float((kuramoto_sivashinsky(u0, 1.0, length=44.0, dt=dt, dispersion=0.1)[-1] - ref).abs().max())
            for dt in (0.1, 0.05, 0.025)]
    orders = [math.log2(a / b) for a, b in itertools.pairwise(errs)]
    # ETDRK4 is fourth order for non-stiff problems; stiff order reduction (Hochbruck & Ostermann 2005) can cost one
    assert min(orders) > 3.0, (errs, orders)


def test_batch_step_and_shapes():
    u0 = torch.stack([_chaotic_state(), -_chaotic_state()]).float()
    out = kuramoto_sivashinsky(u0, 0.5, length=44.0, n_t=3)
    assert out.shape == (2, 3, 64) and out.dtype == torch.float32
    torch.testing.assert_close(out[:, 0], u0)
    step = kuramoto_sivashinsky_step(u0, 0.25, length=44.0, substeps=5)
    torch.testing.assert_close(step, out[:, 1], atol=1e-5, rtol=0)
    # u(x) -> -u(-x) is a symmetry of KS without dispersion
    single = kuramoto_sivashinsky_step(u0[0].double(), 0.5, length=44.0, substeps=10)
    flipped = kuramoto_sivashinsky_step(-torch.roll(u0[0].double().flip(0), 1), 0.5, length=44.0, substeps=10)
    torch.testing.assert_close(-torch.roll(flipped.flip(0), 1), single, atol=1e-10, rtol=0)


def test_bad_inputs():
    u = torch.zeros(64)
    with pytest.raises(ValueError, match="even"):
        kuramoto_sivashinsky(torch.zeros(63), 1.0)
    with pytest.raises(ValueError, match="t_final"):
        kuramoto_sivashinsky(u, -1.0)
    with pytest.raises(ValueError, match="u0"):
        kuramoto_sivashinsky(torch.full((64,), float("nan")), 1.0)
    with pytest.raises(ValueError, match="forcing"):
        kuramoto_sivashinsky(u, 1.0, forcing=torch.zeros(32))
    with pytest.raises(ValueError, match="n_t"):
        kuramoto_sivashinsky(u, 1.0, n_t=1)
    with pytest.raises(ValueError, match="substeps"):
        kuramoto_sivashinsky_step(u, 0.1, substeps=0)
