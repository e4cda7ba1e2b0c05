"""Boundary and initial conditions as objects: each type on a manufactured solution (zero residual at the exact
field, nonzero at a perturbed one), predicates selecting parts of the boundary, a PINN using them, bad inputs."""
import math

import pytest
import torch

from basiskit.models import MLP
from basiskit.physics import (PINN, Dirichlet, Disk, Initial, Neumann, OperatorCondition, Periodic, PointSet, Robin,
                              condition, on_plane, problems)


def exact(p: torch.Tensor) -> torch.Tensor:
    """u = sin(2 pi x) e^y: periodic in x on [0, 1]."""
    return torch.sin(2 * math.pi * p[:, :1]) * torch.exp(p[:, 1:2])


def grad_exact(p: torch.Tensor) -> torch.Tensor:
    x, y = p[:, :1], p[:, 1:2]
    return torch.cat([2 * math.pi * torch.cos(2 * math.pi * x) * torch.exp(y), torch.sin(2 * math.pi * x) * torch.exp(y)],
                     dim=1)


def equation(d, p):  # type: ignore[no-untyped-def]
    return d(0, 0) + d(1, 1) + (4 * math.pi ** 2 - 1) * d.u


def make(conds, space=((0, 1), (0, 1))):  # type: ignore[no-untyped-def]
    return problems.Problem("manufactured", list(space), None, equation, exact=exact, conditions=conds)


def perturbed(p: torch.Tensor) -> torch.Tensor:
    return exact(p) + 0.1 * (1 + p[:, :1]) * (1 + p[:, 1:2])


def boundary_points(prob: problems.Problem, n: int = 400) -> torch.Tensor:
    return prob.sample_boundary(n, torch.Generator().manual_seed(0)).double()


# flux on the face y = 1 (outward normal +y): du/dn = u_y = u
@pytest.mark.parametrize("cond", [
    Dirichlet(),
    Dirichlet(lambda p: exact(p), on=on_plane(0, 0.0)),
    Neumann(lambda p: grad_exact(p)[:, 1:2], on=on_plane(1, 1.0)),
    Neumann(lambda p: -grad_exact(p)[:, :1], on=on_plane(0, 0.0)),
    Robin(lambda p, u: u, on=on_plane(1, 1.0)),  # u_y = u on y = 1
    Periodic(0, order=1),
    OperatorCondition(lambda d, x: d(0, 0) + 4 * math.pi ** 2 * d.u, on=on_plane(1, 0.0)),  # u_xx = -4pi^2 u
], ids=["dirichlet", "dirichlet-face", "neumann-top", "neumann-left", "robin", "periodic", "operator"])
def test_each_condition_vanishes_at_the_manufactured_solution(cond):
    prob = make([cond])
    pts = boundary_points(prob)
    assert float(prob.conditions_loss(exact, pts).detach()) < 1e-20
    assert float(prob.conditions_loss(perturbed, pts).detach()) > 1e-5


def test_predicates_select_parts_and_normals_average_at_corners():
    prob = make([Neumann(lambda p: grad_exact(p)[:, 1:2], on=on_plane(1, 1.0))])
    pts = boundary_points(prob)
    top = prob.conditions[0].select(pts)
    assert 0 < top.shape[0] < pts.shape[0] and bool((top[:, 1] == 1).all())
    n = prob.normal(torch.tensor([[1.0, 1.0], [0.5, 0.0]], dtype=torch.float64))
    assert torch.allclose(n, torch.tensor([[2 ** -0.5, 2 ** -0.5], [0.0, -1.0]], dtype=torch.float64))
    # a condition whose predicate selects nothing adds nothing
    none = make([Dirichlet(on=on_plane(0, 5.0))])
    assert float(none.conditions_loss(perturbed, pts)) == 0.0


