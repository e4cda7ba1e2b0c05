"""Real spherical harmonics: scipy's complex harmonics, orthonormality by quadrature, the addition theorem,
closed forms at low degree, stability to L = 100, sphericart where installed, bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import bases
from basiskit.bases import (
    lonlat_to_xyz,
    n_harmonics,
    real_spherical_harmonics,
    sh_degrees,
    sh_index,
    sphere_quadrature,
    xyz_to_lonlat,
)


def _points(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return x / x.norm(dim=-1, keepdim=True)


def _scipy_real(u: np.ndarray, L: int) -> np.ndarray:
    """Real harmonics from scipy's complex ones (which carry the Condon-Shortley phase (-1)^m)."""
    polar, azimuth = np.arccos(np.clip(u[:, 2], -1, 1)), np.arctan2(u[:, 1], u[:, 0])
    out = np.zeros((len(u), (L + 1) ** 2))
    for l in range(L + 1):
        for m in range(-l, l + 1):
            y = sp.sph_harm_y(l, abs(m), polar, azimuth)
            if m > 0:
                out[:, l * l + l + m] = math.sqrt(2) * (-1) ** m * y.real
            elif m < 0:
                out[:, l * l + l + m] = math.sqrt(2) * (-1) ** m * y.imag
            else:
                out[:, l * l + l] = y.real
    return out


@pytest.mark.parametrize("L", [0, 1, 5, 16])
def test_matches_scipy_complex_harmonics(L):
    u = _points(64, seed=L)
    ours = real_spherical_harmonics(u, L)
    assert ours.shape == (64, n_harmonics(L))
    np.testing.assert_allclose(ours.numpy(), _scipy_real(u.numpy(), L), atol=1e-12, rtol=0)


def test_low_degree_closed_forms():
    u = _points(20)
    x, y, z = u.unbind(-1)
    Y = real_spherical_harmonics(u, 2)
    c1 = math.sqrt(3 / (4 * math.pi))
    torch.testing.assert_close(Y[:, 0], torch.full_like(x, 0.5 / math.sqrt(math.pi)))
    torch.testing.assert_close(Y[:, 1:4], c1 * torch.stack([y, z, x], -1))
    torch.testing.assert_close(Y[:, sh_index(2, 0)], math.sqrt(5 / (16 * math.pi)) * (3 * z**2 - 1))
    torch.testing.assert_close(Y[:, sh_index(2, -2)], 0.5 * math.sqrt(15 / math.pi) * x * y)


@pytest.mark.parametrize("L", [3, 20, 40])
def test_orthonormal_by_quadrature(L):
    pts, w = sphere_quadrature(2 * L)
    torch.testing.assert_close(w.sum(), torch.tensor(4 * math.pi, dtype=torch.float64))
    Y = real_spherical_harmonics(pts, L)
    assert torch.isfinite(Y).all()
    ls, _ = sh_degrees(L)
    Y = Y[:, (ls <= 3) | (ls >= L - 2) | (ls == L // 2)]  # only some degrees: the whole Gram matrix grows as L^6
    gram = Y.T @ (w[:, None] * Y)
    torch.testing.assert_close(gram, torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-10, rtol=0)


def test_stable_at_degree_120_against_scipy():
    u = _points(16, seed=3)
    L = 120
    ours = real_spherical_harmonics(u, L)
    assert torch.isfinite(ours).all()
    ls, _ = sh_degrees(L)
    top = (ls >= L - 1).numpy()
    np.testing.assert_allclose(ours.numpy()[:, top], _scipy_real(u.numpy(), L)[:, top], atol=1e-10, rtol=0)


@given(seed=st.integers(0, 10_000), L=st.integers(0, 30))
@settings(max_examples=25, deadline=None)
def test_addition_theorem(seed, L):
    """sum_m Y_lm(a) Y_lm(b) = (2l+1)/(4 pi) P_l(a . b) for every degree l."""
    a, b = _points(2, seed).unbind(0)
    ya, yb = real_spherical_harmonics(a, L), real_spherical_harmonics(b, L)
    ls, _ = sh_degrees(L)
    per_l = torch.zeros(L + 1, dtype=torch.float64).index_add_(0, ls, ya * yb)
    t = float(a @ b)
    ref = torch.tensor([(2 * l + 1) / (4 * math.pi) * sp.eval_legendre(l, t) for l in range(L + 1)],
                       dtype=torch.float64)
    torch.testing.assert_close(per_l, ref, atol=1e-11, rtol=1e-9)


def test_smooth_at_poles_and_scale_invariant():
    poles = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -2.5]], dtype=torch.float64, requires_grad=True)
    Y = real_spherical_harmonics(poles, 8)
    assert torch.isfinite(Y).all()
    ls, ms = sh_degrees(8)
    # at the poles only m = 0 survives, with value sqrt((2l+1)/(4 pi)) (+-1)^l
    expect0 = torch.tensor([math.sqrt((2 * l + 1) / (4 * math.pi)) for l in ls[ms == 0].tolist()],
                           dtype=torch.float64)
    torch.testing.assert_close(Y[0, ms == 0], expect0)
    torch.testing.assert_close(Y[1, ms == 0], expect0 * (-1.0) ** ls[ms == 0])
    assert Y[:, ms != 0].abs().max() < 1e-15
    Y.sum().backward()
    assert torch.isfinite(poles.grad).all()
    u = _points(5)
    torch.testing.assert_close(real_spherical_harmonics(3.0 * u, 6), real_spherical_harmonics(u, 6))


