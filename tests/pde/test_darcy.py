import math

import numpy as np
import pytest
import torch

from basiskit.pde import darcy_2d, darcy_matrix, threshold_coefficient


def grid(n):
    x = np.linspace(0.0, 1.0, n)
    return np.meshgrid(x, x, indexing="ij")


def manufactured(n):
    """u = sin(pi x) sin(pi y), a = 1 + x + y^2, f = -div(a grad u)."""
    X, Y = grid(n)
    a = 1 + X + Y ** 2
    u = np.sin(np.pi * X) * np.sin(np.pi * Y)
    ux, uy = np.pi * np.cos(np.pi * X) * np.sin(np.pi * Y), np.pi * np.sin(np.pi * X) * np.cos(np.pi * Y)
    f = -(ux + 2 * Y * uy - 2 * np.pi ** 2 * a * u)
    return a, f, u


def test_second_order_convergence_variable_coefficient():
    errs = []
    for n in (17, 33, 65):
        a, f, u = manufactured(n)
        errs.append(float(np.abs(darcy_2d(a, f).numpy() - u).max()))
    orders = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(1.9 < p < 2.1 for p in orders), orders


def test_constant_coefficient_against_series_solution():
    n = 33
    X, Y = grid(n)
    series = np.zeros_like(X)
    for m in range(1, 80, 2):  # -Laplace u = 1: u = sum_{m,k odd} 16 sin(m pi x) sin(k pi y) / (pi^4 m k (m^2+k^2))
        for k in range(1, 80, 2):
            series += 16 * np.sin(m * np.pi * X) * np.sin(k * np.pi * Y) / (np.pi ** 4 * m * k * (m * m + k * k))
    u = darcy_2d(np.ones((n, n)), 1.0).numpy()
    assert np.abs(u - series).max() < 2e-4  # O(h^2) with h = 1/32
    assert abs(u.max() - 0.0736713) < 2e-4  # the known centre value of the torsion function


def test_matrix_matches_stencil_loops_and_is_symmetric():
    rng = np.random.default_rng(0)
    n = 6
    a = rng.uniform(1, 3, (n, n))
    A = darcy_matrix(a).toarray()
    h2 = (1 / (n - 1)) ** 2
    m = n - 2
    ref = np.zeros((m * m, m * m))
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            p = (i - 1) * m + (j - 1)
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                face = 0.5 * (a[i, j] + a[i + di, j + dj])
                ref[p, p] += face / h2
                ii, jj = i + di, j + dj
                if 1 <= ii <= n - 2 and 1 <= jj <= n - 2:
                    ref[p, (ii - 1) * m + (jj - 1)] -= face / h2
    assert np.allclose(A, ref) and np.allclose(A, A.T)


def test_batch_and_threshold():
    psi = torch.tensor([[-1.0, 0.0], [2.0, -3.0]])
    assert torch.equal(threshold_coefficient(psi), torch.tensor([[3.0, 12.0], [12.0, 3.0]]))
    a = torch.rand(3, 9, 9, dtype=torch.float64) + 0.5
    u = darcy_2d(a)
    assert u.shape == (3, 9, 9) and torch.allclose(u[1], darcy_2d(a[1]))
    assert u[:, 0].abs().max() == 0 and u[:, :, -1].abs().max() == 0 and (u[:, 1:-1, 1:-1] > 0).all()


@pytest.mark.parametrize("a, f, match", [
    (np.zeros((5, 5)), 1.0, "> 0"), (np.ones((5, 4)), 1.0, "shape"), (np.ones((2, 2)), 1.0, "n=2"),
    (np.ones((5, 5)), np.ones((4, 4)), "f must"),
])
def test_bad_inputs(a, f, match):
    with pytest.raises(ValueError, match=match):
        darcy_2d(a, f)
