import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from basiskit import UsageError
from basiskit.physics.constraints import (HardDirichlet, HardInitial, OutputTransform, PeriodicFeatures,
                                          approximate_distance, r_conjunction)
from basiskit.physics.geometry import Box, Disk, Interval, PointCloud, Polygon, Rectangle, Triangle


L_SHAPE = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
SHAPES = {
    "interval": Interval(-1.0, 2.0),
    "rectangle": Rectangle([0, 0], [2, 1]),
    "box3": Box([0, 0, 0], [1, 2, 3]),
    "disk": Disk([0.5, -0.5], 1.5),
    "triangle": Triangle((0, 0), (1, 0), (0, 1)),
    "l_shape": L_SHAPE,
    "csg_l": Rectangle([0, 0], [2, 2]) - Rectangle([1, 1], [2, 2]),
    "union": Disk([0, 0], 1) | Rectangle([0, -0.5], [2, 0.5]),
    "intersection": Disk([0, 0], 1) & Rectangle([0, -2], [2, 2]),
}


@pytest.fixture(autouse=True)
def _float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("name", list(SHAPES))
def test_zero_on_the_boundary_positive_inside(name):
    g = SHAPES[name]
    xb = g.sample_boundary(200, seed=1).double()
    xi = g.sample_interior(500, seed=2).double()
    phi_b = approximate_distance(g, xb)
    phi_i = approximate_distance(g, xi)
    assert phi_b.abs().max() < 1e-12
    inside = g.distance(xi) > 1e-6  # off the boundary
    assert bool((phi_i[inside] > 0).all())


@pytest.mark.parametrize("name", ["interval", "rectangle", "disk", "triangle", "l_shape", "csg_l"])
def test_normalised_to_first_order_on_smooth_boundary_parts(name):
    # |grad phi| = 1 on the boundary away from corners: compare phi with the exact distance just inside
    g = SHAPES[name]
    xb = g.sample_boundary(400, seed=3).double()
    n = g.normal(xb).double()
    x = xb - 1e-5 * n  # a step inward along the normal
    dist = g.distance(x)
    far_from_corners = _far_from_corners(g, xb)
    ratio = approximate_distance(g, x)[far_from_corners] / dist[far_from_corners]
    assert torch.allclose(ratio, torch.ones_like(ratio), atol=1e-3)


def _far_from_corners(g, xb):
    if isinstance(g, Polygon):
        corners = g.vertices
    elif name_of(g) == "box":
        lo, hi = g.lower.double(), g.upper.double()
        corners = torch.cartesian_prod(*[torch.stack([a, b]) for a, b in zip(lo, hi)]).reshape(-1, lo.numel())
    elif hasattr(g, "a"):
        corners = torch.tensor([[1.0, 1.0], [2.0, 1.0], [1.0, 2.0], [0, 0], [2, 0], [0, 2], [2, 2]])
    else:
        return torch.ones(len(xb), dtype=torch.bool)
    return torch.cdist(xb, corners.double()).min(dim=1).values > 0.05


def name_of(g):
    return "box" if isinstance(g, Box) else type(g).__name__.lower()


@pytest.mark.parametrize("name", list(SHAPES))
def test_smooth_inside_second_derivatives_finite(name):
    g = SHAPES[name]
    x = g.sample_interior(200, seed=4).double()
    x = x[g.distance(x) > 1e-3].requires_grad_(True)
    phi = approximate_distance(g, x)
    grad = torch.autograd.grad(phi.sum(), x, create_graph=True)[0]
    lap = sum(torch.autograd.grad(grad[:, k].sum(), x, retain_graph=True)[0][:, k] for k in range(x.shape[1]))
    assert torch.isfinite(grad).all() and torch.isfinite(lap).all()


def test_smooth_where_the_exact_distance_has_a_kink():
    # the square's exact distance has a kink on the diagonal; the approximate distance does not
    sq = Rectangle([0, 0], [1, 1])
    s = torch.linspace(0.2, 0.8, 7)
    x = torch.stack([s, s], 1)
    eps = 1e-4
    v = eps * torch.tensor([1.0, -1.0])

    def second_difference(f):
        return ((f(x + v) - 2 * f(x) + f(x - v)) / eps ** 2).abs().max()

    assert second_difference(sq.distance) > 1e3  # the kink: the second difference grows like 1/eps
    assert second_difference(lambda p: approximate_distance(sq, p)) < 10


def test_r_conjunction_closed_form():
    a, b = torch.tensor([3.0, 0.0, 2.0]), torch.tensor([4.0, 5.0, 0.0])
    assert torch.allclose(r_conjunction(a, b), torch.tensor([2.0, 0.0, 0.0]))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), channels=st.integers(1, 3))
def test_hard_dirichlet_meets_boundary_values_to_round_off(seed, channels):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, channels)).double()

    def lift(x):
        return torch.stack([torch.sin(x[:, 0] * (k + 1)) + x[:, 1] ** 2 for k in range(channels)], 1)

    model = HardDirichlet(net, L_SHAPE, lift)
    xb = L_SHAPE.sample_boundary(300, seed=seed)
    err = (model(xb) - lift(xb)).abs().max()
    assert err < 1e-14
    xi = L_SHAPE.sample_interior(50, seed=seed)
    assert (model(xi) - lift(xi)).abs().max() > 1e-6  # the net does act inside


