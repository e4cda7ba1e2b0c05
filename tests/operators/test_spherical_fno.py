"""Spherical FNO: the spectral layer commutes with rotations exactly (band-limited input, float64), the whole
model with longitude shifts exactly and with pole-tilting rotations approximately; shapes, other grids, training,
clear errors."""
from __future__ import annotations

import math

import pytest
import torch

import basiskit as bk
from basiskit import UsageError
from basiskit.bases.spherical import real_spherical_harmonics
from basiskit.operators import SphericalFNO, spherical_conv
from basiskit.ops.sht import grid_points, sht


def _rotation(tilt: float, spin: float) -> torch.Tensor:
    cb, sb, ca, sa = math.cos(tilt), math.sin(tilt), math.cos(spin), math.sin(spin)
    ry = torch.tensor([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]], dtype=torch.float64)
    rz = torch.tensor([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]], dtype=torch.float64)
    return rz @ ry


def _field(coeffs: torch.Tensor, points: torch.Tensor, L: int) -> torch.Tensor:
    return torch.einsum("ck,abk->cab", coeffs, real_spherical_harmonics(points, L))


@pytest.mark.parametrize("tilt, spin", [(0.7, 0.3), (math.pi / 2, 1.1), (2.5, -0.4)])
def test_spherical_conv_commutes_with_rotations_exactly(tilt, spin):
    L, nlat, nlon = 6, 10, 20
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, (L + 1) ** 2, generator=g, dtype=torch.float64)
    w = torch.randn(2, 3, L + 1, generator=g, dtype=torch.float64)
    pts, R = grid_points(nlat, nlon), _rotation(tilt, spin)
    x, x_rot = _field(a, pts, L)[None], _field(a, pts @ R, L)[None]  # x_rot(p) = x(R^T p)
    y, y_rot = spherical_conv(x, w), spherical_conv(x_rot, w)
    expected = _field(sht(y[0], L), pts @ R, L)  # y rotated the same way, evaluated from its harmonics
    torch.testing.assert_close(y_rot[0], expected, rtol=0, atol=1e-11)


def test_weights_per_degree_and_per_order_differ():
    """A weight that depended on m would not commute with tilts: check the test above can fail."""
    L, nlat, nlon = 4, 8, 16
    a = torch.randn(1, (L + 1) ** 2, dtype=torch.float64)
    pts, R = grid_points(nlat, nlon), _rotation(0.9, 0.2)
    scale = torch.linspace(0.5, 1.5, (L + 1) ** 2, dtype=torch.float64)  # per (l, m)
    x_rot = _field(a, pts @ R, L)
    y_rot = _field(sht(x_rot, L) * scale, pts, L)
    expected = _field(a * scale, pts @ R, L)
    assert (y_rot - expected).abs().max() > 1e-2


def test_model_is_exactly_equivariant_to_grid_longitude_shifts_and_runs_on_other_grids():
    torch.manual_seed(0)
    model = SphericalFNO(5, 2, 3, 8, 2).double()
    x = torch.randn(2, 2, 8, 16, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(torch.roll(x, 5, -1)), torch.roll(model(x), 5, -1), rtol=0, atol=1e-12)
        assert model(torch.randn(1, 2, 14, 30, dtype=torch.float64)).shape == (1, 3, 14, 30)


def test_model_is_nearly_equivariant_to_tilts_on_smooth_fields():
    torch.manual_seed(0)
    L, nlat, nlon = 6, 32, 64
    model = SphericalFNO(L, 1, 1, 8, 2).double()
    a = torch.randn(1, (L + 1) ** 2, dtype=torch.float64) * 0.3
    pts, R = grid_points(nlat, nlon), _rotation(1.2, 0.5)
    with torch.no_grad():
        y = model(_field(a, pts, L)[None])[0]
        y_rot = model(_field(a, pts @ R, L)[None])[0]
    expected = _field(sht(y, nlat - 1), pts @ R, nlat - 1)
    assert float((y_rot - expected).norm() / y_rot.norm()) < 0.02


def test_model_trains_registers_and_checks_inputs():
    model = bk.operators.create("sfno", L=4, in_channels=1, out_channels=1, hidden_channels=8, n_layers=2)
    assert isinstance(model, SphericalFNO) and "L=4" in repr(model)
    x = torch.randn(4, 1, 6, 12)
    loss = (model(x) - x).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="in_channels=1"):
        model(torch.randn(1, 2, 6, 12))
    with pytest.raises(UsageError, match="nlat >= L"):
        model(torch.randn(1, 1, 4, 12))
