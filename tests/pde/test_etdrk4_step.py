"""``pde.spectral.etdrk4_step``: the one ETDRK4 stage loop behind Burgers and Allen-Cahn."""
import math

import torch

from basiskit.pde.allen_cahn import allen_cahn_etdrk4
from basiskit.pde.burgers import burgers_1d
from basiskit.pde.spectral import etdrk4_coefficients, etdrk4_step

# Values from the solvers as they were before the stage loop moved into etdrk4_step (each solver had its own
# copy of the loop), same inputs as below; exact float64 bits printed with float.hex.
BURGERS_BEFORE = ["-0x1.d98019eb488f6p-3", "-0x1.9b25da9215d88p-3", "-0x1.8e324d5c2ecc0p-4",
                  "-0x1.94d4638bd460cp-4"]
ALLEN_CAHN_BEFORE = ["-0x1.ff8ebf4c44dc0p-1", "-0x1.64d2111fa1200p-12", "0x1.ca3a6b010b000p-14",
                     "-0x1.64d2111fa0e00p-12"]


def _close(values: torch.Tensor, hexes: list[str]) -> None:
    expected = torch.tensor([float.fromhex(h) for h in hexes], dtype=torch.float64)
    torch.testing.assert_close(values, expected, rtol=1e-12, atol=1e-15)


def test_solvers_give_the_results_of_their_former_loops():
    g = torch.Generator().manual_seed(0)
    u0 = torch.randn(3, 128, generator=g, dtype=torch.float64)
    _close(burgers_1d(u0, 0.05, 0.5, record=3)[1, 2, ::32], BURGERS_BEFORE)
    _, _, u = allen_cahn_etdrk4(n_x=128, dt=1e-3, t_final=0.2, n_t=11)
    _close(u[::32, -1], ALLEN_CAHN_BEFORE)


def test_linear_problem_is_integrated_exactly():
    lin = torch.tensor([-3.0, 0.0, 0.5, -40.0], dtype=torch.float64)
    v = torch.tensor([1.0, 2.0, -1.0, 0.25], dtype=torch.complex128)
    out = etdrk4_step(v, torch.zeros_like, etdrk4_coefficients(lin, 0.1))
    torch.testing.assert_close(out, v * torch.exp(0.1 * lin), rtol=1e-14, atol=0)


def _logistic_error(dt: float) -> float:
    """u' = u - u^2 (L = 1, N(u) = -u^2), u(0) = 0.1, integrated to t = 1; exact u = 1 / (1 + 9 e^-t)."""
    coefficients = etdrk4_coefficients(torch.tensor([1.0], dtype=torch.float64), dt)
    v = torch.tensor([0.1], dtype=torch.float64)
    for _ in range(round(1.0 / dt)):
        v = etdrk4_step(v, lambda w: -w * w, coefficients)
    return abs(float(v) - 1.0 / (1.0 + 9.0 * math.exp(-1.0)))


def test_fourth_order_on_a_nonlinear_ode():
    errors = [_logistic_error(dt) for dt in (0.1, 0.05, 0.025)]
    orders = [math.log2(a / b) for a, b in zip(errors, errors[1:])]
    assert all(3.8 < p < 4.4 for p in orders), (errors, orders)


def test_snapshots_of_a_linear_problem_are_the_exact_exponentials():
    """With N = 0 each step multiplies mode k by exp(h L_k): snapshot j is exp(j * m * h * L) applied to u0."""
    from basiskit.pde import etdrk4_snapshots

    n, h, per = 16, 0.01, 3
    u0 = torch.randn(2, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lin = -torch.arange(n // 2 + 1, dtype=torch.float64) ** 2
    snaps = etdrk4_snapshots(u0, torch.zeros_like, etdrk4_coefficients(lin, h), 4, per)
    assert snaps.shape == (2, 4, n)
    for j in range(4):
        exact = torch.fft.irfft(torch.fft.rfft(u0) * torch.exp((j + 1) * per * h * lin), n=n)
        torch.testing.assert_close(snaps[:, j], exact, rtol=1e-12, atol=1e-12)