def test_hard_dirichlet_with_time_and_hard_initial():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    lift = lambda x: torch.sin(math.pi * x[:, 0]) * torch.exp(-x[:, 1])  # noqa: E731
    model = HardDirichlet(net, Interval(0.0, 1.0), lift, t0=0.0)
    t = torch.rand(20)
    edges = torch.cat([torch.stack([torch.zeros(20), t], 1), torch.stack([torch.ones(20), t], 1)])
    assert (model(edges)[:, 0] - lift(edges)).abs().max() < 1e-15
    x0 = torch.stack([torch.rand(20), torch.zeros(20)], 1)
    assert (model(x0)[:, 0] - lift(x0)).abs().max() < 1e-15
    init = HardInitial(net, lambda x: torch.cos(x[:, 0]), t0=0.5)
    x05 = torch.stack([torch.rand(20), torch.full((20,), 0.5)], 1)
    assert torch.equal(init(x05)[:, 0], torch.cos(x05[:, 0]))


def test_periodic_features_make_any_net_periodic():
    torch.manual_seed(0)
    feats = PeriodicFeatures([0], [2 * math.pi], harmonics=3)
    net = nn.Sequential(feats, nn.Linear(feats.out_features(2), 8), nn.Tanh(), nn.Linear(8, 1)).double()
    x = torch.rand(30, 2, requires_grad=True)
    shifted = x + torch.tensor([2 * math.pi, 0.0])
    assert torch.allclose(net(x), net(shifted), atol=1e-12)
    g1 = torch.autograd.grad(net(x).sum(), x)[0]
    g2 = torch.autograd.grad(net(shifted).sum(), shifted)[0]
    assert torch.allclose(g1, g2, atol=1e-12)
    assert feats(x).shape == (30, 7)


def test_output_transform():
    net = nn.Linear(2, 1).double()
    model = OutputTransform(net, lambda x, n: x[:, :1] * n)
    x = torch.rand(5, 2)
    assert torch.allclose(model(x), x[:, :1] * net(x))


def test_bad_inputs_say_what_is_allowed():
    cloud = PointCloud(torch.rand(10, 2), torch.rand(4, 2), torch.tensor([[1.0, 0.0]] * 4))
    with pytest.raises(UsageError, match="no smooth distance for a PointCloud"):
        approximate_distance(cloud, torch.rand(3, 2))
    with pytest.raises(ValueError, match=r"x must be \(n, 2\) points"):
        approximate_distance(L_SHAPE, torch.rand(3, 3))
    with pytest.raises(UsageError, match="geometry must be"):
        HardDirichlet(nn.Linear(2, 1), "square")
    with pytest.raises(ValueError, match=r"x must be \(n, 3\) points \(2 space \+ time\)"):
        HardDirichlet(nn.Linear(3, 1), L_SHAPE, t0=0.0)(torch.rand(4, 2))
    with pytest.raises(ValueError, match="one period per periodic coordinate"):
        PeriodicFeatures([0, 1], [1.0])
    with pytest.raises(ValueError, match="periods"):
        PeriodicFeatures([0], [0.0])
    with pytest.raises(TypeError, match="transform must be a callable"):
        OutputTransform(nn.Linear(1, 1), 3)


def test_segments_distance_vanishes_on_the_segments_only():
    from basiskit.physics.constraints import segments_distance

    a = torch.tensor([[-1.0, 1.0], [-1.0, -1.0]])
    b = torch.tensor([[-1.0, -1.0], [1.0, -1.0]])
    s = torch.rand(50)
    on = torch.cat([torch.stack([-torch.ones(50), 2 * s - 1], 1), torch.stack([2 * s - 1, -torch.ones(50)], 1)])
    assert segments_distance(a, b, on).abs().max() < 1e-12
    off = torch.stack([torch.ones(50), s], 1)  # the edge x = 1, y >= 0: not Dirichlet, >= 1 from it
    assert segments_distance(a, b, off).min() > 0.5
    # first-order normalised in the middle of a segment: phi(x) ~ distance
    x = torch.tensor([[-1.0 + 1e-5, 0.1]])
    assert segments_distance(a, b, x).item() == pytest.approx(1e-5, rel=1e-3)
    with pytest.raises(ValueError, match="positive length"):
        segments_distance(a, a, on)
    with pytest.raises(ValueError, match="both be"):
        segments_distance(a, b[:1], on)


def test_hard_dirichlet_on_part_of_the_boundary():
    from basiskit.physics.constraints import segments_distance

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    a, b = [[-1.0, 1.0], [-1.0, -1.0]], [[-1.0, -1.0], [1.0, -1.0]]
    model = HardDirichlet(net, lift=lambda x: x[:, 0] * x[:, 1], distance=lambda x: segments_distance(a, b, x),
                          space_dim=2)
    t = 2 * torch.rand(40) - 1
    left = torch.stack([-torch.ones(40), t], 1)
    assert (model(left)[:, 0] - left[:, 0] * left[:, 1]).abs().max() < 1e-15
    right = torch.stack([torch.ones(40), t], 1)
    assert (model(right)[:, 0] - right[:, 0] * right[:, 1]).abs().max() > 1e-4  # free there (Neumann part)
    with pytest.raises(UsageError, match="exactly one of geometry"):
        HardDirichlet(net)
    with pytest.raises(UsageError, match="give space_dim"):
        HardDirichlet(net, distance=lambda x: x[:, 0])
