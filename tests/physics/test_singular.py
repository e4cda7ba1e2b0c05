import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.physics.geometry import Polygon
from basiskit.physics.singular import (Corner, CornerFeatures, corner_singular_function, polygon_corners,
                                      reentrant_corners)

L_SHAPE = [(-1.0, -1.0), (1.0, -1.0), (1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (-1.0, 1.0)]


def _outer_dirichlet(x):
    return ((x[:, 0] + 1).abs() <= 1e-9) | ((x[:, 1] + 1).abs() <= 1e-9)


def _polar(corner, r, phi):
    a = corner.start_angle + phi
    return torch.stack([corner.vertex[0] + r * torch.cos(a), corner.vertex[1] + r * torch.sin(a)], 1)


@settings(max_examples=30, deadline=None)
@given(opening=st.floats(0.3, 2 * math.pi - 0.3), start=st.floats(-math.pi, math.pi),
       bcs=st.sampled_from([("dirichlet", "dirichlet"), ("neumann", "neumann"), ("dirichlet", "neumann"),
                            ("neumann", "dirichlet")]), k=st.integers(1, 3))
def test_singular_functions_are_harmonic_and_meet_both_edge_conditions(opening, start, bcs, k):
    corner = Corner((0.3, -0.2), start, opening, *bcs)
    g = torch.Generator().manual_seed(0)
    r = 0.05 + torch.rand(20, generator=g, dtype=torch.float64)
    x = _polar(corner, r, opening * (0.05 + 0.9 * torch.rand(20, generator=g, dtype=torch.float64)))
    x.requires_grad_(True)
    u = corner_singular_function(x, corner, k)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(2))
    assert torch.allclose(lap, torch.zeros_like(lap), atol=1e-9 * (1 + float(u.detach().abs().max())))
    for phi, bc in ((0.0, bcs[0]), (opening, bcs[1])):
        edge = _polar(corner, r, torch.full_like(r, phi)).requires_grad_(True)
        v = corner_singular_function(edge, corner, k)
        if bc == "dirichlet":
            assert torch.allclose(v, torch.zeros_like(v), atol=1e-12)
        else:  # zero normal derivative: the gradient is along the edge
            (gv,) = torch.autograd.grad(v.sum(), edge)
            normal = torch.tensor([-math.sin(start + phi), math.cos(start + phi)], dtype=torch.float64)
            assert torch.allclose(gv @ normal, torch.zeros(20, dtype=torch.float64), atol=1e-10)


def test_exponents_and_radial_scaling():
    nn_corner = Corner((0.0, 0.0), 0.0, 1.5 * math.pi)
    assert nn_corner.exponent(1) == pytest.approx(2 / 3) and nn_corner.exponent(2) == pytest.approx(4 / 3)
    mixed = Corner((0.0, 0.0), 0.0, 1.5 * math.pi, "dirichlet", "neumann")
    assert mixed.exponent(1) == pytest.approx(1 / 3)
    # u(2 r, phi) = 2^lambda u(r, phi)
    x = torch.tensor([[-0.3, 0.2], [0.1, -0.4]], dtype=torch.float64)
    ratio = corner_singular_function(2 * x, nn_corner) / corner_singular_function(x, nn_corner)
    assert torch.allclose(ratio, torch.full((2,), 2 ** (2 / 3), dtype=torch.float64))


def test_reentrant_corners_of_the_l_shape_with_either_vertex_order():
    for verts in (L_SHAPE, L_SHAPE[::-1]):
        (c,) = reentrant_corners(Polygon(verts), _outer_dirichlet)
        assert c.vertex == (0.0, 0.0) and c.opening == pytest.approx(1.5 * math.pi)
        assert c.start_angle == pytest.approx(math.pi / 2)  # the edge towards (0, 1), then round to (1, 0)
        assert (c.start_bc, c.end_bc) == ("neumann", "neumann") and c.exponent() == pytest.approx(2 / 3)
    # a Dirichlet condition on the edge x = 0 makes the corner mixed (lambda 1/3)
    (c,) = reentrant_corners(Polygon(L_SHAPE), lambda x: x[:, 0].abs() <= 1e-9)
    assert (c.start_bc, c.end_bc) == ("dirichlet", "neumann") and c.exponent() == pytest.approx(1 / 3)
    assert reentrant_corners(Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])) == []


