"""Geometries: signed distances against closed forms, sampling inside / on the boundary with every method,
outward normals (analytic, corners averaged), constructive geometry (the L-shape), point clouds, space-time,
clear errors."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit import UsageError
from basiskit.physics.geometry import (METHODS, Ball, Box, Disk, Interval, PointCloud, Polygon, Rectangle,
                                       TimeDomain, Triangle, unit_samples)

L_SHAPE = Rectangle((0, 0), (2, 2)) - Rectangle((1, 1), (2, 2))


def _t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_signed_distances_of_primitives_match_closed_forms():
    box = Rectangle((0, 0), (2, 1))
    torch.testing.assert_close(box.sdf(_t([[1, 0.5], [0.2, 0.5], [3, 0.5], [3, 2]])),
                               _t([-0.5, -0.2, 1.0, math.sqrt(2)]))
    disk = Disk((1, 1), 2)
    torch.testing.assert_close(disk.sdf(_t([[1, 1], [4, 1], [1, 2]])), _t([-2.0, 1.0, -1.0]))
    tri = Triangle((0, 0), (1, 0), (0, 1))
    torch.testing.assert_close(tri.sdf(_t([[0.25, 0.25], [1, 1], [-1, 0]])),
                               _t([-0.25, math.sqrt(2) / 2, 1.0]))
    torch.testing.assert_close(Interval(-1, 3).sdf(_t([[0], [5]])), _t([-1.0, 2.0]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("geom", [Rectangle((0, 0), (2, 1)), Disk((0, 0), 1), Polygon([(0, 0), (2, 0), (1, 2)]),
                                  Ball((0, 0, 0), 1.5), Box((0, 0, 0), (1, 2, 3)), L_SHAPE],
                         ids=["rectangle", "disk", "polygon", "ball", "box3d", "L"])
def test_samples_lie_inside_or_on_the_boundary_and_normals_point_out(geom, method):
    x = geom.sample_interior(300, method, seed=1)
    assert x.shape == (300, geom.dim) and bool((geom.sdf(x) < 0).all())
    b = geom.sample_boundary(300, method, seed=2)
    assert b.shape == (300, geom.dim) and float(geom.sdf(b).abs().max()) < 1e-9
    n = geom.normal(b)
    torch.testing.assert_close(n.norm(dim=1), torch.ones(300, dtype=torch.float64))
    eps = 1e-4
    assert bool((geom.sdf(b + eps * n) > 0).all()) and bool((geom.sdf(b - eps * n) < 0).all())


def test_l_shape_in_one_line_has_the_right_area_perimeter_shares_and_corner_normals():
    x = Box((0, 0), (2, 2)).sample_interior(20000, "sobol")
    assert 4 * float(L_SHAPE.inside(x).double().mean()) == pytest.approx(3.0, abs=0.02)
    b = L_SHAPE.sample_boundary(8000, "halton")
    notch_floor = ((b[:, 1] - 1).abs() < 1e-9) & (b[:, 0] > 1)
    assert float(notch_floor.double().mean()) == pytest.approx(1 / 8, abs=0.02)  # 1 of the 8 units of perimeter
    assert not bool(((b[:, 0] - 2).abs() < 1e-9).logical_and(b[:, 1] > 1 + 1e-9).any())  # B's face inside A: gone
    corners = L_SHAPE.normal(_t([[1, 1], [0, 0], [1, 2]]))
    r = 1 / math.sqrt(2)
    torch.testing.assert_close(corners, _t([[r, r], [-r, -r], [r, r]]))


def test_quasi_random_points_are_more_even_than_pseudo_random_ones():
    from scipy.stats import qmc

    disc = {m: qmc.discrepancy(unit_samples(256, 2, m, seed=0).numpy()) for m in METHODS}
    assert disc["sobol"] < disc["uniform"] and disc["halton"] < disc["uniform"]


@settings(max_examples=30, deadline=None)
@given(cx=st.floats(-3, 3), cy=st.floats(-3, 3), r=st.floats(0.1, 5), px=st.floats(-9, 9), py=st.floats(-9, 9))
def test_disk_distance_is_exact(cx, cy, r, px, py):
    d = Disk((cx, cy), r).distance(_t([[px, py]]))
    assert float(d) == pytest.approx(abs(math.hypot(px - cx, py - cy) - r), abs=1e-12)


def test_point_cloud_and_time_domain():
    theta = torch.linspace(0, 2 * math.pi, 65, dtype=torch.float64)[:-1]
    ring = torch.stack([theta.cos(), theta.sin()], 1)
    cloud = PointCloud(Disk((0, 0), 1).sample_interior(200), ring, 2 * ring)
    assert cloud.sample_boundary(10).shape == (10, 2)
    torch.testing.assert_close(cloud.normal(ring[:3]), ring[:3])
    assert bool((cloud.sdf(_t([[0.0, 0.0]])) < 0).all())
    st_dom = TimeDomain(Interval(0, 1), 0.0, 2.0)
    pts = st_dom.sample_interior(50, "sobol")
    assert pts.shape == (50, 2) and float(pts[:, 1].max()) <= 2.0
    assert bool((st_dom.sample_initial(5)[:, 1] == 0).all())
    lateral = st_dom.sample_boundary(20)
    assert bool(((lateral[:, 0] == 0) | (lateral[:, 0] == 1)).all())


def test_bad_geometries_and_points_give_clear_errors():
    with pytest.raises(UsageError, match="lower < upper"):
        Box((0, 1), (1, 0))
    with pytest.raises(ValueError, match="radius"):
        Disk((0, 0), 0)
    with pytest.raises(UsageError, match="at least 3 vertices"):
        Polygon([(0, 0), (1, 1)])
    with pytest.raises(UsageError, match="no area"):
        Polygon([(0, 0), (1, 1), (2, 2)])
    with pytest.raises(UsageError, match=r"\(n, 2\)"):
        Disk((0, 0), 1).inside(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="method"):
        Disk((0, 0), 1).sample_interior(5, method="random")
    with pytest.raises(UsageError, match="not on the boundary"):
        Disk((0, 0), 1).normal(_t([[0.0, 0.0]]))
    with pytest.raises(UsageError, match="one dimension"):
        Disk((0, 0), 1) | Ball((0, 0, 0), 1)
    with pytest.raises(UsageError, match="t0 < t1"):
        TimeDomain(Interval(0, 1), 1.0, 0.0)
