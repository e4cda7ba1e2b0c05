"""The real spherical harmonic transform on the Gauss grid: exact on band-limited functions against our harmonics,
the quadrature, the inverse on other grids, gradients, and clear errors."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import UsageError
from basiskit.bases.spherical import real_spherical_harmonics
from basiskit.ops.sht import RealSHT, degree_index, gauss_grid, grid_points, isht, sht


def _expansion(coeffs: torch.Tensor, nlat: int, nlon: int, L: int) -> torch.Tensor:
    """sum_a coeffs[..., a] Y_a evaluated directly at the grid points: (..., nlat, nlon)."""
    Y = real_spherical_harmonics(grid_points(nlat, nlon), L)  # (nlat, nlon, K)
    return torch.einsum("...k,abk->...ab", coeffs, Y)


@settings(max_examples=20, deadline=None)
@given(L=st.integers(0, 12), extra_lat=st.integers(0, 3), extra_lon=st.integers(0, 4), seed=st.integers(0, 999))
def test_forward_and_inverse_are_exact_for_band_limited_functions(L, extra_lat, extra_lon, seed):
    nlat, nlon = L + 1 + extra_lat, 2 * L + 1 + extra_lon
    a = torch.randn(2, (L + 1) ** 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    f = _expansion(a, nlat, nlon, L)
    torch.testing.assert_close(sht(f, L), a, rtol=0, atol=1e-11)
    torch.testing.assert_close(isht(a, nlat, nlon), f, rtol=0, atol=1e-11)


def test_inverse_evaluates_on_a_finer_grid_and_the_grid_is_a_sphere_quadrature():
    L = 5
    a = torch.randn((L + 1) ** 2, dtype=torch.float64)
    torch.testing.assert_close(isht(a, 20, 41), _expansion(a, 20, 41, L), rtol=0, atol=1e-12)
    lat, lon, w = gauss_grid(7, 13)
    assert float(w.sum()) == pytest.approx(2.0) and lat[0] > 0 > lat[-1]  # north to south
    assert float((w[:, None] * torch.full((1, 13), 2 * math.pi / 13, dtype=torch.float64)).sum()) == pytest.approx(
        4 * math.pi)
    pts = grid_points(7, 13)
    torch.testing.assert_close(pts.norm(dim=-1), torch.ones(7, 13, dtype=torch.float64))


def test_transform_is_differentiable_and_degree_index_counts_2l_plus_1():
    x = torch.randn(1, 6, 11, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: sht(t, 4), (x,))
    assert torch.bincount(degree_index(4)).tolist() == [1, 3, 5, 7, 9]
    module = RealSHT(3)
    assert module(x.detach()).shape == (1, 16) and module.inverse(module(x.detach()), 5, 9).shape == (1, 5, 9)


def test_bad_grids_give_clear_errors():
    with pytest.raises(UsageError, match=r"nlat >= L \+ 1 = 6 and nlon >= 2 L \+ 1 = 11"):
        sht(torch.zeros(5, 11), 5)
    with pytest.raises(UsageError, match=r"\(L\+1\)\^2"):
        isht(torch.zeros(10), 4, 8)
    with pytest.raises(UsageError, match="nlon >= 7"):
        isht(torch.zeros(16), 4, 6)