def test_vertex_point_is_finite_and_features_have_the_right_width():
    (c,) = reentrant_corners(Polygon(L_SHAPE), _outer_dirichlet)
    x = torch.tensor([[0.0, 0.0], [-0.5, 0.5]], requires_grad=True)
    u = corner_singular_function(x, c)
    (g,) = torch.autograd.grad(u.sum(), x)
    assert torch.isfinite(u).all() and torch.isfinite(g).all() and abs(float(u[0].detach())) < 1e-6
    feats = CornerFeatures([c], n_terms=3, log_terms=False)
    assert feats.out_features == 4  # lambda = 2/3, 4/3 kept; 2 (a polynomial) dropped
    out = feats(x.detach())
    assert out.shape == (2, 4) and torch.equal(out[:, :2], x.detach())
    with_log = CornerFeatures([c], n_terms=3)  # lambda = 2 becomes r^2 (log r cos 2 phi - phi sin 2 phi)
    assert with_log.out_features == 5 and "2 (log)" in repr(with_log)
    out = with_log(x.detach())
    assert torch.isfinite(out).all()
    assert torch.allclose(out[:, 4], corner_singular_function(x.detach(), c, 3, log=True))
    half_plane = Corner((0.0, 0.0), 0.0, math.pi)  # straight edge: every exponent an integer
    assert CornerFeatures([c, half_plane], n_terms=2, log_terms=False).out_features == 4
    assert CornerFeatures([c, half_plane], n_terms=2).out_features == 6  # + r^1 and r^2 log companions


def test_cutoff_keeps_the_function_near_the_vertex_and_removes_it_far_away():
    c = Corner((0.0, 0.0), 0.0, 1.5 * math.pi)
    near = torch.tensor([[-0.1, 0.05], [0.0, -0.2]], dtype=torch.float64)
    far = torch.tensor([[-0.9, 0.1], [-0.5, -0.8]], dtype=torch.float64)
    assert torch.allclose(corner_singular_function(near, c, radius=0.5), corner_singular_function(near, c))
    assert torch.equal(corner_singular_function(far, c, radius=0.5), torch.zeros(2, dtype=torch.float64))


@pytest.mark.parametrize("kwargs,match", [({"opening": 2 * math.pi}, "opening must be < 2 pi"),
                                          ({"opening": 0.0}, "opening"),
                                          ({"start_bc": "robin"}, "start_bc")])
def test_bad_corners_are_refused(kwargs, match):
    args = {"vertex": (0.0, 0.0), "start_angle": 0.0, "opening": 4.0} | kwargs
    with pytest.raises(ValueError, match=match):
        Corner(**args)


def test_bad_feature_inputs_are_refused():
    with pytest.raises(ValueError, match="no corner to enrich"):
        CornerFeatures([])
    c = Corner((0.0, 0.0), 0.0, 4.0)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        corner_singular_function(torch.zeros(3, 3), c)
    with pytest.raises(ValueError, match="radius"):
        corner_singular_function(torch.zeros(3, 2), c, radius=-1.0)
    with pytest.raises(ValueError, match="n_terms"):
        CornerFeatures([c], n_terms=0)


def _laplacian(fn, x):
    x = x.clone().requires_grad_(True)
    u = fn(x)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return u, sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(2))


@settings(max_examples=30, deadline=None)
@given(opening=st.floats(0.3, 2 * math.pi - 0.3), start=st.floats(-math.pi, math.pi),
       bcs=st.sampled_from([("dirichlet", "dirichlet"), ("neumann", "neumann"), ("dirichlet", "neumann"),
                            ("neumann", "dirichlet")]), k=st.integers(1, 3))
def test_log_companions_are_harmonic_and_meet_the_start_edge_condition(opening, start, bcs, k):
    corner = Corner((-0.4, 0.1), start, opening, *bcs)
    g = torch.Generator().manual_seed(1)
    r = 0.05 + torch.rand(20, generator=g, dtype=torch.float64)
    x = _polar(corner, r, opening * (0.05 + 0.9 * torch.rand(20, generator=g, dtype=torch.float64)))
    u, lap = _laplacian(lambda p: corner_singular_function(p, corner, k, log=True), x)
    assert torch.allclose(lap, torch.zeros_like(lap), atol=1e-9 * (1 + float(u.detach().abs().max())))
    edge = _polar(corner, r, torch.zeros_like(r)).requires_grad_(True)
    v = corner_singular_function(edge, corner, k, log=True)
    if bcs[0] == "dirichlet":
        assert torch.allclose(v, torch.zeros_like(v), atol=1e-12)
    else:
        (gv,) = torch.autograd.grad(v.sum(), edge)
        normal = torch.tensor([-math.sin(start), math.cos(start)], dtype=torch.float64)
        assert torch.allclose(gv @ normal, torch.zeros(20, dtype=torch.float64), atol=1e-10)