def test_gradcheck_float64():
    u = _points(4).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: real_spherical_harmonics(p, 5), (u,))


def test_batched_shapes_float32_and_module():
    x = torch.randn(2, 3, 7, 3)
    m = bases.create("spherical", L=4)
    assert m.n_basis == 25 and m(x).shape == (2, 3, 7, 25) and m(x).dtype == torch.float32
    assert "spherical" in bases.names() and "spherical" not in bases.univariate_names()
    torch.testing.assert_close(m(x).double(), real_spherical_harmonics(x.double(), 4), atol=1e-5, rtol=1e-5)


def test_lonlat_roundtrip_and_axes():
    lon = torch.tensor([0.0, 90.0, -45.0, 170.0], dtype=torch.float64)
    lat = torch.tensor([0.0, 0.0, 30.0, -89.0], dtype=torch.float64)
    xyz = lonlat_to_xyz(lon, lat)
    torch.testing.assert_close(xyz[0], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(xyz[1], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-15, rtol=0)
    grid = lonlat_to_xyz(lon[:, None], lat[None, :])
    assert grid.shape == (4, 4, 3)
    torch.testing.assert_close(grid[2, 2], xyz[2])
    lo, la = xyz_to_lonlat(xyz)
    torch.testing.assert_close(lo, lon)
    torch.testing.assert_close(la, lat)


def test_sphericart_backend_matches():
    pytest.importorskip("sphericart.torch")
    u = _points(100)
    for L in (0, 3, 25):
        torch.testing.assert_close(real_spherical_harmonics(u, L, backend="sphericart"),
                                   real_spherical_harmonics(u, L), atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(real_spherical_harmonics(2 * u, 7, backend="auto"), real_spherical_harmonics(u, 7))


def test_bad_inputs():
    u = _points(3)
    with pytest.raises(ValueError, match="L must be >= 0"):
        real_spherical_harmonics(u, -1)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        real_spherical_harmonics(torch.randn(4, 2), 2)
    with pytest.raises(ValueError, match="finite"):
        real_spherical_harmonics(torch.tensor([[float("nan"), 0.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="zero vector"):
        real_spherical_harmonics(torch.zeros(1, 3), 2)
    with pytest.raises(ValueError, match="backend"):
        real_spherical_harmonics(u, 2, backend="fast")
    with pytest.raises(ValueError, match="lat must lie"):
        lonlat_to_xyz(torch.tensor([0.0]), torch.tensor([95.0]))
    with pytest.raises(ValueError, match="lon must be finite"):
        lonlat_to_xyz(torch.tensor([float("inf")]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="l >= 0 and"):
        sh_index(2, 3)
    with pytest.raises(ValueError, match="basis"):
        from basiskit.nn import KANLinear
        KANLinear(2, 2, basis="spherical")