def test_neumann_on_a_disk_uses_its_normals():
    """u = x^2 + y^2 on the unit disk: du/dn = 2 r = 2 on the circle."""
    prob = problems.Problem("disk", Disk((0, 0), 1.0), None, lambda d, p: d(0, 0) + d(1, 1) - 4,
                            exact=lambda p: (p ** 2).sum(1, keepdim=True),
                            conditions=[Neumann(lambda p: torch.full_like(p[:, :1], 2.0))])
    pts = prob.sample_boundary(200, torch.Generator().manual_seed(0)).double()
    assert float(prob.conditions_loss(prob.exact, pts).detach()) < 1e-12
    assert float(prob.conditions_loss(lambda p: 1.1 * prob.exact(p), pts).detach()) > 1e-3


def test_pointset_and_initial_with_time_derivative():
    pts = torch.tensor([[0.25, 0.5], [0.75, 0.1]], dtype=torch.float64)
    prob = make([PointSet(pts, exact(pts))])
    assert float(prob.conditions_loss(exact, None)) == 0.0
    assert float(prob.conditions_loss(perturbed, None)) > 1e-6
    # u = sin(x) cos(t): u(x, 0) = sin x, u_t(x, 0) = 0 (Initial objects join problem.initial)
    wave = problems.Problem("wave", [(0, math.pi)], (0, 1), lambda d, p: d(1, 1) - d(0, 0),
                            exact=lambda p: torch.sin(p[:, :1]) * torch.cos(p[:, 1:2]),
                            conditions=[Dirichlet(), Initial(lambda p: torch.sin(p[:, :1])),
                                        Initial(lambda p: torch.zeros_like(p[:, :1]), order=1)])
    assert [k for k, _ in wave.initial] == [0, 1]
    x0 = wave.sample_initial(50, torch.Generator().manual_seed(0)).double()
    assert float(wave.initial_residual(wave.exact, x0).detach().abs().max()) < 1e-12
    moving = lambda p: torch.sin(p[:, :1]) * torch.cos(p[:, 1:2]) + 0.1 * p[:, 1:2]  # noqa: E731
    assert float(wave.initial_residual(moving, x0).detach()[:, 1].abs().min()) > 0.09


def test_pinn_trains_with_condition_objects():
    torch.manual_seed(0)
    prob = make([Dirichlet(on=on_plane(1, 0.0)), Robin(lambda p, u: u, on=on_plane(1, 1.0)), Periodic(0, order=1)])
    model = PINN(prob, MLP([2, 16, 16, 1]), n_interior=64, n_boundary=64)
    loss, parts = model.loss()
    assert parts["boundary"] > 0
    loss.backward()
    assert all(p.grad is not None for p in model.net.parameters())


def test_bad_conditions_raise():
    with pytest.raises(ValueError, match="name"):
        condition("neuman", flux=lambda p: p)
    assert isinstance(condition("neumann", flux=lambda p: p[:, :1]), Neumann)
    with pytest.raises(TypeError, match="conditions\\[0\\]"):
        make(["dirichlet"])
    with pytest.raises(ValueError, match="both given"):
        problems.Problem("x", [(0, 1)], None, equation, exact=exact, boundary="periodic", conditions=[Dirichlet()])
    with pytest.raises(ValueError, match="order"):
        Periodic(0, order=2)
    with pytest.raises(ValueError, match="dim"):
        make([Periodic(3)]).conditions_loss(exact, boundary_points(make([Dirichlet()])))
    with pytest.raises(ValueError, match="bool"):
        make([Dirichlet(on=lambda x: x[:, 0])]).conditions_loss(exact, boundary_points(make([Dirichlet()])))
    with pytest.raises(ValueError, match="outside"):
        make([PointSet(torch.tensor([[2.0, 0.5]]), torch.zeros(1, 1))]).conditions_loss(exact, None)
    with pytest.raises(ValueError, match="conditions_loss"):
        prob = make([Dirichlet()])
        prob.boundary_residual(exact, boundary_points(prob))
