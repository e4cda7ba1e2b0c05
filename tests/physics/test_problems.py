import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.physics import problems as P
from basiskit.physics.derivatives import AutogradDerivatives, JetDerivatives, partial

EXACT = [("helmholtz2d", {}), ("helmholtz2d", {"a1": 2.0, "a2": 3.0}), ("poisson1d_multiscale", {}),
         ("poisson1d_sin", {"k": 100.0}), ("poisson2d_sin", {"k": 100.0}), ("convection", {"beta": 50.0}),
         ("klein_gordon", {}), ("flow_mixing", {})]


def test_registry_lists_all():
    assert set(P.names()) >= {"helmholtz2d", "poisson1d_multiscale", "poisson1d_sin", "poisson2d_sin",
                              "convection", "klein_gordon", "flow_mixing", "allen_cahn", "burgers1d"}


@pytest.mark.parametrize("name,kw", EXACT)
def test_exact_solution_has_zero_residual(name, kw):
    p = P.create(name, **kw)
    g = torch.Generator().manual_seed(0)
    x = p.sample_interior(300, g).double()
    r = p.residual(p.exact, x)
    assert r.shape == (300, 1)
    # scale: the residual's terms are as large as the highest derivative, e.g. (100)^2 for k = 100
    scale = 1.0 + max(p.params.get("k", 1.0), 1.0) ** 2
    assert float(r.detach().abs().max()) < 1e-6 * scale
    assert float(p.boundary_residual(p.exact, p.sample_boundary(100, g).double()).detach().abs().max()) < 1e-6
    if p.time_dependent:
        assert float(p.initial_residual(p.exact, p.sample_initial(100, g).double()).detach().abs().max()) < 1e-6


def test_wrong_solution_has_nonzero_residual():
    p = P.create("helmholtz2d")
    x = p.sample_interior(100, torch.Generator().manual_seed(1)).double()
    assert float(p.residual(lambda z: 1.01 * p.exact(z), x).abs().max()) > 1e-2


def test_burgers_reference_has_small_residual():
    p = P.create("burgers1d")
    g = torch.Generator().manual_seed(0)
    x = p.sample_interior(200, g).double()
    x[:, 1] = x[:, 1].clamp_min(0.05)
    assert float(p.residual(p._reference, x).abs().max()) < 1e-6
    assert float(p.boundary_residual(p.solution, p.sample_boundary(50, g).double()).abs().max()) < 1e-10
    assert float(p.initial_residual(p.solution, p.sample_initial(50, g).double()).abs().max()) < 1e-10


def test_samplers_stay_in_domain_and_on_faces():
    for name, kw in EXACT:
        p = P.create(name, **kw)
        g = torch.Generator().manual_seed(3)
        for pts in (p.sample_interior(64, g), p.sample_boundary(64, g)):
            p.check_points(pts)
        b = p.sample_boundary(64, g)
        lo, hi = torch.tensor(p.lower[: p.space_dim]), torch.tensor(p.upper[: p.space_dim])
        on_face = ((b[:, : p.space_dim] - lo).abs() < 1e-6) | ((b[:, : p.space_dim] - hi).abs() < 1e-6)
        assert bool(on_face.any(dim=1).all())


def test_test_grid_and_relative_l2():
    p = P.create("poisson1d_sin", k=2.0)
    pts, shape = p.test_grid()
    assert pts.shape == (math.prod(shape), 1)
    assert p.relative_l2(p.exact) == pytest.approx(0.0, abs=1e-7)
    assert p.relative_l2(lambda z: torch.zeros_like(z)) == pytest.approx(1.0)


def test_bad_inputs_name_the_argument():
    p = P.create("helmholtz2d")
    with pytest.raises(ValueError, match="points.*outside"):
        p.residual(p.exact, torch.tensor([[0.0, 2.0]]))
    with pytest.raises(ValueError, match="points.*last dim 2"):
        p.solution(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="unknown problem 'helmholz2d'; did you mean 'helmholtz2d'"):
        P.create("helmholz2d")
    with pytest.raises(TypeError, match="a1"):
        P.create("helmholtz2d", a1="4")
    with pytest.raises(ValueError, match="k must be >"):
        P.create("poisson1d_sin", k=-1.0)
    with pytest.raises(ValueError, match="not time-dependent"):
        p.sample_initial(3)
    with pytest.raises(ValueError, match="no closed-form"):
        P.create("burgers1d").exact(torch.zeros(1, 2))


# ---- derivative helper -------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(a=st.floats(0.3, 3.0), b=st.floats(-2.0, 2.0))
def test_derivatives_match_analytic(a, b):
    x = torch.rand(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def fn(z):
        return torch.sin(a * z[:, :1]) * torch.exp(b * z[:, 1:])

    d = AutogradDerivatives(fn, x)
    s, c, e = torch.sin(a * x[:, :1]), torch.cos(a * x[:, :1]), torch.exp(b * x[:, 1:])
    torch.testing.assert_close(d(0), a * c * e)
    torch.testing.assert_close(d(1), b * s * e)
    torch.testing.assert_close(d(0, 0), -a * a * s * e)
    torch.testing.assert_close(d(0, 1), a * b * c * e)
    torch.testing.assert_close(d(1, 0), d(0, 1))
    torch.testing.assert_close(d(1, 1, 1), b ** 3 * s * e)
    torch.testing.assert_close(d.laplacian((0, 1)), (b * b - a * a) * s * e)
    xr = x.clone().requires_grad_(True)
    torch.testing.assert_close(partial(fn(xr), xr, 0, 0), -a * a * s * e)


def test_derivatives_multichannel_and_independent():
    x = torch.rand(20, 1, dtype=torch.float64)
    d = AutogradDerivatives(lambda z: torch.cat([z ** 2, z ** 3], 1), x)
    torch.testing.assert_close(d(0), torch.cat([2 * x, 3 * x ** 2], 1))
    d2 = AutogradDerivatives(lambda z: torch.ones_like(z), x)
    assert float(d2(0, 0).abs().max()) == 0.0


def test_jet_derivatives_fall_back_to_autograd():
    x = torch.rand(10, 2, dtype=torch.float64).requires_grad_(True)
    u = x[:, :1] ** 2 * x[:, 1:] ** 3
    first = torch.stack([2 * x[:, :1] * x[:, 1:] ** 3, 3 * x[:, :1] ** 2 * x[:, 1:] ** 2], 1)
    d = JetDerivatives(x, u, first=first)
    torch.testing.assert_close(d(0), first[:, 0])
    torch.testing.assert_close(d(0, 1), 6 * x[:, :1] * x[:, 1:] ** 2)
    torch.testing.assert_close(d(1, 1), 6 * x[:, :1] ** 2 * x[:, 1:])


def test_derivative_helper_bad_inputs():
    x = torch.rand(5, 2)
    d = AutogradDerivatives(lambda z: z[:, :1], x)
    with pytest.raises(ValueError, match="dims\\[0\\] must be <= 1"):
        d(2)
    with pytest.raises(ValueError, match="x must have 2 dims"):
        AutogradDerivatives(lambda z: z, torch.rand(5))
    with pytest.raises(ValueError, match="fn must map"):
        AutogradDerivatives(lambda z: z.sum(), x)
