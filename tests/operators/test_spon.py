"""SPON and its finite-element plumbing: encoder/decoder round trip, exact Dirichlet values, refinement, the
P1 Darcy solver, bad inputs."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("skfem", reason="scikit-fem (the fem extra) is not installed")

import itertools

import basiskit as bk
from basiskit.operators.fem import FESpace, MassSolve
from basiskit.operators.spon import SPON, impose_dirichlet
from basiskit.pde.fem_darcy import (
    CoefficientField,
    darcy_fe_data,
    darcy_solve,
    fe_basis,
    fe_mesh,
    harmonic_boundary,
)

_SPACES: dict = {}


def space(domain="lshape", refine=2, element="P1", dtype=torch.float64) -> FESpace:
    key = (domain, refine, element, dtype)
    if key not in _SPACES:
        _SPACES[key] = FESpace(fe_mesh(domain, refine), element, dtype)
    return _SPACES[key]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), element=st.sampled_from(["P1", "P2"]),
       domain=st.sampled_from(["lshape", "square"]))
def test_encoder_decoder_round_trip_is_exact_on_fe_functions(seed, element, domain):
    sp = space(domain, 2, element)
    coeffs = torch.randn(3, sp.n_dofs, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    # decode at the quadrature points, Galerkin-project back: the identity on V_h
    assert torch.allclose(sp.project(sp.evaluate(coeffs)), coeffs, rtol=0, atol=1e-11)


@pytest.mark.parametrize("element", ["P1", "P2"])
def test_projection_and_decoder_reproduce_polynomials_of_the_element(element):
    sp = space("lshape", 2, element)
    degree = 1 if element == "P1" else 2

    def poly(p):
        x, y = p[..., 0], p[..., 1]
        return 0.3 + 2 * x - y + (0.5 * x * y - x ** 2 if degree == 2 else 0)

    coeffs = sp.project(poly)
    assert torch.allclose(coeffs, sp.interpolate(poly), atol=1e-12)
    pts = torch.tensor([[-0.5, 0.5], [-0.3, -0.2], [0.7, -0.9], [-0.99, 0.99]], dtype=torch.float64)
    assert torch.allclose(sp.evaluate(coeffs, pts), poly(pts), atol=1e-12)
    # integrals: the mass matrix integrates the constant to the area (3 for the L-shape)
    assert sp.norm(torch.ones(sp.n_dofs, dtype=torch.float64)) ** 2 == pytest.approx(3.0, rel=1e-13)
    assert float(sp.quad_weights.sum()) == pytest.approx(3.0, rel=1e-13)


def test_galerkin_projection_converges_in_l2_at_second_order():
    errors = []
    for refine in (2, 3, 4):
        sp = space("square", refine)
        f = lambda p: torch.sin(3 * p[..., 0]) * torch.cos(2 * p[..., 1])
        diff = sp.evaluate(sp.project(f)) - f(sp.quad_points)
        errors.append(float((diff ** 2 * sp.quad_weights).sum().sqrt()))
    rates = [math.log2(a / b) for a, b in itertools.pairwise(errors)]
    assert all(r > 1.8 for r in rates), (errors, rates)


def test_mass_solve_gradcheck_float64():
    sp = space("lshape", 1)
    rhs = torch.randn(sp.n_dofs, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda b: MassSolve.apply(b, sp._factor), (rhs,))
    # the encoder as a whole is differentiable: d/df of <project(f), w> equals the adjoint
    quad = torch.randn(2, len(sp.quad_weights), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(sp.project, (quad,))


def test_spon_imposes_dirichlet_values_exactly_and_the_baseline_does_not():
    sp = space("lshape", 2, dtype=torch.float32)
    g = torch.tensor(harmonic_boundary(sp.dof_coords[sp.boundary].double().numpy().T), dtype=torch.float32)
    x = torch.randn(4, 1, sp.n_dofs)
    torch.manual_seed(0)
    model = SPON(1, 1, width=8, layers=2, rank=4)
    out = model(x, sp, g)
    assert out.shape == (4, 1, sp.n_dofs)
    assert torch.equal(out[:, 0, sp.boundary], g.expand(4, -1))  # bit for bit
    interior = ~sp.boundary_mask
    torch.manual_seed(0)
    free = SPON(1, 1, width=8, layers=2, rank=4, dirichlet=False)
    free_out = free(x, sp)
    assert torch.equal(free_out[:, :, interior], out[:, :, interior])  # same network inside
    assert (free_out[:, 0, sp.boundary] - g).abs().max() > 1e-3
    # per-sample and per-channel boundary data broadcast
    g_batch = torch.randn(4, 1, len(sp.boundary))
    assert torch.equal(impose_dirichlet(free_out, sp, g_batch)[:, :, sp.boundary], g_batch)


def test_spon_is_defined_on_the_function_space_outputs_converge_under_refinement():
    """The same (untrained) weights on three refinements of one domain, fed the same input function: the output
    functions agree more and more closely (measured on the coarsest mesh's quadrature points)."""
    torch.manual_seed(0)
    model = SPON(1, 1, width=8, layers=3, rank=4, dirichlet=False).double()
    f = lambda p: torch.sin(2 * p[..., 0]) + p[..., 1] ** 2
    probe = space("lshape", 2).quad_points
    outs = []
    with torch.no_grad():
        for refine in (3, 4, 5):
            sp = space("lshape", refine)
            outs.append(sp.evaluate(model(sp.project(f)[None, None], sp)[0, 0], probe))
    d1, d2 = float((outs[0] - outs[1]).abs().max()), float((outs[1] - outs[2]).abs().max())
    assert d2 < 0.5 * d1, (d1, d2)
    assert d2 < 1e-2


def test_a_model_trained_on_one_mesh_works_on_a_refined_one():
    """Learn the linear operator f -> 2 f + int f on refine-2 meshes, evaluate on refine 3: the error stays put."""
    torch.manual_seed(0)
    coarse, fine = space("square", 2, dtype=torch.float32), space("square", 3, dtype=torch.float32)
    field = CoefficientField.sample(64, sigma=3.0, modes=4, seed=1, origin=(0.0, 0.0), length=1.0)

    def pairs(sp):
        f = sp.project(field(sp.quad_points.double()).float())
        return f[:, None], (2 * f + (f @ sp.mass.to_dense()).sum(-1, keepdim=True))[:, None]

    (x, y), (xf, yf) = pairs(coarse), pairs(fine)
    model = SPON(1, 1, width=16, layers=2, rank=4, dirichlet=False)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = coarse.relative_l2(model(x[:48], coarse)[:, 0], y[:48, 0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        err_coarse = float(coarse.relative_l2(model(x[48:], coarse)[:, 0], y[48:, 0]))
        err_fine = float(fine.relative_l2(model(xf[48:], fine)[:, 0], yf[48:, 0]))
    assert err_coarse < 0.1, err_coarse
    assert err_fine < 1.5 * err_coarse + 0.01, (err_coarse, err_fine)


def test_spon_by_name_state_dict_and_one_step_lowers_the_loss():
    sp = space("lshape", 2, dtype=torch.float32)
    model = bk.operators.create("spon", in_channels=2, out_channels=1, width=8, layers=2, rank=4, dirichlet=False)
    clone = bk.operators.create("spon", in_channels=2, out_channels=1, width=8, layers=2, rank=4, dirichlet=False)
    clone.load_state_dict(model.state_dict())
    x, y = torch.randn(3, 2, sp.n_dofs), torch.randn(3, 1, sp.n_dofs)
    assert torch.equal(model(x, sp), clone(x, sp))
    bound = model.bind(sp)
    opt = torch.optim.SGD(bound.parameters(), lr=1e-2)
    before = torch.nn.functional.mse_loss(bound(x), y)
    before.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    opt.step()
    assert torch.nn.functional.mse_loss(bound(x), y) < before


def test_darcy_solver_is_exact_for_linear_solutions_and_converges_at_second_order():
    basis = fe_basis(fe_mesh("lshape", 2))
    u = darcy_solve(basis, 2.5, 0.0, lambda p: 1 + p[0] - 3 * p[1])
    assert np.allclose(u, 1 + basis.doflocs[0] - 3 * basis.doflocs[1], atol=1e-12)
    # -lap u = f for u = sin(pi x) sin(pi y) on the unit square: L2 error O(h^2)
    errors = []
    for refine in (2, 3, 4):
        sp = space("square", refine)
        x = sp.quad_points.numpy().reshape(sp.basis.nelems, -1, 2)
        f = 2 * math.pi ** 2 * np.sin(math.pi * x[..., 0]) * np.sin(math.pi * x[..., 1])
        uh = torch.as_tensor(darcy_solve(sp.basis, 1.0, f))
        exact = torch.sin(math.pi * sp.quad_points[:, 0]) * torch.sin(math.pi * sp.quad_points[:, 1])
        errors.append(float(((sp.evaluate(uh) - exact) ** 2 * sp.quad_weights).sum().sqrt()))
    assert all(math.log2(a / b) > 1.8 for a, b in itertools.pairwise(errors)), errors


def test_darcy_data_boundary_values_and_one_field_on_every_mesh():
    field = CoefficientField.sample(3, sigma=3.0, seed=0)
    coarse = darcy_fe_data(field, fe_basis(fe_mesh("lshape", 2)))
    assert coarse.solution.shape == (3, coarse.dof_coords.shape[0])
    assert torch.equal(coarse.solution[:, coarse.boundary], coarse.boundary_values.expand(3, -1))
    # the coefficient is a function of the point: the same draw on a finer mesh agrees at shared nodes
    fine = darcy_fe_data(field, fe_basis(fe_mesh("lshape", 3)))
    n = coarse.dof_coords.shape[0]
    assert torch.equal(fine.dof_coords[:n], coarse.dof_coords)
    assert torch.allclose(fine.log_coefficient[:, :n], coarse.log_coefficient)
    assert (fine.solution[:, :n] - coarse.solution).abs().max() < 0.1 * coarse.solution.abs().max()


def test_bad_inputs_raise_clear_errors():
    sp = space("lshape", 1, dtype=torch.float32)
    model = SPON(1, 1, width=4, layers=1, rank=2)
    g = torch.zeros(len(sp.boundary))
    with pytest.raises(ValueError, match=rf"coeffs must have shape \(batch, 1, {sp.n_dofs}\).*got \(2, 1, 7\)"):
        model(torch.randn(2, 1, 7), sp, g)
    with pytest.raises(ValueError, match=r"coeffs must have 3 dims"):
        model(torch.randn(sp.n_dofs), sp, g)
    with pytest.raises(ValueError, match="boundary_values are required"):
        model(torch.randn(1, 1, sp.n_dofs), sp)
    with pytest.raises(ValueError, match=rf"boundary_values must have {len(sp.boundary)} values"):
        model(torch.randn(1, 1, sp.n_dofs), sp, torch.zeros(3))
    with pytest.raises(ValueError, match="dirichlet=False"):
        SPON(1, 1, width=4, layers=1, rank=2, dirichlet=False)(torch.randn(1, 1, sp.n_dofs), sp, g)
    with pytest.raises(TypeError, match="space must be a basiskit.operators.FESpace"):
        model(torch.randn(1, 1, sp.n_dofs), "mesh", g)
    with pytest.raises(ValueError, match=r"element.*'P3'.*P1"):
        FESpace(fe_mesh("lshape", 1), "P3")
    with pytest.raises(ValueError, match=r"domain.*'disk'"):
        fe_mesh("disk", 1)
    with pytest.raises(ValueError, match=rf"coeffs must have {sp.n_dofs} values"):
        sp.evaluate(torch.zeros(sp.n_dofs + 1))
    with pytest.raises(ValueError, match="quad_values must have"):
        sp.project(torch.zeros(5))
    with pytest.raises(ValueError, match="width"):
        SPON(1, 1, width=0)
    with pytest.raises(ValueError, match="coefficient must be finite and > 0"):
        darcy_solve(sp.basis, -1.0)
    with pytest.raises(ValueError, match=r"points must have shape \(n_points, 2\)"):
        CoefficientField.sample(1)(torch.zeros(4, 3))


def test_darcy_solver_mixed_dirichlet_and_zero_flux():
    # u = sin(pi x / 2) on the unit square: u = 0 on x = 0 (Dirichlet), zero flux on the other three sides
    import math

    import numpy as np

    from basiskit.pde.fem_darcy import darcy_solve, fe_basis, fe_mesh

    errors = []
    for refine in (3, 4):
        basis = fe_basis(fe_mesh("square", refine), "P1")
        xq = basis.global_coordinates().value  # (2, n_elements, n_quadrature)
        f = (math.pi / 2) ** 2 * np.sin(math.pi * xq[0] / 2)
        u = darcy_solve(basis, 1.0, f, dirichlet=lambda p: 0 * p[0], dirichlet_on=lambda p: np.abs(p[0]) < 1e-12)
        exact = np.sin(math.pi * basis.doflocs[0] / 2)
        errors.append(np.abs(u - exact).max())
    assert errors[1] < 2e-3 and errors[0] / errors[1] > 3  # second order at the nodes
    basis = fe_basis(fe_mesh("square", 2), "P1")
    with pytest.raises(ValueError, match="selects no boundary degree of freedom"):
        darcy_solve(basis, dirichlet_on=lambda p: p[0] > 5)
