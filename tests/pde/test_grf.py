import math

import pytest
import torch

from basiskit.pde import grf, grf_covariance
from basiskit.pde.grf import grf_eigenvalues


@pytest.mark.parametrize("boundary", ["periodic", "dirichlet", "neumann"])
def test_empirical_covariance_matches_the_exact_one(boundary):
    g = torch.Generator().manual_seed(0)
    n, samples = 12, 20000
    u = grf(n, alpha=2.0, tau=3.0, sigma=2.0, boundary=boundary, n_samples=samples, generator=g)
    emp = u.T @ u / samples
    exact = grf_covariance(n, 2.0, 3.0, 2.0, boundary)
    assert torch.linalg.norm(emp - exact) / torch.linalg.norm(exact) < 0.05


def test_periodic_2d_pointwise_variance_is_the_eigenvalue_sum():
    g = torch.Generator().manual_seed(1)
    n = 16
    u = grf((n, n), alpha=2.5, tau=7.0, sigma=7 ** 1.5, n_samples=4000, generator=g)
    k = torch.fft.fftfreq(n, 1 / n, dtype=torch.float64)
    lam = grf_eigenvalues(4 * math.pi ** 2 * (k[:, None] ** 2 + k[None, :] ** 2), 2.5, 7.0, 7 ** 1.5)
    assert abs(float(u.var(0).mean()) / float(lam.sum()) - 1) < 0.05


def test_zero_mean_and_dirichlet_boundary():
    g = torch.Generator().manual_seed(2)
    u = grf((8, 8), boundary="periodic", zero_mean=True, n_samples=5, generator=g)
    assert torch.allclose(u.mean((1, 2)), torch.zeros(5, dtype=u.dtype), atol=1e-12)
    d = grf((9, 7), boundary="dirichlet", n_samples=3, generator=g)
    assert d.shape == (3, 9, 7)
    assert d[:, 0].abs().max() < 1e-12 and d[:, :, -1].abs().max() < 1e-12


def test_reproducible_with_generator_and_3d():
    a = grf((4, 4, 4), n_samples=2, generator=torch.Generator().manual_seed(5))
    b = grf((4, 4, 4), n_samples=2, generator=torch.Generator().manual_seed(5))
    assert a.shape == (2, 4, 4, 4) and torch.equal(a, b)


@pytest.mark.parametrize("kwargs, match", [
    ({"boundary": "periodc"}, "boundary"), ({"alpha": 0.0}, "alpha"), ({"tau": -1.0}, "tau"),
    ({"shape": (2, 2, 2, 2)}, "shape"), ({"shape": (1, 4)}, r"shape\[0\]"), ({"n_samples": 0}, "n_samples"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    args = {"shape": (8, 8), **kwargs}
    with pytest.raises(ValueError, match=match):
        grf(**args)


def test_tau_zero_needs_zero_mean_except_dirichlet():
    with pytest.raises(ValueError, match="tau=0"):
        grf(8, tau=0.0)
    u = grf(8, tau=0.0, zero_mean=True, n_samples=2, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(u).all()
    d = grf(8, alpha=2.0, tau=0.0, sigma=3.0, boundary="dirichlet", n_samples=3000,
            generator=torch.Generator().manual_seed(0))
    exact = grf_covariance(8, 2.0, 1e-9, 3.0, "dirichlet")
    assert torch.linalg.norm(d.T @ d / 3000 - exact) / torch.linalg.norm(exact) < 0.1
