"""A Problem on a geometry instead of a box: sampling, point checks, test points, normals, a PINN on it."""
import math

import pytest
import torch

from basiskit.models import MLP
from basiskit.physics import PIG, PINN, Disk, Rectangle, TimeDomain, problems, residual_scale, train_physics


def l_shape_poisson(sampling: str = "uniform") -> problems.Problem:
    """-(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on the L-shape [0, 2]^2 minus [1, 2]^2, Dirichlet from exact."""
    def exact(p):  # type: ignore[no-untyped-def]
        return torch.sin(math.pi * p[:, :1]) * torch.sin(math.pi * p[:, 1:2])

    def equation(d, p):  # type: ignore[no-untyped-def]
        return d(0, 0) + d(1, 1) + 2 * math.pi ** 2 * exact(d.x)

    shape = Rectangle((0, 0), (2, 2)) - Rectangle((1, 1), (2, 2))
    return problems.Problem("poisson_l", shape, None, equation, exact=exact, sampling=sampling, test_sizes=(41, 41))


@pytest.mark.parametrize("sampling", ["uniform", "sobol"])
def test_geometry_problem_samples_inside_and_on_the_boundary(sampling):
    prob = l_shape_poisson(sampling)
    assert prob.space == [(0.0, 2.0), (0.0, 2.0)] and prob.geometry is not None
    g = torch.Generator().manual_seed(0)
    x = prob.sample_interior(500, g)
    assert x.shape == (500, 2) and x.dtype == torch.get_default_dtype()
    assert not bool(((x[:, 0] > 1) & (x[:, 1] > 1)).any())  # nothing in the cut-out
    xb = prob.sample_boundary(200, g)
    assert bool(prob.geometry.on_boundary(xb.double(), tol=1e-6).all())
    # the same generator state gives the same points
    assert torch.equal(prob.sample_interior(50, torch.Generator().manual_seed(3)),
                       prob.sample_interior(50, torch.Generator().manual_seed(3)))
    pts, shape = prob.test_grid()
    assert shape == (pts.shape[0],) and 41 * 41 * 0.7 < pts.shape[0] < 41 * 41 * 0.8  # 3/4 of the box
    assert prob.relative_l2(prob.exact) == 0.0
    assert float(prob.residual(prob.exact, x.double()).detach().abs().max()) < 1e-9
    with pytest.raises(ValueError, match="outside the domain"):
        prob.check_points(torch.tensor([[1.5, 1.5]]))  # in the bounding box, not in the L
    n = prob.normal(torch.tensor([[1.5, 1.0], [0.0, 0.5]], dtype=torch.float64))
    assert torch.allclose(n, torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64))  # into the cut-out


def test_time_domain_problem_and_errors():
    def equation(d, p):  # type: ignore[no-untyped-def]
        return d(2) - 0.1 * (d(0, 0) + d(1, 1))

    prob = problems.Problem("heat_disk", TimeDomain(Disk((0, 0), 1.0), 0.0, 0.5), None, equation,
                            exact=lambda p: torch.zeros_like(p[:, :1]), initial=[(0, lambda p: p[:, :1] * 0)])
    assert prob.time == (0.0, 0.5) and prob.input_dim == 3
    g = torch.Generator().manual_seed(0)
    x0 = prob.sample_initial(100, g)
    assert bool((x0[:, 2] == 0).all()) and bool((x0[:, :2].norm(dim=1) <= 1 + 1e-6).all())
    xb = prob.sample_boundary(100, g)
    assert torch.allclose(xb[:, :2].norm(dim=1), torch.ones(100), atol=1e-5)
    assert bool(((xb[:, 2] >= 0) & (xb[:, 2] <= 0.5)).all())
    with pytest.raises(ValueError, match="periodic"):
        problems.Problem("p", Disk((0, 0), 1.0), None, equation, exact=lambda p: p[:, :1], boundary="periodic")
    with pytest.raises(ValueError, match="TimeDomain"):
        problems.Problem("p", TimeDomain(Disk((0, 0), 1.0), 0.0, 1.0), (0.0, 2.0), equation, exact=lambda p: p[:, :1])
    with pytest.raises(ValueError, match="sampling"):
        problems.Problem("p", Disk((0, 0), 1.0), None, equation, exact=lambda p: p[:, :1], sampling="grid")


def test_pinn_trains_on_a_geometry_problem():
    torch.manual_seed(0)
    prob = l_shape_poisson()
    model = PINN(prob, MLP([2, 32, 32, 1]), n_interior=256, n_boundary=128,
                 weights={"residual": 1 / residual_scale(prob)})
    before = model.relative_l2()
    train_physics(model, steps=100, lr=3e-3, lbfgs_steps=10, log_every=50)
    after = model.relative_l2()
    assert after < 0.2 * before, (before, after)


def test_pig_runs_on_a_geometry_through_its_bounding_box():
    prob = l_shape_poisson()
    model = PIG(prob, n_gaussians=20, n_interior=64, n_boundary=32)
    loss, _ = model.loss()
    loss.backward()
    assert math.isfinite(float(loss.detach())) and model.predict(prob.test_grid()[0][:3]).shape == (3, 1)