@pytest.mark.parametrize("start_bc", ["dirichlet", "neumann"])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_log_companion_is_z_to_the_p_log_z(start_bc, p):
    """At a right angle lambda_k = 2k, and the log companion is Im (Dirichlet start) or Re (Neumann start) of
    z^(2k) log z, z = r e^(i phi) in the corner's own frame: computed here with complex arithmetic."""
    corner = Corner((0.2, 0.3), 0.4, math.pi / 2, start_bc, start_bc)  # a right angle: lambda_k = 2k
    k = p
    lam = corner.exponent(k)
    assert lam == pytest.approx(2 * p)
    r = torch.linspace(0.05, 1.5, 7, dtype=torch.float64)
    phi = torch.linspace(0.0, math.pi / 2, 7, dtype=torch.float64)
    z = torch.polar(r, phi)
    zlogz = z ** round(lam) * torch.complex(torch.log(r), phi)
    expected = zlogz.imag if start_bc == "dirichlet" else zlogz.real
    got = corner_singular_function(_polar(corner, r, phi), corner, k, log=True)
    assert torch.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_a_sloped_dirichlet_edge_beside_a_zero_flux_edge_needs_the_log_term():
    """The resonant case itself: at a right angle, u = s on the Dirichlet edge (s the distance along it) and zero
    flux on the other edge. Every harmonic r (a cos phi + b sin phi) with a = 1 has flux -1 there; the exact local
    solution is w = r cos phi - (2 / pi) r (log r sin phi + phi cos phi), the log companion's coefficient fixed by
    the data's slope."""
    # Dirichlet edge up from (1, -1) along x = 1 (phi = 0), zero-flux edge to the left along y = -1 (phi = pi / 2)
    corner = Corner((1.0, -1.0), math.pi / 2, math.pi / 2, "dirichlet", "neumann")
    assert corner.exponent(1) == pytest.approx(1.0)

    def w(x):
        dx, dy = x[:, 0] - 1.0, x[:, 1] + 1.0
        r, phi = torch.sqrt(dx * dx + dy * dy), torch.atan2(dy, dx) - math.pi / 2
        return r * torch.cos(phi) - 2 / math.pi * corner_singular_function(x, corner, 1, log=True)

    g = torch.Generator().manual_seed(2)
    r = 0.01 + 0.5 * torch.rand(30, generator=g, dtype=torch.float64)
    inside = _polar(corner, r, (math.pi / 2) * torch.rand(30, generator=g, dtype=torch.float64))
    _, lap = _laplacian(w, inside)
    assert torch.allclose(lap, torch.zeros_like(lap), atol=1e-9)
    dirichlet_edge = _polar(corner, r, torch.zeros_like(r))
    assert torch.allclose(w(dirichlet_edge), r, atol=1e-12)  # u = s along the edge
    neumann_edge = _polar(corner, r, torch.full_like(r, math.pi / 2)).requires_grad_(True)
    (grad,) = torch.autograd.grad(w(neumann_edge).sum(), neumann_edge)
    normal = torch.tensor([0.0, -1.0], dtype=torch.float64)  # outward normal of the edge y = -1
    assert torch.allclose(grad @ normal, torch.zeros(30, dtype=torch.float64), atol=1e-10)
    # and its gradient grows like log r towards the vertex: the singularity a smooth network cannot follow
    near = _polar(corner, torch.tensor([1e-2, 1e-4], dtype=torch.float64),
                  torch.full((2,), 0.3, dtype=torch.float64)).requires_grad_(True)
    (gn,) = torch.autograd.grad(w(near).sum(), near)
    norms = gn.norm(dim=1)
    assert float(norms[1] - norms[0]) == pytest.approx(2 / math.pi * math.log(100), rel=0.05)


def test_polygon_corners_lists_every_corner_with_its_edge_conditions():
    corners = polygon_corners(Polygon(L_SHAPE), _outer_dirichlet)
    assert [c.vertex for c in corners] == L_SHAPE
    by_vertex = {c.vertex: c for c in corners}
    assert by_vertex[(0.0, 0.0)].opening == pytest.approx(1.5 * math.pi)
    assert all(by_vertex[v].opening == pytest.approx(math.pi / 2) for v in L_SHAPE if v != (0.0, 0.0))
    assert (by_vertex[(-1.0, -1.0)].start_bc, by_vertex[(-1.0, -1.0)].end_bc) == ("dirichlet", "dirichlet")
    assert (by_vertex[(1.0, -1.0)].start_bc, by_vertex[(1.0, -1.0)].end_bc) == ("neumann", "dirichlet")
    assert (by_vertex[(-1.0, 1.0)].start_bc, by_vertex[(-1.0, 1.0)].end_bc) == ("dirichlet", "neumann")
    assert [c.vertex for c in reentrant_corners(Polygon(L_SHAPE))] == [(0.0, 0.0)]
