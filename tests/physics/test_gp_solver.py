"""GPSolver (GP-HM): the Kronecker objective equals a dense reference, a low-frequency Poisson problem is
solved accurately, problems are read as linear operators, bad inputs raise errors naming the argument."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

from basiskit.physics import problems
from basiskit.physics.gp_solver import GPSolver, LinearPDE, as_linear_pde
from basiskit.physics.kernels_sm import mixture_kernel_matrix
from basiskit.train import fit


def perturbed(solver: GPSolver, seed: int = 0) -> GPSolver:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in solver.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return solver


def dense_nll(s: GPSolver) -> torch.Tensor:
    """The same negative log joint with the full covariance and dense derivative maps (small grids only)."""
    axes = s.axes
    mats = []
    for j, ax in enumerate(axes):
        pj = (s.log_weights[j], s.log_scales[j], s.freqs[j])
        k = mixture_kernel_matrix(s.kernel, ax, ax, *pj) + s.jitter * torch.eye(len(ax), dtype=torch.float64)
        mats.append({p: (k if p == 0 else mixture_kernel_matrix(s.kernel, ax, ax, *pj, order=p)) for p in (0, 1, 2)})
    big_k = mats[0][0]
    for m in mats[1:]:
        big_k = torch.kron(big_k, m[0])
    u = s.solution_values().reshape(-1)
    kinv_u = torch.linalg.solve(big_k, u)
    lu = torch.zeros_like(u)
    for alpha, c in s.terms:
        op = mats[0][alpha[0]]
        for j in range(1, len(axes)):
            op = torch.kron(op, mats[j][alpha[j]])
        lu = lu + c * (op @ kinv_u)
    res = lu - s.source_values.reshape(-1)
    bnd = u[s.boundary_mask.reshape(-1)] - s.boundary_values
    tb, tr = s.log_tau_boundary.exp(), s.log_tau_residual.exp()
    return (0.5 * u @ kinv_u + 0.5 * torch.linalg.slogdet(big_k)[1]
            + s.boundary_weight * (0.5 * tb * bnd @ bnd - 0.5 * len(bnd) * s.log_tau_boundary)
            + 0.5 * tr * res @ res - 0.5 * len(res) * s.log_tau_residual)


@pytest.mark.parametrize("kernel", ["spectral_mixture", "student_t_mixture"])
@pytest.mark.parametrize("parameterization", ["whitened", "direct"])
def test_kronecker_objective_equals_dense_reference(kernel: str, parameterization: str) -> None:
    s = perturbed(GPSolver("helmholtz2d", (6, 7), n_components=3, kernel=kernel, freq_scale=1.0,
                           parameterization=parameterization, jitter=1e-4))
    torch.testing.assert_close(s.loss()[0], dense_nll(s), rtol=1e-8, atol=1e-6)


def test_mixed_and_first_derivative_terms_match_dense() -> None:
    pde = LinearPDE(domain=((0, 1), (0, 2)), operator={(1, 1): 0.5, (1, 0): -2.0, (0, 2): 1.0, (0, 0): 3.0},
                    source=lambda p: p[:, 0] * p[:, 1], boundary=lambda p: torch.cos(p[:, 0]))
    s = perturbed(GPSolver(pde, (5, 6), n_components=2, freq_scale=(1.0, 2.0), jitter=1e-4,
                           parameterization="whitened"), seed=1)
    torch.testing.assert_close(s.loss()[0], dense_nll(s), rtol=1e-8, atol=1e-6)


@pytest.fixture
def one_thread():
    """Tiny (32 x 32) linear algebra: extra threads only contend on a shared machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_solves_low_frequency_poisson_1d(one_thread: None) -> None:
    """The whitened parameterization (the old default) for a short budget: 300 Adam steps on sin(x)."""
    problem = problems.create("poisson1d_sin", k=1.0)
    solver = GPSolver(problem, 32, n_components=5, freq_scale=1.0, parameterization="whitened")
    before = problem.relative_l2(lambda p: solver.predict(p).unsqueeze(1))
    result = fit(solver, objective=lambda m: m.loss(), steps=300, lr=1e-2)
    after = problem.relative_l2(lambda p: solver.predict(p).unsqueeze(1))
    assert before > 0.9
    assert after < 5e-2, after
    assert result.history[-1]["residual_mse"] < 1e-2


def test_default_parameterization_is_the_papers_and_leaving_it_out_warns() -> None:
    """The default changed from "whitened" to "direct" (U trained itself, as in the paper's code): leaving the
    argument out warns and gives "direct"; both values stay reachable and silent when passed."""
    with pytest.warns(FutureWarning, match="default parameterization is now 'direct'"):
        s = GPSolver("poisson1d_sin", 16, n_components=2)
    assert s.parameterization == "direct"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for choice in ("whitened", "direct"):
            assert GPSolver("poisson1d_sin", 16, n_components=2, parameterization=choice).parameterization == choice


def test_prediction_interpolates_grid_values_and_grid_prediction_matches_points() -> None:
    s = perturbed(GPSolver("poisson2d_sin", (9, 8), n_components=4, freq_scale=1.0, parameterization="whitened"),
                  seed=2)
    with torch.no_grad():
        pts = torch.stack(torch.meshgrid(*s.axes, indexing="ij"), -1).reshape(-1, 2)
        torch.testing.assert_close(s.predict(pts).reshape(9, 8), s.solution_values(), rtol=1e-3, atol=1e-3)
        ax = [torch.linspace(0, 2 * math.pi, 5, dtype=torch.float64), torch.linspace(1, 2, 3, dtype=torch.float64)]
        grid_pts = torch.stack(torch.meshgrid(*ax, indexing="ij"), -1).reshape(-1, 2)
        torch.testing.assert_close(s.predict_grid(ax).reshape(-1), s.predict(grid_pts))


def test_state_dict_round_trip_and_accessors() -> None:
    a = perturbed(GPSolver("poisson1d_sin", 20, n_components=4, parameterization="whitened"))
    b = GPSolver("poisson1d_sin", 20, n_components=4, parameterization="whitened")
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a.loss()[0], b.loss()[0])
    assert a.weights().shape == (1, 4) and a.dominant_frequencies().shape == (1,)
    assert "grid=(20,)" in repr(a)


def test_registered_problems_are_read_as_linear_operators() -> None:
    pde = as_linear_pde("helmholtz2d")
    assert dict(pde.operator) == {(2, 0): 1.0, (0, 2): 1.0, (0, 0): 1.0}
    pts = torch.rand(10, 2, dtype=torch.float64) * 2 - 1
    prob = problems.create("helmholtz2d")
    want = -prob.residual(lambda p: torch.zeros(len(p), 1, dtype=p.dtype), pts).reshape(-1)
    torch.testing.assert_close(pde.source(pts), want)


def steady_nonlinear() -> problems.Problem:
    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(p[:, :1])

    def equation(d, p):  # type: ignore[no-untyped-def]
        return d(0, 0) + d.u ** 3 - (exact(d.x) ** 3 - exact(d.x))

    return problems.Problem("steady_cubic", [(0, 1)], None, equation, exact=exact)


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match="kernel"):
        GPSolver("poisson1d_sin", 16, kernel="matern")
    with pytest.raises(ValueError, match="grid must give 2 sizes"):
        GPSolver("poisson2d_sin", (16, 16, 16))
    with pytest.raises(ValueError, match=r"grid\[0\]"):
        GPSolver("poisson1d_sin", 2)
    with pytest.raises(ValueError, match="nonlinear"):
        GPSolver(steady_nonlinear(), 16)
    with pytest.raises(ValueError, match="time-dependent"):
        GPSolver("convection", (16, 16))
    with pytest.raises(ValueError, match="unknown problem"):
        GPSolver("poisson_1d", 16)
    with pytest.raises(ValueError, match="dtype"):
        GPSolver("poisson1d_sin", 16, dtype=torch.float32, parameterization="direct")
    with pytest.raises(ValueError, match="parameterization"):
        GPSolver("poisson1d_sin", 16, parameterization="cholesky")
    with pytest.raises(TypeError, match="problem"):
        GPSolver(3.0, 16)
    with pytest.raises(ValueError, match="operator key"):
        LinearPDE(domain=((0, 1),), operator={(3,): 1.0}, source=lambda p: p[:, 0], exact=lambda p: p[:, 0])


def test_reparameterize_keeps_solution_and_objective() -> None:
    s = perturbed(GPSolver("poisson2d_sin", (7, 6), n_components=3, freq_scale=1.0, jitter=1e-4,
                           parameterization="whitened"), seed=4)
    u, loss = s.solution_values().detach().clone(), s.loss()[0].detach()
    s.reparameterize("direct")
    torch.testing.assert_close(s.v.detach(), u)
    torch.testing.assert_close(s.loss()[0].detach(), loss)
    s.reparameterize("whitened")
    torch.testing.assert_close(s.solution_values().detach(), u)
    with pytest.raises(ValueError, match="parameterization"):
        s.reparameterize("natural")
    s.reparameterize("direct")
    fresh = GPSolver("poisson2d_sin", (7, 6), n_components=3, freq_scale=1.0, jitter=1e-4,
                     parameterization="whitened")
    fresh.load_state_dict(s.state_dict())  # the checkpoint carries the parameterization
    assert fresh.parameterization == "direct"
    torch.testing.assert_close(fresh.solution_values().detach(), u)
